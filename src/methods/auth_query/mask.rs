//! What the journal shows of an authquery `biz_content`: identity data masked.

use serde_json::{Map, Value};

use super::BizContent;

/// `identity_param` fields that name no person and stay readable in the journal.
const NOT_PERSONAL: &[&str] = &["certType", "userId"];

impl BizContent {
    /// The text with personal data masked for the journal: every `identity_param` value
    /// but `certType` and `userId`, whatever its JSON type or key spelling (names keep
    /// their first character, numbers their first 3 and last 4); an `identity_param` or
    /// a `biz_content` that does not parse is masked whole, since it may hold anything.
    /// Whenever `identity_param` is present the object is written anew, so a key sent
    /// twice (JSON keeps the last) cannot smuggle a first copy into the journal. `None`
    /// when there is nothing that could be personal data.
    pub fn masked(&self) -> Option<String> {
        let text = self.text.as_deref()?;
        let Some(object) = &self.object else {
            return (!text.trim().is_empty()).then(|| mask_whole(text));
        };
        let mut object = object.clone();
        match object.get_mut("identity_param")? {
            Value::String(param_text) => match &self.identity_param {
                Some(param) => {
                    let mut param = param.clone();
                    mask_identity(&mut param);
                    *param_text = Value::Object(param).to_string();
                }
                None if param_text.trim().is_empty() => {}
                None => *param_text = mask_whole(param_text),
            },
            Value::Object(param) => mask_identity(param),
            other @ (Value::Number(_) | Value::Array(_)) => {
                *other = Value::String(mask_whole(&other.to_string()));
            }
            Value::Null | Value::Bool(_) => {}
        }
        Some(Value::Object(object).to_string())
    }
}

/// Masks the personal fields of an `identity_param` object in place.
fn mask_identity(param: &mut Map<String, Value>) {
    for (key, value) in param.iter_mut() {
        if NOT_PERSONAL.contains(&key.as_str()) {
            continue;
        }
        let text = match &*value {
            Value::Null | Value::Bool(_) => continue,
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mask = if key.eq_ignore_ascii_case("name") {
            mask_name(&text)
        } else {
            mask_number(&text)
        };
        *value = Value::String(mask);
    }
}

/// A value that could not be read, replaced whole: only its length remains.
fn mask_whole(text: &str) -> String {
    format!("[masked: {} characters]", text.chars().count())
}

/// Masks a person's name: the first character stays (a one-character name is hidden).
fn mask_name(name: &str) -> String {
    let count = name.chars().count();
    if count <= 1 {
        return "*".repeat(count);
    }
    name.chars()
        .enumerate()
        .map(|(i, c)| if i == 0 { c } else { '*' })
        .collect()
}

/// Masks a certificate number: the first 3 and last 4 characters stay (short values are
/// hidden whole).
fn mask_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 3 || i >= chars.len() - 4 {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::read;

    fn masked(biz: &str) -> String {
        read(Some(biz)).masked().unwrap()
    }

    #[test]
    fn names_and_certificate_numbers_are_masked() {
        let masked = masked(
            r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"张三\",\"certNo\":\"33021199003132432\"}","identity_type":"2"}"#,
        );
        assert!(
            !masked.contains("张三") && !masked.contains("33021199003132432"),
            "{masked}"
        );
        assert!(
            masked.contains("张*") && masked.contains("330**********2432"),
            "{masked}"
        );
        assert!(masked.contains("IDENTITY_CARD"), "{masked}");
    }

    #[test]
    fn escaped_and_short_values_are_masked_and_nothing_else_changes() {
        // python-alipay-sdk sends names as \uXXXX escapes; a one-digit certNo must not
        // turn every 1 elsewhere into a star.
        let masked = masked(
            r#"{"identity_param":"{\"name\":\"\\u5f20\",\"certNo\":\"1\"}","identity_type":"2","x":"111"}"#,
        );
        assert!(
            !masked.contains("u5f20") && !masked.contains('张'),
            "{masked}"
        );
        assert!(
            masked.contains(r#""x":"111""#),
            "other fields untouched: {masked}"
        );
        assert_eq!(
            read(Some(r#"{"identity_param":"{\"userId\":\"2088\"}"}"#))
                .masked()
                .unwrap(),
            r#"{"identity_param":"{\"userId\":\"2088\"}"}"#
        );
        assert!(read(Some(r#"{"other":"x"}"#)).masked().is_none());
    }

    // Regression (reliability issue, item 5): a numeric certNo was answered and kept
    // unmasked in the journal.
    #[test]
    fn a_numeric_certificate_number_is_masked() {
        let masked = masked(
            r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"张三\",\"certNo\":33021199003132432}","identity_type":"2"}"#,
        );
        assert!(!masked.contains("33021199003132432"), "{masked}");
        assert!(masked.contains("330**********2432"), "{masked}");
    }

    // Regression (reliability issue, item 5): identity data that did not parse, or used
    // other key spellings, was kept as sent.
    #[test]
    fn unreadable_identity_data_and_other_key_spellings_are_masked() {
        let lower = masked(
            r#"{"identity_param":"{\"certtype\":\"IDENTITY_CARD\",\"NAME\":\"张三\",\"certno\":\"33021199003132432\"}","identity_type":"2"}"#,
        );
        assert!(
            !lower.contains("张三") && !lower.contains("33021199003132432"),
            "{lower}"
        );
        for garbage in [
            r#"{"identity_param":"{\"name\":\"张三\",\"certNo\":\"33021199003132432\"} trailing","identity_type":"2"}"#,
            r#"{"identity_param":"certNo=33021199003132432","identity_type":"2"}"#,
            r#"{"identity_param":33021199003132432,"identity_type":"2"}"#,
            "certNo=33021199003132432&name=张三",
            r#"{"identity_param":"{\"certNo\":\"33021199003132432\"}"} garbage"#,
        ] {
            let masked = masked(garbage);
            assert!(
                !masked.contains("33021199003132432") && !masked.contains("张三"),
                "{garbage} -> {masked}"
            );
        }
    }

    // Review finding: JSON keeps the last of a repeated key, so a first copy holding a
    // name and number stayed in the raw text the journal kept.
    #[test]
    fn a_repeated_key_cannot_carry_identity_data_past_the_mask() {
        for biz in [
            r#"{"identity_param":"{\"name\":\"张三\",\"certNo\":\"33021199003132432\"}","identity_param":"{\"userId\":\"2088\"}","identity_type":"5"}"#,
            r#"{"identity_param":"{\"name\":\"张三\",\"certNo\":\"33021199003132432\"}","identity_param":null}"#,
            r#"{"identity_param":"{\"name\":\"张三\",\"certNo\":\"33021199003132432\",\"certNo\":null,\"name\":null}"}"#,
        ] {
            let masked = masked(biz);
            assert!(
                !masked.contains("33021199003132432") && !masked.contains("张三"),
                "{biz} -> {masked}"
            );
        }
    }
}
