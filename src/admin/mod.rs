//! Test control: the admin API under `/__admin/` (WireMock's `/__admin`, LocalStack's
//! reset), the server side only: its clients are [`crate::client`] (HTTP) and
//! [`crate::cli`] (the command line).
//!
//! JSON in and out. [`Admin::handle`] takes plain values ([`AdminRequest`]) and answers a
//! [`Reply`]; the server is the only part that knows HTTP. Bad input answers 400/404/409
//! with `{"error": "…"}` and changes nothing. Every change goes through
//! [`State::commit`]: one store transaction, flushed before it is acknowledged, memory
//! updated after. With a token configured, every call needs
//! `Authorization: Bearer <token>`.
//!
//! One private module per URL family: `apps`, `identities`, `authorizations`, `scenarios`,
//! `faults`, `requests`, `reset`, `clock`, `methods`, `notifications`, `observe` (metrics, cases, fixture test key),
//! `ui` (the console's static assets, served without the token); `records` holds what the
//! record families share.

pub(crate) mod apps;
pub(crate) mod authorizations;
mod clock;
pub(crate) mod faults;
pub(crate) mod identities;
pub(crate) mod methods;
mod notifications;
mod observe;
pub(crate) mod records;
mod rejection;
mod requests;
mod reset;
pub(crate) mod scenarios;
mod site;
mod ui;

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::ADMIN_PREFIX;
use crate::reply::Reply;
use crate::state::{CommitError, State};

pub use authorizations::Grant;
pub(crate) use rejection::Rejection;
pub use requests::RequestsPage;
pub use site::{SiteGuard, SiteHeaders};

/// The OpenAPI document of this API, served at `/__admin/openapi.yaml`.
const OPENAPI: &str = include_str!("../../docs/admin-openapi.yaml");

const JSON: &str = "application/json";

/// One admin request as plain values: what the server read off the wire.
#[derive(Debug, Clone, Copy)]
pub struct AdminRequest<'a> {
    /// The HTTP method (`GET`, `POST`, …).
    pub method: &'a str,
    /// The path, `/__admin/…`, still percent-encoded.
    pub path: &'a str,
    /// The raw query string, if any.
    pub query: Option<&'a str>,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The body bytes (already bounded by the server).
    pub body: &'a [u8],
    /// What the cross-site checks read (`Host`, `Origin`, `Content-Type`).
    pub site: SiteHeaders<'a>,
}

/// `value` as a JSON answer.
fn json(status: u16, value: &impl Serialize) -> Reply {
    match serde_json::to_vec_pretty(value) {
        Ok(body) => Reply::new(status, JSON, body),
        Err(e) => error(&Rejection::internal(e.to_string())),
    }
}

/// 204, no body.
fn no_content() -> Reply {
    Reply::new(204, JSON, Vec::new())
}

/// `{"error": …}` with the rejection's status.
fn error(rejection: &Rejection) -> Reply {
    let body = serde_json::json!({ "error": rejection.message }).to_string();
    Reply::new(rejection.status, JSON, body.into_bytes())
}

/// The answer to an admin request body over the size limit.
pub fn too_large(limit: usize) -> Reply {
    error(&Rejection {
        status: 413,
        message: format!("request body over {limit} bytes"),
    })
}

/// The answer to an admin request whose body did not arrive in time.
pub fn timed_out(limit: std::time::Duration) -> Reply {
    error(&Rejection {
        status: 408,
        message: format!("request body not received within {} s", limit.as_secs()),
    })
}

impl From<CommitError<Rejection>> for Rejection {
    fn from(e: CommitError<Rejection>) -> Rejection {
        match e {
            CommitError::Refused(rejection) => rejection,
            CommitError::Store(e) => e.into(),
            CommitError::Task(message) => Rejection::internal(message),
        }
    }
}

/// The admin API's own configuration: the token.
#[derive(Debug)]
pub struct Admin {
    token_digest: Option<[u8; 32]>,
    site: SiteGuard,
}

/// The endpoints, each with the methods it takes: the one route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint<'a> {
    Health,
    Ready,
    OpenApi,
    Apps(&'a [&'a str]),
    TestKey(&'a str),
    Metrics,
    Cases,
    Ui(&'a [&'a str]),
    Identities(&'a [&'a str]),
    Authorizations,
    Scenarios(&'a [&'a str]),
    Faults,
    Requests,
    Reset,
    Clock,
    Methods(&'a [&'a str]),
    Notifications(&'a [&'a str]),
}

