//! Test control: the admin API under `/__admin/` (WireMock's `/__admin`, LocalStack's
//! reset), the server side only: its clients are [`crate::client`] (HTTP) and
//! [`crate::cli`] (the command line).
//!
//! JSON in and out. [`Admin::handle`] takes plain values ([`AdminRequest`]) and answers a
//! [`Reply`]; the server is the only part that knows HTTP. Bad input answers 400/404/409
//! with `{"error": "…"}` and changes nothing. Every change goes through
//! [`State::commit`]: one store transaction, flushed before it is acknowledged (a
//! temporary store excepted: it is not flushed), memory updated after. With a token configured, every call needs
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

use std::future::Future;
use std::pin::Pin;
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

/// What a handler answers: a reply, or a rejection `handle` turns into `{"error": …}`.
type Answer<'a> = Pin<Box<dyn Future<Output = Result<Reply, Rejection>> + Send + 'a>>;

/// A handler of one (path, method) pair.
type Handler = for<'a> fn(&'a Arc<State>, &'a Input<'a>) -> Answer<'a>;

/// A handler from an `async fn(&Arc<State>, &Input) -> Result<Reply, Rejection>`.
macro_rules! to {
    ($handler:path) => {
        |state, input| Box::pin($handler(state, input))
    };
}

/// The console's assets: the one pattern answered without the token.
const CONSOLE: &str = "ui/**";

/// The route table, the only place that says which path takes which method: a request
/// goes to the first entry whose pattern and method match; a path that matches entries
/// but none of the method answers 405 with `Allow` naming their methods, in this order
/// (the order `docs/admin-openapi.yaml` lists them in). Patterns are the segments after
/// `/__admin/`: a literal, `*` (one segment, handed to the handler) or a final `**`
/// (whatever follows).
static ROUTES: &[(&str, &str, Handler)] = &[
    ("health", "GET", to!(health)),
    ("ready", "GET", to!(ready)),
    ("openapi.yaml", "GET", to!(openapi)),
    ("apps", "GET", to!(apps::list)),
    ("apps", "POST", to!(apps::post)),
    ("apps/*", "GET", to!(apps::get)),
    ("apps/*", "PUT", to!(apps::put)),
    ("apps/*", "PATCH", to!(apps::patch)),
    ("apps/*", "DELETE", to!(apps::delete)),
    ("apps/*/test-key", "GET", to!(observe::test_key)),
    ("metrics", "GET", to!(observe::metrics)),
    ("cases", "GET", to!(observe::cases)),
    (CONSOLE, "GET", to!(console)),
    ("identities", "GET", to!(identities::list)),
    ("identities", "POST", to!(identities::post)),
    ("identities/*", "GET", to!(identities::get_one)),
    ("identities/*", "PUT", to!(identities::put)),
    ("identities/*", "PATCH", to!(identities::patch)),
    ("identities/*", "DELETE", to!(identities::delete)),
    ("authorizations", "GET", to!(authorizations::list)),
    ("authorizations", "POST", to!(authorizations::post)),
    ("authorizations", "DELETE", to!(authorizations::delete)),
    ("scenarios", "GET", to!(scenarios::list)),
    ("scenarios", "POST", to!(scenarios::post)),
    ("scenarios", "DELETE", to!(scenarios::delete_all)),
    ("scenarios/*", "GET", to!(scenarios::get)),
    ("scenarios/*", "DELETE", to!(scenarios::delete)),
    ("faults", "GET", to!(faults::get)),
    ("faults", "PUT", to!(faults::put)),
    ("faults", "DELETE", to!(faults::delete)),
    ("requests", "GET", to!(requests::list)),
    ("requests", "DELETE", to!(requests::delete)),
    ("reset", "POST", to!(reset::post)),
    ("clock", "GET", to!(clock::get)),
    ("clock", "PUT", to!(clock::put)),
    ("clock", "DELETE", to!(clock::delete)),
    ("methods", "GET", to!(methods::list_route)),
    ("methods", "DELETE", to!(methods::delete_all)),
    ("methods/*", "GET", to!(methods::get_route)),
    ("methods/*", "PUT", to!(methods::put)),
    ("methods/*", "DELETE", to!(methods::delete)),
    ("notifications", "GET", to!(notifications::list)),
    ("notifications", "POST", to!(notifications::post)),
    ("notifications/*", "GET", to!(notifications::get)),
    ("notifications/*", "DELETE", to!(notifications::delete)),
    ("notifications/*/retry", "POST", to!(notifications::retry)),
];

