//! The string a request signature covers (docs/protocol.md §2.2).
//!
//! Every received parameter but `sign` (so `sign_type` is in), parameters with an empty
//! value dropped, sorted by name, `name=value` joined by `&`, raw decoded values.
//!
//! The signature is verified over the bytes the client sent (percent-decoded), joined
//! by these rules — never over the decoded text encoded again. A decode/re-encode round
//! trip is not one-to-one: GB18030 decodes `%949%FC6` to 😀 and the GBK encoder writes
//! 😀 back as the text `&#128512;`, so a signature over one would cover the other. The
//! decoded text is kept beside the bytes for the journal and for `sub_msg`.

use std::cmp::Ordering;

use super::params::{Param, Params};

/// What a request signature covers, as bytes and as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignContent {
    /// The decoded string-to-sign: shown in the journal and quoted in `sub_msg`.
    pub text: String,
    /// The received bytes joined by the same rules: what the signature must cover.
    pub bytes: Vec<u8>,
    /// Whether every included parameter was well formed in the request charset. When it
    /// is not, the text holds replacement characters the client never signed, so a
    /// signature over `bytes` alone does not vouch for what the gateway acts on.
    pub well_formed: bool,
}

/// Whether a parameter takes part in the signature.
fn is_signed(param: &Param<'_>) -> bool {
    param.name != "sign" && !param.name.is_empty() && !param.value.is_empty()
}

/// Java's `String.compareTo` (the real gateway and the Java SDK sort with a `TreeMap`):
/// UTF-16 code units. It agrees with Rust's `str` order except for names mixing
/// characters above U+FFFF with ones in U+E000..U+FFFF. Names are compared decoded, not
/// as bytes: every SDK sorts strings and then encodes, and GBK byte order is not
/// Unicode order (啊 is B0A1 and 一 is D2BB, while U+554A > U+4E00).
pub(crate) fn java_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Builds the string-to-sign, as text and as the received bytes.
pub fn sign_content(params: &Params) -> SignContent {
    let mut included: Vec<Param<'_>> = params.entries().filter(is_signed).collect();
    // `entries` come sorted by UTF-8 bytes, which is Java's UTF-16 order as long as every
    // name is ASCII (the usual case): only other names need sorting again.
    if !included.iter().all(|param| param.name.is_ascii()) {
        included.sort_by(|a, b| java_order(a.name, b.name));
    }
    let length: usize = included
        .iter()
        .map(|param| param.name.len() + param.value.len() + 2)
        .sum();
    let mut content = SignContent {
        text: String::with_capacity(length),
        bytes: Vec::with_capacity(length),
        well_formed: true,
    };
    for (i, param) in included.iter().enumerate() {
        if i > 0 {
            content.text.push('&');
            content.bytes.push(b'&');
        }
        content.text.push_str(param.name);
        content.text.push('=');
        content.text.push_str(param.value);
        // `=` and `&` are the same single byte in UTF-8, GBK and GB18030.
        content.bytes.extend_from_slice(param.raw_name);
        content.bytes.push(b'=');
        content.bytes.extend_from_slice(param.raw_value);
        content.well_formed &= param.well_formed;
    }
    content
}

/// Builds the decoded string-to-sign (see [`sign_content`] for the bytes verified).
pub fn build_sign_content(params: &Params) -> String {
    sign_content(params).text
}

