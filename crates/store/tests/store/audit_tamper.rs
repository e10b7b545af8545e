//! The audit chain against someone with raw write access to the database, on SQLite and PostgreSQL:
//! every kind of tampering ends in a verdict naming the first bad event (where there is one), never in
//! a database error; and what cannot be seen from inside the database is seen against a checkpoint
//! kept outside it.

use confidant_core::Purpose;
use confidant_core::audit::{AuditEvent, ChainBreak, Checkpoint, Verified, verify_chain};
use confidant_core::store::StoreError;
use confidant_core::store::prelude::*;
use confidant_testkit::{TestApp, TestBackend, both_backends, operator};

/// An app with `n` audit events past set-up, the append-only triggers dropped (as someone with raw
/// access would), and the head as it then is.
async fn tampered_app(backend: TestBackend, n: usize) -> anyhow::Result<(TestApp, Checkpoint)> {
    let app = TestApp::new(backend).await?;
    for _ in 0..n {
        app.confidant
            .record_audit_checkpoint(&operator())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the system may checkpoint"))?;
    }
    match backend {
        TestBackend::Sqlite => {
            app.db
                .raw_execute("DROP TRIGGER audit_event_no_update")
                .await?;
            app.db
                .raw_execute("DROP TRIGGER audit_event_no_delete")
                .await?;
        }
        TestBackend::Postgres => {
            app.db
                .raw_execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
                .await?;
        }
    }
    let head = app
        .confidant
        .store()
        .audit_head()
        .await?
        .ok_or_else(|| anyhow::anyhow!("events exist"))?;
    Ok((app, head))
}

async fn verify(
    app: &TestApp,
    against: Option<Checkpoint>,
) -> Result<Result<Verified, ChainBreak>, StoreError> {
    verify_chain(app.confidant.store(), against).await
}

async fn event(app: &TestApp, seq: i64) -> anyhow::Result<AuditEvent> {
    app.confidant
        .store()
        .audit_events(seq, 1)
        .await?
        .pop()
        .filter(|e| e.seq == seq)
        .ok_or_else(|| anyhow::anyhow!("event {seq} exists"))
}

fn blob(backend: TestBackend, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match backend {
        TestBackend::Sqlite => format!("X'{hex}'"),
        TestBackend::Postgres => format!("decode('{hex}', 'hex')"),
    }
}

fn sql_text(v: &Option<String>) -> String {
    v.as_ref()
        .map_or_else(|| "NULL".to_owned(), |s| format!("'{s}'"))
}

/// Inserts `e` as it stands, as a forger with raw access would.
async fn insert_raw(app: &TestApp, backend: TestBackend, e: &AuditEvent) -> anyhow::Result<()> {
    app.db
        .raw_execute(&format!(
            "INSERT INTO audit_event (seq, at, actor, action, resource_type, resource_id, subject_id, purpose, \
             outcome, prev_hash, hash) VALUES ({}, {}, '{}', '{}', '{}', {}, {}, '{}', '{}', {}, {})",
            e.seq,
            e.at_micros,
            e.actor,
            e.action,
            e.resource_type,
            sql_text(&e.resource_id),
            sql_text(&e.subject_id),
            e.purpose,
            e.outcome,
            blob(backend, &e.prev_hash),
            blob(backend, &e.hash),
        ))
        .await?;
    Ok(())
}

/// Points the head row at `cp`, as an attacker covering their tracks would.
async fn set_head(app: &TestApp, backend: TestBackend, cp: Checkpoint) -> anyhow::Result<()> {
    app.db
        .raw_execute(&format!(
            "UPDATE audit_head SET seq = {}, hash = {} WHERE id = 1",
            cp.seq,
            blob(backend, &cp.hash)
        ))
        .await?;
    Ok(())
}

async fn checkpoint_at(app: &TestApp, seq: i64) -> anyhow::Result<Checkpoint> {
    let e = event(app, seq).await?;
    Ok(Checkpoint { seq, hash: e.hash })
}

both_backends!(
    an_untouched_chain_verifies_with_and_without_a_checkpoint,
    |backend| async move {
        let (app, head) = tampered_app(backend, 4).await?;
        let verified = verify(&app, None).await??;
        assert_eq!(verified.head, Some(head));
        let pinned = checkpoint_at(&app, head.seq - 2).await?;
        assert_eq!(verify(&app, Some(pinned)).await??.head, Some(head));
        Ok(())
    }
);

