//! The notifications on disk (one sled tree of JSON records, key = id) and the
//! in-memory index of what is pending, when it is due and what is being sent.
//!
//! The disk is the truth: a notification is written and flushed before its creation is
//! acknowledged, and each attempt is written and flushed once it ends, so after a crash
//! the index is rebuilt from the tree and an attempt that was under way is made again.
//! (A temporary store has no restart to survive and is not flushed: see
//! `Store::flush`.)
//! Read-modify-write of a record happens under one lock, so an attempt that ends after
//! its notification was deleted (or reset away) changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use time::OffsetDateTime;

use super::record::{Notification, NotificationState};
use crate::store::{OwnTree, Store, StoreError};

/// The sled tree's name.
const TREE: &str = "notifications";

#[derive(Debug, Default)]
struct Index {
    /// Pending notifications by id, with their due time.
    pending: HashMap<String, Option<OffsetDateTime>>,
    /// Ids with an attempt under way: pending ones the worker took, and any claimed for
    /// a manual attempt. Apart from `pending`, so that a removal a reopen undid (and the
    /// reload after it) cannot make a notification due again while its attempt still
    /// runs; only the release that ends the attempt (`worker::Claim`) lets go of it.
    sending: HashSet<String>,
    /// The pending ones that have a due time and are not being sent, by due time: the
    /// worker wakes at every creation and every ended attempt, and a scan and sort of
    /// every pending notification per wake grew with the queue.
    waiting: BTreeSet<(OffsetDateTime, String)>,
    /// Finished ones (delivered or failed) by creation order, for pruning.
    finished: BTreeMap<u64, String>,
}

impl Index {
    /// Indexes a pending notification: waiting for its due time unless being sent.
    fn add_pending(&mut self, id: &str, due: Option<OffsetDateTime>) {
        self.remove_pending(id);
        if let Some(at) = due.filter(|_| !self.sending.contains(id)) {
            self.waiting.insert((at, id.to_owned()));
        }
        self.pending.insert(id.to_owned(), due);
    }

    /// Forgets a pending notification (an attempt under way stays under way).
    fn remove_pending(&mut self, id: &str) {
        if let Some(Some(at)) = self.pending.remove(id) {
            self.waiting.remove(&(at, id.to_owned()));
        }
    }

    /// Marks a notification as being sent: `false` when it already is.
    fn start_sending(&mut self, id: &str) -> bool {
        if !self.sending.insert(id.to_owned()) {
            return false;
        }
        if let Some(Some(at)) = self.pending.get(id) {
            self.waiting.remove(&(*at, id.to_owned()));
        }
        true
    }

    /// An attempt ended: a pending notification waits for its due time again.
    fn stop_sending(&mut self, id: &str) {
        if self.sending.remove(id) {
            if let Some(Some(at)) = self.pending.get(id) {
                self.waiting.insert((*at, id.to_owned()));
            }
        }
    }
}

/// The notification records and their index.
#[derive(Debug)]
pub struct Queue {
    /// The tree in the store's current database (it follows a reopen).
    tree: OwnTree,
    index: Mutex<Index>,
    /// Serialises read-modify-write of records.
    writes: Mutex<()>,
    next_seq: AtomicU64,
}

fn decode(key: &[u8], bytes: &[u8]) -> Result<Notification, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

fn encode(n: &Notification) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(n).map_err(StoreError::Encode)
}

impl Queue {
    /// Opens the tree and rebuilds the index from it. Blocking.
    pub fn open(store: &Store) -> Result<Queue, StoreError> {
        let tree = store.own_tree(TREE)?;
        let mut index = Index::default();
        let mut max_seq = 0;
        for entry in tree.get()?.iter() {
            let (key, value) = entry?;
            let n = decode(&key, &value)?;
            max_seq = max_seq.max(n.seq);
            index_insert(&mut index, &n);
        }
        Ok(Queue {
            tree,
            index: Mutex::new(index),
            writes: Mutex::new(()),
            next_seq: AtomicU64::new(max_seq + 1),
        })
    }

