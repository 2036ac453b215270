//! `alipay-mock admin …`: the command-line client of the admin API
//! (`docs/admin-openapi.yaml`), for shell users and scripts; and [`doctor`], the
//! command line of `alipay-mock doctor` (a captured request examined offline).
//!
//! This file is the command line: the verbs as clap types and [`run`]. What a verb means
//! on the wire (method, target, JSON body) is `request`'s, built with the client's own
//! request builders (`client::calls`) without touching the network, so it is
//! tested alone; `client::transport` sends it; `output` renders the answer
//! and words every error for a shell user (the flags and variables to change). No
//! gateway logic lives here: the server validates everything it stores, the
//! client only refuses what can never be valid (a body that is not JSON, an unknown state
//! or category, a malformed `--since`).

use std::io::Read;
use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::transport::{self, AdminAddress};
use crate::config::{default_url, ADMIN_TOKEN_ENV, URL_ENV};
use crate::model::{AccountState, AuthCategory};

pub mod doctor;
mod notifications;
mod output;
mod request;

/// `alipay-mock admin`: where the gateway is, and what to do.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The gateway: http://HOST:PORT or its http://HOST:PORT/gateway.do URL
    /// [env: ALIPAY_MOCK_URL] [default: http://127.0.0.1:9600]
    #[arg(long, global = true, value_name = "URL", display_order = 900)]
    pub url: Option<String>,
    /// The token of `serve --admin-token`; prefer the environment variable, which `ps`
    /// does not show [env: ALIPAY_MOCK_ADMIN_TOKEN]
    #[arg(long, global = true, value_name = "TOKEN", display_order = 901)]
    pub token: Option<String>,
    /// Give up when the whole call (connect, send, answer) takes longer: seconds
    /// (`2`, `0.5`) or `500ms`; the exit status is then 1 [default: 30]
    #[arg(long, global = true, value_name = "SECONDS", value_parser = timeout, display_order = 902)]
    pub timeout: Option<Duration>,
    /// What to do.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// The verbs, one per family of admin calls.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Readiness, with the number of apps, identities, authorizations and scenarios.
    Ready,
    /// Liveness.
    Health,
    /// Registered apps (FILE: an App as JSON, `-` for stdin).
    #[command(subcommand)]
    Apps(AppCommand),
    /// Known persons (FILE: an Identity as JSON, `-` for stdin).
    #[command(subcommand)]
    Identities(IdentityCommand),
    /// Who authorised which app.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Forced outcomes of matching gateway calls.
    #[command(subcommand)]
    Scenarios(ScenarioCommand),
    /// Random latency, errors, dropped connections and hostile answers.
    #[command(subcommand)]
    Faults(FaultCommand),
    /// The journal of gateway calls, newest last; `requests clear` empties it.
    Requests(RequestsArgs),
    /// Reset the test state: everything, or one app's.
    Reset {
        /// Only this app.
        #[arg(long, value_name = "APP_ID")]
        app_id: Option<String>,
    },
    /// The gateway's clock: show it, freeze it, shift it, or back to real time.
    #[command(subcommand)]
    Clock(ClockCommand),
    /// Signed asynchronous notifications to a notify_url: send, list, get, retry, delete.
    #[command(subcommand)]
    Notifications(notifications::NotificationCommand),
    /// Method definitions: what any other OpenAPI method answers.
    #[command(subcommand)]
    Methods(MethodCommand),
}

/// `alipay-mock admin methods …`.
#[derive(Debug, Subcommand)]
pub enum MethodCommand {
    /// Every definition.
    List,
    /// One definition, by method name.
    Get {
        /// The method (`alipay.trade.query`).
        method: String,
    },
    /// Store or replace the definition in FILE (`-` reads stdin); its `method` names it.
    Define {
        /// JSON file, or `-` for stdin.
        file: String,
    },
    /// Remove a definition: the method answers isv.invalid-method again.
    Delete {
        /// The method.
        method: String,
    },
    /// Back to the fixtures' definitions (fixtures/methods/*.json).
    Reset,
}

/// `alipay-mock admin clock …`.
#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Show now and the setting.
    Get,
    /// Stop time at an instant (RFC 3339, e.g. 2026-01-01T10:00:00+08:00).
    Freeze {
        /// The instant.
        at: String,
    },
    /// Run real time shifted by SECONDS (negative: the past).
    Offset {
        /// The shift in seconds.
        #[arg(allow_hyphen_values = true)]
        seconds: i64,
    },
    /// Back to real time.
    Real,
}

