//! Staff set-up and names (issue 16), on SQLite and PostgreSQL: an account added with a display
//! name, job title and team; contradictory set-ups refused by field with nothing written;
//! administrators (not practitioners) set names and teams, audited; names shown in caseloads and
//! colleague lists, with the handle where none is set; services, teams and scopes set by an
//! administrator.

use confidant_core::organisation::OrganisationError;
use confidant_core::person::{CaseloadOf, CaseloadQuery, CaseloadSort, Violations};
use confidant_core::setup::{DetailsInput, NewStaff};
use confidant_core::store::AuditStore;
use confidant_core::{AccessScope, Actor, Purpose, Role};
use confidant_testkit::{TestApp, both_backends};
use uuid::Uuid;

fn fields(v: &Violations) -> Vec<&'static str> {
    v.0.iter().map(|v| v.field).collect()
}

fn new_staff(role: Role, service: Option<Uuid>, team: Option<Uuid>, handle: &str) -> NewStaff {
    NewStaff {
        role,
        service_id: service,
        team_id: team,
        handle: handle.to_owned(),
        display_name: String::new(),
        job_title: String::new(),
    }
}

async fn audit_head(app: &TestApp) -> anyhow::Result<i64> {
    Ok(app
        .confidant
        .store()
        .audit_head()
        .await?
        .map_or(0, |h| h.seq))
}

both_backends!(
    an_account_is_added_with_its_name_title_and_team_and_shown_by_name,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let north = c.create_team(&app.admin, app.service_a, "North").await?;
        let new = NewStaff {
            display_name: "  Sam Patel ".to_owned(),
            job_title: "Senior support worker".to_owned(),
            ..new_staff(
                Role::Practitioner,
                Some(app.service_a),
                Some(north.id),
                "sam.patel",
            )
        };
        let before = audit_head(&app).await?;
        let sam = c.add_staff(&app.admin, app.organisation, &new).await?;
        let stored = app.staff_record(sam.id).await?;
        assert_eq!(stored.display_name.as_deref(), Some("Sam Patel"));
        assert_eq!(stored.job_title.as_deref(), Some("Senior support worker"));
        assert_eq!(stored.team_id, Some(north.id));
        assert_eq!(stored.name_and_title(), "Sam Patel, Senior support worker");
        let events = c.store().audit_events(before + 1, 10).await?;
        assert_eq!(events.len(), 1);
        assert!(
            !events[0].resource_id.iter().any(|r| r.contains("Sam")),
            "no name in the audit log"
        );

        // Without a display name, an account is named by its handle.
        let worker_a = match app.worker_a.actor() {
            Actor::Staff(s) => s.user_id,
            Actor::System => anyhow::bail!("a member of staff"),
        };
        let names = c.colleague_names(&app.worker_a).await?;
        assert_eq!(names.get(&sam.id).map(String::as_str), Some("Sam Patel"));
        let handle = app.staff_record(worker_a).await?.handle;
        assert_eq!(names.get(&worker_a), Some(&handle));

        // The caseload's key workers are named so too.
        let caseload = c
            .caseload(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                CaseloadQuery {
                    of: CaseloadOf::Everyone,
                    status: None,
                    sort: CaseloadSort::Name,
                    descending: false,
                },
            )
            .await?;
        assert_eq!(
            caseload.workers.get(&sam.id).map(String::as_str),
            Some("Sam Patel")
        );
        // And the account itself, through the API's look-up.
        let sam_actor = app.actor_of(sam.id).await?;
        let me = c.own_account(&sam_actor).await?;
        assert_eq!(
            me.and_then(|m| m.display_name).as_deref(),
            Some("Sam Patel")
        );
        Ok(())
    }
);

both_backends!(
    contradictory_set_ups_are_refused_by_field_and_write_nothing,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let team_b = c.create_team(&app.admin, app.service_b, "B team").await?;
        c.set_service_scope(&app.admin, app.service_a, AccessScope::Team)
            .await?;
        let cases = [
            (
                new_staff(Role::Practitioner, None, None, "no.service"),
                vec!["service"],
            ),
            (
                new_staff(
                    Role::DataProtectionOfficer,
                    Some(app.service_a),
                    None,
                    "dpo.two",
                ),
                vec!["service"],
            ),
            (
                new_staff(Role::ProcessorStaff, Some(app.service_a), None, "proc.two"),
                vec!["service"],
            ),
            (
                new_staff(
                    Role::Practitioner,
                    Some(app.service_a),
                    Some(team_b.id),
                    "wrong.team",
                ),
                vec!["team"],
            ),
            (
                new_staff(Role::TeamManager, Some(app.service_a), None, "no.team"),
                vec!["team"],
            ),
            (
                new_staff(Role::Administrator, None, Some(team_b.id), "admin.team"),
                vec!["team"],
            ),
            (
                new_staff(Role::Practitioner, Some(Uuid::now_v7()), None, "nowhere"),
                vec!["service"],
            ),
            (
                NewStaff {
                    display_name: "Sam\nPatel".to_owned(),
                    job_title: "x".repeat(101),
                    ..new_staff(Role::Practitioner, Some(app.service_a), None, "B")
                },
                vec!["handle", "display_name", "job_title"],
            ),
        ];
        for (new, expected) in cases {
            let before = app.db.row_counts(&["staff"]).await?;
            let Err(OrganisationError::Invalid(v)) =
                c.add_staff(&app.admin, app.organisation, &new).await
            else {
                anyhow::bail!("{} was accepted", new.handle);
            };
            assert_eq!(fields(&v), expected, "{}", new.handle);
            assert_eq!(app.db.row_counts(&["staff"]).await?, before);
        }
        // A sound one passes; a practitioner may not add anyone (not found, as for any refusal).
        c.add_staff(
            &app.admin,
            app.organisation,
            &new_staff(
                Role::Practitioner,
                Some(app.service_b),
                Some(team_b.id),
                "fine",
            ),
        )
        .await?;
        assert!(matches!(
            c.add_staff(
                &app.worker_a,
                app.organisation,
                &new_staff(Role::Practitioner, Some(app.service_a), None, "by.worker"),
            )
            .await,
            Err(OrganisationError::NotFound)
        ));
        Ok(())
    }
);

