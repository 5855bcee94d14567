#!/bin/bash
# SPDX-License-Identifier: MIT
# 44.1 kHz devices (issue 18, voiced.conf `rate`): alice and bob both at
# 44.1 kHz with codec = pcm (CD-rate PCM end to end), then carol at 44.1 kHz
# with Opus (48 kHz through speexdsp's resampler) calling dave at 48 kHz:
# each side hears the other's tone; last alice (44.1 kHz PCM) calls dave
# (48 kHz Opus): their settings differ, so the handshake chooses Opus for both
# (before handshake version 2 each dropped the other's packets: a silent
# call). Run under tests/tools/with-pulse.sh.
#
# usage: rate44_test.sh RELAYD VOICED VOICECTL ANALYZER
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3 ANALYZE=$4

. "$(dirname "$0")/../tools/voice-env.sh"
voice_env_begin rate44
relay_config

declare -A TONE=([alice]=440 [bob]=660 [carol]=550 [dave]=770)
declare -A RATE=([alice]=44100 [bob]=44100 [carol]=44100 [dave]=48000)
declare -A CODEC=([alice]=pcm [bob]=pcm [carol]=opus [dave]=opus)
declare -A SINK=([alice]=a_spk [bob]=b_spk [carol]=c_spk [dave]=a_spk)
for u in alice bob carol dave; do
    # The file device reads the raw input at the rate it is opened at. Tone
    # bursts (0.4 s on, 0.2 s off, like syllables), not a steady tone: noise
    # suppression takes a steady tone for a hum (speexdsp's, which runs at
    # 44.1 kHz, by up to 30 dB).
    sox -n -r "${RATE[$u]}" -c 1 -b 16 -e signed-integer -t raw "$T/$u.in.raw" synth 0.4 \
        sine "${TONE[$u]}" vol 0.5 pad 0 0.2 repeat 99
    setup_user $u "$T/$u.in.raw" pulse:silence "pulse:${SINK[$u]}" \
        "rate = ${RATE[$u]}" "codec = ${CODEC[$u]}"
done
start_relay
start_voiced alice
start_voiced bob --auto-answer alice
start_voiced carol
start_voiced dave --auto-answer carol,alice
for u in alice bob carol dave; do
    waitfor 20 is_registered $u || fail "$u did not register"
done

# call CALLER CALLEE [CODEC]: a call of 5 s, then both recordings must hold
# the other's tone; both sides report CODEC (default: each its own).
call() {
    local a=$1 b=$2 want=${3:-} u
    ctl $a call $b >"$T/call_$a.out" 2>&1 || fail "$a's call failed: $(cat "$T/call_$a.out")"
    waitfor 10 in_state $a in-call || fail "$a not in call"
    waitfor 10 in_state $b in-call || fail "$b not in call"
    sleep 5
    for u in $a $b; do
        echo "$u: codec $(json_field $u stats.codec), rate ${RATE[$u]}"
        [ "$(json_field $u stats.codec)" = "${want:-${CODEC[$u]}}" ] \
            || fail "$u's codec is not ${want:-${CODEC[$u]}}"
    done
    ctl $a hangup || fail "hangup"
    waitfor 10 in_state $b idle || fail "$b still in call"
    python3 "$ANALYZE" "$T/$a/out.raw" "${TONE[$b]}" "${TONE[$a]}" "${RATE[$a]}" \
        || fail "$a did not hear $b's ${TONE[$b]} Hz"
    python3 "$ANALYZE" "$T/$b/out.raw" "${TONE[$a]}" "${TONE[$b]}" "${RATE[$b]}" \
        || fail "$b did not hear $a's ${TONE[$a]} Hz"
}
call alice bob
echo "ok: 44.1 kHz PCM both ways"
call carol dave
echo "ok: 44.1 kHz Opus (resampled) <-> 48 kHz Opus, both ways"
call alice dave opus
grep -q "audio opus 48.0 kHz, 20.0 ms frames (the peer's settings differ)" "$T/alice.log" \
    || fail "alice did not log the chosen format: $(grep 'keys agreed' "$T/alice.log")"
echo "ok: 44.1 kHz PCM <-> 48 kHz Opus: Opus chosen for both, both ways"
echo "PASS"
