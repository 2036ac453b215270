#!/usr/bin/env bash
# The project's test command (README "Quick start"; .ci/run calls it).
# Format and lint checks, unit and integration tests, certificate SNs checked against
# openssl, then the official Node and Python SDKs against the gateway
# (scripts/sdk-conformance.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
# Certificate SNs against openssl + md5sum, an implementation that is not ours.
scripts/check-cert-sns.sh
# `cargo test` built the binary the integration tests start; the SDK suite reuses it.
ALIPAY_MOCK_BIN="$PWD/target/debug/alipay-mock" scripts/sdk-conformance.sh
