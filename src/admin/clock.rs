//! `/__admin/clock`: the gateway's notion of now. `PUT` freezes it
//! (`{"frozen_at": "2026-01-01T10:00:00+08:00"}`) or shifts it (`{"offset_seconds": N}`);
//! `DELETE` returns to real time; `GET` shows the setting and `now`.

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use super::{json, Input};
use crate::admin::Rejection;
use crate::clock::ClockSetting;
use crate::reply::Reply;
use crate::state::State;

/// The clock as `GET` shows it: `now` in UTC, and the setting.
#[derive(Serialize)]
struct ClockView {
    #[serde(with = "time::serde::rfc3339")]
    now: OffsetDateTime,
    #[serde(flatten)]
    setting: ClockSetting,
}

fn view(state: &State) -> Reply {
    json(
        200,
        &ClockView {
            // Validated settings keep now inside the calendar; the fallback is never taken.
            now: {
                let now = state.clock().now();
                now.checked_to_offset(time::UtcOffset::UTC).unwrap_or(now)
            },
            setting: state.clock().setting(),
        },
    )
}

/// `GET /__admin/clock`.
pub(super) async fn get(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    Ok(view(state))
}

/// `PUT /__admin/clock`: freezes or shifts it, validated first.
pub(super) async fn put(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let setting: ClockSetting = request.json()?;
    setting.validate()?;
    state.clock().set(setting);
    Ok(view(state))
}

/// `DELETE /__admin/clock`: back to real time.
pub(super) async fn delete(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    state.clock().set(ClockSetting::default());
    Ok(view(state))
}
