//! The AES family: `biz_content` that the gateway could not read as the app meant it —
//! ciphertext without `encrypt_type`, plaintext with it, or ciphertext made with the key
//! text instead of the decoded key, with a key of the wrong length, in ECB mode, or with
//! another IV than Alipay's zero IV (docs/protocol.md §5). Each guess is one AES pass
//! from the shared budget, through the `aes` and `cbc` crates; a guess counts only when
//! its plaintext is a JSON object in the request charset, so garbage that happens to
//! unpad is not mistaken for a finding.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::typenum::U16;
use aes::cipher::{BlockCipher, BlockDecrypt, BlockDecryptMut, BlockSizeUser, KeyInit, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use super::{Budget, Diagnosis, Examined};
use crate::protocol::charset::Charset;

/// AES block length in bytes.
const BLOCK_LEN: usize = 16;

/// Which bytes the client took for the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyGuess {
    /// The Base64-decoded 16 bytes, as Alipay means.
    Decoded,
    /// The first 16 bytes of the Base64 text.
    TextPrefix,
    /// The whole Base64 text (24 bytes: AES-192).
    WholeText,
}

/// How the client ran AES.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Alipay's: CBC, IV of 16 zero bytes.
    CbcZeroIv,
    /// ECB (Java's `AES` default transformation, `AES/ECB/PKCS5Padding`).
    Ecb,
    /// CBC with a random IV sent in front of the ciphertext.
    IvPrefixed,
    /// CBC with the key bytes as the IV.
    IvIsKey,
}

/// The guesses, most common first. The first is the gateway's own decryption, tried
/// again only when `encrypt_type` is missing (else the gateway already failed it).
const GUESSES: [(KeyGuess, Mode); 6] = [
    (KeyGuess::Decoded, Mode::CbcZeroIv),
    (KeyGuess::TextPrefix, Mode::CbcZeroIv),
    (KeyGuess::WholeText, Mode::CbcZeroIv),
    (KeyGuess::Decoded, Mode::Ecb),
    (KeyGuess::Decoded, Mode::IvPrefixed),
    (KeyGuess::Decoded, Mode::IvIsKey),
];

/// Decrypts with a block cipher of 16-byte blocks in `mode`, PKCS#7 unpadded.
fn decrypt_with<C>(key: &[u8], mode: Mode, ciphertext: &[u8]) -> Option<Vec<u8>>
where
    C: BlockCipher + BlockDecrypt + BlockDecryptMut + KeyInit + BlockSizeUser<BlockSize = U16>,
{
    if ciphertext.is_empty() || ciphertext.len() % BLOCK_LEN != 0 {
        return None;
    }
    let cbc = |iv: &[u8], data: &[u8]| {
        cbc::Decryptor::<C>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded_vec_mut::<Pkcs7>(data)
            .ok()
    };
    match mode {
        Mode::CbcZeroIv => cbc(&[0; BLOCK_LEN], ciphertext),
        Mode::IvIsKey => cbc(key.get(..BLOCK_LEN)?, ciphertext),
        Mode::IvPrefixed => {
            let (iv, rest) = ciphertext.split_at_checked(BLOCK_LEN)?;
            (!rest.is_empty()).then(|| cbc(iv, rest)).flatten()
        }
        Mode::Ecb => C::new_from_slice(key)
            .ok()?
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .ok(),
    }
}

/// Decrypts with AES of the key's length (128, 192 or 256 bits).
fn decrypt(key: &[u8], mode: Mode, ciphertext: &[u8]) -> Option<Vec<u8>> {
    match key.len() {
        16 => decrypt_with::<aes::Aes128>(key, mode, ciphertext),
        24 => decrypt_with::<aes::Aes192>(key, mode, ciphertext),
        32 => decrypt_with::<aes::Aes256>(key, mode, ciphertext),
        _ => None,
    }
}

/// Whether decrypted bytes are what a client meant: a JSON object in the charset.
fn readable(plain: &[u8], charset: &Charset) -> bool {
    charset
        .decode_strict(plain)
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .is_some_and(|value| value.is_object())
}

fn diagnosis(guess: KeyGuess, mode: Mode, key_len: usize, missing: bool) -> Diagnosis {
    let also = if missing {
        "; also send encrypt_type=AES, without it the gateway reads biz_content as plaintext"
    } else {
        ""
    };
    let (code, message) = match (guess, mode) {
        (KeyGuess::Decoded, Mode::CbcZeroIv) => ("encrypt_type_missing", "biz_content is ciphertext under the app's AES key but encrypt_type is missing, so the gateway read the ciphertext as plaintext; send encrypt_type=AES with the encrypted biz_content".to_owned()),
        (KeyGuess::TextPrefix, _) => ("aes_key_text", format!("biz_content was encrypted with the first 16 bytes of the AES key's Base64 text as the key; Base64-decode the key text and use its 16 bytes{also}")),
        (KeyGuess::WholeText, _) => ("aes_key_wrong_length", format!("biz_content was encrypted with a {key_len}-byte key (AES-{}): the AES key's Base64 text itself; Alipay's AES keys are AES-128, Base64-decode the text to its 16 bytes{also}", key_len * 8)),
        (KeyGuess::Decoded, Mode::Ecb) => ("aes_mode_ecb", format!("biz_content was encrypted with the app's key in ECB mode; Alipay uses AES-128-CBC with an IV of 16 zero bytes (Java AES/CBC/PKCS5Padding){also}")),
        (KeyGuess::Decoded, Mode::IvPrefixed) => ("aes_iv_prefixed", format!("biz_content is a random IV followed by CBC ciphertext; Alipay's IV is 16 zero bytes and the ciphertext is sent alone{also}")),
        (KeyGuess::Decoded, Mode::IvIsKey) => ("aes_iv_key", format!("biz_content was encrypted in CBC mode with the key as the IV; Alipay's IV is 16 zero bytes{also}")),
    };
    Diagnosis::new(code, message)
}

