//! Seed data: the fixtures compiled into the binary, or a folder of the same layout
//! (`--fixtures DIR`).
//!
//! Layout: `apps.json` (the platform key and the apps), `identities.json`,
//! `authorizations.json`, `cases.json` (the catalogue of seeded outcomes) and key files
//! those name, e.g. `keys/app_public_key.pem`, and optionally `methods/*.json`, one
//! method definition per file (none are compiled in). Everything is validated on load, so a
//! broken fixture stops start-up with a message instead of failing requests later.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::cases::Case;
use crate::crypto::SignType;
use crate::keys;
use crate::methods::defined::{Compiled, Definition, MAX_DEFINITIONS};
use crate::model::{App, AppAuthToken, Authorization, CertDefaults, Identity};

/// Where fixtures come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FixtureSource {
    /// The fixtures compiled into the binary (the repository's `fixtures/`).
    #[default]
    Embedded,
    /// A folder with the same layout.
    Dir(PathBuf),
}

/// The repository's fixtures, compiled in so the binary runs from anywhere.
const EMBEDDED: &[(&str, &str)] = &[
    ("apps.json", include_str!("../fixtures/apps.json")),
    (
        "identities.json",
        include_str!("../fixtures/identities.json"),
    ),
    (
        "authorizations.json",
        include_str!("../fixtures/authorizations.json"),
    ),
    ("cases.json", include_str!("../fixtures/cases.json")),
    (
        "keys/app_public_key.pem",
        include_str!("../fixtures/keys/app_public_key.pem"),
    ),
    (
        "keys/alipay_private_key.pem",
        include_str!("../fixtures/keys/alipay_private_key.pem"),
    ),
    (
        "keys/aes_key.txt",
        include_str!("../fixtures/keys/aes_key.txt"),
    ),
    (
        "certs/app_cert_public_key.crt",
        include_str!("../fixtures/certs/app_cert_public_key.crt"),
    ),
    (
        "certs/alipay_cert_public_key_rsa2.crt",
        include_str!("../fixtures/certs/alipay_cert_public_key_rsa2.crt"),
    ),
    (
        "certs/test_only_alipay_cert_private_key.pem",
        include_str!("../fixtures/certs/test_only_alipay_cert_private_key.pem"),
    ),
    (
        "certs/alipay_root_cert.crt",
        include_str!("../fixtures/certs/alipay_root_cert.crt"),
    ),
];

/// Why fixtures could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A fixture file could not be read.
    #[error("cannot read fixture {path}: {source}")]
    Read {
        /// The file, relative to the fixtures.
        path: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A fixture file is not the JSON its layout expects.
    #[error("fixture {path} is not valid: {source}")]
    Parse {
        /// The file, relative to the fixtures.
        path: String,
        /// What the JSON reader said.
        source: serde_json::Error,
    },
    /// A key in the fixtures does not parse.
    #[error("fixture {what}: {source}")]
    Key {
        /// Which key (the app and its role).
        what: String,
        /// What is wrong with it.
        source: keys::KeyError,
    },
    /// The fixtures contradict each other (duplicates, unknown references, bad records).
    #[error("fixture {0}")]
    Invalid(String),
    /// A key `file` named outside the fixtures folder (`..`, absolute, or a symlink out).
    #[error(
        "fixture key file {path:?} is outside the fixtures folder: name it relative to the \
         folder, without `..` or a leading `/` (e.g. \"keys/app_public_key.pem\")"
    )]
    OutsideFolder {
        /// The file as the fixtures name it.
        path: String,
    },
}

