# SPDX-License-Identifier: MIT
# System suite, part 1 (sourced by system_test.sh): voice-relayd as a system
# service in the booted container, installed and started as the README says.

relay_show() { C systemctl show voice-relayd.service -p "$1" --value; }
relay_running() { [ "$(relay_show ActiveState)/$(relay_show SubState)" = active/running ]; }

C bash -c 'cd /debs && DEBIAN_FRONTEND=noninteractive apt install -y ./voice-relayd_*.deb' \
    >"$T/apt-relay.log" 2>&1 || { cat "$T/apt-relay.log"; fail "apt install ./voice-relayd_*.deb"; }
ok "apt install ./voice-relayd_*.deb"
# The package starts what it enables (the service, then the socket); the
# README's command must work on top, and neither unit may have failed.
C systemctl enable --now voice-relayd >"$T/enable.log" 2>&1 ||
    { cat "$T/enable.log"; fail "systemctl enable --now voice-relayd"; }
relay_running || fail "voice-relayd is $(relay_show ActiveState)/$(relay_show SubState) after enable --now"
[ "$(C systemctl is-active voice-relayd.socket)" = active ] ||
    fail "voice-relayd.socket is $(C systemctl is-active voice-relayd.socket) after the install: $(C journalctl -u voice-relayd.socket -o cat --no-pager | tail -3)"
ok "systemctl enable --now voice-relayd: active (running), voice-relayd.socket active"

# Type=notify: `start` returns once READY=1 came; the status text is sent with it.
[ "$(relay_show Type)" = notify ] || fail "voice-relayd is Type=$(relay_show Type)"
status_text=$(relay_show StatusText)
[[ $status_text == "listening on "* ]] || fail "no READY status text (StatusText='$status_text')"
ok "READY=1 with status '$status_text'"

# DynamicUser= + StateDirectory=: the key lives in /var/lib/private/voice-relayd.
C test -L /var/lib/voice-relayd || fail "/var/lib/voice-relayd is not the DynamicUser symlink"
keyfiles=$(C find /var/lib/private/voice-relayd -maxdepth 1 -type f -printf '%f(%m) ')
[[ $keyfiles == *"tls-key.pem(600)"* ]] || fail "no relay key in the state directory (it holds: $keyfiles)"
ok "DynamicUser state directory /var/lib/private/voice-relayd holds $keyfiles"
fingerprint=$(C journalctl -u voice-relayd -o cat --no-pager | sed -n 's/.*relay key fingerprint //p' | tail -1)
[ -n "$fingerprint" ] || fail "no key fingerprint in journalctl -u voice-relayd"
ok "journalctl -u voice-relayd: relay key fingerprint $fingerprint"

# restart: a new process, the same key (the state directory survives).
pid0=$(relay_show MainPID)
C systemctl restart voice-relayd || fail "systemctl restart voice-relayd"
pid1=$(relay_show MainPID)
relay_running && [ "$pid1" != "$pid0" ] || fail "restart: MainPID $pid0 -> $pid1, $(relay_show ActiveState)"
fp1=$(C journalctl -u voice-relayd -o cat --no-pager | sed -n 's/.*relay key fingerprint //p' | tail -1)
[ "$fp1" = "$fingerprint" ] || fail "restart changed the relay key: $fingerprint -> $fp1"
ok "systemctl restart: new MainPID $pid1, same key"

# reload: SIGHUP (ExecReload=), same process, the reload is logged.
C systemctl reload voice-relayd || fail "systemctl reload voice-relayd"
wait_for 10 bash -c "nsenter -t $LEADER -a journalctl -u voice-relayd -o cat --no-pager _PID=$pid1 |
    grep -q 'configuration reloaded'" || fail "no 'configuration reloaded' in the journal after reload"
[ "$(relay_show MainPID)" = "$pid1" ] && relay_running || fail "reload replaced or stopped the relay"
ok "systemctl reload: same MainPID, 'configuration reloaded' logged"

# Socket activation: stopped service, listening socket; a client connecting starts it.
C systemctl stop voice-relayd.service
C systemctl start voice-relayd.socket || fail "systemctl start voice-relayd.socket"
[ "$(C systemctl is-active voice-relayd.socket)" = active ] || fail "voice-relayd.socket not active"
[ "$(relay_show ActiveState)" = inactive ] || fail "stopping voice-relayd left it $(relay_show ActiveState)"
C bash -c 'exec 3<>/dev/tcp/127.0.0.1/7000' || fail "cannot connect to the relay's socket on port 7000"
wait_for 20 relay_running || fail "a connection to voice-relayd.socket did not start the service"
[ "$(relay_show TriggeredBy)" = voice-relayd.socket ] || fail "TriggeredBy=$(relay_show TriggeredBy)"
fds=$(C journalctl -u voice-relayd -o cat --no-pager _PID="$(relay_show MainPID)" | grep -c 'listening on' || true)
[ "$fds" -ge 1 ] || fail "the socket-activated relay logged no 'listening on'"
ok "socket activation: a TCP connection to voice-relayd.socket started voice-relayd"
