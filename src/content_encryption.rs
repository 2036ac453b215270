//! Content encryption (接口内容加密, `encrypt_type=AES`): `biz_content` of a request and
//! the response node of its answer, encrypted with the app's AES key (docs/protocol.md §5).
//!
//! AES-128-CBC, IV of 16 zero bytes, PKCS#7 padding, standard Base64 with padding — what
//! Java (`AES/CBC/PKCS5Padding`), Node (crypto-js) and Python do. This module works on
//! bytes: the plaintext is the JSON text in the request charset, and turning it into text
//! (and failing on bytes invalid in that charset) is the caller's job. No I/O; the
//! ciphers are the `aes` and `cbc` crates.
//!
//! How the gateway maps failures to public errors (docs/protocol.md §4, §5), for the table in
//! `error`: a key that is not Base64 of 16 bytes is refused when the app is stored
//! ([`AesKeyError`]); a request that cannot be decrypted with a valid key — any
//! [`DecryptError`], and plaintext bytes not valid in the request charset — answers 40003
//! `isv.decryption-error-unknown`, plaintext and signed. Missing or unknown `encrypt_type`
//! and an app without a key are decided before this module is called.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

type Encryptor = cbc::Encryptor<aes::Aes128>;
type Decryptor = cbc::Decryptor<aes::Aes128>;

/// AES key length in bytes: Alipay issues 128-bit keys only (24 Base64 characters).
pub const KEY_LEN: usize = 16;
/// AES block length in bytes.
const BLOCK_LEN: usize = 16;
/// Alipay's IV: all zero bytes.
const ZERO_IV: [u8; BLOCK_LEN] = [0; BLOCK_LEN];

/// Why an AES key could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AesKeyError {
    /// The text is not standard Base64.
    #[error("the AES key is not Base64 (expected 24 characters such as aYA0GP8JEW+D7/UFaskCWA==)")]
    NotBase64,
    /// The key is not 16 bytes long. Java and crypto-js would run AES-192/256 with a
    /// 24/32-byte key, but Alipay's console only issues 128-bit keys, so a mock that took
    /// longer ones would pass tests the real gateway fails.
    #[error("the AES key is {0} bytes; Alipay's AES keys are 16 bytes (AES-128)")]
    WrongLength(usize),
}

/// Why a ciphertext could not be decrypted. The gateway answers all of them with the
/// same public error; the variants say which check failed, for logs and tests.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecryptError {
    /// The ciphertext is empty.
    #[error("the ciphertext is empty")]
    Empty,
    /// The ciphertext is not standard Base64.
    #[error("the ciphertext is not Base64")]
    NotBase64,
    /// The decoded ciphertext is not a whole number of 16-byte blocks.
    #[error("the ciphertext is {0} bytes, not a multiple of 16")]
    NotBlockAligned(usize),
    /// The PKCS#7 padding is wrong: almost always a different key on the other side.
    #[error("bad padding after decryption (wrong key?)")]
    BadPadding,
}

/// An app's AES content-encryption key.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey([u8; KEY_LEN]);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key itself (logs, panics).
        f.write_str("AesKey(..)")
    }
}

