//! `GET /__admin/metrics`: the Prometheus exposition counts requests by app, method,
//! answer code, sub_code and signature verdict, with bounded labels, and counts admin
//! writes, scenario firings and fault injections.

use crate::support::*;
use serde_json::json;

/// The exposition as text.
pub(crate) async fn scrape(gateway: &impl Listener) -> String {
    let answer = send(gateway, "GET", "/__admin/metrics", None, Vec::new()).await;
    assert_eq!(answer.status, 200);
    let content_type = answer
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    assert!(
        content_type.is_some_and(|ct| ct.starts_with("application/openmetrics-text")),
        "content type"
    );
    answer.text("utf-8")
}

/// The value of the sample whose name and labels are exactly `series`, 0 when absent.
pub(crate) fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

const OK_SERIES: &str = "alipay_mock_gateway_requests_total{app_id=\"2014072300007148\",method=\"zhima.auth.info.authquery\",code=\"10000\",sub_code=\"\",verdict=\"verified\"}";

#[tokio::test]
async fn successful_calls_are_counted_with_their_app_method_code_and_verdict() {
    let gateway = start().await;
    query(&gateway, &zhangsan("C2B")).await;
    query(&gateway, &zhangsan("C2B")).await;

    let text = scrape(&gateway).await;

    assert_eq!(sample(&text, OK_SERIES), 2.0, "{text}");
    assert_eq!(
        sample(&text, "alipay_mock_gateway_request_duration_seconds_count"),
        2.0
    );
    // The same answer twice: signed once, then found in the signature cache.
    assert_eq!(
        sample(&text, "alipay_mock_signature_cache_misses_total"),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "alipay_mock_signature_cache_hits_total"),
        1.0,
        "{text}"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_bad_signature_is_counted_as_failed_with_its_sub_code() {
    let gateway = start().await;
    Call::authquery(&zhangsan("C2B"))
        .with_sign("AAAA")
        .post(&gateway)
        .await;

    let text = scrape(&gateway).await;

    assert_eq!(
        sample(
            &text,
            "alipay_mock_gateway_requests_total{app_id=\"2014072300007148\",method=\"zhima.auth.info.authquery\",code=\"40002\",sub_code=\"isv.invalid-signature\",verdict=\"failed\"}"
        ),
        1.0,
        "{text}"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn unknown_apps_and_methods_share_the_other_label() {
    let gateway = start().await;
    for n in 0..3 {
        Call::new(&format!("made.up.method{n}"))
            .app(&format!("99{n}"))
            .post(&gateway)
            .await;
    }

    let text = scrape(&gateway).await;

    assert!(!text.contains("made.up.method"), "{text}");
    assert!(!text.contains("app_id=\"990\""), "{text}");
    let other: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("alipay_mock_gateway_requests_total{app_id=\"other\",method=\"other\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(other, 3.0, "{text}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn admin_writes_scenario_firings_and_faults_are_counted() {
    let gateway = start().await;
    force(&gateway, json!({"outcome": {"error": "ZM_ACCOUNT_PAUSE"}})).await;
    query(&gateway, &zhangsan("C2B")).await;
    set_faults(&gateway, json!({"seed": 1, "latency_ms": 1})).await;
    query(&gateway, &zhangsan("C2B")).await;

    let text = scrape(&gateway).await;

    assert_eq!(
        sample(&text, "alipay_mock_admin_writes_total"),
        2.0,
        "{text}"
    );
    assert!(
        sample(&text, "alipay_mock_scenario_firings_total") >= 1.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "alipay_mock_fault_injections_total{kind=\"latency\"}"
        ),
        1.0,
        "{text}"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn metrics_need_the_admin_token_like_every_admin_call() {
    let mut config = alipay_mock::Config::ephemeral();
    config.admin_token = Some("s3cret".into());
    let gateway = alipay_mock::RunningGateway::start(config).await.unwrap();

    let (status, _) = admin(&gateway, "GET", "metrics", None).await;
    let (with_token, _) = admin_with_token(&gateway, "GET", "metrics", None, Some("s3cret")).await;

    assert_eq!((status, with_token), (401, 200));
    gateway.shutdown().await;
}
