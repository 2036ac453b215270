//! The integration tests: one binary (one link of the crate and AWS-LC instead of one per
//! file), one module per concern. Every test starts its own gateway on `127.0.0.1:0` with
//! a temporary store (`support`), so the modules share nothing but the helpers.
//!
//! A new concern is a new file here and one `mod` line below.

mod support;

mod admin_cli;
mod admin_faults;
mod admin_journal;
mod admin_records;
mod admin_reset;
mod admin_routes;
mod admin_scenarios;
mod auth_query;
mod cert_mode;
mod clock;
mod console;
mod content_encryption;
mod cross_site;
mod crypto_backends;
mod doctor;
mod doctor_cli;
mod doctor_modes;
mod embed;
mod fuzz_regressions;
mod lifecycle;
mod methods;
mod metrics;
mod notifications;
mod properties;
mod public_errors;
mod reliability;
mod sign_cache;
mod signature;
mod signed_bytes;
mod store_faults;
mod version;
