//! The administration pages (issue 16): services with their scope and teams, a service and a team
//! added, a scope changed only once confirmed; the staff form's names, job titles and teams, and
//! its refusals by field; names set on the account's page and shown where handles were.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use confidant_core::AccessScope;
use confidant_core::field::PersonField;
use confidant_core::person::PersonInput;
use confidant_core::store::{StaffStore, TokenScope};
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TestApp, both_backends, token_for};

both_backends!(
    an_administrator_adds_a_service_and_a_team_and_changes_its_scope_once_confirmed,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let admin = app.staff_record(app.admin.audit_id().parse()?).await?;
        let practitioner = app.staff_record(app.worker_a.audit_id().parse()?).await?;
        let admin_cookie = web::signed_in_cookie(&app.confidant, &admin).await?;
        let worker_cookie = web::signed_in_cookie(&app.confidant, &practitioner).await?;
        let (service_a, worker_handle) = (app.service_a, practitioner.handle.clone());
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let confidant = Arc::new(confidant);
        let web = Web::new(crate::router(confidant.clone()));
        let admin = web.browser(admin_cookie);
        let practitioner = web.browser(worker_cookie);

        // Only administrators: others are told so, and have no link to it.
        assert_eq!(
            practitioner.get("/admin/services").await?.status,
            StatusCode::FORBIDDEN
        );
        assert!(
            !practitioner
                .get("/")
                .await?
                .text()
                .contains("/admin/services")
        );
        let list = admin.get("/admin/services").await?;
        assert_eq!(list.status, StatusCode::OK);
        assert!(
            list.text().contains("href=\"/admin/services\""),
            "navigation"
        );
        assert!(list.text().contains("The whole service"));

        // A name refused by field, then a service added.
        let refused = admin
            .submit("/admin/services", "/admin/services", &[("name", "  ")])
            .await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.text().contains("href=\"#name\""),
            "{}",
            refused.text()
        );
        let added = admin
            .submit(
                "/admin/services",
                "/admin/services",
                &[("name", "Outreach")],
            )
            .await?;
        assert_eq!(added.status, StatusCode::SEE_OTHER);
        let page = added.location();
        let service_id = web::last_id(&page)?;
        assert!(
            admin
                .get("/admin/services")
                .await?
                .text()
                .contains("Outreach")
        );

        // A team added, and the same name again refused.
        let teams = format!("{page}/teams");
        let team = admin.submit(&page, &teams, &[("name", "East")]).await?;
        assert_eq!(team.status, StatusCode::OK);
        assert!(team.text().contains("East"));
        let again = admin.submit(&page, &teams, &[("name", "East")]).await?;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(confidant.teams(service_id).await?.len(), 1);
        assert_eq!(
            practitioner
                .post_form(&teams, &[("csrf", "wrong"), ("name", "West")])
                .await?
                .status,
            StatusCode::FORBIDDEN
        );

        // A scope change is explained and asked to be confirmed before anything changes.
        let scope_page = format!("{page}/scope");
        let form = admin.get(&scope_page).await?.text();
        assert!(form.contains("key worker"), "{form}");
        let asked = admin
            .submit(&scope_page, &scope_page, &[("scope", "caseload")])
            .await?;
        assert_eq!(asked.status, StatusCode::OK);
        assert!(asked.text().contains("Yes, change it"), "{}", asked.text());
        let (_, scope) = confidant
            .service_with_scope(&confidant_testkit::operator(), service_id)
            .await?;
        assert_eq!(scope, AccessScope::Service, "not changed before confirming");
        let done = admin
            .submit(
                &scope_page,
                &scope_page,
                &[("scope", "caseload"), ("confirmed", "yes")],
            )
            .await?;
        assert_eq!(done.status, StatusCode::OK);
        let (_, scope) = confidant
            .service_with_scope(&confidant_testkit::operator(), service_id)
            .await?;
        assert_eq!(scope, AccessScope::Caseload);
        assert!(admin.get(&page).await?.text().contains("Their caseload"));
        // Asking to open service A's records by team names its practitioner without a team.
        let a_scope = format!("/admin/services/{service_a}/scope");
        let warned = admin
            .submit(&a_scope, &a_scope, &[("scope", "team")])
            .await?
            .text();
        let unplaced = web::between(&warned, "id=\"unplaced\"", "</ul>");
        assert!(unplaced.contains(&worker_handle), "{warned}");
        // An unknown scope is refused by field; a practitioner cannot change it.
        let unknown = admin
            .submit(&scope_page, &scope_page, &[("scope", "everyone")])
            .await?;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(unknown.text().contains("href=\"#scope\""));
        assert_eq!(
            practitioner.get(&scope_page).await?.status,
            StatusCode::FORBIDDEN
        );
        Ok(())
    }
);

