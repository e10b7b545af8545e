//! The retention sweep and its review queue (issue 17, part 2), on SQLite and PostgreSQL, with real
//! record dates: each trigger the sweep knows queues a record on the day its period ends and not
//! the day before; nothing is destroyed without a reviewer's decision, another person's approval
//! and the waiting period; a hold or a newer event at the end keeps the record; a decision to
//! keep holds it off the queue until its date; one process at a time holds the sweep's lock.

use confidant_core::Clock;
use confidant_core::Purpose;
use confidant_core::Role;
use confidant_core::access::Principal;
use confidant_core::audit::verify_chain;
use confidant_core::field::RecordKind;
use confidant_core::keeping::{Certificate, Decision, WAITING_DAYS};
use confidant_core::person::PersonError;
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::register::Register;
use confidant_core::store::prelude::*;
use confidant_core::store::{ClosureReason, ContactType, NoteFlags, RetentionState};
use confidant_testkit::{TEST_REGISTER, TestApp, TestBackend, both_backends, operator};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const P: Purpose = Purpose::Support;

/// The test register with its one rule (every service's case records) on `trigger` for `period`,
/// and service A named as its service.
pub(super) async fn governed(
    backend: TestBackend,
    trigger: &str,
    period: &str,
) -> anyhow::Result<TestApp> {
    let text = TEST_REGISTER.replace(
        "trigger = \"case_closed\"\nperiod = \"7 years\"",
        &format!("trigger = \"{trigger}\"\nperiod = \"{period}\""),
    );
    anyhow::ensure!(text != TEST_REGISTER, "the rule was not replaced");
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

fn contact(body: &str) -> NewEntry {
    NewEntry {
        kind: RecordKind::Note,
        case_id: None,
        parent_id: None,
        contact_type: Some(ContactType::Phone),
        occurs_at: None,
        status: None,
        due_at: None,
        flags: NoteFlags::default(),
        values: RecordInput::new().with("body", body),
    }
}

/// Moves the clock to `at` (forward only).
pub(super) fn set_clock(app: &TestApp, at: OffsetDateTime) {
    let now = app.confidant.clock().now();
    app.confidant.clock().advance(at - now);
}

pub(super) async fn sweep(
    app: &TestApp,
) -> anyhow::Result<confidant_core::keeping::RetentionSweep> {
    Ok(app
        .confidant
        .sweep_retention(&operator(), app.organisation)
        .await?)
}

pub(super) async fn queued(app: &TestApp) -> anyhow::Result<Vec<Uuid>> {
    Ok(app
        .confidant
        .store()
        .reviews(app.organisation, &[RetentionState::ToReview], 100)
        .await?
        .into_iter()
        .map(|r| r.person_id)
        .collect())
}

/// The clock at 10:00 UTC on the day `days` after the test's start (22 November 2026, GMT), and
/// the last minute of the day before.
fn day(days: i64) -> (OffsetDateTime, OffsetDateTime) {
    let start = time::macros::datetime!(2026-11-22 00:00 UTC);
    let on = start + Duration::days(days) + Duration::hours(10);
    (start + Duration::days(days) - Duration::minutes(1), on)
}

/// Checks the record is queued on the day `days` from the trigger, not the minute before.
pub(super) async fn due_on_day(app: &TestApp, person: Uuid, days: i64) -> anyhow::Result<()> {
    let (before, on) = day(days);
    set_clock(app, before);
    sweep(app).await?;
    anyhow::ensure!(queued(app).await?.is_empty(), "queued a day early");
    set_clock(app, on);
    let first = sweep(app).await?;
    anyhow::ensure!(first.queued == 1, "{first:?}");
    anyhow::ensure!(queued(app).await? == vec![person]);
    // Sweeping again queues nothing more.
    anyhow::ensure!(sweep(app).await?.queued == 0);
    Ok(())
}

pub(super) async fn closed_case(app: &TestApp, reason: ClosureReason) -> anyhow::Result<Uuid> {
    let c = &app.confidant;
    let p = app.person_named("Retained", "Person").await?;
    let case = c.open_case(&app.worker_a, P, p, None).await?;
    c.close_case(&app.worker_a, P, p, case.id, reason).await?;
    Ok(p)
}

both_backends!(
    a_closed_case_is_due_on_the_day_its_period_ends,
    |backend| async move {
        let app = governed(backend, "case_closed", "30 days").await?;
        let p = closed_case(&app, ClosureReason::Completed).await?;
        // Another record whose case is still open is never due.
        let open = app.person_named("Still", "Open").await?;
        app.confidant
            .open_case(&app.worker_a, P, open, None)
            .await?;
        // Closed at 10:00 on 22 November: 30 days later is 22 December.
        due_on_day(&app, p, 30).await
    }
);

both_backends!(the_last_contact_starts_its_period, |backend| async move {
    let app = governed(backend, "last_contact", "1 month").await?;
    let p = app.person_named("Last", "Contact").await?;
    // A contact two days on moves the period: due one month after it (24 December).
    set_clock(&app, day(2).1);
    app.confidant
        .add_entry(&app.worker_a, P, p, &contact("rang"))
        .await?;
    due_on_day(&app, p, 32).await
});

both_backends!(a_recorded_death_starts_its_period, |backend| async move {
    let app = governed(backend, "death_recorded", "14 days").await?;
    let p = closed_case(&app, ClosureReason::Died).await?;
    // A record closed for another reason has no death recorded: never due under this rule.
    closed_case(&app, ClosureReason::MovedAway).await?;
    due_on_day(&app, p, 14).await
});

both_backends!(a_released_hold_starts_its_period, |backend| async move {
    let app = governed(backend, "hold_released", "7 days").await?;
    let c = &app.confidant;
    let p = app.person_named("Once", "Held").await?;
    let hold = c
        .place_hold(&app.dpo, P, p, "complaint", None, "A complaint was made")
        .await?;
    set_clock(&app, day(10).0);
    sweep(&app).await?;
    anyhow::ensure!(queued(&app).await?.is_empty(), "a held record was queued");
    set_clock(&app, day(10).1);
    c.release_hold(&app.dpo, P, p, hold.id, "The complaint was resolved")
        .await?;
    due_on_day(&app, p, 17).await
});

both_backends!(
    a_restriction_of_processing_keeps_a_record_off_the_queue_until_lifted,
    |backend| async move {
        let app = governed(backend, "case_closed", "1 day").await?;
        let c = &app.confidant;
        let p = closed_case(&app, ClosureReason::Completed).await?;
        let objected = app.person_named("Objected", "Person").await?;
        let case = c.open_case(&app.worker_a, P, objected, None).await?;
        c.close_case(
            &app.worker_a,
            P,
            objected,
            case.id,
            ClosureReason::Completed,
        )
        .await?;
        let restriction = c.restrict(&app.dpo, P, p, "restriction").await?;
        c.restrict(&app.dpo, P, objected, "objection").await?;
        set_clock(&app, day(5).1);
        sweep(&app).await?;
        // An upheld objection does not keep a record; a restriction (only to be stored) does.
        anyhow::ensure!(queued(&app).await? == vec![objected]);
        c.lift_restriction(&app.dpo, P, p, restriction.id).await?;
        sweep(&app).await?;
        anyhow::ensure!(queued(&app).await?.len() == 2);
        Ok(())
    }
);

async fn born(app: &TestApp, family: &str, on: &str) -> anyhow::Result<Uuid> {
    let mut input = confidant_core::person::PersonInput::new();
    input.set_code("given_name", "Born".to_owned());
    input.set_code("family_name", family.to_owned());
    input.set_code("date_of_birth", on.to_owned());
    Ok(app
        .confidant
        .create_person(&app.worker_a, P, app.service_a, &input)
        .await?
        .id)
}

both_backends!(
    an_eighteenth_birthday_starts_its_period_from_the_sealed_date_of_birth,
    |backend| async move {
        let app = governed(backend, "birthday_18", "9 months").await?;
        // Born on 29 February 2008: 18 on 1 March 2026 (no 29 February that year), so due nine
        // months on, on 1 December; someone born on 2 March, on 2 December. Either day would tell
        // the birthday, so both are queued from the first of the month after: 1 January 2027
        // (day 40), not the minute before.
        let leap = born(&app, "Leap", "2008-02-29").await?;
        let later = born(&app, "Later", "2008-03-02").await?;
        // No date of birth: never due under a birthday rule (kept, not destroyed early).
        let unknown = app.person_named("No", "Birthday").await?;
        set_clock(&app, day(40).0);
        sweep(&app).await?;
        anyhow::ensure!(
            queued(&app).await?.is_empty(),
            "queued before the month was out"
        );
        set_clock(&app, day(40).1);
        anyhow::ensure!(sweep(&app).await?.queued == 2);
        let mut both = queued(&app).await?;
        both.sort();
        let mut expected = vec![leap, later];
        expected.sort();
        anyhow::ensure!(both == expected);
        for p in [leap, later] {
            let review = review_of(&app, p).await?;
            anyhow::ensure!(review.due_on == "2027-01-01", "{}", review.due_on);
        }
        // Each date of birth opened is an audit event about its person, and the chain verifies.
        let events = app.confidant.store().audit_events(1, 100_000).await?;
        let opened = |p: Uuid| {
            events
                .iter()
                .any(|e| e.action == "retention.birth_date" && e.subject_id == Some(p.to_string()))
        };
        anyhow::ensure!(opened(leap) && opened(later) && opened(unknown));
        let verified = verify_chain(app.confidant.store(), None).await?;
        anyhow::ensure!(verified.is_ok(), "{verified:?}");
        Ok(())
    }
);

both_backends!(
    a_record_kept_to_a_25th_birthday_is_destroyed_after_review,
    |backend| async move {
        let app = governed(backend, "birthday_25", "at once").await?;
        let c = &app.confidant;
        let (_, guardian) = app
            .add_staff(Role::CaldicottGuardian, None, "guardian", true)
            .await?;
        // 25 on 23 November 2026, the day after the test starts: queued from 1 December (day 9);
        // an open case keeps the other.
        let p = born(&app, "Grown", "2001-11-23").await?;
        let open = born(&app, "Open", "2001-11-23").await?;
        c.open_case(&app.worker_a, P, open, None).await?;
        due_on_day(&app, p, 9).await?;
        let review = review_of(&app, p).await?;
        anyhow::ensure!(review.due_on == "2026-12-01", "{}", review.due_on);
        // Reviewed a month later: the record is still due, and destroyed after the wait.
        set_clock(&app, day(30).1);
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
        c.clock().advance(Duration::days(WAITING_DAYS + 1));
        let s = sweep(&app).await?;
        anyhow::ensure!(s.destroyed == 1, "{s:?}");
        anyhow::ensure!(c.store().destroyed(p).await? && !c.store().destroyed(open).await?);
        Ok(())
    }
);

/// A record queued under a 1-day case rule, with a Caldicott Guardian to review it.
async fn queued_record(backend: TestBackend) -> anyhow::Result<(TestApp, Uuid, Principal)> {
    let app = governed(backend, "case_closed", "1 day").await?;
    let (_, guardian) = app
        .add_staff(Role::CaldicottGuardian, None, "guardian", true)
        .await?;
    let p = closed_case(&app, ClosureReason::Completed).await?;
    set_clock(&app, day(1).1);
    anyhow::ensure!(sweep(&app).await?.queued == 1);
    Ok((app, p, guardian))
}

async fn review_of(
    app: &TestApp,
    person: Uuid,
) -> anyhow::Result<confidant_core::store::ReviewRecord> {
    app.confidant
        .retention_queue(&app.dpo, app.organisation)
        .await?
        .into_iter()
        .find(|r| r.person_id == person)
        .ok_or_else(|| anyhow::anyhow!("not on the queue"))
}

both_backends!(
    nothing_is_destroyed_without_a_decision_another_persons_approval_and_the_wait,
    |backend| async move {
        let (app, p, guardian) = queued_record(backend).await?;
        let c = &app.confidant;
        let review = review_of(&app, p).await?;
        // The queue shows what destroying it would reach.
        let view = c
            .retention_review(&guardian, app.organisation, review.id)
            .await?;
        anyhow::ensure!(view.scope.counts.cases == 1 && view.live_holds == 0);
        // A sweep without a decision destroys nothing, however long it waits.
        set_clock(&app, day(40).1);
        let s = sweep(&app).await?;
        anyhow::ensure!(s.destroyed == 0 && !c.store().destroyed(p).await?);

        // A reason naming the person is refused, changing nothing.
        let named = c
            .decide_retention(
                &guardian,
                app.organisation,
                review.id,
                Decision::Destroy,
                "Retained person's file",
            )
            .await;
        anyhow::ensure!(matches!(named, Err(PersonError::Invalid(_))), "{named:?}");
        c.decide_retention(
            &guardian,
            app.organisation,
            review.id,
            Decision::Destroy,
            "Period ended; nothing open",
        )
        .await?;
        // A practitioner cannot decide or approve; the guardian cannot approve.
        let by_worker = c
            .approve_retention(&app.worker_a, app.organisation, &[review.id])
            .await;
        anyhow::ensure!(by_worker.is_err());
        anyhow::ensure!(
            c.approve_retention(&guardian, app.organisation, &[review.id])
                .await
                .is_err()
        );
        let approved = c
            .approve_retention(&app.dpo, app.organisation, &[review.id])
            .await?;
        anyhow::ensure!(approved == vec![review.id]);

        // Not before the waiting period ends.
        c.clock()
            .advance(Duration::days(WAITING_DAYS) - Duration::minutes(1));
        anyhow::ensure!(sweep(&app).await?.destroyed == 0);
        anyhow::ensure!(!c.store().destroyed(p).await?);
        c.clock().advance(Duration::minutes(2));
        let s = sweep(&app).await?;
        anyhow::ensure!(s.destroyed == 1, "{s:?}");
        anyhow::ensure!(c.store().destroyed(p).await?);
        let done = c
            .store()
            .review(app.organisation, review.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("review gone"))?;
        anyhow::ensure!(done.state == RetentionState::Destroyed);
        let certificate_id = done
            .certificate_id
            .ok_or_else(|| anyhow::anyhow!("no certificate"))?;
        let (_, certificate): (_, Certificate) = c
            .destruction_certificate(&app.dpo, app.organisation, certificate_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("certificate missing"))?;
        anyhow::ensure!(certificate.basis == "retention_ended");
        anyhow::ensure!(certificate.decided_by == guardian.audit_id());
        anyhow::ensure!(certificate.approved_by == vec![app.dpo.audit_id()]);
        anyhow::ensure!(certificate.reason == "Period ended; nothing open");
        anyhow::ensure!(
            certificate.rules
                == vec!["records (Testkit Trust Records Retention Schedule version 1)".to_owned()],
            "{:?}",
            certificate.rules
        );
        let verified = verify_chain(c.store(), None).await?;
        anyhow::ensure!(verified.is_ok(), "{verified:?}");
        Ok(())
    }
);

both_backends!(
    the_dpo_cannot_approve_their_own_decision,
    |backend| async move {
        let (app, p, _) = queued_record(backend).await?;
        let c = &app.confidant;
        let review = review_of(&app, p).await?;
        c.decide_retention(
            &app.dpo,
            app.organisation,
            review.id,
            Decision::Destroy,
            "Period ended",
        )
        .await?;
        let own = c
            .approve_retention(&app.dpo, app.organisation, &[review.id])
            .await;
        anyhow::ensure!(matches!(own, Err(PersonError::Conflict(_))), "{own:?}");
        let still = c.store().review(app.organisation, review.id).await?;
        anyhow::ensure!(still.map(|r| r.state) == Some(RetentionState::Destroy));
        Ok(())
    }
);

both_backends!(
    a_hold_a_new_entry_or_a_reopened_case_in_the_waiting_period_keeps_the_record,
    |backend| async move {
        let (app, held, guardian) = queued_record(backend).await?;
        let c = &app.confidant;
        let touched = closed_case(&app, ClosureReason::Completed).await?;
        let noted = closed_case(&app, ClosureReason::Completed).await?;
        c.clock().advance(Duration::days(2));
        anyhow::ensure!(sweep(&app).await?.queued == 2);
        for p in [held, touched, noted] {
            let review = review_of(&app, p).await?;
            c.decide_retention(
                &guardian,
                app.organisation,
                review.id,
                Decision::Destroy,
                "Period ended",
            )
            .await?;
        }
        let mut ids = Vec::new();
        for p in [held, touched, noted] {
            ids.push(review_of(&app, p).await?.id);
        }
        c.approve_retention(&app.dpo, app.organisation, &ids)
            .await?;
        c.place_hold(
            &app.dpo,
            P,
            held,
            "police_investigation",
            None,
            "Police asked us to keep it",
        )
        .await?;
        // The case is opened again and closed: a new event, the period starts again.
        let case = c.open_case(&app.worker_a, P, touched, None).await?;
        c.close_case(&app.worker_a, P, touched, case.id, ClosureReason::Completed)
            .await?;
        // A note added after the review: the rule's dates are the same, but the record is not
        // what was reviewed.
        c.add_entry(&app.worker_a, P, noted, &contact("a late note"))
            .await?;
        c.clock().advance(Duration::days(WAITING_DAYS));
        let s = sweep(&app).await?;
        anyhow::ensure!(s.destroyed == 0 && s.not_destroyed == 3, "{s:?}");
        for p in [held, touched, noted] {
            anyhow::ensure!(!c.store().destroyed(p).await?);
            let r = review_of(&app, p).await?;
            anyhow::ensure!(
                r.state == RetentionState::NotDestroyed && r.outcome.is_some(),
                "{r:?}"
            );
        }
        Ok(())
    }
);

both_backends!(
    a_decision_can_be_replaced_until_destruction_and_a_batch_is_approved_whole_or_not_at_all,
    |backend| async move {
        let (app, p, guardian) = queued_record(backend).await?;
        let c = &app.confidant;
        let other = closed_case(&app, ClosureReason::Completed).await?;
        c.clock().advance(Duration::days(2));
        anyhow::ensure!(sweep(&app).await?.queued == 1);
        let mine = review_of(&app, p).await?.id;
        let own = review_of(&app, other).await?.id;
        c.decide_retention(
            &guardian,
            app.organisation,
            mine,
            Decision::Destroy,
            "Period ended",
        )
        .await?;
        c.decide_retention(
            &app.dpo,
            app.organisation,
            own,
            Decision::Destroy,
            "Period ended",
        )
        .await?;
        // One of the batch is the approver's own decision: none of it is approved.
        let batch = c
            .approve_retention(&app.dpo, app.organisation, &[mine, own])
            .await;
        anyhow::ensure!(matches!(batch, Err(PersonError::Conflict(_))), "{batch:?}");
        for id in [mine, own] {
            let r = c.store().review(app.organisation, id).await?;
            anyhow::ensure!(r.map(|r| r.state) == Some(RetentionState::Destroy));
        }
        // Approved, then in the waiting period the guardian decides to keep it after all.
        c.approve_retention(&app.dpo, app.organisation, &[mine])
            .await?;
        let until = c.clock().now().date() + Duration::days(365);
        c.decide_retention(
            &guardian,
            app.organisation,
            mine,
            Decision::Keep(until),
            "An inquiry asked for it",
        )
        .await?;
        c.clock().advance(Duration::days(WAITING_DAYS + 1));
        let s = sweep(&app).await?;
        anyhow::ensure!(s.destroyed == 0, "{s:?}");
        anyhow::ensure!(!c.store().destroyed(p).await?);
        let r = c.store().review(app.organisation, mine).await?;
        anyhow::ensure!(
            r.as_ref().map(|r| (r.state, r.approved_by.is_none()))
                == Some((RetentionState::Keep, true)),
            "{r:?}"
        );
        Ok(())
    }
);

both_backends!(
    a_decision_to_keep_holds_the_record_off_the_queue_until_its_date,
    |backend| async move {
        let (app, p, guardian) = queued_record(backend).await?;
        let c = &app.confidant;
        let review = review_of(&app, p).await?;
        let until = c.clock().now().date() + Duration::days(90);
        let past = c
            .decide_retention(
                &guardian,
                app.organisation,
                review.id,
                Decision::Keep(c.clock().now().date()),
                "Inquiry",
            )
            .await;
        anyhow::ensure!(matches!(past, Err(PersonError::Invalid(_))), "{past:?}");
        c.decide_retention(
            &guardian,
            app.organisation,
            review.id,
            Decision::Keep(until),
            "A public inquiry may ask for it",
        )
        .await?;
        c.clock().advance(Duration::days(89));
        anyhow::ensure!(sweep(&app).await?.queued == 0);
        c.clock().advance(Duration::days(2));
        anyhow::ensure!(sweep(&app).await?.queued == 1);
        Ok(())
    }
);

both_backends!(
    one_process_at_a_time_holds_the_sweeps_lock,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let store = app.confidant.store();
        anyhow::ensure!(store.take_job_lock("retention", "a", 100, 200).await?);
        anyhow::ensure!(!store.take_job_lock("retention", "b", 150, 250).await?);
        // Its holder may renew it; once its time has passed, another may take it.
        anyhow::ensure!(store.take_job_lock("retention", "a", 150, 260).await?);
        anyhow::ensure!(store.take_job_lock("retention", "b", 260, 400).await?);
        store.release_job_lock("retention", "b").await?;
        anyhow::ensure!(store.take_job_lock("retention", "c", 270, 500).await?);
        Ok(())
    }
);
