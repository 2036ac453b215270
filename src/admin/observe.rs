//! `/__admin/metrics`, `/__admin/cases` and `/__admin/apps/{app_id}/test-key`: read-only
//! views for dashboards and the console. Nothing here changes state.

use std::sync::Arc;

use rsa::RsaPublicKey;

use super::records::app_entry;
use super::{json, Input};
use crate::admin::Rejection;
use crate::crypto::SignType;
use crate::keys;
use crate::metrics;
use crate::reply::Reply;
use crate::state::State;

/// The test-only private key of the fixture apps: published in the repository, never a
/// secret, and the only key `test-key` ever returns.
const FIXTURE_APP_KEY: &str = include_str!("../../fixtures/keys/app_private_key.pem");

/// `GET /__admin/metrics`: the Prometheus text exposition.
pub(super) async fn metrics(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let cache = state.sign_cache().stats();
    state.metrics().sync_sign_cache(cache.hits, cache.misses);
    let text = state
        .metrics()
        .encode()
        .map_err(|e| Rejection::internal(e.to_string()))?;
    Ok(Reply::new(200, metrics::CONTENT_TYPE, text.into_bytes()))
}

/// `GET /__admin/cases`: the catalogue of seeded outcomes (`alipay-mock cases`).
pub(super) async fn cases(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    Ok(json(200, &state.fixtures().cases))
}

/// `GET /__admin/apps/{app_id}/test-key`: the fixture app key (PKCS#8 PEM) when the app
/// verifies with it, for RSA2 or RSA; 404 for any other app, whose key the mock never
/// holds.
pub(super) async fn test_key(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let app_id = request.id();
    let entry = app_entry(state, app_id)?;
    let private = keys::parse_private_key(FIXTURE_APP_KEY)
        .map_err(|e| Rejection::internal(format!("fixture app key: {e}")))?;
    let public = RsaPublicKey::from(&private);
    let uses_fixture_key = [SignType::Rsa2, SignType::Rsa]
        .into_iter()
        .any(|t| entry.public_key(t).map(|k| k.rsa()) == Some(&public));
    if !uses_fixture_key {
        return Err(Rejection::not_found(format!(
            "app {app_id} does not verify with the fixture app key; paste its private key instead"
        )));
    }
    Ok(Reply::new(
        200,
        "application/x-pem-file",
        FIXTURE_APP_KEY.as_bytes().to_vec(),
    ))
}
