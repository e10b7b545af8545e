//! Caseloads (issue 16), on SQLite and PostgreSQL: record numbers per service; a caseload's
//! columns (date of birth, key worker, case, last contact), whose, case status and sorting; the
//! read scope (team, caseload) holding in every view; the managers' counts per worker.

use confidant_core::field::{PersonField, RecordKind};
use confidant_core::person::{
    CaseloadOf, CaseloadQuery, CaseloadSort, MAX_CASELOAD, PersonError, PersonInput,
};
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::store::{
    CaseStatus, ClosureReason, ContactType, ErrorReason, NoteFlags, WorkerLoad,
};
use confidant_core::{AccessScope, Purpose, Role, access::Principal};
use confidant_testkit::{TestApp, both_backends, operator, test_time};
use time::Duration;
use uuid::Uuid;

const P: Purpose = Purpose::Support;

fn note_at(days_ago: i64) -> NewEntry {
    NewEntry {
        kind: RecordKind::Note,
        case_id: None,
        parent_id: None,
        contact_type: Some(ContactType::Visit),
        occurs_at: Some(test_time() - Duration::days(days_ago)),
        status: None,
        due_at: None,
        flags: NoteFlags::default(),
        values: RecordInput::new().with("body", "Met at the hub"),
    }
}

fn query(of: CaseloadOf) -> CaseloadQuery {
    CaseloadQuery {
        of,
        status: None,
        sort: CaseloadSort::Name,
        descending: false,
    }
}

async fn person(
    app: &TestApp,
    by: &Principal,
    service: Uuid,
    given: &str,
    family: &str,
    dob: Option<&str>,
) -> anyhow::Result<Uuid> {
    let mut input = PersonInput::new()
        .with(PersonField::GivenName, given)
        .with(PersonField::FamilyName, family);
    if let Some(d) = dob {
        input = input.with(PersonField::DateOfBirth, d);
    }
    Ok(app
        .confidant
        .create_person(by, P, service, &input)
        .await?
        .id)
}

/// The family names of a caseload's lines, in order.
async fn names(app: &TestApp, actor: &Principal, q: CaseloadQuery) -> anyhow::Result<Vec<String>> {
    Ok(app
        .confidant
        .caseload(actor, P, app.service_a, q)
        .await?
        .lines
        .into_iter()
        .map(|l| l.family_name)
        .collect())
}

