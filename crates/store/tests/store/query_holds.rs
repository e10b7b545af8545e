//! Legal holds on a query (issue 17, part 3), on SQLite and PostgreSQL: a hold over a service's
//! records in a period keeps every record in contact with the service then (and only those) off
//! the review queue and from destruction and paper destruction, whoever they are; placed by the
//! DPO or the Caldicott Guardian, released only by the DPO with a reason; its release starts a
//! "hold released" period for the records it covered; bad input is named and changes nothing.

use confidant_core::field::RecordKind;
use confidant_core::keeping::{PaperDestruction, QueryHoldInput};
use confidant_core::person::PersonError;
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::store::prelude::*;
use confidant_core::store::{ClosureReason, NoteFlags};
use confidant_core::{Clock, Purpose, Role};
use confidant_testkit::{TestApp, both_backends, operator};
use time::Duration;
use time::macros::datetime;
use uuid::Uuid;

use crate::paper::open_paper_tasks;
use crate::retention::{closed_case, due_on_day, governed, queued, set_clock, sweep};

const P: Purpose = Purpose::Support;

fn input(app: &TestApp, from_on: &'static str, to_on: &'static str) -> QueryHoldInput<'static> {
    QueryHoldInput {
        kind: "inquiry",
        service_id: app.service_a,
        from_on,
        to_on,
        reason: "Public inquiry into the service's work in November 2026",
    }
}

fn archived_file(app: &TestApp) -> NewEntry {
    NewEntry {
        kind: RecordKind::PaperFile,
        case_id: None,
        parent_id: None,
        contact_type: None,
        occurs_at: None,
        status: None,
        due_at: Some(app.confidant.clock().now() - Duration::days(1)),
        flags: NoteFlags::default(),
        values: RecordInput::new()
            .with("description", "Archived case file")
            .with("location", "Archive box 3"),
    }
}

fn shredded() -> PaperDestruction {
    PaperDestruction {
        destroyed_by: "Shred Co".to_owned(),
        reference: "DC-12".to_owned(),
        destroyed_on: time::macros::date!(2026 - 12 - 12),
    }
}

/// A record of service A made on `at`, with a case opened and closed then.
async fn closed_on(app: &TestApp, at: time::OffsetDateTime) -> anyhow::Result<Uuid> {
    set_clock(app, at);
    closed_case(app, ClosureReason::Completed).await
}

