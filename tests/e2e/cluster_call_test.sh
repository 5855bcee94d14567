#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 19: three voice-relayd on 127.0.0.1, 127.0.0.2 and 127.0.0.3 sharing
# a private redis-server; alice (registered at relay 1) calls bob (at relay
# 2) with real voiced daemons and paced devices: the call is matched in
# Redis, signalled over pub/sub, its media crosses the relays' UDP trunk;
# audio both ways, hangup. Then relay 2 is killed: bob, configured with
# relays 2 and 3, registers at relay 3 by himself and alice reaches him
# there. Run under tests/tools/with-pulse.sh.
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

# ---------------------------------------------------------------- relay 2 dies
# bob's voiced.conf lists relays 2 and 3: he retries relay 2 once, then
# registers at relay 3 by himself; alice's call finds him there.
t0=$(date +%s%N)
kill -9 ${RPID[2]}
wait ${RPID[2]} 2>/dev/null
at_r3() { is_registered bob && [ "$(rcli get voice:loc:bob | cut -d' ' -f1)" = r3 ]; }
waitfor 20 at_r3 || fail "bob did not move to relay 3: $(rcli get voice:loc:bob)"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "ok: relay 2 killed, bob registered at relay 3 $ms ms later"
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
