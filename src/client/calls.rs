//! Every admin call as an [`ApiRequest`] (method, `/__admin/…` target with its query,
//! optional JSON body), built from the same serde types the server parses, without I/O.
//! The typed [`Client`](super::Client) and the command line ([`crate::cli`]) both build
//! their requests here, so each call's method and path are written once on the client
//! side.

use serde::{Deserialize, Serialize};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::admin::Grant;
use crate::clock::ClockSetting;
use crate::config::ADMIN_PREFIX;
use crate::control::faults::FaultConfig;
use crate::control::journal::Filter;
use crate::control::scenarios::ScenarioRequest;
use crate::methods::defined::Definition;
use crate::model::{AccountState, AuthCategory};

/// What stays unencoded in a path segment or query value: RFC 3986's unreserved
/// characters. Everything else is escaped, so an id with `/` stays one segment and an
/// RFC 3339 `+08:00` does not turn into a space.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The HTTP methods the admin API takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl HttpMethod {
    /// The method as written on the request line.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One admin call, before it is sent: what a verb means on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// The HTTP method.
    pub method: HttpMethod,
    /// Origin-form target: `/__admin/…` with its query, already percent-encoded.
    pub target: String,
    /// The JSON body, if the call takes one.
    pub body: Option<String>,
}

impl ApiRequest {
    /// A call without a body on `target` (see [`target`]).
    pub fn new(method: HttpMethod, target: String) -> ApiRequest {
        ApiRequest {
            method,
            target,
            body: None,
        }
    }

    /// The same call carrying JSON text as its body, sent as written.
    pub fn with_body(self, json: String) -> ApiRequest {
        ApiRequest {
            body: Some(json),
            ..self
        }
    }

    /// The same call carrying `value` as its JSON body.
    fn with_json(self, value: &impl Serialize) -> Result<ApiRequest, serde_json::Error> {
        Ok(self.with_body(serde_json::to_string(value)?))
    }
}

/// Builds `/__admin/<segments>?<query>`: each segment and each query value is
/// percent-encoded on its own, and query pairs whose value is `None` are left out.
pub fn target(segments: &[&str], query: &[(&str, Option<&str>)]) -> String {
    let mut target = String::from(ADMIN_PREFIX.trim_end_matches('/'));
    for segment in segments {
        target.push('/');
        target.extend(utf8_percent_encode(segment, UNRESERVED));
    }
    let mut separator = '?';
    for (name, value) in query {
        if let Some(value) = value {
            target.push(separator);
            target.extend(utf8_percent_encode(name, UNRESERVED));
            target.push('=');
            target.extend(utf8_percent_encode(value, UNRESERVED));
            separator = '&';
        }
    }
    target
}

/// A call on `/__admin/<segments>` scoped by an optional `?app_id=`.
fn scoped(method: HttpMethod, segment: &str, app_id: Option<&str>) -> ApiRequest {
    ApiRequest::new(method, target(&[segment], &[("app_id", app_id)]))
}

/// `GET /__admin/ready`.
pub fn ready() -> ApiRequest {
    ApiRequest::new(HttpMethod::Get, target(&["ready"], &[]))
}

/// `GET /__admin/health`.
pub fn health() -> ApiRequest {
    ApiRequest::new(HttpMethod::Get, target(&["health"], &[]))
}

/// The record collections of the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// `/__admin/apps`.
    Apps,
    /// `/__admin/identities`.
    Identities,
}

impl Collection {
    fn segment(self) -> &'static str {
        match self {
            Collection::Apps => "apps",
            Collection::Identities => "identities",
        }
    }

    /// `GET /__admin/<collection>`.
    pub fn list(self) -> ApiRequest {
        ApiRequest::new(HttpMethod::Get, target(&[self.segment()], &[]))
    }

    /// `GET /__admin/<collection>/{id}`.
    pub fn get(self, id: &str) -> ApiRequest {
        ApiRequest::new(HttpMethod::Get, target(&[self.segment(), id], &[]))
    }

    /// `POST /__admin/<collection>` with a record as JSON text.
    pub fn create(self, json: String) -> ApiRequest {
        ApiRequest::new(HttpMethod::Post, target(&[self.segment()], &[])).with_body(json)
    }

    /// `PUT /__admin/<collection>/{id}` with a record as JSON text.
    pub fn replace(self, id: &str, json: String) -> ApiRequest {
        ApiRequest::new(HttpMethod::Put, target(&[self.segment(), id], &[])).with_body(json)
    }

    /// `PATCH /__admin/<collection>/{id}` with the fields to change as JSON text.
    pub fn patch(self, id: &str, json: String) -> ApiRequest {
        ApiRequest::new(HttpMethod::Patch, target(&[self.segment(), id], &[])).with_body(json)
    }

    /// `DELETE /__admin/<collection>/{id}`.
    pub fn delete(self, id: &str) -> ApiRequest {
        ApiRequest::new(HttpMethod::Delete, target(&[self.segment(), id], &[]))
    }
}

