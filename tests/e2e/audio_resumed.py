#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# When did the played-out audio come back? Reads a raw S16LE mono 48 kHz recording from byte
# OFFSET on, skips what still sounds (concealment of the last frames), then prints the seconds
# from OFFSET to the first loud 20 ms block after the quiet gap.
# usage: audio_resumed.py FILE OFFSET -> prints seconds, exit 1 if the audio never came back
import math
import struct
import sys

path, offset = sys.argv[1], int(sys.argv[2])
rate = 48000
with open(path, 'rb') as f:
    f.seek(offset - offset % 2)
    data = f.read()
n = len(data) // 2
samples = struct.unpack('<%dh' % n, data[:n * 2])
block = rate // 50
quiet_seen = False
for start in range(0, n - block, block):
    b = samples[start:start + block]
    rms = math.sqrt(sum(x * x for x in b) / block)
    if rms < 300:
        quiet_seen = True
    elif quiet_seen:
        print('%.3f' % (start / rate))
        sys.exit(0)
print('never')
# Why: the level of every 100 ms from OFFSET on, so a failure in CI says
# whether the gap or the return is what was missing.
tenth = rate // 10
levels = ['%d' % math.sqrt(sum(x * x for x in samples[s:s + tenth]) / tenth)
          for s in range(0, n - tenth + 1, tenth)]
print('%.2f s recorded from byte %d; rms per 100 ms: %s' % (n / rate, offset, ' '.join(levels)),
      file=sys.stderr)
sys.exit(1)
