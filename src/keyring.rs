//! The apps the gateway serves, with their keys, certificates and AES keys parsed once:
//! when loaded at start-up or when an app is stored, never per request. A bad key or
//! certificate is refused here, with a message that names the field.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use rsa::RsaPrivateKey;
use serde::Serialize;

use crate::builtin_keys;
use crate::cert::{CertError, PublicKeyCertificate, RootBundle};
use crate::content_encryption::{AesKey, AesKeyError};
use crate::crypto::{SignType, SigningKey, VerifyingKey};
use crate::keys::{self, KeyError};
use crate::model::{App, CertDefaults};

/// Why an app (or the gateway's default certificates) cannot be used: the field at fault
/// and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum AppKeyError {
    /// A key does not parse.
    #[error("{field}: {source}")]
    Key {
        /// The field holding the key.
        field: &'static str,
        /// What is wrong with it.
        source: KeyError,
    },
    /// A certificate or root bundle does not parse or holds no usable key.
    #[error("{field}: {source}")]
    Cert {
        /// The field holding the certificate.
        field: &'static str,
        /// What is wrong with it.
        source: CertError,
    },
    /// The AES key is not Base64 of 16 bytes.
    #[error("aes_key: {0}")]
    Aes(AesKeyError),
    /// The fields do not fit together (a certificate without its key, …).
    #[error("{0}")]
    Inconsistent(&'static str),
}

/// A platform certificate with the private key that signs under it.
#[derive(Debug)]
pub struct PlatformCert {
    /// The certificate; its SN is the answers' `alipay_cert_sn`.
    pub cert: PublicKeyCertificate,
    /// Signs certificate-mode answers (converted once for the fast backend; the
    /// compiled-in default is shared by every gateway in the process).
    pub key: Arc<SigningKey>,
}

impl PlatformCert {
    fn parse(cert: &str, key: &str) -> Result<PlatformCert, AppKeyError> {
        let cert = PublicKeyCertificate::from_pem(cert).map_err(|source| AppKeyError::Cert {
            field: "platform_cert",
            source,
        })?;
        let key = builtin_keys::signing_key(key).map_err(|source| AppKeyError::Key {
            field: "platform_cert_private_key",
            source,
        })?;
        if key.rsa().to_public_key() != cert.public_key {
            return Err(AppKeyError::Inconsistent(
                "platform_cert_private_key is not the private key of platform_cert",
            ));
        }
        Ok(PlatformCert { cert, key })
    }
}

/// An app's certificate-mode material, parsed.
#[derive(Debug)]
pub struct CertMode {
    /// The app's certificate: `app_cert_sn` must name it; its key verifies requests.
    pub app_cert: PublicKeyCertificate,
    /// The app certificate's key, converted once for the fast backend.
    pub app_cert_key: VerifyingKey,
    /// Signs the app's certificate-mode answers (the app's own or the default pair).
    pub platform: Arc<PlatformCert>,
    /// The root bundle `alipay_root_cert_sn` must name (the app's own or the default).
    pub root: Arc<RootBundle>,
}

/// The SNs of an app's certificates, as the admin API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertSns {
    /// SN of the app certificate: what SDKs send as `app_cert_sn`.
    pub app_cert_sn: String,
    /// SN of the platform certificate: the answers' `alipay_cert_sn`.
    pub alipay_cert_sn: String,
    /// SN of the root bundle: what SDKs send as `alipay_root_cert_sn`.
    pub alipay_root_cert_sn: String,
}

/// The gateway's default certificate pair and root bundle, parsed.
#[derive(Debug)]
struct DefaultCerts {
    platform: Arc<PlatformCert>,
    root: Arc<RootBundle>,
}

/// An app with its keys ready for use.
#[derive(Debug)]
pub struct AppEntry {
    /// The app's record as stored, keys still as text.
    pub app: App,
    public_keys: BTreeMap<SignType, VerifyingKey>,
    platform_key: Arc<SigningKey>,
    cert_mode: Option<CertMode>,
    aes_key: Option<AesKey>,
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

    /// The app's certificate-mode material, when it has an app certificate.
    pub fn cert_mode(&self) -> Option<&CertMode> {
        self.cert_mode.as_ref()
    }

    /// The SNs of the app's certificates, when it speaks certificate mode.
    pub fn cert_sns(&self) -> Option<CertSns> {
        self.cert_mode.as_ref().map(|c| CertSns {
            app_cert_sn: c.app_cert.sn.clone(),
            alipay_cert_sn: c.platform.cert.sn.clone(),
            alipay_root_cert_sn: c.root.sn.clone(),
        })
    }

