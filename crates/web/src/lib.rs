//! HTTP for Confidant: the staff web pages, the JSON API under `/api/v1` (its OpenAPI document at
//! `/api/v1/openapi.json`), the stylesheet, and a health check.
//!
//! Guarantees:
//! - Handlers call core services only; every request for personal data carries an authenticated
//!   [`Actor`] (bearer token) and a [`Purpose`], and authorization happens in core.
//! - No personal data in URLs (look-ups by identifier are POSTed), logs (spans hold the method, the
//!   route pattern, the status and the request id), or error bodies (they name fields, never values).
//! - The request id is a UUID: a client's `x-request-id` is kept only if it is one, and replaced by
//!   a new one otherwise, so no client text reaches the log through it.
//! - Errors are mapped in one place ([`http::error`]): a JSON body for the API, a page for the
//!   pages; not allowed answers exactly as not found; a server fault answers a generic 500 with the
//!   request id, and the detail goes to the log once. Around every route, [`http::error_page`]
//!   gives a signed-in member of staff's error pages the navigation, and turns whatever the
//!   framework answers by itself (404, 405, 413…) into the same page or JSON body.
//! - Every route runs inside [`Confidant::answer_when_audited`]: the reads and refusals a request
//!   recorded are appended in one batch, durably, before its answer leaves, and if they cannot be
//!   the answer is dropped and a 503 given. No read is shown without its audit event.
//! - Every response carries the security headers (a CSP without inline script, no framing, no
//!   sniffing, no referrer, HSTS when served over TLS); nothing but the static assets is cached.

pub mod api;
pub mod http;
pub mod pages;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use confidant_core::store::{AuditChain as _, Store};
use confidant_core::{Clock, Confidant};
use http::error::{ApiError, PageError};
use http::routing::{Routes, get};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use confidant_core::{Actor, Purpose};

/// The largest request body accepted: small JSON documents and forms. A document upload has its own
/// limit ([`api::MAX_UPLOAD_BODY_BYTES`]).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How the site is served, as far as the pages need to know. The default: plain HTTP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebConfig {
    /// Cookies are `Secure` and `__Host-` prefixed: the browser reaches the site over HTTPS (served
    /// with TLS here, or behind a proxy that terminates TLS).
    pub secure_cookies: bool,
    /// Send `Strict-Transport-Security` (only when this process serves TLS itself).
    pub hsts: bool,
}

impl WebConfig {
    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-confidant-session"
        } else {
            "confidant-session"
        }
    }

    /// The double-submit CSRF cookie of the sign-in form (before there is a session).
    pub fn csrf_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-confidant-csrf"
        } else {
            "confidant-csrf"
        }
    }
}

/// What every handler shares.
pub struct AppState<S, C> {
    pub confidant: Arc<Confidant<S, C>>,
    pub web: WebConfig,
}

impl<S, C> Clone for AppState<S, C> {
    fn clone(&self) -> Self {
        Self {
            confidant: self.confidant.clone(),
            web: self.web,
        }
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route the application serves, pages and API, with its table ([`http::routing::Registered`]).
/// [`router`] serves exactly these; the route-wide tests iterate over the table.
pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .merge(pages::routes::<S, C>())
        .merge(http::assets::routes())
        .route("/healthz", get(healthz::<S, C>))
        .nest("/api/v1", api::routes::<S, C>())
        .map(|r| {
            r.fallback(not_found)
                .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        })
        // Document uploads are merged after the small-body limit: they set their own.
        .merge(api::upload_routes::<S, C>())
        .merge(pages::upload_routes::<S, C>())
}

/// The whole application.
pub fn router<S: Store, C: Clock>(confidant: Arc<Confidant<S, C>>, web: WebConfig) -> Router {
    let state = AppState { confidant, web };
    let hsts = web.hsts;
    routes::<S, C>()
        .into_router()
        .with_state(state.clone())
        // Around every route: an error answer, the framework's own included, is the error page
        // (with the navigation of whoever is signed in) or the API's error body.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::error_page::error_pages::<S, C>,
        ))
        // Around that: the accesses a request recorded are durable before its answer goes out
        // through the layers below.
        .layer(middleware::from_fn_with_state(
            state,
            answer_when_audited::<S, C>,
        ))
        .layer(middleware::from_fn(move |req, next| {
            security_headers(hsts, req, next)
        }))
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
        .layer(middleware::from_fn(client_request_id))
}

/// Runs the request in an audit scope ([`Confidant::answer_when_audited`]): every read and refusal
/// it recorded is appended in one batch (one disk commit, shared with the other requests waiting)
/// before the answer leaves. If they cannot be appended, the answer is dropped unseen and a 503
/// given instead: no read is ever shown without its durable event.
async fn answer_when_audited<S: Store, C: Clock>(
    axum::extract::State(state): axum::extract::State<AppState<S, C>>,
    request: Request,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    match state.confidant.answer_when_audited(next.run(request)).await {
        Ok(response) => response,
        Err(e) if api => axum::response::IntoResponse::into_response(ApiError::from(e)),
        Err(e) => axum::response::IntoResponse::into_response(PageError::from(e)),
    }
}

/// A client's `x-request-id` is kept only if it is a UUID (rewritten in its canonical form);
/// anything else is dropped, so [`SetRequestIdLayer`] gives the request a new one. What the log and
/// the answer carry as the request id is then never text a client chose.
async fn client_request_id(mut request: Request, next: Next) -> Response {
    let headers = request.headers_mut();
    if headers.contains_key(&REQUEST_ID) {
        let given = headers
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| uuid::Uuid::try_parse(v).ok());
        // Every copy goes: a second header could otherwise carry text through.
        headers.remove(&REQUEST_ID);
        if let Some(id) = given
            && let Ok(value) = HeaderValue::from_str(&id.hyphenated().to_string())
        {
            headers.insert(REQUEST_ID.clone(), value);
        }
    }
    next.run(request).await
}

/// Headers for every response: no framing, no sniffing, no referrer, a strict CSP, and no caching
/// except for the static assets (which say so themselves).
async fn security_headers(hsts: bool, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    // A download is sandboxed too, should a browser ever render it rather than save it.
    // (A served file carries Content-Disposition: a download, or a photo shown inline.)
    let attachment = h.contains_key(header::CONTENT_DISPOSITION);
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if attachment {
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
        } else {
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        }),
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
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// No route: the error page, or the API's error body for an address under `/api/`.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        axum::response::IntoResponse::into_response(ApiError::NotFound)
    } else {
        axum::response::IntoResponse::into_response(PageError::NotFound)
    }
}

async fn healthz<S: Store, C: Clock>(
    axum::extract::State(state): axum::extract::State<AppState<S, C>>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    state
        .confidant
        .audit_log()
        .head()
        .await
        .map_err(ApiError::from)?;
    Ok(axum::Json(serde_json::json!({ "status": "ok" })))
}