/// The record verbs apps and identities share.
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// All of them.
    List,
    /// One, by id.
    Get {
        /// The id (`app_id` of an app).
        id: String,
    },
    /// Create one from FILE (`-` reads stdin); refused if the id exists.
    Create {
        /// JSON file, or `-` for stdin.
        file: String,
    },
    /// Replace one with FILE; the id in FILE may be left out.
    Update {
        /// The id.
        id: String,
        /// JSON file, or `-` for stdin.
        file: String,
    },
    /// Change the fields FILE names (top-level merge; `null` removes an optional field).
    Patch {
        /// The id.
        id: String,
        /// JSON file, or `-` for stdin.
        file: String,
    },
    /// Delete one with what hangs off it (authorizations; for apps scenarios and faults).
    Delete {
        /// The id.
        id: String,
    },
}

/// The app verbs: the record verbs, `set-aes-key` and `clear-aes-key`.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// list, get, create, update, patch, delete.
    #[command(flatten)]
    Record(RecordCommand),
    /// Set the app's AES content-encryption key (`encrypt_type=AES`).
    SetAesKey {
        /// The app.
        app_id: String,
        /// Base64 of 16 bytes, e.g. mRpcDcfCIHfPn/09B9QiJg== (the gateway checks it).
        key: String,
    },
    /// Remove the app's AES key: encrypted requests answer 40001 isv.missing-encrypt-key.
    ClearAesKey {
        /// The app.
        app_id: String,
    },
}

/// The identity verbs: the record verbs and `set-state`.
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// list, get, create, update, patch, delete (as for apps).
    #[command(flatten)]
    Record(RecordCommand),
    /// Set the account state, which decides the business outcome of a query.
    SetState {
        /// The identity id.
        id: String,
        /// normal, not_certified, related_unknown, simulate_account, paused,
        /// zhima_not_opened, system_error or service_unavailable.
        #[arg(value_parser = wire_value::<AccountState>)]
        state: AccountState,
    },
}

/// The authorization verbs.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Authorizations, optionally of one app and/or one identity.
    List {
        /// Only this app's.
        #[arg(long, value_name = "APP_ID")]
        app_id: Option<String>,
        /// Only this identity's.
        #[arg(long, value_name = "ID")]
        identity: Option<String>,
    },
    /// Grant (again: replace) an app the authorization of a person.
    Grant {
        /// The app.
        #[arg(long, value_name = "APP_ID")]
        app_id: String,
        /// The identity id.
        #[arg(long, value_name = "ID")]
        identity: String,
        /// C2B, C2ConB or B2B (the server's default: C2B).
        #[arg(long, value_name = "CATEGORY", value_parser = wire_value::<AuthCategory>)]
        category: Option<AuthCategory>,
        /// The open_id the query answers (default: one the server derives).
        #[arg(long)]
        open_id: Option<String>,
    },
    /// Revoke an app's authorizations by a person (every category unless --category).
    Revoke {
        /// The app.
        #[arg(long, value_name = "APP_ID")]
        app_id: String,
        /// The identity id.
        #[arg(long, value_name = "ID")]
        identity: String,
        /// Only this category: C2B, C2ConB or B2B.
        #[arg(long, value_name = "CATEGORY", value_parser = wire_value::<AuthCategory>)]
        category: Option<AuthCategory>,
    },
}

/// The scenario verbs.
#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Scenarios in force.
    List {
        /// Only this app's.
        #[arg(long, value_name = "APP_ID")]
        app_id: Option<String>,
    },
    /// One scenario.
    Get {
        /// The scenario id.
        id: String,
    },
    /// Create a scenario from FILE (a ScenarioRequest as JSON, `-` for stdin).
    Create {
        /// JSON file, or `-` for stdin.
        file: String,
    },
    /// Delete one scenario.
    Delete {
        /// The scenario id.
        id: String,
    },
    /// Delete every scenario, or one app's.
    Clear {
        /// Only this app's.
        #[arg(long, value_name = "APP_ID")]
        app_id: Option<String>,
    },
    /// Create a scenario from flags: matching calls answer --error or --authorized.
    Force(ForceArgs),
}

/// `scenarios force`: a ScenarioRequest from flags. Without --times, --nth or
/// --for-seconds it applies to the next matching call only.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("outcome").required(true).args(["error", "authorized"])))]
#[command(group(ArgGroup::new("duration").args(["times", "nth", "for_seconds"])))]
pub struct ForceArgs {
    /// Answer this public sub_code (isp.unknow-error) or business code (ZM_ACCOUNT_PAUSE).
    #[arg(long, value_name = "SUB_CODE")]
    pub error: Option<String>,
    /// Answer success with `authorized` true or false.
    #[arg(long, value_name = "BOOL")]
    pub authorized: Option<bool>,
    /// The open_id of an --authorized answer (not with --error).
    #[arg(long, conflicts_with = "error")]
    pub open_id: Option<String>,
    /// Only calls of this app.
    #[arg(long, value_name = "APP_ID")]
    pub app_id: Option<String>,
    /// Only calls of this OpenAPI method.
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,
    /// Only calls about this identity id.
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,
    /// The next N matching calls.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub times: Option<u64>,
    /// Only the K-th matching call from now.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub nth: Option<u64>,
    /// Every matching call for T seconds.
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..))]
    pub for_seconds: Option<u64>,
}

