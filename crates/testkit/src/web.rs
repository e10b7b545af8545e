//! The web edge driven in-process, as the web tests drive it: an [`Answer`] with its status,
//! headers and body; a [`Web`] that sends requests through a router (pages with a session cookie,
//! the API with a token); a [`Browser`], one signed-in member of staff, that posts a form with the
//! CSRF token read from the page that shows it; and the form and multipart bodies they send.
//!
//! The router comes from the caller (`confidant_web::router`), so testkit does not depend on the web
//! crate it tests.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::header::{self, AsHeaderName};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use confidant_core::Confidant;
use confidant_core::access::Principal;
use confidant_core::clock::FixedClock;
use confidant_core::store::{StaffRecord, TokenScope};
use confidant_store::SqlStore;
use serde_json::Value;
use tower::ServiceExt;

use crate::{TEST_PASSWORD, issue_token, sign_in_fully, staff_by_handle};

/// The boundary of the multipart bodies [`multipart`] builds.
pub const BOUNDARY: &str = "----confidant-test-boundary-7MA4YWxkTrZu0gW";

/// An answer: status, headers and body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; an error if it is not JSON.
    pub fn json(&self) -> anyhow::Result<Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }

    /// The body as JSON, `Null` if it is not JSON.
    pub fn json_or_null(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as JSON, `Null` if it is empty; an error if it is something else.
    pub fn json_if_any(&self) -> anyhow::Result<Value> {
        if self.body.is_empty() {
            Ok(Value::Null)
        } else {
            self.json()
        }
    }

    /// A header's value (empty if absent or not text).
    pub fn header(&self, name: impl AsHeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Where a redirect goes; fails the test if the answer is not `303 See Other`.
    pub fn location(&self) -> String {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "expected a redirect, got {}: {}",
            self.status,
            self.text()
        );
        self.header(header::LOCATION).to_owned()
    }

    /// The CSRF token of the page's (first) form (empty if there is none).
    pub fn csrf(&self) -> String {
        between(&self.text(), "name=\"csrf\" value=\"", "\"")
    }
}

/// The text between `start` and the next `end` (empty if absent).
pub fn between(text: &str, start: &str, end: &str) -> String {
    text.split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(found, _)| found.to_owned())
        .unwrap_or_default()
}

/// The id at the end of a path such as `/people/<id>` (before any query).
pub fn last_id(path: &str) -> anyhow::Result<uuid::Uuid> {
    let path = path.split('?').next().unwrap_or_default();
    Ok(uuid::Uuid::parse_str(
        path.rsplit('/').next().unwrap_or_default(),
    )?)
}

/// Whether `html` shows `text` (escaped as askama escapes it).
pub fn shows(html: &str, text: &str) -> bool {
    ["&#39;", "&#x27;"]
        .iter()
        .any(|q| html.contains(&text.replace('&', "&amp;").replace('\'', q)))
}

/// `pairs` as an `application/x-www-form-urlencoded` body.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A `multipart/form-data` body (boundary [`BOUNDARY`]) of `fields` and, if given, a file field
/// named `file` with its file name and content.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, content)) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The `Cookie` header value of a session token.
pub fn session_cookie(token: &str) -> String {
    format!("confidant-session={token}")
}

/// The session cookie of a member of staff given [`TEST_PASSWORD`] and signed in fully.
pub async fn signed_in_cookie(
    confidant: &Confidant<SqlStore, FixedClock>,
    staff: &StaffRecord,
) -> anyhow::Result<String> {
    let signed = sign_in_fully(confidant, staff, TEST_PASSWORD).await?;
    Ok(session_cookie(&signed.token))
}

/// A router driven in-process.
#[derive(Clone)]
pub struct Web {
    router: Router,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Web")
    }
}

impl Web {
    pub fn new(router: Router) -> Self {
        Self { router }
    }

    /// The router itself, for requests built by hand.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Sends a request; gives back the whole answer.
    pub async fn send(&self, request: Request<Body>) -> anyhow::Result<Answer> {
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await?
            .to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// A GET without a session.
    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.send(Request::builder().uri(path).body(Body::empty())?)
            .await
    }

    /// A call of the JSON API (`/api/v1` + `path`) with a bearer token and, if given, a JSON body.
    pub async fn api(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Answer> {
        let builder = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let request = match body {
            Some(b) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string()))?,
            None => builder.body(Body::empty())?,
        };
        self.send(request).await
    }

    /// A call of the JSON API: its status and its JSON body (`Null` if empty).
    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let answer = self.api(token, method, path, body).await?;
        Ok((answer.status, answer.json_if_any()?))
    }

    /// A call of the JSON API that must answer `expected`; gives back its JSON body (`Null` if
    /// empty).
    pub async fn expect(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(token, method.clone(), path, body).await?;
        anyhow::ensure!(
            status == expected,
            "{method} {path}: expected {expected}, got {status} {value}"
        );
        Ok(value)
    }

    /// A browser with this session cookie.
    pub fn browser(&self, cookie: String) -> Browser {
        Browser {
            web: self.clone(),
            cookie,
        }
    }

    /// A browser of a member of staff given [`TEST_PASSWORD`] and signed in fully.
    pub async fn sign_in(
        &self,
        confidant: &Confidant<SqlStore, FixedClock>,
        staff: &StaffRecord,
    ) -> anyhow::Result<Browser> {
        Ok(self.browser(signed_in_cookie(confidant, staff).await?))
    }
}

