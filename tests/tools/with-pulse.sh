#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs a command next to a private PulseAudio server with null sinks a_spk,
# b_spk, c_spk and a null source 'silence' (48 kHz mono), reachable through
# ALSA's `pulse` plugin as "pulse:a_spk" etc. With VOICE_SOUND_SERVER=pipewire
# the server is PipeWire instead (pipewire, wireplumber and pipewire-pulse,
# headless, as Debian 12's desktops run it), with the same names: 'silence'
# is then a null sink (pipewire-pulse has no null source), read through its
# monitor. Exports HOME, XDG_RUNTIME_DIR,
# PULSE_RUNTIME_PATH and PULSE_SERVER (so nothing autospawns),
# VOICE_PULSE_DIR (the server's scratch directory), VOICE_SOUND_SERVER and
# VOICE_SOUND_SERVER_PIDS (its processes, for CPU figures), runs "$@", then stops
# everything and exits with the command's status.
#
# When pulseaudio or its tools are not installed the command still runs,
# with VOICE_PULSE_UNAVAILABLE set to the reason, so a test can skip.
#
#   tests/tools/with-pulse.sh build/tests/alsa_pulse_test
set -u

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

SERVER=${VOICE_SOUND_SERVER:-pulseaudio}
case $SERVER in
pulseaudio) tools=(pulseaudio pactl parec) ;;
pipewire) tools=(pipewire wireplumber pipewire-pulse pactl parec) ;;
*)
    echo "$0: VOICE_SOUND_SERVER is pulseaudio or pipewire, not '$SERVER'" >&2
    exit 2
    ;;
esac
export VOICE_SOUND_SERVER=$SERVER
for tool in "${tools[@]}"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        export VOICE_PULSE_UNAVAILABLE="$tool is not installed"
        exec "$@"
    fi
done

T=$(mktemp -d /tmp/voice-pulse-XXXXXX) || exit 1
mkdir -m700 "$T/run" "$T/home"
PA=""
K=()
cleanup() {
    [ ${#K[@]} -gt 0 ] && kill "${K[@]}" 2>/dev/null
    [ -n "$PA" ] && kill "$PA" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

cat > "$T/default.pa" <<PA
load-module module-native-protocol-unix auth-anonymous=1 socket=$T/run/native
load-module module-null-sink sink_name=a_spk rate=48000 channels=1
load-module module-null-sink sink_name=b_spk rate=48000 channels=1
load-module module-null-sink sink_name=c_spk rate=48000 channels=1
load-module module-null-source source_name=silence rate=48000 channels=1 max_latency_msec=20
PA

export HOME=$T/home XDG_RUNTIME_DIR=$T/run PULSE_RUNTIME_PATH=$T/run
export PULSE_SERVER=unix:$T/run/native VOICE_PULSE_DIR=$T
# PULSE_LATENCY_MSEC hangs the ALSA pulse plugin: make sure it is not inherited.
unset PULSE_LATENCY_MSEC

# The server paces every device of the test: on a busy machine (CI runs
# compilers beside the tests) give it real-time priority where allowed, as a
# desktop's sound server has, so its timers are not late. Without the right
# to do so it runs as a normal process.
realtime=()
if command -v chrt >/dev/null 2>&1 && chrt -f 1 true 2>/dev/null; then
    realtime=(chrt -f 30)
fi
if [ "$SERVER" = pulseaudio ]; then
    # No shared memory with the clients (audio goes over the socket): Debian
    # 12's PulseAudio 16.1 aborted in its shared-memory import now and then
    # when a client left (memblock.c:780 "n_imported > 0" in the demo,
    # memblock.c:627 in an ASan call test, other tests of earlier CI runs),
    # and took the test with it. The tests' audio is a few streams of 48 kHz
    # mono; copying it costs the server little.
    mkdir -p "$HOME/.config/pulse"
    echo "enable-shm = no" >"$HOME/.config/pulse/daemon.conf"
    "${realtime[@]}" pulseaudio -n -F "$T/default.pa" --daemonize=no --exit-idle-time=-1 \
        --use-pid-file=no --log-target=file:"$T/pa.log" &
    PA=$!
    export VOICE_SOUND_SERVER_PIDS=$PA
else
    # PipeWire raises its own data thread to real time (module-rt) where
    # allowed; the session manager links the pulse clients' streams;
    # pipewire-pulse serves PULSE_RUNTIME_PATH/native as PulseAudio would.
    pipewire >"$T/pa.log" 2>&1 &
    PA=$!
    for _ in $(seq 100); do [ -S "$T/run/pipewire-0" ] && break; sleep 0.05; done
    wireplumber >"$T/wireplumber.log" 2>&1 &
    K+=($!)
    pipewire-pulse >"$T/pipewire-pulse.log" 2>&1 &
    K+=($!)
fi
ready=0
for _ in $(seq 200); do # up to 10 s
    if pactl info >/dev/null 2>&1; then
        ready=1
        break
    fi
    if ! kill -0 "$PA" 2>/dev/null; then
        break
    fi
    sleep 0.05
done
if [ $ready -ne 1 ]; then
    echo "with-pulse.sh: PulseAudio did not start; its log:" >&2
    cat "$T/pa.log" >&2 2>/dev/null
    exit 1
fi

if [ "$SERVER" = pipewire ]; then
    export VOICE_SOUND_SERVER_PIDS="$PA ${K[*]}"
    for s in a_spk b_spk c_spk silence; do
        pactl load-module module-null-sink sink_name=$s rate=48000 channels=1 >/dev/null \
            || { echo "with-pulse.sh: PipeWire made no null sink $s" >&2; exit 1; }
    done
fi

# An idle null sink renders in 2 s blocks: keep a reader on each monitor so
# it renders in small steps, then let that settle once.
for s in a_spk b_spk c_spk; do
    parec --latency-msec=10 -d "$s.monitor" --raw >/dev/null &
    K+=($!)
done
sleep 2.1

"$@"
status=$?
# A sound server that died under the test fails it with device errors; its
# own last words (an assertion, a CPU limit) say why.
if ! kill -0 "$PA" 2>/dev/null; then
    echo "with-pulse.sh: the sound server ($SERVER) died during the test; the end of its log:" >&2
    tail -20 "$T/pa.log" >&2 2>/dev/null
fi
exit $status
