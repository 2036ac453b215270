//! `alipay-mock admin …` end to end: the built binary drives the admin API of a gateway
//! started in-process on 127.0.0.1:0, and signed gateway calls show the effect of each verb.
//! The API they drive is described by docs/admin-openapi.yaml.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::support::*;
use alipay_mock::config::{ADMIN_TOKEN_ENV as TOKEN_ENV, URL_ENV};
use alipay_mock::RunningGateway;
use serde_json::{json, Value};

const ZHANGSAN_CERT_NO: &str = "33021199003132432";

/// A gateway on a multi-thread runtime (it keeps serving while the test thread waits for
/// the binary), shut down on drop.
struct Harness {
    runtime: tokio::runtime::Runtime,
    gateway: Option<RunningGateway>,
}

impl Harness {
    fn start() -> Harness {
        Harness::with_config(alipay_mock::Config::ephemeral())
    }

    fn with_config(config: alipay_mock::Config) -> Harness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let gateway = runtime
            .block_on(RunningGateway::start(config))
            .expect("gateway starts");
        Harness {
            runtime,
            gateway: Some(gateway),
        }
    }

    fn gateway(&self) -> &RunningGateway {
        self.gateway.as_ref().expect("running until drop")
    }

    /// `alipay-mock admin ARGS…` with nothing from the caller's environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("admin")
            .args(args)
            .env_remove(URL_ENV)
            .env_remove(TOKEN_ENV)
            .stdin(Stdio::null());
        command
    }

    /// `alipay-mock admin --url <gateway.do URL> ARGS…`, `stdin` piped in.
    fn admin_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let url = self.gateway().url();
        let mut command = self.command(&[&["--url", url.as_str()][..], args].concat());
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn admin(&self, args: &[&str]) -> Output {
        self.admin_with_stdin(args, "")
    }

    /// A verb that must succeed; its output as JSON.
    fn ok(&self, args: &[&str]) -> Value {
        succeeded(args, &self.admin(args))
    }

    /// A verb that must succeed and print nothing (the API answers 204).
    fn quiet(&self, args: &[&str]) {
        let output = self.admin(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert_eq!(stdout(&output), "", "{args:?}");
    }

    /// A verb that must fail with exit status 1; what it says on stderr.
    fn fails(&self, args: &[&str]) -> String {
        let output = self.admin(args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?} should fail; printed {}",
            stdout(&output)
        );
        stderr(&output)
    }

    /// The `zhima.auth.info.authquery` answer node for a biz_content, as the default app.
    fn query(&self, biz_content: &str) -> Value {
        self.query_as(APP_ID, biz_content)
    }

    fn query_as(&self, app_id: &str, biz_content: &str) -> Value {
        let call = Call::authquery(biz_content).app(app_id);
        self.runtime
            .block_on(call.post(self.gateway()))
            .node("utf-8", NODE)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(gateway) = self.gateway.take() {
            self.runtime.block_on(gateway.shutdown());
        }
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn succeeded(args: &[&str], output: &Output) -> Value {
    assert!(output.status.success(), "{args:?}: {}", stderr(output));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", stdout(output)))
}

fn fixture_len(json: &str, key: &str) -> u64 {
    let value: Value = serde_json::from_str(json).unwrap();
    value[key].as_array().unwrap().len() as u64
}

/// A JSON file in a temporary folder that lives as long as the returned guard.
fn json_file(value: &Value) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.json");
    std::fs::write(&path, value.to_string()).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

fn is_authorized(node: &Value) -> bool {
    assert_eq!(node["code"], "10000", "{node}");
    node["authorized"] == json!(true)
}

#[test]
fn ready_reports_what_the_fixtures_seeded_and_health_says_ok() {
    let h = Harness::start();

    let ready = h.ok(&["ready"]);

    assert_eq!(ready["status"], "ready");
    assert_eq!(
        ready["apps"],
        fixture_len(include_str!("../../fixtures/apps.json"), "apps")
    );
    assert_eq!(
        ready["identities"],
        fixture_len(include_str!("../../fixtures/identities.json"), "identities")
    );
    assert_eq!(
        ready["authorizations"],
        fixture_len(
            include_str!("../../fixtures/authorizations.json"),
            "authorizations"
        )
    );
    assert_eq!(ready["scenarios"], 0);
    let digest = ready["fixtures_digest"].as_str().unwrap();
    assert!(
        !digest.is_empty() && digest.chars().all(|c| c.is_ascii_hexdigit()),
        "{ready}"
    );
    assert_eq!(
        ready["seeded_from"], ready["fixtures_digest"],
        "a fresh store is seeded from the fixtures this process loaded"
    );
    assert_eq!(h.ok(&["health"]), json!({ "status": "ok" }));
}

#[test]
fn url_takes_the_bare_listener_or_the_gateway_url_or_comes_from_the_environment() {
    let h = Harness::start();
    let bare = format!("http://{}", h.gateway().addr());

    let with_flag = h.command(&["--url", &bare, "health"]).output().unwrap();
    let flag_after_verb = h.command(&["health", "--url", &bare]).output().unwrap();
    let from_env = h
        .command(&["health"])
        .env(URL_ENV, h.gateway().url())
        .output()
        .unwrap();

    for output in [with_flag, flag_after_verb, from_env] {
        assert_eq!(succeeded(&["health"], &output), json!({ "status": "ok" }));
    }
}

#[test]
fn apps_list_and_get_show_the_seeded_apps_with_their_platform_public_key() {
    let h = Harness::start();

    let apps = h.ok(&["apps", "list"]);
    let app = h.ok(&["apps", "get", APP_ID]);

    let ids: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&APP_ID) && ids.contains(&RSA2_ONLY_APP_ID),
        "{ids:?}"
    );
    assert_eq!(app["app_id"], APP_ID);
    let platform = app["platform_public_key"].as_str().unwrap();
    assert_eq!(
        alipay_mock::keys::parse_public_key(platform).unwrap(),
        alipay_mock::keys::parse_public_key(ALIPAY_PUBLIC_KEY).unwrap(),
        "without its own platform key an app is answered with the gateway's"
    );
}

