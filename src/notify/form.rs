//! The wire form of a notification (docs/protocol.md §9): the common fields the
//! platform adds, the string the signature covers, the signature and the
//! `application/x-www-form-urlencoded` body in the notification's charset. Pure: no I/O.
//!
//! The sign content of a notification differs from a request's: `sign` **and**
//! `sign_type` are left out (the official Node SDK's `checkNotifySign` verifies without
//! `sign_type` when the first try with it fails; `python-alipay-sdk`'s `verify` pops it;
//! the official Python SDK's documented receiver pops it). Parameters with an empty
//! value are not sent at all: the Node SDK and `python-alipay-sdk` would sign `name=`
//! while Alipay's rule drops empty values, so a notification that carries none verifies
//! under both rules.

use time::OffsetDateTime;

use crate::crypto::{self, SignError, SignType, SigningKey};
use crate::protocol::charset::Charset;
use crate::protocol::sign_content::java_order;

/// The `version` every notification carries.
pub const VERSION: &str = "1.0";

/// Common fields the gateway sets itself; a notification's `params` may not give them.
pub const RESERVED: [&str; 4] = ["app_id", "charset", "sign_type", "sign"];

/// Common fields the gateway sets unless `params` gives them (a test may pin them).
pub const OVERRIDABLE: [&str; 3] = ["notify_id", "notify_time", "version"];

/// A notification's wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Every parameter sent, `sign` last, in body order.
    pub params: Vec<(String, String)>,
    /// The string the signature covers, as text.
    pub sign_content: String,
    /// The form body, percent-encoded in the charset.
    pub body: String,
}

/// Why a notification cannot be put on the wire.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// A parameter (named) holds a character the charset cannot write.
    #[error("params.{0}: holds a character {1} cannot represent")]
    NotRepresentable(String, String),
    /// The RSA backend refused.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// `notify_time`'s format: Beijing time, `yyyy-MM-dd HH:mm:ss`, as Alipay writes it.
pub fn beijing_time(at: OffsetDateTime) -> String {
    let beijing = at.to_offset(time::macros::offset!(+8));
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    // The format has no component a valid date can fail to write.
    beijing.format(&format).unwrap_or_default()
}

/// The parameters a notification sends before signing: the business `params` plus the
/// common fields (`notify_id`, `notify_time`, `version` unless `params` pins them;
/// `app_id`, `charset`, `sign_type` always), empty values dropped, sorted as the sign
/// content is.
pub fn with_common_fields(
    params: &[(String, String)],
    notify_id: &str,
    notify_time: OffsetDateTime,
    app_id: &str,
    charset: &Charset,
    sign_type: SignType,
) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = params
        .iter()
        .filter(|(name, value)| !value.is_empty() && !RESERVED.contains(&name.as_str()))
        .cloned()
        .collect();
    let has = |all: &[(String, String)], name: &str| all.iter().any(|(n, _)| n == name);
    for (name, value) in [
        ("notify_id", notify_id.to_owned()),
        ("notify_time", beijing_time(notify_time)),
        ("version", VERSION.to_owned()),
    ] {
        if !has(&all, name) {
            all.push((name.to_owned(), value));
        }
    }
    all.push(("app_id".to_owned(), app_id.to_owned()));
    all.push(("charset".to_owned(), charset.label().to_owned()));
    all.push(("sign_type".to_owned(), sign_type.as_str().to_owned()));
    all.sort_by(|a, b| java_order(&a.0, &b.0));
    all
}

/// The sign content of a notification: every parameter but `sign` and `sign_type`,
/// empty values dropped, sorted by name (Java `String` order), `name=value` joined by
/// `&`, values as they are (not URL-encoded).
pub fn sign_content(params: &[(String, String)]) -> String {
    let mut included: Vec<&(String, String)> = params
        .iter()
        .filter(|(name, value)| name != "sign" && name != "sign_type" && !value.is_empty())
        .collect();
    included.sort_by(|a, b| java_order(&a.0, &b.0));
    let mut content = String::new();
    for (i, (name, value)) in included.into_iter().enumerate() {
        if i > 0 {
            content.push('&');
        }
        content.push_str(name);
        content.push('=');
        content.push_str(value);
    }
    content
}

