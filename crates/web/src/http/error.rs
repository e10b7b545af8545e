//! Error policy for the HTTP surface, in one place: core's errors become a JSON body
//! ([`ApiError`]) for the API, or an error page ([`PageError`]) for the pages. Each output kind has
//! one mapping from each of core's errors, here.
//!
//! - Invalid input: 422 (400 for a body that is not JSON at all), naming each field and what is wrong,
//!   never echoing a value.
//! - Not signed in: 401. Not allowed and not there: the same 404, so existence does not leak.
//! - Conflicts: 409 with a short reason.
//! - A path served, not with this method: 405 (`Allow` as the router sets it).
//! - A body over the route's size limit: 413, before anything is stored.
//! - Anything else: a generic 500 carrying the request id; the detail is logged once, by id, with no
//!   personal data (core and the store never hold any in the clear in their errors).
//!
//! An error page is rendered here without navigation; [`super::error_page`] shows it again with
//! the navigation of a signed-in member of staff, and maps the framework's own answers onto these.

use askama::Template;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use confidant_core::organisation::OrganisationError;
use confidant_core::person::{DuplicateMatch, PersonError, Violations};
use confidant_core::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use super::return_path::ReturnPath;
use super::session::Chrome;

/// A field that was refused and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Someone already recorded whom a person being added may be: their id and the blind indexes that
/// matched (`nhs_number`, `ni_number`, `birth_family_name`: family name and date of birth).
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateBody {
    pub id: uuid::Uuid,
    #[schema(example = json!(["nhs_number"]))]
    pub matched_on: Vec<&'static str>,
}

/// Every error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `invalid`, `malformed`, `unauthenticated`, `read_only_token`, `training_lapsed`,
    /// `export_not_allowed`, `not_found`, `method_not_allowed`, `conflict`, `possible_duplicates`,
    /// `too_large`, `unavailable`, `internal`.
    pub error: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// With `possible_duplicates`: the people within the caller's scope whom the person being added
    /// may be. Send the request again with `"not_duplicate": true` to add them anyway.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<DuplicateBody>,
}

impl ErrorBody {
    /// A body with a code and a message, and no fields or matches.
    fn new(error: &'static str, message: String) -> Self {
        Self {
            error,
            message,
            fields: Vec::new(),
            matches: Vec::new(),
        }
    }
}

/// What a 503 asks the client to wait, in seconds.
const RETRY_AFTER_SECONDS: &str = "5";

#[derive(Debug)]
pub enum ApiError {
    Invalid(Violations),
    /// The body could not be read as the expected JSON; the text says where, not what.
    Malformed(String),
    Unauthenticated,
    /// Not a record the actor may not see (that is `NotFound`), but something about the caller
    /// itself: a read-only token, lapsed training. A stable code and a plain message.
    Forbidden(&'static str, &'static str),
    NotFound,
    Conflict(&'static str),
    /// The person being added may already be recorded: 409 naming who (ids and index codes only).
    PossibleDuplicates(Vec<DuplicateMatch>),
    /// The body is larger than the route accepts (the limit, in bytes).
    PayloadTooLarge(usize),
    /// The path is served, not with this method (the `Allow` header is the router's).
    MethodNotAllowed,
    /// The database cannot be reached or written for now: 503 with `Retry-After`, nothing answered.
    Unavailable(String),
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Backend(detail) => ApiError::Internal(detail),
            StoreError::Unavailable(detail) => ApiError::Unavailable(detail),
        }
    }
}

impl From<PersonError> for ApiError {
    fn from(e: PersonError) -> Self {
        match e {
            PersonError::NotFound => ApiError::NotFound,
            PersonError::Invalid(v) => ApiError::Invalid(v),
            PersonError::Conflict(what) => ApiError::Conflict(what),
            PersonError::PossibleDuplicates(matches) => ApiError::PossibleDuplicates(matches),
            PersonError::Forbidden { code, message } => ApiError::Forbidden(code, message),
            PersonError::Store(s) => s.into(),
            PersonError::Crypto(c) => ApiError::Internal(c.to_string()),
        }
    }
}

