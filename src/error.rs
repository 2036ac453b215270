//! The gateway's failures and the one table that turns each into Alipay's wire error
//! (`code`, `msg`, `sub_code`, `sub_msg`).
//!
//! [`PublicError`] lists every public (gateway-level) error of the real gateway
//! (docs/protocol.md §4); its `wire` match is the only place their codes and texts appear.
//! Business errors of a method come from that method's own table (see
//! `methods::auth_query`) and travel through [`GatewayError::Business`].

use std::borrow::Cow;

crate::listed_enum! {
/// Every public error the real gateway answers, named for its condition. Each variant's
/// `code`, `msg`, `sub_code` and default `sub_msg` are in [`PublicError::wire`] (and in
/// docs/protocol.md §4); the docs below say when the mock answers it. Every variant can be
/// forced with a scenario naming its `sub_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublicError {
    /// The backend behind the gateway is unavailable (the API document's failure example).
    ServiceUnavailable,
    /// The gateway itself failed.
    GatewayUnavailable,
    /// The user's `auth_token` is not valid. Reached only through a scenario.
    InvalidAuthToken,
    /// The user's `auth_token` has expired. Reached only through a scenario.
    AuthTokenTimeOut,
    /// The `app_auth_token` was not issued to the calling app.
    InvalidAppAuthToken,
    /// The merchant behind the `app_auth_token` has not authorised this method. Reached
    /// only through a scenario.
    AppAuthTokenNoApi,
    /// The `app_auth_token` has expired.
    AppAuthTokenTimeOut,
    /// The merchant has signed up for no product. Reached only through a scenario.
    NoProductRegByPartner,
    /// The `method` parameter is absent or empty.
    MissingMethod,
    /// The `sign` parameter is absent or empty.
    MissingSignature,
    /// The `sign_type` parameter is absent or empty.
    MissingSignatureType,
    /// No signing configuration for the app. Reached only through a scenario.
    MissingSignatureKey,
    /// The `app_id` parameter is absent or empty.
    MissingAppId,
    /// The `timestamp` parameter is absent or empty.
    MissingTimestamp,
    /// The `version` parameter is absent or empty.
    MissingVersion,
    /// Encrypted content without an `encrypt_type`. Reached only through a scenario.
    MissingEncryptType,
    /// `encrypt_type=AES` for an app without an AES key.
    MissingEncryptKey,
    /// A parameter's value is refused: `version` other than `1.0`, or a body above the
    /// size limit (answered unsigned with HTTP 413).
    InvalidParameter,
    /// The `method` names no method the gateway implements.
    InvalidMethod,
    /// `format` is present and not `json` (any case).
    InvalidFormat,
    /// `sign_type` is neither `RSA2` nor `RSA`.
    InvalidSignatureType,
    /// `sign` does not verify over the sign content with the app's public key.
    InvalidSignature,
    /// `encrypt_type` is present and not `AES`.
    InvalidEncryptType,
    /// Encrypted content could not be decrypted. Reached only through a scenario.
    InvalidEncrypt,
    /// `app_id` names no app the gateway knows (answered unsigned).
    InvalidAppId,
    /// `timestamp` is not `yyyy-MM-dd HH:mm:ss`, or lies outside the configured window.
    InvalidTimestamp,
    /// `charset` names a charset other than UTF-8, GBK and GB2312.
    InvalidCharset,
    /// A digest check failed. Reached only through a scenario.
    InvalidDigest,
    /// The encryption algorithm is not supported. Reached only through a scenario.
    UnsupportedEncryptType,
    /// No AES key configured, or a malformed one. Reached only through a scenario.
    InvalidEncryptKey,
    /// The method may not be called on behalf of another app. Reached only through a
    /// scenario.
    NotSupportAppAuth,
    /// Certificate mode: `app_cert_sn` names no certificate of the app (a key-mode app
    /// has none).
    AppCertNotExist,
    /// Certificate mode: `alipay_root_cert_sn` is absent or not the SN of the app's root
    /// bundle.
    InvalidAlipayRootCertSn,
    /// The app has no public key for the request's `sign_type` (answered unsigned).
    MissingSignatureConfig,
    /// `encrypt_type=AES` and `biz_content` does not decrypt with the app's key (bad
    /// Base64 or padding, a wrong key, bytes not in the request charset).
    DecryptionFailed,
    /// No authorisation relation between the caller and the merchant. Reached only
    /// through a scenario.
    InvalidAuthRelations,
    /// The app exceeded its call quota or rate. Reached only through a scenario.
    AppCallLimited,
    /// The method's call quota or rate is exceeded. Reached only through a scenario.
    MethodCallLimited,
    /// The method is outside the app's `allowed_methods`.
    InsufficientIsvPermissions,
    /// The user has not granted the permission. Reached only through a scenario.
    InsufficientUserPermissions,
    /// The user may not call on themself. Reached only through a scenario.
    SelfInvokeForbidden,
}
}

