//! The HTTP side of `alipay-mock admin`: where the admin API is ([`Endpoint`], from
//! `--url`), the request a verb makes ([`ApiRequest`]) and one exchange over hyper's
//! low-level HTTP/1 client ([`send`]).
//!
//! Plain HTTP only: the admin API listens on the gateway's own listener, on loopback.
//! Nothing here knows the verbs; [`crate::admin::cli`] maps them to requests.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use super::calls::{self, RequestsPage, RequestsQuery};
use super::Grant;
use crate::clock::ClockSetting;
use crate::config::{ADMIN_PREFIX, ADMIN_TOKEN_ENV, GATEWAY_PATH, URL_ENV};
use crate::control::faults::FaultConfig;
use crate::control::scenarios::{Scenario, ScenarioRequest};
use crate::methods::defined::Definition;
use crate::model::{AccountState, AuthCategory, Authorization, Identity};

/// How long one exchange (connect, send, read the answer) may take unless `--timeout`
/// says otherwise.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read; a full request journal stays far below it.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// What stays unencoded in a path segment or query value: RFC 3986's unreserved
/// characters. Everything else is escaped, so an id with `/` stays one segment and an
/// RFC 3339 `+08:00` does not turn into a space.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The gateway's listener, as `--url` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port` to connect to and to send as `Host` (IPv6 hosts keep their brackets).
    authority: String,
}

impl Endpoint {
    /// Reads `http://HOST[:PORT]`, optionally followed by `/`, `/gateway.do` (the URL an
    /// SDK is given, query ignored) or `/__admin`. The admin API is always at the root of
    /// the listener, so any other path is refused rather than guessed at.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let expected = "expected http://HOST:PORT or http://HOST:PORT/gateway.do";
        let uri: Uri = url
            .trim()
            .parse()
            .map_err(|e| format!("--url {url:?} is not a URL ({e}); {expected}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "--url {url:?}: the admin API speaks plain http (it listens on loopback); use http://"
                ))
            }
            _ => return Err(format!("--url {url:?}: {expected}")),
        }
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("--url {url:?} has no host; {expected}"))?;
        match uri.path() {
            "" | "/" => {}
            path if path == GATEWAY_PATH || path.trim_end_matches('/') == admin_root() => {}
            other => {
                return Err(format!(
                    "--url {url:?}: unexpected path {other}; {expected}"
                ))
            }
        }
        let port = uri.port_u16().unwrap_or(80);
        Ok(Endpoint {
            authority: format!("{host}:{port}"),
        })
    }

    /// `host:port`.
    pub fn authority(&self) -> &str {
        &self.authority
    }
}

/// The admin prefix without its trailing `/`.
fn admin_root() -> &'static str {
    ADMIN_PREFIX.trim_end_matches('/')
}

/// One admin call, before it is sent: what a verb means on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// The HTTP method.
    pub method: Method,
    /// Origin-form target: `/__admin/…` with its query, already percent-encoded.
    pub target: String,
    /// The JSON body, if the call takes one.
    pub body: Option<String>,
}

impl ApiRequest {
    /// A call without a body on `target` (see [`target`]).
    pub fn new(method: Method, target: String) -> ApiRequest {
        ApiRequest {
            method,
            target,
            body: None,
        }
    }

    /// The same call carrying a JSON body.
    pub fn with_body(self, json: String) -> ApiRequest {
        ApiRequest {
            body: Some(json),
            ..self
        }
    }
}

/// Builds `/__admin/<segments>?<query>`: each segment and each query value is
/// percent-encoded on its own, and query pairs whose value is `None` are left out.
pub fn target(segments: &[&str], query: &[(&str, Option<&str>)]) -> String {
    let mut target = String::from(admin_root());
    for segment in segments {
        target.push('/');
        target.extend(utf8_percent_encode(segment, UNRESERVED));
    }
    let mut separator = '?';
    for (name, value) in query {
        if let Some(value) = value {
            target.push(separator);
            target.extend(utf8_percent_encode(name, UNRESERVED));
            target.push('=');
            target.extend(utf8_percent_encode(value, UNRESERVED));
            separator = '&';
        }
    }
    target
}

/// An HTTP answer, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: StatusCode,
    /// The body bytes.
    pub body: Bytes,
}

