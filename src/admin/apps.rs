//! `/__admin/apps[/{app_id}]`: apps, their keys, certificates and AES keys, and the
//! platform key that signs their answers. Every key and certificate is parsed before
//! anything is stored; a bad one is a 400 naming the field.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::records::{app_entry, check_id, missing, replacement, Existing, READ_ONLY};
use super::{json, no_content, Input};
use crate::admin::Rejection;
use crate::keyring::{AppEntry, CertSns};
use crate::model::App;
use crate::reply::Reply;
use crate::state::State;

/// An app as the admin API shows it: the record plus the public half of the key that
/// signs its responses (what an SDK takes as "Alipay public key") and, in certificate
/// mode, the SNs of its certificates. Both are read-only: a body that sends them back is
/// accepted and they are ignored ([`READ_ONLY`]).
#[derive(Serialize)]
struct AppView {
    #[serde(flatten)]
    app: App,
    platform_public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cert_sns: Option<CertSns>,
}

/// The view of an app from its parsed entry (no key is parsed again).
fn view(entry: &AppEntry) -> Result<AppView, Rejection> {
    Ok(AppView {
        app: entry.app.clone(),
        platform_public_key: entry
            .platform_public_key_pem()
            .map_err(|e| Rejection::internal(e.to_string()))?,
        cert_sns: entry.cert_sns(),
    })
}

/// `GET /__admin/apps`.
pub(super) async fn list(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    // The key ring holds every stored app, parsed: no store scan, no key parsing.
    let mut views = Vec::new();
    for entry in state.keyring().all() {
        views.push(view(&entry)?);
    }
    views.sort_by(|a, b| a.app.app_id.cmp(&b.app.app_id));
    Ok(json(200, &views))
}

/// `POST /__admin/apps`.
pub(super) async fn post(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let mut body: Map<String, Value> = request.json()?;
    for key in READ_ONLY {
        body.remove(*key);
    }
    let app: App = serde_json::from_value(Value::Object(body))
        .map_err(|e| Rejection::bad_request(format!("invalid app: {e}")))?;
    write_app(state, app, Existing::MustNotExist).await
}

/// `GET /__admin/apps/{app_id}`.
pub(super) async fn get(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let entry = app_entry(state, request.id())?;
    Ok(json(200, &view(&entry)?))
}

/// `PUT /__admin/apps/{app_id}`.
pub(super) async fn put(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let app = replacement("app_id", request.id(), request.json()?, None::<&App>)?;
    write_app(state, app, Existing::MustExist).await
}

/// `PATCH /__admin/apps/{app_id}`.
pub(super) async fn patch(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let current = app_entry(state, request.id())?;
    let app = replacement("app_id", request.id(), request.json()?, Some(&current.app))?;
    write_app(state, app, Existing::MustExist).await
}

/// `DELETE /__admin/apps/{app_id}`: the app, its authorisations, scenarios and faults.
pub(super) async fn delete(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let app_id = request.id().to_owned();
    let id = app_id.clone();
    state
        .commit(
            move |g| {
                g.store().app(&id)?.ok_or_else(|| missing("app", &id))?;
                let mut plan = g.store().delete_app_plan(&id)?;
                let ids = g.remove_scenarios(&mut plan, Some(&id));
                Ok((plan, ids))
            },
            move |g, ids| {
                g.keyring().remove(&app_id);
                g.scenarios().remove_ids(&ids);
                g.faults().clear(&app_id);
            },
        )
        .await?;
    Ok(no_content())
}

async fn write_app(state: &Arc<State>, app: App, existing: Existing) -> Result<Reply, Rejection> {
    check_id("app_id", &app.app_id)?;
    let view = state
        .commit(
            move |g| {
                let exists = g.store().app(&app.app_id)?.is_some();
                existing.check(exists, "app", "apps", &app.app_id)?;
                // Parse every key before anything is stored: a bad key is a 400 and
                // nothing changes.
                let entry = g
                    .keyring()
                    .prepare(app.clone())
                    .map_err(|e| Rejection::bad_request(format!("app {}: {e}", app.app_id)))?;
                Ok((g.store().put_app_plan(&app), entry))
            },
            |g, entry| {
                let view = view(&entry);
                g.keyring().install(entry);
                view
            },
        )
        .await??;
    Ok(json(existing.status(), &view))
}

/// Creates an app (`POST /__admin/apps`): every key parsed first, 409 if it exists.
pub(crate) async fn create(state: &Arc<State>, app: App) -> Result<(), Rejection> {
    write_app(state, app, Existing::MustNotExist)
        .await
        .map(drop)
}
