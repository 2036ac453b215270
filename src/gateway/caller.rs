//! Who is calling and who signs the answer: the caller (app, sign type, key or app
//! certificate) once the request names all of them, and the signer of its answer.

use std::sync::Arc;

use super::cert_mode;
use crate::control::faults::{Draw, HostileMode};
use crate::crypto::SignType;
use crate::error::GatewayError;
use crate::keyring::AppEntry;
use crate::protocol::params::Params;
use crate::protocol::response::Signer;
use crate::request::Caller;
use crate::state::State;

/// The caller, when the app is known, `sign_type` valid and the app has a key for it
/// (or speaks certificate mode and the request does too).
pub(super) fn caller(app: Option<Arc<AppEntry>>, params: &Params) -> Option<Caller> {
    let app = app?;
    let sign_type = SignType::parse(params.non_empty("sign_type")?)?;
    let cert_mode = cert_mode::mode(params, &app).is_some();
    if !cert_mode {
        app.public_key(sign_type)?;
    }
    Some(Caller {
        app,
        sign_type,
        cert_mode,
    })
}

/// Who signs the answer: nobody for the unsigned errors, without a caller, or under the
/// `missing_sign` fault; else the caller's key (the hostile key under `wrong_key`).
pub(super) fn signer<'a>(
    state: &'a State,
    outcome: &Result<String, GatewayError>,
    caller: Option<&'a Caller>,
    draw: &Draw,
) -> Option<Signer<'a>> {
    let caller = caller?;
    if outcome.as_ref().is_err_and(GatewayError::is_unsigned)
        || draw.hostile == Some(HostileMode::MissingSign)
    {
        return None;
    }
    let (key, cert_sn) = caller.signing_key();
    Some(Signer {
        key: match draw.hostile {
            Some(HostileMode::WrongKey) => state.hostile_key(),
            _ => key,
        },
        sign_type: caller.sign_type,
        cert_sn,
        cache: Some(state.sign_cache()),
    })
}
