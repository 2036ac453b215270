//! Asynchronous notifications (异步通知): what the platform POSTs to an app's
//! `notify_url` after a trade call, signed with the app's platform key, retried on
//! Alipay's schedule until the handler answers `success` (docs/protocol.md §9).
//!
//! This module owns everything about them: the records in their own sled tree
//! ([`queue`]), the wire form ([`form`]), where they may go ([`policy`]), one attempt
//! ([`delivery`]), the schedule on the gateway's virtual clock ([`schedule`]) and the
//! worker that sends them ([`worker`]). It never runs on the request path: a method
//! rule that fires hands a [`TriggeredNotification`] to [`trigger`], which only puts it
//! on a bounded channel; the worker does the rest.
//!
//! Lifecycle: made (`pending`, due at now + `delay_seconds`) → attempts at the due
//! times → `delivered` on the first `success`, or `failed` after the eighth scheduled
//! attempt. `POST …/retry` makes an extra attempt now; `DELETE` removes one (a pending
//! one is never sent again); a reset removes all, or one app's.

pub mod create;
pub mod delivery;
pub mod form;
pub mod policy;
pub mod queue;
pub mod record;
pub mod schedule;
pub mod worker;

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};

pub use crate::methods::TriggeredNotification;
pub use create::{CreateError, NotificationRequest};
pub use record::{Attempt, Notification, NotificationState, NotificationSummary, Verdict};

use crate::state::State;
use crate::store::{Opening, Store, StoreError};

/// Pending notifications held at most; creating one more answers 503.
pub const DEFAULT_MAX_PENDING: usize = 10_000;
/// Finished (delivered or failed) notifications kept; the oldest go first.
pub const DEFAULT_MAX_FINISHED: usize = 1_000;
/// Attempts under way at once.
pub const DEFAULT_MAX_CONCURRENT: usize = 8;
/// Triggered notifications waiting for the worker; more are dropped (and logged).
pub const TRIGGER_QUEUE: usize = 1_024;

/// How notifications are sent: where they may go and the bounds of the queue and of
/// each attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Where notifications may go (`--notify-allow` adds ranges).
    pub policy: policy::Policy,
    /// Timeouts and the answer size read.
    pub limits: delivery::Limits,
    /// See [`DEFAULT_MAX_PENDING`].
    pub max_pending: usize,
    /// See [`DEFAULT_MAX_FINISHED`].
    pub max_finished: usize,
    /// See [`DEFAULT_MAX_CONCURRENT`].
    pub max_concurrent: usize,
}

impl Default for NotifyConfig {
    fn default() -> NotifyConfig {
        NotifyConfig {
            policy: policy::Policy::default(),
            limits: delivery::Limits::default(),
            max_pending: DEFAULT_MAX_PENDING,
            max_finished: DEFAULT_MAX_FINISHED,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
        }
    }
}

/// The notifications of a gateway: records, index, configuration and the worker's
/// wake-ups. One per gateway (it lives in the gateway's shared state).
#[derive(Debug)]
pub struct Notifications {
    queue: queue::Queue,
    config: NotifyConfig,
    /// Wakes the worker: a notification made, retried or deleted; an attempt ended.
    wake: Notify,
    triggered: mpsc::Sender<TriggeredNotification>,
    /// Taken by the worker when it starts.
    triggered_rx: Mutex<Option<mpsc::Receiver<TriggeredNotification>>>,
}

impl Notifications {
    /// Opens the records and rebuilds the queue from them. Blocking.
    pub fn open(store: &Store, config: NotifyConfig) -> Result<Notifications, StoreError> {
        let (triggered, rx) = mpsc::channel(TRIGGER_QUEUE);
        Ok(Notifications {
            queue: queue::Queue::open(store)?,
            config,
            wake: Notify::new(),
            triggered,
            triggered_rx: Mutex::new(Some(rx)),
        })
    }

    /// The records and their index.
    pub fn queue(&self) -> &queue::Queue {
        &self.queue
    }

    /// The configuration.
    pub fn config(&self) -> &NotifyConfig {
        &self.config
    }

    /// Where notifications may go.
    pub fn policy(&self) -> &policy::Policy {
        &self.config.policy
    }

    /// Tells the worker to look at the queue again.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// What [`Notifications::wake`] wakes.
    pub(crate) fn wakes(&self) -> &Notify {
        &self.wake
    }

