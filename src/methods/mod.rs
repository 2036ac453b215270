//! The OpenAPI methods the gateway answers, behind one interface.
//!
//! One file per method. The gateway reads a request's `biz_content` once through
//! [`Method::read`]; everything method-specific is then asked of that reading: the
//! answer ([`answer`]), a forced answer in the method's shape ([`forced_answer`]), the
//! identity a scenario may match ([`identity_of`]), the journal's masked copy
//! ([`BizContent::masked`]) and the bytes the `altered_body` fault flips
//! ([`Method::tamper_pairs`]). Nothing outside this folder reads a method's request
//! fields; scenarios name the success fields they force (`authorized`, `open_id`).

pub mod auth_query;
pub mod cert_download;

use crate::error::{GatewayError, PublicError};
use crate::keyring::KeyRing;
use crate::protocol::response::{Node, SUCCESS};
use crate::store::Store;

crate::listed_enum! {
/// A method the gateway knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `zhima.auth.info.authquery`: has this person authorised this app?
    ZhimaAuthInfoAuthquery,
    /// `alipay.open.app.alipaycert.download`: the platform certificate with an SN.
    AlipayOpenAppAlipaycertDownload,
}
}

impl Method {
    /// The method named by the `method` parameter, if the gateway knows it.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Method::ZhimaAuthInfoAuthquery => auth_query::METHOD_NAME,
            Method::AlipayOpenAppAlipaycertDownload => cert_download::METHOD_NAME,
        }
    }

    /// Reads a request's `biz_content` as this method does (once per request).
    pub fn read(self, biz_content: Option<&str>) -> BizContent {
        match self {
            Method::ZhimaAuthInfoAuthquery => {
                BizContent::AuthQuery(Box::new(auth_query::read(biz_content)))
            }
            Method::AlipayOpenAppAlipaycertDownload => {
                BizContent::CertDownload(cert_download::read(biz_content))
            }
        }
    }

    /// Byte strings the `altered_body` fault swaps in a signed answer, so that the
    /// change is one a careless client would act on (first match wins).
    pub fn tamper_pairs(self) -> &'static [(&'static [u8], &'static [u8])] {
        match self {
            Method::ZhimaAuthInfoAuthquery => auth_query::TAMPER_PAIRS,
            // No field a client would act on: the padding fallback alters the body.
            Method::AlipayOpenAppAlipaycertDownload => &[],
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
}

impl BizContent {
    /// The method that read it.
    pub fn method(&self) -> Method {
        match self {
            BizContent::AuthQuery(_) => Method::ZhimaAuthInfoAuthquery,
            BizContent::CertDownload(_) => Method::AlipayOpenAppAlipaycertDownload,
        }
    }

    /// The text with every value the method reads as personal data masked, and a
    /// payload that could not be read masked whole; `None` when there is nothing to mask.
    pub fn masked(&self) -> Option<String> {
        match self {
            BizContent::AuthQuery(biz) => biz.masked(),
            // An SN is no personal data.
            BizContent::CertDownload(_) => None,
        }
    }
}

/// Masks `biz_content` for the journal when the method is unknown: as every known
/// method would, since the caller may have meant one of them.
pub fn mask_for_unknown_method(biz_content: Option<&str>) -> Option<String> {
    Method::ALL
        .iter()
        .find_map(|method| method.read(biz_content).masked())
}

/// What a method sees of a verified request.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The calling app.
    pub app_id: &'a str,
    /// Its `biz_content`, read once.
    pub biz: &'a BizContent,
    /// The apps' certificates, for the certificate download.
    pub keyring: &'a KeyRing,
}

/// Runs a method and renders its success node as JSON.
pub fn answer(store: &Store, call: Call<'_>) -> Result<String, GatewayError> {
    match call.biz {
        BizContent::AuthQuery(biz) => success_node(auth_query::query(store, call.app_id, biz)?),
        BizContent::CertDownload(biz) => success_node(cert_download::download(call.keyring, biz)?),
    }
}

/// A forced success answer (a scenario's `{"authorized": …}` outcome) in the method's
/// shape. An authorised answer without an `open_id` gets a deterministic one.
pub fn forced_answer(
    store: &Store,
    call: Call<'_>,
    authorized: bool,
    open_id: Option<String>,
) -> Result<String, GatewayError> {
    match call.biz {
        BizContent::AuthQuery(biz) => success_node(auth_query::forced(
            store,
            call.app_id,
            biz,
            authorized,
            open_id,
        )),
        // A forced answer has no meaning here beyond "succeed": the real answer.
        BizContent::CertDownload(_) => answer(store, call),
    }
}

/// The business error with this code in any method's table.
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
        BizContent::CertDownload(_) => None,
    }
}

fn success_node(business: impl serde::Serialize) -> Result<String, GatewayError> {
    let (code, msg) = SUCCESS;
    Node {
        code,
        msg,
        sub_code: None,
        sub_msg: None,
        business,
    }
    .to_json()
    .map_err(|_| PublicError::GatewayUnavailable.into())
}
