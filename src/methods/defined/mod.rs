//! User-defined methods: a [`Definition`] names an OpenAPI method and an ordered list of
//! rules; the first rule whose `when` matches the request's `biz_content` gives the
//! answer node or the error. The gateway does the protocol (checks, signing, encryption,
//! journal, scenarios); the definition owns the business answer.
//!
//! A definition is compiled once, when it is stored ([`Compiled::new`]): unknown keys,
//! bad paths, bad templates, a non-object answer or a bad method name are refused then,
//! with the field named, never discovered at request time. Requests read a compiled
//! definition through [`Reading`], and the gateway reaches it only through the
//! `methods` interface, like any built-in method.

mod answer;
mod definition;
pub(crate) mod path;
mod registry;
pub(crate) mod template;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

pub use answer::Answer;
pub use definition::{check_method_name, Definition, DefinitionError, ErrorSpec, NotifySpec, Rule};
pub use registry::Definitions;

use self::path::Path;
use self::template::{Budget, Context, Template};
use super::notification::TriggeredNotification;
use super::Answered;
use crate::crypto::SignType;
use crate::error::{self, GatewayError};

/// The most definitions a gateway holds.
pub const MAX_DEFINITIONS: usize = 256;
/// The largest definition accepted, as JSON text.
pub const MAX_DEFINITION_BYTES: usize = 64 * 1024;
/// The most rules one definition has.
pub const MAX_RULES: usize = 64;
/// The longest method name (docs/protocol.md §2.1: `method` ≤ 128).
pub const MAX_METHOD_NAME: usize = 128;
/// The longest notification delay accepted: one day.
pub const MAX_NOTIFY_DELAY_SECONDS: u64 = 24 * 3600;

/// The `sub_code` answered when no rule matches (a 40004, so SDKs report it as a business
/// failure the test can read).
pub const NO_MATCHING_RULE: &str = "ALIPAY_MOCK.NO_MATCHING_RULE";

/// The `sub_code` of an answer whose templates would write more than
/// `template::MAX_RENDERED_BYTES` for one request.
pub const ANSWER_TOO_LARGE: &str = "ALIPAY_MOCK.ANSWER_TOO_LARGE";

fn answer_too_large(method: &str) -> GatewayError {
    GatewayError::Defined {
        class: error::business_failed(),
        sub_code: ANSWER_TOO_LARGE.to_owned(),
        sub_msg: format!(
            "the definition of {method} would render more than {} bytes for this request",
            template::MAX_RENDERED_BYTES
        ),
    }
}

struct CompiledRule {
    when: Vec<(Path, Value)>,
    answer: Answer,
    notify: Option<CompiledNotify>,
}

struct CompiledNotify {
    params: Vec<(String, Template)>,
    delay_seconds: u64,
}

/// A definition compiled for requests, with its `{{seq}}` counter.
pub struct Compiled {
    definition: Definition,
    rules: Vec<CompiledRule>,
    mask: Vec<Path>,
    /// Notification parameters the journal masks: named like a top-level `mask` path,
    /// or rendered (in any rule) from a template that reads a masked path.
    masked_params: Vec<String>,
    seq: AtomicU64,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("method", &self.definition.method)
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl Compiled {
    /// Parses and compiles a definition from its JSON text (at most
    /// [`MAX_DEFINITION_BYTES`]).
    pub fn parse(text: &[u8]) -> Result<Compiled, DefinitionError> {
        if text.len() > MAX_DEFINITION_BYTES {
            return Err(DefinitionError::new(
                "definition",
                format!(
                    "is {} bytes; a definition is at most {MAX_DEFINITION_BYTES}",
                    text.len()
                ),
            ));
        }
        let definition: Definition = serde_json::from_slice(text)
            .map_err(|e| DefinitionError::new("definition", e.to_string()))?;
        Compiled::new(definition)
    }

    /// Compiles a definition, or names the field that is wrong.
    pub fn new(definition: Definition) -> Result<Compiled, DefinitionError> {
        check_method_name(&definition.method)?;
        if let Some(builtin) = super::Builtin::from_name(&definition.method) {
            return Err(DefinitionError::new(
                "method",
                format!(
                    "{} is built in and cannot be defined: {}",
                    builtin.name(),
                    builtin.why_builtin()
                ),
            ));
        }
        if definition.rules.is_empty() || definition.rules.len() > MAX_RULES {
            return Err(DefinitionError::new(
                "rules",
                format!("give 1 to {MAX_RULES} rules"),
            ));
        }
        if definition.example.as_ref().is_some_and(|e| !e.is_object()) {
            return Err(DefinitionError::new(
                "example",
                "must be a JSON object (a biz_content)",
            ));
        }
        let mask: Vec<Path> = definition
            .mask
            .iter()
            .enumerate()
            .map(|(i, m)| Path::parse(m).map_err(|e| DefinitionError::new(format!("mask[{i}]"), e)))
            .collect::<Result<_, _>>()?;
        let rules: Vec<CompiledRule> = definition
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| compile_rule(rule, &format!("rules[{i}]")))
            .collect::<Result<_, _>>()?;
        let masked_params = masked_params(&rules, &mask);
        Ok(Compiled {
            definition,
            rules,
            mask,
            masked_params,
            seq: AtomicU64::new(0),
        })
    }

