//! Everything a running gateway holds, in one place: the store, the apps with their
//! parsed keys, the fixtures, the scenarios, the faults, the journal and the hostile key,
//! and the one way to change them.
//!
//! Reads go straight to the parts ([`State::store`], [`State::keyring`], …). Changes go
//! through [`State::commit`]: a [`Plan`] computed under the write lock is applied to sled in
//! one transaction and flushed, and only then is memory updated, so memory never shows
//! what the disk does not hold and a crash never loses an acknowledged change. (A
//! temporary store is not flushed: it is gone with the process, and never reopened.) The
//! gateway itself only reads, and counts scenarios.

use std::sync::Arc;
use std::time::Duration;

use crate::builtin_keys::{self, HOSTILE_KEY};
use crate::clock::Clock;
use crate::config::Config;
use crate::control::{Faults, Journal, Scenarios};
use crate::crypto::SigningKey;
use crate::fixtures::{FixtureError, Fixtures};
use crate::keyring::{AppEntry, AppKeyError, KeyRing};
use crate::keys::KeyError;
use crate::methods::auth_query::AnswerMemo;
use crate::methods::defined::{Compiled, Definition, DefinitionError, Definitions};
use crate::metrics::Metrics;
use crate::notify::Notifications;
use crate::sign_cache::SignCache;
use crate::store::{Plan, Store, StoreError, StoreLocation};

/// Why a gateway's state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The fixtures could not be read.
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
    /// The store could not be opened, seeded or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored app's key does not parse.
    #[error(
        "stored app {app_id} has an unusable key ({source}), in the store {store}. The store \
         keeps what it was seeded with, so fixing the fixtures alone does not change it: start \
         over from the fixtures with --reseed (the folder is moved aside, not deleted), or \
         restore the folder from a backup"
    )]
    AppKey {
        /// The app.
        app_id: String,
        /// Where the store is (its folder, or "in memory").
        store: String,
        /// What is wrong with its key.
        source: AppKeyError,
    },
    /// The default platform certificate, its key or the default root bundle is unusable.
    #[error("default certificates: {0}")]
    DefaultCerts(AppKeyError),
    /// The default platform key or the hostile key does not parse.
    #[error("platform key: {0}")]
    PlatformKey(KeyError),
    /// A stored method definition no longer compiles.
    #[error("stored method definition {0}")]
    Definition(DefinitionError),
}

/// Why a change was not made: the caller's own refusal, a store failure, or a task that
/// died. Callers map it into their own error type.
#[derive(Debug, thiserror::Error)]
pub enum CommitError<E> {
    /// The plan refused the change (bad input, missing record, …); nothing was written.
    #[error("{0}")]
    Refused(E),
    /// The store failed; nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking task that computed or applied the plan failed.
    #[error("state task failed: {0}")]
    Task(String),
}

/// A gateway's state. Shared as `Arc<State>` by the server, the gateway and the admin API.
#[derive(Debug)]
pub struct State {
    /// Apps, identities, authorisations, scenarios and faults, on disk.
    store: Store,
    /// Every stored app with its keys parsed: the gateway never parses a key per request.
    keyring: KeyRing,
    /// What the store was (or would be) seeded from; reset goes back to it.
    fixtures: Fixtures,
    /// Forced outcomes in force (written through to the store).
    scenarios: Scenarios,
    /// Injected faults (written through to the store).
    faults: Faults,
    /// What apps sent: memory only, bounded.
    journal: Journal,
    /// Signs answers of the `wrong_key` hostile fault.
    hostile_key: Arc<SigningKey>,
    /// Response signatures already computed (see [`crate::sign_cache`]).
    sign_cache: SignCache,
    /// Authquery answers already given, for the store's current version.
    answers: AnswerMemo,
    /// See [`Config::timestamp_window`].
    timestamp_window: Option<Duration>,
    /// "Now" for every time-based rule (real, shifted or frozen).
    clock: Clock,
    /// Serialises changes, so a plan computed from reads still holds when it commits.
    writes: tokio::sync::Mutex<()>,
    /// Counters and histogram of `/__admin/metrics`: memory only, since start.
    metrics: Metrics,
    /// Method definitions, compiled (written through to the store).
    definitions: Definitions,
    /// Asynchronous notifications: their records (own sled tree) and queue.
    notifications: Notifications,
    /// Test only: runs once between a commit's apply and its flush.
    #[cfg(test)]
    between_apply_and_flush: tests::Hook,
}

