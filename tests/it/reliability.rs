//! What hostile clients and unsafe settings found, each pinned by a test that failed
//! before its fix: a stalled body, a client that half-closes, more clients than the
//! connection cap, a process out of file descriptors, an empty admin token, a listener
//! beyond loopback without a token, identity data kept in clear in the journal, and
//! record ids that are path segments.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;
use alipay_mock::server::StartError;
use alipay_mock::{Config, RunningGateway};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bound on any answer the server owes: a missing answer fails the test, a
/// slow machine does not.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

async fn start_with(config: Config) -> RunningGateway {
    RunningGateway::start(config).await.expect("gateway starts")
}

/// Reads until the server closes the connection (or the bound passes).
async fn read_all(stream: &mut TcpStream) -> String {
    read_until_closed(stream).await.0
}

/// What the server sent, and whether it closed the connection within the bound.
async fn read_until_closed(stream: &mut TcpStream) -> (String, bool) {
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(ANSWER_WITHIN, stream.read_to_end(&mut answer))
        .await
        .is_ok();
    (String::from_utf8_lossy(&answer).into_owned(), closed)
}

/// Sends `head` (request line, headers, part of the body) to a gateway whose request
/// timeout is one second, then stalls; returns what the gateway answered.
async fn stall_after(head: &[u8]) -> String {
    let gateway = start_with(Config {
        request_timeout: Duration::from_secs(1),
        ..Config::ephemeral()
    })
    .await;
    let mut stream = TcpStream::connect(gateway.addr()).await.unwrap();
    stream.write_all(head).await.unwrap();
    let (answer, closed) = read_until_closed(&mut stream).await;
    gateway.shutdown().await;
    assert!(closed, "the connection stayed open after: {answer}");
    answer
}

#[tokio::test]
async fn headers_that_stall_close_the_connection() {
    let answer = stall_after(b"POST /gateway.do HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le").await;
    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");
}

#[tokio::test]
async fn the_journal_keeps_no_more_than_its_byte_bound() {
    let gateway = start_with(Config {
        journal_max_bytes: 4096,
        ..Config::ephemeral()
    })
    .await;
    for _ in 0..10 {
        query(&gateway, DOC_BIZ_CONTENT).await;
    }
    let (_, journal) = admin(&gateway, "GET", "requests", None).await;
    let kept = journal["total"].as_u64().unwrap();
    assert!((1..10).contains(&kept), "{kept} of 10 kept in 4 KiB");
    gateway.shutdown().await;
}

