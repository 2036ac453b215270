//! What a gateway per test costs, measured in one process as a test suite would pay it
//! (`scripts/bench.sh` runs it; a benchmark, never a timed test). Loopback only.
//!
//! `gateway_starts [COUNT]` (default 100):
//! 1. COUNT sequential `MockGateway::builder().start()` → first signed answer to the API
//!    document's example → `shutdown()`; prints the p50, p90 and slowest start in ms;
//! 2. COUNT gateways started and kept alive at once, each answering one signed request;
//!    prints the resident memory they added (VmRSS after minus before) divided by COUNT.
//!
//! The last line is machine-readable:
//! `gateways COUNT P50_MS P90_MS MAX_MS RSS_PER_GATEWAY_KIB THREADS_PER_GATEWAY`.

use std::time::{Duration, Instant};

use alipay_mock::crypto::{self, SignType, SigningKey};
use alipay_mock::{keys, MockGateway};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const APP_ID: &str = "2014072300007148";
const APP_KEY: &str = include_str!("../fixtures/keys/app_private_key.pem");
/// The API document's request example.
const DOC_BIZ: &str = r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"张三\",\"certNo\":\"33021199003132432\"}","identity_type":"2","auth_category":"C2B"  }"#;
/// No phase waits longer than this for one answer.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let body = signed_body()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(count, &body))
}

async fn run(count: usize, body: &str) -> Result<(), Failure> {
    // One start first, so one-time costs (the allocator's arenas, lazily built tables)
    // fall on neither phase.
    let warm = MockGateway::builder().start().await?;
    first_answer(&warm, body).await?;
    warm.shutdown().await;

    let mut starts = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let gateway = MockGateway::builder().start().await?;
        first_answer(&gateway, body).await?;
        starts.push(started.elapsed());
        gateway.shutdown().await;
    }
    starts.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (p50, p90, max) = (
        ms(starts[count / 2]),
        ms(starts[count * 9 / 10]),
        ms(starts[count - 1]),
    );
    println!("start -> first signed answer over {count} sequential starts: p50 {p50:.2} ms, p90 {p90:.2} ms, slowest {max:.2} ms");

    let (rss_before, threads_before) = (status_kib("VmRSS:"), status_kib("Threads:"));
    let mut alive = Vec::with_capacity(count);
    for _ in 0..count {
        let gateway = MockGateway::builder().start().await?;
        first_answer(&gateway, body).await?;
        alive.push(gateway);
    }
    let (rss_after, threads_after) = (status_kib("VmRSS:"), status_kib("Threads:"));
    let per_gateway = rss_after.saturating_sub(rss_before) as f64 / count as f64;
    let threads = threads_after.saturating_sub(threads_before) as f64 / count as f64;
    println!(
        "{count} gateways alive: RSS {rss_before} -> {rss_after} KiB, {per_gateway:.0} KiB \
         ({:.2} MB) and {threads:.1} threads per gateway",
        per_gateway / 1024.0
    );
    for gateway in alive {
        gateway.shutdown().await;
    }
    println!("gateways {count} {p50:.2} {p90:.2} {max:.2} {per_gateway:.0} {threads:.1}");
    Ok(())
}

/// Sends the signed request and waits for an answer that is HTTP 200 and signed.
async fn first_answer(gateway: &MockGateway, body: &str) -> Result<(), Failure> {
    let addr = gateway.addr();
    let request = format!(
        "POST /gateway.do HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded;charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
    };
    let answer = tokio::time::timeout(ANSWER_LIMIT, exchange).await??;
    if answer.starts_with("HTTP/1.1 200") && answer.contains("\"sign\":\"") {
        Ok(())
    } else {
        Err(format!("not a signed answer: {answer}").into())
    }
}

/// A field of /proc/self/status as a number (`VmRSS:` in KiB, `Threads:`); 0 elsewhere.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// `yyyy-MM-dd HH:mm:ss` now in Beijing time (GMT+8), as SDKs send it.
fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    now.format(format).unwrap_or_default()
}

/// The document's example as a form body signed with the default app's key.
fn signed_body() -> Result<String, Failure> {
    let key = SigningKey::new(keys::parse_private_key(APP_KEY)?);
    let mut pairs: Vec<(&str, String)> = vec![
        ("app_id", APP_ID.into()),
        ("biz_content", DOC_BIZ.into()),
        ("charset", "utf-8".into()),
        ("format", "JSON".into()),
        ("method", "zhima.auth.info.authquery".into()),
        ("sign_type", "RSA2".into()),
        ("timestamp", timestamp()),
        ("version", "1.0".into()),
    ];
    let content: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sign = crypto::sign(&key, SignType::Rsa2, content.join("&").as_bytes())?;
    pairs.push(("sign", sign));
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        form.append_pair(k, v);
    }
    Ok(form.finish())
}
