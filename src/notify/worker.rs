//! The task that sends notifications. It wakes when a notification is made, retried or
//! deleted, when an attempt ends, when the clock is set (`PUT /__admin/clock`), at the
//! next due time, and at least once a second otherwise (a running virtual clock
//! reaches due times by itself); never in a busy loop. At most
//! [`super::NotifyConfig::max_concurrent`] attempts run at once, each in its own task,
//! all stopped with the worker.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::record::{Attempt, Notification, NotificationState, Verdict};
use super::{create, delivery, schedule, NotificationError};
use crate::state::State;

/// The longest the worker sleeps without looking at the clock.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// The shortest sleep, so a due time a hair in the future does not spin.
const MIN_SLEEP: Duration = Duration::from_millis(5);

/// A running worker; [`Worker::stop`] ends it and every attempt under way (an attempt
/// cut short is not recorded, so it is made again after a restart).
#[derive(Debug)]
pub struct Worker {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts the worker of a gateway's notifications. Only the first worker of a
    /// state receives triggered notifications.
    pub fn start(state: Arc<State>) -> Worker {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(state, stopped));
        Worker { stop, task }
    }

    /// Stops it and waits until it and its attempts have ended.
    pub async fn stop(self) {
        // The worker may have ended already; then there is nobody to tell.
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "notification worker failed");
        }
    }
}