impl AesKey {
    /// Parses the Base64 key as Alipay's console shows it; surrounding whitespace is
    /// ignored.
    pub fn from_base64(text: &str) -> Result<AesKey, AesKeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| AesKeyError::NotBase64)?;
        let key: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| AesKeyError::WrongLength(bytes.len()))?;
        Ok(AesKey(key))
    }

    /// The key as Base64 (24 characters).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Encrypts `plaintext` (JSON in the request charset) and returns the Base64
    /// ciphertext.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let ciphertext = Encryptor::new(&self.0.into(), &ZERO_IV.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
        STANDARD.encode(ciphertext)
    }

    /// Decrypts a Base64 ciphertext to the plaintext bytes. Whitespace around it is
    /// ignored; anything else that is wrong is an error, never a panic.
    pub fn decrypt(&self, ciphertext_b64: &str) -> Result<Vec<u8>, DecryptError> {
        let text = ciphertext_b64.trim();
        if text.is_empty() {
            return Err(DecryptError::Empty);
        }
        let ciphertext = STANDARD.decode(text).map_err(|_| DecryptError::NotBase64)?;
        if ciphertext.is_empty() || ciphertext.len() % BLOCK_LEN != 0 {
            return Err(DecryptError::NotBlockAligned(ciphertext.len()));
        }
        Decryptor::new(&self.0.into(), &ZERO_IV.into())
            .decrypt_padded_vec_mut::<Pkcs7>(&ciphertext)
            .map_err(|_| DecryptError::BadPadding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/protocol.md Appendix A: the Node SDK's fixture of a real encrypted answer.
    const VECTOR_KEY: &str = "aYA0GP8JEW+D7/UFaskCWA==";
    const VECTOR_CIPHERTEXT: &str = "4AOYHE0rpPnRnghunsGo+mY02DzANFLwNJJCiHfrNh2oaB2pn33PwOEOvH8mjhkE3Wh/jR+3jHM9nvoFvOsY/SqZbZzamRg9Eh3VkRqOhSM=";
    const VECTOR_PLAINTEXT: &str =
        r#"{"code":"10000","msg":"Success","aes_key":"cW8mcZgoMGUVp5g7uv7bHw=="}"#;

    fn vector_key() -> AesKey {
        AesKey::from_base64(VECTOR_KEY).unwrap()
    }

    #[test]
    fn the_appendix_a_vector_decrypts_to_the_stated_json() {
        let plain = vector_key().decrypt(VECTOR_CIPHERTEXT).unwrap();
        assert_eq!(String::from_utf8(plain).unwrap(), VECTOR_PLAINTEXT);
    }

    #[test]
    fn encrypting_the_appendix_a_plaintext_gives_its_ciphertext() {
        // Zero IV makes encryption deterministic, so the vector checks this side too.
        assert_eq!(
            vector_key().encrypt(VECTOR_PLAINTEXT.as_bytes()),
            VECTOR_CIPHERTEXT
        );
    }

    #[test]
    fn the_fixture_key_of_the_default_app_is_a_valid_key() {
        let text = include_str!("../fixtures/keys/aes_key.txt");
        assert!(AesKey::from_base64(text).is_ok());
        assert_eq!(text.trim().len(), 24);
    }

    #[test]
    fn round_trips_keep_gbk_bytes_and_empty_plaintext() {
        let key = vector_key();
        // 张三 in GBK: the module works on bytes, whatever the charset.
        for plain in [
            &b""[..],
            b"{}",
            &[0xd5, 0xc5, 0xc8, 0xfd],
            &[b'x'; 16],
            &[b'y'; 33],
        ] {
            let ciphertext = key.encrypt(plain);
            assert_eq!(key.decrypt(&ciphertext).unwrap(), plain);
        }
    }

    #[test]
    fn a_block_of_padding_is_added_to_whole_blocks() {
        // PKCS#7: 16 bytes of plaintext become 32 bytes of ciphertext (44 Base64 chars).
        assert_eq!(vector_key().encrypt(&[b'x'; 16]).len(), 44);
        assert_eq!(vector_key().encrypt(b"").len(), 24);
    }

    #[test]
    fn keys_of_other_lengths_and_non_base64_keys_are_refused() {
        assert_eq!(
            AesKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            Err(AesKeyError::WrongLength(32))
        );
        assert_eq!(
            AesKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            Err(AesKeyError::WrongLength(24))
        );
        assert_eq!(
            AesKey::from_base64("not a key!"),
            Err(AesKeyError::NotBase64)
        );
        assert_eq!(AesKey::from_base64(""), Err(AesKeyError::WrongLength(0)));
    }

    #[test]
    fn a_wrong_key_is_a_padding_error_or_garbage_never_a_panic() {
        let other = AesKey::from_base64("cW8mcZgoMGUVp5g7uv7bHw==").unwrap();
        match other.decrypt(VECTOR_CIPHERTEXT) {
            Err(DecryptError::BadPadding) => {}
            Ok(bytes) => assert_ne!(bytes, VECTOR_PLAINTEXT.as_bytes()),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn malformed_ciphertexts_are_classified() {
        let key = vector_key();
        assert_eq!(key.decrypt(""), Err(DecryptError::Empty));
        assert_eq!(key.decrypt("  \n"), Err(DecryptError::Empty));
        assert_eq!(key.decrypt("%%%"), Err(DecryptError::NotBase64));
        assert_eq!(key.decrypt("AAAA"), Err(DecryptError::NotBlockAligned(3)));
        // A plaintext biz_content sent with encrypt_type=AES by mistake.
        assert_eq!(
            key.decrypt(r#"{"identity_type":"2"}"#),
            Err(DecryptError::NotBase64)
        );
    }

    #[test]
    fn garbage_input_never_panics() {
        let key = vector_key();
        const ALPHABET: &[u8] = b"ABCxyz019+/= \n=%{}\"";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..300 {
            let text: String = (0..len)
                .map(|_| {
                    // xorshift: cheap deterministic noise over the Base64 alphabet and more.
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    char::from(ALPHABET[(seed % ALPHABET.len() as u64) as usize])
                })
                .collect();
            let _ = key.decrypt(&text);
        }
    }

    #[test]
    fn the_key_is_not_printed_by_debug() {
        assert_eq!(format!("{:?}", vector_key()), "AesKey(..)");
    }
}