#[test]
fn an_app_created_from_stdin_serves_calls_and_can_be_patched_replaced_and_deleted() {
    let h = Harness::start();
    let new_app = "2021000000000099";
    let app = json!({
        "app_id": new_app,
        "name": "from the CLI",
        "public_keys": { "RSA2": APP_PUBLIC_KEY }
    });

    let created = succeeded(
        &["apps", "create", "-"],
        &h.admin_with_stdin(&["apps", "create", "-"], &app.to_string()),
    );
    assert_eq!(created["app_id"], new_app);
    assert_eq!(created["name"], "from the CLI");
    let again = h.admin_with_stdin(&["apps", "create", "-"], &app.to_string());
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("HTTP 409"), "{}", stderr(&again));

    let node = h.query_as(new_app, DOC_BIZ_CONTENT);
    assert!(
        !is_authorized(&node),
        "nobody authorised the new app: {node}"
    );

    let (_dir, patch) = json_file(&json!({ "name": "patched" }));
    let patched = h.ok(&["apps", "patch", new_app, &patch]);
    assert_eq!(patched["name"], "patched");
    assert_eq!(patched["public_keys"]["RSA2"], APP_PUBLIC_KEY);

    let (_dir, replacement) = json_file(&json!({
        "name": "replaced",
        "public_keys": { "RSA2": APP_PUBLIC_KEY }
    }));
    let replaced = h.ok(&["apps", "update", new_app, &replacement]);
    assert_eq!(replaced["app_id"], new_app);
    assert_eq!(replaced["name"], "replaced");

    h.quiet(&["apps", "delete", new_app]);
    let gone = h.fails(&["apps", "get", new_app]);
    assert!(gone.contains("HTTP 404"), "{gone}");
}

#[test]
fn set_state_forces_the_business_outcome_of_a_query() {
    let h = Harness::start();
    assert!(is_authorized(&h.query(DOC_BIZ_CONTENT)));

    let identity = h.ok(&["identities", "set-state", "zhangsan", "paused"]);

    assert_eq!(identity["id"], "zhangsan");
    assert_eq!(identity["state"], "paused");
    let node = h.query(DOC_BIZ_CONTENT);
    assert_eq!(node["code"], "40004", "{node}");
    assert_eq!(node["sub_code"], "ZM_ACCOUNT_PAUSE", "{node}");

    h.ok(&["identities", "set-state", "zhangsan", "normal"]);
    assert!(is_authorized(&h.query(DOC_BIZ_CONTENT)));
}

