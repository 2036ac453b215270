//! One parameter map from the URL query and the form body, decoded in the request charset.
//!
//! Both sides are `application/x-www-form-urlencoded`: `+` is a space and `%XX` are bytes
//! in the request charset (Java's `URLEncoder.encode(v, charset)`, Python's
//! `quote_plus(v, encoding=charset)`). The gateway percent-decodes to bytes first and only
//! then decodes the bytes, so GBK requests survive. Where a name is on both sides the query
//! wins, and within one side the first occurrence wins (servlet `getParameter`).
//!
//! The percent-decoded bytes of each winning occurrence are kept beside its decoded text:
//! the signature is verified over those bytes (`sign_content`), never over the text
//! encoded again.

use std::borrow::Cow;
use std::collections::BTreeMap;

use percent_encoding::percent_decode;

use super::charset::Charset;

/// The request before decoding: the raw query, the raw body and its declared type.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawRequest<'a> {
    /// The URL query after `?`, still percent-encoded; `None` when there is none.
    pub query: Option<&'a [u8]>,
    /// The request body as received.
    pub body: &'a [u8],
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
}

/// Name and value, percent-decoded but still in the request charset.
type RawPair = (Vec<u8>, Vec<u8>);

/// The merged, decoded request parameters.
#[derive(Debug, Clone)]
pub struct Params {
    map: BTreeMap<String, Decoded>,
    charset: Charset,
    unsupported_charset: Option<String>,
    raw: Vec<RawPair>,
}

/// The decoded value of the occurrence that won a name, and where its bytes are.
#[derive(Debug, Clone)]
struct Decoded {
    value: String,
    /// Index into `Params::raw` of the pair the value was decoded from.
    raw: usize,
    /// Whether name and value were well formed in the charset.
    well_formed: bool,
}

/// One parameter as the gateway acts on it, beside the bytes it was received as.
///
/// Signature verification covers `raw_name`/`raw_value` (what the client sent); `name`
/// and `value` are for display and for the gateway's own decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The decoded name.
    pub name: &'a str,
    /// The decoded value.
    pub value: &'a str,
    /// The name as received, percent-decoded, in the request charset.
    pub raw_name: &'a [u8],
    /// The value as received, percent-decoded, in the request charset.
    pub raw_value: &'a [u8],
    /// Whether both raw name and value were well formed in the request charset.
    pub well_formed: bool,
}

fn split_pairs(input: &[u8]) -> impl Iterator<Item = RawPair> + '_ {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            (form_decode(name), form_decode(value))
        })
}

fn form_decode(bytes: &[u8]) -> Vec<u8> {
    // Copied once: a value without `+` is decoded straight from the request, and
    // `percent_decode` copies the runs between escapes whole (issue 21: this was a
    // byte-at-a-time copy of every value, twice).
    let spaced: Cow<'_, [u8]> = if bytes.contains(&b'+') {
        Cow::Owned(
            bytes
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(bytes)
    };
    Cow::<[u8]>::from(percent_decode(&spaced)).into_owned()
}

/// Whether the body is a form the gateway reads. A missing Content-Type counts as a form
/// (some HTTP clients omit it); JSON, multipart and anything else are not parameters.
fn body_is_form(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(ct) => {
            let mime = ct.split(';').next().unwrap_or("").trim();
            mime.is_empty() || mime.eq_ignore_ascii_case("application/x-www-form-urlencoded")
        }
    }
}

/// The `charset=` parameter of a Content-Type header, if any.
fn content_type_charset(content_type: Option<&str>) -> Option<&str> {
    content_type?.split(';').skip(1).find_map(|part| {
        let (name, value) = part.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

impl Params {
    /// Merges and decodes a request's parameters.
    ///
    /// Charset resolution: query `charset`, then body `charset`, then the Content-Type's
    /// `charset=`, then UTF-8. An unsupported charset is remembered (see
    /// [`Params::unsupported_charset`]) and the parameters are decoded as UTF-8 so the
    /// error can still name the method.
    pub fn parse(request: RawRequest<'_>) -> Params {
        let query: Vec<RawPair> = request
            .query
            .map(|q| split_pairs(q).collect())
            .unwrap_or_default();
        let body: Vec<RawPair> = if body_is_form(request.content_type) {
            split_pairs(request.body).collect()
        } else {
            Vec::new()
        };
        let named_charset = |pairs: &[RawPair]| {
            pairs
                .iter()
                .find(|(name, _)| name == b"charset")
                .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
                .filter(|value| !value.is_empty())
        };
        let label = named_charset(&query)
            .or_else(|| named_charset(&body))
            .or_else(|| content_type_charset(request.content_type).map(str::to_owned));
        let (charset, unsupported_charset) = match label {
            None => (Charset::utf8(), None),
            Some(label) => match Charset::from_label(&label) {
                Some(charset) => (charset, None),
                None => (Charset::utf8(), Some(label)),
            },
        };
        let mut raw = query;
        raw.extend(body);
        let map = decode_all(&raw, &charset);
        Params {
            map,
            charset,
            unsupported_charset,
            raw,
        }
    }

    /// Builds parameters directly from decoded pairs (tests and embedders).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        let raw: Vec<RawPair> = pairs
            .into_iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        let charset = Charset::utf8();
        Params {
            map: decode_all(&raw, &charset),
            charset,
            unsupported_charset: None,
            raw,
        }
    }

    /// The value of a parameter, `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(|d| d.value.as_str())
    }

    /// The value of a parameter, `None` when absent or empty (Alipay treats both alike).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// All parameters, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, d)| (k.as_str(), d.value.as_str()))
    }

    /// All parameters, sorted by decoded name, each with the bytes of the occurrence that
    /// won its name (query before body, first before later) — the same occurrence whose
    /// value [`Params::get`] returns, so the bytes a signature covers are the bytes the
    /// gateway acts on.
    pub fn entries(&self) -> impl Iterator<Item = Param<'_>> {
        self.map.iter().filter_map(|(name, d)| {
            // `decode_all` took every index from this same `raw`, so `raw.get` always finds
            // it; `filter_map` keeps the request path free of indexing panics all the same.
            let (raw_name, raw_value) = self.raw.get(d.raw)?;
            Some(Param {
                name,
                value: &d.value,
                raw_name,
                raw_value,
                well_formed: d.well_formed,
            })
        })
    }

    /// All parameters (the occurrence that won each name) in the order they arrived:
    /// the query first, then the body.
    pub fn in_received_order(&self) -> Vec<(&str, &str)> {
        let mut pairs: Vec<(usize, &str, &str)> = self
            .map
            .iter()
            .map(|(name, d)| (d.raw, name.as_str(), d.value.as_str()))
            .collect();
        pairs.sort_by_key(|(index, _, _)| *index);
        pairs
            .into_iter()
            .map(|(_, name, value)| (name, value))
            .collect()
    }

    /// The charset the parameters were decoded with (UTF-8 when the request named an
    /// unsupported one).
    pub fn charset(&self) -> &Charset {
        &self.charset
    }

    /// The charset label the request named when the gateway does not support it.
    pub fn unsupported_charset(&self) -> Option<&str> {
        self.unsupported_charset.as_deref()
    }

    /// Whether any parameter carries bytes outside ASCII (only then can the charset matter).
    pub fn has_non_ascii(&self) -> bool {
        self.raw
            .iter()
            .any(|(name, value)| !name.is_ascii() || !value.is_ascii())
    }
}

