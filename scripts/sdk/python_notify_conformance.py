#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Notification conformance for the Python SDKs (issue 18).

    python python_notify_conformance.py official  http://127.0.0.1:PORT/gateway.do
    python python_notify_conformance.py community http://127.0.0.1:PORT/gateway.do

`official` runs in the venv of PyPI alipay-sdk-python (.sdk/python), `community` in the
venv of PyPI python-alipay-sdk (.sdk/python-community): both install a package named
`alipay`, so they cannot share one.

A notify handler runs in this process. It reads the form body in the charset its
Content-Type names (`urllib.parse.parse_qsl(..., encoding=charset)`, what a web
framework does) and verifies it with the SDK:
  official   the receiver Alipay documents for this SDK: drop `sign` and `sign_type`,
             sort, join `k=v` with `&`, encode in the notification's charset, and
             `alipay.aop.api.util.SignatureUtils.verify_with_rsa(platform key, message,
             sign)` (the SDK has no notification helper of its own, and no certificate
             mode). RSA2 and RSA, utf-8 and GBK (Chinese values in both).
  community  `AliPay(...).verify(data, sign)` (key mode) and `DCAliPay(...).verify`
             (certificate mode), which pop `sign_type` and verify over the UTF-8 bytes
             of the text: GBK values are ASCII here, since this SDK cannot verify a GBK
             notification holding Chinese (docs/protocol.md section 9.2).
It answers `success` when the SDK accepts, else `fail`; each check passes when the
gateway records the notification delivered on its first attempt. One more check per
SDK: a handler given another platform key answers `fail`, and the notification stays
pending. Prints `PASS python-notify-<sdk> <check> [<variant>]` / `FAIL ... : <why>`
lines, then `N passed, N failed`; exits 0 only when nothing failed.
"""
import json
import os
import sys
import threading
import time
import traceback
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KEYS = os.path.join(ROOT, "fixtures", "keys")
CERTS = os.path.join(ROOT, "fixtures", "certs")
DEFAULT_APP_ID = "2014072300007148"
CERT_APP_ID = "2021000000000003"

if len(sys.argv) != 3 or sys.argv[1] not in ("official", "community"):
    print(__doc__.splitlines()[2], file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(2)
FLAVOUR, GATEWAY = sys.argv[1], sys.argv[2]
SDK = "python-notify-" + FLAVOUR
ADMIN = GATEWAY[: -len("gateway.do")] + "__admin/"


def read(path):
    with open(path, encoding="ascii") as f:
        return f.read()


def bare(pem):
    """A PEM key's Base64 body on one line (what the official SDK is given)."""
    return "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))


PLATFORM_PUBLIC = read(os.path.join(KEYS, "alipay_public_key.pem"))
APP_PRIVATE_PKCS1 = read(os.path.join(KEYS, "app_private_key_pkcs1.pem"))


def other_public_key():
    """A platform key the gateway does not sign with (made here, no extra package)."""
    import subprocess

    private = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        check=True, capture_output=True,
    ).stdout
    return subprocess.run(
        ["openssl", "pkey", "-pubout"], input=private, check=True, capture_output=True
    ).stdout.decode("ascii")


# ------------------------------------------------------------------ verifiers
if FLAVOUR == "official":
    from alipay.aop.api.util.SignatureUtils import verify_with_rsa

    def key_verifier(public_pem=PLATFORM_PUBLIC, sign_type="RSA2"):
        def verify(params, charset):
            params = dict(params)
            sign = params.pop("sign")
            params.pop("sign_type", None)
            message = "&".join("{}={}".format(k, v) for k, v in sorted(params.items()))
            return verify_with_rsa(bare(public_pem), message.encode(charset), sign)

        return verify

    cert_verifier = None
    VARIANTS = [
        (sign_type, charset, "大乐透 2.1 & a=b+c")
        for sign_type in ("RSA2", "RSA")
        for charset in ("utf-8", "GBK")
    ]
