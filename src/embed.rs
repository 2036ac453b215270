//! In-process embedding for Rust tests: [`MockGateway`] starts a gateway on a free
//! loopback port with a temporary store, hands out the URL and the default app's keys,
//! and controls it with typed calls that run the same code as the admin API, without
//! HTTP. Dropping the handle stops the gateway.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use alipay_mock::{Filter, ForcedError, MockGateway, Outcome, ScenarioRequest};
//!
//! // Arrange: a gateway, and the next call forced to a business error.
//! let gateway = MockGateway::builder().start().await?;
//! let forced = gateway
//!     .force(&ScenarioRequest {
//!         times: Some(1),
//!         ..ScenarioRequest::answering(Outcome::Error(ForcedError {
//!             error: "ZM_ACCOUNT_PAUSE".into(),
//!         }))
//!     })
//!     .await?;
//! assert_eq!(forced.remaining, Some(1));
//! // Act: point the code under test at `gateway.url()`, signing with
//! // `gateway.default_app().private_key_pem` and verifying answers with
//! // `gateway.default_app().alipay_public_key_pem`.
//! assert!(gateway.url().ends_with("/gateway.do"));
//! // Assert: the journal shows what the app sent (nothing yet here).
//! assert_eq!(gateway.requests(&Filter::default()).await?.total, 0);
//! gateway.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::admin::records::Existing;
use crate::admin::Rejection;
use crate::admin::{apps, authorizations, faults, identities, methods, scenarios};
use crate::admin::{Grant, RequestsPage};
use crate::clock::ClockSetting;
use crate::config::Config;
use crate::control::faults::FaultConfig;
use crate::control::journal::Filter;
use crate::control::scenarios::{Scenario, ScenarioRequest};
use crate::fixtures::FixtureSource;
use crate::methods::defined::Definition;
use crate::model::{AccountState, App, AuthCategory, Authorization, Identity};
use crate::notify::{
    self, Notification, NotificationFilter, NotificationRequest, NotificationSummary,
};
use crate::server::{RunningGateway, StartError};
use crate::state::{CommitError, State};

/// The default fixture app: RSA2 and RSA, the app key pair and the platform public key.
pub const DEFAULT_APP_ID: &str = "2014072300007148";

/// An app's keys, as an SDK is configured with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppKeys {
    /// The `app_id`.
    pub app_id: String,
    /// The app's private key, PKCS#8 PEM (Java, Node with `keyType: 'PKCS8'`).
    pub private_key_pem: String,
    /// The same key, PKCS#1 PEM (Node's default, the official Python SDK).
    pub private_key_pkcs1_pem: String,
    /// The key answers are signed with, SPKI PEM ("Alipay public key").
    pub alipay_public_key_pem: String,
}

/// Why an embedded gateway did not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The gateway itself did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// An extra app or identity of the builder was refused.
    #[error("{0}")]
    Refused(#[from] ControlError),
}

impl From<Rejection> for EmbedError {
    fn from(e: Rejection) -> EmbedError {
        EmbedError::Refused(e.into())
    }
}

/// Why a control call of a [`MockGateway`] changed nothing: the same refusals, in the same
/// words, as the admin API's, without its HTTP statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The input is wrong (an unknown error code, a bad key, a rate above 1, …).
    #[error("{0}")]
    Invalid(String),
    /// Nothing has that id.
    #[error("{0}")]
    NotFound(String),
    /// It exists already, or would break a uniqueness rule.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error("{0}")]
    Store(String),
}

impl From<Rejection> for ControlError {
    fn from(e: Rejection) -> ControlError {
        // The admin code the embedding API runs refuses with these statuses only.
        match e.status {
            404 => ControlError::NotFound(e.message),
            409 => ControlError::Conflict(e.message),
            400..=499 => ControlError::Invalid(e.message),
            _ => ControlError::Store(e.message),
        }
    }
}

impl From<notify::CreateError> for ControlError {
    fn from(e: notify::CreateError) -> ControlError {
        match e {
            notify::CreateError::Invalid { .. } | notify::CreateError::QueueFull(_) => {
                ControlError::Invalid(e.to_string())
            }
            notify::CreateError::Store(_) | notify::CreateError::Internal(_) => {
                ControlError::Store(e.to_string())
            }
        }
    }
}

impl From<notify::NotificationError> for ControlError {
    fn from(e: notify::NotificationError) -> ControlError {
        match e {
            notify::NotificationError::NotFound(_) => ControlError::NotFound(e.to_string()),
            notify::NotificationError::Busy(_) => ControlError::Conflict(e.to_string()),
            notify::NotificationError::Store(_) | notify::NotificationError::Task(_) => {
                ControlError::Store(e.to_string())
            }
        }
    }
}