/// A key given inline or as a file of the fixtures.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeySource {
    File { file: String },
    Inline(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppsFile {
    platform_private_key: KeySource,
    /// The default certificate-mode pair and root bundle (all three or none).
    #[serde(default)]
    platform_cert: Option<KeySource>,
    #[serde(default)]
    platform_cert_private_key: Option<KeySource>,
    #[serde(default)]
    alipay_root_cert: Option<KeySource>,
    apps: Vec<FixtureApp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureApp {
    app_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    public_keys: BTreeMap<SignType, KeySource>,
    #[serde(default)]
    platform_private_key: Option<KeySource>,
    #[serde(default)]
    app_cert: Option<KeySource>,
    #[serde(default)]
    platform_cert: Option<KeySource>,
    #[serde(default)]
    platform_cert_private_key: Option<KeySource>,
    #[serde(default)]
    alipay_root_cert: Option<KeySource>,
    #[serde(default)]
    aes_key: Option<KeySource>,
    #[serde(default)]
    allowed_methods: Option<Vec<String>>,
    #[serde(default)]
    app_auth_tokens: Vec<AppAuthToken>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentitiesFile {
    identities: Vec<Identity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizationsFile {
    authorizations: Vec<Authorization>,
}

/// Loaded, validated fixtures.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// The default platform private key (PEM) that signs responses.
    pub platform_private_key: String,
    /// The default certificate-mode pair and root bundle (PEM), when `apps.json` names
    /// them; certificates are checked when the key ring parses them.
    pub cert_defaults: Option<CertDefaults>,
    /// The apps, keys inlined as text.
    pub apps: Vec<App>,
    /// The seeded identities.
    pub identities: Vec<Identity>,
    /// The seeded authorisations.
    pub authorizations: Vec<Authorization>,
    /// The catalogue of seeded outcomes (`alipay-mock cases`).
    pub cases: Vec<Case>,
    /// The method definitions of `methods/*.json`, in file-name order, each compiled
    /// once on load so a broken one stops start-up.
    pub methods: Vec<Definition>,
    /// Hex SHA-256 over the fixture files, to tell which fixtures a store was seeded from.
    pub digest: String,
}

struct Reader<'a> {
    source: &'a FixtureSource,
    hasher: Sha256,
}

impl Reader<'_> {
    fn read(&mut self, path: &str) -> Result<String, FixtureError> {
        let text =
            match self.source {
                FixtureSource::Embedded => EMBEDDED
                    .iter()
                    .find(|(name, _)| *name == path)
                    .map(|(_, text)| (*text).to_owned())
                    .ok_or_else(|| FixtureError::Read {
                        path: path.to_owned(),
                        source: std::io::Error::from(std::io::ErrorKind::NotFound),
                    })?,
                FixtureSource::Dir(dir) => std::fs::read_to_string(dir.join(Path::new(path)))
                    .map_err(|source| FixtureError::Read {
                        path: dir.join(path).display().to_string(),
                        source,
                    })?,
            };
        self.hasher.update(path.as_bytes());
        self.hasher.update([0]);
        self.hasher.update(text.as_bytes());
        Ok(text)
    }

    fn json<T: serde::de::DeserializeOwned>(&mut self, path: &str) -> Result<T, FixtureError> {
        let text = self.read(path)?;
        serde_json::from_str(&text).map_err(|source| FixtureError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    fn key(&mut self, source: KeySource) -> Result<String, FixtureError> {
        match source {
            KeySource::Inline(text) => Ok(text),
            KeySource::File { file } => {
                self.confine(&file)?;
                self.read(&file)
            }
        }
    }

    fn optional_key(&mut self, source: Option<KeySource>) -> Result<Option<String>, FixtureError> {
        source.map(|s| self.key(s)).transpose()
    }

    /// Refuses a key file named outside the fixtures folder (issue 12, item 7): fixture
    /// folders are handed around, and one naming `../../etc/…` or `/root/…` must not make
    /// the gateway read (and serve as a key, or quote in an error) a file beside them.
    /// Names are checked as written, then — for a folder — once more after symlinks are
    /// resolved, so a link inside the folder cannot point out of it either.
    fn confine(&self, file: &str) -> Result<(), FixtureError> {
        let outside = || FixtureError::OutsideFolder {
            path: file.to_owned(),
        };
        let lexically_inside = !file.is_empty()
            && Path::new(file)
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !lexically_inside {
            return Err(outside());
        }
        if let FixtureSource::Dir(dir) = self.source {
            // A file that does not exist is left to `read`, which names it.
            let resolved = (dir.canonicalize(), dir.join(file).canonicalize());
            if let (Ok(dir), Ok(path)) = resolved {
                if !path.starts_with(&dir) {
                    return Err(outside());
                }
            }
        }
        Ok(())
    }
}

impl Reader<'_> {
    /// `methods/*.json` of a fixtures folder, by file name; the compiled-in fixtures have
    /// none. Each is compiled (and so validated) here; one method defined twice is refused.
    fn methods(&mut self) -> Result<Vec<Definition>, FixtureError> {
        let FixtureSource::Dir(dir) = self.source else {
            return Ok(Vec::new());
        };
        let folder = dir.join("methods");
        let mut names = match std::fs::read_dir(&folder) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(FixtureError::Read {
                    path: folder.display().to_string(),
                    source,
                })
            }
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".json"))
                .collect::<Vec<_>>(),
        };
        names.sort();
        if names.len() > MAX_DEFINITIONS {
            return Err(FixtureError::Invalid(format!(
                "methods/: {} definitions; at most {MAX_DEFINITIONS}",
                names.len()
            )));
        }
        let mut methods: Vec<Definition> = Vec::new();
        for name in names {
            let path = format!("methods/{name}");
            let text = self.read(&path)?;
            let compiled = Compiled::parse(text.as_bytes())
                .map_err(|e| FixtureError::Invalid(format!("{path}: {e}")))?;
            let definition = compiled.definition().clone();
            if methods.iter().any(|m| m.method == definition.method) {
                return Err(FixtureError::Invalid(format!(
                    "{path}: {} is defined twice",
                    definition.method
                )));
            }
            methods.push(definition);
        }
        Ok(methods)
    }
}

