#!/bin/bash
# SPDX-License-Identifier: MIT
# Network faults during a real call: alice (voiced) sends her media through
# impair_proxy.py (`media_relay` points at it) to voice-relayd; bob talks to
# the relay directly. Run under tests/tools/with-pulse.sh.
#
# usage: netfault_test.sh SCENARIO RELAYD VOICED VOICECTL PROXY
# SCENARIO: loss5 | loss10 | bursty10 | udpblock | rebind | flood | soak
# Environment: NETFAULT_SECONDS (long phases, default 60), SOAK_SECONDS
# (default 600), SEED (proxy seed, default 1), KEEP=1 keeps the scratch dir
# (proxy log for a replay: impair_proxy.py --replay $T/proxy.log ...).
set -u
SCENARIO=$1 RELAYD=$2 VOICED=$3 VOICECTL=$4 PROXY=$5
HERE=$(cd "$(dirname "$0")" && pwd)
DURATION=${NETFAULT_SECONDS:-60}
SEED=${SEED:-1}

. "$HERE/../tools/voice-env.sh"
voice_env_begin netfault
fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*.log; do
        case $f in */proxy.log) continue ;; esac
        echo "==== $f" >&2
        tail -n 40 "$f" >&2
    done
    echo "proxy seed $SEED; KEEP=1 keeps $T/proxy.log for a replay" >&2
    exit 1
}
free_port() { # free_port tcp|udp
    python3 -c 'import socket,sys
s=socket.socket(type=socket.SOCK_STREAM if sys.argv[1]=="tcp" else socket.SOCK_DGRAM)
s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}

METRICS_PORT=$(free_port tcp)
relay_config "metrics = 127.0.0.1:$METRICS_PORT" "log_level = info"
metric() { # metric NAME -> value from the relay's metrics endpoint (0 when absent)
    python3 -c 'import sys,urllib.request
text=urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
v=[l.split()[-1] for l in text.splitlines() if l.startswith(sys.argv[2]+" ")]
print(int(float(v[0])) if v else 0)' "$METRICS_PORT" "$1"
}
proxy_ctl() { python3 "$PROXY" ctl "$T/proxy.sock" "$@"; }

# ---------------------------------------------------------------- setup
# start_call [ALICE CONFIG LINES...] -- [PROXY OPTIONS...]: relay, proxy,
# alice and bob, and a call alice -> bob (bob answers automatically).
# What the two talk: speech, not test tones. With the default capture
# processing a steady sine is what noise suppression exists to remove (a hum,
# a fan's whine): it came out 20 dB down, and libopus then judged the frames
# inactive and coded no in-band FEC (LBRR) for them (10 % loss: 9.6 %
# concealed with fec = auto). Speech keeps its FEC with processing on or off.
ALICE_TEXT="The quick brown fox jumps over the lazy dog. Seven silver ships sailed slowly \
south across the shining sea before the storm, and every sailor sang along."
BOB_TEXT="Hello, this is bob speaking from the other end of the line. Can you still hear \
me clearly while the network drops one packet in ten?"
# speech_raw OUT VOICE SECONDS TEXT: espeak-ng speech at 48 kHz, normalised
# to -3 dBFS peak, repeated to SECONDS.
speech_raw() {
    espeak-ng -v "$2" -s 150 -w "$1.wav" "$4" || fail "espeak-ng"
    sox "$1.wav" -r 48000 -c 1 -b 16 -e signed-integer -t raw "$1.one" norm -3 || fail "sox"
    local bytes=$(($3 * 96000))
    while [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -lt $bytes ]; do cat "$1.one" >>"$1"; done
    rm -f "$1.wav" "$1.one"
}