    /// The definition as it was given.
    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// The method name.
    pub fn name(&self) -> &str {
        &self.definition.method
    }

    /// The next value of the method's `{{seq}}` counter (from 1).
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Answers a request: the first matching rule's node or error (or
    /// [`NO_MATCHING_RULE`]), the journal's masked copy of a node, and the rule's
    /// notification when the request carried `notify_url`.
    pub fn answer(&self, request: &Request<'_>) -> Answered {
        let Some(rule) = self.rules.iter().find(|r| matches(&r.when, request.biz)) else {
            return Answered {
                node: Err(GatewayError::Defined {
                    class: error::business_failed(),
                    sub_code: NO_MATCHING_RULE.to_owned(),
                    sub_msg: format!(
                        "no rule of the definition of {} matches this biz_content",
                        self.name()
                    ),
                }),
                shown: None,
                notification: None,
            };
        };
        let context = request.context(self.next_seq());
        let node = rule.answer.render(&context);
        let mut notification = rule.notify.as_ref().and_then(|n| {
            let notify_url = (request.param)("notify_url").filter(|u| !u.is_empty())?;
            Some(TriggeredNotification {
                app_id: request.app_id.to_owned(),
                notify_url,
                params: n
                    .params
                    .iter()
                    .map(|(k, t)| (k.clone(), t.render(&context)))
                    .collect(),
                delay_seconds: n.delay_seconds,
                sign_type: request.sign_type,
                charset: request.charset.to_owned(),
            })
        });
        if context.exhausted() {
            notification = None;
        }
        self.answered(&context, node, notification)
    }

    /// The answer as the gateway sends it: the node (or the error past the rendering
    /// bound) with the journal's masked copy.
    fn answered(
        &self,
        context: &Context<'_>,
        node: Result<String, GatewayError>,
        notification: Option<TriggeredNotification>,
    ) -> Answered {
        let node = if context.exhausted() {
            Err(answer_too_large(self.name()))
        } else {
            node
        };
        let shown = node.as_ref().ok().and_then(|n| self.masked_json(n));
        Answered {
            node,
            shown,
            notification,
        }
    }

    /// Renders a forced answer (a scenario's) for this method, counting `{{seq}}`.
    pub fn forced(&self, answer: &Answer, request: &Request<'_>) -> Answered {
        let context = request.context(self.next_seq());
        let node = answer.render(&context);
        self.answered(&context, node, None)
    }

    /// A JSON text with every `mask` path masked; `None` when there is nothing to mask
    /// or the text is no JSON (the caller decides what to show then).
    pub fn masked_json(&self, text: &str) -> Option<String> {
        if self.mask.is_empty() {
            return Some(text.to_owned());
        }
        let mut value: Value = serde_json::from_str(text).ok()?;
        for path in &self.mask {
            if let Some(v) = path.lookup_mut(&mut value) {
                *v = Value::String(mask_value(v));
            }
        }
        Some(value.to_string())
    }

    /// The request's `biz_content` as the journal shows it: `mask` paths masked, a text
    /// that is no JSON masked whole when the definition masks anything; `None` when
    /// nothing needs masking.
    pub fn masked_biz(&self, text: Option<&str>) -> Option<String> {
        let text = text?;
        if self.mask.is_empty() {
            return None;
        }
        Some(
            self.masked_json(text)
                .unwrap_or_else(|| format!("[masked: {} characters]", text.chars().count())),
        )
    }

    /// Masks the notification parameters that carry masked data: those named like a
    /// top-level `mask` path (`buyer_logon_id` for `mask: ["buyer_logon_id"]`), and those
    /// whose template reads a masked path, whatever their name (`buyer_logon_id` from
    /// `{{biz.buyer.logon_id}}` for `mask: ["buyer.logon_id"]`).
    pub fn masked_notification(&self, n: &TriggeredNotification) -> TriggeredNotification {
        let mut shown = n.clone();
        for (name, value) in &mut shown.params {
            if self.masked_params.contains(name) {
                *value = mask_value(&Value::String(value.clone()));
            }
        }
        shown
    }
}

