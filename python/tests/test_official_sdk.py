"""The fixtures drive the official Python SDK (PyPI ``alipay-sdk-python``) end to end.

Each test calls ``zhima.auth.info.authquery`` through ``DefaultAlipayClient.execute``,
which verifies the gateway's answer signature with the fixture's Alipay public key.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.request.ZhimaAuthInfoAuthqueryRequest import ZhimaAuthInfoAuthqueryRequest

from alipay_mock import AlipayMock, let_alipay_sdk_dial_port

ZHANGSAN = {"certType": "IDENTITY_CARD", "name": "张三", "certNo": "33021199003132432"}
LISI = {"certType": "IDENTITY_CARD", "name": "李四", "certNo": "110101199001011001"}
BEIJING = timezone(timedelta(hours=8))

let_alipay_sdk_dial_port()


def authquery(gw: AlipayMock, person: dict) -> dict:
    """What the official SDK returns for a C2B authquery, as a dict (its signature verified)."""
    config = AlipayClientConfig()
    config.server_url = gw.url
    config.app_id = gw.default_app.app_id
    config.app_private_key = gw.default_app.private_key_pkcs1_pem  # this SDK takes PKCS#1 only
    config.alipay_public_key = gw.default_app.alipay_public_key_pem
    config.sign_type = "RSA2"
    request = ZhimaAuthInfoAuthqueryRequest()
    request.biz_content = {
        "identity_type": "2",
        "identity_param": json.dumps(person, ensure_ascii=False),
        "auth_category": "C2B",
    }
    return json.loads(DefaultAlipayClient(alipay_client_config=config).execute(request))


def test_a_seeded_authorisation_answers_authorized_with_its_open_id(alipay_mock: AlipayMock) -> None:
    answer = authquery(alipay_mock, ZHANGSAN)

    assert answer["code"] == "10000"
    assert answer["authorized"] is True
    assert answer["open_id"] == "2088202844499224"


def test_a_revoked_authorisation_answers_not_authorized(alipay_mock: AlipayMock) -> None:
    assert alipay_mock.revoke("zhangsan") == 1

    answer = authquery(alipay_mock, ZHANGSAN)

    assert answer["code"] == "10000"
    assert answer["authorized"] is False
    assert "open_id" not in answer


def test_a_grant_makes_a_person_authorised_with_the_open_id_given(alipay_mock: AlipayMock) -> None:
    alipay_mock.grant("lisi", open_id="2088000000000042")

    answer = authquery(alipay_mock, LISI)

    assert (answer["authorized"], answer["open_id"]) == (True, "2088000000000042")


def test_a_forced_business_error_answers_the_next_call_only(alipay_mock: AlipayMock) -> None:
    alipay_mock.force("ZM_ACCOUNT_PAUSE")

    first = authquery(alipay_mock, ZHANGSAN)
    second = authquery(alipay_mock, ZHANGSAN)

    assert (first["code"], first["msg"], first["sub_code"]) == ("40004", "Business Failed", "ZM_ACCOUNT_PAUSE")
    assert second["authorized"] is True


def test_a_paused_account_answers_its_business_error(alipay_mock: AlipayMock) -> None:
    alipay_mock.set_state("zhangsan", "paused")

    answer = authquery(alipay_mock, ZHANGSAN)

    assert answer["sub_code"] == "ZM_ACCOUNT_PAUSE"


def test_the_journal_shows_what_the_sdk_sent_with_identity_data_masked(alipay_mock: AlipayMock) -> None:
    authquery(alipay_mock, ZHANGSAN)

    [entry] = alipay_mock.requests(method="zhima.auth.info.authquery")

    assert entry.app_id == "2014072300007148"
    assert entry.params["sign_type"] == "RSA2"
    assert entry.signature_verified is True
    assert (entry.outcome.code, entry.outcome.sub_code) == ("10000", None)
    identity = json.loads(entry.biz_content["identity_param"])
    assert identity["certNo"] != ZHANGSAN["certNo"]
    assert identity["certNo"].startswith("330") and identity["certNo"].endswith("2432")


def test_a_scenario_for_some_seconds_ends_when_the_clock_moves_past_it(alipay_mock: AlipayMock) -> None:
    alipay_mock.clock.freeze(datetime(2026, 1, 1, 10, 0, tzinfo=BEIJING))
    alipay_mock.force("SYSTEM_ERROR", for_seconds=60)
    during = authquery(alipay_mock, ZHANGSAN)

    alipay_mock.clock.freeze(datetime(2026, 1, 1, 10, 1, 1, tzinfo=BEIJING))
    after = authquery(alipay_mock, ZHANGSAN)

    assert during["sub_code"] == "SYSTEM_ERROR"
    assert after["authorized"] is True


def test_a_frozen_clock_decides_whether_the_sdk_timestamp_is_in_the_window() -> None:
    # The SDK stamps requests with local time, which the gateway reads as Beijing time.
    sdk_now = datetime.now().replace(microsecond=0, tzinfo=BEIJING)
    with AlipayMock(args=["--timestamp-window", "15"]) as gw:
        gw.clock.freeze(sdk_now)
        inside = authquery(gw, ZHANGSAN)

        gw.clock.freeze(sdk_now + timedelta(hours=1))
        outside = authquery(gw, ZHANGSAN)

    assert inside["authorized"] is True
    assert (outside["code"], outside["sub_code"]) == ("40002", "isv.invalid-timestamp")


def test_the_session_gateway_starts_each_test_from_the_fixtures_part_1(alipay_mock_session: AlipayMock) -> None:
    alipay_mock_session.revoke("zhangsan")

    assert authquery(alipay_mock_session, ZHANGSAN)["authorized"] is False


def test_the_session_gateway_starts_each_test_from_the_fixtures_part_2(alipay_mock_session: AlipayMock) -> None:
    # Runs after part 1 (file order): the revocation there was reset away.
    assert authquery(alipay_mock_session, ZHANGSAN)["authorized"] is True
    assert len(alipay_mock_session.requests()) == 1


@pytest.mark.parametrize("person", [ZHANGSAN])
def test_an_answer_signed_with_a_wrong_key_is_refused_by_the_sdk(alipay_mock: AlipayMock, person: dict) -> None:
    from alipay.aop.api.exception.Exception import ResponseException

    alipay_mock.set_faults(seed=1, hostile="wrong_key")

    with pytest.raises(ResponseException, match="sign verify failed"):
        authquery(alipay_mock, person)
