//! The fuzz targets' bodies (`fuzz/fuzz_targets/`, run by `scripts/fuzz.sh` under
//! libFuzzer). They live in the crate, not beside the targets, so that every build
//! compiles them against today's internals and `cargo test` runs them (the property
//! tests below, on random inputs): a target can no longer rot unnoticed between fuzzing
//! sessions. Each function takes one fuzz input, must never panic on it, and asserts
//! what the parser it drives promises. Not a public API.

use std::sync::OnceLock;

use serde::{de::DeserializeOwned, Serialize};

use crate::clock::{Clock, ClockSetting};
use crate::control::faults::FaultConfig;
use crate::control::scenarios::{Scenario, ScenarioRequest};
use crate::crypto::SignType;
use crate::fixtures::{FixtureSource, Fixtures};
use crate::keyring::KeyRing;
use crate::keys::{self, KeyPairText};
use crate::methods::{self, Builtin, Call, Method};
use crate::model::{App, Authorization, Identity};
use crate::protocol::params::{Params, RawRequest};
use crate::protocol::sign_content::{quoted_for_sub_msg, sign_content};
use crate::store::{Store, StoreLocation};

const CONTENT_TYPES: [Option<&str>; 7] = [
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/x-www-form-urlencoded;charset=GBK"),
    Some("application/x-www-form-urlencoded; charset=\"utf-8\""),
    Some("application/x-www-form-urlencoded;charset=latin1"),
    Some("application/json"),
    Some("multipart/form-data; boundary=x"),
];

/// One fuzz input as a `gateway.do` request. The first byte picks the Content-Type; the
/// rest is the query and the body separated by the first NUL (a NUL never occurs in a
/// form an SDK writes, so every query/body pair stays reachable). With selector 7 a
/// second NUL ends a free-form Content-Type taken from the input.
pub fn request(data: &[u8]) -> RawRequest<'_> {
    let Some((&selector, rest)) = data.split_first() else {
        return RawRequest::default();
    };
    let (query, body) = split_nul(rest);
    match CONTENT_TYPES.get(usize::from(selector % 8)) {
        Some(content_type) => RawRequest {
            query: Some(query),
            body,
            content_type: *content_type,
        },
        None => {
            let (content_type, body) = split_nul(body);
            RawRequest {
                query: Some(query),
                body,
                content_type: std::str::from_utf8(content_type).ok(),
            }
        }
    }
}

fn split_nul(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == 0) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}

/// Parameter parsing: query + form body + charset resolution never panics, and what it
/// answers is self-consistent.
pub fn params(data: &[u8]) {
    let params = Params::parse(request(data));
    let charset = params.charset().clone();
    if params.unsupported_charset().is_some() {
        assert!(charset.is_utf8(), "an unsupported charset decodes as UTF-8");
    }
    let mut count = 0;
    for param in params.entries() {
        count += 1;
        // The value the gateway acts on is the one decoded from the bytes it verifies.
        assert_eq!(params.get(param.name), Some(param.value));
        assert_eq!(charset.decode(param.raw_name), param.name);
        assert_eq!(charset.decode(param.raw_value), param.value);
        assert_eq!(param.value.is_empty(), param.raw_value.is_empty());
        assert_eq!(
            params.non_empty(param.name).is_some(),
            !param.value.is_empty()
        );
    }
    assert_eq!(count, params.iter().count());
    let _ = params.has_non_ascii();
}

/// The sign content: decodes to its text when well formed, and neither a leading `sign`
/// nor a trailing empty parameter changes it.
pub fn sign_content_of(data: &[u8]) {
    const EMPTY: &str = "zz_fuzz_empty";
    let raw = request(data);
    let params = Params::parse(raw);
    let content = sign_content(&params);
    if content.well_formed {
        assert_eq!(params.charset().decode(&content.bytes), content.text);
    }
    assert!(!quoted_for_sub_msg(&content.text).contains("&&"));
    // An empty parameter is only added when no parameter has its name yet (else the
    // empty one would win in the query and drop the other).
    let mut padded = b"sign=zz%2B&".to_vec();
    padded.extend_from_slice(raw.query.unwrap_or_default());
    if params.get(EMPTY).is_none() {
        padded.extend_from_slice(format!("&{EMPTY}=").as_bytes());
    }
    let again = sign_content(&Params::parse(RawRequest {
        query: Some(&padded),
        ..raw
    }));
    assert_eq!(again, content);
}

/// A store seeded from the embedded fixtures, and a key ring, shared by every input.
fn seeded() -> Option<&'static (Store, KeyRing)> {
    static SEEDED: OnceLock<Option<(Store, KeyRing)>> = OnceLock::new();
    SEEDED
        .get_or_init(|| {
            let store = Store::open(&StoreLocation::Ephemeral).ok()?;
            let fixtures = Fixtures::load(&FixtureSource::Embedded).ok()?;
            store.seed_if_empty(&fixtures).ok()?;
            let key = crate::builtin_keys::signing_key(&fixtures.platform_private_key).ok()?;
            let keyring = KeyRing::with_platform_key(key, None).ok()?;
            Some((store, keyring))
        })
        .as_ref()
}

