//! The gateway's notion of "now": real time, real time shifted by an offset, or a frozen
//! instant. Every time-based rule reads it — the `timestamp` window, `app_auth_token`
//! expiry, `for_seconds` scenarios — so a test can move time instead of sleeping
//! (`PUT /__admin/clock`). The journal keeps real time: it records when calls happened.
//!
//! The setting lives in memory only: a restart or a full reset returns to real time.

use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The largest offset accepted: a hundred years either way.
pub const MAX_OFFSET_SECONDS: i64 = 100 * 366 * 24 * 3600;

/// Why a clock setting is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// Both `frozen_at` and `offset_seconds`.
    #[error("give frozen_at or offset_seconds, not both")]
    FrozenAndShifted,
    /// An offset beyond [`MAX_OFFSET_SECONDS`].
    #[error("offset_seconds must be within ±{MAX_OFFSET_SECONDS}")]
    OffsetOutOfRange,
    /// A `frozen_at` whose UTC instant falls outside the years 1 to 9999.
    #[error("frozen_at must fall within the years 0001 to 9999 once taken to UTC")]
    FrozenOutOfRange,
}

/// Whether an instant, taken to UTC, is a calendar date every client can read back:
/// RFC 3339 has four-digit years, and a UTC offset can carry a local year 9999 into
/// 10000 (or year 0 into -1).
pub fn within_calendar(instant: OffsetDateTime) -> bool {
    instant
        .checked_to_offset(time::UtcOffset::UTC)
        .is_some_and(|utc| (1..=9999).contains(&utc.year()))
}

/// How the clock runs, as `PUT /__admin/clock` takes it and `GET` shows it (with `now`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSetting {
    /// Time stands still at this instant (RFC 3339, any offset).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub frozen_at: Option<OffsetDateTime>,
    /// Real time shifted by this many seconds (negative: the past).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_seconds: Option<i64>,
}

impl ClockSetting {
    /// Refuses a setting with both fields, an offset out of range, or a frozen instant
    /// outside the calendar.
    pub fn validate(&self) -> Result<(), ClockError> {
        if self.frozen_at.is_some() && self.offset_seconds.is_some() {
            return Err(ClockError::FrozenAndShifted);
        }
        if self.frozen_at.is_some_and(|f| !within_calendar(f)) {
            return Err(ClockError::FrozenOutOfRange);
        }
        if self
            .offset_seconds
            .is_some_and(|s| s.unsigned_abs() > MAX_OFFSET_SECONDS.unsigned_abs())
        {
            return Err(ClockError::OffsetOutOfRange);
        }
        Ok(())
    }

    /// Whether this is real time.
    pub fn is_real(&self) -> bool {
        self.frozen_at.is_none() && self.offset_seconds.is_none()
    }
}

/// The clock every time-based rule reads.
#[derive(Debug, Default)]
pub struct Clock {
    setting: RwLock<ClockSetting>,
    /// Woken on every change, so timers on the virtual clock (notification retries)
    /// re-read it at once instead of at their next poll.
    changed: tokio::sync::Notify,
}

impl Clock {
    /// Now, as the gateway sees it.
    pub fn now(&self) -> OffsetDateTime {
        let setting = self.setting();
        if let Some(frozen) = setting.frozen_at {
            return frozen;
        }
        let real = OffsetDateTime::now_utc();
        match setting.offset_seconds {
            // In range by validation, so the sum stays far inside time's limits.
            Some(seconds) => real.checked_add(Duration::seconds(seconds)).unwrap_or(real),
            None => real,
        }
    }

    /// The current setting.
    pub fn setting(&self) -> ClockSetting {
        // A poisoned lock only means a panic between complete updates of a Copy value.
        *self.setting.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the setting (validate it first).
    pub fn set(&self, setting: ClockSetting) {
        *self.setting.write().unwrap_or_else(|p| p.into_inner()) = setting;
        self.changed.notify_waiters();
    }

    /// What [`Clock::set`] wakes: take a `notified()` future (and `enable` it) before
    /// reading the clock, then wait on it, and no change slips in between.
    pub fn changes(&self) -> &tokio::sync::Notify {
        &self.changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_frozen_clock_stands_still_and_an_offset_clock_runs_shifted() {
        let clock = Clock::default();
        let frozen = datetime!(2026-01-01 10:00:00 +08:00);
        clock.set(ClockSetting {
            frozen_at: Some(frozen),
            offset_seconds: None,
        });
        assert_eq!(clock.now(), frozen);
        clock.set(ClockSetting {
            frozen_at: None,
            offset_seconds: Some(-86_400),
        });
        let shifted = OffsetDateTime::now_utc() - clock.now();
        assert!(
            (shifted - Duration::days(1)).abs() < Duration::seconds(5),
            "{shifted}"
        );
        clock.set(ClockSetting::default());
        assert!((OffsetDateTime::now_utc() - clock.now()).abs() < Duration::seconds(5));
    }

    #[test]
    fn both_fields_or_a_huge_offset_are_refused() {
        let both = ClockSetting {
            frozen_at: Some(datetime!(2026-01-01 0:00 UTC)),
            offset_seconds: Some(1),
        };
        assert_eq!(both.validate().unwrap_err(), ClockError::FrozenAndShifted);
        let huge = ClockSetting {
            frozen_at: None,
            offset_seconds: Some(i64::MAX),
        };
        assert_eq!(huge.validate().unwrap_err(), ClockError::OffsetOutOfRange);
    }
}
