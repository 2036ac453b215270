//! RSA signatures as Alipay uses them: `RSA` = SHA1withRSA, `RSA2` = SHA256withRSA,
//! RSASSA-PKCS1-v1_5, standard Base64 with padding.
//!
//! The only module that touches an RSA backend for signing and verifying, so a backend
//! can change without the protocol code noticing. No I/O, no key parsing (see `keys`).
//!
//! Two backends give byte-identical answers (PKCS#1 v1.5 is deterministic; the test
//! `tests/it/crypto_backends.rs` proves it over the fixtures and generated keys):
//! - AWS-LC (`aws-lc-rs`), the fast one, for every key converted into a [`SigningKey`] or
//!   a [`VerifyingKey`]: RSA2 signing, and RSA and RSA2 verification.
//! - the pure-Rust `rsa` crate, for what AWS-LC does not do: SHA1withRSA signing (it signs
//!   only SHA-2), keys outside its sizes (signing below 2048 bits, verifying below 1024),
//!   and plain [`RsaPrivateKey`] / [`RsaPublicKey`] arguments (tests, the reference path).
//!
//! Keys are converted once, when an app is loaded or stored: [`SigningKey::new`] and
//! [`VerifyingKey::new`] do the work, signing and verifying only use it.

use aws_lc_rs::signature::{self as lc, ParsedPublicKey, RsaKeyPair};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The request parameter `sign_type`: which hash the RSA signature uses.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum SignType {
    /// `RSA`: SHA1withRSA.
    #[serde(rename = "RSA")]
    Rsa,
    /// `RSA2`: SHA256withRSA.
    #[serde(rename = "RSA2")]
    Rsa2,
}

impl SignType {
    /// Both sign types, RSA2 first (the one Alipay recommends).
    pub const ALL: [SignType; 2] = [SignType::Rsa2, SignType::Rsa];

    /// Parses the wire value; Alipay's SDKs all send it upper case.
    pub fn parse(value: &str) -> Option<SignType> {
        match value {
            "RSA2" => Some(SignType::Rsa2),
            "RSA" => Some(SignType::Rsa),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Rsa2 => "RSA2",
            SignType::Rsa => "RSA",
        }
    }

    /// The other sign type (used to explain a signature made with the wrong hash).
    pub fn other(self) -> SignType {
        match self {
            SignType::Rsa2 => SignType::Rsa,
            SignType::Rsa => SignType::Rsa2,
        }
    }

    fn digest(self, data: &[u8]) -> (Pkcs1v15Sign, Vec<u8>) {
        match self {
            SignType::Rsa2 => (Pkcs1v15Sign::new::<Sha256>(), Sha256::digest(data).to_vec()),
            SignType::Rsa => (Pkcs1v15Sign::new::<Sha1>(), Sha1::digest(data).to_vec()),
        }
    }
}

impl std::fmt::Display for SignType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Signing failed inside an RSA backend (only possible with a key too small for the hash).
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The `rsa` crate refused.
    #[error("RSA signing failed: {0}")]
    Rsa(#[from] rsa::Error),
    /// AWS-LC refused.
    #[error("RSA signing failed in AWS-LC")]
    Fast,
}

/// What identifies a key pair: the SHA-256 of its public key as PKCS#1 DER. The same key
/// parsed twice (a reset, an app stored again) has the same id.
pub type KeyId = [u8; 32];

/// The id of a public key; all zeros only if the key cannot be written as DER.
fn key_id(public: &RsaPublicKey) -> KeyId {
    public
        .to_pkcs1_der()
        .map(|der| Sha256::digest(der.as_bytes()).into())
        .unwrap_or_default()
}

/// A private key ready to sign: the `rsa` crate's key, and the same key converted once
/// for AWS-LC when AWS-LC can sign with it.
pub struct SigningKey {
    rsa: RsaPrivateKey,
    fast: Option<RsaKeyPair>,
    id: KeyId,
}

impl SigningKey {
    /// Converts a parsed key for the fast backend (through PKCS#8 DER). A key AWS-LC
    /// refuses (below 2048 bits, say) keeps working through the `rsa` crate.
    pub fn new(rsa: RsaPrivateKey) -> SigningKey {
        let fast = rsa
            .to_pkcs8_der()
            .ok()
            .and_then(|der| RsaKeyPair::from_pkcs8(der.as_bytes()).ok());
        let id = key_id(&rsa.to_public_key());
        SigningKey { rsa, fast, id }
    }

