//! The typed records: seeding and reset plans, apps, identities with their lookup
//! indexes, authorisations, and the scenario and fault records the control module owns.

use serde::{de::DeserializeOwned, Serialize};

use super::{
    authorization_key, cert_key, decode, Counts, Plan, Store, StoreError, Tree, SEEDED_KEY,
};
use crate::fixtures::Fixtures;
use crate::methods::defined::Definition;
use crate::model::{App, AuthCategory, Authorization, Identity};

impl Store {
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

    /// Seeds an empty store from fixtures in one transaction and flushes it (a store with
    /// a folder). A store
    /// that was seeded before is left alone, so a restart never overwrites what it holds.
    /// Returns whether it seeded.
    pub fn seed_if_empty(&self, fixtures: &Fixtures) -> Result<bool, StoreError> {
        if self.tree(Tree::Meta)?.contains_key(SEEDED_KEY)? {
            return Ok(false);
        }
        let mut plan = Plan::default();
        Self::seed_plan(&mut plan, fixtures);
        self.apply(plan)?;
        // A temporary store is not flushed (see `Store::flush`): it starts seeded in
        // memory, without a synchronous write of the fixtures first.
        if self.dir().is_some() {
            self.handles()?.db.flush()?;
            self.record_flushed();
        }
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
            .tree(Tree::Meta)?
            .get(SEEDED_KEY)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// How many records of each kind are stored.
    pub fn counts(&self) -> Counts {
        Counts {
            apps: self.tree(Tree::Apps).map_or(0, |t| t.len()),
            identities: self.tree(Tree::Identities).map_or(0, |t| t.len()),
            authorizations: self.tree(Tree::Authorizations).map_or(0, |t| t.len()),
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
        match self.tree(index)?.get(key)? {
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
            match self.tree(index)?.get(key)? {
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
            self.tree(Tree::Scenarios)?
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
        self.tree(Tree::Faults)?
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
