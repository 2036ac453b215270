//! The gateway's failures and the one table that turns each into Alipay's wire error
//! (`code`, `msg`, `sub_code`, `sub_msg`).
//!
//! Every public error code string of the gateway appears here and nowhere else. Business
//! errors of a method come from that method's own table (see `methods::auth_query`) and
//! travel through [`GatewayError::Business`].

use std::borrow::Cow;

/// A public request parameter the gateway requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredParam {
    Method,
    AppId,
    Sign,
    SignType,
    Timestamp,
    Version,
}

/// Everything that can make the gateway answer something other than a method's success.
///
/// Variants name the condition, never the number; [`GatewayError::wire`] is the only
/// place that knows the numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("missing required parameter {0:?}")]
    MissingParam(RequiredParam),
    #[error("unknown app_id")]
    InvalidAppId,
    #[error("the app has no public key for the request's sign_type")]
    MissingSignatureConfig,
    #[error("unsupported charset")]
    InvalidCharset,
    #[error("format is not JSON")]
    InvalidFormat,
    #[error("sign_type is neither RSA2 nor RSA")]
    InvalidSignatureType,
    #[error("timestamp is not `yyyy-MM-dd HH:mm:ss` or outside the allowed window")]
    InvalidTimestamp,
    #[error("version is not 1.0")]
    InvalidVersion,
    /// The signature does not verify; `sub_msg` is the real gateway's explanation.
    #[error("signature does not verify")]
    InvalidSignature { sub_msg: String },
    #[error("unknown method")]
    InvalidMethod,
    #[error("encrypt_type is not AES")]
    InvalidEncryptType,
    #[error("encrypted request but the app has no AES key")]
    MissingEncryptKey,
    #[error("request body too large")]
    BodyTooLarge { limit: usize },
    /// The backend behind the gateway is unavailable (the API document's failure example).
    #[error("service currently unavailable")]
    ServiceUnavailable,
    /// The gateway itself failed (store I/O, a bug); details go to the log, not the wire.
    #[error("internal gateway failure")]
    Internal,
    /// A method's business failure: `sub_code` and `sub_msg` come from the method's table.
    #[error("business failure {sub_code}")]
    Business {
        sub_code: &'static str,
        sub_msg: &'static str,
    },
}

/// The four fields of an Alipay error node, in the order the real gateway writes them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WireError {
    pub code: &'static str,
    pub msg: &'static str,
    pub sub_code: Cow<'static, str>,
    pub sub_msg: Cow<'static, str>,
}

const MISSING_ARGUMENTS: (&str, &str) = ("40001", "Missing Required Arguments");
const INVALID_ARGUMENTS: (&str, &str) = ("40002", "Invalid Arguments");
const INSUFFICIENT_CONDITIONS: (&str, &str) = ("40003", "Insufficient Conditions");
const BUSINESS_FAILED: (&str, &str) = ("40004", "Business Failed");
const SERVICE_UNAVAILABLE: (&str, &str) = ("20000", "Service Currently Unavailable");

fn wire(
    (code, msg): (&'static str, &'static str),
    sub_code: impl Into<Cow<'static, str>>,
    sub_msg: impl Into<Cow<'static, str>>,
) -> WireError {
    WireError {
        code,
        msg,
        sub_code: sub_code.into(),
        sub_msg: sub_msg.into(),
    }
}

