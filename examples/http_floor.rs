//! The HTTP floor of `scripts/bench.sh`: the fastest a hyper 1 server on tokio answers
//! the benchmark's requests when it does nothing else. A current-thread runtime, one
//! connection task per client, each request's body read whole and a fixed answer sent.
//! The cached bound of a signed answer is `1 / (1/verify + 1/floor)`: every request
//! costs at least one RSA verification plus this (see BENCHMARKS.md).
//!
//! `http_floor PORT BODY_FILE`: listens on 127.0.0.1:PORT and answers every request with
//! the bytes of BODY_FILE (the script saves the gateway's cached answer there, so the
//! floor sends the same size) under the gateway's `Content-Type`. Runs until killed.
//! Loopback only.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

type Failure = Box<dyn std::error::Error>;

/// The gateway's `Content-Type` for a UTF-8 request.
const CONTENT_TYPE_VALUE: &str = "text/html;charset=utf-8";

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, body_file] = args.as_slice() else {
        return Err("usage: http_floor PORT BODY_FILE".into());
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port.parse::<u16>()?));
    let body = Bytes::from(std::fs::read(body_file)?);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve(addr, body))
}

async fn serve(addr: SocketAddr, body: Bytes) -> Result<(), Failure> {
    let listener = TcpListener::bind(addr).await?;
    println!(
        "http_floor listening on {addr}, answering {} bytes",
        body.len()
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let body = body.clone();
        let service = service_fn(move |request| answer(request, body.clone()));
        tokio::spawn(async move {
            // A client going away mid-request is not the floor's concern.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads the request body whole (as the gateway must, to verify it), then answers.
async fn answer(
    request: Request<Incoming>,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, Infallible> {
    // A broken body is answered all the same: the floor measures HTTP, not errors.
    let _ = request.into_body().collect().await;
    let mut response = Response::new(Full::new(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_VALUE));
    Ok(response)
}