/// The body of a state change (`PATCH /__admin/identities/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// The new account state.
    pub state: AccountState,
}

/// `PATCH /__admin/identities/{id}` with a new account state.
pub fn set_state(identity: &str, state: AccountState) -> Result<ApiRequest, serde_json::Error> {
    ApiRequest::new(HttpMethod::Patch, target(&["identities", identity], &[]))
        .with_json(&StateChange { state })
}

/// The body that sets or clears an app's AES key (`null` clears it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AesKeyChange {
    /// Base64 of the 16-byte key; `None` clears it.
    pub aes_key: Option<String>,
}

/// `PATCH /__admin/apps/{app_id}` setting (or, with `None`, clearing) the AES key.
pub fn set_aes_key(app_id: &str, key: Option<&str>) -> Result<ApiRequest, serde_json::Error> {
    ApiRequest::new(HttpMethod::Patch, target(&["apps", app_id], &[])).with_json(&AesKeyChange {
        aes_key: key.map(str::to_owned),
    })
}

/// `GET /__admin/authorizations[?app_id=][&identity=]`.
pub fn authorizations(app_id: Option<&str>, identity: Option<&str>) -> ApiRequest {
    ApiRequest::new(
        HttpMethod::Get,
        target(
            &["authorizations"],
            &[("app_id", app_id), ("identity", identity)],
        ),
    )
}

/// `POST /__admin/authorizations`.
pub fn grant(grant: &Grant) -> Result<ApiRequest, serde_json::Error> {
    ApiRequest::new(HttpMethod::Post, target(&["authorizations"], &[])).with_json(grant)
}

/// `DELETE /__admin/authorizations?app_id=&identity=[&auth_category=]`.
pub fn revoke(app_id: &str, identity: &str, category: Option<AuthCategory>) -> ApiRequest {
    ApiRequest::new(
        HttpMethod::Delete,
        target(
            &["authorizations"],
            &[
                ("app_id", Some(app_id)),
                ("identity", Some(identity)),
                ("auth_category", category.map(AuthCategory::as_str)),
            ],
        ),
    )
}

/// `GET /__admin/scenarios[?app_id=]`.
pub fn scenarios(app_id: Option<&str>) -> ApiRequest {
    scoped(HttpMethod::Get, "scenarios", app_id)
}

/// `GET /__admin/scenarios/{id}`.
pub fn scenario(id: &str) -> ApiRequest {
    ApiRequest::new(HttpMethod::Get, target(&["scenarios", id], &[]))
}

/// `POST /__admin/scenarios` with a scenario as JSON text.
pub fn create_scenario_json(json: String) -> ApiRequest {
    ApiRequest::new(HttpMethod::Post, target(&["scenarios"], &[])).with_body(json)
}

/// `POST /__admin/scenarios`.
pub fn create_scenario(scenario: &ScenarioRequest) -> Result<ApiRequest, serde_json::Error> {
    Ok(create_scenario_json(serde_json::to_string(scenario)?))
}

/// `DELETE /__admin/scenarios/{id}`.
pub fn delete_scenario(id: &str) -> ApiRequest {
    ApiRequest::new(HttpMethod::Delete, target(&["scenarios", id], &[]))
}

/// `DELETE /__admin/scenarios[?app_id=]`.
pub fn clear_scenarios(app_id: Option<&str>) -> ApiRequest {
    scoped(HttpMethod::Delete, "scenarios", app_id)
}

/// `GET /__admin/faults[?app_id=]`.
pub fn faults(app_id: Option<&str>) -> ApiRequest {
    scoped(HttpMethod::Get, "faults", app_id)
}

/// `PUT /__admin/faults[?app_id=]` with faults as JSON text.
pub fn set_faults_json(app_id: Option<&str>, json: String) -> ApiRequest {
    scoped(HttpMethod::Put, "faults", app_id).with_body(json)
}

/// `PUT /__admin/faults[?app_id=]`.
pub fn set_faults(
    app_id: Option<&str>,
    faults: &FaultConfig,
) -> Result<ApiRequest, serde_json::Error> {
    Ok(set_faults_json(app_id, serde_json::to_string(faults)?))
}

/// `DELETE /__admin/faults[?app_id=]`.
pub fn clear_faults(app_id: Option<&str>) -> ApiRequest {
    scoped(HttpMethod::Delete, "faults", app_id)
}

/// Journal filters as query parameters (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestsQuery {
    /// Only this `method`.
    pub method: Option<String>,
    /// Only this app.
    pub app_id: Option<String>,
    /// Only answers with this code or sub_code.
    pub outcome: Option<String>,
    /// Only entries at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Only the newest N.
    pub limit: Option<u64>,
}

