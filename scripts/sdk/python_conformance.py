#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Conformance driver for the official Python SDK (PyPI alipay-sdk-python 3.7.1411).

Run by scripts/sdk-conformance.sh inside the project-local venv .sdk/python.
For every case of `alipay-mock cases --json` and every variant of the matrix it
calls zhima.auth.info.authquery through DefaultAlipayClient.execute(), which
always verifies the gateway's response signature, and compares the result with
the case's `expect`.  Prints one line per check:

    PASS python <case> [<variant>]
    FAIL python <case> [<variant>] : <why>

and exits 0 only when every check passed.

Environment (set by the shell script):
    GATEWAY_URL     http://127.0.0.1:PORT/gateway.do
    CASES_FILE      output of `alipay-mock cases --json`
    KEYS_DIR        fixtures/keys
    WRONG_KEY_DIR   run-time generated keys: wrong_app_private_key_pkcs1.pem,
                    wrong_public_key.pem

The only thing this driver changes in the SDK is the transport quirk described
in docs/sdk-notes.md: WebUtils.get_http_connection() always dials port 80/443
(and raises TypeError when the URL has a port).  We wrap it at run time, in this
process only; installed files are never edited, and the SDK's signing, request
building and response parsing/verification run unchanged.
"""
import json
import os
import sys
import traceback
from urllib.parse import urlsplit, urlunsplit

from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.exception.Exception import ResponseException
from alipay.aop.api.request.ZhimaAuthInfoAuthqueryRequest import ZhimaAuthInfoAuthqueryRequest
from alipay.aop.api.response.ZhimaAuthInfoAuthqueryResponse import ZhimaAuthInfoAuthqueryResponse
from alipay.aop.api.util import WebUtils

SDK = "python"
METHOD = "zhima.auth.info.authquery"
COMPARED_KEYS = ("code", "msg", "sub_code", "sub_msg", "authorized", "open_id")
SIGN_TYPES = ("RSA2", "RSA")
CHARSETS = ("utf-8", "GBK")
DEFAULT_APP_ID = "2014072300007148"
TIMEOUT_SECONDS = 15


# --------------------------------------------------------------------------
# Transport quirk: dial the port of server_url.
# --------------------------------------------------------------------------
_sdk_get_http_connection = WebUtils.get_http_connection


def _get_http_connection_real_port(url, query_string, timeout):
    """Let the SDK build its request exactly as it would for a port-less URL
    (absolute-form target `http://host/gateway.do?...`, `Host: host`), then
    point the connection it created at the port of server_url."""
    parts = urlsplit(url)
    port = parts.port
    if port is None:
        return _sdk_get_http_connection(url, query_string, timeout)
    portless = urlunsplit(parts._replace(netloc=parts.hostname))
    target, connection = _sdk_get_http_connection(portless, query_string, timeout)
    connection.port = port  # http.client dials (self.host, self.port) in connect()
    return target, connection


# do_post()/do_multipart_post() look the name up in WebUtils' globals at call time.
WebUtils.get_http_connection = _get_http_connection_real_port


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def read(path):
    with open(path, encoding="ascii") as f:
        return f.read()


def bare(pem):
    """Strip the PEM armour: one line of base64, as pasted from the console."""
    return "".join(l.strip() for l in pem.splitlines() if l.strip() and not l.startswith("-----"))


def one_line(text):
    return " ".join(str(text).split())


def shorten(text, limit=600):
    text = one_line(text)
    return text if len(text) <= limit else text[:limit] + "…"


class Reporter(object):
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def report(self, case, variant, why=None):
        if why is None:
            self.passed += 1
            print("PASS %s %s [%s]" % (SDK, case, variant), flush=True)
        else:
            self.failed += 1
            print("FAIL %s %s [%s] : %s" % (SDK, case, variant, one_line(why)), flush=True)


def make_client(gateway, app_id, sign_type, charset, private_key, alipay_public_key):
    config = AlipayClientConfig()
    config.server_url = gateway  # no constructor argument for it: set as an attribute
    config.app_id = app_id
    config.sign_type = sign_type
    config.charset = charset
    config.app_private_key = private_key
    config.alipay_public_key = alipay_public_key
    config.timeout = TIMEOUT_SECONDS
    return DefaultAlipayClient(alipay_client_config=config)


def make_request(biz_content):
    request = ZhimaAuthInfoAuthqueryRequest()
    # The setter turns the dict into ZhimaAuthInfoAuthqueryModel; get_params()
    # serialises it with json.dumps(ensure_ascii=False, sort_keys=True).
    request.biz_content = biz_content
    return request


def check_biz_content_serialisation(request, biz_content):
    """The SDK's model drops falsy values; make sure what it will send means
    exactly the case's biz_content (otherwise the case would test the SDK's
    model, not the gateway)."""
    sent = request.get_params().get("biz_content")
    if sent is None or json.loads(sent) != biz_content:
        return "the SDK would send biz_content %s, which differs from the case's %s" % (
            sent, json.dumps(biz_content, ensure_ascii=False))
    return None


def call(client, biz_content):
    """execute() returns the verified text of the response object; it is
    loaded into the SDK's own response class as an application would.  Returns
    (that text as a dict -- exactly the keys the gateway sent --, the response
    object, the text)."""
    body = client.execute(make_request(biz_content))
    response = ZhimaAuthInfoAuthqueryResponse()
    response.parse_response_content(body)  # returns None in this SDK version
    parsed = json.loads(body)
    return parsed, response, body


def compare(expect, parsed, response):
    problems = []
    for key in COMPARED_KEYS:
        if key in expect:
            if key not in parsed:
                problems.append("%s: expected %s, got absent" % (key, json.dumps(expect[key], ensure_ascii=False)))
                continue
            got, want = parsed[key], expect[key]
            if type(got) is not type(want) or got != want:
                problems.append("%s: expected %s, got %s" % (
                    key, json.dumps(want, ensure_ascii=False), json.dumps(got, ensure_ascii=False)))
        elif key in parsed:
            problems.append("%s: expected absent, got %s" % (key, json.dumps(parsed[key], ensure_ascii=False)))
    # The SDK's response object must carry the same values.
    for key in COMPARED_KEYS:
        if key in expect and getattr(response, key, None) != expect[key]:
            problems.append("response.%s is %s" % (key, json.dumps(getattr(response, key, None), ensure_ascii=False)))
    # The SDK's success notion ("no sub_code") must agree with the expectation.
    if response.is_success() != ("sub_code" not in expect):
        problems.append("is_success() is %s" % response.is_success())
    return problems


def run_check(reporter, case, variant, fn):
    try:
        why = fn()
    except Exception as e:  # any exception is a failure of this check
        why = "%s: %s" % (type(e).__name__, shorten(e))
        if os.environ.get("SDK_CONFORMANCE_DEBUG"):
            traceback.print_exc(file=sys.stderr)
    reporter.report(case, variant, why)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
def main():
    gateway = os.environ["GATEWAY_URL"]
    keys_dir = os.environ["KEYS_DIR"]
    wrong_dir = os.environ["WRONG_KEY_DIR"]
    with open(os.environ["CASES_FILE"], encoding="utf-8") as f:
        cases = json.load(f)
    if not isinstance(cases, list) or not cases:
        print("FAIL %s cases [-] : `alipay-mock cases --json` gave no cases" % SDK, flush=True)
        return 1

    app_pkcs1 = read(os.path.join(keys_dir, "app_private_key_pkcs1.pem"))
    alipay_pub = read(os.path.join(keys_dir, "alipay_public_key.pem"))
    app_pub = read(os.path.join(keys_dir, "app_public_key.pem"))
    wrong_private_pkcs1 = read(os.path.join(wrong_dir, "wrong_app_private_key_pkcs1.pem"))
    wrong_pub = read(os.path.join(wrong_dir, "wrong_public_key.pem"))

    # The SDK only takes PKCS#1 private keys (rsa.PrivateKey.load_pkcs1), PEM or
    # bare; the platform key is SPKI, PEM or bare.
    key_variants = (
        ("PKCS1-PEM", app_pkcs1, "pub-PEM", alipay_pub),
        ("PKCS1-bare", bare(app_pkcs1), "pub-bare", bare(alipay_pub)),
    )

    reporter = Reporter()

    # ---- every case × sign_type × charset × key format ----
    for case in cases:
        name = case["name"]
        sign_types = case.get("sign_types") or SIGN_TYPES
        for sign_type in SIGN_TYPES:
            if sign_type not in sign_types:
                continue
            for charset in CHARSETS:
                for key_label, private_key, pub_label, public_key in key_variants:
                    variant = ",".join((sign_type, charset, key_label, pub_label))

                    def check(case=case, sign_type=sign_type, charset=charset,
                              private_key=private_key, public_key=public_key):
                        if case.get("method", METHOD) != METHOD:
                            return "unsupported method %s" % case.get("method")
                        why = check_biz_content_serialisation(make_request(case["biz_content"]), case["biz_content"])
                        if why:
                            return why
                        client = make_client(gateway, case["app_id"], sign_type, charset, private_key, public_key)
                        parsed, response, body = call(client, case["biz_content"])
                        problems = compare(case["expect"], parsed, response)
                        if problems:
                            return "; ".join(problems) + " | response object: " + shorten(body)
                        return None

                    run_check(reporter, name, variant, check)

    by_name = {c["name"]: c for c in cases}

    # ---- negative (a): a wrong platform public key must make execute() raise ----
    wrong_publics = (("app_public_key.pem", app_pub), ("generated-key", wrong_pub))
    for base_name in ("authorized_cert", "account_not_certified"):
        base = by_name.get(base_name)
        for sign_type in SIGN_TYPES:
            for charset in CHARSETS:
                for pub_label, public_key in wrong_publics:
                    variant = ",".join((sign_type, charset, pub_label, base_name))

                    def check(base=base, sign_type=sign_type, charset=charset, public_key=public_key):
                        if base is None:
                            return "case %s is missing from the catalogue" % base_name
                        client = make_client(gateway, base["app_id"], sign_type, charset, app_pkcs1, public_key)
                        try:
                            _, _, body = call(client, base["biz_content"])
                        except ResponseException as e:
                            if "response sign verify failed" in str(e):
                                return None
                            return "ResponseException, but not a verify failure: %s" % shorten(e)
                        return "execute() accepted a response verified with the wrong key: %s" % shorten(body)

                    run_check(reporter, "wrong_alipay_public_key", variant, check)

    # ---- negative (b): a request signed with a wrong app key → 40002 isv.invalid-signature, signed ----
    base = by_name.get("authorized_cert")
    for sign_type in SIGN_TYPES:
        for charset in CHARSETS:
            variant = ",".join((sign_type, charset, "generated-PKCS1"))

            def check(sign_type=sign_type, charset=charset):
                biz = base["biz_content"] if base else {
                    "identity_param": "{\"certType\":\"IDENTITY_CARD\",\"name\":\"张三\",\"certNo\":\"33021199003132432\"}",
                    "identity_type": "2", "auth_category": "C2B"}
                client = make_client(gateway, DEFAULT_APP_ID, sign_type, charset, wrong_private_pkcs1, alipay_pub)
                parsed, response, body = call(client, biz)
                problems = []
                for key, want in (("code", "40002"), ("msg", "Invalid Arguments"),
                                  ("sub_code", "isv.invalid-signature")):
                    if parsed.get(key) != want:
                        problems.append("%s: expected %s, got %s" % (key, json.dumps(want), json.dumps(parsed.get(key), ensure_ascii=False)))
                if not isinstance(parsed.get("sub_msg"), str) or not parsed.get("sub_msg"):
                    problems.append("sub_msg: expected a non-empty string, got %s" % json.dumps(parsed.get("sub_msg"), ensure_ascii=False))
                for key in ("authorized", "open_id"):
                    if key in parsed:
                        problems.append("%s: expected absent, got %s" % (key, json.dumps(parsed[key])))
                if problems:
                    return "; ".join(problems) + " | response object: " + shorten(body)
                return None

            run_check(reporter, "wrong_app_private_key", variant, check)

    print("# %s: %d passed, %d failed" % (SDK, reporter.passed, reporter.failed), file=sys.stderr, flush=True)
    return 0 if reporter.failed == 0 and reporter.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
