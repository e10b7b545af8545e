//! The group-commit audit writer and the request scope, on SQLite and PostgreSQL:
//! - concurrent appends form one unbroken chain, each caller answered with its own event;
//! - a request's reads wait in its scope and land together, after it, before its answer; a change
//!   in the request puts the reads before it on the chain first, and if they cannot be, the change
//!   is not made and nothing of the request is answered;
//! - while the chain cannot be written (its head locked past the deadline), nothing is answered:
//!   a read in a request and a standalone append both fail as unavailable, and once the lock goes
//!   both succeed and the chain verifies.

use confidant_core::Purpose;
use confidant_core::audit::{AuditDraft, verify_chain};
use confidant_core::person::PersonInput;
use confidant_core::store::StoreError;
use confidant_core::store::prelude::*;
use confidant_store::SqlStore;
use confidant_testkit::{TestApp, both_backends, race, test_time};

async fn head_seq(store: &SqlStore) -> anyhow::Result<i64> {
    Ok(store.audit_head().await?.map_or(0, |h| h.seq))
}

fn draft(action: &'static str) -> AuditDraft {
    AuditDraft::for_tests(action, None, test_time())
}

async fn chain_is_intact(store: &SqlStore) -> anyhow::Result<()> {
    match verify_chain(store, None).await? {
        Ok(_) => Ok(()),
        Err(broken) => anyhow::bail!("the chain is broken: {broken}"),
    }
}

both_backends!(
    fifty_concurrent_appends_make_one_unbroken_chain,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let store = app.confidant.store().clone();
        let before = head_seq(&store).await?;
        let answers = race(50, |i| {
            let store = store.clone();
            let subject = uuid::Uuid::from_u128(i as u128 + 1);
            async move {
                let event = store
                    .append_audit(AuditDraft::for_tests(
                        "test.append",
                        Some(subject),
                        test_time(),
                    ))
                    .await;
                (subject, event)
            }
        })
        .await?;
        let mut seqs = Vec::new();
        for (subject, answer) in answers {
            let event = answer?;
            // Each caller is answered with its own event (its own subject), as stored.
            assert_eq!(event.subject_id, Some(subject.to_string()));
            let stored = store.audit_events(event.seq, 1).await?;
            assert_eq!(stored, vec![event.clone()]);
            seqs.push(event.seq);
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (before + 1..=before + 50).collect::<Vec<_>>());
        assert_eq!(head_seq(&store).await?, before + 50);
        chain_is_intact(&store).await
    }
);

both_backends!(
    a_requests_reads_land_together_after_it_and_before_its_answer,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let store = app.confidant.store().clone();
        let before = head_seq(&store).await?;
        let inside = store.clone();
        let seen_inside = app
            .confidant
            .answer_when_audited(async move {
                for _ in 0..3 {
                    inside.record_access(draft("test.read")).await?;
                }
                // What must be on the chain before something else happens goes in at once.
                inside.append_audit(draft("test.standalone")).await?;
                anyhow::Ok(head_seq(&inside).await?)
            })
            .await??;
        assert_eq!(
            seen_inside,
            before + 1,
            "while the request ran, only its standalone event was on the chain"
        );
        let actions: Vec<String> = store
            .audit_events(before + 1, 10)
            .await?
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            ["test.standalone", "test.read", "test.read", "test.read"]
        );
        // Outside a request, a recorded access is on the chain when the call returns.
        store.record_access(draft("test.command")).await?;
        assert_eq!(head_seq(&store).await?, before + 5);
        chain_is_intact(&store).await
    }
);

both_backends!(
    nothing_is_answered_while_the_chain_cannot_be_written,
    |backend| async move {
        let app = TestApp::with_short_audit_deadline(backend).await?;
        let store = app.confidant.store().clone();
        let person = app.person_named("Locked", "Out").await?;
        let before = head_seq(&store).await?;

        // Someone holds the chain's head (a long transaction, a stuck process, a failover).
        let holder = app.db.hold_audit_head().await?;
        let read = app
            .confidant
            .answer_when_audited(
                app.confidant
                    .read_person(&app.worker_a, Purpose::Support, person),
            )
            .await;
        assert!(
            matches!(read, Err(StoreError::Unavailable(_))),
            "a read whose event cannot be written is not answered: {read:?}"
        );
        let standalone = store.append_audit(draft("test.standalone")).await;
        assert!(
            matches!(standalone, Err(StoreError::Unavailable(_))),
            "{standalone:?}"
        );
        holder.release().await?;

        let read = app
            .confidant
            .answer_when_audited(
                app.confidant
                    .read_person(&app.worker_a, Purpose::Support, person),
            )
            .await?;
        assert_eq!(read?.id, person);
        let events = store.audit_events(before + 1, 10).await?;
        assert!(
            events
                .iter()
                .any(|e| e.action == "person.read" && e.subject_id == Some(person.to_string())),
            "the answered read has its event"
        );
        chain_is_intact(&store).await
    }
);

both_backends!(
    a_change_in_a_request_puts_the_reads_before_it_on_the_chain_first,
    |backend| async move {
        let app = TestApp::with_short_audit_deadline(backend).await?;
        let store = app.confidant.store().clone();
        let mut input = PersonInput::new();
        input.set_code("given_name", "Orderly".to_owned());
        input.set_code("family_name", "Change".to_owned());
        let before = head_seq(&store).await?;
        let inside = store.clone();
        let (confidant, worker, service) = (&app.confidant, &app.worker_a, app.service_a);
        let made = confidant
            .answer_when_audited(async {
                inside.record_access(draft("test.read")).await?;
                let person = confidant
                    .create_person(worker, Purpose::Support, service, &input)
                    .await?;
                inside.record_access(draft("test.after")).await?;
                anyhow::Ok(person.id)
            })
            .await??;
        let events = store.audit_events(before + 1, 10).await?;
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["test.read", "person.create", "test.after"]);
        assert_eq!(events[1].subject_id, Some(made.to_string()));

        // The reads before a change cannot be recorded: the change is not made, and nothing of the
        // request is answered even though the work swallowed the error.
        let people_before = app.db.row_counts(&["person"]).await?;
        let holder = app.db.hold_audit_head().await?;
        let answered = confidant
            .answer_when_audited(async {
                inside.record_access(draft("test.read")).await.ok();
                let change = confidant
                    .create_person(worker, Purpose::Support, service, &input)
                    .await;
                change.is_err()
            })
            .await;
        holder.release().await?;
        assert!(
            matches!(answered, Err(StoreError::Unavailable(_))),
            "{answered:?}"
        );
        // Nor does a second change in such a request, made once the chain is free again.
        let holder = app.db.hold_audit_head().await?;
        let answered = confidant
            .answer_when_audited(async {
                inside.record_access(draft("test.read")).await.ok();
                let first = confidant
                    .create_person(worker, Purpose::Support, service, &input)
                    .await;
                holder.release().await.ok();
                inside.record_access(draft("test.read")).await.ok();
                let second = confidant
                    .create_person(worker, Purpose::Support, service, &input)
                    .await;
                (first.is_err(), second.is_err())
            })
            .await;
        assert!(
            matches!(answered, Err(StoreError::Unavailable(_))),
            "{answered:?}"
        );
        assert_eq!(app.db.row_counts(&["person"]).await?, people_before);
        chain_is_intact(&store).await
    }
);
