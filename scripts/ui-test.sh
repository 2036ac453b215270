#!/usr/bin/env bash
# The console in a real browser: headless Chromium from Debian (installed with apt-get
# when missing; never downloaded by the driver), driven by npm `playwright-core` (installed
# into the git-ignored .ui-test/), against `alipay-mock serve --ephemeral` on a free port.
# Screenshots land in target/ui-screenshots/ (CI artefacts). .ci/run calls it after
# scripts/test.sh, which built target/debug/alipay-mock.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_NAME=ui-test
# shellcheck source=lib.sh
. scripts/lib.sh

PLAYWRIGHT_VERSION=1.65.1
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
BIN=${ALIPAY_MOCK_BIN:-$PWD/target/debug/alipay-mock}

# A CJK font, so the Chinese labels render (and show in the screenshots) as glyphs.
if [ ! -x "$CHROMIUM" ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  log "installing chromium and a CJK font from Debian"
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
cleanup() {
  stop_gateway
  rm -rf "$work"
}
trap cleanup EXIT

GATEWAY_WAIT=10 start_gateway "$BIN" "$work/out" "$work/err" --ephemeral --addr 127.0.0.1:0 \
  || die "the gateway did not report its address"
url=$GATEWAY_BASE

mkdir -p target/ui-screenshots
GATEWAY_URL="$url" CHROMIUM="$CHROMIUM" SCREENSHOTS="$PWD/target/ui-screenshots" \
  UI_TEST_MODULES="$PWD/.ui-test" \
  node --test --test-reporter=spec scripts/ui/console.test.mjs
