#!/bin/bash
# SPDX-License-Identifier: MIT
# The peers, measured beside voiced on the same loads in one run (issue 21),
# printing ratios (< 1: voiced is cheaper):
#  relay: CPU per pass of a packet (one packet in and out of the relay) at
#    10k and 100k packets/s, 160-byte packets, 50 per second per stream:
#    voice-relayd in its default configuration, driven by build/bench/relay_load
#    (one UDP socket per client), vs coturn's turnserver with --relay-threads=1
#    driven by turnutils_uclient -y (client to client: every message passes
#    the relay twice, so per pass = CPU / (2 x messages)). CPU is utime+stime
#    of the relay process (all threads) from /proc/PID/stat over the load.
#    The load's shape matters as much as its rate (a relay woken for a burst
#    forwards it in one batch): uclient sends its sessions' packets in bursts
#    (coturn reads ~16 per epoll wake-up at 10k/s) and reaches about half its
#    nominal rate (-z 20 gave ~25 messages/s per session here, with losses;
#    -z 10 gives the ~50/s wanted: the rate achieved is printed), so
#    voice-relayd is measured twice: relay_load's 1 ms ticks (spread) and
#    20 ms ticks (bursts, like for like).
#  endpoint: see bench/peer_endpoint.sh (baresip, trx), run with --endpoint.
# Runs are interleaved (voiced, peer, voiced, peer ...) and the medians of
# RUNS (default 3) are printed, so a shared machine's drift hits both alike.
#
# usage: bench/peer_bench.sh [--runs N] [--seconds S] [--loads 10000,100000]
#                            [--port P] [--endpoint] [BUILD_DIR]
#   --port  coturn's listening port (default: a free one picked at random);
#           the bench refuses to start if it is taken (turnserver binds with
#           SO_REUSEPORT: a stray one on the same port would take half the
#           clients and the CPU figures would be wrong).
# PEER_BENCH_RUNS, PEER_BENCH_SECONDS and PEER_BENCH_LOADS set the defaults
# (CI: one short run). Installs coturn (and baresip and trx for --endpoint)
# with apt-get when missing (scripts/install-deps has them too); without trx
# the endpoint part says so and skips it.
# Everything stays on 127.0.0.1; every load is bounded in rate and time.
set -u
RUNS=${PEER_BENCH_RUNS:-3} SECS=${PEER_BENCH_SECONDS:-10} PORT="" ENDPOINT=0
LOADS=${PEER_BENCH_LOADS:-10000,100000}
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --loads) LOADS=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --endpoint) ENDPOINT=1; shift ;;
    -h|--help) sed -n 2,33p "$0"; exit 0 ;;
    *) break ;;
    esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd) || exit 2
case $RUNS in ''|*[!0-9]*) echo "peer_bench: --runs must be a number" >&2; exit 2 ;; esac
case $SECS in ''|*[!0-9]*) echo "peer_bench: --seconds must be a whole number" >&2; exit 2 ;; esac
if [ "$RUNS" -lt 1 ] || [ "$RUNS" -gt 20 ] || [ "$SECS" -lt 2 ] || [ "$SECS" -gt 120 ]; then
    echo "peer_bench: 1 <= runs <= 20, 2 <= seconds <= 120" >&2; exit 2
fi

need() { # need COMMAND PACKAGE [optional]: install PACKAGE when COMMAND is
    # missing; exit 77 (skip) when it cannot be had, or return 1 if optional
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "peer_bench: installing $2" >&2
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null ||
            { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y --no-install-recommends "$2" >/dev/null; }
    fi
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "peer_bench: $1 ($2) not available" >&2
    [ "${3:-}" = optional ] && return 1
    exit 77
}
need turnserver coturn
need turnutils_uclient coturn

port_taken() { # TCP or UDP, any local address
    [ -n "$(ss -Hlnu "sport = :$1" 2>/dev/null)$(ss -Hlnt "sport = :$1" 2>/dev/null)" ]
}
if [ -n "$PORT" ]; then
    if port_taken "$PORT"; then
        echo "peer_bench: port $PORT is taken (a stray turnserver?); refusing to start" >&2
        ss -Hlnup "sport = :$PORT" >&2
        exit 1
    fi
else
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 10000))
        port_taken "$p" || { PORT=$p; break; }
    done
    [ -n "$PORT" ] || { echo "peer_bench: no free port found" >&2; exit 1; }
fi

