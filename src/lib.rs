//! alipay-mock: a local sandbox of Alipay's OpenAPI gateway (`gateway.do`).
//!
//! # The public surface
//! - [`MockGateway`] ([`embed`]): the in-process gateway for Rust tests, built with
//!   [`MockGateway::builder`], with typed control that runs the admin API's own code.
//! - [`Client`] ([`client`]): the same verbs over HTTP, for a gateway in another process
//!   (a container, a `serve` started by a script). Both take and answer the same types;
//!   only the error type differs ([`embed::ControlError`], [`client::ClientError`]).
//! - [`RunningGateway`] ([`server`]) and [`Config`] ([`config`]): a gateway with every
//!   setting of `alipay-mock serve`, for embedders that need more than the builder.
//! - The typed models both handles pass and answer, re-exported here: apps, identities
//!   and authorisations ([`App`], [`Identity`], [`Grant`], [`Authorization`]),
//!   scenarios ([`ScenarioRequest`], [`Outcome`]), faults ([`FaultConfig`]), the journal
//!   ([`Filter`], [`RequestsPage`], [`JournalEntry`]), the clock ([`ClockSetting`]),
//!   method definitions ([`Definition`]) and notifications ([`NotificationRequest`],
//!   [`Notification`]).
//! - [`cli`]: the `alipay-mock admin` and `doctor` commands the binary runs.
//!
//! # Map of the crate, outside in
//! Modules without a link are private to the crate (or hidden: the binary, the tests,
//! the examples and the fuzz targets reach into them; they promise no stability).
//! - [`server`]: the HTTP server: hyper accept loop, bounded bodies, graceful shutdown;
//!   [`RunningGateway`]. It reads requests into plain values and writes back a `Reply`
//!   (`reply`). Its open connections (idle ones closed first at the cap) are kept by the
//!   `connections` module.
//! - `state`: everything a running gateway holds (store, apps with parsed keys,
//!   fixtures, scenarios, faults, journal) and the one way to change it (`commit`,
//!   `reset`).
//! - `gateway`: one `gateway.do` request over a `&State`, from parameters to the signed
//!   answer, in the real gateway's check order, with certificate mode and AES on the
//!   request side in its own submodules; `signature`: the request signature check and
//!   its explanations; `doctor`: what a caller whose request was refused most likely
//!   did wrong (signature, AES, certificate SNs). `request` holds what one request
//!   gathers on the way, from which the journal builds its entry and the metrics count
//!   it.
//! - `admin`: the test-control API under `/__admin/` over a `&State`: one route table
//!   decides which path takes which method, one file per URL family (the server side
//!   only); `control`: the scenarios, faults and journal the gateway consults.
//! - [`client`]: the admin API's HTTP client: request builders, transport, the typed
//!   [`Client`]; [`cli`]: `alipay-mock admin …`, the command line over it.
//! - `methods`: the OpenAPI methods (`zhima.auth.info.authquery`,
//!   `alipay.open.app.alipaycert.download`, and any method a definition describes)
//!   behind one interface: each reads its `biz_content` once and owns everything about
//!   its fields (answers, masking, forced answers).
//! - `protocol`: wire format: charsets, merged parameters, sign content, response bodies.
//! - `error`: the gateway's failures and the one table of public error codes.
//! - `crypto`: RSA / RSA2 signatures; `keys`: key parsing; `keygen`: key files;
//!   `keyring`: apps with keys, certificates and AES keys parsed once; `builtin_keys`:
//!   the compiled-in private keys, parsed once per process.
//! - `cert`: certificate mode: certificates, their SNs, the test PKI of `keygen --cert`;
//!   `content_encryption`: AES content encryption (`encrypt_type=AES`).
//! - `store`: the sled store; `model`: its records; `fixtures`: seed data; `cases`: the
//!   catalogue of seeded outcomes.
//! - `metrics`: the Prometheus counters of `/__admin/metrics`, bounded labels.
//! - `sign_cache`: response signatures by (key, sign type, node bytes), bounded.
//! - `cpu_pool`: the fixed threads that run the CPU-bound part of gateway requests.
//! - `clock`: the gateway's notion of now (real, shifted or frozen).
//! - `notify`: asynchronous notifications to `notify_url` (made by the admin API or by a
//!   defined method's rule): signed, queued in sled, sent by their own worker on
//!   Alipay's retry schedule, timed by the clock.
//! - [`embed`]: [`MockGateway`], the in-process gateway for Rust tests.
//! - [`config`]: configuration, its defaults and the names shared by server and client.
//!
//! Dependencies point inward: `server` → `gateway`, `admin` → `state` → `store`,
//! `control`, `keyring`; `gateway` → `methods`, `signature`, `protocol`; `cli` →
//! `client` → the admin API's wire types. Two modules import hyper: `server` and
//! `client::transport`; everything else sees plain values, and `admin` does not use
//! the request pipeline. The protocol rules the code follows are written down in
//! `docs/protocol.md`.
//!
//! Embedding in a test:
//! ```no_run
//! # async fn demo() -> Result<(), alipay_mock::server::StartError> {
//! let gateway = alipay_mock::RunningGateway::start(alipay_mock::Config::ephemeral()).await?;
//! let url = gateway.url(); // http://127.0.0.1:PORT/gateway.do
//! # let _ = url;
//! gateway.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

