//! `MockGateway`: the in-process gateway of Rust tests. Typed control changes what the
//! next signed call answers exactly as the admin API would, the journal comes back typed,
//! and tests that each use their own app share one gateway without seeing each other.

use std::sync::Arc;

use crate::support::*;
use alipay_mock::client::ClientError;
use alipay_mock::embed::ControlError;
use alipay_mock::{
    AccountState, App, AuthCategory, Client, ClockSetting, FaultConfig, Filter, ForcedError, Grant,
    Match, MockGateway, NotificationFilter, Outcome, ScenarioRequest,
};
use serde_json::json;

async fn gateway() -> MockGateway {
    MockGateway::builder().start().await.expect("starts")
}

/// The authquery node of the document's example, as `app_id`.
async fn ask_as(gateway: &MockGateway, app_id: &str) -> serde_json::Value {
    query_as(gateway, app_id, DOC_BIZ_CONTENT).await
}

fn error(code: &str) -> Outcome {
    Outcome::Error(ForcedError { error: code.into() })
}

#[tokio::test]
async fn the_handle_gives_a_working_url_and_the_default_apps_keys() {
    let gateway = gateway().await;
    assert!(gateway.url().starts_with("http://127.0.0.1:"));
    assert!(gateway.url().ends_with("/gateway.do"));
    let keys = gateway.default_app();
    assert_eq!(keys.app_id, APP_ID);
    assert_eq!(keys.private_key_pem, APP_PRIVATE_KEY);
    assert_eq!(keys.alipay_public_key_pem, ALIPAY_PUBLIC_KEY);
    assert!(keys.private_key_pkcs1_pem.contains("BEGIN RSA PRIVATE KEY"));
    let node = ask_as(&gateway, APP_ID).await;
    assert_eq!(
        (node["code"].as_str(), node["authorized"].as_bool()),
        (Some("10000"), Some(true))
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn typed_control_changes_the_next_answers_as_the_admin_api_would() {
    let gateway = gateway().await;
    // A forced business error, once.
    gateway
        .force(&ScenarioRequest::answering(error("ZM_ACCOUNT_PAUSE")))
        .await
        .unwrap();
    assert_eq!(
        ask_as(&gateway, APP_ID).await["sub_code"],
        "ZM_ACCOUNT_PAUSE"
    );
    assert_eq!(ask_as(&gateway, APP_ID).await["code"], "10000");
    // Revoke and grant again.
    let revoked = gateway
        .revoke(APP_ID, "zhangsan", Some(AuthCategory::C2B))
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    assert_eq!(ask_as(&gateway, APP_ID).await["authorized"], false);
    let granted = gateway
        .grant(&Grant {
            app_id: APP_ID.into(),
            identity: "zhangsan".into(),
            auth_category: None,
            open_id: Some("2088000000000777".into()),
        })
        .await
        .unwrap();
    assert_eq!(granted.open_id, "2088000000000777");
    assert_eq!(
        ask_as(&gateway, APP_ID).await["open_id"],
        "2088000000000777"
    );
    // The account state decides before any authorisation.
    gateway
        .set_state("zhangsan", AccountState::Paused)
        .await
        .unwrap();
    assert_eq!(
        ask_as(&gateway, APP_ID).await["sub_code"],
        "ZM_ACCOUNT_PAUSE"
    );
    // Faults: every call fails with the public unknown error.
    let faults: FaultConfig =
        serde_json::from_value(json!({"seed": 1, "unknown_error_rate": 1.0})).unwrap();
    gateway.set_faults(None, &faults).await.unwrap();
    gateway
        .set_state("zhangsan", AccountState::Normal)
        .await
        .unwrap();
    assert_eq!(
        ask_as(&gateway, APP_ID).await["sub_code"],
        "isp.unknow-error"
    );
    // Reset: back to the fixtures.
    gateway.reset(None).await.unwrap();
    let node = ask_as(&gateway, APP_ID).await;
    assert_eq!(node["open_id"], "2088202844499224", "{node}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn bad_typed_input_is_refused_like_the_admin_api_refuses_it() {
    let gateway = gateway().await;
    let refused = gateway
        .force(&ScenarioRequest::answering(error("NOT_A_CODE")))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ControlError::Invalid(m) if m.contains("NOT_A_CODE")),
        "{refused}"
    );
    let missing = gateway
        .set_state("nobody", AccountState::Paused)
        .await
        .unwrap_err();
    assert!(matches!(missing, ControlError::NotFound(_)), "{missing}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_journal_comes_back_typed_and_masked() {
    let gateway = gateway().await;
    ask_as(&gateway, APP_ID).await;
    let page = gateway
        .requests(&Filter {
            app_id: Some(APP_ID.into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!((page.total, page.requests.len()), (1, 1));
    let call = &page.requests[0];
    assert_eq!(call.outcome.code, "10000");
    assert_eq!(call.signature.verified, Some(true));
    let biz = &call.params["biz_content"];
    assert!(
        biz.contains("张*") && !biz.contains("33021199003132432"),
        "{biz}"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn extra_apps_and_identities_from_the_builder_are_callable() {
    let app: App = serde_json::from_value(json!({
        "app_id": "2021000000000099",
        "public_keys": {"RSA2": APP_PUBLIC_KEY}
    }))
    .unwrap();
    let person = serde_json::from_value(json!({
        "id": "newperson", "user_id": "2088102000000099"
    }))
    .unwrap();
    let gateway = MockGateway::builder()
        .app(app)
        .identity(person)
        .start()
        .await
        .unwrap();
    let node = query_as(
        &gateway,
        "2021000000000099",
        r#"{"identity_param":"{\"userId\":\"2088102000000099\"}","identity_type":"5"}"#,
    )
    .await;
    assert_eq!(
        (node["code"].as_str(), node["authorized"].as_bool()),
        (Some("10000"), Some(false))
    );
    gateway.shutdown().await;
}

/// One test of the parallel set: its own app, its own forced outcome, its own journal.
async fn isolated_test(gateway: Arc<MockGateway>, n: usize) {
    let app_id = format!("20210000000010{n:02}");
    let app: App = serde_json::from_value(json!({
        "app_id": app_id,
        "public_keys": {"RSA2": APP_PUBLIC_KEY}
    }))
    .unwrap();
    gateway.add_app(&app).await.unwrap();
    let code = [
        "ZM_ACCOUNT_PAUSE",
        "SYSTEM_ERROR",
        "CERTNO_WRONG",
        "NULL_ARGUMENT",
    ][n % 4];
    gateway
        .force(&ScenarioRequest {
            matcher: Match {
                app_id: Some(app_id.clone()),
                ..Match::default()
            },
            times: Some(3),
            ..ScenarioRequest::answering(error(code))
        })
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            ask_as(&gateway, &app_id).await["sub_code"],
            code,
            "test {n}"
        );
    }
    // Unauthorised (the new app has no grants), not another test's forced error.
    assert_eq!(
        ask_as(&gateway, &app_id).await["authorized"],
        false,
        "test {n}"
    );
    let mine = gateway
        .requests(&Filter {
            app_id: Some(app_id.clone()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.requests.len(), 4, "test {n}");
    gateway.reset(Some(&app_id)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_tests_share_one_gateway_without_cross_talk() {
    let gateway = Arc::new(gateway().await);
    let tests: Vec<_> = (0..16)
        .map(|n| tokio::spawn(isolated_test(Arc::clone(&gateway), n)))
        .collect();
    for test in tests {
        test.await.expect("a parallel test failed");
    }
    // The shared fixtures are untouched.
    assert_eq!(ask_as(&gateway, APP_ID).await["authorized"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_typed_admin_client_drives_a_gateway_over_http_with_the_servers_types() {
    let gateway = MockGateway::builder()
        .admin_token("s3cret")
        .start()
        .await
        .unwrap();
    let anonymous = Client::new(&gateway.url()).unwrap();
    let refused = anonymous.reset(None).await.unwrap_err();
    assert!(
        matches!(refused, ClientError::Refused { status: 401, .. }),
        "{refused}"
    );
    let admin = anonymous.with_token("s3cret");
    let scenario = admin
        .force(&ScenarioRequest::answering(error("ZM_ACCOUNT_PAUSE")))
        .await
        .unwrap();
    assert!(scenario.id.starts_with("sc_"));
    assert_eq!(
        ask_as(&gateway, APP_ID).await["sub_code"],
        "ZM_ACCOUNT_PAUSE"
    );
    admin
        .revoke(APP_ID, "zhangsan", Some(AuthCategory::C2B))
        .await
        .unwrap();
    assert_eq!(ask_as(&gateway, APP_ID).await["authorized"], false);
    let paused = admin.set_state("lisi", AccountState::Paused).await.unwrap();
    assert_eq!(paused.state, AccountState::Paused);
    admin
        .set_clock(&ClockSetting {
            frozen_at: None,
            offset_seconds: Some(60),
        })
        .await
        .unwrap();
    let page = admin
        .requests(&Filter {
            app_id: Some(APP_ID.into()),
            limit: Some(1),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.requests[0].outcome.code, "10000");
    let bad = admin
        .force(&ScenarioRequest::answering(error("NOT_A_CODE")))
        .await
        .unwrap_err();
    assert!(
        matches!(bad, ClientError::Refused { status: 400, .. }),
        "{bad}"
    );
    admin.reset(None).await.unwrap();
    assert_eq!(ask_as(&gateway, APP_ID).await["authorized"], true);
    gateway.shutdown().await;
}

/// An app of these tests, verifying with the fixture app key.
fn app(app_id: &str) -> App {
    serde_json::from_value(json!({
        "app_id": app_id,
        "public_keys": {"RSA2": APP_PUBLIC_KEY}
    }))
    .unwrap()
}

/// A forced error for one app's calls.
fn forced_for(app_id: &str, code: &str) -> ScenarioRequest {
    ScenarioRequest {
        matcher: Match {
            app_id: Some(app_id.into()),
            ..Match::default()
        },
        ..ScenarioRequest::answering(error(code))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_and_the_embedded_handle_take_and_answer_the_same_values() {
    let gateway = gateway().await;
    let client = Client::new(&gateway.url()).unwrap();

    // add_app: the same input; a second add is refused by either as existing.
    gateway.add_app(&app("2021000000000201")).await.unwrap();
    client.add_app(&app("2021000000000202")).await.unwrap();
    let again = gateway.add_app(&app("2021000000000202")).await.unwrap_err();
    assert!(matches!(again, ControlError::Conflict(_)), "{again}");
    let again = client.add_app(&app("2021000000000201")).await.unwrap_err();
    assert!(
        matches!(again, ClientError::Refused { status: 409, .. }),
        "{again}"
    );
    assert_eq!(
        ask_as(&gateway, "2021000000000202").await["authorized"],
        false
    );

    // clear_scenarios: both count what went.
    for _ in 0..2 {
        gateway
            .force(&forced_for("2021000000000201", "SYSTEM_ERROR"))
            .await
            .unwrap();
    }
    client
        .force(&forced_for("2021000000000202", "SYSTEM_ERROR"))
        .await
        .unwrap();
    assert_eq!(
        client.clear_scenarios(Some("2021000000000201")).await,
        Ok(2)
    );
    assert_eq!(
        gateway
            .clear_scenarios(Some("2021000000000202"))
            .await
            .unwrap(),
        1
    );

    // revoke: both count what went.
    assert_eq!(
        gateway
            .revoke(APP_ID, "zhangsan", Some(AuthCategory::C2B))
            .await
            .unwrap(),
        1
    );
    let grant = Grant {
        app_id: APP_ID.into(),
        identity: "zhangsan".into(),
        auth_category: None,
        open_id: None,
    };
    assert_eq!(
        client.grant(&grant).await.unwrap(),
        gateway.grant(&grant).await.unwrap()
    );
    assert_eq!(
        client
            .revoke(APP_ID, "zhangsan", Some(AuthCategory::C2B))
            .await,
        Ok(1)
    );

    // requests: the same filter, the same page.
    ask_as(&gateway, APP_ID).await;
    ask_as(&gateway, APP_ID).await;
    let filter = Filter {
        app_id: Some(APP_ID.into()),
        since: Some(time::OffsetDateTime::UNIX_EPOCH),
        limit: Some(1),
        ..Filter::default()
    };
    let embedded = gateway.requests(&filter).await.unwrap();
    assert_eq!((embedded.total, embedded.requests.len()), (2, 1));
    assert_eq!(client.requests(&filter).await.unwrap(), embedded);

    // set_clock: the same setting through either moves the same clock.
    let shifted = ClockSetting {
        frozen_at: None,
        offset_seconds: Some(3600),
    };
    gateway.set_clock(&shifted).await.unwrap();
    client.set_clock(&ClockSetting::default()).await.unwrap();
    client.set_clock(&shifted).await.unwrap();

    // Definitions and notifications: the same lists.
    assert_eq!(
        client.method_definitions().await.unwrap(),
        gateway.method_definitions().await.unwrap()
    );
    let all = NotificationFilter::default();
    assert_eq!(
        client.notifications(&all).await.unwrap(),
        gateway.notifications(&all).await.unwrap()
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn dropping_the_handle_stops_the_gateway() {
    let gateway = gateway().await;
    let addr = gateway.addr();
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(gateway);
    let mut refused = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        refused,
        "still accepting on {addr} after the handle was dropped"
    );
}
