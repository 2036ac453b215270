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
//!
//! `http_floor PORT BODY_FILE --verify`: the verify floor. The same server laid out as
//! the gateway runs (a multi-thread runtime whose threads are batch-scheduled, the CPU
//! work on the crate's CPU pool) that also checks one RSA2 signature per request before
//! answering: a fixed signature over a fixed text the size of the benchmark's sign
//! content, made at start with the fixture platform key. Nothing else of the gateway
//! runs, so its rate is what one verification plus HTTP measure together on this
//! machine, where the cached bound only adds them up.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use alipay_mock::crypto::{self, SignType, SigningKey, VerifyingKey};
use alipay_mock::internals::{batch_io_thread, CpuPool};
use alipay_mock::keys;
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

/// The key the verify floor signs its fixed text with.
const PLATFORM_KEY: &str = include_str!("../fixtures/keys/alipay_private_key.pem");

/// The length of the sign content of the benchmark's requests (the document's example:
/// eight signed parameters, 302 bytes), so the digest costs what it costs there.
const SIGN_CONTENT_BYTES: usize = 302;

/// One signature check per request, on the CPU pool.
struct Check {
    pool: CpuPool,
    key: VerifyingKey,
    text: Vec<u8>,
    signature: String,
}

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (port, body_file, verify) = match args.as_slice() {
        [port, body_file] => (port, body_file, false),
        [port, body_file, flag] if flag == "--verify" => (port, body_file, true),
        _ => return Err("usage: http_floor PORT BODY_FILE [--verify]".into()),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port.parse::<u16>()?));
    let body = Bytes::from(std::fs::read(body_file)?);
    if !verify {
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(serve(addr, body, None));
    }
    let signing = SigningKey::new(keys::parse_private_key(PLATFORM_KEY)?);
    let text = vec![b'a'; SIGN_CONTENT_BYTES];
    let signature = crypto::sign(&signing, SignType::Rsa2, &text)?;
    let check = Check {
        pool: CpuPool::per_core()?,
        key: signing.verifying_key(),
        text,
        signature,
    };
    // As `alipay-mock serve` builds its runtime, with the accept loop on a worker thread
    // (batch-scheduled) as the gateway spawns its own, not on the thread that blocks on it.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(batch_io_thread)
        .build()?
        .block_on(async move {
            let check = Some(Arc::new(check));
            match tokio::spawn(
                async move { serve(addr, body, check).await.map_err(|e| e.to_string()) },
            )
            .await
            {
                Ok(result) => result.map_err(Failure::from),
                Err(e) => Err(e.into()),
            }
        })
}

async fn serve(addr: SocketAddr, body: Bytes, check: Option<Arc<Check>>) -> Result<(), Failure> {
    let listener = TcpListener::bind(addr).await?;
    println!(
        "http_floor listening on {addr}, answering {} bytes{}",
        body.len(),
        if check.is_some() {
            ", one signature check each"
        } else {
            ""
        }
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let body = body.clone();
        let check = check.clone();
        let service = service_fn(move |request| answer(request, body.clone(), check.clone()));
        tokio::spawn(async move {
            // A client going away mid-request is not the floor's concern.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads the request body whole (as the gateway must, to verify it), checks the fixed
/// signature when asked to, then answers.
async fn answer(
    request: Request<Incoming>,
    body: Bytes,
    check: Option<Arc<Check>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    // A broken body is answered all the same: the floor measures HTTP, not errors.
    let _ = request.into_body().collect().await;
    if let Some(check) = check {
        let job = Arc::clone(&check);
        let verified = check
            .pool
            .run(move || crypto::verify(&job.key, SignType::Rsa2, &job.text, &job.signature))
            .await;
        if verified != Ok(true) {
            eprintln!("http_floor: the fixed signature did not verify");
            std::process::exit(1);
        }
    }
    let mut response = Response::new(Full::new(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_VALUE));
    Ok(response)
}
