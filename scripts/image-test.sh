#!/usr/bin/env bash
# The container image end to end (README "Container image"; .ci/run calls it after
# scripts/test.sh): builds it with scripts/image.sh, checks what its config records, runs
# it, waits for its own HEALTHCHECK, sends the API document's example through the official
# Node SDK, writes through the admin API, stops it with SIGTERM, and starts it again on
# the same /data volume to find that write.
#
# How it runs the image: rootful podman from Debian, on a throw-away vfs store in a
# temporary folder (CONTAINERS_STORAGE_CONF / CONTAINERS_CONF below), so nothing of the
# machine's own container storage is touched and the cleanup is one rm. On these machines
# podman needs runc (crun refuses the hybrid cgroup layout), the cgroupfs manager, the
# file events backend and rlimits below the host's hard limits (raising them is refused);
# that is all in the containers.conf written below. podman (not `buildah run`) because it
# runs the image as an image is run: its entrypoint and user, its /data volume, and
# `podman healthcheck run` executes the HEALTHCHECK command the image config records
# (podman would run it from a systemd timer; there is no systemd here, so this script
# runs it, as the timer would).
# Network: the host's (no bridge, no NAT, nothing but loopback is addressed). The image's
# default command is used as recorded with only the port of `--addr 0.0.0.0:9600` changed
# to a free one, since 9600 may be taken by another gateway on the machine; the same port
# goes to the health check through ALIPAY_MOCK_URL, as the README says to do.
#
# Output: PASS/FAIL lines, then `N passed, N failed` alone on the last line; exit 0 only
# with no failure. Progress on stderr. Every wait is bounded; containers, volume and the
# store are removed on any exit.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SDK_DIR="$ROOT/.sdk"
started=$(date +%s)
passed=0
failed=0

LOG_NAME=image-test
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"
pass() { echo "PASS image $1"; passed=$((passed + 1)); }
fail() { echo "FAIL image $1 : $2"; failed=$((failed + 1)); }
finish() {
    log "wall time $(( $(date +%s) - started ))s"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}
# A check that stops the run: FAIL it, then the summary.
give_up() { fail "$1" "$2"; finish; }

# ---------------------------------------------------------------- tools
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
        || give_up setup "podman and runc are needed (Debian packages podman, runc)"
    log "installing podman and runc from Debian"
    { DEBIAN_FRONTEND=noninteractive apt-get install -y podman runc \
        || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y podman runc; }
    } >&2 || give_up setup "apt-get install podman runc failed"
fi
command -v node >/dev/null && command -v npm >/dev/null || give_up setup "node and npm are needed"
# shellcheck source=sdk/install.sh
. "$ROOT/scripts/sdk/install.sh"
install_node_sdk || give_up setup "could not install npm alipay-sdk@$NODE_SDK_VERSION"

# ---------------------------------------------------------------- throw-away store
WORK=$(mktemp -d /tmp/alipay-mock-image-test.XXXXXX)
CONTAINERS=()
VOLUME=alipay-mock-image-test-data
cleanup() {
    local c
    for c in ${CONTAINERS[@]+"${CONTAINERS[@]}"}; do
        timeout 30 podman rm -f -t 0 "$c" >/dev/null 2>&1
    done
    timeout 30 podman volume rm -f "$VOLUME" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
EOF
cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$WORK/events.log"
tmp_dir = "$WORK/libpod-tmp"
static_dir = "$WORK/storage/libpod"
volume_path = "$WORK/storage/volumes"
EOF
export CONTAINERS_STORAGE_CONF="$WORK/storage.conf" CONTAINERS_CONF="$WORK/containers.conf"
export BUILDAH_ISOLATION=chroot
PODMAN_LOG="$WORK/podman.log"
# podman, bounded, its chatter (e.g. the missing systemd for health check timers) logged.
pm() { timeout 60 podman "$@" 2>>"$PODMAN_LOG"; }
# What a container printed, stdout and stderr.
logs() { timeout 30 podman logs "$1" 2>&1; }

# ---------------------------------------------------------------- build
log "scripts/image.sh (podman)"
IMAGE=$(IMAGE_TOOL=podman IMAGE_NAME=alipay-mock timeout 1800 "$ROOT/scripts/image.sh") \
    || give_up build "scripts/image.sh failed"
pass "build $IMAGE"
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
BIN="$ROOT/target/$TRIPLE/release/alipay-mock"   # the bytes scripts/image.sh put in the image

# ---------------------------------------------------------------- what the image records
CONFIG="$WORK/config.json"
# podman's inspect keeps the HEALTHCHECK beside .Config, not in it.
pm image inspect --format '{{json .Config}}' "$IMAGE" >"$WORK/config-only.json" \
    && pm image inspect --format '{{json .HealthCheck}}' "$IMAGE" >"$WORK/healthcheck.json" \
    && python3 - "$WORK/config-only.json" "$WORK/healthcheck.json" >"$CONFIG" <<'EOF' \
    || give_up config "podman image inspect failed"
import json, sys
config = json.load(open(sys.argv[1]))
config["Healthcheck"] = json.load(open(sys.argv[2]))
print(json.dumps(config))
EOF
SIZE=$(pm image inspect --format '{{.Size}}' "$IMAGE")
BIN_SIZE=$(stat -c %s "$BIN")
if why=$(python3 - "$CONFIG" "$SIZE" "$BIN_SIZE" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
size, binary = int(sys.argv[2]), int(sys.argv[3])
problems = []
def want(what, got, expected):
    if got != expected:
        problems.append(f"{what} is {got!r}, expected {expected!r}")
want("Entrypoint", c.get("Entrypoint"), ["/alipay-mock"])
want("Cmd", c.get("Cmd"), ["serve", "--addr", "0.0.0.0:9600", "--data", "/data"])
want("User", c.get("User"), "65532:65532")
want("ExposedPorts", sorted(c.get("ExposedPorts") or {}), ["9600/tcp"])
want("Volumes", sorted(c.get("Volumes") or {}), ["/data"])
health = (c.get("Healthcheck") or {}).get("Test") or []
# CMD (exec form), not CMD-SHELL: the image has no shell.
want("Healthcheck.Test", health[:1] + health[1:2] + health[-1:], ["CMD", "/alipay-mock", "health"])
if size - binary > 256 * 1024:
    problems.append(f"image is {size} bytes, the binary {binary}: more than the binary is in it")
print("; ".join(problems))
sys.exit(1 if problems else 0)
EOF
); then
    pass "config (entrypoint, cmd, non-root user, port, volume, exec-form health check, size $SIZE)"
else
    fail config "$why"
fi
HEALTH_TEST=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["Healthcheck"]["Test"][1:]))' "$CONFIG" 2>/dev/null)
log "HEALTHCHECK: $HEALTH_TEST"

