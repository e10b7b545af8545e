//! The task inbox (issue 16), on SQLite and PostgreSQL: each source opens its task with the change
//! that makes it and the change that does the work closes it (who and when kept); the sweep opens
//! what falls due with time and what was waiting before the inbox, once; an inbox holds only its
//! holder's tasks, and only those closed by hand are closed by hand.

use confidant_core::field::{FieldGroups, PersonField};
use confidant_core::organisation::OrganisationError;
use confidant_core::person::PersonInput;
use confidant_core::record::RecordInput;
use confidant_core::referral::NewReferral;
use confidant_core::sharing::{RecipientInput, ShareRequest};
use confidant_core::store::AuditStore;
use confidant_core::store::{
    ReferralPolicy, ReferralSource, ReviewState, ServiceConfig, TaskKind, TaskState, TellHow,
    TriageState,
};
use confidant_core::task::TaskView;
use confidant_core::{AccessScope, Clock, Purpose, Role, access::Principal};
use confidant_testkit::{TestApp, both_backends, operator, test_time, train};
use uuid::Uuid;

const P: Purpose = Purpose::Support;

async fn open_tasks(app: &TestApp, who: &Principal) -> anyhow::Result<Vec<TaskView>> {
    Ok(app.confidant.tasks(who, TaskState::Open, 500).await?)
}

async fn kinds(app: &TestApp, who: &Principal) -> anyhow::Result<Vec<(TaskKind, Uuid)>> {
    Ok(open_tasks(app, who)
        .await?
        .into_iter()
        .map(|t| (t.task.kind, t.task.subject_id))
        .collect())
}

async fn closed(app: &TestApp, who: &Principal, subject: Uuid) -> anyhow::Result<TaskView> {
    app.confidant
        .tasks(who, TaskState::Done, 500)
        .await?
        .into_iter()
        .find(|t| t.task.subject_id == subject)
        .ok_or_else(|| anyhow::anyhow!("no closed task on {subject}"))
}

async fn configured(backend: confidant_testkit::TestBackend) -> anyhow::Result<TestApp> {
    let app = TestApp::new(backend).await?;
    for service in [app.service_a, app.service_b] {
        app.confidant
            .configure_service(
                &operator(),
                &ServiceConfig {
                    service_id: service,
                    field_groups: FieldGroups::all(),
                    referrals: ReferralPolicy::Anyone,
                    partner_service_id: None,
                },
            )
            .await?;
    }
    Ok(app)
}

fn referral() -> NewReferral {
    NewReferral {
        source: ReferralSource::Professional,
        partner_person_id: None,
        values: RecordInput::new()
            .with("given_name", "Referred")
            .with("family_name", "Person"),
    }
}

fn recipient(name: &str, categories: &[&str], bases: &[&str]) -> RecipientInput {
    RecipientInput {
        name: name.to_owned(),
        kind: "health".to_owned(),
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        bases: bases.iter().map(|b| (*b).to_owned()).collect(),
        ..RecipientInput::default()
    }
}

async fn person(app: &TestApp) -> anyhow::Result<Uuid> {
    let input = PersonInput::new()
        .with(PersonField::GivenName, "Nell")
        .with(PersonField::FamilyName, "Taskmore")
        .with(PersonField::MentalHealth, "Low mood");
    Ok(app
        .confidant
        .create_person(&app.worker_a, P, app.service_a, &input)
        .await?
        .id)
}

/// A surgery in the register, sent the person's name and mental health details.
async fn shared_with_surgery(app: &TestApp, person: Uuid) -> anyhow::Result<Uuid> {
    let c = &app.confidant;
    let gp = c
        .add_recipient(
            &app.dpo,
            app.organisation,
            &recipient("Surgery", &["identity", "health"], &["public_task"]),
        )
        .await?
        .id;
    let mut req = ShareRequest {
        recipient_id: gp,
        fields: vec!["given_name".to_owned(), "mental_health".to_owned()],
        basis: "public_task".to_owned(),
        reason: "Continuity of care".to_owned(),
        person_told: true,
        ..ShareRequest::default()
    };
    req.article9 = Some("health_social_care".to_owned());
    c.share(&app.worker_a, P, person, &req).await?;
    Ok(gp)
}

