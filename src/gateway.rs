//! `gateway.do`: from the merged parameters to the signed answer, as the real gateway
//! decides it. No HTTP here (see `server`); this is what tests and embedders can call.
//!
//! Check order (PROTOCOL.md §4): charset; method and app_id present; app known (else
//! unsigned `isv.invalid-app-id`); sign_type present and valid; app has a key for it
//! (else unsigned `isv.missing-signature-config`); sign, timestamp, version present;
//! format, timestamp and version valid; signature; method known; encryption; business.
//! Once the app and sign type are known every answer is signed with the app's platform
//! key, errors included, because SDKs that verify reject unsigned answers.

use std::sync::Arc;
use std::time::Duration;

use time::format_description::FormatItem;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::crypto::{self, SignType};
use crate::error::{GatewayError, PublicError};
use crate::keyring::{AppEntry, KeyRing};
use crate::methods::{self, Call, Method};
use crate::protocol::charset::Charset;
use crate::protocol::params::{Params, RawRequest};
use crate::protocol::response::{self, Node, Signer, ERROR_NODE};
use crate::protocol::sign_content::{build_sign_content, quoted_for_sub_msg};
use crate::store::Store;

/// `timestamp` format: `yyyy-MM-dd HH:mm:ss`.
const TIMESTAMP_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// What the gateway serves from.
#[derive(Debug)]
pub struct Gateway {
    pub store: Store,
    pub keyring: KeyRing,
    /// See [`crate::config::Config::timestamp_window`].
    pub timestamp_window: Option<Duration>,
}

/// An HTTP-free answer: status, `Content-Type` and the exact body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The request's app and sign type, once both are known and the app has a key for it.
struct Caller {
    app: Arc<AppEntry>,
    sign_type: SignType,
}

impl Gateway {
    /// Answers one `gateway.do` request.
    pub fn handle(&self, request: RawRequest<'_>) -> GatewayResponse {
        let params = Params::parse(request);
        let node_name = params
            .non_empty("method")
            .map(response::node_name)
            .unwrap_or_else(|| ERROR_NODE.to_owned());
        let caller = self.caller(&params);
        let outcome = self.process(&params, caller.as_ref());
        let signer = match (&outcome, &caller) {
            (Err(e), _) if e.is_unsigned() => None,
            (_, Some(caller)) => Some(Signer {
                key: caller.app.platform_key(),
                sign_type: caller.sign_type,
            }),
            (_, None) => None,
        };
        render(&node_name, outcome, params.charset(), signer)
    }

    /// An error answer for a request that could not be read at all (e.g. too large).
    pub fn reject(&self, error: GatewayError, status: u16) -> GatewayResponse {
        let mut response = render(ERROR_NODE, Err(error), &Charset::utf8(), None);
        response.status = status;
        response
    }

    fn caller(&self, params: &Params) -> Option<Caller> {
        let app = self.keyring.get(params.non_empty("app_id")?)?;
        let sign_type = SignType::parse(params.non_empty("sign_type")?)?;
        app.public_key(sign_type)?;
        Some(Caller { app, sign_type })
    }

    fn process(&self, params: &Params, caller: Option<&Caller>) -> Result<String, GatewayError> {
        use PublicError::*;
        let required = |name: &str, missing: PublicError| {
            params.non_empty(name).ok_or(GatewayError::from(missing))
        };
        if params.unsupported_charset().is_some() {
            return Err(InvalidCharset.into());
        }
        let method_name = required("method", MissingMethod)?;
        let app_id = required("app_id", MissingAppId)?;
        let app = self.keyring.get(app_id).ok_or(InvalidAppId)?;
        let sign_type_text = required("sign_type", MissingSignatureType)?;
        let sign_type = SignType::parse(sign_type_text).ok_or(InvalidSignatureType)?;
        let public_key = app.public_key(sign_type).ok_or(MissingSignatureConfig)?;
        debug_assert!(caller.is_some(), "caller() agrees with the checks above");
        let sign = required("sign", MissingSignature)?;
        let timestamp = required("timestamp", MissingTimestamp)?;
        let version = required("version", MissingVersion)?;
        if let Some(format) = params.non_empty("format") {
            if !format.eq_ignore_ascii_case("json") {
                return Err(InvalidFormat.into());
            }
        }
        self.check_timestamp(timestamp)?;
        if version != "1.0" {
            return Err(InvalidParameter.into());
        }
        verify_signature(params, &app, public_key, sign_type, sign)?;
        let method = Method::from_name(method_name).ok_or(InvalidMethod)?;
        if let Some(encrypt_type) = params.non_empty("encrypt_type") {
            // No app has an AES key in this mock yet: an encrypted request is refused the
            // way the real gateway refuses it for an app without one.
            return Err(if encrypt_type == "AES" {
                MissingEncryptKey
            } else {
                InvalidEncryptType
            }
            .into());
        }
        let call = Call {
            app_id,
            biz_content: params.get("biz_content"),
        };
        methods::dispatch(method, &self.store, call)
    }

