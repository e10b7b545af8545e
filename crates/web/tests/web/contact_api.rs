//! Contact preferences and messages through the JSON API, end to end on SQLite and PostgreSQL: the
//! preferences read and replaced, bad channel codes refused by name, a contact and a message through
//! a refused channel refused with 422 naming the channel, and the delivery log.

use axum::http::{Method, StatusCode};
use confidant_core::store::TokenScope;
use confidant_testkit::web::Web;
use confidant_testkit::{TestApp, TestBackend, TestDb, both_backends};
use serde_json::{Value, json};
use uuid::Uuid;

struct Api {
    web: Web,
    token: String,
    other_service: String,
    service_a: Uuid,
    _db: TestDb,
}

impl Api {
    async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        let app = TestApp::new(backend).await?;
        let token = app.token("worker.a", TokenScope::ReadWrite).await?;
        let other_service = app.token("worker.b", TokenScope::ReadWrite).await?;
        let site = app.serve(crate::router);
        Ok(Self {
            web: site.web,
            token,
            other_service,
            service_a: site.service_a,
            _db: site.db,
        })
    }

    /// A call as the practitioner of service A that must answer `expected`.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        self.web
            .expect(&self.token, method, path, body, expected)
            .await
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
            .web
            .call(&api.other_service, Method::GET, &prefs, None)
            .await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = api
            .web
            .call(
                &api.other_service,
                Method::PUT,
                &prefs,
                Some(json!({"channels": {"carrier_pigeon": "x"}})),
            )
            .await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = api
            .web
            .call(
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
