#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs the README's demo command (`scripts/demo --no-install --seconds 3`) on
# an existing build dir and checks what it promises: exit 0, both received-audio
# WAV files valid (48 kHz mono S16, more than a second), a real PNG picture,
# and a summary that says each side heard the other.
#
# usage: demo_test.sh DEMO BUILD_DIR
set -u
DEMO=$1 BUILD=$2

for tool in pulseaudio pactl parec sox dbus-daemon python3 ninja; do
    command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
$PY -c 'import matplotlib' 2>/dev/null || { echo "SKIP: python3-matplotlib not installed"; exit 77; }

OUT=$(mktemp -d /tmp/voice-demo-test-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

bash "$DEMO" --no-install --seconds 3 --out "$OUT" --build-dir "$BUILD" 2>&1 | tee "$OUT/demo.out"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || fail "scripts/demo exited $rc"
echo "ok: scripts/demo exited 0"

for u in alice bob; do
    $PY - "$OUT/$u-heard.wav" <<'PY' || fail "$u-heard.wav is not a valid recording"
import sys, wave
with wave.open(sys.argv[1]) as w:
    rate, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
print("%s: %d Hz, %d channel(s), %d bytes/sample, %d frames (%.2f s)" % (sys.argv[1], rate, ch, width, n, n / rate))
assert (rate, ch, width) == (48000, 1, 2), "want 48 kHz mono S16"
assert n >= 48000, "less than a second of received audio"
PY
done
echo "ok: both WAV files are 48 kHz mono with more than 1 s of audio"

png=$OUT/demo.png
[ -f "$png" ] || fail "no demo.png"
sig=$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')
[ "$sig" = 89504e470d0a1a0a ] || fail "demo.png has no PNG signature ($sig)"
size=$(stat -c %s "$png")
[ "$size" -gt 10000 ] && [ "$size" -lt 5000000 ] || fail "demo.png is $size bytes"
echo "ok: demo.png is a PNG of $size bytes"

grep -q '^both heard each other: yes$' "$OUT/demo.out" || fail "the summary does not say both heard each other"
grep -q '^alice heard bob: YES' "$OUT/demo.out" || fail "alice did not hear bob"
grep -q '^bob   heard alice: YES' "$OUT/demo.out" || fail "bob did not hear alice"
grep -q 'cipher aes-256-gcm' "$OUT/demo.out" || fail "no cipher in the summary"
grep -qE '^SAS +[^ ]+ on both sides' "$OUT/demo.out" || fail "no matching SAS in the summary"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["both_heard"] is True, d' \
    "$OUT/summary.json" || fail "summary.json does not say both heard"
echo "ok: the summary says both heard each other (measured tones), with cipher and SAS"
echo PASS
