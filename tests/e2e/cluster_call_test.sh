#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 19: three voice-relayd on 127.0.0.1, 127.0.0.2 and 127.0.0.3 sharing
# a private redis-server; alice (registered at relay 1) calls bob (at relay
# 2) with real voiced daemons and paced devices: the call is matched in
# Redis, signalled over pub/sub, its media crosses the relays' UDP trunk;
# audio both ways, hangup. Then relay 2 is killed with kill -9 during a
# second call: bob, configured with relays 2 and 3, registers at relay 3 by
# himself and resumes the call there (same keys, no ring): the audio comes
# back both ways (the time from the kill is printed), and alice reaches him
# there with a new call. Run under tests/tools/with-pulse.sh.
#
# usage: cluster_call_test.sh RELAYD VOICED VOICECTL ANALYZER
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3 ANALYZE=$4

. "$(dirname "$0")/../tools/voice-env.sh"
voice_env_begin cluster

. "$(dirname "$0")/../tools/voice-cluster.sh"
start_redis
waitfor 10 rcli ping || fail "redis-server did not start"
cluster_relays_config 3
for i in 1 2 3; do start_cluster_relay $i; done
waitfor 10 relays_seen 3 || fail "the relays did not all join ($(rcli zcard voice:relays))"
echo "ok: three relays in the cluster"

# ---------------------------------------------------------------- alice at relay 1, bob at relay 2
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/alice.in.raw" synth 60 sine 440 vol 0.5
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/bob.in.raw" synth 60 sine 660 vol 0.5
PORT=${RPORT[1]}
setup_user alice "$T/alice.in.raw" pulse:silence pulse:a_spk
PORT=${RPORT[2]}
setup_user bob "$T/bob.in.raw" pulse:silence pulse:b_spk
sed -i "s/^relay = .*/relay = 127.0.0.2:${RPORT[2]}, 127.0.0.3:${RPORT[3]}/" "$T/bob/cfg/voiced/voiced.conf"
PORT=${RPORT[3]}
setup_user carol "$T/bob.in.raw" pulse:silence pulse:c_spk
sed -i "s/^relay = .*/relay = 127.0.0.3:${RPORT[3]}/" "$T/carol/cfg/voiced/voiced.conf"
start_voiced alice
start_voiced bob
start_voiced carol
for u in alice bob carol; do
    waitfor 20 is_registered $u || fail "$u did not register"
done
[ "$(rcli get voice:loc:alice | cut -d' ' -f1)" = r1 ] || fail "alice is not at r1: $(rcli get voice:loc:alice)"
[ "$(rcli get voice:loc:bob | cut -d' ' -f1)" = r2 ] || fail "bob is not at r2: $(rcli get voice:loc:bob)"
echo "ok: alice at relay 1, bob at relay 2"

# ---------------------------------------------------------------- the call
ctl alice call bob >"$T/call.out" 2>&1 &
CALLER=$!
waitfor 10 in_state bob ringing || fail "bob not ringing"
ctl bob answer || fail "answer failed"
wait $CALLER; rc=$?
[ $rc -eq 0 ] || { cat "$T/call.out"; fail "call exited $rc"; }
waitfor 10 in_state alice in-call || fail "alice not in call"
waitfor 10 in_state bob in-call || fail "bob not in call"
grep -q "'alice' calls 'bob' on relay 'r2'" "$T/relay1.log" || fail "relay 1 did not send the call to r2"
A0=$(out_size alice); B0=$(out_size bob)
sleep 3
# Redis killed mid-call: the call goes on (media needs no Redis).
kill -9 $REDIS_PID
wait $REDIS_PID 2>/dev/null
A1=$(out_size alice); B1=$(out_size bob)
sleep 3
in_state alice in-call && in_state bob in-call || fail "the call ended when Redis died"
[ $(( $(out_size alice) - A1 )) -gt 96000 ] && [ $(( $(out_size bob) - B1 )) -gt 96000 ] \
    || fail "audio stopped when Redis died"
