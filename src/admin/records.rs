//! Admin endpoints for the stored records: apps, identities and authorisations.

use std::sync::Arc;

use hyper::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{merge_patch, not_allowed, read, remove_scenarios, Admin, AdminRequest, AdminResponse};
use crate::control::Rejection;
use crate::gateway::Gateway;
use crate::keyring::AppEntry;
use crate::model::{deterministic_open_id, App, AuthCategory, Authorization, Identity};

/// An app as the admin API shows it: the record plus the public half of the key that
/// signs its responses (what an SDK takes as "Alipay public key").
#[derive(Serialize)]
struct AppView {
    #[serde(flatten)]
    app: App,
    platform_public_key: String,
}

/// The view of an app from its parsed entry (no key is parsed again).
fn view(entry: &AppEntry) -> Result<AppView, Rejection> {
    Ok(AppView {
        app: entry.app.clone(),
        platform_public_key: entry
            .platform_public_key_pem()
            .map_err(|e| Rejection::internal(e.to_string()))?,
    })
}

/// Ids travel in URLs and store keys: keep them to a safe alphabet.
fn check_id(kind: &str, id: &str) -> Result<(), Rejection> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Rejection::bad_request(format!(
            "{kind} must be 1 to 64 characters of A-Z a-z 0-9 _ - . (got {id:?})"
        )))
    }
}

fn missing(kind: &str, id: &str) -> Rejection {
    Rejection::not_found(format!("no {kind} {id:?}"))
}

/// Whether a write replaces a record (PUT, PATCH) or creates one (POST).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Existing {
    MustExist,
    MustNotExist,
}

impl Existing {
    /// 404 for replacing what is not there, 409 for creating what is.
    fn check(self, exists: bool, kind: &str, collection: &str, id: &str) -> Result<(), Rejection> {
        match (self, exists) {
            (Existing::MustExist, false) => Err(missing(kind, id)),
            (Existing::MustNotExist, true) => Err(Rejection::conflict(format!(
                "{kind} {id:?} exists; PUT /__admin/{collection}/{id} replaces it"
            ))),
            _ => Ok(()),
        }
    }

    /// 201 for a creation, 200 for a replacement.
    fn status(self) -> u16 {
        match self {
            Existing::MustNotExist => 201,
            Existing::MustExist => 200,
        }
    }
}

