#!/bin/bash
# SPDX-License-Identifier: MIT
# End-to-end calls between real processes: voice-relayd on loopback, voiced
# for alice, bob and carol (each with its own config dir, ALSA devices and
# session bus), driven by voicectl. Run under tests/tools/with-pulse.sh.
#
# usage: e2e_call_test.sh RELAYD VOICED VOICECTL ANALYZER
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3 ANALYZE=$4

. "$(dirname "$0")/../tools/voice-env.sh"
voice_env_begin e2e
echo "sound server: ${VOICE_SOUND_SERVER:-pulseaudio}"
relay_config

# Users: name, tone (Hz) and speaker sink.
declare -A TONE=([alice]=440 [bob]=660 [carol]=880)
declare -A SINK=([alice]=a_spk [bob]=b_spk [carol]=c_spk)
setup_e2e_user() {
    local u=$1 extra=()
    sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/$u.in.raw" synth 120 sine "${TONE[$u]}" vol 0.5
    # carol's network "blocks UDP": her media goes through the control connection.
    [ $u = carol ] && extra=("media = tunnel")
    setup_user $u "$T/$u.in.raw" pulse:silence "pulse:${SINK[$u]}" "${extra[@]}"
}

# ---------------------------------------------------------------- command line
"$VOICED" --version | grep -q '^voiced ' || fail "voiced --version"
"$VOICED" --help | grep -q -- '--auto-answer' || fail "voiced --help"
XDG_CONFIG_HOME=$T/none "$VOICED" --name alice --relay 127.0.0.1:1 --codec mp3 2>"$T/bad.err"; rc=$?
[ $rc -eq 2 ] && grep -q "codec" "$T/bad.err" || fail "bad --codec: exit $rc, $(cat "$T/bad.err")"
XDG_CONFIG_HOME=$T/none "$VOICED" --relay 127.0.0.1:1 2>"$T/bad.err"; rc=$?
[ $rc -eq 2 ] && grep -q "no name" "$T/bad.err" || fail "missing name: exit $rc"
# A config file named with --config must exist, also with --name/--relay given.
XDG_CONFIG_HOME=$T/none "$VOICED" --config "$T/none/missing.conf" --name alice \
    --relay 127.0.0.1:1 2>"$T/bad.err"; rc=$?
[ $rc -eq 2 ] && grep -q "missing.conf" "$T/bad.err" || fail "missing --config file: exit $rc, $(cat "$T/bad.err")"
# A frame Opus cannot do stops the start (it used to fail every call instead).
mkdir -p "$T/badframe"
printf 'name = alice\nrelay = 127.0.0.1:1\nframe = 15ms\n' >"$T/badframe/voiced.conf"
XDG_CONFIG_HOME=$T/none "$VOICED" --config "$T/badframe/voiced.conf" 2>"$T/bad.err"; rc=$?
[ $rc -eq 2 ] && grep -q "frame" "$T/bad.err" || fail "frame = 15ms with opus: exit $rc, $(cat "$T/bad.err")"
echo "ok: command line"

# ---------------------------------------------------------------- start
start_relay
for u in alice bob carol; do setup_e2e_user $u; done
start_voiced alice
start_voiced bob
start_voiced carol --auto-answer alice
for u in alice bob carol; do
    waitfor 20 is_registered $u || fail "$u did not register"
done
echo "ok: all three registered"
[ -f "$T/alice/cfg/voiced/identity.pem" ] || fail "no identity file"
[ "$(stat -c %a "$T/alice/cfg/voiced/identity.pem")" = 600 ] || fail "identity not 0600"
grep -q "127.0.0.1:$PORT" "$T/alice/cfg/voiced/known_relays" || fail "relay not pinned"

# ---------------------------------------------------------------- offline
ctl alice call nobody; rc=$?
[ $rc -eq 5 ] || fail "call to an offline peer exited $rc, want 5"
echo "ok: offline -> 5"

# ---------------------------------------------------------------- declined
ctl alice call bob >"$T/call_declined.out" 2>&1 &
CALLER=$!
waitfor 10 in_state bob ringing || fail "bob not ringing"
ctl bob reject || fail "reject failed"
wait $CALLER; rc=$?
[ $rc -eq 6 ] || fail "declined call exited $rc, want 6"
waitfor 10 in_state alice idle || fail "alice not idle after decline"
echo "ok: declined -> 6"