/// The AES family's finding, or `None`.
pub(super) fn diagnose(request: Examined<'_>, budget: &mut Budget) -> Option<Diagnosis> {
    let key = request.app.aes_key()?;
    let params = request.params;
    let biz = params.non_empty("biz_content")?;
    let encrypt_type = params.non_empty("encrypt_type");
    // Decrypted, or an encrypt_type the gateway names itself: nothing to explain here.
    if request.plaintext.is_some() || encrypt_type.is_some_and(|t| t != "AES") {
        return None;
    }
    let missing = encrypt_type.is_none();
    if serde_json::from_str::<Value>(biz).is_ok() {
        return (!missing).then(|| Diagnosis::new(
            "biz_content_not_encrypted",
            "encrypt_type=AES but biz_content is plaintext JSON; encrypt biz_content with the app's AES key (AES-128-CBC, zero IV, PKCS#5 padding, Base64), or leave out encrypt_type",
        ));
    }
    let ciphertext = STANDARD.decode(biz.trim()).ok()?;
    let text = request
        .app
        .app
        .aes_key
        .as_deref()
        .unwrap_or_default()
        .trim();
    let charset = params.charset();
    for (guess, mode) in GUESSES {
        if (guess, mode) == (KeyGuess::Decoded, Mode::CbcZeroIv) && !missing {
            continue;
        }
        let key_bytes: &[u8] = match guess {
            KeyGuess::Decoded => key.bytes(),
            KeyGuess::TextPrefix => match text.as_bytes().get(..16) {
                Some(prefix) => prefix,
                None => continue,
            },
            KeyGuess::WholeText => text.as_bytes(),
        };
        let plain = budget.aes(|| decrypt(key_bytes, mode, &ciphertext))?;
        if plain.is_some_and(|p| readable(&p, charset)) {
            return Some(diagnosis(guess, mode, key_bytes.len(), missing));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::{BlockEncrypt, BlockEncryptMut};

    const KEY: [u8; 16] = *b"0123456789abcdef";
    const JSON: &[u8] = br#"{"identity_type":"2","auth_category":"C2B"}"#;

    #[test]
    fn each_mode_reads_ciphertext_that_the_aes_crate_made_in_that_mode() {
        // Made with the crate's own encryptors: ECB through the block cipher's padded
        // encryption, CBC through `cbc`.
        let ecb = aes::Aes128::new(&KEY.into()).encrypt_padded_vec::<Pkcs7>(JSON);
        assert_eq!(decrypt(&KEY, Mode::Ecb, &ecb).as_deref(), Some(JSON));
        assert_ne!(decrypt(&KEY, Mode::CbcZeroIv, &ecb).as_deref(), Some(JSON));
        let iv = [7u8; 16];
        let mut prefixed = iv.to_vec();
        prefixed.extend(
            cbc::Encryptor::<aes::Aes128>::new(&KEY.into(), &iv.into())
                .encrypt_padded_vec_mut::<Pkcs7>(JSON),
        );
        assert_eq!(
            decrypt(&KEY, Mode::IvPrefixed, &prefixed).as_deref(),
            Some(JSON)
        );
        let key192 = [9u8; 24];
        let c192 = cbc::Encryptor::<aes::Aes192>::new(&key192.into(), &[0; 16].into())
            .encrypt_padded_vec_mut::<Pkcs7>(JSON);
        assert_eq!(
            decrypt(&key192, Mode::CbcZeroIv, &c192).as_deref(),
            Some(JSON)
        );
    }

    #[test]
    fn short_or_odd_ciphertexts_and_keys_are_no_finding_and_no_panic() {
        for data in [&b""[..], b"short", &[0u8; 16], &[0u8; 17]] {
            for mode in [Mode::CbcZeroIv, Mode::Ecb, Mode::IvPrefixed, Mode::IvIsKey] {
                let _ = decrypt(&KEY, mode, data);
                assert_eq!(decrypt(&KEY[..5], mode, data), None);
            }
        }
        assert_eq!(decrypt(&KEY, Mode::IvPrefixed, &[0u8; 16]), None);
        assert!(!readable(b"\"a string\"", &Charset::utf8()));
        assert!(readable(JSON, &Charset::utf8()));
    }
}
