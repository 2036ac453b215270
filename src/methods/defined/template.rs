//! String templates of a definition's answers and notifications: `{{biz.PATH}}`,
//! `{{param.NAME}}`, `{{now}}`, `{{digits:N}}`, `{{uuid}}` and `{{seq}}`, compiled when
//! the definition is stored (an unknown template or a bad path is refused then) and
//! rendered per request from a [`Context`].

use rand::Rng;
use serde_json::{Map, Value};
use time::format_description::FormatItem;
use time::macros::{format_description, offset};
use time::OffsetDateTime;

use super::path::Path;

/// `{{now}}`'s format: Alipay's `yyyy-MM-dd HH:mm:ss`, in Beijing time.
const NOW_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// The most digits one `{{digits:N}}` writes (Alipay's longest numeric ids have 32).
pub const MAX_DIGITS: usize = 64;

/// The longest parameter name a `{{param.NAME}}` may read.
const MAX_PARAM_NAME: usize = 64;

/// The most bytes one request's rendering (the answer and its notification together)
/// may write: templates copy request data (`{{biz.PATH}}`, `{{param.NAME}}`), so a
/// definition that repeats them would otherwise multiply a large request without limit.
pub const MAX_RENDERED_BYTES: usize = 4 * 1024 * 1024;

/// One compiled string: literal text and placeholders in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Biz(Path),
    Param(String),
    Now,
    Digits(usize),
    Uuid,
    Seq,
}

/// What a template is rendered from: the request as the gateway read it.
pub struct Context<'a> {
    /// `biz_content` as JSON, when it parsed.
    pub biz: Option<&'a Value>,
    /// A request parameter's value by name.
    pub param: &'a dyn Fn(&str) -> Option<String>,
    /// The gateway's clock.
    pub now: OffsetDateTime,
    /// The method's counter for this request (`{{seq}}`).
    pub seq: u64,
    /// What rendering may still write.
    pub budget: Budget,
}

/// The bytes one request's rendering may still write, and whether it ran out.
#[derive(Debug)]
pub struct Budget {
    left: std::cell::Cell<usize>,
    overflowed: std::cell::Cell<bool>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            left: std::cell::Cell::new(MAX_RENDERED_BYTES),
            overflowed: std::cell::Cell::new(false),
        }
    }
}

impl Context<'_> {
    /// Whether rendering ran out of [`MAX_RENDERED_BYTES`] (what it wrote is cut short).
    pub fn exhausted(&self) -> bool {
        self.budget.overflowed.get()
    }

    /// Appends `text` when the budget holds it; otherwise drops it and marks the
    /// rendering as cut short.
    fn push(&self, out: &mut String, text: &str) {
        match self.budget.left.get().checked_sub(text.len()) {
            Some(left) if !self.budget.overflowed.get() => {
                self.budget.left.set(left);
                out.push_str(text);
            }
            _ => self.budget.overflowed.set(true),
        }
    }
}

impl Template {
    /// Compiles a string, or says which placeholder is wrong.
    pub fn compile(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("{{{{ without a closing }}}} in {text:?}"))?;
            pieces.push(placeholder(after[..close].trim())?);
            rest = &after[close + 2..];
        }
        if rest.contains("}}") {
            return Err(format!("}}}} without an opening {{{{ in {text:?}"));
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Template { pieces })
    }

    /// Whether the string has no placeholder (rendering copies it).
    pub fn is_literal(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Text(_)))
    }

    /// Renders the string for one request. A `{{biz.PATH}}` the request lacks renders
    /// empty; a non-string value renders as its JSON text (`88.88`, `true`).
    pub fn render(&self, context: &Context<'_>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => context.push(&mut out, text),
                Piece::Biz(path) => match context.biz.and_then(|biz| path.lookup(biz)) {
                    Some(Value::String(s)) => context.push(&mut out, s),
                    Some(Value::Null) | None => {}
                    Some(other) => context.push(&mut out, &other.to_string()),
                },
                Piece::Param(name) => {
                    context.push(&mut out, &(context.param)(name).unwrap_or_default())
                }
                Piece::Now => {
                    let beijing = context.now.to_offset(offset!(+8));
                    // Formatting a valid date with a fixed numeric format cannot fail.
                    context.push(&mut out, &beijing.format(NOW_FORMAT).unwrap_or_default());
                }
                Piece::Digits(n) => {
                    let mut rng = rand::thread_rng();
                    let digits: String = (0..*n)
                        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
                        .collect();
                    context.push(&mut out, &digits);
                }
                Piece::Uuid => context.push(&mut out, &uuid::Uuid::new_v4().to_string()),
                Piece::Seq => context.push(&mut out, &context.seq.to_string()),
            }
        }
        out
    }

    /// Whether rendering reads `biz_content` at, inside or around one of `paths`.
    pub fn reads_any(&self, paths: &[Path]) -> bool {
        self.pieces.iter().any(|piece| match piece {
            Piece::Biz(read) => paths.iter().any(|p| p.overlaps(read)),
            _ => false,
        })
    }

    /// Whether rendering reads the method's counter.
    pub fn uses_seq(&self) -> bool {
        self.pieces.contains(&Piece::Seq)
    }
}

