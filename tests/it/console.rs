//! The console's server side: its static assets load without the admin token (they hold
//! no data) with no-store and a same-origin CSP, and the two read-only endpoints it
//! relies on (`cases`, `apps/{app_id}/test-key`) answer as documented; a newcomer finds it
//! (the lines after the ready line, `/` in a browser, `--help`).

use crate::support::*;

async fn start_with_token(token: &str) -> alipay_mock::RunningGateway {
    let mut config = alipay_mock::Config::ephemeral();
    config.admin_token = Some(token.into());
    alipay_mock::RunningGateway::start(config)
        .await
        .expect("gateway starts")
}

#[tokio::test]
async fn the_console_page_loads_without_the_token_but_its_data_needs_it() {
    let gateway = start_with_token("s3cret").await;

    let page = send(&gateway, "GET", "/__admin/ui/", None, Vec::new()).await;
    let script = send(&gateway, "GET", "/__admin/ui/tryit.js", None, Vec::new()).await;
    let (apps, _) = admin(&gateway, "GET", "apps", None).await;

    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.text("utf-8").contains("控制台"));
    assert_eq!(page.headers["cache-control"], "no-store");
    let csp = page.headers["content-security-policy"]
        .to_str()
        .unwrap_or_default();
    assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"));
    assert_eq!(script.status, 200);
    assert!(script.content_type.starts_with("text/javascript"));
    assert_eq!(apps, 401);
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_bare_console_path_redirects_and_unknown_assets_are_404() {
    let gateway = start().await;

    let bare = send(&gateway, "GET", "/__admin/ui", None, Vec::new()).await;
    let missing = send(&gateway, "GET", "/__admin/ui/nope.js", None, Vec::new()).await;

    assert_eq!(bare.status, 308);
    assert_eq!(bare.headers["location"], "/__admin/ui/");
    assert_eq!(missing.status, 404);
    gateway.shutdown().await;
}

#[tokio::test]
async fn test_key_returns_the_fixture_key_only_for_apps_that_verify_with_it() {
    let gateway = start().await;

    let fixture_app = send(
        &gateway,
        "GET",
        "/__admin/apps/2014072300007148/test-key",
        None,
        Vec::new(),
    )
    .await;
    let (other, _) = admin(
        &gateway,
        "POST",
        "apps",
        Some(serde_json::json!({
            "app_id": "2021000000000999",
            "public_keys": {"RSA2": ALIPAY_PUBLIC_KEY}
        })),
    )
    .await;
    let (foreign, _) = admin(&gateway, "GET", "apps/2021000000000999/test-key", None).await;
    let (unknown, _) = admin(&gateway, "GET", "apps/nope/test-key", None).await;

    assert_eq!(fixture_app.status, 200);
    assert_eq!(fixture_app.text("utf-8"), APP_PRIVATE_KEY);
    assert_eq!((other, foreign, unknown), (201, 404, 404));
    gateway.shutdown().await;
}

#[tokio::test]
async fn cases_lists_the_catalogue() {
    let gateway = start().await;

    let (status, cases) = admin(&gateway, "GET", "cases", None).await;

    assert_eq!(status, 200);
    let first = &cases[0];
    assert_eq!(first["name"], "authorized_cert");
    assert_eq!(first["expect"]["code"], "10000");
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_browser_opening_the_root_is_sent_to_the_console() {
    let gateway = start().await;
    let accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    let answer = send_with_headers(
        &gateway,
        "GET",
        "/",
        &[("accept", accept.to_owned())],
        Vec::new(),
    )
    .await;

    assert_eq!(answer.status, 303);
    assert_eq!(answer.headers["location"], "/__admin/ui/");
    assert!(
        answer.text("utf-8").contains("/gateway.do"),
        "{}",
        answer.text("utf-8")
    );
    let console = send(&gateway, "GET", "/__admin/ui/", None, Vec::new()).await;
    assert_eq!(console.status, 200);
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_client_that_is_not_a_browser_is_still_told_where_the_gateway_is() {
    let gateway = start().await;
    for (target, accept) in [
        ("/", None),
        ("/", Some("application/json")),
        ("/gateway", Some("text/html")),
    ] {
        let headers: Vec<(&str, String)> = accept
            .map(|a| vec![("accept", a.to_owned())])
            .unwrap_or_default();

        let answer = send_with_headers(&gateway, "GET", target, &headers, Vec::new()).await;

        assert_eq!(answer.status, 404, "{target} {accept:?}");
        assert_eq!(
            answer.text("utf-8"),
            "Not Found: the gateway is at /gateway.do\n"
        );
    }
    gateway.shutdown().await;
}

#[test]
fn serve_prints_the_ready_line_then_the_console_and_admin_api_urls() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(BIN)
        .args(["serve", "--ephemeral", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().expect("a line").expect("text");
    let (ready, console, admin) = (next(), next(), next());
    let _ = child.kill();
    let _ = child.wait();

    // The ready line's exact text: scripts and tools wait for it.
    let base = ready
        .strip_prefix("alipay-mock listening on ")
        .and_then(|url| url.strip_suffix("/gateway.do"))
        .unwrap_or_else(|| panic!("not the ready line: {ready:?}"));
    assert!(base.starts_with("http://127.0.0.1:"), "{ready}");
    assert!(!base.ends_with(":0"), "the real port: {ready}");
    assert_eq!(console, format!("  console:   {base}/__admin/ui/"));
    assert!(
        admin.starts_with(&format!("  admin API: {base}/__admin/ ")),
        "{admin}"
    );
}

#[test]
fn help_names_the_console() {
    let output = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        help.contains("web console") && help.contains("/__admin/ui/"),
        "{help}"
    );
}
