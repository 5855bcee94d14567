#!/bin/bash
# SPDX-License-Identifier: MIT
# Mouth-to-ear bench: what a person hears, measured from the sound. A click
# train is played into alice's microphone and found in bob's loudspeaker,
# both recorded in ONE two-channel stream of one PulseAudio, so device
# buffers, the codec's look-ahead, the jitter buffer and the transport are
# all inside the figure (bench/e2e_call_bench.sh reports capture -> playout
# without the device buffers).
#
# Wiring (private PulseAudio of tests/tools/with-pulse.sh, all 48 kHz):
#   mix        stereo null sink; its monitor is the recording (left: mouth, right: ear)
#   mouth      mono remap sink onto mix's left: the click player plays here
#   a_mic      mono remap source of mix.monitor's left: alice's capture device
#   b_ear      mono remap sink onto mix's right: bob's playback device
# One click (5 ms, 1 kHz burst) every 200 ms; for each click in the left
# channel the first onset in the right channel within 400 ms is its arrival.
#
# usage: [ONLY="opus-20 ..."] bench/mouth_to_ear_bench.sh [--seconds N] [BUILD_DIR]
#        (calls of N s, default 20; CONF adds voiced.conf lines to both sides)
# Prints per configuration: clicks found / sent, mouth-to-ear p50 / p99 / max ms.
set -u
SECONDS_PER_CALL=20
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) SECONDS_PER_CALL=$2; shift 2 ;;
    --seconds=*) SECONDS_PER_CALL=${1#--seconds=}; shift ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) break ;;
    esac
done
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd) || exit 2

if [ -z "${VOICE_PULSE_DIR:-}" ] && [ -z "${VOICE_PULSE_UNAVAILABLE:-}" ]; then
    exec dbus-run-session -- bash "$SRC/tests/tools/with-pulse.sh" \
        bash "$0" --seconds "$SECONDS_PER_CALL" "$BUILD"
fi
if [ -n "${VOICE_PULSE_UNAVAILABLE:-}" ]; then
    echo "mouth_to_ear_bench: $VOICE_PULSE_UNAVAILABLE" >&2
    exit 77
fi

