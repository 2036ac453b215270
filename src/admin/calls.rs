//! The admin calls as [`ApiRequest`]s, built from the same serde types the server parses:
//! the command-line client and the typed [`Client`](super::client::Client) both use
//! these, so no admin JSON is assembled by hand anywhere.

use hyper::Method;
use serde::{Deserialize, Serialize};

use super::client::{target, ApiRequest};
use super::Grant;
use crate::clock::ClockSetting;
use crate::control::faults::FaultConfig;
use crate::control::journal::JournalEntry;
use crate::control::scenarios::ScenarioRequest;
use crate::methods::defined::Definition;
use crate::model::{AccountState, AuthCategory};

/// A page of the journal, as `GET /__admin/requests` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestsPage {
    /// How many entries matched before `limit`.
    pub total: usize,
    /// The entries, oldest first.
    pub requests: Vec<JournalEntry>,
}

/// The body of a state change (`PATCH /__admin/identities/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// The new account state.
    pub state: AccountState,
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

fn body(request: ApiRequest, value: &impl Serialize) -> Result<ApiRequest, String> {
    let json =
        serde_json::to_string(value).map_err(|e| format!("cannot write the request body: {e}"))?;
    Ok(request.with_body(json))
}

/// `POST /__admin/scenarios`.
pub fn create_scenario(scenario: &ScenarioRequest) -> Result<ApiRequest, String> {
    body(
        ApiRequest::new(Method::POST, target(&["scenarios"], &[])),
        scenario,
    )
}

/// `DELETE /__admin/scenarios[?app_id=]`.
pub fn clear_scenarios(app_id: Option<&str>) -> ApiRequest {
    ApiRequest::new(
        Method::DELETE,
        target(&["scenarios"], &[("app_id", app_id)]),
    )
}

/// `POST /__admin/authorizations`.
pub fn grant(grant: &Grant) -> Result<ApiRequest, String> {
    body(
        ApiRequest::new(Method::POST, target(&["authorizations"], &[])),
        grant,
    )
}

/// `DELETE /__admin/authorizations?app_id=&identity=[&auth_category=]`.
pub fn revoke(app_id: &str, identity: &str, category: Option<AuthCategory>) -> ApiRequest {
    ApiRequest::new(
        Method::DELETE,
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

/// `PATCH /__admin/identities/{id}` with a new account state.
pub fn set_state(identity: &str, state: AccountState) -> Result<ApiRequest, String> {
    body(
        ApiRequest::new(Method::PATCH, target(&["identities", identity], &[])),
        &StateChange { state },
    )
}

/// The body that sets or clears an app's AES key (`null` clears it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AesKeyChange {
    /// Base64 of the 16-byte key; `None` clears it.
    pub aes_key: Option<String>,
}

/// `PATCH /__admin/apps/{app_id}` setting (or, with `None`, clearing) the AES key.
pub fn set_aes_key(app_id: &str, key: Option<&str>) -> Result<ApiRequest, String> {
    body(
        ApiRequest::new(Method::PATCH, target(&["apps", app_id], &[])),
        &AesKeyChange {
            aes_key: key.map(str::to_owned),
        },
    )
}

/// `PUT /__admin/faults[?app_id=]`.
pub fn set_faults(app_id: Option<&str>, faults: &FaultConfig) -> Result<ApiRequest, String> {
    body(
        ApiRequest::new(Method::PUT, target(&["faults"], &[("app_id", app_id)])),
        faults,
    )
}

/// `GET /__admin/requests` with filters.
pub fn requests(query: &RequestsQuery) -> ApiRequest {
    let limit = query.limit.map(|n| n.to_string());
    ApiRequest::new(
        Method::GET,
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

/// `POST /__admin/reset[?app_id=]`.
pub fn reset(app_id: Option<&str>) -> ApiRequest {
    ApiRequest::new(Method::POST, target(&["reset"], &[("app_id", app_id)]))
}

/// `PUT /__admin/clock`, or `DELETE` for real time.
pub fn set_clock(setting: &ClockSetting) -> Result<ApiRequest, String> {
    let clock = target(&["clock"], &[]);
    if setting.is_real() {
        return Ok(ApiRequest::new(Method::DELETE, clock));
    }
    body(ApiRequest::new(Method::PUT, clock), setting)
}

/// `PUT /__admin/methods/{method}`: stores or replaces a method definition.
pub fn define_method(definition: &Definition) -> Result<ApiRequest, String> {
    body(
        ApiRequest::new(Method::PUT, target(&["methods", &definition.method], &[])),
        definition,
    )
}

/// `GET /__admin/methods/{method}`, or every definition with `None`.
pub fn method_definitions(method: Option<&str>) -> ApiRequest {
    match method {
        Some(method) => ApiRequest::new(Method::GET, target(&["methods", method], &[])),
        None => ApiRequest::new(Method::GET, target(&["methods"], &[])),
    }
}

/// `DELETE /__admin/methods/{method}`: removes one definition.
pub fn undefine_method(method: &str) -> ApiRequest {
    ApiRequest::new(Method::DELETE, target(&["methods", method], &[]))
}

/// `DELETE /__admin/methods`: the definitions back to the fixtures'.
pub fn reset_methods() -> ApiRequest {
    ApiRequest::new(Method::DELETE, target(&["methods"], &[]))
}