/// One signed-in member of staff: every request carries their session cookie.
#[derive(Clone)]
pub struct Browser {
    web: Web,
    cookie: String,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Browser([redacted])")
    }
}

impl Browser {
    /// The `Cookie` header this browser sends.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// A GET.
    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.web
            .send(
                Request::builder()
                    .uri(path)
                    .header(header::COOKIE, &self.cookie)
                    .body(Body::empty())?,
            )
            .await
    }

    /// Posts a form as is (the caller gives the CSRF token, or leaves it out).
    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> anyhow::Result<Answer> {
        self.web
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri(path)
                    .header(header::COOKIE, &self.cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(form_encode(pairs)))?,
            )
            .await
    }

    /// Opens the page with the form (`form_page`), which must answer 200 and carry a CSRF token,
    /// then posts `pairs` to `action` with that token.
    pub async fn submit(
        &self,
        form_page: &str,
        action: &str,
        pairs: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        let page = self.get(form_page).await?;
        assert_eq!(page.status, StatusCode::OK, "{form_page}: {}", page.text());
        let csrf = page.csrf();
        assert!(!csrf.is_empty(), "no CSRF token on {form_page}");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post_form(action, &all).await
    }

    /// Uploads a file through a page's multipart form, with the CSRF token of `form_page`; the
    /// length is announced in `Content-Length` if `announce_length`.
    pub async fn upload(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
        file: (&str, &[u8]),
        announce_length: bool,
    ) -> anyhow::Result<Answer> {
        let csrf = self.get(form_page).await?.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let body = multipart(&all, Some(file));
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(action)
            .header(header::COOKIE, &self.cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            );
        if announce_length {
            request = request.header(header::CONTENT_LENGTH, body.len());
        }
        self.web.send(request.body(Body::from(body))?).await
    }
}

/// A [`crate::TestApp`] served: the router, the application it shares, the organisation's two
/// services with a practitioner of each, and the database (kept alive with the site).
pub struct TestSite {
    pub web: Web,
    pub confidant: Arc<Confidant<SqlStore, FixedClock>>,
    /// Service A and a practitioner of it.
    pub service_a: uuid::Uuid,
    pub worker_a: Principal,
    /// Service B and a practitioner of it.
    pub service_b: uuid::Uuid,
    pub worker_b: Principal,
    pub organisation: uuid::Uuid,
    pub db: crate::TestDb,
}

impl std::fmt::Debug for TestSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestSite")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl crate::TestApp {
    /// Hands the application to a router made by `router` (`confidant_web::router`).
    pub fn serve(
        self,
        router: impl FnOnce(Arc<Confidant<SqlStore, FixedClock>>) -> Router,
    ) -> TestSite {
        let confidant = Arc::new(self.confidant);
        TestSite {
            web: Web::new(router(Arc::clone(&confidant))),
            confidant,
            service_a: self.service_a,
            worker_a: self.worker_a,
            service_b: self.service_b,
            worker_b: self.worker_b,
            organisation: self.organisation,
            db: self.db,
        }
    }

    /// A personal access token (valid a day) of the member of staff with `handle`.
    pub async fn token(&self, handle: &str, scope: TokenScope) -> anyhow::Result<String> {
        issue_token(&self.confidant, handle, scope).await
    }
}

impl TestSite {
    /// A member of staff by handle.
    pub async fn staff(&self, handle: &str) -> anyhow::Result<StaffRecord> {
        staff_by_handle(&self.confidant, handle).await
    }

    /// A personal access token (valid a day) of the member of staff with `handle`.
    pub async fn token(&self, handle: &str, scope: TokenScope) -> anyhow::Result<String> {
        issue_token(&self.confidant, handle, scope).await
    }

    /// The session cookie of the member of staff with `handle`, signed in fully.
    pub async fn cookie(&self, handle: &str) -> anyhow::Result<String> {
        let staff = self.staff(handle).await?;
        signed_in_cookie(&self.confidant, &staff).await
    }

    /// A browser of the member of staff with `handle`, signed in fully.
    pub async fn browser(&self, handle: &str) -> anyhow::Result<Browser> {
        Ok(self.web.browser(self.cookie(handle).await?))
    }
}
