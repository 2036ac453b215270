//! Admin endpoints for test control: readiness, scenarios, faults, the request journal
//! and reset. `?app_id=` scopes scenarios, faults, the journal and reset to one app, so
//! parallel tests can share one gateway.

use std::sync::Arc;

use hyper::Method;
use serde::Serialize;
use time::OffsetDateTime;

use super::{not_allowed, read, remove_scenarios, Admin, AdminRequest, AdminResponse};
use crate::control::faults::{scope, FaultConfig};
use crate::control::journal::Filter;
use crate::control::scenarios::ScenarioRequest;
use crate::control::Rejection;
use crate::gateway::Gateway;
use crate::store::{Plan, Store};

#[derive(Serialize)]
struct Ready {
    status: &'static str,
    apps: usize,
    identities: usize,
    authorizations: usize,
    scenarios: usize,
    fixtures_digest: String,
    seeded_from: Option<String>,
}

/// `GET /__admin/ready`: the gateway only listens once keys and store are loaded, so an
/// answer means ready; it reports what is loaded.
pub(super) async fn ready(gateway: &Arc<Gateway>) -> Result<AdminResponse, Rejection> {
    let ready = read(gateway, |g| {
        let counts = g.store.counts();
        Ok(Ready {
            status: "ready",
            apps: counts.apps,
            identities: counts.identities,
            authorizations: counts.authorizations,
            scenarios: g.scenarios.len(),
            fixtures_digest: g.fixtures.digest.clone(),
            seeded_from: g.store.seeded_from()?,
        })
    })
    .await?;
    Ok(AdminResponse::json(200, &ready))
}

#[derive(Serialize)]
struct Deleted {
    deleted: usize,
}

/// `/__admin/scenarios[/{id}]`.
pub(super) async fn scenarios(
    admin: &Admin,
    gateway: &Arc<Gateway>,
    request: &AdminRequest<'_>,
    rest: &[&str],
) -> Result<AdminResponse, Rejection> {
    match (request.method, rest) {
        (&Method::GET, []) => {
            let query = request.query(&["app_id"])?;
            Ok(AdminResponse::json(
                200,
                &gateway.scenarios.snapshot(query.get("app_id")),
            ))
        }
        (&Method::POST, []) => {
            let query = request.query(&["app_id"])?;
            let mut scenario_request: ScenarioRequest = request.json()?;
            // `?app_id=` scopes a new scenario to that app, like every scoped endpoint.
            if let Some(app_id) = query.get("app_id") {
                match &scenario_request.matcher.app_id {
                    Some(other) if other != app_id => {
                        return Err(Rejection::bad_request(format!(
                            "match.app_id {other:?} differs from ?app_id={app_id}"
                        )))
                    }
                    _ => scenario_request.matcher.app_id = Some(app_id.to_owned()),
                }
            }
            let id = format!("sc_{:016x}", rand::random::<u64>());
            let scenario = scenario_request.into_scenario(id, OffsetDateTime::now_utc())?;
            let stored = scenario.clone();
            admin
                .commit(
                    gateway,
                    move |_| {
                        let mut plan = Plan::default();
                        Store::put_scenario(&mut plan, &stored.id, &stored);
                        Ok((plan, ()))
                    },
                    |g, ()| g.scenarios.add(scenario.clone()),
                )
                .await?;
            Ok(AdminResponse::json(201, &scenario))
        }
        (&Method::DELETE, []) => {
            let query = request.query(&["app_id"])?;
            let app_id = query.get("app_id").map(str::to_owned);
            let deleted = admin
                .commit(
                    gateway,
                    move |g| {
                        let mut plan = Plan::default();
                        let ids = remove_scenarios(g, &mut plan, app_id.as_deref());
                        Ok((plan, ids))
                    },
                    |g, ids| {
                        g.scenarios.remove_ids(&ids);
                        ids.len()
                    },
                )
                .await?;
            Ok(AdminResponse::json(200, &Deleted { deleted }))
        }
        (&Method::GET, [id]) => {
            request.query(&[])?;
            gateway
                .scenarios
                .snapshot(None)
                .into_iter()
                .find(|s| s.id == *id)
                .map(|s| AdminResponse::json(200, &s))
                .ok_or_else(|| Rejection::not_found(format!("no scenario {id:?}")))
        }
        (&Method::DELETE, [id]) => {
            request.query(&[])?;
            let id = id.to_string();
            admin
                .commit(
                    gateway,
                    move |g| {
                        if !g.scenarios.ids(None).contains(&id) {
                            return Err(Rejection::not_found(format!("no scenario {id:?}")));
                        }
                        let mut plan = Plan::default();
                        Store::remove_scenario(&mut plan, &id);
                        Ok((plan, vec![id]))
                    },
                    |g, ids| g.scenarios.remove_ids(&ids),
                )
                .await?;
            Ok(AdminResponse::empty())
        }
        _ => Err(not_allowed(request.method)),
    }
}

