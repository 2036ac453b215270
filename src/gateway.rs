//! `gateway.do`: from the merged parameters to the signed answer, as the real gateway
//! decides it, over a [`State`]. No HTTP here (see `server`): [`handle`] takes the raw
//! request and answers a [`Reply`].
//!
//! Check order (docs/protocol.md §4): charset; method and app_id present; app known (else
//! unsigned `isv.invalid-app-id`); sign_type present and valid; app has a key for it
//! (else unsigned `isv.missing-signature-config`); sign, timestamp, version present;
//! format, timestamp and version valid; certificate SNs (`cert_mode`); signature;
//! method known; method allowed for the app; app_auth_token; encryption (`encryption`);
//! then forced outcomes (scenarios), injected `isp.unknow-error`, and the method itself.
//! Once the app and sign type are known every answer is signed with the app's platform
//! key (the platform certificate's key, with `alipay_cert_sn`, in certificate mode),
//! errors included, because SDKs that verify reject unsigned answers. Once `biz_content`
//! has been decrypted every answer is encrypted, because Java cannot read a plaintext
//! answer to an encrypted request.

mod answer;
mod cert_mode;
mod encryption;

use answer::render;

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::format_description::FormatItem;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::control::faults::{Draw, HostileMode};
use crate::control::journal::{self, JournalEntry, OutcomeCodes, SignatureVerdict};
use crate::control::scenarios::{Candidate, Forced};
use crate::crypto::SignType;
use crate::doctor::{self, Diagnosis, Examined, Refusal};
use crate::error::{GatewayError, PublicError};
use crate::keyring::AppEntry;
use crate::methods::{self, Answered, BizContent, Call, Method, TriggeredNotification};
use crate::metrics::{self, RequestLabels};
use crate::protocol::charset::Charset;
use crate::protocol::params::{Params, RawRequest};
use crate::protocol::response::{self, Signer, ERROR_NODE, SUCCESS};
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
    /// The doctor's finding, for the `X-Alipay-Mock-Diagnosis` header.
    pub diagnosis: Option<Diagnosis>,
}

/// The request's app and sign type, once both are known and the app has a key for it
/// (or, in certificate mode, an app certificate).
struct Caller {
    app: Arc<AppEntry>,
    sign_type: SignType,
    /// The request is in certificate mode and the app speaks it.
    cert_mode: bool,
}

impl Caller {
    /// The key that signs this caller's answers, and the `alipay_cert_sn` that goes with
    /// it in certificate mode.
    fn signing_key(&self) -> (&crate::crypto::SigningKey, Option<&str>) {
        match self.app.cert_mode().filter(|_| self.cert_mode) {
            Some(c) => (&c.platform.key, Some(c.platform.cert.sn.as_str())),
            None => (self.app.platform_key(), None),
        }
    }
}