/// Declares an enum of unit variants together with `ALL`, every variant in declaration
/// order, so a list of variants is written once.
#[macro_export]
#[doc(hidden)]
macro_rules! listed_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
        }
    };
}

// The public surface: what embedders, the `alipay-mock` binary and users of the HTTP
// client need. Everything else is crate-private.
pub mod cli;
pub mod client;
pub mod config;
pub mod embed;
pub mod server;

// Internals the binary, the integration tests, the examples and the fuzz targets reach
// into (signing like an SDK, parsing parameters, loading fixtures): public so they
// compile, hidden from the documentation, no promise of stability.
#[doc(hidden)]
pub mod cases;
#[doc(hidden)]
pub mod cert;
#[doc(hidden)]
pub mod content_encryption;
#[doc(hidden)]
pub mod control;
#[doc(hidden)]
pub mod crypto;
#[doc(hidden)]
pub mod fixtures;
#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod keys;
#[doc(hidden)]
pub mod notify;
#[doc(hidden)]
pub mod protocol;

pub(crate) mod admin;
pub(crate) mod builtin_keys;
pub(crate) mod clock;
mod connections;
pub(crate) mod cpu_pool;
pub(crate) mod doctor;
pub(crate) mod error;
pub(crate) mod gateway;
pub(crate) mod keygen;
pub(crate) mod keyring;
pub(crate) mod methods;
pub(crate) mod metrics;
pub(crate) mod model;
pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod sign_cache;
pub(crate) mod signature;
pub(crate) mod state;
pub(crate) mod store;

pub use client::Client;
pub use config::Config;
pub use embed::MockGateway;
pub use server::RunningGateway;

// The typed models an embedder passes to [`MockGateway`] and [`Client`] and receives
// from them, the same types the admin API reads and writes as JSON.
pub use admin::{Grant, RequestsPage};
pub use clock::ClockSetting;
pub use control::faults::{FaultConfig, Hostile, HostileMode, Latency, LatencyRange};
pub use control::journal::{Filter, JournalEntry, OutcomeCodes, SignatureVerdict};
pub use control::scenarios::{
    ForcedAnswer, ForcedDefinedError, ForcedError, ForcedNode, Match, Outcome, Scenario,
    ScenarioRequest,
};
pub use crypto::SignType;
pub use doctor::Diagnosis;
pub use methods::defined::{Definition, ErrorSpec, NotifySpec, Rule};
pub use methods::TriggeredNotification;
pub use model::{
    AccountState, App, AppAuthToken, AuthCategory, Authorization, Identity, InvalidIdentity,
};
pub use notify::{
    Attempt, Notification, NotificationFilter, NotificationRequest, NotificationState,
    NotificationSummary, Verdict,
};

/// What the binary and the property tests use of the crate's insides: not part of the
/// API.
#[doc(hidden)]
pub mod internals {
    pub use crate::cpu_pool::{batch_io_thread, CpuPool};
    pub use crate::keygen::write_key_pairs;
    pub use crate::keyring::{AppEntry, KeyRing};
    pub use crate::signature::verify_request;
}
