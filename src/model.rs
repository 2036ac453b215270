//! The records the gateway serves from: apps, identities and authorisations. They are
//! stored as JSON in sled and read from the fixtures in the same shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::crypto::SignType;

/// An app registered on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Alipay's `app_id`.
    pub app_id: String,
    /// A short name for people.
    #[serde(default)]
    pub name: String,
    /// What the app is for in tests.
    #[serde(default)]
    pub description: String,
    /// The app's public key per sign type, as PEM or bare Base64 text. A key-mode request
    /// whose `sign_type` has no key here answers `isv.missing-signature-config`. May be
    /// empty for an app that only speaks certificate mode.
    #[serde(default)]
    pub public_keys: BTreeMap<SignType, String>,
    /// The platform private key that signs this app's responses; `None` means the
    /// gateway's default platform key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_private_key: Option<String>,
    /// Certificate mode: the app's public-key certificate (PEM, `appCertPublicKey_*.crt`).
    /// A request carrying `app_cert_sn` is verified with its key; `None` means the app
    /// does not speak certificate mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_cert: Option<String>,
    /// Certificate mode: the platform's public-key certificate (PEM) whose key signs the
    /// app's certificate-mode answers, given together with
    /// [`App::platform_cert_private_key`]; `None` means the gateway's default pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_cert: Option<String>,
    /// The private key of [`App::platform_cert`] (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_cert_private_key: Option<String>,
    /// Certificate mode: the root bundle (PEM) whose SN `alipay_root_cert_sn` must name;
    /// `None` means the gateway's default bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_root_cert: Option<String>,
    /// The AES content-encryption key (Base64 of 16 bytes) for `encrypt_type=AES`
    /// requests; `None` answers them 40001 `isv.missing-encrypt-key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aes_key: Option<String>,
    /// The methods the app may call; `None` means all. A call outside them answers
    /// 40006 `isv.insufficient-isv-permissions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_methods: Option<Vec<String>>,
    /// `app_auth_token`s issued to act for this app. A request carrying any other token
    /// answers 20001 `aop.invalid-app-auth-token`; an expired one
    /// `aop.app-auth-token-time-out`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_auth_tokens: Vec<AppAuthToken>,
}

/// The gateway's default certificate-mode material (PEM texts), for apps with an app
/// certificate but no platform certificate or root bundle of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertDefaults {
    /// The platform's public-key certificate (`alipay_cert_public_key_rsa2.crt`).
    pub platform_cert: String,
    /// Its private key, which signs certificate-mode answers.
    pub platform_cert_private_key: String,
    /// The root bundle (`alipay_root_cert.crt`).
    pub alipay_root_cert: String,
}

/// An `app_auth_token` and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppAuthToken {
    /// The token's text, compared exactly with the request's `app_auth_token`.
    pub token: String,
    /// RFC 3339; `None` never expires.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<time::OffsetDateTime>,
}

/// Certificate type of a person's identity (`certType` of `identity_param`).
pub const IDENTITY_CARD: &str = "IDENTITY_CARD";

/// A person the Sesame Credit service knows, found by certificate or by Alipay userId.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Stable id used by fixtures and authorisations.
    pub id: String,
    /// What this identity demonstrates, in a sentence.
    #[serde(default)]
    pub description: String,
    /// `certType`; the mock knows `IDENTITY_CARD`.
    #[serde(default = "default_cert_type")]
    pub cert_type: String,
    /// The person's name (matched exactly with the certificate number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The certificate number (`certNo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_no: Option<String>,
    /// The Alipay user id (`userId`, `2088…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The account state, which decides the business outcome before any authorisation.
    #[serde(default)]
    pub state: AccountState,
}

/// A Chinese resident ID number: 15 to 18 characters, digits, the last may be `X`.
/// (The API document's own example, `33021199003132432`, has 17, so no checksum test.)
pub fn is_well_formed_cert_no(cert_no: &str) -> bool {
    // Split bytes, not the str: a str split inside a multi-byte last character panics
    // (found by fuzzing: a 17-byte certNo ending in U+035E reset the connection).
    let bytes = cert_no.as_bytes();
    let Some((last, body)) = bytes.split_last() else {
        return false;
    };
    (15..=18).contains(&bytes.len())
        && body.iter().all(u8::is_ascii_digit)
        && (last.is_ascii_digit() || *last == b'X' || *last == b'x')
}

/// Why the gateway could never find an identity: the field and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidIdentity(String);

impl Identity {
    /// Whether the gateway can ever find this identity: a trimmed, non-empty id; a
    /// well-formed `IDENTITY_CARD` number with a trimmed, non-empty name; and/or a
    /// trimmed, non-empty userId. Returns what is wrong.
    pub fn validate(&self) -> Result<(), InvalidIdentity> {
        self.check().map_err(InvalidIdentity)
    }

    fn check(&self) -> Result<(), String> {
        let trimmed = |what: &str, value: &str| {
            if value.is_empty() || value.trim() != value {
                Err(format!(
                    "{what} must be non-empty without leading or trailing spaces"
                ))
            } else {
                Ok(())
            }
        };
        trimmed("id", &self.id)?;
        if self.cert_no.is_none() && self.user_id.is_none() {
            return Err(format!(
                "identity {} needs a cert_no (with a name) or a user_id",
                self.id
            ));
        }
        if let Some(cert_no) = &self.cert_no {
            if self.cert_type != IDENTITY_CARD {
                return Err(format!(
                    "cert_type {:?} is not {IDENTITY_CARD}",
                    self.cert_type
                ));
            }
            if !is_well_formed_cert_no(cert_no) {
                return Err(format!(
                    "cert_no {cert_no:?} is not 15 to 18 digits (the last may be X)"
                ));
            }
            trimmed("name", self.name.as_deref().unwrap_or(""))?;
        }
        if let Some(user_id) = &self.user_id {
            trimmed("user_id", user_id)?;
        }
        Ok(())
    }
}

