"""alipay-mock for Python tests: the gateway binary, a client of its admin API, pytest fixtures.

- :class:`AlipayMock` starts ``alipay-mock serve --ephemeral`` on a free loopback port
  and controls it (``force``, ``grant``/``revoke``, ``set_state``, ``set_faults``,
  ``requests``, ``reset``, ``clock``); a context manager outside pytest.
- The pytest plugin (installed with the package) gives the fixtures ``alipay_mock``
  (one gateway per test) and ``alipay_mock_session`` (one per session, reset per test).
- :class:`AdminClient` speaks the same admin API to a gateway started elsewhere.
- :func:`let_alipay_sdk_dial_port` lets the official ``alipay-sdk-python`` use the
  gateway's port.
"""

from ._binary import BinaryNotFoundError, find_binary
from .admin import DEFAULT_APP_ID, AdminClient, AdminError, Clock
from .compat import let_alipay_sdk_dial_port
from .gateway import CERT_APP_ID, AlipayMock, GatewayStartError
from .types import (
    Authorization,
    CertApp,
    ClockState,
    JournalEntry,
    KeyApp,
    Outcome,
    Scenario,
)

__all__ = [
    "AdminClient",
    "AdminError",
    "AlipayMock",
    "Authorization",
    "BinaryNotFoundError",
    "CERT_APP_ID",
    "CertApp",
    "Clock",
    "ClockState",
    "DEFAULT_APP_ID",
    "GatewayStartError",
    "JournalEntry",
    "KeyApp",
    "Outcome",
    "Scenario",
    "find_binary",
    "let_alipay_sdk_dial_port",
]
