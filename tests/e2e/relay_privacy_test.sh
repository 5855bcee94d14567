#!/bin/bash
# SPDX-License-Identifier: MIT
# The relay cannot listen in: a call between alice and bob with codec pcm
# (so the plaintext would be the raw test signal) through a recording proxy
# in front of the relay (tap_proxy.py). What the relay saw must hold no
# 32-byte run of either test signal, while bob's played audio (the decrypted
# plaintext) holds many; media packets with one bit flipped on the way are
# all rejected by the receiver, which plays nothing from them.
# Run under tests/tools/with-pulse.sh.
#
# usage: relay_privacy_test.sh RELAYD VOICED VOICECTL
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3
HERE=$(dirname "$0")

. "$HERE/../tools/voice-env.sh"
voice_env_begin privacy

# The relay announces its own port for media: it listens on 127.0.0.2 and
# the proxy takes the same port on 127.0.0.1, where the users' config points.
relay_config
sed -i "s/^listen = 127.0.0.1:/listen = 127.0.0.2:/" "$T/relay.conf"
start_relay
python3 -u "$HERE/tap_proxy.py" 127.0.0.1 "$PORT" 127.0.0.2 "$T/capture.bin" "$T/flip" \
    "$T/flipped" >"$T/proxy.log" 2>&1 &
PIDS+=($!)
waitfor 10 grep -q ready "$T/proxy.log" || fail "the proxy did not start"

# 10 s signals: calls read them from the start; the search indexes all of them.
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/alice.in.raw" synth 10 sine 440 vol 0.5
sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/bob.in.raw" synth 10 sine 660 vol 0.5
setup_user alice "$T/alice.in.raw" pulse:silence pulse:a_spk "codec = pcm" "frame = 5ms"
setup_user bob "$T/bob.in.raw" pulse:silence pulse:b_spk "codec = pcm" "frame = 5ms"
start_voiced alice
start_voiced bob --auto-answer alice
for u in alice bob; do waitfor 30 is_registered $u || fail "$u did not register"; done

ctl alice call bob || fail "call failed"
waitfor 10 in_state bob in-call || fail "bob not in call"
stat_of() { ctl "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"][sys.argv[1]])' "$2"; }
has_played() { [ "$(out_size "$1")" -gt 192000 ]; } # 2 s
waitfor 20 has_played bob || fail "bob played nothing"
sleep 2
R0=$(( $(stat_of alice packets_rejected) + $(stat_of bob packets_rejected) ))
C0=$(( $(stat_of alice concealed_frames) + $(stat_of bob concealed_frames) ))

# ---------------------------------------------------------------- tampering
touch "$T/flip"
sleep 3
rm -f "$T/flip"
sleep 3 # stats come once a second
F=$(cat "$T/flipped" 2>/dev/null || echo 0)
R1=$(( $(stat_of alice packets_rejected) + $(stat_of bob packets_rejected) ))
C1=$(( $(stat_of alice concealed_frames) + $(stat_of bob concealed_frames) ))
echo "tampering: $F packets flipped; rejected $R0 -> $R1, concealed $C0 -> $C1"
[ "$F" -gt 50 ] || fail "the proxy flipped only $F media packets (media not over UDP?)"
# Every flipped packet that arrives is refused before the decoder (only
# authentic packets reach the jitter buffer, so none is played); allow 2 %
# lost on the way on a loaded machine.
D=$((R1 - R0))
[ $D -le $((F + 2)) ] && [ $((D * 100)) -ge $((F * 98)) ] \
    || fail "$F packets flipped but $D rejected"
# Their frames were concealed instead (PCM has no FEC to fill them from);
# loosely, as playout alignment may also skip a frame rather than conceal it.
[ $((C1 - C0)) -ge $((F / 2)) ] || fail "$F packets flipped but only $((C1 - C0)) frames concealed"
echo "ok: every tampered packet rejected, its frame concealed"

ctl alice hangup || fail "hangup failed"
waitfor 10 in_state bob idle || fail "bob still in call"

# ---------------------------------------------------------------- what the relay saw
for u in alice bob; do
    python3 "$HERE/find_pcm_runs.py" "$T/$u.in.raw" "$T/capture.bin" --capture >"$T/$u.runs" \
        || fail "search failed"
    echo "$u's signal in the relay's traffic: $(cat "$T/$u.runs")"
    [ "$(cut -d' ' -f1 "$T/$u.runs")" = 0 ] || fail "the relay saw $u's audio in the clear"
done
python3 "$HERE/find_pcm_runs.py" "$T/alice.in.raw" "$T/bob/out.raw" >"$T/control.runs"
echo "alice's signal in bob's played audio: $(cat "$T/control.runs")"
[ "$(cut -d' ' -f1 "$T/control.runs")" -gt 1000 ] \
    || fail "the search does not find alice's signal even in bob's plaintext"
echo "ok: the relay's traffic holds no run of the PCM both sides sent"
echo "PASS"
