//! Signatures cover the bytes received (issue 12, item 2): a request is verified over its
//! percent-decoded bytes, never over its text decoded and encoded again, so no change to
//! the bytes of a signed parameter survives verification.

use crate::support::*;
use alipay_mock::crypto::{self, SignType};
use alipay_mock::keys;
use alipay_mock::protocol::charset::Charset;
use alipay_mock::RunningGateway;

/// 😀 in GB18030, which the GBK encoder writes back as the text `&#128512;`.
const EMOJI_GB18030: &[u8] = &[0x94, 0x39, 0xfc, 0x36];
const EMOJI_ENTITY: &[u8] = b"&#128512;";

/// An authquery call in GBK as (name, bytes) pairs, with `terminal_info` set to `extra`.
fn gbk_pairs(extra: &[u8]) -> Vec<(String, Vec<u8>)> {
    let gbk = Charset::from_label("GBK").unwrap();
    let mut pairs: Vec<(String, Vec<u8>)> = Call::authquery(DOC_BIZ_CONTENT)
        .charset("GBK")
        .params
        .into_iter()
        .map(|(k, v)| (k, gbk.encode(&v).into_owned()))
        .collect();
    pairs.push(("terminal_info".to_owned(), extra.to_vec()));
    pairs.sort();
    pairs
}

/// RSA2 over `name=value&…` of the pairs' bytes (ASCII names, already sorted).
fn sign_bytes(pairs: &[(String, Vec<u8>)]) -> String {
    let mut content = Vec::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            content.push(b'&');
        }
        content.extend_from_slice(name.as_bytes());
        content.push(b'=');
        content.extend_from_slice(value);
    }
    let key = keys::parse_private_key(APP_PRIVATE_KEY).unwrap();
    crypto::sign(&key, SignType::Rsa2, &content).unwrap()
}

/// GETs the pairs and `sign`, percent-encoding every byte as an SDK would.
async fn send_pairs(gateway: &RunningGateway, pairs: &[(String, Vec<u8>)], sign: &str) -> String {
    let mut query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                form_urlencoded::byte_serialize(v).collect::<String>()
            )
        })
        .collect();
    query.push(format!(
        "sign={}",
        form_urlencoded::byte_serialize(sign.as_bytes()).collect::<String>()
    ));
    let answer = send(
        gateway,
        "GET",
        &format!("/gateway.do?{}", query.join("&")),
        None,
        Vec::new(),
    )
    .await;
    let node = answer.node("GBK", NODE);
    match node["sub_code"].as_str() {
        Some(sub_code) => format!("{} {sub_code}", node["code"].as_str().unwrap()),
        None => node["code"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn a_gbk_signature_over_the_entity_text_fails_when_the_emoji_bytes_replace_it() {
    let gateway = start().await;
    let signed = gbk_pairs(EMOJI_ENTITY);
    let sign = sign_bytes(&signed);
    assert_eq!(send_pairs(&gateway, &signed, &sign).await, "10000");
    let swapped = gbk_pairs(EMOJI_GB18030);
    assert_eq!(
        send_pairs(&gateway, &swapped, &sign).await,
        "40002 isv.invalid-signature"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_gbk_signature_over_the_emoji_bytes_fails_when_the_entity_text_replaces_them() {
    let gateway = start().await;
    let signed = gbk_pairs(EMOJI_GB18030);
    let sign = sign_bytes(&signed);
    assert_eq!(send_pairs(&gateway, &signed, &sign).await, "10000");
    let swapped = gbk_pairs(EMOJI_ENTITY);
    assert_eq!(
        send_pairs(&gateway, &swapped, &sign).await,
        "40002 isv.invalid-signature"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_repeated_parameter_is_verified_as_the_occurrence_the_gateway_acts_on() {
    let gateway = start().await;
    let signed = gbk_pairs(b"first");
    let sign = sign_bytes(&signed);
    // The query's first occurrence wins; a later one is neither acted on nor signed.
    let mut doubled = signed.clone();
    doubled.push(("terminal_info".to_owned(), b"second".to_vec()));
    assert_eq!(send_pairs(&gateway, &doubled, &sign).await, "10000");
    let mut shadowed = gbk_pairs(b"second");
    shadowed.push(("terminal_info".to_owned(), b"first".to_vec()));
    assert_eq!(
        send_pairs(&gateway, &shadowed, &sign).await,
        "40002 isv.invalid-signature"
    );
    gateway.shutdown().await;
}
