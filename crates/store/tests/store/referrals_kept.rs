//! Rules on events outside a case record (issue 17, part 2), on SQLite and PostgreSQL: a referral
//! not taken up is kept for its service's period after the last contact about it, listed for a
//! reviewer from the day it ends (not the minute before) with one task for the reviewers, and
//! erased by one, for good (key and all, onto the erasure ledger); a declined referral is erased
//! when declined; a paper note typed into the record is a task to destroy from the day its own
//! rule ends.

use confidant_core::Purpose;
use confidant_core::field::RecordKind;
use confidant_core::keeping::QueryHoldInput;
use confidant_core::person::PersonError;
use confidant_core::record::{EntryChange, NewEntry, RecordInput};
use confidant_core::referral::NewReferral;
use confidant_core::register::Register;
use confidant_core::store::prelude::*;
use confidant_core::store::{EntryStatus, NoteFlags, ReferralSource, TaskKind, TriageState};
use confidant_core::{Clock, Role};
use confidant_store::ErasureKind;
use confidant_testkit::{TEST_REGISTER, TestApp, TestBackend, both_backends, operator};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const P: Purpose = Purpose::Support;

/// The test register with `rule` added (service A is its `testkit` service).
async fn with_rule(backend: TestBackend, rule: &str) -> anyhow::Result<TestApp> {
    let text = format!("{TEST_REGISTER}\n{rule}");
    let register = Register::parse(std::path::Path::new("retention.toml"), &text)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let app = TestApp::new(backend).await?.governed_by(register);
    app.db
        .raw_execute(&format!(
            "UPDATE service SET code = 'testkit' WHERE id = '{}'",
            app.service_a
        ))
        .await?;
    Ok(app)
}

const NOT_TAKEN_UP: &str = r#"
[[retention]]
id = "applications"
records = "An application you do not take up"
record_type = "referral"
trigger = "application_not_taken_up"
period = "6 months"
source = "retention_schedule"
destruction = "erased"
"#;

const TRANSCRIBED: &str = r#"
[[retention]]
id = "paper_notes"
records = "Paper notes, once typed into your record"
record_type = "paper_note"
trigger = "transcribed"
period = "30 days"
source = "retention_schedule"
destruction = "shredded"
"#;

fn set_clock(app: &TestApp, at: OffsetDateTime) {
    let now = app.confidant.clock().now();
    app.confidant.clock().advance(at - now);
}

async fn referral(app: &TestApp, family: &str, to: &[TriageState]) -> anyhow::Result<Uuid> {
    let c = &app.confidant;
    let id = c
        .create_referral(
            &app.worker_a,
            P,
            app.service_a,
            &NewReferral {
                source: ReferralSource::SelfReferral,
                partner_person_id: None,
                values: RecordInput::new()
                    .with("given_name", "Zqapplicant")
                    .with("family_name", family),
            },
        )
        .await?
        .record
        .id;
    for state in to {
        c.triage_referral(&app.worker_a, P, id, *state).await?;
    }
    Ok(id)
}

async fn due_ids(app: &TestApp) -> anyhow::Result<Vec<Uuid>> {
    let mut ids: Vec<Uuid> = app
        .confidant
        .referrals_due(&app.dpo, app.organisation)
        .await?
        .into_iter()
        .map(|d| d.referral.id)
        .collect();
    ids.sort();
    Ok(ids)
}

async fn open_tasks(app: &TestApp, kind: TaskKind) -> anyhow::Result<Vec<Uuid>> {
    Ok(app
        .confidant
        .store()
        .open_tasks_of(app.organisation, kind)
        .await?
        .into_iter()
        .map(|t| t.subject_id)
        .collect())
}

/// What is still readable of a referral received: its opened values.
async fn received(app: &TestApp, id: Uuid) -> anyhow::Result<usize> {
    let r = app.confidant.referral(&app.worker_a, P, id).await?;
    Ok(r.values.iter().count())
}

