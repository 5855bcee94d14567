# SPDX-License-Identifier: MIT
# Shell helpers for running a relay and voiced users on this machine, sourced
# by tests/e2e/e2e_call_test.sh and scripts/demo. Each user gets a config dir,
# ALSA devices of the `file` plugin (test audio in, the played audio recorded)
# and a private dbus-daemon of its own: two daemons cannot both own
# org.voiced.Voice1 on one bus.
#
# Before using them set: T (a scratch dir, or call voice_env_begin), RELAYD,
# VOICED, VOICECTL.
# They fill PIDS (processes to stop), BUS_PIDS, BUS[user], VOICED_PID[user],
# RELAY_PID and PORT. The caller defines fail() and traps voice_env_stop.
#
#   . tests/tools/voice-env.sh

PIDS=()
BUS_PIDS=()
declare -A BUS VOICED_PID

# voice_env_begin NAME: the start of a test script. Skips it (exit 77) when
# the private PulseAudio or a tool is missing, makes the scratch dir T
# (/tmp/voice-NAME-*), stops everything and removes T on exit (KEEP=1 keeps
# it), and defines fail MESSAGE (the message and each log's tail, exit 1)
# unless the script has its own. A script may replace the trap or fail after.
voice_env_begin() {
    if [ -n "${VOICE_PULSE_UNAVAILABLE:-}" ]; then
        echo "SKIP: $VOICE_PULSE_UNAVAILABLE"
        exit 77
    fi
    local tool
    for tool in sox dbus-daemon python3; do
        command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
    done
    T=$(mktemp -d "/tmp/voice-$1-XXXXXX")
    trap voice_env_exit EXIT
    declare -F fail >/dev/null || fail() {
        echo "FAIL: $*" >&2
        local f
        for f in "$T"/*.log; do echo "==== $f" >&2; tail -n 40 "$f" >&2; done
        exit 1
    }
}

# The EXIT trap of voice_env_begin.
voice_env_exit() {
    voice_env_stop
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}

# Stops every process started here and waits for them.
voice_env_stop() {
    local p
    for p in "${PIDS[@]}" "${BUS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
}

# waitfor SECONDS COMMAND...: polls until COMMAND succeeds.
waitfor() {
    local limit=$1
    shift
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}

# relay_config [EXTRA LINES...]: a free loopback port in PORT and $T/relay.conf.
# free_tcp_udp_port [ADDR]: a port free for both TCP and UDP on ADDR (default
# 127.0.0.1), as a relay listens on both (benches beside the tests hold
# thousands of UDP ports).
free_tcp_udp_port() {
    python3 - "${1:-127.0.0.1}" <<'PY'
import socket, sys
for _ in range(100):
    t = socket.socket()
    t.bind((sys.argv[1], 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind((sys.argv[1], port))
    except OSError:
        continue
    print(port)
    break
PY
}

relay_config() {
    PORT=$(free_tcp_udp_port)
    mkdir -p "$T/relay"
    {
        echo "listen = 127.0.0.1:$PORT"
        echo "state_dir = $T/relay"
        echo "ring_timeout = 30s"
        echo "media_threads = 1"
        local line
        for line in "$@"; do echo "$line"; done
    } >"$T/relay.conf"
}

start_relay() {
    "$RELAYD" --config "$T/relay.conf" --log-level info >>"$T/relay.log" 2>&1 &
    RELAY_PID=$!
    PIDS+=($RELAY_PID)
}

# setup_user USER INFILE CAPTURE_SLAVE PLAYBACK_SLAVE [EXTRA CONFIG LINES...]
# Writes $T/USER/cfg/voiced/voiced.conf (the two settings a user needs, name
# and relay, plus the devices): capture reads INFILE (raw S16LE) paced by
# CAPTURE_SLAVE, playback goes to PLAYBACK_SLAVE and is recorded in
# $T/USER/out.raw. Starts the user's dbus-daemon.
setup_user() {
    local u=$1 infile=$2 capture=$3 playback=$4 dir=$T/$1
    shift 4
    mkdir -p "$dir/cfg/voiced" "$dir/cfg/alsa"
    {
        echo "name = $u"
        echo "relay = 127.0.0.1:$PORT"
        echo "capture = voice_in"
        echo "playback = voice_out"
        local line
        for line in "$@"; do echo "$line"; done
    } >"$dir/cfg/voiced/voiced.conf"
    cat >"$dir/cfg/alsa/asoundrc" <<ALSA
pcm.voice_in { type file slave.pcm "$capture" file "/dev/null" infile "$infile" format "raw" }
pcm.voice_out { type file slave.pcm "$playback" file "$dir/out.raw" format "raw" }
ALSA
    local out
    out=$(dbus-daemon --session --fork --print-address=1 --print-pid=1) || fail "dbus-daemon for $u"
    BUS[$u]=$(echo "$out" | sed -n 1p)
    BUS_PIDS+=($(echo "$out" | sed -n 2p))
}

# start_voiced USER [VOICED OPTIONS...]; VOICED_ENV adds environment variables.
start_voiced() {
    local u=$1
    shift
    env ${VOICED_ENV:-} XDG_CONFIG_HOME="$T/$u/cfg" XDG_STATE_HOME="$T/$u/state" \
        DBUS_SESSION_BUS_ADDRESS="${BUS[$u]}" \
        "$VOICED" --log-level debug "$@" >>"$T/$u.log" 2>&1 &
    VOICED_PID[$u]=$!
    PIDS+=(${VOICED_PID[$u]})
}

ctl() { # ctl USER ARGS...: voicectl on USER's bus
    local u=$1
    shift
    DBUS_SESSION_BUS_ADDRESS=${BUS[$u]} "$VOICECTL" "$@"
}

# answered_call CALLER CALLEE WHAT: CALLER calls CALLEE, who answers; fails
# (naming WHAT) unless the call was set up (voicectl's output in $T/WHAT.out).
answered_call() {
    local caller=$1 callee=$2 what=$3 pid
    ctl "$caller" call "$callee" >"$T/$what.out" 2>&1 &
    pid=$!
    waitfor 10 in_state "$callee" ringing || fail "$callee not ringing ($what)"
    ctl "$callee" answer || fail "answer failed ($what)"
    wait $pid || fail "$what failed: $(cat "$T/$what.out")"
}

json_field() { # json_field USER FIELD -> value from status --json (FIELD may be a.b)
    ctl "$1" status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); v=d
for k in sys.argv[1].split("."): v=v[k]
print(str(v).lower() if isinstance(v,bool) else v)' "$2"
}
is_registered() { [ "$(json_field "$1" registered)" = true ]; }
in_state() { [ "$(json_field "$1" state)" = "$2" ]; }
# history_outcomes USER -> "direction:peer:outcome" of each call in USER's history, oldest first
history_outcomes() {
    ctl "$1" history --json | python3 -c 'import json,sys
for e in reversed(json.load(sys.stdin)["history"]): print("%s:%s:%s" % (e["direction"], e["peer"], e["outcome"]))'
}
out_size() { stat -c %s "$T/$1/out.raw" 2>/dev/null || echo 0; }
