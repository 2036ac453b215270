# What the scripts share; sourced, never run. Set LOG_NAME first:
#
#     LOG_NAME=soak
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# log MSG...        progress on stderr, as `[LOG_NAME] MSG`
# die MSG...        `[LOG_NAME] error: MSG` on stderr, then the script's own `die_hook MSG`
#                   when it defines one (a summary line, say), then exit 1
# start_gateway BIN OUT ERR [SERVE ARGS...]
#                   runs `BIN serve SERVE ARGS` in the background, stdout to OUT, stderr
#                   to ERR, and waits (GATEWAY_WAIT seconds, default 30) for its ready
#                   line; sets GATEWAY_PID, GATEWAY_URL (http://HOST:PORT/gateway.do) and
#                   GATEWAY_BASE (http://HOST:PORT). Returns 1, with ERR on stderr, when
#                   the gateway exits or stays silent.
# stop_gateway      SIGTERM to GATEWAY_PID, SIGKILL after 5 s, and waits for it.

# The gateway's ready line, exactly as `alipay-mock serve` prints it (src/main.rs): tools
# wait for this text, so it never changes. Further lines may follow it.
READY_LINE_RE='^alipay-mock listening on \(http://[^ ]*\)/gateway\.do$'

log() { printf '[%s] %s\n' "${LOG_NAME:-script}" "$*" >&2; }

die() {
    log "error: $*"
    if declare -F die_hook >/dev/null; then die_hook "$*"; fi
    exit 1
}

GATEWAY_PID=""
GATEWAY_URL=""
GATEWAY_BASE=""

start_gateway() {
    local bin="$1" out="$2" err="$3"
    shift 3
    GATEWAY_URL=""
    GATEWAY_BASE=""
    : >"$out"
    "$bin" serve "$@" >"$out" 2>"$err" &
    GATEWAY_PID=$!
    local tries=$(( ${GATEWAY_WAIT:-30} * 10 ))
    for _ in $(seq "$tries"); do
        GATEWAY_BASE=$(sed -n "s|$READY_LINE_RE|\\1|p" "$out")
        if [ -n "$GATEWAY_BASE" ]; then
            GATEWAY_URL="$GATEWAY_BASE/gateway.do"
            return 0
        fi
        if ! kill -0 "$GATEWAY_PID" 2>/dev/null; then
            log "the gateway exited before it was ready; its stderr:"
            cat "$err" >&2
            return 1
        fi
        sleep 0.1
    done
    log "the gateway printed no ready line within ${GATEWAY_WAIT:-30} s; its stderr:"
    cat "$err" >&2
    return 1
}

stop_gateway() {
    [ -n "$GATEWAY_PID" ] || return 0
    if kill -0 "$GATEWAY_PID" 2>/dev/null; then
        kill -TERM "$GATEWAY_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$GATEWAY_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$GATEWAY_PID" 2>/dev/null || true
    fi
    wait "$GATEWAY_PID" 2>/dev/null || true
    GATEWAY_PID=""
    return 0
}
