//! The measuring half of `scripts/bench.sh`, which pins it, runs `wrk` and prints the
//! table. Loopback only; every loop is bounded in count and time.
//!
//! - `bench_probe crypto [SECONDS]`: RSA-2048 RSA2 sign/s and verify/s on the calling
//!   thread, for the active backend (`crypto::SigningKey` / `VerifyingKey`) and for the
//!   `rsa` crate; prints `crypto FAST_SIGN FAST_VERIFY RSA_SIGN RSA_VERIFY`, per second
//!   of wall-clock time, then the same four per second of this thread's CPU time.
//! - `bench_probe sign-rate [SECONDS]`: the active backend's RSA2 signatures, then
//!   verifications, per second of this thread's CPU time, each for SECONDS; prints
//!   `sign-rate SIGN VERIFY`.
//! - `bench_probe presign OUT.lua COUNT distinct|repeated [METHOD]`: a wrk script cycling
//!   through COUNT requests signed now with the fixture app key: the document's example
//!   asked COUNT times (`repeated`: the same answer each time), or COUNT different
//!   identities (`distinct`). With a METHOD other than authquery (a defined method), the
//!   `biz_content` is `{"out_trade_no":"T1001"}` each time, or a different `out_trade_no`
//!   per request. An optional `STOP_AFTER` stops wrk after that many answers.
//! - `bench_probe first-answer OUT PORT COMMAND...`: with a signed request ready, starts
//!   COMMAND (the gateway, listening on 127.0.0.1:PORT), polls until the first answer with
//!   HTTP 200 and a `sign`, writes the answer's body to OUT.body and `MS PID` to OUT, and
//!   stays the gateway's parent until it exits (the script stops it by that PID).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alipay_mock::crypto::{self, SignType, SigningKey};
use alipay_mock::keys;

const APP_ID: &str = "2014072300007148";
const APP_KEY: &str = include_str!("../fixtures/keys/app_private_key.pem");
const PLATFORM_KEY: &str = include_str!("../fixtures/keys/alipay_private_key.pem");
/// The API document's request example.
const DOC_BIZ: &str = r#"{"identity_param":"{\"certType\":\"IDENTITY_CARD\",\"name\":\"张三\",\"certNo\":\"33021199003132432\"}","identity_type":"2","auth_category":"C2B"  }"#;
/// The built-in method the benchmark asks by default.
const AUTH_QUERY: &str = "zhima.auth.info.authquery";
/// How long `first-answer` polls before giving up.
const START_LIMIT: Duration = Duration::from_secs(20);

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("crypto") => crypto_bound(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2.0)),
        Some("sign-rate") => sign_rate(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1.0)),
        Some("presign") if args.len() >= 4 => presign(
            &args[1],
            args[2].parse()?,
            &args[3],
            args.get(4).map_or(AUTH_QUERY, String::as_str),
        ),
        Some("first-answer") if args.len() >= 4 => first_answer(&args[1], &args[2], &args[3..]),
        _ => Err("usage: bench_probe crypto [SECONDS] | sign-rate [SECONDS] | presign OUT COUNT distinct|repeated [METHOD] | first-answer OUT PORT COMMAND...".into()),
    }
}

/// CPU time this thread has used (the scheduler's own count, /proc/thread-self/schedstat),
/// so a rate is per second of CPU, whatever else the shared machine runs.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// Operations per wall-clock second and per CPU second of `op`, run for about `seconds`.
fn rate(seconds: f64, mut op: impl FnMut()) -> (f64, f64) {
    let started = Instant::now();
    let cpu = thread_cpu();
    let mut done = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        op();
        done += 1;
    }
    let wall = done as f64 / started.elapsed().as_secs_f64();
    let cpu = (thread_cpu() - cpu).as_secs_f64();
    (wall, if cpu > 0.0 { done as f64 / cpu } else { wall })
}

/// The response node the crypto figures sign: one of the document's example, about the
/// size the gateway signs.
const NODE: &[u8] = br#"{"code":"10000","msg":"Success","authorized":true,"open_id":"074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"}"#;

/// `sign-rate`: AWS-LC RSA2 signatures and verifications per CPU second, for a ratio
/// read against rates measured right beside it (the uncached run and the notification
/// runs measure them before and after: the host's RSA speed drifts within a minute).
fn sign_rate(seconds: f64) -> Result<(), Failure> {
    let fast = SigningKey::new(keys::parse_private_key(PLATFORM_KEY)?);
    let public = fast.verifying_key();
    let signature = crypto::sign(&fast, SignType::Rsa2, NODE)?;
    let (_, sign) = rate(seconds, || {
        let _ = crypto::sign(&fast, SignType::Rsa2, NODE);
    });
    let (_, verify) = rate(seconds, || {
        crypto::verify(&public, SignType::Rsa2, NODE, &signature);
    });
    println!("sign-rate {sign:.0} {verify:.0}");
    Ok(())
}

