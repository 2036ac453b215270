//! One delivery attempt: resolve and check the address, connect to it, POST the form
//! body, read a bounded answer, and judge it. Every step has a limit, so a handler that
//! hangs, resets, redirects or answers a gigabyte costs one failed attempt and nothing
//! more: the connection is dropped when the attempt ends.
//!
//! Delivered means HTTP 200 with the body exactly `success`: Alipay's documentation
//! says the handler must print "success" (no quotes), these 7 characters, with nothing
//! else on the page (no spaces, no HTML); any other answer makes it send again
//! (docs/protocol.md §9.4). Redirects are answers like any other: not followed.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::policy::{self, Policy, Target};
use super::record::{Notification, Verdict};

/// The answer that acknowledges a notification.
pub const SUCCESS: &[u8] = b"success";
/// How many bytes of an answer's body are kept in the attempt's record.
pub const RECORDED_BODY_BYTES: usize = 256;

/// The bounds of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest wait for resolving the host and connecting to it, together.
    pub connect_timeout: Duration,
    /// Longest wait from sending the request to the end of the answer.
    pub response_timeout: Duration,
    /// The most answer-body bytes read; a longer answer is a failed attempt.
    pub max_response_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(15),
            max_response_bytes: 64 * 1024,
        }
    }
}

/// What one attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The HTTP status, if the handler answered.
    pub status: Option<u16>,
    /// The first bytes of the body (lossy UTF-8), if it answered.
    pub body: Option<String>,
    /// Why there was no usable answer.
    pub error: Option<String>,
    /// How it ended.
    pub verdict: Verdict,
    /// From the start of the attempt to its end.
    pub latency: Duration,
}

/// An attempt that ended without an answer.
fn failure(started: Instant, error: String) -> Outcome {
    Outcome {
        status: None,
        body: None,
        error: Some(error),
        verdict: Verdict::Error,
        latency: started.elapsed(),
    }
}

/// Makes one attempt.
pub async fn attempt(policy: &Policy, limits: &Limits, notification: &Notification) -> Outcome {
    attempt_with(policy, limits, notification, policy::system_lookup).await
}

/// [`attempt`] with the resolver given (see [`Policy::resolve_with`]).
pub async fn attempt_with<L, F>(
    policy: &Policy,
    limits: &Limits,
    notification: &Notification,
    lookup: L,
) -> Outcome
where
    L: FnOnce(String, u16) -> F,
    F: Future<Output = std::io::Result<Vec<SocketAddr>>>,
{
    let started = Instant::now();
    let target = match Target::parse(&notification.notify_url) {
        Ok(target) => target,
        Err(e) => return failure(started, format!("notify_url: {e}")),
    };
    // One deadline for resolving and connecting together: a name whose DNS never
    // answers, or several addresses that each hang, cost one attempt of this length.
    let reach = async {
        let addrs = policy
            .resolve_with(&target, lookup)
            .await
            .map_err(|e| format!("notify_url: {e}"))?;
        connect(&addrs).await
    };
    let stream = match tokio::time::timeout(limits.connect_timeout, reach).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return failure(started, e),
        Err(_) => {
            return failure(
                started,
                format!(
                    "cannot resolve and connect to {} within {} s",
                    target.host,
                    limits.connect_timeout.as_secs_f64()
                ),
            )
        }
    };
    let content_type = format!(
        "application/x-www-form-urlencoded; charset={}",
        notification.charset
    );
    let request = Request::post(target.path_and_query.as_str())
        .header(HOST, target.authority.as_str())
        .header(CONTENT_TYPE, content_type)
        .header(CONTENT_LENGTH, notification.body.len())
        .header(
            USER_AGENT,
            concat!("alipay-mock/", env!("CARGO_PKG_VERSION")),
        )
        .header(CONNECTION, "close")
        .body(Full::new(Bytes::from(notification.body.clone())));
    let request = match request {
        Ok(request) => request,
        Err(e) => return failure(started, format!("cannot build the request: {e}")),
    };
    let exchange = async {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake failed: {e}"))?;
        // The connection is driven in its own task, aborted when the attempt ends (in
        // time or not), so nothing of it outlives the attempt.
        let _connection = AbortOnDrop(tokio::spawn(connection));
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("no answer: {e}"))?;
        let status = response.status().as_u16();
        let body = read_bounded(response.into_body(), limits.max_response_bytes).await;
        Ok::<_, String>((status, body))
    };
    match tokio::time::timeout(limits.response_timeout, exchange).await {
        Err(_) => failure(
            started,
            format!(
                "no complete answer within {} s",
                limits.response_timeout.as_secs_f64()
            ),
        ),
        Ok(Err(e)) => failure(started, e),
        Ok(Ok((status, (bytes, error)))) => {
            let delivered = status == 200 && error.is_none() && bytes == SUCCESS;
            let recorded = &bytes[..bytes.len().min(RECORDED_BODY_BYTES)];
            Outcome {
                status: Some(status),
                body: Some(String::from_utf8_lossy(recorded).into_owned()),
                error,
                verdict: if delivered {
                    Verdict::Delivered
                } else {
                    Verdict::Rejected
                },
                latency: started.elapsed(),
            }
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connects to the first address that accepts (the caller bounds the time).
async fn connect(addrs: &[SocketAddr]) -> Result<TcpStream, String> {
    let mut last = String::from("no address to connect to");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    Err(last)
}

/// Reads at most `limit` bytes of a body: the bytes, and why reading stopped early
/// (too long, or a broken body).
async fn read_bounded(mut body: hyper::body::Incoming, limit: usize) -> (Vec<u8>, Option<String>) {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => return (bytes, Some(format!("the answer's body broke off: {e}"))),
        };
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                let room = limit - bytes.len();
                bytes.extend_from_slice(&data[..room]);
                return (
                    bytes,
                    Some(format!("answer body over {limit} bytes: not read further")),
                );
            }
            bytes.extend_from_slice(&data);
        }
    }
    (bytes, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(url: &str) -> Notification {
        Notification::pending_for_test("n", 1, url, time::OffsetDateTime::UNIX_EPOCH)
    }

    /// Regression: resolution had no deadline of its own, so a name whose DNS never
    /// answers held one of the delivery slots for ever.
    #[tokio::test]
    async fn a_name_whose_resolution_never_ends_fails_the_attempt_at_the_connect_deadline() {
        let limits = Limits {
            connect_timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let n = notification("http://dns-hangs.example:8080/notify");
        let never = |_host: String, _port: u16| std::future::pending();

        let outcome = tokio::time::timeout(
            Duration::from_secs(30),
            attempt_with(&Policy::default(), &limits, &n, never),
        )
        .await
        .expect("the attempt held its delivery slot past every limit");

        assert_eq!(outcome.verdict, Verdict::Error);
        let error = outcome.error.unwrap_or_default();
        assert!(
            error.contains("dns-hangs.example") && error.contains("within 0.2 s"),
            "{error}"
        );
    }
}
