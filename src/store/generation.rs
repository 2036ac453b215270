//! The generation marker: a record of the last acknowledged change kept outside sled's
//! log, so that a store which lost acknowledged changes, or holds other records than
//! the last acknowledged ones, is caught at start-up instead of served silently.
//!
//! Every committed plan bumps a generation number inside sled (in the same transaction).
//! Once the change is flushed, `alipay-mock.generation` in the store folder is replaced
//! (written to a temporary file, synced, renamed) with that number and a digest of every
//! record but the scenarios (whose counters the gateway changes without a commit) and
//! the store's own metadata. At start-up:
//!
//! - sled's generation below the marker's: acknowledged changes are gone;
//! - the same generation but another digest: records changed or vanished;
//! - a marker but an empty store (its `db` truncated or deleted): the data is gone;
//! - sled's generation above the marker's by the commits of a crash between the flush and
//!   the marker: fine, the marker follows.
//!
//! - no marker, but sled's generation above 0: the marker was removed (perhaps with a
//!   rollback of `db` that nothing else would show), so the store is refused.
//!
//! A new store gets its marker before its first commit; a store from before the marker
//! existed (no generation inside sled) gets one at its first start.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The marker's file name inside the store folder.
pub(super) const MARKER_FILE: &str = "alipay-mock.generation";

/// What the marker file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Marker {
    /// The generation of the last acknowledged change.
    pub(super) generation: u64,
    /// SHA-256 (hex) over every record but the scenarios and the metadata.
    pub(super) digest: String,
}

pub(super) fn marker_path(dir: &Path) -> PathBuf {
    dir.join(MARKER_FILE)
}

/// The folder's marker: `None` if there is none, an error text if it does not read.
pub(super) fn read(dir: &Path) -> Result<Option<Marker>, String> {
    match fs::read(marker_path(dir)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("its generation marker {MARKER_FILE} does not read ({e})")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "its generation marker {MARKER_FILE} cannot be read ({e})"
        )),
    }
}

/// Replaces the folder's marker, durably: a crash leaves the old one or the new one.
pub(super) fn write(dir: &Path, marker: &Marker) -> std::io::Result<()> {
    let temporary = dir.join(format!("{MARKER_FILE}.tmp"));
    let bytes = serde_json::to_vec(marker).map_err(std::io::Error::other)?;
    let mut file = fs::File::create(&temporary)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, marker_path(dir))?;
    // The rename is durable once the folder is synced.
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_reads_back_what_was_written_and_a_garbled_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let marker = Marker {
            generation: 7,
            digest: "ab".into(),
        };
        write(dir.path(), &marker).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(marker));
        fs::write(marker_path(dir.path()), b"{\"generation\": 7").unwrap();
        assert!(read(dir.path()).unwrap_err().contains(MARKER_FILE));
    }
}
