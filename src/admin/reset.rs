//! `POST /__admin/reset[?app_id=]`: back to the fixtures, everything or one app's.

use std::sync::Arc;

use super::{json, Input};
use crate::admin::Rejection;
use crate::reply::Reply;
use crate::state::{CommitError, State};

/// Resets through [`State::reset`], all-or-nothing.
pub(super) async fn post(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id"])?;
    let app_id = query.get("app_id");
    // A store that could not take the reset is unavailable (503), as for every other
    // write; fixtures that do not load are the gateway's own fault (500).
    state.reset(app_id).await.map_err(|e| match e {
        CommitError::Store(e) => Rejection::from(e),
        other => Rejection::internal(other.to_string()),
    })?;
    Ok(json(
        200,
        &serde_json::json!({ "reset": app_id.unwrap_or("all") }),
    ))
}
