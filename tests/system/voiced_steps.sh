# SPDX-License-Identifier: MIT
# System suite, part 2 (sourced by system_test.sh): voiced as a user service
# of two users with lingering user managers and Debian's stock PulseAudio.

C bash -c 'cd /debs && DEBIAN_FRONTEND=noninteractive apt install -y ./voiced_*.deb ./voicectl_*.deb' \
    >"$T/apt-voiced.log" 2>&1 || { cat "$T/apt-voiced.log"; fail "apt install ./voiced_*.deb ./voicectl_*.deb"; }
ok "apt install ./voiced_*.deb ./voicectl_*.deb"

declare -A UID_OF
user_manager_up() { C test -S "/run/user/$1/bus" && [ "$(C systemctl is-active "user@$1.service")" = active ]; }
for u in alice bob; do
    C useradd -m -s /bin/bash "$u"
    UID_OF[$u]=$(C id -u "$u")
    C loginctl enable-linger "$u" || fail "loginctl enable-linger $u"
    wait_for 30 user_manager_up "${UID_OF[$u]}" || fail "no user manager with a session bus for $u"
done
ok "alice and bob have lingering user managers with session buses"

# Debian's stock sound setup: PulseAudio's user units as the package enables
# them for every user (the socket, and the service in default.target); no
# hardware, so a null sink; ALSA's default goes to it.
for u in alice bob; do
    [ "$(U "$u" systemctl --user is-active pulseaudio.socket)" = active ] ||
        fail "pulseaudio.socket is not active for $u"
done
U alice aplay -L 2>/dev/null | grep -A1 '^default$' | grep -qi pulseaudio ||
    fail "ALSA's default is not PulseAudio: $(U alice aplay -L 2>&1 | head -5)"
ok "stock sound: pulseaudio.socket for both users, ALSA default -> PulseAudio"

# What the README tells a user to do: two lines of voiced.conf, enable --now.
for u in alice bob; do
    U "$u" bash -c "mkdir -p ~/.config/voiced && printf 'name = $u\nrelay = 127.0.0.1:7000\n' >~/.config/voiced/voiced.conf"
done
voiced_show() { U "$1" systemctl --user show voiced.service -p "$2" --value; }
voiced_running() { [ "$(voiced_show "$1" ActiveState)/$(voiced_show "$1" SubState)" = active/running ]; }
vstatus() { U "$1" voicectl --json status; } # vstatus USER -> Status as JSON
vfield() { vstatus "$1" | jq -r "$2"; }      # vfield USER JQ-FILTER
registered() { [ "$(vfield "$1" .registered)" = true ]; }
in_state() { [ "$(vfield "$1" .state)" = "$2" ]; }
for u in alice bob; do
    U "$u" systemctl --user enable --now voiced >"$T/enable-$u.log" 2>&1 || {
        cat "$T/enable-$u.log"
        U "$u" systemctl --user status voiced --no-pager -l 2>&1 | tail -15 || true
        fail "$u: systemctl --user enable --now voiced"
    }
    voiced_running "$u" || {
        U "$u" journalctl --user -u voiced --no-pager -n 20 2>&1 | cat
        fail "$u: voiced is $(voiced_show "$u" ActiveState)/$(voiced_show "$u" SubState) after enable --now"
    }
done
ok "systemctl --user enable --now voiced: active (running) for alice and bob"
for u in alice bob; do
    wait_for 30 registered "$u" || fail "$u: voiced did not register at the relay"
done
ok "both registered at the relay"

# D-Bus activation: with voiced stopped, `voicectl status` starts it.
U bob systemctl --user stop voiced
[ "$(voiced_show bob ActiveState)" = inactive ] || fail "bob: voiced did not stop"
U bob voicectl status >"$T/activate.log" 2>&1 || { cat "$T/activate.log"; fail "bob: voicectl status did not activate voiced"; }
voiced_running bob || fail "bob: voicectl status answered but voiced.service is $(voiced_show bob ActiveState)"
wait_for 30 registered bob || fail "bob: the D-Bus activated voiced did not register"
ok "D-Bus activation: voicectl status started the stopped voiced.service"

# The call as the README shows it: alice calls, bob answers.
U alice voicectl call bob >"$T/call.log" 2>&1 &
call_pid=$!
wait_for 30 in_state bob ringing || fail "bob's voiced never rang (state $(vfield bob .state))"
U bob voicectl answer >"$T/answer.log" 2>&1 || { cat "$T/answer.log"; fail "voicectl answer"; }
wait "$call_pid" || { cat "$T/call.log"; fail "voicectl call bob exited $?"; }
for u in alice bob; do in_state "$u" in-call || fail "$u is $(vfield "$u" .state), not in-call"; done
ok "voicectl call bob / voicectl answer: both in-call ($(tr '\n' ' ' <"$T/call.log"))"

flowing() { # flowing USER: packets arrive and audio is played
    local s
    s=$(vstatus "$1") || return 1
    [ "$(jq -r '.stats.packets_received // 0' <<<"$s")" -gt 50 ] &&
        [ "$(jq -r '.stats.frames_played // 0' <<<"$s")" -gt 50 ]
}
for u in alice bob; do
    wait_for 15 flowing "$u" || fail "$u: no audio flowing: $(vstatus "$u" | jq -c .stats)"
done
sched() { vstatus "$1" | jq -r '.stats | "recorder \(.sched_recorder), transmitter \(.sched_transmitter), receiver \(.sched_receiver), player \(.sched_player)" + (if .sched_rtkit then " (RTKit)" else "" end)'; }
say "real-time priority of the audio threads: alice: $(sched alice); bob: $(sched bob)"
ok "audio flows both ways: packets received $(vfield alice .stats.packets_received)/$(vfield bob .stats.packets_received), frames played $(vfield alice .stats.frames_played)/$(vfield bob .stats.frames_played) (alice/bob)"

. "$HERE/quality_steps.sh"

U alice voicectl hangup || fail "voicectl hangup"
for u in alice bob; do wait_for 10 in_state "$u" idle || fail "$u is $(vfield "$u" .state) after hangup"; done
ok "hung up: both idle, both voiced still running"
