//! Certificate parsing and SNs on the fixture certificates. Expected SNs were computed by
//! `openssl x509 -noout -serial -issuer -nameopt RFC2253` + `md5sum`
//! (`scripts/check-cert-sns.sh`, which re-checks them on every run) and agree with the
//! Node SDK's `antcertutil.getSN`; they are not produced by this crate.

use super::*;
use crate::crypto::{self, SignType};
use crate::keys;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::EncodePem;

const APP_CERT: &str = include_str!("../../fixtures/certs/app_cert_public_key.crt");
const PLATFORM_CERT: &str = include_str!("../../fixtures/certs/alipay_cert_public_key_rsa2.crt");
const ROOT_BUNDLE: &str = include_str!("../../fixtures/certs/alipay_root_cert.crt");
const APP_KEY: &str = include_str!("../../fixtures/certs/app_private_key.pem");
const PLATFORM_KEY: &str =
    include_str!("../../fixtures/certs/test_only_alipay_cert_private_key.pem");

const APP_CERT_SN: &str = "77e530a7ec6e44bd6249f3c671916a12";
const PLATFORM_CERT_SN: &str = "583a140f3533cb56563bd92f1d65f7c8";
const ROOT_SN: &str = "ed12f3afc3337d48941278ff1e861e90_84e603ac458d6f89d7ff34b9bd4ed95d";

/// A copy of the first root with another signature algorithm OID (the signature itself
/// no longer verifies, which SN computation never looks at).
fn root_signed_with(oid: &str) -> String {
    let mut cert = parse_pem_chain(ROOT_BUNDLE).unwrap().remove(0);
    let oid = ObjectIdentifier::new(oid).unwrap();
    cert.signature_algorithm.oid = oid;
    cert.tbs_certificate.signature.oid = oid;
    cert.to_pem(x509_cert::der::pem::LineEnding::LF).unwrap()
}

#[test]
fn the_fixture_certificates_have_the_sns_openssl_computes() {
    assert_eq!(
        PublicKeyCertificate::from_pem(APP_CERT).unwrap().sn,
        APP_CERT_SN
    );
    assert_eq!(
        PublicKeyCertificate::from_pem(PLATFORM_CERT).unwrap().sn,
        PLATFORM_CERT_SN
    );
    let bundle = RootBundle::from_pem(ROOT_BUNDLE).unwrap();
    assert_eq!(bundle.sn, ROOT_SN);
    assert_eq!(bundle.len, 2);
}

#[test]
fn the_certificates_carry_the_public_halves_of_the_fixture_keys() {
    let app = PublicKeyCertificate::from_pem(APP_CERT).unwrap();
    let app_key = keys::parse_private_key(APP_KEY).unwrap();
    assert_eq!(app.public_key, app_key.to_public_key());
    let platform = PublicKeyCertificate::from_pem(PLATFORM_CERT).unwrap();
    let platform_key = keys::parse_private_key(PLATFORM_KEY).unwrap();
    assert_eq!(platform.public_key, platform_key.to_public_key());
}

#[test]
fn a_request_signed_with_the_app_key_verifies_with_the_certificate_key() {
    let app = PublicKeyCertificate::from_pem(APP_CERT).unwrap();
    let private = keys::parse_private_key(APP_KEY).unwrap();
    let sig = crypto::sign(&private, SignType::Rsa2, b"app_cert_sn=x&app_id=y").unwrap();
    assert!(crypto::verify(
        &app.public_key,
        SignType::Rsa2,
        b"app_cert_sn=x&app_id=y",
        &sig
    ));
    let platform = PublicKeyCertificate::from_pem(PLATFORM_CERT).unwrap();
    assert!(!crypto::verify(
        &platform.public_key,
        SignType::Rsa2,
        b"app_cert_sn=x&app_id=y",
        &sig
    ));
}

#[test]
fn only_the_first_certificate_counts_but_the_whole_chain_is_kept() {
    let chain = format!("{APP_CERT}\n{ROOT_BUNDLE}");
    let cert = PublicKeyCertificate::from_pem(&chain).unwrap();
    assert_eq!(cert.sn, APP_CERT_SN);
    assert_eq!(
        cert.public_key,
        keys::parse_private_key(APP_KEY).unwrap().to_public_key()
    );
    assert_eq!(
        cert.pem, chain,
        "alipay_cert_content must keep any intermediate"
    );
}

#[test]
fn crlf_line_ends_and_missing_blank_lines_do_not_change_the_root_sn() {
    let crlf = ROOT_BUNDLE.replace('\n', "\r\n");
    assert_eq!(RootBundle::from_pem(&crlf).unwrap().sn, ROOT_SN);
    let packed = ROOT_BUNDLE.replace("\n\n", "\n");
    assert_eq!(RootBundle::from_pem(&packed).unwrap().sn, ROOT_SN);
}

#[test]
fn roots_signed_outside_the_rsa_family_do_not_count() {
    // ecdsa-with-SHA256 and SM2-with-SM3 (Alipay's own bundle holds both kinds).
    for oid in ["1.2.840.10045.4.3.2", "1.2.156.10197.1.501"] {
        let bundle = format!("{}\n{ROOT_BUNDLE}", root_signed_with(oid));
        let parsed = RootBundle::from_pem(&bundle).unwrap();
        assert_eq!(parsed.sn, ROOT_SN, "{oid}");
        assert_eq!(parsed.len, 3);
        assert_eq!(
            RootBundle::from_pem(&root_signed_with(oid)),
            Err(CertError::NoRsaRoot)
        );
    }
}

