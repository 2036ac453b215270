//! The `alipay-mock` command: parses arguments into a [`Config`] and hands over to the
//! library. No gateway logic lives here.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use alipay_mock::cases;
use alipay_mock::config::{
    StoreLocation, ADMIN_PREFIX, ADMIN_TOKEN_ENV, CONSOLE_PATH, DEFAULT_ADDR, DEFAULT_DATA_DIR,
    DEFAULT_JOURNAL_MAX, DEFAULT_JOURNAL_MAX_BYTES, DEFAULT_SIGN_CACHE_BYTES,
    DEFAULT_SIGN_CACHE_ENTRIES, MAX_BODY_BYTES, MAX_CONNECTIONS, REQUEST_TIMEOUT, SHUTDOWN_GRACE,
};
use alipay_mock::fixtures::{FixtureSource, Fixtures};
use alipay_mock::{Config, RunningGateway};
use clap::{Args, Parser, Subcommand};

/// `--version`: the crate version and the commit it was built from (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ALIPAY_MOCK_COMMIT"),
    ")"
);

/// After the commands in `--help`: where to look first once the gateway runs.
const AFTER_HELP: &str = "Once `alipay-mock serve` runs, open the web console whose URL it \
prints: http://127.0.0.1:9600/__admin/ui/ at the default --addr. The admin API the console \
uses is under /__admin/, described at /__admin/openapi.yaml; `alipay-mock admin --help` \
drives it from the shell.";

/// A local sandbox of Alipay's OpenAPI gateway (gateway.do).
#[derive(Debug, Parser)]
#[command(name = "alipay-mock", version = VERSION, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway; prints `alipay-mock listening on http://HOST:PORT/gateway.do` once
    /// ready, then the web console's and the admin API's URLs.
    Serve(ServeArgs),
    /// Print the catalogue of seeded outcomes (the magic values).
    Cases {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Fixtures folder to read instead of the compiled-in fixtures.
        #[arg(long, value_name = "DIR")]
        fixtures: Option<PathBuf>,
    },
    /// Write fresh RSA-2048 key pairs for an app and for a platform, in every SDK format.
    Keygen {
        /// Folder to write into (created if missing; existing key files are not overwritten).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Write a test root CA, platform and app certificates (certificate mode) instead.
        #[arg(long)]
        cert: bool,
    },
    /// Control a running gateway through its admin API.
    Admin(alipay_mock::cli::AdminArgs),
    /// Examine a captured gateway.do request offline: the string the gateway verifies,
    /// its verdict and the doctor's diagnosis. Exits 0 when the gateway would accept the
    /// request, 3 when it would refuse it.
    Doctor(alipay_mock::cli::doctor::DoctorArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// Folder of the sled store (created and seeded when empty).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR, conflicts_with = "ephemeral")]
    data: PathBuf,
    /// Use a temporary store that is gone at exit.
    #[arg(long)]
    ephemeral: bool,
    /// Start over from the fixtures: the --data folder is moved aside (renamed
    /// DIR.before-reseed-SECONDS, not deleted) and a new store is seeded in its place.
    #[arg(long, conflicts_with = "ephemeral")]
    reseed: bool,
    /// Fixtures folder to seed from instead of the compiled-in fixtures.
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Refuse timestamps more than this many minutes from now (read as GMT+8). Off by default.
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u64).range(1..=527_040))]
    timestamp_window: Option<u64>,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Seconds a client may take to send a request's headers, and then its body.
    #[arg(long, value_name = "SECONDS", default_value_t = REQUEST_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout: u64,
    /// Seconds shutdown (SIGTERM, Ctrl-C) waits for requests in flight before it closes
    /// the connections still open and exits 0.
    #[arg(long, value_name = "SECONDS", default_value_t = SHUTDOWN_GRACE.as_secs(),
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    shutdown_grace: u64,
    /// Connections served at once; further clients wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = MAX_CONNECTIONS as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Require `Authorization: Bearer TOKEN` on every /__admin/ call.
    #[arg(long, value_name = "TOKEN", env = ADMIN_TOKEN_ENV)]
    admin_token: Option<String>,
    /// A host name the admin API answers to beside the listen address, localhost and
    /// loopback addresses (a compose service name); repeat for more.
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_hosts: Vec<String>,
    /// Read the admin token from this file (its first line): unlike --admin-token, it
    /// does not show in `ps`.
    #[arg(long, value_name = "FILE", conflicts_with = "admin_token")]
    admin_token_file: Option<PathBuf>,
    /// How many requests the journal (/__admin/requests) keeps.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_JOURNAL_MAX)]
    journal_max: usize,
    /// About how many bytes of requests the journal keeps; the oldest go first.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_JOURNAL_MAX_BYTES)]
    journal_max_bytes: usize,
    /// Keep identity names and certificate numbers unmasked in the journal.
    #[arg(long)]
    journal_unmasked: bool,
    /// How many response signatures to keep for repeated answers; 0 turns the cache off.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SIGN_CACHE_ENTRIES)]
    sign_cache_entries: usize,
    /// About how many bytes of signatures the cache keeps (the oldest go first).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_SIGN_CACHE_BYTES)]
    sign_cache_bytes: usize,
    /// Also send notifications to this address range (CIDR, e.g. 203.0.113.0/24, or a bare
    /// address), or to `any` address; by default only loopback and private networks.
    /// Repeatable.
    #[arg(long, value_name = "CIDR|any")]
    notify_allow: Vec<alipay_mock::config::AllowRule>,
}

