//! `gateway.do`: from the merged parameters to the signed answer, as the real gateway
//! decides it, over a [`State`]. No HTTP here (see `server`): [`handle`] takes the raw
//! request and answers a [`Reply`].
//!
//! Check order (docs/protocol.md §4): charset; method and app_id present; app known (else
//! unsigned `isv.invalid-app-id`); sign_type present and valid; app has a key for it
//! (else unsigned `isv.missing-signature-config`); sign, timestamp, version present;
//! format, timestamp and version valid; signature; method known; method allowed for the
//! app; app_auth_token; encryption; then forced outcomes (scenarios), injected
//! `isp.unknow-error`, and the method itself. Once the app and sign type are known every
//! answer is signed with the app's platform key, errors included, because SDKs that
//! verify reject unsigned answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::format_description::FormatItem;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::control::faults::{Draw, HostileMode};
use crate::control::journal::{self, JournalEntry, OutcomeCodes, SignatureVerdict};
use crate::control::scenarios::{Candidate, Forced};
use crate::crypto::SignType;
use crate::error::{GatewayError, PublicError};
use crate::keyring::AppEntry;
use crate::methods::{self, BizContent, Call, Method};
use crate::protocol::charset::Charset;
use crate::protocol::params::{Params, RawRequest};
use crate::protocol::response::{self, Node, Signer, ERROR_NODE, SUCCESS};
use crate::reply::Reply;
use crate::signature::verify_request;
use crate::state::State;

/// `timestamp` format: `yyyy-MM-dd HH:mm:ss`.
const TIMESTAMP_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// One handled request: the answer and what the transport must do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The answer.
    pub reply: Reply,
    /// Injected latency to wait before answering.
    pub delay: Option<Duration>,
    /// Close the connection instead of answering.
    pub drop_connection: bool,
}

/// The request's app and sign type, once both are known and the app has a key for it.
struct Caller {
    app: Arc<AppEntry>,
    sign_type: SignType,
}

/// What the journal learns while a request is processed.
#[derive(Default)]
struct Observed {
    signature: SignatureVerdict,
}

/// Answers one `gateway.do` request and records it in the journal. CPU-bound (RSA):
/// call it off the async runtime's worker threads.
pub fn handle(state: &State, request: RawRequest<'_>, http_method: &str) -> Exchange {
    let started = Instant::now();
    let params = Params::parse(request);
    let method_name = params.non_empty("method");
    let node_name = method_name
        .map(response::node_name)
        .unwrap_or_else(|| ERROR_NODE.to_owned());
    // biz_content is read once, by the method it is addressed to.
    let biz = method_name
        .and_then(Method::from_name)
        .map(|method| method.read(params.get("biz_content")));
    let draw = state.faults().draw(params.non_empty("app_id"));
    let caller = caller(state, &params);
    let mut observed = Observed::default();
    let outcome = process(
        state,
        &params,
        biz.as_ref(),
        caller.as_ref(),
        &draw,
        &mut observed,
    );
    let codes = outcome_codes(&outcome);
    let signer = match (&outcome, &caller) {
        (Err(e), _) if e.is_unsigned() => None,
        (_, Some(caller)) => Some(Signer {
            key: match draw.hostile {
                Some(HostileMode::WrongKey) => state.hostile_key(),
                _ => caller.app.platform_key(),
            },
            sign_type: caller.sign_type,
            cache: Some(state.sign_cache()),
        }),
        (_, None) => None,
    };
    let signer = signer.filter(|_| draw.hostile != Some(HostileMode::MissingSign));
    let mut reply = render(&node_name, outcome, params.charset(), signer);
    if draw.hostile == Some(HostileMode::AlteredBody) {
        let swaps = biz.as_ref().map_or(&[][..], |b| b.method().tamper_pairs());
        reply.body = response::alter_after_signing(reply.body, swaps);
    }
    let elapsed = started.elapsed() + draw.delay.unwrap_or_default();
    tracing::debug!(
        method = params.get("method"),
        app_id = params.get("app_id"),
        code = %codes.code,
        sub_code = codes.sub_code.as_deref(),
        "answered gateway.do"
    );
    state.journal().record(journal_entry(
        state,
        &params,
        biz.as_ref(),
        http_method,
        observed,
        codes,
        &draw,
        elapsed,
    ));
    Exchange {
        reply,
        delay: draw.delay,
        drop_connection: draw.drop_connection,
    }
}

/// An error answer for a request that could not be read at all (e.g. too large).
pub fn reject(error: GatewayError, status: u16) -> Reply {
    let mut reply = render(ERROR_NODE, Err(error), &Charset::utf8(), None);
    reply.status = status;
    reply
}

fn caller(state: &State, params: &Params) -> Option<Caller> {
    let app = state.keyring().get(params.non_empty("app_id")?)?;
    let sign_type = SignType::parse(params.non_empty("sign_type")?)?;
    app.public_key(sign_type)?;
    Some(Caller { app, sign_type })
}

