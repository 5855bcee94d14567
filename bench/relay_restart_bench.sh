#!/bin/bash
# SPDX-License-Identifier: MIT
# Recovery time after a relay restart: one call between two real voiced
# daemons, the relay killed with kill -9 and restarted RESTARTS times (default
# 10); prints per restart how long until the call was resumed at the relay and
# until each side heard the other again (from the played-out audio), then
# p50 and max. Runs tests/e2e/resume_test.sh next to a private PulseAudio,
# with MEASURE_ONLY=1: a restart whose audio it cannot time prints nan (and
# one past the test's bound is reported, not fatal); the table's p50/max
# leave nan out.
#
# usage: bench/relay_restart_bench.sh [BUILD_DIR] [RESTARTS]
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
export RESTARTS=${2:-${RESTARTS:-10}} MEASURE_ONLY=1
exec dbus-run-session -- bash "$SRC/tests/tools/with-pulse.sh" \
    bash "$SRC/tests/e2e/resume_test.sh" \
    "$BUILD/relay/voice-relayd" "$BUILD/daemon/voiced" "$BUILD/ctl/voicectl" \
    "$SRC/tests/e2e/analyze_tone.py" "$SRC/tests/e2e/audio_resumed.py"
