//! A test PKI for certificate mode, as `alipay-mock keygen --cert` writes it: a root CA, a
//! platform ("Alipay") certificate and an app certificate issued by it, and their keys.
//!
//! Shaped so that every SDK computes the same SNs (docs/protocol.md §6): RSA-2048
//! keys, sha256WithRSA signatures (Go counts only sha256/sha1WithRSA roots), issuers of
//! exactly `C, O, OU, CN` in plain ASCII (the community Python SDK hard-codes that
//! template), PEM with LF line ends and a blank line between the certificates of the root
//! bundle (the community Python SDK splits the bundle on `"\n\n"`). Serial numbers are
//! random, so two generated sets never share an SN; validity is fixed, 2025-01-01 to
//! 2045-01-01, so fixtures stay valid for years.
//!
//! RSA keys come from the `rsa` crate and certificates from `x509-cert`'s builder, which
//! signs with `rsa`'s PKCS#1 v1.5 signer: no C toolchain, one ASN.1 stack.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rand::RngCore;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::RsaPrivateKey;
use sha2::Sha256;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::UtcTime;
use x509_cert::der::pem::LineEnding;
use x509_cert::der::{DateTime, EncodePem};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

use crate::keys::KeyPairText;

/// Subject (and issuer) of the test root CA.
pub const ROOT_SUBJECT: &str =
    "CN=alipay-mock Test Root CA,OU=Test Certification Authority,O=alipay-mock,C=CN";
/// Subject of a second, spare root CA: it issues nothing but makes the bundle hold two
/// roots, as Alipay's does, so the root SN is a real `_`-joined list.
pub const SPARE_ROOT_SUBJECT: &str =
    "CN=alipay-mock Test Root CA 2,OU=Test Certification Authority,O=alipay-mock,C=CN";
/// Subject of the test platform certificate (its key signs the gateway's answers).
pub const PLATFORM_SUBJECT: &str =
    "CN=alipay-mock Test Platform,OU=Test Alipay Public Key,O=alipay-mock,C=CN";
/// Subject of the test app certificate; `CN` is the app id, as on Alipay's certificates.
pub fn app_subject(app_id: &str) -> String {
    format!("CN={app_id},OU=Test App Public Key,O=alipay-mock,C=CN")
}

/// The app id the generated app certificate names unless told otherwise.
pub const DEFAULT_CERT_APP_ID: &str = "2021000000000003";

/// File names written by [`write_test_pki`], relative to the output folder.
pub mod files {
    /// The app's private key, PKCS#8 PEM (Java, Node with `keyType: 'PKCS8'`).
    pub const APP_PRIVATE_KEY: &str = "app_private_key.pem";
    /// The app's private key, PKCS#1 PEM (Node's default `keyType`, Python).
    pub const APP_PRIVATE_KEY_PKCS1: &str = "app_private_key_pkcs1.pem";
    /// The app certificate (`appCertPath`).
    pub const APP_CERT: &str = "app_cert_public_key.crt";
    /// The platform certificate (`alipayPublicCertPath`).
    pub const PLATFORM_CERT: &str = "alipay_cert_public_key_rsa2.crt";
    /// The root bundle (`alipayRootCertPath`).
    pub const ROOT_BUNDLE: &str = "alipay_root_cert.crt";
    /// The platform certificate's private key: signs the gateway's answers. Test only.
    pub const PLATFORM_PRIVATE_KEY: &str = "test_only_alipay_cert_private_key.pem";
    /// The root CA's private key, to issue more test certificates. Test only.
    pub const ROOT_PRIVATE_KEY: &str = "test_only_root_ca_private_key.pem";
}

