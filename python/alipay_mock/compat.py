"""Lets the official ``alipay-sdk-python`` reach a gateway on a port other than 80/443.

``alipay.aop.api.util.WebUtils.get_http_connection`` always dials port 80 (443 for
https) and raises ``TypeError`` when the URL names a port (3.7.1411). The test gateway
listens on a free port, so tests that drive that SDK call :func:`let_alipay_sdk_dial_port`
once. It wraps the SDK's own function: the request line, headers and body stay byte for
byte what the SDK sends to a port-80 gateway; only the TCP port dialled changes. No
installed file is edited, and nothing happens until the function is called.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

_WRAPPED_MARK = "_alipay_mock_dials_port"


def let_alipay_sdk_dial_port() -> None:
    """Makes ``alipay-sdk-python`` dial the port of its ``server_url`` (idempotent).

    Raises:
        ImportError: ``alipay-sdk-python`` is not installed.
    """
    from alipay.aop.api.util import WebUtils  # the official SDK, installed by the user

    original: Callable[..., Any] = WebUtils.get_http_connection
    if getattr(original, _WRAPPED_MARK, False):
        return

    def get_http_connection(url: str, query_string: Any, timeout: Any) -> Any:
        parts = urlsplit(url)
        port = parts.port
        if port is None:
            return original(url, query_string, timeout)
        portless = urlunsplit(parts._replace(netloc=parts.hostname or ""))
        target, connection = original(portless, query_string, timeout)
        connection.port = port  # http.client dials (host, port) in connect()
        return target, connection

    setattr(get_http_connection, _WRAPPED_MARK, True)
    # do_post() looks the name up in WebUtils' globals at call time.
    WebUtils.get_http_connection = get_http_connection