fn default_cert_type() -> String {
    IDENTITY_CARD.to_owned()
}

/// The state of a person's Alipay / Sesame account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// A certified personal account with Sesame Credit: authorisations decide.
    #[default]
    Normal,
    /// Not a personal, ID-card-certified account: `ALIPAY_ACCOUNT_NOTCERTIFIE`.
    NotCertified,
    /// Identity in doubt: `ALIPAY_RELATED_UNKNOWN`.
    RelatedUnknown,
    /// Simulated account: `ALIPAY_SIMULATE_ACCOUNT`.
    SimulateAccount,
    /// Sesame service paused: `ZM_ACCOUNT_PAUSE`.
    Paused,
    /// An Alipay user without a Sesame account: `ZM_ACCOUNT_NOT_EXISTED`.
    ZhimaNotOpened,
    /// The Sesame backend fails: 40004 `SYSTEM_ERROR`.
    SystemError,
    /// The backend is unavailable: 20000 `isp.unknow-error`.
    ServiceUnavailable,
}

/// The kind of authorisation asked about (`auth_category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub enum AuthCategory {
    /// Person to merchant (the default).
    #[default]
    C2B,
    /// Person to person through the merchant.
    C2ConB,
    /// Enterprise.
    B2B,
}

impl AuthCategory {
    /// Parses the wire value (exact case, as the API document writes them).
    pub fn parse(value: &str) -> Option<AuthCategory> {
        match value {
            "C2B" => Some(AuthCategory::C2B),
            "C2ConB" => Some(AuthCategory::C2ConB),
            "B2B" => Some(AuthCategory::B2B),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthCategory::C2B => "C2B",
            AuthCategory::C2ConB => "C2ConB",
            AuthCategory::B2B => "B2B",
        }
    }
}

/// A person's authorisation of an app, per category, with the `open_id` the query
/// answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The [`App::app_id`] of the app that was authorised.
    pub app_id: String,
    /// The [`Identity::id`] of the person who authorised.
    pub identity: String,
    /// The kind of authorisation; `C2B` when absent.
    #[serde(default)]
    pub auth_category: AuthCategory,
    /// The person's id for this app, answered as `open_id` (`2088…`).
    pub open_id: String,
}

/// A stable `open_id` for an authorisation granted without one: `2088` and 12 digits
/// derived from (app, identity, category), so the same grant always gets the same id.
pub fn deterministic_open_id(app_id: &str, identity: &str, category: AuthCategory) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{app_id}\0{identity}\0{}", category.as_str()));
    let mut number = [0u8; 8];
    number.copy_from_slice(&digest[..8]);
    format!("2088{:012}", u64::from_be_bytes(number) % 1_000_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cert_number_ending_in_a_multi_byte_character_is_malformed_not_a_panic() {
        // Regression: fuzz/artifacts/biz_content crash, 17 bytes ending in U+035E.
        assert!(!is_well_formed_cert_no("330211990031324\u{35e}"));
        assert!(!is_well_formed_cert_no("33021199003132432\u{35e}"));
        assert!(!is_well_formed_cert_no("33021199003132\u{5f20}"));
    }

    #[test]
    fn cert_numbers_may_end_in_x() {
        assert!(is_well_formed_cert_no("11010119900101100X"));
        assert!(is_well_formed_cert_no("110101900101100"));
        assert!(!is_well_formed_cert_no("1101019001011"));
        assert!(!is_well_formed_cert_no(""));
        assert!(!is_well_formed_cert_no("X10101199001011001"));
        assert!(!is_well_formed_cert_no("1101011990010110011"));
    }

    #[test]
    fn identities_the_gateway_could_never_match_are_invalid() {
        let ok = Identity {
            id: "a".into(),
            description: String::new(),
            cert_type: IDENTITY_CARD.into(),
            name: Some("张三".into()),
            cert_no: Some("33021199003132432".into()),
            user_id: None,
            state: AccountState::Normal,
        };
        assert_eq!(ok.validate(), Ok(()));
        for broken in [
            Identity {
                cert_type: "PASSPORT".into(),
                ..ok.clone()
            },
            Identity {
                cert_no: Some("not-a-number".into()),
                ..ok.clone()
            },
            Identity {
                name: Some(" 张三 ".into()),
                ..ok.clone()
            },
            Identity {
                name: None,
                ..ok.clone()
            },
            Identity {
                cert_no: None,
                ..ok.clone()
            },
            Identity {
                cert_no: None,
                user_id: Some(String::new()),
                ..ok.clone()
            },
        ] {
            assert!(broken.validate().is_err(), "{broken:?}");
        }
    }

    #[test]
    fn deterministic_open_ids_are_stable_and_distinct() {
        let a = deterministic_open_id("app", "lisi", AuthCategory::C2B);
        assert_eq!(a, deterministic_open_id("app", "lisi", AuthCategory::C2B));
        assert_ne!(a, deterministic_open_id("app", "lisi", AuthCategory::B2B));
        assert_eq!(a.len(), 16);
        assert!(a.starts_with("2088") && a.bytes().all(|b| b.is_ascii_digit()));
    }
}
