#!/bin/bash
# SPDX-License-Identifier: MIT
# The same calls through each sound server Debian 12 ships, side by side
# (issue 18): bench/e2e_call_bench.sh's paced null devices served by
# PulseAudio, then by PipeWire (pipewire, wireplumber and pipewire-pulse,
# reached through ALSA's pulse plugin as on a Debian 12 desktop). Per
# configuration: one-way latency p50/p99 each way, CPU of each voiced and of
# the sound server's processes, in % of one core. The servers run in turn on
# the same machine; compare them within one run only.
#
# usage: bench/sound_server_bench.sh [--seconds N] [BUILD_DIR]
#        (default 30 s calls; ONLY="opus-20 ..." as for e2e_call_bench.sh)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
for server in pulseaudio pipewire; do
    echo "== $server"
    VOICE_SOUND_SERVER=$server bash "$SRC/bench/e2e_call_bench.sh" --seconds 30 "$@" | grep -v '^sound server:'
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || { echo "sound_server_bench: $server run failed ($rc)" >&2; exit "$rc"; }
done
