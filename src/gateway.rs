//! `gateway.do`: from the merged parameters to the signed answer, as the real gateway
//! decides it. No HTTP here (see `server`); this is what tests and embedders can call.
//!
//! Check order (PROTOCOL.md §4): charset; method and app_id present; app known (else
//! unsigned `isv.invalid-app-id`); sign_type present and valid; app has a key for it
//! (else unsigned `isv.missing-signature-config`); sign, timestamp, version present;
//! format, timestamp and version valid; signature; method known; method allowed for the
//! app; app_auth_token; encryption; then forced outcomes (scenarios), injected
//! `isp.unknow-error`, and the method itself. Once the app and sign type are known every
//! answer is signed with the app's platform key, errors included, because SDKs that
//! verify reject unsigned answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rsa::RsaPrivateKey;
use time::format_description::FormatItem;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::control::faults::{Draw, HostileMode};
use crate::control::journal::{self, JournalEntry, OutcomeCodes, SignatureVerdict};
use crate::control::scenarios::{self, Forced};
use crate::control::{Faults, Journal, Scenarios};
use crate::crypto::SignType;
use crate::error::{GatewayError, PublicError};
use crate::fixtures::Fixtures;
use crate::keyring::{AppEntry, KeyRing};
use crate::methods::{self, Call, Method};
use crate::protocol::charset::Charset;
use crate::protocol::params::{Params, RawRequest};
use crate::protocol::response::{self, Node, Signer, ERROR_NODE, SUCCESS};
use crate::signature::verify_request;
use crate::store::Store;

/// `timestamp` format: `yyyy-MM-dd HH:mm:ss`.
const TIMESTAMP_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// What the gateway serves from.
#[derive(Debug)]
pub struct Gateway {
    pub store: Store,
    pub keyring: KeyRing,
    /// The fixtures the store was (or would be) seeded from; reset goes back to them.
    pub fixtures: Fixtures,
    pub scenarios: Scenarios,
    pub faults: Faults,
    pub journal: Journal,
    /// Signs answers of the `wrong_key` hostile fault: a key no client trusts.
    pub hostile_key: RsaPrivateKey,
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

/// One handled request: the answer and what the transport must do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub response: GatewayResponse,
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

impl Gateway {
    /// Answers one `gateway.do` request and records it in the journal.
    pub fn handle(&self, request: RawRequest<'_>, http_method: &str) -> Exchange {
        let started = Instant::now();
        let params = Params::parse(request);
        let node_name = params
            .non_empty("method")
            .map(response::node_name)
            .unwrap_or_else(|| ERROR_NODE.to_owned());
        let draw = self.faults.draw(params.non_empty("app_id"));
        let caller = self.caller(&params);
        let mut observed = Observed::default();
        let outcome = self.process(&params, caller.as_ref(), &draw, &mut observed);
        let codes = outcome_codes(&outcome);
        let signer = match (&outcome, &caller) {
            (Err(e), _) if e.is_unsigned() => None,
            (_, Some(caller)) => Some(Signer {
                key: match draw.hostile {
                    Some(HostileMode::WrongKey) => &self.hostile_key,
                    _ => caller.app.platform_key(),
                },
                sign_type: caller.sign_type,
            }),
            (_, None) => None,
        };
        let signer = signer.filter(|_| draw.hostile != Some(HostileMode::MissingSign));
        let mut answer = render(&node_name, outcome, params.charset(), signer);
        if draw.hostile == Some(HostileMode::AlteredBody) {
            answer.body = response::alter_after_signing(answer.body);
        }
        let elapsed = started.elapsed() + draw.delay.unwrap_or_default();
        tracing::debug!(
            method = params.get("method"),
            app_id = params.get("app_id"),
            code = %codes.code,
            sub_code = codes.sub_code.as_deref(),
            "answered gateway.do"
        );
        self.journal.record(self.journal_entry(
            &params,
            http_method,
            observed,
            codes,
            &draw,
            elapsed,
        ));
        Exchange {
            response: answer,
            delay: draw.delay,
            drop_connection: draw.drop_connection,
        }
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

    fn process(
        &self,
        params: &Params,
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
        self.keyring.get(app_id).ok_or(InvalidAppId)?;
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
        self.check_timestamp(timestamp)?;
        if version != "1.0" {
            return Err(InvalidParameter.into());
        }
        let checked = verify_request(params, app, public_key, *sign_type, sign);
        observed.signature = SignatureVerdict {
            verified: Some(checked.result.is_ok()),
            sign_content: Some(checked.sign_content),
        };
        checked.result?;
        let method = Method::from_name(method_name).ok_or(InvalidMethod)?;
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
        let call = Call {
            app_id,
            biz_content: params.get("biz_content"),
        };
        if let Some(forced) = self.forced_outcome(method, call) {
            return match forced {
                Forced::Error(error) => Err(error),
                Forced::Answer {
                    authorized,
                    open_id,
                } => methods::forced_answer(method, &self.store, call, authorized, open_id),
            };
        }
        if draw.unknown_error {
            return Err(ServiceUnavailable.into());
        }
        methods::dispatch(method, &self.store, call)
    }

    /// Counts the call against the scenarios and persists their counters (no flush per
    /// request; see [`Store::swap_scenario`]).
    fn forced_outcome(&self, method: Method, call: Call<'_>) -> Option<Forced> {
        let identity = || methods::identity_of(method, &self.store, call);
        let scenario_call = scenarios::Call {
            method: method.name(),
            app_id: call.app_id,
            identity: &identity,
        };
        let persist = |change: scenarios::Change<'_>| {
            let id = &change.before.id;
            if let Err(e) = self.store.swap_scenario(id, change.before, change.after) {
                tracing::warn!(error = %e, scenario = %id, "could not persist a scenario counter");
            }
        };
        self.scenarios
            .take(&scenario_call, OffsetDateTime::now_utc(), &persist)
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

    fn journal_entry(
        &self,
        params: &Params,
        http_method: &str,
        observed: Observed,
        outcome: OutcomeCodes,
        draw: &Draw,
        elapsed: Duration,
    ) -> JournalEntry {
        // Mask the person structurally in biz_content, and the same text inside the
        // sign content, which quotes biz_content verbatim.
        let raw_biz = params.get("biz_content");
        let masked_biz = match (self.journal.unmasked(), raw_biz) {
            (false, Some(biz)) => journal::mask_biz_content(biz),
            _ => None,
        };
        let mut signature = observed.signature;
        signature.sign_content = signature.sign_content.map(|content| {
            let content = match (raw_biz, &masked_biz) {
                (Some(raw), Some(masked)) => content.replace(raw, masked),
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
