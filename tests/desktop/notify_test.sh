#!/bin/bash
# SPDX-License-Identifier: MIT
# Desktop notifications against a real notification server: dunst under Xvfb
# on bob's private session bus. alice calls bob:
#   - with no notification server at all: nothing shown, nothing blocks;
#   - the ring note (critical, Answer/Decline, key state and code) appears;
#     its Answer action answers the call and audio flows both ways;
#   - its Decline action rejects the call (the caller exits 6, declined);
#   - a call alice gives up leaves a "Missed call from alice" note.
# Actions are invoked as a person would through dunst's context menu: dunst
# runs its `dmenu` program (here pick-action.sh) with the actions listed.
# Run under tests/tools/with-pulse.sh.
#
# usage: notify_test.sh RELAYD VOICED VOICECTL ANALYZER
# NOTIFY_SCREENSHOT=PATH saves a PNG of the ring note there (for the README).
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3 ANALYZE=$4
HERE=$(cd "$(dirname "$0")" && pwd)

. "$HERE/../tools/voice-env.sh"
voice_env_begin notify
for tool in Xvfb dunst dunstctl; do
    command -v $tool >/dev/null || { echo "SKIP: $tool not installed (scripts/install-deps)"; exit 77; }
done
relay_config
start_relay
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/alice.in.raw" synth 120 sine 440 vol 0.5
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/bob.in.raw" synth 120 sine 660 vol 0.5
setup_user alice "$T/alice.in.raw" pulse:silence pulse:a_spk
setup_user bob "$T/bob.in.raw" pulse:silence pulse:b_spk
start_voiced alice
start_voiced bob
for u in alice bob; do waitfor 20 is_registered $u || fail "$u did not register"; done

bobctl() { DBUS_SESSION_BUS_ADDRESS=${BUS[bob]} "$@"; }
displayed() { bobctl dunstctl count displayed; }
# in_history TEXT: a closed note holding TEXT is in dunst's history
in_history() { bobctl dunstctl history | grep -q "$1"; }

# ---------------------------------------------------------------- no server
# Nobody owns org.freedesktop.Notifications (and D-Bus activation of dunst
# fails without a display): bob rings, stays responsive, answers.
ctl alice call bob >"$T/call0.out" 2>&1 &
CALLER=$!
waitfor 10 in_state bob ringing || fail "bob not ringing (no server)"
waitfor 10 grep -q "notifications: GetCapabilities: " "$T/bob.log" || fail "no debug line about the missing server"
ctl bob status >/dev/null || fail "bob unresponsive without a notification server"
ctl bob answer || fail "answer without a server"
wait $CALLER || fail "call without a server exited $?"
ctl alice hangup
waitfor 10 in_state bob idle || fail "bob not idle"
echo "ok: no notification server: nothing shown, nothing blocked"

# ---------------------------------------------------------------- the server
Xvfb -displayfd 3 -screen 0 640x240x24 -nolisten tcp 3>"$T/display" 2>"$T/xvfb.log" &
PIDS+=($!)
waitfor 10 test -s "$T/display" || fail "Xvfb did not start"
DISPLAY=:$(cat "$T/display")
cat >"$T/pick-action.sh" <<PICK
#!/bin/bash
# dunst's dmenu: the actions arrive on stdin; print the one named in $T/pick.
cat >"$T/menu.txt"
grep -m1 "^#\$(cat "$T/pick") " "$T/menu.txt"
PICK
chmod +x "$T/pick-action.sh"
cat >"$T/dunstrc" <<RC
[global]
    dmenu = $T/pick-action.sh
    font = Monospace 11
    width = 520
    origin = top-left
    offset = 20x20
    frame_width = 2
# The urgency shows in the history as the format's markup: bold for
# critical, italic for normal (dunstctl history has no urgency field).
[urgency_normal]
    format = "<i>%s</i>\n%b"
[urgency_critical]
    format = "<b>%s</b>\n%b"
    background = "#2b303b"
    foreground = "#ffffff"
    frame_color = "#d08770"
    timeout = 0
RC
DISPLAY=$DISPLAY DBUS_SESSION_BUS_ADDRESS=${BUS[bob]} dunst -conf "$T/dunstrc" >"$T/dunst.log" 2>&1 &
PIDS+=($!)
waitfor 10 bobctl dunstctl is-paused || fail "dunst did not start"
# pick ACTION: invoke ACTION on the ring note through dunst's context menu.
# dunstctl returns before dunst ran the menu: wait for the menu it was shown.
pick() {
    echo "$1" >"$T/pick"
    rm -f "$T/menu.txt"
    bobctl dunstctl context && waitfor 10 test -s "$T/menu.txt"
}