RELAYD=$BUILD/relay/voice-relayd VOICED=$BUILD/daemon/voiced VOICECTL=$BUILD/ctl/voicectl
T=$(mktemp -d /tmp/voice-m2e-XXXXXX)
. "$SRC/tests/tools/voice-env.sh"
MODULES=()
cleanup() {
    voice_env_stop
    local m
    for m in "${MODULES[@]}"; do pactl unload-module "$m" 2>/dev/null; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
fail() {
    echo "mouth_to_ear_bench: $*" >&2
    for f in "$T"/*.log; do echo "==== $f" >&2; tail -n 20 "$f" >&2; done
    exit 1
}
load() { # load MODULE ARGS...: loads a module, remembered for unloading
    local id
    id=$(pactl load-module "$@") || fail "pactl load-module $*"
    MODULES+=("$id")
}
load module-null-sink sink_name=mix rate=48000 channels=2 channel_map=front-left,front-right
load module-remap-sink sink_name=mouth master=mix channels=1 channel_map=mono \
    master_channel_map=front-left remix=no
load module-remap-sink sink_name=b_ear master=mix channels=1 channel_map=mono \
    master_channel_map=front-right remix=no
load module-remap-source source_name=a_mic master=mix.monitor channels=1 channel_map=mono \
    master_channel_map=front-left remix=no

# The click train: 5 ms of 1 kHz every 200 ms, long enough for every call.
python3 - "$T/clicks.raw" $((SECONDS_PER_CALL + 20)) <<'PY'
import math, struct, sys
rate, seconds = 48000, int(sys.argv[2])
out = bytearray()
for n in range(rate * seconds):
    t = n % (rate // 5)
    v = int(16000 * math.sin(2 * math.pi * 1000 * t / rate)) if t < rate // 200 else 0
    out += struct.pack('<h', v)
open(sys.argv[1], 'wb').write(out)
PY

relay_config
start_relay
for u in alice bob; do
    mkdir -p "$T/$u/cfg/voiced"
    out=$(dbus-daemon --session --fork --print-address=1 --print-pid=1) || fail "dbus-daemon for $u"
    BUS[$u]=$(echo "$out" | sed -n 1p)
    BUS_PIDS+=($(echo "$out" | sed -n 2p))
done
declare -A CAPTURE=([alice]=pulse:a_mic [bob]=pulse:silence)
declare -A PLAYBACK=([alice]=pulse:a_spk [bob]=pulse:b_ear)

analyse() { # analyse RAW -> "found sent p50 p99 max"
    python3 - "$1" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
n = len(data) // 4
s = struct.unpack('<%dh' % (2 * n), data[:4 * n])
left, right = s[0::2], s[1::2]
rate, thr = 48000, 3000
def onsets(x, gap):
    out, i = [], 0
    while i < len(x):
        if abs(x[i]) > thr:
            out.append(i)
            i += gap
        else:
            i += 1
    return out
mouth = onsets(left, rate // 10)
ear = onsets(right, rate // 20)
lat, j = [], 0
for m in mouth[:-2]:  # the last clicks may not have arrived yet
    while j < len(ear) and ear[j] < m:
        j += 1
    if j < len(ear) and ear[j] - m < rate * 0.4:
        lat.append((ear[j] - m) * 1000.0 / rate)
sent = max(0, len(mouth) - 2)
if not lat:
    print(0, sent, "nan nan nan")
else:
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * (len(lat) - 1) + 0.5))]
    print(len(lat), sent, "%.1f %.1f %.1f" % (p(0.5), p(0.99), lat[-1]))
PY
}

printf "%-10s %-14s %-28s\n" config "clicks found" "mouth-to-ear p50 / p99 / max ms"
run() { # run NAME CODEC FRAME
    local name=$1 codec=$2 frame=$3 u
    for u in alice bob; do
        {
            echo "name = $u"
            echo "relay = 127.0.0.1:$PORT"
            echo "capture = ${CAPTURE[$u]}"
            echo "playback = ${PLAYBACK[$u]}"
            echo "codec = $codec"
            echo "frame = $frame"
            echo "${CONF:-}"
        } >"$T/$u/cfg/voiced/voiced.conf"
    done
    start_voiced alice
    start_voiced bob --auto-answer alice
    for u in alice bob; do waitfor 30 is_registered $u || fail "$u did not register"; done
    ctl alice call bob >/dev/null || fail "$name: call failed"
    waitfor 10 in_state bob in-call || fail "$name: bob not in call"
    sleep 2 # past the call's start
    parec -d mix.monitor --raw --format=s16le --rate=48000 --channels=2 --latency-msec=10 \
        >"$T/rec.raw" 2>>"$T/parec.log" &
    local rec=$!
    pacat --playback -d mouth --raw --format=s16le --rate=48000 --channels=1 --latency-msec=10 \
        "$T/clicks.raw" 2>>"$T/pacat.log" &
    local play=$!
    sleep "$SECONDS_PER_CALL"
    kill $play $rec 2>/dev/null
    wait $play $rec 2>/dev/null
    ctl alice hangup >/dev/null
    for u in alice bob; do kill ${VOICED_PID[$u]}; wait ${VOICED_PID[$u]} 2>/dev/null; done
    local found sent p50 p99 max
    read -r found sent p50 p99 max < <(analyse "$T/rec.raw")
    printf "%-10s %-14s %-28s\n" "$name" "$found / $sent" "$p50 / $p99 / $max"
}
for config in ${ONLY:-opus-20 opus-10 pcm-5}; do
    case $config in
    opus-20) run opus-20 opus 20ms ;;
    opus-10) run opus-10 opus 10ms ;;
    pcm-5) run pcm-5 pcm 5ms ;;
    *) fail "unknown configuration $config (opus-20, opus-10, pcm-5)" ;;
    esac
done
echo "calls of $SECONDS_PER_CALL s; targets: opus-20 p50 <= 45 ms, a low-delay setting <= 20 ms"