both_backends!(
    a_referral_opens_its_triage_task_for_its_service_and_deciding_it_closes_it,
    |backend| async move {
        let app = configured(backend).await?;
        let c = &app.confidant;
        let first = c
            .create_referral(&app.worker_a, P, app.service_a, &referral())
            .await?
            .record
            .id;
        let second = c
            .create_referral(&app.worker_a, P, app.service_a, &referral())
            .await?
            .record
            .id;
        let mine = kinds(&app, &app.worker_a).await?;
        assert!(mine.contains(&(TaskKind::ReferralTriage, first)));
        assert!(mine.contains(&(TaskKind::ReferralTriage, second)));
        // Not for another service's practitioner, nor for the DPO.
        assert!(kinds(&app, &app.worker_b).await?.is_empty());
        assert!(kinds(&app, &app.dpo).await?.is_empty());

        // Trying to make contact keeps it waiting; accepting closes it, declining too.
        c.triage_referral(&app.worker_a, P, first, TriageState::ContactAttempted)
            .await?;
        assert!(
            kinds(&app, &app.worker_a)
                .await?
                .contains(&(TaskKind::ReferralTriage, first))
        );
        c.accept_referral(&app.worker_a, P, first, None).await?;
        c.triage_referral(&app.worker_a, P, second, TriageState::Declined)
            .await?;
        assert!(kinds(&app, &app.worker_a).await?.is_empty());
        let done = closed(&app, &app.worker_a, first).await?;
        assert_eq!(done.task.state, TaskState::Done);
        assert_eq!(done.task.closed_by, Some(app.worker_a.audit_id()));
        assert_eq!(done.task.outcome.as_deref(), Some("referral.accept"));
        assert!(done.task.closed_at_micros.is_some());
        let declined = closed(&app, &app.worker_a, second).await?;
        assert_eq!(declined.task.outcome.as_deref(), Some("referral.decline"));
        Ok(())
    }
);

both_backends!(
    approvals_emergencies_and_break_glass_wait_for_their_reviewers_until_decided,
    |backend| async move {
        let app = configured(backend).await?;
        let c = &app.confidant;
        let person = person(&app).await?;
        let gp = c
            .add_recipient(
                &app.dpo,
                app.organisation,
                &recipient("Surgery", &["identity"], &["public_task"]),
            )
            .await?
            .id;
        let approval = c
            .request_approval(
                &app.worker_a,
                P,
                person,
                gp,
                &["health".to_owned()],
                "Needed for a safe discharge",
            )
            .await?
            .id;
        assert!(
            kinds(&app, &app.dpo)
                .await?
                .contains(&(TaskKind::ShareApproval, approval))
        );
        assert!(
            kinds(&app, &app.worker_a).await?.is_empty(),
            "the one who asked is not the approver"
        );
        c.decide_approval(&app.dpo, P, person, approval, true)
            .await?;
        assert!(
            !kinds(&app, &app.dpo)
                .await?
                .contains(&(TaskKind::ShareApproval, approval))
        );
        assert_eq!(
            closed(&app, &app.dpo, approval)
                .await?
                .task
                .outcome
                .as_deref(),
            Some("share.approve")
        );

        // An emergency share waits for review by the DPO.
        let ambulance = c
            .add_recipient(
                &app.dpo,
                app.organisation,
                &recipient("Ambulance", &["identity", "health"], &["vital_interests"]),
            )
            .await?
            .id;
        let mut req = ShareRequest {
            recipient_id: ambulance,
            fields: vec!["given_name".to_owned(), "mental_health".to_owned()],
            basis: "vital_interests".to_owned(),
            reason: "Collapsed at the drop-in".to_owned(),
            person_told: false,
            not_told_reason: Some("Unconscious when the ambulance came".to_owned()),
            ..ShareRequest::default()
        };
        req.article9 = Some("vital_interests".to_owned());
        let disclosure = c.share(&app.worker_a, P, person, &req).await?.disclosure_id;
        assert!(
            kinds(&app, &app.dpo)
                .await?
                .contains(&(TaskKind::EmergencyReview, disclosure))
        );
        c.review_disclosure(&app.dpo, disclosure, false).await?;
        assert!(
            !kinds(&app, &app.dpo)
                .await?
                .contains(&(TaskKind::EmergencyReview, disclosure))
        );

        // Breaking the glass waits for review.
        let grant = c
            .break_glass(&app.worker_b, person, "Called at night about a crisis")
            .await?
            .id;
        assert!(
            kinds(&app, &app.dpo)
                .await?
                .contains(&(TaskKind::BreakGlassReview, grant))
        );
        assert!(
            !kinds(&app, &app.worker_b)
                .await?
                .contains(&(TaskKind::BreakGlassReview, grant))
        );
        c.review_break_glass(&app.dpo, grant, ReviewState::SignedOff, "")
            .await?;
        assert!(kinds(&app, &app.dpo).await?.is_empty());
        let done = closed(&app, &app.dpo, grant).await?;
        assert_eq!(done.task.closed_by, Some(app.dpo.audit_id()));
        Ok(())
    }
);

