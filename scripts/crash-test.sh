#!/usr/bin/env bash
# Durability under kill -9: no admin write the gateway acknowledged is lost.
#
#   scripts/crash-test.sh [WRITES_PER_ROUND] [ROUNDS]      (default 1200 writes, 3 rounds)
#
# Starts a release gateway on a temporary store and an ephemeral loopback port, sends
# WRITES_PER_ROUND identity creations (POST /__admin/identities) from 32 concurrent
# clients, recording each one answered 2xx, and kills the gateway with SIGKILL once
# about a third are acknowledged. Then restarts it on the same store and counts the
# acknowledged identities that are gone, from this round and every earlier one. Prints
# the figures per round; exits non-zero when any acknowledged write was lost.
# Loopback only, bounded in count and time; not part of scripts/test.sh or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_NAME=crash-test
# shellcheck source=lib.sh
. scripts/lib.sh

writes="${1:-1200}"
rounds="${2:-3}"
cargo build --release --quiet --bin alipay-mock
bin="$PWD/target/release/alipay-mock"
work="$(mktemp -d)"
cleanup() {
    if [ -n "$GATEWAY_PID" ]; then kill -9 "$GATEWAY_PID" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Starts the gateway on the store and sets GATEWAY_PID and base (http://127.0.0.1:PORT).
serve_store() {
    start_gateway "$bin" "$work/gateway.out" "$work/gateway.err" \
        --data "$work/store" --addr 127.0.0.1:0 || die "the gateway did not start"
    base=$GATEWAY_BASE
}

# Python (standard library) sends the writes, or checks which acknowledged ids exist.
cat >"$work/writer.py" <<'PY'
import concurrent.futures, http.client, json, sys, urllib.parse

def call(base, method, path, body=None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        headers = {"content-type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()

def write(base, round_no, i, acked):
    ident = f"crash-r{round_no}-{i:05d}"
    body = json.dumps({"id": ident, "user_id": f"2088{round_no:02d}{i:010d}",
                       "description": "crash-test write"})
    try:
        status = call(base, "POST", "/__admin/identities", body)
    except OSError:
        return
    if 200 <= status < 300:
        # One line per acknowledgement, flushed at once: the shell counts these lines
        # to decide when to kill the gateway.
        with open(acked, "a") as f:
            f.write(ident + "\n")

def exists(base, ident):
    return call(base, "GET", "/__admin/identities/" + ident) == 200

mode, base = sys.argv[1], sys.argv[2]
if mode == "write":
    round_no, count, acked = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        for i in range(count):
            pool.submit(write, base, round_no, i, acked)
else:
    ids = [line.strip() for line in open(sys.argv[3]) if line.strip()]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        missing = [i for i, ok in zip(ids, pool.map(lambda i: exists(base, i), ids)) if not ok]
    for ident in missing[:10]:
        print("lost:", ident, file=sys.stderr)
    print(len(missing))
PY

: >"$work/acked-all"
total_lost=0
echo "crash-test: $rounds rounds of $writes concurrent identity writes, kill -9 mid-way"
for round_no in $(seq 1 "$rounds"); do
    serve_store
    acked="$work/acked-$round_no"
    : >"$acked"
    timeout 300 python3 "$work/writer.py" write "$base" "$round_no" "$writes" "$acked" &
    writer_pid=$!
    kill_at=$((writes / 3))
    for _ in $(seq 1 3000); do
        if [ "$(wc -l <"$acked")" -ge "$kill_at" ]; then break; fi
        sleep 0.01
    done
    acked_at_kill=$(wc -l <"$acked")
    kill -9 "$GATEWAY_PID"
    wait "$GATEWAY_PID" 2>/dev/null || true
    GATEWAY_PID=""
    wait "$writer_pid" || true
    cat "$acked" >>"$work/acked-all"
    round_acked=$(wc -l <"$acked")
    serve_store
    lost=$(python3 "$work/writer.py" check "$base" "$work/acked-all")
    stop_gateway
    # Each check covers every round so far, so the worst check is the total.
    if [ "$lost" -gt "$total_lost" ]; then total_lost=$lost; fi
    printf 'round %d: %d writes sent, %d acknowledged (%d when killed), %d acknowledged so far, %d lost after restart\n' \
        "$round_no" "$writes" "$round_acked" "$acked_at_kill" "$(wc -l <"$work/acked-all")" "$lost"
done
echo "crash-test: $(wc -l <"$work/acked-all") acknowledged writes over $rounds kills, $total_lost lost"
if [ "$total_lost" -ne 0 ]; then
    die "FAILED: acknowledged writes were lost"
fi