    fn index(&self) -> std::sync::MutexGuard<'_, Index> {
        // A poisoned lock only means a panic between two complete index updates.
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_writes(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next creation number.
    pub fn next_seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    /// How many notifications are pending.
    pub fn pending_count(&self) -> usize {
        self.index().pending.len()
    }

    /// Stores a new notification (the caller flushes) and indexes it.
    pub fn insert(&self, n: &Notification) -> Result<(), StoreError> {
        let _writes = self.lock_writes();
        self.tree.get()?.insert(n.id.as_bytes(), encode(n)?)?;
        index_insert(&mut self.index(), n);
        Ok(())
    }

    /// One notification.
    pub fn get(&self, id: &str) -> Result<Option<Notification>, StoreError> {
        match self.tree.get()?.get(id.as_bytes())? {
            Some(bytes) => decode(id.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every notification, oldest first. Blocking (a scan).
    pub fn all(&self) -> Result<Vec<Notification>, StoreError> {
        let tree = self.tree.get()?;
        all_in(&tree)
    }

    /// Changes a stored notification (an attempt's record: the attempt's claim ends when
    /// it is released); `None` when it no longer exists. The caller reads [`Store::opening`]
    /// before and flushes that opening after ([`super::flush_record`]): the read and the
    /// write go through one take of the store's handles, so a reopen either comes
    /// before both or drops the write with the handles it went into, which that flush
    /// then reports.
    pub fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Notification),
    ) -> Result<Option<Notification>, StoreError> {
        let _writes = self.lock_writes();
        // One take for the read and the write: through two, a reopen in between let the
        // record read from the old handles be written into the reopened store, bringing
        // back a write the reopen had dropped. Written through old handles instead, the
        // change goes with them, and the caller's flush (of their opening) says so.
        let tree = self.tree.get()?;
        let Some(bytes) = tree.get(id.as_bytes())? else {
            return Ok(None);
        };
        let mut n = decode(id.as_bytes(), &bytes)?;
        change(&mut n);
        tree.insert(id.as_bytes(), encode(&n)?)?;
        let mut index = self.index();
        index.remove_pending(id);
        // By its creation number, which a change keeps: a scan of the finished ones
        // (up to 1,000 id comparisons) per attempt cost more than the record's write.
        index.finished.remove(&n.seq);
        index_insert(&mut index, &n);
        Ok(Some(n))
    }

    /// Removes the notifications `select` picks; answers their ids. Blocking (a scan).
    pub fn remove_where(
        &self,
        select: impl Fn(&Notification) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let _writes = self.lock_writes();
        // One take for the scan and the removals: a second take while this one is held
        // would wait for a reopen that waits for this one to be let go.
        let tree = self.tree.get()?;
        let mut removed = Vec::new();
        for n in all_in(&tree)? {
            if select(&n) {
                tree.remove(n.id.as_bytes())?;
                let mut index = self.index();
                index.remove_pending(&n.id);
                index.finished.remove(&n.seq);
                removed.push(n.id);
            }
        }
        Ok(removed)
    }

    /// Removes the oldest finished notifications beyond `keep`. The caller flushes.
    /// One being retried by hand is kept (its attempt's record must find it), and all go
    /// through one take of the store's handles.
    pub fn prune_finished(&self, keep: usize) -> Result<(), StoreError> {
        let _writes = self.lock_writes();
        let oldest: Vec<(u64, String)> = {
            let index = self.index();
            let excess = index.finished.len().saturating_sub(keep);
            index
                .finished
                .iter()
                .filter(|(_, id)| !index.sending.contains(*id))
                .take(excess)
                .map(|(seq, id)| (*seq, id.clone()))
                .collect()
        };
        if oldest.is_empty() {
            return Ok(());
        }
        let tree = self.tree.get()?;
        for (seq, id) in oldest {
            tree.remove(id.as_bytes())?;
            self.index().finished.remove(&seq);
        }
        Ok(())
    }

    /// Indexes one notification again from what the tree holds now (after a write that
    /// may not have reached the disk, and a reopen); one the tree lacks is forgotten.
    pub fn reload(&self, id: &str) -> Result<(), StoreError> {
        let _writes = self.lock_writes();
        let stored = self.get(id)?;
        let mut index = self.index();
        index.remove_pending(id);
        index.finished.retain(|_, v| v != id);
        if let Some(n) = stored {
            index_insert(&mut index, &n);
        }
        Ok(())
    }

    /// Marks due pending notifications (due at or before `now`, not being sent) as
    /// being sent and answers their ids, earliest due first, at most `max`.
    pub fn take_due(&self, now: OffsetDateTime, max: usize) -> Vec<String> {
        let mut index = self.index();
        let due: Vec<String> = index
            .waiting
            .iter()
            .take_while(|(at, _)| *at <= now)
            .take(max)
            .map(|(_, id)| id.clone())
            .collect();
        for id in &due {
            index.start_sending(id);
        }
        due
    }

    /// The earliest due time of a pending notification not being sent.
    pub fn earliest_due(&self) -> Option<OffsetDateTime> {
        self.index().waiting.first().map(|(at, _)| *at)
    }

    /// Claims a notification for a manual attempt: `false` when an attempt is already
    /// under way.
    pub fn claim(&self, id: &str) -> bool {
        self.index().start_sending(id)
    }

    /// Ends a claim without recording (the attempt was abandoned).
    pub fn release(&self, id: &str) {
        self.index().stop_sending(id);
    }
}

/// Every notification in `tree`, oldest first.
fn all_in(tree: &sled::Tree) -> Result<Vec<Notification>, StoreError> {
    let mut all = tree
        .iter()
        .map(|entry| {
            let (key, value) = entry?;
            decode(&key, &value)
        })
        .collect::<Result<Vec<_>, _>>()?;
    all.sort_by_key(|n| n.seq);
    Ok(all)
}

fn index_insert(index: &mut Index, n: &Notification) {
    match n.state {
        NotificationState::Pending => index.add_pending(&n.id, n.next_attempt_at),
        NotificationState::Delivered | NotificationState::Failed => {
            index.finished.insert(n.seq, n.id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreLocation;

    fn notification(id: &str, seq: u64) -> Notification {
        let url = "http://127.0.0.1:9/notify";
        Notification::pending_for_test(id, seq, url, OffsetDateTime::UNIX_EPOCH)
    }

    fn due_at(id: &str, seq: u64, minute: i64) -> Notification {
        let url = "http://127.0.0.1:9/notify";
        let due = OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(minute);
        Notification::pending_for_test(id, seq, url, due)
    }

    fn minute(m: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(m)
    }

    #[test]
    fn due_notifications_are_taken_earliest_first_once_each_and_at_most_max() {
        let store = Store::open(&StoreLocation::Ephemeral).unwrap();
        let queue = Queue::open(&store).unwrap();
        // Made in another order than their due times; one not due yet.
        queue.insert(&due_at("c", 1, 3)).unwrap();
        queue.insert(&due_at("a", 2, 1)).unwrap();
        queue.insert(&due_at("later", 3, 60)).unwrap();
        queue.insert(&due_at("b", 4, 2)).unwrap();

        assert_eq!(queue.earliest_due(), Some(minute(1)));
        assert_eq!(queue.take_due(minute(10), 2), ["a", "b"]);
        // Those being sent are neither taken again nor the earliest due any more.
        assert_eq!(queue.earliest_due(), Some(minute(3)));
        assert_eq!(queue.take_due(minute(10), 10), ["c"]);
        assert_eq!(queue.take_due(minute(10), 10), Vec::<String>::new());
        assert_eq!(queue.earliest_due(), Some(minute(60)));
        assert!(
            !queue.claim("a"),
            "a notification being sent was claimed again"
        );

        // An abandoned attempt makes it due again, at its old time.
        queue.release("b");
        assert_eq!(queue.earliest_due(), Some(minute(2)));
        assert_eq!(queue.take_due(minute(10), 10), ["b"]);
        assert_eq!(queue.pending_count(), 4);
    }

    #[test]
    fn a_recorded_attempt_waits_for_its_new_due_time_and_a_finished_one_is_never_due() {
        let store = Store::open(&StoreLocation::Ephemeral).unwrap();
        let queue = Queue::open(&store).unwrap();
        queue.insert(&due_at("retried", 1, 1)).unwrap();
        queue.insert(&due_at("delivered", 2, 1)).unwrap();
        assert_eq!(queue.take_due(minute(1), 10), ["delivered", "retried"]);

        queue
            .update("retried", |n| n.next_attempt_at = Some(minute(5)))
            .unwrap();
        queue
            .update("delivered", |n| {
                n.state = NotificationState::Delivered;
                n.next_attempt_at = None;
            })
            .unwrap();
        // Recorded, but still being sent until the attempts' claims end.
        assert_eq!(queue.earliest_due(), None);
        queue.release("retried");
        queue.release("delivered");
        assert_eq!(queue.earliest_due(), Some(minute(5)));
        assert_eq!(queue.take_due(minute(4), 10), Vec::<String>::new());
        assert_eq!(queue.take_due(minute(5), 10), ["retried"]);
        assert_eq!(queue.pending_count(), 1);

        // A removal while waiting leaves nothing due behind.
        queue.release("retried");
        queue.remove_where(|n| n.id == "retried").unwrap();
        assert_eq!(queue.earliest_due(), None);
        assert_eq!(queue.take_due(minute(99), 10), Vec::<String>::new());
    }

    /// Review finding: pruning removed the oldest finished notification even while it
    /// was being retried by hand, so the retry's attempt found no record to add to.
    #[test]
    fn pruning_keeps_a_finished_notification_being_retried() {
        let store = Store::open(&StoreLocation::Ephemeral).unwrap();
        let queue = Queue::open(&store).unwrap();
        for (id, seq) in [("oldest", 1), ("older", 2), ("newest", 3)] {
            let mut n = due_at(id, seq, 1);
            n.state = NotificationState::Delivered;
            n.next_attempt_at = None;
            queue.insert(&n).unwrap();
        }
        assert!(queue.claim("oldest"));

        queue.prune_finished(2).unwrap();

        let kept: Vec<String> = queue.all().unwrap().into_iter().map(|n| n.id).collect();
        assert_eq!(kept, ["oldest", "newest"]);
        queue.release("oldest");
        queue.prune_finished(1).unwrap();
        let kept: Vec<String> = queue.all().unwrap().into_iter().map(|n| n.id).collect();
        assert_eq!(kept, ["newest"]);
    }

    /// Regression (issue 22's merge): the queue kept the tree of the database it was
    /// opened with, so after a failed write reopened the store it held the old database
    /// open (the reopen found the folder still locked) and wrote into it.
    #[tokio::test]
    async fn after_a_reopen_the_queue_writes_into_the_reopened_store() {
        let dir = tempfile::tempdir().unwrap();
        let location = StoreLocation::Dir(dir.path().join("data"));
        let store = Store::open(&location).unwrap();
        let queue = Queue::open(&store).unwrap();
        queue.insert(&notification("before", 1)).unwrap();
        store.flush().await.unwrap();

        // A failed write that is not a full disk reopens the store at once.
        let injected = sled::Error::Io(std::io::Error::other("injected write failure"));
        store.write_failed(StoreError::Sled(injected));
        store.writable().expect("the store reopened");
        queue.insert(&notification("after", 2)).unwrap();
        store.flush().await.unwrap();
        drop(queue);
        assert!(store.close(std::time::Duration::from_secs(10)));

        let reopened = Store::open(&location).unwrap();
        let queue = Queue::open(&reopened).unwrap();
        let ids: Vec<String> = queue.all().unwrap().into_iter().map(|n| n.id).collect();
        assert_eq!(ids, ["before", "after"]);
        assert_eq!(queue.pending_count(), 2);
    }

    /// Regression: `remove_where` took the handles, then took them a second time (through
    /// `all`) while still holding the first. A reopen that came in between waited for the
    /// first to be let go, the second take waited for the reopen, and after the reopen
    /// gave up (10 s) the removal failed with the store unavailable.
    #[tokio::test]
    async fn a_reopen_during_a_removal_neither_fails_it_nor_brings_the_record_back() {
        let dir = tempfile::tempdir().unwrap();
        let location = StoreLocation::Dir(dir.path().join("data"));
        let store = std::sync::Arc::new(Store::open(&location).unwrap());
        let queue = Queue::open(&store).unwrap();
        queue.insert(&notification("kept", 1)).unwrap();
        queue.insert(&notification("removed", 2)).unwrap();
        store.flush().await.unwrap();

        // Right after the removal takes the handles, a failed write (not a full disk)
        // starts reopening the store.
        let (versions, reopener) = (std::sync::Arc::clone(&store), std::sync::Arc::clone(&store));
        let reopen = crate::store::test_hooks::reopen_during_next_take(
            store.dir().unwrap(),
            move || versions.version(),
            move || {
                let injected = sled::Error::Io(std::io::Error::other("injected write failure"));
                reopener.write_failed(StoreError::Sled(injected));
            },
        );
        let removed = queue.remove_where(|n| n.id == "removed");
        let reopen = reopen.lock().unwrap().take().expect("the reopen started");
        reopen.join().unwrap();

        assert!(
            matches!(removed.as_deref(), Ok([id]) if id == "removed"),
            "a removal during a reopen answered {removed:?}"
        );
        store.writable().expect("the store reopened");
        let ids: Vec<String> = queue.all().unwrap().into_iter().map(|n| n.id).collect();
        assert_eq!(
            ids,
            ["kept"],
            "the reopened store still holds the removed record"
        );
        store.flush().await.unwrap();
        drop(queue);
        let store = std::sync::Arc::into_inner(store).unwrap();
        assert!(store.close(std::time::Duration::from_secs(10)));
        let reopened = Store::open(&location).unwrap();
        let ids: Vec<String> = Queue::open(&reopened)
            .unwrap()
            .all()
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect();
        assert_eq!(ids, ["kept"]);
    }
}
