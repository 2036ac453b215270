//! Test control: the admin API under `/__admin/` (WireMock's `/__admin`, LocalStack's
//! reset) and its command-line client.
//!
//! JSON in and out. Bad input answers 400/404/409 with `{"error": "…"}` and changes
//! nothing. Writes are serialised by one lock, applied in one store transaction and
//! flushed before they are acknowledged; the in-memory views (apps with parsed keys,
//! scenarios, faults) change only after the store did. With a token configured, every
//! call needs `Authorization: Bearer <token>`.

pub mod cli;
pub mod client;
mod control;
mod records;

use std::sync::Arc;

use hyper::header::AUTHORIZATION;
use hyper::http::request::Parts;
use hyper::Method;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::control::Rejection;
use crate::gateway::Gateway;
use crate::protocol::params::{Params, RawRequest};
use crate::store::{Plan, Store};

/// Path prefix of every admin endpoint.
pub const PREFIX: &str = "/__admin/";

/// The OpenAPI document of this API, served at `/__admin/openapi.yaml`.
const OPENAPI: &str = include_str!("../../docs/admin-openapi.yaml");

/// An admin answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Extra headers (`Allow` on 405, `WWW-Authenticate` on 401).
    pub headers: Vec<(&'static str, String)>,
}

const JSON: &str = "application/json";

impl AdminResponse {
    fn json(status: u16, value: &impl Serialize) -> AdminResponse {
        match serde_json::to_vec_pretty(value) {
            Ok(body) => AdminResponse {
                status,
                content_type: JSON,
                body,
                headers: Vec::new(),
            },
            Err(e) => AdminResponse::error(&Rejection::internal(e.to_string())),
        }
    }

    fn empty() -> AdminResponse {
        AdminResponse {
            status: 204,
            content_type: JSON,
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    fn error(rejection: &Rejection) -> AdminResponse {
        let body = serde_json::json!({ "error": rejection.message }).to_string();
        AdminResponse {
            status: rejection.status,
            content_type: JSON,
            body: body.into_bytes(),
            headers: Vec::new(),
        }
    }
}

/// The answer to an admin request body over the size limit.
pub fn too_large(limit: usize) -> AdminResponse {
    AdminResponse::error(&Rejection {
        status: 413,
        message: format!("request body over {limit} bytes"),
    })
}

/// The admin API's own state: the token and the write lock.
#[derive(Debug)]
pub struct Admin {
    token_digest: Option<[u8; 32]>,
    writes: tokio::sync::Mutex<()>,
}

/// One parsed admin request.
struct AdminRequest<'a> {
    method: &'a Method,
    segments: Vec<String>,
    query: Params,
    body: &'a [u8],
}

impl AdminRequest<'_> {
    /// A query parameter, refusing parameters the endpoint does not know.
    fn query(&self, allowed: &[&str]) -> Result<QueryView<'_>, Rejection> {
        if let Some((name, _)) = self.query.iter().find(|(name, _)| !allowed.contains(name)) {
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

/// Checked query parameters.
struct QueryView<'a>(&'a Params);

impl QueryView<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.non_empty(name)
    }
}

impl Admin {
    /// The admin API, optionally behind a bearer token.
    pub fn new(token: Option<String>) -> Admin {
        Admin {
            token_digest: token.map(|t| Sha256::digest(t.as_bytes()).into()),
            writes: tokio::sync::Mutex::new(()),
        }
    }

