//! Response bodies exactly as Alipay writes them, signed over the bytes that are sent.
//!
//! Layout: `{"<method_with_underscores>_response":<node>,"sign":"<base64>"}`: node first,
//! `sign` last, compact JSON, Chinese raw, `/` not escaped (docs/protocol.md §3). The signature
//! covers the node's value exactly as it appears in the body, encoded in the request
//! charset, so the body is assembled from the very bytes that were signed and never
//! re-serialised.

use serde::Serialize;

use super::charset::Charset;
use crate::crypto::{SignError, SignType, SigningKey};
use crate::sign_cache::{self, SignCache};

/// `code` and `msg` of every success.
pub const SUCCESS: (&str, &str) = ("10000", "Success");

/// Name of the node that holds answers when no method can be named.
pub const ERROR_NODE: &str = "error_response";

/// The response node name for a method: dots become underscores, plus `_response`.
pub fn node_name(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// The fields every node starts with, followed by the method's own fields.
#[derive(Debug, Serialize)]
pub struct Node<'a, B: Serialize> {
    /// `code`: [`SUCCESS`]'s `10000`, or the error's class (`40004`).
    pub code: &'a str,
    /// `msg`: `Success`, or the error class's text.
    pub msg: &'a str,
    /// `sub_code`; `None` on success, where SDKs take its absence to mean success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<&'a str>,
    /// `sub_msg`; `None` on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_msg: Option<&'a str>,
    /// The method's own fields, written after these four at the same level (`()` for
    /// none).
    #[serde(flatten)]
    pub business: B,
}

impl<B: Serialize> Node<'_, B> {
    /// The node as compact JSON text (`serde_json` never escapes `/`).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// The key and algorithm that sign a response: the app's platform key and the request's
/// `sign_type`.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    /// The platform private key the app's SDK verifies with (its "Alipay public key").
    pub key: &'a SigningKey,
    /// The request's `sign_type`: RSA2 signs with SHA-256, RSA with SHA-1.
    pub sign_type: SignType,
    /// Certificate mode: the SN of the platform certificate of `key`, written as
    /// `alipay_cert_sn` between the node and `sign` (docs/protocol.md §3.6); `None` in
    /// key mode, where the member would break SDKs' extraction.
    pub cert_sn: Option<&'a str>,
    /// Signatures computed before, looked up by the exact bytes to sign.
    pub cache: Option<&'a SignCache>,
}

/// Assembles the body bytes: the node encoded in `charset`, and `sign` computed over
/// exactly those bytes when a signer is given (preceded by `alipay_cert_sn` in
/// certificate mode). `node_json` is the node's JSON value as sent: an object, or for an
/// encrypted answer the quoted ciphertext, which is then what is signed, quotes included.
pub fn render(
    node_name: &str,
    node_json: &str,
    charset: &Charset,
    signer: Option<Signer<'_>>,
) -> Result<Vec<u8>, SignError> {
    let node_bytes = charset.encode(node_json);
    // The node name may echo an arbitrary `method` value: quote it as a JSON string.
    let quoted_name = serde_json::Value::String(node_name.to_owned()).to_string();
    let mut body = Vec::with_capacity(node_bytes.len() + quoted_name.len() + 400);
    body.push(b'{');
    body.extend_from_slice(&charset.encode(&quoted_name));
    body.push(b':');
    body.extend_from_slice(&node_bytes);
    if let Some(signer) = signer {
        let sign = sign_cache::sign(signer.cache, signer.key, signer.sign_type, &node_bytes)?;
        if let Some(sn) = signer.cert_sn {
            // An SN is hex text: nothing to escape.
            body.extend_from_slice(b",\"alipay_cert_sn\":\"");
            body.extend_from_slice(&charset.encode(sn));
            body.push(b'"');
        }
        body.extend_from_slice(b",\"sign\":\"");
        body.extend_from_slice(sign.as_bytes());
        body.push(b'"');
    }
    body.push(b'}');
    Ok(body)
}

/// Changes a signed body so that its signature no longer matches (the `altered_body`
/// hostile fault): the first of `swaps` found in the body is replaced (a method names
/// the change a careless client would act on), otherwise a space is inserted at the start
/// of the node (an encrypted node's first ciphertext character is changed instead). The JSON stays valid, so only a client that verifies notices.
pub fn alter_after_signing(mut body: Vec<u8>, swaps: &[(&[u8], &[u8])]) -> Vec<u8> {
    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }
    for (from, to) in swaps {
        if let Some(at) = find(&body, from) {
            body.splice(at..at + from.len(), to.iter().copied());
            return body;
        }
    }
    if let Some(at) = body.iter().skip(1).position(|&b| b == b'{') {
        // `at` counts from index 1: the node's `{` is at at + 1; insert after it.
        body.insert(at + 2, b' ');
    } else if let Some(at) = find(&body, b"\":\"").map(|at| at + 3) {
        // An encrypted node (a string): change the first ciphertext character.
        if let Some(byte) = body.get_mut(at) {
            *byte = if *byte == b'A' { b'B' } else { b'A' };
        }
    }
    body
}

