//! The signature family: when a request's signature does not verify, the doctor tries
//! the mistakes developers make most — the other hash, the other charset, the platform
//! key, the key of the wrong mode (key mode against the app certificate), another app's
//! key or certificate key, `sign_type` left out, empty values kept, values URL-encoded
//! (form, RFC 3986, `encodeURIComponent`, Java `URLEncoder`, each in the request
//! charset), parameters not sorted or sorted ignoring case, `+` for the space in
//! `timestamp`, `biz_content` re-serialised, and with AES the plaintext signed instead of
//! the ciphertext (or the reverse) — and names the first that verifies.
//!
//! Every candidate costs one RSA check from the shared budget; a candidate string equal
//! to the correct one or to an earlier candidate costs nothing.

use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use super::{Budget, Diagnosis, Examined};
use crate::crypto::{SignType, SigningKey, VerifyingKey};
use crate::protocol::charset::Charset;
use crate::protocol::params::Params;

/// The most keys of other apps (key-mode or certificate keys) that are tried.
const MAX_OTHER_APP_KEYS: usize = 8;

/// RFC 3986 unreserved characters stay, everything else is `%XX` (space `%20`): Python's
/// `quote(v, safe="")`, PHP's `rawurlencode`, Go's `url.PathEscape` for values.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// JavaScript's `encodeURIComponent`: also keeps `!'()*` (ECMA-262 uriUnreserved).
const URI_COMPONENT: &AsciiSet = &RFC3986
    .remove(b'!')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*');

/// How a careless client URL-encoded the values it signed.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    /// `application/x-www-form-urlencoded` as WHATWG and Java's `URLEncoder` write it:
    /// `*-._` and alphanumerics stay, space is `+`.
    Form,
    /// Python's `quote_plus`: `-._~` and alphanumerics stay, space is `+`.
    PythonPlus,
    /// RFC 3986: `-._~` and alphanumerics stay, space is `%20`.
    Rfc3986,
    /// JavaScript's `encodeURIComponent`: `-_.!~*'()` and alphanumerics stay.
    UriComponent,
}

impl Encoding {
    const ALL: [Encoding; 4] = [
        Encoding::Form,
        Encoding::PythonPlus,
        Encoding::Rfc3986,
        Encoding::UriComponent,
    ];

    /// `value` encoded in the request charset, then URL-encoded this way.
    fn encode(self, value: &str, charset: &Charset) -> String {
        let bytes = charset.encode(value);
        match self {
            Encoding::Form => form_urlencoded::byte_serialize(&bytes).collect(),
            // `%` itself is always escaped (`%25`), so `%20` in the output is a space.
            Encoding::PythonPlus => percent_encode(&bytes, RFC3986)
                .to_string()
                .replace("%20", "+"),
            Encoding::Rfc3986 => percent_encode(&bytes, RFC3986).to_string(),
            Encoding::UriComponent => percent_encode(&bytes, URI_COMPONENT).to_string(),
        }
    }

    fn diagnosis(self) -> (&'static str, &'static str) {
        match self {
            Encoding::Form => ("values_url_encoded", "the signature covers form-encoded values (space as '+', as Java URLEncoder or URLSearchParams write them); sign the raw values, then URL-encode them for sending"),
            Encoding::PythonPlus => ("values_url_encoded", "the signature covers form-encoded values (space as '+', as Python's quote_plus writes them); sign the raw values, then URL-encode them for sending"),
            Encoding::Rfc3986 => ("values_percent_encoded", "the signature covers values percent-encoded per RFC 3986 (space as %20, as Python's quote(v, safe='') or PHP rawurlencode write them); sign the raw values, then URL-encode them for sending"),
            Encoding::UriComponent => ("values_uri_component_encoded", "the signature covers values encoded with JavaScript's encodeURIComponent; sign the raw values, then URL-encode them for sending"),
        }
    }
}

