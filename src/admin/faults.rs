//! `/__admin/faults[?app_id=]`: injected latency, errors, dropped connections and
//! hostile answers, globally or for one app (an app's own set replaces the global one).

use std::sync::Arc;

use super::{json, no_content, Input};
use crate::admin::Rejection;
use crate::control::faults::{scope, FaultConfig};
use crate::reply::Reply;
use crate::state::State;
use crate::store::{Plan, Store};

/// `GET /__admin/faults[?app_id=]`: the set in force for that scope, `{}` when none.
pub(super) async fn get(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id"])?;
    Ok(match state.faults().get(&scope(query.get("app_id"))) {
        Some(config) => json(200, &config),
        None => json(200, &serde_json::json!({})),
    })
}

/// `PUT /__admin/faults[?app_id=]`.
pub(super) async fn put(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id"])?;
    let config: FaultConfig = request.json()?;
    Ok(json(200, &set(state, query.get("app_id"), config).await?))
}

/// `DELETE /__admin/faults[?app_id=]`.
pub(super) async fn delete(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id"])?;
    let key = scope(query.get("app_id"));
    let doomed = key.clone();
    state
        .commit(
            move |_| {
                let mut plan = Plan::default();
                Store::remove_faults(&mut plan, &doomed);
                Ok((plan, ()))
            },
            move |g, ()| g.faults().clear(&key),
        )
        .await?;
    Ok(no_content())
}

/// Replaces the faults of one app (or the global set); validated first. What
/// `PUT /__admin/faults` does.
pub(crate) async fn set(
    state: &Arc<State>,
    app_id: Option<&str>,
    config: FaultConfig,
) -> Result<FaultConfig, Rejection> {
    config.validate()?;
    let key = scope(app_id);
    let stored = (key.clone(), config.clone());
    let installed = config.clone();
    state
        .commit(
            move |_| {
                let mut plan = Plan::default();
                Store::put_faults(&mut plan, &stored.0, &stored.1);
                Ok((plan, ()))
            },
            move |g, ()| g.faults().set(key, installed),
        )
        .await?;
    Ok(config)
}
