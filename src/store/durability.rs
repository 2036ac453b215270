//! What makes a write durable, and what happens when one fails: the free-space check
//! before a write, the reopen after a failed one, and the flushes that acknowledge a
//! write only when they wrote out the handles it went into.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[cfg(test)]
use super::test_hooks;
use super::{folder, generation_number, Handles, Store, StoreError, Tree, GENERATION_KEY};

/// Free space below which a write is refused before sled sees it: more than the largest
/// admin body (1 MiB by default) plus one of sled's log segments (512 KiB). A write that
/// fails inside sled leaves it refusing every later write (its "global error") and its
/// memory holding the refused change, so the store refuses early instead, while sled
/// still reads; a failure that slips through (the disk filled by someone else between
/// the check and the write) reopens the store from the disk.
const WRITE_RESERVE_BYTES: u64 = 2 * 1024 * 1024;
/// How long a reopen waits for readers to let go of the old handles.
const REOPEN_WAIT: Duration = Duration::from_secs(5);

/// Whether the folder's disk has room for a write (a folder whose free space cannot be
/// read is left to sled to judge).
fn has_room(dir: &Path) -> bool {
    fs2::available_space(dir).map_or(true, |free| free >= WRITE_RESERVE_BYTES)
}

/// One opening of the store's handles: 0 at [`Store::open`], then one more for each
/// reopen begun. What a write went into, for [`Store::flush_opening`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opening(pub(super) u64);

/// Flushes in flight: at most one, and callers that arrive while one runs share the
/// next. sled runs `flush_async` on its own small thread pool and each flush waits
/// there for log buffers that the same pool writes, so with as many flushes at once as
/// it has threads (8 notification attempts and 8 admin writes are enough) none can end:
/// the store stopped writing, and shutdown waited for ever.
#[derive(Debug, Default)]
pub(super) struct Flushes {
    /// Held while a flush runs.
    running: tokio::sync::Mutex<()>,
    /// How many flushes have started.
    started: AtomicU64,
    /// The number (from `started`) of the last flush that succeeded.
    succeeded: AtomicU64,
    /// The [`Opening`] of the handles that flush wrote out.
    succeeded_on: AtomicU64,
}

impl Store {
    /// Whether a write can be made now: the handles are open and the disk has room.
    pub fn writable(&self) -> Result<(), StoreError> {
        let Some(dir) = self.dir() else {
            return Ok(());
        };
        if !has_room(dir) {
            return Err(StoreError::Full {
                dir: dir.to_owned(),
            });
        }
        self.handles().map(drop)
    }

    /// Makes ready for a write (blocking): refuses early on a full disk, and reopens a
    /// store a failed write left refusing writes once the disk has room again.
    pub fn prepare_write(&self) -> Result<(), StoreError> {
        match self.writable() {
            Err(StoreError::Unavailable { .. }) => self.reopen(),
            Ok(()) if self.poisoned.load(Ordering::Acquire) => self.reopen(),
            other => other,
        }
    }

    /// What a failed write becomes: a full disk is [`StoreError::Full`]. After any I/O
    /// failure sled refuses every later write, and its memory may hold the refused
    /// change: the store is reopened from what the disk holds (blocking) now if the disk
    /// has room, else at the first write once it has; until then it serves reads.
    pub fn write_failed(&self, e: StoreError) -> StoreError {
        let StoreError::Sled(sled::Error::Io(io)) = &e else {
            return e;
        };
        let Some(dir) = self.dir().map(Path::to_owned) else {
            return e;
        };
        tracing::warn!(dir = %dir.display(), error = %io, "a store write failed");
        self.poisoned.store(true, Ordering::Release);
        let full = io.kind() == std::io::ErrorKind::StorageFull
            || matches!(io.raw_os_error(), Some(28 | 27 | 122)) // ENOSPC, EFBIG, EDQUOT
            || !has_room(&dir);
        if !full {
            if let Err(reopen) = self.reopen() {
                tracing::error!(error = %reopen, "reopening the store failed; retrying at the next write");
            }
            return e;
        }
        StoreError::Full { dir }
    }