    /// The triggered notifications' receiving end (the worker takes it once).
    pub(crate) fn take_triggered(&self) -> Option<mpsc::Receiver<TriggeredNotification>> {
        self.triggered_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Queues the notification a method rule asks for, without waiting: the worker checks,
/// signs, stores and sends it. The call that fired the rule is answered as usual
/// whatever happens here; a refused URL, an unknown app or a full queue is logged at
/// `warn` (target `alipay_mock::notify`) and the notification is not made.
pub fn trigger(state: &State, notification: TriggeredNotification) {
    if let Err(e) = state.notifications().triggered.try_send(notification) {
        let (reason, n) = match e {
            mpsc::error::TrySendError::Full(n) => ("the trigger queue is full", n),
            mpsc::error::TrySendError::Closed(n) => ("the notification worker is not running", n),
        };
        tracing::warn!(
            app_id = %n.app_id,
            notify_url = %n.notify_url,
            "notification not made: {reason}"
        );
    }
}

/// Makes a notification's latest write durable; `opening` is [`Store::opening`] read
/// before that write. See [`flush_reindexing`].
pub(crate) async fn flush_record(
    state: &Arc<State>,
    id: &str,
    opening: Opening,
) -> Result<(), NotificationError> {
    flush_reindexing(state, opening, vec![id.to_owned()]).await
}

/// Makes writes to the notifications `ids` (made through the handles of `opening`)
/// durable. When the flush fails, the store is reopened from what the disk holds
/// ([`Store::write_failed`]); when another writer's failure reopened it since the
/// writes, they may be gone (a removal undone, a new record dropped). Either way the
/// queue indexes those notifications as the store now has them and the caller gets an
/// error, so memory never shows, and no answer acknowledges, what was not kept.
async fn flush_reindexing(
    state: &Arc<State>,
    opening: Opening,
    ids: Vec<String>,
) -> Result<(), NotificationError> {
    let Err(e) = state.store().flush_opening(opening).await else {
        return Ok(());
    };
    blocking(state, move |s| {
        let e = s.store().write_failed(e);
        for id in &ids {
            if let Err(reload) = s.notifications().queue.reload(id) {
                tracing::error!(%id, error = %reload, "cannot re-read a notification after a failed write");
            }
        }
        Err(NotificationError::Store(e))
    })
    .await
}

/// The filter of `GET /__admin/notifications`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    /// Only this app's.
    pub app_id: Option<String>,
    /// Only those in this state.
    pub state: Option<NotificationState>,
}

impl NotificationFilter {
    fn matches(&self, n: &Notification) -> bool {
        self.app_id.as_ref().is_none_or(|a| *a == n.app_id)
            && self.state.is_none_or(|s| s == n.state)
    }
}

/// Why a control call on one notification failed.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// No notification has this id.
    #[error("no notification {0}")]
    NotFound(String),
    /// An attempt is already under way.
    #[error("an attempt to send notification {0} is under way; try again when it ends")]
    Busy(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task died.
    #[error("notification task failed: {0}")]
    Task(String),
}

async fn blocking<R: Send + 'static>(
    state: &Arc<State>,
    f: impl FnOnce(&State) -> Result<R, NotificationError> + Send + 'static,
) -> Result<R, NotificationError> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(|e| NotificationError::Task(e.to_string()))?
}

/// The notifications the filter picks, oldest first.
pub async fn list(
    state: &Arc<State>,
    filter: NotificationFilter,
) -> Result<Vec<NotificationSummary>, NotificationError> {
    blocking(state, move |s| {
        Ok(s.notifications()
            .queue
            .all()?
            .iter()
            .filter(|n| filter.matches(n))
            .map(NotificationSummary::from)
            .collect())
    })
    .await
}

/// One notification with its body, sign content and attempts.
pub async fn get(state: &Arc<State>, id: &str) -> Result<Notification, NotificationError> {
    let id = id.to_owned();
    blocking(state, move |s| {
        s.notifications()
            .queue
            .get(&id)?
            .ok_or(NotificationError::NotFound(id))
    })
    .await
}

/// Removes one notification (a pending one is never sent again); flushed.
pub async fn delete(state: &Arc<State>, id: &str) -> Result<(), NotificationError> {
    let target = id.to_owned();
    // Read before the removal: a reopen after it may undo it (see Store::flush_opening).
    let opening = state.store().opening();
    let removed = blocking(state, move |s| {
        Ok(s.notifications().queue.remove_where(|n| n.id == target)?)
    })
    .await?;
    if removed.is_empty() {
        return Err(NotificationError::NotFound(id.to_owned()));
    }
    flush_reindexing(state, opening, removed).await
}

/// Removes every notification, or one app's (resets); answers how many; flushed.
pub async fn clear(state: &Arc<State>, app_id: Option<&str>) -> Result<usize, NotificationError> {
    let app_id = app_id.map(str::to_owned);
    let opening = state.store().opening();
    let removed = blocking(state, move |s| {
        Ok(s.notifications()
            .queue
            .remove_where(|n| app_id.as_ref().is_none_or(|a| *a == n.app_id))?)
    })
    .await?;
    let count = removed.len();
    flush_reindexing(state, opening, removed).await?;
    Ok(count)
}

