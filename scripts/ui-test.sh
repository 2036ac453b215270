#!/usr/bin/env bash
# The console in a real browser: headless Chromium from Debian (installed with apt-get
# when missing; never downloaded by the driver), driven by npm `playwright-core` (installed
# into the git-ignored .ui-test/), against `alipay-mock serve --ephemeral` on a free port.
# Screenshots land in target/ui-screenshots/ (CI artefacts). .ci/run calls it after
# scripts/test.sh, which built target/debug/alipay-mock.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION=1.65.1
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
BIN=${ALIPAY_MOCK_BIN:-$PWD/target/debug/alipay-mock}

# A CJK font, so the Chinese labels render (and show in the screenshots) as glyphs.
if [ ! -x "$CHROMIUM" ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  echo "ui-test: installing chromium and a CJK font from Debian" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi
if [ ! -d .ui-test/node_modules/playwright-core ]; then
  mkdir -p .ui-test
  # The driver only: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD keeps it from fetching a browser.
  (cd .ui-test && [ -f package.json ] || echo '{"private":true}' > package.json)
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix .ui-test --no-audit --no-fund \
    --silent "playwright-core@$PLAYWRIGHT_VERSION"
fi
[ -x "$BIN" ] || cargo build --locked --bin alipay-mock

work=$(mktemp -d)
gateway_pid=
cleanup() {
  if [ -n "$gateway_pid" ]; then kill "$gateway_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$BIN" serve --ephemeral --addr 127.0.0.1:0 >"$work/out" 2>"$work/err" &
gateway_pid=$!
url=
for _ in $(seq 1 100); do
  url=$(sed -n 's/^alipay-mock listening on \(http:\/\/[^ ]*\)\/gateway\.do$/\1/p' "$work/out")
  [ -n "$url" ] && break
  kill -0 "$gateway_pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "ui-test: the gateway did not report its address in 10 s" >&2; exit 1; }

mkdir -p target/ui-screenshots
GATEWAY_URL="$url" CHROMIUM="$CHROMIUM" SCREENSHOTS="$PWD/target/ui-screenshots" \
  UI_TEST_MODULES="$PWD/.ui-test" ALIPAY_MOCK_BIN="$BIN" \
  node --test --test-reporter=spec scripts/ui/console.test.mjs
