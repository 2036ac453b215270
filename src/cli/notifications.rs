//! `alipay-mock admin notifications …`: send a signed asynchronous notification, list
//! them, show one, send one again now, delete one.

use clap::{ArgGroup, Subcommand};

use super::request::{json_input, unwritable, Reader};
use super::wire_value;
use crate::client::calls::ApiRequest;
use crate::client::notifications as calls;
use crate::crypto::SignType;
use crate::notify::{NotificationFilter, NotificationRequest, NotificationState};

/// The notification verbs.
#[derive(Debug, Subcommand)]
pub enum NotificationCommand {
    /// Send a notification: from flags, or a NotificationRequest as JSON with --file.
    #[command(group(ArgGroup::new("from").required(true).args(["file", "app_id"])))]
    Send {
        /// A NotificationRequest as JSON (`-` for stdin), instead of the flags below.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["notify_url", "param", "sign_type", "charset", "delay"])]
        file: Option<String>,
        /// The app the notification speaks for.
        #[arg(long, value_name = "APP_ID", requires = "notify_url")]
        app_id: Option<String>,
        /// The handler's http:// URL (loopback or private network unless the server runs
        /// with --notify-allow).
        #[arg(long, value_name = "URL")]
        notify_url: Option<String>,
        /// A business parameter, NAME=VALUE (repeatable), e.g. trade_status=TRADE_SUCCESS.
        #[arg(long, value_name = "NAME=VALUE", value_parser = name_value)]
        param: Vec<(String, String)>,
        /// RSA2 or RSA (the server's default: RSA2).
        #[arg(long, value_name = "TYPE", value_parser = wire_value::<SignType>)]
        sign_type: Option<SignType>,
        /// utf-8, gbk or gb2312 (default utf-8).
        #[arg(long)]
        charset: Option<String>,
        /// Seconds on the gateway's clock before the first send.
        #[arg(long, value_name = "SECONDS")]
        delay: Option<u64>,
    },
    /// Notifications, oldest first.
    List {
        /// Only this app's.
        #[arg(long, value_name = "APP_ID")]
        app_id: Option<String>,
        /// Only pending, delivered or failed ones.
        #[arg(long, value_parser = wire_value::<NotificationState>)]
        state: Option<NotificationState>,
    },
    /// One notification: the body sent, the string signed, every attempt.
    Get {
        /// The notification id (its notify_id).
        id: String,
    },
    /// Send one again now (whatever its state); prints it with the attempt.
    Retry {
        /// The notification id.
        id: String,
    },
    /// Delete one; a pending one is never sent.
    Delete {
        /// The notification id.
        id: String,
    },
}

/// Reads `NAME=VALUE`.
fn name_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?}: expected NAME=VALUE")),
    }
}

impl NotificationCommand {
    /// The admin call this verb makes.
    pub(super) fn request(&self, read: Reader<'_>) -> Result<ApiRequest, String> {
        Ok(match self {
            NotificationCommand::Send {
                file: Some(file), ..
            } => calls::send_json(json_input(read, file)?),
            NotificationCommand::Send {
                app_id,
                notify_url,
                param,
                sign_type,
                charset,
                delay,
                ..
            } => calls::send(&NotificationRequest {
                app_id: app_id.clone().unwrap_or_default(),
                notify_url: notify_url.clone().unwrap_or_default(),
                params: param.iter().cloned().collect(),
                sign_type: *sign_type,
                charset: charset.clone(),
                delay_seconds: *delay,
            })
            .map_err(unwritable)?,
            NotificationCommand::List { app_id, state } => calls::list(&NotificationFilter {
                app_id: app_id.clone(),
                state: *state,
            }),
            NotificationCommand::Get { id } => calls::get(id),
            NotificationCommand::Retry { id } => calls::retry(id),
            NotificationCommand::Delete { id } => calls::delete(id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        verb: NotificationCommand,
    }

    fn request(args: &[&str]) -> Result<ApiRequest, String> {
        let cli = Cli::try_parse_from(std::iter::once("notifications").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.verb
            .request(&mut |_| Ok(r#"{"app_id":"a","notify_url":"u"}"#.to_owned()))
    }

    #[test]
    fn send_from_flags_builds_the_request_body_with_every_param() {
        let r = request(&[
            "send",
            "--app-id",
            "2014072300007148",
            "--notify-url",
            "http://127.0.0.1:8080/n",
            "--param",
            "trade_status=TRADE_SUCCESS",
            "--param",
            "subject=a=b",
            "--sign-type",
            "RSA",
            "--delay",
            "5",
        ])
        .unwrap();
        assert_eq!(r.target, "/__admin/notifications");
        let body: serde_json::Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "app_id": "2014072300007148",
                "notify_url": "http://127.0.0.1:8080/n",
                "params": {"subject": "a=b", "trade_status": "TRADE_SUCCESS"},
                "sign_type": "RSA",
                "delay_seconds": 5
            })
        );
    }

    #[test]
    fn send_needs_an_app_and_url_or_a_file_and_list_takes_only_known_states() {
        assert!(request(&["send", "--notify-url", "http://x/"]).is_err());
        assert!(request(&["send", "--app-id", "a"]).is_err());
        assert!(request(&[
            "send",
            "--app-id",
            "a",
            "--notify-url",
            "u",
            "--param",
            "novalue"
        ])
        .is_err());
        let from_file = request(&["send", "--file", "-"]).unwrap();
        assert_eq!(
            from_file.body.as_deref(),
            Some(r#"{"app_id":"a","notify_url":"u"}"#)
        );
        assert!(request(&["list", "--state", "lost"]).is_err());
        assert_eq!(
            request(&["list", "--state", "pending"]).unwrap().target,
            "/__admin/notifications?state=pending"
        );
    }
}
