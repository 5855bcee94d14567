#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A UDP impairment proxy for the network-fault tests: one client <-> the relay's media port.

The client (voiced with `media_relay = 127.0.0.1:LISTEN`) sends to --listen; the proxy
forwards to --upstream from its own socket and sends the relay's answers back to the
client, impairing both directions:

  loss        uniform (--loss P) or Gilbert-Elliott bursty (--loss P --burst B: mean
              loss rate P, mean run of consecutive losses B)
  delay       --delay MS with --jitter MS (each packet delay uniform in delay +- jitter)
  reordering  --reorder P: a packet is held --reorder-ms longer, so later ones overtake it
  duplication --duplicate P: a packet is sent twice
  block       at run time (control socket): drop every datagram both ways

Decisions come from one seeded generator per direction, drawn per packet in arrival
order, so a run is reproducible from its seed; --replay LOG applies a previous run's
logged decisions instead. The log (--log) has a header line with the settings and one
line per packet: time, direction, index, action, delay.

Control (--control PATH, a Unix stream socket; one command line, one JSON answer):
  block | unblock | rebind (new upstream socket: the client's address at the relay
  changes) | stats | set KEY=VALUE... (loss, burst, delay, jitter, reorder, duplicate)
`impair_proxy.py ctl PATH COMMAND...` sends a command and prints the answer.

