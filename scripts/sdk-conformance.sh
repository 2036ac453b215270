#!/usr/bin/env bash
# Official-SDK conformance suite for alipay-mock (project issue 3).
#
# Installs the pinned official SDKs into project-local folders ignored by git
# (.sdk/node via `npm install --prefix`, .sdk/python as a venv; re-runs reuse
# them), starts a fresh ephemeral gateway, and calls zhima.auth.info.authquery
# through each SDK's ordinary public API -- with the SDK's own response
# signature verification on -- for every entry of `alipay-mock cases --json`,
# over a matrix of sign types, charsets and key formats, plus negative checks
# (wrong platform public key, wrong app private key). A third driver runs the
# Node SDK in certificate mode and with AES content encryption (issue 8;
# scripts/sdk/node_cert_conformance.mjs).
#
# Output (stdout): one line per SDK x case x variant
#     PASS <sdk> <case> [<variant>]
#     FAIL <sdk> <case> [<variant>] : <why>
# then `N passed, M failed` alone on the last line.  Exit 0 only with no failure.
# Progress and diagnostics go to stderr.
#
# Environment:
#     ALIPAY_MOCK_BIN   gateway binary to test; default: `cargo build --release
#                       --bin alipay-mock` and target/release/alipay-mock
#     SDK_CONFORMANCE_DEBUG=1   print stack traces of failing checks to stderr
#
# Notes on each SDK's quirks and what this suite does about them: docs/sdk-notes.md
set -uo pipefail

DRIVER_TIMEOUT=240   # seconds per driver; the whole suite must stay well under 5 minutes

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SDK_DIR="$ROOT/.sdk"
DRIVERS="$ROOT/scripts/sdk"
started=$(date +%s)

LOG_NAME=sdk-conformance
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"
# A fatal error still ends with the summary line the output promises.
die_hook() { echo "0 passed, 1 failed"; }

# ---------------------------------------------------------------- SDKs
# The pinned versions and install_node_sdk / install_python_sdk (scripts/image-test.sh
# sends its call through the same Node SDK install).
# shellcheck source=sdk/install.sh
. "$ROOT/scripts/sdk/install.sh"

command -v node >/dev/null || die "node is required"
command -v npm >/dev/null || die "npm is required"
command -v python3 >/dev/null || die "python3 is required"
command -v openssl >/dev/null || die "openssl is required"
install_node_sdk || die "could not install npm alipay-sdk@$NODE_SDK_VERSION"
install_python_sdk || die "could not install PyPI alipay-sdk-python==$PYTHON_SDK_VERSION"

# ---------------------------------------------------------------- gateway binary
if [ -n "${ALIPAY_MOCK_BIN:-}" ]; then
    BIN="$ALIPAY_MOCK_BIN"
else
    log "building alipay-mock (release)"
    (cd "$ROOT" && cargo build --release --bin alipay-mock >&2) || die "cargo build failed"
    BIN="$ROOT/target/release/alipay-mock"
fi
[ -x "$BIN" ] || die "gateway binary $BIN is not executable"

