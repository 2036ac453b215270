//! Where notifications may go. A `notify_url` must be `http://` with a host; the host is
//! resolved and **every** address it resolves to must be allowed: by default loopback
//! and private-network addresses (a local setup, a compose network), plus the ranges
//! given with `--notify-allow`. A notification is checked when it is made (a refused URL
//! is a 400 naming the rule) and again before each attempt, which connects to the
//! checked address itself, so a name that later resolves elsewhere cannot redirect it.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use hyper::Uri;

/// The longest `notify_url` accepted (Alipay documents 256 characters; a mock can be
/// more generous, not unbounded).
pub const MAX_URL_LEN: usize = 2048;

/// A `notify_url`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host as written (a name or an address, without IPv6 brackets).
    pub host: String,
    /// The port (80 unless given).
    pub port: u16,
    /// The `Host` header: the URL's authority.
    pub authority: String,
    /// Path and query, `/` at least.
    pub path_and_query: String,
}

/// Why a `notify_url` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL this gateway can send to.
    #[error("{0}")]
    Invalid(String),
    /// The host does not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Unresolved {
        /// The host.
        host: String,
        /// The resolver's error.
        reason: String,
    },
    /// An address the host resolves to is outside the allowed ranges.
    #[error(
        "{host} resolves to {addr}, which is not a loopback or private-network address; \
         notifications go only there unless --notify-allow names its range (a CIDR such as \
         {addr}/32, or `any`)"
    )]
    Refused {
        /// The host.
        host: String,
        /// The refused address.
        addr: IpAddr,
    },
}

impl Target {
    /// Parses a `notify_url`: `http://host[:port][/path][?query]`.
    pub fn parse(text: &str) -> Result<Target, UrlError> {
        let invalid = |why: &str| UrlError::Invalid(why.to_owned());
        if text.len() > MAX_URL_LEN {
            return Err(invalid("longer than 2048 characters"));
        }
        let uri = Uri::from_str(text).map_err(|e| UrlError::Invalid(format!("not a URL: {e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(invalid(
                    "https is not supported: the gateway has no TLS client and sends \
                     notifications over plain http only; give the handler's http:// address \
                     (a local or compose-network handler has one)",
                ))
            }
            Some(other) => {
                return Err(UrlError::Invalid(format!(
                    "scheme {other:?} is not http or https"
                )))
            }
            None => return Err(invalid("not an absolute http:// URL")),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("has no host"))?
            .as_str()
            .to_owned();
        if authority.contains('@') {
            return Err(invalid("user information (user@host) is not allowed"));
        }
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("has no host"))?
            .to_owned();
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/")
            .to_owned();
        Ok(Target {
            host,
            port: uri.port_u16().unwrap_or(80),
            authority,
            path_and_query,
        })
    }
}

/// An address range (`10.0.0.0/8`, `::1/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    addr: IpAddr,
    prefix: u8,
}

impl Range {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Range {
    type Err = String;

    /// `ADDR/PREFIX` or a bare address (one host).
    fn from_str(text: &str) -> Result<Range, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an address range like 203.0.113.0/24"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Range { addr, prefix })
    }
}

/// One `--notify-allow` value: `any`, or an address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowRule {
    /// Every address.
    Any,
    /// One range.
    Range(Range),
}

impl FromStr for AllowRule {
    type Err = String;

    fn from_str(text: &str) -> Result<AllowRule, String> {
        if text.eq_ignore_ascii_case("any") {
            return Ok(AllowRule::Any);
        }
        text.parse().map(AllowRule::Range)
    }
}

/// Where notifications may go: loopback and private networks, plus the extra rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The `--notify-allow` rules.
    pub extra: Vec<AllowRule>,
}

/// Whether an address is loopback or on a private network (RFC 1918, IPv6 unique-local).
/// Link-local (169.254/16, where cloud metadata services answer) and unspecified
/// addresses are not.
fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_local(IpAddr::V4(v4)),
            // fc00::/7: unique local addresses, IPv6's private networks.
            None => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        },
    }
}

