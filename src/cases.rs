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
}

/// The expected fields of the response node; absent fields must be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub code: String,
    pub msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_id: Option<String>,
}

impl Case {
    /// Whether the case holds for requests signed with `sign_type`.
    pub fn applies_to(&self, sign_type: SignType) -> bool {
        self.sign_types
            .as_ref()
            .is_none_or(|types| types.contains(&sign_type))
    }
}
