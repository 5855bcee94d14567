#!/bin/bash
# SPDX-License-Identifier: MIT
# Control traffic from a fast local script and glare, between real processes:
# voice-relayd and two voiced (alice, bob) on private buses, driven over
# D-Bus by tests/e2e/voice_driver. No call is answered, so no audio runs.
#
# 1. 1000 back-to-back Call/Hangup pairs from alice to bob: voiced paces
#    itself under the relay's message limit (refusing calls locally with
#    Error.RateLimited), so neither daemon is unregistered at any moment and
#    the relay never closes a connection for "too many messages".
# 2. 50 rounds of glare (alice and bob call each other at the same moment,
#    both Calls at the relay before it answers either): every round ends in
#    exactly one ringing call, alice's (the smaller name).
#
# usage: call_storm_test.sh RELAYD VOICED VOICECTL VOICE_DRIVER
#   PAIRS=N, ROUNDS=N override the counts (PAIRS=0 skips the pairs).
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3 DRIVER=$4
PAIRS=${PAIRS:-1000}
ROUNDS=${ROUNDS:-50}

. "$(dirname "$0")/../tools/voice-env.sh"
voice_env_begin storm

relay_config
for u in alice bob; do
    setup_user $u /dev/null null null
done
start_relay
start_voiced alice
start_voiced bob
for u in alice bob; do waitfor 20 is_registered $u || fail "$u did not register"; done

# ---------------------------------------------------------------- 1000 Call/Hangup pairs
if [ "$PAIRS" -gt 0 ]; then
OUT=$("$DRIVER" flood "${BUS[alice]}" bob "${BUS[bob]}" "$PAIRS") || fail "flood: $OUT"
echo "flood: $OUT"
grep -q 'too many messages' "$T/relay.log" && fail "the relay hit its message limit"
for u in alice bob; do
    [ "$(grep -c 'registered at relay' "$T/$u.log")" = 1 ] || fail "$u registered more than once"
    grep -q 'rate-limited' "$T/$u.log" && fail "$u was rate-limited by the relay"
done
echo "ok: $PAIRS Call/Hangup pairs, both registered throughout"
fi

# ---------------------------------------------------------------- glare
# The relay is held (SIGSTOP) while both send their Call, so every round is a
# true glare: both calls reach the relay before it answers either.
OUT=$("$DRIVER" glare "${BUS[alice]}" alice "${BUS[bob]}" bob "$ROUNDS" $RELAY_PID) || fail "glare: $OUT"
echo "glare: $OUT"
echo "$OUT" | grep -q "both_dialled=$ROUNDS " || fail "not every round was a glare: $OUT"
for u in alice bob; do
    [ "$(grep -c 'registered at relay' "$T/$u.log")" = 1 ] || fail "$u registered more than once"
done
echo "ok: $ROUNDS glare rounds, one ringing call each"
echo "PASS"
