# SPDX-License-Identifier: MIT
# Helpers of the system suite (sourced by system_test.sh): the cached
# bookworm root, booting it with systemd as PID 1, running commands inside.

# The packages of the cached root: systemd and D-Bus to boot and run user
# managers, Debian's stock PulseAudio with its ALSA plugin, and what the three
# .debs depend on (so `apt install ./*.deb` needs no network inside).
SYSTEM_PACKAGES=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,pulseaudio,pulseaudio-utils,libasound2-plugins,alsa-utils,libsdbus-c++1,libopus0,libssl3,libasound2,libhiredis0.14,libspeexdsp1,libwebrtc-audio-processing1,jq,procps

# The mirror apt uses on this machine (deb822 or one-line sources).
system_mirror() {
    local m
    m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
    echo "${m:-http://deb.debian.org/debian}"
}

# system_root CACHE: prints the cached root's path, making it first if needed
# (debootstrap, about 3 minutes); keyed by the package list and the mirror.
system_root() {
    local cache=$1 mirror key root tmp
    mirror=$(system_mirror)
    key=$(printf '%s\n' bookworm minbase "$SYSTEM_PACKAGES" "$mirror" | sha256sum | cut -c1-16)
    root=$cache/root-$key
    if [ ! -e "$root/.voiced-system-root" ]; then
        mkdir -p "$cache"
        tmp=$cache/tmp-$key-$$
        rm -rf "$tmp"
        echo "system: making the bookworm root $root from $mirror (cached for later runs)" >&2
        debootstrap --variant=minbase --include="$SYSTEM_PACKAGES" bookworm "$tmp" "$mirror" \
            >"$cache/debootstrap-$key.log" 2>&1 ||
            { tail -20 "$cache/debootstrap-$key.log" >&2; rm -rf "$tmp"; return 1; }
        # No console getty (the console is a pipe); no apt timers in a test box.
        chroot "$tmp" systemctl mask console-getty.service apt-daily.timer \
            apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true
        touch "$tmp/.voiced-system-root"
        rm -rf "$root"
        mv "$tmp" "$root"
    fi
    echo "$root"
}

# boot_root ROOT LOG BIND...: boots ROOT with systemd as PID 1 on a tmpfs
# overlay (the cached root stays as it is), without network but loopback.
# Sets NSPAWN (the systemd-nspawn pid) and LEADER (the container's PID 1).
boot_root() {
    local root=$1 log=$2 deadline
    shift 2
    systemd-nspawn --register=no --keep-unit -q -D "$root" --volatile=overlay \
        --private-network --boot --console=pipe "$@" </dev/null >"$log" 2>&1 &
    NSPAWN=$!
    LEADER=
    deadline=$((SECONDS + 30))
    while [ -z "$LEADER" ]; do
        kill -0 "$NSPAWN" 2>/dev/null || { echo "systemd-nspawn exited:" >&2; tail -20 "$log" >&2; return 1; }
        [ "$SECONDS" -lt "$deadline" ] || { echo "no container init after 30 s" >&2; return 1; }
        LEADER=$(container_init "$NSPAWN")
        [ -n "$LEADER" ] || sleep 0.1
    done
}

# container_init PID: the descendant of PID that is PID 1 of its own pid
# namespace (nspawn forks an intermediate child first), or nothing yet.
container_init() {
    local p kids
    kids=$(cat /proc/"$1"/task/*/children 2>/dev/null) || return 0
    for p in $kids; do
        if awk '/^NSpid:/ { exit !(NF > 2 && $NF == 1) }' "/proc/$p/status" 2>/dev/null &&
            [ "$(readlink "/proc/$p/exe" 2>/dev/null)" != "$(readlink "/proc/$1/exe")" ]; then
            echo "$p"
            return 0
        fi
        container_init "$p"
    done
}

# C CMD...: runs CMD as root inside the booted container, with a clean environment.
C() {
    nsenter -t "$LEADER" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb "$@"
}

# U USER CMD...: runs CMD as USER inside, with the user manager's runtime dir and bus.
U() {
    local user=$1 uid
    shift
    uid=$(C id -u "$user")
    C runuser -u "$user" -- env HOME="/home/$user" XDG_RUNTIME_DIR="/run/user/$uid" \
        DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$@"
}

# stop_root: powers the container off (SIGTERM to nspawn), killing it after 20 s.
stop_root() {
    [ -n "${NSPAWN:-}" ] || return 0
    kill -TERM "$NSPAWN" 2>/dev/null || true
    local deadline=$((SECONDS + 20))
    while kill -0 "$NSPAWN" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    kill -KILL "$NSPAWN" 2>/dev/null || true
    wait "$NSPAWN" 2>/dev/null || true
    NSPAWN=
}

# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds; false at the deadline.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}
