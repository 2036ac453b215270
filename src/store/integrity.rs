//! Start-up checks of a store folder and the generation marker's upkeep (see
//! [`super::generation`]): the files sled needs are there, every record reads, and the
//! store holds the last acknowledged generation with the records it had then.

use std::path::Path;
use std::sync::atomic::Ordering;

use sha2::{Digest, Sha256};

use super::generation::{self, Marker, MARKER_FILE};
use super::{folder, Store, StoreError, Tree, GENERATION_KEY, SEEDED_KEY, TREE_NAMES};

/// The trees the digest covers: every record but the scenarios (whose counters the
/// gateway changes between commits) and the metadata.
const DIGESTED: [Tree; 7] = [
    Tree::Apps,
    Tree::Identities,
    Tree::ByCert,
    Tree::ByUser,
    Tree::Authorizations,
    Tree::Faults,
    Tree::Methods,
];

/// Trees of JSON records, each of which must decode.
const JSON_TREES: [Tree; 6] = [
    Tree::Apps,
    Tree::Identities,
    Tree::Authorizations,
    Tree::Scenarios,
    Tree::Faults,
    Tree::Methods,
];

fn damaged(dir: &Path, problem: impl Into<String>) -> StoreError {
    StoreError::Damaged {
        dir: dir.to_owned(),
        problem: problem.into(),
    }
}

/// A generation number as stored (big-endian u64); anything else reads as 0.
pub(super) fn generation_number(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(0, u64::from_be_bytes)
}

/// Before sled opens a folder: one that held a store (a marker, sled's `conf` or `blobs`)
/// must still have its data file, or sled would silently start an empty store there.
pub(super) fn check_files(dir: &Path) -> Result<(), StoreError> {
    let held_a_store = generation::marker_path(dir).exists()
        || dir.join("conf").exists()
        || dir.join("blobs").exists();
    if !held_a_store {
        return Ok(());
    }
    match std::fs::metadata(folder::db_file(dir)) {
        Ok(meta) if meta.len() > 0 => Ok(()),
        Ok(_) => Err(damaged(dir, "its data file db is empty")),
        Err(_) => Err(damaged(dir, "its data file db is missing")),
    }
}

impl Store {
    /// The generation sled holds (0 for a store that never committed).
    pub(super) fn stored_generation(&self) -> Result<u64, StoreError> {
        Ok(self
            .tree(Tree::Meta)?
            .get(GENERATION_KEY)?
            .map_or(0, |g| generation_number(&g)))
    }

    /// SHA-256 over every digested record, each as (tree, key, value) with lengths.
    fn digest(&self) -> Result<String, StoreError> {
        let mut hasher = Sha256::new();
        for tree in DIGESTED {
            let name = TREE_NAMES[tree as usize].as_bytes();
            for entry in self.tree(tree)?.iter() {
                let (key, value) = entry?;
                for part in [name, &key[..], &value[..]] {
                    hasher.update((part.len() as u64).to_be_bytes());
                    hasher.update(part);
                }
            }
        }
        Ok(crate::fixtures::hex(&hasher.finalize()))
    }

    /// Reads every record (blobs included) and decodes every JSON record.
    fn read_everything(&self) -> Result<(), String> {
        for tree in JSON_TREES {
            let handle = self.tree(tree).map_err(|e| e.to_string())?;
            for entry in handle.iter() {
                let (key, value) = entry.map_err(|_| {
                    format!(
                        "a record of {} cannot be read back",
                        TREE_NAMES[tree as usize]
                    )
                })?;
                if serde_json::from_slice::<serde_json::Value>(&value).is_err() {
                    return Err(format!(
                        "the record {} of {} is not the JSON it was written as",
                        String::from_utf8_lossy(&key),
                        TREE_NAMES[tree as usize]
                    ));
                }
            }
        }
        Ok(())
    }

    /// At open: the store against its folder's marker (see [`generation`]).
    pub(super) fn check_generation(&self, dir: &Path) -> Result<(), StoreError> {
        let marker = generation::read(dir).map_err(|problem| damaged(dir, problem))?;
        let seeded = self.tree(Tree::Meta)?.contains_key(SEEDED_KEY)?;
        let stored = self.generation.load(Ordering::Acquire);
        let Some(marker) = marker else {
            // A store that committed under the marker (its generation counts from the
            // first commit) always has one: written before its first commit and after
            // every flush. Without it, nothing tells whether its records are the last
            // acknowledged ones (a rolled-back `db` with the marker gone looks whole).
            if stored > 0 {
                return Err(damaged(
                    dir,
                    format!(
                        "its generation marker {MARKER_FILE} is missing, yet the store has \
                         committed changes (generation {stored}): whether it still holds the \
                         last acknowledged ones cannot be told"
                    ),
                ));
            }
            // A new store, or one from before the marker: it gets one now.
            if seeded {
                self.read_everything().map_err(|p| damaged(dir, p))?;
            }
            self.record_flushed();
            return Ok(());
        };
        if !seeded && marker.generation == 0 {
            // Made, but stopped before its first commit (the seeding): nothing was lost.
            return Ok(());
        }
        if !seeded {
            return Err(damaged(
                dir,
                format!(
                    "it is empty, but its marker {MARKER_FILE} says it held generation {}: its \
                     records are gone",
                    marker.generation
                ),
            ));
        }
        self.read_everything().map_err(|p| damaged(dir, p))?;
        if stored < marker.generation {
            return Err(damaged(
                dir,
                format!(
                    "it lost acknowledged changes: it holds generation {stored}, but \
                     generation {} was acknowledged",
                    marker.generation
                ),
            ));
        }
        if stored == marker.generation {
            let digest = self.digest()?;
            if digest != marker.digest {
                return Err(damaged(
                    dir,
                    format!(
                        "its records differ from those of the last acknowledged change \
                         (generation {stored})"
                    ),
                ));
            }
        } else {
            // A crash between a flush and its marker: the store is ahead; catch up.
            self.record_flushed();
        }
        Ok(())
    }

    /// After a flush: the folder's marker takes the flushed generation and digest
    /// (blocking). A marker that cannot be written is logged: the store is then ahead
    /// of it, which the next start accepts.
    pub fn record_flushed(&self) {
        let Some(dir) = self.dir() else {
            return;
        };
        let marker = self.digest().map(|digest| Marker {
            generation: self.generation.load(Ordering::Acquire),
            digest,
        });
        let written = match marker {
            Ok(marker) => generation::write(dir, &marker).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = written {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot update the store's generation marker");
        }
    }
}
