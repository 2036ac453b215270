//! `/__admin/scenarios[/{id}]`: forced outcomes. `?app_id=` scopes a listing, a clear
//! or a new scenario to one app, so parallel tests can share one gateway.

use std::sync::Arc;

use super::{json, no_content, Deleted, Input};
use crate::admin::Rejection;
use crate::control::scenarios::{Scenario, ScenarioRequest};
use crate::methods;
use crate::reply::Reply;
use crate::state::State;
use crate::store::{Plan, Store};

/// `GET /__admin/scenarios[?app_id=]`.
pub(super) async fn list(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id"])?;
    Ok(json(
        200,
        &state
            .scenarios()
            .snapshot(query.get("app_id"), state.clock().now()),
    ))
}

/// `POST /__admin/scenarios[?app_id=]`.
pub(super) async fn post(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id"])?;
    let scenario = create(state, request.json()?, query.get("app_id")).await?;
    Ok(json(201, &scenario))
}

/// `DELETE /__admin/scenarios[?app_id=]`.
pub(super) async fn delete_all(
    state: &Arc<State>,
    request: &Input<'_>,
) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id"])?;
    let deleted = clear(state, query.get("app_id")).await?;
    Ok(json(200, &Deleted { deleted }))
}

/// `GET /__admin/scenarios/{id}`.
pub(super) async fn get(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let id = request.id();
    state
        .scenarios()
        .snapshot(None, state.clock().now())
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| json(200, &s))
        .ok_or_else(|| Rejection::not_found(format!("no scenario {id:?}")))
}

/// `DELETE /__admin/scenarios/{id}`.
pub(super) async fn delete(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let id = request.id().to_owned();
    state
        .commit(
            move |g| {
                if !g.scenarios().ids(None).contains(&id) {
                    return Err(Rejection::not_found(format!("no scenario {id:?}")));
                }
                let mut plan = Plan::default();
                Store::remove_scenario(&mut plan, &id);
                Ok((plan, vec![id]))
            },
            |g, ids| g.scenarios().remove_ids(&ids),
        )
        .await?;
    Ok(no_content())
}

/// Adds a scenario; `scope` (the `?app_id=` of the call) scopes it to one app and must
/// agree with `match.app_id`. What `POST /__admin/scenarios` does.
pub(crate) async fn create(
    state: &Arc<State>,
    mut scenario_request: ScenarioRequest,
    scope: Option<&str>,
) -> Result<Scenario, Rejection> {
    if let Some(app_id) = scope {
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
    let scenario =
        scenario_request.into_scenario(id, state.clock().now(), methods::business_error)?;
    let stored = scenario.clone();
    let installed = scenario.clone().arm(methods::business_error);
    state
        .commit(
            move |_| {
                let mut plan = Plan::default();
                Store::put_scenario(&mut plan, &stored.id, &stored);
                Ok((plan, ()))
            },
            move |g, ()| g.scenarios().add(installed),
        )
        .await?;
    Ok(scenario)
}

/// Removes every scenario, or one app's; how many went.
pub(crate) async fn clear(state: &Arc<State>, app_id: Option<&str>) -> Result<usize, Rejection> {
    let app_id = app_id.map(str::to_owned);
    let deleted = state
        .commit(
            move |g| {
                let mut plan = Plan::default();
                let ids = g.remove_scenarios(&mut plan, app_id.as_deref());
                Ok((plan, ids))
            },
            |g, ids| {
                g.scenarios().remove_ids(&ids);
                ids.len()
            },
        )
        .await?;
    Ok(deleted)
}
