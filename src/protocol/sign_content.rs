//! The string a request signature covers (docs/protocol.md §2.2).
//!
//! Every received parameter but `sign` (so `sign_type` is in), parameters with an empty
//! value dropped, sorted by name, `name=value` joined by `&`, raw decoded values. The
//! caller encodes it in the request charset before hashing.

use super::params::Params;

/// Builds the string-to-sign from the received parameters.
pub fn build_sign_content(params: &Params) -> String {
    let mut content = String::new();
    // `Params::iter` is sorted by name; all Alipay parameter names are ASCII, so String
    // order equals the byte order Java's TreeMap gives them.
    for (name, value) in params.iter() {
        if name == "sign" || name.is_empty() || value.is_empty() {
            continue;
        }
        if !content.is_empty() {
            content.push('&');
        }
        content.push_str(name);
        content.push('=');
        content.push_str(value);
    }
    content
}

/// The sign content as the real gateway quotes it inside `sub_msg`: `&` written `&amp;`.
pub fn quoted_for_sub_msg(content: &str) -> String {
    content.replace('&', "&amp;")
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn sub_msg_quotes_ampersands_as_entities() {
        assert_eq!(quoted_for_sub_msg("a=1&b=2"), "a=1&amp;b=2");
    }
}