impl From<crate::clock::ClockError> for ControlError {
    fn from(e: crate::clock::ClockError) -> ControlError {
        ControlError::Invalid(e.to_string())
    }
}

/// Builds a [`MockGateway`]: everything optional, the defaults are the compiled-in
/// fixtures, a temporary store, a free loopback port and no admin token.
#[derive(Debug, Default)]
pub struct MockGatewayBuilder {
    fixtures: Option<PathBuf>,
    apps: Vec<App>,
    identities: Vec<Identity>,
    admin_token: Option<String>,
    timestamp_window: Option<Duration>,
    journal_max: Option<usize>,
}

impl MockGatewayBuilder {
    /// Seeds from a fixtures folder (the layout of `fixtures/`) instead of the
    /// compiled-in fixtures.
    pub fn fixtures(mut self, dir: impl Into<PathBuf>) -> Self {
        self.fixtures = Some(dir.into());
        self
    }

    /// Adds an app once started (as `POST /__admin/apps` would).
    pub fn app(mut self, app: App) -> Self {
        self.apps.push(app);
        self
    }

    /// Adds an identity once started (as `POST /__admin/identities` would).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identities.push(identity);
        self
    }

    /// Requires `Authorization: Bearer <token>` on the admin API (typed control does
    /// not go through it).
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Refuses `timestamp`s further than this from the gateway's clock.
    pub fn timestamp_window(mut self, window: Duration) -> Self {
        self.timestamp_window = Some(window);
        self
    }

    /// How many requests the journal keeps.
    pub fn journal_max(mut self, entries: usize) -> Self {
        self.journal_max = Some(entries);
        self
    }

    /// Starts the gateway and adds the extra records.
    pub async fn start(self) -> Result<MockGateway, EmbedError> {
        let mut config = Config::ephemeral();
        if let Some(dir) = self.fixtures {
            config.fixtures = FixtureSource::Dir(dir);
        }
        config.admin_token = self.admin_token;
        config.timestamp_window = self.timestamp_window;
        if let Some(max) = self.journal_max {
            config.journal_max = max;
        }
        let running = RunningGateway::start(config).await?;
        let gateway = MockGateway { running };
        for app in self.apps {
            apps::create(gateway.state(), app).await?;
        }
        for identity in self.identities {
            identities::write(gateway.state(), identity, Existing::MustNotExist).await?;
        }
        Ok(gateway)
    }
}

/// A gateway running in this process, with typed test control. Dropping it stops the
/// gateway (in-flight requests finish in the background); [`MockGateway::shutdown`]
/// waits for that.
#[derive(Debug)]
pub struct MockGateway {
    running: RunningGateway,
}

impl MockGateway {
    /// A builder with every default.
    pub fn builder() -> MockGatewayBuilder {
        MockGatewayBuilder::default()
    }

