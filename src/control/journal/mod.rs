//! The request journal: what apps sent and what the gateway answered, newest last, in a
//! bounded ring buffer so memory stays flat under load. Identity names and certificate
//! numbers are masked unless the gateway runs with `--journal-unmasked`. An entry is
//! built here from what the request gathered (`entry`), masked as its method says.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

mod entry;
mod kept;

pub(crate) use kept::Kept;

pub use crate::request::{OutcomeCodes, SignatureVerdict};

/// Default ring-buffer size (`--journal-max`).
pub const DEFAULT_JOURNAL_MAX: usize = 10_000;
/// Default memory bound of the journal (`--journal-max-bytes`): 8 MiB, about 3,000
/// typical calls, so the whole process stays near 30 MB.
pub const DEFAULT_JOURNAL_MAX_BYTES: usize = 8 * 1024 * 1024;

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Position in the journal, from 1, never reused; [`Journal::record`] assigns it.
    pub id: u64,
    /// When the answer was ready (UTC, RFC 3339 on the wire).
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The HTTP method of the request (`GET` or `POST`).
    pub http_method: String,
    /// The `app_id` parameter as sent; `None` when the request had none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The `method` parameter as sent (`zhima.auth.info.authquery`); `None` when the
    /// request had none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The charset label the parameters were decoded with, as the request wrote it
    /// (`utf-8` when it named none or an unsupported one).
    pub charset: String,
    /// Every received parameter by name, decoded, each value cut to [`MAX_VALUE_BYTES`];
    /// identity data in `biz_content` masked unless the journal is unmasked.
    pub params: BTreeMap<String, String>,
    /// The request signature check.
    pub signature: SignatureVerdict,
    /// The codes the gateway answered with.
    pub outcome: OutcomeCodes,
    /// Faults applied to this request (`latency:120ms`, `dropped`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    /// What the caller most likely did wrong, when the request was refused (the doctor;
    /// never part of the wire answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<crate::doctor::Diagnosis>,
    /// A defined method's success node as answered (before encryption and signing), its
    /// definition's `mask` paths masked unless the journal is unmasked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The asynchronous notification the answer triggered (its parameters masked like
    /// the answer), handed to the notifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<crate::methods::TriggeredNotification>,
    /// Time spent answering, in milliseconds, injected latency included.
    pub latency_ms: f64,
}

/// Journal filters (all optional).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only entries whose `method` is exactly this.
    pub method: Option<String>,
    /// Only entries whose `app_id` is exactly this.
    pub app_id: Option<String>,
    /// Matches the answer's code or sub_code.
    pub outcome: Option<String>,
    /// Only entries recorded at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only the newest N.
    pub limit: Option<usize>,
}

impl Filter {
    fn accepts(&self, e: &JournalEntry) -> bool {
        self.method
            .as_ref()
            .is_none_or(|m| e.method.as_ref() == Some(m))
            && self
                .app_id
                .as_ref()
                .is_none_or(|a| e.app_id.as_ref() == Some(a))
            && self
                .outcome
                .as_ref()
                .is_none_or(|o| &e.outcome.code == o || e.outcome.sub_code.as_ref() == Some(o))
            && self.since.is_none_or(|t| e.time >= t)
    }
}

struct Ring {
    entries: VecDeque<Kept>,
    next_id: u64,
    /// The approximate heap size of the entries `entries` stand for (see
    /// [`JournalEntry::approximate_bytes`]).
    bytes: usize,
}

/// The bounded journal: at most `max` entries and about `max_bytes` of them.
pub struct Journal {
    max: usize,
    max_bytes: usize,
    unmasked: bool,
    ring: Mutex<Ring>,
    masks: Mutex<MaskMemo>,
}

/// How many masked `biz_content` texts [`Journal::masked_biz`] remembers.
const MASK_MEMO_ENTRIES: usize = 1024;

/// Masked `biz_content` texts by a SHA-256 of the method and the text as read: the same
/// request asked again (a test suite's usual traffic) is masked once. Holds only masked
/// text and digests, never what was sent; cleared whole when full.
#[derive(Default)]
struct MaskMemo {
    masked: HashMap<[u8; 32], Option<String>>,
}

