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
exit $fail
