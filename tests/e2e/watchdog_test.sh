#!/bin/bash
# SPDX-License-Identifier: MIT
# voiced's watchdog under a fake systemd: a NOTIFY_SOCKET listener and
# WATCHDOG_USEC. WATCHDOG=1 arrives while idle and during a healthy call,
# stops while a call's audio thread is stalled (alice's microphone is a
# `file` PCM reading a FIFO whose feeder we stop, so the recorder blocks in
# ALSA as on a hung capture device) and comes back when it moves again.
# Run under tests/tools/with-pulse.sh.
#
# usage: watchdog_test.sh RELAYD VOICED VOICECTL
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3

. "$(dirname "$0")/../tools/voice-env.sh"
voice_env_begin watchdog
STOPPED=0
cleanup() {
    [ "$STOPPED" = 1 ] && kill -CONT $FEEDER
    voice_env_exit
}
trap cleanup EXIT

python3 - "$T/notify.sock" "$T/notify.txt" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], 'a') as f:
    while True:
        for line in s.recv(4096).decode().splitlines():
            f.write("%.3f %s\n" % (time.monotonic(), line))
        f.flush()
PY
PIDS+=($!)
waitfor 10 test -S "$T/notify.sock" || fail "no notify socket"

relay_config
start_relay
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/alice.in.raw" synth 60 sine 440 vol 0.5
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/bob.in.raw" synth 60 sine 660 vol 0.5
# alice's microphone reads a FIFO (a `file` PCM's infile) that a feeder
# keeps full; it reopens the FIFO when the device is reopened.
mkfifo "$T/alice.fifo"
python3 - "$T/alice.in.raw" "$T/alice.fifo" <<'PY' &
import sys
data = open(sys.argv[1], "rb").read()
while True:
    try:
        with open(sys.argv[2], "wb") as f:
            while True:
                f.write(data)
    except BrokenPipeError:
        pass
PY
FEEDER=$!
PIDS+=($FEEDER)
setup_user alice "$T/alice.fifo" pulse:silence pulse:a_spk
setup_user bob "$T/bob.in.raw" pulse:silence pulse:b_spk
# Pings every 0.5 s (half of WATCHDOG_USEC).
VOICED_ENV="NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000" start_voiced alice
start_voiced bob --auto-answer alice
for u in alice bob; do waitfor 30 is_registered $u || fail "$u did not register"; done
waitfor 10 grep -q READY=1 "$T/notify.txt" || fail "no READY=1"

pings() { grep -c WATCHDOG=1 "$T/notify.txt"; }
# pings_during SECONDS: WATCHDOG=1 messages that arrive in the next SECONDS.
pings_during() {
    local before
    before=$(pings)
    sleep "$1"
    echo $(($(pings) - before))
}

n=$(pings_during 3)
echo "idle: $n pings in 3 s"
[ "$n" -ge 2 ] || fail "only $n pings in 3 s while idle"

ctl alice call bob || fail "call failed"
waitfor 10 in_state alice in-call || fail "alice not in call"
has_played() { [ "$(out_size "$1")" -gt 96000 ]; }
waitfor 20 has_played alice || fail "alice's audio does not run"
n=$(pings_during 3)
echo "healthy call: $n pings in 3 s"
[ "$n" -ge 2 ] || fail "only $n pings in 3 s during a healthy call"

# Stall: the writer feeding alice's microphone FIFO stops, the pipe runs dry
# and her recorder blocks in read(2) inside ALSA, as on a hung capture
# device. (Stopping the sound server is no stall: the ALSA pulse plugin's
# interpolated clock keeps reads and writes going; suspending the devices
# is none either: the device layer reopens them every half second.)
# (Only a warning logged after the stop counts: one may be there from the
# call's first half second, before its first frame was captured.)
stalls() { grep -c "audio threads made no progress" "$T/alice.log"; }
stalls_before=$(stalls)
kill -STOP $FEEDER || fail "cannot stop the feeder"
STOPPED=1
noticed() { [ "$(stalls)" -gt "$stalls_before" ]; }
waitfor 20 noticed || fail "alice did not notice her audio stalling"
n=$(pings_during 3)
echo "stalled capture: $n pings in 3 s"
[ "$n" -eq 0 ] || fail "$n pings in 3 s while the recorder was stalled"
in_state alice in-call || fail "alice left the call"
kill -CONT $FEEDER || fail "cannot resume the feeder"
STOPPED=0
before=$(pings)
more_pings() { [ "$(pings)" -gt "$before" ]; }
waitfor 30 more_pings || fail "no pings after the audio moved again"
echo "ok: pings while idle and in a healthy call, none while stalled, back after"
ctl alice hangup
echo "PASS"