impl JournalEntry {
    /// About how much memory the entry holds: its text plus a fixed allowance for the
    /// map nodes and fields. Close enough to bound the journal by bytes.
    pub fn approximate_bytes(&self) -> usize {
        const ENTRY: usize = 320;
        const PARAM: usize = 64;
        let optional = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        ENTRY
            + self.http_method.len()
            + optional(&self.app_id)
            + optional(&self.method)
            + self.charset.len()
            + self
                .params
                .iter()
                .map(|(k, v)| PARAM + k.len() + v.len())
                .sum::<usize>()
            + optional(&self.signature.sign_content)
            + self.outcome.code.len()
            + optional(&self.outcome.sub_code)
            + self.faults.iter().map(String::len).sum::<usize>()
            + optional(&self.answer)
            + self.notification.as_ref().map_or(0, |n| {
                PARAM
                    + n.notify_url.len()
                    + n.params
                        .iter()
                        .map(|(k, v)| PARAM + k.len() + v.len())
                        .sum::<usize>()
            })
    }
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("max", &self.max)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// A journal keeping at most `max` entries and about `max_bytes` of them, whichever
    /// bound is reached first.
    pub fn new(max: usize, max_bytes: usize, unmasked: bool) -> Journal {
        Journal {
            max,
            max_bytes,
            unmasked,
            ring: Mutex::new(Ring {
                entries: VecDeque::with_capacity(max.min(1024)),
                next_id: 1,
                bytes: 0,
            }),
            masks: Mutex::new(MaskMemo::default()),
        }
    }

