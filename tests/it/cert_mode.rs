//! Certificate mode (公钥证书模式): requests carrying `app_cert_sn` and
//! `alipay_root_cert_sn`, answers carrying `alipay_cert_sn`, the certificate download, and
//! certificates in the admin API (docs/protocol.md §3.6, §6).
//!
//! The SN literals are openssl's (`scripts/check-cert-sns.sh`), not the crate's.

use crate::support::*;
use alipay_mock::cert::PublicKeyCertificate;
use alipay_mock::crypto::{self, SignType};
use alipay_mock::protocol::response::extract_signed_node;
use base64::Engine as _;
use serde_json::{json, Value};

const CERT_APP_ID: &str = "2021000000000003";
const CERT_APP_PRIVATE_KEY: &str = include_str!("../../fixtures/certs/app_private_key.pem");
const APP_CERT: &str = include_str!("../../fixtures/certs/app_cert_public_key.crt");
const PLATFORM_CERT: &str = include_str!("../../fixtures/certs/alipay_cert_public_key_rsa2.crt");
const PLATFORM_CERT_KEY: &str =
    include_str!("../../fixtures/certs/test_only_alipay_cert_private_key.pem");
const ROOT_BUNDLE: &str = include_str!("../../fixtures/certs/alipay_root_cert.crt");
/// openssl's SNs of the fixture certificates.
const APP_CERT_SN: &str = "77e530a7ec6e44bd6249f3c671916a12";
const ALIPAY_CERT_SN: &str = "583a140f3533cb56563bd92f1d65f7c8";
const ROOT_CERT_SN: &str = "ed12f3afc3337d48941278ff1e861e90_84e603ac458d6f89d7ff34b9bd4ed95d";
const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";
const DOWNLOAD_NODE: &str = "alipay_open_app_alipaycert_download_response";

/// A certificate-mode call as the cert app, signed with its certificate's key.
fn cert_call(method: &str) -> Call {
    let mut call = Call::new(method)
        .app(CERT_APP_ID)
        .param("app_cert_sn", APP_CERT_SN)
        .param("alipay_root_cert_sn", ROOT_CERT_SN);
    call.private_key = CERT_APP_PRIVATE_KEY.to_owned();
    call
}

fn cert_authquery(biz_content: &str) -> Call {
    cert_call(AUTHQUERY).param("biz_content", biz_content)
}

/// `code`, `sub_code` and `sub_msg` of an answer node.
fn error_fields(node: &serde_json::Value) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        node["code"].as_str(),
        node["sub_code"].as_str(),
        node["sub_msg"].as_str(),
    )
}

/// Whether `sign` verifies over the node bytes with the platform certificate's key.
fn verifies_with_platform_cert(answer: &Answer) -> bool {
    let text = answer.text("utf-8");
    let (_, node, sign) = extract_signed_node(&text).expect("a response node");
    let key = PublicKeyCertificate::from_pem(PLATFORM_CERT)
        .unwrap()
        .public_key;
    crypto::verify(
        &key,
        SignType::Rsa2,
        node.as_bytes(),
        &sign.expect("a sign"),
    )
}

