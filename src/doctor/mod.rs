//! The doctor: when the gateway refuses a request, it tries the mistakes developers make
//! most and names the first one that explains the refusal. One module per family:
//! [`signature`] (the string signed, its encoding, the key), [`aes`] (content encryption)
//! and [`cert`] (certificate-mode SNs).
//!
//! The wire answer stays exactly the real gateway's; the diagnosis goes to the journal,
//! the console and the `X-Alipay-Mock-Diagnosis` response header only. Nothing here ever
//! makes a request pass: the doctor runs after the verdict, on its own copies, and its
//! finding is only ever text.
//!
//! Bounded: one failed request costs the doctor at most [`MAX_VERIFICATIONS`] RSA
//! signature checks and [`MAX_AES_OPERATIONS`] AES passes over `biz_content`. Past the
//! budget the remaining candidates are not tried and the doctor answers what it found so
//! far (usually nothing). With the gateway's own checks ([`MAX_GATEWAY_RSA_CHECKS`] in
//! `verify_request`, one decryption up front and one encryption of the answer) a failed
//! request costs at most [`MAX_RSA_PER_FAILED_REQUEST`] RSA verifications and
//! [`MAX_AES_PER_FAILED_REQUEST`] AES passes.

mod aes;
mod cert;
pub mod offline;
mod signature;

use serde::{Deserialize, Serialize};

use crate::crypto::{self, SignType, SigningKey, VerifyingKey};
use crate::error::{GatewayError, PublicError};
use crate::keyring::{AppEntry, KeyRing};
use crate::protocol::params::Params;

/// The most RSA signature checks the doctor spends on one failed request.
pub const MAX_VERIFICATIONS: usize = 24;
/// The most AES passes (a decryption or encryption of `biz_content`) the doctor spends
/// on one failed request.
pub const MAX_AES_OPERATIONS: usize = 8;
/// The most RSA checks `signature::verify_request` itself makes on a failed request: the
/// signature, the other hash, the other charset.
pub const MAX_GATEWAY_RSA_CHECKS: usize = 3;
/// The most RSA verifications one failed request can cost, doctor included.
// The documented budget: nothing reads it at run time, the unit tests pin it.
#[allow(dead_code)]
pub const MAX_RSA_PER_FAILED_REQUEST: usize = MAX_VERIFICATIONS + MAX_GATEWAY_RSA_CHECKS;
/// The most AES passes one failed request can cost: the doctor's, the gateway's
/// decryption of `biz_content`, and the encryption of an answer to a decrypted request.
// The documented budget: nothing reads it at run time, the unit tests pin it.
#[allow(dead_code)]
pub const MAX_AES_PER_FAILED_REQUEST: usize = MAX_AES_OPERATIONS + 2;

/// What the caller most likely did wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// A stable name for the mistake (`sign_type_omitted`, `aes_key_text`, …).
    pub code: String,
    /// What was found and what to do, in plain ASCII English (it travels in a header).
    pub message: String,
}

impl Diagnosis {
    fn new(code: &str, message: impl Into<String>) -> Diagnosis {
        Diagnosis {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// The `X-Alipay-Mock-Diagnosis` header value: `code: message`.
    pub fn header_value(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }
}

/// The refused request, as the doctor examines it.
#[derive(Debug, Clone, Copy)]
pub struct Examined<'a> {
    /// The request's parameters as the gateway decoded them.
    pub params: &'a Params,
    /// The app the request names.
    pub app: &'a AppEntry,
    /// Every app, for the "another app's key or certificate" mistakes.
    pub keyring: &'a KeyRing,
    /// `biz_content` as the gateway decrypted it, when it did.
    pub plaintext: Option<&'a str>,
}

/// Why the gateway refused the request.
#[derive(Debug, Clone, Copy)]
pub enum Refusal<'a> {
    /// The signature did not verify.
    Signature {
        /// The key it was checked with (the app certificate's in certificate mode).
        key: &'a VerifyingKey,
        /// The key that signs the caller's answers (the platform certificate's in
        /// certificate mode).
        platform: &'a SigningKey,
        /// The request's sign type.
        sign_type: SignType,
        /// The `sign` received.
        sign: &'a str,
    },
    /// Another refusal (a certificate SN, a decryption, a business error …).
    Error(&'a GatewayError),
}

/// Counts the RSA checks and AES passes spent, refusing past the bounds.
#[derive(Debug, Default)]
struct Budget {
    rsa: usize,
    aes: usize,
}

impl Budget {
    /// One signature check, or `false` once the budget is spent.
    fn verify(&mut self, key: &VerifyingKey, sign_type: SignType, data: &[u8], sign: &str) -> bool {
        if self.rsa >= MAX_VERIFICATIONS {
            return false;
        }
        self.rsa += 1;
        crypto::verify(key, sign_type, data, sign)
    }

    /// One AES pass, or `None` once the budget is spent.
    fn aes<T>(&mut self, pass: impl FnOnce() -> T) -> Option<T> {
        if self.aes >= MAX_AES_OPERATIONS {
            return None;
        }
        self.aes += 1;
        Some(pass())
    }
}

/// Finds what the caller most likely did wrong, or `None` when no tried mistake explains
/// the refusal (or the refusal is not one the doctor knows).
pub fn diagnose(request: Examined<'_>, refusal: Refusal<'_>) -> Option<Diagnosis> {
    let mut budget = Budget::default();
    match refusal {
        Refusal::Signature {
            key,
            platform,
            sign_type,
            sign,
        } => {
            let signed = signature::Signed {
                key,
                platform,
                sign_type,
                sign,
            };
            signature::diagnose(request, &signed, &mut budget)
                .or_else(|| aes::diagnose(request, &mut budget))
        }
        Refusal::Error(error) => match public(error) {
            Some(
                e @ (PublicError::AppCertNotExist
                | PublicError::InvalidAlipayRootCertSn
                | PublicError::MissingSignatureConfig),
            ) => cert::diagnose(request, e),
            _ => aes::diagnose(request, &mut budget),
        },
    }
}

fn public(error: &GatewayError) -> Option<PublicError> {
    match error {
        GatewayError::Public(e) | GatewayError::Explained(e, _) => Some(*e),
        // A business error, or one a method definition or scenario names, is the answer
        // the test asked for, not a caller's mistake.
        GatewayError::Business { .. } | GatewayError::Defined { .. } => None,
    }
}

#[cfg(test)]
mod tests;