#[tokio::test]
async fn identity_data_sent_to_an_unknown_method_is_masked_and_the_sign_content_stays_readable() {
    let gateway = start().await;
    Call::new("zhima.auth.info.authQuery")
        .param("biz_content", DOC_BIZ_CONTENT)
        .post(&gateway)
        .await;
    Call::authquery("1").post(&gateway).await;
    let (_, journal) = admin(&gateway, "GET", "requests", None).await;
    let text = journal.to_string();
    assert!(
        !text.contains("33021199003132432") && !text.contains("张三"),
        "{text}"
    );
    // The short biz_content `1` is masked whole inside its own pair only.
    let sign_content = journal["requests"][1]["signature"]["sign_content"]
        .as_str()
        .unwrap();
    assert!(
        sign_content.contains("app_id=2014072300007148"),
        "{sign_content}"
    );
    assert!(
        sign_content.contains("biz_content=[masked"),
        "{sign_content}"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_in_the_gateways_format_and_closed() {
    let answer = stall_after(
        b"POST /gateway.do HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 1000\r\n\r\nmethod=zhi",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains(r#""sub_code":"isv.invalid-parameter""#),
        "{answer}"
    );
}

#[tokio::test]
async fn an_admin_body_that_stalls_is_answered_408() {
    let answer = stall_after(
        b"PUT /__admin/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"seed\"",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_client_that_half_closes_after_a_complete_request_gets_the_answer() {
    let gateway = start().await;
    let mut stream = TcpStream::connect(gateway.addr()).await.unwrap();
    stream
        .write_all(b"GET /gateway.do?charset=utf-8 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let answer = read_all(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(answer.contains("isv.missing-method"), "{answer}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn at_the_connection_cap_a_new_client_waits_until_a_connection_closes() {
    let gateway = start_with(Config {
        max_connections: 2,
        ..Config::ephemeral()
    })
    .await;
    // Two clients that connect and say nothing hold both slots.
    let idle_one = TcpStream::connect(gateway.addr()).await.unwrap();
    let _idle_two = TcpStream::connect(gateway.addr()).await.unwrap();
    let mut waiting = TcpStream::connect(gateway.addr()).await.unwrap();
    waiting
        .write_all(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut first)).await;
    assert!(early.is_err(), "answered beyond the cap: {early:?}");
    drop(idle_one);
    let answer = read_all(&mut waiting).await;
    assert!(answer.contains("HTTP/1.1 200"), "{answer:?}");
    gateway.shutdown().await;
}

/// Regression (issue 22, item 6): with every slot held by idle kept-alive connections,
/// a new client waited for one of them to time out (30 s).
#[tokio::test]
async fn at_the_connection_cap_an_idle_kept_alive_connection_makes_room() {
    let gateway = start_with(Config {
        max_connections: 2,
        request_timeout: Duration::from_secs(120),
        ..Config::ephemeral()
    })
    .await;
    // Two clients that made one request each and keep their connection open.
    let mut kept = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(gateway.addr()).await.unwrap();
        stream
            .write_all(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 12];
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200");
        kept.push(stream);
    }
    let mut new = TcpStream::connect(gateway.addr()).await.unwrap();
    new.write_all(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = tokio::time::timeout(ANSWER_WITHIN, read_all(&mut new))
        .await
        .expect("the new client is answered while the idle ones stay connected");
    assert!(answer.contains("HTTP/1.1 200"), "{answer:?}");
    gateway.shutdown().await;
}

/// Runs `serve` with its stderr captured; `shell_prefix` runs before `exec` (ulimit).
fn spawn_serve(shell_prefix: &str, args: &str, env: &[(&str, &str)]) -> std::process::Child {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "{shell_prefix} exec '{BIN}' serve --ephemeral {args}"
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("ALIPAY_MOCK_ADMIN_TOKEN")
        .env("RUST_LOG", "alipay_mock=info");
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().expect("the binary starts")
}

/// Waits for the ready line and returns the listening address.
fn ready_addr(child: &mut std::process::Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    url.trim_start_matches("http://")
        .trim_end_matches("/gateway.do")
        .to_owned()
}

fn stop(mut child: std::process::Child) -> String {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    stderr
}

#[tokio::test]
async fn out_of_file_descriptors_the_server_logs_once_backs_off_and_recovers() {
    let mut child = spawn_serve("ulimit -n 48;", "--addr 127.0.0.1:0", &[]);
    let addr = ready_addr(&mut child);
    let mut held = Vec::new();
    for _ in 0..80 {
        if let Ok(stream) = TcpStream::connect(&addr).await {
            held.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(held);
    // Once descriptors are free again, a normal call is answered.
    let mut stream = match TcpStream::connect(&addr).await {
        Ok(stream) => stream,
        Err(e) => panic!("{e}: {}", stop(child)),
    };
    stream
        .write_all(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_all(&mut stream).await;
    let stderr = stop(child);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}\n{stderr}");
    let failures = stderr.matches("accept failed").count();
    assert!(
        (1..=2).contains(&failures),
        "{failures} accept-failure lines:\n{stderr}"
    );
}

#[tokio::test]
async fn an_empty_admin_token_is_refused_at_start() {
    let refused = RunningGateway::start(Config {
        admin_token: Some(String::new()),
        ..Config::ephemeral()
    })
    .await;
    assert!(matches!(refused, Err(StartError::EmptyAdminToken)));
    for (args, env) in [
        ("--addr 127.0.0.1:0 --admin-token ''", vec![]),
        ("--addr 127.0.0.1:0", vec![("ALIPAY_MOCK_ADMIN_TOKEN", "")]),
    ] {
        let output = spawn_serve("", args, &env)
            .wait_with_output()
            .expect("the binary exits");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args} {env:?} started");
        assert!(stderr.contains("admin token is empty"), "{stderr}");
    }
}

#[tokio::test]
async fn listening_beyond_loopback_without_a_token_warns_how_to_set_one() {
    let mut child = spawn_serve("", "--addr 0.0.0.0:0", &[]);
    let _ = ready_addr(&mut child);
    let stderr = stop(child);
    assert!(
        stderr.contains("without an admin token") && stderr.contains("ALIPAY_MOCK_ADMIN_TOKEN"),
        "{stderr}"
    );
    let mut quiet = spawn_serve("", "--addr 127.0.0.1:0", &[]);
    let _ = ready_addr(&mut quiet);
    assert!(!stop(quiet).contains("without an admin token"));
}

#[tokio::test]
async fn a_numeric_certificate_number_is_masked_in_the_journal() {
    let gateway = start().await;
    let biz = r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"张三\",\"certNo\":33021199003132432}","identity_type":"2","auth_category":"C2B"}"#;
    let node = query(&gateway, biz).await;
    assert_eq!(node["code"], "10000", "{node}");
    let (status, journal) = admin(&gateway, "GET", "requests?limit=1", None).await;
    assert_eq!(status, 200);
    let text = journal.to_string();
    assert!(
        !text.contains("33021199003132432") && !text.contains("张三"),
        "{text}"
    );
    assert!(text.contains("330**********2432"), "{text}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn record_ids_dot_and_dot_dot_are_refused() {
    let gateway = start().await;
    for id in [".", ".."] {
        let (status, body) = admin(
            &gateway,
            "POST",
            "identities",
            Some(json!({"id": id, "user_id": "2088102000009999"})),
        )
        .await;
        assert_eq!(status, 400, "{id}: {body}");
        let (status, body) = admin(
            &gateway,
            "POST",
            "apps",
            Some(json!({"app_id": id, "public_keys": {}})),
        )
        .await;
        assert_eq!(status, 400, "{id}: {body}");
    }
    gateway.shutdown().await;
}
