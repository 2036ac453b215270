//! The embedded sled store: apps, identities (with lookup indexes by certificate and by
//! userId), authorisations, scenarios and faults, as JSON records. No sled type leaks out
//! of this module.
//!
//! Gateway requests only do point reads (sled serves them from its page cache) and the
//! odd scenario counter write; nothing flushes per request. Every change an admin call
//! makes is one [`Plan`] applied in a single transaction across trees and then flushed,
//! so a change is all-or-nothing and durable before it is acknowledged. Callers
//! serialise admin writes (the admin layer holds one lock), so a plan computed from
//! reads is still valid when it commits.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::model::AuthCategory;

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A folder that survives restarts.
    Dir(PathBuf),
    /// A temporary store removed at exit.
    Ephemeral,
}

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, corruption of its own files, a lock held by another process).
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    /// A stored record is not the JSON its type expects.
    #[error("store record {key} is corrupt: {source}")]
    Corrupt {
        /// The record's key as text (a compound key joins its parts with NUL).
        key: String,
        /// Why the JSON did not decode.
        source: serde_json::Error,
    },
    /// A record could not be written as JSON.
    #[error("store: cannot encode record: {0}")]
    Encode(serde_json::Error),
    /// The change would break a uniqueness rule (an index already points elsewhere).
    #[error("{0}")]
    Conflict(String),
    /// The disk holding the store folder is full (or the write was refused for space):
    /// nothing was written.
    #[error(
        "the store folder {} is on a full disk: the change was not made; free some space \
         there (writes work again as soon as there is room), or move the store with --data",
        dir.display()
    )]
    Full {
        /// The store folder.
        dir: PathBuf,
    },
    /// The store could not be reopened after a failed write; nothing is served from it
    /// until it can be.
    #[error(
        "the store in {} is unavailable after a failed write ({reason}); it is reopened at \
         the next write once the disk has room",
        dir.display()
    )]
    Unavailable {
        /// The store folder.
        dir: PathBuf,
        /// Why it could not be reopened.
        reason: String,
    },
    /// The folder holds a store that is damaged or lost acknowledged changes: it is not
    /// served (and never re-seeded) until restored or re-seeded on purpose.
    #[error(
        "the store in {} cannot be trusted: {problem}. Nothing was changed. Restore the \
         folder from a backup, or start over from the fixtures with --reseed (the folder is \
         then kept beside it, renamed, not deleted)",
        dir.display()
    )]
    Damaged {
        /// The store folder.
        dir: PathBuf,
        /// What is wrong, in plain words.
        problem: String,
    },
    /// The folder could not be opened for another reason than damage (permissions, a
    /// full disk, not a folder).
    #[error(
        "cannot open the store in {}: {reason}; check that the folder is writable and its \
         disk has room, or choose another folder with --data",
        dir.display()
    )]
    Open {
        /// The store folder.
        dir: PathBuf,
        /// Why, in plain words.
        reason: String,
    },
    /// Another process (or a gateway in this one that has not shut down) holds the
    /// folder's lock.
    #[error(
        "the store folder {} is in use: another process (another alipay-mock?) holds its \
         lock; stop that process, or give this gateway a folder of its own with --data",
        dir.display()
    )]
    Locked {
        /// The store folder.
        dir: PathBuf,
    },
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

const SEEDED_KEY: &[u8] = b"seeded_from";
/// The generation of the last committed plan (see [`generation`]), big-endian u64.
const GENERATION_KEY: &[u8] = b"generation";

/// The trees, in the order sled's handles hold them (`Handles::trees`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tree {
    Apps = 0,
    Identities,
    ByCert,
    ByUser,
    Authorizations,
    Scenarios,
    Faults,
    Meta,
    Methods,
}

const TREE_NAMES: [&str; 9] = [
    "apps",
    "identities",
    "identity_by_cert",
    "identity_by_user_id",
    "authorizations",
    "scenarios",
    "faults",
    "meta",
    "methods",
];