echo "ok: Redis killed, the call goes on with audio"
# A new call to another relay's user fails fast with its own outcome.
t0=$(date +%s%N)
ctl carol call alice >"$T/unavailable.out" 2>&1; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc -eq 12 ] || fail "call with Redis down exited $rc, want 12 (unavailable): $(cat "$T/unavailable.out")"
echo "ok: call across relays with Redis down -> unavailable (12) in $ms ms: $(cat "$T/unavailable.out")"
# Redis back (from its append-only file): the relays come back by themselves
# (heartbeats, locations, the pub/sub subscriptions), so the hangup reaches relay 1.
start_redis
waitfor 10 relays_seen 3 || fail "the relays did not rejoin after Redis came back"
waitfor 10 rcli exists voice:loc:alice || fail "alice's location not re-asserted"
# The binding survived (append-only file): bob's name still has his key.
[ -n "$(rcli get voice:name:bob)" ] || fail "bob's name binding was lost"
subscribed() { [ "$(rcli pubsub numsub voice:sig:$1 | sed -n 2p)" = 1 ]; }
waitfor 10 subscribed r1 && waitfor 10 subscribed r2 || fail "the relays did not resubscribe"
ctl bob hangup || fail "hangup failed"
waitfor 10 in_state alice idle || fail "alice still in call after bob hung up"
waitfor 10 in_state bob idle || fail "bob still in call"
echo "ok: call across relays, hangup from bob ended both"
echo "recorded: alice $A0 -> $(out_size alice) bytes, bob $B0 -> $(out_size bob) bytes"
python3 "$ANALYZE" "$T/alice/out.raw" 660 440 || fail "alice did not hear bob's 660 Hz"
python3 "$ANALYZE" "$T/bob/out.raw" 440 660 || fail "bob did not hear alice's 440 Hz"
echo "ok: audio both ways across the trunk"
grep -h "ended; caller sent" "$T/relay1.log" "$T/relay2.log" || true
[ "$(rcli exists voice:line:alice voice:line:bob)" = 0 ] || fail "lines left in redis after the hangup"

# ---------------------------------------------------------------- relay 2 dies mid-call
# A second call, alice (relay 1) -> bob (relay 2), audio flowing; then relay 2
# is killed. bob's voiced.conf lists relays 2 and 3: he retries relay 2 once,
# registers at relay 3 and resumes the call there with his token; relay 1
# moves the call's trunk from relay 2 to relay 3 (relay/README.md, 10).
answered_call alice bob "second call"
for u in alice bob; do
    waitfor 10 in_state $u in-call || fail "$u not in the second call"
    waitfor 10 bash -c "[ \$(grep -c 'media flowing' '$T/$u.log') -ge 2 ]" || fail "$u: no media in the second call"
