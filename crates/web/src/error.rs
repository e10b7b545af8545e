//! Error policy for the HTTP surface, in one place.
//!
//! - Invalid input: 422 (400 for a body that is not JSON at all), naming each field and what is wrong,
//!   never echoing a value.
//! - Not signed in: 401. Not allowed and not there: the same 404, so existence does not leak.
//! - Conflicts: 409 with a short reason.
//! - A body over the route's size limit: 413, before anything is stored.
//! - Anything else: a generic 500 carrying the request id; the detail is logged once, by id, with no
//!   personal data (core and the store never hold any in the clear in their errors).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use confidant_core::organisation::OrganisationError;
use confidant_core::person::{PersonError, Violations};
use confidant_core::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A field that was refused and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `invalid`, `malformed`, `unauthenticated`, `read_only_token`, `training_lapsed`,
    /// `export_not_allowed`, `not_found`, `conflict`, `too_large`, `internal`.
    pub error: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

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
    /// The body is larger than the route accepts (the limit, in bytes).
    PayloadTooLarge(usize),
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Backend(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<PersonError> for ApiError {
    fn from(e: PersonError) -> Self {
        match e {
            PersonError::NotFound => ApiError::NotFound,
            PersonError::Invalid(v) => ApiError::Invalid(v),
            PersonError::Conflict(what) => ApiError::Conflict(what),
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
                        error: "invalid",
                        message: "some fields are not valid".to_owned(),
                        fields: v
                            .0
                            .into_iter()
                            .map(|v| FieldError {
                                field: v.field.to_owned(),
                                message: v.message,
                            })
                            .collect(),
                    },
                )
            }
            ApiError::Malformed(message) => (
                StatusCode::BAD_REQUEST,
                ErrorBody {
                    error: "malformed",
                    message,
                    fields: Vec::new(),
                },
            ),
            ApiError::Unauthenticated => {
                let body = ErrorBody {
                    error: "unauthenticated",
                    message: "a valid bearer token is required".to_owned(),
                    fields: Vec::new(),
                };
                return (
                    StatusCode::UNAUTHORIZED,
                    [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                    Json(body),
                )
                    .into_response();
            }
            ApiError::Forbidden(code, message) => (
                StatusCode::FORBIDDEN,
                ErrorBody {
                    error: code,
                    message: message.to_owned(),
                    fields: Vec::new(),
                },
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorBody {
                    error: "not_found",
                    message: "not found".to_owned(),
                    fields: Vec::new(),
                },
            ),
            ApiError::Conflict(what) => (
                StatusCode::CONFLICT,
                ErrorBody {
                    error: "conflict",
                    message: what.to_owned(),
                    fields: Vec::new(),
                },
            ),
            ApiError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorBody {
                    error: "too_large",
                    message: format!("the body is larger than the limit of {limit} bytes"),
                    fields: Vec::new(),
                },
            ),
            ApiError::Internal(detail) => {
                // The span around this carries the request id; the client sees only that id.
                tracing::error!(error = %detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorBody {
                        error: "internal",
                        message:
                            "something went wrong; quote the x-request-id header of this response"
                                .to_owned(),
                        fields: Vec::new(),
                    },
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
