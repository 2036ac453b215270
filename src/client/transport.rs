//! One exchange with the admin API over hyper's low-level HTTP/1 client: where the
//! gateway listens ([`AdminAddress`], from a URL), sending an [`ApiRequest`] and reading
//! the [`Answer`] whole, within a time bound.
//!
//! Plain HTTP only: the admin API listens on the gateway's own listener, on loopback.
//! With `server`, the only module that imports hyper. Errors say what failed and where;
//! they name no command-line flag (the CLI adds its own hints).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, StatusCode, Uri};
use hyper_util::rt::TokioIo;

use super::calls::{ApiRequest, HttpMethod};
use crate::config::{ADMIN_PREFIX, GATEWAY_PATH};

/// How long one exchange (connect, send, read the answer) may take unless the caller
/// says otherwise.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read; a full request journal stays far below it.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// What the URLs of the admin API look like, for error messages.
const EXPECTED: &str = "expected http://HOST:PORT or http://HOST:PORT/gateway.do";

/// Why a URL does not name a gateway's listener. Its text starts with the URL as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("{url:?} is not a URL ({reason}); {EXPECTED}")]
    NotAUrl {
        /// The URL as given.
        url: String,
        /// What the URL parser said.
        reason: String,
    },
    /// `https://`: the admin API speaks plain HTTP.
    #[error("{url:?}: the admin API speaks plain http (it listens on loopback); use http://")]
    Https {
        /// The URL as given.
        url: String,
    },
    /// Another scheme, or none.
    #[error("{url:?}: {EXPECTED}")]
    Scheme {
        /// The URL as given.
        url: String,
    },
    /// No host.
    #[error("{url:?} has no host; {EXPECTED}")]
    NoHost {
        /// The URL as given.
        url: String,
    },
    /// A path that is neither `/`, `/gateway.do` nor `/__admin`.
    #[error("{url:?}: unexpected path {path}; {EXPECTED}")]
    Path {
        /// The URL as given.
        url: String,
        /// Its path.
        path: String,
    },
}

/// The gateway's listener, where its admin API answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAddress {
    /// `host:port` to connect to and to send as `Host` (IPv6 hosts keep their brackets).
    authority: String,
}

impl AdminAddress {
    /// Reads `http://HOST[:PORT]`, optionally followed by `/`, `/gateway.do` (the URL an
    /// SDK is given, query ignored) or `/__admin`. The admin API is always at the root of
    /// the listener, so any other path is refused rather than guessed at.
    pub fn parse(url: &str) -> Result<AdminAddress, UrlError> {
        let uri: Uri = url.trim().parse().map_err(|e| UrlError::NotAUrl {
            url: url.to_owned(),
            reason: format!("{e}"),
        })?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(UrlError::Https {
                    url: url.to_owned(),
                })
            }
            _ => {
                return Err(UrlError::Scheme {
                    url: url.to_owned(),
                })
            }
        }
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| UrlError::NoHost {
                url: url.to_owned(),
            })?;
        let admin_root = ADMIN_PREFIX.trim_end_matches('/');
        match uri.path() {
            "" | "/" => {}
            path if path == GATEWAY_PATH || path.trim_end_matches('/') == admin_root => {}
            other => {
                return Err(UrlError::Path {
                    url: url.to_owned(),
                    path: other.to_owned(),
                })
            }
        }
        let port = uri.port_u16().unwrap_or(80);
        Ok(AdminAddress {
            authority: format!("{host}:{port}"),
        })
    }

    /// `host:port`.
    pub fn authority(&self) -> &str {
        &self.authority
    }
}

/// Why an exchange brought no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Nothing accepted the connection.
    #[error("cannot connect to {authority}: {reason}")]
    Connect {
        /// Where.
        authority: String,
        /// What the operating system said.
        reason: String,
    },
    /// The whole exchange took longer than its bound.
    #[error("no answer from {authority} within {timeout:?} ({method} {target})")]
    Timeout {
        /// Where.
        authority: String,
        /// The bound.
        timeout: Duration,
        /// The call's method.
        method: HttpMethod,
        /// The call's target.
        target: String,
    },
    /// The token cannot be sent as a header value (a control character, say).
    #[error("the admin token cannot be sent in a header: {0}")]
    Token(String),
    /// The connection broke: handshake, sending or reading the answer.
    #[error("{0}")]
    Http(String),
}

