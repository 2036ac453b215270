//! `alipay-mock keygen`: fresh RSA-2048 key pairs for an app and for a platform, written in
//! every format an SDK takes. Existing files are never overwritten.

use std::io::Write;
use std::path::Path;

use crate::keys::{KeyError, KeyPairText};

/// Why keys could not be written.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// Key generation or encoding failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A file or the folder could not be written (an existing file is not replaced).
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Writes an app pair and a platform pair into `out` (created if missing) as PEM and as
/// bare Base64 one-liners; returns what was written, one line each, for the user.
pub fn write_key_pairs(out: &Path) -> Result<String, KeygenError> {
    std::fs::create_dir_all(out).map_err(|source| KeygenError::Io {
        path: out.display().to_string(),
        source,
    })?;
    let mut report = String::new();
    for (prefix, who) in [
        ("app", "your app (sign requests)"),
        ("alipay", "the platform (sign responses)"),
    ] {
        let pair = KeyPairText::generate()?;
        let files = [
            (
                format!("{prefix}_private_key.pem"),
                pair.private_pkcs8_pem.clone(),
            ),
            (
                format!("{prefix}_private_key_pkcs1.pem"),
                pair.private_pkcs1_pem.clone(),
            ),
            (format!("{prefix}_public_key.pem"), pair.public_pem.clone()),
            (
                format!("{prefix}_private_key_pkcs8.txt"),
                KeyPairText::bare(&pair.private_pkcs8_pem) + "\n",
            ),
            (
                format!("{prefix}_private_key_pkcs1.txt"),
                KeyPairText::bare(&pair.private_pkcs1_pem) + "\n",
            ),
            (
                format!("{prefix}_public_key.txt"),
                KeyPairText::bare(&pair.public_pem) + "\n",
            ),
        ];
        for (name, text) in files {
            write_new(&out.join(name), &text)?;
        }
        report.push_str(&format!("{prefix}_*: key pair of {who}\n"));
    }
    report.push_str(
        "bare one-liners (*.txt): PKCS#8 for Java, PKCS#1 for the official Python SDK, SPKI public keys for everyone\n",
    );
    Ok(report)
}

/// Creates `path` with `text`, refusing to replace an existing file.
pub fn write_new(path: &Path, text: &str) -> Result<(), KeygenError> {
    let io = |source| KeygenError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)
}
