//! Inputs the fuzzer (scripts/fuzz.sh) found, pinned in the normal suite. Each test
//! names the target and the bug.

use crate::support::*;
use alipay_mock::FaultConfig;
use serde_json::json;

/// 17 bytes: fourteen digits, then `324`, then U+035E (two bytes). The cert-number check
/// split the str one byte before its end, inside that character, and panicked.
const CERT_NO_ENDING_IN_U035E: &str = "330211990031324\u{35e}";

#[tokio::test]
async fn a_cert_no_ending_in_a_multi_byte_character_answers_certno_wrong_not_a_reset() {
    // fuzz target biz_content: the panic reset the connection instead of answering.
    let gateway = start().await;
    let node = query(&gateway, &by_cert("张三", CERT_NO_ENDING_IN_U035E)).await;
    assert_eq!(node["code"], "40004", "{node}");
    assert_eq!(node["sub_code"], "CERTNO_WRONG", "{node}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_admin_identity_with_such_a_cert_no_is_refused_not_a_reset() {
    let gateway = start().await;
    let (status, body) = admin(
        &gateway,
        "POST",
        "identities",
        Some(json!({"id": "fuzz", "name": "张三", "cert_no": CERT_NO_ENDING_IN_U035E})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    gateway.shutdown().await;
}

#[test]
fn a_fault_rate_survives_the_json_round_trip_the_store_makes_exactly() {
    // fuzz target admin_json: without serde_json's float_roundtrip the long decimal
    // parsed one ULP away from the nearest double, so the stored and re-read rate (and
    // what GET /__admin/faults shows) differed from what the client had put.
    let put = r#"{"seed": 42, "unknown_error_rate": 0.0000000000000000000112393812}"#;
    let parsed: FaultConfig = serde_json::from_str(put).unwrap();
    assert_eq!(parsed.unknown_error_rate, Some(1.12393812e-20));
    let stored = serde_json::to_string(&parsed).unwrap();
    let reread: FaultConfig = serde_json::from_str(&stored).unwrap();
    assert_eq!(reread, parsed, "{stored}");
}