/// The record a PUT or PATCH body describes: the path's id fills a missing id field and
/// must match a present one. A PATCH merges the body into `current` first.
fn replacement<T: serde::de::DeserializeOwned>(
    id_field: &str,
    path_id: &str,
    mut body: Map<String, Value>,
    current: Option<&impl Serialize>,
) -> Result<T, Rejection> {
    // The read-only `platform_public_key` of an earlier answer may come back: ignore it.
    body.remove("platform_public_key");
    let mut merged = match current {
        Some(record) => match merge_patch(record, body)? {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        None => body,
    };
    let body_id = merged
        .entry(id_field)
        .or_insert_with(|| Value::String(path_id.to_owned()));
    if body_id.as_str() != Some(path_id) {
        return Err(Rejection::bad_request(format!(
            "{id_field} in the body ({body_id}) differs from the path ({path_id:?})"
        )));
    }
    serde_json::from_value(Value::Object(merged))
        .map_err(|e| Rejection::bad_request(format!("invalid {id_field} record: {e}")))
}

/// `/__admin/apps[/{app_id}]`.
pub(super) async fn apps(
    admin: &Admin,
    gateway: &Arc<Gateway>,
    request: &AdminRequest<'_>,
    rest: &[&str],
) -> Result<AdminResponse, Rejection> {
    request.query(&[])?;
    match (request.method, rest) {
        (&Method::GET, []) => {
            // The key ring holds every stored app, parsed: no store scan, no key parsing.
            let mut views = Vec::new();
            for entry in gateway.keyring.all() {
                views.push(view(&entry)?);
            }
            views.sort_by(|a, b| a.app.app_id.cmp(&b.app.app_id));
            Ok(AdminResponse::json(200, &views))
        }
        (&Method::POST, []) => {
            let mut body: Map<String, Value> = request.json()?;
            body.remove("platform_public_key");
            let app: App = serde_json::from_value(Value::Object(body))
                .map_err(|e| Rejection::bad_request(format!("invalid app: {e}")))?;
            write_app(admin, gateway, app, Existing::MustNotExist).await
        }
        (&Method::GET, [app_id]) => {
            let entry = gateway
                .keyring
                .get(app_id)
                .ok_or_else(|| missing("app", app_id))?;
            Ok(AdminResponse::json(200, &view(&entry)?))
        }
        (&Method::PUT, [app_id]) => {
            let app = replacement("app_id", app_id, request.json()?, None::<&App>)?;
            write_app(admin, gateway, app, Existing::MustExist).await
        }
        (&Method::PATCH, [app_id]) => {
            let current = gateway
                .keyring
                .get(app_id)
                .ok_or_else(|| missing("app", app_id))?;
            let app = replacement("app_id", app_id, request.json()?, Some(&current.app))?;
            write_app(admin, gateway, app, Existing::MustExist).await
        }
        (&Method::DELETE, [app_id]) => {
            let app_id = app_id.to_string();
            let id = app_id.clone();
            admin
                .commit(
                    gateway,
                    move |g| {
                        g.store.app(&id)?.ok_or_else(|| missing("app", &id))?;
                        let mut plan = g.store.delete_app_plan(&id)?;
                        let ids = remove_scenarios(g, &mut plan, Some(&id));
                        Ok((plan, ids))
                    },
                    |g, ids| {
                        g.keyring.remove(&app_id);
                        g.scenarios.remove_ids(&ids);
                        g.faults.clear(&app_id);
                    },
                )
                .await?;
            Ok(AdminResponse::empty())
        }
        _ => Err(not_allowed(request.method)),
    }
}

async fn write_app(
    admin: &Admin,
    gateway: &Arc<Gateway>,
    app: App,
    existing: Existing,
) -> Result<AdminResponse, Rejection> {
    check_id("app_id", &app.app_id)?;
    let view = admin
        .commit(
            gateway,
            move |g| {
                let exists = g.store.app(&app.app_id)?.is_some();
                existing.check(exists, "app", "apps", &app.app_id)?;
                // Parse every key before anything is stored: a bad key is a 400 and
                // nothing changes.
                let entry = g
                    .keyring
                    .prepare(app.clone())
                    .map_err(|e| Rejection::bad_request(format!("app {}: {e}", app.app_id)))?;
                Ok((g.store.put_app_plan(&app), entry))
            },
            |g, entry| {
                let view = view(&entry);
                g.keyring.install(entry);
                view
            },
        )
        .await??;
    Ok(AdminResponse::json(existing.status(), &view))
}

/// `/__admin/identities[/{id}]`.
pub(super) async fn identities(
    admin: &Admin,
    gateway: &Arc<Gateway>,
    request: &AdminRequest<'_>,
    rest: &[&str],
) -> Result<AdminResponse, Rejection> {
    request.query(&[])?;
    let current = |id: &str| {
        let id = id.to_owned();
        read(gateway, move |g| {
            g.store
                .identity(&id)?
                .ok_or_else(|| missing("identity", &id))
        })
    };
    match (request.method, rest) {
        (&Method::GET, []) => {
            let all = read(gateway, |g| Ok(g.store.identities()?)).await?;
            Ok(AdminResponse::json(200, &all))
        }
        (&Method::POST, []) => {
            let identity: Identity = request.json()?;
            write_identity(admin, gateway, identity, Existing::MustNotExist).await
        }
        (&Method::GET, [id]) => Ok(AdminResponse::json(200, &current(id).await?)),
        (&Method::PUT, [id]) => {
            let identity = replacement("id", id, request.json()?, None::<&Identity>)?;
            write_identity(admin, gateway, identity, Existing::MustExist).await
        }
        (&Method::PATCH, [id]) => {
            let existing = current(id).await?;
            let identity = replacement("id", id, request.json()?, Some(&existing))?;
            write_identity(admin, gateway, identity, Existing::MustExist).await
        }
        (&Method::DELETE, [id]) => {
            let id = id.to_string();
            admin
                .commit(
                    gateway,
                    move |g| {
                        let identity = g
                            .store
                            .identity(&id)?
                            .ok_or_else(|| missing("identity", &id))?;
                        Ok((g.store.delete_identity_plan(&identity)?, ()))
                    },
                    |_, ()| {},
                )
                .await?;
            Ok(AdminResponse::empty())
        }
        _ => Err(not_allowed(request.method)),
    }
}

async fn write_identity(
    admin: &Admin,
    gateway: &Arc<Gateway>,
    identity: Identity,
    existing: Existing,
) -> Result<AdminResponse, Rejection> {
    check_id("id", &identity.id)?;
    identity.validate().map_err(Rejection::bad_request)?;
    let stored = identity.clone();
    admin
        .commit(
            gateway,
            move |g| {
                let exists = g.store.identity(&stored.id)?.is_some();
                existing.check(exists, "identity", "identities", &stored.id)?;
                Ok((g.store.put_identity_plan(&stored)?, ()))
            },
            |_, ()| {},
        )
        .await?;
    Ok(AdminResponse::json(existing.status(), &identity))
}

/// The body of a grant.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    app_id: String,
    identity: String,
    #[serde(default)]
    auth_category: AuthCategory,
    #[serde(default)]
    open_id: Option<String>,
}

