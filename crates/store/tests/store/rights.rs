//! Rights requests (issue 18, part 1), on SQLite and PostgreSQL: logged with their due date and a
//! task for the DPO and the service's manager; moved on step by step (identity, clarification,
//! extension, answer), the due date and the task's following; refused steps and bad input change
//! nothing; two people deciding at once cannot both win; a request involving someone named as an
//! alleged perpetrator is marked for a safety review.

use confidant_core::Purpose;
use confidant_core::person::PersonError;
use confidant_core::record::RecordInput;
use confidant_core::rights::{RequestInput, StepInput};
use confidant_core::store::prelude::*;
use confidant_core::store::{Relationship, RequestState, RequestStep, TaskKind};
use confidant_testkit::{TestApp, both_backends};
use uuid::Uuid;

use crate::retention::governed;

fn access(received_on: &'static str, identity: Option<&'static str>) -> RequestInput<'static> {
    RequestInput {
        kind: "access",
        channel: "email",
        received_on,
        representative_id: None,
        authority: None,
        identity_check: identity,
    }
}

fn step<'a>(step: &'a str, on: &'a str, detail: Option<&'a str>) -> StepInput<'a> {
    StepInput { step, on, detail }
}

/// The DPO takes a step on a request.
async fn dpo_step(
    app: &TestApp,
    request: Uuid,
    s: &str,
    on: &str,
    detail: Option<&str>,
) -> Result<confidant_core::store::RightsRequestRecord, PersonError> {
    app.confidant
        .step_rights_request(&app.dpo, app.organisation, request, step(s, on, detail))
        .await
}

/// The open rights-request task on `request`, with when it is due (UK day).
async fn task_due(app: &TestApp, request: Uuid) -> anyhow::Result<Option<Option<String>>> {
    let tasks = app
        .confidant
        .store()
        .open_tasks_of(app.organisation, TaskKind::RightsRequest)
        .await?;
    Ok(tasks
        .into_iter()
        .find(|t| t.subject_id == request)
        .map(|t| {
            t.due_at_micros.map(|m| {
                let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
                    .expect("a stored time");
                confidant_core::retention::uk_date(at).to_string()
            })
        }))
}

async fn count(app: &TestApp, table: &str) -> anyhow::Result<i64> {
    let mut raw = app.db.raw().await?;
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut raw)
        .await?;
    Ok(sqlx::Row::try_get(&row, "n")?)
}

