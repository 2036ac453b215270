//! `/__admin/notifications`: send a notification (`POST`), list them (`GET`, by app and
//! state), show one with its body, sign content and attempts (`GET …/{id}`), delete one
//! (`DELETE …/{id}`; a pending one is never sent) and send one now (`POST …/{id}/retry`).
//! The work is [`crate::notify`]'s; this file maps it to JSON and status codes.

use std::sync::Arc;

use super::{json, no_content, Input};
use crate::admin::Rejection;
use crate::notify::{
    self, CreateError, NotificationError, NotificationFilter, NotificationRequest,
    NotificationState,
};
use crate::reply::Reply;
use crate::state::State;

impl From<CreateError> for Rejection {
    fn from(e: CreateError) -> Rejection {
        match e {
            CreateError::Invalid { .. } => Rejection::bad_request(e.to_string()),
            CreateError::QueueFull(_) => Rejection {
                status: 503,
                message: e.to_string(),
            },
            CreateError::Store(e) => e.into(),
            CreateError::Internal(_) => Rejection::internal(e.to_string()),
        }
    }
}

impl From<NotificationError> for Rejection {
    fn from(e: NotificationError) -> Rejection {
        match e {
            NotificationError::NotFound(_) => Rejection::not_found(e.to_string()),
            NotificationError::Busy(_) => Rejection::conflict(e.to_string()),
            NotificationError::Store(e) => e.into(),
            NotificationError::Task(_) => Rejection::internal(e.to_string()),
        }
    }
}

/// Reads the filter of `GET /__admin/notifications`.
fn filter(request: &Input<'_>) -> Result<NotificationFilter, Rejection> {
    let query = request.query(&["app_id", "state"])?;
    let state = match query.get("state") {
        None => None,
        Some(text) => Some(NotificationState::parse(text).ok_or_else(|| {
            Rejection::bad_request(format!(
                "state {text:?} is not one of pending, delivered, failed"
            ))
        })?),
    };
    Ok(NotificationFilter {
        app_id: query.get("app_id").map(str::to_owned),
        state,
    })
}

/// `GET /__admin/notifications[?app_id=&state=]`.
pub(super) async fn list(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let list = notify::list(state, filter(request)?).await?;
    Ok(json(200, &serde_json::json!({ "notifications": list })))
}

/// `POST /__admin/notifications`: queues one, 201.
pub(super) async fn post(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let body = NotificationRequest::from_json(request.body)?;
    let created = notify::create::create(state, body, "admin".to_owned()).await?;
    Ok(json(201, &created))
}

/// `GET /__admin/notifications/{id}`.
pub(super) async fn get(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    Ok(json(200, &notify::get(state, request.id()).await?))
}

/// `DELETE /__admin/notifications/{id}`.
pub(super) async fn delete(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    notify::delete(state, request.id()).await?;
    Ok(no_content())
}

/// `POST /__admin/notifications/{id}/retry`: sends it now.
pub(super) async fn retry(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    Ok(json(200, &notify::retry(state, request.id()).await?))
}
