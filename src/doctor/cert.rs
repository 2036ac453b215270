//! The certificate family: the SN checks that precede the signature in certificate mode
//! (docs/protocol.md §6) refused the request, or the app's mode and the request's do not
//! match. It names the certificate an `app_cert_sn` belongs to (the platform's, a root's,
//! another app's), the SN computed from the app certificate with the issuer reversed or
//! the serial in hex, the certificates a root SN misses or adds, and certificate
//! parameters sent to a key-mode app or left out by a certificate-mode one. No RSA or
//! AES: only MD5s of the app certificate's issuer and serial, parsed again from its PEM.

use md5::{Digest, Md5};
use rsa::BigUint;

use super::{Diagnosis, Examined};
use crate::cert::{self, sn, RootCertificate};
use crate::error::PublicError;
use crate::keyring::CertMode;

/// The parameter naming the app certificate.
const APP_CERT_SN: &str = "app_cert_sn";
/// The parameter naming the root bundle.
const ROOT_CERT_SN: &str = "alipay_root_cert_sn";

/// The certificate family's finding for the gateway's refusal, or `None`.
pub(super) fn diagnose(request: Examined<'_>, error: PublicError) -> Option<Diagnosis> {
    match error {
        PublicError::AppCertNotExist => app_cert_sn(request),
        PublicError::InvalidAlipayRootCertSn => root_cert_sn(request),
        PublicError::MissingSignatureConfig => cert_params_missing(request),
        _ => None,
    }
}

fn md5_hex(text: &str) -> String {
    format!("{:x}", Md5::digest(text.as_bytes()))
}

/// The SNs a careless client computes from the app certificate, with what went wrong.
fn mistaken_sns(c: &CertMode) -> Vec<(&'static str, &'static str, String)> {
    let Some(first) = cert::parse_pem_chain(&c.app_cert.pem)
        .ok()
        .and_then(|chain| chain.into_iter().next())
    else {
        return Vec::new();
    };
    let tbs = &first.tbs_certificate;
    let issuer = sn::rfc2253(&tbs.issuer);
    let mut reversed_name = tbs.issuer.clone();
    reversed_name.0.reverse();
    let reversed = sn::rfc2253(&reversed_name);
    let decimal = sn::serial_decimal(&first);
    let hex = BigUint::from_bytes_be(tbs.serial_number.as_bytes()).to_str_radix(16);
    const REVERSED: (&str, &str) = ("app_cert_sn_issuer_reversed", "app_cert_sn was computed with the issuer's attributes in reverse order (least specific first); hash the issuer as RFC 2253 prints it, most specific first (CN=...,O=...,C=...), as Java's X500Principal.getName() does, followed by the serial in decimal");
    const HEX: (&str, &str) = ("app_cert_sn_serial_hex", "app_cert_sn was computed with the serial number in hexadecimal; append the serial in decimal to the issuer before hashing");
    vec![
        (
            REVERSED.0,
            REVERSED.1,
            md5_hex(&format!("{reversed}{decimal}")),
        ),
        (HEX.0, HEX.1, md5_hex(&format!("{issuer}{hex}"))),
        (
            HEX.0,
            HEX.1,
            md5_hex(&format!("{issuer}{}", hex.to_uppercase())),
        ),
    ]
}