impl Answer {
    /// What to print: pretty JSON for a 2xx JSON body (in the server's key order), the
    /// text of any other 2xx body, nothing for an empty one (204). Otherwise an error
    /// with the status and the server's `error` (or its body, when that is not the
    /// admin API's error shape, as on a gateway without the admin API).
    pub fn output(&self) -> Result<String, String> {
        let text = String::from_utf8_lossy(&self.body);
        if self.status.is_success() {
            if text.trim().is_empty() {
                return Ok(String::new());
            }
            return match serde_json::from_str::<Value>(&text) {
                Ok(json) => serde_json::to_string_pretty(&json).map_err(|e| e.to_string()),
                Err(_) => Ok(text.into_owned()),
            };
        }
        let said = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|json| json.get("error")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| text.trim().to_owned());
        let mut message = format!("HTTP {}", self.status);
        if !said.is_empty() {
            message.push_str(": ");
            message.push_str(&said);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            message.push_str(&format!(
                " (the gateway runs with --admin-token: pass --token or set {ADMIN_TOKEN_ENV})"
            ));
        }
        Err(message)
    }
}

/// Sends one request and reads the answer, all within [`TIMEOUT`]. `token` goes out as
/// `Authorization: Bearer …`. Must run inside a tokio runtime with IO and time enabled.
pub async fn send(
    endpoint: &Endpoint,
    token: Option<&str>,
    request: &ApiRequest,
) -> Result<Answer, String> {
    send_within(endpoint, token, request, TIMEOUT).await
}

/// [`send`] with its own bound on the whole exchange: a health check must fail fast
/// when the port accepts connections but nothing answers (a hung process, a proxy
/// with nothing behind it), not after [`TIMEOUT`].
pub async fn send_within(
    endpoint: &Endpoint,
    token: Option<&str>,
    request: &ApiRequest,
    timeout: Duration,
) -> Result<Answer, String> {
    let authority = endpoint.authority();
    tokio::time::timeout(timeout, exchange(endpoint, token, request))
        .await
        .map_err(|_| {
            format!(
                "no answer from {authority} within {timeout:?} ({} {})",
                request.method, request.target
            )
        })?
}

async fn exchange(
    endpoint: &Endpoint,
    token: Option<&str>,
    request: &ApiRequest,
) -> Result<Answer, String> {
    let authority = endpoint.authority();
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| {
            format!(
                "cannot connect to {authority}: {e} (is `alipay-mock serve` running there? \
                 --url or {URL_ENV} names another address)"
            )
        })?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {authority} failed: {e}"))?;
    // The connection future drives the socket; it ends once the answer is read and
    // `sender` is dropped, so its own result adds nothing to report.
    tokio::spawn(connection);

    let mut builder = hyper::Request::builder()
        .method(request.method.clone())
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
    let http_request = builder
        .body(body)
        .map_err(|e| format!("cannot build the request (check --token): {e}"))?;
    let response = sender
        .send_request(http_request)
        .await
        .map_err(|e| format!("{} {} on {authority}: {e}", request.method, request.target))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| format!("cannot read the answer from {authority}: {e}"))?
        .to_bytes();
    Ok(Answer { status, body })
}

/// Why a typed admin call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No answer: nothing listening, a timeout, a broken connection.
    #[error("{0}")]
    Transport(String),
    /// The admin API refused the call (400, 401, 404, 409, …).
    #[error("HTTP {status}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's `error` text.
        message: String,
    },
    /// The answer was not the JSON the call returns.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

/// A typed client of the admin API of a gateway in another process (a container, a
/// `serve` started by a test script). The same calls as [`crate::MockGateway`]'s typed
/// control, over HTTP, with the same request and response types as the server.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use alipay_mock::admin::client::Client;
/// use alipay_mock::control::scenarios::{ForcedError, Outcome, ScenarioRequest};
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
    endpoint: Endpoint,
    token: Option<String>,
    timeout: Duration,
}

