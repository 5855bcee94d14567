#!/bin/bash
# SPDX-License-Identifier: MIT
# Nobody who sees the call's datagrams can take its media route (issue 16).
# A real call (relay, two voiced, paced devices) runs through a recording
# proxy (tap_proxy.py) in front of the relay; an attacker on a third
# loopback address (route_attacker.py, 127.0.0.3) reads what the proxy
# captured and for 10 s sends the relay replayed datagrams (audio and
# probes), bit-flipped copies, bare probes with the live session ids and
# audio with forged sequence numbers. The attacker must receive nothing,
# and both sides' received packet rate, concealment and path, and the
# relay's loss/jitter counters and address changes, must stay as in the
# 10 s just before without the attack. Run under tests/tools/with-pulse.sh.
#
# usage: route_attack_test.sh RELAYD VOICED VOICECTL
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3
HERE=$(cd "$(dirname "$0")" && pwd)
WINDOW=${ATTACK_SECONDS:-10}

. "$HERE/../tools/voice-env.sh"
voice_env_begin route-attack

METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The relay announces its own port for media: it listens on 127.0.0.2 and
# the proxy takes the same port on 127.0.0.1, where the users' config points.
relay_config "metrics = 127.0.0.1:$METRICS_PORT"
sed -i "s/^listen = 127.0.0.1:/listen = 127.0.0.2:/" "$T/relay.conf"
start_relay
python3 -u "$HERE/tap_proxy.py" 127.0.0.1 "$PORT" 127.0.0.2 "$T/capture.bin" "$T/no-flip" \
    "$T/flipped" >"$T/proxy.log" 2>&1 &
PIDS+=($!)
waitfor 10 grep -q ready "$T/proxy.log" || fail "the proxy did not start"
# metrics NAME... -> one line per name: its value (labelled series summed; 0 when absent)
metrics() {
    python3 - "$METRICS_PORT" "$@" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
for name in sys.argv[2:]:
    want = name.split("|")  # NAME or NAME|LABEL: series of NAME whose labels hold LABEL
    total = 0.0
    for line in text.splitlines():
        key = line.split(" ")[0]
        if key.split("{")[0] == want[0] and (len(want) == 1 or want[1] in key):
            total += float(line.split()[-1])
    print(total)
PY
}
waitfor 20 metrics voice_relayd_connections || fail "relay did not start"

SIGNAL_SECONDS=$((2 * WINDOW + 40))
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/alice.in.raw" synth $SIGNAL_SECONDS sine 440 vol 0.5
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/bob.in.raw" synth $SIGNAL_SECONDS sine 660 vol 0.5
setup_user alice "$T/alice.in.raw" pulse:silence pulse:a_spk
setup_user bob "$T/bob.in.raw" pulse:silence pulse:b_spk
start_voiced alice --log-level info
start_voiced bob --log-level info --auto-answer alice
for u in alice bob; do waitfor 30 is_registered $u || fail "$u did not register"; done
ctl alice call bob >"$T/call.out" 2>&1 || fail "call failed: $(cat "$T/call.out")"
for u in alice bob; do waitfor 20 in_state $u in-call || fail "$u not in call"; done
has_played() { [ "$(out_size "$1")" -gt 192000 ]; } # 2 s
waitfor 20 has_played bob || fail "bob played nothing"
sleep 3 # past the start-up of both jitter buffers

# snapshot NAME: both users' stats and the relay's counters, with the time, to $T/NAME.json
snapshot() {
    local u
    for u in alice bob; do
        ctl $u status --json >"$T/$1.$u.json" || fail "status of $u"
    done
    metrics voice_relayd_address_changes_total \
        'voice_relayd_call_packets_lost|from="caller"' 'voice_relayd_call_packets_lost|from="callee"' \
        'voice_relayd_call_jitter_seconds|from="caller"' 'voice_relayd_call_jitter_seconds|from="callee"' \
        voice_relayd_packets_forwarded_total voice_relayd_probes_refused_total \
        voice_relayd_stray_packets_total >"$T/$1.relay" || fail "metrics"
    date +%s.%N >"$T/$1.time"
}
# window FROM TO USER -> "rate concealed switches path" of USER between two snapshots
window() {
    python3 - "$T" "$1" "$2" "$3" <<'PY'
import json, sys
t, a, b, u = sys.argv[1:5]
s0 = json.load(open(f"{t}/{a}.{u}.json"))["stats"]
s1 = json.load(open(f"{t}/{b}.{u}.json"))["stats"]
dt = float(open(f"{t}/{b}.time").read()) - float(open(f"{t}/{a}.time").read())
print("%.1f %d %d %s" % ((s1["packets_received"] - s0["packets_received"]) / dt,
                         s1["concealed_frames"] - s0["concealed_frames"],
                         s1["tunnel_switches"] - s0["tunnel_switches"], s1["media_path"]))
PY
}
relay_at() { sed -n "$2p" "$T/$1.relay"; } # relay_at SNAPSHOT LINE