#[test]
fn identities_list_get_create_and_delete() {
    let h = Harness::start();
    let listed = h.ok(&["identities", "list"]);
    assert_eq!(
        listed.as_array().unwrap().len() as u64,
        fixture_len(include_str!("../../fixtures/identities.json"), "identities")
    );
    assert_eq!(h.ok(&["identities", "get", "lisi"])["cert_no"], LISI.1);

    let (_dir, file) = json_file(&json!({
        "id": "cli-person", "name": "测试", "cert_no": "110101199001010000"
    }));
    let created = h.ok(&["identities", "create", &file]);
    assert_eq!(created["id"], "cli-person");
    let (_dir, duplicate) = json_file(&json!({ "id": "other", "name": "李四", "cert_no": LISI.1 }));
    let conflict = h.fails(&["identities", "create", &duplicate]);
    assert!(conflict.contains("HTTP 409"), "{conflict}");

    h.quiet(&["identities", "delete", "cli-person"]);
    let gone = h.fails(&["identities", "get", "cli-person"]);
    assert!(
        gone.starts_with("alipay-mock: HTTP 404 Not Found: "),
        "{gone}"
    );
    assert!(
        gone.trim_end().len() > "alipay-mock: HTTP 404 Not Found: ".len(),
        "the server's error text follows the status: {gone}"
    );
}

#[test]
fn grant_and_revoke_change_what_the_query_answers() {
    let h = Harness::start();
    let lisi = by_cert("李四", LISI.1);
    assert!(!is_authorized(&h.query(&lisi)));

    let granted = h.ok(&[
        "auth",
        "grant",
        "--app-id",
        APP_ID,
        "--identity",
        "lisi",
        "--open-id",
        "2088000000000042",
    ]);

    assert_eq!(
        granted,
        json!({
            "app_id": APP_ID, "identity": "lisi",
            "auth_category": "C2B", "open_id": "2088000000000042"
        })
    );
    let node = h.query(&lisi);
    assert!(is_authorized(&node), "{node}");
    assert_eq!(node["open_id"], "2088000000000042");
    let listed = h.ok(&["auth", "list", "--identity", "lisi"]);
    assert_eq!(listed, json!([granted]));

    let revoked = h.ok(&["auth", "revoke", "--app-id", APP_ID, "--identity", "lisi"]);
    assert_eq!(revoked, json!({ "revoked": 1 }));
    assert!(!is_authorized(&h.query(&lisi)));
    let nothing = h.fails(&["auth", "revoke", "--app-id", APP_ID, "--identity", "lisi"]);
    assert!(nothing.contains("HTTP 404"), "{nothing}");
}

