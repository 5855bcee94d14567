#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The install story, run for real: the three .debs installed into a booted
# Debian 12 (systemd as PID 1 in systemd-nspawn), the relay as a system
# service, two users (alice, bob) with lingering user managers and Debian's
# stock per-user PulseAudio, `voicectl call bob` between them. See README.md
# beside this file for what each step checks and how to run it.
#
# usage: sudo bash tests/system/system_test.sh   (root; Debian's mirror reachable
#        the first time, for debootstrap; CALL_SECONDS=30 the quality call's length)
# Env: VOICED_SYSTEM_CACHE (default /var/cache/voiced-system-test) holds the
#      bookworm root; VOICED_SYSTEM_DEBS=DIR uses the .debs there as they are
#      (otherwise build-packages/debs/ when built from this tree, else built);
#      PACED_P50_MS=N skips the paced-device reference call and compares with N.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
HERE=$SRC/tests/system
. "$HERE/lib.sh"
start=$SECONDS
CALL_SECONDS=${CALL_SECONDS:-30}
passed=0
failed=0

say() { echo "system: $*"; }
ok() { passed=$((passed + 1)); echo "ok   $*"; }
# A failed check ends the run: later steps build on the earlier ones.
fail() {
    failed=$((failed + 1))
    echo "FAIL $*" >&2
    if [ -n "${LEADER:-}" ]; then
        echo "---- journal (last 60 lines)" >&2
        C journalctl --no-pager -n 60 -o short-monotonic 2>&1 | sed 's/^/    /' >&2 || true
    fi
    finish 1
}
finish() {
    trap - EXIT
    stop_root
    [ -n "${T:-}" ] && rm -rf "$T"
    echo "system suite: $((SECONDS - start)) s"
    echo "$passed passed, $failed failed"
    exit "$1"
}
trap 'fail "interrupted or an unchecked command failed (line $LINENO)"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "system: needs root (debootstrap, systemd-nspawn)" >&2; exit 1; }
bash scripts/install-deps debootstrap systemd-container
T=$(mktemp -d /tmp/voiced-system-XXXXXX)

# ---------------------------------------------------------------- the .debs
debs=${VOICED_SYSTEM_DEBS:-}
if [ -z "$debs" ]; then
    debs=$SRC/build-packages/debs
    id=$(bash "$HERE/source-id")
    if [ "$(cat "$debs/SOURCE" 2>/dev/null)" != "$id" ]; then
        say "building the .debs (scripts/check-packages --build-only)"
        bash scripts/check-packages --build-only >"$T/build-debs.log" 2>&1 ||
            { tail -30 "$T/build-debs.log"; fail "scripts/check-packages --build-only"; }
    else
        say "using the .debs check-packages built from this tree"
    fi
fi
debs=$(cd "$debs" && pwd)
for p in voiced voice-relayd voicectl; do
    ls "$debs/${p}"_*.deb >/dev/null 2>&1 || fail "no ${p}_*.deb in $debs"
done

# ---------------------------------------------------------------- boot
root=$(system_root "${VOICED_SYSTEM_CACHE:-/var/cache/voiced-system-test}") ||
    fail "debootstrap could not make the bookworm root (is Debian's mirror reachable?)"
say "booting $root (tmpfs overlay; the cached root is not changed)"
boot_root "$root" "$T/console.log" --bind-ro="$debs:/debs" ||
    fail "the container did not start: systemd-nspawn needs root, namespaces and overlayfs here"
wait_for 60 C test -S /run/systemd/private ||
    fail "systemd in the container did not come up (no /run/systemd/private after 60 s): $(tail -5 "$T/console.log")"
state=$(C timeout 90 systemctl is-system-running --wait 2>&1) || true
[ "$state" = running ] || {
    C systemctl --failed --no-pager 2>&1 || true
    fail "the booted system is '$state', not 'running' (systemd as PID 1 did not come up cleanly)"
}
ok "booted Debian 12 with systemd as PID 1: $(C systemctl --version | head -1) is '$state' ($((SECONDS - start)) s)"

. "$HERE/relay_steps.sh"
. "$HERE/voiced_steps.sh"
. "$HERE/service_steps.sh"

finish 0