impl Policy {
    /// Whether a notification may be sent to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        if ip == IpAddr::V4(Ipv4Addr::UNSPECIFIED) || ip == IpAddr::V6(Ipv6Addr::UNSPECIFIED) {
            return false;
        }
        is_local(ip)
            || self.extra.iter().any(|rule| match rule {
                AllowRule::Any => true,
                AllowRule::Range(range) => range.contains(ip),
            })
    }

    /// Resolves the target's host with the system's resolver and checks every address;
    /// answers them all. Unbounded in time: callers put it under a deadline.
    pub async fn resolve(&self, target: &Target) -> Result<Vec<SocketAddr>, UrlError> {
        self.resolve_with(target, system_lookup).await
    }

    /// [`Policy::resolve`] with the resolver given (`lookup(host, port)`), so a test can
    /// play a name whose resolution never ends without any network.
    pub async fn resolve_with<L, F>(
        &self,
        target: &Target,
        lookup: L,
    ) -> Result<Vec<SocketAddr>, UrlError>
    where
        L: FnOnce(String, u16) -> F,
        F: Future<Output = std::io::Result<Vec<SocketAddr>>>,
    {
        let addrs: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, target.port)],
            Err(_) => lookup(target.host.clone(), target.port)
                .await
                .map_err(|e| UrlError::Unresolved {
                    host: target.host.clone(),
                    reason: e.to_string(),
                })?,
        };
        if addrs.is_empty() {
            return Err(UrlError::Unresolved {
                host: target.host.clone(),
                reason: "no address".into(),
            });
        }
        if let Some(refused) = addrs.iter().find(|a| !self.allows(a.ip())) {
            return Err(UrlError::Refused {
                host: target.host.clone(),
                addr: refused.ip(),
            });
        }
        Ok(addrs)
    }
}

/// The system's resolver (`getaddrinfo`, on tokio's blocking pool).
pub async fn system_lookup(host: String, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    Ok(tokio::net::lookup_host((host.as_str(), port))
        .await?
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn loopback_and_private_networks_are_allowed_by_default_and_nothing_else() {
        let policy = Policy::default();
        for allowed in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "::1",
            "fd00::1",
            "::ffff:192.168.0.1",
        ] {
            assert!(policy.allows(ip(allowed)), "{allowed}");
        }
        for refused in [
            "8.8.8.8",
            "172.32.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "::",
            "2001:db8::1",
            "::ffff:8.8.8.8",
            "fe80::1",
        ] {
            assert!(!policy.allows(ip(refused)), "{refused}");
        }
    }

    #[test]
    fn notify_allow_widens_by_range_or_to_any() {
        let policy = Policy {
            extra: vec!["203.0.113.0/24".parse().unwrap()],
        };
        assert!(policy.allows(ip("203.0.113.77")));
        assert!(!policy.allows(ip("203.0.114.1")));
        let any = Policy {
            extra: vec!["any".parse().unwrap()],
        };
        assert!(any.allows(ip("8.8.8.8")));
        assert!(any.allows(ip("2001:db8::1")));
        assert!("10.0.0.0/33".parse::<AllowRule>().is_err());
        assert!("example.com".parse::<AllowRule>().is_err());
    }

    #[test]
    fn only_absolute_http_urls_with_a_host_parse() {
        let t = Target::parse("http://127.0.0.1:8080/alipay/notify?x=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path_and_query.as_str()),
            ("127.0.0.1", 8080, "/alipay/notify?x=1")
        );
        let v6 = Target::parse("http://[::1]:9/").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.authority.as_str()),
            ("::1", "[::1]:9")
        );
        assert_eq!(
            Target::parse("http://localhost").unwrap().path_and_query,
            "/"
        );
        for bad in [
            "ftp://127.0.0.1/",
            "127.0.0.1:8080/notify",
            "/notify",
            "http://user:pw@127.0.0.1/",
            "https://127.0.0.1/",
            "not a url",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_refused_address_names_the_rule() {
        let policy = Policy::default();
        let target = Target::parse("http://8.8.8.8/notify").unwrap();
        let err = policy.resolve(&target).await.unwrap_err();
        assert!(
            matches!(err, UrlError::Refused { .. }) && err.to_string().contains("--notify-allow"),
            "{err}"
        );
        let local = Target::parse("http://127.0.0.1:1/").unwrap();
        assert_eq!(policy.resolve(&local).await.unwrap().len(), 1);
    }
}