start_call() {
    local alice_extra=() proxy_opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do alice_extra+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    proxy_opts=("$@")
    start_relay
    waitfor 20 metric voice_relayd_connections || fail "relay did not start"
    PROXY_PORT=$(free_port udp)
    python3 "$PROXY" --listen "127.0.0.1:$PROXY_PORT" --upstream "127.0.0.1:$PORT" \
        --seed "$SEED" --control "$T/proxy.sock" --log "$T/proxy.log" \
        --max-seconds $((CALL_SECONDS + 600)) --realtime 20 "${proxy_opts[@]}" >>"$T/proxy.out" 2>&1 &
    PROXY_PID=$!
    PIDS+=($PROXY_PID)
    waitfor 20 test -S "$T/proxy.sock" || fail "proxy did not start"
    # Speech long enough for the whole call (the file device ends the stream after it).
    speech_raw "$T/alice.in.raw" en-us $((CALL_SECONDS + 60)) "$ALICE_TEXT"
    speech_raw "$T/bob.in.raw" en-gb+f3 $((CALL_SECONDS + 60)) "$BOB_TEXT"
    setup_user alice "$T/alice.in.raw" pulse:silence pulse:a_spk \
        "media_relay = 127.0.0.1:$PROXY_PORT" "${alice_extra[@]}"
    setup_user bob "$T/bob.in.raw" pulse:silence pulse:b_spk "${BOB_EXTRA[@]}"
    start_voiced alice --log-level info
    start_voiced bob --log-level info --auto-answer alice
    waitfor 30 is_registered alice || fail "alice did not register"
    waitfor 30 is_registered bob || fail "bob did not register"
    ctl alice call bob >"$T/call.out" 2>&1 || fail "call failed: $(cat "$T/call.out")"
    waitfor 20 in_state alice in-call || fail "alice not in call"
    waitfor 20 in_state bob in-call || fail "bob not in call"
    call_start=$SECONDS
    grep -q "media flowing (session via relay 127.0.0.1:$PROXY_PORT)" "$T/alice.log" ||
        waitfor 10 grep -q "media flowing (session via relay 127.0.0.1:$PROXY_PORT)" "$T/alice.log" ||
        fail "alice's media does not go to the proxy"
}
BOB_EXTRA=()
CALL_SECONDS=$DURATION

# sample USER: appends one JSON line (status with stats, plus the time) to
# $T/USER.samples; fails unless USER is in a call.
sample() {
    local state
    state=$(ctl "$1" status --json 2>/dev/null | python3 -c 'import json,sys,time
d=json.load(sys.stdin); d["t"]=time.time()
with open(sys.argv[1], "a") as f: f.write(json.dumps(d) + "\n")
print(d.get("state"))' "$T/$1.samples")
    [ "$state" = in-call ] || fail "$1's call dropped (state ${state:-unknown})"
}
# observe SECONDS [INTERVAL]: samples both users every INTERVAL (1) seconds for
# SECONDS; fails when a call drops. One voicectl per user and sample keeps the
# test's own load low (audio threads share the machine with it).
observe() {
    local end=$((SECONDS + $1)) u
    while [ $SECONDS -lt $end ]; do
        for u in alice bob; do sample $u; done
        sleep "${2:-1}"
    done
}
# stat USER KEY -> the stats value now
stat_now() { json_field "$1" "stats.$2"; }

# window_report USER FROM_LINE -> the figures over the samples from line FROM_LINE
# (1-based) on: "concealed_pct loss_pct max_delay_ms frames fec_recovered p95_delay_ms
# xruns audible_concealed_pct"; audible leaves out the concealed frames that came out
# below -50 dBFS (concealed_quiet_frames: pauses between words carried on).
window_report() {
    python3 - "$T/$1.samples" "$2" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows[int(sys.argv[2]) - 1:] if r.get("stats")]
a, b = rows[0]["stats"], rows[-1]["stats"]
played = b["frames_played"] - a["frames_played"]
concealed = b["concealed_frames"] - a["concealed_frames"]
quiet = b.get("concealed_quiet_frames", 0) - a.get("concealed_quiet_frames", 0)
fec = b.get("fec_recovered_frames", 0) - a.get("fec_recovered_frames", 0)
lost = b["packets_lost"] - a["packets_lost"]
got = b["packets_received"] - a["packets_received"]
delays = sorted(r["stats"]["buffer_delay_ms"] for r in rows)
p95 = delays[min(len(delays) - 1, int(0.95 * len(delays)))]
xruns = b.get("xruns", 0) - a.get("xruns", 0)
print("%.3f %.3f %.1f %d %d %.1f %d %.3f" % (100.0 * concealed / max(played, 1),
      100.0 * lost / max(lost + got, 1), delays[-1], played, fec, p95, xruns,
      100.0 * (concealed - quiet) / max(played, 1)))
PY
}
lines() { wc -l <"$T/$1.samples" 2>/dev/null || echo 0; }
# le A B: A <= B (floats)
le() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$1" "$2"; }

