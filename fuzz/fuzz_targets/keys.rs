//! Key parsing (PEM / bare Base64, PKCS#1 / PKCS#8 / SPKI): no input panics, and a key
//! that parses survives being written out and read again.
#![no_main]

use alipay_mock::keys::{self, KeyPairText};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
