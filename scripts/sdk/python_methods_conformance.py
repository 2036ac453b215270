#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Defined-method conformance driver for the official Python SDK (PyPI
alipay-sdk-python 3.7.1411), issue 17.

Run by scripts/sdk-conformance.sh inside .sdk/python, after the Node driver of
defined methods has loaded examples/methods/*.json (this driver loads them too, so
it also runs alone).  It calls alipay.trade.query the way an application does:
AlipayTradeQueryRequest with an AlipayTradeQueryModel, DefaultAlipayClient.execute()
(which always verifies the answer's signature), and AlipayTradeQueryResponse.
parse_response_content().  Key mode, RSA2 and RSA, UTF-8 and GBK:

  - T1001 answers the rule's TRADE_SUCCESS, T404 the business error
    ACQ.TRADE_NOT_EXIST, another out_trade_no WAIT_BUYER_PAY;
  - a scenario with `times: 2` forces WAIT_BUYER_PAY twice for app
    2021000000000002's alipay.trade.query, then the rule answers again (the default
    app is left to the Node driver, whose scenarios run at the same time);
  - a wrong platform public key makes execute() raise.

Lines `PASS python-methods <check> [<variant>]` / `FAIL …`, then `N passed, M failed`.
Environment: GATEWAY_URL, KEYS_DIR, WRONG_KEY_DIR (as for python_conformance.py).
"""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The shared helpers, and the run-time transport fix of docs/sdk-notes.md (importing
# the module applies it).
import python_conformance as shared  # noqa: E402

from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel  # noqa: E402
from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest  # noqa: E402
from alipay.aop.api.response.AlipayTradeQueryResponse import AlipayTradeQueryResponse  # noqa: E402

shared.SDK = "python-methods"
QUERY = "alipay.trade.query"
# The RSA2-only fixture app, and for RSA the certificate-mode app in key mode: the Node
# driver forces sequences for the default app, which this driver must not call.
APP_ID = "2021000000000002"
RSA_APP_ID = "2021000000000003"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def admin(gateway, method, path, body=None):
    base = gateway.rsplit("/gateway.do", 1)[0]
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request("%s/__admin/%s" % (base, path), data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=shared.TIMEOUT_SECONDS) as answer:
        return answer.read()


def load_examples(gateway):
    folder = os.path.join(ROOT, "examples", "methods")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                definition = json.load(f)
            admin(gateway, "PUT", "methods/" + definition["method"], definition)


def query(client, out_trade_no):
    model = AlipayTradeQueryModel()
    model.out_trade_no = out_trade_no
    request = AlipayTradeQueryRequest(biz_model=model)
    body = client.execute(request)
    response = AlipayTradeQueryResponse()
    response.parse_response_content(body)
    return response


def expect(response, **wanted):
    problems = []
    for key, want in wanted.items():
        got = getattr(response, key, None)
        ok = want(got) if callable(want) else got == want
        if not ok:
            problems.append("%s: expected %s, got %s" % (key, getattr(want, "__name__", want), json.dumps(got, ensure_ascii=False)))
    return "; ".join(problems) or None


def trade_no(value):
    return isinstance(value, str) and len(value) == 28 and value.isdigit()


def main():
    gateway = os.environ["GATEWAY_URL"]
    keys_dir = os.environ["KEYS_DIR"]
    app_key = shared.read(os.path.join(keys_dir, "app_private_key_pkcs1.pem"))
    alipay_pub = shared.read(os.path.join(keys_dir, "alipay_public_key.pem"))
    reporter = shared.Reporter()
    try:
        load_examples(gateway)
    except Exception as e:
        reporter.report("load_examples", "-", "%s: %s" % (type(e).__name__, e))
        print("%d passed, %d failed" % (reporter.passed, reporter.failed))
        return 1

    for sign_type in ("RSA2", "RSA"):
        for charset in ("utf-8", "GBK"):
            variant = "key,%s,%s" % (sign_type, charset)
            app_id = APP_ID if sign_type == "RSA2" else RSA_APP_ID
            client = shared.make_client(gateway, app_id, sign_type, charset, app_key, alipay_pub)
            shared.run_check(reporter, "trade_query_paid", variant, lambda: expect(
                query(client, "T1001"), code="10000", msg="Success", trade_status="TRADE_SUCCESS",
                out_trade_no="T1001", total_amount="88.88", trade_no=trade_no))
            shared.run_check(reporter, "trade_query_missing", variant, lambda: expect(
                query(client, "T404"), code="40004", msg="Business Failed",
                sub_code="ACQ.TRADE_NOT_EXIST", sub_msg="交易不存在"))
            shared.run_check(reporter, "trade_query_waiting", variant, lambda: expect(
                query(client, "T2002"), code="10000", trade_status="WAIT_BUYER_PAY", out_trade_no="T2002"))

    client = shared.make_client(gateway, APP_ID, "RSA2", "utf-8", app_key, alipay_pub)
    scenario = {"match": {"method": QUERY, "app_id": APP_ID}, "times": 2,
                "outcome": {"answer": {"out_trade_no": "{{biz.out_trade_no}}", "trade_status": "WAIT_BUYER_PAY"}}}
    shared.run_check(reporter, "force_sequence", "admin", lambda: admin(gateway, "POST", "scenarios", scenario) and None)
    for i, status in enumerate(("WAIT_BUYER_PAY", "WAIT_BUYER_PAY", "TRADE_SUCCESS"), 1):
        shared.run_check(reporter, "forced_sequence_call_%d" % i, "key,RSA2,utf-8", lambda status=status: expect(
            query(client, "T1001"), code="10000", trade_status=status, out_trade_no="T1001"))

    wrong_pub = shared.read(os.path.join(os.environ["WRONG_KEY_DIR"], "wrong_public_key.pem"))
    wrong = shared.make_client(gateway, APP_ID, "RSA2", "utf-8", app_key, wrong_pub)

    def wrong_key():
        try:
            response = query(wrong, "T1001")
        except shared.ResponseException as e:
            if "response sign verify failed" in str(e):
                return None
            return "ResponseException, but not a verify failure: %s" % shared.shorten(e)
        return "execute() accepted a defined answer verified with the wrong key: %s" % response.trade_status
    shared.run_check(reporter, "wrong_platform_key", "key,RSA2,utf-8", wrong_key)

    print("%d passed, %d failed" % (reporter.passed, reporter.failed), flush=True)
    return 0 if reporter.failed == 0 and reporter.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
