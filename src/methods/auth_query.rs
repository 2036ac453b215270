//! `zhima.auth.info.authquery`: whether a person (by certificate or Alipay userId) has
//! authorised the calling app, per `auth_category`, answered from the store.
//!
//! Check order: `biz_content` present and a JSON object; `identity_param` and
//! `identity_type` present; `identity_type`, `auth_category` and `identity_param` well
//! formed; the person found; the account state; finally the authorisation.

use serde::Serialize;
use serde_json::{Map, Value};

use super::Call;
use crate::error::{GatewayError, PublicError};
use crate::model::{
    deterministic_open_id, is_well_formed_cert_no, AccountState, AuthCategory, Identity,
    IDENTITY_CARD,
};
use crate::store::Store;

/// The success fields of the answer. `open_id` is absent when not authorised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthQueryAnswer {
    pub authorized: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_id: Option<String>,
}

crate::listed_enum! {
/// The method's business errors, as the API document lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthQueryError {
    SystemError,
    AccountNotCertified,
    RelatedUnknown,
    SimulateAccount,
    CertNoWrong,
    IllegalArgument,
    NullArgument,
    ZmAccountNotExisted,
    ZmAccountPause,
    AlipayAccountNotExisted,
}
}

impl AuthQueryError {
    /// The document's error code and description: the answer's `sub_code` and `sub_msg`.
    pub fn code_and_description(self) -> (&'static str, &'static str) {
        use AuthQueryError::*;
        match self {
            SystemError => ("SYSTEM_ERROR", "系统繁忙"),
            AccountNotCertified => (
                "ALIPAY_ACCOUNT_NOTCERTIFIE",
                "你对应的支付宝账号非个人用户或者非身份证认证",
            ),
            RelatedUnknown => ("ALIPAY_RELATED_UNKNOWN", "身份信息存疑,无法提供服务"),
            SimulateAccount => ("ALIPAY_SIMULATE_ACCOUNT", "身份信息存疑,无法提供服务"),
            CertNoWrong => ("CERTNO_WRONG", "证件号错误"),
            IllegalArgument => ("ILLEGAL_ARGUMENT", "参数不合法"),
            NullArgument => ("NULL_ARGUMENT", "参数为空"),
            ZmAccountNotExisted => ("ZM_ACCOUNT_NOT_EXISTED", "芝麻账户不存在"),
            ZmAccountPause => ("ZM_ACCOUNT_PAUSE", "该账号暂停服务"),
            AlipayAccountNotExisted => ("ZMCSP.ALIPAY_ACCOUNT_NOTEXISTED", "此支付宝账户ID不存在"),
        }
    }
}

impl From<AuthQueryError> for GatewayError {
    fn from(e: AuthQueryError) -> GatewayError {
        let (sub_code, sub_msg) = e.code_and_description();
        GatewayError::Business { sub_code, sub_msg }
    }
}

/// Who is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    Cert {
        cert_type: String,
        name: String,
        cert_no: String,
    },
    UserId(String),
}

/// A string field, read as fastjson reads a Java `String` field: numbers and booleans
/// become their text; absent, null and "" are missing.
fn text_field(object: &Map<String, Value>, key: &str) -> Result<Option<String>, AuthQueryError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(Value::Array(_) | Value::Object(_)) => Err(AuthQueryError::IllegalArgument),
    }
}

fn parse_request(biz_content: Option<&str>) -> Result<(Subject, AuthCategory), AuthQueryError> {
    use AuthQueryError::*;
    let biz_content = biz_content
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(NullArgument)?;
    let biz: Map<String, Value> = serde_json::from_str(biz_content).map_err(|_| IllegalArgument)?;
    // identity_param must be a JSON document serialised as a string; an object here is a
    // caller mistake (the Node SDK snake-cases such objects' keys).
    let identity_param = match biz.get("identity_param") {
        None | Some(Value::Null) => return Err(NullArgument),
        Some(Value::String(s)) if s.trim().is_empty() => return Err(NullArgument),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(IllegalArgument),
    };
    let identity_type = text_field(&biz, "identity_type")?.ok_or(NullArgument)?;
    let category = match text_field(&biz, "auth_category")? {
        None => AuthCategory::default(),
        Some(value) => AuthCategory::parse(&value).ok_or(IllegalArgument)?,
    };
    let param: Map<String, Value> =
        serde_json::from_str(identity_param).map_err(|_| IllegalArgument)?;
    let subject = match identity_type.as_str() {
        "2" => {
            let cert_type = text_field(&param, "certType")?.ok_or(NullArgument)?;
            if cert_type != IDENTITY_CARD {
                return Err(IllegalArgument);
            }
            let name = text_field(&param, "name")?.ok_or(NullArgument)?;
            let cert_no = text_field(&param, "certNo")?.ok_or(NullArgument)?;
            if !is_well_formed_cert_no(&cert_no) {
                return Err(CertNoWrong);
            }
            Subject::Cert {
                cert_type,
                name,
                cert_no,
            }
        }
        "5" => Subject::UserId(text_field(&param, "userId")?.ok_or(NullArgument)?),
        _ => return Err(IllegalArgument),
    };
    Ok((subject, category))
}