impl State {
    /// Loads the fixtures, opens the store (seeding it when empty, never over existing
    /// data), parses every app's keys and loads scenarios and faults. Blocking: call it
    /// off the async runtime.
    pub fn open(config: &Config) -> Result<State, OpenError> {
        let fixtures = Fixtures::load(&config.fixtures)?;
        if let (true, StoreLocation::Dir(dir)) = (config.reseed, &config.store) {
            if let Some(aside) = Store::start_over(dir)? {
                tracing::warn!(
                    dir = %dir.display(),
                    kept = %aside.display(),
                    "--reseed: the store folder was moved aside; seeding a new one from the fixtures"
                );
            }
        }
        let store = Store::open(&config.store)?;
        if store.seed_if_empty(&fixtures)? {
            tracing::info!(digest = %fixtures.digest, "seeded an empty store from the fixtures");
        }
        let platform_key = builtin_keys::signing_key(&fixtures.platform_private_key)
            .map_err(OpenError::PlatformKey)?;
        let keyring = KeyRing::with_platform_key(platform_key, fixtures.cert_defaults.as_ref())
            .map_err(OpenError::DefaultCerts)?;
        for app in store.apps()? {
            let app_id = app.app_id.clone();
            keyring.insert(app).map_err(|source| OpenError::AppKey {
                app_id,
                store: store
                    .dir()
                    .map_or_else(|| "in memory".into(), |d| d.display().to_string()),
                source,
            })?;
        }
        let hostile_key = builtin_keys::signing_key(HOSTILE_KEY).map_err(OpenError::PlatformKey)?;
        let scenarios = Scenarios::default();
        scenarios.load(
            store
                .scenarios()?
                .into_iter()
                .map(|s: crate::control::scenarios::Scenario| s.arm(crate::methods::business_error))
                .collect(),
        );
        let faults = Faults::default();
        faults.load(store.faults()?);
        let definitions = Definitions::default();
        definitions.replace_all(compile_all(store.definitions()?).map_err(OpenError::Definition)?);
        let notifications = Notifications::open(&store, config.notify.clone())?;
        Ok(State {
            store,
            keyring,
            fixtures,
            scenarios,
            faults,
            journal: Journal::new(
                config.journal_max,
                config.journal_max_bytes,
                config.journal_unmasked,
            ),
            hostile_key,
            sign_cache: SignCache::new(config.sign_cache_entries, config.sign_cache_bytes),
            answers: AnswerMemo::default(),
            timestamp_window: config.timestamp_window,
            clock: Clock::default(),
            writes: tokio::sync::Mutex::new(()),
            metrics: Metrics::new(),
            definitions,
            notifications,
            #[cfg(test)]
            between_apply_and_flush: tests::Hook::default(),
        })
    }

    /// The sled store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The apps with their parsed keys.
    pub fn keyring(&self) -> &KeyRing {
        &self.keyring
    }

    /// The fixtures the store was seeded from.
    pub fn fixtures(&self) -> &Fixtures {
        &self.fixtures
    }

    /// The scenarios in force.
    pub fn scenarios(&self) -> &Scenarios {
        &self.scenarios
    }

    /// The injected faults.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The request journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The key no client trusts (the `wrong_key` hostile fault).
    pub fn hostile_key(&self) -> &SigningKey {
        &self.hostile_key
    }

    /// The gateway's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The method definitions in force.
    pub fn definitions(&self) -> &Definitions {
        &self.definitions
    }

    /// The counters of `/__admin/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The asynchronous notifications.
    pub fn notifications(&self) -> &Notifications {
        &self.notifications
    }

    /// The response-signature cache.
    pub fn sign_cache(&self) -> &SignCache {
        &self.sign_cache
    }

    /// Authquery answers already given (see [`AnswerMemo`]).
    pub fn answers(&self) -> &AnswerMemo {
        &self.answers
    }

    /// How far a request `timestamp` may be from now, when checked at all.
    pub fn timestamp_window(&self) -> Option<Duration> {
        self.timestamp_window
    }