/// Why the test PKI could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The RSA backend could not make a key.
    #[error("RSA key generation failed: {0}")]
    Key(String),
    /// A name, serial, validity or signature could not be encoded.
    #[error("building a certificate failed: {0}")]
    Build(String),
    /// An output file exists already; nothing was written.
    #[error(
        "{path} already exists; refusing to overwrite test certificates (choose another --out)"
    )]
    Exists {
        /// The file that exists.
        path: PathBuf,
    },
    /// The folder or a file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The folder or file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// A certificate with the key pair of its subject.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate, PEM with LF line ends.
    pub cert_pem: String,
    /// The subject's key pair in every text form.
    pub key: KeyPairText,
}

/// The generated root CA, platform certificate and app certificate.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// Self-signed root CA: issues the platform and app certificates.
    pub root: Issued,
    /// A second self-signed root, second in the bundle (its key is not kept).
    pub spare_root_pem: String,
    /// Platform certificate issued by the root.
    pub platform: Issued,
    /// App certificate issued by the root.
    pub app: Issued,
}

fn build_err(e: impl fmt::Display) -> GenerateError {
    GenerateError::Build(e.to_string())
}

fn new_key() -> Result<RsaPrivateKey, GenerateError> {
    RsaPrivateKey::new(&mut rand::thread_rng(), 2048).map_err(|e| GenerateError::Key(e.to_string()))
}

/// A random positive serial of 16 bytes (RFC 5280: at most 20 octets, positive).
fn random_serial() -> Result<SerialNumber, GenerateError> {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    // Top bit clear keeps the INTEGER positive without a leading zero byte; the next bit
    // set keeps the length at 16 bytes, so serials all print alike.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(build_err)
}

/// 2025-01-01 to 2045-01-01 (UTCTime, as RFC 5280 wants before 2050).
fn validity() -> Result<Validity, GenerateError> {
    let at = |year| -> Result<Time, GenerateError> {
        let dt = DateTime::new(year, 1, 1, 0, 0, 0).map_err(build_err)?;
        Ok(Time::UtcTime(
            UtcTime::from_date_time(dt).map_err(build_err)?,
        ))
    };
    Ok(Validity {
        not_before: at(2025)?,
        not_after: at(2045)?,
    })
}

fn issue(
    profile: Profile,
    subject: &str,
    subject_key: &RsaPrivateKey,
    issuer_key: &RsaPrivateKey,
) -> Result<Certificate, GenerateError> {
    let subject = Name::from_str(subject).map_err(build_err)?;
    let spki_der = subject_key
        .to_public_key()
        .to_public_key_der()
        .map_err(build_err)?;
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes()).map_err(build_err)?;
    let signer = SigningKey::<Sha256>::new(issuer_key.clone());
    let builder = CertificateBuilder::new(
        profile,
        random_serial()?,
        validity()?,
        subject,
        spki,
        &signer,
    )
    .map_err(build_err)?;
    builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(build_err)
}

fn issued(cert: &Certificate, key: &RsaPrivateKey) -> Result<Issued, GenerateError> {
    Ok(Issued {
        cert_pem: cert.to_pem(LineEnding::LF).map_err(build_err)?,
        key: KeyPairText::from_private(key).map_err(build_err)?,
    })
}

impl TestPki {
    /// Generates fresh keys and certificates; the app certificate names `app_id`.
    pub fn generate(app_id: &str) -> Result<TestPki, GenerateError> {
        let root_key = new_key()?;
        let platform_key = new_key()?;
        let app_key = new_key()?;
        let root_name = Name::from_str(ROOT_SUBJECT).map_err(build_err)?;
        let leaf = || Profile::Leaf {
            issuer: root_name.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        };
        let spare_key = new_key()?;
        let root = issue(Profile::Root, ROOT_SUBJECT, &root_key, &root_key)?;
        let spare = issue(Profile::Root, SPARE_ROOT_SUBJECT, &spare_key, &spare_key)?;
        let platform = issue(leaf(), PLATFORM_SUBJECT, &platform_key, &root_key)?;
        let app = issue(leaf(), &app_subject(app_id), &app_key, &root_key)?;
        Ok(TestPki {
            root: issued(&root, &root_key)?,
            spare_root_pem: spare.to_pem(LineEnding::LF).map_err(build_err)?,
            platform: issued(&platform, &platform_key)?,
            app: issued(&app, &app_key)?,
        })
    }

