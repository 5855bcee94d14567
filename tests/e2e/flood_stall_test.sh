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
#     its target, and the target must not have grown by more than 20 ms
#     (the stale backlog is dropped, not drained).
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
kill -STOP ${VOICED_PID[bob]}
echo "before the stall: delay $D0 ms, target $TGT0 ms, frames played $F0"
sleep 10
kill -CONT ${VOICED_PID[bob]}
t0=$(now)
# Samples for 6 s. Stats are refreshed once a second: a sample with more
# frames played than at the stop is a snapshot from after the stall, at most
# a second old.
settled=""
bad=""
: >"$T/after"
while le "$(elapsed "$t0" "$(now)")" 6; do
    read -r D TGT F <<<"$(delays bob)" || continue
    at=$(elapsed "$t0" "$(now)")
    echo "$at $D $TGT $F" >>"$T/after"
    sleep 0.1
    [ "$F" -gt "$((F0 + 10))" ] || continue
    if python3 -c "import sys; d,t,t0=map(float,sys.argv[1:]); sys.exit(0 if abs(d-t)<=20 and t<=t0+20 else 1)" \
        "$D" "$TGT" "$TGT0"; then
        [ -n "$settled" ] || settled=$at
    else
        # Past the bound every sample must be settled.
        le "$BOUND_S" "$at" && bad="$bad $at:$D/$TGT"
    fi
done
echo "after the stall (s since CONT, delay ms, target ms, frames played):"
cat "$T/after"
in_state bob in-call || fail "bob left the call"
[ -n "$settled" ] || fail "bob's playout delay did not come back within 20 ms of its target"
echo "stall: bob's playout delay within 20 ms of its target ${settled} s after SIGCONT"
le "$settled" "$BOUND_S" || fail "settled only after ${settled} s (bound ${BOUND_S} s)"
[ -z "$bad" ] || fail "not settled past ${BOUND_S} s:$bad"
echo "ok: playout delay after a 10 s stall"