/// The signature that failed and the keys around it.
pub(super) struct Signed<'a> {
    /// The key the request was checked with.
    pub key: &'a VerifyingKey,
    /// The key that signs the caller's answers.
    pub platform: &'a SigningKey,
    /// The request's sign type.
    pub sign_type: SignType,
    /// The `sign` received.
    pub sign: &'a str,
}

/// One candidate string-to-sign, built as a careless client would.
struct Variant {
    code: &'static str,
    message: String,
    content: String,
}

/// Joins `name=value` pairs with `&`.
fn join<N: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (N, V)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{}={}", name.as_ref(), value.as_ref()))
        .collect::<Vec<_>>()
        .join("&")
}

/// The pairs a correct client signs: all but `sign`, no empty values, sorted by name.
fn signed_pairs(params: &Params) -> Vec<(&str, &str)> {
    params
        .iter()
        .filter(|(name, value)| *name != "sign" && !name.is_empty() && !value.is_empty())
        .collect()
}

/// The correct pairs with one value replaced.
fn replaced<'a>(pairs: &[(&'a str, &'a str)], name: &str, value: &'a str) -> String {
    join(
        pairs
            .iter()
            .map(|&(n, v)| (n, if n == name { value } else { v })),
    )
}

/// The candidate mistakes on the content, most common first.
fn variants(request: Examined<'_>, budget: &mut Budget) -> Vec<Variant> {
    let params = request.params;
    let pairs = signed_pairs(params);
    let correct = join(pairs.iter().copied());
    let mut out: Vec<Variant> = Vec::new();
    let mut add = |code, message: &str, content: String| {
        if content != correct && !out.iter().any(|v| v.content == content) {
            out.push(Variant {
                code,
                message: message.to_owned(),
                content,
            });
        }
    };
    add(
        "sign_type_omitted",
        "the signature covers the parameters without sign_type (the rule for verifying notifications, not for signing requests); keep sign_type in the signed string",
        join(pairs.iter().copied().filter(|(name, _)| *name != "sign_type")),
    );
    add(
        "empty_values_kept",
        "the signature covers parameters with empty values; leave out every parameter whose value is empty",
        join(params.iter().filter(|(name, _)| *name != "sign" && !name.is_empty())),
    );
    let charset = params.charset();
    for encoding in Encoding::ALL {
        let (code, message) = encoding.diagnosis();
        add(
            code,
            message,
            join(
                pairs
                    .iter()
                    .map(|(name, value)| (*name, encoding.encode(value, charset))),
            ),
        );
    }
    add(
        "not_sorted",
        "the signature covers the parameters in the order they were sent; sort them by name (ASCII order) before signing",
        join(
            params
                .in_received_order()
                .into_iter()
                .filter(|(name, value)| *name != "sign" && !name.is_empty() && !value.is_empty()),
        ),
    );
    let mut folded = pairs.clone();
    folded.sort_by_key(|(name, _)| name.to_ascii_lowercase());
    add(
        "sorted_ignoring_case",
        "the signature covers the parameters sorted without regard to case; sort by name in plain ASCII order (upper case before lower case)",
        join(folded),
    );
    if let Some(timestamp) = params.get("timestamp") {
        let swapped = if timestamp.contains(' ') {
            timestamp.replace(' ', "+")
        } else {
            timestamp.replace('+', " ")
        };
        add(
            "timestamp_plus_space",
            "the signature covers timestamp with '+' and space confused (a form-encoding slip); sign the timestamp as sent, 'yyyy-MM-dd HH:mm:ss'",
            replaced(&pairs, "timestamp", &swapped),
        );
    }
    if let Some(biz) = params.get("biz_content") {
        for reserialised in reserialised(biz) {
            add(
                "biz_content_reserialised",
                "the signature covers biz_content as JSON with other whitespace or key order than the text sent; sign exactly the biz_content string you send",
                replaced(&pairs, "biz_content", &reserialised),
            );
        }
        if let Some(plaintext) = request.plaintext {
            add(
                "signed_plaintext",
                "the signature covers the plaintext biz_content, but with encrypt_type=AES the gateway verifies the Base64 ciphertext that is sent; encrypt first, then sign the request as sent",
                replaced(&pairs, "biz_content", plaintext),
            );
        } else if let Some(ciphertext) = ciphertext_of_plain(request, biz, budget) {
            add(
                "signed_ciphertext",
                "the signature covers biz_content encrypted with the app's AES key, but the request sends it in plaintext without encrypt_type; send the ciphertext with encrypt_type=AES (or sign the plaintext you send)",
                replaced(&pairs, "biz_content", &ciphertext),
            );
        }
    }
    out
}