/// The segments a pattern's `*` and `**` stand for, when `segments` match it.
fn matches<'s>(pattern: &str, segments: &[&'s str]) -> Option<Vec<&'s str>> {
    let mut params = Vec::new();
    let mut rest = segments;
    for part in pattern.split('/') {
        if part == "**" {
            params.extend_from_slice(rest);
            return Some(params);
        }
        let (first, tail) = rest.split_first()?;
        if part == "*" {
            params.push(*first);
        } else if part != *first {
            return None;
        }
        rest = tail;
    }
    rest.is_empty().then_some(params)
}

/// One admin request, parsed: what the endpoint handlers see.
struct Input<'a> {
    /// The path as it arrived (the console's redirect depends on its final `/`).
    path: &'a str,
    /// What the route's `*` and `**` stand for, decoded, in order.
    params: Vec<&'a str>,
    query: Vec<(String, String)>,
    body: &'a [u8],
}

impl Input<'_> {
    /// The route's one `*` segment (an app id, an identity id, a method name, …).
    fn id(&self) -> &str {
        self.params.first().copied().unwrap_or_default()
    }

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
        // The console's page and scripts are static and hold no data: they load without
        // the token, and then send it on every call they make.
        let open = matches(CONSOLE, &segments).is_some();
        if !open && !self.authorised(request.authorization) {
            return error(&Rejection {
                status: 401,
                message: "admin calls need Authorization: Bearer <the --admin-token>".into(),
            })
            .with_header("www-authenticate", "Bearer realm=\"alipay-mock admin\"");
        }
        let routes: Vec<(&str, Handler, Vec<&str>)> = ROUTES
            .iter()
            .filter_map(|(pattern, method, handler)| {
                matches(pattern, &segments).map(|params| (*method, *handler, params))
            })
            .collect();
        if routes.is_empty() {
            return error(&Rejection::not_found(format!(
                "no admin endpoint {ADMIN_PREFIX}{} (see {ADMIN_PREFIX}openapi.yaml)",
                segments.join("/")
            )));
        }
        let Some((_, handler, params)) = routes.iter().find(|(m, ..)| *m == request.method) else {
            let allow: Vec<&str> = routes.iter().map(|(method, ..)| *method).collect();
            return error(&not_allowed(request.method)).with_header("allow", allow.join(", "));
        };
        let input = Input {
            path: request.path,
            params: params.clone(),
            query: form_urlencoded::parse(request.query.unwrap_or("").as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
            body: request.body,
        };
        handler(state, &input)
            .await
            .unwrap_or_else(|rejection| error(&rejection))
    }
}

/// `GET /__admin/health`.
async fn health(_: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    Ok(json(200, &serde_json::json!({"status": "ok"})))
}

/// `GET /__admin/openapi.yaml`: this API's document.
async fn openapi(_: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    Ok(Reply::new(
        200,
        "application/yaml",
        OPENAPI.as_bytes().to_vec(),
    ))
}

/// `GET /__admin/ui[/{asset}]`: the console (the query is ignored).
async fn console(_: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    ui::serve(request.path, &request.params)
        .ok_or_else(|| Rejection::not_found(format!("no console asset {}", request.path)))
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
async fn ready(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
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

/// 405 for a method an endpoint does not take (`handle` adds `Allow`).
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