    /// The key as the `rsa` crate holds it (public half, PEM export, certificates).
    pub fn rsa(&self) -> &RsaPrivateKey {
        &self.rsa
    }

    /// What identifies this key pair (see [`KeyId`]).
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// Whether AWS-LC signs with this key (RSA2); `false` means the `rsa` crate does.
    pub fn is_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// The public half, ready to verify.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::new(self.rsa.to_public_key())
    }
}

impl From<RsaPrivateKey> for SigningKey {
    fn from(rsa: RsaPrivateKey) -> SigningKey {
        SigningKey::new(rsa)
    }
}

impl std::fmt::Debug for SigningKey {
    // Never the private parts: keys end up in debug output of app entries.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("bits", &(self.rsa.size() * 8))
            .field("fast", &self.fast.is_some())
            .finish_non_exhaustive()
    }
}

/// A public key ready to verify: the `rsa` crate's key, and the same key parsed once by
/// AWS-LC for each hash when AWS-LC takes it.
pub struct VerifyingKey {
    rsa: RsaPublicKey,
    sha256: Option<ParsedPublicKey>,
    sha1: Option<ParsedPublicKey>,
}

impl VerifyingKey {
    /// Parses the key for the fast backend. A key AWS-LC refuses (below 1024 bits, say)
    /// keeps working through the `rsa` crate.
    pub fn new(rsa: RsaPublicKey) -> VerifyingKey {
        let (sha256, sha1) = match rsa.to_pkcs1_der() {
            Ok(der) => (
                ParsedPublicKey::new(
                    &lc::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                    der.as_bytes(),
                )
                .ok(),
                ParsedPublicKey::new(
                    &lc::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
                    der.as_bytes(),
                )
                .ok(),
            ),
            Err(_) => (None, None),
        };
        VerifyingKey { rsa, sha256, sha1 }
    }

    /// The key as the `rsa` crate holds it.
    pub fn rsa(&self) -> &RsaPublicKey {
        &self.rsa
    }

    /// Whether AWS-LC verifies with this key for `sign_type`.
    pub fn is_fast(&self, sign_type: SignType) -> bool {
        self.parsed(sign_type).is_some()
    }

    fn parsed(&self, sign_type: SignType) -> Option<&ParsedPublicKey> {
        match sign_type {
            SignType::Rsa2 => self.sha256.as_ref(),
            SignType::Rsa => self.sha1.as_ref(),
        }
    }
}

impl From<RsaPublicKey> for VerifyingKey {
    fn from(rsa: RsaPublicKey) -> VerifyingKey {
        VerifyingKey::new(rsa)
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("bits", &(self.rsa.size() * 8))
            .field("fast", &self.sha256.is_some())
            .finish_non_exhaustive()
    }
}

/// A private key [`sign`] accepts: a converted [`SigningKey`] (the fast path) or a plain
/// [`RsaPrivateKey`] (the `rsa` crate alone: tests and the reference for benchmarks).
pub trait PrivateKey {
    /// The raw PKCS#1 v1.5 signature of `data`.
    fn sign_raw(&self, sign_type: SignType, data: &[u8]) -> Result<Vec<u8>, SignError>;
}

impl PrivateKey for RsaPrivateKey {
    fn sign_raw(&self, sign_type: SignType, data: &[u8]) -> Result<Vec<u8>, SignError> {
        let (scheme, hashed) = sign_type.digest(data);
        Ok(self.sign(scheme, &hashed)?)
    }
}

impl PrivateKey for SigningKey {
    fn sign_raw(&self, sign_type: SignType, data: &[u8]) -> Result<Vec<u8>, SignError> {
        match (&self.fast, sign_type) {
            // AWS-LC signs PKCS#1 v1.5 with SHA-2 only: SHA1withRSA stays with `rsa`.
            (Some(fast), SignType::Rsa2) => {
                let mut signature = vec![0; fast.public_modulus_len()];
                fast.sign(
                    &lc::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    data,
                    &mut signature,
                )
                .map_err(|_| SignError::Fast)?;
                Ok(signature)
            }
            _ => self.rsa.sign_raw(sign_type, data),
        }
    }
}