# ---------------------------------------------------------------- the call
ctl bob monitor --json >"$T/bob_monitor.json" 2>&1 &
MONITOR=$!
PIDS+=($MONITOR)
waitfor 10 test -s "$T/bob_monitor.json" || fail "bob's monitor printed nothing"
ctl alice call bob >"$T/call.out" 2>&1 &
CALLER=$!
waitfor 10 in_state bob ringing || fail "bob not ringing"
# The short authentication string: the handshake runs while ringing, so
# both sides show it before bob answers, and they agree.
has_sas() { [ -n "$(json_field "$1" sas)" ]; }
waitfor 10 has_sas bob || fail "bob has no SAS while ringing"
waitfor 10 has_sas alice || fail "alice has no SAS while bob's phone rings"
SAS_AB=$(json_field alice sas)
[ "$(json_field bob sas)" = "$SAS_AB" ] || fail "SAS differ: alice $SAS_AB, bob $(json_field bob sas)"
[[ "$SAS_AB" =~ ^[0-9]{6}$ ]] || fail "SAS '$SAS_AB' is not six digits"
waitfor 10 grep -q '"incoming-call"' "$T/bob_monitor.json" || fail "no incoming-call in bob's monitor"
grep '"incoming-call"' "$T/bob_monitor.json" | grep -q "\"sas\": *\"$SAS_AB\"" \
    || fail "IncomingCall did not carry the SAS $SAS_AB: $(cat "$T/bob_monitor.json")"