both_backends!(
    record_numbers_count_up_in_each_service_and_a_caseload_shows_its_columns,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let w = &app.worker_a;
        let open = person(&app, w, app.service_a, "Ada", "Gill", Some("1990-03-05")).await?;
        let closed = person(&app, w, app.service_a, "Bea", "Ortiz", None).await?;
        let none = person(&app, w, app.service_a, "Cal", "adams", Some("1985-11-30")).await?;
        let elsewhere = person(&app, &app.worker_b, app.service_b, "Dee", "Bell", None).await?;
        // Numbers count up in each service, in order of creation, and the record answers its own.
        let number = |id| async move { anyhow::Ok(c.read_person(w, P, id).await?.record_number) };
        assert_eq!(
            (
                number(open).await?,
                number(closed).await?,
                number(none).await?
            ),
            (1, 2, 3)
        );
        assert_eq!(
            c.read_person(&app.worker_b, P, elsewhere)
                .await?
                .record_number,
            1
        );

        c.open_case(w, P, open, None).await?;
        let case = c.open_case(w, P, closed, None).await?;
        c.close_case(w, P, closed, case.id, ClosureReason::Completed)
            .await?;
        // Her last contact is the note of three days ago: a later one was entered in error.
        c.add_entry(w, P, open, &note_at(3)).await?;
        let wrong = c.add_entry(w, P, open, &note_at(1)).await?;
        c.mark_entry_in_error(w, P, open, wrong.id, ErrorReason::WrongRecord)
            .await?;
        c.add_entry(w, P, closed, &note_at(10)).await?;

        let mine = c
            .caseload(w, P, app.service_a, query(CaseloadOf::Mine))
            .await?;
        assert!(!mine.more);
        // By family name, without case.
        let lines: Vec<_> = mine
            .lines
            .iter()
            .map(|l| {
                (
                    l.family_name.as_str(),
                    l.record_number,
                    l.date_of_birth.as_deref(),
                    l.status,
                    l.last_contact.map(|t| (test_time() - t).whole_days()),
                )
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                ("adams", 3, Some("1985-11-30"), CaseStatus::NoCase, None),
                ("Gill", 1, Some("1990-03-05"), CaseStatus::Open, Some(3)),
                ("Ortiz", 2, None, CaseStatus::Closed, Some(10)),
            ]
        );
        let worker_id = match w.actor() {
            confidant_core::Actor::Staff(s) => s.user_id,
            confidant_core::Actor::System => unreachable!("a member of staff"),
        };
        assert!(
            mine.lines
                .iter()
                .all(|l| l.key_worker_id == Some(worker_id))
        );
        assert_eq!(
            mine.workers.get(&worker_id).map(String::as_str),
            Some("worker.a")
        );

        // Each case status on its own.
        for (status, expect) in [
            (CaseStatus::Open, "Gill"),
            (CaseStatus::Closed, "Ortiz"),
            (CaseStatus::NoCase, "adams"),
        ] {
            let q = CaseloadQuery {
                status: Some(status),
                ..query(CaseloadOf::Mine)
            };
            assert_eq!(names(&app, w, q).await?, vec![expect], "{status:?}");
        }
        // Sorted by the last contact, newest first; no contact comes last either way.
        for descending in [false, true] {
            let q = CaseloadQuery {
                sort: CaseloadSort::LastContact,
                descending,
                ..query(CaseloadOf::Mine)
            };
            let expect = if descending {
                ["Gill", "Ortiz", "adams"]
            } else {
                ["Ortiz", "Gill", "adams"]
            };
            assert_eq!(names(&app, w, q).await?, expect);
        }
        let by_number = CaseloadQuery {
            sort: CaseloadSort::RecordNumber,
            descending: true,
            ..query(CaseloadOf::Mine)
        };
        assert_eq!(names(&app, w, by_number).await?, ["adams", "Ortiz", "Gill"]);

        // A colleague has no caseload of their own; they see worker.a's, and everyone's, as the
        // service shares its records; nobody is without a key worker until a manager says so.
        let (_, colleague) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "colleague", true)
            .await?;
        assert!(
            names(&app, &colleague, query(CaseloadOf::Mine))
                .await?
                .is_empty()
        );
        assert_eq!(
            names(&app, &colleague, query(CaseloadOf::Worker(worker_id)))
                .await?
                .len(),
            3
        );
        assert_eq!(
            names(&app, &colleague, query(CaseloadOf::Everyone))
                .await?
                .len(),
            3
        );
        assert!(
            names(&app, &colleague, query(CaseloadOf::Unassigned))
                .await?
                .is_empty()
        );
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        c.assign_person(&manager, P, none, None, None).await?;
        assert_eq!(
            names(&app, &colleague, query(CaseloadOf::Unassigned)).await?,
            ["adams"]
        );
        // Another service's worker sees none of it: the list is refused as a missing service.
        assert!(matches!(
            c.caseload(&app.worker_b, P, app.service_a, query(CaseloadOf::Everyone))
                .await,
            Err(PersonError::NotFound)
        ));
        Ok(())
    }
);

