//! `/__admin/requests`: the journal of gateway calls, filtered, and clearing it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{json, read, Deleted, Input};
use crate::admin::Rejection;
use crate::control::journal::{Filter, JournalEntry};
use crate::reply::Reply;
use crate::state::State;

/// A page of the journal, as `GET /__admin/requests` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestsPage {
    /// How many entries matched before `limit`.
    pub total: usize,
    /// The entries, oldest first.
    pub requests: Vec<JournalEntry>,
}

/// `GET /__admin/requests`: the journal, filtered.
pub(super) async fn list(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["method", "app_id", "outcome", "since", "limit"])?;
    let since = match query.get("since") {
        None => None,
        Some(text) => Some(
            OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(
                |_| {
                    Rejection::bad_request(format!(
                        "since {text:?} is not an RFC 3339 time (e.g. 2026-01-02T03:04:05Z)"
                    ))
                },
            )?,
        ),
    };
    let limit = match query.get("limit") {
        None => None,
        Some(text) => Some(
            text.parse::<usize>()
                .map_err(|_| Rejection::bad_request(format!("limit {text:?} is not a count")))?,
        ),
    };
    let filter = Filter {
        method: query.get("method").map(str::to_owned),
        app_id: query.get("app_id").map(str::to_owned),
        outcome: query.get("outcome").map(str::to_owned),
        since,
        limit,
    };
    // Copying and serialising up to --journal-max entries is blocking work.
    read(state, move |g| {
        let (total, requests) = g.journal().query(&filter);
        Ok(json(200, &RequestsPage { total, requests }))
    })
    .await
}

/// `DELETE /__admin/requests[?app_id=]`.
pub(super) async fn delete(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id"])?;
    let deleted = state.journal().clear(query.get("app_id"));
    Ok(json(200, &Deleted { deleted }))
}
