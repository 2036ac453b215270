//! A journal entry from what a request gathered: every parameter (cut to
//! [`MAX_VALUE_BYTES`](super::MAX_VALUE_BYTES)), the signature verdict, the outcome, the
//! faults, the doctor's finding, the answer and the notification, with identity data
//! masked as the request's method reads it unless the journal is unmasked.

use time::OffsetDateTime;

use std::collections::BTreeMap;

use super::{bounded, Journal, JournalEntry, Kept};
use crate::methods;
use crate::request::RequestContext;

impl Journal {
    /// The entry for one answered request.
    pub(crate) fn entry(&self, request: &RequestContext<'_>) -> Kept {
        let RequestContext {
            params,
            http_method,
            content,
            biz,
            observed,
            ..
        } = request;
        // Mask personal data as the method reads it, and the same text inside the sign
        // content, which quotes biz_content verbatim. An encrypted request shows its
        // decrypted biz_content (masked); its sign content quotes only the ciphertext.
        let read_biz = content.text();
        let masked_biz = match (self.unmasked(), biz, read_biz) {
            (true, _, _) => None,
            (false, Some(biz), Some(text)) => {
                let method = (biz.method_name(), biz.mask_paths());
                self.masked_biz(Some(method), text, || biz.masked())
            }
            (false, Some(biz), None) => biz.masked(),
            (false, None, Some(text)) => {
                self.masked_biz(None, text, || methods::mask_for_unknown_method(read_biz))
            }
            (false, None, None) => methods::mask_for_unknown_method(read_biz),
        };
        let shown_biz = masked_biz.as_deref().or_else(|| content.decrypted());
        let sign_content = observed
            .signature
            .sign_content
            .as_deref()
            .map(|sign_content| {
                // Only the biz_content pair: a short value masked whole must not rewrite the
                // same characters elsewhere (app_id, timestamp). An encrypted biz_content is
                // ciphertext in the sign content and stays as sent.
                match (params.get("biz_content"), &masked_biz, content.decrypted()) {
                    (Some(raw), Some(masked), None) if !raw.is_empty() => {
                        match replace_biz_pair(sign_content, raw, masked) {
                            Some(replaced) => bounded(&replaced),
                            None => bounded(sign_content),
                        }
                    }
                    _ => bounded(sign_content),
                }
            });
        let notification = observed.notification.as_ref().map(|n| match biz {
            Some(biz) if !self.unmasked() => biz.masked_notification(n),
            _ => n.clone(),
        });
        let params = params.iter().map(|(k, v)| match (k, shown_biz) {
            ("biz_content", Some(shown)) => (k, shown),
            _ => (k, v),
        });
        let entry = JournalEntry {
            id: 0,
            time: OffsetDateTime::now_utc(),
            http_method: (*http_method).to_owned(),
            app_id: request.params.get("app_id").map(str::to_owned),
            method: request.params.get("method").map(str::to_owned),
            charset: request.params.charset().label().to_owned(),
            // Packed by `Kept` below.
            params: BTreeMap::new(),
            signature: super::SignatureVerdict {
                verified: observed.signature.verified,
                sign_content,
            },
            outcome: request.codes.clone(),
            faults: request.draw.labels(),
            diagnosis: observed.diagnosis.clone(),
            answer: observed.answer.as_deref().map(bounded),
            notification,
            latency_ms: request.elapsed.as_secs_f64() * 1000.0,
        };
        Kept::new(entry, params)
    }
}

/// `sign_content` with its first `biz_content=RAW` pair's value replaced by `masked`
/// (as `replacen(format!("biz_content={raw}"), …, 1)`, without formatting either
/// pattern); `None` when there is no such pair.
fn replace_biz_pair(sign_content: &str, raw: &str, masked: &str) -> Option<String> {
    const NAME: &str = "biz_content=";
    let mut from = 0;
    while let Some(at) = sign_content.get(from..).and_then(|rest| rest.find(NAME)) {
        let value = from + at + NAME.len();
        let (head, rest) = (
            sign_content.get(..value).unwrap_or_default(),
            sign_content.get(value..).unwrap_or_default(),
        );
        if let Some(tail) = rest.strip_prefix(raw) {
            let mut replaced = String::with_capacity(head.len() + masked.len() + tail.len());
            replaced.push_str(head);
            replaced.push_str(masked);
            replaced.push_str(tail);
            return Some(replaced);
        }
        from = value;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::replace_biz_pair;

    #[test]
    fn only_the_first_biz_content_pair_with_the_raw_value_is_masked() {
        let sign_content = "a=biz_content=x&biz_content={\"n\":\"张三\"}&c=张三";
        assert_eq!(
            replace_biz_pair(sign_content, "{\"n\":\"张三\"}", "{\"n\":\"张*\"}").as_deref(),
            Some("a=biz_content=x&biz_content={\"n\":\"张*\"}&c=张三")
        );
    }

    #[test]
    fn a_sign_content_without_the_pair_is_unchanged() {
        let sign_content = "app_id=1&biz_content=other";
        assert_eq!(replace_biz_pair(sign_content, "{}", "[masked]"), None);
    }
}
