//! The OpenAPI methods the gateway answers, and dispatch to them.
//!
//! One file per method. A method gets the verified request's `biz_content` and answers
//! the success node's JSON, or a [`GatewayError`] (business errors from its own table).

pub mod auth_query;

use crate::error::{GatewayError, PublicError};
use crate::protocol::response::{Node, SUCCESS};
use crate::store::Store;

/// A method the gateway knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `zhima.auth.info.authquery`: has this person authorised this app?
    ZhimaAuthInfoAuthquery,
}

impl Method {
    /// Every method, for listings.
    pub const ALL: [Method; 1] = [Method::ZhimaAuthInfoAuthquery];

    /// The method named by the `method` parameter, if the gateway knows it.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Method::ZhimaAuthInfoAuthquery => "zhima.auth.info.authquery",
        }
    }
}

/// What a method sees of a verified request.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub app_id: &'a str,
    pub biz_content: Option<&'a str>,
}

/// Runs a method and renders its success node as JSON.
pub fn dispatch(method: Method, store: &Store, call: Call<'_>) -> Result<String, GatewayError> {
    let business = match method {
        Method::ZhimaAuthInfoAuthquery => auth_query::query(store, call)?,
    };
    success_node(business)
}

/// A forced success answer (a scenario's `{"authorized": …}` outcome) in the method's
/// shape. An authorised answer without an `open_id` gets a deterministic one.
pub fn forced_answer(
    method: Method,
    store: &Store,
    call: Call<'_>,
    authorized: bool,
    open_id: Option<String>,
) -> Result<String, GatewayError> {
    match method {
        Method::ZhimaAuthInfoAuthquery => {
            success_node(auth_query::forced(store, call, authorized, open_id))
        }
    }
}

/// The business error with this code in any method's table.
pub fn business_error(code: &str) -> Option<GatewayError> {
    auth_query::AuthQueryError::ALL
        .iter()
        .copied()
        .find(|e| e.code_and_description().0 == code)
        .map(GatewayError::from)
}

/// The identity id a call is about, when the method names one and it is known.
pub fn identity_of(method: Method, store: &Store, call: Call<'_>) -> Option<String> {
    match method {
        Method::ZhimaAuthInfoAuthquery => auth_query::identity_of(store, call),
    }
}

fn success_node(business: impl serde::Serialize) -> Result<String, GatewayError> {
    let (code, msg) = SUCCESS;
    Node {
        code,
        msg,
        sub_code: None,
        sub_msg: None,
        business,
    }
    .to_json()
    .map_err(|_| PublicError::GatewayUnavailable.into())
}
