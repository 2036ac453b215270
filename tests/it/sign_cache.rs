//! The response-signature cache seen from outside: a repeated answer is the same signed
//! body, answered from the cache; the hostile `wrong_key` fault still signs with its own
//! key; `sign_cache_entries: 0` turns the cache off.

use crate::metrics::{sample, scrape};
use crate::support::*;
use alipay_mock::crypto::SignType;
use alipay_mock::{Config, RunningGateway};
use serde_json::json;

/// The signature cache's (misses, hits), as `/__admin/metrics` counts them.
async fn cache_counts(gateway: &RunningGateway) -> (f64, f64) {
    let text = scrape(gateway).await;
    (
        sample(&text, "alipay_mock_signature_cache_misses_total"),
        sample(&text, "alipay_mock_signature_cache_hits_total"),
    )
}

#[tokio::test]
async fn asking_the_same_identity_again_answers_the_same_signed_body_from_the_cache() {
    let gateway = start().await;
    let call = Call::authquery(&zhangsan("C2B"));

    let first = call.post(&gateway).await;
    let second = call.post(&gateway).await;

    assert_eq!(first.body, second.body);
    assert!(second.signature_verifies("utf-8", SignType::Rsa2));
    assert_eq!(cache_counts(&gateway).await, (1.0, 1.0));
    gateway.shutdown().await;
}

#[tokio::test]
async fn error_answers_are_cached_per_sign_type() {
    let gateway = start().await;
    let bad = |t: SignType| {
        Call::authquery(&zhangsan("C2B"))
            .sign_type(t)
            .with_sign("AAAA")
    };

    for _ in 0..3 {
        for sign_type in SignType::ALL {
            let answer = bad(sign_type).post(&gateway).await;
            assert!(answer.signature_verifies("utf-8", sign_type));
        }
    }

    assert_eq!(cache_counts(&gateway).await, (2.0, 4.0));
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_wrong_key_fault_is_not_answered_with_the_cached_good_signature() {
    let gateway = start().await;
    let call = Call::authquery(&zhangsan("C2B"));
    assert!(call
        .post(&gateway)
        .await
        .signature_verifies("utf-8", SignType::Rsa2));

    set_faults(
        &gateway,
        json!({"seed": 3, "hostile": {"mode": "wrong_key"}}),
    )
    .await;
    let hostile = call.post(&gateway).await;

    assert!(!hostile.signature_verifies("utf-8", SignType::Rsa2));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_cache_of_zero_entries_signs_every_answer() {
    let gateway = RunningGateway::start(Config {
        sign_cache_entries: 0,
        ..Config::ephemeral()
    })
    .await
    .unwrap();
    let call = Call::authquery(&zhangsan("C2B"));

    let first = call.post(&gateway).await;
    let second = call.post(&gateway).await;

    assert_eq!(first.body, second.body);
    assert!(second.signature_verifies("utf-8", SignType::Rsa2));
    assert_eq!(cache_counts(&gateway).await.1, 0.0);
    gateway.shutdown().await;
}