const SERVICE_UNAVAILABLE: (&str, &str) = ("20000", "Service Currently Unavailable");
const TOKEN_PERMISSIONS: (&str, &str) = ("20001", "Insufficient Token Permissions");
const MISSING_ARGUMENTS: (&str, &str) = ("40001", "Missing Required Arguments");
const INVALID_ARGUMENTS: (&str, &str) = ("40002", "Invalid Arguments");
const INSUFFICIENT_CONDITIONS: (&str, &str) = ("40003", "Insufficient Conditions");
const BUSINESS_FAILED: (&str, &str) = ("40004", "Business Failed");
const CALL_LIMITED: (&str, &str) = ("40005", "Call Limited");
const INSUFFICIENT_PERMISSIONS: (&str, &str) = ("40006", "Insufficient Permissions");

/// Every error class the gateway writes: `code` and its `msg`.
const ERROR_CLASSES: [(&str, &str); 8] = [
    SERVICE_UNAVAILABLE,
    TOKEN_PERMISSIONS,
    MISSING_ARGUMENTS,
    INVALID_ARGUMENTS,
    INSUFFICIENT_CONDITIONS,
    BUSINESS_FAILED,
    CALL_LIMITED,
    INSUFFICIENT_PERMISSIONS,
];

/// The error class (`code`, `msg`) with this code (`40002` → `Invalid Arguments`).
pub fn error_class(code: &str) -> Option<(&'static str, &'static str)> {
    ERROR_CLASSES.iter().copied().find(|(c, _)| *c == code)
}

/// The class of business failures, `40004 Business Failed`.
pub fn business_failed() -> (&'static str, &'static str) {
    BUSINESS_FAILED
}