both_backends!(
    the_staff_form_sets_names_and_teams_refuses_contradictions_and_names_are_shown,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let north = app
            .confidant
            .create_team(&app.admin, app.service_a, "North")
            .await?;
        app.confidant
            .set_service_scope(&app.admin, app.service_a, AccessScope::Team)
            .await?;
        let admin = app.staff_record(app.admin.audit_id().parse()?).await?;
        let practitioner = app.staff_record(app.worker_a.audit_id().parse()?).await?;
        let admin_cookie = web::signed_in_cookie(&app.confidant, &admin).await?;
        let worker_cookie = web::signed_in_cookie(&app.confidant, &practitioner).await?;
        let token = token_for(&app.confidant, &practitioner, TokenScope::Read).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let confidant = Arc::new(confidant);
        let web = Web::new(crate::router(confidant.clone()));
        let admin = web.browser(admin_cookie);
        let worker = web.browser(worker_cookie);
        let service_a = practitioner.service_id.map(|s| s.to_string());
        let service_a = service_a.as_deref().unwrap_or_default();
        let north_id = north.id.to_string();

        // A team manager without a team in a team-scoped service, and a DPO in a service: refused
        // by field, nothing added, and what was typed shown again.
        let refused = admin
            .submit(
                "/admin/users/new",
                "/admin/users",
                &[
                    ("handle", "tm.one"),
                    ("display_name", "Tess Mann"),
                    ("role", "team_manager"),
                    ("service", service_a),
                ],
            )
            .await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = refused.text();
        assert!(text.contains("href=\"#team\""), "{text}");
        assert!(text.contains("value=\"Tess Mann\""), "{text}");
        assert!(confidant.store().staff_by_handle("tm.one").await?.is_none());
        let refused = admin
            .submit(
                "/admin/users/new",
                "/admin/users",
                &[
                    ("handle", "dpo.two"),
                    ("role", "data_protection_officer"),
                    ("service", service_a),
                    ("job_title", "Line\u{7}one"),
                ],
            )
            .await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = refused.text();
        assert!(
            text.contains("href=\"#service\"") && text.contains("href=\"#job-title\""),
            "{text}"
        );

        // A sound one is added with its name, title and team.
        let added = admin
            .submit(
                "/admin/users/new",
                "/admin/users",
                &[
                    ("handle", "tm.one"),
                    ("display_name", "Tess Mann"),
                    ("job_title", "Team leader"),
                    ("role", "team_manager"),
                    ("service", service_a),
                    ("team", &north_id),
                ],
            )
            .await?;
        assert_eq!(added.status, StatusCode::OK, "{}", added.text());
        assert!(added.text().contains("Tess Mann, Team leader"));
        let tess = confidant
            .store()
            .staff_by_handle("tm.one")
            .await?
            .ok_or_else(|| anyhow::anyhow!("not added"))?;
        assert_eq!(tess.team_id, Some(north.id));
        let list = admin.get("/admin/users").await?.text();
        assert!(list.contains("tm.one") && list.contains("Tess Mann, Team leader"));

        // The practitioner is named on their account's page by the administrator.
        let account = format!("/admin/users/{}", practitioner.id);
        let action = format!("{account}/details");
        let bad = admin
            .submit(
                &account,
                &action,
                &[("display_name", "Ada\nGill"), ("team", &north_id)],
            )
            .await?;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text().contains("href=\"#display-name\""));
        assert_eq!(
            confidant
                .store()
                .staff(practitioner.id)
                .await?
                .and_then(|s| s.display_name),
            None
        );
        let saved = admin
            .submit(
                &account,
                &action,
                &[
                    ("display_name", "Ada Gill"),
                    ("job_title", "Support worker"),
                    ("team", &north_id),
                ],
            )
            .await?;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
        assert!(
            saved
                .text()
                .contains("<h1 class=\"govuk-heading-l\">Ada Gill</h1>")
        );
        // A practitioner may not name anyone (they do not see accounts at all).
        assert_eq!(
            worker
                .post_form(&action, &[("csrf", "x"), ("display_name", "Me")])
                .await?
                .status,
            StatusCode::FORBIDDEN
        );

        // Shown where the handle was: signed in as, the dashboard, and the API.
        let dashboard = worker.get("/").await?.text();
        assert!(
            dashboard.contains("Signed in as <strong>Ada Gill</strong>"),
            "{dashboard}"
        );
        assert!(dashboard.contains("Ada Gill, Support worker"));
        let me = web
            .expect(&token, Method::GET, "/me", None, StatusCode::OK)
            .await?;
        assert_eq!(me["display_name"], "Ada Gill");
        assert_eq!(me["job_title"], "Support worker");
        assert_eq!(me["handle"], practitioner.handle.as_str());
        // And as key worker on the caseload: a person she records is in her caseload, named so.
        let ada = confidant
            .store()
            .staff(practitioner.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no account"))?;
        let ada_actor = confidant
            .acting_as(&confidant_testkit::operator(), &ada)
            .await?;
        confidant
            .create_person(
                &ada_actor,
                confidant_core::Purpose::Support,
                service_a.parse()?,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Kay")
                    .with(PersonField::FamilyName, "Worked"),
            )
            .await?;
        let api = web
            .expect(
                &token,
                Method::GET,
                &format!("/services/{service_a}/caseload"),
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(api["people"][0]["key_worker_name"], "Ada Gill", "{api}");
        let caseload = worker.get("/people").await?.text();
        assert!(
            caseload.contains("Worked")
                && caseload.contains("<td class=\"govuk-table__cell\">Ada Gill</td>"),
            "{caseload}"
        );
        Ok(())
    }
);
