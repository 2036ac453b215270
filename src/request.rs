//! What one `gateway.do` request has gathered on its way through the pipeline: its
//! parameters, its `biz_content` (decrypted and read by its method), the caller, the
//! fault draw, what the checks observed, the outcome's codes and the time it took.
//!
//! The gateway fills a [`RequestContext`] in its check order; the journal builds its
//! entry from it (`control::journal`) and the metrics count it (`metrics`), so neither
//! the pipeline nor those modules pass a request around in pieces. Plain values only:
//! no deciding happens here.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::control::faults::Draw;
use crate::crypto::{SignType, SigningKey};
use crate::doctor::Diagnosis;
use crate::error::{GatewayError, PublicError};
use crate::keyring::AppEntry;
use crate::methods::{BizContent, Method, TriggeredNotification};
use crate::protocol::params::Params;
use crate::protocol::response::SUCCESS;

/// The signature check of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureVerdict {
    /// `None` when the request failed before the signature was checked.
    pub verified: Option<bool>,
    /// The string the gateway verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_content: Option<String>,
}

/// The answer's codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCodes {
    /// The answer's `code`: `10000` on success, else the error's (`40002`, …).
    pub code: String,
    /// The answer's `sub_code` (`isv.invalid-signature`, a business code …); `None` on
    /// success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<String>,
}

impl OutcomeCodes {
    /// The codes an outcome is answered with.
    pub fn of(outcome: &Result<String, GatewayError>) -> OutcomeCodes {
        match outcome {
            Ok(_) => OutcomeCodes {
                code: SUCCESS.0.to_owned(),
                sub_code: None,
            },
            Err(e) => {
                let wire = e.wire();
                OutcomeCodes {
                    code: wire.code.to_owned(),
                    sub_code: Some(wire.sub_code.into_owned()),
                }
            }
        }
    }
}

/// A request's `biz_content` as its method must read it (the gateway's `encryption`
/// module makes it).
#[derive(Debug)]
pub(crate) struct Content<'a> {
    /// `biz_content` as sent (the ciphertext of an encrypted request).
    pub raw: Option<&'a str>,
    /// What became of `encrypt_type`.
    pub decryption: Decryption,
}

/// The outcome of `encrypt_type` for one request.
#[derive(Debug)]
pub(crate) enum Decryption {
    /// No `encrypt_type`: `biz_content` is plaintext.
    NotRequested,
    /// Decrypted with the app's key: the plaintext JSON.
    Decrypted(String),
    /// Cannot be decrypted: the error to answer once the signature has been checked.
    Refused(PublicError),
}

impl Content<'_> {
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

/// The request's app and sign type, once both are known and the app has a key for it
/// (or, in certificate mode, an app certificate).
pub(crate) struct Caller {
    /// The app.
    pub app: Arc<AppEntry>,
    /// The request's `sign_type`.
    pub sign_type: SignType,
    /// The request is in certificate mode and the app speaks it.
    pub cert_mode: bool,
}

impl Caller {
    /// The key that signs this caller's answers, and the `alipay_cert_sn` that goes with
    /// it in certificate mode.
    pub fn signing_key(&self) -> (&SigningKey, Option<&str>) {
        match self.app.cert_mode().filter(|_| self.cert_mode) {
            Some(c) => (&c.platform.key, Some(c.platform.cert.sn.as_str())),
            None => (self.app.platform_key(), None),
        }
    }
}

/// What the checks and the method learn while a request is processed.
#[derive(Default)]
pub(crate) struct Observed {
    /// The signature check.
    pub signature: SignatureVerdict,
    /// What the caller most likely did wrong, when the request was refused.
    pub diagnosis: Option<Diagnosis>,
    /// `biz_content` was decrypted: the answer is encrypted.
    pub decrypted: bool,
    /// A defined method's success node as the journal shows it (`mask` applied, unless
    /// the journal is unmasked).
    pub answer: Option<String>,
    /// The notification the answer triggered, as made (unmasked).
    pub notification: Option<TriggeredNotification>,
}

/// Everything one `gateway.do` request has gathered, from its parameters to its outcome.
pub(crate) struct RequestContext<'r> {
    /// The merged, decoded parameters.
    pub params: &'r Params,
    /// The HTTP method (`GET` or `POST`).
    pub http_method: &'r str,
    /// The app `app_id` names, when the key ring knows it.
    pub app: Option<Arc<AppEntry>>,
    /// `biz_content`, decrypted when encrypted.
    pub content: Content<'r>,
    /// The method `method` names, when the gateway knows it.
    pub method: Option<Method>,
    /// `biz_content` as that method read it.
    pub biz: Option<BizContent>,
    /// The app with its sign type and key, when all are known.
    pub caller: Option<Caller>,
    /// What the faults decided for this request.
    pub draw: Draw,
    /// What the checks and the method observed.
    pub observed: Observed,
    /// The codes the request was answered with (set once the outcome is known).
    pub codes: OutcomeCodes,
    /// Time spent answering, injected latency included (set once answered).
    pub elapsed: Duration,
}