else:
    from alipay import AliPay, DCAliPay

    def key_verifier(public_pem=PLATFORM_PUBLIC, sign_type="RSA2"):
        sdk = AliPay(
            appid=DEFAULT_APP_ID,
            app_private_key_string=APP_PRIVATE_PKCS1,
            alipay_public_key_string=public_pem,
            sign_type=sign_type,
        )

        def verify(params, charset):
            data = dict(params)
            return sdk.verify(data, data.pop("sign"))

        return verify

    def cert_verifier(sign_type="RSA2"):
        sdk = DCAliPay(
            appid=CERT_APP_ID,
            app_private_key_string=read(os.path.join(CERTS, "app_private_key_pkcs1.pem")),
            app_public_key_cert_string=read(os.path.join(CERTS, "app_cert_public_key.crt")),
            alipay_public_key_cert_string=read(
                os.path.join(CERTS, "alipay_cert_public_key_rsa2.crt")
            ),
            alipay_root_cert_string=read(os.path.join(CERTS, "alipay_root_cert.crt")),
            sign_type=sign_type,
        )

        def verify(params, charset):
            data = dict(params)
            return sdk.verify(data, data.pop("sign"))

        return verify

    VARIANTS = [
        (sign_type, charset, subject)
        for sign_type in ("RSA2", "RSA")
        for charset, subject in (("utf-8", "大乐透 2.1 & a=b+c"), ("GBK", "Lotto 2.1 & a=b+c"))
    ]

# ------------------------------------------------------------------ the notify handler
ROUTES = {}  # path -> {"verify": fn, "seen": [bool]}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        content_type = self.headers.get("content-type", "")
        charset = "utf-8"
        if "charset=" in content_type:
            charset = content_type.split("charset=", 1)[1].split(";")[0].strip()
        route = ROUTES.get(self.path)
        ok = False
        if route is not None:
            params = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding=charset))
            try:
                ok = bool(route["verify"](params, charset))
            except Exception as e:  # an SDK raises on a bad signature
                route.setdefault("errors", []).append(repr(e))
            route["seen"].append(ok)
        answer = b"success" if ok else b"fail"
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
HANDLER = "http://127.0.0.1:%d" % server.server_address[1]


# ------------------------------------------------------------------ admin API
def admin(method, path, body=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        ADMIN + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def send(verify, body):
    path = "/notify/%d" % (len(ROUTES) + 1)
    ROUTES[path] = {"verify": verify, "seen": []}
    status, created = admin("POST", "notifications", dict(body, notify_url=HANDLER + path))
    if status != 201:
        raise AssertionError("POST notifications: %s %s" % (status, created))
    deadline = time.time() + 10
    while True:
        _, n = admin("GET", "notifications/" + created["id"])
        if n["attempts"]:
            return n, ROUTES[path]
        if time.time() > deadline:
            raise AssertionError("no attempt within 10 s: %s" % n)
        time.sleep(0.025)


def business(subject):
    return {
        "notify_type": "trade_status_sync",
        "out_trade_no": "T%d" % int(time.time() * 1000),
        "trade_no": "2026030122001400000000000001",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "88.88",
        "subject": subject,
    }


passed = failed = 0


def check(name, variant, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("PASS %s %s [%s]" % (SDK, name, variant))
    except Exception as e:
        failed += 1
        if os.environ.get("SDK_CONFORMANCE_DEBUG"):
            traceback.print_exc()
        print("FAIL %s %s [%s] : %s" % (SDK, name, variant, " ".join(str(e).split())))
    sys.stdout.flush()


def delivered(verify, body):
    def run():
        n, route = send(verify, body)
        if route["seen"] != [True]:
            raise AssertionError(
                "the SDK did not accept it (%s); signed: %s" % (route.get("errors"), n["sign_content"])
            )
        if n["state"] != "delivered":
            raise AssertionError("state %s: %s" % (n["state"], n["attempts"]))

    return run


for sign_type, charset, subject in VARIANTS:
    check(
        "key mode",
        "%s,%s" % (sign_type, charset),
        delivered(
            key_verifier(sign_type=sign_type),
            {"app_id": DEFAULT_APP_ID, "sign_type": sign_type, "charset": charset,
             "params": business(subject)},
        ),
    )
if cert_verifier is not None:
    check(
        "certificate mode",
        "RSA2,utf-8",
        delivered(
            cert_verifier(),
            {"app_id": CERT_APP_ID, "sign_type": "RSA2", "params": business("证书模式 notify")},
        ),
    )


def another_key_rejects():
    n, route = send(key_verifier(public_pem=other_public_key()), {"app_id": DEFAULT_APP_ID,
                                                                  "params": business("wrong key")})
    # Every attempt refused and the notification still pending. The Node driver moves the
    # shared virtual clock for its retry check meanwhile, so a retry may have gone out too.
    if not route["seen"] or any(route["seen"]) or n["state"] != "pending":
        raise AssertionError("expected a rejected attempt: %s" % n)
    admin("DELETE", "notifications/" + n["id"])


check("another platform key rejects", "RSA2,utf-8", another_key_rejects)
server.shutdown()
print("%d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 else 1)
