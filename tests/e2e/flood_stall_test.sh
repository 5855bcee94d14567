#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 16, between real processes (voice-relayd, two voiced, voicectl):
#  1. a flood of idle TCP connections from 127.0.0.1 (the address every
#     client here has, as behind one NAT) goes on while bob's voiced starts
#     on 127.0.0.1: it must register within 2 s of its D-Bus name appearing
#     (the per-address limit counts only unregistered connections, and a
#     full address makes room instead of refusing);
#  2. in a call alice -> bob, bob's voiced is stopped for 10 s (kill -STOP,
#     then -CONT): within 2 s its playout delay must be back within 20 ms of
#     its target, the target no more than 45 ms above where it was (a
#     frame for the FEC the loss turns on, and some jitter), and
#     from then on the delay must not show the backlog again (the stale
#     backlog is dropped, not drained); and alice, whose peer went quiet
#     but whose own UDP path to the relay works, must stay on UDP (the relay
#     echoes her probes while nothing reaches her: no tunnel switch).
# Run under tests/tools/with-pulse.sh (see meson.build).
#
# usage: flood_stall_test.sh RELAYD VOICED VOICECTL
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3
BOUND_S=2.0

. "$(dirname "$0")/../tools/voice-env.sh"
voice_env_begin flood-stall
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$@"; }
le() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$@"; }

relay_config "max_connections_per_address = 16" "registration_timeout = 10s"
for u in alice bob; do
    sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/$u.in.raw" synth 120 sine 440 vol 0.5
done
setup_user alice "$T/alice.in.raw" pulse:silence pulse:a_spk
setup_user bob "$T/bob.in.raw" pulse:silence pulse:b_spk
start_relay
start_voiced alice --log-level info
waitfor 20 is_registered alice || fail "alice did not register"

# ---------------------------------------------------------------- 1. flood
# 200 idle connections at once, then one more every 10 ms (64 kept open),
# bounded to 60 s; stopped by its PID below.
python3 - "$PORT" >"$T/flood.out" 2>&1 <<'PY' &
import collections, socket, sys, time
port = int(sys.argv[1])
kept = collections.deque()
def one():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return
    kept.append(s)
    while len(kept) > 64:
        kept.popleft().close()
for _ in range(200):
    one()
print("flooding", flush=True)
end = time.monotonic() + 60
while time.monotonic() < end:
    one()
    time.sleep(0.01)
PY
FLOOD=$!
PIDS+=($FLOOD)
waitfor 10 grep -q flooding "$T/flood.out" || fail "the flood did not start"
sleep 1
start_voiced bob --log-level info --auto-answer alice
waitfor 20 json_field bob state || fail "bob's voiced did not come up"
t0=$(now)
registered=""
until is_registered bob; do
    if ! le "$(elapsed "$t0" "$(now)")" 10; then break; fi
    sleep 0.05
done
is_registered bob && registered=$(elapsed "$t0" "$(now)")
kill $FLOOD 2>/dev/null
wait $FLOOD 2>/dev/null
[ -n "$registered" ] || fail "bob did not register under the flood within 10 s"
echo "flood: bob registered ${registered} s after his daemon came up"
le "$registered" "$BOUND_S" || fail "bob took ${registered} s to register under the flood (bound ${BOUND_S} s)"
echo "ok: registration under a connection flood"

# ---------------------------------------------------------------- 2. stall
ctl alice call bob >"$T/call.out" 2>&1 || fail "call failed: $(cat "$T/call.out")"
for u in alice bob; do waitfor 10 in_state $u in-call || fail "$u not in call"; done
sleep 4 # the buffer settles; stats come once a second
delays() { # delays USER -> "delay target frames_played"
    ctl "$1" status --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]
