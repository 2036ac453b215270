//! The OpenAPI methods the gateway answers, behind one interface: the built-in ones (one
//! file each) and the user-defined ones (`defined`).
//!
//! The gateway resolves a request's `method` once ([`Method::resolve`]) and reads its
//! `biz_content` once through [`Method::read`]; everything method-specific is then asked
//! of that reading: the answer ([`answer`]), a forced answer ([`forced_answer`],
//! [`forced_node`]), the identity a scenario may match ([`identity_of`]), the journal's
//! masked copy ([`BizContent::masked`]) and the bytes the `altered_body` fault flips
//! ([`Method::tamper_pairs`]). Nothing outside this folder reads a method's request
//! fields; scenarios name the success fields they force (`authorized`, `open_id`) or a
//! whole answer node.

pub mod auth_query;
pub mod cert_download;
pub mod defined;
pub mod notification;

use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

use self::defined::{Answer, Compiled, Definitions, Reading};
pub use self::notification::TriggeredNotification;
use crate::crypto::SignType;
use crate::error::{GatewayError, PublicError};
use crate::keyring::KeyRing;
use crate::protocol::params::Params;
use crate::protocol::response::{Node, SUCCESS};
use crate::store::Store;

crate::listed_enum! {
/// A method built into the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `zhima.auth.info.authquery`: has this person authorised this app?
    ZhimaAuthInfoAuthquery,
    /// `alipay.open.app.alipaycert.download`: the platform certificate with an SN.
    AlipayOpenAppAlipaycertDownload,
}
}

impl Builtin {
    /// The built-in method with this name.
    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::ZhimaAuthInfoAuthquery => auth_query::METHOD_NAME,
            Builtin::AlipayOpenAppAlipaycertDownload => cert_download::METHOD_NAME,
        }
    }

    /// Why it cannot be defined: where its answers come from instead.
    pub fn why_builtin(self) -> &'static str {
        match self {
            Builtin::ZhimaAuthInfoAuthquery => {
                "its answers come from the identities and authorisations (force others with a scenario)"
            }
            Builtin::AlipayOpenAppAlipaycertDownload => {
                "it serves the apps' platform certificates (certificate mode)"
            }
        }
    }
}

/// A method the gateway knows: built in, or defined.
#[derive(Debug, Clone)]
pub enum Method {
    /// Built into the gateway.
    Builtin(Builtin),
    /// Defined by a method definition (the one in force when the request arrived).
    Defined(Arc<Compiled>),
}

impl Method {
    /// The method named by the `method` parameter, if the gateway knows it.
    pub fn resolve(name: &str, definitions: &Definitions) -> Option<Method> {
        Builtin::from_name(name)
            .map(Method::Builtin)
            .or_else(|| definitions.get(name).map(Method::Defined))
    }

    /// The wire name.
    pub fn name(&self) -> &str {
        match self {
            Method::Builtin(b) => b.name(),
            Method::Defined(d) => d.name(),
        }
    }

    /// Whether the answer to an encrypted request is encrypted: not for the certificate
    /// download, which SDKs call in plaintext (docs/protocol.md §6).
    pub fn encrypts_answers(&self) -> bool {
        !matches!(
            self,
            Method::Builtin(Builtin::AlipayOpenAppAlipaycertDownload)
        )
    }

    /// Reads a request's `biz_content` as this method does (once per request).
    pub fn read(&self, biz_content: Option<&str>) -> BizContent {
        match self {
            Method::Builtin(Builtin::ZhimaAuthInfoAuthquery) => {
                BizContent::AuthQuery(Box::new(auth_query::read(biz_content)))
            }
            Method::Builtin(Builtin::AlipayOpenAppAlipaycertDownload) => {
                BizContent::CertDownload(cert_download::read(biz_content))
            }
            Method::Defined(d) => {
                BizContent::Defined(Box::new(Reading::new(Arc::clone(d), biz_content)))
            }
        }
    }

