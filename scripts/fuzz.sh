#!/usr/bin/env bash
# Fuzzes the gateway's parsers with cargo-fuzz (libFuzzer, nightly toolchain): request
# parameters, sign content, biz_content, keys and the admin API's JSON bodies.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
#
# Each target runs for a bounded time, one after another (the machine has two cores),
# from seed corpora that fuzz/seeds.py writes. Prints executions and crashes per target
# and a summary; exits non-zero when any target crashed. Crash inputs land in
# fuzz/artifacts/<target>/ (kept out of git): turn each into a regression test in the
# normal suite, then delete it. Not part of scripts/test.sh; the bodies (src/fuzzing.rs) are
# compiled and property-tested by `cargo test`.
#
# Needs: rustup's nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(params sign_content biz_content keys admin_json clock_scenario)
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: needs the nightly toolchain and cargo-fuzz:" >&2
    echo "  rustup toolchain install nightly && cargo install cargo-fuzz" >&2
    exit 2
fi

# No sanitizer: the crate is safe Rust, so panics (including failed assertions in the
# targets) are what the fuzzer finds, and ASan would cost most of the executions.
# Debug assertions stay on so integer overflow panics too. Own target dir under fuzz/.
build_flags=(-O -a -s none --target-dir fuzz/target)
log_dir="$(mktemp -d)"
python3 fuzz/seeds.py
if ! cargo +nightly fuzz build "${build_flags[@]}" >/dev/null 2>"$log_dir/build.log"; then
    cat "$log_dir/build.log" >&2
    echo "fuzz.sh: build failed" >&2
    exit 2
fi
total_runs=0
total_crashes=0
summary=()
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    before=$(find "fuzz/artifacts/$target" -type f | wc -l)
    log="$log_dir/$target.log"
    status=0
    dict=()
    if [ -f "fuzz/dicts/$target.dict" ]; then
        dict=("-dict=fuzz/dicts/$target.dict")
    fi
    cargo +nightly fuzz run "${build_flags[@]}" "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        "${dict[@]}" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    runs="${runs:-0}"
    after=$(find "fuzz/artifacts/$target" -type f | wc -l)
    crashes=$((after - before))
    if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        # libFuzzer stopped on something it wrote no artifact for: count it anyway.
        crashes=1
        tail -20 "$log" >&2
    fi
    total_runs=$((total_runs + runs))
    total_crashes=$((total_crashes + crashes))
    line=$(printf '%-14s %12s executions %4s crashes  (%s s, corpus %s)' \
        "$target" "$runs" "$crashes" "$seconds" "$(find "fuzz/corpus/$target" -type f | wc -l)")
    summary+=("$line")
    echo "$line"
    if [ "$crashes" -ne 0 ]; then
        grep -E "panicked|ERROR: libFuzzer|Test unit written" "$log" | head -5 >&2 || true
    fi
done

echo
echo "== fuzz summary =="
printf '%s\n' "${summary[@]}"
echo "total: $total_runs executions, $total_crashes crashes (logs in $log_dir)"
if [ "$total_crashes" -ne 0 ]; then
    echo "fuzz.sh: crash inputs are in fuzz/artifacts/; reproduce with" >&2
    echo "  cargo +nightly fuzz run ${build_flags[*]} TARGET fuzz/artifacts/TARGET/FILE" >&2
    exit 1
fi
