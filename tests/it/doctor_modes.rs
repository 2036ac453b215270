//! The doctor in every mode: AES, certificate mode and every common URL-encoding. Each
//! mistake is made for real (real keys, certificates and ciphertext, made here with the
//! `aes`/`cbc` crates and hashed by hand); the wire answer stays the real gateway's and
//! the mistake is named in the `X-Alipay-Mock-Diagnosis` header and the journal.
//!
//! SN literals: MD5 computed outside the crate (`python3 hashlib`, issuer and serial as
//! `openssl x509 -nameopt RFC2253` prints them).

use crate::support::*;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit};
use alipay_mock::cert::generate::TestPki;
use alipay_mock::crypto::{self, SignType};
use alipay_mock::keys;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;

/// The default app's AES key (fixtures/keys/aes_key.txt) and its 16 bytes.
const AES_KEY: &str = "mRpcDcfCIHfPn/09B9QiJg==";
const CERT_APP_ID: &str = "2021000000000003";
const CERT_APP_PRIVATE_KEY: &str = include_str!("../../fixtures/certs/app_private_key.pem");
const APP_CERT: &str = include_str!("../../fixtures/certs/app_cert_public_key.crt");
const ROOT_BUNDLE: &str = include_str!("../../fixtures/certs/alipay_root_cert.crt");
/// A public ECDSA-signed root (Let's Encrypt's ISRG Root X2), as real root bundles mix
/// RSA, ECC and SM2 roots.
const ECDSA_ROOT: &str = include_str!("../data/isrg_root_x2_ecdsa.pem");
const ECDSA_ROOT_SN: &str = "fb3c8493e012238cf43e1eb2f74cc357";
const APP_CERT_SN: &str = "77e530a7ec6e44bd6249f3c671916a12";
const ALIPAY_CERT_SN: &str = "583a140f3533cb56563bd92f1d65f7c8";
const ROOT_SN_1: &str = "ed12f3afc3337d48941278ff1e861e90";
const ROOT_SN_2: &str = "84e603ac458d6f89d7ff34b9bd4ed95d";
/// MD5("C=CN,O=alipay-mock,OU=Test Certification Authority,CN=alipay-mock Test Root CA"
/// + "150484029522248090548154193403903557675"): the issuer in DER order.
const APP_CERT_SN_ISSUER_REVERSED: &str = "9a1eb6806927d1eb8e5686ce0295184f";
/// MD5 of the RFC 2253 issuer + "71362b7c00ed137bc6ac466e58b1402b": the serial in hex.
const APP_CERT_SN_SERIAL_HEX: &str = "edbbbac17c207bb81d8650975c10f3c6";

fn key_bytes() -> Vec<u8> {
    STANDARD.decode(AES_KEY).unwrap()
}

