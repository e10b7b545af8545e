#![allow(
    dead_code,
    reason = "helpers for the hardening tests still being written"
)]
//! The edges of the HTTP surface, hardened (issue 12, findings 2, 5, 6 and 7), each through the real
//! router in-process on SQLite and PostgreSQL:
//! - break-the-glass and read-only tokens cannot export a record;
//! - a foreign id in a body answers alike whether it names a real record elsewhere or nothing;
//! - an administrator adding an account sees it created (with its one-time password where they may
//!   set one);
//! - the sign-in form's token is one the server issued; passwords built from the organisation's or a
//!   service's name are refused; path and query parse errors answer the JSON error body (API) or the
//!   error page (pages) without echoing what was sent; a client's `x-request-id` is kept only if it is
//!   a UUID; invisible names and control characters in file names are refused; images that do not
//!   decode, or decode too large, are refused.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use confidant_core::clock::FixedClock;
use confidant_core::store::{StaffRecord, Store, TokenScope};
use confidant_core::{Actor, Confidant, Purpose, Role};
use confidant_store::SqlStore;
use confidant_testkit::{
    TEST_PASSWORD, TestApp, TestBackend, TestDb, both_backends, sign_in_fully,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

/// An answer: status, headers and body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    }

    /// The CSRF token of the page's (first) form.
    fn csrf(&self) -> String {
        between(&self.text(), "name=\"csrf\" value=\"", "\"")
    }
}

/// The text between `start` and the next `end` (empty if absent).
fn between(text: &str, start: &str, end: &str) -> String {
    text.split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(found, _)| found.to_owned())
        .unwrap_or_default()
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
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

/// The application with its organisation (two services and their staff), driven in-process.
struct Site {
    db: TestDb,
    confidant: Arc<Confidant<SqlStore, FixedClock>>,
    router: axum::Router,
    service_a: Uuid,
    service_b: Uuid,
    worker_a: Actor,
    worker_b: Actor,
}

impl Site {
    async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        let TestApp {
            db,
            confidant,
            service_a,
            service_b,
            worker_a,
            worker_b,
            ..
        } = TestApp::new(backend).await?;
        let confidant = Arc::new(confidant);
        let router = confidant_web::router(confidant.clone(), confidant_web::WebConfig::default());
        Ok(Self {
            db,
            confidant,
            router,
            service_a,
            service_b,
            worker_a,
            worker_b,
        })
    }

    async fn staff(&self, handle: &str) -> anyhow::Result<StaffRecord> {
        self.confidant
            .staff_by_handle(handle)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no {handle}"))
    }

    /// A personal access token of a member of staff.
    async fn token(&self, handle: &str, scope: TokenScope) -> anyhow::Result<String> {
        let staff = self.staff(handle).await?;
        Ok(self
            .confidant
            .issue_token(&Actor::System, &staff, time::Duration::days(1), scope)
            .await?
            .expose()
            .to_owned())
    }

    /// A session cookie of a member of staff, signed in fully.
    async fn cookie(&self, handle: &str) -> anyhow::Result<String> {
        let staff = self.staff(handle).await?;
        let signed = sign_in_fully(&self.confidant, &staff, TEST_PASSWORD).await?;
        Ok(format!("confidant-session={}", signed.token))
    }

    async fn send(&self, request: Request<Body>) -> anyhow::Result<Answer> {
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

    async fn api(
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

    async fn get_page(&self, cookie: &str, path: &str) -> anyhow::Result<Answer> {
        self.send(
            Request::builder()
                .uri(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())?,
        )
        .await
    }

    async fn post_form(
        &self,
        cookie: &str,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form_encode(pairs)))?,
        )
        .await
    }

    /// Opens the page with the form (`form_page`), then posts it to `action` with its CSRF token.
    async fn submit(
        &self,
        cookie: &str,
        form_page: &str,
        action: &str,
        pairs: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        let page = self.get_page(cookie, form_page).await?;
        assert_eq!(page.status, StatusCode::OK, "{form_page}: {}", page.text());
        let csrf = page.csrf();
        assert!(!csrf.is_empty(), "no CSRF token on {form_page}");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post_form(cookie, action, &all).await
    }

    /// A person in a service, made by one of its practitioners.
    async fn person(&self, by: &Actor, service: Uuid) -> anyhow::Result<Uuid> {
        let mut input = confidant_core::person::PersonInput::new();
        input.set_code("given_name", "Marker".to_owned());
        input.set_code("family_name", "Person".to_owned());
        Ok(self
            .confidant
            .create_person(by, Purpose::Support, service, &input)
            .await?
            .id)
    }

    /// The number of events on the audit log.
    async fn audit_len(&self) -> anyhow::Result<i64> {
        Ok(self
            .confidant
            .store()
            .audit_head()
            .await?
            .map_or(0, |h| h.seq))
    }
}

