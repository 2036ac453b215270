//! `/__admin/faults[?app_id=]`: injected latency, errors, dropped connections and
//! hostile answers, globally or for one app (an app's own set replaces the global one).

use std::sync::Arc;

use super::{json, no_content, not_allowed, Input};
use crate::admin::Rejection;
use crate::control::faults::{scope, FaultConfig};
use crate::reply::Reply;
use crate::state::State;
use crate::store::{Plan, Store};

/// `/__admin/faults`.
pub(super) async fn route(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id"])?;
    let key = scope(query.get("app_id"));
    match request.method {
        "GET" => Ok(match state.faults().get(&key) {
            Some(config) => json(200, &config),
            None => json(200, &serde_json::json!({})),
        }),
        "PUT" => {
            let config: FaultConfig = request.json()?;
            Ok(json(200, &set(state, query.get("app_id"), config).await?))
        }
        "DELETE" => {
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
        _ => Err(not_allowed(request.method)),
    }
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
