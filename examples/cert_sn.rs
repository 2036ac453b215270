//! Prints the certificate SN alipay-mock computes for each file: `FILE SN` per line.
//! A file whose name ends in `root_cert.crt`, or any file after `--root`, is read as a
//! root bundle (root SN). Used by `scripts/check-cert-sns.sh`, which compares these
//! lines with SNs computed by `openssl` + `md5sum`.
//!
//! ```sh
//! cargo run --example cert_sn -- fixtures/certs/app_cert_public_key.crt --root fixtures/certs/alipay_root_cert.crt
//! ```

use std::process::ExitCode;

use alipay_mock::cert::{PublicKeyCertificate, RootBundle};

fn main() -> ExitCode {
    let mut root = false;
    let mut failed = false;
    for arg in std::env::args().skip(1) {
        if arg == "--root" {
            root = true;
            continue;
        }
        let sn = std::fs::read_to_string(&arg)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                if root || arg.ends_with("root_cert.crt") {
                    RootBundle::from_pem(&text).map(|b| b.sn)
                } else {
                    PublicKeyCertificate::from_pem(&text).map(|c| c.sn)
                }
                .map_err(|e| e.to_string())
            });
        match sn {
            Ok(sn) => println!("{arg} {sn}"),
            Err(e) => {
                eprintln!("{arg}: {e}");
                println!("{arg} ERROR");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
