//! Admin API, test control: forced outcomes, seeded faults, the request journal, reset,
//! app scoping, persistence across restarts, and graceful shutdown with a request in
//! flight.

mod common;

use std::time::{Duration, Instant};

use alipay_mock::crypto::SignType;
use alipay_mock::{Config, RunningGateway};
use common::*;
use serde_json::{json, Value};

const LISI: (&str, &str) = ("李四", "110101199001011001");

async fn force(gateway: &RunningGateway, scenario: Value) -> Value {
    let (status, created) = admin(gateway, "POST", "scenarios", Some(scenario)).await;
    assert_eq!(status, 201, "{created}");
    created
}

#[tokio::test]
async fn a_forced_error_answers_the_next_call_only() {
    let gateway = start().await;
    force(&gateway, json!({"outcome": {"error": "ZM_ACCOUNT_PAUSE"}})).await;
    let answer = Call::authquery(&zhangsan("C2B")).post(&gateway).await;
    let node = answer.node("utf-8", NODE);
    assert_eq!(
        (
            node["code"].as_str(),
            node["sub_code"].as_str(),
            node["sub_msg"].as_str()
        ),
        (
            Some("40004"),
            Some("ZM_ACCOUNT_PAUSE"),
            Some("该账号暂停服务")
        )
    );
    assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
    assert_eq!(query(&gateway, &zhangsan("C2B")).await["code"], "10000");
    assert_eq!(admin(&gateway, "GET", "scenarios", None).await.1, json!([]));
    gateway.shutdown().await;
}