/// Counts of stored records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Apps stored, seeded and admin-made alike.
    pub apps: usize,
    /// Identities (people) stored, not counting their lookup indexes.
    pub identities: usize,
    /// Authorisations stored, one per (app, identity, category).
    pub authorizations: usize,
}

/// A set of writes to apply atomically.
#[derive(Default)]
pub struct Plan {
    batches: [sled::Batch; 9],
    error: Option<StoreError>,
}

impl Plan {
    fn insert(&mut self, tree: Tree, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.batches[tree as usize].insert(key.as_ref(), value.as_ref());
    }

    fn insert_json<V: Serialize>(&mut self, tree: Tree, key: impl AsRef<[u8]>, value: &V) {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.insert(tree, key, bytes),
            Err(e) => self.error = Some(StoreError::Encode(e)),
        }
    }

    fn remove(&mut self, tree: Tree, key: impl AsRef<[u8]>) {
        self.batches[tree as usize].remove(key.as_ref());
    }
}

/// The typed store. Not `Clone`: the one handle is what [`Store::close`] gives back.
///
/// sled's handles sit in a slot, so that a store whose write failed (a full disk) can be
/// closed and reopened from what the disk holds: a failed write leaves sled refusing
/// every later write, and its memory may hold the refused change.
#[derive(Debug)]
pub struct Store {
    /// Shared with the [`OwnTree`]s handed out, so they follow a reopen.
    slot: Arc<Slot>,
    /// A write failed in sled: it refuses every later write until reopened.
    poisoned: AtomicBool,
    /// The generation of the last applied plan (see [`generation`]).
    generation: AtomicU64,
    /// Counts every change of what reads may return (each applied plan, each reopen);
    /// never goes back, unlike `generation` after a reopen. See [`Store::version`].
    version: AtomicU64,
    /// One flush at a time, shared by whoever waits (see [`Store::flush`]).
    flushes: Flushes,
    /// Reopens begun: the [`Opening`] of the handles the last one opens.
    reopens: AtomicU64,
    location: StoreLocation,
}

fn cert_key(cert_type: &str, cert_no: &str) -> Vec<u8> {
    // Chinese ID numbers end in a check character that may be written x or X.
    format!("{cert_type}\0{}", cert_no.to_ascii_uppercase()).into_bytes()
}

fn authorization_key(app_id: &str, identity: &str, category: AuthCategory) -> Vec<u8> {
    format!("{app_id}\0{identity}\0{}", category.as_str()).into_bytes()
}

fn decode<V: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<V, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

impl Store {
    /// Opens (or creates) the store. A folder that held a store is checked against its
    /// generation marker and read whole first: a damaged store, or one that lost
    /// acknowledged changes, is refused ([`StoreError::Damaged`]), never re-seeded.
    pub fn open(location: &StoreLocation) -> Result<Store, StoreError> {
        if let StoreLocation::Dir(dir) = location {
            check_files(dir)?;
        }
        let handles = Handles::open(location, 0)?;
        let store = Store {
            slot: Arc::new(RwLock::new(Some(Arc::new(handles)))),
            poisoned: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            version: AtomicU64::new(0),
            flushes: Flushes::default(),
            reopens: AtomicU64::new(0),
            location: location.clone(),
        };
        let generation = store.stored_generation()?;
        store.generation.store(generation, Ordering::Release);
        if let StoreLocation::Dir(dir) = location {
            store.check_generation(dir)?;
        }
        Ok(store)
    }

    /// Moves a store folder aside (renamed `NAME.before-reseed-SECONDS` beside it) so a
    /// fresh store can be seeded in its place; returns where it went, `None` when there
    /// was nothing to move.
    pub fn start_over(dir: &Path) -> Result<Option<PathBuf>, StoreError> {
        let holds_something = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
        if !holds_something {
            return Ok(None);
        }
        if !folder::lock_is_free(dir) {
            return Err(StoreError::Locked {
                dir: dir.to_owned(),
            });
        }
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let name = dir
            .file_name()
            .map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
        let aside = dir.with_file_name(format!("{name}.before-reseed-{seconds}"));
        std::fs::rename(dir, &aside).map_err(|e| StoreError::Open {
            dir: dir.to_owned(),
            reason: format!(
                "cannot move it aside to {}: {}",
                aside.display(),
                io_reason(&e)
            ),
        })?;
        Ok(Some(aside))
    }