/// Decodes the pairs in order; the first occurrence of a decoded name wins. Names are
/// compared after decoding because that is what the gateway looks parameters up by: two
/// byte strings that decode alike (malformed bytes, GB18030's two spellings of `€`) are
/// one parameter, and the bytes of the winner are the ones verified.
fn decode_all(raw: &[RawPair], charset: &Charset) -> BTreeMap<String, Decoded> {
    let mut map = BTreeMap::new();
    for (index, (name, value)) in raw.iter().enumerate() {
        let (name, name_ok) = charset.decode_checked(name);
        map.entry(name.into_owned()).or_insert_with(|| {
            let (value, value_ok) = charset.decode_checked(value);
            Decoded {
                value: value.into_owned(),
                raw: index,
                well_formed: name_ok && value_ok,
            }
        });
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str, body: &str, content_type: Option<&str>) -> Params {
        Params::parse(RawRequest {
            query: Some(query.as_bytes()),
            body: body.as_bytes(),
            content_type,
        })
    }

    #[test]
    fn query_and_body_merge_and_the_query_wins() {
        let p = parse(
            "a=1&b=2",
            "b=3&c=4",
            Some("application/x-www-form-urlencoded"),
        );
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(p.get("c"), Some("4"));
    }

    #[test]
    fn plus_is_space_and_percent_is_bytes() {
        let p = parse("t=2014-07-24+03%3A07%3A50&s=a%2Bb%3D", "", None);
        assert_eq!(p.get("t"), Some("2014-07-24 03:07:50"));
        assert_eq!(p.get("s"), Some("a+b="));
    }

    #[test]
    fn gbk_percent_bytes_decode_when_the_query_says_gbk() {
        let p = parse("charset=GBK", "name=%D5%C5%C8%FD", None);
        assert_eq!(p.get("name"), Some("张三"));
        assert_eq!(p.charset().label(), "GBK");
    }

    #[test]
    fn charset_falls_back_to_body_then_content_type() {
        let p = parse("", "charset=gbk&n=%D5%C5", None);
        assert_eq!(p.charset().label(), "gbk");
        let p = parse(
            "",
            "n=%D5%C5%C8%FD",
            Some("application/x-www-form-urlencoded; charset=GB2312"),
        );
        assert_eq!(p.charset().label(), "GB2312");
        assert_eq!(p.get("n"), Some("张三"));
        let p = parse("", "", None);
        assert!(p.charset().is_utf8());
    }

    #[test]
    fn an_unsupported_charset_is_reported_and_utf8_is_used() {
        let p = parse("charset=latin1&method=x", "", None);
        assert_eq!(p.unsupported_charset(), Some("latin1"));
        assert_eq!(p.get("method"), Some("x"));
    }

    #[test]
    fn json_and_multipart_bodies_are_not_parameters() {
        assert_eq!(parse("", "a=1", Some("application/json")).get("a"), None);
        assert_eq!(
            parse("", "a=1", Some("multipart/form-data; boundary=x")).get("a"),
            None
        );
    }

    #[test]
    fn empty_values_and_valueless_names_are_kept_as_empty() {
        let p = parse("a=&b&&c=1", "", None);
        assert_eq!(p.get("a"), Some(""));
        assert_eq!(p.get("b"), Some(""));
        assert_eq!(p.non_empty("a"), None);
        assert_eq!(p.non_empty("c"), Some("1"));
    }

    #[test]
    fn first_duplicate_wins_within_a_side() {
        assert_eq!(parse("a=1&a=2", "", None).get("a"), Some("1"));
    }
}