/// `/__admin/faults`.
pub(super) async fn faults(
    admin: &Admin,
    gateway: &Arc<Gateway>,
    request: &AdminRequest<'_>,
) -> Result<AdminResponse, Rejection> {
    let query = request.query(&["app_id"])?;
    let key = scope(query.get("app_id"));
    match *request.method {
        Method::GET => Ok(match gateway.faults.get(&key) {
            Some(config) => AdminResponse::json(200, &config),
            None => AdminResponse::json(200, &serde_json::json!({})),
        }),
        Method::PUT => {
            let config: FaultConfig = request.json()?;
            config.validate()?;
            let stored = (key.clone(), config.clone());
            admin
                .commit(
                    gateway,
                    move |_| {
                        let mut plan = Plan::default();
                        Store::put_faults(&mut plan, &stored.0, &stored.1);
                        Ok((plan, ()))
                    },
                    |g, ()| g.faults.set(key.clone(), config.clone()),
                )
                .await?;
            Ok(AdminResponse::json(200, &config))
        }
        Method::DELETE => {
            let doomed = key.clone();
            admin
                .commit(
                    gateway,
                    move |_| {
                        let mut plan = Plan::default();
                        Store::remove_faults(&mut plan, &doomed);
                        Ok((plan, ()))
                    },
                    |g, ()| g.faults.clear(&key),
                )
                .await?;
            Ok(AdminResponse::empty())
        }
        _ => Err(not_allowed(request.method)),
    }
}

#[derive(Serialize)]
struct Requests {
    total: usize,
    requests: Vec<crate::control::journal::JournalEntry>,
}

/// `/__admin/requests`: the journal.
pub(super) async fn requests(
    gateway: &Arc<Gateway>,
    request: &AdminRequest<'_>,
) -> Result<AdminResponse, Rejection> {
    match *request.method {
        Method::GET => {
            let query = request.query(&["method", "app_id", "outcome", "since", "limit"])?;
            let since = match query.get("since") {
                None => None,
                Some(text) => Some(
                    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| {
                            Rejection::bad_request(format!(
                                "since {text:?} is not an RFC 3339 time (e.g. 2026-01-02T03:04:05Z)"
                            ))
                        })?,
                ),
            };
            let limit = match query.get("limit") {
                None => None,
                Some(text) => Some(text.parse::<usize>().map_err(|_| {
                    Rejection::bad_request(format!("limit {text:?} is not a count"))
                })?),
            };
            let filter = Filter {
                method: query.get("method").map(str::to_owned),
                app_id: query.get("app_id").map(str::to_owned),
                outcome: query.get("outcome").map(str::to_owned),
                since,
                limit,
            };
            // Copying and serialising up to --journal-max entries is blocking work.
            read(gateway, move |g| {
                let (total, requests) = g.journal.query(&filter);
                Ok(AdminResponse::json(200, &Requests { total, requests }))
            })
            .await
        }
        Method::DELETE => {
            let query = request.query(&["app_id"])?;
            let deleted = gateway.journal.clear(query.get("app_id"));
            Ok(AdminResponse::json(200, &Deleted { deleted }))
        }
        _ => Err(not_allowed(request.method)),
    }
}

/// `POST /__admin/reset[?app_id=]`: back to the fixtures.
pub(super) async fn reset(
    admin: &Admin,
    gateway: &Arc<Gateway>,
    request: &AdminRequest<'_>,
) -> Result<AdminResponse, Rejection> {
    let query = request.query(&["app_id"])?;
    match query.get("app_id").map(str::to_owned) {
        None => {
            admin
                .commit(
                    gateway,
                    |g| {
                        // Parse the fixture apps' keys first: once the store is reset,
                        // memory follows without a step that can fail.
                        let entries = prepare_fixture_apps(g, None)?;
                        Ok((g.store.reset_plan(&g.fixtures)?, entries))
                    },
                    |g, entries| {
                        g.keyring.replace_all(entries);
                        g.scenarios.load(Vec::new());
                        g.faults.clear_all();
                        g.journal.clear(None);
                    },
                )
                .await?;
            Ok(AdminResponse::json(
                200,
                &serde_json::json!({"reset": "all"}),
            ))
        }
        Some(app_id) => {
            let id = app_id.clone();
            admin
                .commit(
                    gateway,
                    move |g| {
                        let entry = prepare_fixture_apps(g, Some(&id))?.pop();
                        let mut plan = g.store.reset_app_plan(&g.fixtures, &id)?;
                        let ids = remove_scenarios(g, &mut plan, Some(&id));
                        Ok((plan, (entry, ids)))
                    },
                    |g, (entry, ids)| {
                        match entry {
                            Some(entry) => g.keyring.install(entry),
                            None => g.keyring.remove(&app_id),
                        }
                        g.scenarios.remove_ids(&ids);
                        g.faults.clear(&app_id);
                        g.journal.clear(Some(&app_id));
                    },
                )
                .await?;
            Ok(AdminResponse::json(
                200,
                &serde_json::json!({"reset": app_id}),
            ))
        }
    }
}

fn prepare_fixture_apps(
    gateway: &Gateway,
    only: Option<&str>,
) -> Result<Vec<crate::keyring::AppEntry>, Rejection> {
    gateway
        .fixtures
        .apps
        .iter()
        .filter(|a| only.is_none_or(|id| a.app_id == id))
        .map(|a| {
            gateway
                .keyring
                .prepare(a.clone())
                .map_err(|e| Rejection::internal(format!("fixture app {}: {e}", a.app_id)))
        })
        .collect()
}