# ---------------------------------------------------------------- Answer
ctl alice call bob >"$T/call1.out" 2>&1 &
CALLER=$!
waitfor 10 in_state bob ringing || fail "bob not ringing"
waitfor 10 test "$(displayed)" = 1 || fail "no ring note shown (displayed: $(displayed))"
SAS=$(json_field bob sas)
if [ -n "${NOTIFY_SCREENSHOT:-}" ] && command -v xwd >/dev/null && command -v convert >/dev/null; then
    sleep 0.5 # let dunst draw
    xwd -root -silent -display "$DISPLAY" | convert xwd:- -crop 600x130+0+0 "$NOTIFY_SCREENSHOT" \
        || fail "screenshot"
    echo "screenshot: $NOTIFY_SCREENSHOT"
fi
pick Answer || fail "dunstctl context"
grep -q "^#Answer (Incoming call from alice)" "$T/menu.txt" || fail "menu: $(cat "$T/menu.txt")"
grep -q "^#Decline (Incoming call from alice)" "$T/menu.txt" || fail "no Decline: $(cat "$T/menu.txt")"
wait $CALLER; rc=$?
[ $rc -eq 0 ] || fail "the call answered from the note exited $rc: $(cat "$T/call1.out")"
waitfor 10 in_state bob in-call || fail "bob not in call after Answer"
waitfor 10 test "$(displayed)" = 0 || fail "ring note still shown in the call"
# The closed note, as dunst kept it: critical, with the key state and the code.
bobctl dunstctl history >"$T/history1.json"
python3 - "$T/history1.json" "$SAS" <<'PY' || fail "ring note: $(cat "$T/history1.json")"
import json, sys
notes = json.load(open(sys.argv[1]))["data"][0]
ring = [n for n in notes if n["summary"]["data"] == "Incoming call from alice"]
assert ring, notes
n = ring[0]
assert n["message"]["data"].startswith("<b>Incoming"), n["message"]  # critical
body = n["body"]["data"]
assert "Key: known" in body or "Key: new" in body, body
assert "Code: " + sys.argv[2] in body, body
assert n["appname"]["data"] == "voiced", n["appname"]
PY
A0=$(out_size alice); B0=$(out_size bob)
sleep 3
ctl alice hangup
waitfor 10 in_state bob idle || fail "bob not idle after the answered call"
python3 "$ANALYZE" "$T/alice/out.raw" 660 440 || fail "alice did not hear bob"
python3 "$ANALYZE" "$T/bob/out.raw" 440 660 || fail "bob did not hear alice"
echo "ok: ring note (critical, key state, code $SAS); Answer answered, audio both ways"

# ---------------------------------------------------------------- Decline
ctl alice call bob >"$T/call2.out" 2>&1 &
CALLER=$!
waitfor 10 in_state bob ringing || fail "bob not ringing (decline)"
waitfor 10 test "$(displayed)" = 1 || fail "no ring note (decline)"
pick Decline || fail "dunstctl context"
wait $CALLER; rc=$?
[ $rc -eq 6 ] || fail "declined from the note: caller exited $rc, want 6"
waitfor 10 test "$(displayed)" = 0 || fail "ring note still shown after Decline"
echo "ok: Decline rejected the call (caller exit 6)"

# ---------------------------------------------------------------- missed
ctl alice call bob --no-wait >/dev/null || fail "call (missed)"
waitfor 10 in_state bob ringing || fail "bob not ringing (missed)"
waitfor 10 test "$(displayed)" = 1 || fail "no ring note (missed)"
ctl alice hangup || fail "alice could not give up"
waitfor 10 in_state bob idle || fail "bob still ringing"
# The ring note closes, the missed-call note stays (normal urgency).
waitfor 10 in_history '"Incoming call from alice"' || fail "ring note not closed"
bobctl dunstctl history >"$T/history3.json"
waitfor 10 test "$(displayed)" = 1 || fail "no missed-call note"
bobctl dunstctl close
waitfor 10 in_history '"Missed call from alice"' || fail "no 'Missed call from alice' note"
bobctl dunstctl history >"$T/history3.json"
python3 - "$T/history3.json" <<'PY' || fail "missed note: $(cat "$T/history3.json")"
import json, sys
notes = json.load(open(sys.argv[1]))["data"][0]
missed = [n for n in notes if n["summary"]["data"] == "Missed call from alice"]
assert len(missed) == 1, notes
assert missed[0]["message"]["data"].startswith("<i>Missed"), missed[0]["message"]  # normal
PY
history_outcomes bob | tail -n 3 | tr '\n' ' ' | grep -q "in:alice:answered in:alice:declined in:alice:missed" \
    || fail "bob's history: $(history_outcomes bob)"
echo "ok: missed call -> 'Missed call from alice' (normal urgency)"
echo "PASS"