    /// The root bundle text: the root CA then the spare root, separated by one blank
    /// line, LF line ends.
    pub fn root_bundle_pem(&self) -> String {
        bundle(&[self.root.cert_pem.as_str(), self.spare_root_pem.as_str()])
    }

    /// Every file to write, as (name, text).
    pub fn files(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                files::APP_PRIVATE_KEY,
                self.app.key.private_pkcs8_pem.clone(),
            ),
            (
                files::APP_PRIVATE_KEY_PKCS1,
                self.app.key.private_pkcs1_pem.clone(),
            ),
            (files::APP_CERT, self.app.cert_pem.clone()),
            (files::PLATFORM_CERT, self.platform.cert_pem.clone()),
            (files::ROOT_BUNDLE, self.root_bundle_pem()),
            (
                files::PLATFORM_PRIVATE_KEY,
                self.platform.key.private_pkcs8_pem.clone(),
            ),
            (
                files::ROOT_PRIVATE_KEY,
                self.root.key.private_pkcs8_pem.clone(),
            ),
        ]
    }
}

/// Joins PEM certificates with exactly one blank line between them, LF only.
pub fn bundle(pems: &[&str]) -> String {
    pems.iter()
        .map(|p| p.replace("\r\n", "\n").trim_end_matches('\n').to_owned() + "\n")
        .collect::<Vec<_>>()
        .join("\n")
}

/// What [`write_test_pki`] wrote, with the SNs an SDK configured with the files sends.
#[derive(Debug, Clone)]
pub struct WrittenPki {
    /// The files written, in order.
    pub paths: Vec<PathBuf>,
    /// `app_cert_sn`.
    pub app_cert_sn: String,
    /// `alipay_cert_sn` of the platform certificate.
    pub platform_cert_sn: String,
    /// `alipay_root_cert_sn`.
    pub root_cert_sn: String,
}

impl fmt::Display for WrittenPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for path in &self.paths {
            writeln!(f, "wrote {}", path.display())?;
        }
        writeln!(f, "app_cert_sn         {}", self.app_cert_sn)?;
        writeln!(f, "alipay_cert_sn      {}", self.platform_cert_sn)?;
        write!(f, "alipay_root_cert_sn {}", self.root_cert_sn)
    }
}

/// Generates a test PKI for `app_id` and writes it into `dir` (created if missing).
/// Refuses, before writing anything, when any of the files already exists.
pub fn write_test_pki(dir: &Path, app_id: &str) -> Result<WrittenPki, GenerateError> {
    let pki = TestPki::generate(app_id)?;
    let files = pki.files();
    for (name, _) in &files {
        let path = dir.join(name);
        if path.exists() {
            return Err(GenerateError::Exists { path });
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| GenerateError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        // create_new: a file appearing since the check above is still not overwritten.
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| file.write_all(text.as_bytes()));
        if let Err(source) = written {
            return Err(match source.kind() {
                std::io::ErrorKind::AlreadyExists => GenerateError::Exists { path },
                _ => GenerateError::Write { path, source },
            });
        }
        paths.push(path);
    }
    let cert_err = |e: super::CertError| GenerateError::Build(e.to_string());
    Ok(WrittenPki {
        paths,
        app_cert_sn: super::PublicKeyCertificate::from_pem(&pki.app.cert_pem)
            .map_err(cert_err)?
            .sn,
        platform_cert_sn: super::PublicKeyCertificate::from_pem(&pki.platform.cert_pem)
            .map_err(cert_err)?
            .sn,
        root_cert_sn: super::RootBundle::from_pem(&pki.root_bundle_pem())
            .map_err(cert_err)?
            .sn,
    })
}
