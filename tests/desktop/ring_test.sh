#!/bin/bash
# SPDX-License-Identifier: MIT
# Ring, ringback and busy tones on paced devices (PulseAudio null sinks,
# recorded from their monitors in real time): while alice calls bob, bob's
# speaker holds the ring tone (1000 + 1250 Hz) and alice's the ringback
# (425 Hz); bob's ring stops within 50 ms of his answer; a busy peer gives
# the caller the busy tone; with ring = off nothing is played before the call;
# ring_file = a WAV plays that instead of the generated ring.
# Run under tests/tools/with-pulse.sh.
#
# usage: ring_test.sh RELAYD VOICED VOICECTL
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3
HERE=$(cd "$(dirname "$0")" && pwd)
TONES=$HERE/tones.py

. "$HERE/../tools/voice-env.sh"
voice_env_begin ring
relay_config
start_relay
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/alice.in.raw" synth 60 sine 440 vol 0.5
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/bob.in.raw" synth 60 sine 2000 vol 0.5
setup_user alice "$T/alice.in.raw" pulse:silence pulse:a_spk "notifications = off"
setup_user bob "$T/bob.in.raw" pulse:silence pulse:b_spk "notifications = off"
setup_user carol /dev/null pulse:silence pulse:c_spk "notifications = off" "ring = off"
start_voiced alice
start_voiced bob
start_voiced carol
for u in alice bob carol; do waitfor 20 is_registered $u || fail "$u did not register"; done

# Tones far apart (440, 2000 Hz) from the ring (1000 + 1250 Hz) and the ringback (425 Hz).
# Each speaker recorded at real-time pace: byte offsets in these files are times.
for s in a b c; do
    parec --latency-msec=5 -d ${s}_spk.monitor --raw --format=s16le --rate=48000 --channels=1 \
        >"$T/$s.mon.raw" &
    PIDS+=($!)
done
waitfor 10 test -s "$T/a.mon.raw" || fail "parec recorded nothing"

# ---------------------------------------------------------------- ring, ringback, answer
ctl alice call bob >"$T/call.out" 2>&1 &
CALLER=$!
waitfor 10 in_state bob ringing || fail "bob not ringing"
waitfor 10 python3 "$TONES" has "$T/a.mon.raw" 425 || fail "no ringback on alice's speaker"
# Answer early in a ring burst, so the stop is measured, not a pause.
waitfor 10 python3 "$TONES" on "$T/b.mon.raw" 1000 || fail "no ring tone on bob's speaker"
# The recording's length just before the answer is sent: the ring's stop is
# measured from then, so voicectl's own start-up counts against the bound.
AT=$(stat -c %s "$T/b.mon.raw")
ctl bob answer || fail "answer"
wait $CALLER || fail "call exited $?: $(cat "$T/call.out")"
A_AT=$(stat -c %s "$T/a.mon.raw")
sleep 1.5
python3 "$TONES" stop "$T/b.mon.raw" 1000 "$AT" 50 || fail "the ring tone did not stop within 50 ms"
python3 "$TONES" has "$T/b.mon.raw" 440 "$AT" || fail "bob does not hear alice after the answer"
! python3 "$TONES" has "$T/a.mon.raw" 425 "$A_AT" || fail "ringback went on in the call"
grep -q "ring tone on" "$T/bob.log" || fail "bob's log does not mention the ring tone"
echo "ok: ring tone while ringing, stopped within 50 ms of the answer; ringback for the caller"

# ---------------------------------------------------------------- busy
B0=$(stat -c %s "$T/c.mon.raw")
ctl carol call bob; rc=$?
[ $rc -eq 4 ] || fail "call to busy bob exited $rc, want 4"
ctl alice hangup
waitfor 10 in_state bob idle || fail "bob not idle"
# carol has ring = off: no busy tone on her speaker.
sleep 1
! python3 "$TONES" has "$T/c.mon.raw" 425 "$B0" || fail "carol (ring = off) heard a tone"
A1=$(stat -c %s "$T/a.mon.raw")
ctl bob call carol --no-wait >/dev/null || fail "bob calls carol"
waitfor 10 in_state carol ringing || fail "carol not ringing"
ctl alice call carol; rc=$?
[ $rc -eq 4 ] || fail "call to busy carol exited $rc, want 4"
sleep 1.2
python3 "$TONES" has "$T/a.mon.raw" 425 "$A1" || fail "no busy tone for alice"
! python3 "$TONES" has "$T/c.mon.raw" 1000 "$B0" || fail "carol (ring = off) heard a ring"
ctl bob hangup
echo "ok: busy tone for the caller; ring = off plays nothing"

# ---------------------------------------------------------------- ring_file
kill "${VOICED_PID[carol]}"; wait "${VOICED_PID[carol]}" 2>/dev/null
sox -n -r 48000 -c 1 -b 16 -e signed-integer "$T/ring.wav" synth 2 sine 3000 vol 0.5
setup_user carol /dev/null pulse:silence pulse:c_spk "notifications = off" "ring_file = $T/ring.wav"
start_voiced carol
waitfor 20 is_registered carol || fail "carol did not come back"
C1=$(stat -c %s "$T/c.mon.raw")
ctl alice call carol --no-wait >/dev/null || fail "alice calls carol"
waitfor 10 in_state carol ringing || fail "carol not ringing"
sleep 1
python3 "$TONES" has "$T/c.mon.raw" 3000 "$C1" || fail "carol's ring_file did not play"
! python3 "$TONES" has "$T/c.mon.raw" 1000 "$C1" || fail "the generated ring played, not ring_file"
ctl carol reject
echo "ok: ring_file rings instead of the generated ring"
echo "PASS"
