//! `alipay-mock --version` names the crate version and the commit it was built from,
//! so a container image or an installed binary says what it is.

use std::process::Command;

use crate::support::BIN;

#[test]
fn version_prints_the_cargo_version_and_the_commit_it_was_built_from() {
    let output = Command::new(BIN).arg("--version").output().unwrap();

    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let commit = printed
        .trim_end()
        .strip_prefix(&format!(
            "alipay-mock {} (commit ",
            env!("CARGO_PKG_VERSION")
        ))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version output: {printed:?}"));
    // In a checkout build.rs read HEAD (cargo reran it when HEAD moved); elsewhere it
    // took the build environment's ALIPAY_MOCK_COMMIT or `unknown`.
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match head {
        Some(head) => assert_eq!(commit, head),
        None => assert!(!commit.is_empty() && !commit.contains(' '), "{printed:?}"),
    }
}
