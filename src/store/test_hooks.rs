//! Test only: points where a test makes a reopen come at a chosen moment, and the disk
//! keep less than sled's memory held (as after writes the disk refused). Compiled into
//! test builds alone; nothing here is reachable from the public API.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

use super::{Store, StoreError};

/// Hooks that run once, on whichever thread, right after the next [`super::OwnTree::get`]
/// of a store folder has taken the handles. By folder, so tests running at once do not
/// meet.
type TakeHooks = HashMap<PathBuf, Box<dyn FnOnce() + Send>>;

fn take_hooks() -> MutexGuard<'static, TakeHooks> {
    static HOOKS: OnceLock<Mutex<TakeHooks>> = OnceLock::new();
    HOOKS.get_or_init(Default::default).lock().unwrap()
}

/// Called by [`super::OwnTree::get`] once it has taken the handles.
pub(super) fn after_take(dir: Option<&Path>) {
    let hook = dir.and_then(|dir| take_hooks().remove(dir));
    if let Some(hook) = hook {
        hook();
    }
}

type ReopenHook = std::cell::RefCell<Option<Box<dyn FnOnce(&Path)>>>;

thread_local! {
    /// Runs once, on this thread, in the next reopen of a store folder, after the old
    /// handles have let go of the folder and before it is opened again.
    static BEFORE_REOPEN: ReopenHook = const { std::cell::RefCell::new(None) };
}

type FlushHook = std::cell::RefCell<Option<Box<dyn FnOnce(&Store)>>>;

thread_local! {
    /// Runs once, on this thread, right after the next flush that wrote out a store's
    /// handles has let go of them.
    static AFTER_FLUSH: FlushHook = const { std::cell::RefCell::new(None) };
}

/// Called by a flush once it has written out the handles and let go of them.
pub(super) fn after_flush(store: &Store) {
    if let Some(hook) = AFTER_FLUSH.with(|hook| hook.borrow_mut().take()) {
        hook(store);
    }
}

/// Right after the next flush on this thread, `hook` runs with its store.
pub(crate) fn after_next_flush(hook: impl FnOnce(&Store) + 'static) {
    AFTER_FLUSH.with(|slot| *slot.borrow_mut() = Some(Box::new(hook)));
}

/// Called by a reopen between letting go of the folder and opening it again.
pub(super) fn before_reopen(dir: &Path) {
    if let Some(hook) = BEFORE_REOPEN.with(|hook| hook.borrow_mut().take()) {
        hook(dir);
    }
}

/// Right after the next [`super::OwnTree::get`] of the store in `dir` has taken the
/// handles, `reopen` (a failed write that reopens that store) starts on a thread of its
/// own, and the take goes on once the reopen holds the handles' slot (`version`, that
/// store's [`Store::version`], has moved). Answers where the reopen's thread is put, to
/// join.
pub(crate) fn reopen_during_next_take(
    dir: &Path,
    version: impl Fn() -> u64 + Send + 'static,
    reopen: impl FnOnce() + Send + 'static,
) -> Arc<Mutex<Option<JoinHandle<()>>>> {
    let started = Arc::new(Mutex::new(None));
    let put = Arc::clone(&started);
    let hook = move || {
        let before = version();
        let thread = std::thread::spawn(reopen);
        while version() == before {
            std::thread::yield_now();
        }
        *put.lock().unwrap() = Some(thread);
    };
    take_hooks().insert(dir.to_owned(), Box::new(hook));
    started
}

/// A copy of a store folder (of a store just flushed, a consistent one).
pub(crate) fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

impl Store {
    /// A write fails (not for a full disk) on a disk that kept nothing since `kept` was
    /// copied from the folder ([`copy_folder`]): the store reopens at once, on this
    /// thread, as [`Store::write_failed`] does, and finds the folder as `kept` has it.
    pub(crate) fn fail_write_keeping_only(&self, kept: &Path) {
        let kept = kept.to_owned();
        BEFORE_REOPEN.with(|hook| {
            *hook.borrow_mut() = Some(Box::new(move |dir: &Path| {
                std::fs::remove_dir_all(dir).unwrap();
                copy_folder(&kept, dir);
            }))
        });
        let injected = sled::Error::Io(std::io::Error::other("injected write failure"));
        self.write_failed(StoreError::Sled(injected));
    }
}
