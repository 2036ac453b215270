# Sourced by scripts/bench.sh (not run on its own): the notification delivery section
# (issue 21, item 4). Defines notify_bench, which uses bench.sh's helpers (start_probed,
# stop_probed, cpu_ns, calc-free awk), its pinning and its crypto bound, and sets
# NOTIFY_ROW: one row of bench.sh's table.
#
# What it measures: a gateway pinned to the gateway core (temporary store, as the other
# runs) makes, signs, stores and delivers NOTIFY_COUNT notifications to a local receiver
# that answers `success` (examples/notify_rate.rs, on the load core, which also makes
# them through POST /__admin/notifications on 8 connections). Notifications per second
# of gateway CPU are held against the RSA sign bound per CPU second of that core: every
# notification costs exactly one signature, so 1.0 would be a gateway doing nothing but
# sign. Target: >= 0.5.

NOTIFY_COUNT=${NOTIFY_COUNT:-3000}

notify_bench() {
    log "notification delivery: $NOTIFY_COUNT notifications made and delivered to a local receiver"
    cargo build --locked --release --example notify_rate >&2
    local rate=$PWD/target/release/examples/notify_rate cpu0 cpu
    start_probed
    # A warm-up, so the measured run starts with connections, pages and sled warm.
    "${PIN_LOAD[@]}" "$rate" "$PORT" 300 >/dev/null || die "the notification warm-up failed"
    cpu0=$(cpu_ns)
    read -r _ N_COUNT N_SEC N_RECEIVED < <("${PIN_LOAD[@]}" "$rate" "$PORT" "$NOTIFY_COUNT") ||
        die "the notification run failed"
    cpu=$(awk -v a="$cpu0" -v b="$(cpu_ns)" 'BEGIN { print (b - a) / 1e9 }')
    stop_probed
    N_RATE_CPU=$(awk -v n="$N_COUNT" -v c="$cpu" 'BEGIN { printf "%.0f", n / c }')
    N_RATE=$(awk -v n="$N_COUNT" -v s="$N_SEC" 'BEGIN { printf "%.0f", n / s }')
    N_SHARE=$(awk -v c="$cpu" -v s="$N_SEC" 'BEGIN { printf "%.2f", c / s }')
    N_RATIO=$(awk -v r="$N_RATE_CPU" -v b="$FAST_SIGN_CPU" 'BEGIN { printf "%.2f", r / b }')
    N_VERDICT=$(awk -v r="$N_RATIO" 'BEGIN { print (r >= 0.5 ? "met" : "MISSED") }')
    NOTIFY_ROW="| notifications made and delivered to a local receiver answering success ($N_COUNT, 8 at once): per gateway CPU second; wall-clock (CPU share); received | $N_RATE_CPU; $N_RATE ($N_SHARE); $N_RECEIVED | >= 0.5 x sign/s ($FAST_SIGN_CPU) | $N_RATIO of sign bound | $N_VERDICT |"
}
