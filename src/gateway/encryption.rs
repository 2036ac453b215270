//! AES content encryption (`encrypt_type=AES`) on the request side: the `biz_content`
//! the method reads, decrypted once up front, and the public error a request that cannot
//! be decrypted earns, which the gateway answers only after the signature check
//! (docs/protocol.md §4 step 12, §5). The cipher lives in `content_encryption`.

use crate::content_encryption::AesKey;
use crate::error::{GatewayError, PublicError};
use crate::keyring::AppEntry;
use crate::protocol::params::Params;

/// The only `encrypt_type` Alipay's gateway accepts for this API.
const AES: &str = "AES";

/// A request's `biz_content` as the method must read it.
#[derive(Debug)]
pub(super) struct Content<'a> {
    /// `biz_content` as sent (the ciphertext of an encrypted request).
    pub raw: Option<&'a str>,
    /// What became of `encrypt_type`.
    pub decryption: Decryption,
}

/// The outcome of `encrypt_type` for one request.
#[derive(Debug)]
pub(super) enum Decryption {
    /// No `encrypt_type`: `biz_content` is plaintext.
    NotRequested,
    /// Decrypted with the app's key: the plaintext JSON.
    Decrypted(String),
    /// Cannot be decrypted: the error to answer once the signature has been checked.
    Refused(PublicError),
}

impl<'a> Content<'a> {
    /// Reads `biz_content`, decrypting it when `encrypt_type` asks for it. `app` is the
    /// app the request names, if known. Decryption runs before any check, but its
    /// failure is answered in its place in the check order.
    pub fn of(params: &'a Params, app: Option<&AppEntry>) -> Content<'a> {
        let raw = params.get("biz_content");
        let decryption = match params.non_empty("encrypt_type") {
            None => Decryption::NotRequested,
            Some(kind) if kind != AES => Decryption::Refused(PublicError::InvalidEncryptType),
            Some(_) => match app.and_then(AppEntry::aes_key) {
                None => Decryption::Refused(PublicError::MissingEncryptKey),
                Some(key) => decrypt(key, raw.unwrap_or(""), params),
            },
        };
        Content { raw, decryption }
    }

    /// The text the method reads: the plaintext of an encrypted request, else as sent.
    pub fn text(&self) -> Option<&str> {
        match &self.decryption {
            Decryption::Decrypted(plain) => Some(plain),
            _ => self.raw,
        }
    }

    /// Step 12 of the check order: `Ok(true)` when the request was decrypted (so its
    /// answers are encrypted), `Ok(false)` for a plaintext request, or the error.
    pub fn check(&self) -> Result<bool, GatewayError> {
        match &self.decryption {
            Decryption::NotRequested => Ok(false),
            Decryption::Decrypted(_) => Ok(true),
            Decryption::Refused(e) => Err((*e).into()),
        }
    }

    /// The decrypted plaintext, if any.
    pub fn decrypted(&self) -> Option<&str> {
        match &self.decryption {
            Decryption::Decrypted(plain) => Some(plain),
            _ => None,
        }
    }
}

/// Decrypts `biz_content`; the plaintext must be text in the request charset. Every
/// failure (bad Base64, bad padding, wrong key, bytes not in the charset) is 40003
/// `isv.decryption-error-unknown`, as the real gateway answers a wrong key.
fn decrypt(key: &AesKey, ciphertext: &str, params: &Params) -> Decryption {
    let plain = key.decrypt(ciphertext).ok().and_then(|bytes| {
        params
            .charset()
            .decode_strict(&bytes)
            .map(|text| text.into_owned())
    });
    match plain {
        Some(text) => Decryption::Decrypted(text),
        None => Decryption::Refused(PublicError::DecryptionFailed),
    }
}
