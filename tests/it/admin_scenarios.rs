//! Admin API, forced outcomes (scenarios): any public or business error, or a chosen
//! answer, for the next N matching calls, only the N-th, or every one for T seconds;
//! listed, deleted and scoped by app.

use crate::support::*;
use alipay_mock::crypto::SignType;
use serde_json::json;

#[tokio::test]
async fn a_forced_error_answers_the_next_call_only() {
    let gateway = start().await;
    force(&gateway, json!({"outcome": {"error": "ZM_ACCOUNT_PAUSE"}})).await;
    let answer = Call::authquery(&zhangsan("C2B")).post(&gateway).await;
    let node = answer.node("utf-8", NODE);
    assert_eq!(
        (
            node["code"].as_str(),
            node["sub_code"].as_str(),
            node["sub_msg"].as_str()
        ),
        (
            Some("40004"),
            Some("ZM_ACCOUNT_PAUSE"),
            Some("该账号暂停服务")
        )
    );
    assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
    assert_eq!(query(&gateway, &zhangsan("C2B")).await["code"], "10000");
    assert_eq!(admin(&gateway, "GET", "scenarios", None).await.1, json!([]));
    gateway.shutdown().await;
}

#[tokio::test]
async fn any_public_error_can_be_forced_with_its_real_code() {
    let gateway = start().await;
    for (sub_code, code) in [
        ("isp.unknow-error", "20000"),
        ("isv.app-call-limited", "40005"),
        ("aop.invalid-auth-token", "20001"),
        ("isv.invalid-signature", "40002"),
    ] {
        force(&gateway, json!({"outcome": {"error": sub_code}})).await;
        let node = query(&gateway, &zhangsan("C2B")).await;
        assert_eq!(
            (node["code"].as_str(), node["sub_code"].as_str()),
            (Some(code), Some(sub_code))
        );
    }
    force(
        &gateway,
        json!({"outcome": {"error": "isv.invalid-app-id"}}),
    )
    .await;
    let answer = Call::authquery(&zhangsan("C2B")).post(&gateway).await;
    assert!(
        !answer.has_sign("utf-8"),
        "forced invalid-app-id is unsigned like the real one"
    );
    let (status, error) = admin(
        &gateway,
        "POST",
        "scenarios",
        Some(json!({"outcome": {"error": "NOT_A_CODE"}})),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn nth_and_times_count_only_matching_calls() {
    let gateway = start().await;
    force(
        &gateway,
        json!({"match": {"identity": "lisi"}, "nth": 2, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    force(&gateway, json!({"match": {"app_id": RSA2_ONLY_APP_ID}, "times": 2, "outcome": {"authorized": false}})).await;
    let lisi = by_cert(LISI.0, LISI.1);
    assert_eq!(
        query(&gateway, &zhangsan("C2B")).await["authorized"],
        true,
        "zhangsan does not match"
    );
    assert_eq!(
        query(&gateway, &lisi).await["code"],
        "10000",
        "first lisi call"
    );
    assert_eq!(
        query(&gateway, &lisi).await["sub_code"],
        "SYSTEM_ERROR",
        "second lisi call"
    );
    assert_eq!(query(&gateway, &lisi).await["code"], "10000");
    let other = || Call::authquery(&zhangsan("C2B")).app(RSA2_ONLY_APP_ID);
    for _ in 0..2 {
        assert_eq!(
            other().post(&gateway).await.node("utf-8", NODE)["authorized"],
            false
        );
    }
    assert_eq!(
        other().post(&gateway).await.node("utf-8", NODE)["authorized"],
        true
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn for_seconds_forces_every_matching_call_until_it_expires() {
    // The virtual clock moves time: a loaded machine cannot make the calls outlast it
    // (issue 22, item 9: the test slept 1.1 s after a 1 s scenario).
    let gateway = start().await;
    set_clock_to(&gateway, "2026-01-01T10:00:00Z").await;
    let created = force(
        &gateway,
        json!({"for_seconds": 60, "outcome": {"authorized": true, "open_id": "2088000000000001"}}),
    )
    .await;
    assert!(created["expires_at"].is_string());
    let lisi = by_cert(LISI.0, LISI.1);
    for _ in 0..3 {
        assert_eq!(query(&gateway, &lisi).await["open_id"], "2088000000000001");
    }
    set_clock_to(&gateway, "2026-01-01T10:00:59Z").await;
    assert_eq!(query(&gateway, &lisi).await["open_id"], "2088000000000001");
    set_clock_to(&gateway, "2026-01-01T10:01:00Z").await;
    assert_eq!(query(&gateway, &lisi).await["authorized"], false);
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_expired_scenario_is_no_longer_listed() {
    let gateway = start().await;
    set_clock_to(&gateway, "2026-01-01T10:00:00Z").await;
    force(
        &gateway,
        json!({"for_seconds": 1, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    assert_eq!(
        admin(&gateway, "GET", "ready", None).await.1["scenarios"],
        1
    );
    set_clock_to(&gateway, "2026-01-01T10:00:01Z").await;
    assert_eq!(admin(&gateway, "GET", "scenarios", None).await.1, json!([]));
    assert_eq!(
        admin(&gateway, "GET", "ready", None).await.1["scenarios"],
        0
    );
    let (status, _) = admin(
        &gateway,
        "POST",
        "scenarios",
        Some(json!({"for_seconds": 300000000000u64, "outcome": {"error": "SYSTEM_ERROR"}})),
    )
    .await;
    assert_eq!(status, 400, "an absurd duration is refused, not a crash");
    gateway.shutdown().await;
}

#[tokio::test]
async fn scenarios_are_listed_deleted_and_scoped_by_app() {
    let gateway = start().await;
    let a = force(
        &gateway,
        json!({"match": {"app_id": APP_ID}, "times": 5, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    force(
        &gateway,
        json!({"match": {"app_id": RSA2_ONLY_APP_ID}, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    let (_, scoped) = admin(&gateway, "GET", &format!("scenarios?app_id={APP_ID}"), None).await;
    assert_eq!(scoped.as_array().unwrap().len(), 1);
    let id = a["id"].as_str().unwrap();
    assert_eq!(
        admin(&gateway, "GET", &format!("scenarios/{id}"), None)
            .await
            .1["remaining"],
        5
    );
    assert_eq!(
        admin(&gateway, "DELETE", &format!("scenarios/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        admin(&gateway, "DELETE", &format!("scenarios/{id}"), None)
            .await
            .0,
        404
    );
    let (_, deleted) = admin(
        &gateway,
        "DELETE",
        &format!("scenarios?app_id={RSA2_ONLY_APP_ID}"),
        None,
    )
    .await;
    assert_eq!(deleted["deleted"], 1);
    assert_eq!(admin(&gateway, "GET", "scenarios", None).await.1, json!([]));
    gateway.shutdown().await;
}

#[tokio::test]
async fn post_scenarios_with_app_id_scopes_the_new_scenario() {
    let gateway = start().await;
    let (status, created) = admin(
        &gateway,
        "POST",
        &format!("scenarios?app_id={RSA2_ONLY_APP_ID}"),
        Some(json!({"outcome": {"error": "SYSTEM_ERROR"}})),
    )
    .await;
    assert_eq!(
        (status, created["match"]["app_id"].as_str()),
        (201, Some(RSA2_ONLY_APP_ID))
    );
    assert_eq!(
        query(&gateway, &zhangsan("C2B")).await["code"],
        "10000",
        "the default app is not affected"
    );
    let conflicting = json!({"match": {"app_id": APP_ID}, "outcome": {"error": "SYSTEM_ERROR"}});
    assert_eq!(
        admin(
            &gateway,
            "POST",
            &format!("scenarios?app_id={RSA2_ONLY_APP_ID}"),
            Some(conflicting)
        )
        .await
        .0,
        400
    );
    gateway.shutdown().await;
}

/// Freezes the gateway's clock at an instant (RFC 3339).
async fn set_clock_to(gateway: &impl Listener, instant: &str) {
    let (status, clock) = admin(gateway, "PUT", "clock", Some(json!({"frozen_at": instant}))).await;
    assert_eq!(status, 200, "{clock}");
}
