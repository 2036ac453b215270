//! `alipay-mock doctor`: a captured request examined without a running gateway. The
//! request (a URL with its query, a form body, decoded parameters, or a curl command
//! line) goes through the gateway's own pipeline ([`crate::gateway::handle`]) over an
//! in-memory [`State`] seeded from the fixtures, with the app's key, certificate or AES
//! key replaced when given; the report is what that gateway verified, its verdict and
//! the doctor's diagnosis. Nothing here parses, verifies or decrypts on its own.

use std::fmt::Write as _;

use serde::Serialize;

use super::Diagnosis;
use crate::config::Config;
use crate::crypto::SignType;
use crate::fixtures::FixtureSource;
use crate::model::App;
use crate::protocol::charset::Charset;
use crate::protocol::params::{Params, RawRequest};
use crate::protocol::sign_content::sign_content;
use crate::state::State;
use crate::store::StoreLocation;

/// A captured request: what arrived on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// `GET` or `POST`.
    pub http_method: String,
    /// The URL query after `?`, still encoded.
    pub query: Option<String>,
    /// The form body as sent.
    pub body: Vec<u8>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
}

/// Why a captured request could not be examined.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The curl command line does not split into words (an unclosed quote …).
    #[error("cannot split the curl command line into words (an unclosed quote?)")]
    CurlSyntax,
    /// The curl command line names no URL.
    #[error("the curl command line has no URL")]
    CurlNoUrl,
    /// A curl option that needs a value is the last word.
    #[error("curl option {0} needs a value")]
    CurlMissingValue(String),
    /// A `--param` is not `NAME=VALUE`.
    #[error("--param {0:?} is not NAME=VALUE")]
    BadParam(String),
    /// The request names no app, but a key or certificate was given for it.
    #[error("the request has no app_id, so the key or certificate given belongs to no app")]
    NoAppId,
    /// The key, certificate or AES key given is unusable (a wrong length, not PEM …).
    #[error("{0}")]
    Key(String),
    /// The in-memory gateway could not be opened.
    #[error("cannot open an in-memory gateway: {0}")]
    Open(String),
}

/// What the app's record is replaced with before the request is examined.
#[derive(Debug, Clone, Default)]
pub struct AppMaterial {
    /// The app's public key (PEM or bare Base64), for RSA2 and RSA.
    pub public_key: Option<String>,
    /// The app's public-key certificate (PEM).
    pub app_cert: Option<String>,
    /// The root bundle (PEM).
    pub root_cert: Option<String>,
    /// The AES key (Base64, as Alipay's console shows it).
    pub aes_key: Option<String>,
}

impl AppMaterial {
    fn is_empty(&self) -> bool {
        self.public_key.is_none()
            && self.app_cert.is_none()
            && self.root_cert.is_none()
            && self.aes_key.is_none()
    }
}

/// What the gateway made of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The string the signature must cover, as the gateway builds it.
    pub sign_content: String,
    /// The request charset.
    pub charset: String,
    /// `Some(true)`/`Some(false)` when the signature was checked, `None` when the
    /// request was refused before that.
    pub signature_verified: Option<bool>,
    /// The answer's `code`.
    pub code: String,
    /// The answer's `sub_code`, when not a success.
    pub sub_code: Option<String>,
    /// What the doctor found.
    pub diagnosis: Option<Diagnosis>,
}

impl Report {
    /// Whether the gateway would accept the request.
    pub fn accepted(&self) -> bool {
        self.sub_code.is_none()
    }

    /// The report as a person reads it.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let verdict = match self.signature_verified {
            Some(true) => "verified",
            Some(false) => "FAILED",
            None => "not checked (refused before the signature)",
        };
        let answer = match &self.sub_code {
            None => format!("{} (accepted)", self.code),
            Some(sub) => format!("{} {sub}", self.code),
        };
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "string to sign ({}; what the gateway verifies):\n{}\n",
            self.charset, self.sign_content
        );
        let _ = writeln!(out, "signature: {verdict}");
        let _ = writeln!(out, "answer:    {answer}");
        match &self.diagnosis {
            Some(d) => {
                let _ = writeln!(out, "diagnosis: {}: {}", d.code, d.message);
            }
            None if self.accepted() => {}
            None => {
                let _ = writeln!(out, "diagnosis: none of the mistakes the doctor knows explains it (check the key pair, or compare the string to sign above with yours)");
            }
        }
        out
    }
}

