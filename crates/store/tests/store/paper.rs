//! Paper (issue 17, part 5), on SQLite and PostgreSQL: paper is recorded destroyed only with who
//! destroyed it and their reference, which name no one and go onto the record's certificate; an
//! archived file past its date, and the paper of a record approved for destruction, is a task for
//! the service's managers; a reviewed destruction waits for its paper; refusals change nothing.

use confidant_core::Clock;
use confidant_core::Purpose;
use confidant_core::Role;
use confidant_core::field::RecordKind;
use confidant_core::keeping::{Decision, ItemOutcome, PaperDestruction, WAITING_DAYS};
use confidant_core::person::{PersonError, PersonInput};
use confidant_core::record::{EntryChange, NewEntry, RecordInput};
use confidant_core::store::prelude::*;
use confidant_core::store::{ClosureReason, EntryStatus, NoteFlags, RetentionState, TaskKind};
use confidant_testkit::{TestApp, both_backends, operator};
use time::Duration;
use time::macros::date;
use uuid::Uuid;

use crate::keeping::rows_naming;

const P: Purpose = Purpose::Support;
const A: Purpose = Purpose::Administration;

fn paper(kind: RecordKind, due_days: Option<i64>, app: &TestApp) -> NewEntry {
    let mut values = RecordInput::new().with("description", "Handwritten visit notes");
    if kind == RecordKind::PaperFile {
        values = values.with("location", "Archive box 12");
    }
    NewEntry {
        kind,
        case_id: None,
        parent_id: None,
        contact_type: None,
        occurs_at: None,
        status: None,
        due_at: due_days.map(|d| app.confidant.clock().now() + Duration::days(d)),
        flags: NoteFlags::default(),
        values,
    }
}

fn destroyed(by: &str, reference: &str) -> PaperDestruction {
    PaperDestruction {
        destroyed_by: by.to_owned(),
        reference: reference.to_owned(),
        destroyed_on: date!(2026 - 11 - 20),
    }
}

pub(super) async fn open_paper_tasks(app: &TestApp) -> anyhow::Result<Vec<Uuid>> {
    Ok(app
        .confidant
        .store()
        .open_tasks_of(app.organisation, TaskKind::PaperDestruction)
        .await?
        .into_iter()
        .map(|t| t.subject_id)
        .collect())
}

async fn person_with_paper(app: &TestApp) -> anyhow::Result<(Uuid, Uuid, Uuid)> {
    let c = &app.confidant;
    let mut input = PersonInput::new();
    input.set_code("given_name", "Zqpapergiven".to_owned());
    input.set_code("family_name", "Zqpaperfamily".to_owned());
    let p = c
        .create_person(&app.worker_a, P, app.service_a, &input)
        .await?
        .id;
    // A file whose date passed yesterday, and a note with none.
    let file = c
        .add_entry(
            &app.worker_a,
            P,
            p,
            &paper(RecordKind::PaperFile, Some(-1), app),
        )
        .await?
        .id;
    let note = c
        .add_entry(
            &app.worker_a,
            P,
            p,
            &paper(RecordKind::PaperNote, None, app),
        )
        .await?
        .id;
    Ok((p, file, note))
}

