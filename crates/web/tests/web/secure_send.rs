//! Sending a shared package by secure email (issue 16, part 8), on SQLite and PostgreSQL: the
//! confirm step offers it only for a recipient with a secure address (and says so plainly when it
//! has none), the post queues it with the share, the disclosure's page shows it queued then sent in
//! UK time; through the API, the `send` flag, the disclosure's `sending` and the recipient's
//! `secure_email`.

use std::sync::Mutex;

use axum::http::{Method, StatusCode};
use confidant_core::message::{DeliveryFailure, MessageTransport, Outgoing, RetryPolicy};
use confidant_core::sharing::RecipientInput;
use confidant_core::store::TokenScope;
use confidant_core::{Purpose, Role};
use confidant_testkit::{TestApp, both_backends};
use serde_json::json;

const SECURE: &str = "referrals@riverside.example.org";

/// A transport that keeps what it is given: (to, attachment names).
#[derive(Default)]
struct Kept(Mutex<Vec<(String, Vec<String>)>>);

impl MessageTransport for Kept {
    fn sends_texts(&self) -> bool {
        false
    }

    async fn deliver(&self, message: &Outgoing) -> Result<(), DeliveryFailure> {
        if let Ok(mut kept) = self.0.lock() {
            kept.push((
                message.to.clone(),
                message
                    .attachments
                    .iter()
                    .map(|a| a.filename.clone())
                    .collect(),
            ));
        }
        Ok(())
    }
}

both_backends!(
    the_confirm_step_offers_sending_only_to_a_secure_address_and_the_disclosure_shows_it_sent,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let (worker, actor) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "send.worker", true)
            .await?;
        let mut input = confidant_core::person::PersonInput::new();
        input.set_code("given_name", "Rosalind");
        input.set_code("family_name", "Sendwell");
        let p = app
            .confidant
            .create_person(&actor, Purpose::Support, app.service_a, &input)
            .await?
            .id;
        let mut ids = Vec::new();
        for (name, email) in [
            ("Riverside Council", Some(SECURE)),
            ("Hillside Council", None),
        ] {
            let r = RecipientInput {
                name: name.to_owned(),
                kind: "statutory_body".to_owned(),
                categories: vec!["identity".to_owned()],
                bases: vec!["legal_obligation".to_owned()],
                secure_email: email.map(str::to_owned),
                ..RecipientInput::default()
            };
            ids.push(
                app.confidant
                    .add_recipient(&app.dpo, app.organisation, &r)
                    .await?
                    .id,
            );
        }
        let site = app.serve(crate::router);
        let worker = site.web.sign_in(&site.confidant, &worker).await?;
        let confirm = |r: uuid::Uuid| {
            format!(
                "/people/{p}/share/confirm?recipient_id={r}&basis=legal_obligation&fields=given_name"
            )
        };
        // Without a secure address: said plainly, no choice.
        let html = worker.get(&confirm(ids[1])).await?.text();
        assert!(html.contains("has no secure email address"), "{html}");
        assert!(!html.contains("name=\"send\""));
        // With one: the choice names the address.
        let html = worker.get(&confirm(ids[0])).await?.text();
        assert!(
            html.contains(&format!("Send the package by secure email to {SECURE}")),
            "{html}"
        );
        assert!(html.contains("name=\"send\""));
        let rid = ids[0].to_string();
        let to = worker
            .submit(
                &confirm(ids[0]),
                &format!("/people/{p}/share"),
                &[
                    ("recipient_id", rid.as_str()),
                    ("fields", "given_name"),
                    ("basis", "legal_obligation"),
                    ("reason", "The council asked for a statutory return."),
                    ("person_told", "yes"),
                    ("send", "yes"),
                    ("action", "share"),
                ],
            )
            .await?
            .location();
        let html = worker.get(&to).await?.text();
        assert!(html.contains("Sent by secure email"), "{html}");
        assert!(html.contains("Queued"), "{html}");
        // The outbox sends it, to the secure address, with the package attached.
        let kept = Kept::default();
        let report = site
            .confidant
            .deliver_messages(&kept, RetryPolicy::default(), 10)
            .await?;
        assert_eq!(report.sent, 1);
        let sent = kept.0.lock().map(|k| k.clone()).unwrap_or_default();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, SECURE);
        assert_eq!(sent[0].1.len(), 1);
        assert!(sent[0].1[0].ends_with(".json"));
        let html = worker.get(&to).await?.text();
        // Sent, in UK time (the test clock's 22 November 2026, 10:00 UTC is 10:00 GMT).
        assert!(html.contains("Sent 22 Nov 2026 10:00 GMT"), "{html}");
        Ok(())
    }
);

both_backends!(
    the_api_sends_with_the_share_and_answers_the_sending,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let worker = app.token("worker.a", TokenScope::ReadWrite).await?;
        let dpo = app.token("dpo", TokenScope::ReadWrite).await?;
        let site = app.serve(crate::router);
        let api = site.web;
        let created = StatusCode::CREATED;
        let council = api
            .expect(
                &dpo,
                Method::POST,
                "/recipients",
                Some(json!({
                    "name": "Riverside Council", "kind": "statutory_body",
                    "categories": ["identity"], "bases": ["legal_obligation"],
                    "secure_email": SECURE
                })),
                created,
            )
            .await?;
        assert_eq!(council["secure_email"], SECURE);
        let bad = api
            .expect(
                &dpo,
                Method::POST,
                "/recipients",
                Some(json!({
                    "name": "Odd Council", "kind": "statutory_body",
                    "bases": ["legal_obligation"], "secure_email": "not an address"
                })),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        assert!(bad.to_string().contains("secure_email"), "{bad}");
        let plain = api
            .expect(
                &dpo,
                Method::POST,
                "/recipients",
                Some(json!({
                    "name": "Hillside Council", "kind": "statutory_body",
                    "categories": ["identity"], "bases": ["legal_obligation"]
                })),
                created,
            )
            .await?;
        assert!(plain["secure_email"].is_null());
        let person = api
            .expect(
                &worker,
                Method::POST,
                &format!("/services/{}/people", site.service_a),
                Some(json!({"given_name": "Ivy", "family_name": "Apisend"})),
                created,
            )
            .await?;
        let pid = person["id"].as_str().unwrap_or_default().to_owned();
        let share = |recipient: &serde_json::Value, send: bool| {
            json!({
                "recipient_id": recipient["id"], "fields": ["given_name"],
                "lawful_basis": "legal_obligation", "reason": "A statutory return asked for",
                "person_told": true, "send": send
            })
        };
        let refused = api
            .expect(
                &worker,
                Method::POST,
                &format!("/people/{pid}/shares"),
                Some(share(&plain, true)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        assert!(refused.to_string().contains("send"), "{refused}");
        let sent = api
            .expect(
                &worker,
                Method::POST,
                &format!("/people/{pid}/shares"),
                Some(share(&council, true)),
                created,
            )
            .await?;
        assert_eq!(sent["sending"], "queued");
        let d = sent["disclosure_id"].as_str().unwrap_or_default();
        let one = api
            .expect(
                &worker,
                Method::GET,
                &format!("/people/{pid}/disclosures/{d}"),
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(one["sending"]["state"], "queued", "{one}");
        assert_eq!(one["sending"]["template"], "shared_package");
        assert!(
            !one.to_string().contains(SECURE),
            "no address in the answer"
        );
        let unsent = api
            .expect(
                &worker,
                Method::POST,
                &format!("/people/{pid}/shares"),
                Some(share(&council, false)),
                created,
            )
            .await?;
        assert_eq!(unsent["sending"], "not_sent");
        Ok(())
    }
);