impl From<OrganisationError> for ApiError {
    fn from(e: OrganisationError) -> Self {
        match e {
            OrganisationError::NotFound => ApiError::NotFound,
            OrganisationError::Invalid(v) => ApiError::Invalid(v),
            OrganisationError::Conflict(what) => ApiError::Conflict(what),
            OrganisationError::Store(s) => s.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Invalid(v) => {
                tracing::info!(fields = %v, "input refused");
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorBody {
                        fields: v
                            .0
                            .into_iter()
                            .map(|v| FieldError {
                                field: v.field.to_owned(),
                                message: v.message,
                            })
                            .collect(),
                        ..ErrorBody::new("invalid", "some fields are not valid".to_owned())
                    },
                )
            }
            ApiError::Malformed(message) => (
                StatusCode::BAD_REQUEST,
                ErrorBody::new("malformed", message),
            ),
            ApiError::Unauthenticated => {
                let body = ErrorBody::new("unauthenticated", "a valid bearer token is required".to_owned());
                return (
                    StatusCode::UNAUTHORIZED,
                    [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                    Json(body),
                )
                    .into_response();
            }
            ApiError::Forbidden(code, message) => (
                StatusCode::FORBIDDEN,
                ErrorBody::new(code, message.to_owned()),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorBody::new("not_found", "not found".to_owned()),
            ),
            ApiError::Conflict(what) => (
                StatusCode::CONFLICT,
                ErrorBody::new("conflict", what.to_owned()),
            ),
            ApiError::PossibleDuplicates(matches) => (
                StatusCode::CONFLICT,
                ErrorBody {
                    matches: matches
                        .into_iter()
                        .map(|m| DuplicateBody {
                            id: m.person_id,
                            matched_on: m.matched_on.iter().map(|f| f.code()).collect(),
                        })
                        .collect(),
                    ..ErrorBody::new(
                        "possible_duplicates",
                        "someone you can see may already be this person: nothing was created; \
                         send the request again with \"not_duplicate\": true if this is a different person"
                            .to_owned(),
                    )
                },
            ),
            ApiError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorBody::new("too_large", format!("the body is larger than the limit of {limit} bytes")),
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorBody::new("method_not_allowed", "this endpoint does not take this method: the Allow header lists those it does".to_owned()),
            ),
            ApiError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "request refused: the database is unavailable");
                let body = ErrorBody::new("unavailable", "the service cannot record this access just now, so nothing was answered; a change sent with it may have been saved: check before you send it again".to_owned());
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::RETRY_AFTER, RETRY_AFTER_SECONDS)],
                    Json(body),
                )
                    .into_response();
            }
            ApiError::Internal(detail) => {
                // The span around this carries the request id; the client sees only that id.
                tracing::error!(error = %detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorBody::new(
                        "internal",
                        "something went wrong; quote the x-request-id header of this response"
                            .to_owned(),
                    ),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

/// Why a page could not be shown. Rendered as a page (never JSON), with the same care as the API:
/// a refused record is "Page not found".
#[derive(Debug)]
pub enum PageError {
    Redirect(&'static str),
    /// The session is locked: to the lock page, which comes back to this page once unlocked.
    Locked(Option<ReturnPath>),
    NotFound,
    /// The path is served, not with this method (a form's address opened as a page): 405.
    MethodNotAllowed,
    /// A non-record action the role may not take.
    Forbidden(&'static str),
    Csrf,
    /// The record changed meanwhile, or the step was already taken (a case already closed, a
    /// referral already decided): 409, nothing changed.
    Conflict(&'static str),
    /// Input a page offers no form to correct (a button's value): 400 with each problem named.
    Invalid(Vec<(String, String)>),
    /// An upload larger than the page accepts: 413, nothing stored.
    TooLarge,
    /// The database cannot be reached or written for now: 503 with `Retry-After`, nothing shown.
    Unavailable(String),
    Internal(String),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            // A step another caller took first (or a duplicate): 409, never a 500.
            StoreError::Conflict(what) => PageError::Conflict(what),
            StoreError::Backend(_) => PageError::Internal(e.to_string()),
            StoreError::Unavailable(detail) => PageError::Unavailable(detail),
        }
    }
}

impl From<PersonError> for PageError {
    fn from(e: PersonError) -> Self {
        match e {
            PersonError::NotFound => PageError::NotFound,
            PersonError::Conflict(what) => PageError::Conflict(what),
            // The form that adds a person shows who instead; anywhere else, nothing was created.
            PersonError::PossibleDuplicates(_) => PageError::Conflict(
                "Someone already recorded may be this person, so nothing was created.",
            ),
            PersonError::Invalid(v) => PageError::Invalid(field_errors(&v)),
            PersonError::Forbidden { message, .. } => PageError::Forbidden(message),
            PersonError::Store(s) => s.into(),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<OrganisationError> for PageError {
    fn from(e: OrganisationError) -> Self {
        match e {
            OrganisationError::NotFound => PageError::NotFound,
            OrganisationError::Conflict(what) => PageError::Conflict(what),
            OrganisationError::Store(s) => s.into(),
            other => PageError::Internal(other.to_string()),
        }
    }
}

/// A sign-in step's failure that the page does not answer itself: an unavailable database is a
/// 503 like anywhere else, the rest a fault.
impl From<confidant_core::account::SignInError> for PageError {
    fn from(e: confidant_core::account::SignInError) -> Self {
        match e {
            confidant_core::account::SignInError::Store(s) => s.into(),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(format!("template: {e}"))
    }
}

/// What an error page says. [`PageError`]'s answer carries it as an extension, so that the
/// error-page layer ([`super::error_page`]) can show it again with the navigation of whoever is
/// signed in; the answer's own body is the page without navigation, should nothing do so.
#[derive(Debug, Clone)]
pub struct ErrorPageText {
    pub heading: &'static str,
    pub body: &'static str,
    pub problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    heading: &'a str,
    body: &'a str,
    problems: &'a [String],
}

/// The error page: `text` with `chrome`'s navigation (and its way back: the dashboard when signed
/// in, signing in when not). The answer carries `text` again, for a later layer to re-render.
pub fn error_page(status: StatusCode, chrome: Chrome, text: ErrorPageText) -> Response {
    let page = ErrorPage {
        chrome,
        heading: text.heading,
        body: text.body,
        problems: &text.problems,
    };
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => status.into_response(),
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    response.extensions_mut().insert(text);
    response
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut problems = Vec::new();
        let (status, heading, body) = match self {
            PageError::Redirect(to) => return Redirect::to(to).into_response(),
            PageError::Locked(here) => {
                return Redirect::to(&ReturnPath::lock_href(here.as_ref())).into_response();
            }
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the web address, check it is correct. If you followed a link to a person's record, it may not exist or it may not be in your scope.",
            ),
            PageError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "This page cannot be opened",
                "This address is where a form is sent, not a page to open. Nothing was changed.",
            ),
            PageError::Forbidden(what) => (StatusCode::FORBIDDEN, "You cannot do this", what),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was sent without its security token, or from another page. Nothing was changed. Go back, reload the page and try again.",
            ),
            PageError::Conflict(what) => (StatusCode::CONFLICT, "This has already changed", what),
            PageError::Invalid(errors) => {
                problems = errors.into_iter().map(|(_, m)| m).collect();
                (
                    StatusCode::BAD_REQUEST,
                    "There is a problem",
                    "Nothing was changed. Go back, correct this and try again.",
                )
            }
            PageError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The file is too large",
                "Nothing was stored. A document must be 10 MB or smaller, and a photo 2 MB or smaller. Go back and choose a smaller file.",
            ),
            PageError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "page refused: the database is unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is busy",
                    "The service could not record this access just now, so nothing was shown. If you were saving a change, it may have been saved: check before you try again. If it keeps happening, tell your administrator the time it happened.",
                )
            }
            PageError::Internal(detail) => {
                tracing::error!(error = %detail, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, there is a problem with the service",
                    "Try again later. If it keeps happening, tell your administrator the time it happened.",
                )
            }
        };
        let text = ErrorPageText {
            heading,
            body,
            problems,
        };
        error_page(status, Chrome::anonymous(), text)
    }
}

/// Field errors as (field id, message) pairs for the error summary.
pub fn field_errors(v: &Violations) -> Vec<(String, String)> {
    v.0.iter()
        .map(|v| (v.field.replace('_', "-"), sentence(v.field, &v.message)))
        .collect()
}

fn sentence(field: &str, message: &str) -> String {
    let label = field.replace('_', " ");
    let mut s = format!("{label} {message}");
    if let Some(first) = s.get(0..1) {
        s.replace_range(0..1, &first.to_uppercase());
    }
    s
}
