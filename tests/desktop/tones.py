#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Finds a call-progress tone in a raw S16LE mono 48 kHz recording, in 5 ms blocks.
# usage: tones.py on FILE HZ                 exit 0 if HZ sounds now, for 40 ms to 1 s so far
#                                            (a burst of the ring lasts 1.5 s: time is left)
#        tones.py has FILE HZ [FROM TO]      exit 0 if 100 ms of HZ lie within bytes FROM..TO
#        tones.py stop FILE HZ AT LIMIT_MS   exit 0 if HZ sounded in the 50 ms before byte AT
#                                            and stops within LIMIT_MS after it (prints by how much;
#                                            a tone is 15 ms or more of HZ, not a click)
import math
import os
import struct
import sys

RATE = 48000
BLOCK = 240  # 5 ms
THRESHOLD = 1000  # amplitude; the tones have about 4000 per sine, speech and silence far less


# A Hann window keeps a loud call tone a few hundred Hz away from leaking into the band.
WINDOW = [0.5 - 0.5 * math.cos(2 * math.pi * i / BLOCK) for i in range(BLOCK)]


def amplitude(samples, freq):
    k = 2 * math.cos(2 * math.pi * freq / RATE)
    s1 = s2 = 0.0
    for x, w in zip(samples, WINDOW):
        s1, s2 = x * w + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    return 2 * math.sqrt(max(power, 0)) / sum(WINDOW)


def blocks(path, freq, first=0, last=None):
    """(byte offset, has tone) for each whole block of the file between the byte offsets."""
    with open(path, 'rb') as f:
        f.seek(first)
        data = f.read() if last is None else f.read(max(0, last - first))
    n = len(data) // (2 * BLOCK)
    out = []
    for i in range(n):
        chunk = struct.unpack('<%dh' % BLOCK, data[i * 2 * BLOCK:(i + 1) * 2 * BLOCK])
        out.append((first + i * 2 * BLOCK, amplitude(chunk, freq) > THRESHOLD))
    return out


def main():
    cmd, path, freq = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if cmd == 'on':
        size = os.path.getsize(path) // (2 * BLOCK) * 2 * BLOCK
        b = blocks(path, freq, max(0, size - 300 * 2 * BLOCK), size)
        run = 0
        for _, t in reversed(b):
            if not t:
                break
            run += 1
        return 0 if 8 <= run <= 200 else 1
    if cmd == 'has':
        first = int(sys.argv[4]) // 2 * 2 if len(sys.argv) > 4 else 0
        last = int(sys.argv[5]) if len(sys.argv) > 5 else None
        run = best = 0
        for _, t in blocks(path, freq, first, last):
            run = run + 1 if t else 0
            best = max(best, run)
        print('%s: longest run of %g Hz: %d ms' % (path, freq, best * 5))
        return 0 if best >= 20 else 1
    if cmd == 'stop':
        at = int(sys.argv[4]) // 2 * 2
        limit_ms = float(sys.argv[5])
        before = blocks(path, freq, max(0, at - RATE * 2), at)
        if sum(t for _, t in before[-10:]) < 8:
            print('%s: no %g Hz in the 50 ms before the answer' % (path, freq))
            return 1
        after = blocks(path, freq, at)
        # The burst sounding at the answer: followed block by block (a
        # one-block dip does not end it) to where it stops.
        end = at
        i = 0
        while i < len(after) and (after[i][1] or (i + 1 < len(after) and after[i + 1][1])):
            end = after[i][0] + 2 * BLOCK
            i += 1
        # Anything later counts if it lasts 15 ms: the click of the call's
        # audio starting touches every band for one block, a tone lasts.
        for j in range(max(i, 2), len(after)):
            if after[j][1] and after[j - 1][1] and after[j - 2][1]:
                end = after[j][0] + 2 * BLOCK
        stop_ms = (end - at) / 2 / RATE * 1000
        print('%s: %g Hz stopped %.1f ms after the answer (limit %g ms)' % (path, freq, stop_ms, limit_ms))
        return 0 if stop_ms <= limit_ms else 1
    print('unknown command', cmd, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