fn app_cert_sn(request: Examined<'_>) -> Option<Diagnosis> {
    let sent = request.params.non_empty(APP_CERT_SN)?;
    let app_id = &request.app.app.app_id;
    let Some(c) = request.app.cert_mode() else {
        return Some(Diagnosis::new(
            "cert_params_to_key_mode_app",
            format!("app {app_id} is in key mode (it has no app certificate) but the request carries app_cert_sn; configure the SDK with the app's private key and the Alipay public key, not certificates (or register the app's certificate)"),
        ));
    };
    let expected = &c.app_cert.sn;
    if sent == c.platform.cert.sn {
        return Some(Diagnosis::new(
            "app_cert_sn_of_platform_cert",
            format!("app_cert_sn is the SN of the platform (Alipay) public-key certificate; compute it from app {app_id}'s own certificate (appCertPublicKey_{app_id}.crt): {expected}"),
        ));
    }
    if sent == c.root.sn || c.root.certificates.iter().any(|r| r.sn == sent) {
        return Some(Diagnosis::new(
            "app_cert_sn_of_root_cert",
            format!("app_cert_sn is the SN of a root certificate (alipayRootCert.crt); compute it from app {app_id}'s own certificate (appCertPublicKey_{app_id}.crt): {expected}"),
        ));
    }
    let mut others = request.keyring.all();
    others.sort_by(|a, b| a.app.app_id.cmp(&b.app.app_id));
    if let Some(other) = others
        .iter()
        .find(|o| o.app.app_id != *app_id && o.cert_mode().is_some_and(|oc| oc.app_cert.sn == sent))
    {
        return Some(Diagnosis::new(
            "app_cert_sn_of_other_app",
            format!(
                "app_cert_sn is the SN of app {}'s certificate; send the SN of app {app_id}'s certificate: {expected}",
                other.app.app_id
            ),
        ));
    }
    mistaken_sns(c)
        .into_iter()
        .find(|(_, _, sn)| sn == sent)
        .map(|(code, message, _)| Diagnosis::new(code, format!("{message}: {expected}")))
}

/// How a root-bundle certificate is named in a message.
fn describe(certificate: &RootCertificate) -> String {
    if certificate.counted {
        format!("{} ({})", certificate.sn, certificate.subject)
    } else {
        format!(
            "{} ({}, signed with {}: not an RSA algorithm, so it does not count)",
            certificate.sn, certificate.subject, certificate.signature_algorithm
        )
    }
}

fn root_cert_sn(request: Examined<'_>) -> Option<Diagnosis> {
    let c = request.app.cert_mode()?;
    let expected = &c.root.sn;
    let Some(sent) = request.params.non_empty(ROOT_CERT_SN) else {
        return Some(Diagnosis::new(
            "root_cert_sn_missing",
            format!("alipay_root_cert_sn is missing; certificate mode needs the SN of the root bundle (alipayRootCert.crt): {expected}"),
        ));
    };
    if sent == c.platform.cert.sn || sent == c.app_cert.sn {
        return Some(Diagnosis::new(
            "root_cert_sn_of_other_cert",
            format!("alipay_root_cert_sn is the SN of the {} certificate; compute it from the root bundle (alipayRootCert.crt): {expected}", if sent == c.app_cert.sn { "app" } else { "platform (Alipay)" }),
        ));
    }
    let sent_sns: Vec<&str> = sent.split('_').collect();
    let bundle = &c.root.certificates;
    let missing: Vec<String> = bundle
        .iter()
        .filter(|r| r.counted && !sent_sns.contains(&r.sn.as_str()))
        .map(describe)
        .collect();
    let added: Vec<String> = sent_sns
        .iter()
        .filter(|s| !bundle.iter().any(|r| r.counted && r.sn == **s))
        .map(|s| match bundle.iter().find(|r| r.sn == *s) {
            Some(r) => describe(r),
            None => format!("{s} (no certificate of the bundle)"),
        })
        .collect();
    if missing.is_empty() && added.is_empty() {
        return Some(Diagnosis::new(
            "root_cert_sn_order",
            format!("alipay_root_cert_sn has the right SNs in another order; join them with '_' in the order of the bundle: {expected}"),
        ));
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("misses {}", missing.join(", ")));
    }
    if !added.is_empty() {
        parts.push(format!("adds {}", added.join(", ")));
    }
    Some(Diagnosis::new(
        "root_cert_sn_mismatch",
        format!(
            "alipay_root_cert_sn {}; join the SNs of the bundle's RSA-signed certificates with '_' in bundle order: {expected}",
            parts.join("; ")
        ),
    ))
}

fn cert_params_missing(request: Examined<'_>) -> Option<Diagnosis> {
    let c = request.app.cert_mode()?;
    if request.params.non_empty(APP_CERT_SN).is_some() {
        return None;
    }
    let app_id = &request.app.app.app_id;
    Some(Diagnosis::new(
        "cert_params_missing",
        format!(
            "app {app_id} is in certificate mode (no public key registered for this sign_type) but the request carries no app_cert_sn; configure the SDK with the certificates so it sends app_cert_sn ({}) and alipay_root_cert_sn ({})",
            c.app_cert.sn, c.root.sn
        ),
    ))
}