#[test]
fn sha1_and_pss_roots_count_as_rsa_family() {
    // sha1WithRSAEncryption and RSASSA-PSS: the prefix rule of Java and Node.
    for oid in ["1.2.840.113549.1.1.5", "1.2.840.113549.1.1.10"] {
        let sn = RootBundle::from_pem(&root_signed_with(oid)).unwrap().sn;
        assert_eq!(sn, ROOT_SN.split('_').next().unwrap(), "{oid}");
    }
}

#[test]
fn a_certificate_with_a_non_rsa_key_is_refused() {
    let mut cert = parse_pem_chain(APP_CERT).unwrap().remove(0);
    // id-ecPublicKey
    cert.tbs_certificate.subject_public_key_info.algorithm.oid =
        ObjectIdentifier::new("1.2.840.10045.2.1").unwrap();
    let pem = cert.to_pem(x509_cert::der::pem::LineEnding::LF).unwrap();
    assert_eq!(
        PublicKeyCertificate::from_pem(&pem),
        Err(CertError::NotRsa {
            algorithm: "1.2.840.10045.2.1".into()
        })
    );
}

#[test]
fn text_without_a_certificate_is_refused_with_a_reason() {
    assert_eq!(PublicKeyCertificate::from_pem(""), Err(CertError::NoPem));
    assert_eq!(
        RootBundle::from_pem("MIIBIjANBgkqhkiG9w0B"),
        Err(CertError::NoPem)
    );
    assert!(matches!(
        PublicKeyCertificate::from_pem(APP_KEY),
        Err(CertError::NotCertificate { index: 1, .. })
    ));
    assert!(matches!(
        PublicKeyCertificate::from_pem(
            "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n"
        ),
        Err(CertError::BadPem { index: 1, .. })
    ));
    assert!(matches!(
        PublicKeyCertificate::from_pem("-----BEGIN CERTIFICATE-----\nMIIB\n"),
        Err(CertError::BadPem { index: 1, .. })
    ));
    // Valid Base64 that is not X.509 DER.
    assert!(matches!(
        PublicKeyCertificate::from_pem(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        ),
        Err(CertError::NotCertificate { index: 1, .. })
    ));
    // A broken second certificate spoils the bundle, and says which one.
    let broken =
        format!("{ROOT_BUNDLE}\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    assert!(matches!(
        RootBundle::from_pem(&broken),
        Err(CertError::NotCertificate { index: 3, .. })
    ));
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "-----BEGIN ",
        "-----END CERTIFICATE-----",
        "-----BEGIN CERTIFICATE----------END CERTIFICATE-----",
        "-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----",
        "\u{0}\u{ff}-----BEGIN CERTIFICATE-----\u{1F600}",
    ];
    for text in samples {
        let _ = PublicKeyCertificate::from_pem(text);
        let _ = RootBundle::from_pem(text);
    }
    for cut in (0..APP_CERT.len()).step_by(37) {
        let _ = PublicKeyCertificate::from_pem(&APP_CERT[..cut]);
    }
}

#[test]
fn a_generated_pki_chains_and_names_its_issuer_as_documented() {
    let pki = generate::TestPki::generate("2021000000000099").unwrap();
    let app = parse_pem_chain(&pki.app.cert_pem).unwrap().remove(0);
    let root = parse_pem_chain(&pki.root.cert_pem).unwrap().remove(0);
    assert_eq!(app.tbs_certificate.issuer, root.tbs_certificate.subject);
    assert_eq!(
        sn::rfc2253(&app.tbs_certificate.issuer),
        generate::ROOT_SUBJECT
    );
    // Issuer attributes exactly C, O, OU, CN, least specific first in DER.
    let types: Vec<String> = app
        .tbs_certificate
        .issuer
        .0
        .iter()
        .map(|rdn| rdn.0.get(0).unwrap().oid.to_string())
        .collect();
    assert_eq!(types, ["2.5.4.6", "2.5.4.10", "2.5.4.11", "2.5.4.3"]);
    // sha256WithRSAEncryption everywhere.
    for cert in [&app, &root] {
        assert_eq!(
            cert.signature_algorithm.oid.to_string(),
            "1.2.840.113549.1.1.11"
        );
    }
    let bundle = pki.root_bundle_pem();
    assert!(!bundle.contains('\r'));
    assert_eq!(
        bundle
            .matches("-----END CERTIFICATE-----\n\n-----BEGIN CERTIFICATE-----")
            .count(),
        1
    );
    assert_eq!(RootBundle::from_pem(&bundle).unwrap().len, 2);
}

#[test]
fn writing_a_pki_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(generate::files::ROOT_BUNDLE), "mine").unwrap();
    let err = generate::write_test_pki(dir.path(), "2021000000000099").unwrap_err();
    assert!(
        matches!(err, generate::GenerateError::Exists { .. }),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing else written"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(generate::files::ROOT_BUNDLE)).unwrap(),
        "mine"
    );
}
