//! Path parameters, query strings and forms, read with the site's own refusals.
//!
//! axum's own extractors refuse with a `text/plain` body that quotes what was sent ("Invalid URL:
//! UUID parsing failed: ... found `x`", "unknown field `...`"): client text, possibly personal data,
//! echoed in an error. These wrappers read the same way and refuse through the error policy instead.
//!
//! Guarantees:
//! - API handlers take [`api::Path`] and [`api::Query`]: a refusal is the JSON error body
//!   ([`ApiError::Malformed`], 400 `malformed`) that says which part of the request is wrong and
//!   never repeats a value.
//! - Pages take [`page::Path`], [`page::Query`] and [`page::Form`]: a path that does not parse is
//!   "Page not found" (no such page), a query string or form that does not parse is the normal
//!   400 error page (an over-size form is 413), never an echo.
//! - axum's `Path`, `Query` and `Form` are disallowed in this workspace (`clippy.toml`), so a new
//!   handler cannot bring their refusals back.
#![expect(
    clippy::disallowed_types,
    reason = "the one place that wraps axum's extractors"
)]

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;
use crate::http::error::PageError;

fn api_path(_: PathRejection) -> ApiError {
    ApiError::Malformed("the address is not valid: each id in it must be a UUID".to_owned())
}

fn api_query(_: QueryRejection) -> ApiError {
    ApiError::Malformed(
        "the query string is not valid: a parameter has the wrong type, or is not one this endpoint accepts"
            .to_owned(),
    )
}

fn page_path(_: PathRejection) -> PageError {
    PageError::NotFound
}

fn page_query(_: QueryRejection) -> PageError {
    PageError::Invalid(vec![(
        "address".to_owned(),
        "The address of this page is not valid".to_owned(),
    )])
}

fn page_form(rejection: FormRejection) -> PageError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => PageError::TooLarge,
        _ => PageError::Invalid(vec![(
            "form".to_owned(),
            "The form could not be read: send it again from its page".to_owned(),
        )]),
    }
}

/// A wrapper of an axum extractor of request parts, with its rejection mapped by `$map`.
macro_rules! parts_extractor {
    ($(#[$doc:meta])* $name:ident, $inner:ident, $rejection:ty, $map:path) => {
        $(#[$doc])*
        pub struct $name<T>(pub T);

        impl<T, S> FromRequestParts<S> for $name<T>
        where
            T: DeserializeOwned + Send,
            S: Send + Sync,
        {
            type Rejection = $rejection;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
                axum::extract::$inner::<T>::from_request_parts(parts, state)
                    .await
                    .map(|v| $name(v.0))
                    .map_err($map)
            }
        }
    };
}

/// The API's extractors: refusals are the JSON error body.
pub mod api {
    use super::*;

    parts_extractor!(
        /// Path parameters; a refusal is 400 `malformed`, naming no value.
        Path,
        Path,
        ApiError,
        api_path
    );
    parts_extractor!(
        /// A query string; a refusal is 400 `malformed`, naming no value.
        Query,
        Query,
        ApiError,
        api_query
    );
}

/// The pages' extractors: refusals are the error page.
pub mod page {
    use super::*;

    parts_extractor!(
        /// Path parameters; one that does not parse is "Page not found".
        Path,
        Path,
        PageError,
        page_path
    );
    parts_extractor!(
        /// A query string; one that does not parse is the 400 error page.
        Query,
        Query,
        PageError,
        page_query
    );

    /// A URL-encoded form; one that does not parse is the 400 error page.
    pub struct Form<T>(pub T);

    impl<T, S> FromRequest<S> for Form<T>
    where
        T: DeserializeOwned,
        S: Send + Sync,
    {
        type Rejection = PageError;

        async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
            axum::Form::<T>::from_request(req, state)
                .await
                .map(|v| Form(v.0))
                .map_err(page_form)
        }
    }
}
