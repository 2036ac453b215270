//! AES content encryption (`encrypt_type=AES`): encrypted requests, encrypted answers
//! signed over the quoted ciphertext, the errors that stay plaintext, scenarios and the
//! journal on encrypted calls, and the AES key in the admin API (docs/protocol.md §5).

use crate::support::*;
use alipay_mock::content_encryption::AesKey;
use alipay_mock::crypto::SignType;
use serde_json::{json, Value};

/// The default app's AES key (fixtures/keys/aes_key.txt, as the README states it).
const AES_KEY: &str = "mRpcDcfCIHfPn/09B9QiJg==";

fn key() -> AesKey {
    AesKey::from_base64(AES_KEY).unwrap()
}

/// An authquery with `biz_content` encrypted under `key`.
fn encrypted(biz_content: &str, key: &AesKey) -> Call {
    Call::authquery(&key.encrypt(biz_content.as_bytes())).param("encrypt_type", "AES")
}

/// The answer's node decrypted with `key`, after checking it is a JSON string written
/// right after the node name (Java slices it by offset).
fn decrypted_node(answer: &Answer, key: &AesKey) -> Value {
    let text = answer.text("utf-8");
    let ciphertext = answer.json("utf-8")[NODE]
        .as_str()
        .unwrap_or_else(|| panic!("the node is not encrypted: {text}"))
        .to_owned();
    assert!(
        text.starts_with(&format!("{{\"{NODE}\":\"{ciphertext}\",\"sign\":\"")),
        "{text}"
    );
    serde_json::from_slice(&key.decrypt(&ciphertext).expect("decrypts")).expect("JSON node")
}

#[test]
fn the_appendix_a_vector_decrypts_to_the_stated_json() {
    let key = AesKey::from_base64("aYA0GP8JEW+D7/UFaskCWA==").unwrap();
    let plain = key
        .decrypt("4AOYHE0rpPnRnghunsGo+mY02DzANFLwNJJCiHfrNh2oaB2pn33PwOEOvH8mjhkE3Wh/jR+3jHM9nvoFvOsY/SqZbZzamRg9Eh3VkRqOhSM=")
        .unwrap();
    assert_eq!(
        String::from_utf8(plain).unwrap(),
        r#"{"code":"10000","msg":"Success","aes_key":"cW8mcZgoMGUVp5g7uv7bHw=="}"#
    );
}