both_backends!(
    a_request_runs_on_its_clock_from_logging_to_its_answer,
    |backend| async move {
        // The clock stands at 22 November 2026.
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let p = app.person_named("Zqrights", "Person").await?;
        // Received on Friday 20 November, identity clear: one month is Sunday 20 December, so
        // Monday 21 December.
        let r = c
            .log_rights_request(
                &app.worker_a,
                p,
                access("2026-11-20", Some("known_to_staff")),
            )
            .await?;
        assert_eq!(r.state, RequestState::Open);
        assert_eq!(r.start_on.as_deref(), Some("2026-11-20"));
        assert_eq!(r.due_on.as_deref(), Some("2026-12-21"));
        assert!(!r.safety_review);
        assert_eq!(
            task_due(&app, r.id).await?,
            Some(Some("2026-12-21".to_owned()))
        );
        let org = app.organisation;

        // A practitioner logs it but does not move it on, nor see the service's list.
        assert!(matches!(
            c.step_rights_request(
                &app.worker_a,
                org,
                r.id,
                step("answered", "2026-11-22", None)
            )
            .await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.rights_requests(&app.worker_a, org).await,
            Err(PersonError::NotFound)
        ));
        assert_eq!(c.rights_requests(&app.dpo, org).await?.len(), 1);
        assert_eq!(c.rights_requests_about(&app.worker_a, p).await?.len(), 1);

        // Clarification asked for on 20 November and received on 22: the period from the one
        // day to the other, both counted, is three days stopped, so Wednesday 23 December.
        let stopped = dpo_step(&app, r.id, "clock_stopped", "2026-11-20", None).await?;
        assert_eq!(stopped.state, RequestState::Stopped);
        assert!(matches!(
            dpo_step(&app, r.id, "clock_stopped", "2026-11-21", None).await,
            Err(PersonError::Invalid(_))
        ));
        assert!(matches!(
            dpo_step(&app, r.id, "clock_resumed", "2026-11-19", None).await,
            Err(PersonError::Invalid(_))
        ));
        let resumed = dpo_step(&app, r.id, "clock_resumed", "2026-11-22", None).await?;
        assert_eq!(resumed.stopped_days, 3);
        assert_eq!(resumed.due_on.as_deref(), Some("2026-12-23"));
        assert_eq!(
            task_due(&app, r.id).await?,
            Some(Some("2026-12-23".to_owned()))
        );

        // Extended as complex: three months from the same start plus the days stopped, Tuesday
        // 23 February 2027.
        assert!(matches!(
            dpo_step(&app, r.id, "extended", "2026-11-22", None).await,
            Err(PersonError::Invalid(_))
        ));
        let extended = dpo_step(&app, r.id, "extended", "2026-11-22", Some("complex")).await?;
        assert_eq!(extended.due_on.as_deref(), Some("2027-02-23"));
        assert_eq!(
            task_due(&app, r.id).await?,
            Some(Some("2027-02-23".to_owned()))
        );
        let again = dpo_step(&app, r.id, "extended", "2026-11-22", Some("numerous")).await;
        assert!(matches!(again, Err(PersonError::Invalid(_))), "{again:?}");

        // A day in the future, before it was received, before the last step: refused.
        for on in ["2026-11-23", "2026-11-19", "2026-11-21", "22/11/2026"] {
            assert!(matches!(
                c.step_rights_request(&app.dpo, org, r.id, step("answered", on, None))
                    .await,
                Err(PersonError::Invalid(_))
            ));
        }
        // Answered: closed, its task too; nothing more happens to it.
        let answered = dpo_step(&app, r.id, "answered", "2026-11-22", None).await?;
        assert_eq!(answered.state, RequestState::Answered);
        assert_eq!(answered.closed_on.as_deref(), Some("2026-11-22"));
        assert_eq!(task_due(&app, r.id).await?, None);
        assert!(matches!(
            dpo_step(&app, r.id, "withdrawn", "2026-11-22", None).await,
            Err(PersonError::Invalid(_))
        ));
        let view = c.rights_request(&app.dpo, org, r.id).await?;
        let steps: Vec<_> = view.steps.iter().map(|s| s.step).collect();
        assert_eq!(
            steps,
            [
                RequestStep::Logged,
                RequestStep::IdentityConfirmed,
                RequestStep::ClockStopped,
                RequestStep::ClockResumed,
                RequestStep::Extended,
                RequestStep::Answered,
            ]
        );
        assert_eq!(view.extend_until, None);
        Ok(())
    }
);

both_backends!(
    the_clock_waits_for_identity_and_a_services_limit_wins,
    |backend| async move {
        // The register's service promises 30 days.
        let app = governed(backend, "case_closed", "8 years").await?;
        let c = &app.confidant;
        let org = app.organisation;
        let p = app.person_named("Zqidentity", "Person").await?;
        let r = c
            .log_rights_request(&app.worker_a, p, access("2026-11-20", None))
            .await?;
        assert_eq!(r.state, RequestState::AwaitingIdentity);
        assert_eq!((r.start_on, r.due_on), (None, None));
        assert_eq!(task_due(&app, r.id).await?, Some(None));
        // Nothing but identity (or closing) may come first.
        for (s, d) in [("clock_stopped", None), ("extended", Some("complex"))] {
            assert!(matches!(
                c.step_rights_request(&app.dpo, org, r.id, step(s, "2026-11-21", d))
                    .await,
                Err(PersonError::Invalid(_))
            ));
        }
        assert!(matches!(
            dpo_step(&app, r.id, "identity_confirmed", "2026-11-21", None).await,
            Err(PersonError::Invalid(_))
        ));
        // Confirmed on Saturday 21 November: day one. Thirty days is Monday 21 December, the
        // law's month Monday 21 December too: the law's.
        let confirmed = dpo_step(
            &app,
            r.id,
            "identity_confirmed",
            "2026-11-21",
            Some("documents_seen"),
        )
        .await?;
        assert_eq!(confirmed.start_on.as_deref(), Some("2026-11-21"));
        assert_eq!(confirmed.due_on.as_deref(), Some("2026-12-21"));

        // Received on Friday 20 November with identity clear: thirty days is Sunday 20
        // December, kept on Friday 18 December (the law's month would be Monday 21).
        let q = c
            .log_rights_request(
                &app.worker_a,
                p,
                access("2026-11-20", Some("contact_on_record")),
            )
            .await?;
        assert_eq!(q.due_on.as_deref(), Some("2026-12-18"));
        let view = c.rights_request(&app.dpo, org, q.id).await?;
        assert_eq!(
            view.due.map(|d| d.explained()),
            Some(
                "the service's own limit, moved from Sunday 20 December 2026 (not a working day)"
                    .to_owned()
            )
        );
        assert_eq!(view.extend_until, Some(time::macros::date!(2026 - 12 - 21)));
        Ok(())
    }
);

