#!/bin/bash
# SPDX-License-Identifier: MIT
# Renders far-end and near-end speech with espeak-ng (two voices, two texts),
# converts them to s16le mono at RATE with sox, and runs echo_bench over them.
# usage: bench/echo_bench.sh [BUILD_DIR] [RATE]   (needs espeak-ng, sox)
set -eu
BUILD=${1:-build}
RATE=${2:-48000}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
espeak-ng -v en-us -s 150 -w "$T/far.wav" \
  "The quick brown fox jumps over the lazy dog. A far end talker keeps speaking while the room sends the \
   voice back into the microphone, and the canceller must learn the path. Seven silver ships sailed \
   slowly south across the shining sea before the storm."
espeak-ng -v en-gb+f3 -s 140 -w "$T/near.wav" \
  "Hello, this is the near end speaking over the far end. Can you still hear me clearly, even with \
   the fan running and the speakers turned up loud? Numbers: one, two, three, four, five."
sox "$T/far.wav" -r "$RATE" -c 1 -b 16 -e signed -t raw "$T/far.raw"
sox "$T/near.wav" -r "$RATE" -c 1 -b 16 -e signed -t raw "$T/near.raw"
"$BUILD/bench/echo_bench" "$T/far.raw" "$T/near.raw" "$RATE"
