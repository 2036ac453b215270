//! [`Rejection`]: why an admin request was refused, as the HTTP status and the sentence
//! of `{"error": …}`. The domain's own errors map to it here, and only here.

use crate::clock::ClockError;
use crate::control::faults::FaultError;
use crate::control::scenarios::ScenarioError;

/// Why an admin request was refused: the HTTP status and the message for `{"error": …}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Rejection {
    /// The HTTP status code of the refusal (400, 404, 409 or 500).
    pub status: u16,
    /// A sentence for people that says what was wrong; sent as the `error` field.
    pub message: String,
}

impl Rejection {
    /// 400: the input is wrong.
    pub fn bad_request(message: impl Into<String>) -> Rejection {
        Rejection {
            status: 400,
            message: message.into(),
        }
    }

    /// 404: nothing has that id.
    pub fn not_found(message: impl Into<String>) -> Rejection {
        Rejection {
            status: 404,
            message: message.into(),
        }
    }

    /// 409: it exists already, or would break a uniqueness rule.
    pub fn conflict(message: impl Into<String>) -> Rejection {
        Rejection {
            status: 409,
            message: message.into(),
        }
    }

    /// 500: the store failed.
    pub fn internal(message: impl Into<String>) -> Rejection {
        Rejection {
            status: 500,
            message: message.into(),
        }
    }
}

impl From<crate::store::StoreError> for Rejection {
    fn from(e: crate::store::StoreError) -> Rejection {
        match e {
            crate::store::StoreError::Conflict(message) => Rejection::conflict(message),
            // 507 Insufficient Storage (RFC 4918): the change was not made for lack of
            // room, and can be tried again once there is room.
            e @ crate::store::StoreError::Full { .. } => Rejection {
                status: 507,
                message: e.to_string(),
            },
            e @ crate::store::StoreError::Unavailable { .. } => Rejection {
                status: 503,
                message: e.to_string(),
            },
            other => Rejection::internal(other.to_string()),
        }
    }
}

impl From<ClockError> for Rejection {
    fn from(e: ClockError) -> Rejection {
        Rejection::bad_request(e.to_string())
    }
}

impl From<FaultError> for Rejection {
    fn from(e: FaultError) -> Rejection {
        Rejection::bad_request(e.to_string())
    }
}

impl From<ScenarioError> for Rejection {
    fn from(e: ScenarioError) -> Rejection {
        Rejection::bad_request(e.to_string())
    }
}