both_backends!(
    events_cut_from_the_tail_are_named_by_the_head_row,
    |backend| async move {
        let (app, head) = tampered_app(backend, 4).await?;
        app.db
            .raw_execute(&format!(
                "DELETE FROM audit_event WHERE seq > {}",
                head.seq - 2
            ))
            .await?;
        let broken = verify(&app, None).await?.expect_err("cut");
        assert_eq!(
            broken,
            ChainBreak::Truncated {
                last: head.seq - 2,
                expected: head.seq
            }
        );
        assert_eq!(broken.seq(), Some(head.seq - 1));
        Ok(())
    }
);

both_backends!(
    a_cut_tail_with_a_rewritten_head_row_is_named_against_a_checkpoint,
    |backend| async move {
        let (app, head) = tampered_app(backend, 4).await?;
        let kept_elsewhere = head;
        let new_end = checkpoint_at(&app, head.seq - 3).await?;
        app.db
            .raw_execute(&format!(
                "DELETE FROM audit_event WHERE seq > {}",
                new_end.seq
            ))
            .await?;
        set_head(&app, backend, new_end).await?;
        // From inside the database alone the cut cannot be seen: chain and head agree.
        assert!(verify(&app, None).await?.is_ok());
        // The checkpoint kept outside it sees it.
        let broken = verify(&app, Some(kept_elsewhere))
            .await?
            .expect_err("cut below the checkpoint");
        assert_eq!(
            broken,
            ChainBreak::CutBeforeCheckpoint {
                last: new_end.seq,
                seq: head.seq
            }
        );
        assert_eq!(broken.seq(), Some(new_end.seq + 1));
        Ok(())
    }
);

both_backends!(an_edited_event_body_is_named, |backend| async move {
    let (app, head) = tampered_app(backend, 4).await?;
    let target = head.seq - 2;
    app.db
        .raw_execute(&format!(
            "UPDATE audit_event SET outcome = 'denied' WHERE seq = {target}"
        ))
        .await?;
    assert_eq!(
        verify(&app, None).await?,
        Err(ChainBreak::Altered { seq: target })
    );
    Ok(())
});

both_backends!(
    an_edit_before_a_checkpoint_is_named_when_verifying_against_it,
    |backend| async move {
        let (app, head) = tampered_app(backend, 4).await?;
        app.db
            .raw_execute("UPDATE audit_event SET actor = 'someone-else' WHERE seq = 2")
            .await?;
        // The walk starts at the first event, not at the checkpoint.
        assert_eq!(
            verify(&app, Some(head)).await?,
            Err(ChainBreak::Altered { seq: 2 })
        );
        Ok(())
    }
);

both_backends!(
    a_forged_event_appended_past_the_head_is_named,
    |backend| async move {
        let (app, head) = tampered_app(backend, 3).await?;
        let mut forged = event(&app, head.seq).await?;
        forged.seq = head.seq + 1;
        forged.prev_hash = head.hash;
        forged.actor = "someone-else".to_owned();
        forged.hash = forged.computed_hash();
        insert_raw(&app, backend, &forged).await?;
        assert_eq!(
            verify(&app, None).await?,
            Err(ChainBreak::BeyondHead { seq: head.seq + 1 })
        );
        Ok(())
    }
);

both_backends!(
    a_rewritten_tail_under_a_matching_head_row_is_named_against_a_checkpoint,
    |backend| async move {
        let (app, head) = tampered_app(backend, 3).await?;
        // Cut the last event and forge a replacement with a valid hash, head row to match.
        app.db
            .raw_execute(&format!("DELETE FROM audit_event WHERE seq = {}", head.seq))
            .await?;
        let before = checkpoint_at(&app, head.seq - 1).await?;
        let mut forged = event(&app, before.seq).await?;
        forged.seq = head.seq;
        forged.prev_hash = before.hash;
        forged.outcome = "denied".to_owned();
        forged.hash = forged.computed_hash();
        insert_raw(&app, backend, &forged).await?;
        set_head(
            &app,
            backend,
            Checkpoint {
                seq: forged.seq,
                hash: forged.hash,
            },
        )
        .await?;
        assert!(verify(&app, None).await?.is_ok(), "consistent inside");
        assert_eq!(
            verify(&app, Some(head)).await?,
            Err(ChainBreak::CheckpointMismatch { seq: head.seq })
        );
        Ok(())
    }
);

