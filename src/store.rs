//! The embedded sled store: apps, identities (with lookup indexes by certificate and by
//! userId) and authorisations, as JSON records. No sled type leaks out of this module.
//!
//! Gateway requests only do point reads (sled serves them from its page cache); the
//! store is flushed on writes that must be durable and at shutdown, never per request.

use std::path::PathBuf;

use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::fixtures::Fixtures;
use crate::model::{App, AuthCategory, Authorization, Identity};

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A folder that survives restarts.
    Dir(PathBuf),
    /// A temporary store removed at exit.
    Ephemeral,
}

/// Store failures: I/O or a record that no longer parses.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store record {key} is corrupt: {source}")]
    Corrupt {
        key: String,
        source: serde_json::Error,
    },
    #[error("store: cannot encode record: {0}")]
    Encode(serde_json::Error),
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

/// Counts of stored records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub apps: usize,
    pub identities: usize,
    pub authorizations: usize,
}

/// The typed store.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    apps: sled::Tree,
    identities: sled::Tree,
    by_cert: sled::Tree,
    by_user: sled::Tree,
    authorizations: sled::Tree,
    meta: sled::Tree,
}

fn cert_key(cert_type: &str, cert_no: &str) -> Vec<u8> {
    // Chinese ID numbers end in a check character that may be written x or X.
    format!("{cert_type}\0{}", cert_no.to_ascii_uppercase()).into_bytes()
}

fn authorization_key(app_id: &str, identity: &str, category: AuthCategory) -> Vec<u8> {
    format!("{app_id}\0{identity}\0{}", category.as_str()).into_bytes()
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(StoreError::Encode)
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

impl Store {
    /// Opens (or creates) the store.
    pub fn open(location: &StoreLocation) -> Result<Store, StoreError> {
        let config = match location {
            StoreLocation::Dir(dir) => sled::Config::new().path(dir),
            StoreLocation::Ephemeral => sled::Config::new().temporary(true),
        };
        let db = config.open()?;
        Ok(Store {
            apps: db.open_tree("apps")?,
            identities: db.open_tree("identities")?,
            by_cert: db.open_tree("identity_by_cert")?,
            by_user: db.open_tree("identity_by_user_id")?,
            authorizations: db.open_tree("authorizations")?,
            meta: db.open_tree("meta")?,
            db,
        })
    }

    /// Seeds an empty store from fixtures in one transaction and flushes it. A store
    /// that was seeded before is left alone, so a restart never overwrites what it holds.
    /// Returns whether it seeded.
    pub fn seed_if_empty(&self, fixtures: &Fixtures) -> Result<bool, StoreError> {
        if self.meta.contains_key(SEEDED_KEY)? {
            return Ok(false);
        }
        let trees = (
            &self.apps,
            &self.identities,
            &self.by_cert,
            &self.by_user,
            &self.authorizations,
            &self.meta,
        );
        trees.transaction(
            |(apps, identities, by_cert, by_user, authorizations, meta)| {
                for app in &fixtures.apps {
                    apps.insert(app.app_id.as_bytes(), encode(app).map_err(abort)?)?;
                }
                for identity in &fixtures.identities {
                    identities.insert(identity.id.as_bytes(), encode(identity).map_err(abort)?)?;
                    if let Some(cert_no) = &identity.cert_no {
                        by_cert.insert(
                            cert_key(&identity.cert_type, cert_no),
                            identity.id.as_bytes(),
                        )?;
                    }
                    if let Some(user_id) = &identity.user_id {
                        by_user.insert(user_id.as_bytes(), identity.id.as_bytes())?;
                    }
                }
                for auth in &fixtures.authorizations {
                    authorizations.insert(
                        authorization_key(&auth.app_id, &auth.identity, auth.auth_category),
                        encode(auth).map_err(abort)?,
                    )?;
                }
                meta.insert(SEEDED_KEY, fixtures.digest.as_bytes())?;
                Ok(())
            },
        )?;
        self.db.flush()?;
        Ok(true)
    }

    /// The digest of the fixtures this store was seeded from.
    pub fn seeded_from(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .meta
            .get(SEEDED_KEY)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Every app (a scan: call it off the async runtime or at start-up).
    pub fn apps(&self) -> Result<Vec<App>, StoreError> {
        self.apps
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                decode(&key, &value)
            })
            .collect()
    }

    fn identity(&self, id: &[u8]) -> Result<Option<Identity>, StoreError> {
        match self.identities.get(id)? {
            Some(bytes) => decode(id, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The identity with this certificate, if any.
    pub fn identity_by_cert(
        &self,
        cert_type: &str,
        cert_no: &str,
    ) -> Result<Option<Identity>, StoreError> {
        match self.by_cert.get(cert_key(cert_type, cert_no))? {
            Some(id) => self.identity(&id),
            None => Ok(None),
        }
    }

    /// The identity with this Alipay userId, if any.
    pub fn identity_by_user_id(&self, user_id: &str) -> Result<Option<Identity>, StoreError> {
        match self.by_user.get(user_id.as_bytes())? {
            Some(id) => self.identity(&id),
            None => Ok(None),
        }
    }

    /// The authorisation a person gave an app for a category, if any.
    pub fn authorization(
        &self,
        app_id: &str,
        identity: &str,
        category: AuthCategory,
    ) -> Result<Option<Authorization>, StoreError> {
        let key = authorization_key(app_id, identity, category);
        match self.authorizations.get(&key)? {
            Some(bytes) => decode(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// How many records of each kind are stored.
    pub fn counts(&self) -> Counts {
        Counts {
            apps: self.apps.len(),
            identities: self.identities.len(),
            authorizations: self.authorizations.len(),
        }
    }

    /// Writes everything to disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::FixtureSource;

    fn seeded() -> Store {
        let store = Store::open(&StoreLocation::Ephemeral).unwrap();
        let fixtures = Fixtures::load(&FixtureSource::Embedded).unwrap();
        assert!(store.seed_if_empty(&fixtures).unwrap());
        store
    }

    #[test]
    fn seeding_indexes_identities_by_cert_and_user_id() {
        let store = seeded();
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
        let store = seeded();
        let fixtures = Fixtures::load(&FixtureSource::Embedded).unwrap();
        assert!(!store.seed_if_empty(&fixtures).unwrap());
        assert_eq!(store.seeded_from().unwrap(), Some(fixtures.digest));
    }

    #[test]
    fn authorizations_are_per_app_identity_and_category() {
        let store = seeded();
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
}
