#!/usr/bin/env bash
# Soak: a release gateway under saturating load of signed requests for a while, with
# its resident memory sampled from /proc and every failed answer counted.
#
#   scripts/soak.sh [MINUTES] [CONNECTIONS]        (default 2 minutes, 32 connections)
#
# The load is wrk (Debian package `wrk`) replaying one pre-signed RSA2 authquery call
# (everything in the form body, as the Go SDK sends it). Its timestamp is fixed: the
# gateway checks timestamps only with --timestamp-window, which this run leaves off.
# An error is a socket error, a non-200 status, or an answer without code 10000; there
# must be none. Loopback only, stops by itself; not part of scripts/test.sh or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_NAME=soak
# shellcheck source=lib.sh
. scripts/lib.sh

minutes="${1:-2}"
connections="${2:-32}"
command -v wrk >/dev/null || die "needs wrk: apt-get install wrk"
cargo build --release --quiet --bin alipay-mock
work="$(mktemp -d)"
cleanup() {
    stop_gateway
    rm -rf "$work"
}
trap cleanup EXIT

start_gateway target/release/alipay-mock "$work/gateway.out" "$work/gateway.err" \
    --ephemeral --addr 127.0.0.1:0 || die "the gateway did not start"
url=$GATEWAY_URL

# The signed body: sign content = sorted name=value pairs, RSA2 (SHA256withRSA) with the
# fixture app key, by openssl — an implementation independent of the gateway's.
python3 - "$work" <<'PY'
import base64, subprocess, sys, urllib.parse
work = sys.argv[1]
params = {
    "app_id": "2014072300007148",
    "biz_content": '{"identity_param":"{\\"certType\\":\\"IDENTITY_CARD\\",\\"name\\":\\"张三\\",\\"certNo\\":\\"33021199003132432\\"}","identity_type":"2","auth_category":"C2B"}',
    "charset": "utf-8",
    "format": "JSON",
    "method": "zhima.auth.info.authquery",
    "sign_type": "RSA2",
    "timestamp": "2026-11-28 12:00:00",
    "version": "1.0",
}
content = "&".join(f"{k}={v}" for k, v in sorted(params.items())).encode("utf-8")
signature = subprocess.run(
    ["openssl", "dgst", "-sha256", "-sign", "fixtures/keys/app_private_key.pem"],
    input=content, capture_output=True, check=True).stdout
params["sign"] = base64.b64encode(signature).decode()
body = urllib.parse.urlencode(params, encoding="utf-8")
lua = f'''
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded;charset=utf-8"
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 or not body:find('"code":"10000"', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do bad_total = bad_total + t:get("bad") end
  local e = summary.errors
  io.write(string.format("requests %d\\n", summary.requests))
  io.write(string.format("socket_errors %d\\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("bad_answers %d\\n", bad_total))
  io.write(string.format("p99_ms %.2f\\n", latency:percentile(99) / 1000))
end
'''
open(f"{work}/load.lua", "w").write(lua)
PY

# A request by hand first: the pre-signed call must succeed before we load it.
if ! curl -s -X POST -H 'Content-Type: application/x-www-form-urlencoded;charset=utf-8' \
    --data "$(sed -n 's/^wrk.body = "\(.*\)"$/\1/p' "$work/load.lua")" "$url" | grep -q '"code":"10000"'; then
    die "the pre-signed request is not accepted"
fi

rss() { awk '/^VmRSS/ {print $2}' "/proc/$GATEWAY_PID/status"; }
seconds=$((minutes * 60))
interval=$((seconds / 12 > 5 ? seconds / 12 : 5))
echo "soak: $minutes min, $connections connections against $url (gateway pid $GATEWAY_PID)"
echo "rss at start: $(rss) KiB"
wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 10s -s "$work/load.lua" "$url" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
elapsed=0
while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep "$interval"
    elapsed=$((elapsed + interval))
    if kill -0 "$wrk_pid" 2>/dev/null; then echo "rss at ${elapsed}s: $(rss) KiB"; fi
done
wait "$wrk_pid" || true
echo "rss at end: $(rss) KiB"
grep -E "Requests/sec|Latency|Non-2xx|Socket errors" "$work/wrk.out" || true
requests=$(sed -n 's/^requests //p' "$work/wrk.out")
socket_errors=$(sed -n 's/^socket_errors //p' "$work/wrk.out")
bad=$(sed -n 's/^bad_answers //p' "$work/wrk.out")
echo "soak: ${requests:-0} requests, ${socket_errors:-?} socket errors, ${bad:-?} failed answers, p99 $(sed -n 's/^p99_ms //p' "$work/wrk.out") ms"
if [ "${socket_errors:-1}" != 0 ] || [ "${bad:-1}" != 0 ] || [ "${requests:-0}" = 0 ]; then
    log "FAILED"
    cat "$work/wrk.out" >&2
    exit 1
fi