/// Sends one notification now (whatever its state) and answers it with the attempt
/// recorded. A pending one keeps its schedule unless this attempt delivers it.
pub async fn retry(state: &Arc<State>, id: &str) -> Result<Notification, NotificationError> {
    // Claimed before it is read: a deletion after the read cannot be sent by this retry.
    if !state.notifications().queue.claim(id) {
        return Err(NotificationError::Busy(id.to_owned()));
    }
    let claim = worker::Claim::held(state, id);
    let notification = get(state, id).await?;
    let recorded = worker::send(state, notification, true, claim).await;
    match recorded {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Err(NotificationError::NotFound(id.to_owned())),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: another writer's failed write (an admin commit's, another
    /// notification's) could reopen the store between a notification's write and its
    /// flush. The reopen dropped the write sled had not written out, the flush then
    /// covered the reopened handles, and the notification was acknowledged (and indexed
    /// as pending) though the store no longer held it.
    #[tokio::test]
    async fn a_notification_that_a_reopen_dropped_before_its_flush_is_not_acknowledged() {
        let (_root, state, kept) = crate::state::tests::state_and_a_copy_of_its_disk().await;
        let queue = state.notifications().queue();
        let opening = state.store().opening();
        let url = "http://127.0.0.1:9/notify";
        let written =
            Notification::pending_for_test("lost", 1, url, time::OffsetDateTime::UNIX_EPOCH);
        queue.insert(&written).unwrap();

        state.store().fail_write_keeping_only(&kept);
        let answer = flush_record(&state, "lost", opening).await;

        let stored = queue.get("lost").unwrap();
        if answer.is_ok() {
            assert!(
                stored.is_some(),
                "the notification was acknowledged, but the store served afterwards does not hold it"
            );
        }
        assert!(
            matches!(
                answer,
                Err(NotificationError::Store(StoreError::Unavailable { .. }))
            ),
            "a notification a reopen may have dropped answered {answer:?}"
        );
        assert!(stored.is_none());
        assert_eq!(
            queue.pending_count(),
            0,
            "the lost notification is still indexed"
        );
    }

    /// A state holding one pending notification `id`, flushed, and a failed write that
    /// reopens the store during the next take of its handles onto a disk that kept the
    /// notification (one that refuses writes from here on); answers where the reopen's
    /// thread is put, to join.
    async fn a_notification_a_reopen_brings_back(
        id: &str,
    ) -> (
        tempfile::TempDir,
        Arc<State>,
        Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
    ) {
        let (root, state, _) = crate::state::tests::state_and_a_copy_of_its_disk().await;
        let url = "http://127.0.0.1:9/notify";
        let stored = Notification::pending_for_test(id, 1, url, time::OffsetDateTime::UNIX_EPOCH);
        state.notifications().queue().insert(&stored).unwrap();
        state.flush().await.unwrap();
        let dir = state.store().dir().unwrap().to_owned();
        let kept = root.path().join("with-the-notification");
        crate::store::test_hooks::copy_folder(&dir, &kept);
        let (versions, reopener) = (Arc::clone(&state), Arc::clone(&state));
        let reopen = crate::store::test_hooks::reopen_during_next_take(
            &dir,
            move || versions.store().version(),
            move || reopener.store().fail_write_keeping_only(&kept),
        );
        (root, state, reopen)
    }

    /// Regression: a deletion removed the record and then flushed whatever handles the
    /// store had. A failed write of another writer that reopened the store in between
    /// dropped the removal, and the deletion was acknowledged though the store held the
    /// notification again (sent again after a restart). A reset's clear did the same.
    #[tokio::test]
    async fn a_deletion_that_a_reopen_undid_before_its_flush_is_not_acknowledged() {
        let (_root, state, reopen) = a_notification_a_reopen_brings_back("deleted").await;
        let queue = state.notifications().queue();

        let answer = delete(&state, "deleted").await;
        let reopen = reopen.lock().unwrap().take().expect("the reopen started");
        reopen.join().unwrap();

        let stored = queue.get("deleted").unwrap();
        // What the store holds again is indexed again: still pending, so still sent.
        if stored.is_some() {
            assert_eq!(
                queue.pending_count(),
                1,
                "the notification the store holds again is not pending in the queue"
            );
        }
        if answer.is_ok() {
            assert!(
                stored.is_none(),
                "the deletion was acknowledged, but the store served afterwards holds the notification again"
            );
        }
        assert!(
            matches!(
                answer,
                Err(NotificationError::Store(StoreError::Unavailable { .. }))
            ),
            "a deletion a reopen may have undone answered {answer:?}"
        );
    }

    /// Regression: `Queue::update` read the record through one take of the store's
    /// handles and wrote it through a second. A reopen in between (another writer's
    /// failed write, onto a disk that never received this notification) let it read the
    /// record from the old handles and write it into the reopened store: a write the
    /// reopen had dropped came back through the next attempt's record.
    #[tokio::test]
    async fn an_update_during_a_reopen_does_not_bring_back_a_dropped_record() {
        let (_root, state, never_written) =
            crate::state::tests::state_and_a_copy_of_its_disk().await;
        let queue = state.notifications().queue();
        let url = "http://127.0.0.1:9/notify";
        let n = Notification::pending_for_test("dropped", 1, url, time::OffsetDateTime::UNIX_EPOCH);
        queue.insert(&n).unwrap();
        let dir = state.store().dir().unwrap().to_owned();
        let (versions, reopener) = (Arc::clone(&state), Arc::clone(&state));
        let reopen = crate::store::test_hooks::reopen_during_next_take(
            &dir,
            move || versions.store().version(),
            move || reopener.store().fail_write_keeping_only(&never_written),
        );

        // As an attempt's record is made: the opening read first, the flush after.
        let opening = state.store().opening();
        let updated = queue.update("dropped", |n| n.next_attempt_at = None);
        let reopen = reopen.lock().unwrap().take().expect("the reopen started");
        reopen.join().unwrap();
        let flushed = flush_record(&state, "dropped", opening).await;

        assert!(updated.is_ok(), "{updated:?}");
        assert!(
            queue.get("dropped").unwrap().is_none(),
            "the reopened store holds a record whose write it had dropped"
        );
        assert!(
            matches!(
                flushed,
                Err(NotificationError::Store(StoreError::Unavailable { .. }))
            ),
            "a record written into the handles a reopen dropped answered {flushed:?}"
        );
        assert_eq!(
            queue.pending_count(),
            0,
            "the queue still indexes what the store no longer holds"
        );
    }

    /// Review finding: a notification whose attempt was under way, deleted, and brought
    /// back by a reopen that undid the deletion, was indexed again as due and not being
    /// sent: the worker took it a second time while the first attempt still ran (two
    /// POSTs to the app, two recorded attempts).
    #[tokio::test]
    async fn a_notification_being_sent_that_a_reopen_brings_back_is_not_taken_again() {
        let (_root, state, reopen) = a_notification_a_reopen_brings_back("sending").await;
        let queue = state.notifications().queue();
        let later = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
        assert_eq!(queue.take_due(later, 10), ["sending"]);

        let answer = delete(&state, "sending").await;
        let reopen = reopen.lock().unwrap().take().expect("the reopen started");
        reopen.join().unwrap();
        assert!(answer.is_err(), "the undone deletion answered {answer:?}");
        assert_eq!(queue.pending_count(), 1, "the store holds it again");

        assert_eq!(
            queue.take_due(later, 10),
            Vec::<String>::new(),
            "a notification whose attempt is under way was taken again"
        );
        // Once the attempt ends without a record, it is due again.
        queue.release("sending");
        assert_eq!(queue.take_due(later, 10), ["sending"]);
    }

    /// Review finding: a retry whose caller gave up on it (an embedder's timeout drops
    /// the future) left its notification marked as being sent: a pending one was never
    /// sent again, and every later retry answered that an attempt was under way.
    #[tokio::test]
    async fn a_retry_whose_caller_gave_up_leaves_the_notification_to_be_sent() {
        let (_root, state, _) = crate::state::tests::state_and_a_copy_of_its_disk().await;
        let queue = state.notifications().queue();
        // A handler that takes the connection and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        let handler = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let n = Notification::pending_for_test("hung", 1, &url, time::OffsetDateTime::UNIX_EPOCH);
        queue.insert(&n).unwrap();

        let gave_up =
            tokio::time::timeout(std::time::Duration::from_millis(300), retry(&state, "hung"))
                .await;

        assert!(gave_up.is_err(), "the attempt ended by itself: {gave_up:?}");
        let later = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
        assert_eq!(
            queue.take_due(later, 10),
            ["hung"],
            "the notification stays marked as being sent after its retry was given up"
        );
        handler.abort();
    }

    /// Review finding: a reset whose notification clear a reopen undid answered a task
    /// failure (500) where every other write a reopen may have dropped answers that the
    /// store is unavailable (503).
    #[tokio::test]
    async fn a_reset_whose_clear_a_reopen_undid_is_a_store_failure() {
        let (_root, state, reopen) = a_notification_a_reopen_brings_back("cleared").await;

        let answer = state.reset(None).await;
        if let Some(reopen) = reopen.lock().unwrap().take() {
            reopen.join().unwrap();
        }

        assert!(
            matches!(
                answer,
                Err(crate::state::CommitError::Store(
                    StoreError::Unavailable { .. }
                ))
            ),
            "a reset a reopen may have undone answered {answer:?}"
        );
    }
}
