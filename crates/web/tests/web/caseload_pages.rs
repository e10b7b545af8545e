//! Caseloads on the pages and through the API (issue 16): the people page is the caller's own
//! caseload as a table, chosen and sorted through the address; the service manager counts
//! caseloads per worker; an unknown choice is a 400 naming it.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use confidant_core::field::PersonField;
use confidant_core::person::PersonInput;
use confidant_core::store::TokenScope;
use confidant_core::{Purpose, Role};
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TestApp, both_backends, issue_token};

both_backends!(
    the_people_page_is_my_caseload_as_a_table_and_a_manager_counts_per_worker,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let w = &app.worker_a;
        for (given, family, dob) in [
            ("Ada", "Gill", "1990-03-05"),
            ("Bea", "Ortiz", "1985-11-30"),
        ] {
            let input = PersonInput::new()
                .with(PersonField::GivenName, given)
                .with(PersonField::FamilyName, family)
                .with(PersonField::DateOfBirth, dob);
            c.create_person(w, Purpose::Support, app.service_a, &input)
                .await?;
        }
        let (colleague, colleague_actor) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "colleague", true)
            .await?;
        let theirs = PersonInput::new()
            .with(PersonField::GivenName, "Cal")
            .with(PersonField::FamilyName, "Adams");
        c.create_person(&colleague_actor, Purpose::Support, app.service_a, &theirs)
            .await?;
        let (manager, _) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let worker = app.staff_record(w.audit_id().parse()?).await?;
        let worker_cookie = web::signed_in_cookie(c, &worker).await?;
        let manager_cookie = web::signed_in_cookie(c, &manager).await?;
        let token = issue_token(c, "worker.a", TokenScope::Read).await?;
        let manager_token = issue_token(c, "manager.a", TokenScope::Read).await?;
        let service = app.service_a;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant)));
        let browser = web.browser(worker_cookie);
        let manager = web.browser(manager_cookie);

        // My caseload by default: my two, by family name, with their columns; not my colleague's.
        let page = browser.get("/people").await?;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(html.contains("<h1 class=\"govuk-heading-l\">My caseload</h1>"));
        let gill = html.find("Ada Gill").unwrap_or(usize::MAX);
        let ortiz = html.find("Bea Ortiz").unwrap_or(0);
        assert!(gill < ortiz, "{html}");
        assert!(!html.contains("Cal Adams"));
        assert!(
            html.contains("5 Mar 1990") && html.contains("30 Nov 1985"),
            "{html}"
        );
        assert!(html.contains("worker.a") && html.contains("No case"));
        // The current sort is marked for assistive technology; its link turns it round.
        assert!(html.contains(
            "aria-sort=\"ascending\"><a class=\"govuk-link app-sort\" href=\"/people?of=mine&#38;status=any&#38;sort=name&#38;order=desc\""
        ), "{html}");
        let reversed = browser
            .get("/people?of=mine&status=any&sort=name&order=desc")
            .await?
            .text();
        assert!(
            reversed.find("Bea Ortiz") < reversed.find("Ada Gill"),
            "{reversed}"
        );
        let by_birth = browser.get("/people?sort=date_of_birth").await?.text();
        assert!(by_birth.find("Bea Ortiz") < by_birth.find("Ada Gill"));
        // Everyone the service shares; a colleague's caseload by its worker.
        let everyone = browser.get("/people?of=everyone").await?.text();
        assert!(everyone.contains("Cal Adams") && everyone.contains("3 people"));
        let theirs = browser
            .get(&format!("/people?of=worker-{}", colleague.id))
            .await?
            .text();
        assert!(theirs.contains("Caseload of colleague") && theirs.contains("Cal Adams"));
        assert!(!theirs.contains("Ada Gill"));
        // An unknown choice is refused by name, never guessed.
        let bad = browser.get("/people?status=shut").await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(
            bad.text().contains("the case status must be"),
            "{}",
            bad.text()
        );
        // Only managers are offered and shown the counts.
        assert!(!html.contains("href=\"/caseloads\""));
        assert_eq!(
            browser.get("/caseloads").await?.status,
            StatusCode::FORBIDDEN
        );
        assert!(
            manager
                .get("/people")
                .await?
                .text()
                .contains("href=\"/caseloads\"")
        );
        let counts = manager.get("/caseloads").await?;
        assert_eq!(counts.status, StatusCode::OK);
        let counts = counts.text();
        assert!(counts.contains("3 people in all"), "{counts}");
        assert!(counts.contains(&format!("href=\"/people?of=worker-{}\"", worker.id)));

        // The API answers the same lines, and the counts to a manager only.
        let mine = web
            .expect(
                &token,
                Method::GET,
                &format!("/services/{service}/caseload?sort=name&order=desc"),
                None,
                StatusCode::OK,
            )
            .await?;
        let names: Vec<&str> = mine["people"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p["family_name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["Ortiz", "Gill"]);
        assert_eq!(mine["people"][0]["case_status"], "none");
        assert_eq!(mine["people"][0]["record_number"], 2);
        assert_eq!(mine["people"][1]["date_of_birth"], "1990-03-05");
        web.expect(
            &token,
            Method::GET,
            &format!("/services/{service}/caseload?of=nobody"),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        web.expect(
            &token,
            Method::GET,
            &format!("/services/{service}/caseloads"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await?;
        let loads = web
            .expect(
                &manager_token,
                Method::GET,
                &format!("/services/{service}/caseloads"),
                None,
                StatusCode::OK,
            )
            .await?;
        let total: i64 = loads["workers"]
            .as_array()
            .map(|a| a.iter().filter_map(|w| w["people"].as_i64()).sum())
            .unwrap_or_default();
        assert_eq!(total, 3);
        Ok(())
    }
);
