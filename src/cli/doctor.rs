//! `alipay-mock doctor …`: a captured request examined offline. This file is the command
//! line only: where the request and the app's material come from (flags, files, standard
//! input). Reading a curl command line and examining the request through the gateway's
//! own pipeline are `doctor::offline`'s.

use std::path::{Path, PathBuf};

use clap::Args;

use super::CommandError;
use crate::doctor::offline::{self, AppMaterial, Captured};
use crate::fixtures::FixtureSource;

/// The exit status when the gateway would refuse the request (0 when it would accept
/// it; 1 is a usage or input error, 2 clap's).
pub const REFUSED_EXIT_CODE: u8 = 3;

/// `alipay-mock doctor`: the captured request and, optionally, the app's own material.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The request URL with its query (`http://…/gateway.do?app_id=…&sign=…`), as sent.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The form body as sent; `@FILE` reads it from a file.
    #[arg(long, value_name = "BODY")]
    pub data: Option<String>,
    /// The body's Content-Type (default: a form when there is a body).
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,
    /// A whole curl command line, as one argument; `-` reads it from standard input.
    #[arg(long, value_name = "COMMAND", conflicts_with_all = ["url", "data", "params"])]
    pub curl: Option<String>,
    /// A decoded parameter, as the journal shows it (repeat for each); they are sent
    /// form-encoded in the charset their `charset` names.
    #[arg(long = "param", value_name = "NAME=VALUE", conflicts_with_all = ["url", "data"])]
    pub params: Vec<String>,
    /// The app's public key (PEM or bare Base64) instead of the fixture app's.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// The app's public-key certificate instead of the fixture app's.
    #[arg(long, value_name = "FILE")]
    pub app_cert: Option<PathBuf>,
    /// The root bundle (alipayRootCert.crt) instead of the fixtures' default.
    #[arg(long, value_name = "FILE")]
    pub root_cert: Option<PathBuf>,
    /// The app's AES key: its Base64 text, or a file holding it.
    #[arg(long, value_name = "KEY|FILE")]
    pub aes_key: Option<String>,
    /// Fixtures folder to read instead of the compiled-in fixtures.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The captured request the flags describe.
fn captured(args: &DoctorArgs) -> Result<Captured, String> {
    if let Some(curl) = &args.curl {
        let line = if curl == "-" {
            std::io::read_to_string(std::io::stdin()).map_err(|e| e.to_string())?
        } else {
            curl.clone()
        };
        return offline::from_curl(&line).map_err(|e| e.to_string());
    }
    if !args.params.is_empty() {
        return offline::from_params(&args.params).map_err(|e| e.to_string());
    }
    let body = match args.data.as_deref() {
        Some(data) => match data.strip_prefix('@') {
            Some(path) => std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?,
            None => data.as_bytes().to_vec(),
        },
        None => Vec::new(),
    };
    let query = args.url.as_deref().and_then(offline::query_of);
    if query.is_none() && body.is_empty() {
        return Err("give the request: --url with its query, --data, --param or --curl".to_owned());
    }
    let posts = !body.is_empty();
    Ok(Captured {
        http_method: if posts { "POST" } else { "GET" }.to_owned(),
        query,
        content_type: args
            .content_type
            .clone()
            .or_else(|| posts.then(|| "application/x-www-form-urlencoded".to_owned())),
        body,
    })
}

/// Examines the request: the report to print, and whether the gateway would accept it.
pub fn run(args: DoctorArgs) -> Result<(String, bool), CommandError> {
    examine(args).map_err(CommandError)
}

fn examine(args: DoctorArgs) -> Result<(String, bool), String> {
    let captured = captured(&args)?;
    let aes_key = match &args.aes_key {
        Some(text) if Path::new(text).is_file() => Some(read(Path::new(text))?),
        other => other.clone(),
    };
    let material = AppMaterial {
        public_key: args.public_key.as_deref().map(read).transpose()?,
        app_cert: args.app_cert.as_deref().map(read).transpose()?,
        root_cert: args.root_cert.as_deref().map(read).transpose()?,
        aes_key,
    };
    let fixtures = args
        .fixtures
        .clone()
        .map_or(FixtureSource::Embedded, FixtureSource::Dir);
    let report = offline::examine(&captured, &material, fixtures).map_err(|e| e.to_string())?;
    let text = if args.json {
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n"
    } else {
        report.text()
    };
    Ok((text, report.accepted()))
}
