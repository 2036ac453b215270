#!/usr/bin/env bash
# The Python and Node packages (python/, node/) tested as their users get them (issue 20):
#
#   1. the package's copies of the fixture keys and certificates equal fixtures/;
#   2. Python: `maturin build` makes the wheel (binary inside) from the dev profile that
#      `cargo test` already compiled, pip installs it with pytest and the official
#      alipay-sdk-python into a fresh venv, and pytest runs python/tests through the
#      plugin's fixtures;
#   3. Node: the same binary is staged in node/bin/<platform>-<arch>/, `npm pack` makes the
#      tarball, a fresh temporary project installs it with the official alipay-sdk, and
#      `node --test` runs node/test/ there.
#
# Everything lands in the git-ignored .packages-test/ (pinned tool versions; pip and npm
# reuse their download caches on re-runs). ALIPAY_MOCK_BIN is unset for the test runs, so
# they use the binary the package carries. .ci/run calls this after scripts/test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MATURIN_VERSION=1.15.0
PYTEST_VERSION=8.4.2
# The official SDKs, pinned where scripts/sdk-conformance.sh pins them.
SDK_DIR="$ROOT/.sdk"
# shellcheck source=sdk/install.sh
. "$ROOT/scripts/sdk/install.sh"

WORK="$ROOT/.packages-test"
started=$(date +%s)
LOG_NAME=packages-test
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"
lap() { log "$1 done in $(( $(date +%s) - $2 ))s"; }

# The fenced LANG block of README.md whose first line is FIRST (a test file users copy).
readme_block() {
    local text
    text=$(awk -v lang="$1" -v first="$2" '
        !inside && $0 == "```" lang { getline line; if (line == first) { inside = 1; print line }; next }
        inside && $0 == "```" { exit }
        inside { print }' README.md)
    [ -n "$text" ] || die "README.md has no $1 block opening with $2"
    printf '%s\n' "$text"
}

command -v python3 >/dev/null || die "python3 is required"
command -v node >/dev/null || die "node is required"
command -v npm >/dev/null || die "npm is required"
mkdir -p "$WORK"

# ---------------------------------------------------------------- 1. fixture copies
# The packages ship the public test keys and certificates SDKs are configured with; they
# must be the very files the binary compiles in.
for copy in python/alipay_mock/fixtures node/fixtures; do
    for file in "$copy"/keys/* "$copy"/certs/*; do
        cmp -s "$file" "fixtures/${file#"$copy"/}" \
            || die "$file differs from fixtures/${file#"$copy"/}: copy it again"
    done
done

# ---------------------------------------------------------------- 2. Python
t=$(date +%s)
TOOLS="$WORK/tools"
if ! "$TOOLS/bin/maturin" --version 2>/dev/null | grep -qx "maturin $MATURIN_VERSION"; then
    log "installing maturin $MATURIN_VERSION into $TOOLS"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --disable-pip-version-check --quiet "maturin==$MATURIN_VERSION"
fi
rm -rf "$WORK/wheels"
# --profile dev: the debug build `cargo test` made, not a second full release build; only
# what differs from the test build's feature set (dev-dependencies unify features there)
# and the stripped binary are compiled. --strip takes the debug info out (136 MB -> 14 MB).
(cd python && "$TOOLS/bin/maturin" build --locked --profile dev --strip --out "$WORK/wheels" >&2) \
    || die "maturin build failed"
WHEEL=$(ls "$WORK"/wheels/alipay_mock-*.whl)
lap "wheel $(basename "$WHEEL")" "$t"

t=$(date +%s)
VENV="$WORK/python-user"
rm -rf "$VENV"
python3 -m venv "$VENV"
# --no-compile: alipay-sdk-python is 37,000 modules; byte-compiling them all at install time
# took 2 of the 2.5 minutes here, and the tests import a handful.
"$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
    --no-compile "$WHEEL" "pytest==$PYTEST_VERSION" "alipay-sdk-python==$PYTHON_SDK_VERSION" >&2 \
    || die "pip install of the wheel and the SDK failed"
lap "fresh venv with the wheel, pytest and alipay-sdk-python" "$t"
# The binary the tests start is the wheel's, installed into the venv.
found=$(env -u ALIPAY_MOCK_BIN "$VENV/bin/python" -c 'import alipay_mock; print(alipay_mock.find_binary())')
[ "$found" = "$VENV/bin/alipay-mock" ] || die "the installed package found $found, not the wheel's binary"

t=$(date +%s)
# README's test file too, as a user copies it.
mkdir -p "$WORK/readme"
readme_block python '# test_payments.py' >"$WORK/readme/test_payments.py"
# From a folder outside python/, so `import alipay_mock` can only be the installed package.
(cd "$WORK" && env -u ALIPAY_MOCK_BIN PYTHONDONTWRITEBYTECODE=1 \
    "$VENV/bin/python" -m pytest -p no:cacheprovider "$ROOT/python/tests" "$WORK/readme") \
    || die "the Python package's tests failed"
lap "pytest" "$t"

# ---------------------------------------------------------------- 3. Node
t=$(date +%s)
# The binary maturin just linked (target/debug/alipay-mock, stripped) is the one the wheel
# carries; the tarball gets the same.
rm -rf node/bin
node node/scripts/stage-binary.mjs "$ROOT/target/debug/alipay-mock"
rm -rf "$WORK/node"
mkdir -p "$WORK/node/project/test"
TARBALL="$WORK/node/$(cd node && npm pack --silent --pack-destination "$WORK/node")"
[ -f "$TARBALL" ] || die "npm pack wrote no tarball"
rm -rf node/bin
PROJECT="$WORK/node/project"
printf '{ "name": "packages-test", "private": true, "type": "module" }\n' >"$PROJECT/package.json"
(cd "$PROJECT" && npm install --no-audit --no-fund --save-exact \
    "$TARBALL" "alipay-sdk@$NODE_SDK_VERSION" >&2) || die "npm install of the tarball and the SDK failed"
cp node/test/*.test.mjs "$PROJECT/test/"
readme_block js '// payments.test.mjs' >"$PROJECT/test/payments.test.mjs"
lap "npm pack and a project installing it with alipay-sdk" "$t"

t=$(date +%s)
(cd "$PROJECT" && env -u ALIPAY_MOCK_BIN node --test test/) || die "the Node package's tests failed"
lap "node --test" "$t"

log "wall time $(( $(date +%s) - started ))s"