// --- (6) adding an account through the page ---

both_backends!(
    an_administrator_adding_an_account_sees_it_created,
    |backend| async move {
        let site = Site::new(backend).await?;
        let admin = site.cookie("admin").await?;
        let service = site.service_a.to_string();
        for role in Role::ALL {
            let handle = format!("new.{}", role.code().replace('_', "-"));
            let created = site
                .submit(
                    &admin,
                    "/admin/users/new",
                    "/admin/users",
                    &[
                        ("handle", handle.as_str()),
                        ("role", role.code()),
                        ("service", service.as_str()),
                    ],
                )
                .await?;
            let html = created.text();
            assert_eq!(created.status, StatusCode::OK, "{role:?}: {html}");
            assert!(html.contains("Account added"), "{role:?}: {html}");
            let staff = site.staff(&handle).await?;
            assert_eq!(staff.role, role);
            let password = between(&html, "id=\"new-password\">", "</code>");
            if matches!(role, Role::Administrator | Role::Auditor) {
                assert!(password.len() >= 12, "{role:?}: no password in {html}");
                assert!(
                    site.confidant.sign_in(&handle, &password).await.is_ok(),
                    "{role:?}: the password shown does not sign in"
                );
            } else {
                // Separation of duties: an administrator never holds the password of an account
                // that sees records; the page says who sets it, and none is set.
                assert!(password.is_empty(), "{role:?}: {html}");
                assert!(html.contains("Data Protection Officer"), "{role:?}: {html}");
                let credential = site.confidant.store().credential(staff.id).await?;
                assert!(credential.and_then(|c| c.password_hash).is_none());
            }
        }
        // The Data Protection Officer then sets the practitioner's first password from its page.
        let dpo = site.cookie("dpo").await?;
        let practitioner = site.staff("new.practitioner").await?;
        let page = format!("/admin/users/{}", practitioner.id);
        let set = site
            .submit(&dpo, &page, &format!("{page}/reset-password"), &[])
            .await?;
        assert_eq!(set.status, StatusCode::OK, "{}", set.text());
        let password = between(&set.text(), "it is shown only now): ", "<");
        assert!(
            site.confidant
                .sign_in("new.practitioner", password.trim())
                .await
                .is_ok(),
            "the DPO's password does not sign in: {}",
            set.text()
        );
        Ok(())
    }
);

// --- (2) an export needs the service's own access and a token that may change ---

/// The events appended to the audit log after `seq`.
async fn events_after(
    site: &Site,
    seq: i64,
) -> anyhow::Result<Vec<confidant_core::audit::AuditEvent>> {
    Ok(site.confidant.store().audit_events(seq + 1, 1000).await?)
}

