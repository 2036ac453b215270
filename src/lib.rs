//! alipay-mock: a local sandbox of Alipay's OpenAPI gateway (`gateway.do`).
//!
//! Map of the crate, outside in:
//! - [`server`]: hyper accept loop, bounded bodies, graceful shutdown; [`RunningGateway`].
//! - [`gateway`]: one request from parameters to the signed answer, in the real check order;
//!   [`signature`]: request signature checks and their explanations.
//! - [`admin`]: the test-control API under `/__admin/` and its CLI client; [`control`]: the
//!   scenarios, faults and journal it drives.
//! - [`protocol`]: wire format: charsets, merged parameters, sign content, response bodies.
//! - [`methods`]: the OpenAPI methods (`zhima.auth.info.authquery`).
//! - [`error`]: the gateway's failures and the one table of public error codes.
//! - [`crypto`]: RSA / RSA2 signatures; [`keys`]: key parsing and generation;
//!   [`keyring`]: apps with keys parsed once.
//! - [`cert`]: certificate mode: certificates, their SNs, the test PKI of `keygen --cert`;
//!   [`content_encryption`]: AES content encryption (`encrypt_type=AES`).
//! - [`store`]: the sled store; [`model`]: its records; [`fixtures`]: seed data;
//!   [`cases`]: the catalogue of seeded outcomes.
//! - [`config`]: configuration and its defaults.
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
pub mod cases;
pub mod cert;
pub mod config;
pub mod content_encryption;
pub mod control;
pub mod crypto;
pub mod error;
pub mod fixtures;
pub mod gateway;
pub mod keyring;
pub mod keys;
pub mod methods;
pub mod model;
pub mod protocol;
pub mod server;
pub mod signature;
pub mod store;

pub use config::Config;
pub use server::RunningGateway;
