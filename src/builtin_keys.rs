//! The private keys compiled into the binary — the fixtures' platform key, the default
//! platform certificate's key and the hostile key — parsed and converted for the fast
//! backend once per process, and shared by every gateway in it. Parsing one costs about a
//! millisecond (the `rsa` crate's precomputation, AWS-LC's key check), which was most of
//! an in-process start: a test suite starting a gateway per test pays it once (issue 21).
//! Any other key text is parsed afresh. The shared keys never change, so sharing them
//! changes nothing a gateway does.

use std::sync::{Arc, OnceLock};

use crate::crypto::SigningKey;
use crate::keys::{self, KeyError};

/// The compiled-in private keys, as the fixtures and the state hand them over.
const BUILTIN: [&str; 3] = [
    include_str!("../fixtures/keys/alipay_private_key.pem"),
    include_str!("../fixtures/certs/test_only_alipay_cert_private_key.pem"),
    include_str!("../fixtures/keys/hostile_private_key.pem"),
];

/// The key of the `wrong_key` hostile fault: no client is configured to trust it.
pub const HOSTILE_KEY: &str = BUILTIN[2];

/// A private key parsed from `text` (as [`keys::parse_private_key`] reads it) and ready
/// to sign: the process-wide copy when `text` is a compiled-in key.
pub fn signing_key(text: &str) -> Result<Arc<SigningKey>, KeyError> {
    static PARSED: [OnceLock<Arc<SigningKey>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let parse = |text: &str| keys::parse_private_key(text).map(|k| Arc::new(SigningKey::new(k)));
    let Some(at) = BUILTIN.iter().position(|builtin| *builtin == text) else {
        return parse(text);
    };
    if let Some(key) = PARSED[at].get() {
        return Ok(Arc::clone(key));
    }
    // Two first callers may both parse; one result is kept, and both are the same key.
    let key = parse(text)?;
    Ok(Arc::clone(PARSED[at].get_or_init(|| key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{FixtureSource, Fixtures};

    #[test]
    fn the_fixtures_platform_key_is_parsed_once_and_shared() {
        let fixtures = Fixtures::load(&FixtureSource::Embedded).unwrap();
        let first = signing_key(&fixtures.platform_private_key).unwrap();
        let second = signing_key(&fixtures.platform_private_key).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        let certs = fixtures.cert_defaults.unwrap();
        let cert_key = signing_key(&certs.platform_cert_private_key).unwrap();
        assert!(Arc::ptr_eq(
            &cert_key,
            &signing_key(&certs.platform_cert_private_key).unwrap()
        ));
        assert!(!Arc::ptr_eq(&first, &cert_key));
    }

    #[test]
    fn another_key_is_parsed_afresh_and_a_bad_one_is_refused() {
        let text = include_str!("../fixtures/keys/app_private_key.pem");
        let first = signing_key(text).unwrap();
        assert!(!Arc::ptr_eq(&first, &signing_key(text).unwrap()));
        assert!(signing_key("not a key").is_err());
    }
}
