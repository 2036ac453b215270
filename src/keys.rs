//! RSA key parsing in every form Alipay's tools hand out, and fresh test key pairs.
//!
//! Private keys: PKCS#8 (`BEGIN PRIVATE KEY`, what Java takes) or PKCS#1
//! (`BEGIN RSA PRIVATE KEY`, what the official Python SDK takes). Public keys: SPKI
//! (`BEGIN PUBLIC KEY`, what Alipay's console shows) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
//! Each may come PEM-armoured or as the bare Base64 one-liner SDKs take. Keys are parsed
//! once, when an app is loaded or stored, never per request.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::{RsaPrivateKey, RsaPublicKey};

/// Why a key could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Nothing is left once PEM armour lines and whitespace are removed.
    #[error("the key is empty")]
    Empty,
    /// The text inside the armour is not standard Base64.
    #[error("the key is neither PEM nor bare Base64")]
    NotBase64,
    /// The Base64 decodes, but not to an RSA key of the expected kind in any supported
    /// structure.
    #[error("the key is not an RSA {expected} key in any supported format ({formats})")]
    NotRsa {
        /// Which half was expected: `private` or `public`.
        expected: &'static str,
        /// The formats that were tried, for the message.
        formats: &'static str,
    },
    /// Generating a key, or writing one as PEM, failed; the underlying error's text.
    #[error("could not encode the key: {0}")]
    Encode(String),
}

const PRIVATE_FORMATS: &str = "PKCS#8 or PKCS#1, PEM or bare Base64";
const PUBLIC_FORMATS: &str = "SPKI or PKCS#1, PEM or bare Base64";

/// Removes PEM armour lines and all whitespace, leaving the Base64 body.
fn base64_body(text: &str) -> String {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect()
}

fn der_of(text: &str) -> Result<Vec<u8>, KeyError> {
    let body = base64_body(text);
    if body.is_empty() {
        return Err(KeyError::Empty);
    }
    STANDARD.decode(body).map_err(|_| KeyError::NotBase64)
}

/// Parses an RSA private key: PKCS#8 or PKCS#1, PEM or bare Base64.
///
/// The armour label is not trusted: the DER inside decides, so a PKCS#1 body under a
/// `PRIVATE KEY` label (a common copy-paste slip) still loads.
pub fn parse_private_key(text: &str) -> Result<RsaPrivateKey, KeyError> {
    let der = der_of(text)?;
    RsaPrivateKey::from_pkcs8_der(&der)
        .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
        .map_err(|_| KeyError::NotRsa {
            expected: "private",
            formats: PRIVATE_FORMATS,
        })
}

/// Parses an RSA public key: SPKI or PKCS#1, PEM or bare Base64.
pub fn parse_public_key(text: &str) -> Result<RsaPublicKey, KeyError> {
    let der = der_of(text)?;
    RsaPublicKey::from_public_key_der(&der)
        .or_else(|_| RsaPublicKey::from_pkcs1_der(&der))
        .map_err(|_| KeyError::NotRsa {
            expected: "public",
            formats: PUBLIC_FORMATS,
        })
}

/// The SPKI PEM of a public key.
pub fn public_pem(key: &RsaPublicKey) -> Result<String, KeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encode(e.to_string()))
}

/// One RSA key pair in every text form an Alipay integration needs.
#[derive(Debug, Clone)]
pub struct KeyPairText {
    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub private_pkcs8_pem: String,
    /// PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`).
    pub private_pkcs1_pem: String,
    /// SPKI PEM (`BEGIN PUBLIC KEY`).
    pub public_pem: String,
}

impl KeyPairText {
    /// Generates a fresh RSA-2048 pair.
    pub fn generate() -> Result<KeyPairText, KeyError> {
        let mut rng = rand::thread_rng();
        let private =
            RsaPrivateKey::new(&mut rng, 2048).map_err(|e| KeyError::Encode(e.to_string()))?;
        Self::from_private(&private)
    }

    /// The text forms of an existing private key and its public half.
    pub fn from_private(private: &RsaPrivateKey) -> Result<KeyPairText, KeyError> {
        let encode = |e: &dyn std::fmt::Display| KeyError::Encode(e.to_string());
        Ok(KeyPairText {
            private_pkcs8_pem: private
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| encode(&e))?
                .to_string(),
            private_pkcs1_pem: private
                .to_pkcs1_pem(LineEnding::LF)
                .map_err(|e| encode(&e))?
                .to_string(),
            public_pem: private
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| encode(&e))?,
        })
    }

    /// The bare Base64 one-liner of a PEM text, as Java and most SDK samples take keys.
    pub fn bare(pem: &str) -> String {
        base64_body(pem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKCS8: &str = include_str!("../fixtures/keys/app_private_key.pem");
    const PKCS1: &str = include_str!("../fixtures/keys/app_private_key_pkcs1.pem");
    const SPKI: &str = include_str!("../fixtures/keys/app_public_key.pem");

    #[test]
    fn pkcs8_and_pkcs1_pem_give_the_same_private_key() {
        assert_eq!(
            parse_private_key(PKCS8).unwrap(),
            parse_private_key(PKCS1).unwrap()
        );
    }

    #[test]
    fn bare_base64_private_keys_load_in_both_formats() {
        let pem = parse_private_key(PKCS8).unwrap();
        assert_eq!(parse_private_key(&base64_body(PKCS8)).unwrap(), pem);
        assert_eq!(parse_private_key(&base64_body(PKCS1)).unwrap(), pem);
    }

    #[test]
    fn spki_pem_bare_and_pkcs1_public_keys_load() {
        let private = parse_private_key(PKCS8).unwrap();
        let expected = private.to_public_key();
        assert_eq!(parse_public_key(SPKI).unwrap(), expected);
        assert_eq!(parse_public_key(&base64_body(SPKI)).unwrap(), expected);
        let pkcs1 =
            rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_pem(&expected, LineEnding::CRLF).unwrap();
        assert_eq!(parse_public_key(&pkcs1).unwrap(), expected);
    }

    #[test]
    fn a_public_key_is_not_a_private_key() {
        assert!(matches!(
            parse_private_key(SPKI),
            Err(KeyError::NotRsa { .. })
        ));
    }

    #[test]
    fn junk_is_rejected_with_a_reason() {
        assert_eq!(parse_public_key("  \n"), Err(KeyError::Empty));
        assert_eq!(parse_public_key("not*base64!"), Err(KeyError::NotBase64));
        assert!(matches!(
            parse_public_key("AAAA"),
            Err(KeyError::NotRsa { .. })
        ));
    }
}