both_backends!(
    in_a_caseload_scoped_service_each_view_keeps_to_the_read_scope_and_managers_count_per_worker,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        c.set_service_scope(&operator(), app.service_a, AccessScope::Caseload)
            .await?;
        let (colleague_record, colleague) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "colleague", true)
            .await?;
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let (team_manager_record, team_manager) = app
            .add_staff(Role::TeamManager, Some(app.service_a), "team.manager", true)
            .await?;
        let mine = person(&app, &app.worker_a, app.service_a, "Ada", "Gill", None).await?;
        person(&app, &app.worker_a, app.service_a, "Bea", "Ortiz", None).await?;
        let theirs = person(&app, &colleague, app.service_a, "Cal", "Adams", None).await?;
        c.open_case(&app.worker_a, P, mine, None).await?;

        // Everyone a practitioner can see is their own caseload; a colleague's shows nobody.
        assert_eq!(
            names(&app, &colleague, query(CaseloadOf::Everyone)).await?,
            ["Adams"]
        );
        let worker_a = match app.worker_a.actor() {
            confidant_core::Actor::Staff(s) => s.user_id,
            confidant_core::Actor::System => unreachable!("a member of staff"),
        };
        assert!(
            names(&app, &colleague, query(CaseloadOf::Worker(worker_a)))
                .await?
                .is_empty()
        );
        assert_eq!(
            names(&app, &manager, query(CaseloadOf::Everyone))
                .await?
                .len(),
            3
        );

        // The service manager counts the whole service per worker.
        let mut loads = c.caseload_counts(&manager, P, app.service_a).await?.loads;
        loads.sort_by_key(|l| l.people);
        assert_eq!(
            loads,
            vec![
                WorkerLoad {
                    key_worker_id: Some(colleague_record.id),
                    people: 1,
                    open_cases: 0
                },
                WorkerLoad {
                    key_worker_id: Some(worker_a),
                    people: 2,
                    open_cases: 1
                },
            ]
        );
        // A team manager of no team counts nobody; of a team, only its people.
        assert!(
            c.caseload_counts(&team_manager, P, app.service_a)
                .await?
                .loads
                .is_empty()
        );
        let team = c.create_team(&app.admin, app.service_a, "North").await?;
        c.set_staff_team(&app.dpo, team_manager_record.id, Some(team.id))
            .await?;
        c.assign_person(
            &manager,
            P,
            theirs,
            Some(team.id),
            Some(colleague_record.id),
        )
        .await?;
        let team_manager = app.actor_of(team_manager_record.id).await?;
        assert_eq!(
            c.caseload_counts(&team_manager, P, app.service_a)
                .await?
                .loads,
            vec![WorkerLoad {
                key_worker_id: Some(colleague_record.id),
                people: 1,
                open_cases: 0
            }]
        );
        assert_eq!(
            names(&app, &team_manager, query(CaseloadOf::Team(team.id))).await?,
            ["Adams"]
        );
        // A practitioner, and another service's manager, are refused the counts.
        assert!(matches!(
            c.caseload_counts(&colleague, P, app.service_a).await,
            Err(PersonError::NotFound)
        ));
        let (_, other_manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_b), "manager.b", true)
            .await?;
        assert!(matches!(
            c.caseload_counts(&other_manager, P, app.service_a).await,
            Err(PersonError::NotFound)
        ));
        Ok(())
    }
);

both_backends!(
    people_created_at_once_get_distinct_record_numbers_in_order,
    |backend| async move {
        use std::sync::Arc;
        let app = Arc::new(TestApp::new(backend).await?);
        let made = confidant_testkit::race(8, |i| {
            let app = Arc::clone(&app);
            async move {
                let input = PersonInput::new()
                    .with(PersonField::GivenName, "Racer")
                    .with(PersonField::FamilyName, format!("Number{i}"));
                app.confidant
                    .create_person(&app.worker_a, P, app.service_a, &input)
                    .await
                    .map(|p| p.record_number)
            }
        })
        .await?;
        let mut numbers = made.into_iter().collect::<Result<Vec<_>, _>>()?;
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=8).collect::<Vec<i64>>());
        Ok(())
    }
);

both_backends!(
    a_caseload_shows_500_lines_and_says_there_are_more,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        for i in 0..=MAX_CASELOAD {
            let input = PersonInput::new()
                .with(PersonField::GivenName, "Many")
                .with(PersonField::FamilyName, format!("Person{i:03}"));
            c.create_person(&app.worker_a, P, app.service_a, &input)
                .await?;
        }
        let full = c
            .caseload(&app.worker_a, P, app.service_a, query(CaseloadOf::Mine))
            .await?;
        assert_eq!((full.lines.len(), full.more), (MAX_CASELOAD, true));
        // One fewer fits.
        let none = CaseloadQuery {
            status: Some(CaseStatus::NoCase),
            ..query(CaseloadOf::Mine)
        };
        let person = full.lines[0].id;
        c.open_case(&app.worker_a, P, person, None).await?;
        let rest = c.caseload(&app.worker_a, P, app.service_a, none).await?;
        assert_eq!((rest.lines.len(), rest.more), (MAX_CASELOAD, false));
        Ok(())
    }
);
