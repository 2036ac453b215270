//! Load benchmark of a running gateway, loopback only, bounded in count and time.
//!
//! `cargo run --release --example bench -- [--requests N] [--concurrency C]`
//! starts its own gateway (release build, temporary store, journal bounded to 1,000),
//! then measures in one run and prints ratios, never pass/fail:
//! - throughput and latency of signed RSA2 authquery calls vs. unsigned cheap errors
//!   (`isv.invalid-app-id`, no RSA work): the cost of RSA in the request path;
//! - resident memory before and after N requests: the journal ring buffer keeps it flat.

use std::time::{Duration, Instant};

use alipay_mock::crypto::{self, SignType};
use alipay_mock::{keys, Config, RunningGateway};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

const APP_KEY: &str = include_str!("../fixtures/keys/app_private_key.pem");
const BIZ: &str = r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"张三\",\"certNo\":\"33021199003132432\"}","identity_type":"2","auth_category":"C2B"}"#;
/// Hard stop for each phase, whatever the request count.
const PHASE_LIMIT: Duration = Duration::from_secs(60);

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn encode(pairs: &[(&str, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A signed request body (everything in the form, as the Go SDK sends it).
fn signed_body(app_id: &str) -> String {
    let mut pairs: Vec<(&str, String)> = vec![
        ("app_id", app_id.into()),
        ("biz_content", BIZ.into()),
        ("charset", "utf-8".into()),
        ("method", "zhima.auth.info.authquery".into()),
        ("sign_type", "RSA2".into()),
        ("timestamp", "2026-11-28 12:00:00".into()),
        ("version", "1.0".into()),
    ];
    let content: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let key = keys::parse_private_key(APP_KEY).expect("fixture key");
    let sign = crypto::sign(&key, SignType::Rsa2, content.join("&").as_bytes()).expect("sign");
    pairs.push(("sign", sign));
    encode(&pairs)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Phase {
    done: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn rps(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64()
    }
    fn pct(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l.get(((l.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or_default()
    }
}

async fn phase(
    addr: std::net::SocketAddr,
    body: String,
    requests: usize,
    concurrency: usize,
) -> Phase {
    let started = Instant::now();
    let per_worker = requests.div_ceil(concurrency);
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let body = body.clone();
        workers.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            let mut latencies = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                if started.elapsed() > PHASE_LIMIT {
                    break;
                }
                let request = hyper::Request::post("/gateway.do")
                    .header("host", addr.to_string())
                    .header(
                        "content-type",
                        "application/x-www-form-urlencoded;charset=utf-8",
                    )
                    .body(Full::new(Bytes::from(body.clone())))
                    .expect("request");
                let t = Instant::now();
                let response = sender.send_request(request).await.expect("response");
                let bytes = response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                assert!(bytes.starts_with(b"{\"zhima_auth_info_authquery_response\""));
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.expect("worker"));
    }
    Phase {
        done: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

#[tokio::main]
async fn main() {
    let requests = arg("--requests", 20_000);
    let concurrency = arg("--concurrency", 8);
    let gateway = RunningGateway::start(Config {
        journal_max: 1_000,
        ..Config::ephemeral()
    })
    .await
    .expect("gateway starts");
    let addr = gateway.addr();
    // Warm-up, then the memory baseline.
    phase(addr, signed_body("2014072300007148"), 2_000, concurrency).await;
    let rss_before = rss_kib();
    let signed = phase(addr, signed_body("2014072300007148"), requests, concurrency).await;
    let rss_after_signed = rss_kib();
    let unsigned = phase(addr, signed_body("2099000000000000"), requests, concurrency).await;
    let rss_after = rss_kib();
    gateway.shutdown().await;

    println!("requests per phase: {requests}, concurrency {concurrency}, journal bound 1000");
    for (name, p) in [
        ("signed RSA2 success", &signed),
        ("unsigned invalid-app-id", &unsigned),
    ] {
        println!(
            "{name:26} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests in {:.2} s)",
            p.rps(),
            p.pct(0.50).as_secs_f64() * 1000.0,
            p.pct(0.99).as_secs_f64() * 1000.0,
            p.done,
            p.elapsed.as_secs_f64()
        );
    }
    println!(
        "ratio signed/unsigned throughput: {:.2}",
        signed.rps() / unsigned.rps()
    );
    println!(
        "RSS KiB: before {rss_before}, after signed phase {rss_after_signed}, after both {rss_after}; ratio after/before {:.2}",
        rss_after as f64 / rss_before.max(1) as f64
    );
}
