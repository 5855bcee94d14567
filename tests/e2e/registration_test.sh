#!/bin/bash
# SPDX-License-Identifier: MIT
# Registration that settles, between real processes (voice-relayd, voiced on
# private buses, voicectl):
#
# 1. Two devices, one name and key (a copy of identity.pem): the newer
#    registration wins, the replaced daemon stops retrying and says so in
#    `voicectl status` (and --json); calls reach the newer device;
#    `voicectl register` on the old one takes the name back.
# 2. The same name with another key: voiced keeps running, shows
#    "registration refused: name taken (...)", and asks again only when
#    told to (`voicectl register`).
# 3. The relay back after an outage well past the old back-off (0.5 s doubling
#    to 30 s: an 8 s outage cost 7.5 s more): registered within 5 s of the
#    restart.
#
# usage: registration_test.sh RELAYD VOICED VOICECTL
#   OUTAGE=SECONDS (default 8) sets the outage (e.g. 60 for a measurement);
#   STEPS=123 (default) picks the parts to run.
set -u
RELAYD=$1 VOICED=$2 VOICECTL=$3
OUTAGE=${OUTAGE:-8}
STEPS=${STEPS:-123}
BOUND_S=5

. "$(dirname "$0")/../tools/voice-env.sh"
voice_env_begin registration
now() { date +%s.%N; }
registration_is() { [ "$(json_field "$1" registration)" = "$2" ]; }

relay_config
for u in alice bob alice2 mallory; do
    setup_user $u /dev/null null null
done
sed -i 's/^name = alice2$/name = alice/' "$T/alice2/cfg/voiced/voiced.conf"
sed -i 's/^name = mallory$/name = bob/' "$T/mallory/cfg/voiced/voiced.conf"
start_relay
start_voiced alice
start_voiced bob
for u in alice bob; do waitfor 20 is_registered $u || fail "$u did not register"; done

# ---------------------------------------------------------------- 1. two devices, one key
if [[ $STEPS == *1* ]]; then
install -m600 "$T/alice/cfg/voiced/identity.pem" "$T/alice2/cfg/voiced/identity.pem"
start_voiced alice2
waitfor 10 is_registered alice2 || fail "the second device did not register"
waitfor 10 registration_is alice replaced || fail "the first device does not say it was replaced"
sleep 3 # the old daemons took the name from each other every ~0.5 s
registration_is alice replaced || fail "the first device took the name back on its own"
is_registered alice2 || fail "the second device lost the name"
[ "$(grep -c "'alice' registered from" "$T/relay.log")" = 2 ] || fail "alice registered more than twice"
ctl alice status | grep -q '^registration replaced: another device registered as alice' \
    || fail "status does not say replaced: $(ctl alice status)"
echo "status: $(ctl alice status | grep '^registration')"
ctl bob call alice --no-wait >/dev/null || fail "bob cannot call alice"
waitfor 10 in_state alice2 ringing || fail "the call did not reach the newer device"
in_state alice idle || fail "the replaced device rings"
ctl bob hangup || fail "hangup"
waitfor 10 in_state alice2 idle || fail "alice2 still ringing"
ctl alice register >/dev/null || fail "voicectl register did not take the name back"
is_registered alice || fail "alice not registered after voicectl register"
waitfor 10 registration_is alice2 replaced || fail "the other device was not replaced in turn"
echo "ok: newest registration wins and stays; voicectl register takes the name back"
fi

# ---------------------------------------------------------------- 2. same name, other key
if [[ $STEPS == *2* ]]; then
start_voiced mallory
waitfor 10 registration_is mallory refused || fail "the refused daemon does not say refused"
sleep 2
kill -0 ${VOICED_PID[mallory]} 2>/dev/null || fail "voiced exited after the refusal"
ctl mallory status | grep -q '^registration refused: name taken (' \
    || fail "status does not say name taken: $(ctl mallory status)"
echo "status: $(ctl mallory status | grep '^registration')"
[ "$(grep -c 'refused registration' "$T/relay.log")" = 1 ] || fail "the refused daemon retried on its own"
ctl mallory register >/dev/null 2>&1
RC=$?
[ $RC = 9 ] || fail "voicectl register after a refusal exited $RC, not 9"
[ "$(grep -c 'refused registration' "$T/relay.log")" = 2 ] || fail "voicectl register did not ask again"
is_registered bob || fail "bob lost his name"
echo "ok: refused name: voiced keeps running, says why, asks again only on request"
fi

# ---------------------------------------------------------------- 3. relay outage
[[ $STEPS == *3* ]] || { echo PASS; exit 0; }
kill -9 $RELAY_PID
wait $RELAY_PID 2>/dev/null
waitfor 10 bash -c "! DBUS_SESSION_BUS_ADDRESS=${BUS[bob]} $VOICECTL status --json | grep -q '\"registered\": *true'" \
    || fail "bob did not notice the relay going away"
sleep "$OUTAGE"
T0=$(now)
start_relay
waitfor 30 bash -c "DBUS_SESSION_BUS_ADDRESS=${BUS[alice]} $VOICECTL status --json | grep -q '\"registered\": *true' && DBUS_SESSION_BUS_ADDRESS=${BUS[bob]} $VOICECTL status --json | grep -q '\"registered\": *true'" \
    || fail "not registered again after the outage"
T1=$(now)
DELAY=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" $T0 $T1)
echo "registered ${DELAY} s after the relay came back from a ${OUTAGE} s outage"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" $DELAY $BOUND_S \
    || fail "registration took ${DELAY} s after the relay came back (bound ${BOUND_S} s)"
echo "PASS"
