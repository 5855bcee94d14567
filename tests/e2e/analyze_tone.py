#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Checks that a raw S16LE mono 48 kHz recording holds the expected tone and not the other one.
# usage: analyze_tone.py FILE EXPECTED_HZ OTHER_HZ  -> exit 0 if EXPECTED dominates
import math
import struct
import sys

path, want, other = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
data = open(path, 'rb').read()
n = len(data) // 2
samples = struct.unpack('<%dh' % n, data[:n * 2])
rate = 48000


def goertzel(block, freq):
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in block:
        s0 = x + k * s1 - s2
        s2, s1 = s1, s0
    return s1 * s1 + s2 * s2 - k * s1 * s2


# Look at 100 ms blocks; count blocks where the wanted tone clearly dominates.
block = rate // 10
good = loud = 0
for start in range(0, n - block, block):
    b = samples[start:start + block]
    rms = math.sqrt(sum(x * x for x in b) / block)
    if rms < 300:
        continue
    loud += 1
    pw, po = goertzel(b, want), goertzel(b, other)
    if pw > 20 * max(po, 1.0):
        good += 1
print('%s: %d samples, %d loud blocks, %d with %g Hz dominant over %g Hz'
      % (path, n, loud, good, want, other))
sys.exit(0 if good >= 10 else 1)
