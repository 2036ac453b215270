//! The virtual clock: freezing or shifting the gateway's "now" moves every time-based rule
//! — the timestamp window, app_auth_token expiry, for_seconds scenarios — without a test
//! sleeping; DELETE and a full reset return to real time.

use std::process::Command;
use std::time::Duration;

use crate::support::*;
use alipay_mock::{Config, RunningGateway};
use serde_json::json;

/// The timestamp every test call carries (read as Beijing time).
const CALL_TIME: &str = "2014-07-24T03:07:50+08:00";

async fn set_clock(gateway: &RunningGateway, setting: serde_json::Value) -> serde_json::Value {
    let (status, clock) = admin(gateway, "PUT", "clock", Some(setting)).await;
    assert_eq!(status, 200, "{clock}");
    clock
}

#[tokio::test]
async fn a_frozen_clock_decides_whether_a_timestamp_is_inside_the_window() {
    let gateway = RunningGateway::start(Config {
        timestamp_window: Some(Duration::from_secs(5 * 60)),
        ..Config::ephemeral()
    })
    .await
    .unwrap();
    // Real time is years after the calls' timestamp.
    assert_eq!(
        query(&gateway, DOC_BIZ_CONTENT).await["sub_code"],
        "isv.invalid-timestamp"
    );
    let clock = set_clock(&gateway, json!({"frozen_at": "2014-07-24T03:10:00+08:00"})).await;
    assert_eq!(clock["now"], "2014-07-23T19:10:00Z", "{clock}");
    assert_eq!(query(&gateway, DOC_BIZ_CONTENT).await["code"], "10000");
    set_clock(&gateway, json!({"frozen_at": "2014-07-24T03:13:00+08:00"})).await;
    assert_eq!(
        query(&gateway, DOC_BIZ_CONTENT).await["sub_code"],
        "isv.invalid-timestamp"
    );
    let (status, clock) = admin(&gateway, "DELETE", "clock", None).await;
    assert_eq!(status, 200);
    assert!(clock.get("frozen_at").is_none(), "{clock}");
    assert_eq!(
        query(&gateway, DOC_BIZ_CONTENT).await["sub_code"],
        "isv.invalid-timestamp"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_app_auth_token_expires_when_the_clock_passes_its_expiry() {
    let gateway = start().await;
    let patch = json!({"app_auth_tokens": [{"token": "202611BBclock", "expires_at": "2099-01-01T00:00:00Z"}]});
    assert_eq!(
        admin(&gateway, "PATCH", "apps/2014072300007148", Some(patch))
            .await
            .0,
        200
    );
    let call = Call::authquery(DOC_BIZ_CONTENT).param("app_auth_token", "202611BBclock");
    assert_eq!(
        call.post(&gateway).await.node("utf-8", NODE)["code"],
        "10000"
    );
    set_clock(&gateway, json!({"frozen_at": "2099-01-01T00:00:00Z"})).await;
    assert_eq!(
        call.post(&gateway).await.node("utf-8", NODE)["sub_code"],
        "aop.app-auth-token-time-out"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_for_seconds_scenario_ends_when_the_clock_moves_past_it() {
    let gateway = start().await;
    force(
        &gateway,
        json!({"for_seconds": 60, "outcome": {"error": "ZM_ACCOUNT_PAUSE"}}),
    )
    .await;
    assert_eq!(
        query(&gateway, DOC_BIZ_CONTENT).await["sub_code"],
        "ZM_ACCOUNT_PAUSE"
    );
    set_clock(&gateway, json!({"offset_seconds": 61})).await;
    assert_eq!(query(&gateway, DOC_BIZ_CONTENT).await["code"], "10000");
    let (_, scenarios) = admin(&gateway, "GET", "scenarios", None).await;
    assert_eq!(scenarios, json!([]));
    gateway.shutdown().await;
}

#[tokio::test]
async fn bad_clock_settings_are_refused_and_a_reset_returns_to_real_time() {
    let gateway = start().await;
    for bad in [
        json!({"frozen_at": CALL_TIME, "offset_seconds": 1}),
        json!({"frozen_at": "yesterday"}),
        json!({"offset_seconds": 9_000_000_000_000i64}),
        json!({"speed": 2}),
    ] {
        let (status, body) = admin(&gateway, "PUT", "clock", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    set_clock(&gateway, json!({"frozen_at": CALL_TIME})).await;
    assert_eq!(admin(&gateway, "POST", "reset", None).await.0, 200);
    let (_, clock) = admin(&gateway, "GET", "clock", None).await;
    assert!(clock.get("frozen_at").is_none(), "{clock}");
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_freezes_shifts_shows_and_releases_the_clock() {
    let gateway = start().await;
    let url = gateway.url();
    let run = |args: &[&str]| {
        let output = Command::new(BIN)
            .args(["admin", "--url", &url, "clock"])
            .args(args)
            .env_remove("ALIPAY_MOCK_ADMIN_TOKEN")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let frozen = run(&["freeze", CALL_TIME]);
    assert_eq!(frozen["now"], "2014-07-23T19:07:50Z", "{frozen}");
    let shifted = run(&["offset", "-3600"]);
    assert_eq!(shifted["offset_seconds"], -3600, "{shifted}");
    assert_eq!(run(&["get"])["offset_seconds"], -3600);
    assert!(run(&["real"]).get("offset_seconds").is_none());
    gateway.shutdown().await;
}

/// Regression (issue 22, item 4): `frozen_at` at year 9999 with a negative offset
/// panicked (the connection dropped) and every later `GET /__admin/clock` dropped too;
/// year 0 with a positive offset answered 500; both kept the setting.
#[tokio::test]
async fn clock_settings_beyond_the_calendar_answer_400_and_change_nothing() {
    let gateway = start().await;
    let before = set_clock(&gateway, json!({"offset_seconds": 60})).await;
    for frozen_at in [
        "9999-12-31T23:59:59-23:59",
        "0000-01-01T00:00:00+23:59",
        "0000-01-01T00:00:00Z",
    ] {
        let (status, error) = admin(
            &gateway,
            "PUT",
            "clock",
            Some(json!({"frozen_at": frozen_at})),
        )
        .await;
        assert_eq!(status, 400, "{frozen_at}: {error}");
        assert!(
            error["error"]
                .as_str()
                .unwrap_or_default()
                .contains("frozen_at"),
            "{error}"
        );
        let (status, clock) = admin(&gateway, "GET", "clock", None).await;
        assert_eq!(status, 200, "{clock}");
        assert_eq!(clock["offset_seconds"], before["offset_seconds"]);
        assert!(clock.get("frozen_at").is_none(), "{clock}");
    }
    gateway.shutdown().await;
}

/// Regression (issue 22, item 4): frozen at year 9999, a `for_seconds` scenario whose end
/// falls past the calendar panicked (`scenarios.rs`).
#[tokio::test]
async fn a_scenario_ending_beyond_the_calendar_answers_400_and_is_not_added() {
    let gateway = start().await;
    set_clock(&gateway, json!({"frozen_at": "9999-12-31T00:00:00Z"})).await;
    let (status, error) = admin(
        &gateway,
        "POST",
        "scenarios",
        Some(json!({"for_seconds": 315_360_000, "outcome": {"error": "SYSTEM_ERROR"}})),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("for_seconds"),
        "{error}"
    );
    assert_eq!(admin(&gateway, "GET", "scenarios", None).await.1, json!([]));
    // Within the calendar it still works, and the clock still shows.
    force(
        &gateway,
        json!({"for_seconds": 3600, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    assert_eq!(admin(&gateway, "GET", "clock", None).await.0, 200);
    gateway.shutdown().await;
}