both_backends!(
    an_application_not_taken_up_is_erased_by_a_reviewer_from_the_day_its_period_ends,
    |backend| async move {
        let app = with_rule(backend, NOT_TAKEN_UP).await?;
        let c = &app.confidant;
        // All on 22 November 2026 (GMT): contact attempted, then no response; another withdrawn;
        // a third declined (erased there and then); a fourth still open.
        let silent = referral(
            &app,
            "Silent",
            &[TriageState::ContactAttempted, TriageState::NoResponse],
        )
        .await?;
        let withdrawn = referral(&app, "Withdrawn", &[TriageState::Withdrawn]).await?;
        let declined = referral(&app, "Declined", &[TriageState::Declined]).await?;
        let open = referral(&app, "Open", &[]).await?;
        anyhow::ensure!(
            received(&app, declined).await? == 0,
            "declining erases at once"
        );
        anyhow::ensure!(received(&app, silent).await? == 2);

        // Six months on is 22 May 2027 (BST): the minute before midnight UK time, nothing.
        set_clock(&app, datetime!(2027-05-21 22:59 UTC));
        let sweep = c.sweep_retention(&operator(), app.organisation).await?;
        anyhow::ensure!(sweep.referrals_due == 0, "{sweep:?}");
        anyhow::ensure!(due_ids(&app).await?.is_empty());
        anyhow::ensure!(
            open_tasks(&app, TaskKind::ReferralErasure)
                .await?
                .is_empty()
        );
        let early = c
            .erase_referral_not_taken_up(&app.dpo, app.organisation, silent)
            .await;
        anyhow::ensure!(matches!(early, Err(PersonError::Conflict(_))), "{early:?}");
        anyhow::ensure!(
            received(&app, silent).await? == 2,
            "refused, nothing erased"
        );

        // From midnight: both not taken up are due (the declined and the open never), and the
        // reviewers have one task.
        set_clock(&app, datetime!(2027-05-21 23:00 UTC));
        let sweep = c.sweep_retention(&operator(), app.organisation).await?;
        anyhow::ensure!(sweep.referrals_due == 2, "{sweep:?}");
        let mut expected = vec![silent, withdrawn];
        expected.sort();
        anyhow::ensure!(due_ids(&app).await? == expected);
        anyhow::ensure!(
            open_tasks(&app, TaskKind::ReferralErasure).await? == vec![app.organisation]
        );
        let listed = c.referrals_due(&app.dpo, app.organisation).await?;
        anyhow::ensure!(
            listed
                .iter()
                .all(|d| d.due.rules == ["applications".to_owned()]
                    && d.due.on == time::macros::date!(2027 - 05 - 22))
        );

        // A hold on a query over the day they were received keeps them: off the list, and not
        // erased; released, they are due again.
        let hold = c
            .place_query_hold(
                &app.dpo,
                app.organisation,
                QueryHoldInput {
                    kind: "complaint",
                    service_id: app.service_a,
                    from_on: "2026-11-22",
                    to_on: "2026-11-22",
                    reason: "Ombudsman review of referrals that month",
                },
            )
            .await?;
        anyhow::ensure!(due_ids(&app).await?.is_empty());
        let held = c
            .erase_referral_not_taken_up(&app.dpo, app.organisation, silent)
            .await;
        anyhow::ensure!(matches!(held, Err(PersonError::Conflict(_))), "{held:?}");
        anyhow::ensure!(received(&app, silent).await? == 2);
        c.release_query_hold(&app.dpo, app.organisation, hold.id, "Review closed")
            .await?;
        anyhow::ensure!(due_ids(&app).await? == expected);

        // A practitioner may not erase; the open referral is not due.
        let refused = c
            .erase_referral_not_taken_up(&app.worker_a, app.organisation, silent)
            .await;
        anyhow::ensure!(matches!(refused, Err(PersonError::NotFound)), "{refused:?}");
        let not_due = c
            .erase_referral_not_taken_up(&app.dpo, app.organisation, open)
            .await;
        anyhow::ensure!(
            matches!(not_due, Err(PersonError::Conflict(_))),
            "{not_due:?}"
        );
        anyhow::ensure!(received(&app, open).await? == 2);

        // The DPO erases one; it cannot be erased twice; a Caldicott Guardian erases the other.
        c.erase_referral_not_taken_up(&app.dpo, app.organisation, silent)
            .await?;
        anyhow::ensure!(received(&app, silent).await? == 0);
        let again = c
            .erase_referral_not_taken_up(&app.dpo, app.organisation, silent)
            .await;
        anyhow::ensure!(matches!(again, Err(PersonError::Conflict(_))), "{again:?}");
        let (_, guardian) = app
            .add_staff(Role::CaldicottGuardian, None, "guardian", true)
            .await?;
        c.erase_referral_not_taken_up(&guardian, app.organisation, withdrawn)
            .await?;
        anyhow::ensure!(received(&app, withdrawn).await? == 0);
        // Its ids, state and times stay; what was received is on the erasure ledger, so a
        // restored backup loses it again; the open one is untouched.
        let kept = c.referral(&app.worker_a, P, silent).await?;
        anyhow::ensure!(kept.record.state == TriageState::NoResponse);
        let ledger = app.ledger.read()?;
        for id in [silent, withdrawn, declined] {
            anyhow::ensure!(
                ledger
                    .iter()
                    .any(|e| e.id == id && e.kind == ErasureKind::Record),
                "{id} not on the ledger"
            );
        }
        anyhow::ensure!(received(&app, open).await? == 2);
        // Nothing waits: the next sweep closes the task.
        let sweep = c.sweep_retention(&operator(), app.organisation).await?;
        anyhow::ensure!(sweep.referrals_due == 0, "{sweep:?}");
        anyhow::ensure!(
            open_tasks(&app, TaskKind::ReferralErasure)
                .await?
                .is_empty()
        );
        Ok(())
    }
);

