//! Static assets, compiled into the binary: the stylesheet (built by `build.rs` from GOV.UK
//! Frontend with Arial and Confidant's own colours) and the favicon.
//!
//! Guarantees:
//! - Nothing is read from disk at run time and nothing comes from another host, so the CSP's
//!   `style-src 'self'; img-src 'self'` holds and an installation is a single file.
//! - Assets carry `Cache-Control: public, max-age=3600` (they hold no personal data); pages link
//!   the stylesheet through [`STYLESHEET_HREF`], whose version stamp changes with its content, so a
//!   new release is never styled by an old cached copy.

use crate::http::routing::{Routes, get};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

/// Where the stylesheet is served.
pub const STYLESHEET_PATH: &str = "/assets/app.css";

/// What pages link to: [`STYLESHEET_PATH`] with a stamp of the stylesheet's content.
pub const STYLESHEET_HREF: &str = concat!(
    "/assets/app.css?v=",
    include_str!(concat!(env!("OUT_DIR"), "/app.css.version"))
);

/// Where the favicon is served.
pub const FAVICON_PATH: &str = "/assets/favicon.svg";

/// How long browsers may keep an asset. Short, so an unstamped URL (the favicon) catches up within
/// the hour.
pub const CACHE_CONTROL: &str = "public, max-age=3600";

static STYLESHEET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/app.css"));
static FAVICON: &[u8] = include_bytes!("../../assets/favicon.svg");

/// The asset routes; merge them into the application's router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Routes<S> {
    Routes::new()
        .route(STYLESHEET_PATH, get(stylesheet))
        .route(FAVICON_PATH, get(favicon))
}

async fn stylesheet() -> impl IntoResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn favicon() -> impl IntoResponse {
    asset("image/svg+xml", FAVICON)
}

fn asset(content_type: &'static str, body: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn get_asset(path: &str) -> axum::response::Response {
        routes::<()>()
            .into_router()
            .oneshot(
                Request::get(path)
                    .body(Body::empty())
                    .expect("a valid request"),
            )
            .await
            .expect("the router is infallible")
    }

    #[tokio::test]
    async fn the_stylesheet_is_served_as_css_with_an_hours_cache() {
        let response = get_asset(STYLESHEET_PATH).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], CACHE_CONTROL);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("an in-memory body");
        assert!(body.len() > 10_000, "the stylesheet looks empty");
        assert!(
            body.windows(6).any(|w| w == b".app-h"),
            "our own rules are missing"
        );
    }

    #[test]
    fn the_stylesheet_uses_no_gds_transport_font() {
        let css = String::from_utf8_lossy(STYLESHEET);
        assert!(!css.contains("GDS Transport"));
        assert!(!css.contains("@font-face"));
        assert!(css.contains("font-family:arial,sans-serif"));
    }

    #[tokio::test]
    async fn the_favicon_is_served_as_svg() {
        let response = get_asset(FAVICON_PATH).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/svg+xml");
        assert_eq!(response.headers()[header::CACHE_CONTROL], CACHE_CONTROL);
    }

    #[test]
    fn the_stylesheet_link_carries_a_content_stamp() {
        let stamp = STYLESHEET_HREF
            .strip_prefix("/assets/app.css?v=")
            .expect("the stylesheet path with a stamp");
        assert_eq!(stamp.len(), 16);
        assert!(stamp.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