/// What the journal learns while a request is processed.
#[derive(Default)]
struct Observed {
    signature: SignatureVerdict,
    /// What the caller most likely did wrong, when the request was refused.
    diagnosis: Option<Diagnosis>,
    /// `biz_content` was decrypted: the answer is encrypted.
    decrypted: bool,
    /// A defined method's success node as the journal shows it (`mask` applied).
    answer: Option<String>,
    /// The notification the answer triggered.
    notification: Option<TriggeredNotification>,
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
    let app = params
        .non_empty("app_id")
        .and_then(|id| state.keyring().get(id));
    // Decrypted (when encrypted) and read once, by the method it is addressed to.
    let content = encryption::Content::of(&params, app.as_deref());
    let method = method_name.and_then(|name| Method::resolve(name, state.definitions()));
    let biz = method.as_ref().map(|method| method.read(content.text()));
    let draw = state.faults().draw(params.non_empty("app_id"));
    let caller = caller(app.clone(), &params);
    let mut observed = Observed::default();
    let outcome = process(
        state,
        &params,
        &content,
        biz.as_ref(),
        caller.as_ref(),
        &draw,
        &mut observed,
    );
    if let (Err(error), Some(app)) = (&outcome, &app) {
        // A failed signature was examined where it failed; any other refusal of a known
        // app is examined here, beside the unchanged answer.
        if observed.signature.verified != Some(false) {
            let examined = Examined {
                params: &params,
                app,
                keyring: state.keyring(),
                plaintext: content.decrypted(),
            };
            observed.diagnosis = doctor::diagnose(examined, Refusal::Error(error));
        }
    }
    let codes = outcome_codes(&outcome);
    let signer = signer(state, &outcome, caller.as_ref(), &draw);
    // Once decrypted, every answer is encrypted (docs/protocol.md §5), except the
    // certificate download, which SDKs call in plaintext (§6).
    let aes_key = caller
        .as_ref()
        .and_then(|c| c.app.aes_key())
        .filter(|_| observed.decrypted && method.as_ref().is_none_or(Method::encrypts_answers));
    let mut reply = render(&node_name, outcome, params.charset(), signer, aes_key);
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
    count(
        state,
        &params,
        method.as_ref(),
        &observed,
        &codes,
        &draw,
        elapsed,
    );
    if let Some(notification) = observed.notification.take() {
        observed.notification = Some(match &biz {
            Some(biz) if !state.journal().unmasked() => biz.masked_notification(&notification),
            _ => notification.clone(),
        });
        // The one place a notification leaves the request path: `trigger` only queues it.
        crate::notify::trigger(state, notification);
    }
    let diagnosis = observed.diagnosis.clone();
    state.journal().record(journal_entry(
        state,
        &params,
        &content,
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
        diagnosis,
    }
}

/// Who signs the answer: nobody for the unsigned errors, without a caller, or under the
/// `missing_sign` fault; else the caller's key (the hostile key under `wrong_key`).
fn signer<'a>(
    state: &'a State,
    outcome: &Result<String, GatewayError>,
    caller: Option<&'a Caller>,
    draw: &Draw,
) -> Option<Signer<'a>> {
    let caller = caller?;
    if outcome.as_ref().is_err_and(GatewayError::is_unsigned)
        || draw.hostile == Some(HostileMode::MissingSign)
    {
        return None;
    }
    let (key, cert_sn) = caller.signing_key();
    Some(Signer {
        key: match draw.hostile {
            Some(HostileMode::WrongKey) => state.hostile_key(),
            _ => key,
        },
        sign_type: caller.sign_type,
        cert_sn,
        cache: Some(state.sign_cache()),
    })
}

/// An error answer for a request that could not be read at all (e.g. too large).
pub fn reject(error: GatewayError, status: u16) -> Reply {
    let mut reply = render(ERROR_NODE, Err(error), &Charset::utf8(), None, None);
    reply.status = status;
    reply
}

fn caller(app: Option<Arc<AppEntry>>, params: &Params) -> Option<Caller> {
    let app = app?;
    let sign_type = SignType::parse(params.non_empty("sign_type")?)?;
    let cert_mode = cert_mode::mode(params, &app).is_some();
    if !cert_mode {
        app.public_key(sign_type)?;
    }
    Some(Caller {
        app,
        sign_type,
        cert_mode,
    })
}