both_backends!(
    a_hold_on_a_query_keeps_the_records_of_its_period_and_only_those,
    |backend| async move {
        let app = governed(backend, "case_closed", "1 day").await?;
        let c = &app.confidant;
        // Made on 22 November with its case closed that day: before the period, not covered.
        let early = closed_on(&app, datetime!(2026-11-22 10:00 UTC)).await?;
        // Made on 22 November, its case open until 10 December: open in the period, covered.
        set_clock(&app, datetime!(2026-11-22 11:00 UTC));
        let spanning = app.person_named("Zqspanning", "Person").await?;
        let case = c.open_case(&app.worker_a, P, spanning, None).await?;
        // Made in the period (25 November): covered.
        let made = closed_on(&app, datetime!(2026-11-25 10:00 UTC)).await?;
        set_clock(&app, datetime!(2026-12-10 10:00 UTC));
        c.close_case(
            &app.worker_a,
            P,
            spanning,
            case.id,
            ClosureReason::Completed,
        )
        .await?;
        let (_, guardian) = app
            .add_staff(Role::CaldicottGuardian, None, "guardian", true)
            .await?;

        // Refused: a practitioner (not found), a kind that is not one, an empty reason, an end
        // before the start, a date that is not one; each names its field and writes nothing.
        let refused = c
            .place_query_hold(
                &app.worker_a,
                app.organisation,
                input(&app, "2026-11-25", "2026-11-26"),
            )
            .await;
        anyhow::ensure!(matches!(refused, Err(PersonError::NotFound)), "{refused:?}");
        let bad = c
            .place_query_hold(
                &app.dpo,
                app.organisation,
                QueryHoldInput {
                    kind: "hunch",
                    reason: " ",
                    ..input(&app, "2026-11-30", "2026-11-01")
                },
            )
            .await;
        let Err(PersonError::Invalid(v)) = bad else {
            anyhow::bail!("{bad:?}");
        };
        let fields: Vec<&str> = v.0.iter().map(|v| v.field).collect();
        anyhow::ensure!(fields == ["kind", "reason", "to_on"], "{fields:?}");
        let not_a_date = c
            .place_query_hold(
                &app.dpo,
                app.organisation,
                input(&app, "1 November", "2026-11-30"),
            )
            .await;
        anyhow::ensure!(
            matches!(&not_a_date, Err(PersonError::Invalid(v)) if v.0[0].field == "from_on"),
            "{not_a_date:?}"
        );
        anyhow::ensure!(c.query_holds(&app.dpo, app.organisation).await?.is_empty());

        // The Caldicott Guardian places one over 25 and 26 November: it covers two records.
        let hold = c
            .place_query_hold(
                &guardian,
                app.organisation,
                input(&app, "2026-11-25", "2026-11-26"),
            )
            .await?;
        let listed = c.query_holds(&app.dpo, app.organisation).await?;
        anyhow::ensure!(listed.len() == 1 && listed[0].1 == 2, "{listed:?}");
        anyhow::ensure!(listed[0].0.from_on == "2026-11-25" && listed[0].0.to_on == "2026-11-26");

        // The sweep queues the record before the period, not the held ones.
        set_clock(&app, datetime!(2026-12-12 10:00 UTC));
        sweep(&app).await?;
        anyhow::ensure!(queued(&app).await? == vec![early]);
        // The DPO's own destruction of a held record is refused, and nothing of it is removed.
        for held in [spanning, made] {
            let destroy = c
                .destroy_person(&app.dpo, P, held, "dpo_decision", "Duplicate made in error")
                .await;
            anyhow::ensure!(
                matches!(destroy, Err(PersonError::Conflict(_))),
                "{destroy:?}"
            );
            anyhow::ensure!(!c.store().destroyed(held).await?);
        }

        // Its archived paper past its date is no task, and is not recorded destroyed.
        let file = c
            .add_entry(&app.worker_a, P, made, &archived_file(&app))
            .await?
            .id;
        c.sweep_tasks(&operator(), app.organisation).await?;
        anyhow::ensure!(open_paper_tasks(&app).await?.is_empty());
        let shredded = c
            .record_paper_destroyed(&app.worker_a, P, made, file, &shredded())
            .await;
        anyhow::ensure!(
            matches!(shredded, Err(PersonError::Conflict(_))),
            "{shredded:?}"
        );

        // Only the DPO releases it, with a reason, once.
        let by_guardian = c
            .release_query_hold(&guardian, app.organisation, hold.id, "Inquiry closed")
            .await;
        anyhow::ensure!(
            matches!(by_guardian, Err(PersonError::NotFound)),
            "{by_guardian:?}"
        );
        let no_reason = c
            .release_query_hold(&app.dpo, app.organisation, hold.id, "")
            .await;
        anyhow::ensure!(
            matches!(no_reason, Err(PersonError::Invalid(_))),
            "{no_reason:?}"
        );
        c.release_query_hold(
            &app.dpo,
            app.organisation,
            hold.id,
            "Inquiry closed its evidence",
        )
        .await?;
        let again = c
            .release_query_hold(
                &app.dpo,
                app.organisation,
                hold.id,
                "Inquiry closed its evidence",
            )
            .await;
        anyhow::ensure!(matches!(again, Err(PersonError::Conflict(_))), "{again:?}");
        // Released, the paper is a task, and the records it kept are queued.
        c.sweep_tasks(&operator(), app.organisation).await?;
        anyhow::ensure!(open_paper_tasks(&app).await? == vec![file]);
        sweep(&app).await?;
        let mut all = vec![early, spanning, made];
        all.sort();
        let mut now = queued(&app).await?;
        now.sort();
        anyhow::ensure!(now == all, "{now:?}");
        Ok(())
    }
);

both_backends!(
    releasing_a_hold_on_a_query_starts_the_hold_released_period_of_what_it_covered,
    |backend| async move {
        let app = governed(backend, "hold_released", "1 day").await?;
        let c = &app.confidant;
        let p = app.person_named("Zqquery", "Held").await?;
        let hold = c
            .place_query_hold(
                &app.dpo,
                app.organisation,
                input(&app, "2026-11-22", "2026-11-22"),
            )
            .await?;
        c.release_query_hold(&app.dpo, app.organisation, hold.id, "Review finished")
            .await?;
        // Released at 10:00 on 22 November: due on 23 November, not the minute before.
        due_on_day(&app, p, 1).await
    }
);
