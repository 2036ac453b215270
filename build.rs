//! Records the commit the binary is built from, for `alipay-mock --version`
//! (`ALIPAY_MOCK_COMMIT`: `git rev-parse --short HEAD`; outside a git checkout, as from
//! a source archive, the `ALIPAY_MOCK_COMMIT` of the build's environment, else `unknown`).
//!
//! It reruns only when HEAD moves (the HEAD file, the current branch's ref, packed-refs),
//! not on every source edit, so incremental builds stay as quick as without it.

use std::path::{Path, PathBuf};
use std::process::Command;

const COMMIT_ENV: &str = "ALIPAY_MOCK_COMMIT";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={COMMIT_ENV}");
    let commit = git(&["rev-parse", "--short", "HEAD"])
        .or_else(|| std::env::var(COMMIT_ENV).ok())
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env={COMMIT_ENV}={commit}");

    let mut watched = vec![git_path("HEAD"), git_path("packed-refs")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git_path(&branch));
    }
    // A path that does not exist would make cargo rerun this script on every build.
    for path in watched.into_iter().flatten().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The trimmed output of a successful `git ARGS…`, if git is there and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// Where git keeps `name` (`HEAD`, `refs/heads/…`), also in a linked worktree.
fn git_path(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(git(&["rev-parse", "--git-path", name])?);
    Some(if path.is_absolute() {
        path
    } else {
        // git answers relative to the current directory, which cargo sets to the package root.
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").ok()?).join(path)
    })
}
