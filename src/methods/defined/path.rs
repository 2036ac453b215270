//! Dotted paths into a JSON document (`buyer.id`, `goods_detail.0.price`): the `when`
//! keys, the `{{biz.PATH}}` templates and the `mask` entries of a definition. A segment
//! names an object member; a segment of digits also indexes an array.

use std::fmt;

use serde_json::Value;

/// A parsed dotted path: one or more non-empty segments of letters, digits, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    segments: Vec<String>,
}

/// The longest path accepted, in segments: deeper nesting is not a real request's.
const MAX_SEGMENTS: usize = 16;

impl Path {
    /// Parses `a.b.c`, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<Path, String> {
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        if segments.len() > MAX_SEGMENTS {
            return Err(format!(
                "path {text:?} is deeper than {MAX_SEGMENTS} segments"
            ));
        }
        for segment in &segments {
            let valid = !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Err(format!(
                    "path {text:?} is not dotted names (letters, digits, _ and -, e.g. \"buyer.id\")"
                ));
            }
        }
        Ok(Path { segments })
    }

    /// The value at this path, if there is one.
    pub fn lookup<'v>(&self, document: &'v Value) -> Option<&'v Value> {
        self.segments
            .iter()
            .try_fold(document, |value, segment| step(value, segment))
    }

    /// The value at this path, to change in place.
    pub fn lookup_mut<'v>(&self, document: &'v mut Value) -> Option<&'v mut Value> {
        self.segments
            .iter()
            .try_fold(document, |value, segment| match value {
                Value::Object(map) => map.get_mut(segment),
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
                _ => None,
            })
    }

    /// Whether one path lies inside the other (or they are equal): reading either reads
    /// some of what the other holds.
    pub fn overlaps(&self, other: &Path) -> bool {
        self.segments
            .iter()
            .zip(&other.segments)
            .all(|(a, b)| a == b)
    }

    /// The first segment (a top-level member name).
    pub fn first(&self) -> &str {
        // `parse` never yields an empty path: `split` gives at least one segment.
        self.segments.first().map_or("", String::as_str)
    }

    /// The number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }
}

fn step<'v>(value: &'v Value, segment: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_dotted_path_reaches_nested_members_and_array_items() {
        let doc = json!({"a": {"b": [10, {"c": "x"}]}});
        assert_eq!(
            Path::parse("a.b.1.c").unwrap().lookup(&doc),
            Some(&json!("x"))
        );
        assert_eq!(Path::parse("a.b.0").unwrap().lookup(&doc), Some(&json!(10)));
        assert_eq!(Path::parse("a.z").unwrap().lookup(&doc), None);
    }

    #[test]
    fn a_path_overlaps_its_ancestors_and_descendants_only() {
        let path = |p: &str| Path::parse(p).unwrap();
        assert!(path("buyer.logon_id").overlaps(&path("buyer.logon_id")));
        assert!(path("buyer").overlaps(&path("buyer.logon_id")));
        assert!(path("buyer.logon_id.0").overlaps(&path("buyer.logon_id")));
        assert!(!path("buyer.id").overlaps(&path("buyer.logon_id")));
        assert!(!path("buyer_logon_id").overlaps(&path("buyer.logon_id")));
    }

    #[test]
    fn empty_segments_and_odd_characters_are_refused() {
        for bad in ["", "a..b", ".a", "a.", "a b", "a.{b}", "a/b"] {
            assert!(Path::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Path::parse("out_trade_no").is_ok());
        assert!(Path::parse("extend-params.sys_service_provider_id").is_ok());
    }
}