/// The captured request of decoded `NAME=VALUE` parameters (as the journal shows them),
/// form-encoded in the charset their `charset` names.
pub fn from_params(params: &[String]) -> Result<Captured, OfflineError> {
    let pairs = params
        .iter()
        .map(|p| {
            p.split_once('=')
                .ok_or_else(|| OfflineError::BadParam(p.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let charset = pairs
        .iter()
        .find(|(name, _)| *name == "charset")
        .and_then(|(_, label)| Charset::from_label(label))
        .unwrap_or_else(Charset::utf8);
    let body = pairs
        .iter()
        .map(|(name, value)| {
            let value: String = form_urlencoded::byte_serialize(&charset.encode(value)).collect();
            format!(
                "{}={value}",
                form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    Ok(Captured {
        http_method: "POST".to_owned(),
        query: None,
        body: body.into_bytes(),
        content_type: Some("application/x-www-form-urlencoded".to_owned()),
    })
}

/// The query of a URL (`…/gateway.do?a=b`, or the bare query), fragment dropped.
pub fn query_of(url: &str) -> Option<String> {
    let without_fragment = url.split('#').next().unwrap_or(url);
    match without_fragment.split_once('?') {
        Some((_, query)) => Some(query.to_owned()),
        None if !without_fragment.contains('/') && without_fragment.contains('=') => {
            Some(without_fragment.to_owned())
        }
        None => None,
    }
}

/// curl options whose value is the next word and that do not change the request the
/// gateway sees.
const CURL_IGNORED_WITH_VALUE: &[&str] = &[
    "-o",
    "--output",
    "-u",
    "--user",
    "-A",
    "--user-agent",
    "-e",
    "--referer",
    "-m",
    "--max-time",
    "-b",
    "--cookie",
    "-c",
    "--cookie-jar",
    "-x",
    "--proxy",
    "-w",
    "--write-out",
    "--connect-timeout",
    "--retry",
    "--cacert",
    "--cert",
    "--key",
];

/// Reads a curl command line: its URL, `-d`/`--data*` bodies (joined with `&`), `-G`,
/// `-X` and the `Content-Type` header. Words are split by the `shlex` crate, as a POSIX
/// shell would; `--data-urlencode` values are form-encoded in UTF-8 as curl does.
pub fn from_curl(command_line: &str) -> Result<Captured, OfflineError> {
    let words = shlex::split(command_line).ok_or(OfflineError::CurlSyntax)?;
    let mut words = words.into_iter().peekable();
    if words.peek().is_some_and(|w| w == "curl") {
        words.next();
    }
    let mut url = None;
    let mut data: Vec<String> = Vec::new();
    let mut method = None;
    let mut get = false;
    let mut content_type = None;
    while let Some(word) = words.next() {
        // `--name=value` and `-Xvalue` forms.
        let (option, inline) = match word.split_once('=') {
            Some((o, v)) if word.starts_with("--") => (o.to_owned(), Some(v.to_owned())),
            _ if word.starts_with('-') && !word.starts_with("--") && word.len() > 2 => {
                (word[..2].to_owned(), Some(word[2..].to_owned()))
            }
            _ => (word.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, OfflineError> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => words
                    .next()
                    .ok_or_else(|| OfflineError::CurlMissingValue(name.to_owned())),
            }
        };
        match option.as_str() {
            "-d" | "--data" | "--data-raw" | "--data-binary" | "--data-ascii" => {
                data.push(value(&option)?)
            }
            "--data-urlencode" => {
                let v = value(&option)?;
                data.push(match v.split_once('=') {
                    Some((name, content)) => format!(
                        "{name}={}",
                        form_urlencoded::byte_serialize(content.as_bytes()).collect::<String>()
                    ),
                    None => form_urlencoded::byte_serialize(v.as_bytes()).collect(),
                });
            }
            "-X" | "--request" => method = Some(value(&option)?),
            "-G" | "--get" => get = true,
            "-H" | "--header" => {
                let header = value(&option)?;
                if let Some((name, v)) = header.split_once(':') {
                    if name.trim().eq_ignore_ascii_case("content-type") {
                        content_type = Some(v.trim().to_owned());
                    }
                }
            }
            "--url" => url = Some(value(&option)?),
            o if CURL_IGNORED_WITH_VALUE.contains(&o) => {
                value(o)?;
            }
            o if o.starts_with('-') => {}
            _ => url = url.or(Some(word)),
        }
    }
    let url = url.ok_or(OfflineError::CurlNoUrl)?;
    let mut query = query_of(&url);
    let body = data.join("&");
    if get && !body.is_empty() {
        query = Some(match query {
            Some(q) if !q.is_empty() => format!("{q}&{body}"),
            _ => body.clone(),
        });
    }
    let posts = !get && !data.is_empty();
    Ok(Captured {
        http_method: method.unwrap_or_else(|| if posts { "POST" } else { "GET" }.to_owned()),
        query,
        body: if posts { body.into_bytes() } else { Vec::new() },
        // curl sends form data as application/x-www-form-urlencoded unless told.
        content_type: content_type
            .or_else(|| posts.then(|| "application/x-www-form-urlencoded".to_owned())),
    })
}

/// The app record with the given material in place of its own.
fn with_material(
    existing: Option<App>,
    app_id: &str,
    material: &AppMaterial,
) -> Result<App, OfflineError> {
    let mut app = match existing {
        Some(app) => app,
        None => serde_json::from_value(serde_json::json!({ "app_id": app_id }))
            .map_err(|e| OfflineError::Key(e.to_string()))?,
    };
    if let Some(key) = &material.public_key {
        app.public_keys = [SignType::Rsa2, SignType::Rsa]
            .into_iter()
            .map(|t| (t, key.clone()))
            .collect();
    }
    if let Some(cert) = &material.app_cert {
        app.app_cert = Some(cert.clone());
    }
    if let Some(root) = &material.root_cert {
        app.alipay_root_cert = Some(root.clone());
    }
    if let Some(aes) = &material.aes_key {
        app.aes_key = Some(aes.trim().to_owned());
    }
    Ok(app)
}

/// Examines a captured request as the gateway would, offline.
pub fn examine(
    captured: &Captured,
    material: &AppMaterial,
    fixtures: FixtureSource,
) -> Result<Report, OfflineError> {
    let config = Config {
        store: StoreLocation::Ephemeral,
        fixtures,
        journal_unmasked: true,
        sign_cache_entries: 0,
        ..Config::default()
    };
    let state = State::open(&config).map_err(|e| OfflineError::Open(e.to_string()))?;
    let raw = RawRequest {
        query: captured.query.as_deref().map(str::as_bytes),
        body: &captured.body,
        content_type: captured.content_type.as_deref(),
    };
    let params = Params::parse(raw);
    if !material.is_empty() {
        let app_id = params.non_empty("app_id").ok_or(OfflineError::NoAppId)?;
        let existing = state.keyring().get(app_id).map(|entry| entry.app.clone());
        let app = with_material(existing, app_id, material)?;
        state
            .keyring()
            .insert(app)
            .map_err(|e| OfflineError::Key(e.to_string()))?;
    }
    let exchange = crate::gateway::handle(&state, raw, &captured.http_method);
    let (_, entries) = state.journal().query(&Default::default());
    let entry = entries.last();
    Ok(Report {
        sign_content: sign_content(&params).text,
        charset: params.charset().label().to_owned(),
        signature_verified: entry.and_then(|e| e.signature.verified),
        code: entry.map(|e| e.outcome.code.clone()).unwrap_or_default(),
        sub_code: entry.and_then(|e| e.outcome.sub_code.clone()),
        diagnosis: exchange.diagnosis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curl_command_line_gives_its_query_body_and_content_type() {
        let captured = from_curl(
            r#"curl -s -X POST 'http://127.0.0.1:9600/gateway.do?app_id=1&charset=GBK' \
               -H 'Content-Type: application/x-www-form-urlencoded;charset=GBK' \
               --data 'biz_content=%7B%7D' -d "a=b c" -o /dev/null"#,
        )
        .unwrap();
        assert_eq!(captured.http_method, "POST");
        assert_eq!(captured.query.as_deref(), Some("app_id=1&charset=GBK"));
        assert_eq!(captured.body, b"biz_content=%7B%7D&a=b c");
        assert_eq!(
            captured.content_type.as_deref(),
            Some("application/x-www-form-urlencoded;charset=GBK")
        );
    }

    #[test]
    fn curl_get_moves_the_data_into_the_query_and_urlencode_encodes() {
        let captured =
            from_curl("curl -G https://h/gateway.do --data-urlencode 'biz_content={\"a\":1}'")
                .unwrap();
        assert_eq!(captured.http_method, "GET");
        assert_eq!(
            captured.query.as_deref(),
            Some("biz_content=%7B%22a%22%3A1%7D")
        );
        assert!(captured.body.is_empty());
    }

    #[test]
    fn broken_curl_command_lines_are_clear_errors() {
        assert!(matches!(
            from_curl("curl 'unclosed"),
            Err(OfflineError::CurlSyntax)
        ));
        assert!(matches!(
            from_curl("curl -d a=b"),
            Err(OfflineError::CurlNoUrl)
        ));
        assert!(matches!(
            from_curl("curl http://h/ -d"),
            Err(OfflineError::CurlMissingValue(_))
        ));
    }

    #[test]
    fn params_are_form_encoded_in_the_charset_they_name() {
        let captured = from_params(&["charset=GBK".to_owned(), "name=张 三".to_owned()]).unwrap();
        assert_eq!(captured.body, b"charset=GBK&name=%D5%C5+%C8%FD");
        assert!(matches!(
            from_params(&["novalue".to_owned()]),
            Err(OfflineError::BadParam(_))
        ));
    }
}