    /// `biz_content` as the journal shows it: `mask()`'s result for this `method` (its
    /// name and its `mask` paths) and `text` (as read, decrypted when encrypted), computed
    /// once for the same question. `mask` must depend on nothing else: the paths are in
    /// the key because a method defined again may mask other fields of the same text.
    pub fn masked_biz(
        &self,
        method: Option<(&str, &[String])>,
        text: &str,
        mask: impl FnOnce() -> Option<String>,
    ) -> Option<String> {
        let mut digest = Sha256::new();
        // Tagged and length-prefixed, so no two questions run together into one key.
        match method {
            Some((method, paths)) => {
                digest.update([1]);
                for part in std::iter::once(method).chain(paths.iter().map(String::as_str)) {
                    digest.update((part.len() as u64).to_be_bytes());
                    digest.update(part.as_bytes());
                }
                digest.update([0]);
            }
            None => digest.update([0]),
        }
        digest.update(text.as_bytes());
        let key: [u8; 32] = digest.finalize().into();
        let lock = || self.masks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(masked) = lock().masked.get(&key) {
            return masked.clone();
        }
        let masked = mask();
        let mut memo = lock();
        if memo.masked.len() >= MASK_MEMO_ENTRIES {
            memo.masked.clear();
        }
        memo.masked.insert(key, masked.clone());
        masked
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A poisoned lock only means a panic between complete updates.
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether identity data is kept as sent.
    pub fn unmasked(&self) -> bool {
        self.unmasked
    }

    /// Whether entries are kept at all (`--journal-max 0` keeps none): when not, the
    /// gateway does not build them.
    pub fn keeps_entries(&self) -> bool {
        self.max > 0
    }

    /// Appends an entry (its `id` is assigned here), dropping the oldest beyond the bound.
    pub(crate) fn record(&self, entry: impl Into<Kept>) {
        if self.max == 0 {
            return;
        }
        let mut entry: Kept = entry.into();
        let size = entry.approximate_bytes();
        // Freed after the lock is released: dropping an entry frees a dozen strings, and
        // the other CPU workers wait for this lock meanwhile (issue 21). A full ring
        // usually gives up one entry per entry recorded: that one needs no `Vec`.
        let mut evicted_one = None;
        let mut evicted = Vec::new();
        let mut ring = self.ring();
        entry.entry.id = ring.next_id;
        ring.next_id += 1;
        while !ring.entries.is_empty()
            && (ring.entries.len() >= self.max || ring.bytes + size > self.max_bytes)
        {
            if let Some(oldest) = ring.entries.pop_front() {
                ring.bytes -= oldest.approximate_bytes();
                match evicted_one {
                    None => evicted_one = Some(oldest),
                    Some(_) => evicted.push(oldest),
                }
            }
        }
        ring.bytes += size;
        ring.entries.push_back(entry);
        drop(ring);
        drop(evicted_one);
        drop(evicted);
    }

    /// The approximate memory the kept entries hold.
    pub fn bytes(&self) -> usize {
        self.ring().bytes
    }

    /// Entries matching the filter, oldest first, and how many matched before `limit`.
    pub fn query(&self, filter: &Filter) -> (usize, Vec<JournalEntry>) {
        let ring = self.ring();
        let matching: Vec<&Kept> = ring
            .entries
            .iter()
            .filter(|kept| filter.accepts(&kept.entry))
            .collect();
        let total = matching.len();
        let skip = filter.limit.map_or(0, |l| total.saturating_sub(l));
        let entries = matching.into_iter().skip(skip).map(Kept::to_entry);
        (total, entries.collect())
    }

    /// Removes entries (of one app, or all); returns how many.
    pub fn clear(&self, app_id: Option<&str>) -> usize {
        let mut ring = self.ring();
        let before = ring.entries.len();
        match app_id {
            None => ring.entries.clear(),
            Some(app) => ring
                .entries
                .retain(|kept| kept.entry.app_id.as_deref() != Some(app)),
        }
        ring.bytes = ring.entries.iter().map(Kept::approximate_bytes).sum();
        // Give the ring's own buffer back too, not only the entries.
        ring.entries.shrink_to(self.max.min(1024));
        before - ring.entries.len()
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.ring().entries.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Longest value the journal keeps of one parameter; longer ones are cut (with a note of
/// the full length), so `--journal-max` bounds memory, not just the entry count.
pub const MAX_VALUE_BYTES: usize = 2048;

/// A value as the journal keeps it: cut to [`MAX_VALUE_BYTES`] on a character boundary.
pub fn bounded(value: &str) -> String {
    if value.len() <= MAX_VALUE_BYTES {
        return value.to_owned();
    }
    let mut end = MAX_VALUE_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[cut, {} bytes in all]", &value[..end], value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(app: &str, code: &str) -> JournalEntry {
        JournalEntry {
            id: 0,
            time: OffsetDateTime::now_utc(),
            http_method: "POST".into(),
            app_id: Some(app.into()),
            method: Some("m".into()),
            charset: "utf-8".into(),
            params: BTreeMap::new(),
            signature: SignatureVerdict::default(),
            outcome: OutcomeCodes {
                code: code.into(),
                sub_code: None,
            },
            faults: vec![],
            diagnosis: None,
            answer: None,
            notification: None,
            latency_ms: 0.0,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_entries_up_to_its_bound() {
        let journal = Journal::new(3, usize::MAX, false);
        for i in 0..5 {
            journal.record(entry("a", &i.to_string()));
        }
        let (total, entries) = journal.query(&Filter::default());
        assert_eq!(total, 3);
        assert_eq!(
            entries.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
    }

    #[test]
    fn filters_and_limit_select_the_newest_matches() {
        let journal = Journal::new(10, usize::MAX, false);
        journal.record(entry("a", "10000"));
        journal.record(entry("b", "40004"));
        journal.record(entry("a", "40004"));
        let filter = Filter {
            app_id: Some("a".into()),
            ..Filter::default()
        };
        assert_eq!(journal.query(&filter).0, 2);
        let filter = Filter {
            outcome: Some("40004".into()),
            limit: Some(1),
            ..Filter::default()
        };
        let (total, entries) = journal.query(&filter);
        assert_eq!((total, entries[0].app_id.as_deref()), (2, Some("a")));
        assert_eq!(journal.clear(Some("a")), 2);
        assert_eq!(journal.len(), 1);
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let long = "张".repeat(1000);
        let kept = bounded(&long);
        assert!(kept.len() < long.len(), "{}", kept.len());
        assert!(kept.ends_with("3000 bytes in all]"), "{kept}");
        assert_eq!(bounded("short"), "short");
    }

    #[test]
    fn the_byte_bound_drops_the_oldest_entries_and_clearing_gives_the_bytes_back() {
        let one = entry("a", "10000").approximate_bytes();
        let journal = Journal::new(1000, one * 3, false);
        for i in 0..10 {
            journal.record(entry("a", &format!("1000{}", i % 10)));
        }
        assert_eq!(journal.len(), 3);
        assert!(journal.bytes() <= one * 3, "{}", journal.bytes());
        let (_, kept) = journal.query(&Filter::default());
        assert_eq!(
            kept.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![8, 9, 10]
        );
        journal.clear(None);
        assert_eq!((journal.len(), journal.bytes()), (0, 0));
    }

    #[test]
    fn an_entry_larger_than_the_byte_bound_is_still_kept_alone() {
        let journal = Journal::new(10, 1, false);
        journal.record(entry("a", "1"));
        journal.record(entry("a", "2"));
        assert_eq!(journal.len(), 1);
    }
}
