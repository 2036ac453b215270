# Sourced by scripts/bench.sh (not run on its own): the notification delivery section
# (issue 21, item 4). Defines notify_bench, which uses bench.sh's helpers (start_probed,
# stop_probed, cpu_ns, calc-free awk), its pinning and its probe, and sets NOTIFY_ROW:
# one row of bench.sh's table.
#
# What it measures: a gateway pinned to the gateway core (temporary store, as the other
# runs) makes, signs, stores and delivers NOTIFY_COUNT notifications to a local receiver
# that answers `success` (examples/notify_rate.rs, on the load core, which also makes
# them through POST /__admin/notifications on 8 connections). Notifications per second
# of gateway CPU are held against the RSA sign rate per CPU second of that core: every
# notification costs exactly one signature, so 1.0 would be a gateway doing nothing but
# sign. Target: >= 0.5.
#
# The host's RSA speed drifts by a quarter over minutes on this shared machine, so the
# sign rate a run is held against is measured right beside it, on the same core: before
# and after each run (their mean). NOTIFY_ROUNDS runs (default 3) on one gateway; the
# row gives the median ratio and the range.

NOTIFY_COUNT=${NOTIFY_COUNT:-3000}
NOTIFY_ROUNDS=${NOTIFY_ROUNDS:-3}

notify_bench() {
    log "notification delivery: $NOTIFY_ROUNDS runs of $NOTIFY_COUNT notifications made and delivered to a local receiver"
    cargo build --locked --release --example notify_rate >&2
    local rate=$PWD/target/release/examples/notify_rate cpu0 cpu sign_before sign_after
    local ratios=() rates=() signs=() received=() round
    start_probed
    # A warm-up, so the measured runs start with connections, pages and sled warm.
    "${PIN_LOAD[@]}" "$rate" "$PORT" 300 >/dev/null || die "the notification warm-up failed"
    read -r _ sign_before < <("${PIN_GATEWAY[@]}" "$PROBE" sign-rate 1)
    for round in $(seq "$NOTIFY_ROUNDS"); do
        cpu0=$(cpu_ns)
        read -r _ N_COUNT N_SEC N_RECEIVED < <("${PIN_LOAD[@]}" "$rate" "$PORT" "$NOTIFY_COUNT") ||
            die "notification run $round failed"
        cpu=$(awk -v a="$cpu0" -v b="$(cpu_ns)" 'BEGIN { print (b - a) / 1e9 }')
        read -r _ sign_after < <("${PIN_GATEWAY[@]}" "$PROBE" sign-rate 1)
        local sign per_cpu
        sign=$(awk -v a="$sign_before" -v b="$sign_after" 'BEGIN { printf "%.0f", (a + b) / 2 }')
        per_cpu=$(awk -v n="$N_COUNT" -v c="$cpu" 'BEGIN { printf "%.0f", n / c }')
        rates+=("$per_cpu")
        signs+=("$sign")
        received+=("$N_RECEIVED")
        ratios+=("$(awk -v r="$per_cpu" -v s="$sign" 'BEGIN { printf "%.2f", r / s }')")
        log "notification run $round: $per_cpu per gateway CPU second, sign rate beside it $sign, ratio ${ratios[-1]}"
        sign_before=$sign_after
    done
    stop_probed
    # The median run (by ratio) stands for the section; the range says how far runs moved.
    local median
    median=$(for i in "${!ratios[@]}"; do echo "${ratios[$i]} $i"; done | sort -n |
        awk -v n="${#ratios[@]}" 'NR == int((n + 1) / 2) { print $2 }')
    N_RATE_CPU=${rates[$median]}
    N_SIGN=${signs[$median]}
    N_RATIO=${ratios[$median]}
    N_RECEIVED=${received[$median]}
    N_RANGE=$(printf '%s\n' "${ratios[@]}" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }')
    N_VERDICT=$(awk -v r="$N_RATIO" 'BEGIN { print (r >= 0.5 ? "met" : "MISSED") }')
    NOTIFY_ROW="| notifications made and delivered to a local receiver answering success ($N_COUNT, 8 at once; median of $NOTIFY_ROUNDS runs): per gateway CPU second; received | $N_RATE_CPU; $N_RECEIVED | >= 0.5 x sign/s beside the run ($N_SIGN) | $N_RATIO of sign rate (runs: $N_RANGE) | $N_VERDICT |"
}
