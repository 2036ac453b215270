//! Asynchronous notifications end to end: a real gateway POSTs signed notifications to
//! tiny local handlers, retries them on the virtual clock, keeps them across restarts,
//! refuses bad input, and survives hostile handlers.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{self, admin, spawn_serving, APP_ID, RSA2_ONLY_APP_ID};
use alipay_mock::config::NotifyConfig;
use alipay_mock::config::NotifyLimits as Limits;
use alipay_mock::{Config, RunningGateway};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ALIPAY_PUBLIC_KEY: &str = include_str!("../../fixtures/keys/alipay_public_key.pem");
const CERT_APP_ID: &str = "2021000000000003";

/// A gateway started as a separate process, reached by its address.
struct Addr(std::net::SocketAddr);

impl support::Listener for Addr {
    fn addr(&self) -> std::net::SocketAddr {
        self.0
    }
}

/// One notification a handler received.
#[derive(Debug, Clone)]
struct Received {
    content_type: String,
    body: Vec<u8>,
}

/// A notify handler on 127.0.0.1: records every POST and answers from a script
/// (then `success`).
struct Handler {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Handler {
    async fn start(script: &[(u16, &'static str)]) -> Handler {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/alipay/notify", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let (seen, script) = (Arc::clone(&got), answers);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, script) = (Arc::clone(&seen), Arc::clone(&script));
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let (seen, script) = (Arc::clone(&seen), Arc::clone(&script));
                        async move {
                            let content_type = request
                                .headers()
                                .get("content-type")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_owned();
                            let body = request.into_body().collect().await?.to_bytes().to_vec();
                            seen.lock().unwrap().push(Received { content_type, body });
                            let (status, text) = script
                                .lock()
                                .unwrap()
                                .pop_front()
                                .unwrap_or((200, "success"));
                            let mut response = Response::new(Full::new(Bytes::from(text)));
                            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, hyper::Error>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Handler { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// The form body's pairs, percent-decoded to bytes and decoded in `charset`.
fn decode_form(body: &[u8], charset: &'static encoding_rs::Encoding) -> Vec<(String, String)> {
    body.split(|b| *b == b'&')
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let decode = |bytes: &[u8]| {
                let plus: Vec<u8> = bytes
                    .iter()
                    .map(|b| if *b == b'+' { b' ' } else { *b })
                    .collect();
                let raw: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
                charset.decode_without_bom_handling(&raw).0.into_owned()
            };
            (decode(name), decode(value))
        })
        .collect()
}

/// Alipay's documented check, written here independently of the gateway: every
/// parameter but `sign` and `sign_type`, sorted, `k=v` joined by `&`, encoded in the
/// charset, SHA256withRSA against the platform public key.
fn verifies(pairs: &[(String, String)], charset: &'static encoding_rs::Encoding) -> bool {
    let sign = &pairs.iter().find(|(n, _)| n == "sign").unwrap().1;
    let mut rest: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(n, v)| n != "sign" && n != "sign_type" && !v.is_empty())
        .collect();
    rest.sort();
    let content = rest
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let bytes = charset.encode(&content).0;
    let signature = base64_decode(sign);
    let key = RsaPublicKey::from_public_key_pem(ALIPAY_PUBLIC_KEY).unwrap();
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(&bytes),
        &signature,
    )
    .is_ok()
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {pairs:?}"))
}

/// Short attempt limits, so hostile handlers cost the tests little time.
fn quick_config() -> Config {
    Config {
        notify: NotifyConfig {
            limits: Limits {
                connect_timeout: Duration::from_secs(2),
                response_timeout: Duration::from_millis(700),
                max_response_bytes: 16 * 1024,
            },
            ..NotifyConfig::default()
        },
        ..Config::ephemeral()
    }
}

async fn start() -> RunningGateway {
    RunningGateway::start(quick_config()).await.unwrap()
}

fn request(url: &str) -> Value {
    json!({
        "app_id": APP_ID,
        "notify_url": url,
        "params": {
            "notify_type": "trade_status_sync",
            "out_trade_no": "T1001",
            "trade_status": "TRADE_SUCCESS",
            "total_amount": "88.88"
        }
    })
}

/// Polls `GET /__admin/notifications/{id}` until `done` holds (5 s at most).
async fn wait_for(gateway: &RunningGateway, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, n) = admin(gateway, "GET", &format!("notifications/{id}"), None).await;
        assert_eq!(status, 200, "{n}");
        if done(&n) {
            return n;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "notification never got there: {n:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn attempts(n: &Value) -> usize {
    n["attempts"].as_array().map_or(0, Vec::len)
}

async fn create(gateway: &RunningGateway, body: Value) -> String {
    let (status, created) = admin(gateway, "POST", "notifications", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["state"], "pending");
    created["id"].as_str().unwrap().to_owned()
}

/// Makes a notification and waits until it is delivered.
async fn delivered(gateway: &RunningGateway, body: Value) -> Value {
    let id = create(gateway, body).await;
    wait_for(gateway, &id, |n| n["state"] == "delivered").await
}

async fn freeze(gateway: &RunningGateway, at: &str) {
    let (status, body) = admin(gateway, "PUT", "clock", Some(json!({"frozen_at": at}))).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_notification_is_posted_as_a_utf8_form_signed_with_the_platform_key_and_delivered_by_success(
) {
    let gateway = start().await;
    let handler = Handler::start(&[]).await;
    freeze(&gateway, "2026-03-01T10:00:00+08:00").await;

    let n = delivered(&gateway, request(&handler.url)).await;
    let id = n["id"].as_str().unwrap();

    let got = handler.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].content_type,
        "application/x-www-form-urlencoded; charset=utf-8"
    );
    assert_eq!(
        String::from_utf8_lossy(&got[0].body),
        n["body"].as_str().unwrap()
    );
    let pairs = decode_form(&got[0].body, encoding_rs::UTF_8);
    assert!(verifies(&pairs, encoding_rs::UTF_8), "{pairs:?}");
    assert_eq!(get(&pairs, "notify_id"), id);
    assert_eq!(get(&pairs, "notify_time"), "2026-03-01 10:00:00");
    assert_eq!(get(&pairs, "app_id"), APP_ID);
    assert_eq!(get(&pairs, "charset"), "utf-8");
    assert_eq!(get(&pairs, "version"), "1.0");
    assert_eq!(get(&pairs, "sign_type"), "RSA2");
    assert_eq!(get(&pairs, "trade_status"), "TRADE_SUCCESS");
    let attempt = &n["attempts"][0];
    assert_eq!(attempt["status"], 200);
    assert_eq!(attempt["body"], "success");
    assert_eq!(attempt["verdict"], "delivered");
    assert_eq!(attempt["at"], "2026-03-01T02:00:00Z");
    assert!(n["sign_content"]
        .as_str()
        .unwrap()
        .starts_with("app_id=2014072300007148&charset=utf-8&notify_id="));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_gbk_notification_is_percent_encoded_in_gbk_and_signed_over_its_gbk_bytes() {
    let gateway = start().await;
    let handler = Handler::start(&[]).await;
    let mut body = request(&handler.url);
    body["charset"] = json!("GBK");
    body["params"]["subject"] = json!("大乐透 2.1");

    delivered(&gateway, body).await;

    let got = handler.received();
    assert_eq!(
        got[0].content_type,
        "application/x-www-form-urlencoded; charset=GBK"
    );
    let raw = String::from_utf8(got[0].body.clone()).unwrap();
    assert!(raw.contains("subject=%B4%F3%C0%D6%CD%B8+2.1"), "{raw}");
    let pairs = decode_form(&got[0].body, encoding_rs::GBK);
    assert_eq!(get(&pairs, "subject"), "大乐透 2.1");
    assert!(verifies(&pairs, encoding_rs::GBK));
    assert!(!verifies(&pairs, encoding_rs::UTF_8));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_certificate_mode_app_is_signed_with_the_platform_certificates_key() {
    let gateway = start().await;
    let handler = Handler::start(&[]).await;
    let mut body = request(&handler.url);
    body["app_id"] = json!(CERT_APP_ID);

    let n = delivered(&gateway, body).await;

    assert_eq!(n["cert_mode"], true);
    let pairs = decode_form(&handler.received()[0].body, encoding_rs::UTF_8);
    // Not the key-mode platform key: the certificate's.
    assert!(!verifies(&pairs, encoding_rs::UTF_8));
    let cert_pem = include_str!("../../fixtures/certs/alipay_cert_public_key_rsa2.crt");
    let cert = <x509_cert::Certificate as x509_cert::der::DecodePem>::from_pem(cert_pem).unwrap();
    let spki =
        x509_cert::der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info).unwrap();
    let key = RsaPublicKey::from_public_key_der(&spki).unwrap();
    let content = n["sign_content"].as_str().unwrap();
    assert!(key
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(content.as_bytes()),
            &base64_decode(get(&pairs, "sign")),
        )
        .is_ok());
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_handler_that_fails_twice_sees_the_retries_at_the_scheduled_virtual_times_then_success_ends_them(
) {
    let gateway = start().await;
    let handler = Handler::start(&[(200, "fail"), (500, "oops")]).await;
    freeze(&gateway, "2026-03-01T00:00:00Z").await;
    let id = create(&gateway, request(&handler.url)).await;
    let n = wait_for(&gateway, &id, |n| attempts(n) == 1).await;
    assert_eq!(n["state"], "pending");
    assert_eq!(n["attempts"][0]["verdict"], "rejected");
    assert_eq!(n["attempts"][0]["body"], "fail");
    assert_eq!(n["next_attempt_at"], "2026-03-01T00:04:00Z");

    // A minute on: nothing is due yet.
    freeze(&gateway, "2026-03-01T00:03:59Z").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(handler.received().len(), 1);

    freeze(&gateway, "2026-03-01T00:04:00Z").await;
    let n = wait_for(&gateway, &id, |n| attempts(n) == 2).await;
    assert_eq!(n["attempts"][1]["at"], "2026-03-01T00:04:00Z");
    assert_eq!(n["attempts"][1]["status"], 500);
    assert_eq!(n["next_attempt_at"], "2026-03-01T00:14:00Z");

    freeze(&gateway, "2026-03-01T00:30:00Z").await;
    let n = wait_for(&gateway, &id, |n| n["state"] == "delivered").await;
    assert_eq!(attempts(&n), 3);
    assert_eq!(n["attempts"][2]["at"], "2026-03-01T00:30:00Z");
    let got = handler.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "every attempt sends the same bytes"
    );

    // Delivered: moving the clock on sends nothing more.
    freeze(&gateway, "2026-03-05T00:00:00Z").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(handler.received().len(), 3);
    gateway.shutdown().await;
}

#[tokio::test]
async fn eight_failed_sends_end_as_failed_and_retry_sends_one_more_now() {
    let gateway = start().await;
    let handler = Handler::start(&[(500, ""); 8]).await;
    freeze(&gateway, "2026-03-01T00:00:00Z").await;
    let id = create(&gateway, request(&handler.url)).await;
    wait_for(&gateway, &id, |n| attempts(n) == 1).await;

    // A day and a half on: every retry was due; each goes out in turn.
    freeze(&gateway, "2026-03-02T12:00:00Z").await;
    let n = wait_for(&gateway, &id, |n| n["state"] == "failed").await;
    let times: Vec<&str> = n["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["at"].as_str().unwrap())
        .collect();
    // The clock stood at one instant while the seven retries went out.
    assert_eq!(times.len(), 8);
    assert!(n.get("next_attempt_at").is_none());

    let (status, retried) =
        admin(&gateway, "POST", &format!("notifications/{id}/retry"), None).await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(retried["state"], "delivered");
    assert_eq!(retried["attempts"][8]["manual"], true);
    assert_eq!(handler.received().len(), 9);
    gateway.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field_and_stores_nothing() {
    let gateway = start().await;
    let url = "http://127.0.0.1:9/notify";
    let cases = [
        (json!({"notify_url": url}), "app_id"),
        (json!({"app_id": APP_ID}), "notify_url"),
        (json!({"app_id": "2099000000000000", "notify_url": url}), "app_id: no app"),
        (json!({"app_id": APP_ID, "notify_url": "ftp://127.0.0.1/x"}), "notify_url"),
        (json!({"app_id": APP_ID, "notify_url": "/notify"}), "notify_url"),
        (json!({"app_id": APP_ID, "notify_url": url, "params": ["a"]}), "params"),
        (json!({"app_id": APP_ID, "notify_url": url, "params": {"a": 1}}), "params.a"),
        (json!({"app_id": APP_ID, "notify_url": url, "params": {"sign": "x"}}), "params.sign"),
        (json!({"app_id": APP_ID, "notify_url": url, "sign_type": "MD5"}), "sign_type"),
        (json!({"app_id": RSA2_ONLY_APP_ID, "notify_url": url, "sign_type": "RSA"}), "sign_type"),
        (json!({"app_id": APP_ID, "notify_url": url, "charset": "latin1"}), "charset"),
        (json!({"app_id": APP_ID, "notify_url": url, "delay_seconds": -1}), "delay_seconds"),
        (json!({"app_id": APP_ID, "notify_url": url, "colour": "red"}), "colour"),
        (
            json!({"app_id": APP_ID, "notify_url": url, "charset": "gbk", "params": {"s": "😀"}}),
            "params.s",
        ),
        (
            json!({"app_id": APP_ID, "notify_url": "https://127.0.0.1:8443/notify"}),
            "notify_url: https is not supported: the gateway has no TLS client",
        ),
        (
            json!({"app_id": APP_ID, "notify_url": "http://8.8.8.8/notify"}),
            "notify_url: 8.8.8.8 resolves to 8.8.8.8, which is not a loopback or private-network address",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = admin(&gateway, "POST", "notifications", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.starts_with(field), "{body}: {message}");
    }
    let (_, list) = admin(&gateway, "GET", "notifications", None).await;
    assert_eq!(list["notifications"], json!([]));
    gateway.shutdown().await;
}

#[tokio::test]
async fn notify_allow_widens_where_notifications_may_go() {
    let gateway = RunningGateway::start(Config {
        notify: NotifyConfig {
            policy: alipay_mock::config::NotifyPolicy {
                extra: vec!["8.8.8.0/24".parse().unwrap()],
            },
            ..quick_config().notify
        },
        ..quick_config()
    })
    .await
    .unwrap();
    let mut body = request("http://8.8.8.8:9/notify");
    body["delay_seconds"] = json!(3600);
    create(&gateway, body).await;
    gateway.shutdown().await;
}

/// A hostile handler: what it does with each connection, and whether the gateway let
/// go of the connection afterwards.
struct Hostile {
    url: String,
    closed: Arc<AtomicUsize>,
}

#[derive(Clone, Copy)]
enum Behaviour {
    Hang,
    Reset,
    Gigabyte,
    Redirect,
}

async fn hostile(behaviour: Behaviour) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let closed = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&closed);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                match behaviour {
                    Behaviour::Reset => {
                        let _ = stream.read(&mut buf).await;
                        // SO_LINGER 0: closing sends a TCP reset (and does not block,
                        // the deprecation's concern, with a zero timeout).
                        #[allow(deprecated)]
                        let _ = stream.set_linger(Some(Duration::ZERO));
                        drop(stream);
                        counter.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    Behaviour::Hang => {
                        // Read the request, answer nothing, wait for the gateway to leave.
                        while let Ok(n) = stream.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                        }
                    }
                    Behaviour::Gigabyte => {
                        let _ = stream.read(&mut buf).await;
                        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\nsuccess";
                        let mut ok = stream.write_all(head.as_bytes()).await.is_ok();
                        let chunk = vec![b'x'; 65536];
                        let mut sent = 0usize;
                        while ok && sent < 1 << 30 {
                            ok = stream.write_all(&chunk).await.is_ok();
                            sent += chunk.len();
                        }
                    }
                    Behaviour::Redirect => {
                        let _ = stream.read(&mut buf).await;
                        let head = "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/\r\ncontent-length: 7\r\n\r\nsuccess";
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.read(&mut buf).await;
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Hostile { url, closed }
}

#[tokio::test]
async fn hostile_handlers_are_failed_attempts_retried_on_schedule_and_let_go() {
    let gateway = start().await;
    freeze(&gateway, "2026-03-01T00:00:00Z").await;
    for (behaviour, verdict, error) in [
        (Behaviour::Hang, "error", "no complete answer within"),
        (Behaviour::Reset, "error", ""),
        (
            Behaviour::Gigabyte,
            "rejected",
            "answer body over 16384 bytes",
        ),
        (Behaviour::Redirect, "rejected", ""),
    ] {
        let handler = hostile(behaviour).await;
        let id = create(&gateway, request(&handler.url)).await;
        let n = wait_for(&gateway, &id, |n| attempts(n) == 1).await;
        let attempt = &n["attempts"][0];
        assert_eq!(attempt["verdict"], verdict, "{attempt}");
        assert!(
            attempt["error"].as_str().unwrap_or("").contains(error),
            "{attempt}"
        );
        assert_eq!(n["state"], "pending");
        assert_eq!(n["next_attempt_at"], "2026-03-01T00:04:00Z");
        // The gateway let go of the connection.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while handler.closed.load(Ordering::SeqCst) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "connection kept open"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let answer = support::send(&gateway, "GET", "/__admin/metrics", None, Vec::new()).await;
    let metrics = String::from_utf8_lossy(&answer.body);
    assert!(
        metrics.contains("alipay_mock_notification_attempts_failed_total 4"),
        "{metrics}"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn delete_cancels_a_pending_notification_and_lists_filter_by_app_and_state() {
    let gateway = start().await;
    let handler = Handler::start(&[]).await;
    let mut later = request(&handler.url);
    later["delay_seconds"] = json!(600);
    let pending = create(&gateway, later).await;
    let delivered = create(&gateway, request(&handler.url)).await;
    wait_for(&gateway, &delivered, |n| n["state"] == "delivered").await;

    let (_, list) = admin(&gateway, "GET", "notifications?state=pending", None).await;
    let ids: Vec<&str> = list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [pending.as_str()]);
    let (_, other) = admin(
        &gateway,
        "GET",
        "notifications?app_id=2021000000000002",
        None,
    )
    .await;
    assert_eq!(other["notifications"], json!([]));
    let (status, _) = admin(&gateway, "GET", "notifications?state=lost", None).await;
    assert_eq!(status, 400);

    let (status, _) = admin(
        &gateway,
        "DELETE",
        &format!("notifications/{pending}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = admin(&gateway, "GET", &format!("notifications/{pending}"), None).await;
    assert_eq!(status, 404);
    freeze(&gateway, "2099-01-01T00:00:00Z").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        handler.received().len(),
        1,
        "a deleted notification is never sent"
    );

    let (status, _) = admin(&gateway, "POST", "reset?app_id=2021000000000002", None).await;
    assert_eq!(status, 200);
    let (_, list) = admin(&gateway, "GET", "notifications", None).await;
    assert_eq!(list["notifications"].as_array().unwrap().len(), 1);
    let (status, _) = admin(&gateway, "POST", &format!("reset?app_id={APP_ID}"), None).await;
    assert_eq!(status, 200);
    let (_, list) = admin(&gateway, "GET", "notifications", None).await;
    assert_eq!(list["notifications"], json!([]));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_pending_notification_survives_a_restart_and_is_sent_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let handler = Handler::start(&[]).await;
    let config = || Config {
        notify: quick_config().notify,
        ..Config::with_data_dir(dir.path())
    };
    let gateway = RunningGateway::start(config()).await.unwrap();
    let mut body = request(&handler.url);
    body["delay_seconds"] = json!(1);
    let id = create(&gateway, body).await;
    gateway.shutdown().await;
    assert!(handler.received().is_empty());

    let restarted = RunningGateway::start(config()).await.unwrap();
    let n = wait_for(&restarted, &id, |n| n["state"] == "delivered").await;
    assert_eq!(attempts(&n), 1);
    assert_eq!(handler.received().len(), 1);
    restarted.shutdown().await;
}

#[test]
fn a_notification_acknowledged_before_kill_9_is_sent_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let handler = runtime.block_on(Handler::start(&[]));
    let data = dir.path().to_str().unwrap().to_owned();
    let serve = || spawn_serving(&["--data", &data]);
    let (mut child, addr) = serve();
    let id = runtime.block_on(async {
        let target = Addr(addr.parse().unwrap());
        let mut body = request(&handler.url);
        body["delay_seconds"] = json!(2);
        let (status, created) = admin(&target, "POST", "notifications", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    });
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert!(handler.received().is_empty());

    let (mut child, addr) = serve();
    runtime.block_on(async {
        let target = Addr(addr.parse().unwrap());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (_, n) = admin(&target, "GET", &format!("notifications/{id}"), None).await;
            if n["state"] == "delivered" {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{n:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert_eq!(handler.received().len(), 1);
    child.0.kill().unwrap();
    child.0.wait().unwrap();
}

#[tokio::test]
async fn only_exactly_success_delivers_not_success_with_a_newline_nor_in_capitals() {
    let gateway = start().await;
    let handler = Handler::start(&[(200, "success\n"), (200, "SUCCESS"), (201, "success")]).await;
    freeze(&gateway, "2026-03-01T00:00:00Z").await;
    let id = create(&gateway, request(&handler.url)).await;
    wait_for(&gateway, &id, |n| attempts(n) == 1).await;
    for expected in [2, 3, 4] {
        let (status, n) = admin(&gateway, "POST", &format!("notifications/{id}/retry"), None).await;
        assert_eq!(status, 200, "{n}");
        assert_eq!(attempts(&n), expected);
    }
    let n = wait_for(&gateway, &id, |n| n["state"] == "delivered").await;
    let verdicts: Vec<&str> = n["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["rejected", "rejected", "rejected", "delivered"]);
    gateway.shutdown().await;
}

#[tokio::test]
async fn mock_gateway_sends_and_shows_notifications_with_typed_calls() {
    use alipay_mock::{NotificationFilter, NotificationRequest, NotificationState};
    let gateway = alipay_mock::MockGateway::builder().start().await.unwrap();
    let handler = Handler::start(&[(500, "busy")]).await;
    let sent = gateway
        .send_notification(&NotificationRequest {
            app_id: APP_ID.into(),
            notify_url: handler.url.clone(),
            params: [("out_trade_no".to_owned(), "T7".to_owned())].into(),
            ..NotificationRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.state, NotificationState::Pending);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while gateway
        .notification(&sent.id)
        .await
        .unwrap()
        .attempts
        .is_empty()
    {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let retried = gateway.retry_notification(&sent.id).await.unwrap();
    assert_eq!(retried.state, NotificationState::Delivered);
    let delivered = gateway
        .notifications(&NotificationFilter {
            state: Some(NotificationState::Delivered),
            ..NotificationFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(delivered.len(), 1);
    gateway.delete_notification(&sent.id).await.unwrap();
    let missing = gateway.notification(&sent.id).await.unwrap_err();
    assert!(
        matches!(missing, alipay_mock::embed::ControlError::NotFound(_)),
        "{missing:?}"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_http_client_sends_shows_retries_lists_and_deletes_notifications() {
    use alipay_mock::client::Client;
    use alipay_mock::{NotificationFilter, NotificationRequest, NotificationState};
    let gateway = start().await;
    let handler = Handler::start(&[(503, "later")]).await;
    let client = Client::new(&gateway.url()).unwrap();
    let sent = client
        .send_notification(&NotificationRequest {
            app_id: APP_ID.into(),
            notify_url: handler.url.clone(),
            params: [("trade_status".to_owned(), "TRADE_SUCCESS".to_owned())].into(),
            ..NotificationRequest::default()
        })
        .await
        .unwrap();
    let first = wait_for(&gateway, &sent.id, |n| attempts(n) == 1).await;
    assert_eq!(first["attempts"][0]["status"], 503);
    let retried = client.retry_notification(&sent.id).await.unwrap();
    assert_eq!(retried.state, NotificationState::Delivered);
    assert_eq!(client.notification(&sent.id).await.unwrap(), retried);
    let pending = client
        .notifications(&NotificationFilter {
            state: Some(NotificationState::Pending),
            ..NotificationFilter::default()
        })
        .await
        .unwrap();
    assert!(pending.is_empty());
    client.delete_notification(&sent.id).await.unwrap();
    let err = client.notification(&sent.id).await.unwrap_err();
    assert!(err.to_string().starts_with("HTTP 404"), "{err}");
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_sends_a_notification_from_flags_and_lists_it() {
    let gateway = start().await;
    let handler = Handler::start(&[]).await;
    let url = gateway.url();
    let hook = handler.url.clone();
    let run = move |args: Vec<String>| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_alipay-mock"))
            .args(["admin", "--url", &url])
            .args(&args)
            .env_remove("ALIPAY_MOCK_URL")
            .env_remove("ALIPAY_MOCK_ADMIN_TOKEN")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let send = run.clone();
    let sent = tokio::task::spawn_blocking(move || {
        send(
            [
                "notifications",
                "send",
                "--app-id",
                APP_ID,
                "--notify-url",
                &hook,
                "--param",
                "out_trade_no=T9",
                "--charset",
                "gbk",
            ]
            .map(str::to_owned)
            .to_vec(),
        )
    })
    .await
    .unwrap();
    let id = sent["id"].as_str().unwrap().to_owned();
    wait_for(&gateway, &id, |n| n["state"] == "delivered").await;
    let list = tokio::task::spawn_blocking(move || {
        run(["notifications", "list", "--state", "delivered"]
            .map(str::to_owned)
            .to_vec())
    })
    .await
    .unwrap();
    assert_eq!(list["notifications"][0]["id"], id.as_str());
    let got = handler.received();
    assert_eq!(
        got[0].content_type,
        "application/x-www-form-urlencoded; charset=gbk"
    );
    gateway.shutdown().await;
}

/// A defined method whose default rule asks for a notification.
fn trade_query_with_notify() -> Value {
    json!({
      "method": "alipay.trade.query",
      "rules": [
        {"answer": {"trade_status": "TRADE_SUCCESS", "out_trade_no": "{{biz.out_trade_no}}"},
         "notify": {"params": {"notify_type": "trade_status_sync",
                               "out_trade_no": "{{biz.out_trade_no}}",
                               "trade_status": "TRADE_SUCCESS", "subject": "大乐透"},
                    "delay_seconds": 60}}
      ]
    })
}

#[tokio::test]
async fn a_call_of_a_defined_method_with_notify_url_gets_its_rules_notification_delivered() {
    let gateway = start().await;
    let handler = Handler::start(&[]).await;
    let (status, body) = admin(
        &gateway,
        "PUT",
        "methods/alipay.trade.query",
        Some(trade_query_with_notify()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    freeze(&gateway, "2026-03-01T00:00:00Z").await;

    let answer = support::Call::new("alipay.trade.query")
        .param("biz_content", r#"{"out_trade_no":"T3003"}"#)
        .param("notify_url", &handler.url)
        .charset("GBK")
        .post(&gateway)
        .await;
    assert_eq!(
        answer.node("GBK", "alipay_trade_query_response")["code"],
        "10000"
    );

    // Queued off the request path, due 60 s later on the gateway's clock.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let id = loop {
        let (_, list) = admin(&gateway, "GET", "notifications", None).await;
        if let Some(n) = list["notifications"].as_array().and_then(|l| l.first()) {
            assert_eq!(n["source"], "rule");
            assert_eq!(n["next_attempt_at"], "2026-03-01T00:01:00Z");
            break n["id"].as_str().unwrap().to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notification made"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(handler.received().is_empty());
    freeze(&gateway, "2026-03-01T00:01:00Z").await;
    wait_for(&gateway, &id, |n| n["state"] == "delivered").await;

    let got = handler.received();
    assert_eq!(
        got[0].content_type,
        "application/x-www-form-urlencoded; charset=GBK"
    );
    let pairs = decode_form(&got[0].body, encoding_rs::GBK);
    assert!(verifies(&pairs, encoding_rs::GBK));
    assert_eq!(get(&pairs, "out_trade_no"), "T3003");
    assert_eq!(get(&pairs, "subject"), "大乐透");
    assert_eq!(get(&pairs, "notify_time"), "2026-03-01 08:01:00");
    assert_eq!(get(&pairs, "app_id"), APP_ID);
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_refused_notify_url_on_a_call_is_logged_and_the_call_answers_as_usual() {
    let gateway = start().await;
    admin(
        &gateway,
        "PUT",
        "methods/alipay.trade.query",
        Some(trade_query_with_notify()),
    )
    .await;
    let answer = support::Call::new("alipay.trade.query")
        .param("biz_content", r#"{"out_trade_no":"T3004"}"#)
        .param("notify_url", "http://8.8.8.8/notify")
        .post(&gateway)
        .await;
    assert_eq!(
        answer.node("utf-8", "alipay_trade_query_response")["code"],
        "10000"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, list) = admin(&gateway, "GET", "notifications", None).await;
    assert_eq!(list["notifications"], json!([]));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_full_queue_refuses_a_new_notification_with_503_and_stores_nothing() {
    let gateway = RunningGateway::start(Config {
        notify: NotifyConfig {
            max_pending: 1,
            ..quick_config().notify
        },
        ..quick_config()
    })
    .await
    .unwrap();
    let mut later = request("http://127.0.0.1:9/notify");
    later["delay_seconds"] = json!(3600);
    create(&gateway, later.clone()).await;
    let (status, answer) = admin(&gateway, "POST", "notifications", Some(later)).await;
    assert_eq!(status, 503, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("1 notifications are pending"));
    let (_, list) = admin(&gateway, "GET", "notifications", None).await;
    assert_eq!(list["notifications"].as_array().unwrap().len(), 1);
    gateway.shutdown().await;
}
