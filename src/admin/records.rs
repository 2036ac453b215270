//! What the record endpoints (apps, identities) share: id rules, create-or-replace
//! checks, and PUT/PATCH bodies merged with the path's id.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::merge_patch;
use crate::admin::Rejection;
use crate::keyring::AppEntry;
use crate::state::State;

/// The computed members of a record's view (an app's `platform_public_key` and
/// `cert_sns`), dropped from POST, PUT and PATCH bodies that send an earlier answer back.
pub(super) const READ_ONLY: &[&str] = &["platform_public_key", "cert_sns"];

/// Ids travel in URLs and store keys: keep them to a safe alphabet.
pub(super) fn check_id(kind: &str, id: &str) -> Result<(), Rejection> {
    // `.` and `..` would be path segments that clients and proxies normalise away.
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Rejection::bad_request(format!(
            "{kind} must be 1 to 64 characters of A-Z a-z 0-9 _ - ., and not . or .. (got {id:?})"
        )))
    }
}

pub(super) fn missing(kind: &str, id: &str) -> Rejection {
    Rejection::not_found(format!("no {kind} {id:?}"))
}

/// A stored app, parsed (from the key ring: no store read, no key parsing); 404 when
/// there is none.
pub(super) fn app_entry(state: &State, app_id: &str) -> Result<Arc<AppEntry>, Rejection> {
    state
        .keyring()
        .get(app_id)
        .ok_or_else(|| missing("app", app_id))
}

/// Whether a write replaces a record (PUT, PATCH) or creates one (POST).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    /// PUT, PATCH: 404 when absent.
    MustExist,
    /// POST: 409 when present.
    MustNotExist,
}

impl Existing {
    /// 404 for replacing what is not there, 409 for creating what is.
    pub(crate) fn check(
        self,
        exists: bool,
        kind: &str,
        collection: &str,
        id: &str,
    ) -> Result<(), Rejection> {
        match (self, exists) {
            (Existing::MustExist, false) => Err(missing(kind, id)),
            (Existing::MustNotExist, true) => Err(Rejection::conflict(format!(
                "{kind} {id:?} exists; PUT /__admin/{collection}/{id} replaces it"
            ))),
            _ => Ok(()),
        }
    }

    /// 201 for a creation, 200 for a replacement.
    pub(crate) fn status(self) -> u16 {
        match self {
            Existing::MustNotExist => 201,
            Existing::MustExist => 200,
        }
    }
}

/// The record a PUT or PATCH body describes: the path's id fills a missing id field and
/// must match a present one. A PATCH merges the body into `current` first.
pub(super) fn replacement<T: serde::de::DeserializeOwned>(
    id_field: &str,
    path_id: &str,
    mut body: Map<String, Value>,
    current: Option<&impl Serialize>,
) -> Result<T, Rejection> {
    // The read-only members of an earlier answer (an app's `platform_public_key`,
    // `cert_sns`) may come back: ignore them.
    for key in READ_ONLY {
        body.remove(*key);
    }
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
