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

use std::ops::Range;

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

/// The most pairs [`Params::parse`] reserves room for before reading them: a request of
/// every SDK has fewer than this.
const PAIRS_RESERVED: usize = 64;

/// Where one received pair's name and value are in [`Params::raw`]: percent-decoded
/// but still in the request charset.
#[derive(Debug, Clone)]
struct RawPair {
    name: Range<usize>,
    value: Range<usize>,
}

/// The merged, decoded request parameters.
///
/// Held in two buffers rather than a string per parameter (issue 21: parsing was a
/// dozen allocations per parameter): every received pair's percent-decoded bytes back
/// to back in `raw`, and the decoded text of each name's winning occurrence in `text`.
#[derive(Debug, Clone)]
pub struct Params {
    /// The percent-decoded bytes of every received pair, in arrival order.
    raw: Vec<u8>,
    /// Every received pair, query first, in arrival order.
    pairs: Vec<RawPair>,
    /// The decoded names and values of the winners.
    text: String,
    /// One per decoded name, sorted by name.
    winners: Vec<Decoded>,
    charset: Charset,
    unsupported_charset: Option<String>,
}

/// The decoded name and value of the occurrence that won a name, and where its bytes are.
#[derive(Debug, Clone)]
struct Decoded {
    /// In `Params::text`.
    name: Range<usize>,
    /// In `Params::text`.
    value: Range<usize>,
    /// Index into `Params::pairs` of the pair the value was decoded from.
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

/// Splits `input` into `&`-separated pairs and appends each one's form-decoded name and
/// value to `raw`.
fn split_pairs(input: &[u8], raw: &mut Vec<u8>, pairs: &mut Vec<RawPair>) {
    for pair in input.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (
                pair.get(..i).unwrap_or_default(),
                pair.get(i + 1..).unwrap_or_default(),
            ),
            None => (pair, &[][..]),
        };
        let name = form_decode(name, raw);
        let value = form_decode(value, raw);
        pairs.push(RawPair { name, value });
    }
}

