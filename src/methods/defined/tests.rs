use serde_json::json;
use time::macros::datetime;

use super::*;

const ISSUE_EXAMPLE: &str = r#"{
  "method": "alipay.trade.query",
  "description": "what this definition demonstrates",
  "rules": [
    {"when": {"out_trade_no": "T1001"},
     "answer": {"trade_no": "{{digits:28}}", "out_trade_no": "{{biz.out_trade_no}}",
                "trade_status": "TRADE_SUCCESS", "total_amount": "88.88", "send_pay_date": "{{now}}",
                "buyer_logon_id": "13812345678"}},
    {"when": {"out_trade_no": "T404"},
     "error": {"sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}},
    {"answer": {"trade_status": "WAIT_BUYER_PAY", "out_trade_no": "{{biz.out_trade_no}}"},
     "notify": {"params": {"out_trade_no": "{{biz.out_trade_no}}", "trade_status": "WAIT_BUYER_PAY"}, "delay_seconds": 5}}
  ],
  "mask": ["buyer_logon_id"],
  "example": {"out_trade_no": "T1001"}
}"#;

fn answer(compiled: &Compiled, biz: serde_json::Value, notify_url: Option<&str>) -> Answered {
    let param = move |name: &str| {
        (name == "notify_url")
            .then(|| notify_url.map(str::to_owned))
            .flatten()
    };
    compiled.answer(&Request {
        app_id: "2021000000000001",
        biz: Some(&biz),
        param: &param,
        now: datetime!(2026-12-03 01:02:03 UTC),
        sign_type: SignType::Rsa2,
        charset: "utf-8",
    })
}

fn refusal(text: &str) -> DefinitionError {
    match Compiled::parse(text.as_bytes()) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e,
    }
}

#[test]
fn the_first_matching_rule_answers_with_code_and_msg_first() {
    let compiled = Compiled::parse(ISSUE_EXAMPLE.as_bytes()).unwrap();
    let node = answer(&compiled, json!({"out_trade_no": "T1001"}), None)
        .node
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&node).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(&keys[..3], &["code", "msg", "trade_no"]);
    assert_eq!(value["code"], "10000");
    assert_eq!(value["msg"], "Success");
    assert_eq!(value["out_trade_no"], "T1001");
    assert_eq!(value["send_pay_date"], "2026-12-03 09:02:03");
    assert_eq!(value["trade_no"].as_str().unwrap().len(), 28);
}

#[test]
fn an_error_rule_answers_40004_with_its_sub_code_and_sub_msg() {
    let compiled = Compiled::parse(ISSUE_EXAMPLE.as_bytes()).unwrap();
    let error = answer(&compiled, json!({"out_trade_no": "T404"}), None)
        .node
        .unwrap_err();
    let wire = error.wire();
    assert_eq!((wire.code, wire.msg), ("40004", "Business Failed"));
    assert_eq!(
        (&*wire.sub_code, &*wire.sub_msg),
        ("ACQ.TRADE_NOT_EXIST", "交易不存在")
    );
}

#[test]
fn a_public_sub_code_takes_its_own_class_and_message() {
    let spec = ErrorSpec {
        code: None,
        sub_code: "aop.invalid-auth-token".into(),
        sub_msg: None,
    };
    let wire = Answer::error(&spec, "error").unwrap().wire();
    assert_eq!((wire.code, &*wire.sub_msg), ("20001", "无效的访问令牌"));
}

#[test]
fn when_compares_json_values_at_dotted_paths() {
    let compiled = Compiled::parse(
        br#"{"method":"a.b.c","rules":[
            {"when":{"buyer.id":2088,"flag":true},"answer":{"r":"one"}},
            {"answer":{"r":"other"}}]}"#,
    )
    .unwrap();
    let r = |biz| {
        let node = answer(&compiled, biz, None).node.unwrap();
        serde_json::from_str::<serde_json::Value>(&node).unwrap()["r"].clone()
    };
    assert_eq!(r(json!({"buyer": {"id": 2088}, "flag": true})), "one");
    // "2088" the string is not 2088 the number.
    assert_eq!(r(json!({"buyer": {"id": "2088"}, "flag": true})), "other");
    assert_eq!(r(json!({"flag": true})), "other");
}