impl<'a> Endpoint<'a> {
    fn parse(segments: &'a [&'a str]) -> Option<Endpoint<'a>> {
        Some(match segments {
            ["health"] => Endpoint::Health,
            ["ready"] => Endpoint::Ready,
            ["openapi.yaml"] => Endpoint::OpenApi,
            ["apps", rest @ ..] if rest.len() <= 1 => Endpoint::Apps(rest),
            ["apps", app_id, "test-key"] => Endpoint::TestKey(app_id),
            ["metrics"] => Endpoint::Metrics,
            ["cases"] => Endpoint::Cases,
            ["ui", rest @ ..] => Endpoint::Ui(rest),
            ["identities", rest @ ..] if rest.len() <= 1 => Endpoint::Identities(rest),
            ["authorizations"] => Endpoint::Authorizations,
            ["scenarios", rest @ ..] if rest.len() <= 1 => Endpoint::Scenarios(rest),
            ["faults"] => Endpoint::Faults,
            ["requests"] => Endpoint::Requests,
            ["reset"] => Endpoint::Reset,
            ["clock"] => Endpoint::Clock,
            ["methods", rest @ ..] if rest.len() <= 1 => Endpoint::Methods(rest),
            ["notifications"] => Endpoint::Notifications(&[]),
            ["notifications", id] => Endpoint::Notifications(std::slice::from_ref(id)),
            ["notifications", _, "retry"] => Endpoint::Notifications(&segments[1..]),
            _ => return None,
        })
    }

    /// The methods it takes (the `Allow` header of a 405).
    fn methods(self) -> &'static [&'static str] {
        match self {
            Endpoint::Health
            | Endpoint::Ready
            | Endpoint::OpenApi
            | Endpoint::TestKey(_)
            | Endpoint::Metrics
            | Endpoint::Cases
            | Endpoint::Ui(_) => &["GET"],
            Endpoint::Apps([]) | Endpoint::Identities([]) => &["GET", "POST"],
            Endpoint::Apps(_) | Endpoint::Identities(_) => &["GET", "PUT", "PATCH", "DELETE"],
            Endpoint::Authorizations | Endpoint::Scenarios([]) => &["GET", "POST", "DELETE"],
            Endpoint::Scenarios(_) => &["GET", "DELETE"],
            Endpoint::Faults | Endpoint::Clock => &["GET", "PUT", "DELETE"],
            Endpoint::Requests => &["GET", "DELETE"],
            Endpoint::Reset => &["POST"],
            Endpoint::Methods([]) => &["GET", "DELETE"],
            Endpoint::Methods(_) => &["GET", "PUT", "DELETE"],
            Endpoint::Notifications([]) => &["GET", "POST"],
            Endpoint::Notifications([_]) => &["GET", "DELETE"],
            Endpoint::Notifications(_) => &["POST"],
        }
    }
}

/// One admin request, parsed: what the endpoint handlers see.
struct Input<'a> {
    method: &'a str,
    query: Vec<(String, String)>,
    body: &'a [u8],
}

