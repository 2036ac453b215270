//! Public (gateway-level) errors over HTTP: codes, texts, node names and which answers
//! are signed, as docs/protocol.md §4 describes the real gateway.

use crate::support::*;
use alipay_mock::crypto::SignType;
use serde_json::{json, Value};

fn error(code: &str, msg: &str, sub_code: &str, sub_msg: &str) -> Value {
    json!({"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg})
}

#[tokio::test]
async fn each_missing_public_parameter_answers_its_40001_sub_code() {
    let gateway = start().await;
    let cases = [
        ("app_id", "isv.missing-app-id", "缺少appId参数", false),
        (
            "sign_type",
            "isv.missing-signature-type",
            "缺少签名类型参数",
            false,
        ),
        ("timestamp", "isv.missing-timestamp", "缺少时间戳参数", true),
        ("version", "isv.missing-version", "缺少版本参数", true),
    ];
    for (param, sub_code, sub_msg, signed) in cases {
        let answer = Call::authquery(DOC_BIZ_CONTENT)
            .without(param)
            .post(&gateway)
            .await;
        let node = answer.node("utf-8", NODE);
        assert_eq!(
            node,
            error("40001", "Missing Required Arguments", sub_code, sub_msg),
            "without {param}"
        );
        assert_eq!(answer.has_sign("utf-8"), signed, "without {param}");
        if signed {
            assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
        }
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_missing_sign_is_40001_isv_missing_signature_signed() {
    let gateway = start().await;
    let answer = Call::authquery(DOC_BIZ_CONTENT)
        .unsigned()
        .post(&gateway)
        .await;
    assert_eq!(
        answer.node("utf-8", NODE),
        error(
            "40001",
            "Missing Required Arguments",
            "isv.missing-signature",
            "缺少签名参数"
        )
    );
    assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_missing_method_answers_in_error_response_signed_for_a_known_app() {
    let gateway = start().await;
    let answer = Call::authquery(DOC_BIZ_CONTENT)
        .without("method")
        .post(&gateway)
        .await;
    assert_eq!(
        answer.node("utf-8", "error_response"),
        error(
            "40001",
            "Missing Required Arguments",
            "isv.missing-method",
            "缺少方法名参数"
        )
    );
    assert!(answer.signature_verifies("utf-8", SignType::Rsa2));
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_unknown_app_answers_unsigned_invalid_app_id() {
    let gateway = start().await;
    let answer = Call::authquery(DOC_BIZ_CONTENT)
        .app("2099000000000000")
        .post(&gateway)
        .await;
    assert_eq!(
        answer.node("utf-8", NODE),
        error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-app-id",
            "无效的AppID参数"
        )
    );
    assert!(!answer.has_sign("utf-8"));
    gateway.shutdown().await;
}

#[tokio::test]
async fn invalid_public_parameters_answer_their_40002_sub_codes_signed() {
    let gateway = start().await;
    let cases = [
        ("format", "xml", "isv.invalid-format", "无效的数据格式"),
        (
            "timestamp",
            "2014-07-24",
            "isv.invalid-timestamp",
            "非法的时间戳参数",
        ),
        (
            "timestamp",
            "2014/07/24 03:07:50",
            "isv.invalid-timestamp",
            "非法的时间戳参数",
        ),
        (
            "timestamp",
            "2014-13-24 03:07:50",
            "isv.invalid-timestamp",
            "非法的时间戳参数",
        ),
        ("version", "2.0", "isv.invalid-parameter", "参数无效"),
        (
            "method",
            "alipay.trade.nonexistent",
            "isv.invalid-method",
            "不存在的方法名",
        ),
        (
            "encrypt_type",
            "DES",
            "isv.invalid-encrypt-type",
            "无效的加密类型",
        ),
    ];
    for (param, value, sub_code, sub_msg) in cases {
        let answer = Call::authquery(DOC_BIZ_CONTENT)
            .param(param, value)
            .post(&gateway)
            .await;
        let node_name = if param == "method" {
            "alipay_trade_nonexistent_response"
        } else {
            NODE
        };
        assert_eq!(
            answer.node("utf-8", node_name),
            error("40002", "Invalid Arguments", sub_code, sub_msg),
            "{param}={value}"
        );
        assert!(
            answer.signature_verifies("utf-8", SignType::Rsa2),
            "{param}={value}"
        );
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn format_is_optional_and_case_insensitive() {
    let gateway = start().await;
    for call in [
        Call::authquery(DOC_BIZ_CONTENT).without("format"),
        Call::authquery(DOC_BIZ_CONTENT).param("format", "json"),
    ] {
        assert_eq!(
            call.post(&gateway).await.node("utf-8", NODE)["code"],
            "10000"
        );
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_unknown_sign_type_answers_unsigned_invalid_signature_type() {
    let gateway = start().await;
    let answer = Call::authquery(DOC_BIZ_CONTENT)
        .param("sign_type", "SM2")
        .post(&gateway)
        .await;
    assert_eq!(
        answer.node("utf-8", NODE),
        error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-signature-type",
            "无效的签名类型"
        )
    );
    assert!(!answer.has_sign("utf-8"), "no algorithm to sign with");
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_unsupported_charset_answers_invalid_charset_in_utf8() {
    let gateway = start().await;
    let answer = Call::authquery(DOC_BIZ_CONTENT)
        .param("charset", "latin1")
        .post(&gateway)
        .await;
    assert_eq!(answer.content_type, "text/html;charset=utf-8");
    assert_eq!(
        answer.node("utf-8", NODE),
        error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-charset",
            "字符集错误"
        )
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_aes_request_without_an_app_aes_key_answers_missing_encrypt_key() {
    let gateway = start().await;
    // The RSA2-only app has no AES key (the default app has one).
    let answer = Call::authquery("aGVsbG8=")
        .app(RSA2_ONLY_APP_ID)
        .param("encrypt_type", "AES")
        .post(&gateway)
        .await;
    assert_eq!(
        answer.node("utf-8", NODE),
        error(
            "40001",
            "Missing Required Arguments",
            "isv.missing-encrypt-key",
            "缺少加密配置"
        )
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413_in_the_gateway_format() {
    let gateway = start().await;
    let body = vec![b'a'; alipay_mock::config::MAX_BODY_BYTES + 1];
    let answer = send(
        &gateway,
        "POST",
        "/gateway.do",
        Some("application/x-www-form-urlencoded"),
        body,
    )
    .await;
    assert_eq!(answer.status, 413);
    assert_eq!(
        answer.node("utf-8", "error_response")["sub_code"],
        "isv.invalid-parameter"
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn other_paths_are_404_and_other_http_methods_405() {
    let gateway = start().await;
    assert_eq!(send(&gateway, "GET", "/", None, vec![]).await.status, 404);
    assert_eq!(
        send(&gateway, "POST", "/gateway.do/x", None, vec![])
            .await
            .status,
        404
    );
    assert_eq!(
        send(&gateway, "PUT", "/gateway.do", None, vec![])
            .await
            .status,
        405
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn an_absolute_form_request_target_is_routed_on_its_path() {
    // The official Python SDK writes `POST http://127.0.0.1/gateway.do?… HTTP/1.1`.
    let gateway = start().await;
    let params = Call::authquery(DOC_BIZ_CONTENT).signed_params();
    let target = format!("http://127.0.0.1/gateway.do?{}", form(&params, "utf-8"));
    let answer = send(
        &gateway,
        "POST",
        &target,
        Some("application/x-www-form-urlencoded"),
        vec![],
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.node("utf-8", NODE)["open_id"], "2088202844499224");
    gateway.shutdown().await;
}

#[tokio::test]
async fn garbage_requests_get_gateway_errors_not_crashes() {
    let gateway = start().await;
    for (target, body) in [
        ("/gateway.do?%ZZ%&&==&method", &b"\xff\xfe%%%"[..]),
        ("/gateway.do?method=%E4%B8%AD%E6%96%87&app_id=%00", &b""[..]),
        (
            "/gateway.do",
            &b"method=a.b&app_id=2014072300007148&sign_type=RSA2&sign=%FF&timestamp=x&version=1.0"
                [..],
        ),
    ] {
        let answer = send(&gateway, "POST", target, None, body.to_vec()).await;
        assert_eq!(answer.status, 200, "{target}");
        let json = answer.json("utf-8");
        let node = json.as_object().unwrap().values().next().unwrap();
        assert!(node["code"].as_str().unwrap().starts_with("400"), "{json}");
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn with_a_timestamp_window_stale_timestamps_are_refused() {
    let gateway = alipay_mock::RunningGateway::start(alipay_mock::Config {
        timestamp_window: Some(std::time::Duration::from_secs(300)),
        ..alipay_mock::Config::ephemeral()
    })
    .await
    .unwrap();
    let stale = Call::authquery(DOC_BIZ_CONTENT).post(&gateway).await;
    assert_eq!(
        stale.node("utf-8", NODE)["sub_code"],
        "isv.invalid-timestamp"
    );
    // Beijing time now, as the Java SDK sends it.
    let beijing = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let now = beijing
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap();
    let fresh = Call::authquery(DOC_BIZ_CONTENT)
        .param("timestamp", &now)
        .post(&gateway)
        .await;
    assert_eq!(fresh.node("utf-8", NODE)["code"], "10000", "{now}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn gb2312_requests_are_decoded_and_answered_in_gb2312() {
    let gateway = start().await;
    let answer = Call::authquery(DOC_BIZ_CONTENT)
        .charset("gb2312")
        .post(&gateway)
        .await;
    assert_eq!(answer.content_type, "text/html;charset=gb2312");
    assert_eq!(answer.node("gb2312", NODE)["open_id"], "2088202844499224");
    assert!(answer.signature_verifies("gb2312", SignType::Rsa2));
    gateway.shutdown().await;
}