fn process(
    state: &State,
    params: &Params,
    biz: Option<&BizContent>,
    caller: Option<&Caller>,
    draw: &Draw,
    observed: &mut Observed,
) -> Result<String, GatewayError> {
    use PublicError::*;
    let required = |name: &str, missing: PublicError| {
        params.non_empty(name).ok_or(GatewayError::from(missing))
    };
    if params.unsupported_charset().is_some() {
        return Err(InvalidCharset.into());
    }
    let method_name = required("method", MissingMethod)?;
    let app_id = required("app_id", MissingAppId)?;
    state.keyring().get(app_id).ok_or(InvalidAppId)?;
    let sign_type_text = required("sign_type", MissingSignatureType)?;
    SignType::parse(sign_type_text).ok_or(InvalidSignatureType)?;
    // From here on the request has a caller: the app, its sign type and its key.
    let Caller { app, sign_type } = caller.ok_or(MissingSignatureConfig)?;
    let public_key = app.public_key(*sign_type).ok_or(MissingSignatureConfig)?;
    let sign = required("sign", MissingSignature)?;
    let timestamp = required("timestamp", MissingTimestamp)?;
    let version = required("version", MissingVersion)?;
    if let Some(format) = params.non_empty("format") {
        if !format.eq_ignore_ascii_case("json") {
            return Err(InvalidFormat.into());
        }
    }
    check_timestamp(state.timestamp_window(), timestamp)?;
    if version != "1.0" {
        return Err(InvalidParameter.into());
    }
    let checked = verify_request(params, app, public_key, *sign_type, sign);
    observed.signature = SignatureVerdict {
        verified: Some(checked.result.is_ok()),
        sign_content: Some(checked.sign_content),
    };
    checked.result?;
    let biz = biz.ok_or(InvalidMethod)?;
    if let Some(allowed) = &app.app.allowed_methods {
        if !allowed.iter().any(|m| m == method_name) {
            return Err(InsufficientIsvPermissions.into());
        }
    }
    if let Some(token) = params.non_empty("app_auth_token") {
        let known = app.app.app_auth_tokens.iter().find(|t| t.token == token);
        match known {
            None => return Err(InvalidAppAuthToken.into()),
            Some(t)
                if t.expires_at
                    .is_some_and(|at| at <= OffsetDateTime::now_utc()) =>
            {
                return Err(AppAuthTokenTimeOut.into())
            }
            Some(_) => {}
        }
    }
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
    let call = Call { app_id, biz };
    if let Some(forced) = forced_outcome(state, call) {
        return match forced {
            Forced::Error(error) => Err(error),
            Forced::Answer {
                authorized,
                open_id,
            } => methods::forced_answer(state.store(), call, authorized, open_id),
        };
    }
    if draw.unknown_error {
        return Err(ServiceUnavailable.into());
    }
    methods::answer(state.store(), call)
}

/// Counts the call against the scenarios and persists their counters (no flush per
/// request; see [`crate::store::Store::swap_scenario`]).
fn forced_outcome(state: &State, call: Call<'_>) -> Option<Forced> {
    let identity = || methods::identity_of(state.store(), call);
    let candidate = Candidate {
        method: call.biz.method().name(),
        app_id: call.app_id,
        identity: &identity,
    };
    let persist = |change: crate::control::scenarios::Change<'_>| {
        let id = &change.before.id;
        if let Err(e) = state.store().swap_scenario(id, change.before, change.after) {
            tracing::warn!(error = %e, scenario = %id, "could not persist a scenario counter");
        }
    };
    state
        .scenarios()
        .take(&candidate, OffsetDateTime::now_utc(), &persist)
}

fn check_timestamp(window: Option<Duration>, timestamp: &str) -> Result<(), GatewayError> {
    let parsed = (timestamp.len() == 19)
        .then(|| PrimitiveDateTime::parse(timestamp, TIMESTAMP_FORMAT).ok())
        .flatten()
        .ok_or(PublicError::InvalidTimestamp)?;
    if let Some(window) = window {
        // The real gateway reads timestamps as Beijing time (GMT+8).
        let sent = parsed.assume_offset(offset!(+8));
        let skew = (OffsetDateTime::now_utc() - sent).unsigned_abs();
        if skew > window {
            return Err(PublicError::InvalidTimestamp.into());
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn journal_entry(
    state: &State,
    params: &Params,
    biz: Option<&BizContent>,
    http_method: &str,
    observed: Observed,
    outcome: OutcomeCodes,
    draw: &Draw,
    elapsed: Duration,
) -> JournalEntry {
    // Mask personal data as the method reads it, and the same text inside the sign
    // content, which quotes biz_content verbatim.
    let raw_biz = params.get("biz_content");
    let masked_biz = match (state.journal().unmasked(), biz) {
        (true, _) => None,
        (false, Some(biz)) => biz.masked(),
        (false, None) => methods::mask_for_unknown_method(raw_biz),
    };
    let mut signature = observed.signature;
    signature.sign_content = signature.sign_content.map(|content| {
        let content = match (raw_biz, &masked_biz) {
            (Some(raw), Some(masked)) if !raw.is_empty() => content.replace(raw, masked),
            _ => content,
        };
        journal::bounded(&content)
    });
    JournalEntry {
        id: 0,
        time: OffsetDateTime::now_utc(),
        http_method: http_method.to_owned(),
        app_id: params.get("app_id").map(str::to_owned),
        method: params.get("method").map(str::to_owned),
        charset: params.charset().label().to_owned(),
        params: params
            .iter()
            .map(|(k, v)| {
                let v = match (k, &masked_biz) {
                    ("biz_content", Some(masked)) => masked.as_str(),
                    _ => v,
                };
                (journal::bounded(k), journal::bounded(v))
            })
            .collect(),
        signature,
        outcome,
        faults: draw.labels(),
        latency_ms: elapsed.as_secs_f64() * 1000.0,
    }
}

fn outcome_codes(outcome: &Result<String, GatewayError>) -> OutcomeCodes {
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

/// Renders an outcome into a response; if even that fails, an unsigned unknown error.
fn render(
    node_name: &str,
    outcome: Result<String, GatewayError>,
    charset: &Charset,
    signer: Option<Signer<'_>>,
) -> Reply {
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