#[tokio::test]
async fn an_encrypted_request_gets_an_encrypted_answer_signed_over_the_quoted_ciphertext() {
    let gateway = start().await;
    for sign_type in [SignType::Rsa2, SignType::Rsa] {
        let answer = encrypted(&zhangsan("C2B"), &key())
            .sign_type(sign_type)
            .post(&gateway)
            .await;
        assert_eq!(
            decrypted_node(&answer, &key()),
            json!({"code": "10000", "msg": "Success", "authorized": true, "open_id": "2088202844499224"})
        );
        // extract_signed_node gives the node's raw text: the string token, quotes included.
        assert!(answer.signature_verifies("utf-8", sign_type));
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_encrypted_gbk_request_is_decrypted_in_its_charset() {
    let gateway = start().await;
    let gbk = alipay_mock::protocol::charset::Charset::from_label("GBK").unwrap();
    let ciphertext = key().encrypt(&gbk.encode(&zhangsan("C2B")));
    let answer = Call::authquery(&ciphertext)
        .param("encrypt_type", "AES")
        .charset("GBK")
        .post(&gateway)
        .await;
    let node = answer.json("GBK")[NODE].as_str().unwrap().to_owned();
    let plain = key().decrypt(&node).unwrap();
    let node: Value = serde_json::from_str(&gbk.decode(&plain)).unwrap();
    assert_eq!(node["open_id"], "2088202844499224");
    assert!(answer.signature_verifies("GBK", SignType::Rsa2));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_ciphertext_that_does_not_decrypt_answers_40003_plaintext_and_signed() {
    let gateway = start().await;
    let wrong_key = AesKey::from_base64("aYA0GP8JEW+D7/UFaskCWA==").unwrap();
    for call in [
        Call::authquery("not base64 at all!").param("encrypt_type", "AES"),
        Call::authquery("aGVsbG8=").param("encrypt_type", "AES"),
        encrypted(&zhangsan("C2B"), &wrong_key),
        Call::new(AUTHQUERY).param("encrypt_type", "AES"),
    ] {
        let answer = call.post(&gateway).await;
        let node = answer.node("utf-8", NODE);
        assert_eq!(
            node,
            json!({"code": "40003", "msg": "Insufficient Conditions",
                   "sub_code": "isv.decryption-error-unknown", "sub_msg": "解密出错, 未知错误"})
        );
        assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn answers_decided_before_decryption_stay_plaintext() {
    let gateway = start().await;
    let bad_sign = encrypted(&zhangsan("C2B"), &key())
        .with_sign("AAAA")
        .post(&gateway)
        .await;
    assert_eq!(
        bad_sign.node("utf-8", NODE)["sub_code"],
        "isv.invalid-signature"
    );
    let other_type = encrypted(&zhangsan("C2B"), &key())
        .param("encrypt_type", "SM4")
        .post(&gateway)
        .await;
    assert_eq!(
        other_type.node("utf-8", NODE)["sub_code"],
        "isv.invalid-encrypt-type"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn once_decrypted_business_forced_and_injected_errors_are_encrypted() {
    let gateway = start().await;
    let business = encrypted(&by_cert("吴九", "110101199001011006"), &key())
        .post(&gateway)
        .await;
    assert_eq!(
        decrypted_node(&business, &key())["sub_code"],
        "ZM_ACCOUNT_PAUSE"
    );
    assert!(business.signature_verifies("utf-8", SignType::Rsa2));

    force(
        &gateway,
        json!({"outcome": {"error": "isv.app-call-limited"}}),
    )
    .await;
    let forced = encrypted(&zhangsan("C2B"), &key()).post(&gateway).await;
    assert_eq!(
        decrypted_node(&forced, &key()),
        json!({"code": "40005", "msg": "Call Limited", "sub_code": "isv.app-call-limited",
               "sub_msg": "应用调用次数超限，包含调用频率超限"})
    );
    assert!(forced.signature_verifies("utf-8", SignType::Rsa2));

    // A scenario matching the person sees through the encryption.
    force(
        &gateway,
        json!({"match": {"identity": "zhangsan"}, "outcome": {"authorized": false}}),
    )
    .await;
    let matched = encrypted(&zhangsan("C2B"), &key()).post(&gateway).await;
    assert_eq!(decrypted_node(&matched, &key())["authorized"], false);

    set_faults(&gateway, json!({"seed": 1, "unknown_error_rate": 1.0})).await;
    let injected = encrypted(&zhangsan("C2B"), &key()).post(&gateway).await;
    assert_eq!(
        decrypted_node(&injected, &key())["sub_code"],
        "isp.unknow-error"
    );
    assert!(injected.signature_verifies("utf-8", SignType::Rsa2));
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_journal_shows_the_decrypted_biz_content_masked() {
    let gateway = start().await;
    let answer = encrypted(&zhangsan("C2B"), &key()).post(&gateway).await;
    assert_eq!(decrypted_node(&answer, &key())["code"], "10000");
    let (_, journal) = admin(&gateway, "GET", "requests", None).await;
    let entry = &journal["requests"][0];
    let biz = entry["params"]["biz_content"].as_str().unwrap();
    assert!(biz.contains("330**********2432"), "{biz}");
    assert!(biz.contains("identity_type"), "{biz}");
    let text = entry.to_string();
    assert!(
        !text.contains("张三") && !text.contains("33021199003132432"),
        "{text}"
    );
    assert_eq!(entry["signature"]["verified"], true);
    assert_eq!(entry["outcome"], json!({"code": "10000"}));
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_aes_key_is_set_and_cleared_through_the_admin_api() {
    let gateway = start().await;
    let path = format!("apps/{RSA2_ONLY_APP_ID}");
    let call = || encrypted(&zhangsan("C2B"), &key()).app(RSA2_ONLY_APP_ID);
    assert_eq!(
        call().post(&gateway).await.node("utf-8", NODE)["sub_code"],
        "isv.missing-encrypt-key"
    );

    let (status, app) = admin(&gateway, "PATCH", &path, Some(json!({"aes_key": AES_KEY}))).await;
    assert_eq!((status, app["aes_key"].as_str()), (200, Some(AES_KEY)));
    let answer = call().post(&gateway).await;
    assert_eq!(
        decrypted_node(&answer, &key())["open_id"],
        "2088202844490101"
    );

    let (status, app) = admin(&gateway, "PATCH", &path, Some(json!({"aes_key": null}))).await;
    assert_eq!(status, 200);
    assert!(app.get("aes_key").is_none(), "{app}");
    assert_eq!(
        call().post(&gateway).await.node("utf-8", NODE)["sub_code"],
        "isv.missing-encrypt-key"
    );

    for bad in ["not base64!", "aGVsbG8="] {
        let (status, error) = admin(&gateway, "PATCH", &path, Some(json!({"aes_key": bad}))).await;
        assert_eq!(status, 400, "{error}");
        assert!(
            error["error"].as_str().unwrap().contains("aes_key"),
            "{error}"
        );
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn plain_requests_of_an_app_with_an_aes_key_keep_working() {
    let gateway = start().await;
    let answer = Call::authquery(&zhangsan("C2B")).post(&gateway).await;
    assert_eq!(answer.node("utf-8", NODE)["open_id"], "2088202844499224");
    assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
    gateway.shutdown().await;
}