both_backends!(
    a_deleted_head_row_is_a_verdict_and_stops_every_audited_write,
    |backend| async move {
        let (app, head) = tampered_app(backend, 2).await?;
        app.db.raw_execute("DELETE FROM audit_head").await?;
        let broken = verify(&app, None)
            .await
            .expect("a verdict, not a database error")
            .expect_err("head deleted");
        assert_eq!(broken, ChainBreak::HeadMissing { last: head.seq });
        assert_eq!(broken.seq(), None);
        // Nothing is written unrecorded: the next audited write fails, and writes nothing.
        let err = app
            .confidant
            .record_audit_checkpoint(&operator())
            .await
            .expect_err("no head, no append");
        assert!(err.to_string().contains("head row is missing"), "{err}");
        assert!(
            app.confidant
                .create_person(
                    &app.worker_a,
                    Purpose::Support,
                    app.service_a,
                    &confidant_core::person::PersonInput::new()
                        .with(confidant_core::field::PersonField::GivenName, "Ada")
                        .with(confidant_core::field::PersonField::FamilyName, "Lovelace"),
                )
                .await
                .is_err()
        );
        assert_eq!(
            app.confidant.store().audit_events(head.seq + 1, 10).await?,
            vec![]
        );
        Ok(())
    }
);

both_backends!(
    a_deleted_event_in_the_middle_is_named,
    |backend| async move {
        let (app, head) = tampered_app(backend, 4).await?;
        let target = head.seq - 2;
        app.db
            .raw_execute(&format!("DELETE FROM audit_event WHERE seq = {target}"))
            .await?;
        assert_eq!(
            verify(&app, None).await?,
            Err(ChainBreak::Missing {
                expected: target,
                found: target + 1
            })
        );
        Ok(())
    }
);

both_backends!(
    a_head_row_pointing_elsewhere_is_named,
    |backend| async move {
        let (app, head) = tampered_app(backend, 4).await?;
        // Moved back, hiding the events after it.
        let earlier = checkpoint_at(&app, head.seq - 2).await?;
        set_head(&app, backend, earlier).await?;
        assert_eq!(
            verify(&app, None).await?,
            Err(ChainBreak::BeyondHead {
                seq: earlier.seq + 1
            })
        );
        // Right place, wrong hash.
        set_head(
            &app,
            backend,
            Checkpoint {
                seq: head.seq,
                hash: [9; 32],
            },
        )
        .await?;
        assert_eq!(
            verify(&app, None).await?,
            Err(ChainBreak::HeadMismatch { seq: head.seq })
        );
        // A hash that is not even 32 bytes.
        app.db
            .raw_execute(&format!(
                "UPDATE audit_head SET hash = {} WHERE id = 1",
                blob(backend, &[1, 2, 3])
            ))
            .await?;
        assert_eq!(
            verify(&app, None).await?,
            Err(ChainBreak::HeadMismatch { seq: head.seq })
        );
        // Moved forward, past the end.
        set_head(
            &app,
            backend,
            Checkpoint {
                seq: head.seq + 5,
                hash: head.hash,
            },
        )
        .await?;
        assert_eq!(
            verify(&app, None).await?,
            Err(ChainBreak::Truncated {
                last: head.seq,
                expected: head.seq + 5
            })
        );
        // Reset to empty while events remain.
        app.db
            .raw_execute("UPDATE audit_head SET seq = 0 WHERE id = 1")
            .await?;
        assert_eq!(
            verify(&app, None).await?,
            Err(ChainBreak::BeyondHead { seq: 1 })
        );
        Ok(())
    }
);

both_backends!(
    an_event_hash_of_the_wrong_length_is_a_verdict,
    |backend| async move {
        let (app, head) = tampered_app(backend, 3).await?;
        let target = head.seq - 1;
        app.db
            .raw_execute(&format!(
                "UPDATE audit_event SET hash = {} WHERE seq = {target}",
                blob(backend, &[1, 2, 3])
            ))
            .await?;
        assert_eq!(
            verify(&app, None).await?,
            Err(ChainBreak::Altered { seq: target })
        );
        Ok(())
    }
);
