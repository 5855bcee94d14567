#!/bin/bash
# SPDX-License-Identifier: MIT
# Failover in a relay cluster (issue 19): three voice-relayd on 127.0.0.1-3
# sharing a private redis-server, alice at relay 1, bob listing relays 2 and
# 3 in voiced.conf. Each round puts alice and bob in a call, kills bob's
# relay with kill -9 and times:
#  - resumed: how long bob's voiced was away from the call until it resumed
#    it at the other relay (its own log: it notices the kill at once, retries
#    the dead relay once, registers at the other one and resumes; media
#    flows again from there, cluster_call_test times the audio too);
#  - registered: until the bench sees bob registered at the other relay;
#  - reachable: after hanging up, until a new call from alice rings at bob there;
# then the killed relay is restarted for the next round. Prints p50 and max.
#
# usage: bench/cluster_failover_bench.sh [--kills N] [BUILD_DIR]   (default 10 kills)
set -u
KILLS=10
while [ $# -gt 0 ]; do
    case $1 in
    --kills) KILLS=$2; shift 2 ;;
    --kills=*) KILLS=${1#--kills=}; shift ;;
    *) break ;;
    esac
done
BUILD=$(cd "${1:-build}" && pwd) || exit 2
SRC=$(cd "$(dirname "$0")/.." && pwd)
RELAYD=$BUILD/relay/voice-relayd VOICED=$BUILD/daemon/voiced VOICECTL=$BUILD/ctl/voicectl

. "$SRC/tests/tools/voice-env.sh"
voice_env_begin failover
. "$SRC/tests/tools/voice-cluster.sh"
now() { date +%s%N; }

start_redis
waitfor 10 rcli ping || fail "redis-server did not start"
cluster_relays_config 3
for i in 1 2 3; do start_cluster_relay $i; done
waitfor 10 relays_seen 3 || fail "the relays did not all join"
PORT=${RPORT[1]}
setup_user alice /dev/null null null
setup_user bob /dev/null null null
sed -i "s/^relay = .*/relay = 127.0.0.2:${RPORT[2]}, 127.0.0.3:${RPORT[3]}/" "$T/bob/cfg/voiced/voiced.conf"
start_voiced alice
start_voiced bob
for u in alice bob; do waitfor 20 is_registered $u || fail "$u did not register"; done

relay_of_bob() { rcli get voice:loc:bob | cut -d' ' -f1; }
registered_away_from() { is_registered bob && [ "$(relay_of_bob)" != "$1" ] && [ -n "$(relay_of_bob)" ]; }
resumes() { grep -c 'resumed at the relay' "$T/bob.log"; }
REG=() REACH=() RES=()
for round in $(seq 1 "$KILLS"); do
    r=$(relay_of_bob)
    i=${r#r}
    [ -n "$i" ] || fail "bob has no location in Redis"
    answered_call alice bob "call $round"
    for u in alice bob; do waitfor 10 in_state $u in-call || fail "round $round: $u not in the call"; done
    n=$(resumes)
    t0=$(now)
    kill -9 ${RPID[$i]}
    wait ${RPID[$i]} 2>/dev/null
    waitfor 30 registered_away_from "$r" || fail "round $round: bob did not leave $r"
    t1=$(now)
    waitfor 10 bash -c "[ \$(grep -c 'resumed at the relay' '$T/bob.log') -gt $n ]" \
        || fail "round $round: bob did not resume the call at $(relay_of_bob)"
    RES+=($(grep -o 'resumed at the relay after [0-9]* ms away' "$T/bob.log" | tail -1 | grep -o '[0-9]*'))
    ctl alice hangup >/dev/null || fail "round $round: hangup failed"
    for u in alice bob; do waitfor 10 in_state $u idle || fail "round $round: $u still in the call"; done
    t1b=$(now)
    ctl alice call bob --no-wait >/dev/null || fail "round $round: alice cannot call"
    waitfor 10 in_state bob ringing || fail "round $round: bob not ringing at $(relay_of_bob)"
    t2=$(( $(now) - (t1b - t1) )) # without the resume check and the hangup
    ctl alice hangup >/dev/null
    waitfor 10 in_state bob idle || fail "round $round: bob still ringing"
    REG+=($(( (t1 - t0) / 1000000 ))) REACH+=($(( (t2 - t0) / 1000000 )))
    echo "round $round: killed $r; bob's call resumed at $(relay_of_bob) after ${RES[-1]} ms away; registered after ${REG[-1]} ms, reachable after ${REACH[-1]} ms"
    start_cluster_relay $i
    waitfor 10 relays_seen 3 || fail "relay $i did not rejoin"
done
python3 - "${RES[*]}" "${REG[*]}" "${REACH[*]}" <<'PY'
import statistics, sys
for label, text in (("resumed", sys.argv[1]), ("registered", sys.argv[2]), ("reachable", sys.argv[3])):
    v = [int(x) for x in text.split()]
    print("%-11s p50 %6.0f ms   max %6d ms   (%d kills)" % (label, statistics.median(v), max(v), len(v)))
PY
echo "target (issue 19): audio back <= 2 s after a relay kill; here: the call resumed (media routed again), the user back and callable"
