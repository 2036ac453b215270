"""Method definitions and notifications through the package (issues 17 and 18).

These admin endpoints arrive with later gateway versions; on a gateway that answers
``404 no admin endpoint`` for them the tests are skipped, saying so.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator, TypeVar
from urllib.parse import parse_qsl

import pytest
from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
from alipay.aop.api.util.SignatureUtils import verify_with_rsa

from alipay_mock import AdminError, AlipayMock, let_alipay_sdk_dial_port

T = TypeVar("T")
let_alipay_sdk_dial_port()


def or_skip(call: Callable[[], T]) -> T:
    """Runs an admin call; skips the test when the gateway has no such endpoint yet."""
    try:
        return call()
    except AdminError as error:
        if error.status == 404 and error.message.startswith("no admin endpoint"):
            pytest.skip(f"this gateway has no {error.path} yet (added by a later version)")
        raise


TRADE_QUERY = {
    "method": "alipay.trade.query",
    "rules": [
        {"when": {"out_trade_no": "T1001"}, "answer": {"out_trade_no": "{{biz.out_trade_no}}", "trade_status": "TRADE_SUCCESS"}},
        {"error": {"sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}},
    ],
}


def trade_query(gw: AlipayMock, out_trade_no: str) -> dict:
    config = AlipayClientConfig()
    config.server_url = gw.url
    config.app_id = gw.default_app.app_id
    config.app_private_key = gw.default_app.private_key_pkcs1_pem
    config.alipay_public_key = gw.default_app.alipay_public_key_pem
    request = AlipayTradeQueryRequest()
    request.biz_content = {"out_trade_no": out_trade_no}
    return json.loads(DefaultAlipayClient(alipay_client_config=config).execute(request))


def test_a_defined_method_answers_the_sdk_by_its_rules(alipay_mock: AlipayMock) -> None:
    stored = or_skip(lambda: alipay_mock.define_method(TRADE_QUERY))

    paid = trade_query(alipay_mock, "T1001")
    missing = trade_query(alipay_mock, "T404")

    assert stored["method"] == "alipay.trade.query"
    assert (paid["code"], paid["trade_status"], paid["out_trade_no"]) == ("10000", "TRADE_SUCCESS", "T1001")
    assert (missing["code"], missing["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")
    assert [d["method"] for d in alipay_mock.methods()] == ["alipay.trade.query"]


def test_a_deleted_method_is_an_invalid_method_again(alipay_mock: AlipayMock) -> None:
    or_skip(lambda: alipay_mock.define_method(TRADE_QUERY))

    alipay_mock.delete_method("alipay.trade.query")

    assert trade_query(alipay_mock, "T1001")["sub_code"] == "isv.invalid-method"
    with pytest.raises(AdminError) as caught:
        alipay_mock.method_definition("alipay.trade.query")
    assert caught.value.status == 404


@pytest.fixture
def handler() -> Iterator[tuple[str, list[dict]]]:
    """A merchant's notification handler on a free port: answers ``success``, keeps the forms."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"success")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alipay/notify", received
    server.shutdown()
    server.server_close()


def test_a_notification_reaches_the_handler_signed_with_the_platform_key(
    alipay_mock: AlipayMock, handler: tuple[str, list[dict]]
) -> None:
    url, received = handler
    created = or_skip(
        lambda: alipay_mock.notify(url, {"notify_type": "trade_status_sync", "out_trade_no": "T1001", "trade_status": "TRADE_SUCCESS"})
    )

    deadline = time.monotonic() + 10
    while alipay_mock.notification(created["id"])["state"] != "delivered" and time.monotonic() < deadline:
        time.sleep(0.05)

    assert alipay_mock.notification(created["id"])["state"] == "delivered"
    [form] = received
    assert (form["out_trade_no"], form["app_id"]) == ("T1001", alipay_mock.default_app.app_id)
    # Alipay's notification rule: every parameter but sign and sign_type, sorted, k=v joined by &.
    content = "&".join(f"{k}={v}" for k, v in sorted(form.items()) if k not in ("sign", "sign_type") and v)
    assert verify_with_rsa(alipay_mock.default_app.alipay_public_key_pem, content.encode("utf-8"), form["sign"])
    assert [n["id"] for n in alipay_mock.notifications(state="delivered")] == [created["id"]]


def test_a_delayed_notification_can_be_sent_now_or_cancelled(
    alipay_mock: AlipayMock, handler: tuple[str, list[dict]]
) -> None:
    url, received = handler
    first = or_skip(lambda: alipay_mock.notify(url, {"out_trade_no": "T1"}, delay_seconds=3600))
    second = alipay_mock.notify(url, {"out_trade_no": "T2"}, delay_seconds=3600)

    retried = alipay_mock.retry_notification(first["id"])
    alipay_mock.cancel_notification(second["id"])

    assert retried["state"] == "delivered"
    assert [form["out_trade_no"] for form in received] == ["T1"]
    assert [n["id"] for n in alipay_mock.notifications()] == [first["id"]]
