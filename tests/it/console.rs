//! The console's server side: its static assets load without the admin token (they hold
//! no data) with no-store and a same-origin CSP, and the two read-only endpoints it
//! relies on (`cases`, `apps/{app_id}/test-key`) answer as documented.

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
