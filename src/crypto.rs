//! RSA signatures as Alipay uses them: `RSA` = SHA1withRSA, `RSA2` = SHA256withRSA,
//! RSASSA-PKCS1-v1_5, standard Base64 with padding.
//!
//! The only module that touches the RSA backend for signing and verifying, so the backend
//! can change without the protocol code noticing. No I/O, no key parsing (see `keys`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
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

/// Signing failed inside the RSA backend (only possible with a key too small for the hash).
#[derive(Debug, thiserror::Error)]
#[error("RSA signing failed: {0}")]
pub struct SignError(#[from] rsa::Error);

/// Signs `data` and returns the Base64 signature Alipay puts in `sign`.
pub fn sign(key: &RsaPrivateKey, sign_type: SignType, data: &[u8]) -> Result<String, SignError> {
    let (scheme, hashed) = sign_type.digest(data);
    let signature = key.sign(scheme, &hashed)?;
    Ok(STANDARD.encode(signature))
}

/// Whether `signature_b64` is a valid signature of `data`. Malformed Base64 is simply
/// not a valid signature.
pub fn verify(key: &RsaPublicKey, sign_type: SignType, data: &[u8], signature_b64: &str) -> bool {
    let Ok(signature) = STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    let (scheme, hashed) = sign_type.digest(data);
    key.verify(scheme, &hashed, &signature).is_ok()
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