fn compile_rule(rule: &Rule, field: &str) -> Result<CompiledRule, DefinitionError> {
    let when = rule
        .when
        .iter()
        .map(|(k, v)| {
            Path::parse(k)
                .map(|p| (p, v.clone()))
                .map_err(|e| DefinitionError::new(format!("{field}.when"), e))
        })
        .collect::<Result<_, _>>()?;
    let answer = match (&rule.answer, &rule.error) {
        (Some(node), None) => Answer::node(node, &format!("{field}.answer"))?,
        (None, Some(spec)) => Answer::Error(Answer::error(spec, &format!("{field}.error"))?),
        _ => {
            return Err(DefinitionError::new(
                field,
                "give exactly one of answer and error",
            ))
        }
    };
    let notify = rule
        .notify
        .as_ref()
        .map(|n| compile_notify(n, &format!("{field}.notify")))
        .transpose()?;
    Ok(CompiledRule {
        when,
        answer,
        notify,
    })
}

/// The notification parameters [`Compiled::masked_notification`] masks, by name. A name
/// masked in one rule is masked in all: the journal errs towards hiding.
fn masked_params(rules: &[CompiledRule], mask: &[Path]) -> Vec<String> {
    let mut names: Vec<String> = mask
        .iter()
        .filter(|p| p.len() == 1)
        .map(|p| p.first().to_owned())
        .collect();
    for notify in rules.iter().filter_map(|r| r.notify.as_ref()) {
        for (name, template) in &notify.params {
            if template.reads_any(mask) && !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

fn compile_notify(spec: &NotifySpec, field: &str) -> Result<CompiledNotify, DefinitionError> {
    if spec.delay_seconds > MAX_NOTIFY_DELAY_SECONDS {
        return Err(DefinitionError::new(
            format!("{field}.delay_seconds"),
            format!("is at most {MAX_NOTIFY_DELAY_SECONDS} (one day)"),
        ));
    }
    if spec.params.is_empty() {
        return Err(DefinitionError::new(
            format!("{field}.params"),
            "give at least one parameter",
        ));
    }
    let params = spec
        .params
        .iter()
        .map(|(name, value)| {
            let at = format!("{field}.params.{name}");
            let Value::String(text) = value else {
                return Err(DefinitionError::new(at, "must be a string (a template)"));
            };
            if name.is_empty() || name == "sign" || name == "sign_type" {
                return Err(DefinitionError::new(
                    at,
                    "is not a parameter a notification may set (sign and sign_type are added when it is signed)",
                ));
            }
            Template::compile(text)
                .map(|t| (name.clone(), t))
                .map_err(|e| DefinitionError::new(at, e))
        })
        .collect::<Result<_, _>>()?;
    Ok(CompiledNotify {
        params,
        delay_seconds: spec.delay_seconds,
    })
}

/// Whether every `when` value equals the value at its path (JSON equality).
fn matches(when: &[(Path, Value)], biz: Option<&Value>) -> bool {
    when.iter()
        .all(|(path, wanted)| biz.and_then(|b| path.lookup(b)) == Some(wanted))
}

/// A value masked for the journal: text keeps its first 3 and last 4 characters when
/// longer than 7, else it is hidden whole; objects and arrays are hidden whole.
fn mask_value(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Null => return "null".to_owned(),
        other => other.to_string(),
    };
    let chars: Vec<char> = text.chars().collect();
    if matches!(value, Value::Object(_) | Value::Array(_)) || chars.len() <= 7 {
        return "*".repeat(chars.len().min(16));
    }
    let (head, tail) = (&chars[..3], &chars[chars.len() - 4..]);
    format!(
        "{}{}{}",
        head.iter().collect::<String>(),
        "*".repeat(chars.len() - 7),
        tail.iter().collect::<String>()
    )
}

/// What a defined method sees of a verified request.
pub struct Request<'a> {
    /// The calling app.
    pub app_id: &'a str,
    /// `biz_content` as JSON, when it parsed.
    pub biz: Option<&'a Value>,
    /// A request parameter by name.
    pub param: &'a dyn Fn(&str) -> Option<String>,
    /// The gateway's clock.
    pub now: time::OffsetDateTime,
    /// The request's `sign_type`.
    pub sign_type: SignType,
    /// The request's charset label.
    pub charset: &'a str,
}

impl Request<'_> {
    /// The template context of this request, with this `{{seq}}` value.
    pub fn context(&self, seq: u64) -> Context<'_> {
        Context {
            biz: self.biz,
            param: self.param,
            now: self.now,
            seq,
            budget: Budget::default(),
        }
    }
}

/// A request's `biz_content` as a defined method reads it.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The definition in force when the request arrived.
    pub definition: std::sync::Arc<Compiled>,
    /// The text as received (decrypted when encrypted).
    pub text: Option<String>,
    /// The text as JSON, when it parsed.
    pub json: Option<Value>,
}

impl Reading {
    /// Reads `biz_content` for a definition.
    pub fn new(definition: std::sync::Arc<Compiled>, text: Option<&str>) -> Reading {
        Reading {
            json: text.and_then(|t| serde_json::from_str(t).ok()),
            text: text.map(str::to_owned),
            definition,
        }
    }
}

#[cfg(test)]
mod tests;
