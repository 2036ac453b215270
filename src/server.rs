//! HTTP with hyper 1.x: the accept loop, one `service_fn`, bounded bodies and graceful
//! shutdown. The only module that knows hyper; everything it serves comes from
//! [`Gateway::handle`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method as HttpMethod, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::admin::{self, Admin};
use crate::config::Config;
use crate::control::{Faults, Journal, Scenarios};
use crate::error::{GatewayError, PublicError};
use crate::fixtures::{FixtureError, Fixtures};
use crate::gateway::{Gateway, GatewayResponse};
use crate::keyring::KeyRing;
use crate::keys::{self, KeyError};
use crate::protocol::params::RawRequest;
use crate::store::{Store, StoreError};

/// The one path the gateway answers, as on `openapi.alipay.com`.
pub const GATEWAY_PATH: &str = "/gateway.do";
/// A client that has not sent its headers within this time is disconnected.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored app {app_id} has an unusable key: {source}")]
    AppKey { app_id: String, source: KeyError },
    #[error("platform key: {0}")]
    PlatformKey(KeyError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("start-up task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A gateway serving on a socket until [`RunningGateway::shutdown`].
#[derive(Debug)]
pub struct RunningGateway {
    addr: SocketAddr,
    gateway: Arc<Gateway>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningGateway {
    /// Loads fixtures, opens (and if empty seeds) the store, parses every app's keys,
    /// binds and starts serving.
    pub async fn start(config: Config) -> Result<RunningGateway, StartError> {
        let setup = config.clone();
        // Opening sled and parsing keys is blocking work: keep it off the runtime.
        let gateway = tokio::task::spawn_blocking(move || build_gateway(&setup)).await??;
        let gateway = Arc::new(gateway);
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
        let (shutdown, shutdown_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            gateway: Arc::clone(&gateway),
            admin: Admin::new(config.admin_token.clone()),
            max_body_bytes: config.max_body_bytes,
        });
        let task = tokio::spawn(accept_loop(
            listener,
            shared,
            config.shutdown_grace,
            shutdown_rx,
        ));
        Ok(RunningGateway {
            addr,
            gateway,
            shutdown,
            task,
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

    /// What it serves from (store, apps).
    pub fn gateway(&self) -> &Arc<Gateway> {
        &self.gateway
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period) and
    /// flushes the store.
    pub async fn shutdown(self) {
        // The loop may already have ended; then there is nobody to tell.
        let _ = self.shutdown.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "gateway task failed");
        }
    }
}

fn build_gateway(config: &Config) -> Result<Gateway, StartError> {
    let fixtures = Fixtures::load(&config.fixtures)?;
    let store = Store::open(&config.store)?;
    if store.seed_if_empty(&fixtures)? {
        tracing::info!(digest = %fixtures.digest, "seeded an empty store from the fixtures");
    }
    let platform_key =
        keys::parse_private_key(&fixtures.platform_private_key).map_err(StartError::PlatformKey)?;
    let keyring = KeyRing::new(platform_key);
    for app in store.apps()? {
        let app_id = app.app_id.clone();
        keyring
            .insert(app)
            .map_err(|source| StartError::AppKey { app_id, source })?;
    }
    let hostile_key = keys::parse_private_key(HOSTILE_KEY).map_err(StartError::PlatformKey)?;
    let scenarios = Scenarios::default();
    scenarios.load(store.scenarios()?);
    let faults = Faults::default();
    faults.load(store.faults()?);
    Ok(Gateway {
        store,
        keyring,
        fixtures,
        scenarios,
        faults,
        journal: Journal::new(config.journal_max, config.journal_unmasked),
        hostile_key,
        timestamp_window: config.timestamp_window,
    })
}

/// The key of the `wrong_key` hostile fault: no client is configured to trust it.
const HOSTILE_KEY: &str = include_str!("../fixtures/keys/hostile_private_key.pem");

/// What every connection shares.
struct Shared {
    gateway: Arc<Gateway>,
    admin: Admin,
    max_body_bytes: usize,
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    grace: Duration,
    mut shutdown: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let shared = Arc::clone(&shared);
                    let service = service_fn(move |request| serve(request, Arc::clone(&shared)));
                    let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
    if let Err(e) = shared.gateway.store.flush().await {
        tracing::error!(error = %e, "flushing the store at shutdown failed");
    }
}

type Body = Full<Bytes>;

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    response
}

fn from_gateway(answer: GatewayResponse) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    if let Ok(value) = hyper::header::HeaderValue::from_str(&answer.content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
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
    if path.starts_with(admin::PREFIX) {
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, shared.max_body_bytes).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return Ok(json(admin::too_large(shared.max_body_bytes))),
        };
        return Ok(json(
            shared.admin.handle(&shared.gateway, &parts, &body).await,
        ));
    }
    // `uri().path()` is the path also for absolute-form targets
    // (`POST http://host/gateway.do?… HTTP/1.1`, as the official Python SDK sends).
    if path != GATEWAY_PATH {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            "Not Found: the gateway is at /gateway.do\n",
        ));
    }
    let http_method = request.method().clone();
    if http_method != HttpMethod::GET && http_method != HttpMethod::POST {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "gateway.do takes GET or POST\n",
        );
        response
            .headers_mut()
            .insert(ALLOW, hyper::header::HeaderValue::from_static("GET, POST"));
        return Ok(response);
    }
    let query = request.uri().query().map(|q| q.as_bytes().to_vec());
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let max_body_bytes = shared.max_body_bytes;
    let body = match Limited::new(request.into_body(), max_body_bytes)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            let error = GatewayError::Explained(
                PublicError::InvalidParameter,
                format!("参数无效：请求体超过 {max_body_bytes} 字节"),
            );
            return Ok(from_gateway(shared.gateway.reject(error, 413)));
        }
        Err(_) => {
            return Ok(plain(
                StatusCode::BAD_REQUEST,
                "could not read the request body\n",
            ))
        }
    };
    // Signature checks and RSA signing are CPU work of about a millisecond: run them on
    // the blocking pool so slow requests never stall the accept loop.
    let gateway = Arc::clone(&shared.gateway);
    let exchange = tokio::task::spawn_blocking(move || {
        gateway.handle(
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
            tracing::error!(error = %e, "request handler panicked");
            return Ok(plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"));
        }
    };
    if let Some(delay) = exchange.delay {
        tokio::time::sleep(delay).await;
    }
    if exchange.drop_connection {
        return Err(DroppedByFault);
    }
    Ok(from_gateway(exchange.response))
}

fn json(answer: admin::AdminResponse) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(answer.content_type),
    );
    for (name, value) in answer.headers {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