both_backends!(
    break_the_glass_and_read_only_tokens_cannot_export_a_record,
    |backend| async move {
        let site = Site::new(backend).await?;
        let person = site.person(&site.worker_a, site.service_a).await?;
        let store = site.confidant.store();
        // Another service's practitioner breaks the glass: they may read the record now.
        let other = site.token("worker.b", TokenScope::ReadWrite).await?;
        let broke = site
            .api(
                &other,
                Method::POST,
                &format!("/people/{person}/break-glass"),
                Some(json!({ "reason": "Found unconscious at the hostel, need the GP" })),
            )
            .await?;
        assert_eq!(broke.status, StatusCode::CREATED, "{}", broke.text());
        let read = site
            .api(&other, Method::GET, &format!("/people/{person}"), None)
            .await?;
        assert_eq!(read.status, StatusCode::OK);

        // ...but not export it: 403 with a stable code, no disclosure, one denied event.
        let head = site.audit_len().await?;
        let export = site
            .api(
                &other,
                Method::GET,
                &format!("/people/{person}/export"),
                None,
            )
            .await?;
        assert_eq!(export.status, StatusCode::FORBIDDEN, "{}", export.text());
        assert_eq!(export.json()["error"], "export_not_allowed");
        assert!(store.disclosures_of(person).await?.is_empty());
        let events = events_after(&site, head).await?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].action, "person.export");
        assert_eq!(events[0].outcome, "denied");
        assert_eq!(events[0].purpose, "break_glass");

        // A read-only token of the person's own service cannot export either (an export writes
        // the disclosure log): 403, recorded, nothing logged as disclosed.
        let read_only = site.token("worker.a", TokenScope::Read).await?;
        let head = site.audit_len().await?;
        let export = site
            .api(
                &read_only,
                Method::GET,
                &format!("/people/{person}/export"),
                None,
            )
            .await?;
        assert_eq!(export.status, StatusCode::FORBIDDEN, "{}", export.text());
        assert_eq!(export.json()["error"], "read_only_token");
        assert!(store.disclosures_of(person).await?.is_empty());
        let events = events_after(&site, head).await?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].action, "access.read_only_token");

        // The service's own practitioner with a token that may change exports, and it is logged.
        let own = site.token("worker.a", TokenScope::ReadWrite).await?;
        let export = site
            .api(&own, Method::GET, &format!("/people/{person}/export"), None)
            .await?;
        assert_eq!(export.status, StatusCode::OK, "{}", export.text());
        assert_eq!(store.disclosures_of(person).await?.len(), 1);
        Ok(())
    }
);

// --- (5) a foreign id in a body is no existence oracle ---

both_backends!(
    a_linked_person_answers_alike_whether_it_exists_unless_the_caller_may_read_it,
    |backend| async move {
        let site = Site::new(backend).await?;
        let token = site.token("worker.a", TokenScope::ReadWrite).await?;
        let person = site.person(&site.worker_a, site.service_a).await?;
        let elsewhere = site.person(&site.worker_b, site.service_b).await?;
        let add = |linked: Uuid, relationship: &'static str| {
            let (site, token) = (&site, &token);
            async move {
                site.api(
                    token,
                    Method::POST,
                    &format!("/people/{person}/related"),
                    Some(json!({
                        "relationship": relationship,
                        "linked_person_id": linked,
                        "fields": { "given_name": "Kin" },
                    })),
                )
                .await
            }
        };
        // A real record of another service and an id that names nothing: the same answer, and
        // neither shows the link.
        let real = add(elsewhere, "family").await?;
        let random = add(Uuid::new_v4(), "family").await?;
        assert_eq!(
            real.status,
            random.status,
            "{} / {}",
            real.text(),
            random.text()
        );
        assert_eq!(real.status, StatusCode::CREATED, "{}", real.text());
        let shape = |a: &Answer| {
            let mut v = a.json();
            v["id"] = Value::Null;
            v["created_at"] = Value::Null;
            v
        };
        assert_eq!(shape(&real), shape(&random));
        assert_eq!(real.json()["linked_person_id"], Value::Null);
        let listed = site
            .api(
                &token,
                Method::GET,
                &format!("/people/{person}/related"),
                None,
            )
            .await?
            .json();
        assert!(
            !listed.to_string().contains(&elsewhere.to_string()),
            "{listed}"
        );

        // A record the caller may read is linked and shown, and a wrong link is refused with why.
        let own = site.person(&site.worker_a, site.service_a).await?;
        let linked = add(own, "alleged_perpetrator").await?;
        assert_eq!(linked.status, StatusCode::CREATED, "{}", linked.text());
        assert_eq!(linked.json()["linked_person_id"], own.to_string());
        let refused = add(own, "next_of_kin").await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.json()["fields"][0]["field"], "linked_person_id");
        let itself = add(person, "family").await?;
        assert_eq!(itself.status, StatusCode::UNPROCESSABLE_ENTITY);
        Ok(())
    }
);