impl GatewayError {
    /// The error as the real gateway writes it (PROTOCOL.md §4).
    pub fn wire(&self) -> WireError {
        use GatewayError::*;
        match self {
            MissingParam(p) => {
                let (sub_code, sub_msg) = match p {
                    RequiredParam::Method => ("isv.missing-method", "缺少方法名参数"),
                    RequiredParam::AppId => ("isv.missing-app-id", "缺少appId参数"),
                    RequiredParam::Sign => ("isv.missing-signature", "缺少签名参数"),
                    RequiredParam::SignType => ("isv.missing-signature-type", "缺少签名类型参数"),
                    RequiredParam::Timestamp => ("isv.missing-timestamp", "缺少时间戳参数"),
                    RequiredParam::Version => ("isv.missing-version", "缺少版本参数"),
                };
                wire(MISSING_ARGUMENTS, sub_code, sub_msg)
            }
            InvalidAppId => wire(INVALID_ARGUMENTS, "isv.invalid-app-id", "无效的AppID参数"),
            MissingSignatureConfig => wire(
                INSUFFICIENT_CONDITIONS,
                "isv.missing-signature-config",
                "验签出错, 未配置对应签名算法的公钥或者证书",
            ),
            InvalidCharset => wire(INVALID_ARGUMENTS, "isv.invalid-charset", "字符集错误"),
            InvalidFormat => wire(INVALID_ARGUMENTS, "isv.invalid-format", "无效的数据格式"),
            InvalidSignatureType => wire(
                INVALID_ARGUMENTS,
                "isv.invalid-signature-type",
                "无效的签名类型",
            ),
            InvalidTimestamp => wire(
                INVALID_ARGUMENTS,
                "isv.invalid-timestamp",
                "非法的时间戳参数",
            ),
            InvalidVersion => wire(INVALID_ARGUMENTS, "isv.invalid-parameter", "参数无效"),
            InvalidSignature { sub_msg } => {
                wire(INVALID_ARGUMENTS, "isv.invalid-signature", sub_msg.clone())
            }
            InvalidMethod => wire(INVALID_ARGUMENTS, "isv.invalid-method", "不存在的方法名"),
            InvalidEncryptType => wire(
                INVALID_ARGUMENTS,
                "isv.invalid-encrypt-type",
                "无效的加密类型",
            ),
            MissingEncryptKey => wire(MISSING_ARGUMENTS, "isv.missing-encrypt-key", "缺少加密配置"),
            BodyTooLarge { limit } => wire(
                INVALID_ARGUMENTS,
                "isv.invalid-parameter",
                format!("参数无效：请求体超过 {limit} 字节"),
            ),
            ServiceUnavailable => wire(SERVICE_UNAVAILABLE, "isp.unknow-error", "系统繁忙"),
            Internal => wire(SERVICE_UNAVAILABLE, "aop.unknow-error", "系统繁忙"),
            Business { sub_code, sub_msg } => wire(BUSINESS_FAILED, *sub_code, *sub_msg),
        }
    }

    /// A store failure: logged here, answered as the gateway's own unknown error.
    pub fn store(e: crate::store::StoreError) -> GatewayError {
        tracing::error!(error = %e, "store failure while answering a request");
        GatewayError::Internal
    }

    /// Whether the real gateway leaves this answer unsigned: it cannot pick a key for an
    /// unknown app, nor for an app that has none for the request's sign type
    /// (PROTOCOL.md §3.5).
    pub fn is_unsigned(&self) -> bool {
        matches!(
            self,
            GatewayError::InvalidAppId | GatewayError::MissingSignatureConfig
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_app_id_is_40001_isv_missing_app_id() {
        let w = GatewayError::MissingParam(RequiredParam::AppId).wire();
        assert_eq!((w.code, w.msg), ("40001", "Missing Required Arguments"));
        assert_eq!(w.sub_code, "isv.missing-app-id");
    }

    #[test]
    fn business_errors_are_40004_with_the_code_verbatim() {
        let w = GatewayError::Business {
            sub_code: "ZMCSP.ALIPAY_ACCOUNT_NOTEXISTED",
            sub_msg: "此支付宝账户ID不存在",
        }
        .wire();
        assert_eq!((w.code, w.msg), ("40004", "Business Failed"));
        assert_eq!(w.sub_code, "ZMCSP.ALIPAY_ACCOUNT_NOTEXISTED");
    }

    #[test]
    fn only_unknown_app_and_missing_key_config_are_unsigned() {
        assert!(GatewayError::InvalidAppId.is_unsigned());
        assert!(GatewayError::MissingSignatureConfig.is_unsigned());
        assert!(!GatewayError::InvalidTimestamp.is_unsigned());
        assert!(!GatewayError::InvalidSignature {
            sub_msg: String::new()
        }
        .is_unsigned());
    }
}