    /// Byte strings the `altered_body` fault swaps in a signed answer, so that the
    /// change is one a careless client would act on (first match wins).
    pub fn tamper_pairs(&self) -> &'static [(&'static [u8], &'static [u8])] {
        match self {
            Method::Builtin(Builtin::ZhimaAuthInfoAuthquery) => auth_query::TAMPER_PAIRS,
            // No field a client would act on that the gateway knows of: the padding
            // fallback alters the body.
            Method::Builtin(Builtin::AlipayOpenAppAlipaycertDownload) | Method::Defined(_) => &[],
        }
    }
}

/// One request's `biz_content` as its method read it.
#[derive(Debug, Clone)]
pub enum BizContent {
    /// `zhima.auth.info.authquery` (boxed: it keeps the parsed JSON, the other readings
    /// are small).
    AuthQuery(Box<auth_query::BizContent>),
    /// `alipay.open.app.alipaycert.download`.
    CertDownload(cert_download::BizContent),
    /// A defined method.
    Defined(Box<Reading>),
}

impl BizContent {
    /// The method that read it.
    pub fn method(&self) -> Method {
        match self {
            BizContent::AuthQuery(_) => Method::Builtin(Builtin::ZhimaAuthInfoAuthquery),
            BizContent::CertDownload(_) => {
                Method::Builtin(Builtin::AlipayOpenAppAlipaycertDownload)
            }
            BizContent::Defined(r) => Method::Defined(Arc::clone(&r.definition)),
        }
    }

    /// The method's name.
    pub fn method_name(&self) -> &str {
        match self {
            BizContent::AuthQuery(_) => auth_query::METHOD_NAME,
            BizContent::CertDownload(_) => cert_download::METHOD_NAME,
            BizContent::Defined(r) => r.definition.name(),
        }
    }

    /// What [`BizContent::masked`] depends on beside the text: a defined method's `mask`
    /// paths, which a new definition of the method may change (a built-in method's
    /// masking is fixed: none).
    pub fn mask_paths(&self) -> &[String] {
        match self {
            BizContent::Defined(r) => &r.definition.definition().mask,
            BizContent::AuthQuery(_) | BizContent::CertDownload(_) => &[],
        }
    }

    /// The text with every value the method reads as personal data masked (a defined
    /// method's `mask` paths), and a payload that could not be read masked whole; `None`
    /// when there is nothing to mask.
    pub fn masked(&self) -> Option<String> {
        match self {
            BizContent::AuthQuery(biz) => biz.masked(),
            // An SN is no personal data.
            BizContent::CertDownload(_) => None,
            BizContent::Defined(r) => r.definition.masked_biz(r.text.as_deref()),
        }
    }

    /// A notification as the journal shows it (a defined method's `mask` applied).
    pub fn masked_notification(&self, n: &TriggeredNotification) -> TriggeredNotification {
        match self {
            BizContent::Defined(r) => r.definition.masked_notification(n),
            _ => n.clone(),
        }
    }
}

/// Masks `biz_content` for the journal when the method is unknown: as every built-in
/// method would, since the caller may have meant one of them.
pub fn mask_for_unknown_method(biz_content: Option<&str>) -> Option<String> {
    Builtin::ALL
        .iter()
        .find_map(|&method| Method::Builtin(method).read(biz_content).masked())
}

/// What a method sees of a verified request.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// The calling app.
    pub app_id: &'a str,
    /// Its `biz_content`, read once.
    pub biz: &'a BizContent,
    /// The apps' certificates, for the certificate download.
    pub keyring: &'a KeyRing,
    /// Every request parameter (`{{param.NAME}}`, `notify_url`).
    pub params: &'a Params,
    /// `biz_content` as received (decrypted when encrypted).
    pub text: Option<&'a str>,
    /// The gateway's clock at this request.
    pub now: OffsetDateTime,
    /// The request's `sign_type`.
    pub sign_type: SignType,
    /// Answers already given at the store's current version (authquery).
    pub answers: &'a auth_query::AnswerMemo,
}

impl Call<'_> {
    /// The request as a defined method (or a forced node) sees it; `biz` is the parsed
    /// `biz_content` and `param` reads request parameters.
    fn defined_request<'a>(
        &'a self,
        biz: Option<&'a Value>,
        param: &'a dyn Fn(&str) -> Option<String>,
    ) -> defined::Request<'a> {
        defined::Request {
            app_id: self.app_id,
            biz,
            param,
            now: self.now,
            sign_type: self.sign_type,
            charset: self.params.charset().label(),
        }
    }

    fn param(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |name: &str| self.params.get(name).map(str::to_owned)
    }
}