    fn authorised(&self, parts: &Parts) -> bool {
        let Some(expected) = &self.token_digest else {
            return true;
        };
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
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
    pub async fn handle(
        &self,
        gateway: &Arc<Gateway>,
        parts: &Parts,
        body: &[u8],
    ) -> AdminResponse {
        if !self.authorised(parts) {
            let mut response = AdminResponse::error(&Rejection {
                status: 401,
                message: "admin calls need Authorization: Bearer <the --admin-token>".into(),
            });
            response.headers.push((
                "www-authenticate",
                "Bearer realm=\"alipay-mock admin\"".into(),
            ));
            return response;
        }
        let path = parts.uri.path().trim_start_matches(PREFIX);
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let query = Params::parse(RawRequest {
            query: parts.uri.query().map(str::as_bytes),
            body: b"",
            content_type: Some(JSON),
        });
        let request = AdminRequest {
            method: &parts.method,
            segments,
            query,
            body,
        };
        let mut response = match self.route(gateway, &request).await {
            Ok(response) => response,
            Err(rejection) => AdminResponse::error(&rejection),
        };
        if response.status == 405 {
            let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
            if let Some(allow) = allowed_methods(&segments) {
                response.headers.push(("allow", allow.to_owned()));
            }
        }
        response
    }

    async fn route(
        &self,
        gateway: &Arc<Gateway>,
        request: &AdminRequest<'_>,
    ) -> Result<AdminResponse, Rejection> {
        let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
        let method = request.method;
        match segments.as_slice() {
            ["health"] if method == Method::GET => {
                request.query(&[])?;
                Ok(AdminResponse::json(
                    200,
                    &serde_json::json!({"status": "ok"}),
                ))
            }
            ["ready"] if method == Method::GET => {
                request.query(&[])?;
                control::ready(gateway).await
            }
            ["openapi.yaml"] if method == Method::GET => {
                request.query(&[])?;
                Ok(AdminResponse {
                    status: 200,
                    content_type: "application/yaml",
                    body: OPENAPI.as_bytes().to_vec(),
                    headers: Vec::new(),
                })
            }
            ["apps", rest @ ..] => records::apps(self, gateway, request, rest).await,
            ["identities", rest @ ..] => records::identities(self, gateway, request, rest).await,
            ["authorizations"] => records::authorizations(self, gateway, request).await,
            ["scenarios", rest @ ..] => control::scenarios(self, gateway, request, rest).await,
            ["faults"] => control::faults(self, gateway, request).await,
            ["requests"] => control::requests(gateway, request).await,
            ["reset"] if method == Method::POST => control::reset(self, gateway, request).await,
            ["health" | "ready" | "openapi.yaml" | "reset"] => Err(not_allowed(method)),
            _ => Err(Rejection::not_found(format!(
                "no admin endpoint /__admin/{} (see /__admin/openapi.yaml)",
                segments.join("/")
            ))),
        }
    }

    /// Applies a plan atomically and durably while holding the write lock, then runs
    /// `after` (the in-memory change) before the lock is released. `plan` runs on the
    /// blocking pool (it may scan sled and parse keys) under the lock, so what it reads
    /// is still true when the plan commits.
    async fn commit<R, T>(
        &self,
        gateway: &Arc<Gateway>,
        plan: impl FnOnce(&Gateway) -> Result<(Plan, R), Rejection> + Send + 'static,
        after: impl FnOnce(&Gateway, R) -> T,
    ) -> Result<T, Rejection>
    where
        R: Send + 'static,
    {
        let _writes = self.writes.lock().await;
        let shared = Arc::clone(gateway);
        let result = tokio::task::spawn_blocking(move || {
            let (plan, result) = plan(&shared)?;
            shared.store.apply(plan)?;
            Ok::<R, Rejection>(result)
        })
        .await
        .map_err(|e| Rejection::internal(format!("admin task failed: {e}")))??;
        gateway.store.flush().await?;
        Ok(after(gateway, result))
    }
}

/// Adds the removal of one app's scenarios (or all) to a plan and returns their ids, for
/// [`crate::control::Scenarios::remove_ids`] once the plan is applied. Called inside a
/// commit plan, so the set is taken under the write lock.
fn remove_scenarios(gateway: &Gateway, plan: &mut Plan, app_id: Option<&str>) -> Vec<String> {
    let ids = gateway.scenarios.ids(app_id);
    for id in &ids {
        Store::remove_scenario(plan, id);
    }
    ids
}

/// The methods an endpoint takes, for the `Allow` header of a 405.
fn allowed_methods(segments: &[&str]) -> Option<&'static str> {
    Some(match segments {
        ["health" | "ready" | "openapi.yaml"] => "GET",
        ["apps" | "identities"] => "GET, POST",
        ["apps" | "identities", _] => "GET, PUT, PATCH, DELETE",
        ["authorizations" | "scenarios"] => "GET, POST, DELETE",
        ["scenarios", _] => "GET, DELETE",
        ["faults"] => "GET, PUT, DELETE",
        ["requests"] => "GET, DELETE",
        ["reset"] => "POST",
        _ => return None,
    })
}

/// 405 for a method an endpoint does not take.
fn not_allowed(method: &Method) -> Rejection {
    Rejection {
        status: 405,
        message: format!("{method} is not allowed here (see /__admin/openapi.yaml)"),
    }
}

/// Runs blocking store reads off the async runtime.
async fn read<R: Send + 'static>(
    gateway: &Arc<Gateway>,
    f: impl FnOnce(&Gateway) -> Result<R, Rejection> + Send + 'static,
) -> Result<R, Rejection> {
    let shared = Arc::clone(gateway);
    tokio::task::spawn_blocking(move || f(&shared))
        .await
        .map_err(|e| Rejection::internal(format!("admin task failed: {e}")))?
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
