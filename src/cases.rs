//! The catalogue of seeded outcomes (`alipay-mock cases --json`): for each magic value,
//! the request to send and the answer to expect, like Stripe's test card numbers.
//!
//! The catalogue is data written by hand in `fixtures/cases.json`, never computed by the
//! gateway, so tests that replay it check the gateway against an independent statement.

use serde::{Deserialize, Serialize};

use crate::crypto::SignType;

/// One catalogued request and its expected answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Short unique name (`authorized_cert`).
    pub name: String,
    /// What the case demonstrates.
    pub description: String,
    /// The app to call as.
    pub app_id: String,
    /// The method to call.
    pub method: String,
    /// The `biz_content` to send, as a JSON object.
    pub biz_content: serde_json::Value,
    /// The answer's fields.
    pub expect: Expect,
    /// The sign types the case holds for; absent means both (an app registered for RSA2
    /// only answers RSA requests with `isv.missing-signature-config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_types: Option<Vec<SignType>>,
    /// For a certificate-mode app: the SNs of its certificates, so a caller can see what
    /// certificate-mode requests send and answers carry. The case itself is sent in key
    /// mode, like every case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_sns: Option<CaseCertSns>,
}

/// A certificate-mode app's SNs, as written in the catalogue (checked against openssl
/// and against the gateway by the tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseCertSns {
    /// `app_cert_sn` of `fixtures/certs/app_cert_public_key.crt`.
    pub app_cert_sn: String,
    /// `alipay_cert_sn` of `fixtures/certs/alipay_cert_public_key_rsa2.crt`.
    pub alipay_cert_sn: String,
    /// `alipay_root_cert_sn` of `fixtures/certs/alipay_root_cert.crt`.
    pub alipay_root_cert_sn: String,
}

/// The expected fields of the response node; absent fields must be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `code`.
    pub code: String,
    /// `msg`.
    pub msg: String,
    /// `sub_code`, for errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<String>,
    /// `sub_msg`, for errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_msg: Option<String>,
    /// `authorized`, for successes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized: Option<bool>,
    /// `open_id`, for authorised successes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_id: Option<String>,
}

/// The catalogue as a tab-separated table (`alipay-mock cases`), one case a line.
pub fn table(cases: &[Case]) -> String {
    let mut text = String::from(
        "name\tapp_id\tidentity_param\tauth_category\tcode\tsub_code\tauthorized\topen_id\n",
    );
    for case in cases {
        let field = |key: &str| -> String {
            match case.biz_content.get(key) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => "-".to_owned(),
            }
        };
        let e = &case.expect;
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            case.name,
            case.app_id,
            field("identity_param"),
            field("auth_category"),
            e.code,
            e.sub_code.as_deref().unwrap_or("-"),
            e.authorized.map_or("-".to_owned(), |a| a.to_string()),
            e.open_id.as_deref().unwrap_or("-"),
        ));
    }
    text
}