both_backends!(
    a_correction_or_restriction_opens_a_task_per_recipient_ticked_off_by_hand,
    |backend| async move {
        let app = configured(backend).await?;
        let c = &app.confidant;
        let person = person(&app).await?;
        let gp = shared_with_surgery(&app, person).await?;
        // A change to a field the surgery never received tells no one.
        c.update_person(
            &app.worker_a,
            P,
            person,
            &PersonInput::new().with(PersonField::SafePhone, "07700 900111"),
        )
        .await?;
        assert!(kinds(&app, &app.worker_a).await?.is_empty());
        // Correcting what it received does.
        c.update_person(
            &app.worker_a,
            P,
            person,
            &PersonInput::new().with(PersonField::MentalHealth, "Settled"),
        )
        .await?;
        let tasks = open_tasks(&app, &app.worker_a).await?;
        assert_eq!(tasks.len(), 1);
        let task = &tasks[0];
        assert_eq!(
            (task.task.kind, task.task.subject_id, task.task.person_id),
            (TaskKind::TellRecipient, gp, Some(person))
        );
        assert_eq!(task.recipient.as_deref(), Some("Surgery"));
        // A second correction while it waits adds no second task.
        c.update_person(
            &app.worker_a,
            P,
            person,
            &PersonInput::new().with(PersonField::MentalHealth, "Better"),
        )
        .await?;
        assert_eq!(open_tasks(&app, &app.worker_a).await?.len(), 1);

        let today = test_time().date();
        // Someone it is not for cannot close it: as if it were not there.
        assert!(matches!(
            c.close_task(&app.worker_b, task.task.id, TellHow::Letter, today)
                .await,
            Err(OrganisationError::NotFound)
        ));
        // A date in the future is refused, naming the field, and changes nothing.
        let future = c
            .close_task(
                &app.worker_a,
                task.task.id,
                TellHow::Letter,
                today.next_day().unwrap_or(today),
            )
            .await;
        assert!(matches!(&future, Err(OrganisationError::Invalid(v)) if v.0[0].field == "told_on"));
        assert_eq!(open_tasks(&app, &app.worker_a).await?.len(), 1);
        let done = c
            .close_task(&app.worker_a, task.task.id, TellHow::SecureEmail, today)
            .await?;
        assert_eq!(done.outcome.as_deref(), Some("secure_email"));
        assert_eq!(done.done_on, Some(today.to_string()));
        assert!(matches!(
            c.close_task(&app.worker_a, task.task.id, TellHow::Letter, today)
                .await,
            Err(OrganisationError::Conflict(_))
        ));
        let kept = closed(&app, &app.worker_a, gp).await?;
        assert_eq!(kept.task.closed_by, Some(app.worker_a.audit_id()));

        // A restriction tells every recipient of anything: a new task.
        c.restrict(&app.dpo, P, person, "restriction").await?;
        assert_eq!(
            kinds(&app, &app.dpo).await?,
            vec![(TaskKind::TellRecipient, gp)]
        );
        // A task that closes by itself is not ticked off by hand.
        let referral = c
            .create_referral(&app.worker_a, P, app.service_a, &referral())
            .await?
            .record
            .id;
        let triage = open_tasks(&app, &app.worker_a)
            .await?
            .into_iter()
            .find(|t| t.task.subject_id == referral)
            .ok_or_else(|| anyhow::anyhow!("no triage task"))?;
        assert!(matches!(
            c.close_task(&app.worker_a, triage.task.id, TellHow::Letter, today)
                .await,
            Err(OrganisationError::Invalid(_))
        ));
        Ok(())
    }
);

