#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A bounded flood at a relay from one local address, for the network-fault tests.

Opens up to --connections idle TCP connections (never sends a byte) and sends
--rate junk datagrams per second (random bytes; half of them shaped like media
headers with random session ids) to the relay's UDP port for --seconds, all
from --source (a loopback address other than the clients' 127.0.0.1). Every
loop is bounded in count and time. Prints what it did and how many
connections the relay had closed by the end."""

import argparse
import os
import random
import resource
import socket
import struct
import sys
import time


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--relay", required=True, help="host:port (TCP and UDP)")
    p.add_argument("--source", default="127.0.0.2")
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--rate", type=int, default=50000, help="junk datagrams per second")
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    host, port = a.relay.rsplit(":", 1)
    target = (host, int(port))
    rng = random.Random(a.seed)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, a.connections + 64)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    conns, failed = [], 0
    for _ in range(a.connections):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((a.source, 0))
        s.settimeout(2)
        try:
            s.connect(target)
            s.setblocking(False)
            conns.append(s)
        except OSError:
            failed += 1
            s.close()

    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((a.source, 0))
    u.setblocking(False)
    junk = []
    for i in range(256):
        if i % 2:
            # Version 1, kind Audio, random session id and sequence: a plausible header.
            junk.append(bytes([1, 1, 0, 0]) + os.urandom(8) + struct.pack(">Q", rng.getrandbits(64))
                        + os.urandom(8 + rng.randrange(0, 120)))
        else:
            junk.append(os.urandom(rng.randrange(1, 200)))

    sent = dropped = 0
    start = time.monotonic()
    total = int(a.rate * a.seconds)
    batch = max(1, a.rate // 200)  # every 5 ms
    while sent + dropped < total:
        now = time.monotonic()
        if now - start > a.seconds + 5:
            break  # bounded in time even when the machine is slow
        due = min(total, int((now - start) * a.rate))
        n = min(batch, due - sent - dropped)
        for i in range(n):
            try:
                u.sendto(junk[(sent + dropped) & 255], target)
                sent += 1
            except (BlockingIOError, InterruptedError):
                dropped += 1
            except OSError:
                dropped += 1
        if n <= 0:
            time.sleep(0.002)
    elapsed = time.monotonic() - start

    # Which of the idle connections did the relay close (EOF or reset)?
    closed = 0
    for s in conns:
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    u.close()
    print("flood: %d TCP connections opened (%d failed), %d closed by the relay; "
          "%d junk datagrams in %.1f s (%.0f/s), %d not sent (socket full)"
          % (len(conns), failed, closed, sent, elapsed, sent / max(elapsed, 0.001), dropped))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
