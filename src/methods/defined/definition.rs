//! The method definition as the admin API, the fixtures and the CLI take it (serde
//! shapes, unknown keys refused), the error that names a wrong field, and the method-name
//! rule. Compiling it for requests is `Compiled`'s (the parent module).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::MAX_METHOD_NAME;

/// A method definition as the admin API, the fixtures and the CLI take it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The method name (`alipay.trade.query`): lowercase, at least three dotted parts.
    pub method: String,
    /// What this definition demonstrates (shown by the console).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The rules, tried in order; the first that matches answers.
    pub rules: Vec<Rule>,
    /// Dotted paths masked in the journal, in the request's `biz_content` and in the
    /// answer node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mask: Vec<String>,
    /// A `biz_content` to start from (the console's Try it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
}

/// One rule: a condition and what it answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Dotted paths of `biz_content` and the JSON values they must equal; empty matches
    /// every request.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub when: Map<String, Value>,
    /// The success node (an object; string values may be templates). Exactly one of
    /// `answer` and `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Value>,
    /// The error answered instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSpec>,
    /// The asynchronous notification this rule triggers when the request carried
    /// `notify_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySpec>,
}

/// An error a rule (or a scenario) answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// The error class (`40004`, `40002`, …); absent: the public error's own class when
    /// `sub_code` is a public one, else `40004 Business Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The `sub_code` (`ACQ.TRADE_NOT_EXIST`, or a public one such as `isp.unknow-error`).
    pub sub_code: String,
    /// The `sub_msg`; may be left out only for a public `sub_code`, which has its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_msg: Option<String>,
}

/// A rule's notification: parameters (string templates, in order) and a delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySpec {
    /// Parameter name → string template.
    pub params: Map<String, Value>,
    /// Seconds to wait before delivering (default 0, at most one day).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_seconds: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Why a definition was refused: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DefinitionError {
    /// The field, as a path into the definition (`rules[1].answer.trade_no`).
    pub field: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl DefinitionError {
    /// An error naming `field`.
    pub(super) fn new(field: impl Into<String>, message: impl Into<String>) -> DefinitionError {
        DefinitionError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks a method name: lowercase ASCII letters and digits in at least three dotted
/// parts, each starting with a letter (`alipay.trade.query`), at most 128 characters.
pub fn check_method_name(name: &str) -> Result<(), DefinitionError> {
    let parts: Vec<&str> = name.split('.').collect();
    let valid = name.len() <= MAX_METHOD_NAME
        && parts.len() >= 3
        && parts.iter().all(|p| {
            p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if valid {
        Ok(())
    } else {
        Err(DefinitionError::new(
            "method",
            format!("{name:?} is not a method name: lowercase letters and digits in at least three dotted parts, at most {MAX_METHOD_NAME} characters (e.g. \"alipay.trade.query\")"),
        ))
    }
}