both_backends!(
    the_sweep_opens_training_and_agreement_tasks_and_what_waited_before_the_inbox_once,
    |backend| async move {
        let app = configured(backend).await?;
        let c = &app.confidant;
        // Nobody's training falls due yet (recorded a day ago for a year), so nothing opens.
        let report = c.sweep_tasks(&operator(), app.organisation).await?;
        assert_eq!(report.opened, 0);
        // A new member of staff with no training: a task for them and for the DPO, due already.
        let (new, newcomer) = app
            .add_staff(
                Role::Practitioner,
                Some(app.service_a),
                "new.starter",
                false,
            )
            .await?;
        c.sweep_tasks(&operator(), app.organisation).await?;
        let theirs = open_tasks(&app, &newcomer).await?;
        assert_eq!(theirs.len(), 1);
        assert_eq!(
            (theirs[0].task.kind, theirs[0].task.subject_id),
            (TaskKind::TrainingDue, new.id)
        );
        assert!(theirs[0].overdue);
        // The dashboard's figures, counted by the database, agree.
        assert_eq!(c.task_counts(&newcomer).await?, (1, 1));
        assert!(
            kinds(&app, &app.dpo)
                .await?
                .contains(&(TaskKind::TrainingDue, new.id))
        );
        // Sweeping again opens nothing more.
        assert_eq!(
            c.sweep_tasks(&operator(), app.organisation).await?.opened,
            0
        );
        // Recording the training closes it, as the DPO who recorded it.
        train(c, new.id).await?;
        assert!(
            open_tasks(&app, &app.actor_of(new.id).await?)
                .await?
                .is_empty()
        );
        // Eleven months on, everyone's training falls due within the notice.
        c.clock().advance(time::Duration::days(340));
        c.sweep_tasks(&operator(), app.organisation).await?;
        let due = open_tasks(&app, &app.worker_a).await?;
        assert_eq!(due.len(), 1);
        assert!(!due[0].overdue, "due in the future: not overdue yet");
        assert_eq!(c.task_counts(&app.worker_a).await?, (1, 0));

        // A processor whose agreement ends within 60 days.
        let ends = (c.clock().now() + time::Duration::days(30))
            .date()
            .to_string();
        let processor = c
            .add_recipient(
                &app.dpo,
                app.organisation,
                &RecipientInput {
                    name: "Beacon Ltd".to_owned(),
                    kind: "processor".to_owned(),
                    categories: vec!["identity".to_owned()],
                    bases: vec!["contract".to_owned()],
                    dpa_starts_on: Some("2025-01-01".to_owned()),
                    dpa_ends_on: Some(ends),
                    ..RecipientInput::default()
                },
            )
            .await?;
        c.sweep_tasks(&operator(), app.organisation).await?;
        assert!(
            kinds(&app, &app.dpo)
                .await?
                .contains(&(TaskKind::AgreementEnding, processor.id))
        );
        // Renewed: the next sweep closes it.
        let renewed = (c.clock().now() + time::Duration::days(800))
            .date()
            .to_string();
        c.update_recipient(
            &app.dpo,
            processor.id,
            &RecipientInput {
                name: "Beacon Ltd".to_owned(),
                kind: "processor".to_owned(),
                categories: vec!["identity".to_owned()],
                bases: vec!["contract".to_owned()],
                dpa_starts_on: Some("2025-01-01".to_owned()),
                dpa_ends_on: Some(renewed),
                ..RecipientInput::default()
            },
            false,
        )
        .await?;
        let report = c.sweep_tasks(&operator(), app.organisation).await?;
        assert!(report.closed >= 1);
        assert!(
            !kinds(&app, &app.dpo)
                .await?
                .contains(&(TaskKind::AgreementEnding, processor.id))
        );

        // A referral from before the inbox (its task removed, as an old database has none): the
        // sweep opens it, once.
        let referral = c
            .create_referral(&app.worker_a, P, app.service_a, &referral())
            .await?
            .record
            .id;
        app.db.raw_execute("DELETE FROM task_audience WHERE task_id IN (SELECT id FROM task WHERE kind = 'referral_triage')").await?;
        app.db
            .raw_execute("DELETE FROM task WHERE kind = 'referral_triage'")
            .await?;
        assert!(
            !kinds(&app, &app.worker_a)
                .await?
                .contains(&(TaskKind::ReferralTriage, referral))
        );
        let report = c.sweep_tasks(&operator(), app.organisation).await?;
        assert_eq!(report.opened, 1);
        assert!(
            kinds(&app, &app.worker_a)
                .await?
                .contains(&(TaskKind::ReferralTriage, referral))
        );
        assert_eq!(
            c.sweep_tasks(&operator(), app.organisation).await?.opened,
            0
        );
        // Only the operator sweeps.
        assert!(c.sweep_tasks(&app.dpo, app.organisation).await.is_err());
        Ok(())
    }
);