#[tokio::test]
async fn any_public_error_can_be_forced_with_its_real_code() {
    let gateway = start().await;
    for (sub_code, code) in [
        ("isp.unknow-error", "20000"),
        ("isv.app-call-limited", "40005"),
        ("aop.invalid-auth-token", "20001"),
        ("isv.invalid-signature", "40002"),
    ] {
        force(&gateway, json!({"outcome": {"error": sub_code}})).await;
        let node = query(&gateway, &zhangsan("C2B")).await;
        assert_eq!(
            (node["code"].as_str(), node["sub_code"].as_str()),
            (Some(code), Some(sub_code))
        );
    }
    force(
        &gateway,
        json!({"outcome": {"error": "isv.invalid-app-id"}}),
    )
    .await;
    let answer = Call::authquery(&zhangsan("C2B")).post(&gateway).await;
    assert!(
        !answer.has_sign("utf-8"),
        "forced invalid-app-id is unsigned like the real one"
    );
    let (status, error) = admin(
        &gateway,
        "POST",
        "scenarios",
        Some(json!({"outcome": {"error": "NOT_A_CODE"}})),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn nth_and_times_count_only_matching_calls() {
    let gateway = start().await;
    force(
        &gateway,
        json!({"match": {"identity": "lisi"}, "nth": 2, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    force(&gateway, json!({"match": {"app_id": RSA2_ONLY_APP_ID}, "times": 2, "outcome": {"authorized": false}})).await;
    let lisi = by_cert(LISI.0, LISI.1);
    assert_eq!(
        query(&gateway, &zhangsan("C2B")).await["authorized"],
        true,
        "zhangsan does not match"
    );
    assert_eq!(
        query(&gateway, &lisi).await["code"],
        "10000",
        "first lisi call"
    );
    assert_eq!(
        query(&gateway, &lisi).await["sub_code"],
        "SYSTEM_ERROR",
        "second lisi call"
    );
    assert_eq!(query(&gateway, &lisi).await["code"], "10000");
    let other = || Call::authquery(&zhangsan("C2B")).app(RSA2_ONLY_APP_ID);
    for _ in 0..2 {
        assert_eq!(
            other().post(&gateway).await.node("utf-8", NODE)["authorized"],
            false
        );
    }
    assert_eq!(
        other().post(&gateway).await.node("utf-8", NODE)["authorized"],
        true
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn for_seconds_forces_every_matching_call_until_it_expires() {
    let gateway = start().await;
    let created = force(
        &gateway,
        json!({"for_seconds": 1, "outcome": {"authorized": true, "open_id": "2088000000000001"}}),
    )
    .await;
    assert!(created["expires_at"].is_string());
    let lisi = by_cert(LISI.0, LISI.1);
    for _ in 0..3 {
        assert_eq!(query(&gateway, &lisi).await["open_id"], "2088000000000001");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(query(&gateway, &lisi).await["authorized"], false);
    gateway.shutdown().await;
}

#[tokio::test]
async fn scenarios_are_listed_deleted_and_scoped_by_app() {
    let gateway = start().await;
    let a = force(
        &gateway,
        json!({"match": {"app_id": APP_ID}, "times": 5, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    force(
        &gateway,
        json!({"match": {"app_id": RSA2_ONLY_APP_ID}, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    let (_, scoped) = admin(&gateway, "GET", &format!("scenarios?app_id={APP_ID}"), None).await;
    assert_eq!(scoped.as_array().unwrap().len(), 1);
    let id = a["id"].as_str().unwrap();
    assert_eq!(
        admin(&gateway, "GET", &format!("scenarios/{id}"), None)
            .await
            .1["remaining"],
        5
    );
    assert_eq!(
        admin(&gateway, "DELETE", &format!("scenarios/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        admin(&gateway, "DELETE", &format!("scenarios/{id}"), None)
            .await
            .0,
        404
    );
    let (_, deleted) = admin(
        &gateway,
        "DELETE",
        &format!("scenarios?app_id={RSA2_ONLY_APP_ID}"),
        None,
    )
    .await;
    assert_eq!(deleted["deleted"], 1);
    assert_eq!(admin(&gateway, "GET", "scenarios", None).await.1, json!([]));
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_injected_unknown_error_and_latency_are_what_the_app_sees() {
    let gateway = start().await;
    let faults = json!({"seed": 1, "unknown_error_rate": 1.0, "latency_ms": 300});
    assert_eq!(
        admin(&gateway, "PUT", "faults", Some(faults.clone())).await,
        (200, faults)
    );
    let started = Instant::now();
    let node = query(&gateway, &zhangsan("C2B")).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        node,
        json!({"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"})
    );
    assert_eq!(admin(&gateway, "DELETE", "faults", None).await.0, 204);
    assert_eq!(admin(&gateway, "GET", "faults", None).await.1, json!({}));
    assert_eq!(query(&gateway, &zhangsan("C2B")).await["code"], "10000");
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_fault_sequence() {
    let gateway = start().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        admin(
            &gateway,
            "PUT",
            "faults",
            Some(json!({"seed": 42, "unknown_error_rate": 0.5})),
        )
        .await;
        let mut codes = String::new();
        for _ in 0..24 {
            let node = query(&gateway, &zhangsan("C2B")).await;
            codes.push(if node["code"] == "10000" { 'o' } else { 'x' });
        }
        runs.push(codes);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains('o') && runs[0].contains('x'),
        "{}",
        runs[0]
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn hostile_faults_break_verification_but_not_the_json() {
    let gateway = start().await;
    for (mode, signed) in [
        ("wrong_key", true),
        ("missing_sign", false),
        ("altered_body", true),
    ] {
        admin(
            &gateway,
            "PUT",
            "faults",
            Some(json!({"seed": 3, "hostile": {"mode": mode}})),
        )
        .await;
        let answer = Call::authquery(&zhangsan("C2B")).post(&gateway).await;
        assert_eq!(
            answer.json("utf-8")[NODE]["code"],
            "10000",
            "{mode}: still a JSON answer"
        );
        assert_eq!(answer.has_sign("utf-8"), signed, "{mode}");
        if signed {
            assert!(
                !answer.signature_verifies("utf-8", SignType::Rsa2),
                "{mode} must not verify"
            );
        }
    }
    admin(&gateway, "DELETE", "faults", None).await;
    assert!(Call::authquery(&zhangsan("C2B"))
        .post(&gateway)
        .await
        .signature_verifies("utf-8", SignType::Rsa2));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_gets_no_answer_and_faults_are_scoped_by_app() {
    let gateway = start().await;
    let path = format!("faults?app_id={RSA2_ONLY_APP_ID}");
    admin(
        &gateway,
        "PUT",
        &path,
        Some(json!({"seed": 9, "drop_connection_rate": 1.0})),
    )
    .await;
    assert_eq!(
        query(&gateway, &zhangsan("C2B")).await["code"],
        "10000",
        "other apps unaffected"
    );
    let params = Call::authquery(&zhangsan("C2B"))
        .app(RSA2_ONLY_APP_ID)
        .signed_params();
    let target = format!("/gateway.do?{}", form(&params, "utf-8"));
    let mut sender = connect(&gateway).await;
    let request = hyper::Request::post(target)
        .header("host", "x")
        .body(Default::default())
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
        .await
        .unwrap();
    assert!(result.is_err(), "the connection closes without an answer");
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_journal_shows_what_the_app_sent_with_identities_masked() {
    let gateway = start().await;
    query(&gateway, &zhangsan("C2B")).await;
    let mut tampered = Call::authquery(&zhangsan("C2B"));
    tampered.private_key = include_str!("../fixtures/keys/alipay_private_key.pem").into();
    tampered.post(&gateway).await;
    let (status, journal) = admin(&gateway, "GET", "requests", None).await;
    assert_eq!(status, 200);
    assert_eq!(journal["total"], 2);
    let first = &journal["requests"][0];
    assert_eq!(
        (
            first["app_id"].as_str(),
            first["method"].as_str(),
            first["http_method"].as_str()
        ),
        (Some(APP_ID), Some(AUTHQUERY), Some("POST"))
    );
    assert_eq!(first["outcome"], json!({"code": "10000"}));
    assert_eq!(first["signature"]["verified"], true);
    let text = journal.to_string();
    assert!(
        !text.contains("张三") && !text.contains("33021199003132432"),
        "identities are masked: {text}"
    );
    assert!(first["params"]["biz_content"]
        .as_str()
        .unwrap()
        .contains("330**********2432"));
    assert!(first["signature"]["sign_content"]
        .as_str()
        .unwrap()
        .starts_with("app_id=2014072300007148&biz_content="));
    let second = &journal["requests"][1];
    assert_eq!(second["signature"]["verified"], false);
    assert_eq!(second["outcome"]["sub_code"], "isv.invalid-signature");

    let (_, failed) = admin(
        &gateway,
        "GET",
        "requests?outcome=isv.invalid-signature",
        None,
    )
    .await;
    assert_eq!(failed["total"], 1);
    let (_, newest) = admin(&gateway, "GET", "requests?limit=1", None).await;
    assert_eq!(
        (
            newest["total"].as_u64(),
            newest["requests"][0]["id"].as_u64()
        ),
        (Some(2), second["id"].as_u64())
    );
    assert_eq!(
        admin(&gateway, "GET", "requests?since=yesterday", None)
            .await
            .0,
        400
    );
    assert_eq!(
        admin(&gateway, "DELETE", "requests", None).await.1["deleted"],
        2
    );
    assert_eq!(admin(&gateway, "GET", "requests", None).await.1["total"], 0);
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_journal_is_bounded() {
    let gateway = RunningGateway::start(Config {
        journal_max: 5,
        ..Config::ephemeral()
    })
    .await
    .unwrap();
    for _ in 0..8 {
        query(&gateway, &zhangsan("C2B")).await;
    }
    let (_, journal) = admin(&gateway, "GET", "requests", None).await;
    assert_eq!(journal["total"], 5);
    assert_eq!(
        journal["requests"][0]["id"], 4,
        "the oldest three were dropped"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn reset_restores_the_fixtures_and_clears_control_state() {
    let gateway = start().await;
    admin(&gateway, "DELETE", "apps/2021000000000002", None).await;
    admin(
        &gateway,
        "PATCH",
        "identities/zhangsan",
        Some(json!({"state": "paused"})),
    )
    .await;
    force(
        &gateway,
        json!({"times": 9, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    admin(
        &gateway,
        "PUT",
        "faults",
        Some(json!({"seed": 1, "latency_ms": 1})),
    )
    .await;
    let (status, answer) = admin(&gateway, "POST", "reset", None).await;
    assert_eq!((status, answer), (200, json!({"reset": "all"})));
    let (_, ready) = admin(&gateway, "GET", "ready", None).await;
    assert_eq!(
        (
            ready["apps"].as_u64(),
            ready["identities"].as_u64(),
            ready["authorizations"].as_u64(),
            ready["scenarios"].as_u64()
        ),
        (Some(2), Some(10), Some(4), Some(0))
    );
    assert_eq!(admin(&gateway, "GET", "faults", None).await.1, json!({}));
    assert_eq!(admin(&gateway, "GET", "requests", None).await.1["total"], 0);
    assert_eq!(
        query(&gateway, &zhangsan("C2B")).await["open_id"],
        "2088202844499224"
    );
    let node = query_as(&gateway, RSA2_ONLY_APP_ID, &zhangsan("C2B")).await;
    assert_eq!(
        node["open_id"], "2088202844490101",
        "the deleted app is back"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_empty_app_id_scope_is_refused_rather_than_widened_to_every_app() {
    let gateway = start().await;
    force(
        &gateway,
        json!({"times": 9, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    for (method, path) in [
        ("POST", "reset?app_id="),
        ("DELETE", "scenarios?app_id="),
        ("DELETE", "requests?app_id="),
        ("GET", "requests?since="),
    ] {
        let (status, error) = admin(&gateway, method, path, None).await;
        assert_eq!(status, 400, "{method} {path}: {error}");
    }
    assert_eq!(
        admin(&gateway, "GET", "ready", None).await.1["scenarios"],
        1,
        "nothing was reset"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_app_scoped_reset_leaves_other_apps_alone() {
    let gateway = start().await;
    force(
        &gateway,
        json!({"match": {"app_id": APP_ID}, "times": 9, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    force(&gateway, json!({"match": {"app_id": RSA2_ONLY_APP_ID}, "times": 9, "outcome": {"error": "SYSTEM_ERROR"}})).await;
    admin(
        &gateway,
        "DELETE",
        &format!("authorizations?app_id={APP_ID}&identity=zhangsan"),
        None,
    )
    .await;
    query(&gateway, &zhangsan("C2B")).await;
    Call::authquery(&zhangsan("C2B"))
        .app(RSA2_ONLY_APP_ID)
        .post(&gateway)
        .await;
    assert_eq!(
        admin(&gateway, "POST", &format!("reset?app_id={APP_ID}"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        query(&gateway, &zhangsan("C2B")).await["open_id"],
        "2088202844499224",
        "authorisation restored, scenario gone"
    );
    let other = query_as(&gateway, RSA2_ONLY_APP_ID, &zhangsan("C2B")).await;
    assert_eq!(
        other["sub_code"], "SYSTEM_ERROR",
        "the other app's scenario stays"
    );
    let (_, journal) = admin(&gateway, "GET", "requests", None).await;
    let apps: Vec<&str> = journal["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["app_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        apps,
        vec![RSA2_ONLY_APP_ID, APP_ID, RSA2_ONLY_APP_ID],
        "only the reset app's history went"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn everything_but_the_journal_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = RunningGateway::start(Config::with_data_dir(dir.path()))
        .await
        .unwrap();
    force(
        &first,
        json!({"times": 3, "outcome": {"error": "ZM_ACCOUNT_PAUSE"}}),
    )
    .await;
    query(&first, &zhangsan("C2B")).await;
    admin(
        &first,
        "PUT",
        "faults",
        Some(json!({"seed": 5, "latency_ms": 1})),
    )
    .await;
    admin(
        &first,
        "PATCH",
        "identities/lisi",
        Some(json!({"state": "simulate_account"})),
    )
    .await;
    first.shutdown().await;

    let second = RunningGateway::start(Config::with_data_dir(dir.path()))
        .await
        .unwrap();
    let (_, scenarios) = admin(&second, "GET", "scenarios", None).await;
    assert_eq!(scenarios[0]["remaining"], 2, "the counter survived");
    assert_eq!(
        admin(&second, "GET", "faults", None).await.1,
        json!({"seed": 5, "latency_ms": 1})
    );
    assert_eq!(admin(&second, "GET", "requests", None).await.1["total"], 0);
    assert_eq!(
        query(&second, &zhangsan("C2B")).await["sub_code"],
        "ZM_ACCOUNT_PAUSE"
    );
    admin(&second, "DELETE", "scenarios", None).await;
    assert_eq!(
        query(&second, &by_cert(LISI.0, LISI.1)).await["sub_code"],
        "ALIPAY_SIMULATE_ACCOUNT"
    );
    second.shutdown().await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let gateway = start().await;
    admin(
        &gateway,
        "PUT",
        "faults",
        Some(json!({"seed": 1, "latency_ms": 500})),
    )
    .await;
    let call = Call::authquery(&zhangsan("C2B"));
    let params = call.signed_params();
    let target = format!("/gateway.do?{}", form(&params, "utf-8"));
    let mut sender = connect(&gateway).await;
    let request = hyper::Request::post(target)
        .header("host", "x")
        .body(Default::default())
        .unwrap();
    let in_flight = tokio::spawn(async move { sender.send_request(request).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    gateway.shutdown().await;
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_scoped_deletes_and_creates_leave_store_and_memory_agreeing() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = RunningGateway::start(Config::with_data_dir(dir.path()))
        .await
        .unwrap();
    let gateway = std::sync::Arc::new(gateway);
    let creator = {
        let g = std::sync::Arc::clone(&gateway);
        tokio::spawn(async move {
            for _ in 0..40 {
                let s = json!({"match": {"app_id": APP_ID}, "outcome": {"error": "SYSTEM_ERROR"}});
                admin(&g, "POST", "scenarios", Some(s)).await;
            }
        })
    };
    let deleter = {
        let g = std::sync::Arc::clone(&gateway);
        tokio::spawn(async move {
            for _ in 0..40 {
                admin(&g, "DELETE", &format!("scenarios?app_id={APP_ID}"), None).await;
            }
        })
    };
    creator.await.unwrap();
    deleter.await.unwrap();
    let before = ids(&admin(&gateway, "GET", "scenarios", None).await.1);
    std::sync::Arc::try_unwrap(gateway)
        .unwrap()
        .shutdown()
        .await;
    let restarted = RunningGateway::start(Config::with_data_dir(dir.path()))
        .await
        .unwrap();
    let after = ids(&admin(&restarted, "GET", "scenarios", None).await.1);
    assert_eq!(before, after, "what was listed is what the store holds");
    restarted.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_use_up_a_scenario_exactly_and_it_stays_gone_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = RunningGateway::start(Config::with_data_dir(dir.path()))
        .await
        .unwrap();
    force(
        &gateway,
        json!({"times": 30, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    let gateway = std::sync::Arc::new(gateway);
    let mut calls = Vec::new();
    for _ in 0..60 {
        let g = std::sync::Arc::clone(&gateway);
        calls.push(tokio::spawn(
            async move { query(&g, &zhangsan("C2B")).await },
        ));
    }
    let mut forced = 0;
    for call in calls {
        if call.await.unwrap()["sub_code"] == "SYSTEM_ERROR" {
            forced += 1;
        }
    }
    assert_eq!(forced, 30, "exactly `times` calls were forced");
    std::sync::Arc::try_unwrap(gateway)
        .unwrap()
        .shutdown()
        .await;
    let restarted = RunningGateway::start(Config::with_data_dir(dir.path()))
        .await
        .unwrap();
    assert_eq!(
        admin(&restarted, "GET", "scenarios", None).await.1,
        json!([])
    );
    restarted.shutdown().await;
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn latency_ranges_and_hostile_rates_repeat_with_the_seed() {
    let gateway = start().await;
    let faults = json!({"seed": 7, "latency_ms": {"min": 0, "max": 20}, "hostile": {"mode": "missing_sign", "rate": 0.5}});
    let mut runs = Vec::new();
    for _ in 0..2 {
        admin(&gateway, "PUT", "faults", Some(faults.clone())).await;
        admin(&gateway, "DELETE", "requests", None).await;
        for _ in 0..12 {
            query(&gateway, &zhangsan("C2B")).await;
        }
        let (_, journal) = admin(&gateway, "GET", "requests", None).await;
        let labels: Vec<Value> = journal["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["faults"].clone())
            .collect();
        runs.push(labels);
    }
    assert_eq!(runs[0], runs[1]);
    let text = serde_json::to_string(&runs[0]).unwrap();
    assert!(
        text.contains("hostile:missing_sign") && text.contains("latency:"),
        "{text}"
    );
    assert_eq!(
        admin(
            &gateway,
            "PUT",
            "faults",
            Some(json!({"seed": 1, "latency_ms": {"min": 1, "max": 2, "mni": 5}}))
        )
        .await
        .0,
        400
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn escaped_names_are_masked_and_huge_values_are_cut_in_the_journal() {
    let gateway = start().await;
    let escaped = r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"\u5f20\u4e09\",\"certNo\":\"33021199003132432\"}","identity_type":"2","pad":"PADDING"}"#;
    let padded = escaped.replace("PADDING", &"x".repeat(100_000));
    assert_eq!(
        query(&gateway, &padded).await["open_id"],
        "2088202844499224"
    );
    let (_, journal) = admin(&gateway, "GET", "requests", None).await;
    let entry = &journal["requests"][0];
    let text = entry.to_string();
    assert!(
        !text.contains("u5f20") && !text.contains("张三") && !text.contains("33021199003132432"),
        "{text}"
    );
    let biz = entry["params"]["biz_content"].as_str().unwrap();
    assert!(
        biz.len() < 3000 && biz.contains("bytes in all]"),
        "{}",
        biz.len()
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_expired_scenario_is_no_longer_listed() {
    let gateway = start().await;
    force(
        &gateway,
        json!({"for_seconds": 1, "outcome": {"error": "SYSTEM_ERROR"}}),
    )
    .await;
    assert_eq!(
        admin(&gateway, "GET", "ready", None).await.1["scenarios"],
        1
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(admin(&gateway, "GET", "scenarios", None).await.1, json!([]));
    assert_eq!(
        admin(&gateway, "GET", "ready", None).await.1["scenarios"],
        0
    );
    let (status, _) = admin(
        &gateway,
        "POST",
        "scenarios",
        Some(json!({"for_seconds": 300000000000u64, "outcome": {"error": "SYSTEM_ERROR"}})),
    )
    .await;
    assert_eq!(status, 400, "an absurd duration is refused, not a crash");
    gateway.shutdown().await;
}

#[tokio::test]
async fn post_scenarios_with_app_id_scopes_the_new_scenario() {
    let gateway = start().await;
    let (status, created) = admin(
        &gateway,
        "POST",
        &format!("scenarios?app_id={RSA2_ONLY_APP_ID}"),
        Some(json!({"outcome": {"error": "SYSTEM_ERROR"}})),
    )
    .await;
    assert_eq!(
        (status, created["match"]["app_id"].as_str()),
        (201, Some(RSA2_ONLY_APP_ID))
    );
    assert_eq!(
        query(&gateway, &zhangsan("C2B")).await["code"],
        "10000",
        "the default app is not affected"
    );
    let conflicting = json!({"match": {"app_id": APP_ID}, "outcome": {"error": "SYSTEM_ERROR"}});
    assert_eq!(
        admin(
            &gateway,
            "POST",
            &format!("scenarios?app_id={RSA2_ONLY_APP_ID}"),
            Some(conflicting)
        )
        .await
        .0,
        400
    );
    gateway.shutdown().await;
}
