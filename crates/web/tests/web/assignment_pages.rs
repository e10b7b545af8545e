//! Putting a person in a team and giving them a key worker on a page (issue 16): the service's
//! manager is offered it and does it; a practitioner is not offered it and is refused.

use std::sync::Arc;

use axum::http::StatusCode;
use confidant_core::Role;
use confidant_core::store::PersonStore;
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TestApp, both_backends, operator};

both_backends!(
    a_manager_assigns_a_team_and_key_worker_on_a_page,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let person = app.person_named("Ada", "Assigned").await?;
        let team = app
            .confidant
            .create_team(&operator(), app.service_a, "North team")
            .await?;
        let (manager, _) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let (worker, _) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "worker.two", true)
            .await?;
        let practitioner = app.staff_record(app.worker_a.audit_id().parse()?).await?;
        let manager_cookie = web::signed_in_cookie(&app.confidant, &manager).await?;
        let worker_cookie = web::signed_in_cookie(&app.confidant, &practitioner).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let confidant = Arc::new(confidant);
        let web = Web::new(crate::router(confidant.clone()));
        let manager = web.browser(manager_cookie);
        let practitioner = web.browser(worker_cookie);

        let record = format!("/people/{person}");
        let page = format!("/people/{person}/assignment");
        assert!(
            manager
                .get(&record)
                .await?
                .text()
                .contains(&format!("href=\"{page}\""))
        );
        assert!(
            !practitioner
                .get(&record)
                .await?
                .text()
                .contains(&format!("href=\"{page}\""))
        );
        assert_eq!(practitioner.get(&page).await?.status, StatusCode::NOT_FOUND);

        let form = manager.get(&page).await?.text();
        assert!(
            form.contains("North team") && form.contains("worker.two"),
            "{form}"
        );
        // A key worker who is not of the service's options is refused by name, changing nothing.
        let refused = manager
            .submit(
                &page,
                &page,
                &[("team_id", "none"), ("key_worker_id", "not-an-id")],
            )
            .await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        let saved = manager
            .submit(
                &page,
                &page,
                &[
                    ("team_id", &team.id.to_string()),
                    ("key_worker_id", &worker.id.to_string()),
                ],
            )
            .await?;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
        let placement = confidant
            .store()
            .placement(person)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no placement"))?;
        assert_eq!(placement.team_id, Some(team.id));
        assert_eq!(placement.key_worker_id, Some(worker.id));
        // The form shows what is chosen now.
        let form = manager.get(&page).await?.text();
        assert!(
            form.contains(&format!("value=\"{}\" checked", worker.id)),
            "{form}"
        );
        Ok(())
    }
);
