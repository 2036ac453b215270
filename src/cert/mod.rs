//! Certificate mode (公钥证书模式): the app's public-key certificate, the platform's
//! ("Alipay") public-key certificate and the root bundle, parsed once when an app is
//! stored, never per request.
//!
//! Owns PEM/X.509 parsing (via `x509-cert`), the SNs ([`sn`]) and the test PKI that
//! `alipay-mock keygen --cert` writes ([`generate`]). It does not check chains or
//! validity dates: the gateway only matches SNs and verifies signatures with the public
//! key of the app certificate, as docs/protocol.md §6 describes.

pub mod generate;
pub mod sn;

use rsa::pkcs8::DecodePublicKey;
use rsa::RsaPublicKey;
use x509_cert::der::pem::PemLabel;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

/// `rsaEncryption`, the only public-key algorithm a certificate-mode app or platform
/// certificate may carry here (the mock speaks RSA / RSA2 only, no SM2).
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Why a certificate or bundle could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertError {
    /// No `-----BEGIN …-----` block at all.
    #[error("no PEM block found: expected -----BEGIN CERTIFICATE-----")]
    NoPem,
    /// A PEM block is broken: bad armour or Base64.
    #[error("PEM block {index} is malformed: {reason}")]
    BadPem {
        /// Which block, counting from 0.
        index: usize,
        /// What the PEM reader said.
        reason: String,
    },
    /// A PEM block is not a certificate (another label, or DER that is not X.509).
    #[error("PEM block {index} is not an X.509 certificate: {reason}")]
    NotCertificate {
        /// Which block, counting from 0.
        index: usize,
        /// What the X.509 reader said.
        reason: String,
    },
    /// The certificate's key is not an RSA key.
    #[error("the certificate's public key is not RSA (algorithm {algorithm})")]
    NotRsa {
        /// The key algorithm's OID.
        algorithm: String,
    },
    /// No certificate of the bundle has an RSA-family signature, so its root SN is empty.
    #[error("the root bundle holds no certificate signed with an RSA algorithm ({prefix}.*)", prefix = sn::RSA_FAMILY_OID_PREFIX)]
    NoRsaRoot,
}

/// A public-key certificate (公钥证书) of an app or of the platform: its SN and RSA key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyCertificate {
    /// The certificate SN (`app_cert_sn` / `alipay_cert_sn`), 32 lowercase hex chars.
    pub sn: String,
    /// The subject's public key: verifies an app's requests, or is what an SDK verifies
    /// the platform's answers with.
    pub public_key: RsaPublicKey,
    /// The PEM text as given, any chain after the first certificate included: for the
    /// platform certificate, `alipay_cert_content` of `alipay.open.app.alipaycert.download`
    /// carries it Base64-encoded, and Java must be able to chain it to its root bundle.
    pub pem: String,
}

/// A root certificate bundle (`alipay_root_cert.crt`) reduced to what the gateway checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootBundle {
    /// The root SN (`alipay_root_cert_sn`): SNs of the RSA-family certificates joined by `_`.
    pub sn: String,
    /// How many certificates the bundle holds, counted or not.
    pub len: usize,
}

/// The PEM blocks of a text, in order: each from `-----BEGIN` through its `-----END …-----`
/// line. Text between blocks (blank lines, comments) is ignored, as SDKs ignore it.
fn pem_blocks(text: &str) -> Vec<&str> {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let from_begin = &rest[start..];
        let Some(end) = from_begin.find(END) else {
            // An unterminated block: hand it over whole so the decoder names the fault.
            blocks.push(from_begin);
            break;
        };
        let after_end = &from_begin[end + END.len()..];
        let close = after_end.find("-----").map_or(after_end.len(), |i| i + 5);
        let len = end + END.len() + close;
        blocks.push(&from_begin[..len]);
        rest = &from_begin[len..];
    }
    blocks
}

fn decode_block(index: usize, block: &str) -> Result<Certificate, CertError> {
    use x509_cert::der::{pem, ErrorKind};
    match Certificate::from_pem(block.trim()) {
        Ok(cert) => Ok(cert),
        Err(e) => match e.kind() {
            ErrorKind::Pem(pem::Error::UnexpectedTypeLabel { .. }) => {
                Err(CertError::NotCertificate {
                    index,
                    reason: format!("the block is not labelled {}", Certificate::PEM_LABEL),
                })
            }
            ErrorKind::Pem(reason) => Err(CertError::BadPem {
                index,
                reason: reason.to_string(),
            }),
            _ => Err(CertError::NotCertificate {
                index,
                reason: e.to_string(),
            }),
        },
    }
}

/// Parses every certificate of a PEM text (a bundle), in order. LF and CRLF line ends
/// and blank lines between certificates are accepted.
pub fn parse_pem_chain(text: &str) -> Result<Vec<Certificate>, CertError> {
    let blocks = pem_blocks(text);
    if blocks.is_empty() {
        return Err(CertError::NoPem);
    }
    blocks
        .iter()
        .enumerate()
        .map(|(i, block)| decode_block(i + 1, block))
        .collect()
}

/// The RSA public key a certificate certifies.
pub fn rsa_public_key(cert: &Certificate) -> Result<RsaPublicKey, CertError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let algorithm = spki.algorithm.oid.to_string();
    let not_rsa = || CertError::NotRsa {
        algorithm: algorithm.clone(),
    };
    if algorithm != RSA_ENCRYPTION {
        return Err(not_rsa());
    }
    let der = spki.to_der().map_err(|_| not_rsa())?;
    RsaPublicKey::from_public_key_der(&der).map_err(|_| not_rsa())
}

impl PublicKeyCertificate {
    /// Parses an app or platform certificate file. Like every SDK, only the first
    /// certificate counts; any further ones (a chain) must still be well-formed.
    pub fn from_pem(text: &str) -> Result<PublicKeyCertificate, CertError> {
        let chain = parse_pem_chain(text)?;
        // parse_pem_chain never returns an empty Ok: no block is `NoPem`.
        let first = chain.first().ok_or(CertError::NoPem)?;
        let public_key = rsa_public_key(first)?;
        Ok(PublicKeyCertificate {
            sn: sn::cert_sn(first),
            public_key,
            pem: text.to_owned(),
        })
    }
}

impl RootBundle {
    /// Parses a root bundle and computes its root SN. A bundle without any RSA-family
    /// certificate is refused: no SDK request could ever match its empty SN.
    pub fn from_pem(text: &str) -> Result<RootBundle, CertError> {
        let chain = parse_pem_chain(text)?;
        let sn = sn::root_sn(&chain);
        if sn.is_empty() {
            return Err(CertError::NoRsaRoot);
        }
        Ok(RootBundle {
            sn,
            len: chain.len(),
        })
    }
}

#[cfg(test)]
mod tests;