/// Signs the parameters (over the sign content encoded in `charset`) and writes the
/// form body in `charset`.
pub fn sign_and_encode(
    params: Vec<(String, String)>,
    key: &SigningKey,
    sign_type: SignType,
    charset: &Charset,
) -> Result<Signed, FormError> {
    for (name, value) in &params {
        if charset.encode_exact(name).is_none() || charset.encode_exact(value).is_none() {
            return Err(FormError::NotRepresentable(
                name.clone(),
                charset.label().to_owned(),
            ));
        }
    }
    let content = sign_content(&params);
    // Checked above: every name and value is representable, so the join is too.
    let bytes = charset.encode(&content);
    let sign = crypto::sign(key, sign_type, &bytes)?;
    let mut params = params;
    params.push(("sign".to_owned(), sign));
    let encode: &dyn Fn(&str) -> std::borrow::Cow<'_, [u8]> = &|text| charset.encode(text);
    let body = form_urlencoded::Serializer::new(String::new())
        .encoding_override(Some(encode))
        .extend_pairs(params.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .finish();
    Ok(Signed {
        params,
        sign_content: content,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn platform_key() -> SigningKey {
        let pem = include_str!("../../fixtures/keys/alipay_private_key.pem");
        SigningKey::new(crate::keys::parse_private_key(pem).unwrap())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_sign_content_leaves_out_sign_and_sign_type_and_empty_values_and_sorts() {
        let params = pairs(&[
            ("trade_status", "TRADE_SUCCESS"),
            ("sign_type", "RSA2"),
            ("sign", "abc"),
            ("body", ""),
            ("app_id", "2014072300007148"),
            ("subject", "a=b&c"),
        ]);
        assert_eq!(
            sign_content(&params),
            "app_id=2014072300007148&subject=a=b&c&trade_status=TRADE_SUCCESS"
        );
    }

    #[test]
    fn notify_time_is_beijing_time_without_a_zone() {
        assert_eq!(
            beijing_time(datetime!(2026-01-01 23:30:05 UTC)),
            "2026-01-02 07:30:05"
        );
    }

    #[test]
    fn common_fields_are_added_reserved_ones_replaced_and_pinned_ones_kept() {
        let params = pairs(&[
            ("out_trade_no", "T1"),
            ("notify_time", "2020-01-01 00:00:00"),
            ("app_id", "someone-else"),
            ("memo", ""),
        ]);
        let all = with_common_fields(
            &params,
            "nid",
            datetime!(2026-01-01 0:00 UTC),
            "2014072300007148",
            &Charset::utf8(),
            SignType::Rsa2,
        );
        assert_eq!(
            all,
            pairs(&[
                ("app_id", "2014072300007148"),
                ("charset", "utf-8"),
                ("notify_id", "nid"),
                ("notify_time", "2020-01-01 00:00:00"),
                ("out_trade_no", "T1"),
                ("sign_type", "RSA2"),
                ("version", "1.0"),
            ])
        );
    }

    #[test]
    fn a_gbk_body_is_percent_encoded_gbk_and_the_signature_covers_gbk_bytes() {
        let key = platform_key();
        let gbk = Charset::from_label("GBK").unwrap();
        let params = pairs(&[("subject", "大乐透 2.1"), ("sign_type", "RSA2")]);
        let signed = sign_and_encode(params, &key, SignType::Rsa2, &gbk).unwrap();
        // 大 is B4F3, 乐 C0D6, 透 CDB8 in GBK; a space is `+` in a form body.
        assert!(
            signed
                .body
                .starts_with("subject=%B4%F3%C0%D6%CD%B8+2.1&sign_type=RSA2&sign="),
            "{}",
            signed.body
        );
        let sign = &signed.params.last().unwrap().1;
        let gbk_bytes = [
            b"subject=".as_slice(),
            &[0xB4, 0xF3, 0xC0, 0xD6, 0xCD, 0xB8],
            b" 2.1",
        ]
        .concat();
        let public = key.verifying_key();
        assert!(crypto::verify(&public, SignType::Rsa2, &gbk_bytes, sign));
        assert!(!crypto::verify(
            &public,
            SignType::Rsa2,
            "subject=大乐透 2.1".as_bytes(),
            sign
        ));
    }

    #[test]
    fn a_character_gbk_cannot_write_is_refused_naming_the_parameter() {
        let key = platform_key();
        let gbk = Charset::from_label("gbk").unwrap();
        let err =
            sign_and_encode(pairs(&[("subject", "😀")]), &key, SignType::Rsa, &gbk).unwrap_err();
        assert_eq!(
            err.to_string(),
            "params.subject: holds a character gbk cannot represent"
        );
    }
}