both_backends!(
    an_extension_after_the_first_month_is_refused_and_bad_input_changes_nothing,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let org = app.organisation;
        let p = app.person_named("Zqlate", "Person").await?;
        // Received on 1 October: due Monday 2 November (1 November is a Sunday). Today, 22
        // November, is too late to extend it.
        let r = c
            .log_rights_request(&app.dpo, p, access("2026-10-01", Some("known_to_staff")))
            .await?;
        assert_eq!(r.due_on.as_deref(), Some("2026-11-02"));
        let late = dpo_step(&app, r.id, "extended", "2026-11-22", Some("complex")).await;
        let Err(PersonError::Invalid(v)) = late else {
            panic!("{late:?}");
        };
        assert_eq!(v.0[0].field, "on");
        assert!(
            v.0[0].message.contains("Monday 2 November 2026"),
            "{:?}",
            v.0
        );
        // Dated back into the first month, it is still recorded too late: refused the same.
        let backdated = dpo_step(&app, r.id, "extended", "2026-10-20", Some("complex")).await;
        assert!(
            matches!(backdated, Err(PersonError::Invalid(_))),
            "{backdated:?}"
        );
        assert_eq!(
            c.store()
                .rights_request(org, r.id)
                .await?
                .map(|r| r.version),
            Some(1)
        );

        let before = (
            count(&app, "rights_request").await?,
            count(&app, "rights_request_step").await?,
        );
        let other = app.person_named("Zqother", "Person").await?;
        let relative_of_other = c
            .add_related(
                &app.worker_a,
                Purpose::Support,
                other,
                Relationship::Family,
                None,
                &RecordInput::new().with("given_name", "Zqrelative"),
            )
            .await?;
        let bad = c
            .log_rights_request(
                &app.worker_a,
                p,
                RequestInput {
                    kind: "everything",
                    channel: "",
                    received_on: "2026-11-23",
                    representative_id: Some(relative_of_other.id),
                    authority: None,
                    identity_check: Some("guessed"),
                },
            )
            .await;
        let Err(PersonError::Invalid(v)) = bad else {
            panic!("{bad:?}");
        };
        let mut fields: Vec<_> = v.0.iter().map(|v| v.field).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "authority",
                "channel",
                "identity_check",
                "kind",
                "received_on",
                "representative_id"
            ]
        );
        let authority_alone = c
            .log_rights_request(
                &app.worker_a,
                p,
                RequestInput {
                    authority: Some("power_of_attorney"),
                    ..access("2026-11-20", None)
                },
            )
            .await;
        assert!(matches!(authority_alone, Err(PersonError::Invalid(_))));
        // Nobody outside the record's readers (and the DPO and Caldicott Guardian) logs one.
        for who in [&app.worker_b, &app.admin] {
            assert!(matches!(
                c.log_rights_request(who, p, access("2026-11-20", None))
                    .await,
                Err(PersonError::NotFound)
            ));
        }
        let after = (
            count(&app, "rights_request").await?,
            count(&app, "rights_request_step").await?,
        );
        assert_eq!(before, after);
        Ok(())
    }
);

