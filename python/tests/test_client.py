"""The package's own behaviour: key material, errors, lifecycle, tokens (no SDK needed)."""

from __future__ import annotations

import socket
import urllib.request

import pytest

import alipay_mock as package
from alipay_mock import AdminClient, AdminError, AlipayMock, BinaryNotFoundError, find_binary


def test_the_default_app_files_are_the_keys_the_gateway_holds(alipay_mock: AlipayMock) -> None:
    app = alipay_mock.app(alipay_mock.default_app.app_id)
    test_key = alipay_mock.call("GET", f"/__admin/apps/{alipay_mock.default_app.app_id}/test-key")

    assert app["platform_public_key"] == alipay_mock.default_app.alipay_public_key_pem
    assert app["aes_key"] == alipay_mock.default_app.aes_key
    assert test_key == alipay_mock.default_app.private_key_pem
    assert "BEGIN RSA PRIVATE KEY" in alipay_mock.default_app.private_key_pkcs1_pem


def test_the_cert_app_files_are_the_certificate_the_gateway_holds(alipay_mock: AlipayMock) -> None:
    app = alipay_mock.app(alipay_mock.cert_app.app_id)

    assert app["app_cert"] == alipay_mock.cert_app.app_cert_path.read_text()
    for path in (alipay_mock.cert_app.alipay_cert_path, alipay_mock.cert_app.alipay_root_cert_path):
        assert "BEGIN CERTIFICATE" in path.read_text()


def test_an_admin_error_carries_the_gateway_message_and_status(alipay_mock: AlipayMock) -> None:
    with pytest.raises(AdminError) as caught:
        alipay_mock.set_state("nobody", "paused")

    assert caught.value.status == 404
    assert caught.value.message == 'no identity "nobody"'
    assert "PATCH /__admin/identities/nobody" in str(caught.value)


def test_revoking_what_was_never_granted_is_a_404_error(alipay_mock: AlipayMock) -> None:
    with pytest.raises(AdminError) as caught:
        alipay_mock.revoke("lisi")

    assert caught.value.status == 404


def test_force_needs_exactly_one_outcome(alipay_mock: AlipayMock) -> None:
    with pytest.raises(ValueError):
        alipay_mock.force()
    with pytest.raises(ValueError):
        alipay_mock.force("SYSTEM_ERROR", authorized=True)


def test_force_sends_the_match_and_the_count(alipay_mock: AlipayMock) -> None:
    scenario = alipay_mock.force(authorized=False, times=3, identity="zhangsan")

    assert scenario.remaining == 3
    assert scenario.match == {"identity": "zhangsan"}
    assert [s.id for s in alipay_mock.scenarios()] == [scenario.id]


def test_reset_removes_scenarios_faults_and_the_clock_setting(alipay_mock: AlipayMock) -> None:
    alipay_mock.force("SYSTEM_ERROR", times=5)
    alipay_mock.set_faults(seed=7, unknown_error_rate=0.5)
    alipay_mock.clock.offset(-3600)

    alipay_mock.reset()

    assert alipay_mock.scenarios() == []
    assert alipay_mock.call("GET", "/__admin/faults") == {}
    assert alipay_mock.clock.get().offset_seconds is None


def test_two_gateways_have_their_own_ports_and_stores() -> None:
    with AlipayMock() as one, AlipayMock() as two:
        one.revoke("zhangsan")

        assert one.port != two.port
        assert len(two.authorizations(identity="zhangsan")) > len(one.authorizations(identity="zhangsan"))


def test_stop_frees_the_port() -> None:
    gw = AlipayMock().start()
    port = gw.port

    gw.stop()

    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_gateway_with_a_token_refuses_a_client_without_it() -> None:
    with AlipayMock(admin_token="s3cret") as gw:
        gw.reset()  # the gateway's own client sends the token
        anonymous = AdminClient(gw.url.removesuffix("/gateway.do"))

        with pytest.raises(AdminError) as caught:
            anonymous.reset()

    assert caught.value.status == 401


def test_a_missing_binary_names_the_variable_and_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIPAY_MOCK_BIN", "/nonexistent/alipay-mock")

    with pytest.raises(BinaryNotFoundError, match="ALIPAY_MOCK_BIN"):
        find_binary()


def test_controls_before_start_say_the_gateway_is_not_running() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        AlipayMock().reset()


def test_the_gateway_answers_on_the_url_it_gives(alipay_mock: AlipayMock) -> None:
    with urllib.request.urlopen(alipay_mock.url.removesuffix("gateway.do") + "__admin/health") as answer:
        assert answer.status == 200


def test_the_package_is_typed() -> None:
    from importlib import resources

    assert resources.files(package).joinpath("py.typed").is_file()
