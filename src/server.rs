//! HTTP with hyper 1.x: the accept loop, one `service_fn`, bounded bodies and graceful
//! shutdown. The only server-side module that knows hyper (the other is the admin
//! client's transport, `client::transport`): it reads a request into plain values and
//! hands them to `gateway::handle` or `Admin::handle`, and writes the `Reply` back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method as HttpMethod, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

use crate::admin::{self, Admin, AdminRequest, SiteGuard, SiteHeaders};
use crate::config::{Config, ADMIN_PREFIX, ADMIN_TOKEN_ENV, CONSOLE_PATH, GATEWAY_PATH};
use crate::connections::{Activity, Connections};
use crate::cpu_pool::CpuPool;
use crate::error::{GatewayError, PublicError};
use crate::gateway;
use crate::protocol::params::RawRequest;
use crate::reply::Reply;
use crate::state::{OpenError, State};

/// The first pause after a failed accept; it doubles up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest pause between accepts while they keep failing.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// The header that carries the signature doctor's finding (never the body: the wire
/// answer stays the real gateway's).
pub const DIAGNOSIS_HEADER: &str = "x-alipay-mock-diagnosis";
/// How long shutdown waits for the last tasks to let go of the state.
const STATE_RELEASE_WAIT: Duration = Duration::from_secs(5);
/// How long shutdown waits for sled's threads to close the store folder's files.
const STORE_RELEASE_WAIT: Duration = Duration::from_secs(5);

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Fixtures, store or keys could not be loaded.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// The start-up task died.
    #[error("start-up task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// `--admin-token` (or its environment variable) is set but empty: that would turn
    /// admin authentication off while looking like it is on.
    #[error("the admin token is empty; give a non-empty token, or leave it unset for no admin authentication")]
    EmptyAdminToken,
    /// The CPU worker threads could not be started.
    #[error("cannot start the CPU worker threads: {0}")]
    Threads(std::io::Error),
}

/// A gateway serving on a socket until [`RunningGateway::shutdown`].
#[derive(Debug)]
pub struct RunningGateway {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
    /// Sends the asynchronous notifications.
    notifier: crate::notify::worker::Worker,
}

impl RunningGateway {
    /// Binds, then loads fixtures, opens (and if empty seeds) the store, parses every
    /// app's keys and starts serving.
    pub async fn start(config: Config) -> Result<RunningGateway, StartError> {
        if config
            .admin_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(StartError::EmptyAdminToken);
        }
        // Bind first: a port in use must not leave a new, seeded store folder behind.
        let listener =
            listen(config.addr, config.max_connections).map_err(|source| StartError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
        let setup = config.clone();
        // Opening sled and parsing keys is blocking work: keep it off the runtime.
        let state = tokio::task::spawn_blocking(move || State::open(&setup)).await??;
        let state = Arc::new(state);
        if !addr.ip().is_loopback() && config.admin_token.is_none() {
            tracing::warn!(
                %addr,
                "listening beyond loopback without an admin token: anyone who can reach this \
                 address can change apps, keys and answers through /__admin/; set one with \
                 --admin-token or the {ADMIN_TOKEN_ENV} environment variable"
            );
        }
        let (shutdown, shutdown_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            state: Arc::clone(&state),
            admin: Admin::new(
                config.admin_token.clone(),
                SiteGuard::new(addr, config.allow_hosts.clone()),
            ),
            cpu: CpuPool::shared().map_err(StartError::Threads)?,
            max_body_bytes: config.max_body_bytes,
            request_timeout: config.request_timeout,
        });
        let limits = Limits {
            grace: config.shutdown_grace,
            request_timeout: config.request_timeout,
            connections: Arc::new(Semaphore::new(config.max_connections.max(1))),
        };
        let task = tokio::spawn(accept_loop(listener, shared, limits, shutdown_rx));
        let notifier = crate::notify::worker::Worker::start(Arc::clone(&state));
        Ok(RunningGateway {
            addr,
            state,
            shutdown,
            task,
            notifier,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The gateway URL to give an SDK: `http://HOST:PORT/gateway.do`.
    pub fn url(&self) -> String {
        format!("http://{}{GATEWAY_PATH}", self.addr)
    }

    /// What it serves from: store, apps, scenarios, faults, journal.
    pub(crate) fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period) and
    /// closes the store. When it returns the store folder is released (sled's lock on it
    /// too), so a new gateway can open the same folder at once; only a task that still
    /// holds the state after `STATE_RELEASE_WAIT` (logged) can keep it open longer.
    pub async fn shutdown(self) {
        let RunningGateway {
            state,
            shutdown,
            task,
            notifier,
            ..
        } = self;
        // The loop may already have ended; then there is nobody to tell.
        let _ = shutdown.send(());
        if let Err(e) = task.await {
            tracing::error!(error = %e, "gateway task failed");
        }
        // Attempts under way are cut short and not recorded: they are made again after
        // a restart.
        notifier.stop().await;
        // Connection tasks let go of the state a moment after their connection ends
        // (and a commit whose caller left finishes in its own task): wait, bounded, until
        // this handle holds the last reference.
        let deadline = tokio::time::Instant::now() + STATE_RELEASE_WAIT;
        while Arc::strong_count(&state) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let state = match Arc::try_unwrap(state) {
            Ok(state) => state,
            Err(_) => {
                tracing::error!(
                    "a task still holds the gateway's state at shutdown; the store closes \
                     when it ends"
                );
                return;
            }
        };
        // Dropping sled's handles flushes and joins its threads: blocking work.
        match tokio::task::spawn_blocking(move || state.close(STORE_RELEASE_WAIT)).await {
            Ok(true) => {}
            Ok(false) => tracing::error!("the store folder is still locked after shutdown"),
            Err(e) => tracing::error!(error = %e, "closing the store failed"),
        }
    }
}

/// Binds with a listen backlog of `max_connections` (the kernel caps it at
/// `net.core.somaxconn`), so clients past the cap wait to be accepted instead of timing
/// out at the default backlog.
fn listen(addr: SocketAddr, max_connections: usize) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As TcpListener::bind does: a restart can bind while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(u32::try_from(max_connections.max(1)).unwrap_or(u32::MAX))
}

