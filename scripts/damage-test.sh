#!/usr/bin/env bash
# A damaged store is refused, never served short: no silent data loss, no silent re-seed.
#
#   scripts/damage-test.sh [IDENTITIES]      (default 300)
#
# Starts a release gateway on a temporary store, adds IDENTITIES identities (one with a
# 200 kB description, so sled may keep a blob), authorisations for a third of them and a
# scenario, and stops it with SIGTERM. Then, for each kind of damage (db deleted,
# truncated, flipped and overwritten bytes, conf deleted, a blob damaged, the generation
# marker deleted together with a rollback of db, ...), copies the folder, damages the copy
# and starts a gateway on it: it must either refuse to start with a message naming the
# folder and --reseed, or start holding every identity, authorisation and the scenario.
# Prints one line per kind; exits non-zero when any start was served short.
# Loopback only; not part of scripts/test.sh or CI (tests/it/store_faults.rs covers the
# same kinds in `cargo test`).
set -euo pipefail
cd "$(dirname "$0")/.."

count="${1:-300}"
LOG_NAME=damage-test
# shellcheck source=lib.sh
. scripts/lib.sh
cargo build --release --quiet --bin alipay-mock
bin="$PWD/target/release/alipay-mock"
work="$(mktemp -d)"
trap 'stop_gateway; rm -rf "$work"' EXIT

# Starts the gateway on folder $1 (lib.sh's start_gateway, its notes silenced: a refusal
# is an expected outcome here and its message is read from gateway.err); sets base.
start_on() {
    start_gateway "$bin" "$work/gateway.out" "$work/gateway.err" \
        --data "$1" --addr 127.0.0.1:0 2>/dev/null || {
        # A refusal exits; one that neither started nor exited is stopped and reported.
        if [ -n "$GATEWAY_PID" ] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
            stop_gateway
            die "the gateway neither started nor exited"
        fi
        wait "$GATEWAY_PID" 2>/dev/null || true
        GATEWAY_PID=""
        return 1
    }
    base="$GATEWAY_BASE"
}

cat >"$work/tool.py" <<'PY'
import http.client, json, os, shutil, sys, urllib.parse

def call(base, method, path, body=None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
    try:
        headers = {"content-type": "application/json"} if body is not None else {}
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()

def populate(base, start, end, scenario):
    for n in range(start, end):
        ident = {"id": f"dmg{n}", "cert_no": f"1101012000{n:08d}", "name": "王小明"}
        if n == 7:
            ident["description"] = "x" * 200_000
        assert call(base, "POST", "/__admin/identities", ident)[0] == 201
        if n % 3 == 0:
            grant = {"app_id": "2014072300007148", "identity": f"dmg{n}", "open_id": f"2088{n:012d}"}
            assert call(base, "POST", "/__admin/authorizations", grant)[0] == 201
    if scenario:
        assert call(base, "POST", "/__admin/scenarios", {"times": 5, "outcome": {"error": "ZM_ACCOUNT_PAUSE"}})[0] == 201

def held(base):
    ready = json.loads(call(base, "GET", "/__admin/ready")[1])
    scenarios = json.loads(call(base, "GET", "/__admin/scenarios")[1])
    return f'{ready["identities"]} {ready["authorizations"]} {len(scenarios)}'

def patch(path, at, data):
    with open(path, "r+b") as f:
        size = os.path.getsize(path)
        f.seek(int(size * at))
        f.write(data)

def flip(path, at):
    with open(path, "r+b") as f:
        size = os.path.getsize(path)
        f.seek(int(size * at))
        b = f.read(1)
        f.seek(int(size * at))
        f.write(bytes([b[0] ^ 1]))

def truncate(path, fraction):
    os.truncate(path, int(os.path.getsize(path) * fraction))

def blob(d):
    blobs = os.path.join(d, "blobs")
    files = sorted(os.listdir(blobs)) if os.path.isdir(blobs) else []
    return os.path.join(blobs, files[0]) if files else None

def damage(kind, d, earlier):
    db = os.path.join(d, "db")
    if kind == "db-deleted": os.remove(db)
    elif kind == "db-empty": truncate(db, 0)
    elif kind == "db-half": truncate(db, 0.5)
    elif kind == "db-short-100": os.truncate(db, os.path.getsize(db) - 100)
    elif kind.startswith("flip-"): flip(db, int(kind[5:]) / 100)
    elif kind.startswith("overwrite-"): patch(db, int(kind[10:]) / 100, b"\x5a" * 64)
    elif kind == "conf-deleted": os.remove(os.path.join(d, "conf"))
    elif kind == "conf-garbled": open(os.path.join(d, "conf"), "w").write("segment_size: x\n")
    elif kind == "blob-damaged":
        if blob(d): patch(blob(d), 0.5, b"\x5a" * 64)
    elif kind == "blob-deleted":
        if blob(d): os.remove(blob(d))
    elif kind == "marker-garbled": open(os.path.join(d, "alipay-mock.generation"), "w").write("{")
    elif kind == "rolled-back": shutil.copy(os.path.join(earlier, "db"), db)
    elif kind == "rolled-back-no-marker":
        shutil.copy(os.path.join(earlier, "db"), db)
        os.remove(os.path.join(d, "alipay-mock.generation"))
    else: raise SystemExit("unknown damage " + kind)

mode = sys.argv[1]
if mode == "populate": populate(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "scenario")
elif mode == "held": print(held(sys.argv[2]))
elif mode == "damage": damage(sys.argv[2], sys.argv[3], sys.argv[4])
PY

# The store, and a copy taken halfway through (an earlier state of the same store).
start_on "$work/store" || { cat "$work/gateway.err" >&2; exit 2; }
python3 "$work/tool.py" populate "$base" 0 $((count / 2)) none
# A copy while the gateway runs holds what was flushed: everything acknowledged so far.
cp -r "$work/store" "$work/earlier"
python3 "$work/tool.py" populate "$base" $((count / 2)) "$count" scenario
before=$(python3 "$work/tool.py" held "$base")
stop_gateway
log "the store holds $before (identities authorisations scenarios)"

short=0
for kind in db-deleted db-empty db-half db-short-100 flip-10 flip-50 flip-90 \
    overwrite-25 overwrite-50 overwrite-75 conf-deleted conf-garbled blob-damaged \
    blob-deleted marker-garbled rolled-back rolled-back-no-marker; do
    copy="$work/case-$kind"
    cp -r "$work/store" "$copy"
    python3 "$work/tool.py" damage "$kind" "$copy" "$work/earlier"
    if start_on "$copy"; then
        after=$(python3 "$work/tool.py" held "$base")
        stop_gateway
        if [ "$after" = "$before" ]; then
            printf '%-24s started, everything there\n' "$kind"
        else
            printf '%-24s STARTED SHORT: %s of %s\n' "$kind" "$after" "$before"
            short=$((short + 1))
        fi
    else
        message=$(tr '\n' ' ' <"$work/gateway.err")
        if [[ "$message" == *"$copy"* && "$message" == *"--reseed"* ]]; then
            printf '%-24s refused: %s\n' "$kind" "${message:0:160}"
        else
            printf '%-24s REFUSED WITHOUT THE WAY OUT: %s\n' "$kind" "$message"
            short=$((short + 1))
        fi
    fi
done
if [ "$short" -ne 0 ]; then
    die "$short kinds of damage served short or unexplained"
fi
log "every kind of damage refused with the way out, or served whole"
