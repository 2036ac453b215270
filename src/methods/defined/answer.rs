//! What a rule or a scenario answers, compiled: a success node (templates compiled; `code`
//! and `msg` put first when rendered) or an error resolved against the gateway's error
//! classes and public errors.

use serde_json::{Map, Value};

use super::definition::{DefinitionError, ErrorSpec};
use super::template::{Context, Tree};
use crate::error::{self, GatewayError, PublicError};
use crate::protocol::response::SUCCESS;

/// What a rule or a scenario answers, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A success node, templates compiled; `code`/`msg` are put first when rendered.
    Node(Tree),
    /// An error.
    Error(GatewayError),
}

impl Answer {
    /// Compiles an answer node: it must be a JSON object.
    pub fn node(value: &Value, field: &str) -> Result<Answer, DefinitionError> {
        if !value.is_object() {
            return Err(DefinitionError::new(
                field,
                "must be a JSON object (the response node's fields)",
            ));
        }
        Tree::compile(value, field)
            .map(Answer::Node)
            .map_err(|(at, message)| DefinitionError::new(at, message))
    }

    /// Resolves an error: the class, the `sub_code`, the `sub_msg`.
    pub fn error(spec: &ErrorSpec, field: &str) -> Result<GatewayError, DefinitionError> {
        let public = PublicError::from_sub_code(&spec.sub_code);
        let class = match (&spec.code, public) {
            (Some(code), _) => error::error_class(code).ok_or_else(|| {
                DefinitionError::new(
                    format!("{field}.code"),
                    format!("{code:?} is no error class: use 20000, 20001, 40001, 40002, 40003, 40004, 40005 or 40006"),
                )
            })?,
            (None, Some(p)) => p.wire().0,
            (None, None) => error::business_failed(),
        };
        if spec.sub_code.trim().is_empty() {
            return Err(DefinitionError::new(
                format!("{field}.sub_code"),
                "must not be empty",
            ));
        }
        let sub_msg = match (&spec.sub_msg, public) {
            (Some(msg), _) => msg.clone(),
            (None, Some(p)) => p.wire().2.to_owned(),
            (None, None) => {
                return Err(DefinitionError::new(
                    format!("{field}.sub_msg"),
                    "is required for a sub_code that is not a public one",
                ))
            }
        };
        Ok(GatewayError::Defined {
            class,
            sub_code: spec.sub_code.clone(),
            sub_msg,
        })
    }

    /// Renders the answer: the node's JSON text with `code` and `msg` first, or the error.
    pub fn render(&self, context: &Context<'_>) -> Result<String, GatewayError> {
        match self {
            Answer::Error(e) => Err(e.clone()),
            Answer::Node(tree) => {
                let Value::Object(fields) = tree.render(context) else {
                    // `Answer::node` compiles objects only.
                    return Err(PublicError::GatewayUnavailable.into());
                };
                let mut node = Map::new();
                let (code, msg) = SUCCESS;
                node.insert("code".into(), Value::String(code.into()));
                node.insert("msg".into(), Value::String(msg.into()));
                node.extend(fields);
                serde_json::to_string(&Value::Object(node))
                    .map_err(|_| PublicError::GatewayUnavailable.into())
            }
        }
    }
}
