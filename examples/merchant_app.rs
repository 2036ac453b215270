//! An imaginary merchant app's Alipay client, tested end to end against alipay-mock in
//! the same process: the pattern a Rust project uses for its own integration tests.
//!
//! `MerchantAlipay` is the code under test: it signs a `zhima.auth.info.authquery`
//! request with the app's key, sends it, verifies the answer's signature with the
//! platform key and turns the answer into a decision. The tests below start a
//! `MockGateway`, point the client at it, and use typed control to reach each path.
//!
//! Run: `cargo test --example merchant_app` (also part of `cargo test`), or
//! `cargo run --example merchant_app` for a one-off check.

use std::collections::BTreeMap;

use alipay_mock::crypto::{self, SignType};
use alipay_mock::keys;
use alipay_mock::protocol::response::extract_signed_node;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// What the merchant decides about a person.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Authorised: the `open_id` to store.
    Authorised(String),
    /// Not authorised: ask the person to authorise first.
    AskToAuthorise,
    /// Alipay refused the query: the `sub_code` to log.
    Refused(String),
}

/// The merchant's Alipay client.
pub struct MerchantAlipay {
    gateway: String,
    app_id: String,
    app_key: rsa::RsaPrivateKey,
    alipay_key: rsa::RsaPublicKey,
}

impl MerchantAlipay {
    /// A client for `gateway` (`http://HOST:PORT/gateway.do`).
    pub fn new(gateway: &str, app_id: &str, app_key_pem: &str, alipay_key_pem: &str) -> Self {
        MerchantAlipay {
            gateway: gateway.to_owned(),
            app_id: app_id.to_owned(),
            app_key: keys::parse_private_key(app_key_pem).expect("the app key parses"),
            alipay_key: keys::parse_public_key(alipay_key_pem).expect("the Alipay key parses"),
        }
    }

    /// Asks whether the person with this ID card has authorised the merchant (C2B).
    pub async fn check(&self, name: &str, cert_no: &str) -> Result<Decision, String> {
        let identity =
            serde_json::json!({"certType": "IDENTITY_CARD", "name": name, "certNo": cert_no});
        let biz = serde_json::json!({
            "identity_type": "2",
            "identity_param": identity.to_string(),
            "auth_category": "C2B",
        });
        let mut params = BTreeMap::from([
            ("app_id", self.app_id.clone()),
            ("method", "zhima.auth.info.authquery".to_owned()),
            ("format", "JSON".to_owned()),
            ("charset", "utf-8".to_owned()),
            ("sign_type", "RSA2".to_owned()),
            ("timestamp", "2026-11-28 10:00:00".to_owned()),
            ("version", "1.0".to_owned()),
            ("biz_content", biz.to_string()),
        ]);
        let content = params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let sign = crypto::sign(&self.app_key, SignType::Rsa2, content.as_bytes())
            .map_err(|e| e.to_string())?;
        params.insert("sign", sign);
        let form: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let body = self.post(form).await?;
        let (_, node, sign) = extract_signed_node(&body).ok_or("not an Alipay answer")?;
        let sign = sign.ok_or("unsigned answer")?;
        if !crypto::verify(&self.alipay_key, SignType::Rsa2, node.as_bytes(), &sign) {
            return Err("the answer's signature does not verify".into());
        }
        let node: serde_json::Value = serde_json::from_str(node).map_err(|e| e.to_string())?;
        Ok(
            match (node["code"].as_str(), node["authorized"].as_bool()) {
                (Some("10000"), Some(true)) => {
                    Decision::Authorised(node["open_id"].as_str().unwrap_or_default().to_owned())
                }
                (Some("10000"), _) => Decision::AskToAuthorise,
                _ => Decision::Refused(node["sub_code"].as_str().unwrap_or_default().to_owned()),
            },
        )
    }

    async fn post(&self, form: String) -> Result<String, String> {
        let uri: hyper::Uri = self.gateway.parse().map_err(|e| format!("{e}"))?;
        let authority = uri.authority().ok_or("no host")?.to_string();
        let stream = tokio::net::TcpStream::connect(&authority)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = hyper::Request::post(uri.path())
            .header("host", authority)
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let gateway = alipay_mock::MockGateway::builder()
        .start()
        .await
        .expect("the mock starts");
    let keys = gateway.default_app();
    let client = MerchantAlipay::new(
        &gateway.url(),
        &keys.app_id,
        &keys.private_key_pem,
        &keys.alipay_public_key_pem,
    );
    let decision = client.check("张三", "33021199003132432").await;
    println!("张三: {decision:?}");
    gateway.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use alipay_mock::MockGateway;
    use alipay_mock::{AuthCategory, FaultConfig, ForcedError, Outcome, ScenarioRequest};

    async fn arrange() -> (MockGateway, MerchantAlipay) {
        let gateway = MockGateway::builder().start().await.unwrap();
        let keys = gateway.default_app();
        let client = MerchantAlipay::new(
            &gateway.url(),
            &keys.app_id,
            &keys.private_key_pem,
            &keys.alipay_public_key_pem,
        );
        (gateway, client)
    }

    #[tokio::test]
    async fn an_authorised_person_gives_the_open_id_to_store() {
        let (gateway, client) = arrange().await;
        let decision = client.check("张三", "33021199003132432").await.unwrap();
        assert_eq!(decision, Decision::Authorised("2088202844499224".into()));
        gateway.shutdown().await;
    }

    #[tokio::test]
    async fn a_revoked_authorisation_asks_the_person_to_authorise() {
        let (gateway, client) = arrange().await;
        gateway
            .revoke("2014072300007148", "zhangsan", Some(AuthCategory::C2B))
            .await
            .unwrap();
        let decision = client.check("张三", "33021199003132432").await.unwrap();
        assert_eq!(decision, Decision::AskToAuthorise);
        gateway.shutdown().await;
    }

    #[tokio::test]
    async fn a_paused_account_is_refused_with_its_sub_code() {
        let (gateway, client) = arrange().await;
        gateway
            .force(&ScenarioRequest::answering(Outcome::Error(ForcedError {
                error: "ZM_ACCOUNT_PAUSE".into(),
            })))
            .await
            .unwrap();
        let decision = client.check("张三", "33021199003132432").await.unwrap();
        assert_eq!(decision, Decision::Refused("ZM_ACCOUNT_PAUSE".into()));
        gateway.shutdown().await;
    }

    #[tokio::test]
    async fn a_tampered_answer_is_caught_by_the_signature_check() {
        let (gateway, client) = arrange().await;
        let faults: FaultConfig = serde_json::from_value(
            serde_json::json!({"seed": 7, "hostile": {"mode": "altered_body", "rate": 1.0}}),
        )
        .unwrap();
        gateway.set_faults(None, &faults).await.unwrap();
        let outcome = client.check("张三", "33021199003132432").await;
        assert_eq!(
            outcome,
            Err("the answer's signature does not verify".into())
        );
        gateway.shutdown().await;
    }
}