/// An HTTP answer, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The status line's text: `404 Not Found`.
    pub status_line: String,
    /// The body bytes.
    pub body: Bytes,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends one request and reads the answer, the whole exchange bounded by `timeout` (a
/// health check must fail fast when the port accepts connections but nothing answers: a
/// hung process, a proxy with nothing behind it). `token` goes out as
/// `Authorization: Bearer …`. Must run inside a tokio runtime with IO and time enabled.
pub async fn send(
    address: &AdminAddress,
    token: Option<&str>,
    request: &ApiRequest,
    timeout: Duration,
) -> Result<Answer, TransportError> {
    let authority = address.authority();
    tokio::time::timeout(timeout, exchange(address, token, request))
        .await
        .map_err(|_| TransportError::Timeout {
            authority: authority.to_owned(),
            timeout,
            method: request.method,
            target: request.target.clone(),
        })?
}

fn method(method: HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
    }
}

async fn exchange(
    address: &AdminAddress,
    token: Option<&str>,
    request: &ApiRequest,
) -> Result<Answer, TransportError> {
    let authority = address.authority();
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| TransportError::Connect {
            authority: authority.to_owned(),
            reason: e.to_string(),
        })?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| {
            TransportError::Http(format!("HTTP handshake with {authority} failed: {e}"))
        })?;
    // The connection future drives the socket; it ends once the answer is read and
    // `sender` is dropped, so its own result adds nothing to report.
    tokio::spawn(connection);

    let mut builder = hyper::Request::builder()
        .method(method(request.method))
        .uri(request.target.as_str())
        .header(HOST, authority)
        .header(ACCEPT, "application/json");
    if request.body.is_some() {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    if let Some(token) = token {
        builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = Full::new(Bytes::from(request.body.clone().unwrap_or_default()));
    // The method, target and fixed headers are valid by construction; only the token
    // comes from outside.
    let http_request = builder
        .body(body)
        .map_err(|e| TransportError::Token(e.to_string()))?;
    let response = sender.send_request(http_request).await.map_err(|e| {
        TransportError::Http(format!(
            "{} {} on {authority}: {e}",
            request.method, request.target
        ))
    })?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| TransportError::Http(format!("cannot read the answer from {authority}: {e}")))?
        .to_bytes();
    Ok(Answer {
        status: status.as_u16(),
        status_line: status_line(status),
        body,
    })
}

/// `404 Not Found`, as hyper writes a status.
fn status_line(status: StatusCode) -> String {
    status.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority(url: &str) -> String {
        AdminAddress::parse(url).map(|e| e.authority).unwrap()
    }

    #[test]
    fn a_url_with_or_without_gateway_do_names_the_same_listener() {
        for url in [
            "http://127.0.0.1:9600",
            "http://127.0.0.1:9600/",
            "http://127.0.0.1:9600/gateway.do",
            "http://127.0.0.1:9600/gateway.do?charset=utf-8",
            "http://127.0.0.1:9600/__admin/",
            " http://127.0.0.1:9600 ",
        ] {
            assert_eq!(authority(url), "127.0.0.1:9600", "{url}");
        }
    }

    #[test]
    fn a_url_without_port_means_port_80_and_ipv6_keeps_its_brackets() {
        assert_eq!(authority("http://localhost"), "localhost:80");
        assert_eq!(authority("http://[::1]:9600/gateway.do"), "[::1]:9600");
    }

    #[test]
    fn https_other_paths_and_non_urls_are_refused_with_what_to_give() {
        let https = AdminAddress::parse("https://127.0.0.1:9600")
            .unwrap_err()
            .to_string();
        assert!(https.contains("plain http"), "{https}");
        let path = AdminAddress::parse("http://127.0.0.1:9600/other")
            .unwrap_err()
            .to_string();
        assert!(
            path.contains("/other") && path.contains("http://HOST:PORT"),
            "{path}"
        );
        for bad in ["127.0.0.1:9600", "", "ftp://host:1", "http://"] {
            assert!(AdminAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn an_unreachable_address_reports_that_it_cannot_connect() {
        // Bind then drop a listener: its port is then (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let address = AdminAddress::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = runtime
            .block_on(send(
                &address,
                None,
                &super::super::calls::health(),
                TIMEOUT,
            ))
            .unwrap_err();
        assert!(
            matches!(&err, TransportError::Connect { authority, .. } if authority.starts_with("127.0.0.1:")),
            "{err}"
        );
    }
}