impl PublicError {
    /// `(code, msg)`, `sub_code` and the default `sub_msg`, as the real gateway writes them.
    pub fn wire(self) -> ((&'static str, &'static str), &'static str, &'static str) {
        use PublicError::*;
        match self {
            ServiceUnavailable => (SERVICE_UNAVAILABLE, "isp.unknow-error", "系统繁忙"),
            GatewayUnavailable => (SERVICE_UNAVAILABLE, "aop.unknow-error", "系统繁忙"),
            InvalidAuthToken => (
                TOKEN_PERMISSIONS,
                "aop.invalid-auth-token",
                "无效的访问令牌",
            ),
            AuthTokenTimeOut => (
                TOKEN_PERMISSIONS,
                "aop.auth-token-time-out",
                "访问令牌已过期",
            ),
            InvalidAppAuthToken => (
                TOKEN_PERMISSIONS,
                "aop.invalid-app-auth-token",
                "无效的应用授权令牌",
            ),
            AppAuthTokenNoApi => (
                TOKEN_PERMISSIONS,
                "aop.invalid-app-auth-token-no-api",
                "商户未授权当前接口",
            ),
            AppAuthTokenTimeOut => (
                TOKEN_PERMISSIONS,
                "aop.app-auth-token-time-out",
                "应用授权令牌已过期",
            ),
            NoProductRegByPartner => (
                TOKEN_PERMISSIONS,
                "aop.no-product-reg-by-partner",
                "商户未签约任何产品",
            ),
            MissingMethod => (MISSING_ARGUMENTS, "isv.missing-method", "缺少方法名参数"),
            MissingSignature => (MISSING_ARGUMENTS, "isv.missing-signature", "缺少签名参数"),
            MissingSignatureType => (
                MISSING_ARGUMENTS,
                "isv.missing-signature-type",
                "缺少签名类型参数",
            ),
            MissingSignatureKey => (
                MISSING_ARGUMENTS,
                "isv.missing-signature-key",
                "缺少签名配置",
            ),
            MissingAppId => (MISSING_ARGUMENTS, "isv.missing-app-id", "缺少appId参数"),
            MissingTimestamp => (MISSING_ARGUMENTS, "isv.missing-timestamp", "缺少时间戳参数"),
            MissingVersion => (MISSING_ARGUMENTS, "isv.missing-version", "缺少版本参数"),
            MissingEncryptType => (
                MISSING_ARGUMENTS,
                "isv.decryption-error-missing-encrypt-type",
                "解密出错, 未指定加密算法",
            ),
            MissingEncryptKey => (MISSING_ARGUMENTS, "isv.missing-encrypt-key", "缺少加密配置"),
            InvalidParameter => (INVALID_ARGUMENTS, "isv.invalid-parameter", "参数无效"),
            InvalidMethod => (INVALID_ARGUMENTS, "isv.invalid-method", "不存在的方法名"),
            InvalidFormat => (INVALID_ARGUMENTS, "isv.invalid-format", "无效的数据格式"),
            InvalidSignatureType => (
                INVALID_ARGUMENTS,
                "isv.invalid-signature-type",
                "无效的签名类型",
            ),
            InvalidSignature => (INVALID_ARGUMENTS, "isv.invalid-signature", "无效签名"),
            InvalidEncryptType => (
                INVALID_ARGUMENTS,
                "isv.invalid-encrypt-type",
                "无效的加密类型",
            ),
            InvalidEncrypt => (INVALID_ARGUMENTS, "isv.invalid-encrypt", "解密异常"),
            InvalidAppId => (INVALID_ARGUMENTS, "isv.invalid-app-id", "无效的AppID参数"),
            InvalidTimestamp => (
                INVALID_ARGUMENTS,
                "isv.invalid-timestamp",
                "非法的时间戳参数",
            ),
            InvalidCharset => (INVALID_ARGUMENTS, "isv.invalid-charset", "字符集错误"),
            InvalidDigest => (INVALID_ARGUMENTS, "isv.invalid-digest", "摘要错误"),
            UnsupportedEncryptType => (
                INVALID_ARGUMENTS,
                "isv.decryption-error-not-valid-encrypt-type",
                "解密出错，不支持的加密算法",
            ),
            InvalidEncryptKey => (
                INVALID_ARGUMENTS,
                "isv.decryption-error-not-valid-encrypt-key",
                "解密出错, 未配置加密密钥或加密密钥格式错误",
            ),
            NotSupportAppAuth => (
                INVALID_ARGUMENTS,
                "isv.not-support-app-auth",
                "本接口不支持第三方代理调用",
            ),
            AppCertNotExist => (
                INVALID_ARGUMENTS,
                "isv.app-cert-not-exist",
                "应用公钥证书不存在",
            ),
            InvalidAlipayRootCertSn => (
                INVALID_ARGUMENTS,
                "isv.invalid-alipay-root-cert-sn",
                "无效支付宝根证书序列号",
            ),
            MissingSignatureConfig => (
                INSUFFICIENT_CONDITIONS,
                "isv.missing-signature-config",
                "验签出错, 未配置对应签名算法的公钥或者证书",
            ),
            DecryptionFailed => (
                INSUFFICIENT_CONDITIONS,
                "isv.decryption-error-unknown",
                "解密出错, 未知错误",
            ),
            InvalidAuthRelations => (
                INSUFFICIENT_CONDITIONS,
                "invalid-auth-relations",
                "无效的授权关系",
            ),
            AppCallLimited => (
                CALL_LIMITED,
                "isv.app-call-limited",
                "应用调用次数超限，包含调用频率超限",
            ),
            MethodCallLimited => (
                CALL_LIMITED,
                "isv.method-call-limited",
                "API调用次数超限，包含调用频率超限",
            ),
            InsufficientIsvPermissions => (
                INSUFFICIENT_PERMISSIONS,
                "isv.insufficient-isv-permissions",
                "ISV权限不足",
            ),
            InsufficientUserPermissions => (
                INSUFFICIENT_PERMISSIONS,
                "isv.insufficient-user-permissions",
                "用户权限不足",
            ),
            SelfInvokeForbidden => (
                INSUFFICIENT_PERMISSIONS,
                "isv.self-invoke-forbidden",
                "此用户不允许自调用",
            ),
        }
    }

    /// The `sub_code`.
    pub fn sub_code(self) -> &'static str {
        self.wire().1
    }

    /// The public error with this `sub_code`.
    pub fn from_sub_code(sub_code: &str) -> Option<PublicError> {
        PublicError::ALL
            .iter()
            .copied()
            .find(|e| e.sub_code() == sub_code)
    }
}

