//! `/__admin/methods[/{method}]`: method definitions (see `methods::defined`). `PUT`
//! stores or replaces one, `GET` reads one or all, `DELETE` removes one; `DELETE` on the
//! collection puts the definitions back to the fixtures' (`fixtures/methods/*.json`).

use std::sync::Arc;

use super::{json, no_content, read, Input};
use crate::admin::Rejection;
use crate::methods::defined::{Compiled, Definition, DefinitionError, MAX_DEFINITIONS};
use crate::reply::Reply;
use crate::state::State;
use crate::store::Store;

/// `GET /__admin/methods`.
pub(super) async fn list_route(
    state: &Arc<State>,
    request: &Input<'_>,
) -> Result<Reply, Rejection> {
    request.query(&[])?;
    Ok(json(200, &list(state)))
}

/// `DELETE /__admin/methods`: back to the fixtures' definitions.
pub(super) async fn delete_all(
    state: &Arc<State>,
    request: &Input<'_>,
) -> Result<Reply, Rejection> {
    request.query(&[])?;
    Ok(json(200, &reset(state).await?))
}

/// `GET /__admin/methods/{method}`.
pub(super) async fn get_route(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    get(state, request.id()).map(|d| json(200, &d))
}

/// `PUT /__admin/methods/{method}`: 201 for a new definition, 200 for a replacement.
pub(super) async fn put(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    let definition = parse_body(request.body, request.id())?;
    let (stored, created) = define(state, definition).await?;
    Ok(json(if created { 201 } else { 200 }, &stored))
}

/// `DELETE /__admin/methods/{method}`.
pub(super) async fn delete(state: &Arc<State>, request: &Input<'_>) -> Result<Reply, Rejection> {
    request.query(&[])?;
    undefine(state, request.id()).await?;
    Ok(no_content())
}

fn refusal(e: DefinitionError) -> Rejection {
    Rejection::bad_request(e.to_string())
}

/// Reads a `PUT` body: a definition whose `method` (which may be left out) is the
/// path's.
fn parse_body(body: &[u8], method: &str) -> Result<Definition, Rejection> {
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Rejection::bad_request(format!("definition: invalid JSON body: {e}")))?;
    let Some(object) = value.as_object_mut() else {
        return Err(Rejection::bad_request(
            "definition: must be a JSON object with method, rules and optionally description, mask, example",
        ));
    };
    match object.get("method") {
        None => {
            object.insert("method".into(), method.into());
        }
        Some(serde_json::Value::String(named)) if named == method => {}
        Some(other) => {
            return Err(Rejection::bad_request(format!(
                "method: the body names {other} but the URL names {method:?}"
            )))
        }
    }
    // Compiled::parse bounds the size and names the field of any error.
    let bytes = serde_json::to_vec(&value).map_err(|e| Rejection::internal(e.to_string()))?;
    Compiled::parse(&bytes)
        .map(|c| c.definition().clone())
        .map_err(refusal)
}

/// Every definition in force, by method name.
pub(crate) fn list(state: &State) -> Vec<Definition> {
    state
        .definitions()
        .all()
        .iter()
        .map(|c| c.definition().clone())
        .collect()
}

/// One definition.
pub(crate) fn get(state: &State, method: &str) -> Result<Definition, Rejection> {
    state
        .definitions()
        .get(method)
        .map(|c| c.definition().clone())
        .ok_or_else(|| Rejection::not_found(format!("no definition of {method:?}")))
}

/// Stores (or replaces) a definition once it compiles; the stored definition and
/// whether it is new. Past [`MAX_DEFINITIONS`] a new one is refused.
pub(crate) async fn define(
    state: &Arc<State>,
    definition: Definition,
) -> Result<(Definition, bool), Rejection> {
    let compiled = Compiled::new(definition).map_err(refusal)?;
    let size = serde_json::to_vec(compiled.definition())
        .map_err(|e| Rejection::internal(e.to_string()))?
        .len();
    if size > crate::methods::defined::MAX_DEFINITION_BYTES {
        return Err(Rejection::bad_request(format!(
            "definition: is {size} bytes; a definition is at most {}",
            crate::methods::defined::MAX_DEFINITION_BYTES
        )));
    }
    let stored = compiled.definition().clone();
    let result = stored.clone();
    let created = state
        .commit(
            move |g| {
                let exists = g.definitions().get(compiled.name()).is_some();
                if !exists && g.definitions().len() >= MAX_DEFINITIONS {
                    return Err(Rejection {
                        status: 409,
                        message: format!(
                            "at most {MAX_DEFINITIONS} method definitions: delete one first (DELETE /__admin/methods/{{method}})"
                        ),
                    });
                }
                let plan = Store::put_definition_plan(compiled.definition());
                Ok((plan, (compiled, !exists)))
            },
            |g, (compiled, created)| {
                g.definitions().insert(compiled);
                created
            },
        )
        .await?;
    Ok((result, created))
}

/// Removes a definition: the method answers `isv.invalid-method` again.
pub(crate) async fn undefine(state: &Arc<State>, method: &str) -> Result<(), Rejection> {
    let method = method.to_owned();
    state
        .commit(
            move |g| {
                if g.definitions().get(&method).is_none() {
                    return Err(Rejection::not_found(format!("no definition of {method:?}")));
                }
                Ok((Store::delete_definition_plan(&method), method))
            },
            |g, method| {
                g.definitions().remove(&method);
            },
        )
        .await?;
    Ok(())
}

/// Back to the fixtures' definitions; the definitions now in force.
pub(crate) async fn reset(state: &Arc<State>) -> Result<Vec<Definition>, Rejection> {
    state
        .reset_definitions()
        .await
        .map_err(|e| Rejection::internal(e.to_string()))?;
    read(state, |g| Ok(list(g))).await
}
