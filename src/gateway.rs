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
mod caller;
mod cert_mode;
mod encryption;
mod timestamp;

use std::time::{Duration, Instant};

use crate::control::faults::HostileMode;
use crate::control::scenarios::{Candidate, Forced};
use crate::crypto::SignType;
use crate::doctor::{self, Diagnosis, Examined, Refusal};
use crate::error::{GatewayError, PublicError};
use crate::methods::{self, Answered, Call, Method};
use crate::protocol::charset::Charset;
use crate::protocol::params::{Params, RawRequest};
use crate::protocol::response::{self, ERROR_NODE};
use crate::reply::Reply;
use crate::request::{Caller, Content, Observed, OutcomeCodes, RequestContext};
use crate::signature::verify_request;
use crate::state::State;
use answer::render;

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

/// Answers one `gateway.do` request and records it in the journal. CPU-bound (RSA):
/// call it off the async runtime's worker threads.
pub fn handle(state: &State, request: RawRequest<'_>, http_method: &str) -> Exchange {
    let started = Instant::now();
    let params = Params::parse(request);
    let mut request = gather(state, &params, http_method);
    let outcome = process(state, &mut request);
    if let (Err(error), Some(app)) = (&outcome, &request.app) {
        // A failed signature was examined where it failed; any other refusal of a known
        // app is examined here, beside the unchanged answer.
        if request.observed.signature.verified != Some(false) {
            let examined = Examined {
                params: &params,
                app,
                keyring: state.keyring(),
                plaintext: request.content.decrypted(),
            };
            request.observed.diagnosis = doctor::diagnose(examined, Refusal::Error(error));
        }
    }
    request.codes = OutcomeCodes::of(&outcome);
    let reply = answer(state, &request, outcome);
    request.elapsed = started.elapsed() + request.draw.delay.unwrap_or_default();
    tracing::debug!(
        method = params.get("method"),
        app_id = params.get("app_id"),
        code = %request.codes.code,
        sub_code = request.codes.sub_code.as_deref(),
        "answered gateway.do"
    );
    state.metrics().count_request(&request);
    let journal = state.journal();
    let entry = journal.keeps_entries().then(|| journal.entry(&request));
    if let Some(notification) = request.observed.notification.take() {
        // The one place a notification leaves the request path: `trigger` only queues it.
        crate::notify::trigger(state, notification);
    }
    if let Some(entry) = entry {
        journal.record(entry);
    }
    Exchange {
        reply,
        delay: request.draw.delay,
        drop_connection: request.draw.drop_connection,
        diagnosis: request.observed.diagnosis,
    }
}

/// What a request names, read before any check: the app, `biz_content` (decrypted when
/// encrypted) read once by the method it is addressed to, the caller and the fault draw.
fn gather<'r>(state: &State, params: &'r Params, http_method: &'r str) -> RequestContext<'r> {
    let app = params
        .non_empty("app_id")
        .and_then(|id| state.keyring().get(id));
    let content = Content::of(params, app.as_deref());
    let method = params
        .non_empty("method")
        .and_then(|name| Method::resolve(name, state.definitions()));
    let biz = method.as_ref().map(|method| method.read(content.text()));
    RequestContext {
        params,
        http_method,
        caller: caller::caller(app.clone(), params),
        app,
        content,
        method,
        biz,
        draw: state.faults().draw(params.non_empty("app_id")),
        observed: Observed::default(),
        codes: OutcomeCodes::default(),
        elapsed: Duration::ZERO,
    }
}

/// The outcome rendered into the body sent: signed by the caller's key, encrypted once
/// `biz_content` was decrypted, spoiled as a hostile fault says.
fn answer(
    state: &State,
    request: &RequestContext<'_>,
    outcome: Result<String, GatewayError>,
) -> Reply {
    let node_name = request
        .params
        .non_empty("method")
        .map(response::node_name)
        .unwrap_or_else(|| ERROR_NODE.to_owned());
    let signer = caller::signer(state, &outcome, request.caller.as_ref(), &request.draw);
    // Once decrypted, every answer is encrypted (docs/protocol.md §5), except the
    // certificate download, which SDKs call in plaintext (§6).
    let aes_key = request
        .caller
        .as_ref()
        .and_then(|c| c.app.aes_key())
        .filter(|_| {
            request.observed.decrypted
                && request.method.as_ref().is_none_or(Method::encrypts_answers)
        });
    let mut reply = render(
        &node_name,
        outcome,
        request.params.charset(),
        signer,
        aes_key,
    );
    if request.draw.hostile == Some(HostileMode::AlteredBody) {
        let swaps = request
            .biz
            .as_ref()
            .map_or(&[][..], |b| b.method().tamper_pairs());
        reply.body = response::alter_after_signing(reply.body, swaps);
    }
    reply
}

/// An error answer for a request that could not be read at all (e.g. too large).
pub fn reject(error: GatewayError, status: u16) -> Reply {
    let mut reply = render(ERROR_NODE, Err(error), &Charset::utf8(), None, None);
    reply.status = status;
    reply
}

/// The checks in the real gateway's order, then the method.
fn process(state: &State, request: &mut RequestContext<'_>) -> Result<String, GatewayError> {
    use PublicError::*;
    let params = request.params;
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
    let caller = request.caller.as_ref().ok_or(MissingSignatureConfig)?;
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
    timestamp::check(state.timestamp_window(), state.clock().now(), timestamp)?;
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
            plaintext: request.content.decrypted(),
        };
        request.observed.diagnosis = doctor::diagnose(
            examined,
            Refusal::Signature {
                key: public_key,
                platform: caller.signing_key().0,
                sign_type: *sign_type,
                sign,
            },
        );
    }
    request.observed.signature.verified = Some(checked.result.is_ok());
    request.observed.signature.sign_content = Some(checked.sign_content);
    checked.result?;
    let biz = request.biz.as_ref().ok_or(InvalidMethod)?;
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
    request.observed.decrypted = request.content.check()?;
    let call = Call {
        app_id,
        biz,
        keyring: state.keyring(),
        params,
        text: request.content.text(),
        now: state.clock().now(),
        sign_type: *sign_type,
        answers: state.answers(),
    };
    let answered = match forced_outcome(state, call) {
        Some(Forced::Error(error)) => return Err(error),
        Some(Forced::Answer {
            authorized,
            open_id,
        }) => methods::forced_answer(state.store(), call, authorized, open_id),
        Some(Forced::Node(node)) => methods::forced_node(call, &node),
        None if request.draw.unknown_error => return Err(ServiceUnavailable.into()),
        None => methods::answer(state.store(), call),
    };
    let Answered {
        node,
        shown,
        notification,
    } = answered;
    request.observed.answer = match (shown, &node) {
        (Some(_), Ok(raw)) if state.journal().unmasked() => Some(raw.clone()),
        (shown, _) => shown,
    };
    request.observed.notification = notification;
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