/// A method's outcome: the node's JSON text or the error, and what the journal and the
/// notifier learn from it.
#[derive(Debug)]
pub struct Answered {
    /// The success node's JSON text, or the error.
    pub node: Result<String, GatewayError>,
    /// The success node as the journal shows it (defined methods only, `mask` applied).
    pub shown: Option<String>,
    /// The notification a defined method's rule triggered.
    pub notification: Option<TriggeredNotification>,
}

impl From<Result<String, GatewayError>> for Answered {
    fn from(node: Result<String, GatewayError>) -> Answered {
        Answered {
            node,
            shown: None,
            notification: None,
        }
    }
}

/// Runs a method.
pub fn answer(store: &Store, call: Call<'_>) -> Answered {
    match call.biz {
        BizContent::AuthQuery(biz) => call
            .answers
            .answer(store, call.app_id, biz, || {
                success_node(auth_query::query(store, call.app_id, biz))
            })
            .into(),
        BizContent::CertDownload(biz) => {
            success_node(cert_download::download(call.keyring, biz).map_err(GatewayError::from))
                .into()
        }
        BizContent::Defined(reading) => {
            let param = call.param();
            reading
                .definition
                .answer(&call.defined_request(reading.json.as_ref(), &param))
        }
    }
}

/// A forced success answer (a scenario's `{"authorized": …}` outcome) in the method's
/// shape. An authorised answer without an `open_id` gets a deterministic one. A defined
/// method has no such fields: it answers as its rules say.
pub fn forced_answer(
    store: &Store,
    call: Call<'_>,
    authorized: bool,
    open_id: Option<String>,
) -> Answered {
    match call.biz {
        BizContent::AuthQuery(biz) => success_node(Ok(auth_query::forced(
            store,
            call.app_id,
            biz,
            authorized,
            open_id,
        )))
        .into(),
        // A forced answer has no meaning here beyond "succeed": the real answer.
        BizContent::CertDownload(_) | BizContent::Defined(_) => answer(store, call),
    }
}

/// A forced answer node (a scenario's `{"answer": {…}}` outcome), rendered against the
/// request like a defined method's rule.
pub fn forced_node(call: Call<'_>, node: &Answer) -> Answered {
    let param = call.param();
    match call.biz {
        BizContent::Defined(reading) => reading
            .definition
            .forced(node, &call.defined_request(reading.json.as_ref(), &param)),
        _ => {
            let biz: Option<Value> = call.text.and_then(|t| serde_json::from_str(t).ok());
            let request = call.defined_request(biz.as_ref(), &param);
            // Built-in methods keep no `{{seq}}` counter.
            node.render(&request.context(0)).into()
        }
    }
}

/// The business error with this code in any built-in method's table.
pub fn business_error(code: &str) -> Option<GatewayError> {
    let auth_query = auth_query::AuthQueryError::ALL
        .iter()
        .copied()
        .find(|e| e.code_and_description().0 == code)
        .map(GatewayError::from);
    auth_query.or_else(|| {
        cert_download::CertDownloadError::ALL
            .iter()
            .copied()
            .find(|e| e.code_and_description().0 == code)
            .map(GatewayError::from)
    })
}

/// The identity id a call is about, when the method names one and it is known.
pub fn identity_of(store: &Store, call: Call<'_>) -> Option<String> {
    match call.biz {
        BizContent::AuthQuery(biz) => auth_query::identity_of(store, biz),
        BizContent::CertDownload(_) | BizContent::Defined(_) => None,
    }
}

fn success_node(
    business: Result<impl serde::Serialize, GatewayError>,
) -> Result<String, GatewayError> {
    let (code, msg) = SUCCESS;
    Node {
        code,
        msg,
        sub_code: None,
        sub_msg: None,
        business: business?,
    }
    .to_json()
    .map_err(|_| PublicError::GatewayUnavailable.into())
}