Traffic stays on the addresses given (the tests use loopback); bounded queues."""

import argparse
import heapq
import json
import os
import random
import selectors
import socket
import sys
import time

MAX_QUEUE = 4096  # datagrams waiting for their delay; more are dropped (counted)


class UniformLoss:
    """Each packet lost with probability p, independently."""

    def __init__(self, rng, p):
        self.rng, self.p = rng, p

    def lost(self):
        return self.rng.random() < self.p


class GilbertElliott:
    """Two-state Markov loss: Good loses with probability k, Bad with h.

    With k = 0 and h = 1 (the default), runs of losses are the Bad sojourns, so the
    mean burst is 1/r and the loss rate p/(p+r); p and r are chosen from the wanted
    mean loss rate and mean burst length."""

    def __init__(self, rng, loss, burst, k=0.0, h=1.0):
        if not (0 <= loss < 1) or burst < 1:
            raise ValueError("Gilbert-Elliott: need 0 <= loss < 1 and burst >= 1")
        self.rng, self.k, self.h = rng, k, h
        # Stationary P(Bad) = p/(p+r); loss = k + (h-k) P(Bad).
        bad = (loss - k) / (h - k) if h > k else 0.0
        self.r = 1.0 / burst
        self.p = self.r * bad / (1.0 - bad) if bad < 1 else 1.0
        self.bad = False

    def lost(self):
        # Transition first, then lose according to the new state.
        if self.bad:
            if self.rng.random() < self.r:
                self.bad = False
        elif self.rng.random() < self.p:
            self.bad = True
        return self.rng.random() < (self.h if self.bad else self.k)


class Direction:
    """Decisions for one direction: a seeded generator, or a replayed log."""

    def __init__(self, name, seed, settings, replay=None):
        self.name = name
        self.rng = random.Random(seed)
        self.seed = seed
        self.replay = replay  # list of (action, delay_ms) by index, or None
        self.index = 0
        self.configure(settings)

    def configure(self, s):
        self.s = dict(s)
        if s["burst"] > 1:
            self.loss = GilbertElliott(self.rng, s["loss"], s["burst"])
        else:
            self.loss = UniformLoss(self.rng, s["loss"])

    def decide(self):
        """(action, delay_ms) for the next packet: action is fwd, drop, dup or reorder."""
        i = self.index
        self.index += 1
        if self.replay is not None:
            return self.replay[i] if i < len(self.replay) else ("fwd", 0.0)
        s = self.s
        # Always draw the same number of values per packet so one setting does not
        # shift the others' random streams.
        lost = self.loss.lost()
        jitter = self.rng.uniform(-s["jitter"], s["jitter"])
        reorder = self.rng.random() < s["reorder"]
        dup = self.rng.random() < s["duplicate"]
        delay = max(0.0, s["delay"] + jitter)
        if lost:
            return ("drop", 0.0)
        if reorder:
            return ("reorder", delay + s["reorder_ms"])
        if dup:
            return ("dup", delay)
        return ("fwd", delay)


class Proxy:
    def __init__(self, a):
        self.a = a
        self.sel = selectors.DefaultSelector()
        host, port = a.listen.rsplit(":", 1)
        self.down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.down.bind((host, int(port)))
        self.down.setblocking(False)
        uh, up = a.upstream.rsplit(":", 1)
        self.upstream = (uh, int(up))
        self.up = None
        self.client = None
        self.blocked = False
        self.queue = []  # (due, n, sock, address, bytes)
        self.qn = 0
        self.counts = {}
        self.rebinds = 0
        self.late_max = self.late_sum = 0.0
        self.late_n = 0
        settings = {k: getattr(a, k) for k in ("loss", "burst", "delay", "jitter", "reorder",
                                                "duplicate", "reorder_ms")}
        replay = load_replay(a.replay) if a.replay else {"up": None, "down": None}
        self.dirs = {"up": Direction("up", a.seed * 2, settings, replay["up"]),
                     "down": Direction("down", a.seed * 2 + 1, settings, replay["down"])}
        self.log = open(a.log, "w", buffering=1) if a.log else None
        self.note("start", {"seed": a.seed, **settings, "replay": a.replay or ""})
        self.sel.register(self.down, selectors.EVENT_READ, "down")
        self.new_upstream()
        self.ctl = None
        if a.control:
            if os.path.exists(a.control):
                os.unlink(a.control)
            self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.ctl.bind(a.control)
            self.ctl.listen(8)
            self.sel.register(self.ctl, selectors.EVENT_READ, "ctl")

    def note(self, event, fields):
        if self.log:
            self.log.write(json.dumps({"t": round(time.time(), 4), "event": event, **fields}) + "\n")

    def new_upstream(self):
        old = self.up
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.bind((self.upstream[0], 0))
        self.up.connect(self.upstream)
        self.up.setblocking(False)
        self.sel.register(self.up, selectors.EVENT_READ, "up")
        if old is not None:
            # Keep reading the old socket briefly? No: a rebound client's old port is gone.
            self.sel.unregister(old)
            old.close()
            self.rebinds += 1
        self.note("upstream", {"port": self.up.getsockname()[1]})

    def count(self, key):
        self.counts[key] = self.counts.get(key, 0) + 1

    def packet(self, direction, data):
        d = self.dirs[direction]
        if self.blocked:
            # Decisions are not drawn while blocked: the seeded stream stays aligned
            # with the packets that were offered to the impairments.
            self.count(direction + "_blocked")
            self.note("pkt", {"dir": direction, "action": "blocked"})
            return
        i = d.index
        action, delay = d.decide()
        self.count(direction + "_" + action)
        if self.log:
            self.log.write('{"t":%.4f,"event":"pkt","dir":"%s","i":%d,"action":"%s","delay":%.2f}\n'
                           % (time.time(), direction, i, action, delay))
        if action == "drop":
            return
        copies = 2 if action == "dup" else 1
        for _ in range(copies):
            if len(self.queue) >= MAX_QUEUE:
                self.count("queue_full")
                return
            self.qn += 1
            heapq.heappush(self.queue, (time.monotonic() + delay / 1000.0, self.qn, direction, data))

    def send(self, direction, data):
        try:
            if direction == "up":
                self.up.send(data)
            elif self.client is not None:
                self.down.sendto(data, self.client)
        except OSError:
            self.count(direction + "_send_error")

    def control(self, conn):
        conn.settimeout(2)
        try:
            line = conn.makefile().readline().split()
        except OSError:
            conn.close()
            return
        answer = {"ok": True}
        if not line:
            answer = {"ok": False, "error": "empty command"}
        elif line[0] in ("block", "unblock"):
            self.blocked = line[0] == "block"
            answer["t"] = time.time()
            self.note(line[0], {})
        elif line[0] == "rebind":
            self.new_upstream()
            answer["port"] = self.up.getsockname()[1]
            answer["t"] = time.time()
        elif line[0] == "stats":
            answer.update(self.counts)
            answer["rebinds"] = self.rebinds
            answer["late_max_ms"] = round(self.late_max, 2)
            answer["late_mean_ms"] = round(self.late_sum / max(self.late_n, 1), 3)
            answer["blocked"] = self.blocked
        elif line[0] == "set":
            try:
                for kv in line[1:]:
                    k, v = kv.split("=", 1)
                    for d in self.dirs.values():
                        if k not in d.s:
                            raise ValueError("unknown setting " + k)
                        s = dict(d.s)
                        s[k] = float(v)
                        d.configure(s)
                self.note("set", {"settings": line[1:]})
            except ValueError as e:
                answer = {"ok": False, "error": str(e)}
        else:
            answer = {"ok": False, "error": "unknown command " + line[0]}
        try:
            conn.sendall((json.dumps(answer) + "\n").encode())
        except OSError:
            pass
        conn.close()

    def run(self):
        end = time.monotonic() + self.a.max_seconds
        while time.monotonic() < end:
            timeout = 0.5
            if self.queue:
                timeout = max(0.0, min(timeout, self.queue[0][0] - time.monotonic()))
            for key, _ in self.sel.select(timeout):
                if key.data == "ctl":
                    conn, _ = self.ctl.accept()
                    self.control(conn)
                    continue
                sock = key.fileobj
                for _ in range(64):
                    try:
                        data, address = sock.recvfrom(2048)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break  # e.g. ICMP port unreachable from the relay
                    if key.data == "down":
                        self.client = address
                        self.packet("up", data)
                    else:
                        self.packet("down", data)
            now = time.monotonic()
            while self.queue and self.queue[0][0] <= now:
                due, _, direction, data = heapq.heappop(self.queue)
                # How late the proxy itself sends (scheduling on a loaded machine):
                # extra jitter on top of the configured one, reported by stats.
                late = (now - due) * 1000.0
                self.late_max = max(self.late_max, late)
                self.late_sum += late
                self.late_n += 1
                if late > 10:
                    self.count("late_over_10ms")
                self.send(direction, data)


def load_replay(path):
    out = {"up": [], "down": []}
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            if e.get("event") == "pkt" and "i" in e:
                out[e["dir"]].append((e["action"], float(e["delay"])))
    return out


def ctl(path, words):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall((" ".join(words) + "\n").encode())
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    print(data.decode().strip())
    return 0 if json.loads(data).get("ok") else 1


def main(argv):
    if len(argv) >= 3 and argv[0] == "ctl":
        return ctl(argv[1], argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", required=True, help="host:port the client sends to")
    p.add_argument("--upstream", required=True, help="the relay's host:port")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--loss", type=float, default=0.0, help="mean loss rate 0..1")
    p.add_argument("--burst", type=float, default=1.0,
                   help="mean loss burst (> 1: Gilbert-Elliott)")
    p.add_argument("--delay", type=float, default=0.0, help="ms")
    p.add_argument("--jitter", type=float, default=0.0, help="+- ms, uniform")
    p.add_argument("--reorder", type=float, default=0.0, help="probability")
    p.add_argument("--reorder-ms", dest="reorder_ms", type=float, default=50.0)
    p.add_argument("--duplicate", type=float, default=0.0, help="probability")
    p.add_argument("--control", help="Unix socket for run-time commands")
    p.add_argument("--log", help="per-packet log (JSON lines)")
    p.add_argument("--replay", help="apply the decisions of this log instead of the seed")
    p.add_argument("--max-seconds", dest="max_seconds", type=float, default=3600,
                   help="exit after this long (a bound for tests)")
    p.add_argument("--realtime", type=int, default=0, metavar="PRIORITY",
                   help="run SCHED_FIFO at this priority where allowed, so a loaded machine "
                        "does not add its own delays (the loop sleeps in select: never busy)")
    a = p.parse_args(argv)
    if a.realtime > 0:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(a.realtime))
        except (OSError, AttributeError) as e:
            print("impair_proxy: no real-time priority (%s); delays may grow under load" % e,
                  file=sys.stderr)
    Proxy(a).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
