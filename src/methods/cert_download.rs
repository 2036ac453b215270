//! `alipay.open.app.alipaycert.download` (应用支付宝公钥证书下载): the platform certificate
//! with a given SN, for SDKs that meet an `alipay_cert_sn` they do not hold (Java always,
//! Go in production mode; docs/protocol.md §6).
//!
//! `biz_content` is `{"alipay_cert_sn":"<sn>"}`; the answer's `alipay_cert_content` is the
//! Base64 of the certificate file's PEM text, any chain included, since Java checks that
//! it chains to its root bundle. The certificates are those the key ring holds: the
//! default platform certificate and every app's own.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::GatewayError;
use crate::keyring::KeyRing;

/// The method's wire name.
pub const METHOD_NAME: &str = "alipay.open.app.alipaycert.download";

/// The success fields of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertDownloadAnswer {
    /// Base64 of the certificate's PEM text.
    pub alipay_cert_content: String,
}

crate::listed_enum! {
/// The method's business errors (40004). The API document's error table is not among the
/// sources, so the codes are a Decision (docs/protocol.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertDownloadError {
    /// `biz_content` or `alipay_cert_sn` is absent, null or blank.
    NullArgument,
    /// `biz_content` is not a JSON object, or `alipay_cert_sn` is not text.
    IllegalArgument,
    /// No platform certificate has this SN.
    CertNotExist,
}
}

impl CertDownloadError {
    /// The error's code and description: the answer's `sub_code` and `sub_msg`.
    pub fn code_and_description(self) -> (&'static str, &'static str) {
        match self {
            CertDownloadError::NullArgument => ("NULL_ARGUMENT", "参数为空"),
            CertDownloadError::IllegalArgument => ("ILLEGAL_ARGUMENT", "参数不合法"),
            CertDownloadError::CertNotExist => ("CERT_NOT_EXIST", "支付宝公钥证书不存在"),
        }
    }
}

impl From<CertDownloadError> for GatewayError {
    fn from(e: CertDownloadError) -> GatewayError {
        let (sub_code, sub_msg) = e.code_and_description();
        GatewayError::Business { sub_code, sub_msg }
    }
}

/// `biz_content` as this method reads it: the SN asked for, or the error the request
/// earns.
#[derive(Debug, Clone)]
pub struct BizContent {
    sn: Result<String, CertDownloadError>,
}

/// Reads a request's `biz_content`.
pub fn read(biz_content: Option<&str>) -> BizContent {
    let sn = match biz_content.map(str::trim).filter(|t| !t.is_empty()) {
        None => Err(CertDownloadError::NullArgument),
        Some(text) => match serde_json::from_str::<Map<String, Value>>(text) {
            Err(_) => Err(CertDownloadError::IllegalArgument),
            Ok(object) => match object.get("alipay_cert_sn") {
                None | Some(Value::Null) => Err(CertDownloadError::NullArgument),
                Some(Value::String(s)) if s.trim().is_empty() => {
                    Err(CertDownloadError::NullArgument)
                }
                Some(Value::String(s)) => Ok(s.trim().to_owned()),
                Some(_) => Err(CertDownloadError::IllegalArgument),
            },
        },
    };
    BizContent { sn }
}

/// The certificate with the asked SN.
pub fn download(
    keyring: &KeyRing,
    biz: &BizContent,
) -> Result<CertDownloadAnswer, CertDownloadError> {
    let sn = biz.sn.as_ref().map_err(|e| *e)?;
    let pem = keyring
        .platform_cert_pem(sn)
        .ok_or(CertDownloadError::CertNotExist)?;
    Ok(CertDownloadAnswer {
        alipay_cert_content: STANDARD.encode(pem.as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sn_is_read_from_a_json_object() {
        assert_eq!(
            read(Some(r#"{"alipay_cert_sn":" abc "}"#)).sn,
            Ok("abc".into())
        );
        assert_eq!(read(None).sn, Err(CertDownloadError::NullArgument));
        assert_eq!(read(Some("{}")).sn, Err(CertDownloadError::NullArgument));
        assert_eq!(
            read(Some("[1]")).sn,
            Err(CertDownloadError::IllegalArgument)
        );
        assert_eq!(
            read(Some(r#"{"alipay_cert_sn":7}"#)).sn,
            Err(CertDownloadError::IllegalArgument)
        );
    }
}
