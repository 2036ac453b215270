//! Alipay's retry schedule (docs/protocol.md §9.3): a handler that does not answer
//! `success` is sent the notification again 4 minutes, 10, 10 minutes, 1, 2, 6 and 15
//! hours after the previous send: eight sends within about 25 hours (24 h 24 min after
//! the first).
//!
//! Due times are counted from the previous *due* time on the gateway's clock, not from
//! when the send happened: a test that moves the clock past several retries at once
//! sees each of them, one after another, at the virtual times the schedule names.

use time::{Duration, OffsetDateTime};

/// The pauses between sends, from Alipay's notification documentation.
pub const RETRY_INTERVALS: [Duration; 7] = [
    Duration::minutes(4),
    Duration::minutes(10),
    Duration::minutes(10),
    Duration::hours(1),
    Duration::hours(2),
    Duration::hours(6),
    Duration::hours(15),
];

/// How many scheduled sends a notification gets: the first and seven retries.
pub const MAX_ATTEMPTS: u32 = RETRY_INTERVALS.len() as u32 + 1;

/// When the next scheduled send is due after `made` scheduled sends, the last of which
/// was due at `last_due`; `None` once all eight were made.
pub fn next_due(made: u32, last_due: OffsetDateTime) -> Option<OffsetDateTime> {
    let index = usize::try_from(made.checked_sub(1)?).ok()?;
    RETRY_INTERVALS
        .get(index)
        .and_then(|pause| last_due.checked_add(*pause))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn eight_sends_fall_at_the_documented_offsets_within_twenty_five_hours() {
        let first = datetime!(2026-01-01 0:00 UTC);
        let mut due = first;
        let mut offsets = vec![Duration::ZERO];
        for made in 1.. {
            match next_due(made, due) {
                Some(next) => {
                    due = next;
                    offsets.push(next - first);
                }
                None => break,
            }
        }
        let minutes: Vec<i64> = offsets.iter().map(|d| d.whole_minutes()).collect();
        assert_eq!(minutes, [0, 4, 14, 24, 84, 204, 564, 1464]);
        assert_eq!(offsets.len() as u32, MAX_ATTEMPTS);
        assert!(due - first < Duration::hours(25));
    }

    #[test]
    fn no_send_is_due_before_the_first_nor_after_the_eighth() {
        let t = datetime!(2026-01-01 0:00 UTC);
        assert_eq!(next_due(0, t), None);
        assert_eq!(next_due(8, t), None);
    }
}