both_backends!(
    a_transcribed_paper_note_is_a_task_to_destroy_from_the_day_its_rule_ends,
    |backend| async move {
        let app = with_rule(backend, TRANSCRIBED).await?;
        let c = &app.confidant;
        let p = app.person_named("Zqnote", "Person").await?;
        let note = c
            .add_entry(
                &app.worker_a,
                P,
                p,
                &NewEntry {
                    kind: RecordKind::PaperNote,
                    case_id: None,
                    parent_id: None,
                    contact_type: None,
                    occurs_at: None,
                    status: None,
                    due_at: None,
                    flags: NoteFlags::default(),
                    values: RecordInput::new().with("description", "Handwritten visit notes"),
                },
            )
            .await?
            .id;
        // Not yet typed in: never a task.
        c.sweep_tasks(&operator(), app.organisation).await?;
        anyhow::ensure!(
            open_tasks(&app, TaskKind::PaperDestruction)
                .await?
                .is_empty()
        );
        // Typed in on 22 November 2026 (GMT): 30 days on is 22 December.
        let change = EntryChange {
            status: Some(EntryStatus::Transcribed),
            ..EntryChange::default()
        };
        c.update_entry(&app.worker_a, P, p, note, &change).await?;
        set_clock(&app, datetime!(2026-12-21 23:59 UTC));
        c.sweep_tasks(&operator(), app.organisation).await?;
        anyhow::ensure!(
            open_tasks(&app, TaskKind::PaperDestruction)
                .await?
                .is_empty()
        );
        set_clock(&app, datetime!(2026-12-22 00:00 UTC) + Duration::minutes(1));
        c.sweep_tasks(&operator(), app.organisation).await?;
        anyhow::ensure!(open_tasks(&app, TaskKind::PaperDestruction).await? == vec![note]);
        let task = c
            .store()
            .open_tasks_of(app.organisation, TaskKind::PaperDestruction)
            .await?;
        anyhow::ensure!(
            task[0].due_at_micros
                == Some((datetime!(2026-12-22 00:00 UTC).unix_timestamp_nanos() / 1_000) as i64),
            "{task:?}"
        );
        // Recorded destroyed: the task closes with it.
        c.record_paper_destroyed(
            &app.worker_a,
            P,
            p,
            note,
            &confidant_core::keeping::PaperDestruction {
                destroyed_by: "Shred Co".to_owned(),
                reference: "DC-90".to_owned(),
                destroyed_on: time::macros::date!(2026 - 12 - 22),
            },
        )
        .await?;
        anyhow::ensure!(
            open_tasks(&app, TaskKind::PaperDestruction)
                .await?
                .is_empty()
        );
        Ok(())
    }
);
