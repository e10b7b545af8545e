//! The checks about the caller itself, written once: current training, a token that may change,
//! and, for the pages, a posted form's CSRF token. The API's gates ([`super::bearer`]) and the
//! pages' extractors here are the only callers, so a route gets a check by the type it takes.
//!
//! Guarantees:
//! - A refusal is recorded (`access.training_lapsed`, `access.read_only_token`) before anything is
//!   read or changed, and answers 403 with a message that says why.
//! - A page's posted form is read through [`PostForm`] or [`TrainedForm`]: a form without this
//!   session's CSRF token changes nothing and answers 403 ("This form has expired"); a handler that
//!   reads a form this way cannot skip the check.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use confidant_core::account::Refusal;
use confidant_core::store::{Store, StoreError, TokenScope};
use confidant_core::{Actor, Clock, access::Principal};
use serde::de::DeserializeOwned;

use super::error::PageError;
use super::extract::page::Form;
use super::session::{Signed, constant_time_eq};
use crate::AppState;

/// Whether `actor`'s training has lapsed, which keeps them from personal data; a lapse is recorded
/// as a refusal.
pub(crate) async fn training_refused<S: Store, C: Clock>(
    state: &AppState<S, C>,
    actor: &Principal,
) -> Result<bool, StoreError> {
    match actor.actor() {
        Actor::Staff(s) if !s.trained => {
            state
                .confidant
                .record_refusal(actor, Refusal::TrainingLapsed)
                .await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Whether a change is refused because the token may only read; the refusal is recorded.
pub(crate) async fn read_only_refused<S: Store, C: Clock>(
    state: &AppState<S, C>,
    actor: &Principal,
    scope: TokenScope,
) -> Result<bool, StoreError> {
    match scope {
        TokenScope::ReadWrite => Ok(false),
        TokenScope::Read => {
            state
                .confidant
                .record_refusal(actor, Refusal::ReadOnlyToken)
                .await?;
            Ok(true)
        }
    }
}

/// Lapsed training blocks personal data with a message that says so (not a bare "not found").
pub const TRAINING_LAPSED: &str = "Your data protection training or policy acknowledgement is not current, so you cannot open personal data. Ask your Data Protection Officer to record it; your dashboard shows what has lapsed.";

/// Refuses personal data to staff whose training has lapsed, saying so (and recording it). The
/// extractors below make this check; the few handlers that call it themselves need another check
/// first (a multipart upload's CSRF token, the break-glass role).
pub(crate) async fn require_training<S: Store, C: Clock>(
    state: &AppState<S, C>,
    actor: &Principal,
) -> Result<(), PageError> {
    if training_refused(state, actor).await? {
        return Err(PageError::Forbidden(TRAINING_LAPSED));
    }
    Ok(())
}

/// What [`Signed`] leaves on the request for the form extractors: the session's CSRF token and its
/// actor.
#[derive(Clone)]
pub(crate) struct SignedIn {
    pub csrf: String,
    pub actor: Principal,
}

/// A signed-in member of staff whose training is current: for a page of personal data. Taken in
/// place of [`Signed`], first; the check is made as the session is read.
pub struct TrainedStaff(pub Signed);

impl<S: Store, C: Clock> FromRequestParts<AppState<S, C>> for TrainedStaff {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S, C>,
    ) -> Result<Self, PageError> {
        let signed = Signed::from_request_parts(parts, state).await?;
        require_training(state, signed.actor()).await?;
        Ok(TrainedStaff(signed))
    }
}

/// A posted form that carries a CSRF token in its `csrf` field.
pub trait Posted: DeserializeOwned {
    fn csrf(&self) -> &str;
}

/// Makes form structs with a `csrf: String` field [`Posted`].
macro_rules! posted {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::http::guard::Posted for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use posted;

/// Reads the form, then checks its CSRF token against the session's; gives the session's actor.
async fn checked<T: Posted + Send, S: Store, C: Clock>(
    req: Request,
    state: &AppState<S, C>,
) -> Result<(T, Principal), PageError> {
    let (mut parts, body) = req.into_parts();
    let signed = match parts.extensions.get::<SignedIn>() {
        Some(signed) => signed.clone(),
        // A handler that took no `Signed` before the form: the session is read (and a request
        // without a full one is sent to sign in) here.
        None => Signed::from_request_parts(&mut parts, state)
            .await?
            .signed_in(),
    };
    let Form(form) = Form::<T>::from_request(Request::from_parts(parts, body), state).await?;
    if !constant_time_eq(form.csrf().as_bytes(), signed.csrf.as_bytes()) {
        return Err(PageError::Csrf);
    }
    Ok((form, signed.actor))
}

/// A posted form of a signed-in member of staff, read with the page's refusals (400, 413) and then
/// refused unless its CSRF token is the session's (403, nothing changed). Taken last.
pub struct PostForm<T>(pub T);

impl<T: Posted + Send, S: Store, C: Clock> FromRequest<AppState<S, C>> for PostForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState<S, C>) -> Result<Self, PageError> {
        let (form, _) = checked(req, state).await?;
        Ok(PostForm(form))
    }
}

/// A posted change to personal data: as [`PostForm`], then the actor's training (refused and
/// recorded when lapsed). Taken last.
pub struct TrainedForm<T>(pub T);

impl<T: Posted + Send, S: Store, C: Clock> FromRequest<AppState<S, C>> for TrainedForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState<S, C>) -> Result<Self, PageError> {
        let (form, actor) = checked(req, state).await?;
        require_training(state, &actor).await?;
        Ok(TrainedForm(form))
    }
}
