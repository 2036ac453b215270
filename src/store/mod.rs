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

use std::ops::Deref;
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

/// The trees, in the order [`Store::trees`] holds them.
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

/// sled's handles: the database and its trees, dropped together.
#[derive(Debug)]
struct Handles {
    db: sled::Db,
    trees: [sled::Tree; 9],
    /// Which opening of the store these are (0 at [`Store::open`], then one more at each
    /// reopen): names them without holding them open.
    opening: u64,
}

impl Handles {
    fn open(location: &StoreLocation, opening: u64) -> Result<Handles, StoreError> {
        match location {
            StoreLocation::Dir(dir) => {
                if !folder::lock_is_free(dir) {
                    return Err(StoreError::Locked { dir: dir.clone() });
                }
                Handles::open_with(sled::Config::new().path(dir), opening)
                    .map_err(|e| open_error(dir, e))
            }
            StoreLocation::Ephemeral => {
                Handles::open_with(sled::Config::new().temporary(true), opening)
                    .map_err(StoreError::Sled)
            }
        }
    }

    fn open_with(config: sled::Config, opening: u64) -> Result<Handles, sled::Error> {
        let db = config.open()?;
        let open = |name: &str| db.open_tree(name);
        let trees = [
            open(TREE_NAMES[0])?,
            open(TREE_NAMES[1])?,
            open(TREE_NAMES[2])?,
            open(TREE_NAMES[3])?,
            open(TREE_NAMES[4])?,
            open(TREE_NAMES[5])?,
            open(TREE_NAMES[6])?,
            open(TREE_NAMES[7])?,
            open(TREE_NAMES[8])?,
        ];
        Ok(Handles { db, trees, opening })
    }
}

/// A sled failure at open, in plain words: damage is [`StoreError::Damaged`], an I/O
/// failure [`StoreError::Open`] (sled's own texts carry Rust debug output and misleading
/// hints, such as a version "earlier than 0.29" for a damaged file).
fn open_error(dir: &Path, e: sled::Error) -> StoreError {
    let damaged = |problem: &str| StoreError::Damaged {
        dir: dir.to_owned(),
        problem: problem.to_owned(),
    };
    match e {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            damaged("sled cannot read its files (their contents are not what it wrote)")
        }
        sled::Error::Io(io) => StoreError::Open {
            dir: dir.to_owned(),
            reason: io_reason(&io),
        },
        sled::Error::Corruption { .. } => damaged("sled found corrupt data in its files"),
        sled::Error::Unsupported(_) => {
            damaged("sled does not recognise its files (damaged, or not a store of this version)")
        }
        _ => damaged("sled failed to read its files"),
    }
}

/// An I/O error's own words, without Rust's debug form (`Os { code: 28, … }`).
fn io_reason(io: &std::io::Error) -> String {
    match io.raw_os_error() {
        Some(_) => {
            std::io::Error::from(io.kind()).to_string().to_lowercase()
                + &io
                    .raw_os_error()
                    .map(|c| format!(" (os error {c})"))
                    .unwrap_or_default()
        }
        None => io.to_string(),
    }
}

/// One tree, holding the handles it came from for as long as it is used.
struct TreeRef {
    handles: Arc<Handles>,
    tree: Tree,
}

impl Deref for TreeRef {
    type Target = sled::Tree;

    fn deref(&self) -> &sled::Tree {
        &self.handles.trees[self.tree as usize]
    }
}

/// Where the store keeps sled's handles: `None` between a failed reopen and the next.
type Slot = RwLock<Option<Arc<Handles>>>;

/// The handles in the slot now.
fn current(slot: &Slot, dir: Option<&Path>) -> Result<Arc<Handles>, StoreError> {
    // A poisoned lock only means a reopen panicked; the slot is still consistent.
    let slot = slot.read().unwrap_or_else(|e| e.into_inner());
    slot.clone().ok_or_else(|| StoreError::Unavailable {
        dir: dir.map(Path::to_owned).unwrap_or_default(),
        reason: "not reopened yet".into(),
    })
}

/// A tree of the store's database for a module that owns its records outright
/// (notifications). It holds no database itself: each use takes the tree from the
/// handles the store has now, so after a reopen its owner reads and writes the reopened
/// database, and never keeps the closed one alive (nor its folder locked).
#[derive(Debug, Clone)]
pub(crate) struct OwnTree {
    slot: Arc<Slot>,
    name: &'static str,
    dir: Option<PathBuf>,
}

impl OwnTree {
    /// The tree in the store's current database, for one use (a reopen waits until it
    /// is dropped).
    pub(crate) fn get(&self) -> Result<OwnTreeRef, StoreError> {
        let handles = current(&self.slot, self.dir.as_deref())?;
        let tree = handles.db.open_tree(self.name)?;
        let taken = OwnTreeRef {
            tree,
            _handles: handles,
        };
        #[cfg(test)]
        test_hooks::after_take(self.dir.as_deref());
        Ok(taken)
    }
}

/// One use of an [`OwnTree`].
pub(crate) struct OwnTreeRef {
    tree: sled::Tree,
    _handles: Arc<Handles>,
}

impl Deref for OwnTreeRef {
    type Target = sled::Tree;

    fn deref(&self) -> &sled::Tree {
        &self.tree
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

/// One opening of the store's handles: 0 at [`Store::open`], then one more for each
/// reopen begun. What a write went into, for [`Store::flush_opening`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opening(u64);

/// Flushes in flight: at most one, and callers that arrive while one runs share the
/// next. sled runs `flush_async` on its own small thread pool and each flush waits
/// there for log buffers that the same pool writes, so with as many flushes at once as
/// it has threads (8 notification attempts and 8 admin writes are enough) none can end:
/// the store stopped writing, and shutdown waited for ever.
#[derive(Debug, Default)]
struct Flushes {
    /// Held while a flush runs.
    running: tokio::sync::Mutex<()>,
    /// How many flushes have started.
    started: AtomicU64,
    /// The number (from `started`) of the last flush that succeeded.
    succeeded: AtomicU64,
    /// The [`Opening`] of the handles that flush wrote out.
    succeeded_on: AtomicU64,
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
    fn reopen(&self) -> Result<(), StoreError> {
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

    /// The opening of the handles a write made from now on goes into, or a later one's
    /// (read it before a write outside a [`Plan`], for [`Store::flush_opening`]).
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

mod folder;
mod generation;
mod integrity;
mod records;

use integrity::{check_files, generation_number};

#[cfg(test)]
pub(crate) mod test_hooks;
#[cfg(test)]
mod tests;