/// A public key [`verify`] accepts: a converted [`VerifyingKey`] (the fast path) or a
/// plain [`RsaPublicKey`] (the `rsa` crate alone).
pub trait PublicKey {
    /// Whether `signature` is a valid PKCS#1 v1.5 signature of `data`.
    fn verify_raw(&self, sign_type: SignType, data: &[u8], signature: &[u8]) -> bool;
}

impl PublicKey for RsaPublicKey {
    fn verify_raw(&self, sign_type: SignType, data: &[u8], signature: &[u8]) -> bool {
        let (scheme, hashed) = sign_type.digest(data);
        self.verify(scheme, &hashed, signature).is_ok()
    }
}

impl PublicKey for VerifyingKey {
    fn verify_raw(&self, sign_type: SignType, data: &[u8], signature: &[u8]) -> bool {
        match self.parsed(sign_type) {
            Some(parsed) => parsed.verify_sig(data, signature).is_ok(),
            None => self.rsa.verify_raw(sign_type, data, signature),
        }
    }
}

/// Signs `data` and returns the Base64 signature Alipay puts in `sign`.
pub fn sign<K: PrivateKey + ?Sized>(
    key: &K,
    sign_type: SignType,
    data: &[u8],
) -> Result<String, SignError> {
    Ok(STANDARD.encode(key.sign_raw(sign_type, data)?))
}

/// Whether `signature_b64` is a valid signature of `data`. Malformed Base64 is simply
/// not a valid signature.
pub fn verify<K: PublicKey + ?Sized>(
    key: &K,
    sign_type: SignType,
    data: &[u8],
    signature_b64: &str,
) -> bool {
    let Ok(signature) = STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    key.verify_raw(sign_type, data, &signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;

    fn app_keys() -> (RsaPrivateKey, RsaPublicKey) {
        let private =
            keys::parse_private_key(include_str!("../fixtures/keys/app_private_key.pem")).unwrap();
        let public =
            keys::parse_public_key(include_str!("../fixtures/keys/app_public_key.pem")).unwrap();
        (private, public)
    }

    #[test]
    fn a_signature_verifies_with_its_own_sign_type_only() {
        let (private, public) = app_keys();
        let sig = sign(&private, SignType::Rsa2, b"a=1&b=2").unwrap();
        assert_eq!(sig.len(), 344, "2048-bit signatures are 344 Base64 chars");
        assert!(verify(&public, SignType::Rsa2, b"a=1&b=2", &sig));
        assert!(!verify(&public, SignType::Rsa, b"a=1&b=2", &sig));
        assert!(!verify(&public, SignType::Rsa2, b"a=1&b=3", &sig));
    }

    #[test]
    fn converted_keys_sign_and_verify_like_the_rsa_crate() {
        let (private, public) = app_keys();
        let signing = SigningKey::new(private.clone());
        let verifying = VerifyingKey::new(public.clone());
        assert!(signing.is_fast() && verifying.is_fast(SignType::Rsa));
        for sign_type in SignType::ALL {
            let fast = sign(&signing, sign_type, b"a=1&b=2").unwrap();
            assert_eq!(fast, sign(&private, sign_type, b"a=1&b=2").unwrap());
            assert!(verify(&verifying, sign_type, b"a=1&b=2", &fast));
            assert!(!verify(&verifying, sign_type.other(), b"a=1&b=2", &fast));
        }
        assert_eq!(signing.id(), &key_id(&public));
    }

    #[test]
    fn garbage_base64_is_an_invalid_signature_not_a_panic() {
        let (_, public) = app_keys();
        assert!(!verify(&public, SignType::Rsa, b"x", "%%%not base64"));
        assert!(!verify(&public, SignType::Rsa, b"x", ""));
    }

    #[test]
    fn sign_type_parses_only_the_wire_values() {
        assert_eq!(SignType::parse("RSA2"), Some(SignType::Rsa2));
        assert_eq!(SignType::parse("RSA"), Some(SignType::Rsa));
        assert_eq!(SignType::parse("SM2"), None);
        assert_eq!(SignType::parse("rsa2"), None);
    }
}
