//! Signed asynchronous notifications (issue 18): the gateway hands every notification a
//! defined method's rule triggers to [`trigger`], once, after the request's answer is
//! decided. This module owns their queue, worker and store records; nothing here runs on
//! the request path beyond handing the notification over.
//!
//! Until delivery lands, [`trigger`] is a documented no-op: the notification is visible
//! in the request's journal entry (`notification`) and nowhere else.

use crate::methods::TriggeredNotification;
use crate::state::State;

/// Accepts a notification for delivery. Must not block (it is called on the gateway's
/// CPU pool, once per triggering request). Today: does nothing and returns at once.
pub fn trigger(state: &State, notification: TriggeredNotification) {
    let _ = (state, notification);
}
