#!/usr/bin/env bash
# Benchmark of a signed round trip, as a user would run it (issue 7). Not part of
# scripts/test.sh: it measures, it does not pass or fail.
#
# Builds release, pins the gateway to core 0 and wrk to core 1 (where two cores exist),
# drives it with pre-signed requests made just before each run (examples/bench_probe.rs),
# and prints in ONE run, as a table and as ratios against the targets:
#   - the crypto bound on one core for the active backend and for the rsa crate;
#   - signed round trips/s uncached (distinct identities, --sign-cache-entries 0) and
#     cached (the document's example asked again), p50/p99 at 64 connections;
#   - process start -> first answered signed request, in ms;
#   - peak RSS at 256 connections, RSS after 100,000 requests vs. after 10,000.
# Writes the table to BENCHMARKS.md. Loopback only; every phase is bounded in time;
# the gateways it starts are stopped by their PIDs; total well under 5 minutes.
#
# Usage: scripts/bench.sh [SECONDS_PER_RUN]   (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-15}
PORT=${BENCH_PORT:-19600}
CONNECTIONS=64
MEM_CONNECTIONS=256
WORK=$(mktemp -d)
GATEWAY_PID=
PROBE_PID=

LOG_NAME=bench
# shellcheck source=lib.sh
. scripts/lib.sh
stop_probed() {
    if [ -n "$GATEWAY_PID" ]; then
        kill "$GATEWAY_PID" 2>/dev/null || true
        GATEWAY_PID=
    fi
    if [ -n "$PROBE_PID" ]; then
        # The probe is the gateway's parent: it exits once the gateway has.
        wait "$PROBE_PID" 2>/dev/null || true
        PROBE_PID=
    fi
}
trap 'stop_probed; rm -rf "$WORK"' EXIT

if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian)"
    (apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }) \
        || die "cannot install wrk"
fi

log "cargo build --release"
cargo build --locked --release --bin alipay-mock --example bench_probe >&2
BIN=$PWD/target/release/alipay-mock
PROBE=$PWD/target/release/examples/bench_probe

CORES=$(nproc)
if [ "$CORES" -ge 2 ]; then
    PIN_GATEWAY=(taskset -c 0)
    PIN_LOAD=(taskset -c 1)
    PINNING="gateway on core 0, wrk on core 1"
else
    PIN_GATEWAY=()
    PIN_LOAD=()
    PINNING="one core: gateway and wrk share it"
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- crypto bound
log "crypto bound on one core"
# Per second of wall-clock time, then per second of CPU time: the machine is shared, so
# the CPU-time figures are the ones that compare across runs.
read -r _ FAST_SIGN FAST_VERIFY RSA_SIGN RSA_VERIFY \
    FAST_SIGN_CPU FAST_VERIFY_CPU RSA_SIGN_CPU RSA_VERIFY_CPU < <("${PIN_GATEWAY[@]}" "$PROBE" crypto 2)
bound() { awk -v s="$1" -v v="$2" 'BEGIN { printf "%.0f", 1 / (1 / s + 1 / v) }'; }
FAST_BOUND=$(bound "$FAST_SIGN" "$FAST_VERIFY")
RSA_BOUND=$(bound "$RSA_SIGN" "$RSA_VERIFY")
FAST_BOUND_CPU=$(bound "$FAST_SIGN_CPU" "$FAST_VERIFY_CPU")
RSA_BOUND_CPU=$(bound "$RSA_SIGN_CPU" "$RSA_VERIFY_CPU")