both_backends!(
    two_people_deciding_at_once_cannot_both_win,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let org = app.organisation;
        let p = app.person_named("Zqrace", "Person").await?;
        let r = c
            .log_rights_request(&app.dpo, p, access("2026-11-20", Some("known_to_staff")))
            .await?;
        let (a, b) = tokio::join!(
            dpo_step(&app, r.id, "answered", "2026-11-22", None),
            dpo_step(&app, r.id, "withdrawn", "2026-11-22", None),
        );
        let wins = [&a, &b].iter().filter(|x| x.is_ok()).count();
        assert_eq!(wins, 1, "{a:?} {b:?}");
        assert!(
            [&a, &b].iter().any(|x| matches!(
                x,
                Err(PersonError::Conflict(_)) | Err(PersonError::Invalid(_))
            )),
            "{a:?} {b:?}"
        );
        assert_eq!(c.rights_request(&app.dpo, org, r.id).await?.steps.len(), 3);
        Ok(())
    }
);

both_backends!(
    a_request_involving_an_alleged_perpetrator_is_marked_for_a_safety_review,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let victim = app.person_named("Zqvictim", "Person").await?;
        let abuser = app.person_named("Zqabuser", "Person").await?;
        let bystander = app.person_named("Zqbystander", "Person").await?;
        // The abuser is someone the service supports too, named in the victim's record.
        let named = c
            .add_related(
                &app.worker_a,
                Purpose::Support,
                victim,
                Relationship::AllegedPerpetrator,
                Some(abuser),
                &RecordInput::new().with("given_name", "Zqnamed"),
            )
            .await?;
        // Their own request: marked, whoever logs it.
        for who in [&app.worker_a, &app.dpo] {
            let own = c
                .log_rights_request(who, abuser, access("2026-11-20", Some("known_to_staff")))
                .await?;
            assert!(own.safety_review);
        }
        // Asking "on the victim's behalf": marked.
        let on_behalf = c
            .log_rights_request(
                &app.worker_a,
                victim,
                RequestInput {
                    representative_id: Some(named.id),
                    authority: Some("written_authority"),
                    ..access("2026-11-20", None)
                },
            )
            .await?;
        assert!(on_behalf.safety_review);
        // The victim's own request, and anyone else's: not.
        for p in [victim, bystander] {
            let plain = c
                .log_rights_request(
                    &app.worker_a,
                    p,
                    access("2026-11-20", Some("known_to_staff")),
                )
                .await?;
            assert!(!plain.safety_review);
        }
        Ok(())
    }
);

both_backends!(
    an_open_request_keeps_the_record_from_destruction_until_it_is_answered,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let org = app.organisation;
        let a = confidant_core::Purpose::Administration;
        let reason = "Retention period ended, reviewed";
        let p = app.person_named("Zqasking", "Person").await?;
        let r = c
            .log_rights_request(
                &app.worker_a,
                p,
                access("2026-11-20", Some("known_to_staff")),
            )
            .await?;
        let refused = c
            .destroy_person(&app.dpo, a, p, "dpo_decision", reason)
            .await;
        let Err(PersonError::Conflict(why)) = refused else {
            panic!("{refused:?}");
        };
        assert!(
            why.contains("open request about the person's rights"),
            "{why}"
        );
        assert!(
            c.read_person(&app.worker_a, Purpose::Support, p)
                .await
                .is_ok()
        );
        // Answered, it no longer keeps the record.
        dpo_step(&app, r.id, "answered", "2026-11-22", None).await?;
        c.destroy_person(&app.dpo, a, p, "dpo_decision", reason)
            .await?;
        assert!(c.store().destroyed(p).await?);
        assert!(c.store().rights_request(org, r.id).await?.is_none());

        // A request for erasure does not keep the record it asks to erase.
        let q = app.person_named("Zqerase", "Person").await?;
        c.log_rights_request(
            &app.worker_a,
            q,
            RequestInput {
                kind: "erasure",
                ..access("2026-11-20", Some("known_to_staff"))
            },
        )
        .await?;
        c.destroy_person(&app.dpo, a, q, "erasure", reason).await?;
        assert!(c.store().destroyed(q).await?);
        Ok(())
    }
);