impl Input<'_> {
    /// The query, refusing parameters the endpoint does not know and empty values.
    fn query(&self, allowed: &[&str]) -> Result<QueryView<'_>, Rejection> {
        if let Some((name, _)) = self
            .query
            .iter()
            .find(|(name, _)| !allowed.contains(&name.as_str()))
        {
            return Err(Rejection::bad_request(format!(
                "unknown query parameter {name:?} (this endpoint takes: {})",
                allowed.join(", ")
            )));
        }
        // An empty `?app_id=` must not widen a scoped reset or delete to every app.
        if let Some((name, _)) = self.query.iter().find(|(_, value)| value.is_empty()) {
            return Err(Rejection::bad_request(format!(
                "query parameter {name:?} is empty; leave it out instead"
            )));
        }
        Ok(QueryView(&self.query))
    }

    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Rejection> {
        serde_json::from_slice(self.body)
            .map_err(|e| Rejection::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// Checked query parameters; the first occurrence of a name wins.
struct QueryView<'a>(&'a [(String, String)]);

impl QueryView<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Admin {
    /// The admin API, optionally behind a bearer token.
    pub fn new(token: Option<String>, site: SiteGuard) -> Admin {
        Admin {
            token_digest: token.map(|t| Sha256::digest(t.as_bytes()).into()),
            site,
        }
    }

    fn authorised(&self, authorization: Option<&str>) -> bool {
        let Some(expected) = &self.token_digest else {
            return true;
        };
        let presented = authorization
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                // The auth scheme is case-insensitive (RFC 9110 §11.1).
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then_some(token.trim())
            })
            .unwrap_or("");
        // Compare digests so the comparison time does not depend on the token's bytes.
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest
            .iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Answers one admin request.
    pub async fn handle(&self, state: &Arc<State>, request: AdminRequest<'_>) -> Reply {
        // Before anything else, the console included: a page of another site must not
        // even read the admin API (see `site`).
        if let Err(refused) = self.site.check(&request.site) {
            return error(&refused);
        }
        let path = request.path.trim_start_matches(ADMIN_PREFIX);
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let endpoint = Endpoint::parse(&segments);
        // The console's page and scripts are static and hold no data: they load without
        // the token, and then send it on every call they make.
        let is_ui = matches!(endpoint, Some(Endpoint::Ui(_)));
        if !is_ui && !self.authorised(request.authorization) {
            return error(&Rejection {
                status: 401,
                message: "admin calls need Authorization: Bearer <the --admin-token>".into(),
            })
            .with_header("www-authenticate", "Bearer realm=\"alipay-mock admin\"");
        }
        let Some(endpoint) = endpoint else {
            return error(&Rejection::not_found(format!(
                "no admin endpoint {ADMIN_PREFIX}{} (see {ADMIN_PREFIX}openapi.yaml)",
                segments.join("/")
            )));
        };
        let methods = endpoint.methods();
        if !methods.contains(&request.method) {
            return error(&not_allowed(request.method)).with_header("allow", methods.join(", "));
        }
        if let Endpoint::Ui(rest) = endpoint {
            return ui::serve(request.path, rest).unwrap_or_else(|| {
                error(&Rejection::not_found(format!(
                    "no console asset {}",
                    request.path
                )))
            });
        }
        let input = Input {
            method: request.method,
            query: form_urlencoded::parse(request.query.unwrap_or("").as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
            body: request.body,
        };
        match route(state, endpoint, &input).await {
            Ok(reply) => reply,
            Err(rejection) => {
                let reply = error(&rejection);
                if rejection.status == 405 {
                    reply.with_header("allow", methods.join(", "))
                } else {
                    reply
                }
            }
        }
    }
}

async fn route(
    state: &Arc<State>,
    endpoint: Endpoint<'_>,
    request: &Input<'_>,
) -> Result<Reply, Rejection> {
    match endpoint {
        Endpoint::Health => {
            request.query(&[])?;
            Ok(json(200, &serde_json::json!({"status": "ok"})))
        }
        Endpoint::Ready => {
            request.query(&[])?;
            ready(state).await
        }
        Endpoint::OpenApi => {
            request.query(&[])?;
            Ok(Reply::new(
                200,
                "application/yaml",
                OPENAPI.as_bytes().to_vec(),
            ))
        }
        Endpoint::Apps(rest) => apps::route(state, request, rest).await,
        Endpoint::TestKey(app_id) => observe::test_key(state, request, app_id),
        Endpoint::Metrics => observe::metrics(state, request),
        Endpoint::Cases => observe::cases(state, request),
        // Answered in `Admin::handle`, before the query is parsed.
        Endpoint::Ui(_) => Err(Rejection::not_found("no console asset here")),
        Endpoint::Identities(rest) => identities::route(state, request, rest).await,
        Endpoint::Authorizations => authorizations::route(state, request).await,
        Endpoint::Scenarios(rest) => scenarios::route(state, request, rest).await,
        Endpoint::Faults => faults::route(state, request).await,
        Endpoint::Requests => requests::route(state, request).await,
        Endpoint::Reset => reset::route(state, request).await,
        Endpoint::Clock => clock::route(state, request).await,
        Endpoint::Methods(rest) => methods::route(state, request, rest).await,
        Endpoint::Notifications(rest) => notifications::route(state, request, rest).await,
    }
}

#[derive(Serialize)]
struct Ready {
    status: &'static str,
    apps: usize,
    identities: usize,
    authorizations: usize,
    scenarios: usize,
    fixtures_digest: String,
    seeded_from: Option<String>,
    /// Why the store takes no writes now (a full disk), when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// `GET /__admin/ready`: the gateway only listens once keys and store are loaded, so an
/// answer means ready (200); it reports what is loaded. A store that takes no writes now
/// (a full disk) answers 503 `store unwritable`: the gateway still answers from what the
/// store holds, but admin changes are refused until there is room.
async fn ready(state: &Arc<State>) -> Result<Reply, Rejection> {
    let ready = read(state, |g| {
        let counts = g.store().counts();
        let problem = g.store().writable().err().map(|e| e.to_string());
        Ok(Ready {
            status: if problem.is_some() {
                "store unwritable"
            } else {
                "ready"
            },
            problem,
            apps: counts.apps,
            identities: counts.identities,
            authorizations: counts.authorizations,
            scenarios: g.scenarios().live_count(g.clock().now()),
            fixtures_digest: g.fixtures().digest.clone(),
            seeded_from: g.store().seeded_from().ok().flatten(),
        })
    })
    .await?;
    let status = if ready.problem.is_some() { 503 } else { 200 };
    Ok(json(status, &ready))
}

/// The answer to a delete of many.
#[derive(Serialize)]
struct Deleted {
    deleted: usize,
}

/// 405 for a method an endpoint does not take (the caller adds `Allow`).
fn not_allowed(method: &str) -> Rejection {
    Rejection {
        status: 405,
        message: format!("{method} is not allowed here (see {ADMIN_PREFIX}openapi.yaml)"),
    }
}

/// Runs blocking store reads off the async runtime.
async fn read<R: Send + 'static>(
    state: &Arc<State>,
    f: impl FnOnce(&State) -> Result<R, Rejection> + Send + 'static,
) -> Result<R, Rejection> {
    state.read(f).await.map_err(Rejection::from)
}

/// Merges a JSON patch into a record's JSON (top level; `null` removes a field).
fn merge_patch(
    record: &impl Serialize,
    patch: serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, Rejection> {
    let mut value = serde_json::to_value(record).map_err(|e| Rejection::internal(e.to_string()))?;
    if let Some(object) = value.as_object_mut() {
        for (key, field) in patch {
            if field.is_null() {
                object.remove(&key);
            } else {
                object.insert(key, field);
            }
        }
    }
    Ok(value)
}
