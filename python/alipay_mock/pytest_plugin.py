"""The pytest plugin (entry point ``pytest11``): fixtures ``alipay_mock`` and ``alipay_mock_session``.

- ``alipay_mock``: a fresh gateway for each test (its own port and in-memory store),
  stopped after the test.
- ``alipay_mock_session``: one gateway for the whole session, reset to the fixtures
  before each test that uses it. Tests that share it in one process run one after
  another, so the full reset is safe; with pytest-xdist every worker has its own.

Both are :class:`alipay_mock.AlipayMock` objects. The binary is ``ALIPAY_MOCK_BIN`` or
the one the ``alipay-mock`` wheel installed (:func:`alipay_mock.find_binary`).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .gateway import AlipayMock


@pytest.fixture
def alipay_mock() -> Iterator[AlipayMock]:
    """A fresh alipay-mock gateway on a free loopback port, for this test only."""
    with AlipayMock() as gateway:
        yield gateway


@pytest.fixture(scope="session")
def _alipay_mock_shared() -> Iterator[AlipayMock]:
    with AlipayMock() as gateway:
        yield gateway


@pytest.fixture
def alipay_mock_session(_alipay_mock_shared: AlipayMock) -> AlipayMock:
    """The session's alipay-mock gateway, reset to the fixtures before this test."""
    _alipay_mock_shared.reset()
    return _alipay_mock_shared
