//! The fast RSA backend (AWS-LC, behind `crypto::SigningKey` / `crypto::VerifyingKey`)
//! against the reference (`rsa` crate, plain `RsaPrivateKey` / `RsaPublicKey`): the same
//! PKCS#1 v1.5 signatures byte for byte, and the same verdict on every input, valid or
//! not, over the fixture keys and freshly generated ones of several sizes.

use alipay_mock::crypto::{self, PrivateKey, PublicKey, SignType, SigningKey, VerifyingKey};
use alipay_mock::keys;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;

const FIXTURE_KEYS: &[&str] = &[
    include_str!("../../fixtures/keys/alipay_private_key.pem"),
    include_str!("../../fixtures/keys/app_private_key.pem"),
    include_str!("../../fixtures/keys/app_private_key_pkcs1.pem"),
    include_str!("../../fixtures/keys/hostile_private_key.pem"),
];

/// The fixture keys, then generated keys: two 2048-bit (the size Alipay issues), one
/// 3072-bit, and one 1024-bit (old apps; AWS-LC verifies but does not sign with it).
fn keys() -> Vec<RsaPrivateKey> {
    let mut all: Vec<RsaPrivateKey> = FIXTURE_KEYS
        .iter()
        .map(|pem| keys::parse_private_key(pem).unwrap())
        .collect();
    let mut rng = rand::thread_rng();
    for bits in [2048, 2048, 3072, 1024] {
        all.push(RsaPrivateKey::new(&mut rng, bits).unwrap());
    }
    all
}

fn messages() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"a=1&b=2".to_vec(),
        // GBK bytes of a response node, as signed for a GBK request.
        b"{\"code\":\"40004\",\"sub_msg\":\"\xb8\xc3\xd5\xcb\xba\xc5\"}".to_vec(),
        vec![b'x'; 10_000],
    ]
}

/// Invalid variants of a valid signature: every way a client or an attacker can get the
/// bytes wrong that a backend might treat differently.
fn corruptions(signature: &[u8], modulus: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, at) in [
        ("first byte flipped", 0),
        ("last byte flipped", signature.len() - 1),
    ] {
        let mut s = signature.to_vec();
        s[at] ^= 0x01;
        out.push((name, s));
    }
    out.push(("truncated", signature[..signature.len() - 1].to_vec()));
    out.push(("first byte dropped", signature[1..].to_vec()));
    let mut padded = vec![0];
    padded.extend_from_slice(signature);
    out.push(("zero prepended", padded));
    let mut extended = signature.to_vec();
    extended.push(0);
    out.push(("zero appended", extended));
    out.push(("empty", Vec::new()));
    out.push(("all zeros", vec![0; signature.len()]));
    out.push(("one", {
        let mut s = vec![0; signature.len()];
        s[signature.len() - 1] = 1;
        s
    }));
    out.push(("all 0xff (above the modulus)", vec![0xff; signature.len()]));
    out.push(("the modulus itself", modulus.to_vec()));
    let mut below = modulus.to_vec();
    if let Some(last) = below.last_mut() {
        *last = last.wrapping_sub(1);
    }
    out.push(("modulus minus one", below));
    out
}

#[test]
fn both_backends_sign_byte_identically_and_accept_and_reject_the_same_inputs() {
    let keys = keys();
    let messages = messages();
    let mut checked = 0;
    for (i, reference) in keys.iter().enumerate() {
        let reference_public = reference.to_public_key();
        let fast = SigningKey::new(reference.clone());
        let fast_public = VerifyingKey::new(reference_public.clone());
        // Alipay's 2048-bit keys must take the fast path, or the test proves nothing.
        if reference.size() >= 256 {
            assert!(fast.is_fast(), "key {i}: AWS-LC refused a signing key");
        }
        assert!(fast_public.is_fast(SignType::Rsa2) && fast_public.is_fast(SignType::Rsa));
        let modulus = reference_public.n().to_bytes_be();
        // app_private_key.pem and its PKCS#1 twin are one key: take a different modulus.
        let other = keys.iter().find(|k| k.n() != reference.n()).unwrap();
        for sign_type in SignType::ALL {
            for message in &messages {
                let expected = reference.sign_raw(sign_type, message).unwrap();
                let signature = fast.sign_raw(sign_type, message).unwrap();
                assert_eq!(
                    signature, expected,
                    "key {i} {sign_type}: signatures differ"
                );
                assert!(fast_public.verify_raw(sign_type, message, &signature));
                assert!(reference_public.verify_raw(sign_type, message, &signature));

                let mut wrong: Vec<(&str, Vec<u8>)> = corruptions(&signature, &modulus);
                wrong.push((
                    "other sign type",
                    reference.sign_raw(sign_type.other(), message).unwrap(),
                ));
                wrong.push(("other key", other.sign_raw(sign_type, message).unwrap()));
                for (what, bytes) in &wrong {
                    let by_reference = reference_public.verify_raw(sign_type, message, bytes);
                    let by_fast = fast_public.verify_raw(sign_type, message, bytes);
                    assert_eq!(by_fast, by_reference, "key {i} {sign_type}: {what}");
                    assert!(!by_fast, "key {i} {sign_type}: {what} was accepted");
                    checked += 1;
                }
                let mut longer = message.clone();
                longer.push(b' ');
                assert!(!fast_public.verify_raw(sign_type, &longer, &signature));
                assert!(!reference_public.verify_raw(sign_type, &longer, &signature));
            }
        }
    }
    assert!(checked > 500);
}

#[test]
fn base64_signatures_match_through_the_public_functions() {
    let reference = keys::parse_private_key(FIXTURE_KEYS[0]).unwrap();
    let fast = SigningKey::new(reference.clone());
    let public = fast.verifying_key();
    for sign_type in SignType::ALL {
        let expected = crypto::sign(&reference, sign_type, "中文".as_bytes()).unwrap();
        let signature = crypto::sign(&fast, sign_type, "中文".as_bytes()).unwrap();
        assert_eq!(signature, expected);
        assert!(crypto::verify(
            &public,
            sign_type,
            "中文".as_bytes(),
            &signature
        ));
        assert!(crypto::verify(
            public.rsa(),
            sign_type,
            "中文".as_bytes(),
            &signature
        ));
        assert!(!crypto::verify(
            &public,
            sign_type,
            "中文".as_bytes(),
            "%%%"
        ));
    }
}
