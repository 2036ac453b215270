#!/usr/bin/env python3
"""Regenerate the known-answer signature vectors in tests/data/.

Run from anywhere (paths are resolved relative to this file):

    python3 scripts/make-test-vectors.py           # rewrite both JSON files
    python3 scripts/make-test-vectors.py --check   # exit 1 if the files are stale

Needs only the Python standard library and `cryptography` (tested with 48).

Output:
  tests/data/request_vectors.json   request sign content + `sign`, by fixtures/keys/app_private_key.pem
  tests/data/response_vectors.json  response node text + `sign` + full body,
                                    by fixtures/keys/alipay_private_key.pem

Why this script exists: it is an implementation of the Alipay signing rules
(docs/protocol.md section 2.2 for requests, 3.3 for responses) that is deliberately
INDEPENDENT of the Rust code in src/. It shares no code, no parsing and no
serialisation with the crate, so a mistake in the crate's sign-content builder
or response signer cannot be reproduced here and silently "agree" with itself.
Do not replace it with a call into the crate.

Rules implemented (request):
  1. take every parameter except `sign` (`sign_type` IS included);
  2. drop parameters whose value is empty;
  3. sort by name in byte order;
  4. join `name=value` with `&`, values raw (never URL-encoded);
  5. encode the string in the request charset (utf-8 or gbk);
  6. RSA2 = SHA256withRSA, RSA = SHA1withRSA, RSASSA-PKCS1-v1_5,
     standard base64 with padding and no line breaks.
Rules implemented (response): sign the exact characters of the response node's
value (from its `{` to its matching `}`), encoded in the request charset, with
the hash named by the request's sign_type; the body is
`{"<node_name>":<node_text>,"sign":"<sign>"}`.

PKCS#1 v1.5 signatures are deterministic, so re-running produces identical files.
"""

import argparse
import base64
import json
import sys
from collections import OrderedDict
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ROOT = Path(__file__).resolve().parent.parent
KEYS = ROOT / "fixtures" / "keys"
OUT = ROOT / "tests" / "data"

HASHES = {"RSA2": hashes.SHA256, "RSA": hashes.SHA1}

METHOD = "zhima.auth.info.authquery"
NODE_NAME = METHOD.replace(".", "_") + "_response"

# The API document's biz_content example (Chinese raw, not \u-escaped).
BIZ_CONTENT = (
    '{"identity_param":"{\\"certType\\":\\"IDENTITY_CARD\\",\\"name\\":\\"张三\\",'
    '\\"certNo\\":\\"33021199003132432\\"}","identity_type":"2","auth_category":"C2B"}'
)

SUCCESS_NODE = '{"code":"10000","msg":"Success","authorized":true,"open_id":"2088202844499224"}'
BUSINESS_ERROR_NODE = (
    '{"code":"40004","msg":"Business Failed","sub_code":"ZM_ACCOUNT_PAUSE","sub_msg":"该账号暂停服务"}'
)


def load_private_key(name):
    return serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)


def load_public_key(name):
    return serialization.load_pem_public_key((KEYS / name).read_bytes())


def python_codec(charset):
    """Map the charset as sent on the wire to a Python codec name."""
    c = charset.lower()
    if c in ("utf-8", "utf8"):
        return "utf-8"
    if c in ("gbk", "gb2312"):
        return "gbk"
    raise ValueError("unsupported charset: %r" % charset)


def sign_bytes(private_key, sign_type, data):
    sig = private_key.sign(data, padding.PKCS1v15(), HASHES[sign_type]())
    return base64.b64encode(sig).decode("ascii")


def verify_bytes(public_key, sign_type, data, sign_b64):
    try:
        public_key.verify(base64.b64decode(sign_b64, validate=True), data,
                          padding.PKCS1v15(), HASHES[sign_type]())
    except InvalidSignature:
        sys.exit("self-check failed: signature does not verify (%s)" % sign_type)


def build_sign_content(params):
    """The request string-to-sign, built from the rules, not from the crate."""
    pairs = [(k, v) for k, v in params.items() if k != "sign" and v is not None and v != ""]
    # Names are ASCII; sort on their UTF-8 bytes to be explicit about byte order.
    pairs.sort(key=lambda kv: kv[0].encode("utf-8"))
    return "&".join("%s=%s" % (k, v) for k, v in pairs)


