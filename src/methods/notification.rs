//! The asynchronous notification a defined method's rule asks for, rendered when the rule
//! fires on a request that carried `notify_url`. The gateway records it in the request's
//! journal entry and hands it to [`crate::notify::trigger`]; delivery (signing the
//! parameters, POSTing them, retrying) is the `notify` module's, never the request path's.

use serde::{Deserialize, Serialize};

use crate::crypto::SignType;

/// A notification to send once a rule fired: everything the sender needs, rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggeredNotification {
    /// The app whose request triggered it; its platform key signs the notification.
    pub app_id: String,
    /// Where to POST it: the request's `notify_url` as sent.
    pub notify_url: String,
    /// The notification's parameters, rendered, in the order the rule writes them
    /// (signing adds `sign` and `sign_type`).
    pub params: Vec<(String, String)>,
    /// How long to wait before the first delivery attempt.
    pub delay_seconds: u64,
    /// The request's `sign_type`: the notification is signed the same way.
    pub sign_type: SignType,
    /// The request's charset label (`utf-8`, `GBK`): the notification is encoded in it.
    pub charset: String,
}
