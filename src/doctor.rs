//! The signature doctor: when a request's signature does not verify, it tries the
//! mistakes developers make most — another app's key, the platform key, `sign_type` left
//! out, empty values kept, values URL-encoded, parameters not sorted or sorted ignoring
//! case, `+` for the space in `timestamp`, `biz_content` re-serialised, the wrong hash,
//! the wrong charset — against the received signature, and names the first that
//! verifies. The wire answer stays exactly the real gateway's; the diagnosis goes to the
//! journal and to the `X-Alipay-Mock-Diagnosis` response header only.
//!
//! Bounded: at most [`MAX_VERIFICATIONS`] signature checks per failed request. Only an
//! explanation: nothing here ever makes a request pass.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::crypto::{self, SignType, SigningKey, VerifyingKey};
use crate::keyring::{AppEntry, KeyRing};
use crate::protocol::charset::Charset;
use crate::protocol::params::Params;

/// The most signature checks one failed request may cost.
pub const MAX_VERIFICATIONS: usize = 24;

/// The most other apps whose keys are tried.
const MAX_OTHER_APPS: usize = 8;

/// What the caller most likely did wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// A stable name for the mistake (`sign_type_omitted`, `other_app_key`, …).
    pub code: String,
    /// What was found and what to do, in plain ASCII English (it travels in a header).
    pub message: String,
}

impl Diagnosis {
    fn new(code: &str, message: impl Into<String>) -> Diagnosis {
        Diagnosis {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// The `X-Alipay-Mock-Diagnosis` header value: `code: message`.
    pub fn header_value(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }
}

/// One candidate string-to-sign, built as a careless client would.
struct Variant {
    code: &'static str,
    message: &'static str,
    content: String,
}

/// Counts the signature checks spent, refusing past the bound.
struct Budget(usize);

impl Budget {
    fn verify(&mut self, key: &VerifyingKey, sign_type: SignType, data: &[u8], sign: &str) -> bool {
        if self.0 >= MAX_VERIFICATIONS {
            return false;
        }
        self.0 += 1;
        crypto::verify(key, sign_type, data, sign)
    }
}

/// Joins `name=value` pairs with `&`.
fn join<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
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

/// The candidate mistakes on the content, most common first.
fn variants(params: &Params) -> Vec<Variant> {
    let pairs = signed_pairs(params);
    let correct = join(pairs.iter().copied());
    let mut out = Vec::new();
    let mut add = |code, message, content: String| {
        if content != correct && !out.iter().any(|v: &Variant| v.content == content) {
            out.push(Variant {
                code,
                message,
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
    add(
        "values_url_encoded",
        "the signature covers URL-encoded values; sign the raw values, then URL-encode them for sending",
        join_owned(pairs.iter().map(|(name, value)| (name.to_string(), url_encoded(value, charset)))),
    );
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
            join(pairs.iter().map(|&(name, value)| {
                (name, if name == "timestamp" { swapped.as_str() } else { value })
            })),
        );
    }
    if let Some(biz) = params.get("biz_content") {
        for reserialised in reserialised(biz) {
            add(
                "biz_content_reserialised",
                "the signature covers biz_content as JSON with other whitespace or key order than the text sent; sign exactly the biz_content string you send",
                join(pairs.iter().map(|&(name, value)| {
                    (name, if name == "biz_content" { reserialised.as_str() } else { value })
                })),
            );
        }
    }
    out
}

fn join_owned(pairs: impl IntoIterator<Item = (String, String)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A value as a form encoder writes it in the request charset.
fn url_encoded(value: &str, charset: &Charset) -> String {
    form_urlencoded::byte_serialize(&charset.encode(value)).collect()
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

/// Finds what the caller most likely did wrong, or `None` when no tried mistake
/// explains the signature. `public_key` is the key the request was checked with;
/// `platform_key` signs the caller's answers (the certificate's key in certificate mode).
pub fn diagnose(
    params: &Params,
    app: &AppEntry,
    platform_key: &SigningKey,
    keyring: &KeyRing,
    public_key: &VerifyingKey,
    sign_type: SignType,
    sign: &str,
) -> Option<Diagnosis> {
    let mut budget = Budget(0);
    let charset = params.charset();
    let correct = join(signed_pairs(params));
    let encoded = charset.encode(&correct);
    let other = sign_type.other();
    if budget.verify(public_key, other, &encoded, sign) {
        return Some(Diagnosis::new(
            "wrong_hash",
            format!("signed with {other}'s hash while sign_type says {sign_type}; use the hash that sign_type names (RSA2: SHA256withRSA, RSA: SHA1withRSA)"),
        ));
    }
    if params.has_non_ascii()
        && budget.verify(
            public_key,
            sign_type,
            &charset.other().encode(&correct),
            sign,
        )
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
    let platform = platform_key.verifying_key();
    if budget.verify(&platform, sign_type, &encoded, sign) {
        return Some(Diagnosis::new(
            "platform_key",
            "signed with the platform (Alipay) private key; sign requests with the app's own private key",
        ));
    }
    let mut others = keyring.all();
    others.retain(|entry| entry.app.app_id != app.app.app_id);
    others.sort_by(|a, b| a.app.app_id.cmp(&b.app.app_id));
    for other_app in others.into_iter().take(MAX_OTHER_APPS) {
        if let Some(key) = other_app.public_key(sign_type) {
            if key.rsa() != public_key.rsa() && budget.verify(key, sign_type, &encoded, sign) {
                return Some(Diagnosis::new(
                    "other_app_key",
                    format!(
                        "signed with the private key of app {}; sign with the key of app {}",
                        other_app.app.app_id, app.app.app_id
                    ),
                ));
            }
        }
    }
    variants(params).into_iter().find_map(|variant| {
        budget
            .verify(
                public_key,
                sign_type,
                &charset.encode(&variant.content),
                sign,
            )
            .then(|| Diagnosis::new(variant.code, variant.message))
    })
}