T=$(mktemp -d /tmp/voice-peer-bench-XXXXXX)
TURN_PID=""
cleanup() {
    [ -n "$TURN_PID" ] && kill "$TURN_PID" 2>/dev/null && wait "$TURN_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

cpu_ticks() { # utime + stime of the whole process (all its threads)
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
HZ=$(getconf CLK_TCK)

# coturn: one turnserver for the whole bench (relay ports from its default
# range 49152-65535, picked free by coturn itself), no authentication,
# loopback peers allowed.
turnserver --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$PORT" \
    --relay-threads=1 \
    --no-auth --allow-loopback-peers --no-cli --no-tls --no-dtls -n \
    --log-file="$T/turn.log" --simple-log --pidfile="$T/turn.pid" --userdb="$T/turndb" \
    >"$T/turn.out" 2>&1 &
TURN_PID=$!
for _ in $(seq 100); do
    [ -n "$(ss -Hlnu "sport = :$PORT" 2>/dev/null)" ] && break
    sleep 0.05
done
[ -n "$(ss -Hlnu "sport = :$PORT" 2>/dev/null)" ] || { cat "$T/turn.out"; exit 1; }
# Exactly our process on that port (SO_REUSEPORT lets others share it).
owners=$(ss -Hlnup "sport = :$PORT" | grep -o 'pid=[0-9]*' | sort -u)
if [ "$owners" != "pid=$TURN_PID" ]; then
    echo "peer_bench: port $PORT is shared by $owners; refusing to measure" >&2
    exit 1
fi

coturn_run() { # coturn_run PASSES_PER_SECOND -> "µs-per-pass actual-passes/s"
    local sessions=$(($1 / 100)) msgs=$((50 * SECS)) c0 c1 recv secs
    c0=$(cpu_ticks "$TURN_PID")
    turnutils_uclient -y -c -m "$sessions" -n "$msgs" -l 160 -z 10 -p "$PORT" 127.0.0.1 \
        >"$T/uclient.out" 2>&1
    c1=$(cpu_ticks "$TURN_PID")
    recv=$(grep -o 'tot_recv_msgs=[0-9]*$' "$T/uclient.out" | tail -1 | cut -d= -f2)
    secs=$(grep -o 'Total transmit time is [0-9]*' "$T/uclient.out" | tail -1 | grep -o '[0-9]*$')
    if [ -z "$recv" ] || [ "$recv" -le 0 ]; then echo "nan nan"; return; fi
    awk -v d=$((c1 - c0)) -v hz="$HZ" -v r="$recv" -v s="${secs:-0}" 'BEGIN {
        printf "%.2f %.0f\n", d / hz / (2 * r) * 1e6, (s > 0 ? 2 * r / s : 0) }'
}
voiced_run() { # voiced_run PASSES_PER_SECOND TICK_MS -> µs per pass
    "$BUILD/bench/relay_load" --relay "$BUILD/relay/voice-relayd" --calls $(($1 / 100)) \
        --seconds "$SECS" --tick-ms "$2" >"$T/relay_load.out" 2>&1
    awk -F'|' '/^\| +[0-9]/ { gsub(/ /, "", $9); v = $9 } END { print (v == "" ? "nan" : v) }' \
        "$T/relay_load.out"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
    else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "peer_bench: relay, $RUNS interleaved runs of $SECS s per load;" \
    "coturn $(dpkg-query -W -f='${Version}' coturn 2>/dev/null) on port $PORT"
declare -A V B C R
IFS=, read -r -a loads <<<"$LOADS"
for run in $(seq "$RUNS"); do
    for load in "${loads[@]}"; do
        v=$(voiced_run "$load" 1); b=$(voiced_run "$load" 20); read -r c r <<<"$(coturn_run "$load")"
        V[$load]="${V[$load]:-} $v"; B[$load]="${B[$load]:-} $b"
        C[$load]="${C[$load]:-} $c"; R[$load]="${R[$load]:-} $r"
        echo "  run $run, $load pkt/s: voice-relayd $v µs/pass (spread), $b (bursts);" \
            "coturn $c µs/pass at $r passes/s"
    done
done
echo "| relay CPU per pass | voice-relayd, spread µs | voice-relayd, bursts µs | coturn µs (its passes/s) | ratio spread | ratio bursts | target |"
echo "|---|---|---|---|---|---|---|"
for load in "${loads[@]}"; do
    mv=$(echo "${V[$load]}" | median); mb=$(echo "${B[$load]}" | median)
    mc=$(echo "${C[$load]}" | median); mr=$(echo "${R[$load]}" | median)
    target="≤ 0.8"; [ "$load" -le 10000 ] && target="≤ 0.6"
    awk -v l="$load" -v v="$mv" -v b="$mb" -v c="$mc" -v r="$mr" -v t="$target" 'BEGIN {
        printf "| %d pkt/s | %s | %s | %s (%s) | %s | %s | %s |\n", l, v, b, c, r,
            (c > 0 ? sprintf("%.2f", v / c) : "nan"), (c > 0 ? sprintf("%.2f", b / c) : "nan"), t }'
done
echo "(spread: relay_load's senders wake every 1 ms; bursts: every flow sends in one burst per"
echo " 20 ms, the way turnutils_uclient drives coturn, so 'ratio bursts' is like for like;"
echo " coturn's passes/s is what uclient achieved: 2 x messages received / its transmit time)"

if [ "$ENDPOINT" = 1 ]; then
    need baresip baresip
    need trx-tx trx optional # else peer_endpoint.sh skips trx, saying so
    bash "$SRC/bench/peer_endpoint.sh" --runs "$RUNS" --seconds "$SECS" "$BUILD"
fi