/// The ciphertext of a plaintext JSON `biz_content` sent without `encrypt_type` by an
/// app with an AES key: what a client that encrypted only for signing signed.
fn ciphertext_of_plain(request: Examined<'_>, biz: &str, budget: &mut Budget) -> Option<String> {
    let key = request.app.aes_key()?;
    if request.params.non_empty("encrypt_type").is_some()
        || serde_json::from_str::<Value>(biz).is_err()
    {
        return None;
    }
    let charset = request.params.charset();
    budget.aes(|| key.encrypt(&charset.encode(biz)))
}

/// `biz_content` parsed and written back compactly, in its own key order and sorted.
fn reserialised(biz: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<Value>(biz) else {
        return Vec::new();
    };
    let compact = value.to_string();
    let sorted = match serde_json::from_str::<std::collections::BTreeMap<String, Value>>(biz) {
        Ok(map) => serde_json::to_string(&map).unwrap_or_default(),
        Err(_) => String::new(),
    };
    [compact, sorted]
        .into_iter()
        .filter(|text| !text.is_empty() && text != biz)
        .collect()
}

/// Another key than the one checked that the caller may have signed with, and what it
/// means if it verifies.
struct KeyCandidate<'a> {
    key: &'a VerifyingKey,
    code: &'static str,
    message: String,
}

/// The wrong keys to try, most common first: the app's key of the other mode, then
/// other apps' keys (at most [`MAX_OTHER_APP_KEYS`]).
fn key_candidates<'a>(
    request: Examined<'a>,
    signed: &Signed<'_>,
    others: &'a [std::sync::Arc<crate::keyring::AppEntry>],
) -> Vec<KeyCandidate<'a>> {
    let app = request.app;
    let app_id = &app.app.app_id;
    let mut out = Vec::new();
    let cert_key = app.cert_mode().map(|c| &c.app_cert_key);
    let in_cert_mode = cert_key.is_some_and(|k| k.rsa() == signed.key.rsa());
    if in_cert_mode {
        if let Some(key) = app.public_key(signed.sign_type) {
            out.push(KeyCandidate {
                key,
                code: "key_not_of_app_cert",
                message: format!("signed with app {app_id}'s key-mode private key, which is not the key of its app certificate (app_cert_sn); in certificate mode sign with the private key the app certificate was issued for"),
            });
        }
    } else if let Some(key) = cert_key {
        out.push(KeyCandidate {
            key,
            code: "cert_params_missing",
            message: format!("signed with the private key of app {app_id}'s certificate but sent no app_cert_sn: in certificate mode send app_cert_sn and alipay_root_cert_sn (the SDK's certificate configuration), or sign with the key-mode key"),
        });
    }
    let mut other_keys = Vec::new();
    for other in others {
        let other_id = &other.app.app_id;
        if let Some(key) = other.public_key(signed.sign_type) {
            other_keys.push(KeyCandidate {
                key,
                code: "other_app_key",
                message: format!(
                    "signed with the private key of app {other_id}; sign with the key of app {app_id}"
                ),
            });
        }
        if let Some(c) = other.cert_mode() {
            other_keys.push(KeyCandidate {
                key: &c.app_cert_key,
                code: "other_app_cert_key",
                message: format!("signed with the private key of app {other_id}'s app certificate; sign with the key of app {app_id}'s own certificate"),
            });
        }
    }
    out.extend(other_keys.into_iter().take(MAX_OTHER_APP_KEYS));
    // A key equal to the one checked (or to an earlier candidate) cannot tell anything.
    let mut seen = vec![signed.key.rsa().clone()];
    out.retain(|c| {
        let new = !seen.contains(c.key.rsa());
        seen.push(c.key.rsa().clone());
        new
    });
    out
}