def request_params(sign_type, charset, extra=()):
    params = OrderedDict([
        ("app_id", "2014072300007148"),
        ("method", METHOD),
        ("format", "JSON"),
        ("charset", charset),
        ("sign_type", sign_type),
        ("timestamp", "2014-07-24 03:07:50"),
        ("version", "1.0"),
        ("biz_content", BIZ_CONTENT),
    ])
    for k, v in extra:
        params[k] = v
    return params


REQUEST_CASES = [
    ("rsa2_utf8", "RSA2", "utf-8", ()),
    ("rsa_utf8", "RSA", "utf-8", ()),
    ("rsa2_gbk", "RSA2", "GBK", ()),
    ("rsa_gbk", "RSA", "gbk", ()),
    # notify_url is empty -> must be absent from sign_content; alipay_sdk is an
    # extra public param that IS signed; app_auth_token is simply not sent.
    ("rsa2_utf8_with_empty_and_extra", "RSA2", "utf-8",
     (("notify_url", ""), ("alipay_sdk", "alipay-sdk-java-4.39.223.ALL"))),
]

RESPONSE_CASES = [
    ("rsa2_utf8_success", "RSA2", "utf-8", SUCCESS_NODE),
    ("rsa_utf8_success", "RSA", "utf-8", SUCCESS_NODE),
    ("rsa2_gbk_success", "RSA2", "GBK", SUCCESS_NODE),
    ("rsa2_utf8_business_error", "RSA2", "utf-8", BUSINESS_ERROR_NODE),
    ("rsa2_gbk_business_error", "RSA2", "GBK", BUSINESS_ERROR_NODE),
]


def make_request_vectors():
    key = load_private_key("app_private_key.pem")
    pub = load_public_key("app_public_key.pem")
    out = []
    for name, sign_type, charset, extra in REQUEST_CASES:
        params = request_params(sign_type, charset, extra)
        content = build_sign_content(params)
        data = content.encode(python_codec(charset))
        sign = sign_bytes(key, sign_type, data)
        verify_bytes(pub, sign_type, data, sign)
        # Sanity checks on the rules themselves.
        assert "sign=" not in content.replace("sign_type=", "")
        assert ("notify_url" in params) <= ("notify_url=" not in content)
        out.append(OrderedDict([
            ("name", name),
            ("sign_type", sign_type),
            ("charset", charset),
            ("params", params),
            ("sign_content", content),
            ("sign", sign),
        ]))
    return out


def make_response_vectors():
    key = load_private_key("alipay_private_key.pem")
    pub = load_public_key("alipay_public_key.pem")
    out = []
    for name, sign_type, charset, node_text in RESPONSE_CASES:
        # node_text must be compact JSON with keys in the given order, Chinese
        # raw and '/' unescaped: check it round-trips through such a serialiser.
        reserialised = json.dumps(json.loads(node_text, object_pairs_hook=OrderedDict),
                                  ensure_ascii=False, separators=(",", ":"))
        assert reserialised == node_text, (reserialised, node_text)
        data = node_text.encode(python_codec(charset))
        sign = sign_bytes(key, sign_type, data)
        verify_bytes(pub, sign_type, data, sign)
        body = '{"%s":%s,"sign":"%s"}' % (NODE_NAME, node_text, sign)
        # The body must be valid JSON whose node re-serialises to node_text.
        parsed = json.loads(body, object_pairs_hook=OrderedDict)
        assert list(parsed) == [NODE_NAME, "sign"] and parsed["sign"] == sign
        out.append(OrderedDict([
            ("name", name),
            ("sign_type", sign_type),
            ("charset", charset),
            ("node_name", NODE_NAME),
            ("node_text", node_text),
            ("sign", sign),
            ("body", body),
        ]))
    return out


def render(vectors):
    return json.dumps(vectors, ensure_ascii=False, indent=2) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if tests/data/*.json differ from what would be written")
    args = ap.parse_args()

    files = {
        OUT / "request_vectors.json": render(make_request_vectors()),
        OUT / "response_vectors.json": render(make_response_vectors()),
    }
    stale = []
    for path, text in files.items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print("wrote %s" % path.relative_to(ROOT))
    if stale:
        for p in stale:
            print("stale: %s (re-run scripts/make-test-vectors.py)" % p.relative_to(ROOT), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