/// The signed part of a response body: the first `*_response` node's text exactly as
/// written, and the `sign` value if present. `None` when the body is not a JSON object
/// with such a node.
pub fn extract_signed_node(body: &str) -> Option<(String, &str, Option<String>)> {
    let top: raw_object::Top<'_> = serde_json::from_str(body).ok()?;
    let (name, node) = top
        .fields
        .iter()
        .find(|(name, _)| name.ends_with("_response"))?;
    let sign = top
        .fields
        .iter()
        .find(|(name, _)| name == "sign")
        .and_then(|(_, v)| serde_json::from_str::<String>(v.get()).ok());
    Some((name.clone(), node.get(), sign))
}

/// A top-level JSON object read as (key, raw value) pairs in body order.
mod raw_object {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use serde_json::value::RawValue;

    pub struct Top<'a> {
        pub fields: Vec<(String, &'a RawValue)>,
    }

    impl<'de: 'a, 'a> Deserialize<'de> for Top<'a> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = Top<'a>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Top<'a>, M::Error> {
                    let mut fields = Vec::new();
                    while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                        fields.push((k, v));
                    }
                    Ok(Top { fields })
                }
            }
            deserializer.deserialize_map(V(std::marker::PhantomData))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{crypto, keys};

    #[derive(Serialize)]
    struct Auth {
        authorized: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        open_id: Option<&'static str>,
    }

    #[test]
    fn node_names_replace_every_dot() {
        assert_eq!(
            node_name("zhima.auth.info.authquery"),
            "zhima_auth_info_authquery_response"
        );
    }

    #[test]
    fn success_nodes_have_no_sub_code_and_keep_field_order() {
        let node = Node {
            code: "10000",
            msg: "Success",
            sub_code: None,
            sub_msg: None,
            business: Auth {
                authorized: true,
                open_id: Some("2088202844499224"),
            },
        };
        assert_eq!(
            node.to_json().unwrap(),
            r#"{"code":"10000","msg":"Success","authorized":true,"open_id":"2088202844499224"}"#
        );
    }

    #[test]
    fn the_body_signs_exactly_the_node_bytes_it_carries() {
        let key =
            keys::parse_private_key(include_str!("../../fixtures/keys/alipay_private_key.pem"))
                .unwrap()
                .into();
        let public =
            keys::parse_public_key(include_str!("../../fixtures/keys/alipay_public_key.pem"))
                .unwrap();
        let gbk = Charset::from_label("GBK").unwrap();
        let node = r#"{"code":"40004","msg":"Business Failed","sub_code":"ZM_ACCOUNT_PAUSE","sub_msg":"该账号暂停服务"}"#;
        let body = render(
            "x_response",
            node,
            &gbk,
            Some(Signer {
                key: &key,
                sign_type: SignType::Rsa2,
                cert_sn: None,
                cache: None,
            }),
        )
        .unwrap();
        let text = gbk.decode(&body);
        let (name, node_text, sign) = extract_signed_node(&text).unwrap();
        assert_eq!(name, "x_response");
        assert_eq!(node_text, node);
        assert!(crypto::verify(
            &public,
            SignType::Rsa2,
            &gbk.encode(node_text),
            &sign.unwrap()
        ));
    }

    #[test]
    fn altering_a_body_swaps_the_first_match_or_pads_the_node() {
        let swaps: &[(&[u8], &[u8])] = &[(b"false", b"true"), (b"true", b"false")];
        let flipped = alter_after_signing(
            br#"{"x_response":{"authorized":false},"sign":"s"}"#.to_vec(),
            swaps,
        );
        assert_eq!(flipped, br#"{"x_response":{"authorized":true},"sign":"s"}"#);
        let padded =
            alter_after_signing(br#"{"x_response":{"code":"1"},"sign":"s"}"#.to_vec(), swaps);
        assert_eq!(padded, br#"{"x_response":{ "code":"1"},"sign":"s"}"#);
        let encrypted = alter_after_signing(br#"{"x_response":"Qk1B","sign":"s"}"#.to_vec(), swaps);
        assert_eq!(encrypted, br#"{"x_response":"Ak1B","sign":"s"}"#);
    }

    #[test]
    fn unsigned_bodies_have_no_sign_key() {
        let body = render(ERROR_NODE, r#"{"code":"40002"}"#, &Charset::utf8(), None).unwrap();
        assert_eq!(body, br#"{"error_response":{"code":"40002"}}"#);
    }

    #[test]
    fn a_hostile_method_name_stays_valid_json() {
        let body = render("a\"b_response", "{}", &Charset::utf8(), None).unwrap();
        let (name, _, _) = extract_signed_node(std::str::from_utf8(&body).unwrap()).unwrap();
        assert_eq!(name, "a\"b_response");
    }

    #[test]
    fn extraction_rejects_bodies_without_a_response_node() {
        assert!(extract_signed_node("{\"sign\":\"x\"}").is_none());
        assert!(extract_signed_node("not json").is_none());
    }
}
