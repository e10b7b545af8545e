//! Contact preferences and messages through the JSON API, end to end on SQLite and PostgreSQL: the
//! preferences read and replaced, bad channel codes refused by name, a contact and a message through
//! a refused channel refused with 422 naming the channel, and the delivery log.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use confidant_core::store::TokenScope;
use confidant_testkit::{TestApp, TestBackend, TestDb, both_backends, operator};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

struct Api {
    router: axum::Router,
    token: String,
    other_service: String,
    service_a: Uuid,
    _db: TestDb,
}

impl Api {
    async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        let app = TestApp::new(backend).await?;
        let mut tokens = Vec::new();
        for handle in ["worker.a", "worker.b"] {
            let staff = app
                .confidant
                .staff_by_handle(handle)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no {handle}"))?;
            tokens.push(
                app.confidant
                    .issue_token(
                        &operator(),
                        &staff,
                        time::Duration::days(1),
                        TokenScope::ReadWrite,
                    )
                    .await?
                    .expose()
                    .to_owned(),
            );
        }
        let service_a = app.service_a;
        let TestApp { confidant, db, .. } = app;
        let router =
            confidant_web::router(Arc::new(confidant), confidant_web::WebConfig::default());
        let other_service = tokens.pop().unwrap_or_default();
        let token = tokens.pop().unwrap_or_default();
        Ok(Self {
            router,
            token,
            other_service,
            service_a,
            _db: db,
        })
    }

    async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
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
        let res = self.router.clone().oneshot(request).await?;
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1024 * 1024).await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok((status, value))
    }

    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, value) = self
            .call_as(&self.token, method.clone(), path, body)
            .await?;
        anyhow::ensure!(
            status == expected,
            "{method} {path}: expected {expected}, got {status} {value}"
        );
        Ok(value)
    }
}

fn field_errors(v: &Value) -> Vec<(String, String)> {
    v["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["field"].as_str().unwrap_or_default().to_owned(),
                        f["message"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

both_backends!(
    preferences_are_read_and_replaced_and_refused_channels_refuse_contacts,
    |backend| async move {
        let api = Api::new(backend).await?;
        let created = api
            .expect(
                Method::POST,
                &format!("/services/{}/people", api.service_a),
                Some(json!({"given_name": "Rowan", "family_name": "Ashdown", "email": "r.ashdown@example.net", "phone": "07700 900456"})),
                StatusCode::CREATED,
            )
            .await?;
        let person = created["id"].as_str().unwrap_or_default().to_owned();
        let prefs = format!("/people/{person}/contact-preferences");
        let none = api
            .expect(Method::GET, &prefs, None, StatusCode::OK)
            .await?;
        assert_eq!(none["id"], Value::Null);
        assert_eq!(none["channels"], json!({}));

        let set = api
            .expect(
                Method::PUT,
                &prefs,
                Some(json!({"channels": {"phone": "refused", "email": "refused", "text": "allowed"}, "no_voicemail": true, "code_word": "heron"})),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(set["channels"]["phone"], "refused");
        let read = api
            .expect(Method::GET, &prefs, None, StatusCode::OK)
            .await?;
        assert_eq!(
            read["channels"],
            json!({"phone": "refused", "email": "refused", "text": "allowed"})
        );
        assert_eq!(read["no_voicemail"], true);
        assert_eq!(read["code_word"], "heron");

        // A bad channel code or choice is refused by name, and nothing changes.
        let bad = api
            .expect(
                Method::PUT,
                &prefs,
                Some(json!({"channels": {"carrier_pigeon": "allowed"}})),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        assert_eq!(field_errors(&bad)[0].0, "channels");
        let still = api
            .expect(Method::GET, &prefs, None, StatusCode::OK)
            .await?;
        assert_eq!(still["id"], read["id"]);

        // A contact through a refused channel: 422 naming the channel; an allowed one is recorded.
        let entries = format!("/people/{person}/entries");
        let refused = api
            .expect(
                Method::POST,
                &entries,
                Some(
                    json!({"kind": "note", "contact_type": "phone", "fields": {"body": "Called."}}),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        let errors = field_errors(&refused);
        assert_eq!(errors[0].0, "contact_type");
        assert!(errors[0].1.contains("phone"), "{errors:?}");
        api.expect(
            Method::POST,
            &entries,
            Some(json!({"kind": "note", "contact_type": "text", "fields": {"body": "Texted."}})),
            StatusCode::CREATED,
        )
        .await?;

        // A reminder by email is refused naming the channel; by text it is queued.
        let messages = format!("/people/{person}/messages");
        let refused = api
            .expect(
                Method::POST,
                &messages,
                Some(json!({"channel": "email", "template": "appointment_reminder", "at": "2026-11-24T14:30:00Z"})),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        let errors = field_errors(&refused);
        assert_eq!(errors[0].0, "channel");
        assert!(errors[0].1.contains("email"));
        let queued = api
            .expect(
                Method::POST,
                &messages,
                Some(json!({"channel": "text", "template": "please_get_in_touch"})),
                StatusCode::ACCEPTED,
            )
            .await?;
        assert_eq!(queued["state"], "queued");
        let log = api
            .expect(Method::GET, &messages, None, StatusCode::OK)
            .await?;
        assert_eq!(log[0]["id"], queued["id"]);
        assert_eq!(log[0]["attempts"], json!([]));
        // The log holds no address and no text.
        let text = log.to_string();
        assert!(!text.contains("07700") && !text.contains("get in touch with us"));

        // Another service's worker gets 404, even with bad input.
        let (status, _) = api
            .call_as(&api.other_service, Method::GET, &prefs, None)
            .await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = api
            .call_as(
                &api.other_service,
                Method::PUT,
                &prefs,
                Some(json!({"channels": {"carrier_pigeon": "x"}})),
            )
            .await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = api
            .call_as(
                &api.other_service,
                Method::POST,
                &messages,
                Some(json!({"channel": "text", "template": "please_get_in_touch"})),
            )
            .await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        Ok(())
    }
);