snapshot s0
sleep "$WINDOW"
snapshot s1
python3 "$HERE/route_attacker.py" 127.0.0.3 127.0.0.2 "$PORT" "$T/capture.bin" "$WINDOW" \
    "$T/attacker.json" >"$T/attacker.log" 2>&1 &
ATTACKER=$!
PIDS+=($ATTACKER)
sleep "$WINDOW"
snapshot s2
wait $ATTACKER || fail "the attacker failed: $(cat "$T/attacker.log")"
for u in alice bob; do in_state $u in-call || fail "$u's call dropped"; done

read -r SENT GOT SESSIONS < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(d["sent"], d["received"], d["sessions"])' "$T/attacker.json")
echo "attacker: $SENT datagrams sent for $SESSIONS captured session ids, $GOT received"
bad=0
[ "$SESSIONS" -ge 2 ] && [ "$SENT" -ge $((WINDOW * 50)) ] || fail "the attack did not run"
[ "$GOT" = 0 ] || { echo "the attacker received $GOT datagrams"; bad=1; }
for u in alice bob; do
    read -r R0 C0 S0 P0 < <(window s0 s1 $u)
    read -r R1 C1 S1 P1 < <(window s1 s2 $u)
    echo "$u: without attack $R0 packets/s, $C0 frames concealed, $S0 tunnel switches ($P0);" \
        "under attack $R1 packets/s, $C1 concealed, $S1 tunnel switches ($P1)"
    # Tolerances for a loaded machine: the rate within 15 %, concealment within
    # 50 frames (1 s) in 10 s. The old relay: the rate fell to ~60 %, with
    # about 100 frames concealed every 3 s.
    python3 -c 'import sys; r0, r1 = map(float, sys.argv[1:3]); sys.exit(r1 < 0.85 * r0)' "$R0" "$R1" ||
        { echo "$u's received rate fell under attack"; bad=1; }
    [ "$C1" -le $((C0 + 50)) ] || { echo "$u concealed more under attack"; bad=1; }
    [ "$S1" -le "$S0" ] && [ "$P1" = udp ] || { echo "$u fell back to the tunnel under attack"; bad=1; }
done
for i in 1 2 3 4 5 6 7 8; do
    eval "M0_$i=$(relay_at s1 $i) M1_$i=$(relay_at s2 $i) B_$i=$(relay_at s0 $i)"
done
echo "relay during the attack: address changes $M0_1 -> $M1_1;" \
    "lost caller $M0_2 -> $M1_2 (before: $B_2 -> $M0_2), callee $M0_3 -> $M1_3 (before: $B_3 -> $M0_3);" \
    "jitter caller $M0_4 -> $M1_4 s, callee $M0_5 -> $M1_5 s; probes refused $M0_7 -> $M1_7," \
    "stray packets $M0_8 -> $M1_8"
python3 - "$M0_1" "$M1_1" "$B_2" "$M0_2" "$M1_2" "$B_3" "$M0_3" "$M1_3" "$M0_4" "$M1_4" "$M0_5" \
    "$M1_5" <<'PY' || bad=1
import sys
v = list(map(float, sys.argv[1:]))
ok = True
if v[1] != v[0]:
    print("the attack moved an address"); ok = False
for before0, before1, after in ((v[2], v[3], v[4]), (v[5], v[6], v[7])):
    if after - before1 > (before1 - before0) + 25:
        print("the relay's loss count grew under attack: %g -> %g" % (before1, after)); ok = False
# RFC 3550 jitter is a short moving estimate that swings with the machine's
# load; a replayed packet seconds old moves it by a sixteenth of its age.
for j0, j1 in ((v[8], v[9]), (v[10], v[11])):
    if j1 > j0 + 0.100:
        print("the relay's jitter grew under attack: %g -> %g s" % (j0, j1)); ok = False
sys.exit(0 if ok else 1)
PY
[ "$bad" = 0 ] || fail "the attack got through"
echo "ok: nothing reached the attacker, both sides and the relay's counters as before"
