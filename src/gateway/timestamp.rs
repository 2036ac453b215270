//! The `timestamp` parameter: `yyyy-MM-dd HH:mm:ss`, Beijing time, within the window
//! (docs/protocol.md §4).

use std::time::Duration;

use time::format_description::FormatItem;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::{GatewayError, PublicError};

/// `timestamp` format: `yyyy-MM-dd HH:mm:ss`.
const TIMESTAMP_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// Refuses a timestamp that is malformed or, when a window is set, too far from `now`.
pub(super) fn check(
    window: Option<Duration>,
    now: OffsetDateTime,
    timestamp: &str,
) -> Result<(), GatewayError> {
    let parsed = (timestamp.len() == 19)
        .then(|| PrimitiveDateTime::parse(timestamp, TIMESTAMP_FORMAT).ok())
        .flatten()
        .ok_or(PublicError::InvalidTimestamp)?;
    if let Some(window) = window {
        // The real gateway reads timestamps as Beijing time (GMT+8).
        let sent = parsed.assume_offset(offset!(+8));
        let skew = (now - sent).unsigned_abs();
        if skew > window {
            return Err(PublicError::InvalidTimestamp.into());
        }
    }
    Ok(())
}
