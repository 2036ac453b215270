//! Request signature verification, with the real gateway's explanations of a mismatch:
//! the wrong hash for `sign_type`, bytes not in the declared charset, or else the string
//! the gateway verified (docs/protocol.md §4, `isv.invalid-signature`).

use crate::crypto::{self, SignType, VerifyingKey};
use crate::error::{GatewayError, PublicError};
use crate::keyring::AppEntry;
use crate::protocol::params::Params;
use crate::protocol::sign_content::{build_sign_content, quoted_for_sub_msg};

/// The outcome of checking one request's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The string the gateway verified.
    pub sign_content: String,
    /// `Ok` when the signature verifies; else the explained error.
    pub result: Result<(), GatewayError>,
}

/// Verifies the request signature; on failure explains it as the real gateway does: the
/// wrong hash for `sign_type`, a charset that does not match the bytes, or else the
/// string the gateway verified.
pub fn verify_request(
    params: &Params,
    app: &AppEntry,
    public_key: &VerifyingKey,
    sign_type: SignType,
    sign: &str,
) -> Checked {
    let charset = params.charset();
    let content = build_sign_content(params);
    if crypto::verify(public_key, sign_type, &charset.encode(&content), sign) {
        return Checked {
            sign_content: content,
            result: Ok(()),
        };
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
    Checked {
        sign_content: content,
        result: Err(GatewayError::Explained(
            PublicError::InvalidSignature,
            sub_msg,
        )),
    }
}

/// Whether the request verifies once its bytes are read in the other charset family.
fn signed_in_other_charset(
    params: &Params,
    public_key: &VerifyingKey,
    sign_type: SignType,
    sign: &str,
) -> bool {
    let other = params.charset().other();
    let redecoded = params.redecoded(&other);
    let content = build_sign_content(&redecoded);
    crypto::verify(public_key, sign_type, &other.encode(&content), sign)
}