/// The answer to a revoke.
#[derive(Serialize)]
struct Revoked {
    revoked: usize,
}

/// The API document's limit on `open_id`.
const OPEN_ID_MAX: usize = 64;

/// `/__admin/authorizations`.
pub(super) async fn authorizations(
    admin: &Admin,
    gateway: &Arc<Gateway>,
    request: &AdminRequest<'_>,
) -> Result<AdminResponse, Rejection> {
    match *request.method {
        Method::GET => {
            let query = request.query(&["app_id", "identity"])?;
            let app_id = query.get("app_id").map(str::to_owned);
            let identity = query.get("identity").map(str::to_owned);
            let list = read(gateway, move |g| {
                Ok(g.store
                    .authorizations(app_id.as_deref(), identity.as_deref())?)
            })
            .await?;
            Ok(AdminResponse::json(200, &list))
        }
        Method::POST => {
            request.query(&[])?;
            let grant: Grant = request.json()?;
            if let Some(open_id) = &grant.open_id {
                if open_id.trim().is_empty() || open_id.len() > OPEN_ID_MAX {
                    return Err(Rejection::bad_request(format!(
                        "open_id must be 1 to {OPEN_ID_MAX} characters (leave it out for a derived one)"
                    )));
                }
            }
            let granted = admin
                .commit(
                    gateway,
                    move |g| {
                        g.store
                            .app(&grant.app_id)?
                            .ok_or_else(|| missing("app", &grant.app_id))?;
                        g.store
                            .identity(&grant.identity)?
                            .ok_or_else(|| missing("identity", &grant.identity))?;
                        let open_id = grant.open_id.unwrap_or_else(|| {
                            deterministic_open_id(
                                &grant.app_id,
                                &grant.identity,
                                grant.auth_category,
                            )
                        });
                        let auth = Authorization {
                            app_id: grant.app_id,
                            identity: grant.identity,
                            auth_category: grant.auth_category,
                            open_id,
                        };
                        Ok((g.store.put_authorization_plan(&auth), auth))
                    },
                    |_, auth| auth,
                )
                .await?;
            Ok(AdminResponse::json(201, &granted))
        }
        Method::DELETE => {
            let query = request.query(&["app_id", "identity", "auth_category"])?;
            let (Some(app_id), Some(identity)) = (query.get("app_id"), query.get("identity"))
            else {
                return Err(Rejection::bad_request(
                    "revoking needs ?app_id=…&identity=… (and optionally &auth_category=…)",
                ));
            };
            let category = match query.get("auth_category") {
                None => None,
                Some(c) => Some(AuthCategory::parse(c).ok_or_else(|| {
                    Rejection::bad_request(format!("auth_category {c:?} is not C2B, C2ConB or B2B"))
                })?),
            };
            let (app_id, identity) = (app_id.to_owned(), identity.to_owned());
            let revoked = admin
                .commit(
                    gateway,
                    move |g| {
                        let doomed: Vec<Authorization> = g
                            .store
                            .authorizations(Some(&app_id), Some(&identity))?
                            .into_iter()
                            .filter(|a| category.is_none_or(|c| a.auth_category == c))
                            .collect();
                        if doomed.is_empty() {
                            return Err(Rejection::not_found(format!(
                                "{identity:?} has no such authorisation of app {app_id:?}"
                            )));
                        }
                        Ok((g.store.revoke_plan(&doomed), doomed.len()))
                    },
                    |_, revoked| revoked,
                )
                .await?;
            Ok(AdminResponse::json(200, &Revoked { revoked }))
        }
        _ => Err(not_allowed(request.method)),
    }
}
