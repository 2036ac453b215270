//! The embedded sled store: apps, identities (with lookup indexes by certificate and by
//! userId), authorisations, scenarios, faults and method definitions, as JSON records. No sled type leaks out
//! of this module.
//!
//! Gateway requests only do point reads (sled serves them from its page cache) and the
//! odd scenario counter write; nothing flushes per request. Every change an admin call
//! makes is one [`Plan`] applied in a single transaction across trees and then flushed,
//! so a change is all-or-nothing and durable before it is acknowledged. Callers
//! serialise admin writes (the admin layer holds one lock), so a plan computed from
//! reads is still valid when it commits.

use std::path::PathBuf;

use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::fixtures::Fixtures;
use crate::methods::defined::Definition;
use crate::model::{App, AuthCategory, Authorization, Identity};

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

/// The typed store.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    trees: [sled::Tree; 9],
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
        let config = match location {
            StoreLocation::Dir(dir) => sled::Config::new().path(dir),
            StoreLocation::Ephemeral => sled::Config::new().temporary(true),
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
            open(TREE_NAMES[8])?,
        ];
        Ok(Store { db, trees })
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

    /// A tree for a module that owns its records outright (notifications): in the same
    /// database, so [`Store::flush`] makes it durable too, but outside [`Plan`]s and
    /// resets, which its owner handles.
    pub(crate) fn own_tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Writes everything to disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    // ----- seeding and reset ---------------------------------------------------------

    fn seed_plan(plan: &mut Plan, fixtures: &Fixtures) {
        for app in &fixtures.apps {
            plan.insert_json(Tree::Apps, &app.app_id, app);
        }
        for identity in &fixtures.identities {
            Self::identity_plan(plan, identity);
        }
        for auth in &fixtures.authorizations {
            Self::authorization_plan(plan, auth);
        }
        Self::definitions_seed_plan(plan, fixtures);
        plan.insert(Tree::Meta, SEEDED_KEY, fixtures.digest.as_bytes());
    }

    fn definitions_seed_plan(plan: &mut Plan, fixtures: &Fixtures) {
        for definition in &fixtures.methods {
            plan.insert_json(Tree::Methods, &definition.method, definition);
        }
    }

    /// Seeds an empty store from fixtures in one transaction and flushes it. A store
    /// that was seeded before is left alone, so a restart never overwrites what it holds.
    /// Returns whether it seeded.
    pub fn seed_if_empty(&self, fixtures: &Fixtures) -> Result<bool, StoreError> {
        if self.tree(Tree::Meta).contains_key(SEEDED_KEY)? {
            return Ok(false);
        }
        let mut plan = Plan::default();
        Self::seed_plan(&mut plan, fixtures);
        self.apply(plan)?;
        self.db.flush()?;
        Ok(true)
    }

    /// Everything back to the fixtures: every record, scenario and fault removed and the
    /// fixtures written again, in one transaction.
    pub fn reset_plan(&self, fixtures: &Fixtures) -> Result<Plan, StoreError> {
        let mut plan = Plan::default();
        for tree in [
            Tree::Apps,
            Tree::Identities,
            Tree::ByCert,
            Tree::ByUser,
            Tree::Authorizations,
            Tree::Scenarios,
            Tree::Faults,
            Tree::Methods,
        ] {
            for key in self.keys(tree, b"")? {
                plan.remove(tree, key);
            }
        }
        Self::seed_plan(&mut plan, fixtures);
        Ok(plan)
    }

    /// One app back to the fixtures: its record and its authorisations as the fixtures
    /// have them (or gone, if the fixtures do not have it), its scenarios and faults
    /// removed by the caller's plan additions. Identities are shared and stay.
    pub fn reset_app_plan(&self, fixtures: &Fixtures, app_id: &str) -> Result<Plan, StoreError> {
        let mut plan = self.delete_app_plan(app_id)?;
        if let Some(app) = fixtures.apps.iter().find(|a| a.app_id == app_id) {
            plan.insert_json(Tree::Apps, &app.app_id, app);
        }
        for auth in fixtures
            .authorizations
            .iter()
            .filter(|a| a.app_id == app_id)
        {
            Self::authorization_plan(&mut plan, auth);
        }
        Ok(plan)
    }

    /// The digest of the fixtures this store was seeded from.
    pub fn seeded_from(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .tree(Tree::Meta)
            .get(SEEDED_KEY)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// How many records of each kind are stored.
    pub fn counts(&self) -> Counts {
        Counts {
            apps: self.tree(Tree::Apps).len(),
            identities: self.tree(Tree::Identities).len(),
            authorizations: self.tree(Tree::Authorizations).len(),
        }
    }

    // ----- apps ----------------------------------------------------------------------

    /// Every app (a scan: call it off the async runtime or at start-up).
    pub fn apps(&self) -> Result<Vec<App>, StoreError> {
        self.scan_json(Tree::Apps, b"")
    }

    /// The app with this id.
    pub fn app(&self, app_id: &str) -> Result<Option<App>, StoreError> {
        self.get_json(Tree::Apps, app_id.as_bytes())
    }

    /// Stores (creates or replaces) an app.
    pub fn put_app_plan(&self, app: &App) -> Plan {
        let mut plan = Plan::default();
        plan.insert_json(Tree::Apps, &app.app_id, app);
        plan
    }

    /// Removes an app with its authorisations, scenarios and faults scoped to it.
    pub fn delete_app_plan(&self, app_id: &str) -> Result<Plan, StoreError> {
        let mut plan = Plan::default();
        plan.remove(Tree::Apps, app_id);
        for key in self.keys(Tree::Authorizations, format!("{app_id}\0").as_bytes())? {
            plan.remove(Tree::Authorizations, key);
        }
        plan.remove(Tree::Faults, app_id);
        Ok(plan)
    }

    // ----- identities ----------------------------------------------------------------

    fn identity_plan(plan: &mut Plan, identity: &Identity) {
        plan.insert_json(Tree::Identities, &identity.id, identity);
        if let Some(cert_no) = &identity.cert_no {
            plan.insert(
                Tree::ByCert,
                cert_key(&identity.cert_type, cert_no),
                identity.id.as_bytes(),
            );
        }
        if let Some(user_id) = &identity.user_id {
            plan.insert(Tree::ByUser, user_id, identity.id.as_bytes());
        }
    }

    fn unindex_plan(plan: &mut Plan, identity: &Identity) {
        if let Some(cert_no) = &identity.cert_no {
            plan.remove(Tree::ByCert, cert_key(&identity.cert_type, cert_no));
        }
        if let Some(user_id) = &identity.user_id {
            plan.remove(Tree::ByUser, user_id);
        }
    }

    /// Every identity.
    pub fn identities(&self) -> Result<Vec<Identity>, StoreError> {
        self.scan_json(Tree::Identities, b"")
    }

    /// The identity with this id.
    pub fn identity(&self, id: &str) -> Result<Option<Identity>, StoreError> {
        self.get_json(Tree::Identities, id.as_bytes())
    }

    fn identity_at(&self, index: Tree, key: &[u8]) -> Result<Option<Identity>, StoreError> {
        match self.tree(index).get(key)? {
            Some(id) => self.get_json(Tree::Identities, &id),
            None => Ok(None),
        }
    }

    /// The identity with this certificate, if any.
    pub fn identity_by_cert(
        &self,
        cert_type: &str,
        cert_no: &str,
    ) -> Result<Option<Identity>, StoreError> {
        self.identity_at(Tree::ByCert, &cert_key(cert_type, cert_no))
    }

    /// The identity with this Alipay userId, if any.
    pub fn identity_by_user_id(&self, user_id: &str) -> Result<Option<Identity>, StoreError> {
        self.identity_at(Tree::ByUser, user_id.as_bytes())
    }

    /// Stores (creates or replaces) an identity and re-indexes it. Fails with
    /// [`StoreError::Conflict`] when another identity has the certificate or userId.
    pub fn put_identity_plan(&self, identity: &Identity) -> Result<Plan, StoreError> {
        let taken = |index: Tree, key: &[u8], what: &str| -> Result<(), StoreError> {
            match self.tree(index).get(key)? {
                Some(id) if id != identity.id.as_bytes() => Err(StoreError::Conflict(format!(
                    "{what} already belongs to identity {}",
                    String::from_utf8_lossy(&id)
                ))),
                _ => Ok(()),
            }
        };
        if let Some(cert_no) = &identity.cert_no {
            taken(
                Tree::ByCert,
                &cert_key(&identity.cert_type, cert_no),
                "cert_no",
            )?;
        }
        if let Some(user_id) = &identity.user_id {
            taken(Tree::ByUser, user_id.as_bytes(), "user_id")?;
        }
        let mut plan = Plan::default();
        if let Some(previous) = self.identity(&identity.id)? {
            Self::unindex_plan(&mut plan, &previous);
        }
        Self::identity_plan(&mut plan, identity);
        Ok(plan)
    }

    /// Removes an identity, its index entries and every authorisation it gave.
    pub fn delete_identity_plan(&self, identity: &Identity) -> Result<Plan, StoreError> {
        let mut plan = Plan::default();
        Self::unindex_plan(&mut plan, identity);
        plan.remove(Tree::Identities, &identity.id);
        for auth in self.authorizations(None, Some(&identity.id))? {
            plan.remove(
                Tree::Authorizations,
                authorization_key(&auth.app_id, &auth.identity, auth.auth_category),
            );
        }
        Ok(plan)
    }

    // ----- authorisations ------------------------------------------------------------

    fn authorization_plan(plan: &mut Plan, auth: &Authorization) {
        plan.insert_json(
            Tree::Authorizations,
            authorization_key(&auth.app_id, &auth.identity, auth.auth_category),
            auth,
        );
    }

    /// The authorisation a person gave an app for a category, if any.
    pub fn authorization(
        &self,
        app_id: &str,
        identity: &str,
        category: AuthCategory,
    ) -> Result<Option<Authorization>, StoreError> {
        self.get_json(
            Tree::Authorizations,
            &authorization_key(app_id, identity, category),
        )
    }

    /// Authorisations, optionally only of one app and/or one identity.
    pub fn authorizations(
        &self,
        app_id: Option<&str>,
        identity: Option<&str>,
    ) -> Result<Vec<Authorization>, StoreError> {
        let prefix = app_id.map(|a| format!("{a}\0")).unwrap_or_default();
        let all: Vec<Authorization> = self.scan_json(Tree::Authorizations, prefix.as_bytes())?;
        Ok(all
            .into_iter()
            .filter(|a| identity.is_none_or(|i| a.identity == i))
            .collect())
    }

    /// Grants (or replaces) an authorisation.
    pub fn put_authorization_plan(&self, auth: &Authorization) -> Plan {
        let mut plan = Plan::default();
        Self::authorization_plan(&mut plan, auth);
        plan
    }

    /// Revokes the given authorisations.
    pub fn revoke_plan(&self, auths: &[Authorization]) -> Plan {
        let mut plan = Plan::default();
        for auth in auths {
            plan.remove(
                Tree::Authorizations,
                authorization_key(&auth.app_id, &auth.identity, auth.auth_category),
            );
        }
        plan
    }

    // ----- scenarios and faults (records owned by the control module) ----------------

    /// Every stored scenario record.
    pub fn scenarios<V: DeserializeOwned>(&self) -> Result<Vec<V>, StoreError> {
        self.scan_json(Tree::Scenarios, b"")
    }

    /// Adds a scenario write to a plan.
    pub fn put_scenario(plan: &mut Plan, id: &str, scenario: &impl Serialize) {
        plan.insert_json(Tree::Scenarios, id, scenario);
    }

    /// Adds a scenario removal to a plan.
    pub fn remove_scenario(plan: &mut Plan, id: &str) {
        plan.remove(Tree::Scenarios, id);
    }

    /// Applies a gateway-side scenario change (new counters, or gone) only if the store
    /// still holds `before`: a stale write never resurrects a removed scenario. No flush:
    /// sled writes it out in the background (every 500 ms) and at shutdown. Returns
    /// whether it applied.
    pub fn swap_scenario<V: Serialize>(
        &self,
        id: &str,
        before: &V,
        after: Option<&V>,
    ) -> Result<bool, StoreError> {
        let before = serde_json::to_vec(before).map_err(StoreError::Encode)?;
        let after = after
            .map(|a| serde_json::to_vec(a).map_err(StoreError::Encode))
            .transpose()?;
        let swapped =
            self.tree(Tree::Scenarios)
                .compare_and_swap(id.as_bytes(), Some(before), after)?;
        Ok(swapped.is_ok())
    }

    /// Every stored method definition, by method name.
    pub fn definitions(&self) -> Result<Vec<Definition>, StoreError> {
        self.scan_json(Tree::Methods, b"")
    }

    /// A plan that stores (or replaces) one method definition.
    pub fn put_definition_plan(definition: &Definition) -> Plan {
        let mut plan = Plan::default();
        plan.insert_json(Tree::Methods, &definition.method, definition);
        plan
    }

    /// A plan that removes one method definition.
    pub fn delete_definition_plan(method: &str) -> Plan {
        let mut plan = Plan::default();
        plan.remove(Tree::Methods, method);
        plan
    }

    /// A plan that puts the method definitions back to the fixtures' (the scoped reset
    /// of `DELETE /__admin/methods`).
    pub fn reset_definitions_plan(&self, fixtures: &Fixtures) -> Result<Plan, StoreError> {
        let mut plan = Plan::default();
        for key in self.keys(Tree::Methods, b"")? {
            plan.remove(Tree::Methods, key);
        }
        Self::definitions_seed_plan(&mut plan, fixtures);
        Ok(plan)
    }

    /// Every stored fault set, by scope key ("" = global, else the app_id).
    pub fn faults<V: DeserializeOwned>(&self) -> Result<Vec<(String, V)>, StoreError> {
        self.tree(Tree::Faults)
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                Ok((
                    String::from_utf8_lossy(&key).into_owned(),
                    decode(&key, &value)?,
                ))
            })
            .collect()
    }

    /// Adds a fault-set write to a plan.
    pub fn put_faults(plan: &mut Plan, scope: &str, faults: &impl Serialize) {
        plan.insert_json(Tree::Faults, scope, faults);
    }

    /// Adds a fault-set removal to a plan.
    pub fn remove_faults(plan: &mut Plan, scope: &str) {
        plan.remove(Tree::Faults, scope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::FixtureSource;

    fn seeded() -> (Store, Fixtures) {
        let store = Store::open(&StoreLocation::Ephemeral).unwrap();
        let fixtures = Fixtures::load(&FixtureSource::Embedded).unwrap();
        assert!(store.seed_if_empty(&fixtures).unwrap());
        (store, fixtures)
    }

    #[test]
    fn seeding_indexes_identities_by_cert_and_user_id() {
        let (store, _) = seeded();
        let by_cert = store
            .identity_by_cert("IDENTITY_CARD", "33021199003132432")
            .unwrap()
            .unwrap();
        assert_eq!(by_cert.name.as_deref(), Some("张三"));
        let by_user = store
            .identity_by_user_id("2088102000000001")
            .unwrap()
            .unwrap();
        assert_eq!(by_user, by_cert);
        assert!(store
            .identity_by_user_id("2088999999999999")
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_seeded_store_is_not_seeded_twice() {
        let (store, fixtures) = seeded();
        assert!(!store.seed_if_empty(&fixtures).unwrap());
        assert_eq!(store.seeded_from().unwrap(), Some(fixtures.digest));
    }

    #[test]
    fn authorizations_are_per_app_identity_and_category() {
        let (store, _) = seeded();
        let auth = store
            .authorization("2014072300007148", "zhangsan", AuthCategory::C2B)
            .unwrap()
            .unwrap();
        assert_eq!(auth.open_id, "2088202844499224");
        assert!(store
            .authorization("2014072300007148", "zhangsan", AuthCategory::B2B)
            .unwrap()
            .is_none());
    }

    #[test]
    fn changing_a_certificate_number_moves_the_index_entry() {
        let (store, _) = seeded();
        let mut lisi = store.identity("lisi").unwrap().unwrap();
        lisi.cert_no = Some("110101199001010000".into());
        store
            .apply(store.put_identity_plan(&lisi).unwrap())
            .unwrap();
        assert!(store
            .identity_by_cert("IDENTITY_CARD", "110101199001011001")
            .unwrap()
            .is_none());
        assert_eq!(
            store
                .identity_by_cert("IDENTITY_CARD", "110101199001010000")
                .unwrap()
                .unwrap()
                .id,
            "lisi"
        );
    }

    #[test]
    fn a_certificate_number_cannot_belong_to_two_identities() {
        let (store, _) = seeded();
        let mut lisi = store.identity("lisi").unwrap().unwrap();
        lisi.cert_no = Some("33021199003132432".into());
        assert!(matches!(
            store.put_identity_plan(&lisi),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn deleting_an_identity_revokes_its_authorizations() {
        let (store, _) = seeded();
        let zhangsan = store.identity("zhangsan").unwrap().unwrap();
        store
            .apply(store.delete_identity_plan(&zhangsan).unwrap())
            .unwrap();
        assert!(store
            .authorizations(None, Some("zhangsan"))
            .unwrap()
            .is_empty());
        assert!(store
            .identity_by_user_id("2088102000000001")
            .unwrap()
            .is_none());
    }

    #[test]
    fn reset_restores_the_fixtures_exactly() {
        let (store, fixtures) = seeded();
        let before = (
            store.apps().unwrap(),
            store.identities().unwrap(),
            store.authorizations(None, None).unwrap(),
        );
        let zhangsan = store.identity("zhangsan").unwrap().unwrap();
        store
            .apply(store.delete_identity_plan(&zhangsan).unwrap())
            .unwrap();
        store
            .apply(store.delete_app_plan("2021000000000002").unwrap())
            .unwrap();
        store.apply(store.reset_plan(&fixtures).unwrap()).unwrap();
        let after = (
            store.apps().unwrap(),
            store.identities().unwrap(),
            store.authorizations(None, None).unwrap(),
        );
        assert_eq!(before, after);
        assert!(store
            .identity_by_cert("IDENTITY_CARD", "33021199003132432")
            .unwrap()
            .is_some());
    }
}