fn crypto_bound(seconds: f64) -> Result<(), Failure> {
    let reference = keys::parse_private_key(PLATFORM_KEY)?;
    let reference_public = reference.to_public_key();
    let fast = SigningKey::new(reference.clone());
    let fast_public = fast.verifying_key();
    let node = NODE;
    let signature = crypto::sign(&fast, SignType::Rsa2, node)?;
    let fast_sign = rate(seconds, || {
        let _ = crypto::sign(&fast, SignType::Rsa2, node);
    });
    let fast_verify = rate(seconds, || {
        crypto::verify(&fast_public, SignType::Rsa2, node, &signature);
    });
    let rsa_sign = rate(seconds, || {
        let _ = crypto::sign(&reference, SignType::Rsa2, node);
    });
    let rsa_verify = rate(seconds, || {
        crypto::verify(&reference_public, SignType::Rsa2, node, &signature);
    });
    println!(
        "crypto {:.0} {:.0} {:.0} {:.0} {:.0} {:.0} {:.0} {:.0}",
        fast_sign.0,
        fast_verify.0,
        rsa_sign.0,
        rsa_verify.0,
        fast_sign.1,
        fast_verify.1,
        rsa_sign.1,
        rsa_verify.1
    );
    Ok(())
}

/// `yyyy-MM-dd HH:mm:ss` now in Beijing time (GMT+8), as SDKs send it.
fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    now.format(format).unwrap_or_default()
}

/// A form body signed with the fixture app key, everything in the body as the Go and PHP
/// SDKs send.
fn signed_body(key: &SigningKey, biz: &str) -> Result<String, Failure> {
    signed_call(key, AUTH_QUERY, biz)
}

/// The same for any method.
fn signed_call(key: &SigningKey, method: &str, biz: &str) -> Result<String, Failure> {
    let mut pairs: Vec<(&str, String)> = vec![
        ("app_id", APP_ID.into()),
        ("biz_content", biz.into()),
        ("charset", "utf-8".into()),
        ("format", "JSON".into()),
        ("method", method.into()),
        ("sign_type", "RSA2".into()),
        ("timestamp", timestamp()),
        ("version", "1.0".into()),
    ];
    let content: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sign = crypto::sign(key, SignType::Rsa2, content.join("&").as_bytes())?;
    pairs.push(("sign", sign));
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        form.append_pair(k, v);
    }
    Ok(form.finish())
}

fn biz_of(index: usize, mode: &str, method: &str) -> String {
    match (mode, method) {
        ("repeated", AUTH_QUERY) => DOC_BIZ.to_owned(),
        ("repeated", _) => r#"{"out_trade_no":"T1001"}"#.to_owned(),
        (_, AUTH_QUERY) => format!(
            r#"{{"identity_param":"{{\"certType\":\"IDENTITY_CARD\",\"name\":\"张{index}\",\"certNo\":\"3302119900{index:07}\"}}","identity_type":"2","auth_category":"C2B"}}"#
        ),
        _ => format!(r#"{{"out_trade_no":"T{index:08}"}}"#),
    }
}

fn presign(out: &str, count: usize, mode: &str, method: &str) -> Result<(), Failure> {
    let key = SigningKey::new(keys::parse_private_key(APP_KEY)?);
    let mut lua = String::from("local bodies = {\n");
    for index in 0..count.clamp(1, 100_000) {
        // A Lua long string needs no escaping; form bodies never contain "]==]".
        lua.push_str(&format!(
            "[==[{}]==],\n",
            signed_call(&key, method, &biz_of(index, mode, method))?
        ));
    }
    lua.push_str(LUA_DRIVER);
    std::fs::write(out, lua)?;
    Ok(())
}

/// Cycles through the bodies; with STOP_AFTER set, each of wrk's threads stops after that
/// many answers; prints one machine-readable line at the end.
const LUA_DRIVER: &str = r#"}
local i = 0
local answered = 0
local stop_after = tonumber(os.getenv("STOP_AFTER") or "0")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded;charset=utf-8" }
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/gateway.do", headers, bodies[i])
end
if stop_after > 0 then
  response = function(status, headers, body)
    answered = answered + 1
    if answered >= stop_after then wrk.thread:stop() end
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk_result %d %.3f %.3f %.3f %d\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"#;

fn first_answer(out: &str, port: &str, command: &[String]) -> Result<(), Failure> {
    let key = SigningKey::new(keys::parse_private_key(APP_KEY)?);
    let body = signed_body(&key, DOC_BIZ)?;
    let request = format!(
        "POST /gateway.do HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded;charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let addr = format!("127.0.0.1:{port}");
    let (program, args) = command.split_first().ok_or("no gateway command")?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    while started.elapsed() < START_LIMIT {
        if let Ok(mut stream) = TcpStream::connect(&addr) {
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.starts_with("HTTP/1.1 200")
                && answer.contains("\"sign\":\"")
            {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                // The HTTP floor answers these very bytes (the same size as the gateway).
                if let Some((_, body)) = answer.split_once("\r\n\r\n") {
                    std::fs::write(format!("{out}.body"), body)?;
                }
                // Written whole, then renamed: the script never reads half a line.
                let partial = format!("{out}.partial");
                std::fs::write(&partial, format!("{ms:.1} {}\n", child.id()))?;
                std::fs::rename(&partial, out)?;
                // Stay the gateway's parent until the script stops it, so it is reaped.
                child.wait()?;
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!("no signed answer on {addr} within {START_LIMIT:?}").into())
}