fn placeholder(inner: &str) -> Result<Piece, String> {
    let unknown = || {
        format!(
            "unknown template {{{{{inner}}}}}: use {{{{biz.PATH}}}}, {{{{param.NAME}}}}, {{{{now}}}}, {{{{digits:N}}}}, {{{{uuid}}}} or {{{{seq}}}}"
        )
    };
    if let Some(path) = inner.strip_prefix("biz.") {
        return Path::parse(path).map(Piece::Biz);
    }
    if let Some(name) = inner.strip_prefix("param.") {
        // Any request parameter but `sign` (app_id, notify_url, and the text parameters of
        // methods such as alipay.system.oauth.token's `code`); `biz_content` is `biz.`'s.
        let valid = !name.is_empty()
            && name.len() <= MAX_PARAM_NAME
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && name != "sign"
            && name != "biz_content";
        return if valid {
            Ok(Piece::Param(name.to_owned()))
        } else {
            Err(format!(
                "{{{{param.{name}}}}} names no request parameter: lowercase letters, digits and _, not sign or biz_content (use {{{{biz.PATH}}}})"
            ))
        };
    }
    if let Some(n) = inner.strip_prefix("digits:") {
        return match n.parse::<usize>() {
            Ok(n) if (1..=MAX_DIGITS).contains(&n) => Ok(Piece::Digits(n)),
            _ => Err(format!(
                "{{{{digits:{n}}}}} needs a count from 1 to {MAX_DIGITS}"
            )),
        };
    }
    match inner {
        "now" => Ok(Piece::Now),
        "uuid" => Ok(Piece::Uuid),
        "seq" => Ok(Piece::Seq),
        _ => Err(unknown()),
    }
}

/// A JSON value whose strings are templates (object keys stay literal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tree {
    /// `null`, a boolean or a number: copied as is.
    Plain(Value),
    /// A string, compiled.
    Text(Template),
    /// An array.
    List(Vec<Tree>),
    /// An object, members in the written order.
    Object(Vec<(String, Tree)>),
}

impl Tree {
    /// Compiles every string of `value`; an error is the member path below `at`
    /// (`answer.trade_no`) and what is wrong there.
    pub fn compile(value: &Value, at: &str) -> Result<Tree, (String, String)> {
        Ok(match value {
            Value::String(s) => Tree::Text(Template::compile(s).map_err(|e| (at.to_owned(), e))?),
            Value::Array(items) => Tree::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Tree::compile(v, &format!("{at}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Tree::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), Tree::compile(v, &format!("{at}.{k}"))?)))
                    .collect::<Result<_, (String, String)>>()?,
            ),
            other => Tree::Plain(other.clone()),
        })
    }

    /// Renders the value for one request.
    pub fn render(&self, context: &Context<'_>) -> Value {
        match self {
            Tree::Plain(v) => v.clone(),
            Tree::Text(t) => Value::String(t.render(context)),
            Tree::List(items) => Value::Array(items.iter().map(|t| t.render(context)).collect()),
            Tree::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, t)| (k.clone(), t.render(context)))
                    .collect::<Map<_, _>>(),
            ),
        }
    }

    /// Whether rendering reads the method's counter.
    pub fn uses_seq(&self) -> bool {
        match self {
            Tree::Plain(_) => false,
            Tree::Text(t) => t.uses_seq(),
            Tree::List(items) => items.iter().any(Tree::uses_seq),
            Tree::Object(members) => members.iter().any(|(_, t)| t.uses_seq()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn render(text: &str, biz: &Value) -> String {
        let param = |name: &str| (name == "app_id").then(|| "2021000000000001".to_owned());
        let context = Context {
            biz: Some(biz),
            param: &param,
            now: datetime!(2026-12-03 01:02:03 UTC),
            seq: 7,
            budget: Budget::default(),
        };
        Template::compile(text).unwrap().render(&context)
    }

    #[test]
    fn placeholders_render_from_the_request_the_clock_and_the_counter() {
        let biz = json!({"out_trade_no": "T1", "amount": 88.88, "buyer": {"id": "2088"}});
        assert_eq!(render("{{biz.out_trade_no}}", &biz), "T1");
        assert_eq!(render("n={{biz.amount}};", &biz), "n=88.88;");
        assert_eq!(render("{{biz.buyer.id}}-{{biz.absent}}", &biz), "2088-");
        assert_eq!(render("{{param.app_id}}", &biz), "2021000000000001");
        // Beijing time is UTC+8, written as Alipay writes it.
        assert_eq!(render("{{now}}", &biz), "2026-12-03 09:02:03");
        assert_eq!(render("#{{seq}}", &biz), "#7");
    }

    #[test]
    fn digits_and_uuid_have_the_asked_shape() {
        let digits = render("{{digits:28}}", &json!({}));
        assert_eq!(digits.len(), 28);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        let uuid = render("{{uuid}}", &json!({}));
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.matches('-').count(), 4);
    }

    #[test]
    fn unknown_or_malformed_placeholders_are_refused_at_compile_time() {
        for bad in [
            "{{bizz.a}}",
            "{{biz.}}",
            "{{biz.a..b}}",
            "{{param.sign}}",
            "{{param.biz_content}}",
            "{{param.App-Id}}",
            "{{digits:0}}",
            "{{digits:65}}",
            "{{digits:x}}",
            "{{now",
            "x}}",
            "{{}}",
        ] {
            assert!(Template::compile(bad).is_err(), "{bad:?} compiled");
        }
    }

    #[test]
    fn a_tree_error_names_the_member_path() {
        let (at, e) = Tree::compile(&json!({"a": [{"b": "{{nope}}"}]}), "answer").unwrap_err();
        assert_eq!(at, "answer.a[0].b");
        assert!(e.starts_with("unknown template"), "{e}");
    }
}
