#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Checks that a raw S16LE mono 48 kHz recording holds the expected tone and not the other one.
# usage: analyze_tone.py FILE EXPECTED_HZ OTHER_HZ [RATE]  -> exit 0 if EXPECTED dominates
# (RATE: the recording's, default 48000)
# Also a module (scripts/demo-report.py imports it): load_raw, goertzel,
# tone_blocks and dominant_frequency work on plain lists, no numpy needed.
import math
import struct
import sys

RATE = 48000
rate = RATE  # the old name, kept for anyone who imported it


def load_raw(path):
    """Samples of a raw S16LE mono file, as a tuple of ints."""
    with open(path, 'rb') as f:
        data = f.read()
    n = len(data) // 2
    return struct.unpack('<%dh' % n, data[:n * 2])


def goertzel(block, freq):
    k = 2 * math.cos(2 * math.pi * freq / RATE)
    s1 = s2 = 0.0
    for x in block:
        s0 = x + k * s1 - s2
        s2, s1 = s1, s0
    return s1 * s1 + s2 * s2 - k * s1 * s2


def loud_blocks(samples, block=RATE // 10, min_rms=300):
    """Yields the 100 ms blocks whose RMS says something is playing."""
    for start in range(0, len(samples) - block, block):
        b = samples[start:start + block]
        rms = math.sqrt(sum(x * x for x in b) / block)
        if rms >= min_rms:
            yield b


def tone_blocks(samples, want, other):
    """(loud, good): loud 100 ms blocks, and those where `want` clearly dominates `other`."""
    good = loud = 0
    for b in loud_blocks(samples):
        loud += 1
        pw, po = goertzel(b, want), goertzel(b, other)
        if pw > 20 * max(po, 1.0):
            good += 1
    return loud, good


def dominant_frequency(samples, lo=50, hi=8000):
    """The strongest frequency (Hz) over the loud blocks, or None when all is quiet.

    With numpy: the peak of the summed magnitude spectra (1 s blocks, 1 Hz
    bins). Without: a Goertzel scan in 10 Hz steps over a few blocks.
    """
    blocks = list(loud_blocks(samples))
    if not blocks:
        return None
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None:
        x = np.asarray(samples, dtype=np.float64)
        spectrum = np.zeros(RATE // 2 + 1)
        for start in range(0, max(1, len(x) - RATE + 1), RATE):
            chunk = x[start:start + RATE]
            if len(chunk) < RATE:
                chunk = np.pad(chunk, (0, RATE - len(chunk)))
            spectrum += np.abs(np.fft.rfft(chunk * np.hanning(RATE)))
        return float(lo + np.argmax(spectrum[lo:hi + 1]))
    pick = blocks[::max(1, len(blocks) // 3)][:3]
    best, best_power = None, -1.0
    for f in range(lo, hi + 1, 10):
        p = sum(goertzel(b, f) for b in pick)
        if p > best_power:
            best, best_power = f, p
    return float(best)


def main(argv):
    global RATE
    path, want, other = argv[1], float(argv[2]), float(argv[3])
    if len(argv) > 4:  # the recording's rate (44100 for a 44.1 kHz device)
        RATE = int(argv[4])
    samples = load_raw(path)
    loud, good = tone_blocks(samples, want, other)
    print('%s: %d samples, %d loud blocks, %d with %g Hz dominant over %g Hz'
          % (path, len(samples), loud, good, want, other))
    return 0 if good >= 10 else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