#[tokio::test]
async fn a_certificate_mode_success_carries_alipay_cert_sn_and_verifies_with_the_platform_certificate(
) {
    let gateway = start().await;
    let answer = cert_authquery(&zhangsan("C2B")).post(&gateway).await;
    let text = answer.text("utf-8");
    assert_eq!(
        answer.node("utf-8", NODE),
        json!({"code": "10000", "msg": "Success", "authorized": true, "open_id": "2088202844490301"}),
        "{text}"
    );
    assert_eq!(answer.json("utf-8")["alipay_cert_sn"], ALIPAY_CERT_SN);
    // Node first, then alipay_cert_sn, then sign, nothing else.
    assert!(text.starts_with(&format!("{{\"{NODE}\":{{")), "{text}");
    assert!(
        text.contains(&format!(
            "}},\"alipay_cert_sn\":\"{ALIPAY_CERT_SN}\",\"sign\":\""
        )),
        "{text}"
    );
    assert_eq!(answer.json("utf-8").as_object().unwrap().len(), 3);
    assert!(verifies_with_platform_cert(&answer), "{text}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_certificate_mode_business_error_is_signed_under_the_platform_certificate() {
    let gateway = start().await;
    let answer = cert_authquery(&by_cert("吴九", "110101199001011006"))
        .post(&gateway)
        .await;
    assert_eq!(answer.node("utf-8", NODE)["sub_code"], "ZM_ACCOUNT_PAUSE");
    assert_eq!(answer.json("utf-8")["alipay_cert_sn"], ALIPAY_CERT_SN);
    assert!(verifies_with_platform_cert(&answer));
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_unknown_app_cert_sn_answers_40002_app_cert_not_exist_signed() {
    let gateway = start().await;
    let answer = cert_authquery(&zhangsan("C2B"))
        .param("app_cert_sn", "00000000000000000000000000000000")
        .post(&gateway)
        .await;
    let node = answer.node("utf-8", NODE);
    assert_eq!(
        error_fields(&node),
        (
            Some("40002"),
            Some("isv.app-cert-not-exist"),
            Some("应用公钥证书不存在")
        )
    );
    assert_eq!(answer.json("utf-8")["alipay_cert_sn"], ALIPAY_CERT_SN);
    assert!(verifies_with_platform_cert(&answer));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_wrong_or_missing_root_cert_sn_answers_40002_invalid_alipay_root_cert_sn() {
    let gateway = start().await;
    let first_root_only = ROOT_CERT_SN.split('_').next().unwrap();
    for call in [
        cert_authquery(&zhangsan("C2B")).param("alipay_root_cert_sn", first_root_only),
        cert_authquery(&zhangsan("C2B")).without("alipay_root_cert_sn"),
    ] {
        let answer = call.post(&gateway).await;
        let node = answer.node("utf-8", NODE);
        assert_eq!(
            error_fields(&node),
            (
                Some("40002"),
                Some("isv.invalid-alipay-root-cert-sn"),
                Some("无效支付宝根证书序列号")
            )
        );
        assert!(verifies_with_platform_cert(&answer));
    }
    gateway.shutdown().await;
}

/// The document's example in certificate mode, signed with `key`: the answer, after
/// checking it is the signed `isv.invalid-signature`.
async fn signed_with_wrong_key(gateway: &impl Listener, key: &str) -> Answer {
    let mut call = cert_authquery(&zhangsan("C2B"));
    call.private_key = key.to_owned();
    let answer = call.post(gateway).await;
    assert_eq!(
        answer.node("utf-8", NODE)["sub_code"],
        "isv.invalid-signature"
    );
    answer
}

#[tokio::test]
async fn a_certificate_mode_request_signed_with_another_key_fails_the_signature_check() {
    let gateway = start().await;
    let answer = signed_with_wrong_key(&gateway, APP_PRIVATE_KEY).await;
    assert!(verifies_with_platform_cert(&answer));
    gateway.shutdown().await;
}

#[tokio::test]
async fn key_mode_answers_have_no_alipay_cert_sn() {
    let gateway = start().await;
    // The cert app also has key-mode public keys: a request without app_cert_sn is key mode.
    let answer = Call::authquery(&zhangsan("C2B"))
        .app(CERT_APP_ID)
        .post(&gateway)
        .await;
    assert_eq!(answer.node("utf-8", NODE)["open_id"], "2088202844490301");
    assert!(answer.json("utf-8").get("alipay_cert_sn").is_none());
    assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
    // A key-mode app has no certificate: any app_cert_sn is unknown, answered in key mode.
    let answer = Call::authquery(&zhangsan("C2B"))
        .param("app_cert_sn", APP_CERT_SN)
        .param("alipay_root_cert_sn", ROOT_CERT_SN)
        .post(&gateway)
        .await;
    assert_eq!(
        answer.node("utf-8", NODE)["sub_code"],
        "isv.app-cert-not-exist"
    );
    assert!(answer.json("utf-8").get("alipay_cert_sn").is_none());
    assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_certificate_download_answers_the_platform_certificate_by_sn() {
    let gateway = start().await;
    let answer = cert_call(DOWNLOAD)
        .param(
            "biz_content",
            &format!(r#"{{"alipay_cert_sn":"{ALIPAY_CERT_SN}"}}"#),
        )
        .post(&gateway)
        .await;
    let node = answer.node("utf-8", DOWNLOAD_NODE);
    assert_eq!(node["code"], "10000", "{node}");
    let content = base64::engine::general_purpose::STANDARD
        .decode(node["alipay_cert_content"].as_str().unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(content).unwrap(), PLATFORM_CERT);
    assert!(verifies_with_platform_cert(&answer));
    // Key mode too (Go downloads before it has verified anything).
    let answer = Call::new(DOWNLOAD)
        .param(
            "biz_content",
            &format!(r#"{{"alipay_cert_sn":"{ALIPAY_CERT_SN}"}}"#),
        )
        .post(&gateway)
        .await;
    assert_eq!(answer.node("utf-8", DOWNLOAD_NODE)["code"], "10000");
    assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
    gateway.shutdown().await;
}

/// Regression (issue 22, item 8): the official PHP SDK's certificate rotation
/// (`AopCertClient::checkResponseSign`) sends this method without `version`; it answered
/// `40001 isv.missing-version`. Other methods still need it.
#[tokio::test]
async fn the_certificate_download_without_version_is_answered_as_the_php_sdk_needs() {
    let gateway = start().await;
    let answer = cert_call(DOWNLOAD)
        .without("version")
        .param(
            "biz_content",
            &format!(r#"{{"alipay_cert_sn":"{ALIPAY_CERT_SN}"}}"#),
        )
        .post(&gateway)
        .await;
    assert_eq!(answer.node("utf-8", DOWNLOAD_NODE)["code"], "10000");
    assert!(verifies_with_platform_cert(&answer));
    let other = Call::authquery(DOC_BIZ_CONTENT)
        .without("version")
        .post(&gateway)
        .await;
    assert_eq!(other.node("utf-8", NODE)["sub_code"], "isv.missing-version");
    gateway.shutdown().await;
}

#[tokio::test]
async fn downloading_an_unknown_certificate_is_a_business_error() {
    let gateway = start().await;
    let answer = cert_call(DOWNLOAD)
        .param("biz_content", r#"{"alipay_cert_sn":"469564624"}"#)
        .post(&gateway)
        .await;
    let node = answer.node("utf-8", DOWNLOAD_NODE);
    assert_eq!(
        (node["code"].as_str(), node["sub_code"].as_str()),
        (Some("40004"), Some("CERT_NOT_EXIST"))
    );
    let answer = cert_call(DOWNLOAD)
        .param("biz_content", "{}")
        .post(&gateway)
        .await;
    assert_eq!(
        answer.node("utf-8", DOWNLOAD_NODE)["sub_code"],
        "NULL_ARGUMENT"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_shows_the_certificate_sns() {
    let gateway = start().await;
    let (status, app) = admin(&gateway, "GET", &format!("apps/{CERT_APP_ID}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        app["cert_sns"],
        json!({
            "app_cert_sn": APP_CERT_SN,
            "alipay_cert_sn": ALIPAY_CERT_SN,
            "alipay_root_cert_sn": ROOT_CERT_SN,
        })
    );
    // The view goes back as it came (cert_sns is read-only and ignored).
    let (status, _) = admin(&gateway, "PUT", &format!("apps/{CERT_APP_ID}"), Some(app)).await;
    assert_eq!(status, 200);
    let (_, key_app) = admin(&gateway, "GET", &format!("apps/{APP_ID}"), None).await;
    assert!(key_app.get("cert_sns").is_none(), "{key_app}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_app_stored_with_its_own_certificates_is_served_in_certificate_mode() {
    let gateway = start().await;
    let app = json!({
        "app_id": "2021000000000077",
        "app_cert": APP_CERT,
        "platform_cert": PLATFORM_CERT,
        "platform_cert_private_key": PLATFORM_CERT_KEY,
        "alipay_root_cert": ROOT_BUNDLE,
    });
    let (status, created) = admin(&gateway, "POST", "apps", Some(app)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["cert_sns"]["app_cert_sn"], APP_CERT_SN);
    let answer = cert_authquery(&zhangsan("C2B"))
        .app("2021000000000077")
        .post(&gateway)
        .await;
    // Not authorised (no grants), but answered under the certificate.
    assert_eq!(answer.node("utf-8", NODE)["authorized"], false);
    assert!(verifies_with_platform_cert(&answer));
    // Key mode: it has no public key, so an answer it cannot sign.
    let answer = Call::authquery(&zhangsan("C2B"))
        .app("2021000000000077")
        .post(&gateway)
        .await;
    assert_eq!(
        answer.node("utf-8", NODE)["sub_code"],
        "isv.missing-signature-config"
    );
    assert!(!answer.has_sign("utf-8"));
    gateway.shutdown().await;
}

#[tokio::test]
async fn bad_certificates_are_refused_with_400_naming_the_field() {
    let gateway = start().await;
    let base = json!({"app_id": "2021000000000078", "app_cert": APP_CERT});
    let with = |key: &str, value: Value| {
        let mut app = base.clone();
        app[key] = value;
        app
    };
    for (app, expected) in [
        (with("app_cert", json!("not a certificate")), "app_cert"),
        (with("app_cert", json!(APP_PRIVATE_KEY)), "app_cert"),
        (
            with(
                "alipay_root_cert",
                json!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            ),
            "alipay_root_cert",
        ),
        (
            with("platform_cert", json!(PLATFORM_CERT)),
            "platform_cert_private_key",
        ),
        (
            {
                let mut app = with("platform_cert", json!(PLATFORM_CERT));
                app["platform_cert_private_key"] = json!(CERT_APP_PRIVATE_KEY);
                app
            },
            "platform_cert_private_key is not the private key of platform_cert",
        ),
        (
            json!({"app_id": "2021000000000078", "platform_cert": PLATFORM_CERT}),
            "need app_cert",
        ),
    ] {
        let (status, error) = admin(&gateway, "POST", "apps", Some(app)).await;
        assert_eq!(status, 400, "{error}");
        let message = error["error"].as_str().unwrap();
        assert!(message.contains(expected), "{message} lacks {expected}");
    }
    assert_eq!(
        admin(&gateway, "GET", "apps/2021000000000078", None)
            .await
            .0,
        404
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_catalogue_states_the_cert_apps_sns_as_openssl_and_the_gateway_compute_them() {
    let fixtures =
        alipay_mock::fixtures::Fixtures::load(&alipay_mock::fixtures::FixtureSource::Embedded)
            .unwrap();
    let case = fixtures
        .cases
        .iter()
        .find(|c| c.app_id == CERT_APP_ID)
        .expect("a catalogue case for the cert app");
    let sns = case.cert_sns.as_ref().expect("its cert_sns");
    assert_eq!(
        (
            sns.app_cert_sn.as_str(),
            sns.alipay_cert_sn.as_str(),
            sns.alipay_root_cert_sn.as_str()
        ),
        (APP_CERT_SN, ALIPAY_CERT_SN, ROOT_CERT_SN)
    );
    let gateway = start().await;
    let (_, app) = admin(&gateway, "GET", &format!("apps/{CERT_APP_ID}"), None).await;
    assert_eq!(app["cert_sns"], serde_json::to_value(sns).unwrap());
    gateway.shutdown().await;
}

// Review finding: in certificate mode the doctor tried the key-mode platform key, so a
// request signed with the platform certificate's own key got no diagnosis.
#[tokio::test]
async fn a_request_signed_with_the_platform_certificates_key_is_diagnosed_as_such() {
    let gateway = start().await;
    let answer = signed_with_wrong_key(&gateway, PLATFORM_CERT_KEY).await;
    let diagnosis = answer
        .headers
        .get("x-alipay-mock-diagnosis")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(diagnosis.starts_with("platform_key: "), "{diagnosis:?}");
    gateway.shutdown().await;
}
