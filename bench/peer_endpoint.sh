#!/bin/bash
# SPDX-License-Identifier: MIT
# One call end: voiced vs baresip (Debian's 1.0) and trx (Debian's 0.5) on
# the same private paced PulseAudio devices, Opus 20 ms, 48 kHz mono,
# 24 kbit/s, a tone in each direction. baresip runs twice, with SRTP
# (mediaenc=srtp-mand) and with plain RTP, two user agents calling each other
# directly on 127.0.0.1 (no registrar), the callee answering by itself.
# trx has no signalling and no encryption: one call end is a trx-tx (upstream
# `tx`) sending its capture device to the other end's trx-rx (`rx`) on a
# loopback UDP port, plus its own trx-rx playing what the other end sends;
# -f 960 -b 24 -c 1, and -m 60 (a 60 ms device buffer, three frames, as
# voiced's playback has: trx's default 16 ms is shorter than a frame and the
# tone source then fails every read, so tx would send silence); jitter
# buffer and Opus complexity are trx's own. Each end's rx must play the
# other end's tone over the measured window, or the run counts as nan.
# CPU per call end is utime+stime of the processes (all threads; trx: tx + rx)
# from /proc/PID/stat over the call, in % of one core, the mean of the two
# ends; voiced's comes from bench/e2e_call_bench.sh (ONLY=opus-20, bitrate
# 24000). Runs are interleaved and medians printed. THREADS=1 also lists
# each side's threads (% of a core, wake-ups/s). Without trx installed its
# runs are skipped (said so), the rest still runs.
# Called by bench/peer_bench.sh --endpoint; needs baresip, pulseaudio, sox
# (and trx).
#
# usage: bench/peer_endpoint.sh [--runs N] [--seconds S] [BUILD_DIR]
set -u
RUNS=3 SECS=20
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    -h|--help) sed -n 2,25p "$0"; exit 0 ;;
    *) break ;;
    esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd) || exit 2

if [ -z "${VOICE_PULSE_DIR:-}" ] && [ -z "${VOICE_PULSE_UNAVAILABLE:-}" ]; then
    exec dbus-run-session -- bash "$SRC/tests/tools/with-pulse.sh" \
        bash "$0" --runs "$RUNS" --seconds "$SECS" "$BUILD"
fi
if [ -n "${VOICE_PULSE_UNAVAILABLE:-}" ]; then
    echo "peer_endpoint: $VOICE_PULSE_UNAVAILABLE" >&2
    exit 77
fi
command -v baresip >/dev/null || { echo "peer_endpoint: baresip is not installed" >&2; exit 77; }
MODULES=$(dirname "$(dpkg -L baresip-core 2>/dev/null | grep -m1 '/modules/opus.so$')")
[ -d "$MODULES" ] || MODULES=/usr/lib/baresip/modules
# trx: Debian renames upstream's tx and rx to trx-tx and trx-rx.
TRX_TX="" TRX_RX=""
if command -v trx-tx >/dev/null && command -v trx-rx >/dev/null; then
    TRX_TX=trx-tx TRX_RX=trx-rx
elif command -v tx >/dev/null && command -v rx >/dev/null &&
    tx -h 2>&1 | grep -q 'Real-time audio transmitter'; then
    TRX_TX=tx TRX_RX=rx
else
    echo "peer_endpoint: trx is not installed (Debian package trx): skipping trx" >&2
fi