/// What every connection shares.
struct Shared {
    state: Arc<State>,
    admin: Admin,
    /// Runs the CPU-bound part of gateway requests (one pool per process).
    cpu: Arc<CpuPool>,
    max_body_bytes: usize,
    /// Longest wait for a request's body once its headers are in.
    request_timeout: Duration,
}

/// The accept loop's bounds.
struct Limits {
    grace: Duration,
    /// Longest wait for a request's headers (also between requests on a kept-alive
    /// connection).
    request_timeout: Duration,
    /// One permit per open connection: at the cap an idle kept-alive connection is
    /// closed to make room, or the new client waits for one to end.
    connections: Arc<Semaphore>,
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    limits: Limits,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.request_timeout)
        // A client that sends a whole request and then shuts down its write side still
        // gets the answer.
        .half_close(true);
    let mut backoff = ACCEPT_BACKOFF_MIN;
    let mut failed_accepts: u64 = 0;
    let mut connections = Connections::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if failed_accepts > 0 {
                        tracing::info!(failed_accepts, "accepting connections again");
                        failed_accepts = 0;
                        backoff = ACCEPT_BACKOFF_MIN;
                    }
                    stream
                }
                Err(e) => {
                    // Typically out of file descriptors (EMFILE): one log line per streak
                    // of failures, and a growing pause instead of a hot loop.
                    if failed_accepts == 0 {
                        tracing::warn!(
                            error = %e,
                            "accept failed; pausing accepts until it succeeds again \
                             (raise the open-file limit or lower --max-connections)"
                        );
                    }
                    failed_accepts += 1;
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        _ = &mut shutdown => break,
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // At the cap, an idle kept-alive connection makes room for the new client;
        // without one, the new client waits for a connection to end.
        let permit = match Arc::clone(&limits.connections).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                connections.close_an_idle_one();
                tokio::select! {
                    permit = Arc::clone(&limits.connections).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    _ = &mut shutdown => break,
                }
            }
        };
        let activity = Arc::new(Activity::default());
        let service = {
            let shared = Arc::clone(&shared);
            let activity = Arc::clone(&activity);
            service_fn(move |request| {
                let in_flight = activity.begin();
                let shared = Arc::clone(&shared);
                async move {
                    let response = serve(request, shared).await;
                    drop(in_flight);
                    response
                }
            })
        };
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        connections.spawn(connection, activity, permit);
    }
    drop(listener);
    connections.shutdown(limits.grace).await;
    if let Err(e) = shared.state.flush().await {
        tracing::error!(error = %e, "flushing the store at shutdown failed");
    }
}

type Body = Full<Bytes>;

/// Why a request body could not be read.
enum BodyError {
    /// Over `max_body_bytes`.
    TooLarge,
    /// Not complete within `request_timeout` (a client that stalls).
    TimedOut,
    /// The connection failed.
    Broken,
}

/// Reads a whole body, bounded in size and in time.
async fn read_body(body: Incoming, shared: &Shared) -> Result<Bytes, BodyError> {
    let read = Limited::new(body, shared.max_body_bytes).collect();
    match tokio::time::timeout(shared.request_timeout, read).await {
        Err(_) => Err(BodyError::TimedOut),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Ok(Err(_)) => Err(BodyError::Broken),
    }
}

