//! Admin endpoints for the stored records: apps, identities and authorisations.

use std::sync::Arc;

use hyper::Method;
use serde::{Deserialize, Serialize};

use super::{merge_patch, read, Admin, AdminRequest, AdminResponse};
use crate::control::Rejection;
use crate::gateway::Gateway;
use crate::model::{deterministic_open_id, App, AuthCategory, Authorization, Identity};

/// An app as the admin API shows it: the record plus the public half of the key that
/// signs its responses (what an SDK takes as "Alipay public key").
#[derive(Serialize)]
struct AppView {
    #[serde(flatten)]
    app: App,
    platform_public_key: String,
}

fn view(gateway: &Gateway, app: App) -> Result<AppView, Rejection> {
    let entry = gateway.keyring.prepare(app.clone()).map_err(|e| {
        Rejection::internal(format!("stored app {} has a bad key: {e}", app.app_id))
    })?;
    let platform_public_key = entry
        .platform_public_key_pem()
        .map_err(|e| Rejection::internal(e.to_string()))?;
    Ok(AppView {
        app,
        platform_public_key,
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

fn check_path_id(kind: &str, in_path: &str, in_body: &str) -> Result<(), Rejection> {
    if in_path == in_body {
        Ok(())
    } else {
        Err(Rejection::bad_request(format!(
            "{kind} in the body ({in_body:?}) differs from the path ({in_path:?})"
        )))
    }
}

fn missing(kind: &str, id: &str) -> Rejection {
    Rejection::not_found(format!("no {kind} {id:?}"))
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
            let views = read(gateway, |g| {
                g.store
                    .apps()?
                    .into_iter()
                    .map(|app| view(g, app))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
            Ok(AdminResponse::json(200, &views))
        }
        (&Method::POST, []) => {
            let app = app_from(request.json()?)?;
            write_app(admin, gateway, app, Existing::MustNotExist).await
        }
        (&Method::GET, [app_id]) => {
            let app_id = app_id.to_string();
            let found = read(gateway, move |g| {
                let app = g
                    .store
                    .app(&app_id)?
                    .ok_or_else(|| missing("app", &app_id))?;
                view(g, app)
            })
            .await?;
            Ok(AdminResponse::json(200, &found))
        }
        (&Method::PUT, [app_id]) => {
            let mut body: serde_json::Map<String, serde_json::Value> = request.json()?;
            body.entry("app_id")
                .or_insert_with(|| serde_json::Value::String(app_id.to_string()));
            let app = app_from(body)?;
            check_path_id("app_id", app_id, &app.app_id)?;
            write_app(admin, gateway, app, Existing::MustExist).await
        }
        (&Method::PATCH, [app_id]) => {
            let patch = request.json()?;
            let current = {
                let app_id = app_id.to_string();
                read(gateway, move |g| {
                    g.store.app(&app_id)?.ok_or_else(|| missing("app", &app_id))
                })
                .await?
            };
            let merged = match merge_patch(&current, patch)? {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            };
            let app = app_from(merged)?;
            check_path_id("app_id", app_id, &app.app_id)?;
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
                        let doomed = g
                            .scenarios
                            .snapshot(Some(&id))
                            .into_iter()
                            .map(|s| s.id)
                            .collect::<Vec<_>>();
                        for scenario in &doomed {
                            crate::store::Store::remove_scenario(&mut plan, scenario);
                        }
                        Ok((plan, ()))
                    },
                    |g, ()| {
                        g.keyring.remove(&app_id);
                        g.scenarios
                            .remove_where(|s| s.request.matcher.app_id.as_deref() == Some(&app_id));
                        g.faults.clear(&app_id);
                    },
                )
                .await?;
            Ok(AdminResponse::empty())
        }
        _ => Err(Rejection {
            status: 405,
            message: format!("{} is not allowed here", request.method),
        }),
    }
}

/// An app from a request body. The read-only `platform_public_key` of an earlier answer
/// is ignored, so what `GET` answered can be sent back with `PUT`.
fn app_from(mut body: serde_json::Map<String, serde_json::Value>) -> Result<App, Rejection> {
    body.remove("platform_public_key");
    serde_json::from_value(body.into())
        .map_err(|e| Rejection::bad_request(format!("invalid app: {e}")))
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
}

async fn write_app(
    admin: &Admin,
    gateway: &Arc<Gateway>,
    app: App,
    existing: Existing,
) -> Result<AdminResponse, Rejection> {
    check_id("app_id", &app.app_id)?;
    // Parse every key now: a bad key is a 400 and nothing is stored.
    let entry = gateway
        .keyring
        .prepare(app.clone())
        .map_err(|e| Rejection::bad_request(format!("app {}: {e}", app.app_id)))?;
    let platform_public_key = entry
        .platform_public_key_pem()
        .map_err(|e| Rejection::internal(e.to_string()))?;
    let stored = app.clone();
    admin
        .commit(
            gateway,
            move |g| {
                let exists = g.store.app(&stored.app_id)?.is_some();
                existing.check(exists, "app", "apps", &stored.app_id)?;
                Ok((g.store.put_app_plan(&stored), ()))
            },
            |g, ()| g.keyring.install(entry),
        )
        .await?;
    let status = if existing == Existing::MustNotExist {
        201
    } else {
        200
    };
    Ok(AdminResponse::json(
        status,
        &AppView {
            app,
            platform_public_key,
        },
    ))
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
            let mut body: serde_json::Map<String, serde_json::Value> = request.json()?;
            body.entry("id")
                .or_insert_with(|| serde_json::Value::String(id.to_string()));
            let identity: Identity = serde_json::from_value(body.into())
                .map_err(|e| Rejection::bad_request(format!("invalid identity: {e}")))?;
            check_path_id("id", id, &identity.id)?;
            write_identity(admin, gateway, identity, Existing::MustExist).await
        }
        (&Method::PATCH, [id]) => {
            let patch = request.json()?;
            let merged = merge_patch(&current(id).await?, patch)?;
            let identity: Identity = serde_json::from_value(merged).map_err(|e| {
                Rejection::bad_request(format!("invalid identity after patch: {e}"))
            })?;
            check_path_id("id", id, &identity.id)?;
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
        _ => Err(Rejection {
            status: 405,
            message: format!("{} is not allowed here", request.method),
        }),
    }
}

async fn write_identity(
    admin: &Admin,
    gateway: &Arc<Gateway>,
    identity: Identity,
    existing: Existing,
) -> Result<AdminResponse, Rejection> {
    check_id("id", &identity.id)?;
    if identity.cert_no.is_none() && identity.user_id.is_none() {
        return Err(Rejection::bad_request(
            "an identity needs a cert_no (with name) or a user_id",
        ));
    }
    if identity.cert_no.is_some() && identity.name.is_none() {
        return Err(Rejection::bad_request(
            "an identity with a cert_no needs a name",
        ));
    }
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
    let status = if existing == Existing::MustNotExist {
        201
    } else {
        200
    };
    Ok(AdminResponse::json(status, &identity))
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
                    |_, _| {},
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
                    |_, _| {},
                )
                .await?;
            Ok(AdminResponse::json(200, &Revoked { revoked }))
        }
        _ => Err(Rejection {
            status: 405,
            message: format!("{} is not allowed here", request.method),
        }),
    }
}
