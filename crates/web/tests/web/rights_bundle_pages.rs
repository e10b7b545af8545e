//! An access request's bundle on the web (issue 18, part 3): the DPO searches the record from the
//! request's page, sees each item as it would be released with its flags and proposal, decides a
//! flagged one on its page (a decision without a reason shown again, 400, changing nothing); the
//! service's manager makes the second check; a release not confirmed on the page is refused, and
//! the manager releases it through the API; the copy is offered as JSON; a practitioner sees none
//! of it.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use confidant_core::field::RecordKind;
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::store::{ContactType, NoteFlags, TokenScope};
use confidant_core::{Purpose, Role};
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TestApp, both_backends, test_register, token_for};

both_backends!(
    an_access_request_is_searched_reviewed_checked_and_released_on_pages_and_the_api,
    |backend| async move {
        // The clock stands at 22 November 2026.
        let app = TestApp::new(backend).await?.governed_by(test_register());
        app.db
            .raw_execute(&format!(
                "UPDATE service SET code = 'testkit' WHERE id = '{}'",
                app.service_a
            ))
            .await?;
        let c = &app.confidant;
        let person = app.person_named("Zqbundleweb", "Person").await?;
        c.add_entry(
            &app.worker_a,
            Purpose::Support,
            person,
            &NewEntry {
                kind: RecordKind::Note,
                case_id: None,
                parent_id: None,
                contact_type: Some(ContactType::Phone),
                occurs_at: None,
                status: None,
                due_at: None,
                flags: NoteFlags {
                    third_party: true,
                    ..NoteFlags::default()
                },
                values: RecordInput::new()
                    .with("body", "Zqreported by a neighbour")
                    .with("supplied_by", "Zqneighbour"),
            },
        )
        .await?;
        let (worker, _) = app
            .add_staff(
                Role::Practitioner,
                Some(app.service_a),
                "bundle.worker",
                true,
            )
            .await?;
        let (dpo, _) = app
            .add_staff(Role::DataProtectionOfficer, None, "bundle.dpo", true)
            .await?;
        let (manager, _) = app
            .add_staff(
                Role::ServiceManager,
                Some(app.service_a),
                "bundle.manager",
                true,
            )
            .await?;
        let request = c
            .log_rights_request(
                &app.worker_a,
                person,
                confidant_core::rights::RequestInput {
                    kind: "access",
                    channel: "letter",
                    received_on: "2026-11-20",
                    representative_id: None,
                    authority: None,
                    identity_check: Some("known_to_staff"),
                },
            )
            .await?;
        let worker_cookie = web::signed_in_cookie(c, &worker).await?;
        let dpo_cookie = web::signed_in_cookie(c, &dpo).await?;
        let manager_token = token_for(c, &manager, TokenScope::ReadWrite).await?;
        let worker_token = token_for(c, &worker, TokenScope::ReadWrite).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant)));
        let dpo_pages = web.browser(dpo_cookie);
        let worker_pages = web.browser(worker_cookie);
        let id = request.id;
        let bundle = format!("/rights/{id}/bundle");

        // The request's page leads to it; nothing is searched yet.
        let page = dpo_pages.get(&format!("/rights/{id}")).await?.text();
        assert!(page.contains("id=\"bundle-link\""), "{page}");
        let page = dpo_pages.get(&bundle).await?.text();
        assert!(page.contains("id=\"not-compiled\""), "{page}");
        assert!(page.contains("Search the record"), "{page}");

        // Searched: each source, each item as it would leave; the neighbour never shown.
        let searched = dpo_pages.submit(&bundle, &bundle, &[]).await?;
        assert_eq!(searched.location(), bundle);
        let page = dpo_pages.get(&bundle).await?.text();
        for shown in [
            "What was searched",
            "Case notes, plans, goals, appointments and paper records",
            "Zqreported by a neighbour",
            "Supplied by someone else",
            "Withhold: Information about another person (DPA 2018 Schedule 2, paragraph 16)",
            "To decide",
            "1 flagged item(s) still to decide",
            "Art. 15(1)(f)",
        ] {
            assert!(page.contains(shown), "{shown}: {page}");
        }
        assert!(!page.contains("Zqneighbour"), "{page}");

        // The flagged item's page: a decision without a reason is shown again, 400.
        let read = web
            .expect(
                &manager_token,
                Method::GET,
                &format!("/rights-requests/{id}/bundle"),
                None,
                StatusCode::OK,
            )
            .await?;
        let position = read["items"]
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .find(|i| i["flags"].as_array().is_some_and(|f| !f.is_empty()))
            })
            .and_then(|i| i["position"].as_i64())
            .ok_or_else(|| anyhow::anyhow!("a flagged item: {read}"))?;
        assert_eq!(read["searched"].as_array().map(Vec::len), Some(9));
        let item = format!("/rights/{id}/bundle/items/{position}");
        let refused = dpo_pages.submit(&item, &item, &[]).await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused
                .text()
                .contains("Choose the decision and its reason"),
            "{}",
            refused.text()
        );
        let decided = dpo_pages
            .submit(&item, &item, &[("reason", "identifies_source")])
            .await?;
        assert_eq!(decided.location(), format!("{bundle}#item-{position}"));
        // The DPO decided: the DPO's check is refused, the manager's taken.
        let own_check = dpo_pages
            .submit(&bundle, &format!("{bundle}/check"), &[])
            .await?;
        assert_eq!(own_check.status, StatusCode::BAD_REQUEST);
        assert!(
            own_check
                .text()
                .contains("neither searched the record nor decided"),
            "{}",
            own_check.text()
        );
        let checked = web
            .expect(
                &manager_token,
                Method::POST,
                &format!("/rights-requests/{id}/bundle/check"),
                Some(serde_json::json!({})),
                StatusCode::OK,
            )
            .await?;
        assert!(checked["checked_by"].is_string(), "{checked}");
        // Released on the page only when confirmed: shown again, nothing given.
        let unconfirmed = dpo_pages
            .submit(&bundle, &format!("{bundle}/release"), &[])
            .await?;
        assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
        assert!(
            unconfirmed
                .text()
                .contains("Confirm that the copy is ready to go to the person"),
            "{}",
            unconfirmed.text()
        );
        let released = web
            .expect(
                &manager_token,
                Method::POST,
                &format!("/rights-requests/{id}/bundle/release"),
                Some(serde_json::json!({})),
                StatusCode::OK,
            )
            .await?;
        let copy = released["copy"].to_string();
        assert!(!copy.contains("Zqreported"), "{copy}");
        assert!(copy.contains("Zqbundleweb"), "{copy}");

        // The page offers the copy; the JSON is what was given.
        let page = dpo_pages.get(&bundle).await?.text();
        assert!(page.contains("Download the copy as JSON"), "{page}");
        let json = dpo_pages.get(&format!("{bundle}/copy.json")).await?;
        assert_eq!(json.status, StatusCode::OK);
        assert_eq!(json.json()?, released["copy"]);

        // A practitioner sees none of it.
        assert_eq!(
            worker_pages.get(&bundle).await?.status,
            StatusCode::NOT_FOUND
        );
        web.expect(
            &worker_token,
            Method::GET,
            &format!("/rights-requests/{id}/bundle"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await?;
        Ok(())
    }
);
