//! The accept loop's open connections: each one's task, whether it sits idle between
//! requests (kept alive), and a way to ask one, or all, to close. At the connection cap
//! an idle kept-alive connection is closed first, so a new client does not wait for an
//! idle one's timeout; at shutdown every connection is asked to finish its request and
//! close, and those still open after the grace are cut.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::server::graceful::GracefulConnection;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit};
use tokio::task::JoinSet;

/// What a connection is doing, as its requests begin and end.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    served: AtomicBool,
    close: Notify,
}

impl Activity {
    /// Kept alive with no request in flight, after at least one answer. A client that
    /// connected and has not sent its first request yet is not idle: it may be slow.
    fn idle(&self) -> bool {
        self.served.load(Ordering::Acquire) && self.in_flight.load(Ordering::Acquire) == 0
    }

    /// A request begins; it ends when the guard is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }
}

/// A request in flight on a connection.
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.served.store(true, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open connections.
pub(crate) struct Connections {
    tasks: JoinSet<()>,
    activity: Arc<Mutex<HashMap<u64, Arc<Activity>>>>,
    next_id: u64,
    closing: watch::Sender<bool>,
}

impl Connections {
    pub(crate) fn new() -> Connections {
        Connections {
            tasks: JoinSet::new(),
            activity: Arc::default(),
            next_id: 0,
            closing: watch::channel(false).0,
        }
    }

    /// Serves a connection in its own task until it ends; its permit goes with it.
    pub(crate) fn spawn<C>(
        &mut self,
        connection: C,
        activity: Arc<Activity>,
        permit: OwnedSemaphorePermit,
    ) where
        C: GracefulConnection + Send + 'static,
        C::Error: Display,
    {
        // Reap finished tasks, so the set holds only open connections.
        while self.tasks.try_join_next().is_some() {}
        let id = self.next_id;
        self.next_id += 1;
        self.lock().insert(id, Arc::clone(&activity));
        let registry = Arc::clone(&self.activity);
        let mut closing = self.closing.subscribe();
        self.tasks.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let mut asked = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    () = activity.close.notified(), if !asked => {
                        connection.as_mut().graceful_shutdown();
                        asked = true;
                    }
                    _ = closing.changed(), if !asked => {
                        connection.as_mut().graceful_shutdown();
                        asked = true;
                    }
                }
            }
            registry
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            drop(permit);
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Activity>>> {
        // The map stays consistent even if a holder panicked.
        self.activity.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks one idle kept-alive connection to close; whether there was one.
    pub(crate) fn close_an_idle_one(&self) -> bool {
        let idle = self.lock().values().find(|a| a.idle()).cloned();
        match idle {
            Some(activity) => {
                activity.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Asks every connection to finish its request and close, waits at most `grace`,
    /// then cuts the rest: a stalled client cannot hold the gateway open.
    pub(crate) async fn shutdown(&mut self, grace: Duration) {
        let _ = self.closing.send(true);
        let all_closed = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all_closed).await.is_err() {
            tracing::warn!(
                open = self.tasks.len(),
                "shutdown grace period over; closing the connections still open"
            );
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}
