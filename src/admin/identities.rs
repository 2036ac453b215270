//! `/__admin/identities[/{id}]`: the persons the gateway knows, and the account state
//! that decides a query's business outcome.

use std::sync::Arc;

use super::records::{check_id, missing, replacement, Existing};
use super::{json, no_content, not_allowed, read, Input};
use crate::admin::Rejection;
use crate::model::Identity;
use crate::reply::Reply;
use crate::state::State;

/// `/__admin/identities[/{id}]`.
pub(super) async fn route(
    state: &Arc<State>,
    request: &Input<'_>,
    rest: &[&str],
) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let current = |id: &str| {
        let id = id.to_owned();
        read(state, move |g| {
            g.store()
                .identity(&id)?
                .ok_or_else(|| missing("identity", &id))
        })
    };
    match (request.method, rest) {
        ("GET", []) => {
            let all = read(state, |g| Ok(g.store().identities()?)).await?;
            Ok(json(200, &all))
        }
        ("POST", []) => {
            let identity: Identity = request.json()?;
            write_identity(state, identity, Existing::MustNotExist).await
        }
        ("GET", [id]) => Ok(json(200, &current(id).await?)),
        ("PUT", [id]) => {
            let identity = replacement("id", id, request.json()?, None::<&Identity>)?;
            write_identity(state, identity, Existing::MustExist).await
        }
        ("PATCH", [id]) => {
            let existing = current(id).await?;
            let identity = replacement("id", id, request.json()?, Some(&existing))?;
            write_identity(state, identity, Existing::MustExist).await
        }
        ("DELETE", [id]) => {
            let id = id.to_string();
            state
                .commit(
                    move |g| {
                        let identity = g
                            .store()
                            .identity(&id)?
                            .ok_or_else(|| missing("identity", &id))?;
                        Ok((g.store().delete_identity_plan(&identity)?, ()))
                    },
                    |_, ()| {},
                )
                .await?;
            Ok(no_content())
        }
        _ => Err(not_allowed(request.method)),
    }
}

async fn write_identity(
    state: &Arc<State>,
    identity: Identity,
    existing: Existing,
) -> Result<Reply, Rejection> {
    let status = existing.status();
    Ok(json(status, &write(state, identity, existing).await?))
}

/// Stores an identity, creating or replacing it as `existing` says; validated with the
/// gateway's own rules first.
pub(crate) async fn write(
    state: &Arc<State>,
    identity: Identity,
    existing: Existing,
) -> Result<Identity, Rejection> {
    check_id("id", &identity.id)?;
    identity.validate().map_err(Rejection::bad_request)?;
    let stored = identity.clone();
    state
        .commit(
            move |g| {
                let exists = g.store().identity(&stored.id)?.is_some();
                existing.check(exists, "identity", "identities", &stored.id)?;
                Ok((g.store().put_identity_plan(&stored)?, ()))
            },
            |_, ()| {},
        )
        .await?;
    Ok(identity)
}

/// One stored identity.
pub(crate) async fn get(state: &Arc<State>, id: &str) -> Result<Identity, Rejection> {
    let id = id.to_owned();
    read(state, move |g| {
        g.store()
            .identity(&id)?
            .ok_or_else(|| missing("identity", &id))
    })
    .await
}
