//! Request signature verification and response signing, against known-answer vectors
//! made by an independent implementation (scripts/make-test-vectors.py: Python
//! `cryptography`, checked with `openssl dgst -verify`).

use std::collections::BTreeMap;

use crate::support::*;
use alipay_mock::crypto::SignType;
use alipay_mock::protocol::params::Params;
use alipay_mock::protocol::sign_content::build_sign_content;
use serde_json::Value;

fn vectors(file: &str) -> Vec<Value> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sign_type(v: &Value) -> SignType {
    SignType::parse(v["sign_type"].as_str().unwrap()).unwrap()
}

fn vector_call(v: &Value) -> Call {
    let mut call = Call::new(AUTHQUERY)
        .sign_type(sign_type(v))
        .charset(v["charset"].as_str().unwrap());
    call.params = BTreeMap::new();
    for (k, value) in v["params"].as_object().unwrap() {
        call.params
            .insert(k.clone(), value.as_str().unwrap().to_owned());
    }
    call.with_sign(v["sign"].as_str().unwrap())
}

#[test]
fn sign_content_matches_the_independent_implementation() {
    for v in vectors("request_vectors.json") {
        let params = v["params"].as_object().unwrap();
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        assert_eq!(
            build_sign_content(&Params::from_pairs(pairs)),
            v["sign_content"].as_str().unwrap(),
            "vector {}",
            v["name"]
        );
    }
}

#[tokio::test]
async fn requests_signed_by_an_independent_implementation_are_accepted() {
    let gateway = start().await;
    for v in vectors("request_vectors.json") {
        let call = vector_call(&v);
        let charset = v["charset"].as_str().unwrap();
        let node = call.post(&gateway).await.node(charset, NODE);
        assert_eq!(node["code"], "10000", "vector {}: {node}", v["name"]);
        assert_eq!(node["open_id"], "2088202844499224");
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn responses_are_byte_for_byte_what_the_independent_implementation_signed() {
    let gateway = start().await;
    let paused = r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"吴九\",\"certNo\":\"110101199001011006\"}","identity_type":"2"}"#;
    for v in vectors("response_vectors.json") {
        let charset = v["charset"].as_str().unwrap();
        let success = v["node_text"].as_str().unwrap().contains("10000");
        let biz = if success { DOC_BIZ_CONTENT } else { paused };
        let answer = Call::authquery(biz)
            .sign_type(sign_type(&v))
            .charset(charset)
            .post(&gateway)
            .await;
        assert_eq!(
            answer.text(charset),
            v["body"].as_str().unwrap(),
            "vector {}",
            v["name"]
        );
        let expected_bytes = alipay_mock::protocol::charset::Charset::from_label(charset)
            .unwrap()
            .encode(v["body"].as_str().unwrap())
            .into_owned();
        assert_eq!(
            answer.body, expected_bytes,
            "vector {}: bytes on the wire",
            v["name"]
        );
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_tampered_biz_content_answers_invalid_signature_quoting_the_verified_string() {
    let gateway = start().await;
    let call = Call::authquery(DOC_BIZ_CONTENT);
    let mut signed = call.signed_params();
    signed.insert("biz_content".into(), DOC_BIZ_CONTENT.replace("C2B", "B2B"));
    let answer = call
        .clone()
        .with_sign(&signed["sign"])
        .param("biz_content", &signed["biz_content"])
        .post(&gateway)
        .await;
    let node = answer.node("utf-8", NODE);
    assert_eq!(node["code"], "40002");
    assert_eq!(node["msg"], "Invalid Arguments");
    assert_eq!(node["sub_code"], "isv.invalid-signature");
    let sub_msg = node["sub_msg"].as_str().unwrap();
    assert!(sub_msg.starts_with("验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：app_id=2014072300007148&amp;biz_content="), "{sub_msg}");
    assert!(
        sub_msg.contains("B2B") && sub_msg.ends_with("&amp;version=1.0"),
        "{sub_msg}"
    );
    assert!(
        answer.signature_verifies("utf-8", SignType::Rsa2),
        "invalid-signature answers are signed"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_request_signed_with_another_key_is_refused() {
    let gateway = start().await;
    let mut call = Call::authquery(DOC_BIZ_CONTENT);
    call.private_key = PLATFORM_PRIVATE_KEY.to_owned();
    let node = call.post(&gateway).await.node("utf-8", NODE);
    assert_eq!(node["sub_code"], "isv.invalid-signature");
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_sha1_signature_under_sign_type_rsa2_is_explained() {
    let gateway = start().await;
    let mut call = Call::authquery(DOC_BIZ_CONTENT);
    call.sign_type = SignType::Rsa; // sign with SHA1 but keep sign_type=RSA2 on the wire
    let node = call.post(&gateway).await.node("utf-8", NODE);
    assert_eq!(node["sub_code"], "isv.invalid-signature");
    assert_eq!(
        node["sub_msg"],
        "验签出错，sign值与sign_type参数指定的签名类型不一致：sign_type参数值为RSA2，您实际用的签名类型可能是RSA"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn gbk_bytes_under_charset_utf8_are_explained() {
    let gateway = start().await;
    let mut call = Call::authquery(DOC_BIZ_CONTENT).param("charset", "utf-8");
    call.charset = "GBK".into(); // encode and sign as GBK while declaring utf-8
    let node = call.post(&gateway).await.node("utf-8", NODE);
    assert_eq!(node["sub_code"], "isv.invalid-signature");
    assert_eq!(
        node["sub_msg"],
        "验签出错，请确认charset参数放在了URL查询字符串中且各参数值使用charset参数指示的字符集编码"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_rsa_request_to_an_rsa2_only_app_answers_unsigned_missing_signature_config() {
    let gateway = start().await;
    let answer = Call::authquery(DOC_BIZ_CONTENT)
        .app(RSA2_ONLY_APP_ID)
        .sign_type(SignType::Rsa)
        .post(&gateway)
        .await;
    let node = answer.node("utf-8", NODE);
    assert_eq!(node["code"], "40003");
    assert_eq!(node["sub_code"], "isv.missing-signature-config");
    assert!(!answer.has_sign("utf-8"), "{}", answer.text("utf-8"));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_sign_whose_plus_signs_were_not_encoded_fails_as_on_the_real_gateway() {
    let gateway = start().await;
    let call = Call::authquery(DOC_BIZ_CONTENT);
    let signed = call.signed_params();
    let sign = &signed["sign"];
    // RSA PKCS#1 v1.5 is deterministic, so this request's signature is fixed; it has a `+`.
    assert!(sign.contains('+'), "{sign}");
    // Put sign into the query raw: `+` then decodes as a space.
    let mut query = signed.clone();
    query.remove("sign");
    let biz = query.remove("biz_content").unwrap();
    let target = format!("/gateway.do?{}&sign={sign}", form(&query, "utf-8"));
    let body = form(&BTreeMap::from([("biz_content".to_owned(), biz)]), "utf-8");
    let answer = send(
        &gateway,
        "POST",
        &target,
        Some("application/x-www-form-urlencoded"),
        body.into_bytes(),
    )
    .await;
    let node = answer.node("utf-8", NODE);
    assert_eq!(node["sub_code"], "isv.invalid-signature");
    gateway.shutdown().await;
}