print("%.1f %.1f %d" % (s["buffer_delay_ms"], s["buffer_target_ms"], s["frames_played"]))'
}
# Stop bob right after a fresh snapshot of his stats, so that any later one
# with more frames played is from after the stall.
read -r D0 TGT0 F0 <<<"$(delays bob)"
F=$F0
for i in $(seq 40); do
    read -r D TGT F <<<"$(delays bob)"
    [ "$F" != "$F0" ] && break
    sleep 0.05
done
[ "$F" != "$F0" ] || fail "bob's stats do not move"
D0=$D TGT0=$TGT F0=$F
switches() { ctl "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["tunnel_switches"])'; }
SW0=$(switches alice)
kill -STOP ${VOICED_PID[bob]}
echo "before the stall: delay $D0 ms, target $TGT0 ms, frames played $F0"
sleep 10
# One poller (no process start-up per sample on a loaded machine) sends
# SIGCONT and reads bob's stats every 50 ms for 6 s. Stats are refreshed
# once a second: a sample whose frames_played changed since the previous one
# is a new snapshot, made since that sample, so its time is known to within
# a poll. The first sample is only the reference (it may be a snapshot made
# before the stop that nobody read).
DBUS_SESSION_BUS_ADDRESS=${BUS[bob]} python3 - "$VOICECTL" "${VOICED_PID[bob]}" \
    "$BOUND_S" "$D0" "$TGT0" "$F0" <<'PY' || fail "playout delay after the stall"
import json, os, signal, subprocess, sys, time
ctl, pid = sys.argv[1], int(sys.argv[2])
bound, d0, t0, f0 = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
os.kill(pid, signal.SIGCONT)
start = time.monotonic()
last_f, settled, bad = None, None, []
print("after the stall (s since SIGCONT, delay ms, target ms, frames played), new snapshots:")
while time.monotonic() - start < 6:
    out = subprocess.run([ctl, "status", "--json"], capture_output=True, text=True, timeout=10)
    at = time.monotonic() - start
    s = json.loads(out.stdout)["stats"]
    d, t, f = s["buffer_delay_ms"], s["buffer_target_ms"], s["frames_played"]
    if last_f is not None and f != last_f and f > f0:  # a snapshot from after the stall
        print("%.2f %.1f %.1f %d" % (at, d, t, f))
        # The target may gain a frame (20 ms) on top of real jitter: the loss
        # bob reports after the stall turns alice's FEC on.
        if settled is None and abs(d - t) <= 20 and t <= t0 + 45:
            settled = at
        # Past the bound no snapshot may show the backlog kept: the old code
        # held the maximum, ~200 ms, for half a minute. (The delay may stray
        # further than 20 ms from the target on a loaded machine, before the
        # stall too: the buffer drops a frame only 1.25 frames above the
        # target, and the target follows real jitter, 20..100 ms seen here.)
        if at > bound and d >= 150 and d > max(d0, t0) + 50:
            bad.append("%.2f:%.1f/%.1f" % (at, d, t))
    last_f = f
    time.sleep(0.05)
if settled is None:
    sys.exit("FAIL: bob's playout delay did not come back within 20 ms of its target")
print("stall: bob's playout delay within 20 ms of its target %.2f s after SIGCONT" % settled)
if settled > bound:
    sys.exit("FAIL: settled only after %.2f s (bound %.1f s)" % (settled, bound))
if bad:
    sys.exit("FAIL: a stale backlog (150 ms or more, 50 above before) past %.1f s: %s" % (bound, " ".join(bad)))
PY
in_state bob in-call || fail "bob left the call"
read -r DA TGTA FA <<<"$(delays alice)"
echo "alice (the caller, not stopped) then: delay $DA ms, target $TGTA ms"
SW1=$(switches alice)
echo "alice's switches to the tunnel across bob's stall: $((SW1 - SW0))"
[ "$SW1" = "$SW0" ] || fail "alice moved to the tunnel while only her peer was quiet ($SW0 -> $SW1)"
echo "ok: playout delay after a 10 s stall"
