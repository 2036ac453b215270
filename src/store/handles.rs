//! sled's handles, and the slot the store keeps them in so that a reopen can replace
//! them: each use takes the handles there now and holds them until it ends.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

#[cfg(test)]
use super::test_hooks;
use super::{folder, StoreError, StoreLocation, Tree, TREE_NAMES};

/// sled's handles: the database and its trees, dropped together.
#[derive(Debug)]
pub(super) struct Handles {
    pub(super) db: sled::Db,
    pub(super) trees: [sled::Tree; 9],
    /// Which opening of the store these are (0 at [`super::Store::open`], then one more at each
    /// reopen): names them without holding them open.
    pub(super) opening: u64,
}

impl Handles {
    pub(super) fn open(location: &StoreLocation, opening: u64) -> Result<Handles, StoreError> {
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
pub(super) fn io_reason(io: &std::io::Error) -> String {
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
pub(super) struct TreeRef {
    pub(super) handles: Arc<Handles>,
    pub(super) tree: Tree,
}

impl Deref for TreeRef {
    type Target = sled::Tree;

    fn deref(&self) -> &sled::Tree {
        &self.handles.trees[self.tree as usize]
    }
}

/// Where the store keeps sled's handles: `None` between a failed reopen and the next.
pub(super) type Slot = RwLock<Option<Arc<Handles>>>;

/// The handles in the slot now.
pub(super) fn current(slot: &Slot, dir: Option<&Path>) -> Result<Arc<Handles>, StoreError> {
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
    pub(super) slot: Arc<Slot>,
    pub(super) name: &'static str,
    pub(super) dir: Option<PathBuf>,
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
