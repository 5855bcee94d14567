# SPDX-License-Identifier: MIT
"""Counts 32-byte runs of a raw S16LE signal found in some bytes.

usage: find_pcm_runs.py SIGNAL.raw FILE [--capture]

Every 32-byte window of SIGNAL (16 samples, at each sample boundary, all-zero
windows left out) is looked for at every byte offset of FILE: of each
datagram and stream chunk when --capture names a tap_proxy.py capture, of
the whole file otherwise. Prints the number of offsets that hold one.
"""
import struct
import sys

RUN = 32
signal = open(sys.argv[1], "rb").read()
windows = set()
for i in range(0, len(signal) - RUN + 1, 2):
    w = signal[i:i + RUN]
    if w.count(0) != RUN:
        windows.add(w)

data = open(sys.argv[2], "rb").read()
chunks = []
if "--capture" in sys.argv[3:]:
    pos = 0
    while pos + 6 <= len(data):
        (n,) = struct.unpack(">I", data[pos + 2:pos + 6])
        chunks.append(data[pos + 6:pos + 6 + n])
        pos += 6 + n
else:
    chunks.append(data)

found = 0
total = 0
for c in chunks:
    total += len(c)
    for i in range(len(c) - RUN + 1):
        if c[i:i + RUN] in windows:
            found += 1
print(f"{found} runs in {len(chunks)} chunks, {total} bytes")
