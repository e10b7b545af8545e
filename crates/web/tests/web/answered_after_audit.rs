//! Every route answers only once the accesses it recorded are durable (issue 14): through the real
//! router in-process on SQLite and PostgreSQL, with the chain's head held by someone else past the
//! audit deadline, a person's page and the API's answer for them are refused with 503 and
//! `Retry-After`, and neither carries anything of the record; once the head is free, both answer.
//! A page's own reads are appended once the page is made (it does not list its own view), and
//! before it is handed over.

use axum::http::{Method, StatusCode};
use confidant_core::store::TokenScope;
use confidant_core::store::prelude::*;
use confidant_testkit::{TestApp, both_backends};

both_backends!(
    a_read_whose_event_cannot_be_written_is_not_answered,
    |backend| async move {
        let app = TestApp::with_short_audit_deadline(backend).await?;
        let person = app.person_named("Quillon", "Marchbank").await?;
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

both_backends!(
    a_pages_own_reads_are_appended_once_the_page_is_made,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let person = app.person_named("Once", "Viewed").await?;
        let site = app.serve(crate::router);
        let worker = site.browser("worker.a").await?;
        let page = format!("/people/{person}");
        let before = site
            .confidant
            .store()
            .audit_head()
            .await?
            .map_or(0, |h| h.seq);
        // The page lists who has seen the record; its own reads wait in the request's scope until
        // the page is made, so the first view does not list itself ...
        let first = worker.get(&page).await?;
        assert_eq!(first.status, StatusCode::OK);
        assert!(first.text().contains("Created the record"));
        assert!(
            !first.text().contains("Viewed the record"),
            "{}",
            first.text()
        );
        // ... and they were on the chain, together, before the page was handed over.
        let events = site.confidant.store().audit_events(before + 1, 50).await?;
        assert!(events.iter().any(|e| e.action == "person.read"));
        let second = worker.get(&page).await?;
        assert!(second.text().contains("Viewed the record"));
        Ok(())
    }
);