    /// The app's AES content-encryption key, if it has one.
    pub fn aes_key(&self) -> Option<&AesKey> {
        self.aes_key.as_ref()
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
    default_certs: Option<DefaultCerts>,
    apps: RwLock<HashMap<String, Arc<AppEntry>>>,
}

impl KeyRing {
    /// A key ring with the default platform key, the default certificate-mode material
    /// (if any) and no apps. Fails when the default certificates are unusable.
    pub fn new(
        default_platform_key: RsaPrivateKey,
        cert_defaults: Option<&CertDefaults>,
    ) -> Result<KeyRing, AppKeyError> {
        KeyRing::with_platform_key(
            Arc::new(SigningKey::new(default_platform_key)),
            cert_defaults,
        )
    }

    /// The same with the default platform key already converted (and perhaps shared, see
    /// [`builtin_keys`]).
    pub fn with_platform_key(
        default_platform_key: Arc<SigningKey>,
        cert_defaults: Option<&CertDefaults>,
    ) -> Result<KeyRing, AppKeyError> {
        let default_certs = match cert_defaults {
            None => None,
            Some(d) => Some(DefaultCerts {
                platform: Arc::new(PlatformCert::parse(
                    &d.platform_cert,
                    &d.platform_cert_private_key,
                )?),
                root: Arc::new(parse_root(&d.alipay_root_cert)?),
            }),
        };
        Ok(KeyRing {
            default_platform_key,
            default_certs,
            apps: RwLock::new(HashMap::new()),
        })
    }

    /// Parses an app's keys and makes it callable (replacing an app with the same id).
    pub fn insert(&self, app: App) -> Result<(), AppKeyError> {
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

    /// Parses an app's keys, certificates and AES key without installing it, so a bad
    /// one changes nothing.
    pub fn prepare(&self, app: App) -> Result<AppEntry, AppKeyError> {
        let public_keys = app
            .public_keys
            .iter()
            .map(|(sign_type, text)| Ok((*sign_type, keys::parse_public_key(text)?.into())))
            .collect::<Result<_, KeyError>>()
            .map_err(|source| AppKeyError::Key {
                field: "public_keys",
                source,
            })?;
        let platform_key = match &app.platform_private_key {
            Some(text) => builtin_keys::signing_key(text).map_err(|source| AppKeyError::Key {
                field: "platform_private_key",
                source,
            })?,
            None => Arc::clone(&self.default_platform_key),
        };
        let cert_mode = self.cert_mode(&app)?;
        let aes_key = app
            .aes_key
            .as_deref()
            .map(AesKey::from_base64)
            .transpose()
            .map_err(AppKeyError::Aes)?;
        Ok(AppEntry {
            app,
            public_keys,
            platform_key,
            cert_mode,
            aes_key,
        })
    }

    fn cert_mode(&self, app: &App) -> Result<Option<CertMode>, AppKeyError> {
        let Some(app_cert) = &app.app_cert else {
            if app.platform_cert.is_some()
                || app.platform_cert_private_key.is_some()
                || app.alipay_root_cert.is_some()
            {
                return Err(AppKeyError::Inconsistent(
                    "platform_cert, platform_cert_private_key and alipay_root_cert need app_cert (certificate mode)",
                ));
            }
            return Ok(None);
        };
        let app_cert =
            PublicKeyCertificate::from_pem(app_cert).map_err(|source| AppKeyError::Cert {
                field: "app_cert",
                source,
            })?;
        let no_default = || {
            AppKeyError::Inconsistent(
                "the gateway has no default platform certificate: give platform_cert, platform_cert_private_key and alipay_root_cert",
            )
        };
        let platform =
            match (&app.platform_cert, &app.platform_cert_private_key) {
                (Some(cert), Some(key)) => Arc::new(PlatformCert::parse(cert, key)?),
                (None, None) => {
                    Arc::clone(&self.default_certs.as_ref().ok_or_else(no_default)?.platform)
                }
                _ => return Err(AppKeyError::Inconsistent(
                    "platform_cert and platform_cert_private_key go together: give both or neither",
                )),
            };
        let root = match &app.alipay_root_cert {
            Some(text) => Arc::new(parse_root(text)?),
            None => Arc::clone(&self.default_certs.as_ref().ok_or_else(no_default)?.root),
        };
        Ok(Some(CertMode {
            app_cert_key: VerifyingKey::new(app_cert.public_key.clone()),
            app_cert,
            platform,
            root,
        }))
    }

    /// The PEM text of the platform certificate with this SN: the default one or any
    /// app's own (`alipay.open.app.alipaycert.download`).
    pub fn platform_cert_pem(&self, sn: &str) -> Option<String> {
        if let Some(d) = &self.default_certs {
            if d.platform.cert.sn == sn {
                return Some(d.platform.cert.pem.clone());
            }
        }
        let apps = self.apps.read().unwrap_or_else(|p| p.into_inner());
        apps.values()
            .filter_map(|a| a.cert_mode.as_ref())
            .find(|c| c.platform.cert.sn == sn)
            .map(|c| c.platform.cert.pem.clone())
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

fn parse_root(text: &str) -> Result<RootBundle, AppKeyError> {
    RootBundle::from_pem(text).map_err(|source| AppKeyError::Cert {
        field: "alipay_root_cert",
        source,
    })
}
