//! Rendering an outcome into the body that is sent: the error node, the encrypted node
//! form, and the last-resort unsigned error. Signing and the body layout are
//! `protocol::response`'s; this module decides what goes in.

use crate::content_encryption::AesKey;
use crate::error::{GatewayError, PublicError};
use crate::protocol::charset::Charset;
use crate::protocol::response::{self, Node, Signer, ERROR_NODE};
use crate::reply::Reply;

/// Renders an outcome into a response, its node encrypted when `aes_key` is given; if
/// even that fails, an unsigned unknown error.
pub(super) fn render(
    node_name: &str,
    outcome: Result<String, GatewayError>,
    charset: &Charset,
    signer: Option<Signer<'_>>,
    aes_key: Option<&AesKey>,
) -> Reply {
    let node_json = match outcome {
        Ok(json) => Ok(json),
        Err(error) => error_node(&error),
    };
    // An encrypted node is a JSON string: Base64 of AES over the node's JSON in the
    // request charset. Base64 needs no escaping, so the quoted text is the JSON token.
    let node_json = node_json.map(|json| match aes_key {
        Some(key) => format!("\"{}\"", key.encrypt(&charset.encode(&json))),
        None => json,
    });
    let body = node_json
        .map_err(|e| tracing::error!(error = %e, "cannot serialise a response node"))
        .and_then(|json| {
            response::render(node_name, &json, charset, signer)
                .map_err(|e| tracing::error!(error = %e, "cannot sign a response"))
        })
        .unwrap_or_else(|()| unsigned_unknown_error(charset));
    Reply::new(200, format!("text/html;charset={}", charset.label()), body)
}

/// The gateway's own unknown error, unsigned, built without a step that can fail: the
/// last resort when a node cannot be serialised or signed.
fn unsigned_unknown_error(charset: &Charset) -> Vec<u8> {
    let wire = GatewayError::from(PublicError::GatewayUnavailable).wire();
    let mut node = serde_json::Map::new();
    node.insert("code".into(), wire.code.into());
    node.insert("msg".into(), wire.msg.into());
    node.insert("sub_code".into(), wire.sub_code.into_owned().into());
    node.insert("sub_msg".into(), wire.sub_msg.into_owned().into());
    let mut top = serde_json::Map::new();
    top.insert(ERROR_NODE.to_owned(), serde_json::Value::Object(node));
    // Display of a JSON value writes into a String and cannot fail.
    charset
        .encode(&serde_json::Value::Object(top).to_string())
        .into_owned()
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
