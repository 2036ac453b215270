//! The signature doctor: each common signing mistake, made for real with a real key,
//! answers the real gateway's `isv.invalid-signature` unchanged on the wire, and names
//! the mistake in the `X-Alipay-Mock-Diagnosis` header and in the journal.

use std::collections::BTreeMap;

use crate::support::*;
use alipay_mock::crypto::{self, SignType};
use alipay_mock::keys;
use serde_json::json;

/// The parameters of the document's example call, as `Call` sends them.
fn params() -> BTreeMap<String, String> {
    let call = Call::authquery(DOC_BIZ_CONTENT).unsigned();
    call.signed_params()
}

/// `name=value` joined with `&`, in the order given: the test writes each mistaken
/// string by hand.
fn joined<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn sign_with(key_pem: &str, sign_type: SignType, text: &str) -> String {
    let key = keys::parse_private_key(key_pem).unwrap();
    crypto::sign(&key, sign_type, text.as_bytes()).unwrap()
}

/// Sends the document's example with `sign`, checks the wire answer is the real
/// gateway's, and returns the diagnosis header and the journal's diagnosis code.
async fn diagnosis_of(gateway: &impl Listener, call: Call) -> (String, String) {
    let answer = call.post(gateway).await;
    let node = answer.node("utf-8", NODE);
    assert_eq!(node["sub_code"], "isv.invalid-signature", "{node}");
    assert!(
        !answer.text("utf-8").contains("diagnosis"),
        "the body stays the real gateway's"
    );
    let header = answer
        .headers
        .get("x-alipay-mock-diagnosis")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let (_, journal) = admin(gateway, "GET", "requests?limit=1", None).await;
    let code = journal["requests"][0]["diagnosis"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (header, code)
}

async fn expect(gateway: &impl Listener, call: Call, code: &str) {
    let (header, journal_code) = diagnosis_of(gateway, call).await;
    assert!(
        header.starts_with(&format!("{code}: ")),
        "{code}: header {header:?}"
    );
    assert_eq!(journal_code, code);
}

#[tokio::test]
async fn each_common_mistake_is_named() {
    let gateway = start().await;
    let p = params();
    let correct: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let call = || Call::authquery(DOC_BIZ_CONTENT);

    // sign_type left out of the string (the notification rule).
    let text = joined(correct.iter().copied().filter(|(k, _)| *k != "sign_type"));
    let sign = sign_with(APP_PRIVATE_KEY, SignType::Rsa2, &text);
    expect(&gateway, call().with_sign(&sign), "sign_type_omitted").await;

    // An empty parameter kept in the string.
    let with_empty = call().param("notify_url", "");
    let mut pairs = correct.clone();
    pairs.push(("notify_url", ""));
    pairs.sort();
    let sign = sign_with(APP_PRIVATE_KEY, SignType::Rsa2, &joined(pairs));
    expect(&gateway, with_empty.with_sign(&sign), "empty_values_kept").await;

    // Values URL-encoded before signing.
    let encoded: Vec<(String, String)> = correct
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                form_urlencoded::byte_serialize(v.as_bytes()).collect(),
            )
        })
        .collect();
    let text = joined(encoded.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let sign = sign_with(APP_PRIVATE_KEY, SignType::Rsa2, &text);
    expect(&gateway, call().with_sign(&sign), "values_url_encoded").await;

    // Signed in the order sent: the query (sorted) first, biz_content from the body last.
    let mut sent: Vec<(&str, &str)> = correct
        .iter()
        .copied()
        .filter(|(k, _)| *k != "biz_content")
        .collect();
    sent.push(("biz_content", DOC_BIZ_CONTENT));
    let sign = sign_with(APP_PRIVATE_KEY, SignType::Rsa2, &joined(sent));
    expect(&gateway, call().with_sign(&sign), "not_sorted").await;

    // Sorted ignoring case: an upper-case name sorts after lower-case ones.
    let cased = call().param("Zeta", "1");
    let mut pairs = correct.clone();
    pairs.push(("Zeta", "1"));
    pairs.sort_by_key(|(k, _)| k.to_ascii_lowercase());
    let sign = sign_with(APP_PRIVATE_KEY, SignType::Rsa2, &joined(pairs));
    expect(&gateway, cased.with_sign(&sign), "sorted_ignoring_case").await;

    // '+' for the space in timestamp.
    let text = joined(correct.iter().map(|&(k, v)| {
        (
            k,
            if k == "timestamp" {
                "2014-07-24+03:07:50"
            } else {
                v
            },
        )
    }));
    let sign = sign_with(APP_PRIVATE_KEY, SignType::Rsa2, &text);
    expect(&gateway, call().with_sign(&sign), "timestamp_plus_space").await;

    // biz_content re-serialised: the client signed compact JSON but sent it with spaces.
    let compact =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(DOC_BIZ_CONTENT).unwrap())
            .unwrap();
    assert_ne!(compact, DOC_BIZ_CONTENT);
    let text = joined(correct.iter().map(|&(k, v)| {
        (
            k,
            if k == "biz_content" {
                compact.as_str()
            } else {
                v
            },
        )
    }));
    let sign = sign_with(APP_PRIVATE_KEY, SignType::Rsa2, &text);
    expect(
        &gateway,
        call().with_sign(&sign),
        "biz_content_reserialised",
    )
    .await;

    // SHA1 while sign_type says RSA2.
    let sign = sign_with(
        APP_PRIVATE_KEY,
        SignType::Rsa,
        &joined(correct.iter().copied()),
    );
    expect(&gateway, call().with_sign(&sign), "wrong_hash").await;

    // The platform key instead of the app's.
    let sign = sign_with(
        PLATFORM_PRIVATE_KEY,
        SignType::Rsa2,
        &joined(correct.iter().copied()),
    );
    expect(&gateway, call().with_sign(&sign), "platform_key").await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn another_known_apps_key_is_named_with_that_app() {
    let gateway = start().await;
    let hostile = keys::parse_private_key(HOSTILE_PRIVATE_KEY).unwrap();
    let public = keys::public_pem(&hostile.to_public_key()).unwrap();
    let (status, _) = admin(
        &gateway,
        "POST",
        "apps",
        Some(json!({"app_id": "2021000000000077", "public_keys": {"RSA2": public}})),
    )
    .await;
    assert_eq!(status, 201);
    let p = params();
    let text = joined(p.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let sign = sign_with(HOSTILE_PRIVATE_KEY, SignType::Rsa2, &text);
    let (header, code) =
        diagnosis_of(&gateway, Call::authquery(DOC_BIZ_CONTENT).with_sign(&sign)).await;
    assert_eq!(code, "other_app_key");
    assert!(header.contains("2021000000000077"), "{header}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_charset_mismatch_is_named() {
    let gateway = start().await;
    // Sent as GBK, signed over the UTF-8 bytes.
    let call = Call::authquery(DOC_BIZ_CONTENT).charset("gbk");
    let p = call.params.clone();
    let text = joined(p.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let sign = sign_with(APP_PRIVATE_KEY, SignType::Rsa2, &text);
    let (header, code) = diagnosis_of(&gateway, call.with_sign(&sign)).await;
    assert_eq!(code, "charset_mismatch", "{header}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_signature_that_matches_nothing_gets_no_diagnosis_and_a_good_one_none_either() {
    let gateway = start().await;
    let sign = sign_with(APP_PRIVATE_KEY, SignType::Rsa2, "nothing like the request");
    let (header, code) =
        diagnosis_of(&gateway, Call::authquery(DOC_BIZ_CONTENT).with_sign(&sign)).await;
    assert_eq!((header.as_str(), code.as_str()), ("", ""));
    let answer = Call::authquery(DOC_BIZ_CONTENT).post(&gateway).await;
    assert_eq!(answer.node("utf-8", NODE)["code"], "10000");
    assert!(answer.headers.get("x-alipay-mock-diagnosis").is_none());
    gateway.shutdown().await;
}
