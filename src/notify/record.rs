//! A notification as stored and as the admin API shows it: what was signed, the exact
//! form body, where it goes, its state and every attempt.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::crypto::SignType;

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationState {
    /// Waiting for its next attempt (the first or a retry).
    Pending,
    /// The handler answered HTTP 200 with the body `success`: no more attempts.
    Delivered,
    /// Every scheduled attempt failed: no more attempts unless retried by hand.
    Failed,
}

impl NotificationState {
    /// Every state, as the `state` filter takes them.
    pub const ALL: [NotificationState; 3] = [
        NotificationState::Pending,
        NotificationState::Delivered,
        NotificationState::Failed,
    ];

    /// The wire name (`pending`, `delivered`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationState::Pending => "pending",
            NotificationState::Delivered => "delivered",
            NotificationState::Failed => "failed",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<NotificationState> {
        NotificationState::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// HTTP 200 with the body `success`.
    Delivered,
    /// The handler answered, but not HTTP 200 with `success`.
    Rejected,
    /// No answer: refused address, connection error, timeout, an answer too large.
    Error,
}

/// One attempt to deliver a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first send, then 2, 3, …
    pub number: u32,
    /// When it was sent, on the gateway's (virtual) clock.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Whether it was sent by `POST …/retry` rather than by the schedule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
    /// The HTTP status the handler answered, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The first bytes of the answer's body (lossy UTF-8), if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Real milliseconds from connecting to the end of the answer (or the failure).
    pub latency_ms: u64,
    /// Why there was no usable answer (connection refused, timeout, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How it ended.
    pub verdict: Verdict,
}

/// A notification: everything needed to send it again after a restart, and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The notification's id: its `notify_id`, the same on every attempt (as Alipay
    /// keeps `notify_id` across retries).
    pub id: String,
    /// Creation order (sled's monotonic id generator): lists show oldest first.
    pub seq: u64,
    /// The app it speaks for.
    pub app_id: String,
    /// Where it is POSTed.
    pub notify_url: String,
    /// The signature's hash.
    pub sign_type: SignType,
    /// The charset of the form body, as given (`utf-8`, `GBK`, …).
    pub charset: String,
    /// Whether the platform certificate's key signed it (certificate-mode app).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cert_mode: bool,
    /// Who made it: `admin` (the admin API) or `rule` (a method rule that fired).
    pub source: String,
    /// Every parameter sent, `sign` last, in the order of the form body.
    pub params: Vec<(String, String)>,
    /// The string the signature covers (encoded in `charset` when signed).
    pub sign_content: String,
    /// The exact form body sent (`application/x-www-form-urlencoded`, percent-encoded
    /// in `charset`), the same bytes on every attempt.
    pub body: String,
    /// When it was made, on the gateway's clock.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Where it stands.
    pub state: NotificationState,
    /// When the next scheduled attempt is due, on the gateway's clock (pending only).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Every attempt so far, oldest first.
    pub attempts: Vec<Attempt>,
}

impl Notification {
    /// How many attempts the schedule has made (manual retries not counted).
    pub fn scheduled_attempts(&self) -> u32 {
        let n = self.attempts.iter().filter(|a| !a.manual).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// A notification without its history and body: one line of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationSummary {
    /// See [`Notification::id`].
    pub id: String,
    /// See [`Notification::app_id`].
    pub app_id: String,
    /// See [`Notification::notify_url`].
    pub notify_url: String,
    /// See [`Notification::source`].
    pub source: String,
    /// See [`Notification::state`].
    pub state: NotificationState,
    /// See [`Notification::created_at`].
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// See [`Notification::next_attempt_at`].
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// How many attempts were made.
    pub attempts: usize,
    /// The last attempt's verdict, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verdict: Option<Verdict>,
}

impl From<&Notification> for NotificationSummary {
    fn from(n: &Notification) -> NotificationSummary {
        NotificationSummary {
            id: n.id.clone(),
            app_id: n.app_id.clone(),
            notify_url: n.notify_url.clone(),
            source: n.source.clone(),
            state: n.state,
            created_at: n.created_at,
            next_attempt_at: n.next_attempt_at,
            attempts: n.attempts.len(),
            last_verdict: n.attempts.last().map(|a| a.verdict),
        }
    }
}

#[cfg(test)]
impl Notification {
    /// A pending notification with no attempt, due at `due`, for the module's tests.
    pub(crate) fn pending_for_test(
        id: &str,
        seq: u64,
        notify_url: &str,
        due: OffsetDateTime,
    ) -> Notification {
        Notification {
            id: id.into(),
            seq,
            app_id: "a".into(),
            notify_url: notify_url.into(),
            sign_type: SignType::Rsa2,
            charset: "utf-8".into(),
            cert_mode: false,
            source: "admin".into(),
            params: Vec::new(),
            sign_content: String::new(),
            body: "a=b".into(),
            created_at: due,
            state: NotificationState::Pending,
            next_attempt_at: Some(due),
            attempts: Vec::new(),
        }
    }
}