/// The signature family's finding, or `None`.
pub(super) fn diagnose(
    request: Examined<'_>,
    signed: &Signed<'_>,
    budget: &mut Budget,
) -> Option<Diagnosis> {
    let params = request.params;
    let (key, sign_type, sign) = (signed.key, signed.sign_type, signed.sign);
    let charset = params.charset();
    let correct = join(signed_pairs(params));
    let encoded = charset.encode(&correct);
    let other = sign_type.other();
    if budget.verify(key, other, &encoded, sign) {
        return Some(Diagnosis::new(
            "wrong_hash",
            format!("signed with {other}'s hash while sign_type says {sign_type}; use the hash that sign_type names (RSA2: SHA256withRSA, RSA: SHA1withRSA)"),
        ));
    }
    if params.has_non_ascii()
        && budget.verify(key, sign_type, &charset.other().encode(&correct), sign)
    {
        return Some(Diagnosis::new(
            "charset_mismatch",
            format!(
                "signed over the parameters encoded in {} while charset says {}; encode the string to sign in the charset the request names",
                charset.other().label(),
                charset.label()
            ),
        ));
    }
    if budget.verify(&signed.platform.verifying_key(), sign_type, &encoded, sign) {
        return Some(Diagnosis::new(
            "platform_key",
            "signed with the platform (Alipay) private key; sign requests with the app's own private key",
        ));
    }
    let mut others = request.keyring.all();
    others.retain(|entry| entry.app.app_id != request.app.app.app_id);
    others.sort_by(|a, b| a.app.app_id.cmp(&b.app.app_id));
    for candidate in key_candidates(request, signed, &others) {
        if budget.verify(candidate.key, sign_type, &encoded, sign) {
            return Some(Diagnosis::new(candidate.code, candidate.message));
        }
    }
    variants(request, budget).into_iter().find_map(|variant| {
        budget
            .verify(key, sign_type, &charset.encode(&variant.content), sign)
            .then(|| Diagnosis::new(variant.code, variant.message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_encoding_writes_what_its_library_writes() {
        let utf8 = Charset::utf8();
        let gbk = Charset::from_label("GBK").unwrap();
        // Expected outputs as Java URLEncoder, Python quote_plus / quote(safe=""), and
        // JavaScript encodeURIComponent print them for this value.
        let value = "a b*~!'()张";
        assert_eq!(
            Encoding::Form.encode(value, &utf8),
            "a+b*%7E%21%27%28%29%E5%BC%A0"
        );
        assert_eq!(
            Encoding::PythonPlus.encode(value, &utf8),
            "a+b%2A~%21%27%28%29%E5%BC%A0"
        );
        assert_eq!(
            Encoding::Rfc3986.encode(value, &utf8),
            "a%20b%2A~%21%27%28%29%E5%BC%A0"
        );
        assert_eq!(
            Encoding::UriComponent.encode(value, &utf8),
            "a%20b*~!'()%E5%BC%A0"
        );
        // In the request charset: 张 is D5C5 in GBK.
        assert_eq!(Encoding::Rfc3986.encode("张 ", &gbk), "%D5%C5%20");
        assert_eq!(Encoding::PythonPlus.encode("100% ", &utf8), "100%25+");
    }
}
