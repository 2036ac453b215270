//! AES content encryption (`encrypt_type=AES`) on the request side: the `biz_content`
//! the method reads, decrypted once up front, and the public error a request that cannot
//! be decrypted earns, which the gateway answers only after the signature check
//! (docs/protocol.md §4 step 12, §5). The cipher lives in `content_encryption`.

use crate::content_encryption::AesKey;
use crate::error::PublicError;
use crate::keyring::AppEntry;
use crate::protocol::params::Params;
use crate::request::{Content, Decryption};

/// The only `encrypt_type` Alipay's gateway accepts for this API.
const AES: &str = "AES";

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
