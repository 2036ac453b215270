//! Cross-site protection of the admin API, as local development servers need it: the
//! admin API has no token by default, and any web page the developer opens can send
//! requests to `127.0.0.1`. A request is refused when
//!
//! - its `Host` is not the listen address, `localhost`, a loopback literal or a name
//!   given with `--allow-host` (421): a DNS-rebinding page reaches us under its own name;
//! - it carries an `Origin` other than the gateway's own, `http://` + its `Host` (403):
//!   a cross-site `fetch` or form always sends one;
//! - it writes (POST, PUT, PATCH, DELETE) with a body that is not declared
//!   `application/json` (415): a cross-site form or `no-cors` fetch cannot send that
//!   type without a CORS preflight, which the admin API never grants.
//!
//! Requests without `Host` or `Origin` (command-line clients, SDK helpers) pass the
//! first two checks: only browsers need them.

use std::net::{IpAddr, SocketAddr};

use super::Rejection;

/// What the checks read of a request.
#[derive(Debug, Clone, Copy)]
pub struct SiteHeaders<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// `Host` (or the authority of an absolute-form target).
    pub host: Option<&'a str>,
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// Whether the body is empty.
    pub body_empty: bool,
}

/// The names the admin API answers to.
#[derive(Debug, Clone)]
pub struct SiteGuard {
    listen: IpAddr,
    allowed: Vec<String>,
}

/// The host name of a `Host` value: without the port, brackets stripped from IPv6.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _port)| name)
}

impl SiteGuard {
    /// A guard for a gateway listening on `listen`, also answering the `allowed` names.
    pub fn new(listen: SocketAddr, allowed: Vec<String>) -> SiteGuard {
        SiteGuard {
            listen: listen.ip(),
            allowed: allowed
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        if name == "localhost" || self.allowed.contains(&name) {
            return true;
        }
        match name.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback() || ip == self.listen,
            Err(_) => false,
        }
    }

    /// Refuses a request a web page of another site could have sent.
    pub(crate) fn check(&self, request: &SiteHeaders<'_>) -> Result<(), Rejection> {
        if let Some(host) = request.host {
            if !self.host_allowed(host) {
                return Err(Rejection {
                    status: 421,
                    message: format!(
                        "Host {host} is not this gateway's address: the admin API answers to \
                         its listen address, localhost and loopback addresses (start it with \
                         --allow-host NAME to add a name, such as a compose service)"
                    ),
                });
            }
        }
        if let Some(origin) = request.origin {
            let own = request
                .host
                .is_some_and(|host| origin.eq_ignore_ascii_case(&format!("http://{host}")));
            if !own {
                return Err(Rejection {
                    status: 403,
                    message: format!(
                        "requests from the web page at {origin} are refused: the admin API \
                         takes calls only from its own console and from non-browser clients"
                    ),
                });
            }
        }
        let writes = matches!(request.method, "POST" | "PUT" | "PATCH" | "DELETE");
        let json = request.content_type.is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
        let declared_otherwise = request.content_type.is_some() && !json;
        if writes && (declared_otherwise || (!request.body_empty && !json)) {
            return Err(Rejection {
                status: 415,
                message: "admin writes take Content-Type: application/json".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> SiteGuard {
        SiteGuard::new(
            "127.0.0.1:9600".parse().unwrap(),
            vec!["alipay-mock".into()],
        )
    }

    fn request<'a>(host: Option<&'a str>, origin: Option<&'a str>) -> SiteHeaders<'a> {
        SiteHeaders {
            method: "GET",
            host,
            origin,
            content_type: None,
            body_empty: true,
        }
    }

    #[test]
    fn loopback_localhost_the_listen_address_and_allowed_names_pass_other_hosts_do_not() {
        for host in [
            "127.0.0.1:9600",
            "localhost:9600",
            "LOCALHOST",
            "[::1]:9600",
            "127.0.0.2",
            "alipay-mock:9600",
        ] {
            assert!(guard().check(&request(Some(host), None)).is_ok(), "{host}");
        }
        for host in [
            "attacker.example:9600",
            "192.168.1.5:9600",
            "localhost.evil",
        ] {
            assert_eq!(
                guard()
                    .check(&request(Some(host), None))
                    .unwrap_err()
                    .status,
                421,
                "{host}"
            );
        }
    }

    #[test]
    fn only_the_gateways_own_origin_passes() {
        let own = request(Some("127.0.0.1:9600"), Some("http://127.0.0.1:9600"));
        assert!(guard().check(&own).is_ok());
        for origin in ["http://evil.example", "null", "http://127.0.0.1:9601"] {
            let other = request(Some("127.0.0.1:9600"), Some(origin));
            assert_eq!(guard().check(&other).unwrap_err().status, 403, "{origin}");
        }
    }

    #[test]
    fn writes_with_a_body_need_json_and_no_other_type_is_taken() {
        let write = |content_type, body_empty| SiteHeaders {
            method: "POST",
            host: None,
            origin: None,
            content_type,
            body_empty,
        };
        assert!(guard()
            .check(&write(Some("application/json"), false))
            .is_ok());
        assert!(guard()
            .check(&write(Some("application/json; charset=utf-8"), false))
            .is_ok());
        assert!(guard().check(&write(None, true)).is_ok());
        for (content_type, body_empty) in [
            (Some("text/plain"), false),
            (Some("application/x-www-form-urlencoded"), true),
            (None, false),
        ] {
            assert_eq!(
                guard()
                    .check(&write(content_type, body_empty))
                    .unwrap_err()
                    .status,
                415
            );
        }
    }
}