fn find(store: &Store, subject: &Subject) -> Result<Identity, GatewayError> {
    let found = match subject {
        Subject::Cert {
            cert_type,
            name,
            cert_no,
        } => store
            .identity_by_cert(cert_type, cert_no)
            .map_err(GatewayError::store)?
            // Three-factor match: the right number with the wrong name is nobody.
            .filter(|identity| identity.name.as_deref() == Some(name.as_str()))
            .ok_or(AuthQueryError::ZmAccountNotExisted)?,
        Subject::UserId(user_id) => store
            .identity_by_user_id(user_id)
            .map_err(GatewayError::store)?
            .ok_or(AuthQueryError::AlipayAccountNotExisted)?,
    };
    Ok(found)
}

fn check_state(state: AccountState) -> Result<(), GatewayError> {
    use AuthQueryError::*;
    let error: GatewayError = match state {
        AccountState::Normal => return Ok(()),
        AccountState::NotCertified => AccountNotCertified.into(),
        AccountState::RelatedUnknown => RelatedUnknown.into(),
        AccountState::SimulateAccount => SimulateAccount.into(),
        AccountState::Paused => ZmAccountPause.into(),
        AccountState::ZhimaNotOpened => ZmAccountNotExisted.into(),
        AccountState::SystemError => SystemError.into(),
        AccountState::ServiceUnavailable => PublicError::ServiceUnavailable.into(),
    };
    Err(error)
}

/// The identity a query is about, if it parses and the person is known.
pub fn identity_of(store: &Store, call: Call<'_>) -> Option<String> {
    let (subject, _) = parse_request(call.biz_content).ok()?;
    find(store, &subject).ok().map(|identity| identity.id)
}

/// A forced answer: an authorised one keeps the stored open_id when there is one, else
/// gets a deterministic one.
pub fn forced(
    store: &Store,
    call: Call<'_>,
    authorized: bool,
    open_id: Option<String>,
) -> AuthQueryAnswer {
    if !authorized {
        return AuthQueryAnswer {
            authorized,
            open_id: None,
        };
    }
    let parsed = parse_request(call.biz_content).ok();
    let category = parsed.as_ref().map(|(_, c)| *c).unwrap_or_default();
    let identity = parsed
        .and_then(|(subject, _)| find(store, &subject).ok())
        .map(|identity| identity.id)
        .unwrap_or_default();
    let open_id = open_id
        .or_else(|| {
            store
                .authorization(call.app_id, &identity, category)
                .ok()
                .flatten()
                .map(|a| a.open_id)
        })
        .unwrap_or_else(|| deterministic_open_id(call.app_id, &identity, category));
    AuthQueryAnswer {
        authorized,
        open_id: Some(open_id),
    }
}

/// Answers the query for the calling app.
pub fn query(store: &Store, call: Call<'_>) -> Result<AuthQueryAnswer, GatewayError> {
    let (subject, category) = parse_request(call.biz_content)?;
    let identity = find(store, &subject)?;
    check_state(identity.state)?;
    let authorization = store
        .authorization(call.app_id, &identity.id, category)
        .map_err(GatewayError::store)?;
    Ok(AuthQueryAnswer {
        authorized: authorization.is_some(),
        open_id: authorization.map(|a| a.open_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_request_example_parses_with_its_trailing_spaces() {
        let biz = "{\"identity_param\":\"{\\\"certType\\\":\\\"IDENTITY_CARD\\\",\\\"name\\\":\\\"张三\\\",\\\"certNo\\\":\\\"33021199003132432\\\"}\",\"identity_type\":\"2\",\"auth_category\":\"C2B\"  }";
        let (subject, category) = parse_request(Some(biz)).unwrap();
        assert_eq!(category, AuthCategory::C2B);
        assert_eq!(
            subject,
            Subject::Cert {
                cert_type: "IDENTITY_CARD".into(),
                name: "张三".into(),
                cert_no: "33021199003132432".into()
            }
        );
    }

    #[test]
    fn identity_type_may_be_a_number_as_fastjson_allows() {
        let biz = r#"{"identity_param":"{\"userId\":\"2088\"}","identity_type":5}"#;
        assert_eq!(
            parse_request(Some(biz)).unwrap().0,
            Subject::UserId("2088".into())
        );
    }

    #[test]
    fn malformed_input_maps_to_the_documents_codes() {
        use AuthQueryError::*;
        let cases = [
            (None, NullArgument),
            (Some("   "), NullArgument),
            (Some("[1]"), IllegalArgument),
            (Some("{not json"), IllegalArgument),
            (Some(r#"{"identity_type":"2"}"#), NullArgument),
            (Some(r#"{"identity_param":"{}"}"#), NullArgument),
            (
                Some(r#"{"identity_param":"{}","identity_type":"9"}"#),
                IllegalArgument,
            ),
            (
                Some(r#"{"identity_param":"{}","identity_type":"2","auth_category":"c2b"}"#),
                IllegalArgument,
            ),
            (
                Some(
                    r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"a\",\"certNo\":\"12X45\"}","identity_type":"2"}"#,
                ),
                CertNoWrong,
            ),
            (
                Some(
                    r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"certNo\":\"330211990031324\"}","identity_type":"2"}"#,
                ),
                NullArgument,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_request(input).unwrap_err(), expected, "{input:?}");
        }
    }
}
