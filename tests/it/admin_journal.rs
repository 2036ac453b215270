//! Admin API, the request journal: what apps sent and were answered, identities masked
//! and long values cut, filtered, bounded and cleared.

use crate::support::*;
use alipay_mock::{Config, RunningGateway};
use serde_json::json;

#[tokio::test]
async fn the_journal_shows_what_the_app_sent_with_identities_masked() {
    let gateway = start().await;
    query(&gateway, &zhangsan("C2B")).await;
    let mut tampered = Call::authquery(&zhangsan("C2B"));
    tampered.private_key = PLATFORM_PRIVATE_KEY.into();
    tampered.post(&gateway).await;
    let (status, journal) = admin(&gateway, "GET", "requests", None).await;
    assert_eq!(status, 200);
    assert_eq!(journal["total"], 2);
    let first = &journal["requests"][0];
    assert_eq!(
        (
            first["app_id"].as_str(),
            first["method"].as_str(),
            first["http_method"].as_str()
        ),
        (Some(APP_ID), Some(AUTHQUERY), Some("POST"))
    );
    assert_eq!(first["outcome"], json!({"code": "10000"}));
    assert_eq!(first["signature"]["verified"], true);
    let text = journal.to_string();
    assert!(
        !text.contains("张三") && !text.contains("33021199003132432"),
        "identities are masked: {text}"
    );
    assert!(first["params"]["biz_content"]
        .as_str()
        .unwrap()
        .contains("330**********2432"));
    assert!(first["signature"]["sign_content"]
        .as_str()
        .unwrap()
        .starts_with("app_id=2014072300007148&biz_content="));
    let second = &journal["requests"][1];
    assert_eq!(second["signature"]["verified"], false);
    assert_eq!(second["outcome"]["sub_code"], "isv.invalid-signature");

    let (_, failed) = admin(
        &gateway,
        "GET",
        "requests?outcome=isv.invalid-signature",
        None,
    )
    .await;
    assert_eq!(failed["total"], 1);
    let (_, newest) = admin(&gateway, "GET", "requests?limit=1", None).await;
    assert_eq!(
        (
            newest["total"].as_u64(),
            newest["requests"][0]["id"].as_u64()
        ),
        (Some(2), second["id"].as_u64())
    );
    assert_eq!(
        admin(&gateway, "GET", "requests?since=yesterday", None)
            .await
            .0,
        400
    );
    assert_eq!(
        admin(&gateway, "DELETE", "requests", None).await.1["deleted"],
        2
    );
    assert_eq!(admin(&gateway, "GET", "requests", None).await.1["total"], 0);
    gateway.shutdown().await;
}

#[tokio::test]
async fn escaped_names_are_masked_and_huge_values_are_cut_in_the_journal() {
    let gateway = start().await;
    let escaped = r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"\u5f20\u4e09\",\"certNo\":\"33021199003132432\"}","identity_type":"2","pad":"PADDING"}"#;
    let padded = escaped.replace("PADDING", &"x".repeat(100_000));
    assert_eq!(
        query(&gateway, &padded).await["open_id"],
        "2088202844499224"
    );
    let (_, journal) = admin(&gateway, "GET", "requests", None).await;
    let entry = &journal["requests"][0];
    let text = entry.to_string();
    assert!(
        !text.contains("u5f20") && !text.contains("张三") && !text.contains("33021199003132432"),
        "{text}"
    );
    let biz = entry["params"]["biz_content"].as_str().unwrap();
    assert!(
        biz.len() < 3000 && biz.contains("bytes in all]"),
        "{}",
        biz.len()
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_journal_is_bounded() {
    let gateway = RunningGateway::start(Config {
        journal_max: 5,
        ..Config::ephemeral()
    })
    .await
    .unwrap();
    for _ in 0..8 {
        query(&gateway, &zhangsan("C2B")).await;
    }
    let (_, journal) = admin(&gateway, "GET", "requests", None).await;
    assert_eq!(journal["total"], 5);
    assert_eq!(
        journal["requests"][0]["id"], 4,
        "the oldest three were dropped"
    );
    gateway.shutdown().await;
}
