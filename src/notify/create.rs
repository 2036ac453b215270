//! Making a notification: from the admin API's JSON (every field checked, a refusal
//! names the field and stores nothing) or from a method rule that fired
//! ([`TriggeredNotification`], queued without blocking the call).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::Duration;

use super::form::{self, FormError};
use super::policy::{Target, UrlError};
use super::record::{Notification, NotificationState};
use crate::crypto::SignType;
use crate::keyring::AppEntry;
use crate::methods::TriggeredNotification;
use crate::protocol::charset::Charset;
use crate::state::State;
use crate::store::StoreError;

/// The longest `delay_seconds`: 30 days.
pub const MAX_DELAY_SECONDS: u64 = 30 * 24 * 3600;

/// A notification to send, as `POST /__admin/notifications` takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRequest {
    /// The app the notification speaks for (its platform key signs it).
    pub app_id: String,
    /// Where to POST it: `http://` on a loopback or private-network address unless
    /// `--notify-allow` widens that.
    pub notify_url: String,
    /// The business parameters (`notify_type`, `out_trade_no`, `trade_status`, …).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// `RSA2` (default, unless the app registered only an RSA key) or `RSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_type: Option<SignType>,
    /// `utf-8` (default), `gbk` or `gb2312`: the body's charset and the `charset` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// Seconds on the gateway's clock before the first send (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<u64>,
}

/// Why a notification was not made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// Bad input: the field at fault and what is wrong. Nothing was stored.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (`app_id`, `notify_url`, `params.out_trade_no`, …).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The queue holds its maximum of pending notifications.
    #[error("{0} notifications are pending, the most the queue holds; wait for some to finish or delete some")]
    QueueFull(usize),
    /// The store failed; nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing failed, or its task died.
    #[error("cannot sign the notification: {0}")]
    Internal(String),
}

fn invalid(field: &str, message: impl Into<String>) -> CreateError {
    CreateError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl NotificationRequest {
    /// Reads the admin API's JSON body, naming the field at fault: `app_id` and
    /// `notify_url` are required strings, `params` an object of strings, `sign_type`
    /// `RSA2`/`RSA`, `charset` a string, `delay_seconds` a whole number.
    pub fn from_json(body: &[u8]) -> Result<NotificationRequest, CreateError> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| invalid("body", format!("invalid JSON: {e}")))?;
        let serde_json::Value::Object(object) = value else {
            return Err(invalid("body", "must be a JSON object"));
        };
        let mut request = NotificationRequest::default();
        let string = |name: &str, v: &serde_json::Value| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(name, "must be a string"))
        };
        for (name, v) in &object {
            match name.as_str() {
                "app_id" => request.app_id = string(name, v)?,
                "notify_url" => request.notify_url = string(name, v)?,
                "params" => {
                    let map = v
                        .as_object()
                        .ok_or_else(|| invalid("params", "must be an object of strings"))?;
                    for (key, value) in map {
                        let value = value.as_str().ok_or_else(|| {
                            invalid(&format!("params.{key}"), "must be a string")
                        })?;
                        request.params.insert(key.clone(), value.to_owned());
                    }
                }
                "sign_type" => {
                    let text = string(name, v)?;
                    request.sign_type = Some(
                        SignType::parse(&text)
                            .ok_or_else(|| invalid(name, "must be RSA2 or RSA"))?,
                    );
                }
                "charset" => request.charset = Some(string(name, v)?),
                "delay_seconds" => {
                    request.delay_seconds = Some(v.as_u64().ok_or_else(|| {
                        invalid(name, "must be a whole number of seconds, 0 or more")
                    })?)
                }
                other => {
                    return Err(invalid(
                        other,
                        "unknown field (known: app_id, notify_url, params, sign_type, charset, delay_seconds)",
                    ))
                }
            }
        }
        Ok(request)
    }
}

/// A request checked against the gateway's apps: everything needed to sign it.
struct Checked {
    app: Arc<AppEntry>,
    url: String,
    target: Target,
    sign_type: SignType,
    charset: Charset,
    delay: Duration,
    params: Vec<(String, String)>,
}

/// Checks everything but the address (that needs the resolver).
fn check(state: &State, request: NotificationRequest) -> Result<Checked, CreateError> {
    if request.app_id.is_empty() {
        return Err(invalid("app_id", "required"));
    }
    if request.notify_url.is_empty() {
        return Err(invalid("notify_url", "required"));
    }
    let app = state.keyring().get(&request.app_id).ok_or_else(|| {
        invalid(
            "app_id",
            format!("no app {} (see GET /__admin/apps)", request.app_id),
        )
    })?;
    let target =
        Target::parse(&request.notify_url).map_err(|e| invalid("notify_url", e.to_string()))?;
    let charset = match request.charset.as_deref() {
        None => Charset::utf8(),
        Some(label) => Charset::from_label(label)
            .ok_or_else(|| invalid("charset", "must be utf-8, gbk or gb2312"))?,
    };
    let sign_type = match request.sign_type {
        Some(sign_type) => sign_type,
        None => default_sign_type(&app),
    };
    // A key-mode app gets notifications signed the way it signs: with a sign type it
    // registered a key for. A certificate-mode app is signed with the certificate's key.
    if app.cert_mode().is_none() && app.public_key(sign_type).is_none() {
        return Err(invalid(
            "sign_type",
            format!(
                "app {} has no {sign_type} key (public_keys.{sign_type}); notifications are signed with a sign type the app registered",
                request.app_id
            ),
        ));
    }
    let delay = request.delay_seconds.unwrap_or(0);
    if delay > MAX_DELAY_SECONDS {
        return Err(invalid(
            "delay_seconds",
            format!("at most {MAX_DELAY_SECONDS} (30 days)"),
        ));
    }
    for name in form::RESERVED {
        if request.params.contains_key(name) {
            return Err(invalid(
                &format!("params.{name}"),
                "set by the gateway (give app_id, sign_type and charset as top-level fields)",
            ));
        }
    }
    if let Some(name) = request.params.keys().find(|n| n.is_empty()) {
        return Err(invalid(
            &format!("params.{name}"),
            "a parameter needs a name",
        ));
    }
    Ok(Checked {
        app,
        url: request.notify_url,
        target,
        sign_type,
        charset,
        // Bounded above, so the conversion cannot fail.
        delay: Duration::seconds(i64::try_from(delay).unwrap_or(0)),
        params: request.params.into_iter().collect(),
    })
}

