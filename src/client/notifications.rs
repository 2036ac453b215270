//! The notification calls of the admin API: their requests (shared with the command
//! line) and the typed [`Client`] methods, with the server's own types
//! ([`crate::notify`]).

use serde::Deserialize;
use serde_json::Value;

use super::calls::{target, ApiRequest, HttpMethod};
use super::{Client, ClientError};
use crate::notify::{Notification, NotificationFilter, NotificationRequest, NotificationSummary};

/// `POST /__admin/notifications` with a notification request as JSON text.
pub fn send_json(json: String) -> ApiRequest {
    ApiRequest::new(HttpMethod::Post, target(&["notifications"], &[])).with_body(json)
}

/// `POST /__admin/notifications`.
pub fn send(request: &NotificationRequest) -> Result<ApiRequest, serde_json::Error> {
    Ok(send_json(serde_json::to_string(request)?))
}

/// `GET /__admin/notifications[?app_id=][&state=]`.
pub fn list(filter: &NotificationFilter) -> ApiRequest {
    ApiRequest::new(
        HttpMethod::Get,
        target(
            &["notifications"],
            &[
                ("app_id", filter.app_id.as_deref()),
                ("state", filter.state.map(|s| s.as_str())),
            ],
        ),
    )
}

/// `GET /__admin/notifications/{id}`.
pub fn get(id: &str) -> ApiRequest {
    ApiRequest::new(HttpMethod::Get, target(&["notifications", id], &[]))
}

/// `POST /__admin/notifications/{id}/retry`.
pub fn retry(id: &str) -> ApiRequest {
    ApiRequest::new(
        HttpMethod::Post,
        target(&["notifications", id, "retry"], &[]),
    )
}

/// `DELETE /__admin/notifications/{id}`.
pub fn delete(id: &str) -> ApiRequest {
    ApiRequest::new(HttpMethod::Delete, target(&["notifications", id], &[]))
}

/// The answer of `GET /__admin/notifications`.
#[derive(Deserialize)]
struct List {
    notifications: Vec<NotificationSummary>,
}

impl Client {
    /// Sends a signed asynchronous notification; answers it as stored (pending).
    pub async fn send_notification(
        &self,
        request: &NotificationRequest,
    ) -> Result<Notification, ClientError> {
        self.call(send(request)).await
    }

    /// The notifications the filter picks, oldest first.
    pub async fn notifications(
        &self,
        filter: &NotificationFilter,
    ) -> Result<Vec<NotificationSummary>, ClientError> {
        self.call::<List>(Ok(list(filter)))
            .await
            .map(|l| l.notifications)
    }

    /// One notification with its body, sign content and attempts.
    pub async fn notification(&self, id: &str) -> Result<Notification, ClientError> {
        self.call(Ok(get(id))).await
    }

    /// Sends a notification once more now; answers it with the attempt recorded.
    pub async fn retry_notification(&self, id: &str) -> Result<Notification, ClientError> {
        self.call(Ok(retry(id))).await
    }

    /// Removes a notification; a pending one is never sent.
    pub async fn delete_notification(&self, id: &str) -> Result<(), ClientError> {
        self.call::<Value>(Ok(delete(id))).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::NotificationState;

    #[test]
    fn the_list_filter_becomes_the_query_and_ids_stay_one_segment() {
        let request = list(&NotificationFilter {
            app_id: Some("2014072300007148".into()),
            state: Some(NotificationState::Failed),
        });
        assert_eq!(
            request.target,
            "/__admin/notifications?app_id=2014072300007148&state=failed"
        );
        assert_eq!(retry("a/b").target, "/__admin/notifications/a%2Fb/retry");
        assert_eq!(delete("x").method, HttpMethod::Delete);
    }
}
