//! HTTP for Confidant: the JSON API under `/api/v1` (its OpenAPI document at `/api/v1/openapi.json`),
//! a health check, and a plain landing page.
//!
//! Guarantees:
//! - Handlers call core services only; every request for personal data carries an authenticated
//!   [`Actor`] (bearer token) and a [`Purpose`], and authorization happens in core.
//! - No personal data in URLs (look-ups by identifier are POSTed), logs (spans hold the method, the
//!   route pattern, the status and the request id), or error bodies (they name fields, never values).
//! - Errors are mapped in one place ([`error::ApiError`]): not allowed answers exactly as not found;
//!   a server fault answers a generic 500 with the request id, and the detail goes to the log once.
//! - Every response carries the security headers; none is cached.

pub mod api;
pub mod error;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{Html, Response};
use axum::routing::get;
use confidant_core::store::Store;
use confidant_core::{Clock, Confidant};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use confidant_core::{Actor, Purpose};

/// The largest request body accepted (the API takes small JSON documents only).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler shares.
pub struct AppState<S, C> {
    pub confidant: Arc<Confidant<S, C>>,
}

impl<S, C> Clone for AppState<S, C> {
    fn clone(&self) -> Self {
        Self {
            confidant: self.confidant.clone(),
        }
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application.
pub fn router<S: Store, C: Clock>(confidant: Arc<Confidant<S, C>>) -> Router {
    let state = AppState { confidant };
    Router::new()
        .route("/", get(landing))
        .route("/healthz", get(healthz::<S, C>))
        .nest("/api/v1", api::routes::<S, C>())
        .with_state(state)
        .layer(middleware::from_fn(security_headers))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The route pattern, never the concrete URI: a client may put anything in a query.
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), route, request.id = id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}

/// Headers for every response: no framing, no sniffing, no referrer, no caching, a strict CSP.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn healthz<S: Store, C: Clock>(
    axum::extract::State(state): axum::extract::State<AppState<S, C>>,
) -> Result<axum::Json<serde_json::Value>, error::ApiError> {
    state
        .confidant
        .store()
        .audit_head()
        .await
        .map_err(error::ApiError::from)?;
    Ok(axum::Json(serde_json::json!({ "status": "ok" })))
}

async fn landing() -> Html<&'static str> {
    Html(include_str!("landing.html"))
}