impl Client {
    /// A client of the gateway at `url` (`http://HOST:PORT`, or the `/gateway.do` URL an
    /// SDK is given).
    pub fn new(url: &str) -> Result<Client, ClientError> {
        Ok(Client {
            endpoint: Endpoint::parse(url).map_err(ClientError::Transport)?,
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
        request: Result<ApiRequest, String>,
    ) -> Result<T, ClientError> {
        let request = request.map_err(ClientError::Decode)?;
        let answer = send_within(
            &self.endpoint,
            self.token.as_deref(),
            &request,
            self.timeout,
        )
        .await
        .map_err(ClientError::Transport)?;
        if !answer.status.is_success() {
            let message = serde_json::from_slice::<Value>(&answer.body)
                .ok()
                .and_then(|json| json.get("error")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).trim().to_owned());
            return Err(ClientError::Refused {
                status: answer.status.as_u16(),
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

    /// Removes every scenario, or one app's.
    pub async fn clear_scenarios(&self, app_id: Option<&str>) -> Result<(), ClientError> {
        self.call::<Value>(Ok(calls::clear_scenarios(app_id)))
            .await
            .map(drop)
    }

    /// Grants an authorisation.
    pub async fn grant(&self, grant: &Grant) -> Result<Authorization, ClientError> {
        self.call(calls::grant(grant)).await
    }

    /// Revokes an app's authorisations by a person.
    pub async fn revoke(
        &self,
        app_id: &str,
        identity: &str,
        category: Option<AuthCategory>,
    ) -> Result<(), ClientError> {
        self.call::<Value>(Ok(calls::revoke(app_id, identity, category)))
            .await
            .map(drop)
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

    /// The journal, filtered.
    pub async fn requests(&self, query: &RequestsQuery) -> Result<RequestsPage, ClientError> {
        self.call(Ok(calls::requests(query))).await
    }

    /// Back to the fixtures: everything, or one app's.
    pub async fn reset(&self, app_id: Option<&str>) -> Result<(), ClientError> {
        self.call::<Value>(Ok(calls::reset(app_id))).await.map(drop)
    }

    /// Freezes, shifts or releases the gateway's clock.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn authority(url: &str) -> String {
        Endpoint::parse(url).map(|e| e.authority).unwrap()
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
        let https = Endpoint::parse("https://127.0.0.1:9600").unwrap_err();
        assert!(https.contains("plain http"), "{https}");
        let path = Endpoint::parse("http://127.0.0.1:9600/other").unwrap_err();
        assert!(
            path.contains("/other") && path.contains("http://HOST:PORT"),
            "{path}"
        );
        for bad in ["127.0.0.1:9600", "", "ftp://host:1", "http://"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn target_encodes_each_segment_alone_so_an_id_with_a_slash_stays_one_segment() {
        assert_eq!(target(&["apps", "a b/c"], &[]), "/__admin/apps/a%20b%2Fc");
        assert_eq!(
            target(&["identities", "张三"], &[]),
            "/__admin/identities/%E5%BC%A0%E4%B8%89"
        );
    }

    #[test]
    fn target_escapes_plus_and_ampersand_in_query_values_and_skips_absent_ones() {
        assert_eq!(
            target(
                &["requests"],
                &[
                    ("method", Some("zhima.auth.info.authquery")),
                    ("app_id", None),
                    ("since", Some("2024-01-02T03:04:05+08:00")),
                    ("outcome", Some("a&b=c")),
                ]
            ),
            "/__admin/requests?method=zhima.auth.info.authquery\
             &since=2024-01-02T03%3A04%3A05%2B08%3A00&outcome=a%26b%3Dc"
        );
        assert_eq!(
            target(&["scenarios"], &[("app_id", None)]),
            "/__admin/scenarios"
        );
    }

    #[test]
    fn an_unreachable_address_reports_that_it_cannot_connect() {
        // Bind then drop a listener: its port is then (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let request = ApiRequest::new(Method::GET, target(&["health"], &[]));
        let err = runtime
            .block_on(send(&endpoint, None, &request))
            .unwrap_err();
        assert!(err.contains("cannot connect to 127.0.0.1:"), "{err}");
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn a_json_answer_prints_pretty_in_the_server_order() {
        assert_eq!(
            answer(200, r#"{"status":"ok","b":1,"a":[]}"#)
                .output()
                .unwrap(),
            "{\n  \"status\": \"ok\",\n  \"b\": 1,\n  \"a\": []\n}"
        );
    }

    #[test]
    fn an_empty_answer_prints_nothing_and_text_prints_as_is() {
        assert_eq!(answer(204, "").output().unwrap(), "");
        assert_eq!(
            answer(200, "openapi: 3.0.3\n").output().unwrap(),
            "openapi: 3.0.3\n"
        );
    }

    #[test]
    fn an_error_names_the_status_and_the_servers_error() {
        assert_eq!(
            answer(404, r#"{"error":"no app 42"}"#)
                .output()
                .unwrap_err(),
            "HTTP 404 Not Found: no app 42"
        );
        assert_eq!(
            answer(404, "Not Found: the gateway is at /gateway.do\n")
                .output()
                .unwrap_err(),
            "HTTP 404 Not Found: Not Found: the gateway is at /gateway.do"
        );
        assert_eq!(
            answer(500, "").output().unwrap_err(),
            "HTTP 500 Internal Server Error"
        );
    }

    #[test]
    fn a_401_says_how_to_give_the_token() {
        let err = answer(401, r#"{"error":"admin token required"}"#)
            .output()
            .unwrap_err();
        assert!(
            err.starts_with("HTTP 401 Unauthorized: admin token required")
                && err.contains("--token")
                && err.contains(ADMIN_TOKEN_ENV),
            "{err}"
        );
    }
}
