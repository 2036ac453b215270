//! What `alipay-mock admin` prints: the answer rendered for a shell user, and every
//! failure worded with what to change on the command line (`--token`, `--url`, the
//! environment variables). The library's own errors name no flag; this is where the
//! flags are named.

use serde_json::Value;

use crate::client::transport::{Answer, TransportError};
use crate::config::{ADMIN_TOKEN_ENV, URL_ENV};

/// What to print: pretty JSON for a 2xx JSON body (in the server's key order), the text
/// of any other 2xx body, nothing for an empty one (204). Otherwise an error with the
/// status and the server's `error` (or its body, when that is not the admin API's error
/// shape, as on a gateway without the admin API).
pub(super) fn render(answer: &Answer) -> Result<String, String> {
    let text = String::from_utf8_lossy(&answer.body);
    if answer.is_success() {
        if text.trim().is_empty() {
            return Ok(String::new());
        }
        return match serde_json::from_str::<Value>(&text) {
            Ok(json) => serde_json::to_string_pretty(&json).map_err(|e| e.to_string()),
            Err(_) => Ok(text.into_owned()),
        };
    }
    let said = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|json| json.get("error")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| text.trim().to_owned());
    let mut message = format!("HTTP {}", answer.status_line);
    if !said.is_empty() {
        message.push_str(": ");
        message.push_str(&said);
    }
    if answer.status == 401 {
        message.push_str(&format!(
            " (the gateway runs with --admin-token: pass --token or set {ADMIN_TOKEN_ENV})"
        ));
    }
    Err(message)
}

/// A transport failure, with the flag or variable that would change it.
pub(super) fn transport_error(error: TransportError) -> String {
    match error {
        TransportError::Connect { .. } => format!(
            "{error} (is `alipay-mock serve` running there? --url or {URL_ENV} names another address)"
        ),
        TransportError::Token(_) => format!("{error} (check --token)"),
        TransportError::Timeout { .. } | TransportError::Http(_) => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn answer(status: u16, reason: &str, body: &str) -> Answer {
        Answer {
            status,
            status_line: format!("{status} {reason}"),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn a_json_answer_prints_pretty_in_the_server_order() {
        assert_eq!(
            render(&answer(200, "OK", r#"{"status":"ok","b":1,"a":[]}"#)).unwrap(),
            "{\n  \"status\": \"ok\",\n  \"b\": 1,\n  \"a\": []\n}"
        );
    }

    #[test]
    fn an_empty_answer_prints_nothing_and_text_prints_as_is() {
        assert_eq!(render(&answer(204, "No Content", "")).unwrap(), "");
        assert_eq!(
            render(&answer(200, "OK", "openapi: 3.0.3\n")).unwrap(),
            "openapi: 3.0.3\n"
        );
    }

    #[test]
    fn an_error_names_the_status_and_the_servers_error() {
        assert_eq!(
            render(&answer(404, "Not Found", r#"{"error":"no app 42"}"#)).unwrap_err(),
            "HTTP 404 Not Found: no app 42"
        );
        assert_eq!(
            render(&answer(
                404,
                "Not Found",
                "Not Found: the gateway is at /gateway.do\n"
            ))
            .unwrap_err(),
            "HTTP 404 Not Found: Not Found: the gateway is at /gateway.do"
        );
        assert_eq!(
            render(&answer(500, "Internal Server Error", "")).unwrap_err(),
            "HTTP 500 Internal Server Error"
        );
    }

    #[test]
    fn a_401_says_how_to_give_the_token() {
        let err = render(&answer(
            401,
            "Unauthorized",
            r#"{"error":"admin token required"}"#,
        ))
        .unwrap_err();
        assert!(
            err.starts_with("HTTP 401 Unauthorized: admin token required")
                && err.contains("--token")
                && err.contains(ADMIN_TOKEN_ENV),
            "{err}"
        );
    }
}
