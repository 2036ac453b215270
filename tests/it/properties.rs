//! Properties of the wire format, checked on generated requests (proptest):
//! - parameters form-encoded as an SDK encodes them parse back to the same map, in UTF-8,
//!   GBK and GB2312;
//! - the sign content drops `sign` and empty values and sorts by name;
//! - changing any byte of any signed parameter makes verification fail (issue 12, item 2).
//!
//! Case counts are small so `cargo test` stays quick: RSA signing runs once per request
//! and each signed request is then mutated many times.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use alipay_mock::crypto::{self, SignType};
use alipay_mock::internals::verify_request;
use alipay_mock::internals::{AppEntry, KeyRing};
use alipay_mock::keys;
use alipay_mock::protocol::charset::Charset;
use alipay_mock::protocol::params::{Params, RawRequest};
use alipay_mock::protocol::sign_content::sign_content;
use alipay_mock::App;
use encoding_rs::{GB18030, GBK};
use proptest::prelude::*;
use rsa::RsaPrivateKey;

use crate::support::{APP_PRIVATE_KEY, APP_PUBLIC_KEY, PLATFORM_PRIVATE_KEY};

/// The charsets a request may name.
const CHARSETS: [&str; 3] = ["utf-8", "gbk", "gb2312"];

/// Every BMP character the GBK encoder writes as GBK bytes (not as `&#NNNN;`) and the
/// gateway's GB18030 decoder reads back unchanged.
fn gbk_repertoire() -> &'static [char] {
    static POOL: OnceLock<Vec<char>> = OnceLock::new();
    POOL.get_or_init(|| {
        (0u32..=0xffff)
            .filter_map(char::from_u32)
            .filter(|c| {
                let text = c.to_string();
                let (bytes, _, unmappable) = GBK.encode(&text);
                !unmappable && GB18030.decode_without_bom_handling(&bytes).0 == text
            })
            .collect()
    })
}

/// ASCII and the characters of GB2312's two-byte area (rows A1-F7, cells A1-FE), read
/// with the GB18030 decoder; unassigned cells (decoded to private use) left out.
fn gb2312_repertoire() -> &'static [char] {
    static POOL: OnceLock<Vec<char>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool: Vec<char> = (0u8..0x80).map(char::from).collect();
        for lead in 0xa1u8..=0xf7 {
            for trail in 0xa1u8..=0xfe {
                let bytes = [lead, trail];
                let (text, had_errors) = GB18030.decode_without_bom_handling(&bytes);
                let mut chars = text.chars();
                if let (Some(c), None, false) = (chars.next(), chars.next(), had_errors) {
                    if !('\u{e000}'..='\u{f8ff}').contains(&c) {
                        pool.push(c);
                    }
                }
            }
        }
        pool
    })
}

/// Text of up to `max` characters encodable in `charset`.
fn text_in(charset: &'static str, max: usize) -> BoxedStrategy<String> {
    let chars: BoxedStrategy<char> = match charset {
        "utf-8" => any::<char>().boxed(),
        "gbk" => prop::sample::select(gbk_repertoire()).boxed(),
        _ => prop::sample::select(gb2312_repertoire()).boxed(),
    };
    prop::collection::vec(chars, 0..=max)
        .prop_map(|chars| chars.into_iter().collect())
        .boxed()
}

/// A charset and a parameter map in it (no `charset` key: the request sets that).
fn params_in_a_charset() -> impl Strategy<Value = (&'static str, BTreeMap<String, String>)> {
    prop::sample::select(&CHARSETS[..]).prop_flat_map(|charset| {
        let map = prop::collection::btree_map(text_in(charset, 6), text_in(charset, 12), 0..8)
            .prop_map(|mut map| {
                map.remove("charset");
                map
            });
        (Just(charset), map)
    })
}

/// Form-encodes pairs as Java's `URLEncoder.encode(v, charset)` does: bytes in the
/// charset, `%XX` escapes, `+` for space.
fn form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, charset: &str) -> String {
    let encode = encoder(charset);
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.encoding_override(Some(&encode));
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

/// The charset's encoder in the shape `form_urlencoded` takes.
fn encoder(charset: &str) -> impl Fn(&str) -> std::borrow::Cow<'_, [u8]> {
    let charset = Charset::from_label(charset).unwrap();
    move |s: &str| std::borrow::Cow::Owned(charset.encode(s).into_owned())
}

