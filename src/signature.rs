//! Request signature verification, with the real gateway's explanations of a mismatch:
//! the wrong hash for `sign_type`, bytes not in the declared charset, or else the string
//! the gateway verified (docs/protocol.md §4, `isv.invalid-signature`).

use crate::crypto::{self, SignType, VerifyingKey};
use crate::error::{GatewayError, PublicError};
use crate::keyring::AppEntry;
use crate::protocol::params::Params;
use crate::protocol::sign_content::{quoted_for_sub_msg, sign_content};

/// The outcome of checking one request's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The string the gateway verified.
    pub sign_content: String,
    /// `Ok` when the signature verifies; else the explained error.
    pub result: Result<(), GatewayError>,
}

/// Verifies the request signature over the bytes received (see
/// [`crate::protocol::sign_content`]); on failure explains it as the real gateway does:
/// the wrong hash for `sign_type`, a charset that does not match the bytes, or else the
/// string the gateway verified.
///
/// A signature that covers the bytes still fails when those bytes are not well formed in
/// the declared charset: the gateway would act on replacement characters.
pub fn verify_request(
    params: &Params,
    app: &AppEntry,
    public_key: &VerifyingKey,
    sign_type: SignType,
    sign: &str,
) -> Checked {
    let content = sign_content(params);
    let covers_bytes = crypto::verify(public_key, sign_type, &content.bytes, sign);
    if covers_bytes && content.well_formed {
        return Checked {
            sign_content: content.text,
            result: Ok(()),
        };
    }
    let other = sign_type.other();
    let other_key = app.public_key(other).unwrap_or(public_key);
    let sub_msg = if !covers_bytes && crypto::verify(other_key, other, &content.bytes, sign) {
        format!(
            "验签出错，sign值与sign_type参数指定的签名类型不一致：sign_type参数值为{sign_type}，您实际用的签名类型可能是{other}"
        )
    } else if covers_bytes
        || (params.has_non_ascii()
            && signed_in_other_charset(params, &content.text, public_key, sign_type, sign))
    {
        // Either the client signed exactly what it sent but that is not text in the
        // declared charset, or it sent text in the declared charset but signed it
        // encoded in the other one: both are the charset mistake the real gateway names.
        "验签出错，请确认charset参数放在了URL查询字符串中且各参数值使用charset参数指示的字符集编码"
            .to_owned()
    } else {
        format!(
            "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{}",
            quoted_for_sub_msg(&content.text)
        )
    };
    Checked {
        sign_content: content.text,
        result: Err(GatewayError::Explained(
            PublicError::InvalidSignature,
            sub_msg,
        )),
    }
}

/// Whether the request verifies once its decoded text is encoded in the other charset
/// family (the client encoded the form in one charset and signed in another). Only an
/// explanation of a failure: it never makes a request pass.
fn signed_in_other_charset(
    params: &Params,
    text: &str,
    public_key: &VerifyingKey,
    sign_type: SignType,
    sign: &str,
) -> bool {
    let other = params.charset().other();
    crypto::verify(public_key, sign_type, &other.encode(text), sign)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::KeyRing;
    use crate::keys::{parse_private_key, parse_public_key};
    use crate::model::App;
    use crate::protocol::params::RawRequest;

    const APP_PRIVATE: &str = include_str!("../fixtures/keys/app_private_key.pem");
    const APP_PUBLIC: &str = include_str!("../fixtures/keys/app_public_key.pem");
    const PLATFORM: &str = include_str!("../fixtures/keys/alipay_private_key.pem");
    /// 😀 in GB18030; the GBK encoder writes it as `&#128512;`.
    const EMOJI_GB18030: &str = "%94%39%FC%36";
    const EMOJI_ENTITY: &str = "%26%23128512%3B";

    fn app() -> AppEntry {
        let ring = KeyRing::new(parse_private_key(PLATFORM).unwrap(), None).unwrap();
        let app: App = serde_json::from_value(serde_json::json!({
            "app_id": "1",
            "public_keys": {"RSA2": APP_PUBLIC},
        }))
        .unwrap();
        ring.prepare(app).unwrap()
    }

    fn sign(bytes: &[u8]) -> String {
        crypto::sign(
            &parse_private_key(APP_PRIVATE).unwrap(),
            SignType::Rsa2,
            bytes,
        )
        .unwrap()
    }

    fn check(query: &str, sign: &str) -> Result<(), GatewayError> {
        let params = Params::parse(RawRequest {
            query: Some(query.as_bytes()),
            body: b"",
            content_type: None,
        });
        let key = parse_public_key(APP_PUBLIC).unwrap();
        verify_request(
            &params,
            &app(),
            &crate::crypto::VerifyingKey::new(key),
            SignType::Rsa2,
            sign,
        )
        .result
    }

    fn sub_msg(result: Result<(), GatewayError>) -> String {
        match result {
            Err(GatewayError::Explained(PublicError::InvalidSignature, sub_msg)) => sub_msg,
            other => panic!("expected invalid-signature, got {other:?}"),
        }
    }

    #[test]
    fn a_signature_over_the_entity_text_does_not_cover_the_emoji_bytes() {
        let sign = sign(b"charset=GBK&v=&#128512;");
        assert_eq!(
            check(&format!("charset=GBK&v={EMOJI_ENTITY}"), &sign),
            Ok(())
        );
        let swapped = check(&format!("charset=GBK&v={EMOJI_GB18030}"), &sign);
        assert!(sub_msg(swapped).contains("网关生成的验签字符串为：charset=GBK&amp;v=😀"));
    }

    #[test]
    fn a_signature_over_the_emoji_bytes_does_not_cover_the_entity_text() {
        let sign = sign(b"charset=GBK&v=\x94\x39\xfc\x36");
        assert_eq!(
            check(&format!("charset=GBK&v={EMOJI_GB18030}"), &sign),
            Ok(())
        );
        sub_msg(check(&format!("charset=GBK&v={EMOJI_ENTITY}"), &sign));
    }

    #[test]
    fn signed_bytes_that_are_not_text_in_the_declared_charset_are_refused_with_the_charset_hint() {
        // 张三 in GBK, signed as sent, but the request says utf-8.
        let sign = sign(b"charset=utf-8&v=\xd5\xc5\xc8\xfd");
        let msg = sub_msg(check("charset=utf-8&v=%D5%C5%C8%FD", &sign));
        assert!(msg.contains("charset参数"), "{msg}");
    }

    #[test]
    fn text_sent_in_one_charset_and_signed_in_the_other_gets_the_charset_hint() {
        // UTF-8 on the wire, as declared, but signed over the GBK bytes.
        let sign = sign(b"charset=utf-8&v=\xd5\xc5\xc8\xfd");
        let msg = sub_msg(check("charset=utf-8&v=%E5%BC%A0%E4%B8%89", &sign));
        assert!(msg.contains("charset参数"), "{msg}");
    }
}
