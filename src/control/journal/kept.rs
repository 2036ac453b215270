//! An entry as the ring keeps it. Recording is on every request's path and reading is
//! rare, so the ring keeps each entry's parameters packed into one buffer and builds the
//! public [`JournalEntry`] with its map only when someone asks (issue 21: the map of
//! twenty `String`s each request built, and the one its eviction freed, cost more than
//! the rest of the entry together).

use std::collections::BTreeMap;

use super::{bounded, JournalEntry, MAX_VALUE_BYTES};

/// A journal entry with its parameters packed; [`Kept::entry`]'s own `params` is empty.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    pub(crate) entry: JournalEntry,
    params: Packed,
}

/// Parameter names and values back to back in one buffer, in name order.
#[derive(Debug, Clone, Default, PartialEq)]
struct Packed {
    text: String,
    /// Where each name ends and where its value ends, in `text`.
    ends: Vec<(usize, usize)>,
}

impl Packed {
    /// Packs pairs given in name order, each cut as [`bounded`] cuts it.
    fn new<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Packed {
        // One allocation of the final size (a value cut to the bound grows a little
        // past it, by its note).
        let length = pairs
            .clone()
            .map(|(name, value)| name.len().min(MAX_VALUE_BYTES) + value.len().min(MAX_VALUE_BYTES))
            .sum();
        let mut packed = Packed {
            text: String::with_capacity(length),
            ends: Vec::with_capacity(pairs.size_hint().0),
        };
        for (name, value) in pairs {
            push_bounded(&mut packed.text, name);
            let name_end = packed.text.len();
            push_bounded(&mut packed.text, value);
            packed.ends.push((name_end, packed.text.len()));
        }
        packed
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let name = self.text.get(start..name_end).unwrap_or_default();
            let value = self.text.get(name_end..value_end).unwrap_or_default();
            start = value_end;
            (name, value)
        })
    }
}

/// Appends `value` as [`bounded`] keeps it, without an intermediate `String` when it is
/// short enough to keep whole.
fn push_bounded(text: &mut String, value: &str) {
    if value.len() <= MAX_VALUE_BYTES {
        text.push_str(value);
    } else {
        text.push_str(&bounded(value));
    }
}

/// The per-parameter allowance of [`JournalEntry::approximate_bytes`].
const PARAM: usize = 64;

impl Kept {
    /// `entry` (whose `params` are ignored) with `params`, given in name order.
    pub(crate) fn new<'a>(
        mut entry: JournalEntry,
        params: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Kept {
        entry.params = BTreeMap::new();
        Kept {
            entry,
            params: Packed::new(params),
        }
    }

    /// The public entry, its parameters unpacked.
    pub(crate) fn to_entry(&self) -> JournalEntry {
        let mut entry = self.entry.clone();
        entry.params = self
            .params
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        entry
    }

    /// [`JournalEntry::approximate_bytes`] of the entry it stands for.
    pub(crate) fn approximate_bytes(&self) -> usize {
        self.entry.approximate_bytes() + self.params.ends.len() * PARAM + self.params.text.len()
    }
}

impl From<JournalEntry> for Kept {
    fn from(mut entry: JournalEntry) -> Kept {
        let params = std::mem::take(&mut entry.params);
        Kept::new(entry, params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_parameters_unpack_to_the_same_map_and_size() {
        let long = "长".repeat(MAX_VALUE_BYTES);
        let mut params = BTreeMap::new();
        params.insert(String::new(), String::new());
        params.insert("app_id".to_owned(), "2014072300007148".to_owned());
        params.insert("biz_content".to_owned(), long.clone());
        let entry = JournalEntry {
            id: 0,
            time: time::OffsetDateTime::UNIX_EPOCH,
            http_method: "POST".into(),
            app_id: Some("2014072300007148".into()),
            method: Some("zhima.auth.info.authquery".into()),
            charset: "utf-8".into(),
            params: params.clone(),
            signature: Default::default(),
            outcome: Default::default(),
            faults: Vec::new(),
            diagnosis: None,
            answer: None,
            notification: None,
            latency_ms: 1.0,
        };
        let kept = Kept::from(entry.clone());
        let unpacked = kept.to_entry();

        // Every parameter comes back, the long value cut on a character boundary with the
        // note of its full length, exactly as the journal cuts values.
        let cut = format!(
            "{}…[cut, {} bytes in all]",
            "长".repeat(MAX_VALUE_BYTES / 3),
            long.len()
        );
        params.insert("biz_content".to_owned(), cut);
        assert_eq!(unpacked.params, params);
        assert_eq!(unpacked.app_id, entry.app_id);
        // The ring counts the same bytes for what it keeps as for the entry it stands for.
        assert_eq!(kept.approximate_bytes(), unpacked.approximate_bytes());
    }
}
