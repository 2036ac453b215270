//! `/__admin/authorizations`: grant (a deterministic `open_id` unless one is given),
//! list and revoke who authorised which app, per `auth_category`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::records::missing;
use super::{json, read, Input};
use crate::admin::Rejection;
use crate::model::{deterministic_open_id, AuthCategory, Authorization};
use crate::reply::Reply;
use crate::state::State;

/// The body of a grant (`POST /__admin/authorizations`), as the server parses it and
/// the command-line client writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The app authorised.
    pub app_id: String,
    /// The identity id of the person who authorises it.
    pub identity: String,
    /// The kind of authorisation; C2B when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_category: Option<AuthCategory>,
    /// The `open_id` answered; derived from the other fields when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_id: Option<String>,
}

/// The answer to a revoke.
#[derive(Serialize)]
struct Revoked {
    revoked: usize,
}

/// The API document's limit on `open_id`.
const OPEN_ID_MAX: usize = 64;

/// `GET /__admin/authorizations[?app_id=&identity=]`.
pub(super) async fn list(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id", "identity"])?;
    let app_id = query.get("app_id").map(str::to_owned);
    let identity = query.get("identity").map(str::to_owned);
    let list = read(state, move |g| {
        Ok(g.store()
            .authorizations(app_id.as_deref(), identity.as_deref())?)
    })
    .await?;
    Ok(json(200, &list))
}

/// `POST /__admin/authorizations`.
pub(super) async fn post(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    Ok(json(201, &grant(state, request.json()?).await?))
}

/// `DELETE /__admin/authorizations?app_id=&identity=[&auth_category=]`.
pub(super) async fn delete(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    let query = request.query(&["app_id", "identity", "auth_category"])?;
    let (Some(app_id), Some(identity)) = (query.get("app_id"), query.get("identity")) else {
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
    let revoked = revoke(state, app_id, identity, category).await?;
    Ok(json(200, &Revoked { revoked }))
}

/// Grants an authorisation (the app and the identity must exist); a missing `open_id`
/// is derived deterministically. What `POST /__admin/authorizations` does.
pub(crate) async fn grant(state: &Arc<State>, grant: Grant) -> Result<Authorization, Rejection> {
    if let Some(open_id) = &grant.open_id {
        if open_id.trim().is_empty() || open_id.len() > OPEN_ID_MAX {
            return Err(Rejection::bad_request(format!(
                "open_id must be 1 to {OPEN_ID_MAX} characters (leave it out for a derived one)"
            )));
        }
    }
    let granted = state
        .commit(
            move |g| {
                g.store()
                    .app(&grant.app_id)?
                    .ok_or_else(|| missing("app", &grant.app_id))?;
                g.store()
                    .identity(&grant.identity)?
                    .ok_or_else(|| missing("identity", &grant.identity))?;
                let auth_category = grant.auth_category.unwrap_or_default();
                let open_id = grant.open_id.unwrap_or_else(|| {
                    deterministic_open_id(&grant.app_id, &grant.identity, auth_category)
                });
                let auth = Authorization {
                    app_id: grant.app_id,
                    identity: grant.identity,
                    auth_category,
                    open_id,
                };
                Ok((g.store().put_authorization_plan(&auth), auth))
            },
            |_, auth| auth,
        )
        .await?;
    Ok(granted)
}

/// Revokes an app's authorisations by a person (every category unless one is named);
/// how many went. 404 when there was none. What `DELETE /__admin/authorizations` does.
pub(crate) async fn revoke(
    state: &Arc<State>,
    app_id: &str,
    identity: &str,
    category: Option<AuthCategory>,
) -> Result<usize, Rejection> {
    let (app_id, identity) = (app_id.to_owned(), identity.to_owned());
    let revoked = state
        .commit(
            move |g| {
                let doomed: Vec<Authorization> = g
                    .store()
                    .authorizations(Some(&app_id), Some(&identity))?
                    .into_iter()
                    .filter(|a| category.is_none_or(|c| a.auth_category == c))
                    .collect();
                if doomed.is_empty() {
                    return Err(Rejection::not_found(format!(
                        "{identity:?} has no such authorisation of app {app_id:?}"
                    )));
                }
                Ok((g.store().revoke_plan(&doomed), doomed.len()))
            },
            |_, revoked| revoked,
        )
        .await?;
    Ok(revoked)
}
