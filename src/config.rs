//! Run-time configuration with its named defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::control::journal::{DEFAULT_JOURNAL_MAX, DEFAULT_JOURNAL_MAX_BYTES};
pub use crate::fixtures::FixtureSource;
pub use crate::notify::delivery::Limits as NotifyLimits;
pub use crate::notify::policy::{AllowRule, Policy as NotifyPolicy, Range as AddressRange};
pub use crate::notify::NotifyConfig;
pub use crate::sign_cache::{DEFAULT_SIGN_CACHE_BYTES, DEFAULT_SIGN_CACHE_ENTRIES};
pub use crate::store::StoreLocation;

/// Where `serve` listens unless told otherwise: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9600";
/// The one path the gateway answers, as on `openapi.alipay.com`.
pub const GATEWAY_PATH: &str = "/gateway.do";
/// Path prefix of every admin endpoint.
pub const ADMIN_PREFIX: &str = "/__admin/";
/// Where the web console is: a browser opening `/` is sent here.
pub const CONSOLE_PATH: &str = "/__admin/ui/";
/// Environment variable holding the admin token (`serve` enforces it, `admin` sends it).
pub const ADMIN_TOKEN_ENV: &str = "ALIPAY_MOCK_ADMIN_TOKEN";
/// Environment variable naming the gateway for `alipay-mock admin` when `--url` is absent.
pub const URL_ENV: &str = "ALIPAY_MOCK_URL";
/// Where `serve` keeps its store unless told otherwise (relative to the working folder).
pub const DEFAULT_DATA_DIR: &str = "alipay-mock-data";
/// The largest request body read; larger ones are refused without being read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long shutdown waits for in-flight requests before it closes the connections
/// still open: well under the 10 s `docker stop` waits before SIGKILL.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a client may take to send a request's headers, and then its body.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Open connections served at once; further clients wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 1024;

/// Everything a gateway needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The sled store.
    pub store: StoreLocation,
    /// Seed data for an empty store.
    pub fixtures: FixtureSource,
    /// When set, a `timestamp` further than this from now (read as GMT+8, Beijing time)
    /// answers `isv.invalid-timestamp`. Off by default: the Node and Python SDKs send
    /// local time without a zone, so a UTC machine is 8 hours off.
    pub timestamp_window: Option<Duration>,
    /// Request bodies above this many bytes are refused.
    pub max_body_bytes: usize,
    /// How long shutdown waits for in-flight requests; then it closes the connections
    /// still open.
    pub shutdown_grace: Duration,
    /// How long a client may take to send a request's headers (also between requests
    /// on a kept-alive connection), and then its body; a slower client is cut off.
    pub request_timeout: Duration,
    /// Open connections served at once; at the cap new clients wait to be accepted.
    pub max_connections: usize,
    /// When set, every admin call needs `Authorization: Bearer <token>`.
    pub admin_token: Option<String>,
    /// How many requests the journal keeps.
    pub journal_max: usize,
    /// About how many bytes of requests the journal keeps (the oldest go first).
    pub journal_max_bytes: usize,
    /// Keep identity names and certificate numbers unmasked in the journal.
    pub journal_unmasked: bool,
    /// Host names the admin API answers to beside the listen address, `localhost` and
    /// loopback literals (a compose service name, a container's host name).
    pub allow_hosts: Vec<String>,
    /// Move a store folder aside (renamed, kept) and seed a new one from the fixtures,
    /// whatever it held: the way out of a damaged store.
    pub reseed: bool,
    /// How many response signatures the sign cache keeps; 0 turns it off.
    pub sign_cache_entries: usize,
    /// About how many bytes the sign cache keeps at most.
    pub sign_cache_bytes: usize,
    /// Where notifications may go and the bounds of their queue and attempts.
    pub notify: crate::notify::NotifyConfig,
}

/// Where `alipay-mock admin` looks without `--url` or [`URL_ENV`]: `serve`'s default
/// address.
pub fn default_url() -> String {
    format!("http://{DEFAULT_ADDR}")
}

impl Config {
    /// A gateway for tests and embedding: a free loopback port, a temporary store and
    /// the compiled-in fixtures.
    pub fn ephemeral() -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            store: StoreLocation::Ephemeral,
            ..Config::default()
        }
    }

    /// The same, with the store in a folder (to test restarts).
    pub fn with_data_dir(dir: impl Into<PathBuf>) -> Config {
        Config {
            store: StoreLocation::Dir(dir.into()),
            ..Config::ephemeral()
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            // A constant that parses; checked by the test below.
            addr: DEFAULT_ADDR
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 9600))),
            store: StoreLocation::Dir(PathBuf::from(DEFAULT_DATA_DIR)),
            fixtures: FixtureSource::Embedded,
            timestamp_window: None,
            max_body_bytes: MAX_BODY_BYTES,
            shutdown_grace: SHUTDOWN_GRACE,
            request_timeout: REQUEST_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            admin_token: None,
            journal_max: crate::control::journal::DEFAULT_JOURNAL_MAX,
            journal_max_bytes: crate::control::journal::DEFAULT_JOURNAL_MAX_BYTES,
            journal_unmasked: false,
            reseed: false,
            allow_hosts: Vec::new(),
            sign_cache_entries: crate::sign_cache::DEFAULT_SIGN_CACHE_ENTRIES,
            sign_cache_bytes: crate::sign_cache::DEFAULT_SIGN_CACHE_BYTES,
            notify: crate::notify::NotifyConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_address_is_loopback() {
        let addr: SocketAddr = DEFAULT_ADDR.parse().unwrap();
        assert!(addr.ip().is_loopback());
        assert_eq!(Config::default().addr, addr);
    }
}