    /// Closes sled's handles and opens them again from the folder (blocking).
    pub(super) fn reopen(&self) -> Result<(), StoreError> {
        let mut slot = self.slot.write().unwrap_or_else(|e| e.into_inner());
        // Whatever was read from the old handles no longer holds, even if the reopen
        // fails (memos of those reads must not outlive them).
        self.version.fetch_add(1, Ordering::AcqRel);
        let opening = self.reopens.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(old) = slot.take() {
            let deadline = std::time::Instant::now() + REOPEN_WAIT;
            while Arc::strong_count(&old) > 1 && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            drop(old);
        }
        if let Some(dir) = self.dir() {
            folder::wait_until_released(dir, REOPEN_WAIT);
            #[cfg(test)]
            test_hooks::before_reopen(dir);
        }
        match Handles::open(&self.location, opening) {
            Ok(handles) => {
                // What the disk holds: the generation may be behind what memory applied.
                if let Ok(Some(g)) = handles.trees[Tree::Meta as usize].get(GENERATION_KEY) {
                    self.generation
                        .store(generation_number(&g), Ordering::Release);
                }
                *slot = Some(Arc::new(handles));
                // The reopened store holds what the disk holds, which memory may be ahead of.
                self.version.fetch_add(1, Ordering::AcqRel);
                self.poisoned.store(false, Ordering::Release);
                tracing::info!("store reopened");
                Ok(())
            }
            Err(e) => Err(StoreError::Unavailable {
                dir: self.dir().map(Path::to_owned).unwrap_or_default(),
                reason: e.to_string(),
            }),
        }
    }

    /// The opening of the handles a write made from now on goes into, or a later one's
    /// (read it before a write outside a [`super::Plan`], for [`Store::flush_opening`]).
    pub(crate) fn opening(&self) -> Opening {
        Opening(self.reopens.load(Ordering::Acquire))
    }

    /// Makes writes into `opening`'s handles durable: [`Store::flush`], succeeding only
    /// when the flush that covered the caller wrote out those handles. A reopen (after a
    /// failed write, which may be another writer's: an admin commit's, a notification's)
    /// drops what sled's old handles had not written out, and the flush then covers the
    /// reopened handles, not the write: the write may be lost, so it must not be
    /// acknowledged ([`StoreError::Unavailable`]; memory must not follow it). A reopen
    /// after a flush of the write's own handles no longer fails it (review finding). It
    /// still errs on the safe side in one narrow case: when the write's own handles were
    /// flushed by someone else before this call began and a reopen came before this call.
    pub(crate) async fn flush_opening(&self, opening: Opening) -> Result<(), StoreError> {
        // Openings never repeat: a flush that started after the write and wrote out the
        // handles it went into made it durable, whatever reopen came after that flush.
        if self.flush_on().await? == opening {
            return Ok(());
        }
        Err(StoreError::Unavailable {
            dir: self.dir().map(Path::to_owned).unwrap_or_default(),
            reason: "a reopen after a failed write came between this change and its flush, \
                     so it may not have been kept; make it again"
                .into(),
        })
    }

    /// A number that changes whenever what the store's records read may change (every
    /// applied plan, every reopen) and never comes back. A value computed from reads made
    /// after loading version `v` still holds while `version()` is `v`: load it before
    /// reading (it is bumped after a write lands).
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Writes everything to disk (a temporary store: nothing, see [`Store::flush_on`]).
    ///
    /// One flush runs at a time; a caller that finds one running waits for it and then
    /// shares the next with everyone else who arrived meanwhile (a flush that started
    /// after the caller's writes and succeeded covers them).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.flush_on().await.map(|_| ())
    }

    /// [`Store::flush`], answering which opening's handles the flush that covered the
    /// caller's writes wrote out.
    async fn flush_on(&self) -> Result<Opening, StoreError> {
        // A temporary store is gone with the process and never reopened (it has no
        // folder to reopen from), so writing it out keeps nothing a crash could have
        // lost: the write is acknowledged as it stands in memory, and every admin write
        // and notification of an in-process test gateway skips the hand-off to sled's
        // threads. sled's own flusher still writes its buffers out in the background.
        if self.dir().is_none() {
            return Ok(Opening(self.handles()?.opening));
        }
        let arrived = self.flushes.started.load(Ordering::Acquire);
        let _running = self.flushes.running.lock().await;
        // Every earlier flush has ended: one numbered after `arrived` started after
        // this caller's writes. Both numbers are written under `running`, together.
        if self.flushes.succeeded.load(Ordering::Acquire) > arrived {
            return Ok(Opening(self.flushes.succeeded_on.load(Ordering::Acquire)));
        }
        let number = self.flushes.started.fetch_add(1, Ordering::AcqRel) + 1;
        let handles = self.handles()?;
        handles.db.flush_async().await?;
        let opening = handles.opening;
        drop(handles);
        self.flushes.succeeded_on.store(opening, Ordering::Release);
        self.flushes.succeeded.store(number, Ordering::Release);
        #[cfg(test)]
        test_hooks::after_flush(self);
        Ok(Opening(opening))
    }
}
