//! Admin API, reset: the fixtures back and control state cleared, for everything or for
//! one app; an empty app scope is refused rather than widened to every app.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn reset_restores_the_fixtures_and_clears_control_state() {
    let gateway = start().await;
    admin(&gateway, "DELETE", "apps/2021000000000002", None).await;
    admin(
        &gateway,
        "PATCH",
        "identities/zhangsan",
        Some(json!({"state": "paused"})),
    )
    .await;
    force(
        &gateway,
        json!({"times": 9, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    set_faults(&gateway, json!({"seed": 1, "latency_ms": 1})).await;
    let (status, answer) = admin(&gateway, "POST", "reset", None).await;
    assert_eq!((status, answer), (200, json!({"reset": "all"})));
    let (_, ready) = admin(&gateway, "GET", "ready", None).await;
    assert_eq!(
        (
            ready["apps"].as_u64(),
            ready["identities"].as_u64(),
            ready["authorizations"].as_u64(),
            ready["scenarios"].as_u64()
        ),
        (Some(3), Some(10), Some(7), Some(0))
    );
    assert_eq!(admin(&gateway, "GET", "faults", None).await.1, json!({}));
    assert_eq!(admin(&gateway, "GET", "requests", None).await.1["total"], 0);
    assert_eq!(
        query(&gateway, &zhangsan("C2B")).await["open_id"],
        "2088202844499224"
    );
    let node = query_as(&gateway, RSA2_ONLY_APP_ID, &zhangsan("C2B")).await;
    assert_eq!(
        node["open_id"], "2088202844490101",
        "the deleted app is back"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_app_scoped_reset_leaves_other_apps_alone() {
    let gateway = start().await;
    force(
        &gateway,
        json!({"match": {"app_id": APP_ID}, "times": 9, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    force(&gateway, json!({"match": {"app_id": RSA2_ONLY_APP_ID}, "times": 9, "outcome": {"error": "SYSTEM_ERROR"}})).await;
    admin(
        &gateway,
        "DELETE",
        &format!("authorizations?app_id={APP_ID}&identity=zhangsan"),
        None,
    )
    .await;
    query(&gateway, &zhangsan("C2B")).await;
    Call::authquery(&zhangsan("C2B"))
        .app(RSA2_ONLY_APP_ID)
        .post(&gateway)
        .await;
    assert_eq!(
        admin(&gateway, "POST", &format!("reset?app_id={APP_ID}"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        query(&gateway, &zhangsan("C2B")).await["open_id"],
        "2088202844499224",
        "authorisation restored, scenario gone"
    );
    let other = query_as(&gateway, RSA2_ONLY_APP_ID, &zhangsan("C2B")).await;
    assert_eq!(
        other["sub_code"], "SYSTEM_ERROR",
        "the other app's scenario stays"
    );
    let (_, journal) = admin(&gateway, "GET", "requests", None).await;
    let apps: Vec<&str> = journal["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["app_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        apps,
        vec![RSA2_ONLY_APP_ID, APP_ID, RSA2_ONLY_APP_ID],
        "only the reset app's history went"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_empty_app_id_scope_is_refused_rather_than_widened_to_every_app() {
    let gateway = start().await;
    force(
        &gateway,
        json!({"times": 9, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    for (method, path) in [
        ("POST", "reset?app_id="),
        ("DELETE", "scenarios?app_id="),
        ("DELETE", "requests?app_id="),
        ("GET", "requests?since="),
    ] {
        let (status, error) = admin(&gateway, method, path, None).await;
        assert_eq!(status, 400, "{method} {path}: {error}");
    }
    assert_eq!(
        admin(&gateway, "GET", "ready", None).await.1["scenarios"],
        1,
        "nothing was reset"
    );
    gateway.shutdown().await;
}