#[test]
fn no_matching_rule_is_a_business_failure_that_names_the_method() {
    let compiled =
        Compiled::parse(br#"{"method":"a.b.c","rules":[{"when":{"x":1},"answer":{}}]}"#).unwrap();
    let wire = answer(&compiled, json!({}), None).node.unwrap_err().wire();
    assert_eq!((wire.code, &*wire.sub_code), ("40004", NO_MATCHING_RULE));
    assert!(wire.sub_msg.contains("a.b.c"));
}

#[test]
fn mask_paths_are_masked_in_the_answer_and_the_request() {
    let compiled = Compiled::parse(ISSUE_EXAMPLE.as_bytes()).unwrap();
    let shown = answer(&compiled, json!({"out_trade_no": "T1001"}), None)
        .shown
        .unwrap();
    assert!(
        shown.contains(r#""buyer_logon_id":"138****5678""#),
        "{shown}"
    );
    let biz = compiled
        .masked_biz(Some(
            r#"{"out_trade_no":"T1","buyer_logon_id":"13812345678"}"#,
        ))
        .unwrap();
    assert_eq!(
        biz,
        r#"{"out_trade_no":"T1","buyer_logon_id":"138****5678"}"#
    );
    assert_eq!(
        compiled.masked_biz(Some("not json")).unwrap(),
        "[masked: 8 characters]"
    );
}

#[test]
fn a_rule_with_notify_yields_a_rendered_notification_only_with_notify_url() {
    let compiled = Compiled::parse(ISSUE_EXAMPLE.as_bytes()).unwrap();
    let biz = json!({"out_trade_no": "T7"});
    assert!(answer(&compiled, biz.clone(), None).notification.is_none());
    let n = answer(&compiled, biz, Some("https://example.test/notify"))
        .notification
        .unwrap();
    assert_eq!(n.notify_url, "https://example.test/notify");
    assert_eq!(
        n.params,
        vec![
            ("out_trade_no".to_owned(), "T7".to_owned()),
            ("trade_status".to_owned(), "WAIT_BUYER_PAY".to_owned())
        ]
    );
    assert_eq!((n.delay_seconds, n.sign_type), (5, SignType::Rsa2));
}

#[test]
fn seq_counts_the_methods_answers_from_one() {
    let compiled =
        Compiled::parse(br#"{"method":"a.b.c","rules":[{"answer":{"n":"{{seq}}"}}]}"#).unwrap();
    for expected in ["1", "2", "3"] {
        let node = answer(&compiled, json!({}), None).node.unwrap();
        assert!(node.contains(&format!(r#""n":"{expected}""#)), "{node}");
    }
}

#[test]
fn malformed_definitions_are_refused_naming_the_field() {
    let cases = [
        ("not json", "definition"),
        (
            r#"{"method":"a.b.c","rules":[{"answer":{}}],"extra":1}"#,
            "definition",
        ),
        (
            r#"{"method":"Alipay.Trade.Query","rules":[{"answer":{}}]}"#,
            "method",
        ),
        (
            r#"{"method":"alipay.trade","rules":[{"answer":{}}]}"#,
            "method",
        ),
        (
            r#"{"method":"alipay..query","rules":[{"answer":{}}]}"#,
            "method",
        ),
        (
            r#"{"method":"zhima.auth.info.authquery","rules":[{"answer":{}}]}"#,
            "method",
        ),
        (r#"{"method":"a.b.c","rules":[]}"#, "rules"),
        (
            r#"{"method":"a.b.c","rules":[{"when":{"a..b":1},"answer":{}}]}"#,
            "rules[0].when",
        ),
        (
            r#"{"method":"a.b.c","rules":[{"answer":"text"}]}"#,
            "rules[0].answer",
        ),
        (
            r#"{"method":"a.b.c","rules":[{"answer":{"x":"{{bogus}}"}}]}"#,
            "rules[0].answer.x",
        ),
        (
            r#"{"method":"a.b.c","rules":[{"answer":{},"error":{"sub_code":"X","sub_msg":"y"}}]}"#,
            "rules[0]",
        ),
        (r#"{"method":"a.b.c","rules":[{}]}"#, "rules[0]"),
        (
            r#"{"method":"a.b.c","rules":[{"error":{"sub_code":"X"}}]}"#,
            "rules[0].error.sub_msg",
        ),
        (
            r#"{"method":"a.b.c","rules":[{"error":{"code":"12345","sub_code":"X","sub_msg":"y"}}]}"#,
            "rules[0].error.code",
        ),
        (
            r#"{"method":"a.b.c","rules":[{"answer":{},"notify":{"params":{"a":1}}}]}"#,
            "rules[0].notify.params.a",
        ),
        (
            r#"{"method":"a.b.c","rules":[{"answer":{},"notify":{"params":{"a":"{{x}}"}}}]}"#,
            "rules[0].notify.params.a",
        ),
        (
            r#"{"method":"a.b.c","rules":[{"answer":{}}],"mask":["a b"]}"#,
            "mask[0]",
        ),
        (
            r#"{"method":"a.b.c","rules":[{"answer":{}}],"example":[1]}"#,
            "example",
        ),
    ];
    for (text, field) in cases {
        assert_eq!(refusal(text).field, field, "{text}");
    }
}

#[test]
fn unknown_keys_are_named_in_the_refusal() {
    let e = refusal(r#"{"method":"a.b.c","rules":[{"whn":{},"answer":{}}]}"#);
    assert!(e.message.contains("unknown field `whn`"), "{}", e.message);
}

#[test]
fn a_definition_above_the_byte_bound_is_refused_before_parsing() {
    let text = format!(
        r#"{{"method":"a.b.c","description":"{}","rules":[{{"answer":{{}}}}]}}"#,
        "x".repeat(MAX_DEFINITION_BYTES)
    );
    let e = refusal(&text);
    assert!(e.message.contains("at most"), "{}", e.message);
}

#[test]
fn defining_a_built_in_method_is_refused_with_the_reason() {
    let e = refusal(r#"{"method":"alipay.open.app.alipaycert.download","rules":[{"answer":{}}]}"#);
    assert!(e.message.contains("built in"), "{}", e.message);
}

#[test]
fn an_answer_that_would_multiply_a_large_request_past_the_bound_is_a_clear_business_error() {
    // Regression: `{{biz.PATH}}` repeated in a definition multiplied the request's bytes
    // without limit (a 64 KiB definition times a 1 MiB request: gigabytes per call).
    let copies = "{{biz.a}}".repeat(16);
    let text = format!(
        r#"{{"method":"a.b.c","rules":[{{"answer":{{"x":"{copies}"}},"notify":{{"params":{{"y":"{copies}"}}}}}}]}}"#
    );
    let compiled = Compiled::parse(text.as_bytes()).unwrap();
    let large = "z".repeat(template::MAX_RENDERED_BYTES / 8);
    let answered = answer(
        &compiled,
        json!({ "a": large }),
        Some("http://127.0.0.1:1/n"),
    );
    let wire = answered.node.unwrap_err().wire();
    assert_eq!((wire.code, &*wire.sub_code), ("40004", ANSWER_TOO_LARGE));
    assert!(wire.sub_msg.contains("a.b.c"), "{}", wire.sub_msg);
    assert!(answered.notification.is_none());

    // The same definition still answers a request of ordinary size.
    let small = answer(&compiled, json!({"a": "ok"}), None).node.unwrap();
    assert!(small.contains(&"ok".repeat(16)), "{small}");
}

/// Regression (issue 17's review): only top-level `mask` names were matched, so a
/// nested masked path copied into a notification parameter of another name was
/// journaled in clear.
#[test]
fn a_notification_param_rendered_from_a_masked_nested_path_is_masked_whatever_its_name() {
    let compiled = Compiled::parse(
        br#"{"method": "alipay.trade.query",
             "rules": [{"answer": {"trade_status": "TRADE_SUCCESS"},
                        "notify": {"params": {
                            "buyer_logon_id": "{{biz.buyer.logon_id}}",
                            "buyer_info": "{{biz.buyer}}",
                            "buyer_id": "{{biz.buyer.id}}",
                            "out_trade_no": "{{biz.out_trade_no}}"}}}],
             "mask": ["buyer.logon_id"]}"#,
    )
    .unwrap();
    let biz = json!({"out_trade_no": "T1",
                     "buyer": {"logon_id": "13812345678", "id": "2088102177220437"}});
    let n = answer(&compiled, biz, Some("http://127.0.0.1:9/notify"))
        .notification
        .unwrap();

    let shown = compiled.masked_notification(&n);

    let value = |name: &str| {
        shown
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(value("buyer_logon_id"), "138****5678");
    assert!(!value("buyer_info").contains("13812345678"), "{shown:?}");
    assert_eq!(value("buyer_id"), "2088102177220437");
    assert_eq!(value("out_trade_no"), "T1");
    // What is sent is not masked.
    assert!(n
        .params
        .contains(&("buyer_logon_id".into(), "13812345678".into())));
}
