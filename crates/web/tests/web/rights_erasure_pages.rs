//! A request for erasure on the web (issue 18, part 5): the request's page leads its answerers to
//! the decision; the Data Protection Officer sees the open case and is held to telling the person,
//! and to confirming; the service's manager refuses another through the API, under an exemption
//! the request's page then names; the Data Protection Officer erases on the page and is shown the
//! certificate stating the request; each step the person must be told of has its letter as a PDF;
//! a practitioner sees none of it.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use confidant_core::store::TokenScope;
use confidant_core::{Purpose, Role};
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TestApp, both_backends, token_for};

fn erasure() -> confidant_core::rights::RequestInput<'static> {
    confidant_core::rights::RequestInput {
        kind: "erasure",
        channel: "letter",
        received_on: "2026-11-20",
        representative_id: None,
        authority: None,
        identity_check: Some("known_to_staff"),
    }
}

both_backends!(
    a_request_for_erasure_is_refused_through_the_api_and_erased_on_its_page,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let person = app.person_named("Zqerasedweb", "Person").await?;
        c.open_case(&app.worker_a, Purpose::Support, person, None)
            .await?;
        let (worker, _) = app
            .add_staff(
                Role::Practitioner,
                Some(app.service_a),
                "erase.worker",
                true,
            )
            .await?;
        let (dpo, _) = app
            .add_staff(Role::DataProtectionOfficer, None, "erase.dpo", true)
            .await?;
        let (manager, _) = app
            .add_staff(
                Role::ServiceManager,
                Some(app.service_a),
                "erase.manager",
                true,
            )
            .await?;
        let erase = c
            .log_rights_request(&app.worker_a, person, erasure())
            .await?;
        let refuse = c
            .log_rights_request(&app.worker_a, person, erasure())
            .await?;
        let worker_cookie = web::signed_in_cookie(c, &worker).await?;
        let dpo_cookie = web::signed_in_cookie(c, &dpo).await?;
        let manager_token = token_for(c, &manager, TokenScope::ReadWrite).await?;
        // Signing in starts a session of its own: the page's manager is another account.
        let (page_manager, _) = app
            .add_staff(
                Role::ServiceManager,
                Some(app.service_a),
                "erase.pages",
                true,
            )
            .await?;
        let manager_cookie = web::signed_in_cookie(c, &page_manager).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant)));
        let dpo_pages = web.browser(dpo_cookie);
        let worker_pages = web.browser(worker_cookie);
        let manager_pages = web.browser(manager_cookie);
        let page_of = |id: uuid::Uuid| format!("/rights/{id}/erasure");

        // The request's page leads to the decision; the decision's page says what bears on it.
        let page = dpo_pages
            .get(&format!("/rights/{}", erase.id))
            .await?
            .text();
        assert!(page.contains("id=\"erasure-link\""), "{page}");
        let page = dpo_pages.get(&page_of(erase.id)).await?.text();
        for shown in [
            "Decide the request for erasure",
            "The grounds for erasure found (UK GDPR Art. 17(1))",
            "The exemptions that apply (Art. 17(3))",
            "The person has 1 open case(s)",
            "The disclosure log shows no one received the person&#39;s data",
        ] {
            assert!(page.contains(shown), "{shown}: {page}");
        }
        assert_eq!(
            worker_pages.get(&page_of(erase.id)).await?.status,
            StatusCode::NOT_FOUND
        );

        // The manager answers but does not erase: refused under an exemption, named.
        let seen = web
            .expect(
                &manager_token,
                Method::GET,
                &format!("/rights-requests/{}/erasure", refuse.id),
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(seen["may_erase"], false, "{seen}");
        assert!(
            seen["recipients"].is_null() && seen["kept"].is_null(),
            "{seen}"
        );
        // On the page, the manager choosing to erase is told only the DPO can (400).
        let form = page_of(refuse.id);
        let not_theirs = manager_pages
            .submit(&form, &form, &[("grounds_unlawful", "yes")])
            .await?;
        assert_eq!(not_theirs.status, StatusCode::BAD_REQUEST);
        assert!(
            not_theirs
                .text()
                .contains("Only the Data Protection Officer can erase a record"),
            "{}",
            not_theirs.text()
        );
        // The exemptions must be given, even when none applies.
        web.expect(
            &manager_token,
            Method::POST,
            &format!("/rights-requests/{}/erasure", refuse.id),
            Some(serde_json::json!({"grounds": ["objected"]})),
            StatusCode::BAD_REQUEST,
        )
        .await?;
        let refused = web
            .expect(
                &manager_token,
                Method::POST,
                &format!("/rights-requests/{}/erasure", refuse.id),
                Some(serde_json::json!({"grounds": ["objected"], "exemptions": ["safeguarding"]})),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(refused["outcome"], "refused", "{refused}");
        assert_eq!(refused["request"]["state"], "refused", "{refused}");
        let page = dpo_pages
            .get(&format!("/rights/{}", refuse.id))
            .await?
            .text();
        assert!(
            page.contains("Erasure refused: It is needed to protect a child or an adult at risk"),
            "{page}"
        );
        // Its steps' letters: the acknowledgement and the refusal, as PDFs, for those who answer
        // the request; not for a practitioner.
        let letters: Vec<&str> = page
            .match_indices("letter.pdf")
            .map(|(at, _)| &page[page[..at].rfind("href=\"").map_or(0, |h| h + 6)..at + 10])
            .collect();
        // PDFs exist where typst is built in (the binary, and the workspace's test run).
        if cfg!(feature = "pdf") {
            assert_eq!(letters.len(), 2, "{page}");
            let refusal = dpo_pages.get(letters[1]).await?;
            assert_eq!(refusal.status, StatusCode::OK);
            assert_eq!(refusal.header("content-type"), "application/pdf");
            assert!(refusal.body.starts_with(b"%PDF-"));
            assert_eq!(
                worker_pages.get(letters[1]).await?.status,
                StatusCode::NOT_FOUND
            );
        } else {
            assert!(letters.is_empty(), "{page}");
        }

        // Erasing: confirmed, and the open case told, or shown again (400), nothing destroyed.
        let form = page_of(erase.id);
        let ground = ("grounds_no_longer_needed", "yes");
        let reason = ("reason", "Support ended and the request was upheld");
        let unconfirmed = dpo_pages.submit(&form, &form, &[ground, reason]).await?;
        assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
        assert!(
            unconfirmed
                .text()
                .contains("Tick to say you understand the record will be destroyed"),
            "{}",
            unconfirmed.text()
        );
        let untold = dpo_pages
            .submit(&form, &form, &[ground, reason, ("confirm", "yes")])
            .await?;
        assert_eq!(untold.status, StatusCode::BAD_REQUEST);
        assert!(
            untold
                .text()
                .contains("Telling the person their case ends must be ticked"),
            "{}",
            untold.text()
        );
        assert_eq!(
            dpo_pages
                .get(&format!("/rights/{}", erase.id))
                .await?
                .status,
            StatusCode::OK
        );
        let erased = dpo_pages
            .submit(
                &form,
                &form,
                &[ground, reason, ("confirm", "yes"), ("case_told", "yes")],
            )
            .await?;
        assert_eq!(erased.status, StatusCode::OK);
        let page = erased.text();
        for shown in [
            "Record destroyed",
            "The request for erasure it answers",
            "No longer needed for the purposes it was collected for (Art. 17(1)(a))",
            "Ended: the person was told it could not continue without their record",
        ] {
            assert!(page.contains(shown), "{shown}: {page}");
        }
        assert!(!page.contains("Zqerasedweb"), "{page}");
        // The request went with the record.
        assert_eq!(
            dpo_pages
                .get(&format!("/rights/{}", erase.id))
                .await?
                .status,
            StatusCode::NOT_FOUND
        );
        Ok(())
    }
);