/// Appends `bytes` form-decoded (`+` is a space, `%XX` a byte) to `raw`; returns where.
/// The runs between escapes are copied whole, and each escape is decoded by
/// `percent_encoding` itself: a `%` it does not decode (not followed by two hex digits)
/// stays as it is, exactly as its decoder leaves it.
fn form_decode(bytes: &[u8], raw: &mut Vec<u8>) -> Range<usize> {
    let start = raw.len();
    let mut rest = bytes;
    while let Some(at) = memchr::memchr2(b'%', b'+', rest) {
        let (run, tail) = rest.split_at(at);
        raw.extend_from_slice(run);
        match tail {
            [b'+', after @ ..] => {
                raw.push(b' ');
                rest = after;
            }
            _ => {
                // Three bytes decoding to one is an escape; anything else is a lone `%`.
                let mut decoded = percent_decode(tail.get(..3).unwrap_or(tail));
                if let (Some(byte), None) = (decoded.next(), decoded.next()) {
                    raw.push(byte);
                    rest = tail.get(3..).unwrap_or_default();
                } else {
                    raw.push(b'%');
                    rest = tail.get(1..).unwrap_or_default();
                }
            }
        }
    }
    raw.extend_from_slice(rest);
    start..raw.len()
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
        let body = if body_is_form(request.content_type) {
            request.body
        } else {
            &[]
        };
        let query = request.query.unwrap_or_default();
        let mut raw = Vec::with_capacity(query.len() + body.len());
        // At most one pair per `&`, plus one on each side; a body of nothing but `&`
        // reserves no more than a real request needs, and grows from there.
        let separators =
            memchr::memchr_iter(b'&', query).count() + memchr::memchr_iter(b'&', body).count();
        let mut pairs = Vec::with_capacity((separators + 2).min(PAIRS_RESERVED));
        split_pairs(query, &mut raw, &mut pairs);
        let from_query = pairs.len();
        split_pairs(body, &mut raw, &mut pairs);
        let named_charset = |pairs: &[RawPair]| {
            pairs
                .iter()
                .find(|pair| raw.get(pair.name.clone()) == Some(&b"charset"[..]))
                .and_then(|pair| raw.get(pair.value.clone()))
                .filter(|value| !value.is_empty())
                .map(|value| String::from_utf8_lossy(value).into_owned())
        };
        let (query_pairs, body_pairs) = pairs.split_at(from_query);
        let label = named_charset(query_pairs)
            .or_else(|| named_charset(body_pairs))
            .or_else(|| content_type_charset(request.content_type).map(str::to_owned));
        let (charset, unsupported_charset) = match label {
            None => (Charset::utf8(), None),
            Some(label) => match Charset::from_label(&label) {
                Some(charset) => (charset, None),
                None => (Charset::utf8(), Some(label)),
            },
        };
        Params::decode(raw, pairs, charset, unsupported_charset)
    }

    /// Builds parameters directly from decoded pairs (tests and embedders).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        let mut raw = Vec::new();
        let mut raw_pairs = Vec::new();
        for (name, value) in pairs {
            let start = raw.len();
            raw.extend_from_slice(name.as_bytes());
            let middle = raw.len();
            raw.extend_from_slice(value.as_bytes());
            raw_pairs.push(RawPair {
                name: start..middle,
                value: middle..raw.len(),
            });
        }
        Params::decode(raw, raw_pairs, Charset::utf8(), None)
    }

    /// Decodes the pairs in order; the first occurrence of a decoded name wins. Names are
    /// compared after decoding because that is what the gateway looks parameters up by:
    /// two byte strings that decode alike (malformed bytes, GB18030's two spellings of
    /// `€`) are one parameter, and the bytes of the winner are the ones verified.
    fn decode(
        raw: Vec<u8>,
        pairs: Vec<RawPair>,
        charset: Charset,
        unsupported_charset: Option<String>,
    ) -> Params {
        let mut text = String::with_capacity(raw.len());
        let mut winners: Vec<Decoded> = Vec::with_capacity(pairs.len());
        for (index, pair) in pairs.iter().enumerate() {
            let name_bytes = raw.get(pair.name.clone()).unwrap_or_default();
            let (name, name_ok) = charset.decode_checked(name_bytes);
            let name_start = text.len();
            text.push_str(&name);
            let name_range = name_start..text.len();
            let (value, value_ok) =
                charset.decode_checked(raw.get(pair.value.clone()).unwrap_or_default());
            text.push_str(&value);
            winners.push(Decoded {
                name: name_range.clone(),
                value: name_range.end..text.len(),
                raw: index,
                well_formed: name_ok && value_ok,
            });
        }
        // Every pair is decoded, then sorted by name (stable: a name's pairs stay in the
        // order received) and all but the first of each name dropped. A check against
        // the winners so far, pair by pair, was quadratic: a 1 MiB body of distinct names
        // held a CPU worker for minutes before any signature check.
        winners.sort_by(|a, b| text.get(a.name.clone()).cmp(&text.get(b.name.clone())));
        winners
            .dedup_by(|later, first| text.get(later.name.clone()) == text.get(first.name.clone()));
        Params {
            raw,
            pairs,
            text,
            winners,
            charset,
            unsupported_charset,
        }
    }

    fn name_of(&self, d: &Decoded) -> &str {
        self.text.get(d.name.clone()).unwrap_or_default()
    }

    fn value_of(&self, d: &Decoded) -> &str {
        self.text.get(d.value.clone()).unwrap_or_default()
    }

    /// The value of a parameter, `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        let at = self
            .winners
            .binary_search_by(|d| self.name_of(d).cmp(name))
            .ok()?;
        self.winners.get(at).map(|d| self.value_of(d))
    }

    /// The value of a parameter, `None` when absent or empty (Alipay treats both alike).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// All parameters, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.winners
            .iter()
            .map(|d| (self.name_of(d), self.value_of(d)))
    }

    /// All parameters, sorted by decoded name, each with the bytes of the occurrence that
    /// won its name (query before body, first before later) — the same occurrence whose
    /// value [`Params::get`] returns, so the bytes a signature covers are the bytes the
    /// gateway acts on.
    pub fn entries(&self) -> impl Iterator<Item = Param<'_>> {
        self.winners.iter().filter_map(|d| {
            // `decode` took every index and range from these same buffers, so `get`
            // always finds them; `filter_map` keeps the request path free of indexing
            // panics all the same.
            let pair = self.pairs.get(d.raw)?;
            Some(Param {
                name: self.name_of(d),
                value: self.value_of(d),
                raw_name: self.raw.get(pair.name.clone())?,
                raw_value: self.raw.get(pair.value.clone())?,
                well_formed: d.well_formed,
            })
        })
    }

    /// All parameters (the occurrence that won each name) in the order they arrived:
    /// the query first, then the body.
    pub fn in_received_order(&self) -> Vec<(&str, &str)> {
        let mut winners: Vec<&Decoded> = self.winners.iter().collect();
        winners.sort_by_key(|d| d.raw);
        winners
            .into_iter()
            .map(|d| (self.name_of(d), self.value_of(d)))
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
        !self.raw.is_ascii()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

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
    fn the_winning_occurrence_keeps_its_own_percent_decoded_bytes() {
        let p = parse("charset=GBK&n=%D5%C5+%C8%FD", "n=other&a=x%2By+z&b", None);
        let entries: Vec<_> = p
            .entries()
            .map(|e| (e.name, e.value, e.raw_value.to_vec()))
            .collect();
        assert_eq!(
            entries,
            vec![
                ("a", "x+y z", b"x+y z".to_vec()),
                ("b", "", Vec::new()),
                ("charset", "GBK", b"GBK".to_vec()),
                ("n", "张 三", vec![0xD5, 0xC5, b' ', 0xC8, 0xFD]),
            ]
        );
        assert_eq!(
            p.in_received_order(),
            vec![
                ("charset", "GBK"),
                ("n", "张 三"),
                ("a", "x+y z"),
                ("b", "")
            ]
        );
        assert!(p.has_non_ascii());
    }

    #[test]
    fn malformed_escapes_stay_as_percent_decoding_leaves_them() {
        for sent in [
            "%",
            "%4",
            "%zz",
            "%%41",
            "a%4+",
            "%E5%BC%A0+%",
            "100%+sure%2",
        ] {
            let expected: Vec<u8> =
                Cow::<[u8]>::from(percent_decode(&sent.replace('+', " ").into_bytes())).into();
            let p = parse(&format!("v={sent}"), "", None);
            let got = p.entries().next().map(|e| e.raw_value.to_vec());
            assert_eq!(got, Some(expected), "{sent}");
        }
    }

    #[test]
    fn first_duplicate_wins_within_a_side() {
        assert_eq!(parse("a=1&a=2", "", None).get("a"), Some("1"));
        // Among many names, a repeated one still keeps its first value and its bytes.
        let p = parse("b=1&a=1&c=1&a=2&b=2&a=3", "", None);
        assert_eq!(
            (p.get("a"), p.get("b"), p.get("c")),
            (Some("1"), Some("1"), Some("1"))
        );
        let raw: Vec<_> = p.entries().map(|e| (e.name, e.raw_value)).collect();
        assert_eq!(raw, [("a", &b"1"[..]), ("b", b"1"), ("c", b"1")]);
    }

    /// Regression: the first-occurrence check compared each name with every earlier one,
    /// so a 1 MiB body of distinct names (about 260,000) cost ~3×10^10 comparisons,
    /// minutes of a CPU worker, before any signature check. 200,000 distinct names and
    /// repeats of some of them now parse at once, each the first value received.
    #[test]
    fn a_body_of_many_distinct_names_parses_whole_and_keeps_first_values() {
        let names: Vec<String> = (0..200_000).map(|n| format!("n{n}")).collect();
        let mut body: Vec<String> = names.iter().map(|n| format!("{n}=first")).collect();
        body.extend(names.iter().step_by(1_000).map(|n| format!("{n}=later")));
        let p = parse("", &body.join("&"), None);
        assert_eq!(p.iter().count(), 200_000);
        assert_eq!(p.get("n0"), Some("first"));
        assert_eq!(p.get("n199999"), Some("first"));
        assert_eq!(p.get("n1000"), Some("first"));
    }
}