fn cbc<C>(key: &[u8], iv: &[u8], plain: &[u8]) -> Vec<u8>
where
    C: aes::cipher::BlockCipher + BlockEncryptMut + KeyInit,
    cbc::Encryptor<C>: KeyIvInit,
{
    cbc::Encryptor::<C>::new_from_slices(key, iv)
        .unwrap()
        .encrypt_padded_vec_mut::<Pkcs7>(plain)
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// What came back: the answer's sub_code (`None` on success), the diagnosis header and
/// the journal's diagnosis code (empty when none).
pub(crate) struct Seen {
    pub sub_code: Option<String>,
    pub header: String,
    pub journal_code: String,
}

pub(crate) async fn send_and_look(gateway: &impl Listener, call: &Call) -> Seen {
    let answer = call.post(gateway).await;
    let text = answer.text("utf-8");
    assert!(!text.contains("diagnosis"), "the body stays the gateway's");
    let json = answer.json("utf-8");
    let node = json
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.ends_with("_response")))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let header = answer
        .headers
        .get("x-alipay-mock-diagnosis")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let (_, journal) = admin(gateway, "GET", "requests?limit=1", None).await;
    Seen {
        // An encrypted node is a string: it is a decrypted request that got that far.
        sub_code: node["sub_code"].as_str().map(str::to_owned),
        header,
        journal_code: journal["requests"][0]["diagnosis"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// Sends `call`, checks the answer's sub_code is the real gateway's, and that `code` is
/// named in the header and the journal; returns the header.
async fn expect(gateway: &impl Listener, call: Call, sub_code: &str, code: &str) -> String {
    let seen = send_and_look(gateway, &call).await;
    assert_eq!(seen.sub_code.as_deref(), Some(sub_code), "{code}");
    assert!(
        seen.header.starts_with(&format!("{code}: ")),
        "{code}: header {:?}",
        seen.header
    );
    assert_eq!(seen.journal_code, code);
    seen.header
}

/// The pairs a correct client signs, one value replaced, joined by hand.
fn content_with(call: &Call, name: &str, value: &str) -> String {
    call.params
        .iter()
        .filter(|(k, v)| !v.is_empty() && k.as_str() != "sign")
        .map(|(k, v)| format!("{k}={}", if k == name { value } else { v }))
        .collect::<Vec<_>>()
        .join("&")
}

fn sign_with(key_pem: &str, text: &str) -> String {
    let key = keys::parse_private_key(key_pem).unwrap();
    crypto::sign(&key, SignType::Rsa2, text.as_bytes()).unwrap()
}

// ---- URL-encodings ----------------------------------------------------------------

/// Percent-encodes every byte but ASCII alphanumerics and `keep`; space as `space`.
/// Written here from each library's documentation, not with the crate's encoder.
fn encode_by_hand(value: &str, keep: &str, space: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b' ' => space.to_owned(),
            b if b.is_ascii_alphanumeric() || keep.as_bytes().contains(&b) => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn values_signed_in_each_common_url_encoding_are_named() {
    let gateway = start().await;
    // A value with every character the encodings disagree on.
    let call = || {
        Call::authquery(DOC_BIZ_CONTENT).param("notify_url", "https://example.com/n?a=b c*~!'()")
    };
    let encoded_with = |keep: &str, space: &str| {
        let c = call();
        c.params
            .iter()
            .filter(|(k, _)| k.as_str() != "sign")
            .map(|(k, v)| format!("{k}={}", encode_by_hand(v, keep, space)))
            .collect::<Vec<_>>()
            .join("&")
    };
    // (what stays unencoded, the space, the code, a word the message must say)
    let encodings = [
        // Python quote(v, safe=""): RFC 3986 unreserved kept, space %20.
        ("-._~", "%20", "values_percent_encoded", "RFC 3986"),
        // JavaScript encodeURIComponent.
        (
            "-_.!~*'()",
            "%20",
            "values_uri_component_encoded",
            "encodeURIComponent",
        ),
        // Java URLEncoder.encode(v, "UTF-8"): `.-*_` kept, space '+'.
        (".-*_", "+", "values_url_encoded", "Java URLEncoder"),
        // Python quote_plus: `_.-~` kept, space '+'.
        ("_.-~", "+", "values_url_encoded", "quote_plus"),
    ];
    for (keep, space, code, named) in encodings {
        let text = encoded_with(keep, space);
        let call = call().with_sign(&sign_with(APP_PRIVATE_KEY, &text));
        let header = expect(&gateway, call, "isv.invalid-signature", code).await;
        assert!(header.contains(named), "{header}");
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_gbk_request_signed_over_percent_encoded_gbk_bytes_is_named() {
    let gateway = start().await;
    let call = || Call::authquery(DOC_BIZ_CONTENT).charset("gbk");
    let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    let text = call()
        .params
        .iter()
        .map(|(k, v)| {
            let bytes = gbk(v);
            let encoded: String = bytes
                .iter()
                .map(|&b| match b {
                    b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => {
                        char::from(b).to_string()
                    }
                    b => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={encoded}")
        })
        .collect::<Vec<_>>()
        .join("&");
    expect(
        &gateway,
        call().with_sign(&sign_with(APP_PRIVATE_KEY, &text)),
        "isv.invalid-signature",
        "values_percent_encoded",
    )
    .await;
    gateway.shutdown().await;
}

// ---- AES ----------------------------------------------------------------------------

/// The biz_content every AES test encrypts (several blocks, so ECB and CBC differ).
fn plain() -> String {
    zhangsan("C2B")
}

#[tokio::test]
async fn aes_mistakes_are_named_beside_the_unchanged_answer() {
    let gateway = start().await;
    let key = key_bytes();
    let text = AES_KEY.as_bytes();
    let zero = [0u8; 16];
    let encrypted =
        |ciphertext: Vec<u8>| Call::authquery(&b64(&ciphertext)).param("encrypt_type", "AES");

    // The broken Go SDK: the key text's first 16 bytes, and no encrypt_type.
    let go_sdk = Call::authquery(&b64(&cbc::<aes::Aes128>(
        &text[..16],
        &zero,
        plain().as_bytes(),
    )));
    let seen = send_and_look(&gateway, &go_sdk).await;
    assert_eq!(seen.sub_code.as_deref(), Some("ILLEGAL_ARGUMENT"));
    assert!(seen.header.starts_with("aes_key_text: "), "{}", seen.header);
    assert!(seen.header.contains("encrypt_type=AES"), "{}", seen.header);
    assert_eq!(seen.journal_code, "aes_key_text");

    // The same ciphertext with encrypt_type: the gateway cannot decrypt it.
    let ciphertext = cbc::<aes::Aes128>(&text[..16], &zero, plain().as_bytes());
    expect(
        &gateway,
        encrypted(ciphertext),
        "isv.decryption-error-unknown",
        "aes_key_text",
    )
    .await;

    // The whole 24-character text as the key: AES-192.
    let ciphertext = cbc::<aes::Aes192>(text, &zero, plain().as_bytes());
    let header = expect(
        &gateway,
        encrypted(ciphertext),
        "isv.decryption-error-unknown",
        "aes_key_wrong_length",
    )
    .await;
    assert!(header.contains("24-byte"), "{header}");

    // Right key, encrypt_type missing.
    let ciphertext = cbc::<aes::Aes128>(&key, &zero, plain().as_bytes());
    let seen = send_and_look(&gateway, &Call::authquery(&b64(&ciphertext))).await;
    assert_eq!(seen.sub_code.as_deref(), Some("ILLEGAL_ARGUMENT"));
    assert_eq!(seen.journal_code, "encrypt_type_missing", "{}", seen.header);

    // ECB.
    let ecb = aes::Aes128::new_from_slice(&key)
        .unwrap()
        .encrypt_padded_vec::<Pkcs7>(plain().as_bytes());
    expect(
        &gateway,
        encrypted(ecb),
        "isv.decryption-error-unknown",
        "aes_mode_ecb",
    )
    .await;

    // A random IV sent in front of the ciphertext.
    let iv: [u8; 16] = rand::random();
    let mut prefixed = iv.to_vec();
    prefixed.extend(cbc::<aes::Aes128>(&key, &iv, plain().as_bytes()));
    expect(
        &gateway,
        encrypted(prefixed),
        "isv.decryption-error-unknown",
        "aes_iv_prefixed",
    )
    .await;

    // The key as the IV.
    let ciphertext = cbc::<aes::Aes128>(&key, &key, plain().as_bytes());
    expect(
        &gateway,
        encrypted(ciphertext),
        "isv.decryption-error-unknown",
        "aes_iv_key",
    )
    .await;

    // encrypt_type=AES over plaintext JSON.
    let call = Call::authquery(&plain()).param("encrypt_type", "AES");
    expect(
        &gateway,
        call,
        "isv.decryption-error-unknown",
        "biz_content_not_encrypted",
    )
    .await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_signature_over_the_plaintext_of_an_encrypted_request_and_the_reverse_are_named() {
    let gateway = start().await;
    let ciphertext = b64(&cbc::<aes::Aes128>(
        &key_bytes(),
        &[0; 16],
        plain().as_bytes(),
    ));
    // Encrypted on the wire, but signed over the plaintext.
    let call = Call::authquery(&ciphertext).param("encrypt_type", "AES");
    let sign = sign_with(
        APP_PRIVATE_KEY,
        &content_with(&call, "biz_content", &plain()),
    );
    expect(
        &gateway,
        call.with_sign(&sign),
        "isv.invalid-signature",
        "signed_plaintext",
    )
    .await;
    // Plaintext on the wire without encrypt_type, but signed over the ciphertext.
    let call = Call::authquery(&plain());
    let sign = sign_with(
        APP_PRIVATE_KEY,
        &content_with(&call, "biz_content", &ciphertext),
    );
    expect(
        &gateway,
        call.with_sign(&sign),
        "isv.invalid-signature",
        "signed_ciphertext",
    )
    .await;
    gateway.shutdown().await;
}

// ---- Certificate mode --------------------------------------------------------------

fn cert_call() -> Call {
    let mut call = Call::authquery(&plain())
        .app(CERT_APP_ID)
        .param("app_cert_sn", APP_CERT_SN)
        .param("alipay_root_cert_sn", &format!("{ROOT_SN_1}_{ROOT_SN_2}"));
    call.private_key = CERT_APP_PRIVATE_KEY.to_owned();
    call
}

#[tokio::test]
async fn an_app_cert_sn_of_another_certificate_or_computed_wrongly_is_named() {
    let gateway = start().await;
    let not_exist = "isv.app-cert-not-exist";
    let with_sn = |sn: &str| cert_call().param("app_cert_sn", sn);
    expect(
        &gateway,
        with_sn(ALIPAY_CERT_SN),
        not_exist,
        "app_cert_sn_of_platform_cert",
    )
    .await;
    expect(
        &gateway,
        with_sn(ROOT_SN_2),
        not_exist,
        "app_cert_sn_of_root_cert",
    )
    .await;
    let header = expect(
        &gateway,
        with_sn(APP_CERT_SN_ISSUER_REVERSED),
        not_exist,
        "app_cert_sn_issuer_reversed",
    )
    .await;
    assert!(header.contains(APP_CERT_SN), "names the right SN: {header}");
    expect(
        &gateway,
        with_sn(APP_CERT_SN_SERIAL_HEX),
        not_exist,
        "app_cert_sn_serial_hex",
    )
    .await;
    // An SN of nothing known: the answer alone, no guess.
    let seen = send_and_look(&gateway, &with_sn("0123456789abcdef0123456789abcdef")).await;
    assert_eq!(seen.sub_code.as_deref(), Some(not_exist));
    assert_eq!((seen.header.as_str(), seen.journal_code.as_str()), ("", ""));
    gateway.shutdown().await;
}

/// Registers a second certificate-mode app with a freshly generated certificate (the
/// gateway's default platform certificate and root bundle); returns its key pair PEM and
/// its app_cert_sn as the admin API shows it.
async fn second_cert_app(gateway: &impl Listener, app_id: &str) -> (String, String) {
    let pki = TestPki::generate(app_id).unwrap();
    let (status, body) = admin(
        gateway,
        "POST",
        "apps",
        Some(json!({"app_id": app_id, "app_cert": pki.app.cert_pem})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let sn = body["cert_sns"]["app_cert_sn"].as_str().unwrap().to_owned();
    (pki.app.key.private_pkcs8_pem, sn)
}

#[tokio::test]
async fn another_apps_certificate_its_sn_or_its_key_is_named_with_that_app() {
    let gateway = start().await;
    let other = "2021000000000088";
    let (other_key, other_sn) = second_cert_app(&gateway, other).await;
    // The fixture certificate-mode app sends the other app's SN.
    let header = expect(
        &gateway,
        cert_call().param("app_cert_sn", &other_sn),
        "isv.app-cert-not-exist",
        "app_cert_sn_of_other_app",
    )
    .await;
    assert!(header.contains(other), "{header}");
    // Right SNs, but signed with the other app's certificate key.
    let mut call = cert_call();
    call.private_key = other_key;
    let header = expect(
        &gateway,
        call,
        "isv.invalid-signature",
        "other_app_cert_key",
    )
    .await;
    assert!(header.contains(other), "{header}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn a_root_sn_that_misses_or_adds_certificates_of_the_bundle_says_which() {
    let gateway = start().await;
    let invalid = "isv.invalid-alipay-root-cert-sn";
    let with_root = |sn: &str| cert_call().param("alipay_root_cert_sn", sn);
    let header = expect(
        &gateway,
        with_root(ROOT_SN_1),
        invalid,
        "root_cert_sn_mismatch",
    )
    .await;
    assert!(
        header.contains(&format!(
            "misses {ROOT_SN_2} (CN=alipay-mock Test Root CA 2,"
        )),
        "{header}"
    );
    let header = expect(
        &gateway,
        with_root(&format!("{ROOT_SN_2}_{ROOT_SN_1}")),
        invalid,
        "root_cert_sn_order",
    )
    .await;
    assert!(
        header.contains(&format!("{ROOT_SN_1}_{ROOT_SN_2}")),
        "{header}"
    );
    expect(
        &gateway,
        cert_call().without("alipay_root_cert_sn"),
        invalid,
        "root_cert_sn_missing",
    )
    .await;
    expect(
        &gateway,
        with_root(ALIPAY_CERT_SN),
        invalid,
        "root_cert_sn_of_other_cert",
    )
    .await;

    // A bundle with an ECDSA root, as Alipay's own bundle mixes algorithms: the SN of
    // the ECDSA root does not count, and sending it is named.
    let app_id = "2021000000000077";
    let (status, body) = admin(
        &gateway,
        "POST",
        "apps",
        Some(json!({
            "app_id": app_id,
            "app_cert": APP_CERT,
            "alipay_root_cert": format!("{ROOT_BUNDLE}\n{ECDSA_ROOT}"),
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["cert_sns"]["alipay_root_cert_sn"],
        format!("{ROOT_SN_1}_{ROOT_SN_2}")
    );
    let call = cert_call().app(app_id).param(
        "alipay_root_cert_sn",
        &format!("{ROOT_SN_1}_{ROOT_SN_2}_{ECDSA_ROOT_SN}"),
    );
    let header = expect(&gateway, call, invalid, "root_cert_sn_mismatch").await;
    assert!(
        header.contains(&format!("adds {ECDSA_ROOT_SN} (CN=ISRG Root X2,")),
        "{header}"
    );
    assert!(header.contains("not an RSA algorithm"), "{header}");
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_mode_of_the_app_and_of_the_request_not_matching_is_named() {
    let gateway = start().await;
    // A key-mode app sends certificate parameters.
    let call = cert_call().app(APP_ID);
    let mut call = call;
    call.private_key = APP_PRIVATE_KEY.to_owned();
    expect(
        &gateway,
        call,
        "isv.app-cert-not-exist",
        "cert_params_to_key_mode_app",
    )
    .await;

    // The certificate-mode app (which also has key-mode keys) signs with its
    // certificate's key but sends no certificate parameters.
    let call = cert_call()
        .without("app_cert_sn")
        .without("alipay_root_cert_sn");
    expect(
        &gateway,
        call,
        "isv.invalid-signature",
        "cert_params_missing",
    )
    .await;

    // In certificate mode, signed with its key-mode key instead of the certificate's.
    let mut call = cert_call();
    call.private_key = APP_PRIVATE_KEY.to_owned();
    expect(
        &gateway,
        call,
        "isv.invalid-signature",
        "key_not_of_app_cert",
    )
    .await;

    // A certificate-only app (no public key) that sends no certificate parameters.
    let app_id = "2021000000000066";
    let (status, body) = admin(
        &gateway,
        "POST",
        "apps",
        Some(json!({"app_id": app_id, "app_cert": APP_CERT})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let call = cert_call()
        .app(app_id)
        .without("app_cert_sn")
        .without("alipay_root_cert_sn");
    let seen = send_and_look(&gateway, &call).await;
    // Answered unsigned, before anything is verified.
    assert_eq!(seen.journal_code, "cert_params_missing", "{}", seen.header);
    assert!(seen.header.contains(APP_CERT_SN), "{}", seen.header);
    gateway.shutdown().await;
}

#[tokio::test]
async fn correct_requests_in_key_certificate_and_aes_mode_get_no_diagnosis() {
    let gateway = start().await;
    let ciphertext = b64(&cbc::<aes::Aes128>(
        &key_bytes(),
        &[0; 16],
        plain().as_bytes(),
    ));
    let calls = [
        Call::authquery(&plain()),
        cert_call(),
        Call::authquery(&ciphertext).param("encrypt_type", "AES"),
    ];
    for call in calls {
        let answer = call.post(&gateway).await;
        assert!(answer.headers.get("x-alipay-mock-diagnosis").is_none());
        let (_, journal) = admin(&gateway, "GET", "requests?limit=1", None).await;
        let entry = &journal["requests"][0];
        assert_eq!(entry["outcome"]["code"], "10000", "{entry}");
        assert!(entry.get("diagnosis").is_none(), "{entry}");
    }
    gateway.shutdown().await;
}

#[test]
fn the_sn_literals_of_this_file_are_md5_of_issuer_and_serial() {
    // Guards the literals above against a typo: recomputed with the md-5 crate from the
    // strings openssl printed, not with the crate's SN code.
    use md5::{Digest, Md5};
    let md5 = |s: &str| format!("{:x}", Md5::digest(s.as_bytes()));
    let issuer = "CN=alipay-mock Test Root CA,OU=Test Certification Authority,O=alipay-mock,C=CN";
    let serial = "150484029522248090548154193403903557675";
    assert_eq!(md5(&format!("{issuer}{serial}")), APP_CERT_SN);
    assert_eq!(
        md5(&format!("C=CN,O=alipay-mock,OU=Test Certification Authority,CN=alipay-mock Test Root CA{serial}")),
        APP_CERT_SN_ISSUER_REVERSED
    );
    assert_eq!(
        md5(&format!("{issuer}71362b7c00ed137bc6ac466e58b1402b")),
        APP_CERT_SN_SERIAL_HEX
    );
}