#[test]
fn a_forced_error_answers_the_next_matching_call_only() {
    let h = Harness::start();

    let scenario = h.ok(&[
        "scenarios",
        "force",
        "--error",
        "isp.unknow-error",
        "--app-id",
        APP_ID,
        "--method",
        AUTHQUERY,
    ]);

    assert!(scenario["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(scenario["outcome"], json!({ "error": "isp.unknow-error" }));
    assert_eq!(scenario["remaining"], 1);
    let forced = h.query(DOC_BIZ_CONTENT);
    assert_eq!(forced["code"], "20000", "{forced}");
    assert_eq!(forced["sub_code"], "isp.unknow-error", "{forced}");
    assert!(
        is_authorized(&h.query(DOC_BIZ_CONTENT)),
        "times defaults to 1"
    );
}

#[test]
fn forced_authorized_false_holds_for_times_n_and_a_business_code_can_be_forced() {
    let h = Harness::start();

    h.ok(&[
        "scenarios",
        "force",
        "--authorized",
        "false",
        "--identity",
        "zhangsan",
        "--times",
        "2",
    ]);

    assert!(!is_authorized(&h.query(DOC_BIZ_CONTENT)));
    assert!(!is_authorized(&h.query(DOC_BIZ_CONTENT)));
    assert!(is_authorized(&h.query(DOC_BIZ_CONTENT)));

    let timed = h.ok(&[
        "scenarios",
        "force",
        "--error",
        "ZM_ACCOUNT_PAUSE",
        "--for-seconds",
        "60",
    ]);
    assert!(timed["expires_at"].is_string(), "{timed}");
    let node = h.query(DOC_BIZ_CONTENT);
    assert_eq!(
        (&node["code"], &node["sub_code"]),
        (&json!("40004"), &json!("ZM_ACCOUNT_PAUSE"))
    );
    let id = timed["id"].as_str().unwrap();
    assert_eq!(h.ok(&["scenarios", "get", id])["id"], id);
    let listed = h.ok(&["scenarios", "list"]);
    assert!(
        listed.as_array().unwrap().iter().any(|s| s["id"] == id),
        "{listed}"
    );

    assert_eq!(h.ok(&["scenarios", "clear"]), json!({ "deleted": 1 }));
    assert!(is_authorized(&h.query(DOC_BIZ_CONTENT)));
}

#[test]
fn faults_set_from_a_file_apply_until_cleared() {
    let h = Harness::start();
    let (_dir, file) = json_file(&json!({ "seed": 7, "unknown_error_rate": 1.0 }));

    let set = h.ok(&["faults", "set", &file]);

    assert_eq!(set["seed"], 7);
    assert_eq!(h.ok(&["faults", "get"]), set);
    let node = h.query(DOC_BIZ_CONTENT);
    assert_eq!(
        (&node["code"], &node["sub_code"]),
        (&json!("20000"), &json!("isp.unknow-error"))
    );

    h.quiet(&["faults", "clear"]);
    assert_eq!(h.ok(&["faults", "get"]), json!({}));
    assert!(is_authorized(&h.query(DOC_BIZ_CONTENT)));
}

#[test]
fn requests_lists_the_journal_newest_last_filters_it_and_clear_empties_it() {
    let h = Harness::start();
    h.query(DOC_BIZ_CONTENT);
    let forged = Call::authquery(DOC_BIZ_CONTENT).with_sign("bm90IGEgc2lnbg==");
    h.runtime.block_on(forged.post(h.gateway()));

    let all = h.ok(&["requests", "--method", AUTHQUERY]);
    let bad = h.ok(&["requests", "--outcome", "isv.invalid-signature"]);
    let newest = h.ok(&["requests", "--limit", "1"]);

    assert_eq!(all["total"], 2, "{all}");
    let entries = all["requests"].as_array().unwrap();
    assert_eq!(entries[0]["outcome"]["code"], "10000");
    assert_eq!(entries[1]["outcome"]["sub_code"], "isv.invalid-signature");
    assert_eq!(entries[1]["app_id"], APP_ID);
    assert!(
        !all.to_string().contains(ZHANGSAN_CERT_NO),
        "certificate numbers are masked in the journal: {all}"
    );
    assert_eq!(bad["requests"].as_array().unwrap().len(), 1);
    assert_eq!(newest["requests"].as_array().unwrap().len(), 1);
    assert_eq!(newest["requests"][0]["id"], entries[1]["id"]);

    assert_eq!(h.ok(&["requests", "clear"]), json!({ "deleted": 2 }));
    assert_eq!(h.ok(&["requests"])["total"], 0);
}

#[test]
fn reset_of_one_app_leaves_the_other_apps_scenarios() {
    let h = Harness::start();
    for app in [APP_ID, RSA2_ONLY_APP_ID] {
        h.ok(&[
            "scenarios",
            "force",
            "--error",
            "isp.unknow-error",
            "--app-id",
            app,
            "--times",
            "5",
        ]);
    }

    let reset = h.ok(&["reset", "--app-id", APP_ID]);

    assert_eq!(reset, json!({ "reset": APP_ID }));
    assert_eq!(h.ok(&["scenarios", "list", "--app-id", APP_ID]), json!([]));
    assert_eq!(
        h.ok(&["scenarios", "list", "--app-id", RSA2_ONLY_APP_ID])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Assumes what the contract leaves implicit: reset puts the store back as seeded and
/// drops scenarios, faults and the journal.
#[test]
fn reset_puts_back_the_seeded_state() {
    let h = Harness::start();
    h.ok(&["identities", "set-state", "zhangsan", "paused"]);
    h.ok(&["auth", "grant", "--app-id", APP_ID, "--identity", "lisi"]);
    h.ok(&[
        "scenarios",
        "force",
        "--error",
        "isp.unknow-error",
        "--times",
        "9",
    ]);
    let (_dir, file) = json_file(&json!({ "seed": 1, "latency_ms": 1 }));
    h.ok(&["faults", "set", &file]);

    let reset = h.ok(&["reset"]);

    assert_eq!(reset, json!({ "reset": "all" }));
    assert_eq!(h.ok(&["scenarios", "list"]), json!([]));
    assert_eq!(h.ok(&["faults", "get"]), json!({}));
    assert_eq!(h.ok(&["identities", "get", "zhangsan"])["state"], "normal");
    assert_eq!(
        h.ok(&["auth", "list", "--identity", "lisi"]),
        json!([]),
        "the grant is gone"
    );
    assert!(is_authorized(&h.query(DOC_BIZ_CONTENT)));
}

#[test]
fn a_closed_port_is_reported_as_a_connection_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();

    let output = Command::new(BIN)
        .args([
            "admin",
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "ready",
        ])
        .env_remove(TOKEN_ENV)
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let said = stderr(&output);
    assert!(
        said.contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{said}"
    );
}

#[test]
fn health_with_a_timeout_answers_ok_from_a_running_gateway() {
    let h = Harness::start();

    assert_eq!(
        h.ok(&["--timeout", "2", "health"]),
        json!({ "status": "ok" })
    );
}

/// The container image's HEALTHCHECK runs `admin --timeout 2 health`: a process that
/// accepts connections but never answers must turn into exit status 1 within the
/// timeout, not after the 30 s default.
#[test]
fn health_gives_up_within_its_timeout_on_a_port_that_accepts_but_never_answers() {
    // Bound and listening but never accepting: the kernel completes the handshake,
    // nothing ever reads the request.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut child = Command::new(BIN)
        .args(["admin", "--url", &format!("http://127.0.0.1:{port}")])
        .args(["--timeout", "500ms", "health"])
        .env_remove(URL_ENV)
        .env_remove(TOKEN_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Far above the timeout, far below the 30 s default: a generous bound, not a benchmark.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("`admin --timeout 500ms health` still running after 15 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();

    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let said = stderr(&output);
    assert!(
        said.contains(&format!("no answer from 127.0.0.1:{port} within 500ms")),
        "{said}"
    );
    drop(silent);
}

#[test]
fn an_unreadable_timeout_is_refused_before_anything_is_sent() {
    let output = Command::new(BIN)
        .args(["admin", "--timeout", "0", "health"])
        .env_remove(URL_ENV)
        .env_remove(TOKEN_ENV)
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2), "clap's usage error");
    let said = stderr(&output);
    assert!(
        said.contains("--timeout") && said.contains("500ms"),
        "{said}"
    );
}

#[test]
fn the_token_comes_from_the_flag_or_the_environment() {
    let h = Harness::with_config(alipay_mock::Config {
        admin_token: Some("s3cret".into()),
        ..alipay_mock::Config::ephemeral()
    });
    let refused = h.fails(&["ready"]);
    assert!(refused.contains("HTTP 401"), "{refused}");
    assert_eq!(h.ok(&["--token", "s3cret", "ready"])["status"], "ready");
    let output = h
        .command(&["--url", &h.gateway().url(), "ready"])
        .env(TOKEN_ENV, "s3cret")
        .output()
        .unwrap();
    assert_eq!(succeeded(&["ready"], &output)["status"], "ready");
}

#[test]
fn set_aes_key_and_clear_aes_key_switch_an_apps_content_encryption() {
    let h = Harness::start();
    let key = "mRpcDcfCIHfPn/09B9QiJg==";
    let encrypted_call = || {
        let aes = alipay_mock::content_encryption::AesKey::from_base64(key).unwrap();
        let ciphertext = aes.encrypt(by_cert("张三", ZHANGSAN_CERT_NO).as_bytes());
        let call = Call::authquery(&ciphertext)
            .app(RSA2_ONLY_APP_ID)
            .param("encrypt_type", "AES");
        h.runtime.block_on(call.post(h.gateway())).json("utf-8")[NODE].clone()
    };
    assert_eq!(encrypted_call()["sub_code"], "isv.missing-encrypt-key");
    let app = h.ok(&["apps", "set-aes-key", RSA2_ONLY_APP_ID, key]);
    assert_eq!(app["aes_key"], key);
    assert!(encrypted_call().is_string(), "the answer is encrypted");
    let app = h.ok(&["apps", "clear-aes-key", RSA2_ONLY_APP_ID]);
    assert!(app.get("aes_key").is_none(), "{app}");
    assert_eq!(encrypted_call()["sub_code"], "isv.missing-encrypt-key");
    let refused = h.fails(&["apps", "set-aes-key", RSA2_ONLY_APP_ID, "c2hvcnQ="]);
    assert!(refused.contains("aes_key"), "{refused}");
}