/// Everything that can make the gateway answer something other than a method's success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// A public error with the table's `sub_msg`.
    #[error("{}", .0.sub_code())]
    Public(PublicError),
    /// A public error with a `sub_msg` that explains this request (the string an invalid
    /// signature was verified over, the body limit).
    #[error("{}: {}", .0.sub_code(), .1)]
    Explained(PublicError, String),
    /// A method's business failure: `sub_code` and `sub_msg` come from the method's table.
    #[error("business failure {sub_code}")]
    Business {
        /// The business code, sent as `sub_code` (`ZM_ACCOUNT_PAUSE`).
        sub_code: &'static str,
        /// The method's description of the code, sent as `sub_msg`.
        sub_msg: &'static str,
    },
    /// An error a method definition (or a scenario for one) names: any class, with its
    /// own `sub_code` and `sub_msg` (see `methods::defined`).
    #[error("defined failure {sub_code}")]
    Defined {
        /// `code` and `msg` (one of the gateway's classes, `40004 Business Failed` for a
        /// business error).
        class: (&'static str, &'static str),
        /// The `sub_code`, as the definition writes it.
        sub_code: String,
        /// The `sub_msg`, as the definition writes it.
        sub_msg: String,
    },
}

impl From<PublicError> for GatewayError {
    fn from(e: PublicError) -> GatewayError {
        GatewayError::Public(e)
    }
}

/// The four fields of an Alipay error node, in the order the real gateway writes them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WireError {
    /// The five-digit error class (`40002`), a JSON string on the wire.
    pub code: &'static str,
    /// The class's English text (`Invalid Arguments`).
    pub msg: &'static str,
    /// The precise condition (`isv.invalid-signature`, or a method's business code).
    pub sub_code: Cow<'static, str>,
    /// The condition in Chinese, or this request's explanation of it.
    pub sub_msg: Cow<'static, str>,
}

impl GatewayError {
    /// The error as the real gateway writes it.
    pub fn wire(&self) -> WireError {
        let ((code, msg), sub_code, sub_msg) = match self {
            GatewayError::Public(e) => {
                let (code_msg, sub_code, sub_msg) = e.wire();
                (code_msg, Cow::Borrowed(sub_code), Cow::Borrowed(sub_msg))
            }
            GatewayError::Explained(e, explanation) => {
                let (code_msg, sub_code, _) = e.wire();
                (
                    code_msg,
                    Cow::Borrowed(sub_code),
                    Cow::Owned(explanation.clone()),
                )
            }
            GatewayError::Business { sub_code, sub_msg } => (
                BUSINESS_FAILED,
                Cow::Borrowed(*sub_code),
                Cow::Borrowed(*sub_msg),
            ),
            GatewayError::Defined {
                class,
                sub_code,
                sub_msg,
            } => (
                *class,
                Cow::Owned(sub_code.clone()),
                Cow::Owned(sub_msg.clone()),
            ),
        };
        WireError {
            code,
            msg,
            sub_code,
            sub_msg,
        }
    }

    /// A store failure: logged here, answered as the gateway's own unknown error.
    pub fn store(e: crate::store::StoreError) -> GatewayError {
        tracing::error!(error = %e, "store failure while answering a request");
        PublicError::GatewayUnavailable.into()
    }

    /// Whether the real gateway leaves this answer unsigned: it cannot pick a key for an
    /// unknown app, nor for an app that has none for the request's sign type
    /// (docs/protocol.md §3.5).
    pub fn is_unsigned(&self) -> bool {
        matches!(
            self,
            GatewayError::Public(PublicError::InvalidAppId | PublicError::MissingSignatureConfig)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_app_id_is_40001_isv_missing_app_id() {
        let w = GatewayError::from(PublicError::MissingAppId).wire();
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
    fn explained_errors_keep_the_code_and_replace_the_sub_msg() {
        let w = GatewayError::Explained(PublicError::InvalidSignature, "why".into()).wire();
        assert_eq!(
            (w.code, &*w.sub_code, &*w.sub_msg),
            ("40002", "isv.invalid-signature", "why")
        );
    }

    #[test]
    fn every_public_error_is_found_by_its_sub_code_and_sub_codes_are_unique() {
        for &e in PublicError::ALL {
            assert_eq!(PublicError::from_sub_code(e.sub_code()), Some(e));
        }
        assert_eq!(PublicError::from_sub_code("isv.nonexistent"), None);
    }

    #[test]
    fn only_unknown_app_and_missing_key_config_are_unsigned() {
        assert!(GatewayError::from(PublicError::InvalidAppId).is_unsigned());
        assert!(GatewayError::from(PublicError::MissingSignatureConfig).is_unsigned());
        assert!(!GatewayError::from(PublicError::InvalidTimestamp).is_unsigned());
    }
}