/// RSA2 unless the app registered only an RSA key.
fn default_sign_type(app: &AppEntry) -> SignType {
    if app.cert_mode().is_none()
        && app.public_key(SignType::Rsa2).is_none()
        && app.public_key(SignType::Rsa).is_some()
    {
        SignType::Rsa
    } else {
        SignType::Rsa2
    }
}

/// Makes, signs, stores (flushed) and queues a notification; answers it as stored.
pub async fn create(
    state: &Arc<State>,
    request: NotificationRequest,
    source: String,
) -> Result<Notification, CreateError> {
    let checked = check(state, request)?;
    let notifications = state.notifications();
    // Bounded like an attempt's resolution, so a name whose DNS hangs cannot hold the
    // admin call.
    let limit = notifications.config().limits.connect_timeout;
    tokio::time::timeout(limit, notifications.policy().resolve(&checked.target))
        .await
        .map_err(|_| {
            invalid(
                "notify_url",
                format!(
                    "cannot resolve {} within {} s",
                    checked.target.host,
                    limit.as_secs_f64()
                ),
            )
        })?
        .map_err(|e: UrlError| invalid("notify_url", e.to_string()))?;
    let max = notifications.config().max_pending;
    if notifications.queue().pending_count() >= max {
        return Err(CreateError::QueueFull(max));
    }
    // Records show UTC, whatever offset the clock was frozen with.
    let now = state.clock().now().to_offset(time::UtcOffset::UTC);
    let first_due = now.checked_add(checked.delay).unwrap_or(now);
    let worker_state = Arc::clone(state);
    let notification = tokio::task::spawn_blocking(move || {
        // A full disk is refused before sled sees the write (see Store::writable).
        worker_state.store().prepare_write()?;
        let queue = worker_state.notifications().queue();
        let id = new_notify_id();
        let params = form::with_common_fields(
            &checked.params,
            &id,
            first_due,
            &checked.app.app.app_id,
            &checked.charset,
            checked.sign_type,
        );
        let (key, cert_mode) = match checked.app.cert_mode() {
            Some(cert) => (&*cert.platform.key, true),
            None => (checked.app.platform_key(), false),
        };
        let signed = form::sign_and_encode(params, key, checked.sign_type, &checked.charset)
            .map_err(|e| match e {
                FormError::NotRepresentable(name, _) => invalid(
                    &format!("params.{name}"),
                    format!(
                        "holds a character {} cannot represent",
                        checked.charset.label()
                    ),
                ),
                FormError::Sign(e) => CreateError::Internal(e.to_string()),
            })?;
        let notification = Notification {
            id,
            seq: queue.next_seq(),
            app_id: checked.app.app.app_id.clone(),
            notify_url: checked.url.clone(),
            sign_type: checked.sign_type,
            charset: checked.charset.label().to_owned(),
            cert_mode,
            source,
            params: signed.params,
            sign_content: signed.sign_content,
            body: signed.body,
            created_at: now,
            state: NotificationState::Pending,
            next_attempt_at: Some(first_due),
            attempts: Vec::new(),
        };
        let opening = worker_state.store().opening();
        queue.insert(&notification)?;
        Ok::<_, CreateError>((notification, opening))
    })
    .await
    .map_err(|e| CreateError::Internal(e.to_string()))??;
    let (notification, opening) = notification;
    super::flush_record(state, &notification.id, opening)
        .await
        .map_err(|e| match e {
            super::NotificationError::Store(e) => CreateError::Store(e),
            other => CreateError::Internal(other.to_string()),
        })?;
    state.metrics().notification_created();
    notifications.wake();
    Ok(notification)
}

/// A fresh `notify_id`: 32 hex digits, random.
fn new_notify_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// What [`super::trigger`] queues becomes a request for [`create`].
pub(super) fn from_trigger(t: TriggeredNotification) -> (NotificationRequest, String) {
    (
        NotificationRequest {
            app_id: t.app_id,
            notify_url: t.notify_url,
            // A rule cannot set what the gateway sets; empty values are never sent.
            params: t
                .params
                .into_iter()
                .filter(|(name, value)| {
                    !name.is_empty()
                        && !value.is_empty()
                        && !form::RESERVED.contains(&name.as_str())
                })
                .collect(),
            sign_type: Some(t.sign_type),
            charset: Some(t.charset),
            delay_seconds: Some(t.delay_seconds),
        },
        "rule".to_owned(),
    )
}
