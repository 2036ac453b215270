# Sourced by scripts/bench.sh (not run on its own): the notification delivery section
# (issue 21, item 4). Defines notify_bench, which uses bench.sh's helpers
# (start_probed_command, stop_probed, cpu_ns, rsa_rates, die, log), its pinning and its probe, and
# sets NOTIFY_ROWS: two rows of bench.sh's table.
#
# What it measures: a gateway pinned to the gateway core makes, signs, stores and
# delivers NOTIFY_COUNT notifications to a local receiver that answers `success`
# (examples/notify_rate.rs, on the load core, which also makes them through
# POST /__admin/notifications on 8 connections). Notifications per second of gateway CPU
# are held against the RSA sign rate per CPU second of that core: every notification
# costs exactly one signature, so 1.0 would be a gateway doing nothing but sign.
# Target: >= 0.5.
#
# Twice: on a temporary store (--ephemeral, as tests run it: not flushed before an
# answer) and on a store folder (--data, as `alipay-mock serve` runs by default: the
# notification and each attempt flushed before they count).
#
# The host's RSA speed drifts by a fifth within a minute on this shared machine, so the
# sign rate a run is held against is measured right beside it, on the same core: before
# and after each run (their mean). NOTIFY_ROUNDS runs (default 3) on one gateway; a row
# gives the median ratio (of two runs, the lower) and the range. The warm-up makes more
# notifications than the gateway keeps finished ones (1,000), so every measured attempt
# also prunes one, as in a long run.

NOTIFY_COUNT=${NOTIFY_COUNT:-3000}
NOTIFY_ROUNDS=${NOTIFY_ROUNDS:-3}
NOTIFY_WARMUP=1100

# notify_rounds LABEL GATEWAY_COMMAND...: NOTIFY_ROUNDS runs on one gateway; sets ROUNDS_ROW
# (not printed and captured: bench.sh's exit trap must see the gateway it started).
notify_rounds() {
    local label=$1 rate=$PWD/target/release/examples/notify_rate
    shift
    local cpu0 cpu sign sign_before sign_after verified per_cpu round count seconds got median range
    local ratios=() rates=() signs=() received=()
    start_probed_command "$@"
    "${PIN_LOAD[@]}" "$rate" "$PORT" "$NOTIFY_WARMUP" >/dev/null ||
        die "the notification warm-up failed ($label)"
    rsa_rates sign_before verified
    for round in $(seq "$NOTIFY_ROUNDS"); do
        cpu0=$(cpu_ns)
        read -r _ count seconds got < <("${PIN_LOAD[@]}" "$rate" "$PORT" "$NOTIFY_COUNT") &&
            [ -n "$got" ] || die "notification run $round failed ($label)"
        cpu=$(awk -v a="$cpu0" -v b="$(cpu_ns)" 'BEGIN { print (b - a) / 1e9 }')
        rsa_rates sign_after verified
        sign=$(awk -v a="$sign_before" -v b="$sign_after" 'BEGIN { printf "%.0f", (a + b) / 2 }')
        per_cpu=$(awk -v n="$count" -v c="$cpu" 'BEGIN { printf "%.0f", n / c }')
        rates+=("$per_cpu")
        signs+=("$sign")
        received+=("$got")
        ratios+=("$(awk -v r="$per_cpu" -v s="$sign" 'BEGIN { printf "%.2f", r / s }')")
        log "notifications, $label, run $round: $per_cpu per gateway CPU second ($seconds s wall), sign rate beside it $sign, ratio ${ratios[-1]}"
        sign_before=$sign_after
    done
    stop_probed
    median=$(for i in "${!ratios[@]}"; do echo "${ratios[$i]} $i"; done | sort -n |
        awk -v n="${#ratios[@]}" 'NR == int((n + 1) / 2) { print $2 }')
    range=$(printf '%s\n' "${ratios[@]}" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }')
    ROUNDS_ROW="| notifications made and delivered to a local receiver answering success, $label ($NOTIFY_COUNT, 8 at once; median of $NOTIFY_ROUNDS runs): per gateway CPU second; received | ${rates[$median]}; ${received[$median]} | >= 0.5 x sign/s beside the run (${signs[$median]}) | ${ratios[$median]} of sign rate (runs: $range) | $(awk -v r="${ratios[$median]}" 'BEGIN { print (r >= 0.5 ? "met" : "MISSED") }') |"
}

notify_bench() {
    case "$NOTIFY_ROUNDS" in
        '' | *[!0-9]* | 0) die "NOTIFY_ROUNDS must be a whole number of at least 1, not '$NOTIFY_ROUNDS'" ;;
    esac
    log "notification delivery: $NOTIFY_ROUNDS runs of $NOTIFY_COUNT notifications on each store kind"
    cargo build --locked --release --example notify_rate >&2
    local temporary
    notify_rounds "temporary store" "$BIN" serve --ephemeral --addr "127.0.0.1:$PORT"
    temporary=$ROUNDS_ROW
    rm -rf "$WORK/notify-store"
    notify_rounds "store folder, flushed" "$BIN" serve --data "$WORK/notify-store" --addr "127.0.0.1:$PORT"
    NOTIFY_ROWS="$temporary
$ROUNDS_ROW"
}
