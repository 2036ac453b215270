//! The HTTP client of the admin API, for a gateway in another process (a container, a
//! `serve` started by a test script): `calls` builds each call's request (shared with
//! the command line), `transport` sends it (hyper lives there), [`Client`] offers the
//! calls typed, with the server's own request and answer types (`notifications` holds
//! the notification calls and their typed methods). [`Client`] has the verbs of
//! [`crate::MockGateway`], with the same argument and answer types.

pub(crate) mod calls;
pub(crate) mod notifications;
pub(crate) mod transport;

use std::time::Duration;

use serde_json::Value;

use crate::admin::{Grant, RequestsPage};
use crate::clock::ClockSetting;
use crate::control::faults::FaultConfig;
use crate::control::journal::Filter;
use crate::control::scenarios::{Scenario, ScenarioRequest};
use crate::methods::defined::Definition;
use crate::model::{AccountState, App, AuthCategory, Authorization, Identity};
use calls::{ApiRequest, Collection, RequestsQuery};
use transport::{send, AdminAddress};
pub use transport::{TransportError, UrlError, TIMEOUT};

/// Why a typed admin call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The URL does not name a gateway's listener.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// No answer: nothing listening, a timeout, a broken connection.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The admin API refused the call (400, 401, 404, 409, …).
    #[error("HTTP {status}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's `error` text.
        message: String,
    },
    /// The request body could not be written, or the answer was not the JSON the call
    /// returns.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

/// The answer to a delete of many (`{"deleted": n}`).
#[derive(serde::Deserialize)]
struct Deleted {
    deleted: usize,
}

/// The answer to a revoke (`{"revoked": n}`).
#[derive(serde::Deserialize)]
struct Revoked {
    revoked: usize,
}

/// A typed client of the admin API of a gateway in another process (a container, a
/// `serve` started by a test script). The same calls as [`crate::MockGateway`]'s typed
/// control, over HTTP, with the same request and response types as the server.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use alipay_mock::{Client, ForcedError, Outcome, ScenarioRequest};
/// # let gateway = alipay_mock::MockGateway::builder().start().await?;
/// # let url = gateway.url();
///
/// // `url`: the gateway's address, e.g. http://127.0.0.1:9600/gateway.do
/// let admin = Client::new(&url)?;
/// let scenario = admin
///     .force(&ScenarioRequest::answering(Outcome::Error(ForcedError {
///         error: "ZM_ACCOUNT_PAUSE".into(),
///     })))
///     .await?;
/// assert!(scenario.id.starts_with("sc_"));
/// let page = admin.requests(&Default::default()).await?;
/// assert_eq!(page.total, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    address: AdminAddress,
    token: Option<String>,
    timeout: Duration,
}

impl Client {
    /// A client of the gateway at `url` (`http://HOST:PORT`, or the `/gateway.do` URL an
    /// SDK is given).
    pub fn new(url: &str) -> Result<Client, ClientError> {
        Ok(Client {
            address: AdminAddress::parse(url)?,
            token: None,
            timeout: TIMEOUT,
        })
    }

    /// Sends `Authorization: Bearer <token>` (a gateway started with `--admin-token`).
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    /// Bounds each call (default [`TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: Result<ApiRequest, serde_json::Error>,
    ) -> Result<T, ClientError> {
        let request = request.map_err(|e| ClientError::Decode(e.to_string()))?;
        let answer = send(&self.address, self.token.as_deref(), &request, self.timeout).await?;
        if !answer.is_success() {
            let message = serde_json::from_slice::<Value>(&answer.body)
                .ok()
                .and_then(|json| json.get("error")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).trim().to_owned());
            return Err(ClientError::Refused {
                status: answer.status,
                message,
            });
        }
        let body: &[u8] = if answer.body.is_empty() {
            b"null"
        } else {
            &answer.body
        };
        serde_json::from_slice(body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Adds a scenario; the created scenario with its id.
    pub async fn force(&self, scenario: &ScenarioRequest) -> Result<Scenario, ClientError> {
        self.call(calls::create_scenario(scenario)).await
    }

    /// Registers an app; its keys are parsed first.
    pub async fn add_app(&self, app: &App) -> Result<(), ClientError> {
        let request = serde_json::to_string(app).map(|json| Collection::Apps.create(json));
        self.call::<Value>(request).await.map(drop)
    }

    /// Removes every scenario, or one app's; how many went.
    pub async fn clear_scenarios(&self, app_id: Option<&str>) -> Result<usize, ClientError> {
        self.call::<Deleted>(Ok(calls::clear_scenarios(app_id)))
            .await
            .map(|d| d.deleted)
    }

    /// Grants an authorisation.
    pub async fn grant(&self, grant: &Grant) -> Result<Authorization, ClientError> {
        self.call(calls::grant(grant)).await
    }

    /// Revokes an app's authorisations by a person, every category unless one is given;
    /// how many went.
    pub async fn revoke(
        &self,
        app_id: &str,
        identity: &str,
        category: Option<AuthCategory>,
    ) -> Result<usize, ClientError> {
        self.call::<Revoked>(Ok(calls::revoke(app_id, identity, category)))
            .await
            .map(|r| r.revoked)
    }

    /// Changes an identity's account state.
    pub async fn set_state(
        &self,
        identity: &str,
        state: AccountState,
    ) -> Result<Identity, ClientError> {
        self.call(calls::set_state(identity, state)).await
    }

    /// Replaces the faults, globally or for one app.
    pub async fn set_faults(
        &self,
        app_id: Option<&str>,
        faults: &FaultConfig,
    ) -> Result<FaultConfig, ClientError> {
        self.call(calls::set_faults(app_id, faults)).await
    }

    /// The journal entries matching `filter`, oldest first, and how many matched before
    /// its `limit`.
    pub async fn requests(&self, filter: &Filter) -> Result<RequestsPage, ClientError> {
        let query = RequestsQuery::from_filter(filter).map_err(ClientError::Decode)?;
        self.call(Ok(calls::requests(&query))).await
    }

    /// Back to the fixtures: everything, or one app's.
    pub async fn reset(&self, app_id: Option<&str>) -> Result<(), ClientError> {
        self.call::<Value>(Ok(calls::reset(app_id))).await.map(drop)
    }

    /// Freezes or shifts the gateway's clock; a default setting returns it to real time.
    pub async fn set_clock(&self, setting: &ClockSetting) -> Result<(), ClientError> {
        self.call::<Value>(calls::set_clock(setting))
            .await
            .map(drop)
    }

    /// Stores or replaces a method definition; the definition as stored.
    pub async fn define_method(&self, definition: &Definition) -> Result<Definition, ClientError> {
        self.call(calls::define_method(definition)).await
    }

    /// One method definition.
    pub async fn method_definition(&self, method: &str) -> Result<Definition, ClientError> {
        self.call(Ok(calls::method_definitions(Some(method)))).await
    }

    /// Every method definition, by method name.
    pub async fn method_definitions(&self) -> Result<Vec<Definition>, ClientError> {
        self.call(Ok(calls::method_definitions(None))).await
    }

    /// Removes a method definition: the method answers `isv.invalid-method` again.
    pub async fn undefine_method(&self, method: &str) -> Result<(), ClientError> {
        self.call::<Value>(Ok(calls::undefine_method(method)))
            .await
            .map(drop)
    }

    /// The method definitions back to the fixtures'; the definitions now in force.
    pub async fn reset_methods(&self) -> Result<Vec<Definition>, ClientError> {
        self.call(Ok(calls::reset_methods())).await
    }
}