# ---------------------------------------------------------------- run folder, cleanup
mkdir -p "$SDK_DIR/tmp"
RUN_DIR="$(mktemp -d "$SDK_DIR/tmp/run.XXXXXX")"
DRIVER_PIDS=()
cleanup() {
    local pid
    for pid in ${DRIVER_PIDS[@]+"${DRIVER_PIDS[@]}"}; do
        kill "$pid" 2>/dev/null
    done
    stop_gateway
    rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- keys made at run time
# A wrong app key pair: its private key signs requests the gateway must reject
# (40002 isv.invalid-signature); its public key is a wrong "Alipay public key"
# the SDKs must reject responses with.
WRONG_KEY_DIR="$RUN_DIR/keys"
mkdir -p "$WRONG_KEY_DIR"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$WRONG_KEY_DIR/wrong_app_private_key_pkcs8.pem" 2>/dev/null \
    || die "openssl genpkey failed"
# PKCS#1 for the Python SDK (and the Node SDK's default keyType); OpenSSL 3 needs
# -traditional, OpenSSL 1.1 writes PKCS#1 by default.
openssl rsa -in "$WRONG_KEY_DIR/wrong_app_private_key_pkcs8.pem" -traditional \
    -out "$WRONG_KEY_DIR/wrong_app_private_key_pkcs1.pem" 2>/dev/null \
    || openssl rsa -in "$WRONG_KEY_DIR/wrong_app_private_key_pkcs8.pem" \
        -out "$WRONG_KEY_DIR/wrong_app_private_key_pkcs1.pem" 2>/dev/null \
    || die "openssl rsa failed"
grep -q 'BEGIN RSA PRIVATE KEY' "$WRONG_KEY_DIR/wrong_app_private_key_pkcs1.pem" \
    || die "could not write a PKCS#1 private key"
openssl pkey -in "$WRONG_KEY_DIR/wrong_app_private_key_pkcs8.pem" -pubout \
    -out "$WRONG_KEY_DIR/wrong_public_key.pem" 2>/dev/null || die "openssl pkey -pubout failed"

# ---------------------------------------------------------------- cases
CASES_FILE="$RUN_DIR/cases.json"
(cd "$ROOT" && "$BIN" cases --json >"$CASES_FILE") || die "\`alipay-mock cases --json\` failed"
ncases=$(node -e '
const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (!Array.isArray(c) || c.length === 0) process.exit(1);
process.stdout.write(String(c.length));' "$CASES_FILE") || die "\`alipay-mock cases --json\` did not give a non-empty JSON array"
log "$ncases cases"

# ---------------------------------------------------------------- gateway
GW_OUT="$RUN_DIR/gateway.stdout"
GW_ERR="$RUN_DIR/gateway.stderr"
cd "$ROOT" || die "cannot enter $ROOT"
start_gateway "$BIN" "$GW_OUT" "$GW_ERR" --ephemeral --addr 127.0.0.1:0 \
    || die "the gateway did not start"
log "gateway $GATEWAY_URL (pid $GATEWAY_PID)"

# ---------------------------------------------------------------- drivers
export GATEWAY_URL CASES_FILE WRONG_KEY_DIR
export KEYS_DIR="$ROOT/fixtures/keys"
export SDK_NODE_DIR="$SDK_DIR/node"
export PYTHONDONTWRITEBYTECODE=1 PYTHONIOENCODING=utf-8

# The drivers run side by side; each writes its own PASS/FAIL lines.
timeout "$DRIVER_TIMEOUT" node "$DRIVERS/node_conformance.mjs" >"$RUN_DIR/node.out" 2>"$RUN_DIR/node.err" &
DRIVER_PIDS+=($!)
timeout "$DRIVER_TIMEOUT" "$SDK_DIR/python/bin/python" "$DRIVERS/python_conformance.py" \
    >"$RUN_DIR/python.out" 2>"$RUN_DIR/python.err" &
DRIVER_PIDS+=($!)
timeout "$DRIVER_TIMEOUT" node "$DRIVERS/node_cert_conformance.mjs" "$GATEWAY_URL" \
    >"$RUN_DIR/node-cert.out" 2>"$RUN_DIR/node-cert.err" &
DRIVER_PIDS+=($!)

passed=0
failed=0
i=0
for sdk in node python node-cert; do
    wait "${DRIVER_PIDS[$i]}"
    rc=$?
    i=$((i + 1))
    out="$RUN_DIR/$sdk.out"
    grep -E '^(PASS|FAIL) ' "$out"
    p=$(grep -c '^PASS ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    # A driver that died, timed out, or disagrees with its own lines is a failure too.
    if (( (rc != 0 && f == 0) || (rc == 0 && f != 0) || (p == 0 && f == 0) )); then
        why="driver exited with status $rc"
        [ "$rc" -eq 124 ] && why="driver timed out after ${DRIVER_TIMEOUT}s"
        echo "FAIL $sdk driver [-] : $why; stderr: $(tail -c 600 "$RUN_DIR/$sdk.err" | tr '\n' ' ')"
        f=$((f + 1))
    fi
    if [ "$f" -ne 0 ] && [ -s "$RUN_DIR/$sdk.err" ]; then
        log "$sdk driver stderr (last lines):"
        tail -n 20 "$RUN_DIR/$sdk.err" >&2
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done
DRIVER_PIDS=()

if [ "$failed" -ne 0 ] && [ -s "$GW_ERR" ]; then
    log "gateway stderr (last lines):"
    tail -n 20 "$GW_ERR" >&2
fi
log "wall time $(( $(date +%s) - started ))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
