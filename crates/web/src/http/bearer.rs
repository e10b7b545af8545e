//! The API's side of the edge: the bearer token's caller, why they are accessing data, their JSON
//! body, and the checks about the caller itself (training, a read-only token), by type.
//!
//! Guarantees:
//! - Session cookies are not accepted by the API, so a page cannot be made to call it on someone's
//!   behalf; a request without a valid token is 401 before anything else is read.
//! - A handler reaches the actor of a route that needs current training, or that changes data, only
//!   through a gate extractor ([`Trained`], [`MayChange`], [`Writable`] and their `…Json` forms):
//!   the check is made there, once, after the rest of the request has been read, exactly where the
//!   handlers made it by hand before. Each refusal is a 403 with a stable code and is recorded
//!   (`access.training_lapsed`, `access.read_only_token`) before anything is read or changed.
//! - A JSON body's refusal says where the problem is, never what was sent.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use confidant_core::store::{Store, TokenScope};
use confidant_core::{Clock, Purpose, access::Principal};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::guard;
use crate::AppState;

/// The signed-in member of staff, from `Authorization: Bearer <token>`, and what the token may do.
/// Session cookies are not accepted here, so a page cannot be made to call the API on someone's
/// behalf. Taken first by every handler that needs a caller (a missing or unknown token is 401
/// before the rest of the request is read); the gates below take the caller from it.
#[derive(Clone)]
pub struct Authenticated(pub Principal, pub TokenScope);

impl<S: Store, C: Clock> FromRequestParts<AppState<S, C>> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S, C>,
    ) -> Result<Self, ApiError> {
        if let Some(known) = parts.extensions.get::<Authenticated>() {
            return Ok(known.clone());
        }
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        match state.confidant.authenticate_token(token.trim()).await? {
            Some((actor, scope)) => {
                let auth = Authenticated(actor, scope);
                parts.extensions.insert(auth.clone());
                Ok(auth)
            }
            None => Err(ApiError::Unauthenticated),
        }
    }
}

/// Why the caller is accessing data, from the `X-Confidant-Purpose` header (default `support`).
pub struct AccessPurpose(pub Purpose);

impl<S: Send + Sync> FromRequestParts<S> for AccessPurpose {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match parts.headers.get("x-confidant-purpose") {
            None => Ok(AccessPurpose(Purpose::Support)),
            Some(v) => v
                .to_str()
                .ok()
                .and_then(Purpose::from_code)
                .map(AccessPurpose)
                .ok_or_else(|| {
                    ApiError::Malformed(
                        "X-Confidant-Purpose must be one of: support, administration, audit"
                            .to_owned(),
                    )
                }),
        }
    }
}

/// A JSON body whose errors say where the problem is but never repeat what was sent (serde's own
/// messages quote the offending value, which may be personal data).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::Malformed(
                "the body must be application/json".to_owned(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            ApiError::Malformed("the body could not be read (is it over 64 KiB?)".to_owned())
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            use serde_json::error::Category;
            let what = match e.classify() {
                Category::Data => {
                    "has a field of the wrong type, or a field this endpoint does not accept"
                }
                Category::Syntax | Category::Eof | Category::Io => "is not valid JSON",
            };
            ApiError::Malformed(format!(
                "the body {what} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }
}

/// Refuses a change made with a read-only token (and records the refusal).
async fn writable<S: Store, C: Clock>(
    state: &AppState<S, C>,
    auth: &Authenticated,
) -> Result<(), ApiError> {
    if guard::read_only_refused(state, &auth.0, auth.1).await? {
        return Err(ApiError::Forbidden(
            "read_only_token",
            "this token may only read; issue a read-and-change token to make changes",
        ));
    }
    Ok(())
}

/// Personal data needs current training: say so plainly rather than answer "not found" (and
/// record the refusal).
async fn trained<S: Store, C: Clock>(
    state: &AppState<S, C>,
    auth: &Authenticated,
) -> Result<(), ApiError> {
    if guard::training_refused(state, &auth.0).await? {
        return Err(ApiError::Forbidden(
            "training_lapsed",
            "your data protection training or policy acknowledgement is not current; ask your Data Protection Officer to record it",
        ));
    }
    Ok(())
}

/// A change needs current training, then a token that may change (each refusal recorded).
async fn may_change<S: Store, C: Clock>(
    state: &AppState<S, C>,
    auth: &Authenticated,
) -> Result<(), ApiError> {
    trained(state, auth).await?;
    writable(state, auth).await
}

/// The caller, once a check about them has passed; `$check` is made after the parts before it in
/// the handler's arguments have been read (take the gate last, after [`Authenticated`] first).
macro_rules! gate {
    ($(#[$doc:meta])* $name:ident, $(#[$json_doc:meta])* $json:ident, $check:ident) => {
        $(#[$doc])*
        pub struct $name(pub Principal);

        impl<S: Store, C: Clock> FromRequestParts<AppState<S, C>> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState<S, C>,
            ) -> Result<Self, ApiError> {
                let auth = Authenticated::from_request_parts(parts, state).await?;
                $check(state, &auth).await?;
                Ok($name(auth.0))
            }
        }

        $(#[$json_doc])*
        pub struct $json<T>(pub Principal, pub T);

        impl<T, S, C> FromRequest<AppState<S, C>> for $json<T>
        where
            T: DeserializeOwned + Send,
            S: Store,
            C: Clock,
        {
            type Rejection = ApiError;

            async fn from_request(req: Request, state: &AppState<S, C>) -> Result<Self, ApiError> {
                let (mut parts, body) = req.into_parts();
                let auth = Authenticated::from_request_parts(&mut parts, state).await?;
                let JsonBody(body) =
                    JsonBody::<T>::from_request(Request::from_parts(parts, body), state).await?;
                $check(state, &auth).await?;
                Ok($json(auth.0, body))
            }
        }
    };
}

gate!(
    /// A caller whose training is current: for reading personal data.
    Trained,
    /// A JSON body, then a caller whose training is current.
    TrainedJson,
    trained
);
gate!(
    /// A caller whose training is current, with a token that may change: for a change to personal
    /// data without a body.
    MayChange,
    /// A JSON body, then a caller whose training is current, with a token that may change.
    ChangeJson,
    may_change
);
gate!(
    /// A caller with a token that may change: for a change to the organisation's own settings
    /// (recipients), which needs no training.
    Writable,
    /// A JSON body, then a caller with a token that may change.
    WritableJson,
    writable
);
