//! `/__admin/clock`: the gateway's notion of now. `PUT` freezes it
//! (`{"frozen_at": "2026-01-01T10:00:00+08:00"}`) or shifts it (`{"offset_seconds": N}`);
//! `DELETE` returns to real time; `GET` shows the setting and `now`.

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use super::{json, not_allowed, Input};
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

/// Shows, sets or clears the clock.
pub(super) async fn route(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    match request.method {
        "GET" => Ok(view(state)),
        "PUT" => {
            let setting: ClockSetting = request.json()?;
            setting.validate()?;
            state.clock().set(setting);
            Ok(view(state))
        }
        "DELETE" => {
            state.clock().set(ClockSetting::default());
            Ok(view(state))
        }
        other => Err(not_allowed(other)),
    }
}
