# Sourced, not run: the pinned official SDKs and their installers, shared by
# scripts/sdk-conformance.sh and scripts/image-test.sh. Needs SDK_DIR (the project's .sdk/,
# ignored by git; re-runs reuse what is there) and a `log` function writing to stderr.

NODE_SDK_VERSION=4.14.0
PYTHON_SDK_VERSION=3.7.1411
# The community SDK (notification receivers, issue 18). It installs a package named
# `alipay` too, so it gets a venv of its own: .sdk/python-community.
COMMUNITY_SDK_VERSION=3.4.0

install_node_sdk() {
    local have
    have=$(node -e "process.stdout.write(require(process.argv[1]).version)" \
        "$SDK_DIR/node/node_modules/alipay-sdk/package.json" 2>/dev/null || true)
    if [ "$have" = "$NODE_SDK_VERSION" ]; then
        log "npm alipay-sdk@$NODE_SDK_VERSION already in .sdk/node"
        return 0
    fi
    log "installing npm alipay-sdk@$NODE_SDK_VERSION into .sdk/node"
    mkdir -p "$SDK_DIR/node"
    npm install --prefix "$SDK_DIR/node" --no-audit --no-fund --save-exact \
        "alipay-sdk@$NODE_SDK_VERSION" >&2
}

# Installs PyPI DIST==VERSION into the venv VENV (made when missing) unless the venv
# already has that version and the Python snippet CHECK (imports) runs there.
install_python_package() {
    local venv="$1" dist="$2" version="$3" check="$4"
    local py="$venv/bin/python"
    if [ -x "$py" ] && "$py" -c "
import sys
from importlib.metadata import version
assert version(sys.argv[1]) == sys.argv[2]
$check" "$dist" "$version" >/dev/null 2>&1; then
        log "PyPI $dist==$version already in .sdk/${venv#"$SDK_DIR"/}"
        return 0
    fi
    log "installing PyPI $dist==$version into .sdk/${venv#"$SDK_DIR"/}"
    # Through the venv's python, not its bin/pip script: a CI run once found the venv
    # without bin/pip. A venv whose pip does not run is made again; one failed attempt
    # (a registry hiccup) is retried once.
    local attempt
    for attempt in 1 2; do
        if [ ! -x "$py" ] || ! "$py" -m pip --version >/dev/null 2>&1; then
            python3 -m venv --clear "$venv" >&2 || continue
        fi
        "$py" -m pip install --disable-pip-version-check --quiet "$dist==$version" >&2 && return 0
        log "attempt $attempt to install $dist==$version failed"
    done
    return 1
}

install_python_sdk() {
    # The import checks the SDK's dependencies are importable too.
    install_python_package "$SDK_DIR/python" alipay-sdk-python "$PYTHON_SDK_VERSION" \
        "import alipay.aop.api.DefaultAlipayClient"
}

install_community_python_sdk() {
    install_python_package "$SDK_DIR/python-community" python-alipay-sdk \
        "$COMMUNITY_SDK_VERSION" "from alipay import AliPay, DCAliPay"
}