both_backends!(
    paper_is_recorded_destroyed_with_a_reference_that_goes_onto_the_certificate,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let (p, file, note) = person_with_paper(&app).await?;

        // The file past its date is a task for the service's managers; the note is not.
        c.sweep_tasks(&operator(), app.organisation).await?;
        anyhow::ensure!(open_paper_tasks(&app).await? == vec![file]);

        // Paper is not marked destroyed like another status, nor made destroyed.
        let change = EntryChange {
            status: Some(EntryStatus::Destroyed),
            ..EntryChange::default()
        };
        let refused = c.update_entry(&app.worker_a, P, p, file, &change).await;
        anyhow::ensure!(
            matches!(refused, Err(PersonError::Invalid(_))),
            "{refused:?}"
        );
        // Naming the person is refused, by field; nothing changes.
        let named = c
            .record_paper_destroyed(
                &app.worker_a,
                P,
                p,
                file,
                &destroyed("Zqpapergiven's aunt", "DC-77"),
            )
            .await;
        anyhow::ensure!(
            matches!(&named, Err(PersonError::Invalid(v)) if v.0[0].field == "destroyed_by"),
            "{named:?}"
        );
        // Another record's entry, or an entry that is not paper: not found.
        let other = app.person_named("Other", "Person").await?;
        let not_paper = c
            .record_paper_destroyed(
                &app.worker_a,
                P,
                other,
                file,
                &destroyed("Shred Co", "DC-77"),
            )
            .await;
        anyhow::ensure!(
            matches!(not_paper, Err(PersonError::NotFound)),
            "{not_paper:?}"
        );
        // A paper note not yet typed into the record is kept.
        let early = c
            .record_paper_destroyed(&app.worker_a, P, p, note, &destroyed("Shred Co", "DC-76"))
            .await;
        anyhow::ensure!(matches!(early, Err(PersonError::Conflict(_))), "{early:?}");
        // A legal hold keeps the paper too: its task closes, and recording it is refused.
        let hold = c
            .place_hold(&app.dpo, P, p, "complaint", None, "A complaint was made")
            .await?;
        c.sweep_tasks(&operator(), app.organisation).await?;
        anyhow::ensure!(
            open_paper_tasks(&app).await?.is_empty(),
            "a task under a hold"
        );
        let held = c
            .record_paper_destroyed(&app.worker_a, P, p, file, &destroyed("Shred Co", "DC-77"))
            .await;
        anyhow::ensure!(matches!(held, Err(PersonError::Conflict(_))), "{held:?}");
        c.release_hold(&app.dpo, P, p, hold.id, "The complaint was resolved")
            .await?;
        c.sweep_tasks(&operator(), app.organisation).await?;
        anyhow::ensure!(open_paper_tasks(&app).await? == vec![file]);

        c.record_paper_destroyed(&app.worker_a, P, p, file, &destroyed("Shred Co", "DC-77"))
            .await?;
        // Its task closed with it; recording it again is refused; its status stays.
        anyhow::ensure!(open_paper_tasks(&app).await?.is_empty());
        let again = c
            .record_paper_destroyed(&app.worker_a, P, p, file, &destroyed("Shred Co", "DC-78"))
            .await;
        anyhow::ensure!(matches!(again, Err(PersonError::Conflict(_))), "{again:?}");
        let back = EntryChange {
            status: Some(EntryStatus::Archived),
            ..EntryChange::default()
        };
        let undone = c.update_entry(&app.worker_a, P, p, file, &back).await;
        anyhow::ensure!(matches!(undone, Err(PersonError::Invalid(_))), "{undone:?}");
        let lines = c.paper_destroyed(&app.worker_a, P, p).await?;
        anyhow::ensure!(
            lines.len() == 1 && lines[0].entry_id == file && lines[0].reference == "DC-77"
        );

        // The record's destruction: the file's line on the certificate, the note outstanding.
        let done = c
            .destroy_person(&app.dpo, A, p, "dpo_decision", "Duplicate record, reviewed")
            .await?;
        let item = |k: &str| done.certificate.items.iter().find(|i| i.kind == k).cloned();
        anyhow::ensure!(
            item("paper_destroyed").map(|i| (i.count, i.outcome))
                == Some((1, ItemOutcome::Destroyed))
        );
        anyhow::ensure!(
            item("paper").map(|i| (i.count, i.outcome)) == Some((1, ItemOutcome::Outstanding))
        );
        anyhow::ensure!(done.certificate.paper.len() == 1);
        anyhow::ensure!(done.certificate.paper[0].reference == "DC-77");
        anyhow::ensure!(done.certificate.paper[0].destroyed_on == "2026-11-20");
        let body = done.record.body.to_lowercase();
        anyhow::ensure!(
            !body.contains("zqpaper")
                && !body.contains("handwritten")
                && !body.contains("archive box")
        );
        // Nothing of the record is left, its paper lines included; no task names it.
        let ids = [p.to_string(), file.to_string(), note.to_string()];
        let left = rows_naming(&app, &ids).await?;
        anyhow::ensure!(
            left.is_empty(),
            "rows of the destroyed record remain: {left:?}"
        );
        c.sweep_tasks(&operator(), app.organisation).await?;
        anyhow::ensure!(open_paper_tasks(&app).await?.is_empty());
        Ok(())
    }
);