/// The hyper response for a [`Reply`]: its body bytes untouched.
fn respond(reply: Reply) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    if let Ok(value) = HeaderValue::from_str(&reply.content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The answer to any path but the gateway's and the admin API's: where the gateway is.
/// A browser opening `/` (it asks for HTML) is sent on to the console, the first thing
/// a person wants to see; other clients (SDKs, curl) keep the plain 404.
fn elsewhere(request: &Request<Incoming>) -> Reply {
    const NOT_HERE: &str = "Not Found: the gateway is at /gateway.do\n";
    let wants_html = request
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if request.uri().path() == "/" && request.method() == HttpMethod::GET && wants_html {
        let body = format!(
            "See Other: the console is at {CONSOLE_PATH}; the gateway is at {GATEWAY_PATH}\n"
        );
        return Reply::new(303, "text/plain;charset=utf-8", body.into_bytes())
            .with_header("location", CONSOLE_PATH);
    }
    Reply::text(404, NOT_HERE)
}

/// The `drop_connection` fault: hyper closes the connection when the service fails.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct DroppedByFault;

async fn serve(
    request: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Body>, DroppedByFault> {
    let path = request.uri().path();
    if path.starts_with(ADMIN_PREFIX) {
        let (parts, body) = request.into_parts();
        let body = match read_body(body, &shared).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return Ok(respond(admin::too_large(shared.max_body_bytes)))
            }
            Err(BodyError::TimedOut) => {
                return Ok(respond(admin::timed_out(shared.request_timeout)))
            }
            Err(BodyError::Broken) => {
                return Ok(respond(Reply::text(
                    400,
                    "could not read the request body\n",
                )))
            }
        };
        let authorization = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let request = AdminRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            authorization,
            body: &body,
            site: SiteHeaders {
                method: parts.method.as_str(),
                host: header(HOST).or_else(|| parts.uri.authority().map(|a| a.as_str())),
                origin: header(ORIGIN),
                content_type: header(CONTENT_TYPE),
                body_empty: body.is_empty(),
            },
        };
        return Ok(respond(shared.admin.handle(&shared.state, request).await));
    }
    // `uri().path()` is the path also for absolute-form targets
    // (`POST http://host/gateway.do?… HTTP/1.1`, as the official Python SDK sends).
    if path != GATEWAY_PATH {
        return Ok(respond(elsewhere(&request)));
    }
    Ok(inert(serve_gateway(request, &shared).await?))
}

/// Makes a gateway answer inert in a browser. The real gateway answers
/// `text/html;charset=…`, which SDKs see and this keeps, and its error answers echo
/// request parameters (`sub_msg`): without these headers a page that links to
/// `gateway.do?…<script>…` would run script on the origin that serves `/__admin/`.
fn inert(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A `gateway.do` request, from its body to the signed answer.
async fn serve_gateway(
    request: Request<Incoming>,
    shared: &Arc<Shared>,
) -> Result<Response<Body>, DroppedByFault> {
    let http_method = request.method().clone();
    if http_method != HttpMethod::GET && http_method != HttpMethod::POST {
        return Ok(respond(
            Reply::text(405, "gateway.do takes GET or POST\n").with_header("allow", "GET, POST"),
        ));
    }
    let query = request.uri().query().map(|q| q.as_bytes().to_vec());
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match read_body(request.into_body(), shared).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            let error = GatewayError::Explained(
                PublicError::InvalidParameter,
                format!("参数无效：请求体超过 {} 字节", shared.max_body_bytes),
            );
            return Ok(respond(gateway::reject(error, 413)));
        }
        Err(BodyError::TimedOut) => {
            let error = GatewayError::Explained(
                PublicError::InvalidParameter,
                format!(
                    "参数无效：请求体未在 {} 秒内收完",
                    shared.request_timeout.as_secs()
                ),
            );
            return Ok(respond(gateway::reject(error, 408)));
        }
        Err(BodyError::Broken) => {
            return Ok(respond(Reply::text(
                400,
                "could not read the request body\n",
            )))
        }
    };
    // Signature checks and RSA signing are CPU work of about a millisecond: they run on
    // the fixed CPU pool, so the accept loop and the other connections stay responsive
    // and no thread is created per request.
    let state = Arc::clone(&shared.state);
    let exchange = shared
        .cpu
        .run(move || {
            gateway::handle(
                &state,
                RawRequest {
                    query: query.as_deref(),
                    body: &body,
                    content_type: content_type.as_deref(),
                },
                http_method.as_str(),
            )
        })
        .await;
    let exchange = match exchange {
        Ok(exchange) => exchange,
        Err(e) => {
            // A bug, not the client's fault: still the gateway's own error shape.
            tracing::error!(error = %e, "request handler failed");
            let error = GatewayError::from(PublicError::GatewayUnavailable);
            return Ok(respond(gateway::reject(error, 200)));
        }
    };
    if let Some(delay) = exchange.delay {
        tokio::time::sleep(delay).await;
    }
    if exchange.drop_connection {
        return Err(DroppedByFault);
    }
    let mut reply = exchange.reply;
    if let Some(diagnosis) = &exchange.diagnosis {
        reply = reply.with_header(DIAGNOSIS_HEADER, diagnosis.header_value());
    }
    Ok(respond(reply))
}
