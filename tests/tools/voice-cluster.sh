# SPDX-License-Identifier: MIT
# A relay cluster for the cluster test and bench (issue 19), sourced after
# voice-env.sh: a private redis-server on a unix socket (append-only file,
# no TCP port) and relays 1..N on 127.0.0.1..127.0.0.N sharing it.
#
#   start_redis                 REDIS_PID; rcli runs redis-cli on its socket
#   cluster_relays_config N     RPORT[i] and $T/relayI.conf for i = 1..N
#   start_cluster_relay I       RPID[I] (log in $T/relayI.log)
#   relays_seen N               true once N relays heartbeat in Redis
#
# Needs T, PIDS and fail from voice-env.sh, RELAYD set.

declare -A RPORT RPID

start_redis() {
    mkdir -p "$T/redis"
    redis-server --port 0 --unixsocket "$T/redis/redis.sock" --unixsocketperm 700 \
        --dir "$T/redis" --save "" --appendonly yes --logfile "$T/redis.log" &
    REDIS_PID=$!
    PIDS+=($REDIS_PID)
}
rcli() { redis-cli -s "$T/redis/redis.sock" "$@"; }

cluster_relays_config() {
    local n=$1 i addr
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
        || fail "redis-server or redis-cli missing (scripts/install-deps)"
    [ -f "$T/cluster.key" ] || { openssl rand -hex 32 >"$T/cluster.key" && chmod 600 "$T/cluster.key"; }
    for i in $(seq 1 "$n"); do
        addr=127.0.0.$i
        RPORT[$i]=$(free_tcp_udp_port $addr)
        mkdir -p "$T/relay$i"
        cat >"$T/relay$i.conf" <<CONF
listen = $addr:${RPORT[$i]}
state_dir = $T/relay$i
ring_timeout = 30s
media_threads = 1
redis = unix:$T/redis/redis.sock
relay_id = r$i
advertise = $addr:${RPORT[$i]}
cluster_key_file = $T/cluster.key
CONF
    done
}

start_cluster_relay() {
    local i=$1
    "$RELAYD" --config "$T/relay$i.conf" --log-level info >>"$T/relay$i.log" 2>&1 &
    RPID[$i]=$!
    PIDS+=(${RPID[$i]})
}

relays_seen() { [ "$(rcli zcard voice:relays)" = "$1" ]; }