both_backends!(
    a_reviewed_destruction_waits_until_its_paper_is_recorded_destroyed,
    |backend| async move {
        let app = crate::retention::governed(backend, "case_closed", "1 day").await?;
        let c = &app.confidant;
        let (_, guardian) = app
            .add_staff(Role::CaldicottGuardian, None, "guardian", true)
            .await?;
        let (p, file, note) = person_with_paper(&app).await?;
        let case = c.open_case(&app.worker_a, P, p, None).await?;
        c.close_case(&app.worker_a, P, p, case.id, ClosureReason::Completed)
            .await?;
        c.clock().advance(Duration::days(2));
        c.sweep_retention(&operator(), app.organisation).await?;
        let review = c
            .retention_queue(&app.dpo, app.organisation)
            .await?
            .into_iter()
            .find(|r| r.person_id == p)
            .ok_or_else(|| anyhow::anyhow!("not queued"))?;
        c.decide_retention(
            &guardian,
            app.organisation,
            review.id,
            Decision::Destroy,
            "Period ended; nothing open",
        )
        .await?;
        c.approve_retention(&app.dpo, app.organisation, &[review.id])
            .await?;
        // Approved: in the waiting period (the approval may yet be withdrawn) only the file past
        // its own date is a task, and the note may not be destroyed yet.
        c.sweep_tasks(&operator(), app.organisation).await?;
        anyhow::ensure!(open_paper_tasks(&app).await? == vec![file]);
        let early = c
            .record_paper_destroyed(&app.worker_a, P, p, note, &destroyed("Shred Co", "DC-2"))
            .await;
        anyhow::ensure!(matches!(early, Err(PersonError::Conflict(_))), "{early:?}");

        // After the wait, the destruction waits for the paper, left approved, and both pieces
        // are tasks.
        c.clock().advance(Duration::days(WAITING_DAYS + 1));
        let s = c.sweep_retention(&operator(), app.organisation).await?;
        anyhow::ensure!(s.awaiting_paper == 1 && s.destroyed == 0, "{s:?}");
        anyhow::ensure!(!c.store().destroyed(p).await?);
        let still = c.store().review(app.organisation, review.id).await?;
        anyhow::ensure!(still.map(|r| r.state) == Some(RetentionState::Approved));
        c.sweep_tasks(&operator(), app.organisation).await?;
        let mut tasks = open_paper_tasks(&app).await?;
        tasks.sort();
        let mut both = vec![file, note];
        both.sort();
        anyhow::ensure!(tasks == both, "{tasks:?}");

        for (entry, reference) in [(file, "DC-1"), (note, "Shred log 12")] {
            c.record_paper_destroyed(
                &app.worker_a,
                P,
                p,
                entry,
                &destroyed("Shred Co", reference),
            )
            .await?;
        }
        let s = c.sweep_retention(&operator(), app.organisation).await?;
        anyhow::ensure!(s.destroyed == 1, "{s:?}");
        let done = c
            .store()
            .review(app.organisation, review.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("review gone"))?;
        let certificate_id = done
            .certificate_id
            .ok_or_else(|| anyhow::anyhow!("no certificate"))?;
        let (_, certificate) = c
            .destruction_certificate(&app.dpo, app.organisation, certificate_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("certificate missing"))?;
        let references: Vec<&str> = certificate
            .paper
            .iter()
            .map(|l| l.reference.as_str())
            .collect();
        anyhow::ensure!(references == ["DC-1", "Shred log 12"], "{references:?}");
        anyhow::ensure!(certificate.items.iter().all(|i| i.kind != "paper"));
        Ok(())
    }
);
