//! A hostile web page cannot use the gateway's origin (issue 22, item 3): gateway answers
//! cannot run script in a browser, and the admin API refuses requests another site's page
//! could send (a foreign Origin, a rebound Host, a write that is not JSON).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;
use alipay_mock::{Config, RunningGateway};
use serde_json::json;

const SCENARIO: &str = r#"{"outcome": {"error": "SYSTEM_ERROR"}}"#;

/// Sends a raw HTTP/1.1 request; returns the status and the whole answer.
async fn raw(gateway: &RunningGateway, request: String) -> (String, String) {
    let mut stream = TcpStream::connect(gateway.addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, answer)
}

async fn scenario_count(gateway: &RunningGateway) -> usize {
    admin(gateway, "GET", "scenarios", None)
        .await
        .1
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_gateway_answer_echoing_script_keeps_text_html_and_cannot_run_it() {
    let gateway = start().await;
    let answer = send_with_headers(
        &gateway,
        "GET",
        "/gateway.do?app_id=x&method=m&biz_content=%3Cscript%3Ealert(1)%3C%2Fscript%3E&sign=AAAA",
        &[],
        Vec::new(),
    )
    .await;
    assert!(
        answer.content_type.starts_with("text/html;charset="),
        "{}",
        answer.content_type
    );
    assert_eq!(
        answer.headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_refuses_a_foreign_origin_and_takes_its_own() {
    let gateway = start().await;
    let body = SCENARIO.as_bytes().to_vec();
    let json_type = ("content-type", "application/json".to_owned());
    for origin in ["http://evil.example", "null"] {
        let answer = send_with_headers(
            &gateway,
            "POST",
            "/__admin/scenarios",
            &[json_type.clone(), ("origin", origin.to_owned())],
            body.clone(),
        )
        .await;
        assert_eq!(answer.status, 403, "{origin}");
    }
    assert_eq!(scenario_count(&gateway).await, 0);
    let own = send_with_headers(
        &gateway,
        "POST",
        "/__admin/scenarios",
        &[json_type, ("origin", format!("http://{}", gateway.addr()))],
        body,
    )
    .await;
    assert_eq!(own.status, 201, "the console's own calls work");
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_admin_write_that_is_not_json_is_refused() {
    let gateway = start().await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let answer = send_with_headers(
            &gateway,
            "POST",
            "/__admin/scenarios",
            &[("content-type", content_type.to_owned())],
            SCENARIO.as_bytes().to_vec(),
        )
        .await;
        assert_eq!(answer.status, 415, "{content_type}");
    }
    assert_eq!(scenario_count(&gateway).await, 0);
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_rebound_host_is_refused_and_allow_host_adds_a_name() {
    let gateway = RunningGateway::start(Config {
        allow_hosts: vec!["alipay-mock".into()],
        ..Config::ephemeral()
    })
    .await
    .unwrap();
    let port = gateway.addr().port();
    let get = |host: String| {
        format!("GET /__admin/scenarios HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    };
    let (status, _) = raw(&gateway, get(format!("attacker.example:{port}"))).await;
    assert_eq!(status, "421");
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("alipay-mock:{port}"),
    ] {
        let (status, answer) = raw(&gateway, get(host.clone())).await;
        assert_eq!(status, "200", "{host}: {answer}");
    }
    // Non-browser clients (the CLI, SDK helpers) work as before.
    assert_eq!(
        admin(
            &gateway,
            "POST",
            "scenarios",
            Some(json!({"outcome": {"error": "SYSTEM_ERROR"}}))
        )
        .await
        .0,
        201
    );
    gateway.shutdown().await;
}