# Whether this voiced knows the `fec` key (loss feedback and FEC; engineer `latency`).
fec_supported() {
    mkdir -p "$T/fec/voiced"
    printf 'name = fectest\nrelay = 127.0.0.1:1\nfec = auto\n' >"$T/fec/voiced/voiced.conf"
    XDG_CONFIG_HOME=$T/fec DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent \
        timeout 5 "$VOICED" >"$T/fec.out" 2>&1
    ! grep -qi "fec" "$T/fec.out"
}

# loss_run NAME MAX_CONCEALED_PCT|- MAX_DELAY_MS|- [ALICE/BOB CONFIG LINES...] -- [PROXY OPTIONS...]
# One call of DURATION seconds after a 5 s warm-up; checks the call stays up; prints
# the figures; checks concealed <= MAX_CONCEALED_PCT and the jitter-buffer delay (sampled
# every second) <= MAX_DELAY_MS. The proxy's own lateness (its scheduling on a loaded
# machine adds to the configured jitter) is printed first; a stall of the proxy over
# 10 ms raises the delay bound by its length.
loss_run() {
    local name=$1 max=$2 maxdelay=$3 u
    shift 3
    local cfg=() opts
    while [ $# -gt 0 ] && [ "$1" != -- ]; do cfg+=("$1"); shift; done
    BOB_EXTRA=("${cfg[@]}")
    start_call "${cfg[@]}" "$@"
    observe 5
    if [[ " ${cfg[*]} " == *"fec = auto"* ]]; then
        # "With FEC on": the window starts once loss feedback has turned FEC on both ways.
        for u in alice bob; do
            waitfor 30 fec_on $u || fail "$name: $u's encoder never turned FEC on"
        done
        echo "FEC on both ways after $((SECONDS - call_start)) s of the call"
    fi
    local from_a=$(($(lines alice) + 1)) from_b=$(($(lines bob) + 1))
    observe "$DURATION"
    local pstats stall
    pstats=$(proxy_ctl stats)
    echo "proxy: $pstats"
    # The bound is for the jitter the scenario configures. When the proxy
    # itself was held up by more than 10 ms (the whole machine stalled: a
    # shared CI host), every packet in flight was delayed by that much on
    # top, and the buffer rightly grew: the bound grows by the same amount.
    stall=$(json_get "$pstats" late_max_ms)
    if [ "$maxdelay" != - ] && ! le "$stall" 10; then
        local bound=$maxdelay
        maxdelay=$(python3 -c 'import sys; print(round(float(sys.argv[1]) + float(sys.argv[2]), 1))' "$bound" "$stall")
        echo "the proxy was held up by $stall ms (a host stall): buffer delay bound $bound + $stall = $maxdelay ms"
    fi
    for u in alice bob; do
        local from=$from_a
        [ $u = bob ] && from=$from_b
        read -r conc loss delay played fec p95 xruns audible < <(window_report $u $from)
        echo "RESULT $name $u: concealed ${conc}% (audible ${audible}%; fec-recovered $fec of $played frames), network loss ${loss}%, buffer delay max ${delay} ms (p95 ${p95} ms), $xruns xruns over ${DURATION} s"
        [ "$played" -gt $((DURATION * 25)) ] || fail "$name: $u played only $played frames"
    done
    for u in alice bob; do
        local from=$from_a
        [ $u = bob ] && from=$from_b
        read -r conc loss delay played fec p95 xruns audible < <(window_report $u $from)
        if [ "$maxdelay" != - ]; then
            # xruns mean the machine stalled the audio devices themselves
            # (overload, not the network): the frames that piled up meanwhile
            # show as one spike of buffer delay, which says nothing of the
            # network. Then the bound holds for the p95 (as the proxy's own
            # stalls raise the bound above); without xruns, for the maximum.
            if [ "$xruns" -gt 0 ]; then
                le "$p95" "$maxdelay" || fail "$name: $u's jitter-buffer delay p95 $p95 ms (> $maxdelay; max $delay ms, $xruns xruns in the window)"
                le "$delay" "$maxdelay" || echo "NOTE $name: $u's buffer delay peaked at $delay ms with $xruns xruns in the window (a device stall; p95 $p95 ms within $maxdelay)"
            else
                le "$delay" "$maxdelay" || fail "$name: $u's jitter-buffer delay reached $delay ms (> $maxdelay; no xruns)"
            fi
        fi
        if [ "$max" != - ]; then
            # Speech has pauses; libopus codes no FEC for a frame it judges
            # inactive, and a lost pause concealed is a pause: the bound is on
            # the concealment one can hear (all of it is printed above).
            le "$audible" "$max" || fail "$name: $u concealed $audible% of frames audibly (> $max%; $conc% in all)"
        fi
    done
}

# restart: stop everything for a second run in the same test.
restart() {
    voice_env_stop
    PIDS=()
    BUS_PIDS=()
    mkdir -p "$T/run1"
    mv "$T"/*.log "$T"/*.samples "$T/alice" "$T/bob" "$T/run1/" 2>/dev/null
    rm -rf "$T/relay"
    relay_config "metrics = 127.0.0.1:$METRICS_PORT" "log_level = info"
}

# log_time FILE PATTERN -> epoch seconds of the last line matching PATTERN, minus its
# "switched N ms ago" (the moment of the switch itself).
log_time() {
    python3 - "$1" "$2" <<'PY'
import re, sys, time, datetime
lines = [l for l in open(sys.argv[1], errors="replace") if re.search(sys.argv[2], l)]
if not lines:
    sys.exit(1)
l = lines[-1]
hms = l.split()[0]
today = datetime.datetime.now()
t = datetime.datetime.strptime(today.strftime("%Y-%m-%d ") + hms, "%Y-%m-%d %H:%M:%S.%f")
ago = re.search(r"switched (\d+) ms ago", l)
print("%.3f" % (t.timestamp() - (int(ago.group(1)) / 1000.0 if ago else 0)))
PY
}
fec_on() { [ "$(stat_now "$1" fec_active)" = true ]; }
path_is() { [ "$(stat_now "$1" media_path)" = "$2" ]; }
metric_gt() { [ "$(metric "$1")" -gt "$2" ]; }
json_get() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
flows() { # flows USER KEY SECONDS: KEY grows within SECONDS
    local before after end=$((SECONDS + $3))
    before=$(stat_now "$1" "$2")
    while [ $SECONDS -lt $end ]; do
        sleep 0.5
        after=$(stat_now "$1" "$2")
        [ "$after" -gt $((before + 10)) ] && return 0
    done
    return 1
}

case $SCENARIO in
loss5 | loss10)
    if [ $SCENARIO = loss5 ]; then
        # 5 % uniform loss with 20 +- 5 ms delay (uniform), both ways through the
        # proxy: jitter-buffer delay <= 60 ms, concealed <= 1 % with FEC.
        P=0.05 MAX=1 MAXDELAY=60 EXTRA=(--delay 20 --jitter 5)
    else
        # 10 % uniform loss: concealed <= 2 % (with FEC).
        P=0.10 MAX=2 MAXDELAY=- EXTRA=()
    fi
    if fec_supported; then
        loss_run "$SCENARIO-fec-off" - $MAXDELAY "fec = off" -- --loss $P "${EXTRA[@]}"
        restart
        loss_run "$SCENARIO-fec-auto" $MAX $MAXDELAY "fec = auto" -- --loss $P "${EXTRA[@]}"
    else
        # Until loss feedback and FEC land: report the figures without FEC and
        # leave the assertion pending (skipped), not weakened.
        loss_run "$SCENARIO-no-fec" - $MAXDELAY -- --loss $P "${EXTRA[@]}"
        echo "PENDING: this voiced has no 'fec' key (loss feedback/FEC not merged): concealed <= $MAX% with FEC not checked"
        exit 77
    fi
    ;;
bursty10)
    # 10 % Gilbert-Elliott loss, mean burst 2: reported.
    loss_run "bursty10" - - -- --loss 0.10 --burst 2
    ;;
udpblock)
    CALL_SECONDS=60
    start_call
    observe 4
    [ "$(stat_now alice media_path)" = udp ] || fail "alice does not start on UDP"
    switches0=$(stat_now alice tunnel_switches)
    t_block=$(json_get "$(proxy_ctl block)" t)
    waitfor 10 path_is alice tunnel || fail "alice did not move to the tunnel"
    waitfor 5 grep -q "media: nothing over UDP" "$T/alice.log" || fail "no switch in alice's log"
    t_switch=$(log_time "$T/alice.log" "media: nothing over UDP")
    ms=$(python3 -c "print(round(1000 * ($t_switch - $t_block)))")
    echo "RESULT udpblock: alice moved to the tunnel $ms ms after the block"
    [ "$ms" -le 1000 ] || fail "tunnel switch took $ms ms (> 1000)"
    [ "$(stat_now alice tunnel_switches)" -gt "$switches0" ] || fail "tunnel_switches did not count"
    # Both directions flow through alice's control connection while UDP is blocked.
    flows alice tunnelled_in 10 || fail "nothing reaches alice through the tunnel"
    flows alice tunnelled_out 10 || fail "alice sends nothing through the tunnel"
    flows bob packets_received 10 || fail "bob receives nothing while alice's UDP is blocked"
    flows alice packets_received 10 || fail "alice receives nothing while her UDP is blocked"
    observe 3
    t_unblock=$(json_get "$(proxy_ctl unblock)" t)
    waitfor 20 path_is alice udp || fail "alice did not come back to UDP"
    waitfor 5 grep -q "back to UDP" "$T/alice.log" || fail "no switch back in alice's log"
    t_back=$(log_time "$T/alice.log" "back to UDP")
    echo "RESULT udpblock: back to UDP $(python3 -c "print(round(1000 * ($t_back - $t_unblock)))") ms after the unblock"
    # Media is on UDP both ways again: the tunnel counters stop growing.
    sleep 2
    in1=$(stat_now alice tunnelled_in) out1=$(stat_now alice tunnelled_out)
    observe 3
    in2=$(stat_now alice tunnelled_in) out2=$(stat_now alice tunnelled_out)
    [ $((in2 - in1)) -le 5 ] || fail "relay still tunnels to alice ($((in2 - in1)) in 3 s)"
    [ $((out2 - out1)) -le 5 ] || fail "alice still tunnels ($((out2 - out1)) in 3 s)"
    flows bob packets_received 10 || fail "bob receives nothing after the unblock"
    flows alice packets_received 10 || fail "alice receives nothing after the unblock"
    echo "ok: udpblock"
    ;;
rebind)
    CALL_SECONDS=60
    start_call
    observe 4
    changes0=$(metric voice_relayd_address_changes_total)
    port=$(json_get "$(proxy_ctl rebind)" port)
    echo "proxy now sends alice's media from 127.0.0.1:$port"
    waitfor 10 metric_gt voice_relayd_address_changes_total "$changes0" ||
        fail "the relay did not follow alice's new address"
    from_a=$(($(lines alice) + 1)) from_b=$(($(lines bob) + 1))
    observe 2
    flows alice packets_received 10 || fail "alice receives nothing after her address changed"
    flows bob packets_received 10 || fail "bob receives nothing after alice's address changed"
    observe 5
    [ "$(stat_now alice media_path)" = udp ] || fail "alice fell back to the tunnel"
    for u in alice bob; do
        from=$from_a
        [ $u = bob ] && from=$from_b
        read -r conc loss delay played fec < <(window_report $u $from)
        echo "RESULT rebind $u: concealed ${conc}% over $played frames after the change"
        le "$conc" 5 || fail "$u concealed $conc% after the address change"
    done
    echo "ok: rebind"
    ;;
flood)
    CALL_SECONDS=$((2 * DURATION + 30))
    FLOOD_SECONDS=$DURATION
    start_call
    observe 5
    from_a=$(($(lines alice) + 1)) from_b=$(($(lines bob) + 1))
    observe "$DURATION"
    read -r _ base_a _ _ _ < <(window_report alice $from_a)
    read -r _ base_b _ _ _ < <(window_report bob $from_b)
    # A full address has its oldest unregistered connection evicted to make
    # room (issue 16), so the flooder's idle connections are refused or evicted.
    refused0=$(($(metric voice_relayd_connections_refused_total) + $(metric voice_relayd_connections_evicted_total)))
    junk0=$(metric voice_relayd_packets_rejected_total)
    python3 "$HERE/flood.py" --relay "127.0.0.1:$PORT" --source 127.0.0.2 --connections 1000 \
        --rate 50000 --seconds "$FLOOD_SECONDS" >"$T/flood.out" 2>&1 &
    FLOOD_PID=$!
    PIDS+=($FLOOD_PID)
    sleep 3
    from_a=$(($(lines alice) + 1)) from_b=$(($(lines bob) + 1))
    observe $((FLOOD_SECONDS - 5))
    read -r _ flood_a _ _ _ < <(window_report alice $from_a)
    read -r _ flood_b _ _ _ < <(window_report bob $from_b)
    wait $FLOOD_PID || fail "flooder failed: $(cat "$T/flood.out")"
    cat "$T/flood.out"
    refused=$(($(metric voice_relayd_connections_refused_total) + $(metric voice_relayd_connections_evicted_total) - refused0))
    junk=$(($(metric voice_relayd_packets_rejected_total) - junk0))
    unread=$(metric voice_relayd_junk_dropped_unread_total)
    limited=$(metric voice_relayd_junk_sources_limited_total)
    echo "RESULT flood: loss alice ${base_a}% -> ${flood_a}%, bob ${base_b}% -> ${flood_b}%; relay refused or evicted $refused connections, rejected $junk junk datagrams after parsing them, dropped $unread unread (source limited $limited times)"
    le "$flood_a" "$(python3 -c "print($base_a + 1)")" || fail "alice lost ${flood_a}% under the flood (${base_a}% before)"
    le "$flood_b" "$(python3 -c "print($base_b + 1)")" || fail "bob lost ${flood_b}% under the flood (${base_b}% before)"
    [ "$refused" -ge 900 ] || fail "the relay refused or evicted only $refused of the flooder's connections"
    [ "$junk" -ge 1000 ] || fail "the relay counted only $junk junk datagrams"
    [ "$limited" -ge 1 ] && [ "$unread" -ge $((FLOOD_SECONDS * 25000)) ] ||
        fail "the relay did not limit the junk sender ($unread dropped unread)"
    grep -q "junk datagrams from 127.0.0.2" "$T/relay.log" || fail "the relay did not limit the junk sender"
    echo "ok: flood"
    ;;
soak)
    DURATION=${SOAK_SECONDS:-600}
    CALL_SECONDS=$DURATION
    WARMUP=$((DURATION / 10 < 30 ? 30 : DURATION / 10))
    start_call
    resources() { # resources PID -> "rss_kb fds threads"
        echo "$(awk '/^VmRSS/ {print $2}' /proc/$1/status) $(ls /proc/$1/fd | wc -l) $(ls /proc/$1/task | wc -l)"
    }
    observe "$WARMUP" 5
    declare -A START
    for p in alice bob relay; do
        pid=$RELAY_PID
        [ $p != relay ] && pid=${VOICED_PID[$p]}
        START[$p]=$(resources $pid)
        echo "warm $p: rss_kb fds threads = ${START[$p]}"
    done
    xa=$(stat_now alice xruns) xb=$(stat_now bob xruns)
    end=$((SECONDS + DURATION - WARMUP))
    while [ $SECONDS -lt $end ]; do
        observe 10 5
        for p in alice bob relay; do
            pid=$RELAY_PID
            [ $p != relay ] && pid=${VOICED_PID[$p]}
            read -r rss fds threads <<<"$(resources $pid)"
            read -r rss0 fds0 threads0 <<<"${START[$p]}"
            [ "$fds" -eq "$fds0" ] || fail "$p's descriptors went from $fds0 to $fds"
            [ "$threads" -eq "$threads0" ] || fail "$p's threads went from $threads0 to $threads"
            echo "$SECONDS $p $rss $fds $threads" >>"$T/resources.txt"
        done
    done
    for p in alice bob relay; do
        pid=$RELAY_PID
        [ $p != relay ] && pid=${VOICED_PID[$p]}
        read -r rss fds threads <<<"$(resources $pid)"
        read -r rss0 fds0 threads0 <<<"${START[$p]}"
        growth=$(python3 -c "print('%.2f' % (100.0 * ($rss - $rss0) / $rss0))")
        echo "RESULT soak $p: RSS ${rss0} -> ${rss} kB (${growth}%), fds $fds0 -> $fds, threads $threads0 -> $threads over $DURATION s"
        le "$growth" 5 || fail "$p's RSS grew ${growth}% (> 5%)"
    done
    xa2=$(stat_now alice xruns) xb2=$(stat_now bob xruns)
    echo "RESULT soak xruns: alice $xa -> $xa2, bob $xb -> $xb2"
    [ "$xa2" -eq "$xa" ] || fail "alice had $((xa2 - xa)) xruns after the warm-up"
    [ "$xb2" -eq "$xb" ] || fail "bob had $((xb2 - xb)) xruns after the warm-up"
    echo "ok: soak"
    ;;
*)
    echo "unknown scenario $SCENARIO" >&2
    exit 2
    ;;
esac
exit 0