both_backends!(
    administrators_set_names_titles_and_teams_and_practitioners_do_not,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let north = c.create_team(&app.admin, app.service_a, "North").await?;
        let elsewhere = c
            .create_team(&app.admin, app.service_b, "Elsewhere")
            .await?;
        let worker_a = match app.worker_a.actor() {
            Actor::Staff(s) => s.user_id,
            Actor::System => anyhow::bail!("a member of staff"),
        };
        let input = DetailsInput {
            display_name: "Ada Gill".to_owned(),
            job_title: "Support worker".to_owned(),
            team_id: Some(north.id),
        };
        let before = audit_head(&app).await?;
        let changed = c.set_staff_details(&app.admin, worker_a, &input).await?;
        assert_eq!(changed.name(), "Ada Gill");
        let stored = app.staff_record(worker_a).await?;
        assert_eq!(
            (
                stored.display_name.as_deref(),
                stored.job_title.as_deref(),
                stored.team_id
            ),
            (Some("Ada Gill"), Some("Support worker"), Some(north.id))
        );
        let events = c.store().audit_events(before + 1, 10).await?;
        assert_eq!(
            events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["staff.set_details"]
        );
        // The DPO may too; clearing the name shows the handle again.
        c.set_staff_details(&app.dpo, worker_a, &DetailsInput::default())
            .await?;
        let stored = app.staff_record(worker_a).await?;
        assert_eq!(stored.name(), stored.handle);
        assert_eq!(stored.team_id, None);

        // A practitioner may not, their own or another's.
        let admin_id = match app.admin.actor() {
            Actor::Staff(s) => s.user_id,
            Actor::System => anyhow::bail!("a member of staff"),
        };
        for target in [worker_a, admin_id] {
            assert!(matches!(
                c.set_staff_details(&app.worker_a, target, &input).await,
                Err(OrganisationError::NotFound)
            ));
        }
        // A team of another service, or bad text, is refused by field and changes nothing.
        let bad = DetailsInput {
            display_name: "\u{202E}".to_owned(),
            job_title: String::new(),
            team_id: Some(elsewhere.id),
        };
        let Err(OrganisationError::Invalid(v)) =
            c.set_staff_details(&app.admin, worker_a, &bad).await
        else {
            anyhow::bail!("a team of another service was accepted");
        };
        assert_eq!(fields(&v), ["display_name", "team"]);
        assert_eq!(app.staff_record(worker_a).await?, stored);
        // An administrator has no team to be put in.
        let Err(OrganisationError::Invalid(v)) = c
            .set_staff_details(
                &app.dpo,
                admin_id,
                &DetailsInput {
                    team_id: Some(north.id),
                    ..DetailsInput::default()
                },
            )
            .await
        else {
            anyhow::bail!("an administrator was put in a team");
        };
        assert_eq!(fields(&v), ["team"]);
        Ok(())
    }
);

both_backends!(
    administrators_add_services_and_teams_and_change_scopes,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let service = c
            .create_service(&app.admin, app.organisation, "Outreach")
            .await?;
        let (_, scope) = c.service_with_scope(&app.admin, service.id).await?;
        assert_eq!(scope, AccessScope::Service);
        c.create_team(&app.admin, service.id, "East").await?;
        assert!(matches!(
            c.create_team(&app.admin, service.id, "East").await,
            Err(OrganisationError::Conflict(_))
        ));
        c.set_service_scope(&app.admin, service.id, AccessScope::Caseload)
            .await?;
        let (_, scope) = c.service_with_scope(&app.worker_a, service.id).await?;
        assert_eq!(scope, AccessScope::Caseload);
        // Nobody else sets them up: the DPO, a practitioner.
        for actor in [&app.dpo, &app.worker_a] {
            assert!(matches!(
                c.set_service_scope(actor, service.id, AccessScope::Service)
                    .await,
                Err(OrganisationError::NotFound)
            ));
            assert!(matches!(
                c.create_team(actor, service.id, "West").await,
                Err(OrganisationError::NotFound)
            ));
        }
        assert_eq!(c.teams(service.id).await?.len(), 1);
        Ok(())
    }
);
