//! `alipay-mock doctor`: a captured request examined offline, no gateway running. The
//! requests are signed here with the fixture keys (and a key the fixtures do not know),
//! and given as a URL, a curl command line or decoded parameters.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use crate::support::*;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockEncryptMut, KeyIvInit};
use alipay_mock::crypto::{self, SignType};
use alipay_mock::keys;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

fn doctor(args: &[&str]) -> Output {
    Command::new(BIN).arg("doctor").args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The correct string to sign of `params`, joined by hand.
fn joined(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(k, v)| k.as_str() != "sign" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn url_of(params: &BTreeMap<String, String>) -> String {
    format!("http://127.0.0.1:9600/gateway.do?{}", form(params, "utf-8"))
}

#[test]
fn a_correct_request_given_as_a_url_is_verified_and_exits_0() {
    let params = Call::authquery(DOC_BIZ_CONTENT).signed_params();
    let output = doctor(&["--url", &url_of(&params)]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&joined(&params)),
        "prints the string to sign: {text}"
    );
    assert!(text.contains("signature: verified"), "{text}");
    assert!(!text.contains("diagnosis"), "{text}");
}

#[test]
fn a_curl_command_line_with_a_mistaken_signature_gets_the_diagnosis_and_exits_3() {
    // Signed over the values percent-encoded as Python's quote(v, safe="") writes them.
    let call = Call::authquery(DOC_BIZ_CONTENT);
    let unsigned = call.clone().unsigned().signed_params();
    let encoded: String = unsigned
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .bytes()
                .map(|b| match b {
                    b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => {
                        char::from(b).to_string()
                    }
                    b => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&");
    let key = keys::parse_private_key(APP_PRIVATE_KEY).unwrap();
    let sign = crypto::sign(&key, SignType::Rsa2, encoded.as_bytes()).unwrap();
    let mut query = call.with_sign(&sign).signed_params();
    let biz = query.remove("biz_content").unwrap();
    let mut body = BTreeMap::new();
    body.insert("biz_content".to_owned(), biz);
    let curl = format!(
        "curl -sS -X POST '{}' -H 'Content-Type: application/x-www-form-urlencoded' --data '{}'",
        url_of(&query),
        form(&body, "utf-8")
    );
    let output = doctor(&["--curl", &curl]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(3), "{text}");
    assert!(text.contains("signature: FAILED"), "{text}");
    assert!(text.contains("40002 isv.invalid-signature"), "{text}");
    assert!(
        text.contains("diagnosis: values_percent_encoded: "),
        "{text}"
    );
}

#[test]
fn the_apps_public_key_given_replaces_the_fixture_apps() {
    let mut call = Call::authquery(DOC_BIZ_CONTENT);
    call.private_key = HOSTILE_PRIVATE_KEY.to_owned();
    let url = url_of(&call.signed_params());
    // With the fixture app's key it fails; with the key given it verifies.
    assert_eq!(doctor(&["--url", &url]).status.code(), Some(3));
    let dir = tempfile::tempdir().unwrap();
    let public = keys::public_pem(
        &keys::parse_private_key(HOSTILE_PRIVATE_KEY)
            .unwrap()
            .to_public_key(),
    )
    .unwrap();
    let path = dir.path().join("app_public_key.pem");
    std::fs::write(&path, public).unwrap();
    let output = doctor(&[
        "--url",
        &url,
        "--public-key",
        path.to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert_eq!(report["signature_verified"], true);
    assert_eq!(report["code"], "10000");
}

#[test]
fn decoded_parameters_and_an_aes_key_given_name_the_key_text_mistake() {
    // An AES key the fixtures do not know; the ciphertext is made with its text's first
    // 16 bytes, as a broken SDK does, and sent as decoded parameters (the console's copy).
    let key_text = "q83vEjRWeJCrze8SNFZ4kA==";
    let plain = zhangsan("C2B");
    let ciphertext =
        cbc::Encryptor::<aes::Aes128>::new_from_slices(&key_text.as_bytes()[..16], &[0; 16])
            .unwrap()
            .encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
    let params = Call::authquery(&STANDARD.encode(ciphertext))
        .param("encrypt_type", "AES")
        .signed_params();
    let args: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut argv: Vec<&str> = Vec::new();
    for a in &args {
        argv.extend(["--param", a]);
    }
    argv.extend(["--aes-key", key_text, "--json"]);
    let output = doctor(&argv);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(3), "{report}");
    assert_eq!(report["signature_verified"], true, "{report}");
    assert_eq!(report["sub_code"], "isv.decryption-error-unknown");
    assert_eq!(report["diagnosis"]["code"], "aes_key_text", "{report}");
}

#[test]
fn an_aes_key_of_the_wrong_length_or_no_request_is_a_clear_error() {
    let url = url_of(&Call::authquery(DOC_BIZ_CONTENT).signed_params());
    // 24 bytes once decoded: AES-192, which Alipay never issues.
    let output = doctor(&[
        "--url",
        &url,
        "--aes-key",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("24 bytes") && err.contains("16 bytes"),
        "{err}"
    );
    let output = doctor(&[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--curl"));
}
