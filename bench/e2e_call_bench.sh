#!/bin/bash
# SPDX-License-Identifier: MIT
# End-to-end call bench: a real voice-relayd and two voiced (alice, bob) on
# loopback with paced PulseAudio null devices, one call per configuration
# (Opus 20 ms, Opus 10 ms, PCM 5 ms; Opus at the default complexity 5).
# Reports per call:
#  - one-way latency p50/p99, capture timestamp at the sender to playout at
#    the receiver, device buffers excluded (both daemons read one clock),
#    from each receiver's Status stats (latency_p50_ms / latency_p99_ms, the
#    whole call's histogram);
#  - CPU per daemon in % of one core: utime + stime from /proc/PID/stat
#    over the call (from in-call to just before the hangup), divided by the
#    wall time; the daemon's control thread is included; and the sound
#    server's processes together ("cpu server").
#
# usage: [VOICE_SOUND_SERVER=pipewire] [THREADS=1] [ONLY="opus-20 ..."] bench/e2e_call_bench.sh [--seconds N] [BUILD_DIR]
#        (THREADS=1 also lists alice's threads: % of a core and wake-ups/s;
#        ONLY runs just the named configurations; CONF_ALICE, CONF_BOB add
#        voiced.conf lines to one side, e.g. CONF_BOB="audio_cpu = off"
#        compares two settings in one run)
#        (BUILD_DIR defaults to ./build; needs pulseaudio, dbus-daemon, sox;
#        VOICE_SOUND_SERVER=pipewire runs the devices through PipeWire instead:
#        tests/tools/with-pulse.sh; bench/sound_server_bench.sh runs both)
# Wired into meson as a benchmark: `meson test -C build --benchmark e2e_call_bench`
# (10 s calls there; run the script by hand for the 60 s figures).
set -u
SECONDS_PER_CALL=60
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) SECONDS_PER_CALL=$2; shift 2 ;;
    --seconds=*) SECONDS_PER_CALL=${1#--seconds=}; shift ;;
    -h|--help) sed -n 2,22p "$0"; exit 0 ;;
    *) break ;;
    esac
done
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd) || exit 2

# Re-run under a private session bus and PulseAudio unless already there.
if [ -z "${VOICE_PULSE_DIR:-}" ] && [ -z "${VOICE_PULSE_UNAVAILABLE:-}" ]; then
    exec dbus-run-session -- bash "$SRC/tests/tools/with-pulse.sh" \
        bash "$0" --seconds "$SECONDS_PER_CALL" "$BUILD"
fi
if [ -n "${VOICE_PULSE_UNAVAILABLE:-}" ]; then
    echo "e2e_call_bench: $VOICE_PULSE_UNAVAILABLE" >&2
    exit 77
fi

RELAYD=$BUILD/relay/voice-relayd VOICED=$BUILD/daemon/voiced VOICECTL=$BUILD/ctl/voicectl
T=$(mktemp -d /tmp/voice-bench-XXXXXX)
. "$SRC/tests/tools/voice-env.sh"
cleanup() {
    voice_env_stop
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
fail() {
    echo "e2e_call_bench: $*" >&2
    for f in "$T"/*.log; do echo "==== $f" >&2; tail -n 20 "$f" >&2; done
    exit 1
}

relay_config
start_relay
declare -A TONE=([alice]=440 [bob]=660) SINK=([alice]=a_spk [bob]=b_spk)
for u in alice bob; do
    sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/$u.in.raw" \
        synth $((SECONDS_PER_CALL + 30)) sine "${TONE[$u]}" vol 0.5
    setup_user $u "$T/$u.in.raw" pulse:silence "pulse:${SINK[$u]}"
done
cp "$T/alice/cfg/voiced/voiced.conf" "$T/alice.base.conf"
cp "$T/bob/cfg/voiced/voiced.conf" "$T/bob.base.conf"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The sound server's processes together (with-pulse.sh names them).
server_ticks() {
    local p n=0
    for p in ${VOICE_SOUND_SERVER_PIDS:-}; do
        n=$((n + $(cpu_ticks "$p" 2>/dev/null || echo 0)))
    done
    echo $n
}
stats_of() { # stats_of USER -> "p50 p99 loss concealed xruns played sched"
    ctl "$1" status --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]
sched = ",".join(str(s.get("sched_" + t, "?")) for t in ("recorder", "transmitter", "receiver", "player"))
print("%.1f %.1f %.2f %d %d %d %s" % (s["latency_p50_ms"], s["latency_p99_ms"], s["loss_percent"],
      s["concealed_frames"], s["xruns"], s["frames_played"], sched))'
}
HZ=$(getconf CLK_TCK)
# THREADS=1: alice's threads over the call, from schedstat (ns on the CPU,
# times scheduled in), so a thread's share and wake-ups are exact, not ticks.
thread_times() { # thread_times PID -> "tid name cpu_ns runs" per thread
    local f tid
    for f in /proc/$1/task/*; do
        tid=${f##*/}
        read -r ns _ runs <"$f/schedstat" 2>/dev/null || continue
        echo "$tid $(cat "$f/comm" 2>/dev/null | tr ' ' _) $ns $runs"
    done
}
thread_report() { # thread_report BEFORE AFTER T0 T1
    python3 - "$@" <<'PY'
import sys
before = {l.split()[0]: l.split() for l in open(sys.argv[1])}
wall = float(sys.argv[4]) - float(sys.argv[3])
rows = []
for l in open(sys.argv[2]):
    tid, name, ns, runs = l.split()
    b = before.get(tid, [tid, name, "0", "0"])
    rows.append(((int(ns) - int(b[2])) / 1e9 / wall * 100, (int(runs) - int(b[3])) / wall, name))
rows.sort(reverse=True)
print("           alice threads: " + ", ".join("%s %.2f%% %.0f/s" % (n, c, r) for c, r, n in rows if c >= 0.01))
PY
}