impl RequestsQuery {
    /// The query of a typed journal filter; fails only for a `since` RFC 3339 cannot
    /// write (a year past 9999).
    pub fn from_filter(filter: &Filter) -> Result<RequestsQuery, String> {
        let since = match filter.since {
            None => None,
            Some(time) => Some(
                time.format(&time::format_description::well_known::Rfc3339)
                    .map_err(|e| format!("since: {e}"))?,
            ),
        };
        Ok(RequestsQuery {
            method: filter.method.clone(),
            app_id: filter.app_id.clone(),
            outcome: filter.outcome.clone(),
            since,
            limit: filter.limit.map(|n| n as u64),
        })
    }
}

/// `GET /__admin/requests` with filters.
pub fn requests(query: &RequestsQuery) -> ApiRequest {
    let limit = query.limit.map(|n| n.to_string());
    ApiRequest::new(
        HttpMethod::Get,
        target(
            &["requests"],
            &[
                ("method", query.method.as_deref()),
                ("app_id", query.app_id.as_deref()),
                ("outcome", query.outcome.as_deref()),
                ("since", query.since.as_deref()),
                ("limit", limit.as_deref()),
            ],
        ),
    )
}

/// `DELETE /__admin/requests[?app_id=]`.
pub fn clear_requests(app_id: Option<&str>) -> ApiRequest {
    scoped(HttpMethod::Delete, "requests", app_id)
}

/// `POST /__admin/reset[?app_id=]`.
pub fn reset(app_id: Option<&str>) -> ApiRequest {
    scoped(HttpMethod::Post, "reset", app_id)
}

/// `GET /__admin/clock`.
pub fn clock() -> ApiRequest {
    ApiRequest::new(HttpMethod::Get, target(&["clock"], &[]))
}

/// `PUT /__admin/clock`, or `DELETE` for real time.
pub fn set_clock(setting: &ClockSetting) -> Result<ApiRequest, serde_json::Error> {
    let clock = target(&["clock"], &[]);
    if setting.is_real() {
        return Ok(ApiRequest::new(HttpMethod::Delete, clock));
    }
    ApiRequest::new(HttpMethod::Put, clock).with_json(setting)
}

/// `PUT /__admin/methods/{method}`: stores or replaces a method definition.
pub fn define_method(definition: &Definition) -> Result<ApiRequest, serde_json::Error> {
    Ok(define_method_json(
        &definition.method,
        serde_json::to_string(definition)?,
    ))
}

/// `PUT /__admin/methods/{method}` with a definition's JSON text as written (the CLI's
/// `methods define FILE`: the server names any field that is wrong).
pub fn define_method_json(method: &str, json: String) -> ApiRequest {
    ApiRequest::new(HttpMethod::Put, target(&["methods", method], &[])).with_body(json)
}

/// `GET /__admin/methods/{method}`, or every definition with `None`.
pub fn method_definitions(method: Option<&str>) -> ApiRequest {
    match method {
        Some(method) => ApiRequest::new(HttpMethod::Get, target(&["methods", method], &[])),
        None => ApiRequest::new(HttpMethod::Get, target(&["methods"], &[])),
    }
}

/// `DELETE /__admin/methods/{method}`: removes one definition.
pub fn undefine_method(method: &str) -> ApiRequest {
    ApiRequest::new(HttpMethod::Delete, target(&["methods", method], &[]))
}

/// `DELETE /__admin/methods`: the definitions back to the fixtures'.
pub fn reset_methods() -> ApiRequest {
    ApiRequest::new(HttpMethod::Delete, target(&["methods"], &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_encodes_each_segment_alone_so_an_id_with_a_slash_stays_one_segment() {
        assert_eq!(target(&["apps", "a b/c"], &[]), "/__admin/apps/a%20b%2Fc");
        assert_eq!(
            target(&["identities", "张三"], &[]),
            "/__admin/identities/%E5%BC%A0%E4%B8%89"
        );
    }

    #[test]
    fn target_escapes_plus_and_ampersand_in_query_values_and_skips_absent_ones() {
        assert_eq!(
            target(
                &["requests"],
                &[
                    ("method", Some("zhima.auth.info.authquery")),
                    ("app_id", None),
                    ("since", Some("2024-01-02T03:04:05+08:00")),
                    ("outcome", Some("a&b=c")),
                ]
            ),
            "/__admin/requests?method=zhima.auth.info.authquery\
             &since=2024-01-02T03%3A04%3A05%2B08%3A00&outcome=a%26b%3Dc"
        );
        assert_eq!(
            target(&["scenarios"], &[("app_id", None)]),
            "/__admin/scenarios"
        );
    }
}