    /// The store folder, for a store that has one.
    pub fn dir(&self) -> Option<&Path> {
        match &self.location {
            StoreLocation::Dir(dir) => Some(dir),
            StoreLocation::Ephemeral => None,
        }
    }

    fn handles(&self) -> Result<Arc<Handles>, StoreError> {
        current(&self.slot, self.dir())
    }

    fn tree(&self, tree: Tree) -> Result<TreeRef, StoreError> {
        Ok(TreeRef {
            handles: self.handles()?,
            tree,
        })
    }

    fn get_json<V: DeserializeOwned>(
        &self,
        tree: Tree,
        key: &[u8],
    ) -> Result<Option<V>, StoreError> {
        match self.tree(tree)?.get(key)? {
            Some(bytes) => decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn scan_json<V: DeserializeOwned>(
        &self,
        tree: Tree,
        prefix: &[u8],
    ) -> Result<Vec<V>, StoreError> {
        self.tree(tree)?
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry?;
                decode(&key, &value)
            })
            .collect()
    }

    fn keys(&self, tree: Tree, prefix: &[u8]) -> Result<Vec<sled::IVec>, StoreError> {
        self.tree(tree)?
            .scan_prefix(prefix)
            .keys()
            .map(|k| k.map_err(StoreError::from))
            .collect()
    }

    /// Applies a plan in one transaction, with the next generation number, and answers
    /// which handles it went into (callers that must be durable then
    /// [`Store::flush_opening`], then [`Store::record_flushed`]).
    pub(crate) fn apply(&self, mut plan: Plan) -> Result<Opening, StoreError> {
        if let Some(e) = plan.error {
            return Err(e);
        }
        let next = self.generation.load(Ordering::Acquire) + 1;
        plan.insert(Tree::Meta, GENERATION_KEY, next.to_be_bytes());
        let handles = self.handles()?;
        handles.trees[..].transaction(|trees| {
            for (tree, batch) in trees.iter().zip(plan.batches.iter()) {
                tree.apply_batch(batch)?;
            }
            Ok::<(), ConflictableTransactionError<StoreError>>(())
        })?;
        self.generation.store(next, Ordering::Release);
        self.version.fetch_add(1, Ordering::AcqRel);
        Ok(Opening(handles.opening))
    }

    /// A tree for a module that owns its records outright (notifications): in the same
    /// database, so [`Store::flush`] makes it durable too, but outside [`Plan`]s and
    /// resets, which its owner handles.
    pub(crate) fn own_tree(&self, name: &'static str) -> Result<OwnTree, StoreError> {
        let tree = OwnTree {
            slot: Arc::clone(&self.slot),
            name,
            dir: self.dir().map(Path::to_owned),
        };
        tree.get()?;
        Ok(tree)
    }

    /// Closes the store: drops every sled handle (which flushes and joins sled's flusher
    /// thread) and then waits, at most `limit`, until sled's other threads have closed
    /// the folder's `db` file too, so that a new store can open the folder at once.
    /// Returns whether the folder is released. Blocking: call it off the async runtime.
    pub fn close(self, limit: Duration) -> bool {
        let Store { slot, location, .. } = self;
        // Taken out of the slot, not just dropped: an [`OwnTree`] still shares the slot.
        drop(slot.write().unwrap_or_else(|e| e.into_inner()).take());
        match location {
            StoreLocation::Dir(dir) => folder::wait_until_released(&dir, limit),
            StoreLocation::Ephemeral => true,
        }
    }
}

mod durability;
mod folder;
mod generation;
mod handles;
mod integrity;
mod records;

use durability::Flushes;
pub(crate) use durability::Opening;
pub(crate) use handles::OwnTree;
use handles::{current, io_reason, Handles, Slot, TreeRef};
use integrity::{check_files, generation_number};

#[cfg(test)]
pub(crate) mod test_hooks;
#[cfg(test)]
mod tests;
