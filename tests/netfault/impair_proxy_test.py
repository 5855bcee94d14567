#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unit tests of the impairment proxy: loss models (rates, bursts) for fixed seeds,
determinism and replay, and one real forward through loopback sockets."""

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import impair_proxy as ip  # noqa: E402

N = 200_000


def bursts(losses):
    """Lengths of the runs of consecutive losses."""
    out, run = [], 0
    for lost in losses:
        if lost:
            run += 1
        elif run:
            out.append(run)
            run = 0
    if run:
        out.append(run)
    return out


class UniformLossModel(unittest.TestCase):
    def test_loses_the_configured_rate_for_a_fixed_seed(self):
        for p in (0.05, 0.10, 0.20):
            m = ip.UniformLoss(random.Random(7), p)
            rate = sum(m.lost() for _ in range(N)) / N
            print(f"uniform p={p}: measured {rate:.4f}")
            self.assertAlmostEqual(rate, p, delta=0.1 * p)

    def test_has_mean_bursts_of_one_over_one_minus_p(self):
        m = ip.UniformLoss(random.Random(7), 0.10)
        b = bursts([m.lost() for _ in range(N)])
        mean = sum(b) / len(b)
        self.assertAlmostEqual(mean, 1 / 0.9, delta=0.05)


class GilbertElliottLossModel(unittest.TestCase):
    def test_loses_the_configured_rate_in_bursts_of_the_configured_mean(self):
        for p, burst in ((0.10, 2.0), (0.05, 3.0), (0.20, 4.0)):
            m = ip.GilbertElliott(random.Random(11), p, burst)
            losses = [m.lost() for _ in range(N)]
            rate = sum(losses) / N
            b = bursts(losses)
            mean = sum(b) / len(b)
            print(f"gilbert-elliott p={p} burst={burst}: rate {rate:.4f}, mean burst {mean:.3f}")
            self.assertAlmostEqual(rate, p, delta=0.1 * p)
            self.assertAlmostEqual(mean, burst, delta=0.1 * burst)

    def test_refuses_impossible_settings(self):
        with self.assertRaises(ValueError):
            ip.GilbertElliott(random.Random(1), 1.5, 2)
        with self.assertRaises(ValueError):
            ip.GilbertElliott(random.Random(1), 0.1, 0.5)


SETTINGS = {"loss": 0.1, "burst": 2.0, "delay": 20.0, "jitter": 5.0, "reorder": 0.02,
            "duplicate": 0.01, "reorder_ms": 50.0}


class ADirection(unittest.TestCase):
    def test_makes_the_same_decisions_for_the_same_seed(self):
        a = ip.Direction("up", 42, SETTINGS)
        b = ip.Direction("up", 42, SETTINGS)
        c = ip.Direction("up", 43, SETTINGS)
        da = [a.decide() for _ in range(5000)]
        self.assertEqual(da, [b.decide() for _ in range(5000)])
        self.assertNotEqual(da, [c.decide() for _ in range(5000)])

    def test_keeps_delays_within_the_jitter_and_does_every_action(self):
        d = ip.Direction("up", 5, SETTINGS)
        decisions = [d.decide() for _ in range(20000)]
        actions = {a for a, _ in decisions}
        self.assertEqual(actions, {"fwd", "drop", "dup", "reorder"})
        for a, delay in decisions:
            if a in ("fwd", "dup"):
                self.assertGreaterEqual(delay, 15.0)
                self.assertLessEqual(delay, 25.0)
            elif a == "reorder":
                self.assertGreaterEqual(delay, 65.0)

    def test_replays_logged_decisions(self):
        d = ip.Direction("up", 1, SETTINGS, replay=[("drop", 0.0), ("fwd", 12.5)])
        self.assertEqual([d.decide() for _ in range(3)],
                         [("drop", 0.0), ("fwd", 12.5), ("fwd", 0.0)])


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class TheProxyProcess(unittest.TestCase):
    """A real proxy between two loopback sockets: loss, block, rebind, log, replay."""

    def run_proxy(self, tmp, extra, name):
        relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        relay.bind(("127.0.0.1", 0))
        relay.settimeout(0.2)
        listen = free_port()
        ctl = os.path.join(tmp, name + ".sock")
        log = os.path.join(tmp, name + ".log")
        proc = subprocess.Popen([sys.executable, ip.__file__, "--listen", f"127.0.0.1:{listen}",
                                 "--upstream", f"127.0.0.1:{relay.getsockname()[1]}",
                                 "--control", ctl, "--log", log, "--max-seconds", "60"] + extra)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.addCleanup(relay.close)
        deadline = time.monotonic() + 20
        while not os.path.exists(ctl):
            self.assertLess(time.monotonic(), deadline, "proxy did not start")
            time.sleep(0.05)
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.settimeout(0.2)
        self.addCleanup(client.close)
        return relay, client, listen, ctl, log, proc

    def command(self, ctl, *words):
        out = subprocess.run([sys.executable, ip.__file__, "ctl", ctl, *words],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)

    def drain(self, sock, want, seconds=10):
        got = []
        deadline = time.monotonic() + seconds
        while len(got) < want and time.monotonic() < deadline:
            try:
                got.append(sock.recvfrom(2048))
            except socket.timeout:
                pass
        return got

    def test_forwards_loses_blocks_rebinds_and_replays(self):
        with tempfile.TemporaryDirectory() as tmp:
            relay, client, listen, ctl, log, _ = self.run_proxy(
                tmp, ["--seed", "3", "--loss", "0.2"], "a")
            n = 500
            got = []
            for i in range(n):
                client.sendto(b"up%d" % i, ("127.0.0.1", listen))
                if i % 50 == 49:
                    got += self.drain(relay, 1000, 0.3)  # keep the socket buffer from filling
            # Wait for the proxy to have decided on all of them, then count.
            deadline = time.monotonic() + 20
            while True:
                s = self.command(ctl, "stats")
                if s.get("up_fwd", 0) + s.get("up_drop", 0) >= n:
                    break
                self.assertLess(time.monotonic(), deadline, s)
                time.sleep(0.1)
            got += self.drain(relay, s["up_fwd"] - len(got))
            self.assertEqual(len(got), s["up_fwd"])
            self.assertTrue(0.1 < s["up_drop"] / n < 0.3, s)
            # Answers go back to the client's address.
            relay.sendto(b"answer", got[0][1])
            replies = self.drain(client, 1) + self.drain(client, 1, 2)  # may be lost: try twice
            relay.sendto(b"answer", got[0][1])
            replies += self.drain(client, 1, 2)
            self.assertTrue(any(r[0] == b"answer" for r in replies))

            self.assertTrue(self.command(ctl, "block")["ok"])
            for i in range(20):
                client.sendto(b"blocked", ("127.0.0.1", listen))
            deadline = time.monotonic() + 20
            while self.command(ctl, "stats").get("up_blocked", 0) < 20:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.1)
            self.assertEqual(self.drain(relay, 1, 0.5), [])
            self.command(ctl, "unblock")
            self.command(ctl, "set", "loss=0")
            old_port = got[0][1][1]
            new_port = self.command(ctl, "rebind")["port"]
            self.assertNotEqual(old_port, new_port)
            client.sendto(b"after", ("127.0.0.1", listen))
            after = self.drain(relay, 1)
            self.assertEqual(after[0][0], b"after")
            self.assertEqual(after[0][1][1], new_port)

            # The same packets through a proxy replaying the log: the same ones arrive.
            fwd_first = [json.loads(line) for line in open(log)]
            decided = [e for e in fwd_first if e["event"] == "pkt" and e["dir"] == "up"
                       and "i" in e][:n]
            relay2, client2, listen2, _, _, _ = self.run_proxy(tmp, ["--replay", log], "b")
            got2 = []
            for i in range(n):
                client2.sendto(b"up%d" % i, ("127.0.0.1", listen2))
                if i % 50 == 49:
                    got2 += self.drain(relay2, 1000, 0.3)
            want = sum(1 for e in decided if e["action"] != "drop")
            got2 += self.drain(relay2, want - len(got2))
            self.assertEqual(sorted(p for p, _ in got2), sorted(p for p, _ in got))


if __name__ == "__main__":
    unittest.main(verbosity=2)