want_version=$("$BIN" --version)
got_version=$(pm run --rm --network host "$IMAGE" --version)
if [ -n "$want_version" ] && [ "$got_version" = "$want_version" ]; then
    pass "version ($got_version)"
else
    fail version "the image says ${got_version:-nothing}, the binary $want_version"
fi

# ---------------------------------------------------------------- run
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
# The recorded default command, with only the port of --addr changed.
mapfile -t CMD < <(python3 - "$CONFIG" "$PORT" <<'EOF'
import json, sys
cmd = json.load(open(sys.argv[1]))["Cmd"]
i = cmd.index("--addr") + 1
host = cmd[i].rsplit(":", 1)[0]
cmd[i] = f"{host}:{sys.argv[2]}"
print("\n".join(cmd))
EOF
)
pm volume create "$VOLUME" >/dev/null || give_up run "podman volume create failed"

# start NAME: the image with its entrypoint and the default command on $PORT, /data on the volume.
start() {
    CONTAINERS+=("$1")
    pm run -d --name "$1" --network host -e "ALIPAY_MOCK_URL=$URL" \
        -v "$VOLUME:/data" "$IMAGE" "${CMD[@]}" >/dev/null
}

# healthy NAME: runs the image's HEALTHCHECK until it passes, 30 s at most.
healthy() {
    local i
    for i in $(seq 60); do
        if pm healthcheck run "$1" >/dev/null; then
            [ "$(pm inspect --format '{{.State.Health.Status}}' "$1")" = healthy ]
            return
        fi
        [ "$(pm inspect --format '{{.State.Running}}' "$1")" = true ] || return 1
        sleep 0.5
    done
    return 1
}

# stop_with_sigterm NAME: SIGTERM to PID 1, then its exit code within 30 s (124: none).
stop_with_sigterm() {
    pm kill --signal TERM "$1" >/dev/null || return 1
    timeout 30 podman wait "$1" 2>>"$PODMAN_LOG"
}

admin() { timeout 30 "$BIN" admin --url "$URL" "$@"; }

log "first run on 127.0.0.1:$PORT: ${CMD[*]}"
start first || give_up run "podman run failed: $(tail -n 5 "$PODMAN_LOG")"
if healthy first; then
    pass "first run healthy (HEALTHCHECK $HEALTH_TEST)"
else
    fail "first run healthy" "no passing health check within 30 s; logs: $(logs first | tail -n 5)"
fi
if logs first | grep -q "listening on http://0.0.0.0:$PORT/gateway.do"; then
    pass "first run prints the listening line"
else
    fail "first run prints the listening line" "$(logs first | tail -n 3)"
fi

if answer=$(GATEWAY_URL="$URL/gateway.do" KEYS_DIR="$ROOT/fixtures/keys" SDK_NODE_DIR="$SDK_DIR/node" \
        timeout 60 node "$ROOT/scripts/sdk/node_example.mjs" 2>"$WORK/node.err"); then
    pass "official Node SDK, document example, validateSign: $answer"
else
    fail "official Node SDK, document example" "$(tail -c 600 "$WORK/node.err") $answer"
fi

if admin identities set-state lisi paused >/dev/null 2>"$WORK/admin.err"; then
    pass "admin write (lisi paused)"
else
    fail "admin write (lisi paused)" "$(cat "$WORK/admin.err")"
fi

code=$(stop_with_sigterm first)
if [ "$code" = 0 ] && logs first | grep -q "shutting down"; then
    pass "SIGTERM stops PID 1 cleanly (exit 0)"
else
    fail "SIGTERM stops PID 1 cleanly" "exit code ${code:-none}; logs: $(logs first | tail -n 3)"
fi

# ---------------------------------------------------------------- same /data again
start second || give_up "second run" "podman run failed: $(tail -n 5 "$PODMAN_LOG")"
if healthy second; then
    pass "second run healthy"
else
    fail "second run healthy" "no passing health check within 30 s; logs: $(logs second | tail -n 5)"
fi
state=$(admin identities get lisi 2>&1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>&1)
if [ "$state" = paused ] && ! logs second | grep -q "seeded an empty store"; then
    pass "second run on the same volume keeps the admin write"
else
    fail "second run on the same volume keeps the admin write" "lisi is ${state:-?}; logs: $(logs second | head -n 3)"
fi
code=$(stop_with_sigterm second)
[ "$code" = 0 ] && pass "second run stops on SIGTERM (exit 0)" \
    || fail "second run stops on SIGTERM" "exit code ${code:-none}"

if [ "$failed" -ne 0 ] && [ -s "$PODMAN_LOG" ]; then
    log "podman stderr (last lines):"
    tail -n 20 "$PODMAN_LOG" >&2
fi
finish