done
sleep 2
KEYS_A=$(grep -c 'end-to-end keys agreed' "$T/alice.log")
KEYS_B=$(grep -c 'end-to-end keys agreed' "$T/bob.log")
RA=$(out_size alice); RB=$(out_size bob)
TUN_B=$(grep -c 'sending through the relay' "$T/bob.log")
UDP_B=$(grep -c 'back to UDP' "$T/bob.log")
now() { date +%s%N; }
# Wall clock: a side's count of media packets received stops at the kill;
# its first rise after that is the other side's audio reaching it again.
# Polled with voicectl alone (no python per poll): each poll is a few ms.
received() { ctl "$1" status --json | grep -o '"packets_received":[0-9]*' | cut -d: -f2; }
audio_back() { # USER -> ms from the kill, or fails after 10 s
    local u=$1 prev cur changed stalled=0 end=$(( $(now) + 10000000000 ))
    prev=$(received $u)
    changed=$(now)
    while [ "$(now)" -lt $end ]; do
        sleep 0.01
        cur=$(received $u)
        if [ "$cur" = "$prev" ]; then
            # Packets come every 20 ms: 200 ms without one is the outage.
            [ $(( $(now) - changed )) -ge 200000000 ] && stalled=1
        elif [ $stalled = 1 ]; then
            echo $(( ($(now) - t0) / 1000000 ))
            return 0
        else
            changed=$(now)
        fi
        prev=$cur
    done
    return 1
}
t0=$(now)
kill -9 ${RPID[2]}
audio_back alice >"$T/back.alice" &
WA=$!
audio_back bob >"$T/back.bob" &
WB=$!
wait ${RPID[2]} 2>/dev/null
at_r3() { is_registered bob && [ "$(rcli get voice:loc:bob | cut -d' ' -f1)" = r3 ]; }
waitfor 20 at_r3 || fail "bob did not move to relay 3: $(rcli get voice:loc:bob)"
waitfor 10 grep -q 'resumed at the relay' "$T/bob.log" || fail "bob did not resume the call at relay 3"
ms_resumed=$(( ($(now) - t0) / 1000000 ))
grep -q "resumed across relays" "$T/relay3.log" || fail "relay 3 did not take the call over"
grep -q "the far side resumed at relay 'r3'" "$T/relay1.log" || fail "relay 1 did not move the trunk to r3"
# Not a tight bound (machines are noisy): the figures printed are the measure.
wait $WA || fail "alice's audio did not come back within 10 s of relay 2's kill"
wait $WB || fail "bob's audio did not come back within 10 s of relay 2's kill"
# bob's voiced notices at once (the kernel resets the dead relay's connection)
# and logs how long it was away; the shell's polls above add their own delay.
away=$(grep -o 'resumed at the relay after [0-9]* ms away' "$T/bob.log" | tail -1 | grep -o '[0-9]*')
echo "ok: relay 2 killed mid-call: bob's voiced resumed at relay 3 after ${away} ms away (seen by the test after $ms_resumed ms); audio back after $(cat "$T/back.alice") ms (alice hears bob), $(cat "$T/back.bob") ms (bob hears alice) (goal 2000 ms)"
# bob's UDP socket follows him to relay 3 (it tunnelled through his control
# connection while nothing came over UDP).
if [ "$(grep -c 'sending through the relay' "$T/bob.log")" -gt "$TUN_B" ]; then
    waitfor 10 bash -c "[ \$(grep -c 'back to UDP' '$T/bob.log') -gt $UDP_B ]" \
        || fail "bob's media did not move back to UDP at relay 3"
fi
sleep 3 # recordings for the tone check below
for u in alice bob; do in_state $u in-call || fail "$u left the call when relay 2 died"; done
[ "$(grep -c 'end-to-end keys agreed' "$T/alice.log")" = "$KEYS_A" ] \
    && [ "$(grep -c 'end-to-end keys agreed' "$T/bob.log")" = "$KEYS_B" ] || fail "a new handshake after relay 2 died"
# Both hear each other again: the tones in the audio after the kill.
tail -c +$((RA + 1)) "$T/alice/out.raw" >"$T/alice.after.raw"
tail -c +$((RB + 1)) "$T/bob/out.raw" >"$T/bob.after.raw"
python3 "$ANALYZE" "$T/alice.after.raw" 660 440 || fail "alice does not hear bob after relay 2 died"
python3 "$ANALYZE" "$T/bob.after.raw" 440 660 || fail "bob does not hear alice after relay 2 died"
ctl alice hangup || fail "hangup failed (second call)"
waitfor 10 in_state bob idle || fail "bob still in call after alice hung up at relay 1"
echo "ok: the call survived relay 2's kill -9 (same keys, no ring) and hung up across relays 1 and 3"

# New calls reach bob at relay 3 too.
ctl alice call bob --no-wait >/dev/null || fail "alice cannot call bob at relay 3"
waitfor 10 in_state bob ringing || fail "bob not ringing at relay 3"
ctl bob answer || fail "answer at relay 3 failed"
waitfor 10 in_state alice in-call || fail "alice not in call with bob at relay 3"
B2=$(out_size bob)
sleep 2
[ $(( $(out_size bob) - B2 )) -gt 96000 ] || fail "no audio to bob at relay 3"
grep -q "'alice' calls 'bob' on relay 'r3'" "$T/relay1.log" || fail "relay 1 did not send the call to r3"
ctl alice hangup || fail "hangup failed"
waitfor 10 in_state bob idle || fail "bob still in call"
echo "ok: after relay 2 died, alice called bob at relay 3"
echo "PASS"
