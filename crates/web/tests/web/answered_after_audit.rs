//! Every route answers only once the accesses it recorded are durable (issue 14): through the real
//! router in-process on SQLite and PostgreSQL, with the chain's head held by someone else past the
//! audit deadline, a person's page and the API's answer for them are refused with 503 and
//! `Retry-After`, and neither carries anything of the record; once the head is free, both answer.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use confidant_core::Purpose;
use confidant_core::person::PersonInput;
use confidant_core::store::TokenScope;
use confidant_core::store::prelude::*;
use confidant_store::ConnectOptions;
use confidant_testkit::{TestApp, both_backends};

both_backends!(
    a_read_whose_event_cannot_be_written_is_not_answered,
    |backend| async move {
        let app = TestApp::with_options(
            backend,
            ConnectOptions {
                audit_deadline: Duration::from_millis(300),
                ..ConnectOptions::default()
            },
        )
        .await?;
        let mut input = PersonInput::new();
        input.set_code("given_name", "Quillon".to_owned());
        input.set_code("family_name", "Marchbank".to_owned());
        let person = app
            .confidant
            .create_person(&app.worker_a, Purpose::Support, app.service_a, &input)
            .await?
            .id;
        let site = app.serve(crate::router);
        let worker = site.browser("worker.a").await?;
        let token = site.token("worker.a", TokenScope::ReadWrite).await?;
        let page = format!("/people/{person}");
        let api = format!("/people/{person}");

        let shown = worker.get(&page).await?;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.text().contains("Marchbank"));

        // Someone holds the chain's head (a long transaction, a stuck process, a failover).
        let holder = site.db.hold_audit_head().await?;
        let before = site.confidant.store().audit_head().await?;
        let refused = worker.get(&page).await?;
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.header("retry-after"), "5");
        assert!(!refused.text().contains("Marchbank"), "{}", refused.text());
        assert!(!refused.text().contains("Quillon"));
        let refused = site.web.api(&token, Method::GET, &api, None).await?;
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.json()?["error"], "unavailable");
        assert!(!refused.text().contains("Marchbank"));
        holder.release().await?;
        assert_eq!(
            site.confidant.store().audit_head().await?,
            before,
            "nothing refused reached the chain"
        );

        let shown = worker.get(&page).await?;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.text().contains("Marchbank"));
        let answered = site.web.api(&token, Method::GET, &api, None).await?;
        assert_eq!(answered.status, StatusCode::OK);
        Ok(())
    }
);
