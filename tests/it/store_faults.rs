//! The store under hostile conditions: a disk that fills up (and frees again) under a
//! running gateway. The disk-full test mounts a small tmpfs, which needs root (CI runs
//! as root); elsewhere it prints why it skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::*;
use alipay_mock::{Config, RunningGateway};
use serde_json::{json, Value};

/// Generous bound on any answer the gateway owes: a missing answer fails the test, a
/// slow machine does not.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it), or says why not.
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("cannot run id: {e}"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("mounting a tmpfs needs root".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !status.success() {
            return Err(format!("mount -t tmpfs failed ({status})"));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Fills the file system holding `dir` with a file of its own; returns the file.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
    filler
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(ANSWER_WITHIN, f)
        .await
        .unwrap_or_else(|_| panic!("no answer within {ANSWER_WITHIN:?}: {what}"))
}

fn identity(n: usize) -> Value {
    json!({"id": format!("disk{n}"), "name": "王小明", "cert_no": format!("1101012000010{n:05}")})
}

/// Regression (issue 22, item 1): once the disk filled up, the next admin write hung for
/// 60 s, later ones answered 500 forever, readiness stopped answering and SIGTERM did
/// not stop the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_with_507_and_writes_work_again_once_space_returns() {
    let tmpfs = match Tmpfs::mount("4m") {
        Ok(tmpfs) => tmpfs,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let data = tmpfs.path().join("data");
    let gateway = RunningGateway::start(Config::with_data_dir(&data))
        .await
        .unwrap();
    let before = within("ready", admin(&gateway, "GET", "ready", None))
        .await
        .1;
    let filler = fill(tmpfs.path());

    // sled writes into log space it allocated before, so the first writes may still
    // succeed (durably); once it needs more, every write is refused.
    let mut accepted = 0;
    let mut refused = 0;
    for n in 0..400 {
        let (status, error) = within(
            "a write on a full disk",
            admin(&gateway, "POST", "identities", Some(identity(n))),
        )
        .await;
        if status == 201 && refused == 0 {
            accepted += 1;
            continue;
        }
        assert_eq!(status, 507, "write {n}: {error}");
        let message = error["error"].as_str().unwrap_or_default();
        assert!(message.contains(&data.display().to_string()), "{message}");
        // The gateway keeps answering from what the store holds.
        let answer = within("gateway.do", query(&gateway, &zhangsan("C2B"))).await;
        assert_eq!(answer["open_id"], "2088202844499224", "{answer}");
        refused += 1;
        if refused == 30 {
            break;
        }
    }
    assert_eq!(refused, 30, "{accepted} writes accepted, none refused");
    let (status, ready) = within("ready", admin(&gateway, "GET", "ready", None)).await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["status"], "store unwritable", "{ready}");

    std::fs::remove_file(filler).unwrap();
    let (status, created) = within(
        "a write once space is back",
        admin(&gateway, "POST", "identities", Some(identity(99))),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, after) = within("ready", admin(&gateway, "GET", "ready", None)).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(
        after["identities"],
        before["identities"].as_u64().unwrap() + accepted + 1,
        "the refused writes changed nothing"
    );
    within("shutdown", gateway.shutdown()).await;

    let restarted = RunningGateway::start(Config::with_data_dir(&data))
        .await
        .unwrap();
    assert_eq!(
        within("get", admin(&restarted, "GET", "identities/disk99", None))
            .await
            .0,
        200
    );
    within("shutdown", restarted.shutdown()).await;
}
