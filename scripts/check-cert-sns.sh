#!/usr/bin/env bash
# Checks alipay-mock's certificate SNs (docs/protocol.md §6) against an independent
# computation: `openssl x509 -serial -issuer -nameopt RFC2253`, the serial turned to
# decimal by python3, and `md5sum`. Root SNs: every certificate of the bundle whose
# signature algorithm openssl names as RSA family, SNs joined by `_` in file order.
# Our side is `cargo run --example cert_sn`; expected values never come from our code.
#
# Checked: the fixture certificates (fixtures/certs/), plus certificates made here with
# openssl: a bundle with an ECDSA root in the middle (must not count), the bundle with
# CRLF line ends, an issuer needing RFC 2253 escaping, a serial with the high bit set.
#
# Output: `PASS <what>` / `FAIL <what> : <why>` per check, then `N passed, N failed`.
# Exit 0 only when nothing failed. Needs openssl, python3, md5sum, cargo.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CERTS="$ROOT/fixtures/certs"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1 : $2"; }

# SN of the first certificate of a PEM file, by openssl.
openssl_sn() {
    local file=$1 serial issuer decimal
    serial=$(openssl x509 -in "$file" -noout -serial) || return 1
    issuer=$(openssl x509 -in "$file" -noout -issuer -nameopt RFC2253) || return 1
    serial=${serial#serial=}
    issuer=${issuer#issuer=}
    decimal=$(python3 -c 'import sys; print(int(sys.argv[1], 16))' "$serial") || return 1
    printf '%s%s' "$issuer" "$decimal" | md5sum | cut -d' ' -f1
}

# Root SN of a bundle, by openssl: split on BEGIN/END lines (not on blank lines), keep
# RSA-family signature algorithms (OID 1.2.840.113549.1.1.*: *WithRSAEncryption,
# rsassaPss), join with `_`.
openssl_root_sn() {
    local bundle=$1 dir part alg sns=()
    dir=$(mktemp -d "$WORK/split.XXXX")
    tr -d '\r' <"$bundle" | awk -v dir="$dir" '
        /-----BEGIN CERTIFICATE-----/ { n++; inside = 1 }
        inside { print > (dir "/" sprintf("%03d", n) ".pem") }
        /-----END CERTIFICATE-----/ { inside = 0 }'
    for part in "$dir"/*.pem; do
        alg=$(openssl x509 -in "$part" -noout -text | sed -n 's/^ *Signature Algorithm: //p' | head -n1)
        case "$alg" in
            *WithRSAEncryption | rsassaPss) sns+=("$(openssl_sn "$part")") ;;
        esac
    done
    (IFS=_; echo "${sns[*]}")
}

# Compares openssl's SN of each file with ours. Args: kind (cert|root) then files.
check() {
    local kind=$1 file want got line
    shift
    local flag=()
    [ "$kind" = root ] && flag=(--root)
    for file in "$@"; do
        if [ "$kind" = root ]; then want=$(openssl_root_sn "$file"); else want=$(openssl_sn "$file"); fi
        line=$(cd "$ROOT" && cargo run --quiet --example cert_sn -- "${flag[@]}" "$file" 2>&1 | tail -n1)
        got=${line##* }
        local name=${file#"$ROOT"/}
        name=${name#"$WORK"/}
        if [ -z "$want" ]; then
            fail "$name" "openssl computed no SN"
        elif [ "$got" = "$want" ]; then
            pass "$name ($want)"
        else
            fail "$name" "openssl says $want, alipay-mock says $got"
        fi
    done
}

command -v openssl >/dev/null || { echo "openssl is required" >&2; echo "0 passed, 1 failed"; exit 1; }
(cd "$ROOT" && cargo build --quiet --example cert_sn) || { echo "0 passed, 1 failed"; exit 1; }

# ---- the fixtures
check cert "$CERTS/app_cert_public_key.crt" "$CERTS/alipay_cert_public_key_rsa2.crt"
check root "$CERTS/alipay_root_cert.crt"

# ---- the fixture bundle's layout: LF only, a blank line between certificates (the
# community Python SDK splits on "\n\n" and wants a certificate in every piece)
if grep -q $'\r' "$CERTS/alipay_root_cert.crt"; then
    fail "alipay_root_cert.crt layout" "has CR characters"
elif python3 - "$CERTS/alipay_root_cert.crt" <<'EOF'
import sys
pieces = [p for p in open(sys.argv[1]).read().split("\n\n") if p.strip()]
ok = len(pieces) >= 2 and all(p.strip().startswith("-----BEGIN CERTIFICATE-----")
                              and p.strip().endswith("-----END CERTIFICATE-----") for p in pieces)
sys.exit(0 if ok else 1)
EOF
then
    pass "alipay_root_cert.crt layout (LF, blank line between certificates)"
else
    fail "alipay_root_cert.crt layout" "not one certificate per blank-line-separated piece"
fi

# ---- certificates made here by openssl
mkreq() { # subject, serial, out, extra args...
    local subj=$1 serial=$2 out=$3
    shift 3
    openssl req -x509 -nodes -days 30 -subj "$subj" -set_serial "$serial" -out "$out" \
        -keyout "$out.key" "$@" 2>/dev/null
}
mkreq "/C=CN/O=Example EC/CN=EC Root" 7 "$WORK/ec_root.crt" \
    -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 \
    || fail "openssl ec root" "could not make an ECDSA certificate"
mkreq '/C=CN/O=Acme, Inc./OU=R\+D/CN=Escape; Root' 0x80ff00000000000000000001 "$WORK/escaped.crt" \
    -newkey rsa:2048 -sha256 || fail "openssl escaped root" "could not make an RSA certificate"

# ECDSA root between the two RSA roots: skipped by both sides.
{
    awk '/-----BEGIN/{n++} n==1' "$CERTS/alipay_root_cert.crt"
    echo
    cat "$WORK/ec_root.crt"
    echo
    awk '/-----BEGIN/{n++} n==2' "$CERTS/alipay_root_cert.crt"
} >"$WORK/bundle_with_ec_root.crt"
check root "$WORK/bundle_with_ec_root.crt"
if [ "$(openssl_root_sn "$WORK/bundle_with_ec_root.crt")" = "$(openssl_root_sn "$CERTS/alipay_root_cert.crt")" ]; then
    pass "an ECDSA root does not change the root SN"
else
    fail "an ECDSA root does not change the root SN" "openssl's root SNs differ"
fi

# CRLF line ends, as a bundle saved on Windows.
sed 's/$/\r/' "$CERTS/alipay_root_cert.crt" >"$WORK/bundle_crlf.crt"
check root "$WORK/bundle_crlf.crt"

# RFC 2253 escaping (`,` `+` `;`) and a serial whose first byte has the high bit set.
check cert "$WORK/escaped.crt"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