    /// Makes one change: under the write lock, `plan` computes the writes on the blocking
    /// pool (it may scan sled and parse keys), the plan is applied in one transaction and
    /// flushed, and then `after` updates memory before the lock is released. The whole
    /// sequence runs in its own task, so a caller that goes away (a client that resets
    /// its connection) cannot leave the disk changed and memory not.
    pub async fn commit<R, T, E>(
        self: &Arc<Self>,
        plan: impl FnOnce(&State) -> Result<(Plan, R), E> + Send + 'static,
        after: impl FnOnce(&State, R) -> T + Send + 'static,
    ) -> Result<T, CommitError<E>>
    where
        R: Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let state = Arc::clone(self);
        tokio::spawn(async move {
            let _writes = state.writes.lock().await;
            let planner = Arc::clone(&state);
            let result = tokio::task::spawn_blocking(move || {
                // A full disk is refused before sled sees the write (see Store::writable).
                planner.store.prepare_write()?;
                let (plan, result) = plan(&planner).map_err(CommitError::Refused)?;
                let applied = planner
                    .store
                    .apply(plan)
                    .map_err(|e| planner.store.write_failed(e))?;
                #[cfg(test)]
                planner.between_apply_and_flush.run(&planner);
                Ok::<_, CommitError<E>>((result, applied))
            })
            .await
            .map_err(|e| CommitError::Task(e.to_string()))??;
            let (result, applied) = result;
            if let Err(e) = state.store.flush_opening(applied).await {
                // The change is in sled's memory but not on disk: reopening drops it, so
                // memory again shows what the disk holds. (When a reopen came between the
                // apply and the flush, it has happened already: nothing more to do.)
                let store = Arc::clone(&state);
                let e = tokio::task::spawn_blocking(move || store.store.write_failed(e))
                    .await
                    .map_err(|e| CommitError::Task(e.to_string()))?;
                return Err(CommitError::Store(e));
            }
            // The marker outside sled's log follows the flushed generation.
            let store = Arc::clone(&state);
            tokio::task::spawn_blocking(move || store.store.record_flushed())
                .await
                .map_err(|e| CommitError::Task(e.to_string()))?;
            let done = after(&state, result);
            state.metrics.admin_write();
            Ok(done)
        })
        .await
        .map_err(|e| CommitError::Task(e.to_string()))?
    }

    /// Runs blocking reads (store scans, journal copies) off the async runtime.
    pub async fn read<R: Send + 'static, E: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&State) -> Result<R, E> + Send + 'static,
    ) -> Result<R, CommitError<E>> {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(|e| CommitError::Task(e.to_string()))?
            .map_err(CommitError::Refused)
    }

    /// Back to the fixtures: every record, scenario, fault and journal entry and the
    /// clock, or only the records, scenarios, faults and journal entries of one app. All-or-nothing on disk; memory follows once the disk holds it.
    /// The notifications (all, or the app's) are removed after that, in their own step.
    pub async fn reset(self: &Arc<Self>, app_id: Option<&str>) -> Result<(), CommitError<String>> {
        let reset = match app_id.map(str::to_owned) {
            None => {
                self.commit(
                    |state| {
                        // Parse the fixture apps' keys first: once the store is reset,
                        // memory follows without a step that can fail.
                        let entries = state.fixture_apps(None)?;
                        let definitions = state.fixture_definitions()?;
                        let plan = state
                            .store
                            .reset_plan(&state.fixtures)
                            .map_err(|e| e.to_string())?;
                        Ok((plan, (entries, definitions)))
                    },
                    |state, (entries, definitions)| {
                        state.keyring.replace_all(entries);
                        state.definitions.replace_all(definitions);
                        state.scenarios.load(Vec::new());
                        state.faults.clear_all();
                        state.journal.clear(None);
                        state.clock.set(Default::default());
                    },
                )
                .await
            }
            Some(app_id) => {
                let id = app_id.clone();
                self.commit(
                    move |state| {
                        let entry = state.fixture_apps(Some(&id))?.pop();
                        let mut plan = state
                            .store
                            .reset_app_plan(&state.fixtures, &id)
                            .map_err(|e| e.to_string())?;
                        let ids = state.remove_scenarios(&mut plan, Some(&id));
                        Ok((plan, (entry, ids)))
                    },
                    move |state, (entry, ids)| {
                        match entry {
                            Some(entry) => state.keyring.install(entry),
                            None => state.keyring.remove(&app_id),
                        }
                        state.scenarios.remove_ids(&ids);
                        state.faults.clear(&app_id);
                        state.journal.clear(Some(&app_id));
                    },
                )
                .await
            }
        };
        reset?;
        // Notifications live outside the plan's trees: they go once the reset is made.
        crate::notify::clear(self, app_id)
            .await
            .map_err(|e| match e {
                crate::notify::NotificationError::Store(e) => CommitError::Store(e),
                other => CommitError::Task(other.to_string()),
            })?;
        Ok(())
    }

    /// Adds the removal of one app's scenarios (or all) to a plan and returns their ids,
    /// for [`Scenarios::remove_ids`] once the plan is applied. Call it inside a commit
    /// plan, so the set is taken under the write lock.
    pub fn remove_scenarios(&self, plan: &mut Plan, app_id: Option<&str>) -> Vec<String> {
        let ids = self.scenarios.ids(app_id);
        for id in &ids {
            Store::remove_scenario(plan, id);
        }
        ids
    }

    /// Puts the method definitions back to the fixtures' (and nothing else).
    pub async fn reset_definitions(self: &Arc<Self>) -> Result<(), CommitError<String>> {
        self.commit(
            |state| {
                let definitions = state.fixture_definitions()?;
                let plan = state
                    .store
                    .reset_definitions_plan(&state.fixtures)
                    .map_err(|e| e.to_string())?;
                Ok((plan, definitions))
            },
            |state, definitions| state.definitions.replace_all(definitions),
        )
        .await
    }

    /// The fixtures' method definitions, compiled.
    fn fixture_definitions(&self) -> Result<Vec<Compiled>, String> {
        compile_all(self.fixtures.methods.clone()).map_err(|e| format!("fixture method {e}"))
    }

    /// The fixture apps (or one of them) with their keys parsed.
    fn fixture_apps(&self, only: Option<&str>) -> Result<Vec<AppEntry>, String> {
        self.fixtures
            .apps
            .iter()
            .filter(|a| only.is_none_or(|id| a.app_id == id))
            .map(|a| {
                self.keyring
                    .prepare(a.clone())
                    .map_err(|e| format!("fixture app {}: {e}", a.app_id))
            })
            .collect()
    }

    /// Writes everything to disk (shutdown).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.store.flush().await
    }

    /// Closes the store (see [`Store::close`]); returns whether its folder is released.
    /// Blocking: call it off the async runtime.
    pub fn close(self, limit: Duration) -> bool {
        // Everything else goes first: the notification queue holds a tree of the same
        // database, and sled releases the folder only once every handle is gone.
        let store = {
            let this = self;
            let State { store, .. } = this;
            store
        };
        store.close(limit)
    }
}

