//! HTTP with hyper 1.x: the accept loop, one `service_fn`, bounded bodies and graceful
//! shutdown. The only module that knows hyper: it reads a request into plain values and
//! hands them to [`gateway::handle`] or [`Admin::handle`], and writes the [`Reply`] back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method as HttpMethod, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::admin::{self, Admin, AdminRequest};
use crate::config::{Config, ADMIN_PREFIX, GATEWAY_PATH};
use crate::error::{GatewayError, PublicError};
use crate::gateway;
use crate::protocol::params::RawRequest;
use crate::reply::Reply;
use crate::state::{OpenError, State};

/// A client that has not sent its headers within this time is disconnected.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

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
}

/// A gateway serving on a socket until [`RunningGateway::shutdown`].
#[derive(Debug)]
pub struct RunningGateway {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningGateway {
    /// Loads fixtures, opens (and if empty seeds) the store, parses every app's keys,
    /// binds and starts serving.
    pub async fn start(config: Config) -> Result<RunningGateway, StartError> {
        let setup = config.clone();
        // Opening sled and parsing keys is blocking work: keep it off the runtime.
        let state = tokio::task::spawn_blocking(move || State::open(&setup)).await??;
        let state = Arc::new(state);
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
            state: Arc::clone(&state),
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
            state,
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

    /// What it serves from: store, apps, scenarios, faults, journal.
    pub fn state(&self) -> &Arc<State> {
        &self.state
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

/// What every connection shares.
struct Shared {
    state: Arc<State>,
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
    if let Err(e) = shared.state.flush().await {
        tracing::error!(error = %e, "flushing the store at shutdown failed");
    }
}

type Body = Full<Bytes>;

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
        let body = match Limited::new(body, shared.max_body_bytes).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return Ok(respond(admin::too_large(shared.max_body_bytes))),
        };
        let authorization = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let request = AdminRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            authorization,
            body: &body,
        };
        return Ok(respond(shared.admin.handle(&shared.state, request).await));
    }
    // `uri().path()` is the path also for absolute-form targets
    // (`POST http://host/gateway.do?… HTTP/1.1`, as the official Python SDK sends).
    if path != GATEWAY_PATH {
        return Ok(respond(Reply::text(
            404,
            "Not Found: the gateway is at /gateway.do\n",
        )));
    }
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
            return Ok(respond(gateway::reject(error, 413)));
        }
        Err(_) => {
            return Ok(respond(Reply::text(
                400,
                "could not read the request body\n",
            )))
        }
    };
    // Signature checks and RSA signing are CPU work of about a millisecond: run them on
    // the blocking pool so slow requests never stall the accept loop.
    let state = Arc::clone(&shared.state);
    let exchange = tokio::task::spawn_blocking(move || {
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
            tracing::error!(error = %e, "request handler panicked");
            return Ok(respond(Reply::text(500, "internal error\n")));
        }
    };
    if let Some(delay) = exchange.delay {
        tokio::time::sleep(delay).await;
    }
    if exchange.drop_connection {
        return Err(DroppedByFault);
    }
    Ok(respond(exchange.reply))
}
