//! The notification half of `scripts/bench.sh` (issue 21, item 4): how many asynchronous
//! notifications a running gateway makes, signs and delivers to a local receiver that
//! answers `success`. The script pins the gateway to one core and reads the gateway's
//! CPU time around this run; the rate per second of gateway CPU is held against the RSA
//! sign bound of that core, since every notification costs one signature.
//!
//! `notify_rate GATEWAY_PORT COUNT [CONNECTIONS]`: starts a receiver on 127.0.0.1 (a bare
//! hyper 1 server on this process's current-thread runtime, answering every POST with
//! the 7 bytes `success`), makes COUNT notifications for the fixture app through
//! `POST /__admin/notifications` on CONNECTIONS (default 8) keep-alive connections at
//! once, waits until the receiver has answered COUNT of them and the gateway's metrics
//! count them delivered, and prints `notify COUNT SECONDS RECEIVED`: SECONDS from the first request
//! to the last delivery recorded. Loopback only; bounded in time (`LIMIT`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

type Failure = Box<dyn std::error::Error>;

/// The fixture app (its platform key signs the notifications).
const APP_ID: &str = "2014072300007148";
/// The longest the whole run may take.
const LIMIT: Duration = Duration::from_secs(120);

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (port, count, connections) = match args.as_slice() {
        [port, count] => (port.parse::<u16>()?, count.parse::<usize>()?, 8),
        [port, count, connections] => (
            port.parse::<u16>()?,
            count.parse::<usize>()?,
            connections.parse::<usize>()?.max(1),
        ),
        _ => return Err("usage: notify_rate GATEWAY_PORT COUNT [CONNECTIONS]".into()),
    };
    let gateway = SocketAddr::from(([127, 0, 0, 1], port));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            tokio::time::timeout(LIMIT, run(gateway, count, connections))
                .await
                .map_err(|_| format!("not done within {LIMIT:?}"))?
        })
}

async fn run(gateway: SocketAddr, count: usize, connections: usize) -> Result<(), Failure> {
    let received = Arc::new(AtomicUsize::new(0));
    let receiver = receive(Arc::clone(&received)).await?;
    let url = format!("http://{receiver}/alipay/notify");
    let mut admin = Admin::connect(gateway).await?;
    let delivered_before = admin.delivered().await?;
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..connections {
        let (next, url) = (Arc::clone(&next), url.clone());
        senders.push(tokio::spawn(async move {
            make(gateway, &url, count, &next).await
        }));
    }
    for sender in senders {
        sender.await.map_err(|e| e.to_string())??;
    }
    while received.load(Ordering::Relaxed) < count {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // The gateway counts a delivery once the attempt is recorded (and flushed).
    while admin.delivered().await? < delivered_before + count {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "notify {count} {seconds:.3} {}",
        received.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Makes notifications on one connection until `count` have been asked for in all.
async fn make(
    gateway: SocketAddr,
    url: &str,
    count: usize,
    next: &AtomicUsize,
) -> Result<(), String> {
    let mut admin = Admin::connect(gateway).await?;
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= count {
            return Ok(());
        }
        let body = format!(
            r#"{{"app_id":"{APP_ID}","notify_url":"{url}","params":{{"notify_type":"trade_status_sync","out_trade_no":"BENCH{n:08}","trade_no":"2026010122001400{n:08}","trade_status":"TRADE_SUCCESS","total_amount":"88.88"}}}}"#
        );
        let (status, answer) = admin
            .call("POST", "/__admin/notifications", Some(body))
            .await?;
        if status != 201 {
            return Err(format!(
                "making a notification answered {status}: {}",
                String::from_utf8_lossy(&answer)
            ));
        }
    }
}

/// One keep-alive connection to the admin API.
struct Admin {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Admin {
    async fn connect(gateway: SocketAddr) -> Result<Admin, String> {
        let stream = TcpStream::connect(gateway)
            .await
            .map_err(|e| format!("cannot connect to the gateway at {gateway}: {e}"))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(Admin {
            sender,
            host: gateway.to_string(),
        })
    }

    /// The gateway's count of notifications delivered (its metrics).
    async fn delivered(&mut self) -> Result<usize, String> {
        let (status, body) = self.call("GET", "/__admin/metrics", None).await?;
        if status != 200 {
            return Err(format!("the metrics answered {status}"));
        }
        String::from_utf8_lossy(&body)
            .lines()
            .find(|line| !line.starts_with('#') && line.contains("notifications_delivered_total"))
            .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
            .ok_or_else(|| "no notifications_delivered_total in the metrics".to_owned())
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, Bytes), String> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.host.as_str());
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
}

/// Starts the receiver; answers its address.
async fn receive(received: Arc<AtomicUsize>) -> Result<SocketAddr, Failure> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let received = Arc::clone(&received);
            let service = service_fn(move |request| answer(request, Arc::clone(&received)));
            tokio::spawn(async move {
                // A gateway closing its connection early is the gateway's concern.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// Reads the notification whole and acknowledges it.
async fn answer(
    request: Request<Incoming>,
    received: Arc<AtomicUsize>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.into_body().collect().await.is_ok() {
        received.fetch_add(1, Ordering::Relaxed);
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"success"))))
}
