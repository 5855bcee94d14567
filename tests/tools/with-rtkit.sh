#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs COMMAND next to a real rtkit-daemon on a private system bus (with
# polkitd, which rtkit asks), without CAP_SYS_NICE and with RLIMIT_RTPRIO 0,
# the way a desktop user runs: SCHED_FIFO is refused and RTKit is the way.
# Exit 77 (skipped) when rtkit, polkitd or setpriv are not installed.
# usage: with-rtkit.sh COMMAND [ARGS...]
set -u
RTKIT=/usr/libexec/rtkit-daemon
POLKITD=/usr/lib/polkit-1/polkitd
for p in "$RTKIT" "$POLKITD" "$(command -v setpriv)" "$(command -v dbus-daemon)"; do
    [ -x "$p" ] || { echo "SKIP: $p missing (scripts/install-deps installs rtkit, polkitd)"; exit 77; }
done
T=$(mktemp -d /tmp/voice-rtkit-XXXXXX)
chmod 755 "$T" # polkitd drops to its own user and must reach the bus socket
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
cat >"$T/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/system_bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$T/bus.conf" --nofork >"$T/bus.log" 2>&1 &
PIDS+=($!)
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/system_bus
for _ in $(seq 50); do [ -S "$T/system_bus" ] && break; sleep 0.1; done
"$POLKITD" --no-debug >"$T/polkit.log" 2>&1 &
PIDS+=($!)
# Its defaults, but no privilege dropping, chroot or resource limits (a test
# host; --no-limit-resources: its own RLIMIT_FSIZE 0 kills it on the first
# line it logs to a file) and no canary.
"$RTKIT" --stderr --no-canary --no-drop-privileges --no-chroot --no-limit-resources \
    >"$T/rtkit.log" 2>&1 &
PIDS+=($!)
prop() { # prop NAME PATH INTERFACE PROPERTY: succeeds once NAME answers
    timeout 2 busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --timeout=1 get-property "$@" >/dev/null 2>&1
}
rtkit_up() { prop org.freedesktop.RealtimeKit1 /org/freedesktop/RealtimeKit1 org.freedesktop.RealtimeKit1 MaxRealtimePriority; }
polkit_up() { prop org.freedesktop.PolicyKit1 /org/freedesktop/PolicyKit1/Authority org.freedesktop.PolicyKit1.Authority BackendName; }
end=$((SECONDS + 20)) # polkitd starts its JavaScript engine: seconds on a loaded host
until rtkit_up && polkit_up; do [ $SECONDS -ge $end ] && break; sleep 0.2; done
rtkit_up || { cat "$T/rtkit.log"; echo "rtkit-daemon did not start"; exit 1; }
polkit_up || { cat "$T/polkit.log"; echo "polkitd did not start"; exit 1; }
setpriv --inh-caps=-sys_nice --bounding-set=-sys_nice prlimit --rtprio=0 -- "$@"
rc=$?
echo "---- rtkit-daemon"
cat "$T/rtkit.log"
exit $rc