echo "sound server: ${VOICE_SOUND_SERVER:-pulseaudio}"
printf "%-10s %-22s %-22s %-18s %-18s %-18s\n" config "alice->bob p50/p99 ms" "bob->alice p50/p99 ms" \
    "cpu alice %core" "cpu bob %core" "cpu server %core"
run() { # run NAME CODEC FRAME
    local name=$1 codec=$2 frame=$3 u
    for u in alice bob; do
        local extra=CONF_${u^^}
        { cat "$T/$u.base.conf"; echo "codec = $codec"; echo "frame = $frame"; echo "${!extra:-}"; } \
            >"$T/$u/cfg/voiced/voiced.conf"
    done
    start_voiced alice
    start_voiced bob --auto-answer alice
    for u in alice bob; do waitfor 30 is_registered $u || fail "$u did not register"; done
    ctl alice call bob >/dev/null || fail "$name: call failed"
    waitfor 10 in_state bob in-call || fail "$name: bob not in call"
    local a0 b0 s0 t0 a1 b1 s1 t1
    a0=$(cpu_ticks ${VOICED_PID[alice]}); b0=$(cpu_ticks ${VOICED_PID[bob]}); s0=$(server_ticks)
    t0=$(date +%s.%N)
    [ -n "${THREADS:-}" ] && thread_times ${VOICED_PID[alice]} >"$T/threads0"
    sleep "$SECONDS_PER_CALL"
    a1=$(cpu_ticks ${VOICED_PID[alice]}); b1=$(cpu_ticks ${VOICED_PID[bob]}); s1=$(server_ticks)
    t1=$(date +%s.%N)
    if [ -n "${THREADS:-}" ]; then
        thread_times ${VOICED_PID[alice]} >"$T/threads1"
        thread_report "$T/threads0" "$T/threads1" "$t0" "$t1"
    fi
    sleep 1.2 # one more stats update
    local sa sb
    sb=$(stats_of bob)   # bob's player: alice -> bob
    sa=$(stats_of alice) # alice's player: bob -> alice
    ctl alice hangup >/dev/null
    for u in alice bob; do kill ${VOICED_PID[$u]}; wait ${VOICED_PID[$u]} 2>/dev/null; done
    read -r bp50 bp99 bloss bconc bxruns bplayed bsched <<<"$sb"
    read -r ap50 ap99 aloss aconc axruns aplayed asched <<<"$sa"
    local cpua cpub cpus
    cpua=$(python3 -c "print('%.2f' % (100.0 * ($a1 - $a0) / $HZ / ($t1 - $t0)))")
    cpub=$(python3 -c "print('%.2f' % (100.0 * ($b1 - $b0) / $HZ / ($t1 - $t0)))")
    cpus=$(python3 -c "print('%.2f' % (100.0 * ($s1 - $s0) / $HZ / ($t1 - $t0)))")
    printf "%-10s %-22s %-22s %-18s %-18s %-18s\n" "$name" "$bp50 / $bp99" "$ap50 / $ap99" "$cpua" \
        "$cpub" "$cpus"
    echo "           (loss % alice $aloss, bob $bloss; concealed frames alice $aconc, bob $bconc)"
    echo "           (xruns alice $axruns, bob $bxruns; frames played alice $aplayed, bob $bplayed;" \
        "scheduling alice $asched, bob $bsched)"
}
for config in ${ONLY:-opus-20 opus-10 pcm-5}; do
    case $config in
    opus-20) run opus-20 opus 20ms ;;
    opus-10) run opus-10 opus 10ms ;;
    pcm-5) run pcm-5 pcm 5ms ;;
    *) fail "unknown configuration $config (opus-20, opus-10, pcm-5)" ;;
    esac
done
echo "calls of $SECONDS_PER_CALL s; targets: opus-20 p50 <= 28 ms, pcm-5 p50 <= 10 ms, cpu <= 2 %"