/// Percent-encodes raw pairs byte for byte.
fn form_bytes(pairs: &[(Vec<u8>, Vec<u8>)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let k: String = form_urlencoded::byte_serialize(k).collect();
            let v: String = form_urlencoded::byte_serialize(v).collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn parse(query: &str, body: &str) -> Params {
    Params::parse(RawRequest {
        query: Some(query.as_bytes()),
        body: body.as_bytes(),
        content_type: Some("application/x-www-form-urlencoded"),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parameters_parse_back_to_what_an_sdk_encoded((charset, map) in params_in_a_charset(),
                                                    split in 0usize..8) {
        // As the Java and Python SDKs send: charset and some parameters in the query,
        // the rest in the body.
        let (query, body): (Vec<_>, Vec<_>) = map
            .iter()
            .enumerate()
            .partition(|(i, _)| *i < split);
        let query = form(
            std::iter::once(("charset", charset))
                .chain(query.into_iter().map(|(_, (k, v))| (k.as_str(), v.as_str()))),
            charset,
        );
        let body = form(body.into_iter().map(|(_, (k, v))| (k.as_str(), v.as_str())), charset);
        let params = parse(&query, &body);
        let mut expected = map.clone();
        expected.insert("charset".to_owned(), charset.to_owned());
        let parsed: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        prop_assert_eq!(parsed, expected);
        prop_assert_eq!(params.charset().label(), charset);
    }

    #[test]
    fn the_sign_content_drops_sign_and_empty_values_and_sorts_by_name(
        map in prop::collection::btree_map(
            prop_oneof![Just("sign".to_owned()), Just(String::new()), "[a-z_]{1,6}".prop_map(String::from), any::<String>()],
            prop_oneof![Just(String::new()), any::<String>()],
            0..10,
        )
    ) {
        let params = Params::from_pairs(map.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut expected: Vec<(&String, &String)> = map
            .iter()
            .filter(|(k, v)| k.as_str() != "sign" && !k.is_empty() && !v.is_empty())
            .collect();
        // Java's TreeMap order: UTF-16 code units.
        expected.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        let expected = expected
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let content = sign_content(&params);
        prop_assert_eq!(&content.text, &expected);
        prop_assert_eq!(content.bytes, expected.into_bytes());
        prop_assert!(content.well_formed);
    }
}

struct Keys {
    private: RsaPrivateKey,
    public: alipay_mock::crypto::VerifyingKey,
    app: AppEntry,
}

fn fixture_keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let ring =
            KeyRing::new(keys::parse_private_key(PLATFORM_PRIVATE_KEY).unwrap(), None).unwrap();
        let app: App = serde_json::from_value(serde_json::json!({
            "app_id": "2014072300007148",
            "public_keys": {"RSA2": APP_PUBLIC_KEY},
        }))
        .unwrap();
        let app = ring.prepare(app).unwrap();
        Keys {
            private: keys::parse_private_key(APP_PRIVATE_KEY).unwrap(),
            public: keys::parse_public_key(APP_PUBLIC_KEY).unwrap().into(),
            app,
        }
    })
}

/// Parameters as received: percent-decoded name and value bytes, in order.
type RawPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A request in a charset, before signing: ASCII names (so the signer's order is plain),
/// non-empty values in the charset's repertoire, sorted by name, `charset` among them.
fn request_to_sign() -> impl Strategy<Value = RawPairs> {
    prop::sample::select(&CHARSETS[..]).prop_flat_map(|charset| {
        let value = text_in(charset, 10).prop_filter("non-empty", |v| !v.is_empty());
        let map =
            prop::collection::btree_map("[a-z_]{1,8}", value, 1..6).prop_map(move |mut map| {
                map.remove("sign");
                map.insert("charset".to_owned(), charset.to_owned());
                let encoding = Charset::from_label(charset).unwrap();
                map.iter()
                    .map(|(k, v)| (k.clone().into_bytes(), encoding.encode(v).into_owned()))
                    .collect::<Vec<_>>()
            });
        map
    })
}

/// One byte change: which pair, which byte of name-then-value, XORed with what (never 0).
fn mutation() -> impl Strategy<Value = (prop::sample::Index, prop::sample::Index, u8)> {
    (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        1u8..,
    )
}

fn verifies(pairs: &[(Vec<u8>, Vec<u8>)], sign: &str) -> bool {
    let keys = fixture_keys();
    let params = parse(&form_bytes(pairs), "");
    verify_request(&params, &keys.app, &keys.public, SignType::Rsa2, sign)
        .result
        .is_ok()
}

proptest! {
    // 64 RSA signatures, each request then changed 32 times.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_byte_change_to_a_signed_parameter_fails_verification(
        pairs in request_to_sign(),
        mutations in prop::collection::vec(mutation(), 32),
    ) {
        // The SDK signs `name=value&…` (sorted; pairs are in name order) in the charset.
        let content = pairs
            .iter()
            .map(|(k, v)| [k.as_slice(), b"=", v.as_slice()].concat())
            .collect::<Vec<_>>()
            .join(&b'&');
        let sign = crypto::sign(&fixture_keys().private, SignType::Rsa2, &content).unwrap();
        prop_assert!(verifies(&pairs, &sign), "the unchanged request verifies");
        for (pair, byte, flip) in mutations {
            let mut changed = pairs.clone();
            let (name, value) = pair.get_mut(&mut changed);
            let at = byte.index(name.len() + value.len());
            if at < name.len() {
                name[at] ^= flip;
            } else {
                value[at - name.len()] ^= flip;
            }
            prop_assert!(!verifies(&changed, &sign), "verified after a change: {changed:?}");
        }
    }
}
