//! Start-up, restart and shutdown: the store survives restarts and is never re-seeded
//! over; the binary prints its URL when ready and exits cleanly on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use alipay_mock::fixtures::FixtureSource;
use alipay_mock::{Config, RunningGateway};
use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_alipay-mock");

fn copy_fixtures(to: &std::path::Path) {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    std::fs::create_dir_all(to.join("keys")).unwrap();
    for entry in [
        "apps.json",
        "identities.json",
        "authorizations.json",
        "cases.json",
    ] {
        std::fs::copy(from.join(entry), to.join(entry)).unwrap();
    }
    for entry in std::fs::read_dir(from.join("keys")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join("keys").join(entry.file_name())).unwrap();
    }
}

async fn open_id_of_zhangsan(gateway: &RunningGateway) -> String {
    let node = Call::authquery(DOC_BIZ_CONTENT)
        .post(gateway)
        .await
        .node("utf-8", NODE);
    node["open_id"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn a_restart_keeps_the_store_and_never_reseeds_it_from_other_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let changed = dir.path().join("changed-fixtures");
    copy_fixtures(&changed);
    let auths = std::fs::read_to_string(changed.join("authorizations.json")).unwrap();
    std::fs::write(
        changed.join("authorizations.json"),
        auths.replace("2088202844499224", "2088000000000000"),
    )
    .unwrap();

    let first = RunningGateway::start(Config::with_data_dir(&data))
        .await
        .unwrap();
    assert_eq!(open_id_of_zhangsan(&first).await, "2088202844499224");
    first.shutdown().await;

    let second = RunningGateway::start(Config {
        fixtures: FixtureSource::Dir(changed.clone()),
        ..Config::with_data_dir(&data)
    })
    .await
    .unwrap();
    assert_eq!(
        open_id_of_zhangsan(&second).await,
        "2088202844499224",
        "the stored data wins over new fixtures"
    );
    second.shutdown().await;

    let fresh = RunningGateway::start(Config {
        fixtures: FixtureSource::Dir(changed),
        ..Config::with_data_dir(dir.path().join("fresh"))
    })
    .await
    .unwrap();
    assert_eq!(
        open_id_of_zhangsan(&fresh).await,
        "2088000000000000",
        "an empty store seeds from --fixtures"
    );
    fresh.shutdown().await;
}

#[tokio::test]
async fn broken_fixtures_stop_start_up_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixtures(dir.path());
    std::fs::write(
        dir.path().join("identities.json"),
        "{\"identities\": [{\"id\": 1}]}",
    )
    .unwrap();
    let err = RunningGateway::start(Config {
        fixtures: FixtureSource::Dir(dir.path().to_owned()),
        ..Config::ephemeral()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("identities.json"), "{err}");
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_prints_its_url_serves_and_exits_cleanly_on_sigterm() {
    let mut child = Child(
        Command::new(BIN)
            .args(["serve", "--ephemeral", "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/gateway.do"),
        "{url}"
    );

    // One real request over the printed address.
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/gateway.do")
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answer = runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let request = hyper::Request::get("/gateway.do?app_id=x")
            .header("host", &addr)
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        use http_body_util::BodyExt;
        response.into_body().collect().await.unwrap().to_bytes()
    });
    assert!(String::from_utf8_lossy(&answer).contains("isv.missing-method"));

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit within 15 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn cases_json_prints_the_catalogue_of_the_fixtures() {
    let output = Command::new(BIN)
        .args(["cases", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/cases.json")).unwrap();
    assert_eq!(printed, written);
}

#[test]
fn keygen_writes_usable_pairs_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keys");
    let status = Command::new(BIN)
        .arg("keygen")
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    for prefix in ["app", "alipay"] {
        let read =
            |suffix: &str| std::fs::read_to_string(out.join(format!("{prefix}_{suffix}"))).unwrap();
        let private = alipay_mock::keys::parse_private_key(&read("private_key.pem")).unwrap();
        assert!(read("private_key_pkcs1.pem").starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert_eq!(
            alipay_mock::keys::parse_private_key(&read("private_key_pkcs1.txt")).unwrap(),
            private
        );
        assert_eq!(
            alipay_mock::keys::parse_private_key(&read("private_key_pkcs8.txt")).unwrap(),
            private
        );
        assert_eq!(
            alipay_mock::keys::parse_public_key(&read("public_key.txt")).unwrap(),
            private.to_public_key()
        );
    }
    let app_key = std::fs::read_to_string(out.join("app_private_key.pem")).unwrap();
    let again = Command::new(BIN)
        .arg("keygen")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "a second keygen into the same folder must refuse"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("app_private_key.pem")).unwrap(),
        app_key
    );
}