T=$(mktemp -d /tmp/voice-peer-endpoint-XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
# THREADS=1: baresip's threads (alice), from schedstat: % of a core and
# wake-ups per second (THREADS=1 of e2e_call_bench.sh gives voiced's).
thread_times() { # thread_times PID -> "tid name cpu_ns runs" per thread
    local f tid ns runs
    for f in "/proc/$1/task/"*; do
        tid=${f##*/}
        read -r ns _ runs <"$f/schedstat" 2>/dev/null || continue
        echo "$tid $(tr ' ' _ <"$f/comm" 2>/dev/null) $ns $runs"
    done
}
thread_report() { # thread_report BEFORE AFTER T0 T1
    python3 - "$@" <<'PY'
import sys
before = {l.split()[0]: l.split() for l in open(sys.argv[1])}
wall = float(sys.argv[4]) - float(sys.argv[3])
rows = []
for l in open(sys.argv[2]):
    tid, name, ns, runs = l.split()
    b = before.get(tid, [tid, name, "0", "0"])
    rows.append(((int(ns) - int(b[2])) / 1e9 / wall * 100, (int(runs) - int(b[3])) / wall, name))
rows.sort(reverse=True)
print(", ".join("%s %.2f%% %.0f/s" % (n, c, r) for c, r, n in rows if c >= 0.01))
PY
}

declare -A TONE=([alice]=440 [bob]=660) SINK=([alice]=a_spk [bob]=b_spk)
for u in alice bob; do
    sox -n -r 48000 -c 1 -b 16 -e signed-integer -t raw "$T/$u.in.raw" \
        synth $((SECS + 30)) sine "${TONE[$u]}" vol 0.5
done

# baresip_call ENC -> "% of a core per call end" (mean of the two ends)
baresip_call() {
    local enc=$1 u rtp
    declare -A SIP
    SIP[alice]=$(free_port) SIP[bob]=$(free_port)
    for u in alice bob; do
        local d=$T/bs-$u
        rm -rf "$d"; mkdir -p "$d/home" "$d/cfg/alsa"
        rtp=$(( (RANDOM % 2000) * 10 + 30000 ))
        cat >"$d/cfg/alsa/asoundrc" <<ALSA
pcm.voice_in { type file slave.pcm "pulse:silence" file "/dev/null" infile "$T/$u.in.raw" format "raw" }
pcm.voice_out { type file slave.pcm "pulse:${SINK[$u]}" file "$d/out.raw" format "raw" }
ALSA
        cat >"$d/home/config" <<CONF
poll_method epoll
sip_listen 127.0.0.1:${SIP[$u]}
sip_transports udp
audio_player alsa,voice_out
audio_source alsa,voice_in
audio_alert alsa,voice_out
ausrc_srate 48000
auplay_srate 48000
ausrc_channels 1
auplay_channels 1
rtp_ports $rtp-$((rtp + 9))
rtcp_mux yes
module_path $MODULES
module alsa.so
module opus.so
module srtp.so
module_app account.so
module_app menu.so
opus_bitrate 24000
opus_stereo no
opus_sprop_stereo no
CONF
        local mediaenc=""
        [ "$enc" = srtp ] && mediaenc=";mediaenc=srtp-mand"
        echo "<sip:$u@127.0.0.1:${SIP[$u]}>;regint=0;answermode=auto;audio_codecs=opus/48000/1;ptime=20$mediaenc" \
            >"$d/home/accounts"
        : >"$d/home/contacts"
    done
    local pid_bob pid_alice
    XDG_CONFIG_HOME=$T/bs-bob/cfg baresip -f "$T/bs-bob/home" </dev/null >"$T/bs-bob-$enc.log" 2>&1 &
    pid_bob=$!; PIDS+=("$pid_bob")
    sleep 1
    XDG_CONFIG_HOME=$T/bs-alice/cfg baresip -f "$T/bs-alice/home" \
        -e "/dial sip:bob@127.0.0.1:${SIP[bob]}" </dev/null >"$T/bs-alice-$enc.log" 2>&1 &
    pid_alice=$!; PIDS+=("$pid_alice")
    for _ in $(seq 100); do
        grep -qi "call established" "$T/bs-alice-$enc.log" "$T/bs-bob-$enc.log" 2>/dev/null && break
        sleep 0.1
    done
    if ! grep -qi "call established" "$T/bs-alice-$enc.log"; then
        echo "peer_endpoint: baresip call ($enc) not established" >&2
        tail -n 15 "$T/bs-alice-$enc.log" "$T/bs-bob-$enc.log" >&2
        kill "$pid_alice" "$pid_bob" 2>/dev/null; wait "$pid_alice" "$pid_bob" 2>/dev/null
        echo nan; return
    fi
    sleep 2 # settle
    local a0 b0 t0 a1 b1 t1
    a0=$(cpu_ticks "$pid_alice"); b0=$(cpu_ticks "$pid_bob"); t0=$(date +%s.%N)
    [ -n "${THREADS:-}" ] && thread_times "$pid_alice" >"$T/threads0"
    sleep "$SECS"
    a1=$(cpu_ticks "$pid_alice"); b1=$(cpu_ticks "$pid_bob"); t1=$(date +%s.%N)
    if [ -n "${THREADS:-}" ]; then
        thread_times "$pid_alice" >"$T/threads1"
        echo "  baresip ($enc) alice threads:" \
            "$(thread_report "$T/threads0" "$T/threads1" "$t0" "$t1")" >&2
    fi
    kill "$pid_alice" "$pid_bob" 2>/dev/null; wait "$pid_alice" "$pid_bob" 2>/dev/null
    if [ "$enc" = srtp ] && ! grep -qi "srtp" "$T/bs-alice-$enc.log"; then
        echo "peer_endpoint: no SRTP in baresip's log" >&2
    fi
    python3 -c "print('%.2f' % (100.0 * (($a1 - $a0) + ($b1 - $b0)) / 2 / $HZ / ($t1 - $t0)))"
}
# trx_call -> "% of a core per call end" (tx + rx, mean of the two ends)
trx_call() {
    local u peer d pid owners
    local -A PORT RXP TXP OUT0 OUT1 XRUN0
    PORT[alice]=$(free_port)
    PORT[bob]=$(free_port)
    while [ "${PORT[bob]}" = "${PORT[alice]}" ]; do PORT[bob]=$(free_port); done
    for u in alice bob; do
        d=$T/trx-$u
        rm -rf "$d"; mkdir -p "$d/cfg/alsa"
        cat >"$d/cfg/alsa/asoundrc" <<ALSA
pcm.voice_in { type file slave.pcm "pulse:silence" file "/dev/null" infile "$T/$u.in.raw" format "raw" }
pcm.voice_out { type file slave.pcm "pulse:${SINK[$u]}" file "$d/out.raw" format "raw" }
ALSA
    done
    trx_stop() {
        local p
        for p in "${TXP[@]}" "${RXP[@]}"; do kill "$p" 2>/dev/null; done
        for p in "${TXP[@]}" "${RXP[@]}"; do wait "$p" 2>/dev/null; done
    }
    trx_fail() { # trx_fail MESSAGE: stop, show the logs, print nan
        echo "peer_endpoint: trx: $1" >&2
        tail -n 5 "$T"/trx-*.log >&2
        trx_stop
        echo nan
    }
    for u in alice bob; do
        XDG_CONFIG_HOME=$T/trx-$u/cfg "$TRX_RX" -d voice_out -h 127.0.0.1 -p "${PORT[$u]}" \
            -r 48000 -c 1 -m 60 </dev/null >"$T/trx-rx-$u.log" 2>&1 &
        RXP[$u]=$!; PIDS+=("$!")
    done
    # Each rx alone on its port (oRTP may bind with SO_REUSEADDR: a stray
    # receiver on the same port would take packets unseen).
    for u in alice bob; do
        for _ in $(seq 50); do
            [ -n "$(ss -Hlnu "sport = :${PORT[$u]}" 2>/dev/null)" ] && break
            sleep 0.05
        done
        kill -0 "${RXP[$u]}" 2>/dev/null || { trx_fail "$u's rx exited at start"; return; }
        owners=$(ss -Hlnup "sport = :${PORT[$u]}" | grep -o 'pid=[0-9]*' | sort -u | tr '\n' ' ')
        if [ "$owners" != "pid=${RXP[$u]} " ]; then
            trx_fail "port ${PORT[$u]} of $u's rx is held by '${owners% }' (not rx ${RXP[$u]} alone); refusing to measure"
            return
        fi
    done
    for u in alice bob; do
        peer=bob; [ "$u" = bob ] && peer=alice
        XDG_CONFIG_HOME=$T/trx-$u/cfg "$TRX_TX" -d voice_in -h 127.0.0.1 -p "${PORT[$peer]}" \
            -r 48000 -c 1 -f 960 -b 24 -m 60 </dev/null >"$T/trx-tx-$u.log" 2>&1 &
        TXP[$u]=$!; PIDS+=("$!")
    done
    sleep 2 # settle
    for pid in "${TXP[@]}" "${RXP[@]}"; do
        kill -0 "$pid" 2>/dev/null || { trx_fail "a tx or rx exited before the call was measured"; return; }
    done
    local c0=0 c1=0 t0 t1
    for pid in "${TXP[@]}" "${RXP[@]}"; do c0=$((c0 + $(cpu_ticks "$pid"))); done
    for u in alice bob; do
        OUT0[$u]=$(stat -c %s "$T/trx-$u/out.raw" 2>/dev/null || echo 0)
        XRUN0[$u]=$(grep -c underrun "$T/trx-rx-$u.log")
    done
    t0=$(date +%s.%N)
    [ -n "${THREADS:-}" ] && { thread_times "${TXP[alice]}"; thread_times "${RXP[alice]}"; } >"$T/threads0"
    sleep "$SECS"
    for pid in "${TXP[@]}" "${RXP[@]}"; do c1=$((c1 + $(cpu_ticks "$pid" 2>/dev/null || echo 0))); done
    for u in alice bob; do OUT1[$u]=$(stat -c %s "$T/trx-$u/out.raw" 2>/dev/null || echo 0); done
    t1=$(date +%s.%N)
    if [ -n "${THREADS:-}" ]; then
        { thread_times "${TXP[alice]}"; thread_times "${RXP[alice]}"; } >"$T/threads1"
        echo "  trx alice threads (tx, rx):" \
            "$(thread_report "$T/threads0" "$T/threads1" "$t0" "$t1")" >&2
    fi
    for pid in "${TXP[@]}" "${RXP[@]}"; do
        kill -0 "$pid" 2>/dev/null || { trx_fail "a tx or rx exited during the call"; return; }
    done
    trx_stop
    # What each rx played over the window: the other end's tone, loud enough.
    local heard="" stat rms freq secs xruns
    for u in alice bob; do
        peer=bob; [ "$u" = bob ] && peer=alice
        stat=$(tail -c +"$((OUT0[$u] + 1))" "$T/trx-$u/out.raw" | head -c "$((OUT1[$u] - OUT0[$u]))" |
            sox -t raw -r 48000 -e signed-integer -b 16 -c 1 - -n stat 2>&1)
        rms=$(awk '/^RMS +amplitude/ { print $3 }' <<<"$stat")
        freq=$(awk '/^Rough +frequency/ { print $3 }' <<<"$stat")
        secs=$(awk -v b=$((OUT1[$u] - OUT0[$u])) 'BEGIN { printf "%.1f", b / 96000 }')
        xruns=$(($(grep -c underrun "$T/trx-rx-$u.log") - XRUN0[$u]))
        heard="$heard, $u's rx ${secs} s of ${freq:-?} Hz rms ${rms:-?} ($xruns underruns)"
        if ! awk -v r="${rms:-0}" -v f="${freq:-0}" -v want="${TONE[$peer]}" -v s="$secs" -v w="$SECS" \
            'BEGIN { exit !(r > 0.1 && f > 0.95 * want && f < 1.05 * want && s > 0.8 * w) }'; then
            echo "peer_endpoint: trx: $u's rx did not play $peer's ${TONE[$peer]} Hz tone over the" \
                "call (played ${secs} s of ${freq:-?} Hz, rms ${rms:-?})" >&2
            tail -n 5 "$T"/trx-*.log >&2
            echo nan; return
        fi
    done
    echo "  trx heard:${heard#,}" >&2
    python3 -c "print('%.2f' % (100.0 * ($c1 - $c0) / 2 / $HZ / ($t1 - $t0)))"
}
voiced_call() {
    ONLY=opus-20 CONF_ALICE="bitrate = 24000" CONF_BOB="bitrate = 24000" \
        bash "$SRC/bench/e2e_call_bench.sh" --seconds "$SECS" "$BUILD" >"$T/e2e.out" 2>&1
    [ -n "${THREADS:-}" ] && { grep -h "alice threads" "$T/e2e.out" | sed 's/^ */  voiced /' >&2 || :; }
    # Counted only if audio moved: each side played at least half the call's
    # 20 ms frames (without a sound server voiced still runs and uses CPU).
    awk -v want="$((SECS * 50 / 2))" '
        $1 == "opus-20" { cpu = ($8 + $9) / 2; found = 1 }
        match($0, /frames played alice [0-9]+, bob [0-9]+/) {
            split(substr($0, RSTART, RLENGTH), f, /[ ,]+/) # frames played alice A bob B
            played = (f[4] + 0 >= want && f[6] + 0 >= want) }
        END { if (found && played) printf "%.2f\n", cpu; else print "nan" }' "$T/e2e.out"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
    else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "peer_endpoint: one call end, Opus 20 ms 48 kHz mono 24 kbit/s, $RUNS interleaved runs of $SECS s"
V="" S="" R="" X=""
for run in $(seq "$RUNS"); do
    [ -n "${ONLY_BARESIP:-}" ] && v=nan || v=$(voiced_call)
    s=$(baresip_call srtp); r=$(baresip_call rtp)
    if [ -n "$TRX_TX" ]; then x=$(trx_call); else x=skipped; fi
    V="$V $v" S="$S $s" R="$R $r" X="$X $x"
    echo "  run $run: voiced $v, baresip SRTP $s, baresip RTP $r, trx tx+rx $x (% of a core per call end)"
done
mv=$(echo "$V" | median); ms=$(echo "$S" | median); mr=$(echo "$R" | median)
mx=skipped; [ -n "$TRX_TX" ] && mx=$(echo "$X" | median)
echo "| one call end, % of a core | voiced | baresip SRTP | baresip RTP | trx tx+rx | voiced/SRTP | voiced/trx | target |"
echo "|---|---|---|---|---|---|---|---|"
awk -v v="$mv" -v s="$ms" -v r="$mr" -v x="$mx" 'BEGIN {
    printf "| median of runs | %s | %s | %s | %s | %s | %s | ≤ 0.8 × SRTP |\n", v, s, r, x,
        (s > 0 ? sprintf("%.2f", v / s) : "nan"), (x > 0 ? sprintf("%.2f", v / x) : "nan") }'
