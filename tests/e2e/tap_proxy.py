# SPDX-License-Identifier: MIT
"""A recording TCP + UDP proxy in front of the relay: what the relay sees.

usage: tap_proxy.py LISTEN_HOST PORT RELAY_HOST CAPTURE_FILE FLIP_FILE COUNT_FILE

Listens on LISTEN_HOST:PORT for both TCP (the TLS control connection) and
UDP (media), and forwards to RELAY_HOST:PORT. The relay announces its own
port for media, so the relay listens on another loopback address with the
same port and clients, configured with LISTEN_HOST:PORT, send everything
here. Every byte in either direction is appended to CAPTURE_FILE as records
of (1 byte kind: 'u' datagram / 't' stream chunk, 1 byte direction: '>' to
the relay / '<' from it, be32 length, bytes).

While FLIP_FILE exists, every 5th media datagram from a client (longer than
a 28-byte header plus a 16-byte tag) gets one bit flipped in the middle of
its ciphertext before it goes to the relay; the number flipped so far is
rewritten to COUNT_FILE after each flip.
"""
import os
import selectors
import socket
import struct
import sys

host, port, relay_host, capture_path, flip_path, count_path = sys.argv[1:7]
port = int(port)
sel = selectors.DefaultSelector()
capture = open(capture_path, "ab", buffering=0)
flipped = 0
seen = 0


def record(kind, direction, data):
    capture.write(kind + direction + struct.pack(">I", len(data)) + data)


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((host, port))
listener.listen(16)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((host, port))
sel.register(listener, selectors.EVENT_READ, ("accept", None))
sel.register(udp, selectors.EVENT_READ, ("udp-in", None))
upstream = {}  # client address -> UDP socket connected to the relay
print("ready", flush=True)


def close_pair(a, b):
    for s in (a, b):
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()


while True:
    for key, _ in sel.select():
        what, other = key.data
        s = key.fileobj
        if what == "accept":
            client, _ = listener.accept()
            relay = socket.create_connection((relay_host, port))
            sel.register(client, selectors.EVENT_READ, (">", relay))
            sel.register(relay, selectors.EVENT_READ, ("<", client))
        elif what in (">", "<"):
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                close_pair(s, other)
                continue
            record(b"t", what.encode(), data)
            try:
                other.sendall(data)
            except OSError:
                close_pair(s, other)
        elif what == "udp-in":
            data, addr = udp.recvfrom(65536)
            if len(data) > 28 + 16 and os.path.exists(flip_path):
                seen += 1
                if seen % 5 == 0:
                    b = bytearray(data)
                    b[28 + (len(b) - 28 - 16) // 2] ^= 0x10
                    data = bytes(b)
                    flipped += 1
                    with open(count_path + ".tmp", "w") as f:
                        f.write(str(flipped))
                    os.replace(count_path + ".tmp", count_path)
            record(b"u", b">", data)
            up = upstream.get(addr)
            if up is None:
                up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                up.connect((relay_host, port))
                upstream[addr] = up
                sel.register(up, selectors.EVENT_READ, ("udp-out", addr))
            try:
                up.send(data)
            except OSError:
                pass
        elif what == "udp-out":
            try:
                data = s.recv(65536)
            except OSError:
                continue
            record(b"u", b"<", data)
            udp.sendto(data, other)
