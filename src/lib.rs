//! alipay-mock: a local sandbox of Alipay's OpenAPI gateway (`gateway.do`).
//!
//! Map of the crate, outside in:
//! - [`server`]: the HTTP server: hyper accept loop, bounded bodies, graceful shutdown;
//!   [`RunningGateway`]. It reads requests into plain values and writes back a
//!   [`reply::Reply`]. Its open connections (idle ones closed first at the cap) are kept
//!   by the private `connections` module.
//! - [`state`]: [`State`], everything a running gateway holds (store, apps with parsed
//!   keys, fixtures, scenarios, faults, journal) and the one way to change it
//!   ([`State::commit`], [`State::reset`]).
//! - [`gateway`]: one `gateway.do` request over a `&State`, from parameters to the signed
//!   answer, in the real gateway's check order, with certificate mode and AES on the
//!   request side in its own submodules; [`signature`]: the request signature check and
//!   its explanations; [`doctor`]: what a caller whose request was refused most likely
//!   did wrong (signature, AES, certificate SNs). The private `request` module holds
//!   what one request gathers on the way, from which the journal builds its entry and
//!   the metrics count it.
//! - [`admin`]: the test-control API under `/__admin/` over a `&State`, one file per URL
//!   family (the server side only); [`control`]: the scenarios, faults and journal the
//!   gateway consults.
//! - [`client`]: the admin API's HTTP client: request builders, transport, the typed
//!   [`client::Client`]; [`cli`]: `alipay-mock admin …`, the command line over it.
//! - [`methods`]: the OpenAPI methods (`zhima.auth.info.authquery`,
//!   `alipay.open.app.alipaycert.download`, and any method a definition describes)
//!   behind one interface: each reads its `biz_content` once and owns everything about
//!   its fields (answers, masking, forced answers).
//! - [`protocol`]: wire format: charsets, merged parameters, sign content, response bodies.
//! - [`error`]: the gateway's failures and the one table of public error codes.
//! - [`crypto`]: RSA / RSA2 signatures; [`keys`]: key parsing; [`keygen`]: key files;
//!   [`keyring`]: apps with keys, certificates and AES keys parsed once;
//!   [`builtin_keys`]: the compiled-in private keys, parsed once per process.
//! - [`cert`]: certificate mode: certificates, their SNs, the test PKI of `keygen --cert`;
//!   [`content_encryption`]: AES content encryption (`encrypt_type=AES`).
//! - [`store`]: the sled store; [`model`]: its records; [`fixtures`]: seed data;
//!   [`cases`]: the catalogue of seeded outcomes.
//! - [`metrics`]: the Prometheus counters of `/__admin/metrics`, bounded labels.
//! - [`sign_cache`]: response signatures by (key, sign type, node bytes), bounded.
//! - [`cpu_pool`]: the fixed threads that run the CPU-bound part of gateway requests.
//! - [`clock`]: the gateway's notion of now (real, shifted or frozen).
//! - [`notify`]: asynchronous notifications to `notify_url` (made by the admin API or by
//!   a defined method's rule): signed, queued in sled, sent by their own worker on
//!   Alipay's retry schedule, timed by the clock.
//! - [`embed`]: [`MockGateway`], the in-process gateway for Rust tests, with typed control
//!   that runs the admin API's own code.
//! - [`config`]: configuration, its defaults and the names shared by server and client.
//!
//! Dependencies point inward: `server` → `gateway`, `admin` → `state` → `store`,
//! `control`, `keyring`; `gateway` → `methods`, `signature`, `protocol`; `cli` →
//! `client` → the admin API's wire types. Two modules import hyper: `server` and
//! `client::transport`; everything else sees plain values, and `admin` does not use
//! the request pipeline. The protocol
//! rules the code follows are written down in `docs/protocol.md`.
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

pub mod admin;
pub mod builtin_keys;
pub mod cases;
pub mod cert;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
mod connections;
pub mod content_encryption;
pub mod control;
pub mod cpu_pool;
pub mod crypto;
pub mod doctor;
pub mod embed;
pub mod error;
pub mod fixtures;
pub mod gateway;
pub mod keygen;
pub mod keyring;
pub mod keys;
pub mod methods;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod protocol;
pub mod reply;
mod request;
pub mod server;
pub mod sign_cache;
pub mod signature;
pub mod state;
pub mod store;

pub use config::Config;
pub use embed::MockGateway;
pub use server::RunningGateway;
pub use state::State;
