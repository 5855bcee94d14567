# SPDX-License-Identifier: MIT
"""An attacker on a third address who has seen the call's UDP datagrams.

usage: route_attacker.py BIND_HOST RELAY_HOST RELAY_PORT CAPTURE_FILE SECONDS RESULT_FILE

Reads the datagrams clients sent to the relay from CAPTURE_FILE (records of
tests/e2e/tap_proxy.py), re-reading it every half second so its replays are
as fresh as possible, and for SECONDS sends to RELAY_HOST:RELAY_PORT from
BIND_HOST, about 200 datagrams a second, in turn:

  - a captured datagram replayed byte for byte (audio, or the latest probe),
  - a copy with one random bit flipped,
  - a bare probe: a 28-byte header with a live session id and a new counter,
  - a captured audio packet with a forged sequence number (far ahead, or a
    little ahead of the live one).

Everything the relay sends to it is counted. RESULT_FILE gets one JSON line:
{"sent": N, "received": N, "sessions": N, "captured": N}.
"""
import json
import os
import random
import socket
import struct
import sys
import time

bind_host, relay_host, relay_port, capture_path, seconds, result_path = sys.argv[1:7]
relay = (relay_host, int(relay_port))
HEADER = 28
PROBE = 2

rng = random.Random(16)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((bind_host, 0))
sock.setblocking(False)

offset = 0
audio = []  # recent captured audio datagrams to the relay
probes = []  # recent captured probes to the relay
sessions = set()
captured = 0


def read_capture():
    """Appends the new datagrams to the relay from the capture file."""
    global offset, captured
    with open(capture_path, "rb") as f:
        f.seek(offset)
        data = f.read()
    pos = 0
    while pos + 6 <= len(data):
        kind, direction = data[pos:pos + 1], data[pos + 1:pos + 2]
        (n,) = struct.unpack(">I", data[pos + 2:pos + 6])
        if pos + 6 + n > len(data):
            break
        body = data[pos + 6:pos + 6 + n]
        pos += 6 + n
        if kind != b"u" or direction != b">" or len(body) < HEADER or body[0] != 1:
            continue
        captured += 1
        sessions.add(body[4:12])
        (probes if body[1] == PROBE else audio).append(body)
    offset += pos
    del audio[:-200]
    del probes[:-20]


def with_sequence(packet, seq):
    return packet[:12] + struct.pack(">Q", seq & (2**64 - 1)) + packet[20:]


sent = received = 0
read_capture()
end = time.monotonic() + float(seconds)
next_read = time.monotonic() + 0.5
step = 0
while time.monotonic() < end:
    now = time.monotonic()
    if now >= next_read:
        read_capture()
        next_read = now + 0.5
    if audio:
        pick = audio[-1 - rng.randrange(min(len(audio), 50))]
        step += 1
        which = step % 5
        if which == 0:
            d = probes[-1] if probes and step % 2 else pick  # replay: the latest probe, or audio
        elif which == 1:
            b = bytearray(probes[-1] if probes and step % 3 == 0 else pick)
            bit = rng.randrange(len(b) * 8)
            b[bit // 8] ^= 1 << (bit % 8)
            d = bytes(b)
        elif which == 2:
            session = pick[4:12]
            d = bytes([1, PROBE, 0, 0]) + session + struct.pack(">QQ", rng.randrange(1, 2**40),
                                                                int(time.monotonic() * 1e6))
        elif which == 3:
            d = with_sequence(pick, rng.choice([2**40, 2**63 + rng.randrange(2**20),
                                                rng.randrange(2**64)]))
        else:
            (live,) = struct.unpack(">Q", pick[12:20])
            d = with_sequence(pick, live + rng.randrange(1, 1000))
        try:
            sock.sendto(d, relay)
            sent += 1
        except OSError:
            pass
    while True:
        try:
            sock.recvfrom(65536)
            received += 1
        except BlockingIOError:
            break
    time.sleep(0.005)
time.sleep(0.5)
while True:
    try:
        sock.recvfrom(65536)
        received += 1
    except BlockingIOError:
        break
with open(result_path + ".tmp", "w") as f:
    f.write(json.dumps({"sent": sent, "received": received, "sessions": len(sessions),
                        "captured": captured}) + "\n")
os.replace(result_path + ".tmp", result_path)