impl Fixtures {
    /// Reads and validates the fixtures. The compiled-in ones are read once per process
    /// and copied after that: a test suite starting a gateway per test pays for parsing
    /// and validating them once.
    pub fn load(source: &FixtureSource) -> Result<Fixtures, FixtureError> {
        static EMBEDDED: std::sync::OnceLock<Fixtures> = std::sync::OnceLock::new();
        if let FixtureSource::Embedded = source {
            if let Some(fixtures) = EMBEDDED.get() {
                return Ok(fixtures.clone());
            }
            let fixtures = Fixtures::read(source)?;
            return Ok(EMBEDDED.get_or_init(|| fixtures).clone());
        }
        Fixtures::read(source)
    }

    fn read(source: &FixtureSource) -> Result<Fixtures, FixtureError> {
        let mut reader = Reader {
            source,
            hasher: Sha256::new(),
        };
        let apps_file: AppsFile = reader.json("apps.json")?;
        let platform_private_key = reader.key(apps_file.platform_private_key)?;
        keys::parse_private_key(&platform_private_key).map_err(|source| FixtureError::Key {
            what: "platform_private_key".into(),
            source,
        })?;
        let cert_defaults = match (
            reader.optional_key(apps_file.platform_cert)?,
            reader.optional_key(apps_file.platform_cert_private_key)?,
            reader.optional_key(apps_file.alipay_root_cert)?,
        ) {
            (Some(platform_cert), Some(platform_cert_private_key), Some(alipay_root_cert)) => {
                Some(CertDefaults {
                    platform_cert,
                    platform_cert_private_key,
                    alipay_root_cert,
                })
            }
            (None, None, None) => None,
            _ => {
                return Err(FixtureError::Invalid(
                    "apps.json: platform_cert, platform_cert_private_key and alipay_root_cert go together".into(),
                ))
            }
        };
        let mut apps = Vec::new();
        for app in apps_file.apps {
            let mut public_keys = BTreeMap::new();
            for (sign_type, key) in app.public_keys {
                let text = reader.key(key)?;
                keys::parse_public_key(&text).map_err(|source| FixtureError::Key {
                    what: format!("app {} {} public key", app.app_id, sign_type),
                    source,
                })?;
                public_keys.insert(sign_type, text);
            }
            let platform_private_key = match app.platform_private_key {
                None => None,
                Some(key) => {
                    let text = reader.key(key)?;
                    keys::parse_private_key(&text).map_err(|source| FixtureError::Key {
                        what: format!("app {} platform private key", app.app_id),
                        source,
                    })?;
                    Some(text)
                }
            };
            apps.push(App {
                app_id: app.app_id,
                name: app.name,
                description: app.description,
                public_keys,
                platform_private_key,
                app_cert: reader.optional_key(app.app_cert)?,
                platform_cert: reader.optional_key(app.platform_cert)?,
                platform_cert_private_key: reader.optional_key(app.platform_cert_private_key)?,
                alipay_root_cert: reader.optional_key(app.alipay_root_cert)?,
                // A key file ends with a newline; the key is the Base64 text alone.
                aes_key: reader
                    .optional_key(app.aes_key)?
                    .map(|k| k.trim().to_owned()),
                allowed_methods: app.allowed_methods,
                app_auth_tokens: app.app_auth_tokens,
            });
        }
        let identities = reader.json::<IdentitiesFile>("identities.json")?.identities;
        let authorizations = reader
            .json::<AuthorizationsFile>("authorizations.json")?
            .authorizations;
        let cases: Vec<Case> = reader.json("cases.json")?;
        let methods = reader.methods()?;
        let fixtures = Fixtures {
            platform_private_key,
            cert_defaults,
            apps,
            identities,
            authorizations,
            cases,
            methods,
            digest: hex(&reader.hasher.finalize()),
        };
        fixtures.validate()?;
        Ok(fixtures)
    }

