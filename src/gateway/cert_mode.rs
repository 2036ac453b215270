//! Certificate mode (公钥证书模式) on the request side: which requests are in it, and the
//! SN checks that precede the signature check (docs/protocol.md §4 step 8, §6). The
//! certificates themselves are parsed once by the key ring; nothing is parsed here.

use crate::crypto::VerifyingKey;

use crate::error::{GatewayError, PublicError};
use crate::keyring::{AppEntry, CertMode};
use crate::protocol::params::Params;

/// The parameter naming the app certificate; its presence makes a request a
/// certificate-mode request.
const APP_CERT_SN: &str = "app_cert_sn";
/// The parameter naming the root bundle.
const ROOT_CERT_SN: &str = "alipay_root_cert_sn";

/// The app's certificate-mode material when the request is in certificate mode (carries
/// a non-empty `app_cert_sn`) and the app has an app certificate. Such a request is
/// answered under the platform certificate, whatever the checks below decide.
pub(super) fn mode<'a>(params: &Params, app: &'a AppEntry) -> Option<&'a CertMode> {
    params.non_empty(APP_CERT_SN)?;
    app.cert_mode()
}

/// The SN checks of a certificate-mode request, in order: `app_cert_sn` names the app's
/// certificate, else 40002 `isv.app-cert-not-exist`; `alipay_root_cert_sn` names the
/// app's root bundle (absent counts as wrong), else 40002
/// `isv.invalid-alipay-root-cert-sn`. A key-mode app has no certificate, so any
/// `app_cert_sn` it sends is unknown. Returns the key that verifies the signature: the
/// app certificate's in certificate mode, `key_mode` otherwise.
pub(super) fn verification_key<'a>(
    params: &Params,
    app: &'a AppEntry,
    key_mode: Option<&'a VerifyingKey>,
) -> Result<&'a VerifyingKey, GatewayError> {
    let Some(sn) = params.non_empty(APP_CERT_SN) else {
        return key_mode.ok_or(PublicError::MissingSignatureConfig.into());
    };
    let cert_mode = app
        .cert_mode()
        .filter(|c| c.app_cert.sn == sn)
        .ok_or(PublicError::AppCertNotExist)?;
    if params.non_empty(ROOT_CERT_SN) != Some(cert_mode.root.sn.as_str()) {
        return Err(PublicError::InvalidAlipayRootCertSn.into());
    }
    Ok(&cert_mode.app_cert_key)
}
