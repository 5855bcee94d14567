#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# When did the played-out audio come back? Reads a raw S16LE mono 48 kHz recording from byte
# OFFSET on, skips what still sounds (concealment of the last frames), then prints the seconds
# from OFFSET to the first of five 20 ms blocks in a row that sound again after the gap.
#
# With HZ, "sounds" means the block is loud and mostly that tone. Without it, loud is enough.
# The tone test matters: while no packet arrives, Opus conceals with comfort noise shaped like
# what it last decoded (SILK's CNG), as loud as a tone the sender's noise suppression has
# turned down; only the tone's share of the block tells the two apart.
# usage: audio_resumed.py FILE OFFSET [HZ] -> prints seconds, exit 1 if the audio never came back
import math
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyze_tone import goertzel  # noqa: E402

path, offset = sys.argv[1], int(sys.argv[2])
tone = float(sys.argv[3]) if len(sys.argv) > 3 else None
rate = 48000
MIN_RMS = 300
MIN_TONE_SHARE = 0.5
with open(path, 'rb') as f:
    f.seek(offset - offset % 2)
    data = f.read()
n = len(data) // 2
samples = struct.unpack('<%dh' % n, data[:n * 2])
block = rate // 50


def tone_share(b):
    """The part of the block's energy at `tone` (about 1 for a pure tone, near 0 for noise)."""
    energy = sum(x * x for x in b)
    return 2 * goertzel(b, tone) / (len(b) * energy) if energy else 0.0


def sounds(b):
    rms = math.sqrt(sum(x * x for x in b) / len(b))
    return rms >= MIN_RMS and (tone is None or tone_share(b) >= MIN_TONE_SHARE)


# Back means 100 ms that all sound: a resonant concealment can make one tone-like block.
RUN = 5
quiet_seen = False
run = 0
for start in range(0, n - block, block):
    if not sounds(samples[start:start + block]):
        quiet_seen = True
        run = 0
    elif quiet_seen:
        run += 1
        if run == RUN:
            print('%.3f' % (start / rate - (RUN - 1) * block / rate))
            sys.exit(0)
print('never')
# Why: the level (and tone share) of every 100 ms from OFFSET on, so a failure in
# CI says whether the gap or the return is what was missing.
tenth = rate // 10
levels = []
for s in range(0, n - tenth + 1, tenth):
    b = samples[s:s + tenth]
    rms = math.sqrt(sum(x * x for x in b) / tenth)
    levels.append('%d' % rms + ('/%.2f' % tone_share(b) if tone else ''))
print('%.2f s recorded from byte %d; rms%s per 100 ms: %s' %
      (n / rate, offset, '/tone share' if tone else '', ' '.join(levels)), file=sys.stderr)
sys.exit(1)