/// The sign content as the real gateway quotes it inside `sub_msg`: `&` written `&amp;`.
pub fn quoted_for_sub_msg(content: &str) -> String {
    content.replace('&', "&amp;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::params::RawRequest;

    #[test]
    fn sorts_by_name_and_excludes_sign_but_keeps_sign_type() {
        let params = Params::from_pairs([
            ("timestamp", "2014-07-24 03:07:50"),
            ("sign", "abc"),
            ("app_id", "2014072300007148"),
            ("sign_type", "RSA2"),
            ("method", "zhima.auth.info.authquery"),
        ]);
        assert_eq!(
            build_sign_content(&params),
            "app_id=2014072300007148&method=zhima.auth.info.authquery\
             &sign_type=RSA2&timestamp=2014-07-24 03:07:50"
        );
    }

    #[test]
    fn empty_values_are_dropped() {
        let params = Params::from_pairs([("b", ""), ("a", "1"), ("notify_url", ""), ("c", "3")]);
        assert_eq!(build_sign_content(&params), "a=1&c=3");
    }

    #[test]
    fn values_are_raw_not_url_encoded() {
        let params = Params::from_pairs([
            ("email", "test@msn.com"),
            ("biz_content", "{\"a\":\"b c\"}"),
        ]);
        assert_eq!(
            build_sign_content(&params),
            "biz_content={\"a\":\"b c\"}&email=test@msn.com"
        );
    }

    fn gbk(query: &str) -> Params {
        Params::parse(RawRequest {
            query: Some(query.as_bytes()),
            body: b"",
            content_type: None,
        })
    }

    #[test]
    fn the_bytes_are_the_received_bytes_not_the_text_encoded_again() {
        // Regression (issue 12, item 2): GB18030 `%949%FC6` is 😀, which the GBK encoder
        // writes as `&#128512;`; the two requests must not share a sign content.
        let emoji = sign_content(&gbk("charset=GBK&v=%94%39%FC%36"));
        let entity = sign_content(&gbk("charset=GBK&v=%26%23128512%3B"));
        assert_eq!(emoji.text, "charset=GBK&v=😀");
        assert_eq!(emoji.bytes, b"charset=GBK&v=\x94\x39\xfc\x36");
        assert_eq!(entity.text, "charset=GBK&v=&#128512;");
        assert_eq!(entity.bytes, b"charset=GBK&v=&#128512;");
        assert_ne!(emoji.bytes, entity.bytes);
        assert!(emoji.well_formed && entity.well_formed);
    }

    #[test]
    fn gbk_bytes_are_kept_as_sent() {
        let content = sign_content(&gbk("charset=gbk&name=%D5%C5%C8%FD"));
        assert_eq!(content.text, "charset=gbk&name=张三");
        assert_eq!(content.bytes, b"charset=gbk&name=\xd5\xc5\xc8\xfd");
    }

    #[test]
    fn bytes_not_in_the_charset_are_flagged() {
        let content = sign_content(&gbk("charset=utf-8&name=%D5%C5%C8%FD"));
        assert!(!content.well_formed);
        assert!(content.text.contains('\u{fffd}'));
    }

    #[test]
    fn non_ascii_names_sort_as_strings_not_as_gbk_bytes() {
        // 一 is U+4E00 (GBK D2BB) and 啊 is U+554A (GBK B0A1): an SDK sorts the strings,
        // so 一 comes first although its bytes sort after.
        let content = sign_content(&gbk("charset=gbk&%B0%A1=2&%D2%BB=1"));
        assert_eq!(content.text, "charset=gbk&一=1&啊=2");
        assert_eq!(content.bytes, b"charset=gbk&\xd2\xbb=1&\xb0\xa1=2".to_vec());
    }

    #[test]
    fn names_sort_in_java_utf16_order() {
        // U+FF21 < U+1F600 by code point, but 😀's UTF-16 lead surrogate D83D < FF21.
        let params = Params::from_pairs([("\u{ff21}", "a"), ("😀", "b")]);
        assert_eq!(build_sign_content(&params), "😀=b&\u{ff21}=a");
    }

    #[test]
    fn a_repeated_name_signs_the_occurrence_the_gateway_acts_on() {
        let params = Params::parse(RawRequest {
            query: Some(b"a=1&a=2"),
            body: b"a=3&b=4&b=5",
            content_type: None,
        });
        let content = sign_content(&params);
        assert_eq!((params.get("a"), params.get("b")), (Some("1"), Some("4")));
        assert_eq!(content.text, "a=1&b=4");
        assert_eq!(content.bytes, b"a=1&b=4");
    }

    #[test]
    fn names_that_decode_alike_are_one_parameter_with_the_first_bytes() {
        // GB18030 decodes both 0x80 and A2E3 to €.
        let params = gbk("charset=gbk&%80=first&%A2%E3=second");
        let content = sign_content(&params);
        assert_eq!(params.get("€"), Some("first"));
        assert_eq!(content.bytes, b"charset=gbk&\x80=first".to_vec());
    }

    #[test]
    fn sub_msg_quotes_ampersands_as_entities() {
        assert_eq!(quoted_for_sub_msg("a=1&b=2"), "a=1&amp;b=2");
    }
}
