//! The apps the gateway serves, with their keys parsed once: when loaded at start-up or
//! when an app is stored, never per request.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use rsa::RsaPrivateKey;

use crate::crypto::{SignType, SigningKey, VerifyingKey};
use crate::keys::{self, KeyError};
use crate::model::App;

/// An app with its keys ready for use.
#[derive(Debug)]
pub struct AppEntry {
    /// The app's record as stored, keys still as text.
    pub app: App,
    public_keys: BTreeMap<SignType, VerifyingKey>,
    platform_key: Arc<SigningKey>,
}

impl AppEntry {
    /// The app's public key for a sign type, if it registered one.
    pub fn public_key(&self, sign_type: SignType) -> Option<&VerifyingKey> {
        self.public_keys.get(&sign_type)
    }

    /// The private key that signs this app's responses.
    pub fn platform_key(&self) -> &SigningKey {
        &self.platform_key
    }

    /// The SPKI PEM of the key that signs this app's responses: the "Alipay public key"
    /// an SDK must be given.
    pub fn platform_public_key_pem(&self) -> Result<String, KeyError> {
        crate::keys::public_pem(&self.platform_key.rsa().to_public_key())
    }
}

/// Every app by `app_id`, shared by all requests.
#[derive(Debug)]
pub struct KeyRing {
    default_platform_key: Arc<SigningKey>,
    apps: RwLock<HashMap<String, Arc<AppEntry>>>,
}

impl KeyRing {
    /// A key ring with the default platform key and no apps.
    pub fn new(default_platform_key: RsaPrivateKey) -> KeyRing {
        KeyRing {
            default_platform_key: Arc::new(SigningKey::new(default_platform_key)),
            apps: RwLock::new(HashMap::new()),
        }
    }

    /// Parses an app's keys and makes it callable (replacing an app with the same id).
    pub fn insert(&self, app: App) -> Result<(), KeyError> {
        let entry = self.prepare(app)?;
        self.install(entry);
        Ok(())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<AppEntry>>> {
        // A poisoned lock only means a writer panicked between two complete inserts.
        self.apps
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes a prepared app callable.
    pub fn install(&self, entry: AppEntry) {
        self.write()
            .insert(entry.app.app_id.clone(), Arc::new(entry));
    }

    /// Makes an app uncallable.
    pub fn remove(&self, app_id: &str) {
        self.write().remove(app_id);
    }

    /// Replaces every app at once (reset).
    pub fn replace_all(&self, entries: Vec<AppEntry>) {
        let map = entries
            .into_iter()
            .map(|e| (e.app.app_id.clone(), Arc::new(e)))
            .collect();
        *self.write() = map;
    }

    /// Parses an app's keys without installing it, so a bad key changes nothing.
    pub fn prepare(&self, app: App) -> Result<AppEntry, KeyError> {
        let public_keys = app
            .public_keys
            .iter()
            .map(|(sign_type, text)| Ok((*sign_type, keys::parse_public_key(text)?.into())))
            .collect::<Result<_, KeyError>>()?;
        let platform_key = match &app.platform_private_key {
            Some(text) => Arc::new(keys::parse_private_key(text)?.into()),
            None => Arc::clone(&self.default_platform_key),
        };
        Ok(AppEntry {
            app,
            public_keys,
            platform_key,
        })
    }

    /// The app with this id.
    pub fn get(&self, app_id: &str) -> Option<Arc<AppEntry>> {
        // A poisoned lock only means a writer panicked between two complete inserts.
        let apps = self
            .apps
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        apps.get(app_id).cloned()
    }

    /// Every app.
    pub fn all(&self) -> Vec<Arc<AppEntry>> {
        let apps = self.apps.read().unwrap_or_else(|p| p.into_inner());
        apps.values().cloned().collect()
    }

    /// How many apps are loaded.
    pub fn len(&self) -> usize {
        self.apps.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no app is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