fn compile_all(definitions: Vec<Definition>) -> Result<Vec<Compiled>, DefinitionError> {
    definitions.into_iter().map(Compiled::new).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A gateway's state on a store folder, flushed, and a copy of the folder as it is
    /// now: what a disk that refuses writes from here on keeps (for
    /// [`Store::fail_write_keeping_only`]).
    pub(crate) async fn state_and_a_copy_of_its_disk() -> (tempfile::TempDir, Arc<State>, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let state = Arc::new(State::open(&Config::with_data_dir(&data)).unwrap());
        state.flush().await.unwrap();
        let kept = root.path().join("kept");
        crate::store::test_hooks::copy_folder(&data, &kept);
        (root, state, kept)
    }

    type Code = Box<dyn FnOnce(&State) + Send>;

    /// A test's code to run at one point of a commit (see `between_apply_and_flush`).
    #[derive(Default)]
    pub(super) struct Hook(std::sync::Mutex<Option<Code>>);

    impl std::fmt::Debug for Hook {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Hook")
        }
    }

    impl Hook {
        fn set(&self, hook: impl FnOnce(&State) + Send + 'static) {
            *self.0.lock().unwrap() = Some(Box::new(hook));
        }

        pub(super) fn run(&self, state: &State) {
            let hook = self.0.lock().unwrap().take();
            if let Some(hook) = hook {
                hook(state);
            }
        }
    }

    /// Regression: a failed write outside the write lock (a notification's flush, or
    /// the reopen of a notification's `prepare_write`) could reopen the store between a
    /// commit's apply and its flush. The reopen dropped the change sled had not written
    /// out, the flush then covered the reopened handles, and the commit answered success
    /// for a change the store no longer held.
    #[tokio::test]
    async fn a_change_that_a_reopen_dropped_before_its_flush_is_not_acknowledged() {
        let (_root, state, kept) = state_and_a_copy_of_its_disk().await;
        state
            .between_apply_and_flush
            .set(move |state| state.store().fail_write_keeping_only(&kept));

        let answer = state
            .commit(
                |_| {
                    let mut plan = Plan::default();
                    Store::put_faults(&mut plan, "2088000000000001", &serde_json::json!({}));
                    Ok::<_, String>((plan, ()))
                },
                |_, ()| (),
            )
            .await;

        let faults: Vec<(String, serde_json::Value)> = state.store().faults().unwrap();
        if answer.is_ok() {
            assert!(
                faults.iter().any(|(scope, _)| scope == "2088000000000001"),
                "the change was acknowledged, but the store served afterwards does not hold it"
            );
        }
        assert!(
            matches!(
                answer,
                Err(CommitError::Store(StoreError::Unavailable { .. }))
            ),
            "a change a reopen may have dropped answered {answer:?}"
        );
        assert!(faults.is_empty(), "the store holds {faults:?}");
    }
}
