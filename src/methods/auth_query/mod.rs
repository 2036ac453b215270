//! `zhima.auth.info.authquery`: whether a person (by certificate or Alipay userId) has
//! authorised the calling app, per `auth_category`, answered from the store.
//!
//! Check order: `biz_content` present and a JSON object; `identity_param` and
//! `identity_type` present; `identity_type`, `auth_category` and `identity_param` well
//! formed; the person found; the account state; finally the authorisation.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{GatewayError, PublicError};
use crate::model::{
    deterministic_open_id, is_well_formed_cert_no, AccountState, AuthCategory, Identity,
    IDENTITY_CARD,
};
use crate::store::Store;

mod mask;
mod memo;

pub use memo::AnswerMemo;

/// The method's wire name.
pub const METHOD_NAME: &str = "zhima.auth.info.authquery";

/// The success fields of the answer. `open_id` is absent when not authorised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthQueryAnswer {
    /// Whether the person has authorised the calling app for the asked `auth_category`.
    pub authorized: bool,
    /// The authorisation's `open_id`, the person's id for this app; `None` when not
    /// authorised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_id: Option<String>,
}

crate::listed_enum! {
/// The method's business errors, as the API document lists them; each answers 40004 with
/// the `sub_code` and `sub_msg` of [`AuthQueryError::code_and_description`]. The docs below
/// say which request earns each; every one can also be forced with a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthQueryError {
    /// The Sesame backend failed: the identity's state is `system_error`.
    SystemError,
    /// The account is not a personal one certified with an ID card: state `not_certified`.
    AccountNotCertified,
    /// The identity is in doubt: state `related_unknown`.
    RelatedUnknown,
    /// The account is a simulated one: state `simulate_account`.
    SimulateAccount,
    /// `certNo` is not 15 to 18 digits (the last may be `X`).
    CertNoWrong,
    /// A field is malformed: `biz_content` not a JSON object, `identity_param` not a
    /// string holding one, an unknown `identity_type`, `auth_category` or `certType`, or an
    /// array or object where text belongs.
    IllegalArgument,
    /// `biz_content` or a field the query needs (`identity_param`, `identity_type`,
    /// `certType`, `name`, `certNo`, `userId`) is absent, null or blank.
    NullArgument,
    /// No person has that certificate number and name, or the person has no Sesame
    /// account (state `zhima_not_opened`).
    ZmAccountNotExisted,
    /// The person's Sesame service is paused: state `paused`.
    ZmAccountPause,
    /// No person has that `userId`.
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

/// `biz_content` as this method reads it: parsed once per request; the JSON it parsed is
/// kept so the journal's masked copy needs no second parse.
#[derive(Debug, Clone)]
pub struct BizContent {
    /// The whole `biz_content` as sent (decoded), when present.
    text: Option<String>,
    /// `biz_content` as a JSON object, when it is one.
    object: Option<Map<String, Value>>,
    /// `identity_param` as a JSON object, when it is a string holding one.
    identity_param: Option<Map<String, Value>>,
    /// What the query asks, or the business error the request earns.
    request: Result<(Subject, AuthCategory), AuthQueryError>,
}

/// Reads a request's `biz_content`.
pub fn read(biz_content: Option<&str>) -> BizContent {
    // Trimmed as fastjson reads it: serde_json alone refuses trailing Unicode spaces.
    let object =
        biz_content.and_then(|text| serde_json::from_str::<Map<String, Value>>(text.trim()).ok());
    let identity_param = match object.as_ref().and_then(|o| o.get("identity_param")) {
        Some(Value::String(text)) => serde_json::from_str::<Map<String, Value>>(text).ok(),
        _ => None,
    };
    let request = parse_request(biz_content, object.as_ref(), identity_param.as_ref());
    BizContent {
        text: biz_content.map(str::to_owned),
        object,
        identity_param,
        request,
    }
}

fn parse_request(
    biz_content: Option<&str>,
    biz: Option<&Map<String, Value>>,
    param: Option<&Map<String, Value>>,
) -> Result<(Subject, AuthCategory), AuthQueryError> {
    use AuthQueryError::*;
    biz_content
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(NullArgument)?;
    let biz = biz.ok_or(IllegalArgument)?;
    // identity_param must be a JSON document serialised as a string; an object here is a
    // caller mistake (the Node SDK snake-cases such objects' keys).
    match biz.get("identity_param") {
        None | Some(Value::Null) => return Err(NullArgument),
        Some(Value::String(s)) if s.trim().is_empty() => return Err(NullArgument),
        Some(Value::String(_)) => {}
        Some(_) => return Err(IllegalArgument),
    };
    let identity_type = text_field(biz, "identity_type")?.ok_or(NullArgument)?;
    let category = match text_field(biz, "auth_category")? {
        None => AuthCategory::default(),
        Some(value) => AuthCategory::parse(&value).ok_or(IllegalArgument)?,
    };
    let param = param.ok_or(IllegalArgument)?;
    let subject = match identity_type.as_str() {
        "2" => {
            let cert_type = text_field(param, "certType")?.ok_or(NullArgument)?;
            if cert_type != IDENTITY_CARD {
                return Err(IllegalArgument);
            }
            let name = text_field(param, "name")?.ok_or(NullArgument)?;
            let cert_no = text_field(param, "certNo")?.ok_or(NullArgument)?;
            if !is_well_formed_cert_no(&cert_no) {
                return Err(CertNoWrong);
            }
            Subject::Cert {
                cert_type,
                name,
                cert_no,
            }
        }
        "5" => Subject::UserId(text_field(param, "userId")?.ok_or(NullArgument)?),
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
pub fn identity_of(store: &Store, biz: &BizContent) -> Option<String> {
    let (subject, _) = biz.request.as_ref().ok()?;
    find(store, subject).ok().map(|identity| identity.id)
}

/// A forced answer: an authorised one keeps the stored open_id when there is one, else
/// gets a deterministic one.
pub fn forced(
    store: &Store,
    app_id: &str,
    biz: &BizContent,
    authorized: bool,
    open_id: Option<String>,
) -> AuthQueryAnswer {
    if !authorized {
        return AuthQueryAnswer {
            authorized,
            open_id: None,
        };
    }
    let parsed = biz.request.as_ref().ok();
    let category = parsed.map(|(_, c)| *c).unwrap_or_default();
    let identity = parsed
        .and_then(|(subject, _)| find(store, subject).ok())
        .map(|identity| identity.id)
        .unwrap_or_default();
    let open_id = open_id
        .or_else(|| {
            store
                .authorization(app_id, &identity, category)
                .ok()
                .flatten()
                .map(|a| a.open_id)
        })
        .unwrap_or_else(|| deterministic_open_id(app_id, &identity, category));
    AuthQueryAnswer {
        authorized,
        open_id: Some(open_id),
    }
}

/// Answers the query for the calling app.
pub fn query(
    store: &Store,
    app_id: &str,
    biz: &BizContent,
) -> Result<AuthQueryAnswer, GatewayError> {
    let (subject, category) = biz.request.clone()?;
    let identity = find(store, &subject)?;
    check_state(identity.state)?;
    let authorization = store
        .authorization(app_id, &identity.id, category)
        .map_err(GatewayError::store)?;
    Ok(AuthQueryAnswer {
        authorized: authorization.is_some(),
        open_id: authorization.map(|a| a.open_id),
    })
}

/// The `altered_body` fault turns an answer into its opposite, the change a client that
/// skips verification would act on; any other answer gets a space after the node's `{`.
pub const TAMPER_PAIRS: &[(&[u8], &[u8])] = &[
    (br#""authorized":false"#, br#""authorized":true"#),
    (br#""authorized":true"#, br#""authorized":false"#),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_request_example_parses_with_its_trailing_spaces() {
        let biz = "{\"identity_param\":\"{\\\"certType\\\":\\\"IDENTITY_CARD\\\",\\\"name\\\":\\\"张三\\\",\\\"certNo\\\":\\\"33021199003132432\\\"}\",\"identity_type\":\"2\",\"auth_category\":\"C2B\"  }";
        let (subject, category) = read(Some(biz)).request.unwrap();
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
            read(Some(biz)).request.unwrap().0,
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
            assert_eq!(read(input).request.unwrap_err(), expected, "{input:?}");
        }
    }

    // Review finding: trailing Unicode spaces were accepted before biz_content was read
    // once, and must still be.
    #[test]
    fn trailing_unicode_spaces_after_biz_content_are_accepted() {
        let biz = "{\"identity_param\":\"{\\\"userId\\\":\\\"2088\\\"}\",\"identity_type\":\"5\"}\u{3000}";
        assert_eq!(
            read(Some(biz)).request.unwrap().0,
            Subject::UserId("2088".into())
        );
    }
}
