//! The store folder's lock, seen from outside sled. sled takes an exclusive advisory
//! lock (`flock`) on `<folder>/db` and releases it only when the file is closed, which
//! happens on whichever of sled's background threads lets go of it last, a moment after
//! the last `Db` handle is dropped. Probing the same lock from a new file handle tells
//! when that has happened, and tells a folder another process holds apart from other
//! failures to open.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs2::FileExt;

/// sled's data file inside the store folder.
pub(super) fn db_file(dir: &Path) -> PathBuf {
    dir.join("db")
}

/// Whether the lock on the folder's `db` file is free now (a folder without one is free).
pub(super) fn lock_is_free(dir: &Path) -> bool {
    let file = match File::open(db_file(dir)) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return true,
        // Unreadable: opening the store will say why.
        Err(_) => return true,
    };
    match file.try_lock_exclusive() {
        Ok(()) => {
            // Closing the probe's handle releases the probe's own lock too.
            let _ = FileExt::unlock(&file);
            true
        }
        Err(_) => false,
    }
}

/// Waits until the folder's lock is free, polling, at most `limit`. Returns whether it is.
pub(super) fn wait_until_released(dir: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if lock_is_free(dir) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