fn fixture_source(dir: Option<PathBuf>) -> FixtureSource {
    dir.map_or(FixtureSource::Embedded, FixtureSource::Dir)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Cases { json, fixtures } => print_cases(json, fixture_source(fixtures)),
        Command::Keygen { out, cert: false } => keygen(&out),
        Command::Keygen { out, cert: true } => alipay_mock::cert::generate::write_test_pki(
            &out,
            alipay_mock::cert::generate::DEFAULT_CERT_APP_ID,
        )
        .map(|written| println!("{written}"))
        .map_err(|e| e.to_string()),
        Command::Admin(args) => admin(args),
        Command::Doctor(args) => match alipay_mock::cli::doctor::run(args) {
            Ok((report, accepted)) => {
                print!("{report}");
                if !accepted {
                    return ExitCode::from(alipay_mock::cli::doctor::REFUSED_EXIT_CODE);
                }
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("alipay-mock: {message}");
            ExitCode::FAILURE
        }
    }
}

fn admin(args: alipay_mock::cli::AdminArgs) -> Result<(), String> {
    let output = alipay_mock::cli::run(args).map_err(|e| e.to_string())?;
    if !output.is_empty() {
        println!("{}", output.trim_end_matches('\n'));
    }
    Ok(())
}

fn serve(args: ServeArgs) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("alipay_mock=info")),
        )
        .init();
    let admin_token = match &args.admin_token_file {
        Some(file) => Some(read_token_file(file)?),
        None => args.admin_token,
    };
    let config = Config {
        addr: args.addr,
        store: if args.ephemeral {
            StoreLocation::Ephemeral
        } else {
            StoreLocation::Dir(args.data)
        },
        fixtures: fixture_source(args.fixtures),
        timestamp_window: args.timestamp_window.map(|m| Duration::from_secs(m * 60)),
        max_body_bytes: args.max_body_bytes,
        request_timeout: Duration::from_secs(args.request_timeout),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        max_connections: args.max_connections as usize,
        admin_token,
        journal_max: args.journal_max,
        journal_max_bytes: args.journal_max_bytes,
        journal_unmasked: args.journal_unmasked,
        reseed: args.reseed,
        allow_hosts: args.allow_hosts,
        sign_cache_entries: args.sign_cache_entries,
        sign_cache_bytes: args.sign_cache_bytes,
        notify: alipay_mock::config::NotifyConfig {
            policy: alipay_mock::config::NotifyPolicy {
                extra: args.notify_allow,
            },
            ..Default::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(alipay_mock::internals::batch_io_thread)
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    runtime.block_on(async {
        // Handlers first: a SIGTERM right after the ready line (or during start) must
        // stop the gateway gracefully (exit 0), not kill it with the default action.
        let signals = Signals::install()?;
        let gateway = RunningGateway::start(config)
            .await
            .map_err(|e| e.to_string())?;
        announce(&gateway);
        signals.wait().await?;
        tracing::info!("shutting down");
        gateway.shutdown().await;
        Ok(())
    })
}

/// The admin token from `--admin-token-file`: its first line, without the line end.
fn read_token_file(file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        format!(
            "cannot read the admin token file {}: {}; give a readable file, or use the {ADMIN_TOKEN_ENV} environment variable",
            file.display(),
            std::io::Error::from(e.kind())
        )
    })?;
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// Prints the ready line, then where the console and the admin API are. A reader that
/// stops reading after the ready line (a script waiting for it) must not bring the
/// gateway down, so write errors are ignored rather than panicking like `println!`.
fn announce(gateway: &RunningGateway) {
    let base = format!("http://{}", gateway.addr());
    let mut out = std::io::stdout().lock();
    // The first line is the ready line tools wait for: its text never changes.
    let _ = writeln!(out, "alipay-mock listening on {}", gateway.url());
    let _ = writeln!(out, "  console:   {base}{CONSOLE_PATH}");
    let _ = writeln!(
        out,
        "  admin API: {base}{ADMIN_PREFIX} ({base}{ADMIN_PREFIX}openapi.yaml)"
    );
    let _ = out.flush();
}

/// SIGINT and SIGTERM, listened for from the moment they are installed.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals, String> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?,
            terminate: signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?,
        })
    }

    /// Until either arrives.
    async fn wait(mut self) -> Result<(), String> {
        tokio::select! {
            _ = self.interrupt.recv() => Ok(()),
            _ = self.terminate.recv() => Ok(()),
        }
    }
}

fn print_cases(json: bool, source: FixtureSource) -> Result<(), String> {
    let fixtures = Fixtures::load(&source).map_err(|e| e.to_string())?;
    let text = if json {
        serde_json::to_string_pretty(&fixtures.cases).map_err(|e| e.to_string())? + "\n"
    } else {
        cases::table(&fixtures.cases)
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())
}

fn keygen(out: &Path) -> Result<(), String> {
    let report = alipay_mock::internals::write_key_pairs(out).map_err(|e| e.to_string())?;
    print!("{report}");
    Ok(())
}
