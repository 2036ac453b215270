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

use std::path::PathBuf;
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
}

const TREE_NAMES: [&str; 8] = [
    "apps",
    "identities",
    "identity_by_cert",
    "identity_by_user_id",
    "authorizations",
    "scenarios",
    "faults",
    "meta",
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
    batches: [sled::Batch; 8],
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
#[derive(Debug)]
pub struct Store {
    db: sled::Db,
    trees: [sled::Tree; 8],
    /// The folder, for a store that has one.
    dir: Option<PathBuf>,
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
    /// Opens (or creates) the store.
    pub fn open(location: &StoreLocation) -> Result<Store, StoreError> {
        let (config, dir) = match location {
            StoreLocation::Dir(dir) => {
                if !folder::lock_is_free(dir) {
                    return Err(StoreError::Locked { dir: dir.clone() });
                }
                (sled::Config::new().path(dir), Some(dir.clone()))
            }
            StoreLocation::Ephemeral => (sled::Config::new().temporary(true), None),
        };
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
        ];
        Ok(Store { db, trees, dir })
    }

    fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.trees[tree as usize]
    }

    fn get_json<V: DeserializeOwned>(
        &self,
        tree: Tree,
        key: &[u8],
    ) -> Result<Option<V>, StoreError> {
        match self.tree(tree).get(key)? {
            Some(bytes) => decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn scan_json<V: DeserializeOwned>(
        &self,
        tree: Tree,
        prefix: &[u8],
    ) -> Result<Vec<V>, StoreError> {
        self.tree(tree)
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry?;
                decode(&key, &value)
            })
            .collect()
    }

    fn keys(&self, tree: Tree, prefix: &[u8]) -> Result<Vec<sled::IVec>, StoreError> {
        self.tree(tree)
            .scan_prefix(prefix)
            .keys()
            .map(|k| k.map_err(StoreError::from))
            .collect()
    }

    /// Applies a plan in one transaction (callers flush when they must be durable).
    pub(crate) fn apply(&self, plan: Plan) -> Result<(), StoreError> {
        if let Some(e) = plan.error {
            return Err(e);
        }
        self.trees[..].transaction(|trees| {
            for (tree, batch) in trees.iter().zip(plan.batches.iter()) {
                tree.apply_batch(batch)?;
            }
            Ok::<(), ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(())
    }

    /// Writes everything to disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// Closes the store: drops every sled handle (which flushes and joins sled's flusher
    /// thread) and then waits, at most `limit`, until sled's other threads have closed
    /// the folder's `db` file too, so that a new store can open the folder at once.
    /// Returns whether the folder is released. Blocking: call it off the async runtime.
    pub fn close(self, limit: Duration) -> bool {
        let Store { db, trees, dir } = self;
        drop(trees);
        drop(db);
        dir.is_none_or(|dir| folder::wait_until_released(&dir, limit))
    }
}

mod folder;
mod records;

#[cfg(test)]
mod tests;