    /// The gateway URL to give an SDK: `http://127.0.0.1:PORT/gateway.do`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The listener's address (the admin API is at `http://ADDR/__admin/`).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.addr()
    }

    /// The default fixture app and its keys.
    pub fn default_app(&self) -> AppKeys {
        AppKeys {
            app_id: DEFAULT_APP_ID.to_owned(),
            private_key_pem: include_str!("../fixtures/keys/app_private_key.pem").to_owned(),
            private_key_pkcs1_pem: include_str!("../fixtures/keys/app_private_key_pkcs1.pem")
                .to_owned(),
            alipay_public_key_pem: include_str!("../fixtures/keys/alipay_public_key.pem")
                .to_owned(),
        }
    }

    fn state(&self) -> &Arc<State> {
        self.running.state()
    }

    /// Registers an app (`POST /__admin/apps`); its keys are parsed first. One app per
    /// test lets tests share a gateway: scenarios, faults, the journal and reset all
    /// take an `app_id` scope.
    pub async fn add_app(&self, app: &App) -> Result<(), ControlError> {
        Ok(apps::create(self.state(), app.clone()).await?)
    }

    /// Adds a scenario (`POST /__admin/scenarios`): the matching calls answer its outcome.
    pub async fn force(&self, scenario: &ScenarioRequest) -> Result<Scenario, ControlError> {
        Ok(scenarios::create(self.state(), scenario.clone(), None).await?)
    }

    /// Removes every scenario, or one app's; how many went.
    pub async fn clear_scenarios(&self, app_id: Option<&str>) -> Result<usize, ControlError> {
        Ok(scenarios::clear(self.state(), app_id).await?)
    }

    /// Grants an authorisation (`POST /__admin/authorizations`).
    pub async fn grant(&self, grant: &Grant) -> Result<Authorization, ControlError> {
        Ok(authorizations::grant(self.state(), grant.clone()).await?)
    }

    /// Revokes an app's authorisations by a person, every category unless one is given;
    /// how many went.
    pub async fn revoke(
        &self,
        app_id: &str,
        identity: &str,
        category: Option<AuthCategory>,
    ) -> Result<usize, ControlError> {
        Ok(authorizations::revoke(self.state(), app_id, identity, category).await?)
    }

    /// Changes an identity's account state, which decides its business outcome.
    pub async fn set_state(
        &self,
        identity: &str,
        state: AccountState,
    ) -> Result<Identity, ControlError> {
        let mut record = identities::get(self.state(), identity).await?;
        record.state = state;
        Ok(identities::write(self.state(), record, Existing::MustExist).await?)
    }

    /// Replaces the faults, globally or for one app (`PUT /__admin/faults`).
    pub async fn set_faults(
        &self,
        app_id: Option<&str>,
        faults: &FaultConfig,
    ) -> Result<FaultConfig, ControlError> {
        Ok(faults::set(self.state(), app_id, faults.clone()).await?)
    }

    /// The journal entries matching `filter`, oldest first, and how many matched before
    /// its `limit` (`GET /__admin/requests`).
    pub async fn requests(&self, filter: &Filter) -> Result<RequestsPage, ControlError> {
        let filter = filter.clone();
        // Copying up to --journal-max entries is blocking work, as in the admin API.
        self.state()
            .read(move |g| {
                let (total, requests) = g.journal().query(&filter);
                Ok::<_, ControlError>(RequestsPage { total, requests })
            })
            .await
            .map_err(|e| match e {
                CommitError::Refused(e) => e,
                other => ControlError::Store(other.to_string()),
            })
    }

    /// Freezes or shifts the gateway's clock (`PUT /__admin/clock`); a default setting
    /// returns it to real time.
    pub async fn set_clock(&self, setting: &ClockSetting) -> Result<(), ControlError> {
        setting.validate()?;
        self.state().clock().set(*setting);
        Ok(())
    }

    /// Sends a signed asynchronous notification (`POST /__admin/notifications`): stored,
    /// then POSTed to its `notify_url` and retried on Alipay's schedule on the gateway's
    /// clock until the handler answers `success`.
    pub async fn send_notification(
        &self,
        request: &NotificationRequest,
    ) -> Result<Notification, ControlError> {
        Ok(notify::create::create(self.state(), request.clone(), "admin".to_owned()).await?)
    }

    /// The notifications the filter picks, oldest first (`GET /__admin/notifications`).
    pub async fn notifications(
        &self,
        filter: &NotificationFilter,
    ) -> Result<Vec<NotificationSummary>, ControlError> {
        Ok(notify::list(self.state(), filter.clone()).await?)
    }

    /// One notification with its body, sign content and attempts.
    pub async fn notification(&self, id: &str) -> Result<Notification, ControlError> {
        Ok(notify::get(self.state(), id).await?)
    }

    /// Sends a notification once more now and answers it with the attempt recorded
    /// (`POST /__admin/notifications/{id}/retry`).
    pub async fn retry_notification(&self, id: &str) -> Result<Notification, ControlError> {
        Ok(notify::retry(self.state(), id).await?)
    }

    /// Removes a notification; a pending one is never sent again.
    pub async fn delete_notification(&self, id: &str) -> Result<(), ControlError> {
        Ok(notify::delete(self.state(), id).await?)
    }

    /// Back to the fixtures: everything, or one app's records, scenarios, faults and
    /// journal entries (`POST /__admin/reset`).
    pub async fn reset(&self, app_id: Option<&str>) -> Result<(), ControlError> {
        self.state()
            .reset(app_id)
            .await
            .map_err(|e| ControlError::Store(e.to_string()))
    }

    /// Stores or replaces a method definition (`PUT /__admin/methods/{method}`); the
    /// definition as stored.
    pub async fn define_method(&self, definition: &Definition) -> Result<Definition, ControlError> {
        Ok(methods::define(self.state(), definition.clone()).await?.0)
    }

    /// One method definition (`GET /__admin/methods/{method}`).
    pub async fn method_definition(&self, method: &str) -> Result<Definition, ControlError> {
        Ok(methods::get(self.state(), method)?)
    }

    /// Every method definition, by method name (`GET /__admin/methods`).
    pub async fn method_definitions(&self) -> Result<Vec<Definition>, ControlError> {
        Ok(methods::list(self.state()))
    }

    /// Removes a method definition (`DELETE /__admin/methods/{method}`).
    pub async fn undefine_method(&self, method: &str) -> Result<(), ControlError> {
        Ok(methods::undefine(self.state(), method).await?)
    }

    /// The method definitions back to the fixtures' (`DELETE /__admin/methods`); the
    /// definitions now in force.
    pub async fn reset_methods(&self) -> Result<Vec<Definition>, ControlError> {
        Ok(methods::reset(self.state()).await?)
    }

    /// Stops accepting, lets in-flight requests finish and flushes the store.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