# ---------------------------------------------------------------- gateway runs
# start_probed ARGS...: the probe (on the load core, its signed request made first)
# starts a pinned gateway with a temporary store and times its first signed answer;
# sets GATEWAY_PID, PROBE_PID and FIRST_MS.
start_probed() {
    rm -f "$WORK/first"
    "${PIN_LOAD[@]}" "$PROBE" first-answer "$WORK/first" "$PORT" \
        "${PIN_GATEWAY[@]}" "$BIN" serve --ephemeral --addr "127.0.0.1:$PORT" "$@" &
    PROBE_PID=$!
    for _ in $(seq 500); do
        [ -s "$WORK/first" ] && break
        kill -0 "$PROBE_PID" 2>/dev/null || die "the gateway did not answer"
        sleep 0.05
    done
    read -r FIRST_MS GATEWAY_PID <"$WORK/first" || die "the gateway did not answer in 25 s"
}
# CPU time of all the gateway's threads so far, in ns (the scheduler's count).
cpu_ns() { cat /proc/"$GATEWAY_PID"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'; }
rss_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# drive SCRIPT CONNECTIONS SECONDS [STOP_AFTER]: prints "requests seconds p50 p99 errors".
drive() {
    local out
    out=$(STOP_AFTER=${4:-0} "${PIN_LOAD[@]}" wrk -t1 -c"$2" -d"$3"s --timeout 10s -s "$1" \
        "http://127.0.0.1:$PORT/gateway.do")
    awk '$1 == "wrk_result" { print $2, $3, $4, $5, $6 }' <<<"$out"
}

log "start -> first answer (best of 3 starts)"
FIRST_BEST=
for _ in 1 2 3; do
    start_probed
    stop_probed
    FIRST_BEST=$(awk -v a="$FIRST_MS" -v b="${FIRST_BEST:-1e9}" 'BEGIN { print (a < b ? a : b) }')
done

log "uncached: distinct identities, cache off, $CONNECTIONS connections, ${SECONDS_PER_RUN}s"
"$PROBE" presign "$WORK/distinct.lua" 512 distinct
start_probed --sign-cache-entries 0
drive "$WORK/distinct.lua" "$CONNECTIONS" 2 >/dev/null # warm-up
CPU0=$(cpu_ns)
read -r U_REQ U_SEC U_P50 U_P99 U_ERR < <(drive "$WORK/distinct.lua" "$CONNECTIONS" "$SECONDS_PER_RUN")
U_CPU=$(awk -v a="$CPU0" -v b="$(cpu_ns)" 'BEGIN { print (b - a) / 1e9 }')
stop_probed

log "cached: the document's example again, cache on, $CONNECTIONS connections, ${SECONDS_PER_RUN}s"
"$PROBE" presign "$WORK/repeated.lua" 64 repeated
start_probed
drive "$WORK/repeated.lua" "$CONNECTIONS" 2 >/dev/null
CPU0=$(cpu_ns)
read -r C_REQ C_SEC C_P50 C_P99 C_ERR < <(drive "$WORK/repeated.lua" "$CONNECTIONS" "$SECONDS_PER_RUN")
C_CPU=$(awk -v a="$CPU0" -v b="$(cpu_ns)" 'BEGIN { print (b - a) / 1e9 }')
stop_probed

log "memory: $MEM_CONNECTIONS connections, 10,000 then 90,000 more requests (cache on)"
"$PROBE" presign "$WORK/memory.lua" 512 distinct
start_probed
read -r M1_REQ _ < <(drive "$WORK/memory.lua" "$MEM_CONNECTIONS" 60 10000)
RSS_10K=$(rss_kib "$GATEWAY_PID" VmRSS)
read -r M2_REQ _ _ M_P99 M_ERR < <(drive "$WORK/memory.lua" "$MEM_CONNECTIONS" 120 90000)
RSS_100K=$(rss_kib "$GATEWAY_PID" VmRSS)
PEAK=$(rss_kib "$GATEWAY_PID" VmHWM)
stop_probed
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- table
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
U_RPS=$(calc %.0f "$U_REQ / $U_SEC")
C_RPS=$(calc %.0f "$C_REQ / $C_SEC")
U_RPS_CPU=$(calc %.0f "$U_REQ / $U_CPU")
C_RPS_CPU=$(calc %.0f "$C_REQ / $C_CPU")
U_SHARE=$(calc %.2f "$U_CPU / $U_SEC")
C_SHARE=$(calc %.2f "$C_CPU / $C_SEC")
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo MISSED; fi; }
R_BOUND=$(calc %.2f "$U_RPS_CPU / $FAST_BOUND_CPU")
R_BOUND_WALL=$(calc %.2f "$U_RPS / $FAST_BOUND")
R_CACHED=$(calc %.2f "$C_RPS_CPU / $U_RPS_CPU")
R_CACHED_WALL=$(calc %.2f "$C_RPS / $U_RPS")
R_P99=$(calc %.2f "$U_P99 / $U_P50")
R_RSS=$(calc %.3f "$RSS_100K / $RSS_10K")
PEAK_MB=$(calc %.1f "$PEAK / 1024")
TABLE=$(cat <<EOF
| measure | value | target | ratio | verdict |
| --- | --- | --- | --- | --- |
| crypto, AWS-LC (active): sign/s, verify/s, bound/s, per CPU second | $FAST_SIGN_CPU, $FAST_VERIFY_CPU, $FAST_BOUND_CPU | | | |
| crypto, rsa crate: sign/s, verify/s, bound/s, per CPU second | $RSA_SIGN_CPU, $RSA_VERIFY_CPU, $RSA_BOUND_CPU | | AWS-LC / rsa bound = $(calc %.1f "$FAST_BOUND_CPU / $RSA_BOUND_CPU") | |
| crypto, same per wall-clock second (AWS-LC; rsa crate) | $FAST_SIGN, $FAST_VERIFY, $FAST_BOUND; $RSA_SIGN, $RSA_VERIFY, $RSA_BOUND | | | |
| uncached signed round trips/s (distinct identities, cache off, $CONNECTIONS conns): per gateway CPU second; wall-clock (CPU share) | $U_RPS_CPU; $U_RPS ($U_SHARE) | >= 0.85 x bound | $R_BOUND of bound (wall: $R_BOUND_WALL) | $(verdict "$R_BOUND >= 0.85") |
| cached signed round trips/s (repeated answers, $CONNECTIONS conns): per CPU second; wall-clock (CPU share) | $C_RPS_CPU; $C_RPS ($C_SHARE) | >= 3 x uncached | $R_CACHED x uncached (wall: $R_CACHED_WALL) | $(verdict "$R_CACHED >= 3") |
| p50 / p99 uncached, $CONNECTIONS conns (ms) | $U_P50 / $U_P99 | p99 <= 3 x p50 | $R_P99 | $(verdict "$R_P99 <= 3") |
| p50 / p99 cached, $CONNECTIONS conns (ms) | $C_P50 / $C_P99 | p99 <= 3 x p50 | $(calc %.2f "$C_P99 / $C_P50") | $(verdict "$C_P99 <= 3 * $C_P50") |
| start -> first signed answer (ms, best of 3) | $FIRST_BEST | <= 50 | | $(verdict "$FIRST_BEST <= 50") |
| peak RSS at $MEM_CONNECTIONS conns (MB, VmHWM) | $PEAK_MB | <= 30 | | $(verdict "$PEAK_MB <= 30") |
| RSS after 100k vs 10k requests (KiB) | $RSS_100K vs $RSS_10K | within +-10% | $R_RSS | $(verdict "$R_RSS >= 0.9 && $R_RSS <= 1.1") |
| transport errors (uncached, cached, memory runs) | $U_ERR, $C_ERR, $M_ERR | 0 | | |
EOF
)
HEADER="$(date -u '+%Y-%m-%d %H:%M UTC'), $CORES cores ($PINNING), load average $LOAD_BEFORE before, $LOAD_AFTER after; ${SECONDS_PER_RUN}s per run; release build of $(git rev-parse --short HEAD 2>/dev/null || echo "?")$(git diff --quiet HEAD -- . ":!BENCHMARKS.md" 2>/dev/null || echo "-dirty"); requests in the memory run: $M1_REQ + $M2_REQ (p99 $M_P99 ms)"
printf '\n%s\n\n%s\n' "$HEADER" "$TABLE"
{
    echo "# Benchmarks"
    echo
    echo "Written by \`scripts/bench.sh\` (issue 7); figures from one run on a shared, noisy machine,"
    echo "so read the ratios, measured in the same run, more than the absolute numbers. Rates \"per CPU"
    echo "second\" divide by the CPU time the scheduler gave the measuring thread or the gateway"
    echo "(/proc/.../schedstat): other processes on the pinned core change wall-clock rates, not these."
    echo
    echo "$HEADER"
    echo
    echo "$TABLE"
} >BENCHMARKS.md
log "wrote BENCHMARKS.md"