ctl bob status | grep -q "^code: *$SAS_AB\$" || fail "status does not show the SAS"
echo "ok: SAS $SAS_AB on both sides, in IncomingCall, Status and status"
ctl bob answer || fail "answer failed"
wait $CALLER; rc=$?
[ $rc -eq 0 ] || { cat "$T/call.out"; fail "call exited $rc"; }
waitfor 10 in_state alice in-call || fail "alice not in call"
waitfor 10 in_state bob in-call || fail "bob not in call"
A0=$(out_size alice); B0=$(out_size bob)
sleep 6
ctl alice status --json >"$T/alice_status.json"
cat "$T/alice_status.json"
[ "$(json_field alice stats.cipher)" = aes-256-gcm ] || fail "no cipher in stats"
[ "$(json_field alice stats.codec)" = opus ] || fail "no codec in stats"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["stats"]
assert s["duration_s"] >= 3, s
assert s["latency_ms"] > 0, s' "$T/alice_status.json" || fail "stats not live"
# audio_cpu = auto (the default): the four audio threads and the threads
# ALSA's pulse plugin started while opening the devices (threaded-ml) all
# run on one CPU, the same for all of them.
audio_cpus() { # audio_cpus PID -> "name cpus" per audio or sound-server thread
    local t
    for t in /proc/$1/task/*; do
        case $(cat "$t/comm") in
        voice-* | threaded-ml)
            echo "$(cat "$t/comm") $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status")" ;;
        esac
    done
}
audio_cpus "${VOICED_PID[alice]}" >"$T/alice_cpus.txt"
cat "$T/alice_cpus.txt"
[ "$(grep -c '^voice-' "$T/alice_cpus.txt")" = 4 ] || fail "alice has not four audio threads"
[ "$(grep -c '^threaded-ml' "$T/alice_cpus.txt")" = 2 ] || fail "no sound-server threads"
[ "$(awk '{print $2}' "$T/alice_cpus.txt" | sort -u | wc -l)" = 1 ] \
    || fail "alice's audio threads are not on one CPU"
awk '{print $2}' "$T/alice_cpus.txt" | grep -qx '[0-9][0-9]*' \
    || fail "alice's audio threads may run on several CPUs"
echo "ok: alice's audio and sound-server threads all on CPU $(awk 'NR==1{print $2}' "$T/alice_cpus.txt")"

# ---------------------------------------------------------------- busy
# carol calls alice during the call: busy, and alice's call goes on without
# losing audio (loss and concealment counters of both sides stay put).
counters() { # counters USER -> "concealed lost%"
    ctl "$1" status --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]
print(s["concealed_frames"], s["loss_percent"])'
}
read -r CA0 LA0 <<<"$(counters alice)"; read -r CB0 LB0 <<<"$(counters bob)"
SA0=$(out_size alice); SB0=$(out_size bob)
for i in 1 2 3; do
    ctl carol call alice; rc=$?
    [ $rc -eq 4 ] || fail "call to a busy peer exited $rc, want 4"
done
# Calling while in a call is busy too (voicectl(1): 4, the peer or we are in a call).
ctl alice call carol; rc=$?
[ $rc -eq 4 ] || fail "call while in a call exited $rc, want 4"
in_state alice in-call || fail "busy call disturbed alice"
[ "$(json_field alice peer)" = bob ] || fail "alice's peer changed"
sleep 3 # let the counters catch up (stats come once a second)
read -r CA1 LA1 <<<"$(counters alice)"; read -r CB1 LB1 <<<"$(counters bob)"
echo "busy: concealed alice $CA0 -> $CA1, bob $CB0 -> $CB1; loss alice $LA0 -> $LA1 %, bob $LB0 -> $LB1 %"
# A busy refusal touches only the control connection; allow for scheduling
# hiccups on a loaded machine (up to 5 concealed frames = 100 ms) but no gap.
[ $((CA1 - CA0)) -le 5 ] && [ $((CB1 - CB0)) -le 5 ] || fail "concealment jumped during busy"
python3 -c 'import sys; a,b,c,d=map(float,sys.argv[1:]); sys.exit(0 if a-b<=0.5 and c-d<=0.5 else 1)' \
    "$LA1" "$LA0" "$LB1" "$LB0" || fail "loss jumped during busy"
[ $(( $(out_size alice) - SA0 )) -gt 96000 ] && [ $(( $(out_size bob) - SB0 )) -gt 96000 ] \
    || fail "audio did not continue during busy ($(out_size alice) vs $SA0)"
echo "ok: busy -> 4, alice's call went on"

ctl bob hangup || fail "hangup failed"
waitfor 10 in_state alice idle || fail "alice still in call after bob hung up"
waitfor 10 in_state bob idle || fail "bob still in call"
echo "ok: hangup from bob ended both"
A1=$(out_size alice); B1=$(out_size bob)
echo "recorded: alice $A0 -> $A1 bytes, bob $B0 -> $B1 bytes"
python3 "$ANALYZE" "$T/alice/out.raw" 660 440 || fail "alice did not hear bob's 660 Hz"
python3 "$ANALYZE" "$T/bob/out.raw" 440 660 || fail "bob did not hear alice's 440 Hz"
echo "ok: audio both ways"

# ---------------------------------------------------------------- auto-answer, hangup by caller
ctl alice call carol || fail "auto-answered call failed"
waitfor 10 in_state carol in-call || fail "carol not in call"
SAS_AC=$(json_field alice sas)
[ -n "$SAS_AC" ] && [ "$(json_field carol sas)" = "$SAS_AC" ] || fail "alice/carol SAS differ"
# Fresh ephemeral keys per call: another call, another code (1 in 10^6 to collide).
[ "$SAS_AC" != "$SAS_AB" ] || fail "the SAS did not change between calls ($SAS_AB)"
echo "ok: SAS $SAS_AC for alice and carol, not the earlier $SAS_AB"
sleep 3
ctl alice hangup || fail "alice hangup failed"
waitfor 10 in_state carol idle || fail "carol still in call"
python3 "$ANALYZE" "$T/carol/out.raw" 440 880 || fail "carol did not hear alice"
grep -E "media: .* [1-9][0-9]* tunnelled out, [1-9][0-9]* tunnelled in" "$T/carol.log" \
    || fail "carol's media did not go through the tunnel"
echo "ok: auto-answer, media tunnelled over TLS, hangup by the caller"

# ---------------------------------------------------------------- missed; history and contacts
ctl alice call bob --no-wait >/dev/null || fail "call to bob for a missed call failed"
waitfor 10 in_state bob ringing || fail "bob not ringing"
ctl alice hangup || fail "alice could not give up calling"
waitfor 10 in_state bob idle || fail "bob still ringing after alice gave up"
history_outcomes alice >"$T/alice.history"
history_outcomes bob >"$T/bob.history"
history_outcomes carol >"$T/carol.history"
diff <(printf '%s\n' out:nobody:failed out:bob:declined out:bob:answered out:carol:answered out:bob:cancelled) \
    "$T/alice.history" >&2 || fail "alice's history"
diff <(printf '%s\n' in:alice:declined in:alice:answered in:alice:missed) "$T/bob.history" >&2 \
    || fail "bob's history"
diff <(printf '%s\n' out:alice:busy out:alice:busy out:alice:busy in:alice:answered) "$T/carol.history" >&2 || fail "carol's history"
ctl alice history --limit 1 | grep -q "out *bob *cancelled" || fail "history --limit 1: $(ctl alice history --limit 1)"
[ "$(stat -c %a "$T/alice/state/voiced/history")" = 600 ] || fail "history not 0600"
ctl alice contacts --json | python3 -c 'import json,sys
c={x["name"]: x for x in json.load(sys.stdin)["contacts"]}
assert set(c) == {"bob", "carol"}, c
assert c["bob"]["last_call"] > 0 and not c["bob"]["verified"], c' || fail "alice's contacts"
ctl alice contacts | grep -q "^carol " || fail "contacts as text: $(ctl alice contacts)"
echo "ok: missed; history and contacts of all three"

# ---------------------------------------------------------------- peer killed
ctl alice call carol || fail "call to carol failed"
waitfor 10 in_state alice in-call || fail "alice not in call with carol"
kill -9 ${VOICED_PID[carol]}
waitfor 20 in_state alice idle || fail "alice did not notice carol vanishing"
grep -q "peer-lost" "$T/alice.log" || fail "no peer-lost in alice's log"
is_registered alice || fail "alice lost her registration"
echo "ok: peer killed -> peer-lost, still registered"

# ---------------------------------------------------------------- relay restart
kill $RELAY_PID; wait $RELAY_PID 2>/dev/null
waitfor 10 bash -c "! DBUS_SESSION_BUS_ADDRESS=${BUS[alice]} $VOICECTL status --json | grep -q '\"registered\": *true'" \
    || fail "alice did not notice the relay going away"
start_relay
for u in alice bob; do
    waitfor 60 is_registered $u || fail "$u did not re-register after the relay restart"
done
echo "ok: relay restart -> re-registered"

# ---------------------------------------------------------------- changed peer key
# carol comes back with a new identity under a new relay state (the old
# relay would refuse the new key for her name).
kill $RELAY_PID; wait $RELAY_PID 2>/dev/null
rm -rf "$T/relay"/*
# bob keeps his pin of the old relay key (checked below); the others forget it.
rm -f "$T/alice/cfg/voiced/known_relays" \
      "$T/carol/cfg/voiced/known_relays" "$T/carol/cfg/voiced/identity.pem"
# alice and bob pinned the old relay key; restart them so they pin the new one.
for u in alice bob; do kill ${VOICED_PID[$u]}; wait ${VOICED_PID[$u]}; rc=$?
    [ $rc -eq 0 ] || fail "$u exited $rc on SIGTERM"
done
echo "ok: SIGTERM -> exit 0"
start_relay
# alice runs as under systemd now: a notify socket and a watchdog.
python3 - "$T/notify.sock" "$T/notify.txt" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], 'a') as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
        f.flush()
PY
PIDS+=($!)
waitfor 10 test -S "$T/notify.sock" || fail "no notify socket"
VOICED_ENV="NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000" start_voiced alice
start_voiced carol --auto-answer alice
for u in alice carol; do waitfor 30 is_registered $u || fail "$u did not register"; done
waitfor 10 grep -q READY=1 "$T/notify.txt" || fail "no READY=1"
waitfor 10 grep -q WATCHDOG=1 "$T/notify.txt" || fail "no WATCHDOG=1"
echo "ok: READY=1 and WATCHDOG=1 sent"
start_voiced bob
wait ${VOICED_PID[bob]}; rc=$?
[ $rc -eq 1 ] || fail "bob ran against a relay whose key changed (exit $rc)"
grep -q "key changed.*Pinned key sha256:.*now presents sha256:" "$T/bob.log" \
    || fail "no clear message about the changed relay key"
echo "ok: changed relay key -> hard error with both fingerprints"
ctl alice call carol; rc=$?
[ $rc -eq 8 ] || fail "call with a changed key exited $rc, want 8"
echo "ok: changed peer key -> untrusted (8)"
ctl alice trust carol || fail "trust failed"
ctl alice call carol || fail "call after trust failed"
waitfor 10 in_state carol in-call || fail "carol not in call after trust"
ctl carol hangup
waitfor 10 in_state alice idle || fail "alice still in call"
echo "ok: trusted again"
echo "PASS"
