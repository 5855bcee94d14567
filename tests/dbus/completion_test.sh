#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The bash completion offers voicectl's commands and each command's options.
#   completion_test.sh COMPLETION_FILE
set -euo pipefail
# shellcheck disable=SC1090
source "$1"

complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _voicectl
  echo "${COMPREPLY[*]}"
}

fail=0
expect() {
  local want=$1; shift
  local got
  got=$(complete_words "$@")
  if [ "$got" != "$want" ]; then
    echo "FAIL: '$*' completed to '$got', expected '$want'" >&2
    fail=1
  fi
}

expect "call" voicectl ca
expect "monitor mute" voicectl m
expect "unmute" voicectl --json un
expect "--no-wait" voicectl call bob --no
expect "--json --help" voicectl status --
expect "" voicectl call --timeout ""
expect "trust" voicectl help tr
expect "reject register" voicectl re
expect "--json --help" voicectl register --
expect "contacts" voicectl co
expect "--limit" voicectl history --li
# Names for call and trust come from `voicectl contacts`: a stand-in on PATH.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cat >"$bin/voicectl" <<'FAKE'
#!/bin/sh
[ "$1" = contacts ] || exit 2
echo "NAME             FINGERPRINT                             VERIFIED LAST CALL"
echo "bob              0011 2233 4455 6677 8899 aabb ccdd eeff no       2026-12-07 02:30"
echo "bert             ffee ddcc bbaa 9988 7766 5544 3322 1100 yes      -"
echo "carol            0011 2233 4455 6677 8899 aabb ccdd eeff no       -"
FAKE
chmod +x "$bin/voicectl"
PATH=$bin:$PATH
expect "bob bert" voicectl call b
expect "bob bert carol" voicectl trust ""
expect "carol" voicectl --json call c
expect "" voicectl trust bob ""
expect "--no-wait" voicectl call --no
exit $fail
