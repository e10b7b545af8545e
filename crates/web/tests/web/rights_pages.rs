//! Rights requests on the web (issue 18, part 1): logged from a person's record by a practitioner
//! (with its CSRF token), listed for the DPO by due date with the record by id only, moved on from
//! the request's page (a bad step shown again with its error, 400, changing nothing), and the same
//! through the API; a practitioner is refused the service's list (403 on the page, 404 on the API).

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use confidant_core::Role;
use confidant_core::store::TokenScope;
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TestApp, both_backends, token_for};
use serde_json::json;

both_backends!(
    a_rights_request_is_logged_listed_and_moved_on_through_pages_and_the_api,
    |backend| async move {
        // The clock stands at 22 November 2026.
        let app = TestApp::new(backend).await?;
        let person = app.person_named("Zqrightsweb", "Person").await?;
        let c = &app.confidant;
        let (worker, _) = app
            .add_staff(
                Role::Practitioner,
                Some(app.service_a),
                "rights.worker",
                true,
            )
            .await?;
        let (dpo, _) = app
            .add_staff(Role::DataProtectionOfficer, None, "rights.dpo", true)
            .await?;
        let worker_cookie = web::signed_in_cookie(c, &worker).await?;
        let dpo_cookie = web::signed_in_cookie(c, &dpo).await?;
        let worker_token = token_for(c, &worker, TokenScope::ReadWrite).await?;
        let dpo_token = token_for(c, &dpo, TokenScope::ReadWrite).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant)));
        let worker_pages = web.browser(worker_cookie);
        let dpo_pages = web.browser(dpo_cookie);
        let on_record = format!("/people/{person}/rights");

        // The practitioner logs a request from the record; a bad one first: every problem named,
        // nothing logged.
        let bad = worker_pages
            .submit(
                &on_record,
                &on_record,
                &[
                    ("received_on_day", "31"),
                    ("received_on_month", "2"),
                    ("received_on_year", "2026"),
                ],
            )
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let text = bad.text();
        for said in [
            "Choose what the request asks for",
            "Choose how the request arrived",
            "The day it was received is not a date",
        ] {
            assert!(text.contains(said), "{said}: {text}");
        }
        assert!(text.contains("id=\"no-requests\""), "{text}");
        let logged = worker_pages
            .submit(
                &on_record,
                &on_record,
                &[
                    ("kind", "access"),
                    ("channel", "letter"),
                    ("received_on_day", "20"),
                    ("received_on_month", "11"),
                    ("received_on_year", "2026"),
                    ("representative_id", ""),
                    ("identity_check", "known_to_staff"),
                ],
            )
            .await?;
        // A practitioner does not see the service's requests: back to the record's list.
        assert_eq!(logged.location(), on_record);
        let page = worker_pages.get(&on_record).await?.text();
        assert!(page.contains("Access: a copy of their data"), "{page}");
        assert!(page.contains("Monday 21 December 2026"), "{page}");
        assert_eq!(
            worker_pages.get("/rights").await?.status,
            StatusCode::FORBIDDEN
        );
        web.expect(
            &worker_token,
            Method::GET,
            "/rights-requests",
            None,
            StatusCode::NOT_FOUND,
        )
        .await?;

        // The DPO's list: due first, the record by id, no name.
        let list = dpo_pages.get("/rights").await?;
        assert_eq!(list.status, StatusCode::OK);
        let list = list.text();
        assert!(list.contains("Monday 21 December 2026"), "{list}");
        assert!(list.contains(&person.to_string()), "{list}");
        assert!(!list.contains("Zqrightsweb"), "{list}");
        let listed = web
            .expect(
                &dpo_token,
                Method::GET,
                "/rights-requests",
                None,
                StatusCode::OK,
            )
            .await?;
        let id = listed[0]["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(listed[0]["due_on"], "2026-12-21");
        assert_eq!(listed[0]["state"], "open");
        let request_page = format!("/rights/{id}");
        let page = dpo_pages.get(&request_page).await?.text();
        assert!(page.contains("Due: Monday 21 December 2026"), "{page}");
        assert!(
            page.contains("one calendar month, moved from Sunday 20 December 2026"),
            "{page}"
        );

        // A step in the future: shown again with its error, nothing changed.
        let steps = format!("/rights/{id}/steps");
        let refused = dpo_pages
            .submit(
                &request_page,
                &steps,
                &[
                    ("step", "extended"),
                    ("on_day", "1"),
                    ("on_month", "12"),
                    ("on_year", "2026"),
                    ("extension_reason", "complex"),
                ],
            )
            .await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused.text().contains("The day is in the future"),
            "{}",
            refused.text()
        );
        let missing_reason = dpo_pages
            .submit(
                &request_page,
                &steps,
                &[
                    ("step", "extended"),
                    ("on_day", "22"),
                    ("on_month", "11"),
                    ("on_year", "2026"),
                ],
            )
            .await?;
        assert_eq!(missing_reason.status, StatusCode::BAD_REQUEST);
        assert!(
            missing_reason
                .text()
                .contains("give the reason for the extension"),
            "{}",
            missing_reason.text()
        );
        let detail = web
            .expect(
                &dpo_token,
                Method::GET,
                &format!("/rights-requests/{id}"),
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(
            detail["steps"].as_array().map(Vec::len),
            Some(2),
            "{detail}"
        );
        assert_eq!(detail["extend_until"], "2026-12-21");

        // Extended on the page: three months, Saturday 20 February 2027, so Monday 22.
        let extended = dpo_pages
            .submit(
                &request_page,
                &steps,
                &[
                    ("step", "extended"),
                    ("on_day", "22"),
                    ("on_month", "11"),
                    ("on_year", "2026"),
                    ("extension_reason", "complex"),
                ],
            )
            .await?;
        assert_eq!(extended.location(), request_page);
        let page = dpo_pages.get(&request_page).await?.text();
        assert!(page.contains("Due: Monday 22 February 2027"), "{page}");
        assert!(page.contains("The request is complex"), "{page}");

        // Answered through the API; the practitioner may not (404).
        web.expect(
            &worker_token,
            Method::POST,
            &format!("/rights-requests/{id}/steps"),
            Some(json!({"step": "answered", "on": "2026-11-22"})),
            StatusCode::NOT_FOUND,
        )
        .await?;
        let answered = web
            .expect(
                &dpo_token,
                Method::POST,
                &format!("/rights-requests/{id}/steps"),
                Some(json!({"step": "answered", "on": "2026-11-22"})),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(answered["state"], "answered");
        let page = dpo_pages.get(&request_page).await?.text();
        assert!(!page.contains("Record what happened next"), "{page}");

        // Logged through the API, waiting for identity: no due date yet.
        let waiting = web
            .expect(
                &worker_token,
                Method::POST,
                &format!("/people/{person}/rights-requests"),
                Some(json!({"kind": "erasure", "channel": "phone", "received_on": "2026-11-21"})),
                StatusCode::CREATED,
            )
            .await?;
        assert_eq!(waiting["state"], "awaiting_identity");
        assert_eq!(waiting["due_on"], serde_json::Value::Null);
        web.expect(
            &worker_token,
            Method::POST,
            &format!("/people/{person}/rights-requests"),
            Some(json!({"kind": "erasure", "channel": "pigeon", "received_on": "2026-11-21"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        let about = web
            .expect(
                &worker_token,
                Method::GET,
                &format!("/people/{person}/rights-requests"),
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(about.as_array().map(Vec::len), Some(2), "{about}");
        // A complaint: acknowledged within 30 days beginning with its receipt.
        let complaint = web
            .expect(
                &worker_token,
                Method::POST,
                &format!("/people/{person}/rights-requests"),
                Some(
                    json!({"kind": "complaint", "channel": "letter", "received_on": "2026-11-22"}),
                ),
                StatusCode::CREATED,
            )
            .await?;
        assert_eq!(complaint["state"], "open");
        assert_eq!(complaint["due_on"], "2026-12-21");

        // Restricted by the DPO: a change is refused (403, saying why), but the person's own say
        // on how they are contacted is still offered and recorded on the page.
        web.expect(
            &dpo_token,
            Method::POST,
            &format!("/people/{person}/restrictions"),
            Some(json!({"kind": "restriction"})),
            StatusCode::CREATED,
        )
        .await?;
        let refused = web
            .expect(
                &worker_token,
                Method::PATCH,
                &format!("/people/{person}"),
                Some(json!({"postcode": "LS1 4AP"})),
                StatusCode::FORBIDDEN,
            )
            .await?;
        assert_eq!(refused["error"], "restricted", "{refused}");
        let contact = format!("/people/{person}/contact");
        let page = worker_pages.get(&contact).await?.text();
        assert!(page.contains("Save contact preferences"), "{page}");
        let saved = worker_pages
            .submit(&contact, &contact, &[("no_voicemail", "yes")])
            .await?;
        assert_eq!(saved.location(), contact);
        Ok(())
    }
);