async fn run(state: Arc<State>, mut stopped: oneshot::Receiver<()>) {
    let mut triggered = state.notifications().take_triggered();
    let permits = Arc::new(Semaphore::new(
        state.notifications().config().max_concurrent.max(1),
    ));
    let mut tasks = JoinSet::new();
    loop {
        let notifications = state.notifications();
        // Armed before the queue is read, so a change in between still wakes us.
        let clock_set = state.clock().changes().notified();
        let woken = notifications.wakes().notified();
        tokio::pin!(clock_set, woken);
        clock_set.as_mut().enable();
        woken.as_mut().enable();
        while tasks.try_join_next().is_some() {}

        let now = state.clock().now();
        for id in notifications
            .queue()
            .take_due(now, permits.available_permits())
        {
            let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                notifications.queue().release(&id);
                break;
            };
            let state = Arc::clone(&state);
            tasks.spawn(async move {
                send_due(&state, &id).await;
                drop(permit);
                state.notifications().wake();
            });
        }
        // With every permit taken, an ending attempt wakes the loop.
        let sleep = if permits.available_permits() == 0 {
            MAX_SLEEP
        } else {
            next_sleep(notifications.queue().earliest_due(), now)
        };
        tokio::select! {
            _ = &mut stopped => break,
            _ = &mut clock_set => {}
            _ = &mut woken => {}
            Some(t) = recv(&mut triggered) => {
                let state = Arc::clone(&state);
                tasks.spawn(async move {
                    let (request, source) = create::from_trigger(t);
                    let app_id = request.app_id.clone();
                    if let Err(e) = create::create(&state, request, source.clone()).await {
                        tracing::warn!(%app_id, %source, "notification not made: {e}");
                    }
                });
            }
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

async fn recv<T>(rx: &mut Option<tokio::sync::mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Until the next due time in real time, if the clock runs at real speed; at most
/// [`MAX_SLEEP`] either way.
fn next_sleep(earliest: Option<OffsetDateTime>, now: OffsetDateTime) -> Duration {
    earliest
        .map(|due| {
            Duration::try_from(due - now)
                .unwrap_or(Duration::ZERO)
                .clamp(MIN_SLEEP, MAX_SLEEP)
        })
        .unwrap_or(MAX_SLEEP)
}

/// An attempt's hold on its notification, taken with [`super::queue::Queue::take_due`] or
/// [`super::queue::Queue::claim`]: released when dropped, whatever ends the attempt (its
/// record, a failure, or a caller that gave up on the future), so no notification stays
/// marked as being sent, never to be sent again.
pub(super) struct Claim {
    state: Arc<State>,
    id: String,
}

impl Claim {
    /// The hold on `id`, which the caller has just taken.
    pub(super) fn held(state: &Arc<State>, id: &str) -> Claim {
        Claim {
            state: Arc::clone(state),
            id: id.to_owned(),
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.state.notifications().queue().release(&self.id);
    }
}

/// Makes the scheduled attempt of a notification the worker took.
async fn send_due(state: &Arc<State>, id: &str) {
    let claim = Claim::held(state, id);
    let queue = state.notifications().queue();
    let notification = match queue.get(id) {
        Ok(Some(n)) if n.state == NotificationState::Pending => n,
        // Finished, or gone from the store (a write that never reached the disk, then a
        // reopen): indexed as the store has it, or the worker would take it again and
        // again.
        Ok(_) => {
            if let Err(e) = queue.reload(id) {
                tracing::error!(%id, error = %e, "cannot read a notification");
            }
            return;
        }
        Err(e) => {
            tracing::error!(%id, error = %e, "cannot read a notification");
            return;
        }
    };
    if let Err(e) = send(state, notification, false, claim).await {
        tracing::error!(%id, error = %e, "cannot record a notification attempt");
    }
}

/// Makes one attempt on a claimed notification and records it (flushed); answers the
/// notification as recorded, or `None` if it was deleted meanwhile. The claim ends
/// with it.
pub(super) async fn send(
    state: &Arc<State>,
    notification: Notification,
    manual: bool,
    _claim: Claim,
) -> Result<Option<Notification>, NotificationError> {
    let id = notification.id.clone();
    let at = state.clock().now().to_offset(time::UtcOffset::UTC);
    let config = state.notifications().config();
    let outcome = delivery::attempt(&config.policy, &config.limits, &notification).await;
    let verdict = outcome.verdict;
    let recorder = Arc::clone(state);
    let record_id = id.clone();
    let recorded = tokio::task::spawn_blocking(move || {
        let notifications = recorder.notifications();
        let queue = notifications.queue();
        let opening = recorder.store().opening();
        let recorded = queue.update(&record_id, |n| record(n, at, manual, outcome))?;
        // Pruning is housekeeping: a failure leaves old finished records for the next
        // attempt to prune, and must not keep this attempt's record from its flush.
        if let Err(e) = queue.prune_finished(notifications.config().max_finished) {
            tracing::warn!(error = %e, "cannot prune finished notifications");
        }
        Ok::<_, NotificationError>((recorded, opening))
    })
    .await
    .map_err(|e| NotificationError::Task(e.to_string()))??;
    let (recorded, opening) = recorded;
    super::flush_record(state, &id, opening).await?;
    state.metrics().notification_attempt(verdict);
    if let Some(n) = &recorded {
        tracing::info!(
            %id,
            app_id = %n.app_id,
            attempt = n.attempts.len(),
            verdict = ?verdict,
            state = n.state.as_str(),
            "notification attempt"
        );
    }
    Ok(recorded)
}

/// Adds an attempt to a notification and moves it along its schedule.
fn record(n: &mut Notification, at: OffsetDateTime, manual: bool, outcome: delivery::Outcome) {
    n.attempts.push(Attempt {
        number: u32::try_from(n.attempts.len() + 1).unwrap_or(u32::MAX),
        at,
        manual,
        status: outcome.status,
        body: outcome.body,
        latency_ms: u64::try_from(outcome.latency.as_millis()).unwrap_or(u64::MAX),
        error: outcome.error,
        verdict: outcome.verdict,
    });
    if outcome.verdict == Verdict::Delivered {
        n.state = NotificationState::Delivered;
        n.next_attempt_at = None;
    } else if !manual && n.state == NotificationState::Pending {
        let last_due = n.next_attempt_at.unwrap_or(at);
        match schedule::next_due(n.scheduled_attempts(), last_due) {
            Some(next) => n.next_attempt_at = Some(next),
            None => {
                n.state = NotificationState::Failed;
                n.next_attempt_at = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn pending(due: OffsetDateTime) -> Notification {
        Notification::pending_for_test("n", 1, "http://127.0.0.1/", due)
    }

    fn outcome(verdict: Verdict) -> delivery::Outcome {
        delivery::Outcome {
            status: Some(500),
            body: Some("fail".into()),
            error: None,
            verdict,
            latency: Duration::from_millis(3),
        }
    }

    #[test]
    fn failed_attempts_follow_the_schedule_and_the_eighth_failure_ends_it() {
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let mut n = pending(t0);
        record(&mut n, t0, false, outcome(Verdict::Rejected));
        assert_eq!(n.next_attempt_at, Some(t0 + time::Duration::minutes(4)));
        // A manual retry between scheduled ones changes nothing about the schedule.
        record(&mut n, t0, true, outcome(Verdict::Error));
        assert_eq!(n.next_attempt_at, Some(t0 + time::Duration::minutes(4)));
        for _ in 0..7 {
            let due = n.next_attempt_at.unwrap();
            record(&mut n, due, false, outcome(Verdict::Rejected));
        }
        assert_eq!(n.state, NotificationState::Failed);
        assert_eq!(n.next_attempt_at, None);
        assert_eq!(n.attempts.len(), 9);
        assert_eq!(n.scheduled_attempts(), 8);
        let last = n.attempts.last().unwrap();
        assert_eq!(last.at - t0, time::Duration::minutes(1464));
    }

    #[test]
    fn a_success_delivers_and_stops_the_schedule() {
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let mut n = pending(t0);
        record(&mut n, t0, false, outcome(Verdict::Delivered));
        assert_eq!(n.state, NotificationState::Delivered);
        assert_eq!(n.next_attempt_at, None);
    }

    #[test]
    fn the_worker_sleeps_until_the_due_time_but_never_over_a_second() {
        let now = datetime!(2026-01-01 0:00 UTC);
        assert_eq!(next_sleep(None, now), MAX_SLEEP);
        assert_eq!(
            next_sleep(Some(now + time::Duration::milliseconds(200)), now),
            Duration::from_millis(200)
        );
        assert_eq!(
            next_sleep(Some(now - time::Duration::hours(1)), now),
            MIN_SLEEP
        );
        assert_eq!(
            next_sleep(Some(now + time::Duration::hours(1)), now),
            MAX_SLEEP
        );
    }
}