fn process(
    state: &State,
    params: &Params,
    content: &encryption::Content<'_>,
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
    // From here on the request has a caller: the app, its sign type and its key (or
    // app certificate).
    let caller = caller.ok_or(MissingSignatureConfig)?;
    let Caller { app, sign_type, .. } = caller;
    let sign = required("sign", MissingSignature)?;
    let timestamp = required("timestamp", MissingTimestamp)?;
    // The official PHP SDK's certificate rotation (`AopCertClient::checkResponseSign`)
    // sends the certificate download without `version` (docs/protocol.md, §6): accepted
    // for that method only.
    let version = match params.non_empty("version") {
        Some(version) => Some(version),
        None if method_name == methods::cert_download::METHOD_NAME => None,
        None => return Err(MissingVersion.into()),
    };
    if let Some(format) = params.non_empty("format") {
        if !format.eq_ignore_ascii_case("json") {
            return Err(InvalidFormat.into());
        }
    }
    check_timestamp(state.timestamp_window(), state.clock().now(), timestamp)?;
    if version.is_some_and(|v| v != "1.0") {
        return Err(InvalidParameter.into());
    }
    let public_key = cert_mode::verification_key(params, app, app.public_key(*sign_type))?;
    let checked = verify_request(params, app, public_key, *sign_type, sign);
    if checked.result.is_err() {
        let examined = Examined {
            params,
            app,
            keyring: state.keyring(),
            plaintext: content.decrypted(),
        };
        observed.diagnosis = doctor::diagnose(
            examined,
            Refusal::Signature {
                key: public_key,
                platform: caller.signing_key().0,
                sign_type: *sign_type,
                sign,
            },
        );
    }
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
            Some(t) if t.expires_at.is_some_and(|at| at <= state.clock().now()) => {
                return Err(AppAuthTokenTimeOut.into())
            }
            Some(_) => {}
        }
    }
    observed.decrypted = content.check()?;
    let call = Call {
        app_id,
        biz,
        keyring: state.keyring(),
        params,
        text: content.text(),
        now: state.clock().now(),
        sign_type: *sign_type,
    };
    let answered = match forced_outcome(state, call) {
        Some(Forced::Error(error)) => return Err(error),
        Some(Forced::Answer {
            authorized,
            open_id,
        }) => methods::forced_answer(state.store(), call, authorized, open_id),
        Some(Forced::Node(node)) => methods::forced_node(call, &node),
        None if draw.unknown_error => return Err(ServiceUnavailable.into()),
        None => methods::answer(state.store(), call),
    };
    let Answered {
        node,
        shown,
        notification,
    } = answered;
    observed.answer = match (shown, &node) {
        (Some(_), Ok(raw)) if state.journal().unmasked() => Some(raw.clone()),
        (shown, _) => shown,
    };
    observed.notification = notification;
    node
}

/// Counts the call against the scenarios and persists their counters (no flush per
/// request; see [`crate::store::Store::swap_scenario`]).
fn forced_outcome(state: &State, call: Call<'_>) -> Option<Forced> {
    let identity = || methods::identity_of(state.store(), call);
    let candidate = Candidate {
        method: call.biz.method_name(),
        app_id: call.app_id,
        identity: &identity,
    };
    let persist = |change: crate::control::scenarios::Change<'_>| {
        let id = &change.before.id;
        if let Err(e) = state.store().swap_scenario(id, change.before, change.after) {
            tracing::warn!(error = %e, scenario = %id, "could not persist a scenario counter");
        }
    };
    let forced = state
        .scenarios()
        .take(&candidate, state.clock().now(), &persist);
    if forced.is_some() {
        state.metrics().scenario_fired();
    }
    forced
}

/// Counts the request, its latency and the faults applied, once its outcome is known.
/// `app_id` and `method` are labels only when the gateway knows them (bounded cardinality).
fn count(
    state: &State,
    params: &Params,
    method: Option<&Method>,
    observed: &Observed,
    codes: &OutcomeCodes,
    draw: &Draw,
    elapsed: Duration,
) {
    let metrics = state.metrics();
    let app_id = params
        .non_empty("app_id")
        .filter(|id| state.keyring().get(id).is_some())
        .unwrap_or(metrics::OTHER);
    let verdict = match observed.signature.verified {
        Some(true) => "verified",
        Some(false) => "failed",
        None => "unchecked",
    };
    metrics.request(
        RequestLabels {
            app_id: app_id.to_owned(),
            method: method.map_or(metrics::OTHER, Method::name).to_owned(),
            code: codes.code.clone(),
            sub_code: codes.sub_code.clone().unwrap_or_default(),
            verdict: verdict.to_owned(),
        },
        elapsed,
    );
    if draw.delay.is_some() {
        metrics.fault_injected("latency");
    }
    if draw.unknown_error {
        metrics.fault_injected("unknown_error");
    }
    if draw.drop_connection {
        metrics.fault_injected("drop_connection");
    }
    if let Some(mode) = draw.hostile {
        metrics.fault_injected(mode.as_str());
    }
}

