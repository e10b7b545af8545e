//! The last word on every error answer, as a layer around every route ([`error_pages`]).
//!
//! Guarantees:
//! - A page's error shown to a signed-in member of staff with an unlocked session carries the
//!   site's navigation, as their other pages do (and the idle lock's refresh); anyone else's carries
//!   none. Every error page offers a way back: the dashboard when signed in, signing in when not.
//! - Nothing the framework answers by itself reaches a client as it is: the router's 404 and 405,
//!   the body limit's 413 and any other answer of axum or tower-http (an error status with no
//!   content type or `text/plain`, which the site itself never sends). Under `/api/` it becomes the
//!   JSON error body ([`ApiError`]), elsewhere the error page, with the same status and headers
//!   (`Allow` included).
//! - Showing the navigation reads the session without counting it as activity, and echoes
//!   nothing of the request.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use confidant_core::Clock;
use confidant_core::account::SessionState;
use confidant_core::store::Store;

use super::error::{ApiError, ErrorPageText, PageError, error_page};
use super::session::{Chrome, cookie_value};
use crate::{AppState, MAX_BODY_BYTES};

/// See the module's guarantees.
pub async fn error_pages<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    request: Request,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let cookie = (!api)
        .then(|| cookie_value(request.headers(), state.web.session_cookie()))
        .flatten();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let text = match response.extensions().get::<ErrorPageText>() {
        Some(text) => text.clone(),
        None if !from_the_framework(&response) => return response,
        None if api => return replace_body(response, framework_api_error(status)),
        None => page_text_for(status),
    };
    let chrome = match cookie {
        Some(token) => signed_in_chrome(&state, &token).await,
        None => None,
    };
    match chrome {
        Some(chrome) => replace_body(response, error_page(status, chrome, text)),
        // Already the page without navigation, unless the framework answered.
        None if response.extensions().get::<ErrorPageText>().is_some() => response,
        None => replace_body(response, error_page(status, Chrome::anonymous(), text)),
    }
}

/// An answer of axum or tower-http themselves: the site's own answers always say what they are.
fn from_the_framework(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"))
}

/// The API's error body for a status the framework gave.
fn framework_api_error(status: StatusCode) -> Response {
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_BODY_BYTES),
        s if s.is_server_error() => ApiError::Internal(format!("the framework answered {s}")),
        _ => ApiError::Malformed("the request could not be read".to_owned()),
    };
    error.into_response()
}

/// What the error page says for a status the framework gave.
fn page_text_for(status: StatusCode) -> ErrorPageText {
    let error = match status {
        StatusCode::NOT_FOUND => PageError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => PageError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => PageError::TooLarge,
        s if s.is_server_error() => PageError::Internal(format!("the framework answered {s}")),
        _ => PageError::Invalid(vec![(
            "request".to_owned(),
            "The request could not be read: go back and try again".to_owned(),
        )]),
    };
    let response = error.into_response();
    response
        .extensions()
        .get::<ErrorPageText>()
        .cloned()
        .unwrap_or(ErrorPageText {
            heading: "There is a problem",
            body: "Go back and try again.",
            problems: Vec::new(),
        })
}

/// The chrome of an active session's pages, without a page to come back to (an error is none).
async fn signed_in_chrome<S: Store, C: Clock>(
    state: &AppState<S, C>,
    token: &str,
) -> Option<Chrome> {
    let session = state
        .confidant
        .session_without_activity(token)
        .await
        .ok()
        .flatten()?;
    (session.state == SessionState::Active)
        .then(|| Chrome::signed_in(&session, state.confidant.settings().session.idle, None))
}

/// `original`'s status, headers and extensions with `replacement`'s body and content type.
fn replace_body(original: Response, replacement: Response) -> Response {
    let (mut parts, _) = original.into_parts();
    let (new_parts, body) = replacement.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for name in [
        header::CONTENT_TYPE,
        header::RETRY_AFTER,
        header::WWW_AUTHENTICATE,
    ] {
        if let Some(value) = new_parts.headers.get(&name) {
            parts.headers.insert(name, value.clone());
        }
    }
    parts.extensions.extend(new_parts.extensions);
    Response::from_parts(parts, body)
}