both_backends!(
    a_restriction_refuses_each_kind_of_change_until_it_is_lifted,
    |backend| async move {
        use confidant_core::document::Upload;
        use confidant_core::field::{PersonField, RecordKind};
        use confidant_core::person::PersonInput;
        use confidant_core::record::{EntryChange, NewEntry};
        use confidant_core::store::{ContactType, CorrectionReason, NoteFlags};

        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let (w, sp) = (&app.worker_a, Purpose::Support);
        let p = app.person_named("Zqrestricted", "Person").await?;
        let note = |body: &str| NewEntry {
            kind: RecordKind::Note,
            case_id: None,
            parent_id: None,
            contact_type: Some(ContactType::Phone),
            occurs_at: None,
            status: None,
            due_at: None,
            flags: NoteFlags::default(),
            values: RecordInput::new().with("body", body),
        };
        // Before: an entry, a relative and a case to change later.
        let entry = c
            .add_entry(w, sp, p, &note("Before the restriction"))
            .await?
            .id;
        let relative = c
            .add_related(
                w,
                sp,
                p,
                Relationship::Family,
                None,
                &RecordInput::new().with("given_name", "Zqkin"),
            )
            .await?
            .id;
        let case = c.open_case(w, sp, p, None).await?.id;
        let restriction = c.restrict(&app.dpo, sp, p, "restriction").await?;
        let before = (
            count(&app, "record_entry").await?,
            count(&app, "related_person").await?,
            count(&app, "document").await?,
            count(&app, "case_episode").await?,
            count(&app, "field_version").await?,
        );
        let restricted = |r: Result<(), PersonError>, what: &str| {
            assert!(
                matches!(
                    r,
                    Err(PersonError::Forbidden {
                        code: "restricted",
                        ..
                    })
                ),
                "{what}: {r:?}"
            );
        };
        restricted(
            c.update_person(
                w,
                sp,
                p,
                &PersonInput::new().with(PersonField::Postcode, "LS1 4AP"),
            )
            .await
            .map(drop),
            "the person's details",
        );
        restricted(
            c.add_entry(w, sp, p, &note("During")).await.map(drop),
            "a new note",
        );
        restricted(
            c.update_entry(
                w,
                sp,
                p,
                entry,
                &EntryChange {
                    status: None,
                    due_at: None,
                    values: RecordInput::new().with("body", "Changed"),
                    reason: Some(CorrectionReason::Typo),
                },
            )
            .await
            .map(drop),
            "a note corrected",
        );
        restricted(
            c.add_related(
                w,
                sp,
                p,
                Relationship::Family,
                None,
                &RecordInput::new().with("given_name", "Zqmore"),
            )
            .await
            .map(drop),
            "a related person added",
        );
        restricted(
            c.remove_related(w, sp, p, relative).await,
            "a related person removed",
        );
        restricted(
            c.upload_document(
                w,
                sp,
                p,
                &Upload {
                    file_name: "letter.pdf",
                    content: b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n",
                    description: None,
                    is_photo: false,
                },
            )
            .await
            .map(drop),
            "a document",
        );
        restricted(c.open_case(w, sp, p, None).await.map(drop), "a case opened");
        restricted(
            c.close_case(
                w,
                sp,
                p,
                case,
                confidant_core::store::ClosureReason::Completed,
            )
            .await
            .map(drop),
            "a case closed",
        );
        restricted(
            c.destroy_person(
                &app.dpo,
                Purpose::Administration,
                p,
                "dpo_decision",
                "Reviewed and not needed",
            )
            .await
            .map(drop),
            "the record destroyed",
        );
        let after = (
            count(&app, "record_entry").await?,
            count(&app, "related_person").await?,
            count(&app, "document").await?,
            count(&app, "case_episode").await?,
            count(&app, "field_version").await?,
        );
        assert_eq!(before, after, "a refusal changes nothing");
        // It is still read, a rights request about it is still logged, and the person's own
        // say on how they are contacted is still recorded.
        assert!(c.read_person(w, sp, p).await.is_ok());
        c.set_contact_preferences(
            w,
            sp,
            p,
            &confidant_core::contact::PreferencesInput {
                code_word: Some("Zqword".to_owned()),
                ..confidant_core::contact::PreferencesInput::default()
            },
        )
        .await?;
        c.log_rights_request(w, p, access("2026-11-20", Some("known_to_staff")))
            .await?;
        // Lifted by the DPO: changes go on.
        c.lift_restriction(&app.dpo, sp, p, restriction.id).await?;
        c.add_entry(w, sp, p, &note("After the restriction"))
            .await?;
        Ok(())
    }
);