/// `zhima.auth.info.authquery`'s `biz_content` and identity reading, through the
/// methods' entry points against the seeded store: every success node is JSON.
pub fn biz_content(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (store, keyring) = seeded().expect("the embedded fixtures seed a temporary store");
    let params = Params::parse(RawRequest::default());
    let biz = Method::Builtin(Builtin::ZhimaAuthInfoAuthquery).read(Some(text));
    // A fresh memo: every input reaches the store reads.
    let answers = methods::auth_query::AnswerMemo::default();
    let call = Call {
        app_id: "2014072300007148",
        biz: &biz,
        keyring,
        params: &params,
        text: Some(text),
        now: time::OffsetDateTime::UNIX_EPOCH,
        sign_type: SignType::Rsa2,
        answers: &answers,
    };
    let is_json = |answered: methods::Answered| {
        if let Ok(node) = answered.node {
            assert!(
                serde_json::from_str::<serde_json::Value>(&node).is_ok(),
                "{node}"
            );
        }
    };
    is_json(methods::answer(store, call));
    let _ = methods::identity_of(store, call);
    for authorized in [true, false] {
        is_json(methods::forced_answer(store, call, authorized, None));
    }
}

/// Key parsing: a key that parses encodes, and its encodings parse back to it.
pub fn keys(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(private) = keys::parse_private_key(&text) {
        let pair = KeyPairText::from_private(&private).expect("a parsed key encodes");
        assert_eq!(
            keys::parse_private_key(&pair.private_pkcs8_pem).ok(),
            Some(private.clone())
        );
        assert_eq!(
            keys::parse_private_key(&pair.private_pkcs1_pem).ok(),
            Some(private)
        );
    }
    if let Ok(public) = keys::parse_public_key(&text) {
        let pem = keys::public_pem(&public).expect("a parsed key encodes");
        assert_eq!(keys::parse_public_key(&pem).ok(), Some(public.clone()));
        assert_eq!(
            keys::parse_public_key(&KeyPairText::bare(&pem)).ok(),
            Some(public)
        );
    }
}

fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).expect("a parsed record serialises");
    let back: T = serde_json::from_str(&json).expect("a serialised record parses");
    assert_eq!(&back, value, "{json}");
}

/// The admin API's JSON bodies (the first byte picks the record): whatever parses
/// serialises and parses back to itself.
pub fn admin_json(data: &[u8]) {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    match selector % 5 {
        0 => {
            if let Ok(app) = serde_json::from_slice::<App>(json) {
                round_trips(&app);
            }
        }
        1 => {
            if let Ok(identity) = serde_json::from_slice::<Identity>(json) {
                let _ = identity.validate();
                round_trips(&identity);
            }
        }
        2 => {
            if let Ok(auth) = serde_json::from_slice::<Authorization>(json) {
                round_trips(&auth);
            }
        }
        3 => {
            if let Ok(request) = serde_json::from_slice::<ScenarioRequest>(json) {
                round_trips(&request);
                let now = time::OffsetDateTime::now_utc();
                let business = methods::business_error;
                if let Ok(scenario) = request.into_scenario("s1".into(), now, business) {
                    round_trips::<Scenario>(&scenario);
                }
            }
        }
        _ => {
            if let Ok(config) = serde_json::from_slice::<FaultConfig>(json) {
                if config.validate().is_ok() {
                    round_trips(&config);
                }
            }
        }
    }
}

/// A clock setting and a scenario (split at the first NUL): a validated clock's time
/// formats, and a scenario made at that time serialises and reads back.
pub fn clock_scenario(data: &[u8]) {
    let (clock_body, scenario_body) = split_nul(data);
    let clock = Clock::default();
    if let Ok(setting) = serde_json::from_slice::<ClockSetting>(clock_body) {
        if setting.validate().is_ok() {
            clock.set(setting);
            let utc = clock
                .now()
                .checked_to_offset(time::UtcOffset::UTC)
                .expect("a validated clock's now has a UTC form");
            time::serde::rfc3339::serialize(&utc, serde_json::value::Serializer)
                .expect("a validated clock's now formats as RFC 3339");
            serde_json::to_string(&setting).expect("a validated setting serialises");
        }
    }
    if let Ok(request) = serde_json::from_slice::<ScenarioRequest>(scenario_body) {
        let business = methods::business_error;
        if let Ok(scenario) = request.into_scenario("s1".into(), clock.now(), business) {
            let json = serde_json::to_string(&scenario).expect("a scenario serialises");
            let _: Scenario = serde_json::from_str(&json).expect("a scenario reads back");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Inputs shaped like the targets' seeds (fuzz/seeds.py), so the random cases get
    /// past the first byte and the first NUL.
    fn shaped() -> impl Strategy<Value = Vec<u8>> {
        let form = "[a-z_]{1,8}=[%A-Za-z0-9+{}\":,]{0,16}(&[a-z_]{1,8}=[%A-Za-z0-9+]{0,8}){0,4}";
        (any::<u8>(), form, proptest::option::of(form)).prop_map(|(selector, query, body)| {
            let mut data = vec![selector];
            data.extend_from_slice(query.as_bytes());
            if let Some(body) = body {
                data.push(0);
                data.extend_from_slice(body.as_bytes());
            }
            data
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn the_request_targets_hold_on_random_and_form_shaped_input(
            random in proptest::collection::vec(any::<u8>(), 0..256),
            form in shaped(),
        ) {
            for data in [&random, &form] {
                params(data);
                sign_content_of(data);
            }
        }

        #[test]
        fn the_json_targets_hold_on_random_and_json_shaped_input(
            selector in any::<u8>(),
            key in "[a-z_]{1,12}",
            value in "[ -~]{0,24}",
            random in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            let json = format!(r#"{{"{key}":"{value}","cert_no":"{value}","app_id":"{value}"}}"#);
            let mut shaped = vec![selector];
            shaped.extend_from_slice(json.as_bytes());
            for data in [&shaped, &random] {
                admin_json(data);
                clock_scenario(data);
                biz_content(data.get(1..).unwrap_or_default());
                keys(data);
            }
        }
    }
}
