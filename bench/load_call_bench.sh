#!/bin/bash
# SPDX-License-Identifier: MIT
# A call on an idle and on a loaded machine, with and without real-time
# priority (issue 18): one Opus 20 ms call per cell between two voiced on the
# paced PulseAudio devices of bench/e2e_call_bench.sh. Reports per cell, for
# both directions: xruns, concealed frames (count and % of frames played),
# latency p99 and loss, and the scheduling the audio threads got.
#  - loaded: one busy loop per CPU (`while :; do :; done`, like a parallel
#    build's compilers) for the whole call, at normal priority;
#  - real-time off: the bench (relay, sound server, both daemons) runs with
#    RLIMIT_RTPRIO 0 and without CAP_SYS_NICE (prlimit + setpriv), as a
#    desktop user without RTKit would: SCHED_FIFO is refused, and with no
#    RTKit on the system bus here the threads stay SCHED_OTHER.
# The cells run in the order idle/rt, loaded/rt, idle/no-rt, loaded/no-rt,
# ROUNDS times (interleaved, so a noisy minute spreads over all of them).
#
# usage: bench/load_call_bench.sh [--seconds N] [--rounds R] [BUILD_DIR]
#        (defaults: 60 s calls, 1 round; needs what e2e_call_bench.sh needs,
#        and prlimit/setpriv from util-linux; run as root for the real-time
#        cells, otherwise they are what RLIMIT_RTPRIO allows)
set -u
SECS=60 ROUNDS=1
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) SECS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n 2,21p "$0"; exit 0 ;;
    *) break ;;
    esac
done
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd) || exit 2
command -v prlimit >/dev/null && command -v setpriv >/dev/null ||
    { echo "load_call_bench: needs prlimit and setpriv (util-linux)" >&2; exit 2; }
T=$(mktemp -d /tmp/voice-loadbench-XXXXXX)
LOAD_PIDS=()
stop_load() {
    [ ${#LOAD_PIDS[@]} -gt 0 ] && kill "${LOAD_PIDS[@]}" 2>/dev/null
    wait "${LOAD_PIDS[@]}" 2>/dev/null
    LOAD_PIDS=()
}
trap 'stop_load; rm -rf "$T"' EXIT
start_load() {
    local i
    for i in $(seq "$(nproc)"); do
        bash -c 'while :; do :; done' &
        LOAD_PIDS+=($!)
    done
}

# cell LOAD RT OUT: one call; its e2e_call_bench output in OUT.
cell() {
    local load=$1 rt=$2 out=$3
    [ "$load" = loaded ] && start_load
    local wrap=()
    [ "$rt" = off ] && wrap=(prlimit --rtprio=0:0 setpriv --inh-caps=-sys_nice --bounding-set=-sys_nice --)
    ONLY=opus-20 "${wrap[@]}" bash "$SRC/bench/e2e_call_bench.sh" --seconds "$SECS" "$BUILD" >"$out" 2>&1
    local rc=$?
    stop_load
    return $rc
}

printf "%-8s %-4s %-11s %-21s %-13s %-11s %-9s %s\n" load rt "xruns a/b" "concealed a/b (%)" \
    "p99 a>b/b>a" "loss a/b %" "p50 a>b" "scheduling (alice: rec,tx,rx,play)"
for round in $(seq "$ROUNDS"); do
    for rt in on off; do
        for load in idle loaded; do
            out=$T/$load-$rt-$round.out
            if ! cell "$load" "$rt" "$out"; then
                echo "load_call_bench: the $load/$rt call failed:" >&2
                cat "$out" >&2
                exit 1
            fi
            python3 - "$out" "$load" "$rt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
line = next(l for l in text.splitlines() if l.startswith("opus-20 "))
f = line.split()
# opus-20 A>B_p50 / A>B_p99 B>A_p50 / B>A_p99 cpu_a cpu_b
ab50, ab99, ba99 = f[1], f[3], f[6]
loss = re.search(r"loss % alice ([\d.]+), bob ([\d.]+); concealed frames alice (\d+), bob (\d+)", text)
x = re.search(r"xruns alice (\d+), bob (\d+); frames played alice (\d+), bob (\d+); "
              r"scheduling alice (\S+), bob (\S+)\)", text)
la, lb, ca, cb = loss.groups()
xa, xb, pa, pb, sa, sb = x.groups()
pct = lambda c, p: 100.0 * int(c) / max(1, int(p))
print("%-8s %-4s %-11s %-21s %-13s %-11s %-9s %s" % (
    sys.argv[2], sys.argv[3], "%s/%s" % (xa, xb),
    "%s/%s (%.2f/%.2f)" % (ca, cb, pct(ca, pa), pct(cb, pb)),
    "%s/%s" % (ab99, ba99), "%s/%s" % (la, lb), ab50, sa))
PY
        done
    done
done
echo "Opus 20 ms calls of $SECS s; loaded: $(nproc) busy loops; target with real-time: 0 xruns," \
    "concealment <= 0.5 % under load"