    fn validate(&self) -> Result<(), FixtureError> {
        let invalid = |msg: String| Err(FixtureError::Invalid(msg));
        let app_ids = unique(self.apps.iter().map(|a| a.app_id.as_str()), "app_id")?;
        let identity_ids = unique(self.identities.iter().map(|i| i.id.as_str()), "identity id")?;
        unique(
            self.identities.iter().filter_map(|i| i.cert_no.as_deref()),
            "identity cert_no",
        )?;
        unique(
            self.identities.iter().filter_map(|i| i.user_id.as_deref()),
            "identity user_id",
        )?;
        for identity in &self.identities {
            identity
                .validate()
                .map_err(|e| FixtureError::Invalid(e.to_string()))?;
        }
        for auth in &self.authorizations {
            if !app_ids.contains(auth.app_id.as_str()) {
                return invalid(format!("authorization names unknown app {}", auth.app_id));
            }
            if !identity_ids.contains(auth.identity.as_str()) {
                return invalid(format!(
                    "authorization names unknown identity {}",
                    auth.identity
                ));
            }
        }
        unique(self.cases.iter().map(|c| c.name.as_str()), "case name")?;
        Ok(())
    }
}

fn unique<'a>(
    values: impl Iterator<Item = &'a str>,
    what: &str,
) -> Result<HashSet<&'a str>, FixtureError> {
    let mut seen = HashSet::new();
    for value in values {
        if !seen.insert(value) {
            return Err(FixtureError::Invalid(format!("duplicate {what} {value}")));
        }
    }
    Ok(seen)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_fixtures_load_and_validate() {
        let f = Fixtures::load(&FixtureSource::Embedded).unwrap();
        assert!(f.apps.iter().any(|a| a.app_id == "2014072300007148"));
        assert!(f.cases.len() >= 20);
        assert_eq!(f.digest.len(), 64);
    }

    #[test]
    fn the_fixtures_folder_loads_the_same_as_the_embedded_copy() {
        let dir = FixtureSource::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"));
        let from_dir = Fixtures::load(&dir).unwrap();
        let embedded = Fixtures::load(&FixtureSource::Embedded).unwrap();
        assert_eq!(from_dir.digest, embedded.digest);
    }

    /// A copy of the repository's fixtures in a temporary folder, with `apps.json`'s
    /// default app reading its RSA2 key from `key_file`.
    fn fixtures_naming(key_file: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for (name, text) in EMBEDDED {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        let apps = std::fs::read_to_string(source.join("apps.json")).unwrap();
        let apps = apps.replacen(
            r#""RSA2": { "file": "keys/app_public_key.pem" }"#,
            &format!(r#""RSA2": {{ "file": {key_file:?} }}"#),
            1,
        );
        std::fs::write(dir.path().join("apps.json"), apps).unwrap();
        dir
    }

    #[test]
    fn key_files_outside_the_fixtures_folder_are_refused_by_name() {
        // Regression (issue 12, item 7): these were read from wherever they pointed.
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            outside.path(),
            include_str!("../fixtures/keys/app_public_key.pem"),
        )
        .unwrap();
        let absolute = outside.path().display().to_string();
        for name in [
            "../app_public_key.pem",
            "keys/../../app_public_key.pem",
            absolute.as_str(),
            "",
        ] {
            let dir = fixtures_naming(name);
            let err = Fixtures::load(&FixtureSource::Dir(dir.path().to_owned())).unwrap_err();
            assert!(
                matches!(&err, FixtureError::OutsideFolder { path } if path == name),
                "{name}: {err}"
            );
            assert!(
                err.to_string().contains("outside the fixtures folder"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_symlink_out_of_the_fixtures_folder_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("key.pem");
        std::fs::write(&target, include_str!("../fixtures/keys/app_public_key.pem")).unwrap();
        let dir = fixtures_naming("keys/linked.pem");
        std::os::unix::fs::symlink(&target, dir.path().join("keys/linked.pem")).unwrap();
        let err = Fixtures::load(&FixtureSource::Dir(dir.path().to_owned())).unwrap_err();
        assert!(matches!(err, FixtureError::OutsideFolder { .. }), "{err}");
    }

    #[test]
    fn key_files_inside_the_folder_still_load_with_a_dot_segment() {
        let dir = fixtures_naming("./keys/app_public_key.pem");
        Fixtures::load(&FixtureSource::Dir(dir.path().to_owned())).unwrap();
    }

    #[test]
    fn a_missing_folder_is_a_readable_error() {
        let err = Fixtures::load(&FixtureSource::Dir("/nonexistent/fixtures".into())).unwrap_err();
        assert!(err.to_string().contains("apps.json"), "{err}");
    }
}