both_backends!(
    day_one_is_the_uk_day_and_an_open_request_keeps_a_record_off_the_retention_queue,
    |backend| async move {
        use confidant_core::store::ClosureReason;

        use crate::retention::{closed_case, queued, set_clock, sweep};

        // Its case closed on 22 November 2026; its period (one day) ended the next day.
        let app = governed(backend, "case_closed", "1 day").await?;
        let c = &app.confidant;
        let p = closed_case(&app, ClosureReason::Completed).await?;
        // At 23:30 UTC on 30 June 2027 it is already 1 July in the UK (BST): a request received
        // "today" is received on 1 July, not in the future; 2 July is. One month is Sunday 1
        // August, so Monday 2 August; the service's 30 days end on Saturday 31 July, kept on
        // Friday 30 July, which is sooner.
        set_clock(&app, time::macros::datetime!(2027-06-30 23:30 UTC));
        let r = c
            .log_rights_request(
                &app.worker_a,
                p,
                access("2027-07-01", Some("known_to_staff")),
            )
            .await?;
        assert_eq!(r.due_on.as_deref(), Some("2027-07-30"));
        assert!(matches!(
            c.log_rights_request(
                &app.worker_a,
                p,
                access("2027-07-02", Some("known_to_staff"))
            )
            .await,
            Err(PersonError::Invalid(_))
        ));
        // Its retention has long ended, but the open request keeps it off the queue...
        sweep(&app).await?;
        assert!(!queued(&app).await?.contains(&p));
        // ...until it is answered.
        dpo_step(&app, r.id, "answered", "2027-07-01", None).await?;
        sweep(&app).await?;
        assert!(queued(&app).await?.contains(&p));
        Ok(())
    }
);

both_backends!(
    a_complaint_is_acknowledged_within_thirty_days_then_answered,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let p = app.person_named("Zqcomplains", "Person").await?;
        // Received on 20 November, identity not asked for: acknowledged by 19 December (30 days
        // beginning with its receipt), whatever day of the week.
        let r = c
            .log_rights_request(
                &app.worker_a,
                p,
                RequestInput {
                    kind: "complaint",
                    ..access("2026-11-20", None)
                },
            )
            .await?;
        assert_eq!(r.state, RequestState::Open);
        assert_eq!(r.due_on.as_deref(), Some("2026-12-19"));
        assert_eq!(
            task_due(&app, r.id).await?,
            Some(Some("2026-12-19".to_owned()))
        );
        // A request's steps are not a complaint's, nor the other way round.
        for (s, d) in [
            ("clock_stopped", None),
            ("extended", Some("complex")),
            ("refused", Some("exemption")),
            ("identity_confirmed", Some("known_to_staff")),
        ] {
            assert!(
                matches!(
                    dpo_step(&app, r.id, s, "2026-11-21", d).await,
                    Err(PersonError::Invalid(_))
                ),
                "{s}"
            );
        }
        let access_request = c
            .log_rights_request(
                &app.worker_a,
                p,
                access("2026-11-20", Some("known_to_staff")),
            )
            .await?;
        assert!(matches!(
            dpo_step(&app, access_request.id, "acknowledged", "2026-11-21", None).await,
            Err(PersonError::Invalid(_))
        ));
        // Acknowledged: no date in law after that (answered without undue delay).
        let acknowledged = dpo_step(&app, r.id, "acknowledged", "2026-11-21", None).await?;
        assert_eq!(acknowledged.acknowledged_on.as_deref(), Some("2026-11-21"));
        assert_eq!(acknowledged.due_on, None);
        assert_eq!(task_due(&app, r.id).await?, Some(None));
        assert!(matches!(
            dpo_step(&app, r.id, "acknowledged", "2026-11-22", None).await,
            Err(PersonError::Invalid(_))
        ));
        let answered = dpo_step(&app, r.id, "answered", "2026-11-22", None).await?;
        assert_eq!(answered.state, RequestState::Answered);
        assert_eq!(task_due(&app, r.id).await?, None);
        Ok(())
    }
);
