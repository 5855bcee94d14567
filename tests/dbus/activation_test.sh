#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The session activation file parses and names org.voiced.Voice1, and voicectl
# reports a daemon that cannot be started as "not running" (exit 3).
# Runs its own dbus-daemon with the built file as the only service.
#   activation_test.sh BUILT_SERVICE_FILE VOICECTL
set -euo pipefail
service=$1
voicectl=$2

t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir "$t/services"
# Point Exec at a program that exits at once: activation fails cleanly.
sed 's|^Exec=.*|Exec=/bin/false|' "$service" > "$t/services/org.voiced.Voice1.service"
cat > "$t/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$t</listen>
  <servicedir>$t/services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF

names=$(dbus-run-session --config-file="$t/bus.conf" -- \
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.ListActivatableNames)
if ! grep -q '"org.voiced.Voice1"' <<<"$names"; then
  echo "FAIL: org.voiced.Voice1 is not activatable:" >&2
  echo "$names" >&2
  exit 1
fi

set +e
# dbus-daemon logs to the same stderr; keep only voicectl's lines.
err=$(dbus-run-session --config-file="$t/bus.conf" -- "$voicectl" status 2>&1 >/dev/null)
code=$?
err=$(grep '^voicectl: ' <<<"$err" || true)
set -e
if [ "$code" -ne 3 ]; then
  echo "FAIL: voicectl status exited $code, expected 3: $err" >&2
  exit 1
fi
if [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then
  echo "FAIL: expected one error line, got: $err" >&2
  exit 1
fi
echo "ok: activatable; failed activation -> exit 3 ($err)"
