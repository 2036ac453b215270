//! `/__admin/identities[/{id}]`: the persons the gateway knows, and the account state
//! that decides a query's business outcome.

use std::sync::Arc;

use super::records::{check_id, missing, replacement, Existing};
use super::{json, no_content, read, Input};
use crate::admin::Rejection;
use crate::model::Identity;
use crate::reply::Reply;
use crate::state::State;

/// `GET /__admin/identities`.
pub(super) async fn list(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let all = read(state, |g| Ok(g.store().identities()?)).await?;
    Ok(json(200, &all))
}

/// `POST /__admin/identities`.
pub(super) async fn post(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let identity: Identity = request.json()?;
    write_identity(state, identity, Existing::MustNotExist).await
}

/// `GET /__admin/identities/{id}`.
pub(super) async fn get_one(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    Ok(json(200, &get(state, request.id()).await?))
}

/// `PUT /__admin/identities/{id}`.
pub(super) async fn put(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let identity = replacement("id", request.id(), request.json()?, None::<&Identity>)?;
    write_identity(state, identity, Existing::MustExist).await
}

/// `PATCH /__admin/identities/{id}`.
pub(super) async fn patch(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let existing = get(state, request.id()).await?;
    let identity = replacement("id", request.id(), request.json()?, Some(&existing))?;
    write_identity(state, identity, Existing::MustExist).await
}

/// `DELETE /__admin/identities/{id}`.
pub(super) async fn delete(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let id = request.id().to_owned();
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
    identity
        .validate()
        .map_err(|e| Rejection::bad_request(e.to_string()))?;
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
