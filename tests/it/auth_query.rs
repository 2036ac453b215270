//! zhima.auth.info.authquery over HTTP: every catalogue entry, in both sign types, both
//! charsets and both HTTP methods, checked against the hand-written expectations of
//! fixtures/cases.json; plus the API document's own example.

use crate::support::*;
use alipay_mock::crypto::SignType;
use serde_json::Value;

fn catalogue() -> Vec<Value> {
    serde_json::from_str(include_str!("../../fixtures/cases.json")).unwrap()
}

fn holds_for(case: &Value, sign_type: SignType) -> bool {
    match case.get("sign_types") {
        None => true,
        Some(types) => types
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == sign_type.as_str()),
    }
}

/// The node must carry exactly the expected fields with the expected values.
fn assert_matches_expect(name: &str, variant: &str, node: &Value, expect: &Value) {
    assert_eq!(
        node, expect,
        "case {name} [{variant}]: node differs from the catalogue's expect"
    );
}

#[tokio::test]
async fn every_catalogue_case_answers_its_expectation_in_every_variant() {
    let gateway = start().await;
    let mut checked = 0;
    for case in catalogue() {
        let name = case["name"].as_str().unwrap();
        let biz_content = serde_json::to_string(&case["biz_content"]).unwrap();
        for sign_type in SignType::ALL {
            if !holds_for(&case, sign_type) {
                continue;
            }
            for charset in ["utf-8", "GBK"] {
                let call = Call::authquery(&biz_content)
                    .app(case["app_id"].as_str().unwrap())
                    .param("method", case["method"].as_str().unwrap())
                    .sign_type(sign_type)
                    .charset(charset);
                for (http, answer) in [
                    ("POST", call.post(&gateway).await),
                    ("GET", call.get(&gateway).await),
                ] {
                    let variant = format!("{sign_type} {charset} {http}");
                    assert_eq!(answer.status, 200, "{name} [{variant}]");
                    assert_eq!(answer.content_type, format!("text/html;charset={charset}"));
                    assert_matches_expect(
                        name,
                        &variant,
                        &answer.node(charset, NODE),
                        &case["expect"],
                    );
                    assert!(
                        answer.signature_verifies(charset, sign_type),
                        "{name} [{variant}]: response signature does not verify"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 100, "only {checked} variants ran");
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_documents_gbk_request_example_answers_the_documents_success_example() {
    let gateway = start().await;
    let answer = Call::authquery(DOC_BIZ_CONTENT)
        .charset("GBK")
        .post(&gateway)
        .await;
    let text = answer.text("GBK");
    let expected_node =
        r#"{"code":"10000","msg":"Success","authorized":true,"open_id":"2088202844499224"}"#;
    assert!(
        text.starts_with(&format!("{{\"{NODE}\":{expected_node},\"sign\":\"")),
        "{text}"
    );
    assert!(answer.signature_verifies("GBK", SignType::Rsa2));
    gateway.shutdown().await;
}

#[tokio::test]
async fn not_authorised_answers_have_no_open_id_key() {
    let gateway = start().await;
    let biz = r#"{"identity_param":"{\"userId\":\"2088102000000002\"}","identity_type":"5"}"#;
    let node = Call::authquery(biz)
        .post(&gateway)
        .await
        .node("utf-8", NODE);
    assert_eq!(node["authorized"], Value::Bool(false));
    assert!(
        node.get("open_id").is_none() && node.get("sub_code").is_none(),
        "{node}"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn fastjson_style_escapes_in_biz_content_are_understood() {
    // python-alipay-sdk sends Chinese as \uXXXX escapes (json.dumps default).
    let gateway = start().await;
    let biz = r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"\u5f20\u4e09\",\"certNo\":\"33021199003132432\"}","identity_type":"2"}"#;
    let node = Call::authquery(biz)
        .post(&gateway)
        .await
        .node("utf-8", NODE);
    assert_eq!(node["open_id"], "2088202844499224");
    gateway.shutdown().await;
}

#[tokio::test]
async fn biz_content_that_is_not_json_is_an_illegal_argument() {
    let gateway = start().await;
    let answer = Call::authquery("identity_type=2").post(&gateway).await;
    let node = answer.node("utf-8", NODE);
    assert_eq!(node["code"], "40004");
    assert_eq!(node["sub_code"], "ILLEGAL_ARGUMENT");
    assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_missing_biz_content_is_a_null_argument() {
    let gateway = start().await;
    let node = Call::new(AUTHQUERY)
        .post(&gateway)
        .await
        .node("utf-8", NODE);
    assert_eq!(node["sub_code"], "NULL_ARGUMENT");
    gateway.shutdown().await;
}