both_backends!(
    in_a_caseload_a_tell_task_is_only_for_those_who_may_read_the_record,
    |backend| async move {
        let app = configured(backend).await?;
        let c = &app.confidant;
        c.set_service_scope(&operator(), app.service_a, AccessScope::Caseload)
            .await?;
        let (_, colleague) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "colleague", true)
            .await?;
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        // worker.a records the person and is their key worker.
        let person = person(&app).await?;
        let gp = shared_with_surgery(&app, person).await?;
        c.update_person(
            &app.worker_a,
            P,
            person,
            &PersonInput::new().with(PersonField::MentalHealth, "Settled"),
        )
        .await?;
        let tell = (TaskKind::TellRecipient, gp);
        assert!(kinds(&app, &app.worker_a).await?.contains(&tell));
        assert!(kinds(&app, &manager).await?.contains(&tell));
        assert!(kinds(&app, &app.dpo).await?.contains(&tell));
        // A practitioner of the same service who may not read this record learns nothing of it,
        // and cannot close it.
        assert!(kinds(&app, &colleague).await?.is_empty());
        let id = open_tasks(&app, &app.worker_a).await?[0].task.id;
        assert!(matches!(
            c.close_task(&colleague, id, TellHow::Letter, test_time().date())
                .await,
            Err(OrganisationError::NotFound)
        ));
        Ok(())
    }
);