    fn check_timestamp(&self, timestamp: &str) -> Result<(), GatewayError> {
        let parsed = (timestamp.len() == 19)
            .then(|| PrimitiveDateTime::parse(timestamp, TIMESTAMP_FORMAT).ok())
            .flatten()
            .ok_or(PublicError::InvalidTimestamp)?;
        if let Some(window) = self.timestamp_window {
            // The real gateway reads timestamps as Beijing time (GMT+8).
            let sent = parsed.assume_offset(offset!(+8));
            let skew = (OffsetDateTime::now_utc() - sent).unsigned_abs();
            if skew > window {
                return Err(PublicError::InvalidTimestamp.into());
            }
        }
        Ok(())
    }
}

/// Verifies the request signature; on failure explains it as the real gateway does: the
/// wrong hash for `sign_type`, a charset that does not match the bytes, or else the
/// string the gateway verified.
fn verify_signature(
    params: &Params,
    app: &AppEntry,
    public_key: &rsa::RsaPublicKey,
    sign_type: SignType,
    sign: &str,
) -> Result<(), GatewayError> {
    let charset = params.charset();
    let content = build_sign_content(params);
    if crypto::verify(public_key, sign_type, &charset.encode(&content), sign) {
        return Ok(());
    }
    let other = sign_type.other();
    let other_key = app.public_key(other).unwrap_or(public_key);
    let sub_msg = if crypto::verify(other_key, other, &charset.encode(&content), sign) {
        format!(
            "验签出错，sign值与sign_type参数指定的签名类型不一致：sign_type参数值为{sign_type}，您实际用的签名类型可能是{other}"
        )
    } else if params.has_non_ascii() && signed_in_other_charset(params, public_key, sign_type, sign)
    {
        "验签出错，请确认charset参数放在了URL查询字符串中且各参数值使用charset参数指示的字符集编码"
            .to_owned()
    } else {
        format!(
            "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{}",
            quoted_for_sub_msg(&content)
        )
    };
    Err(GatewayError::Explained(
        PublicError::InvalidSignature,
        sub_msg,
    ))
}

/// Whether the request verifies once its bytes are read in the other charset family.
fn signed_in_other_charset(
    params: &Params,
    public_key: &rsa::RsaPublicKey,
    sign_type: SignType,
    sign: &str,
) -> bool {
    let other = params.charset().other();
    let redecoded = params.redecoded(&other);
    let content = build_sign_content(&redecoded);
    crypto::verify(public_key, sign_type, &other.encode(&content), sign)
}

/// Renders an outcome into a response; if even that fails, an unsigned unknown error.
fn render(
    node_name: &str,
    outcome: Result<String, GatewayError>,
    charset: &Charset,
    signer: Option<Signer<'_>>,
) -> GatewayResponse {
    let node_json = match outcome {
        Ok(json) => Ok(json),
        Err(error) => error_node(&error),
    };
    let body = node_json
        .map_err(|e| tracing::error!(error = %e, "cannot serialise a response node"))
        .and_then(|json| {
            response::render(node_name, &json, charset, signer)
                .map_err(|e| tracing::error!(error = %e, "cannot sign a response"))
        })
        .unwrap_or_else(|()| {
            // Static text: cannot fail, and still the gateway's own error shape.
            br#"{"error_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"aop.unknow-error","sub_msg":"system busy"}}"#.to_vec()
        });
    GatewayResponse {
        status: 200,
        content_type: format!("text/html;charset={}", charset.label()),
        body,
    }
}

fn error_node(error: &GatewayError) -> Result<String, serde_json::Error> {
    let wire = error.wire();
    Node {
        code: wire.code,
        msg: wire.msg,
        sub_code: Some(&wire.sub_code),
        sub_msg: Some(&wire.sub_msg),
        business: (),
    }
    .to_json()
}
