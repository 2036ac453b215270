#!/usr/bin/env bash
# Builds the static release binary and the container image alipay-mock:VERSION and
# alipay-mock:latest from ./Containerfile (README "Container image").
#
# The binary links glibc statically (`-C target-feature=+crt-static`) for the host target
# given explicitly, so it lands in target/<triple>/release and leaves the ordinary
# target/{debug,release} builds alone. The image is that binary and nothing else.
#
# Tool: docker when its engine answers, else podman, else buildah; none installed and
# root with apt-get: buildah from Debian. IMAGE_TOOL=docker|podman|buildah picks one.
# podman and buildah honour STORAGE_DRIVER / CONTAINERS_STORAGE_CONF and BUILDAH_ISOLATION
# (scripts/image-test.sh builds into a throw-away vfs store with them).
#
# Environment: IMAGE_NAME (default alipay-mock). Prints the image reference last on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
IMAGE_NAME=${IMAGE_NAME:-alipay-mock}

LOG_NAME=image
# shellcheck source=lib.sh
. scripts/lib.sh

# ---------------------------------------------------------------- static binary
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
[ -n "$TRIPLE" ] || die "cannot read the host target from rustc -vV"
case "$TRIPLE" in
    *-linux-gnu) ;;
    *) die "static builds are set up for *-linux-gnu hosts; this one is $TRIPLE" ;;
esac
CARGO_HOME_DIR=${CARGO_HOME:-$HOME/.cargo}
# Paths of this clone and of the cargo home are remapped, so two clean clones in
# different folders build the same binary, hence the same image layer (the image id still
# differs: buildah 1.28 records its random build container id in docker-format configs).
export RUSTFLAGS="-C target-feature=+crt-static --remap-path-prefix=$ROOT=/alipay-mock --remap-path-prefix=$CARGO_HOME_DIR=/cargo"
log "cargo build --release --target $TRIPLE (static)"
cargo build --locked --release --target "$TRIPLE" --bin alipay-mock >&2
BIN="$ROOT/target/$TRIPLE/release/alipay-mock"
if command -v readelf >/dev/null && readelf -l "$BIN" | grep -q INTERP; then
    die "$BIN is dynamically linked; the image has no libc for it"
fi
# "alipay-mock 0.1.0 (commit abc1234)"
read -r _ VERSION _ COMMIT < <("$BIN" --version) || die "$BIN --version failed"
COMMIT=${COMMIT%)}
[ -n "$VERSION" ] || die "cannot read the version from $BIN --version"
log "alipay-mock $VERSION, commit $COMMIT, $(du -h "$BIN" | cut -f1)"

# ---------------------------------------------------------------- build context
# Only what the image holds: the binary, an empty /data for the non-root user, /tmp.
CONTEXT=$(mktemp -d)
trap 'rm -rf "$CONTEXT"' EXIT
cp "$BIN" "$CONTEXT/alipay-mock"
mkdir -p "$CONTEXT/data" "$CONTEXT/tmp"
chmod 0755 "$CONTEXT/data" "$CONTEXT/tmp" "$CONTEXT/alipay-mock"
# Reproducible timestamps: the commit's time (else the epoch) for image and layer dates.
EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
touch -d "@$EPOCH" "$CONTEXT/alipay-mock" "$CONTEXT/data" "$CONTEXT/tmp"

# ---------------------------------------------------------------- tool
engine_works() {
    case "$1" in
        docker) command -v docker >/dev/null && docker info >/dev/null 2>&1 ;;
        podman) command -v podman >/dev/null ;;
        buildah) command -v buildah >/dev/null ;;
    esac
}
TOOL=${IMAGE_TOOL:-}
if [ -z "$TOOL" ]; then
    for candidate in docker podman buildah; do
        if engine_works "$candidate"; then TOOL=$candidate; break; fi
    done
fi
if [ -z "$TOOL" ]; then
    command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] \
        || die "no docker engine, podman or buildah; install one of them"
    log "no docker engine, podman or buildah: installing buildah from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends buildah >&2 \
        || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends buildah >&2; } \
        || die "apt-get install buildah failed"
    TOOL=buildah
fi
engine_works "$TOOL" || die "$TOOL is not usable here"

TAGS=(-t "$IMAGE_NAME:$VERSION" -t "$IMAGE_NAME:latest")
ARGS=(--build-arg "VERSION=$VERSION" --build-arg "REVISION=$COMMIT" -f "$ROOT/Containerfile")
log "building $IMAGE_NAME:$VERSION with $TOOL"
case "$TOOL" in
    docker)
        # BuildKit takes the image dates from SOURCE_DATE_EPOCH.
        docker build --build-arg "SOURCE_DATE_EPOCH=$EPOCH" "${ARGS[@]}" "${TAGS[@]}" "$CONTEXT" >&2 ;;
    podman | buildah)
        # docker format: OCI image configs cannot carry the HEALTHCHECK. One layer, no
        # intermediate images: podman and buildah then build the same image.
        "$TOOL" build --format docker --layers=false --timestamp "$EPOCH" \
            "${ARGS[@]}" "${TAGS[@]}" "$CONTEXT" >&2 ;;
    *) die "IMAGE_TOOL=$TOOL: expected docker, podman or buildah" ;;
esac
echo "$IMAGE_NAME:$VERSION"
