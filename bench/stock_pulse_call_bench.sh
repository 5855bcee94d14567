#!/bin/bash
# SPDX-License-Identifier: MIT
# A call through Debian's STOCK PulseAudio, on this host, in a minute: the
# path of tests/system's booted container (issue 17) without booting one.
# Each user gets a per-user pulseaudio started with the system's default.pa
# (no hardware: module-always-sink's auto_null, suspend-on-idle, the
# monitor as the default source) and ALSA's `default` going to it through
# the pulse plugin's own hook; two voiced with the default devices and no
# real-time priority (RLIMIT_RTPRIO 0, CAP_SYS_NICE dropped, as a user
# manager's services get), a relay. Prints what each side hears from its
# Status stats, as tests/system/quality_steps.sh does: latency p50/p99,
# jitter-buffer delay, packets lost (never arrived) and late (came after their frame),
# concealed frames, xruns, playout stalls, device
# reopens and tunnel switches from the daemon's log.
#
# usage: bench/stock_pulse_call_bench.sh [--seconds N] [BUILD_DIR]   (default 30 s)
set -u
SECONDS_PER_CALL=30
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) SECONDS_PER_CALL=$2; shift 2 ;;
    --seconds=*) SECONDS_PER_CALL=${1#--seconds=}; shift ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) break ;;
    esac
done
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd) || exit 2
for tool in pulseaudio pactl dbus-daemon python3 setpriv prlimit; do
    command -v $tool >/dev/null || { echo "stock_pulse_call_bench: $tool not installed" >&2; exit 77; }
done

RELAYD=$BUILD/relay/voice-relayd VOICED=$BUILD/daemon/voiced VOICECTL=$BUILD/ctl/voicectl
T=$(mktemp -d /tmp/voice-stock-XXXXXX)
. "$SRC/tests/tools/voice-env.sh"
PA_PIDS=()
cleanup() {
    local p
    for p in "${PA_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    voice_env_stop
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
fail() {
    echo "stock_pulse_call_bench: $*" >&2
    for f in "$T"/*.log; do echo "==== $f" >&2; tail -n 20 "$f" >&2; done
    exit 1
}
# The user's own environment: no PULSE_SERVER, the runtime dir decides.
as_user() { # as_user USER COMMAND...
    local u=$1
    shift
    env -u PULSE_SERVER -u PULSE_RUNTIME_PATH -u PULSE_LATENCY_MSEC HOME="$T/$u/home" \
        XDG_RUNTIME_DIR="$T/$u/run" XDG_CONFIG_HOME="$T/$u/cfg" XDG_STATE_HOME="$T/$u/state" \
        "$@"
}

relay_config
start_relay
for u in alice bob; do
    mkdir -p "$T/$u/run" "$T/$u/home" "$T/$u/cfg/voiced"
    chmod 700 "$T/$u/run"
    printf 'name = %s\nrelay = 127.0.0.1:%s\n' "$u" "$PORT" >"$T/$u/cfg/voiced/voiced.conf"
    out=$(dbus-daemon --session --fork --print-address=1 --print-pid=1) || fail "dbus-daemon for $u"
    BUS[$u]=$(echo "$out" | sed -n 1p)
    BUS_PIDS+=($(echo "$out" | sed -n 2p))
    # exec: $! must be the server itself, for the cleanup to stop it.
    (exec env -u PULSE_SERVER -u PULSE_RUNTIME_PATH -u PULSE_LATENCY_MSEC HOME="$T/$u/home" \
        XDG_RUNTIME_DIR="$T/$u/run" pulseaudio --daemonize=no --exit-idle-time=-1 \
        --log-target=file:"$T/$u.pa.log") &
    PA_PIDS+=($!)
done
for u in alice bob; do
    waitfor 10 as_user $u pactl info || fail "$u's pulseaudio did not start"
done
for u in alice bob; do
    args=()
    [ $u = bob ] && args=(--auto-answer alice)
    as_user $u env DBUS_SESSION_BUS_ADDRESS="${BUS[$u]}" \
        setpriv --inh-caps=-sys_nice --bounding-set=-sys_nice prlimit --rtprio=0 \
        "$VOICED" --log-level debug "${args[@]}" >>"$T/$u.log" 2>&1 &
    VOICED_PID[$u]=$!
    PIDS+=($!)
done
for u in alice bob; do waitfor 30 is_registered $u || fail "$u did not register"; done
ctl alice call bob >/dev/null || fail "call failed"
waitfor 10 in_state bob in-call || fail "bob not in call"
sleep "$SECONDS_PER_CALL"
sleep 1.2 # one more stats update
for u in alice bob; do
    reopen=$(grep -c 'reopened after\|reopen failed\|device lost' "$T/$u.log")
    tunnel=$(grep -c 'nothing over UDP' "$T/$u.log")
    ctl $u status --json | python3 -c 'import json, sys
s = json.load(sys.stdin)["stats"]
print("stock: %-5s hears: latency p50 %.1f ms p99 %.1f ms, buffer delay %.1f ms, lost %d (%.2f %%), late %d, concealed %d, xruns %d, playout stalls %d, device lost/reopen %s, tunnel switches %d (log %s), path %s" % (
    sys.argv[1], s["latency_p50_ms"], s["latency_p99_ms"], s["buffer_delay_ms"], s["packets_lost"],
    s["loss_percent"], s["packets_late"], s["concealed_frames"], s["playout_stalls"], s["xruns"], sys.argv[2], s["tunnel_switches"],
    sys.argv[3], s["media_path"]))' $u "$reopen" "$tunnel"
done
echo "a $SECONDS_PER_CALL s call; compare: ONLY=opus-20 bench/e2e_call_bench.sh --seconds $SECONDS_PER_CALL (paced devices)"
