//! Admin API, stored records: apps, identities and authorisations change what the
//! gateway answers at once, bad input changes nothing, and the token guards it all.

use crate::support::*;
use alipay_mock::crypto::SignType;
use alipay_mock::keys::{self, KeyPairText};
use alipay_mock::{Config, RunningGateway};
use serde_json::json;

fn new_app(app_id: &str) -> serde_json::Value {
    json!({
        "app_id": app_id,
        "name": "test app",
        "public_keys": {"RSA2": KeyPairText::bare(APP_PUBLIC_KEY)}
    })
}

#[tokio::test]
async fn health_and_ready_report_what_is_loaded() {
    let gateway = start().await;
    assert_eq!(
        admin(&gateway, "GET", "health", None).await,
        (200, json!({"status": "ok"}))
    );
    let (status, ready) = admin(&gateway, "GET", "ready", None).await;
    assert_eq!(status, 200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(
        (
            ready["apps"].as_u64(),
            ready["identities"].as_u64(),
            ready["authorizations"].as_u64()
        ),
        (Some(3), Some(10), Some(7))
    );
    assert_eq!(ready["fixtures_digest"], ready["seeded_from"]);
    assert_eq!(ready["fixtures_digest"].as_str().unwrap().len(), 64);
    let (status, yaml) = admin(&gateway, "GET", "openapi.yaml", None).await;
    assert_eq!(status, 200);
    assert!(yaml.as_str().unwrap().starts_with("openapi:"));
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_app_created_by_admin_is_callable_and_deleting_it_makes_it_unknown() {
    let gateway = start().await;
    let (status, created) =
        admin(&gateway, "POST", "apps", Some(new_app("2021000000000099"))).await;
    assert_eq!(status, 201, "{created}");
    assert!(created["platform_public_key"]
        .as_str()
        .unwrap()
        .contains("BEGIN PUBLIC KEY"));
    let node = query_as(&gateway, "2021000000000099", &zhangsan("C2B")).await;
    assert_eq!(
        (node["code"].as_str(), node["authorized"].as_bool()),
        (Some("10000"), Some(false))
    );

    assert_eq!(
        admin(&gateway, "POST", "apps", Some(new_app("2021000000000099")))
            .await
            .0,
        409
    );
    assert_eq!(
        admin(&gateway, "DELETE", "apps/2021000000000099", None)
            .await
            .0,
        204
    );
    let node = query_as(&gateway, "2021000000000099", &zhangsan("C2B")).await;
    assert_eq!(node["sub_code"], "isv.invalid-app-id");
    assert_eq!(
        admin(&gateway, "GET", "apps/2021000000000099", None)
            .await
            .0,
        404
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn bad_app_input_is_refused_and_stores_nothing() {
    let gateway = start().await;
    let mut bad_key = new_app("2021000000000098");
    bad_key["public_keys"]["RSA2"] = json!("not a key");
    let (status, error) = admin(&gateway, "POST", "apps", Some(bad_key)).await;
    assert_eq!(status, 400);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("2021000000000098"),
        "{error}"
    );
    let mut unknown_field = new_app("2021000000000098");
    unknown_field["colour"] = json!("red");
    let (status, error) = admin(&gateway, "POST", "apps", Some(unknown_field)).await;
    assert_eq!(status, 400);
    assert!(
        error["error"].as_str().unwrap().contains("colour"),
        "{error}"
    );
    assert_eq!(
        admin(&gateway, "POST", "apps", Some(json!("{"))).await.0,
        400
    );
    assert_eq!(
        admin(&gateway, "GET", "apps/2021000000000098", None)
            .await
            .0,
        404
    );
    let (_, apps) = admin(&gateway, "GET", "apps", None).await;
    assert_eq!(apps.as_array().unwrap().len(), 3);
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_apps_own_platform_key_signs_its_answers() {
    let gateway = start().await;
    let pair = KeyPairText::generate().unwrap();
    let mut app = new_app("2021000000000097");
    app["platform_private_key"] = json!(pair.private_pkcs1_pem);
    let (status, created) = admin(&gateway, "POST", "apps", Some(app)).await;
    assert_eq!(status, 201);
    assert_eq!(created["platform_public_key"], json!(pair.public_pem));
    let answer = Call::authquery(&zhangsan("C2B"))
        .app("2021000000000097")
        .post(&gateway)
        .await;
    assert!(
        !answer.signature_verifies("utf-8", SignType::Rsa2),
        "not the default platform key"
    );
    let text = answer.text("utf-8");
    let (_, node, sign) = alipay_mock::protocol::response::extract_signed_node(&text).unwrap();
    let own = keys::parse_public_key(&pair.public_pem).unwrap();
    assert!(alipay_mock::crypto::verify(
        &own,
        SignType::Rsa2,
        node.as_bytes(),
        &sign.unwrap()
    ));
    gateway.shutdown().await;
}

#[tokio::test]
async fn allowed_methods_and_app_auth_tokens_are_enforced() {
    let gateway = start().await;
    let patch = json!({
        "allowed_methods": ["alipay.trade.query"],
        "app_auth_tokens": [
            {"token": "202611BB1234567890"},
            {"token": "201901BBexpired", "expires_at": "2020-01-01T00:00:00Z"}
        ]
    });
    assert_eq!(
        admin(&gateway, "PATCH", "apps/2014072300007148", Some(patch))
            .await
            .0,
        200
    );
    let node = query(&gateway, &zhangsan("C2B")).await;
    assert_eq!(
        (node["code"].as_str(), node["sub_code"].as_str()),
        (Some("40006"), Some("isv.insufficient-isv-permissions"))
    );

    let patch = json!({"allowed_methods": null});
    assert_eq!(
        admin(&gateway, "PATCH", "apps/2014072300007148", Some(patch))
            .await
            .0,
        200
    );
    let with_token = |token: &str| Call::authquery(&zhangsan("C2B")).param("app_auth_token", token);
    assert_eq!(
        with_token("202611BB1234567890")
            .post(&gateway)
            .await
            .node("utf-8", NODE)["code"],
        "10000"
    );
    let node = with_token("unknown")
        .post(&gateway)
        .await
        .node("utf-8", NODE);
    assert_eq!(
        (node["code"].as_str(), node["sub_code"].as_str()),
        (Some("20001"), Some("aop.invalid-app-auth-token"))
    );
    let node = with_token("201901BBexpired")
        .post(&gateway)
        .await
        .node("utf-8", NODE);
    assert_eq!(node["sub_code"], "aop.app-auth-token-time-out");
    gateway.shutdown().await;
}

#[tokio::test]
async fn changing_an_identitys_state_changes_its_answer_at_once() {
    let gateway = start().await;
    let lisi = by_cert("李四", "110101199001011001");
    assert_eq!(query(&gateway, &lisi).await["authorized"], false);
    let (status, patched) = admin(
        &gateway,
        "PATCH",
        "identities/lisi",
        Some(json!({"state": "paused"})),
    )
    .await;
    assert_eq!((status, patched["state"].as_str()), (200, Some("paused")));
    assert_eq!(query(&gateway, &lisi).await["sub_code"], "ZM_ACCOUNT_PAUSE");
    assert_eq!(
        admin(
            &gateway,
            "PATCH",
            "identities/lisi",
            Some(json!({"state": "asleep"}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        admin(&gateway, "GET", "identities/lisi", None).await.1["state"],
        "paused"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn new_identities_grants_and_revocations_drive_the_answer() {
    let gateway = start().await;
    let identity = json!({"id": "wang", "description": "made by a test", "name": "王小明", "cert_no": "110101200001011234", "user_id": "2088102000000099"});
    assert_eq!(
        admin(&gateway, "POST", "identities", Some(identity))
            .await
            .0,
        201
    );
    let wang = by_cert("王小明", "110101200001011234");
    assert_eq!(query(&gateway, &wang).await["authorized"], false);

    let grant = json!({"app_id": APP_ID, "identity": "wang"});
    let (status, granted) = admin(&gateway, "POST", "authorizations", Some(grant.clone())).await;
    assert_eq!(status, 201);
    let open_id = granted["open_id"].as_str().unwrap().to_owned();
    assert!(
        open_id.starts_with("2088") && open_id.len() == 16,
        "{open_id}"
    );
    assert_eq!(
        admin(&gateway, "POST", "authorizations", Some(grant))
            .await
            .1["open_id"],
        open_id.as_str(),
        "deterministic"
    );
    let node = query(&gateway, &wang).await;
    assert_eq!(
        (node["authorized"].as_bool(), node["open_id"].as_str()),
        (Some(true), Some(open_id.as_str()))
    );

    let (_, listed) = admin(&gateway, "GET", "authorizations?identity=wang", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (status, revoked) = admin(
        &gateway,
        "DELETE",
        &format!("authorizations?app_id={APP_ID}&identity=wang"),
        None,
    )
    .await;
    assert_eq!((status, revoked["revoked"].as_u64()), (200, Some(1)));
    assert_eq!(query(&gateway, &wang).await["authorized"], false);
    assert_eq!(
        admin(
            &gateway,
            "DELETE",
            &format!("authorizations?app_id={APP_ID}&identity=wang"),
            None
        )
        .await
        .0,
        404
    );

    assert_eq!(
        admin(&gateway, "DELETE", "identities/wang", None).await.0,
        204
    );
    assert_eq!(
        query(&gateway, &wang).await["sub_code"],
        "ZM_ACCOUNT_NOT_EXISTED"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn identity_conflicts_and_unknown_references_are_refused() {
    let gateway = start().await;
    let clash = json!({"id": "copy", "name": "张三", "cert_no": "33021199003132432"});
    assert_eq!(
        admin(&gateway, "POST", "identities", Some(clash)).await.0,
        409
    );
    assert_eq!(
        admin(
            &gateway,
            "POST",
            "identities",
            Some(json!({"id": "nobody"}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        admin(
            &gateway,
            "POST",
            "identities",
            Some(json!({"id": "bad/id", "user_id": "1"}))
        )
        .await
        .0,
        400
    );
    let grant = json!({"app_id": APP_ID, "identity": "ghost"});
    assert_eq!(
        admin(&gateway, "POST", "authorizations", Some(grant))
            .await
            .0,
        404
    );
    assert_eq!(
        admin(&gateway, "GET", "identities/ghost", None).await.0,
        404
    );
    assert_eq!(admin(&gateway, "GET", "nothing-here", None).await.0, 404);
    let wrong = send_with_headers(&gateway, "PUT", "/__admin/apps", &[], vec![]).await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.headers["allow"], "GET, POST");
    assert_eq!(admin(&gateway, "GET", "apps?colour=red", None).await.0, 400);
    for unmatchable in [
        json!({"id": "pp", "cert_type": "PASSPORT", "name": "A", "cert_no": "110101199001019990"}),
        json!({"id": "nn", "name": "A", "cert_no": "not-a-number"}),
        json!({"id": "sp", "name": " A ", "cert_no": "110101199001019991"}),
        json!({"id": "eu", "user_id": ""}),
    ] {
        let (status, error) =
            admin(&gateway, "POST", "identities", Some(unmatchable.clone())).await;
        assert_eq!(status, 400, "{unmatchable} → {error}");
    }
    let empty_open_id = json!({"app_id": APP_ID, "identity": "lisi", "open_id": ""});
    assert_eq!(
        admin(&gateway, "POST", "authorizations", Some(empty_open_id))
            .await
            .0,
        400
    );
    let (_, ready) = admin(&gateway, "GET", "ready", None).await;
    assert_eq!(ready["identities"], 10, "nothing was stored");
    gateway.shutdown().await;
}

#[tokio::test]
async fn revoking_the_documents_authorisation_answers_not_authorised() {
    let gateway = start().await;
    let path = format!("authorizations?app_id={APP_ID}&identity=zhangsan&auth_category=C2B");
    assert_eq!(admin(&gateway, "DELETE", &path, None).await.0, 200);
    let node = query(&gateway, &zhangsan("C2B")).await;
    assert_eq!(node["authorized"], false);
    assert!(node.get("open_id").is_none());
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_answer_given_before_a_write_is_never_given_after_it() {
    // The gateway remembers authquery answers per store version (issue 21): the same
    // question asked around each kind of write must see the write at once.
    let gateway = start().await;
    let asked = zhangsan("C2B");
    let first = query(&gateway, &asked).await;
    assert_eq!(first["authorized"], true);
    assert_eq!(query(&gateway, &asked).await, first, "asked again");
    let path = format!("authorizations?app_id={APP_ID}&identity=zhangsan&auth_category=C2B");
    assert_eq!(admin(&gateway, "DELETE", &path, None).await.0, 200);
    assert_eq!(query(&gateway, &asked).await["authorized"], false);
    assert_eq!(admin(&gateway, "POST", "reset", None).await.0, 200);
    assert_eq!(query(&gateway, &asked).await, first, "after the reset");
    let paused = json!({"state": "paused"});
    assert_eq!(
        admin(&gateway, "PATCH", "identities/zhangsan", Some(paused))
            .await
            .0,
        200
    );
    assert_eq!(
        query(&gateway, &asked).await["sub_code"],
        "ZM_ACCOUNT_PAUSE"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_admin_token_guards_admin_calls_but_not_the_gateway() {
    let gateway = RunningGateway::start(Config {
        admin_token: Some("s3cret".into()),
        ..Config::ephemeral()
    })
    .await
    .unwrap();
    let refused = send_with_headers(&gateway, "GET", "/__admin/ready", &[], vec![]).await;
    assert_eq!(refused.status, 401);
    assert!(refused.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert_eq!(
        admin_with_token(&gateway, "GET", "ready", None, Some("wrong"))
            .await
            .0,
        401
    );
    assert_eq!(
        admin_with_token(&gateway, "GET", "ready", None, Some("s3cret"))
            .await
            .0,
        200
    );
    assert_eq!(query(&gateway, &zhangsan("C2B")).await["code"], "10000");
    gateway.shutdown().await;
}
