# SPDX-License-Identifier: MIT
# System suite, part 4 (sourced by system_test.sh): the watchdog, a bad
# voiced.conf, security scores as the booted systemd sees them, and purge.

# The watchdog: bob's voiced stopped dead (SIGSTOP: no thread runs, no
# WATCHDOG=1) is killed and restarted by systemd after WatchdogSec=.
wd_usec=$(voiced_show bob WatchdogUSec)
restarts0=$(voiced_show bob NRestarts)
pid0=$(voiced_show bob MainPID)
C kill -STOP "$pid0"
wd_start=$SECONDS
# While that runs (WatchdogSec plus RestartSec), alice's bad voiced.conf.
U alice bash -c 'cp ~/.config/voiced/voiced.conf ~/voiced.conf.good && echo "codec = mp3" >>~/.config/voiced/voiced.conf'
U alice systemctl --user restart voiced >/dev/null 2>&1 && fail "alice: voiced started with codec = mp3"
sleep 5 # a restart loop would be under way by now (RestartSec=2s)
[ "$(voiced_show alice ActiveState)" = failed ] || fail "alice: bad config left voiced $(voiced_show alice ActiveState)"
[ "$(voiced_show alice NRestarts)" = 0 ] || fail "alice: bad config restarted voiced $(voiced_show alice NRestarts) times"
[ "$(voiced_show alice ExecMainStatus)" = 2 ] || fail "alice: voiced exited $(voiced_show alice ExecMainStatus), not 2"
cfgerr=$(U alice journalctl --user -u voiced -o cat --no-pager -n 20 | grep -m1 -i 'codec' || true)
[ -n "$cfgerr" ] || fail "alice: the config error is not in the journal"
ok "bad voiced.conf: unit failed with exit 2, no restart (RestartPreventExitStatus=), journal: $cfgerr"
U alice bash -c 'mv ~/voiced.conf.good ~/.config/voiced/voiced.conf'
U alice systemctl --user restart voiced || fail "alice: voiced did not start again with the good config"

restarted() { [ "$(voiced_show bob NRestarts)" -gt "$restarts0" ] && voiced_running bob; }
wait_for 60 restarted || fail "bob: SIGSTOPped voiced not restarted within 60 s (NRestarts $(voiced_show bob NRestarts))"
wd_took=$((SECONDS - wd_start))
U bob journalctl --user -u voiced -o cat --no-pager | grep -qi 'watchdog timeout' ||
    fail "bob: no watchdog timeout in the journal"
[ "$(voiced_show bob MainPID)" != "$pid0" ] || fail "bob: same MainPID after the watchdog"
ok "watchdog: a SIGSTOPped voiced was killed and restarted after ${wd_took} s (WatchdogUSec=$wd_usec)"
wait_for 30 registered bob || fail "bob: the restarted voiced did not register"
wait_for 30 registered alice || fail "alice: voiced did not register after the config was fixed"

# Exposure as the booted systemd scores the loaded units, and offline.
score() { sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'; }
relay_live=$(C systemd-analyze security voice-relayd.service 2>&1 | score)
relay_off=$(C systemd-analyze security --offline=yes /usr/lib/systemd/system/voice-relayd.service 2>&1 | score)
voiced_live=$(U alice systemd-analyze security --user voiced.service 2>&1 | score)
voiced_off=$(U alice systemd-analyze security --user --offline=yes /usr/lib/systemd/user/voiced.service 2>&1 | score)
[ -n "$relay_live" ] && [ "$relay_live" = "$relay_off" ] ||
    fail "voice-relayd exposure booted '$relay_live' vs offline '$relay_off'"
[ -n "$voiced_live" ] && [ "$voiced_live" = "$voiced_off" ] ||
    fail "voiced exposure booted '$voiced_live' vs offline '$voiced_off'"
ok "systemd-analyze security booted = offline: voice-relayd $relay_live, voiced $voiced_live"

# apt purge: no unit, user, process or file of ours left.
C bash -c 'dpkg -L voiced voicectl voice-relayd' | grep -E '^/(usr|etc|lib)/.+\.[a-z0-9]+$|/bin/|/sbin/' \
    >"$T/files" || true
C env DEBIAN_FRONTEND=noninteractive apt purge -y voiced voicectl voice-relayd >"$T/purge.log" 2>&1 ||
    { cat "$T/purge.log"; fail "apt purge"; }
left=$(C bash -c 'for f in "$@"; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done; true' _ $(cat "$T/files") \
    /etc/voice-relayd /var/lib/voice-relayd /var/lib/private/voice-relayd \
    /etc/systemd/system/multi-user.target.wants/voice-relayd.service \
    /etc/systemd/system/sockets.target.wants/voice-relayd.socket \
    /etc/systemd/user/default.target.wants/voiced.service)
[ -z "$left" ] || fail "left after apt purge: $left"
for unit in voice-relayd.service voice-relayd.socket; do
    [ "$(C systemctl show "$unit" -p LoadState --value)" = not-found ] ||
        fail "$unit still loaded after purge: $(C systemctl show "$unit" -p LoadState -p ActiveState)"
done
# A user manager keeps a stopped unit in memory while something refers to
# it (the user's own enable link in ~/.config): stopped, its file gone.
for u in alice bob; do
    st=$(U "$u" systemctl --user show voiced.service -p ActiveState --value)
    [ "$st" = inactive ] || fail "$u: voiced.service is $st after purge"
    U "$u" test ! -e /usr/lib/systemd/user/voiced.service || fail "$u: voiced.service file left"
done
procs=$(C pgrep -a -x voiced || true)$(C pgrep -a -x voice-relayd || true)
[ -z "$procs" ] || fail "still running after purge: $procs"
C getent passwd voice-relayd >/dev/null && fail "a voice-relayd user is left after purge"
ok "apt purge: no unit, process, user or file left"