/// The fault verbs.
#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// The faults in force (`{}` when none).
    Get {
        /// This app's.
        #[arg(long, value_name = "APP_ID")]
        app_id: Option<String>,
    },
    /// Replace the faults with FILE (Faults as JSON, `-` for stdin).
    Set {
        /// JSON file, or `-` for stdin.
        file: String,
        /// This app's.
        #[arg(long, value_name = "APP_ID")]
        app_id: Option<String>,
    },
    /// Remove the faults.
    Clear {
        /// This app's.
        #[arg(long, value_name = "APP_ID")]
        app_id: Option<String>,
    },
}

/// `requests`: list the journal (filters below), or `requests clear`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RequestsArgs {
    /// `clear`, or nothing to list.
    #[command(subcommand)]
    pub command: Option<RequestsCommand>,
    /// Only calls of this OpenAPI method.
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,
    /// Only calls of this app.
    #[arg(long, value_name = "APP_ID")]
    pub app_id: Option<String>,
    /// Only calls whose code or sub_code is this.
    #[arg(long, value_name = "CODE")]
    pub outcome: Option<String>,
    /// Only calls at or after this RFC 3339 time (2024-05-01T12:00:00+08:00).
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    pub since: Option<String>,
    /// Only the newest N.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

/// `requests clear`.
#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Empty the journal, or one app's part of it.
    Clear {
        /// Only this app's.
        #[arg(long, value_name = "APP_ID")]
        app_id: Option<String>,
    },
}

/// Why a command did not do what was asked: the message to print, naming the flag or
/// input to fix (or the HTTP status and the server's `error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub(crate) String);

/// Runs one verb against the gateway and returns what to print: the answer as pretty
/// JSON (text as is; nothing for 204), or an error naming the HTTP status and the
/// server's `error`.
pub fn run(args: AdminArgs) -> Result<String, CommandError> {
    execute(args).map_err(CommandError)
}

fn execute(args: AdminArgs) -> Result<String, String> {
    let url = args
        .url
        .or_else(|| non_empty_env(URL_ENV))
        .unwrap_or_else(default_url);
    let address = AdminAddress::parse(&url).map_err(|e| format!("--url {e}"))?;
    let token = args.token.or_else(|| non_empty_env(ADMIN_TOKEN_ENV));
    let request = args.command.request(&mut read_input)?;
    // One exchange: a current-thread runtime is all it needs.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let timeout = args.timeout.unwrap_or(transport::TIMEOUT);
    let answer = runtime
        .block_on(transport::send(
            &address,
            token.as_deref(),
            &request,
            timeout,
        ))
        .map_err(output::transport_error)?;
    output::render(&answer)
}

/// Reads a FILE argument: `-` is stdin.
fn read_input(file: &str) -> Result<String, String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))
    }
}

/// Parses a wire value (`paused`, `C2ConB`) the way the server's own serde types do, so
/// the accepted spellings live in one place (`model.rs`) and the error lists them.
fn wire_value<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(Value::String(text.to_owned()))
        // serde says "variant"; a shell user gave a value.
        .map_err(|e| e.to_string().replace("unknown variant", "unknown value"))
}

/// Checks an RFC 3339 time and keeps it as written.
fn rfc3339(text: &str) -> Result<String, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|_| text.to_owned())
        .map_err(|e| format!("not an RFC 3339 time like 2024-05-01T12:00:00+08:00: {e}"))
}

/// Reads `--timeout`: seconds, fractions allowed, or milliseconds with `ms`; more than
/// zero and at most a day.
fn timeout(text: &str) -> Result<Duration, String> {
    let expected = "expected seconds (2, 0.5) or milliseconds (500ms), more than zero";
    let text = text.trim();
    let parsed = match text.strip_suffix("ms") {
        Some(ms) => ms.trim().parse::<u64>().ok().map(Duration::from_millis),
        None => text
            .strip_suffix('s')
            .unwrap_or(text)
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok()),
    };
    match parsed {
        Some(d) if !d.is_zero() && d <= Duration::from_secs(86_400) => Ok(d),
        _ => Err(format!("{text:?}: {expected}, at most a day (86400)")),
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_takes_seconds_fractions_and_milliseconds() {
        assert_eq!(timeout("2"), Ok(Duration::from_secs(2)));
        assert_eq!(timeout("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(timeout("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn timeout_refuses_zero_negative_huge_and_non_numbers_saying_what_to_give() {
        for bad in ["0", "0ms", "-1", "1e9", "NaN", "inf", "soon", "", "5m"] {
            let err = timeout(bad).unwrap_err();
            assert!(err.contains("500ms"), "{bad:?}: {err}");
        }
    }
}