both_backends!(
    a_sweep_with_nothing_to_do_writes_nothing_and_it_backfills_every_kind_that_waited,
    |backend| async move {
        let app = configured(backend).await?;
        let c = &app.confidant;
        let person = person(&app).await?;
        let gp = c
            .add_recipient(
                &app.dpo,
                app.organisation,
                &recipient("Surgery", &["identity"], &["public_task"]),
            )
            .await?
            .id;
        let approval = c
            .request_approval(
                &app.worker_a,
                P,
                person,
                gp,
                &["health".to_owned()],
                "Needed for a safe discharge",
            )
            .await?
            .id;
        let grant = c
            .break_glass(&app.worker_b, person, "Called at night about a crisis")
            .await?
            .id;
        let head = c.store().audit_head().await?;
        let report = c.sweep_tasks(&operator(), app.organisation).await?;
        assert_eq!((report.opened, report.closed), (0, 0));
        assert_eq!(
            c.store().audit_head().await?,
            head,
            "an idle sweep writes no event"
        );

        // As if from before the inbox: every task gone; the sweep opens each again, once.
        app.db.raw_execute("DELETE FROM task_audience").await?;
        app.db.raw_execute("DELETE FROM task").await?;
        assert!(kinds(&app, &app.dpo).await?.is_empty());
        let report = c.sweep_tasks(&operator(), app.organisation).await?;
        assert_eq!(report.opened, 2);
        let dpo = kinds(&app, &app.dpo).await?;
        assert!(dpo.contains(&(TaskKind::ShareApproval, approval)));
        assert!(dpo.contains(&(TaskKind::BreakGlassReview, grant)));
        assert_eq!(
            c.sweep_tasks(&operator(), app.organisation).await?.opened,
            0
        );

        // A decision that loses a race changes nothing: the task keeps its first closer.
        c.decide_approval(&app.dpo, P, person, approval, false)
            .await?;
        let (_, caldicott) = app
            .add_staff(Role::CaldicottGuardian, None, "caldicott", true)
            .await?;
        assert!(
            c.decide_approval(&caldicott, P, person, approval, true)
                .await
                .is_err()
        );
        let done = closed(&app, &app.dpo, approval).await?;
        assert_eq!(done.task.closed_by, Some(app.dpo.audit_id()));
        assert_eq!(done.task.outcome.as_deref(), Some("share.approval_refuse"));
        Ok(())
    }
);

both_backends!(
    a_changed_notice_opens_a_task_per_living_person_for_those_who_may_read_them,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let register = confidant_testkit::test_register();
        let app = app.governed_by(register.clone());
        let c = &app.confidant;
        let in_force = c.put_register_in_force(&operator(), &register).await?;
        let service = in_force.services["testkit"];
        let worker = c
            .create_staff(
                &operator(),
                in_force.organisation_id,
                Some(service),
                Role::Practitioner,
                "kit.worker",
            )
            .await?;
        train(c, worker.id).await?;
        let worker = c.acting_as(&operator(), &worker).await?;
        let person = c
            .create_person(
                &worker,
                P,
                service,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Ada")
                    .with(PersonField::FamilyName, "Noticed"),
            )
            .await?
            .id;
        // The first notice is no change: nobody to tell.
        c.publish_notices(&operator(), &register).await?;
        assert!(kinds(&app, &worker).await?.is_empty());
        // A changed retention period: a new version, and the person is to be told.
        let changed = confidant_core::register::Register::parse(
            std::path::Path::new("testkit.toml"),
            &confidant_testkit::TEST_REGISTER
                .replace("period = \"7 years\"", "period = \"8 years\""),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let published = c.publish_notices(&operator(), &changed).await?;
        assert!(published.iter().any(|p| p.new && p.version == 2));
        let tasks = open_tasks(&app, &worker).await?;
        assert_eq!(tasks.len(), 1);
        assert_eq!(
            (tasks[0].task.kind, tasks[0].task.person_id),
            (TaskKind::TellOfNotice, Some(person))
        );
        // Publishing the same again changes nothing; telling them closes it.
        c.publish_notices(&operator(), &changed).await?;
        assert_eq!(open_tasks(&app, &worker).await?.len(), 1);
        c.close_task(
            &worker,
            tasks[0].task.id,
            TellHow::Letter,
            test_time().date(),
        )
        .await?;
        assert!(open_tasks(&app, &worker).await?.is_empty());
        Ok(())
    }
);
