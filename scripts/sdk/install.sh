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

install_python_sdk() {
    local py="$SDK_DIR/python/bin/python"
    if [ -x "$py" ] && "$py" - "$PYTHON_SDK_VERSION" >/dev/null 2>&1 <<'EOF'
import sys
from importlib.metadata import version
assert version("alipay-sdk-python") == sys.argv[1]
import alipay.aop.api.DefaultAlipayClient  # noqa: F401  (deps importable too)
EOF
    then
        log "PyPI alipay-sdk-python==$PYTHON_SDK_VERSION already in .sdk/python"
        return 0
    fi
    log "installing PyPI alipay-sdk-python==$PYTHON_SDK_VERSION into .sdk/python"
    if [ ! -x "$py" ]; then
        python3 -m venv "$SDK_DIR/python" >&2 || return 1
    fi
    "$SDK_DIR/python/bin/pip" install --disable-pip-version-check --quiet \
        "alipay-sdk-python==$PYTHON_SDK_VERSION" >&2
}

install_community_python_sdk() {
    local venv="$SDK_DIR/python-community"
    local py="$venv/bin/python"
    if [ -x "$py" ] && "$py" - "$COMMUNITY_SDK_VERSION" >/dev/null 2>&1 <<'EOF'
import sys
from importlib.metadata import version
assert version("python-alipay-sdk") == sys.argv[1]
from alipay import AliPay, DCAliPay  # noqa: F401  (deps importable too)
EOF
    then
        log "PyPI python-alipay-sdk==$COMMUNITY_SDK_VERSION already in .sdk/python-community"
        return 0
    fi
    log "installing PyPI python-alipay-sdk==$COMMUNITY_SDK_VERSION into .sdk/python-community"
    if [ ! -x "$py" ]; then
        python3 -m venv "$venv" >&2 || return 1
    fi
    "$venv/bin/pip" install --disable-pip-version-check --quiet \
        "python-alipay-sdk==$COMMUNITY_SDK_VERSION" >&2
}