fn check_timestamp(
    window: Option<Duration>,
    now: OffsetDateTime,
    timestamp: &str,
) -> Result<(), GatewayError> {
    let parsed = (timestamp.len() == 19)
        .then(|| PrimitiveDateTime::parse(timestamp, TIMESTAMP_FORMAT).ok())
        .flatten()
        .ok_or(PublicError::InvalidTimestamp)?;
    if let Some(window) = window {
        // The real gateway reads timestamps as Beijing time (GMT+8).
        let sent = parsed.assume_offset(offset!(+8));
        let skew = (now - sent).unsigned_abs();
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
    content: &encryption::Content<'_>,
    biz: Option<&BizContent>,
    http_method: &str,
    observed: Observed,
    outcome: OutcomeCodes,
    draw: &Draw,
    elapsed: Duration,
) -> JournalEntry {
    // Mask personal data as the method reads it, and the same text inside the sign
    // content, which quotes biz_content verbatim. An encrypted request shows its
    // decrypted biz_content (masked); its sign content quotes only the ciphertext.
    let raw_biz = params.get("biz_content");
    let read_biz = content.text();
    let journal = state.journal();
    let masked_biz = match (journal.unmasked(), biz, read_biz) {
        (true, _, _) => None,
        (false, Some(biz), Some(text)) => {
            journal.masked_biz(Some(biz.method().name()), text, || biz.masked())
        }
        (false, Some(biz), None) => biz.masked(),
        (false, None, Some(text)) => {
            journal.masked_biz(None, text, || methods::mask_for_unknown_method(read_biz))
        }
        (false, None, None) => methods::mask_for_unknown_method(read_biz),
    };
    let shown_biz = masked_biz
        .clone()
        .or_else(|| content.decrypted().map(str::to_owned));
    let mut signature = observed.signature;
    signature.sign_content = signature.sign_content.map(|sign_content| {
        // Only the biz_content pair: a short value masked whole must not rewrite the
        // same characters elsewhere (app_id, timestamp). An encrypted biz_content is
        // ciphertext in the sign content and stays as sent.
        let sign_content = match (raw_biz, &masked_biz, content.decrypted()) {
            (Some(raw), Some(masked), None) if !raw.is_empty() => {
                replace_biz_pair(sign_content, raw, masked)
            }
            _ => sign_content,
        };
        journal::bounded(&sign_content)
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
                let v = match (k, &shown_biz) {
                    ("biz_content", Some(shown)) => shown.as_str(),
                    _ => v,
                };
                (journal::bounded(k), journal::bounded(v))
            })
            .collect(),
        signature,
        outcome,
        faults: draw.labels(),
        diagnosis: observed.diagnosis,
        answer: observed.answer.map(|a| journal::bounded(&a)),
        notification: observed.notification,
        latency_ms: elapsed.as_secs_f64() * 1000.0,
    }
}

/// `sign_content` with its first `biz_content=RAW` pair's value replaced by `masked`
/// (as `replacen(format!("biz_content={raw}"), …, 1)`, without formatting either pattern).
fn replace_biz_pair(sign_content: String, raw: &str, masked: &str) -> String {
    const NAME: &str = "biz_content=";
    let mut from = 0;
    while let Some(at) = sign_content.get(from..).and_then(|rest| rest.find(NAME)) {
        let value = from + at + NAME.len();
        let (head, rest) = (
            sign_content.get(..value).unwrap_or_default(),
            sign_content.get(value..).unwrap_or_default(),
        );
        if let Some(tail) = rest.strip_prefix(raw) {
            let mut replaced = String::with_capacity(head.len() + masked.len() + tail.len());
            replaced.push_str(head);
            replaced.push_str(masked);
            replaced.push_str(tail);
            return replaced;
        }
        from = value;
    }
    sign_content
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

#[cfg(test)]
mod tests {
    use super::replace_biz_pair;

    #[test]
    fn only_the_first_biz_content_pair_with_the_raw_value_is_masked() {
        let sign_content = "a=biz_content=x&biz_content={\"n\":\"张三\"}&c=张三".to_owned();
        assert_eq!(
            replace_biz_pair(sign_content, "{\"n\":\"张三\"}", "{\"n\":\"张*\"}"),
            "a=biz_content=x&biz_content={\"n\":\"张*\"}&c=张三"
        );
    }

    #[test]
    fn a_sign_content_without_the_pair_is_unchanged() {
        let sign_content = "app_id=1&biz_content=other".to_owned();
        assert_eq!(
            replace_biz_pair(sign_content, "{}", "[masked]"),
            "app_id=1&biz_content=other"
        );
    }
}
