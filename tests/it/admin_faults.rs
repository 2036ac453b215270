//! Admin API, injected faults: unknown errors, latency, dropped connections and a
//! hostile gateway, the same sequence again from the same seed, scoped by app.

use std::time::{Duration, Instant};

use crate::support::*;
use alipay_mock::crypto::SignType;
use serde_json::{json, Value};

#[tokio::test]
async fn an_injected_unknown_error_and_latency_are_what_the_app_sees() {
    let gateway = start().await;
    let faults = json!({"seed": 1, "unknown_error_rate": 1.0, "latency_ms": 300});
    assert_eq!(set_faults(&gateway, faults.clone()).await, (200, faults));
    let started = Instant::now();
    let node = query(&gateway, &zhangsan("C2B")).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        node,
        json!({"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"})
    );
    assert_eq!(admin(&gateway, "DELETE", "faults", None).await.0, 204);
    assert_eq!(admin(&gateway, "GET", "faults", None).await.1, json!({}));
    assert_eq!(query(&gateway, &zhangsan("C2B")).await["code"], "10000");
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_fault_sequence() {
    let gateway = start().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        set_faults(&gateway, json!({"seed": 42, "unknown_error_rate": 0.5})).await;
        let mut codes = String::new();
        for _ in 0..24 {
            let node = query(&gateway, &zhangsan("C2B")).await;
            codes.push(if node["code"] == "10000" { 'o' } else { 'x' });
        }
        runs.push(codes);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains('o') && runs[0].contains('x'),
        "{}",
        runs[0]
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn latency_ranges_and_hostile_rates_repeat_with_the_seed() {
    let gateway = start().await;
    let faults = json!({"seed": 7, "latency_ms": {"min": 0, "max": 20}, "hostile": {"mode": "missing_sign", "rate": 0.5}});
    let mut runs = Vec::new();
    for _ in 0..2 {
        set_faults(&gateway, faults.clone()).await;
        admin(&gateway, "DELETE", "requests", None).await;
        for _ in 0..12 {
            query(&gateway, &zhangsan("C2B")).await;
        }
        let (_, journal) = admin(&gateway, "GET", "requests", None).await;
        let labels: Vec<Value> = journal["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["faults"].clone())
            .collect();
        runs.push(labels);
    }
    assert_eq!(runs[0], runs[1]);
    let text = serde_json::to_string(&runs[0]).unwrap();
    assert!(
        text.contains("hostile:missing_sign") && text.contains("latency:"),
        "{text}"
    );
    assert_eq!(
        admin(
            &gateway,
            "PUT",
            "faults",
            Some(json!({"seed": 1, "latency_ms": {"min": 1, "max": 2, "mni": 5}}))
        )
        .await
        .0,
        400
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn hostile_faults_break_verification_but_not_the_json() {
    let gateway = start().await;
    for (mode, signed) in [
        ("wrong_key", true),
        ("missing_sign", false),
        ("altered_body", true),
    ] {
        set_faults(&gateway, json!({"seed": 3, "hostile": {"mode": mode}})).await;
        let answer = Call::authquery(&zhangsan("C2B")).post(&gateway).await;
        assert_eq!(
            answer.json("utf-8")[NODE]["code"],
            "10000",
            "{mode}: still a JSON answer"
        );
        assert_eq!(answer.has_sign("utf-8"), signed, "{mode}");
        if signed {
            assert!(
                !answer.signature_verifies("utf-8", SignType::Rsa2),
                "{mode} must not verify"
            );
        }
    }
    admin(&gateway, "DELETE", "faults", None).await;
    assert!(Call::authquery(&zhangsan("C2B"))
        .post(&gateway)
        .await
        .signature_verifies("utf-8", SignType::Rsa2));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_gets_no_answer_and_faults_are_scoped_by_app() {
    let gateway = start().await;
    let path = format!("faults?app_id={RSA2_ONLY_APP_ID}");
    admin(
        &gateway,
        "PUT",
        &path,
        Some(json!({"seed": 9, "drop_connection_rate": 1.0})),
    )
    .await;
    assert_eq!(
        query(&gateway, &zhangsan("C2B")).await["code"],
        "10000",
        "other apps unaffected"
    );
    let call = Call::authquery(&zhangsan("C2B")).app(RSA2_ONLY_APP_ID);
    let (mut sender, request) = unsent_post(&gateway, &call).await;
    let result = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
        .await
        .unwrap();
    assert!(result.is_err(), "the connection closes without an answer");
    gateway.shutdown().await;
}
