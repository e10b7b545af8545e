//! The store conformance suite: every store operation, driven through the core services, on SQLite and
//! on PostgreSQL. Each test gets a fresh database.

use confidant_core::audit::{ChainBreak, verify_chain};
use confidant_core::clock::FixedClock;
use confidant_core::field::IndexField;
use confidant_core::field::PersonField as F;
use confidant_core::keyring::KeyRingError;
use confidant_core::person::{DuplicateCheck, Lookup, PersonError, PersonInput};
use confidant_core::store::TokenScope;
use confidant_core::store::prelude::*;
use confidant_core::{Confidant, KeyRing, Purpose};
use confidant_crypto::MasterKey;
use confidant_testkit::{Synthetic, TestApp, TestBackend, both_backends, operator, test_time};
use sqlx::Row;

const CANARY_NAME: &str = "Zqxcanaryname";
const CANARY_ADDRESS: &str = "7 Canaryaddressmarker Road";
const CANARY_NHS: &str = "9434765919";

fn canary_input() -> PersonInput {
    PersonInput::new()
        .with(F::GivenName, "Ada")
        .with(F::FamilyName, CANARY_NAME)
        .with(F::DateOfBirth, "1980-02-29")
        .with(F::NhsNumber, "943 476 5919")
        .with(F::NiNumber, "AB 12 34 56 C")
        .with(F::Address, CANARY_ADDRESS)
        .with(F::Postcode, "ls11ba")
        .with(F::Phone, "07700 900123")
        .with(F::Email, "ada@example.org")
}

async fn audit_count(app: &TestApp) -> anyhow::Result<i64> {
    Ok(app
        .confidant
        .store()
        .audit_head()
        .await?
        .map(|h| h.seq)
        .unwrap_or(0))
}

async fn chain_is_intact(app: &TestApp) -> anyhow::Result<()> {
    let verified = verify_chain(app.confidant.store(), None).await?;
    anyhow::ensure!(verified.is_ok(), "chain broken: {verified:?}");
    Ok(())
}

both_backends!(
    a_person_round_trips_and_every_access_is_audited,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let before = audit_count(&app).await?;
        let created = app
            .confidant
            .create_person(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &canary_input(),
            )
            .await?;
        let read = app
            .confidant
            .read_person(&app.worker_a, Purpose::Support, created.id)
            .await?;
        assert_eq!(read.get(F::FamilyName), Some(CANARY_NAME));
        assert_eq!(read.get(F::NhsNumber), Some(CANARY_NHS));
        assert_eq!(read.get(F::NiNumber), Some("AB123456C"));
        assert_eq!(read.get(F::Postcode), Some("LS1 1BA"));
        assert_eq!(read.get(F::DateOfBirth), Some("1980-02-29"));
        assert_eq!(read.get(F::Phone), Some("07700900123"));
        assert_eq!(read.service_id, app.service_a);

        let events = app.confidant.store().audit_events(before + 1, 100).await?;
        let actions: Vec<_> = events
            .iter()
            .map(|e| (e.action.as_str(), e.outcome.as_str()))
            .collect();
        // The look-up for possible duplicates comes first, about no one (ids only, and the person
        // did not exist yet).
        assert_eq!(
            actions,
            [
                ("person.duplicate_check", "ok"),
                ("person.create", "ok"),
                ("person.read", "ok")
            ]
        );
        assert_eq!(events[0].subject_id, None);
        let subject = created.id.to_string();
        assert!(
            events[1..]
                .iter()
                .all(|e| e.subject_id.as_deref() == Some(subject.as_str()))
        );
        assert!(
            events
                .iter()
                .all(|e| e.actor == app.worker_a.audit_id() && e.purpose == "support")
        );
        let about = app
            .confidant
            .store()
            .audit_events_for_subject(created.id, 10)
            .await?;
        assert_eq!(about.len(), 2);
        assert!(about[0].seq > about[1].seq, "newest first");
        chain_is_intact(&app).await
    }
);

both_backends!(
    invalid_input_is_refused_by_field_and_writes_nothing,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let before = audit_count(&app).await?;
        let bad = canary_input()
            .with(F::NhsNumber, "9434765918")
            .with(F::NiNumber, "QQ123456C")
            .with(F::Postcode, "QA1 1AA")
            .with(F::DateOfBirth, "2099-01-01");
        let Err(PersonError::Invalid(v)) = app
            .confidant
            .create_person(&app.worker_a, Purpose::Support, app.service_a, &bad)
            .await
        else {
            anyhow::bail!("expected a refusal");
        };
        let mut fields: Vec<_> = v.0.iter().map(|v| v.field).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["date_of_birth", "nhs_number", "ni_number", "postcode"]
        );
        assert!(!format!("{v:?} {v}").contains("9434765918"));
        assert_eq!(
            audit_count(&app).await?,
            before,
            "nothing written, not even an event"
        );
        let mut raw = app.db.raw().await?;
        let people: i64 = sqlx::query("SELECT COUNT(*) AS n FROM person")
            .fetch_one(&mut raw)
            .await?
            .try_get("n")?;
        assert_eq!(people, 0);
        Ok(())
    }
);

both_backends!(
    a_worker_of_another_service_is_told_not_found_and_the_refusal_is_audited,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let p = app
            .confidant
            .create_person(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &canary_input(),
            )
            .await?;
        let before = audit_count(&app).await?;
        let err = app
            .confidant
            .read_person(&app.worker_b, Purpose::Support, p.id)
            .await
            .expect_err("refused");
        assert!(matches!(err, PersonError::NotFound));
        let missing = app
            .confidant
            .read_person(&app.worker_b, Purpose::Support, uuid::Uuid::now_v7())
            .await
            .expect_err("missing");
        assert!(matches!(missing, PersonError::NotFound));
        let events = app.confidant.store().audit_events(before + 1, 10).await?;
        let outcomes: Vec<_> = events
            .iter()
            .map(|e| (e.action.as_str(), e.outcome.as_str()))
            .collect();
        assert_eq!(
            outcomes,
            [("person.read", "denied"), ("person.read", "not_found")]
        );
        // Administrators and the DPO do not browse records either.
        for actor in [&app.admin, &app.dpo] {
            assert!(matches!(
                app.confidant
                    .read_person(actor, Purpose::Support, p.id)
                    .await,
                Err(PersonError::NotFound)
            ));
        }
        assert!(matches!(
            app.confidant
                .list_people(&app.worker_b, Purpose::Support, app.service_a, None, 10)
                .await,
            Err(PersonError::NotFound)
        ));
        chain_is_intact(&app).await
    }
);

both_backends!(
    updates_replace_and_clear_fields_and_keep_indexes_current,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let p = app
            .confidant
            .create_person(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &canary_input(),
            )
            .await?;
        let change = PersonInput::new()
            .with(F::Phone, "")
            .with(F::NhsNumber, "401 023 2137")
            .with(F::FamilyName, "Lovelace");
        let updated = app
            .confidant
            .update_person(&app.worker_a, Purpose::Support, p.id, &change)
            .await?;
        assert_eq!(updated.get(F::Phone), None);
        assert_eq!(updated.get(F::NhsNumber), Some("4010232137"));
        let again = app
            .confidant
            .read_person(&app.worker_a, Purpose::Support, p.id)
            .await?;
        assert_eq!(again.get(F::FamilyName), Some("Lovelace"));
        assert_eq!(again.get(F::Phone), None);
        assert_eq!(
            again.get(F::Email),
            Some("ada@example.org"),
            "untouched fields stay"
        );
        let find = |field, value: &str| Lookup {
            field,
            value: value.to_owned(),
        };
        let by_new = app
            .confidant
            .find_people(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &find(IndexField::NhsNumber, "4010232137"),
            )
            .await?;
        assert_eq!(by_new, [p.id]);
        let by_old = app
            .confidant
            .find_people(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &find(IndexField::NhsNumber, CANARY_NHS),
            )
            .await?;
        assert!(by_old.is_empty());
        let by_phone = app
            .confidant
            .find_people(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &find(IndexField::Phone, "07700900123"),
            )
            .await?;
        assert!(by_phone.is_empty(), "a cleared field leaves no index");
        // Required names cannot be cleared.
        let clear_name = PersonInput::new().with(F::GivenName, " ");
        assert!(matches!(
            app.confidant
                .update_person(&app.worker_a, Purpose::Support, p.id, &clear_name)
                .await,
            Err(PersonError::Invalid(_))
        ));
        chain_is_intact(&app).await
    }
);

both_backends!(
    identifiers_are_found_by_blind_index_however_they_are_written,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let p = app
            .confidant
            .create_person(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &canary_input(),
            )
            .await?;
        let mut synthetic = Synthetic::new(7);
        for _ in 0..5 {
            app.confidant
                .create_person(
                    &app.worker_a,
                    Purpose::Support,
                    app.service_a,
                    &synthetic.person(),
                )
                .await?;
        }
        for (field, value) in [
            (IndexField::NhsNumber, "943-476-5919"),
            (IndexField::NiNumber, "ab123456c"),
            (IndexField::Postcode, "LS1 1BA"),
            (IndexField::Phone, "+44 7700 900123"),
            (IndexField::Email, "ADA@example.org"),
        ] {
            let lookup = Lookup {
                field,
                value: value.to_owned(),
            };
            let found = app
                .confidant
                .find_people(&app.worker_a, Purpose::Support, app.service_a, &lookup)
                .await?;
            assert_eq!(found, [p.id], "{}", field.code());
            // Another service's worker finds nothing in their own service and may not search ours.
            assert!(
                app.confidant
                    .find_people(&app.worker_b, Purpose::Support, app.service_b, &lookup)
                    .await?
                    .is_empty()
            );
            assert!(matches!(
                app.confidant
                    .find_people(&app.worker_b, Purpose::Support, app.service_a, &lookup)
                    .await,
                Err(PersonError::NotFound)
            ));
        }
        // The index is a keyed digest: the identifier is not in the database in any form.
        let raw = app.db.raw_bytes()?;
        assert!(!contains(&raw, CANARY_NHS.as_bytes()));
        chain_is_intact(&app).await
    }
);

both_backends!(
    lists_page_through_a_service_in_id_order,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let mut synthetic = Synthetic::new(1);
        let mut ids = Vec::new();
        for _ in 0..7 {
            ids.push(
                app.confidant
                    .create_person(
                        &app.worker_a,
                        Purpose::Support,
                        app.service_a,
                        &synthetic.person(),
                    )
                    .await?
                    .id,
            );
        }
        app.confidant
            .create_person(
                &app.worker_b,
                Purpose::Support,
                app.service_b,
                &synthetic.person(),
            )
            .await?;
        ids.sort();
        let first = app
            .confidant
            .list_people(&app.worker_a, Purpose::Support, app.service_a, None, 4)
            .await?;
        let rest = app
            .confidant
            .list_people(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                first.last().map(|p| p.id),
                4,
            )
            .await?;
        let listed: Vec<_> = first.iter().chain(&rest).map(|p| p.id).collect();
        assert_eq!(listed, ids);
        assert!(
            first
                .iter()
                .all(|p| !p.given_name.is_empty() && !p.family_name.is_empty())
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    destroying_a_person_removes_their_key_and_their_data,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let p = app
            .confidant
            .create_person(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &canary_input(),
            )
            .await?;
        // Only the DPO may destroy a record.
        assert!(matches!(
            app.confidant
                .destroy_person(
                    &app.worker_a,
                    Purpose::Administration,
                    p.id,
                    "dpo_decision",
                    "Destroyed for this test"
                )
                .await,
            Err(PersonError::NotFound)
        ));
        let mut raw = app.db.raw().await?;
        // The wrapped key is in the key store, not in the data.
        let wrapped: Vec<u8> = sqlx::query("SELECT wrapped FROM vault_key WHERE owner_id = $1")
            .bind(p.id.to_string())
            .fetch_one(&mut app.db.raw_keys().await?)
            .await?
            .try_get("wrapped")?;
        assert!(!contains(&app.db.raw_bytes()?, &wrapped));
        let sealed_before: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM person_field WHERE person_id = $1")
                .bind(p.id.to_string())
                .fetch_one(&mut raw)
                .await?
                .try_get("n")?;
        assert!(sealed_before >= 9);

        app.confidant
            .destroy_person(
                &app.dpo,
                Purpose::Administration,
                p.id,
                "dpo_decision",
                "Destroyed for this test",
            )
            .await?;
        assert!(matches!(
            app.confidant
                .read_person(&app.worker_a, Purpose::Support, p.id)
                .await,
            Err(PersonError::NotFound)
        ));
        let lookup = Lookup {
            field: IndexField::NhsNumber,
            value: CANARY_NHS.to_owned(),
        };
        assert!(
            app.confidant
                .find_people(&app.worker_a, Purpose::Support, app.service_a, &lookup)
                .await?
                .is_empty()
        );
        // The sealed values are gone from the database with the key that opened them.
        let sealed_after: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM person_field WHERE person_id = $1")
                .bind(p.id.to_string())
                .fetch_one(&mut raw)
                .await?
                .try_get("n")?;
        assert_eq!(sealed_after, 0);
        app.confidant.store().checkpoint_wal().await?;
        let bytes = app.db.raw_bytes()?;
        assert!(
            !contains(&bytes, &wrapped),
            "the wrapped key is not in the raw database"
        );
        assert!(
            !contains(&app.db.raw_key_bytes()?, &wrapped),
            "the wrapped key is gone from the key store"
        );
        assert!(!app.confidant.store().key_store_holds(p.id).await?);
        assert!(!contains(&bytes, CANARY_NAME.as_bytes()));
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_sealed_value_copied_to_another_row_does_not_open,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let a = app
            .confidant
            .create_person(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &canary_input(),
            )
            .await?;
        let b = app
            .confidant
            .create_person(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &Synthetic::new(3).person(),
            )
            .await?;
        // Copy a's family name over b's, and a's given name over a's family name.
        app.db
        .raw_execute(&format!(
            "UPDATE person_field SET value = (SELECT value FROM person_field WHERE person_id = '{a}' AND field = 'family_name') \
             WHERE person_id = '{b}' AND field = 'family_name'",
            a = a.id,
            b = b.id
        ))
        .await?;
        assert!(matches!(
            app.confidant
                .read_person(&app.worker_a, Purpose::Support, b.id)
                .await,
            Err(PersonError::Crypto(_))
        ));
        app.db
        .raw_execute(&format!(
            "UPDATE person_field SET value = (SELECT value FROM person_field WHERE person_id = '{a}' AND field = 'given_name') \
             WHERE person_id = '{a}' AND field = 'family_name'",
            a = a.id
        ))
        .await?;
        assert!(matches!(
            app.confidant
                .read_person(&app.worker_a, Purpose::Support, a.id)
                .await,
            Err(PersonError::Crypto(_))
        ));
        Ok(())
    }
);

both_backends!(
    rotating_the_master_key_rewraps_every_key_and_retires_the_old_one,
    |backend| async move {
        let mut app = TestApp::new(backend).await?;
        let mut synthetic = Synthetic::new(11);
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(
                app.confidant
                    .create_person(
                        &app.worker_a,
                        Purpose::Support,
                        app.service_a,
                        &synthetic.person(),
                    )
                    .await?
                    .id,
            );
        }
        let sealed_before: Vec<Vec<u8>> = {
            let mut raw = app.db.raw().await?;
            sqlx::query("SELECT value FROM person_field ORDER BY person_id, field")
                .fetch_all(&mut raw)
                .await?
                .iter()
                .map(|r| r.try_get("value"))
                .collect::<Result<_, _>>()?
        };
        let new_master = MasterKey::generate();
        // Practitioners may not rotate keys; the operator may.
        assert!(
            app.confidant
                .rotate_master_key(&app.admin, new_master.clone())
                .await
                .is_err()
        );
        let rotation = app
            .confidant
            .rotate_master_key(&operator(), new_master.clone())
            .await?;
        assert_eq!(rotation.data_keys, 5);
        assert_eq!(rotation.new_key_id, new_master.key_id());
        for id in &ids {
            app.confidant
                .read_person(&app.worker_a, Purpose::Support, *id)
                .await?;
        }
        // Sealed data was not re-encrypted.
        let mut raw = app.db.raw().await?;
        let sealed_after: Vec<Vec<u8>> =
            sqlx::query("SELECT value FROM person_field ORDER BY person_id, field")
                .fetch_all(&mut raw)
                .await?
                .iter()
                .map(|r| r.try_get("value"))
                .collect::<Result<_, _>>()?;
        assert_eq!(sealed_before, sealed_after);
        let store = app.db.store().await?;
        let old = KeyRing::open(&store, app.master.clone())
            .await
            .expect_err("old key refused");
        assert!(matches!(old, KeyRingError::WrongMasterKey { .. }));
        // A fresh process with the new key reads everything and finds by index as before.
        let reopened = Confidant::new(
            store,
            KeyRing::open(&app.db.store().await?, new_master).await?,
            FixedClock::at(test_time()),
        );
        let first = reopened
            .read_person(&app.worker_a, Purpose::Support, ids[0])
            .await?;
        let nhs = first.get(F::NhsNumber).unwrap_or_default().to_owned();
        let found = reopened
            .find_people(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &Lookup {
                    field: IndexField::NhsNumber,
                    value: nhs,
                },
            )
            .await?;
        assert_eq!(found, [ids[0]]);
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_process_on_a_rotated_away_key_cannot_write_keys,
    |backend| async move {
        let mut app = TestApp::new(backend).await?;
        let stale = Confidant::new(
            app.db.store().await?,
            KeyRing::open(&app.db.store().await?, app.master.clone()).await?,
            FixedClock::at(test_time()),
        );
        app.confidant
            .rotate_master_key(&operator(), MasterKey::generate())
            .await?;
        let err = stale
            .create_person(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &canary_input(),
            )
            .await
            .expect_err("refused");
        assert!(matches!(err, PersonError::Conflict(_)), "{err:?}");
        chain_is_intact(&app).await
    }
);

both_backends!(
    initialising_twice_keeps_the_first_keys_and_a_wrong_key_is_refused,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let store = app.db.store().await?;
        let again = KeyRing::initialise(&store, app.master.clone()).await?;
        assert_eq!(again.master_key_id(), app.master.key_id());
        let wrong = KeyRing::initialise(&store, MasterKey::generate())
            .await
            .expect_err("refused");
        assert!(matches!(wrong, KeyRingError::WrongMasterKey { .. }));
        let keys = store
            .installation_keys()
            .await?
            .ok_or_else(|| anyhow::anyhow!("no keys"))?;
        assert_eq!(keys.master_key_id, app.master.key_id());
        Ok(())
    }
);

both_backends!(
    concurrent_writers_leave_one_linear_intact_chain,
    |backend| async move {
        let app = std::sync::Arc::new(TestApp::new(backend).await?);
        let before = audit_count(&app).await?;
        let mut tasks = Vec::new();
        for i in 0..16u64 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let mut s = Synthetic::new(100 + i);
                for _ in 0..3 {
                    let p = app
                        .confidant
                        .create_person(&app.worker_a, Purpose::Support, app.service_a, &s.person())
                        .await?;
                    app.confidant
                        .read_person(&app.worker_a, Purpose::Support, p.id)
                        .await?;
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        // Each person: a look-up for duplicates, the creation and the read.
        assert_eq!(audit_count(&app).await?, before + 16 * 3 * 3);
        chain_is_intact(&app).await
    }
);

both_backends!(
    the_audit_log_refuses_edits_and_verification_names_the_first_tampered_event,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        // The same person three times, confirmed as different: three events and no look-ups.
        for _ in 0..3 {
            app.confidant
                .create_person_with(
                    &app.worker_a,
                    Purpose::Support,
                    app.service_a,
                    &canary_input(),
                    DuplicateCheck::Confirmed,
                )
                .await?;
        }
        let err = app
            .db
            .raw_execute("UPDATE audit_event SET outcome = 'denied' WHERE seq = 3")
            .await
            .expect_err("trigger refuses");
        assert!(err.to_string().contains("append-only"), "{err}");
        assert!(
            app.db
                .raw_execute("DELETE FROM audit_event WHERE seq = 3")
                .await
                .is_err()
        );
        // Someone with raw access removes the protection and edits anyway: verification finds it.
        match backend {
            TestBackend::Sqlite => {
                app.db
                    .raw_execute("DROP TRIGGER audit_event_no_update")
                    .await?;
            }
            TestBackend::Postgres => {
                app.db
                    .raw_execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
                    .await?;
            }
        }
        app.db
            .raw_execute("UPDATE audit_event SET outcome = 'denied' WHERE seq = 3")
            .await?;
        let result = verify_chain(app.confidant.store(), None).await?;
        assert_eq!(result, Err(ChainBreak::Altered { seq: 3 }));
        Ok(())
    }
);

both_backends!(
    api_tokens_authenticate_until_they_expire,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let staff = app
            .confidant
            .staff_by_handle("worker.a")
            .await?
            .ok_or_else(|| anyhow::anyhow!("no staff"))?;
        let token = app
            .confidant
            .issue_token(
                &operator(),
                &staff,
                time::Duration::days(1),
                TokenScope::Read,
            )
            .await?;
        assert_eq!(
            app.confidant.authenticate_token(token.expose()).await?,
            Some((app.worker_a.clone(), TokenScope::Read))
        );
        assert_eq!(
            app.confidant.authenticate_token("cft_nonsense").await?,
            None
        );
        let forged = format!("cft_{}", "0".repeat(64));
        assert_eq!(app.confidant.authenticate_token(&forged).await?, None);
        app.confidant
            .clock()
            .advance(time::Duration::minutes(24 * 60 + 1));
        assert_eq!(
            app.confidant.authenticate_token(token.expose()).await?,
            None
        );
        // The token itself is nowhere in the database.
        assert!(!contains(&app.db.raw_bytes()?, token.expose().as_bytes()));
        Ok(())
    }
);

both_backends!(
    organisations_and_services_are_administered_and_audited,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let orgs = app.confidant.organisations().await?;
        assert_eq!(orgs.len(), 1);
        let services = app.confidant.services(&app.admin, app.organisation).await?;
        assert_eq!(services.len(), 2);
        let extra = app
            .confidant
            .create_service(&app.admin, app.organisation, "Housing Support")
            .await?;
        assert_eq!(
            app.confidant
                .services(&app.worker_a, app.organisation)
                .await?
                .len(),
            3
        );
        assert!(
            app.confidant
                .create_service(&app.worker_a, app.organisation, "Rogue")
                .await
                .is_err()
        );
        assert!(
            app.confidant
                .create_service(&app.admin, app.organisation, "Housing Support")
                .await
                .is_err(),
            "duplicate"
        );
        assert!(
            app.confidant
                .create_service(&app.admin, app.organisation, " ")
                .await
                .is_err(),
            "blank"
        );
        let staff = app
            .confidant
            .create_staff(
                &app.admin,
                app.organisation,
                Some(extra.id),
                confidant_core::Role::Practitioner,
                "housing.worker",
            )
            .await?;
        assert_eq!(
            app.confidant.staff_by_handle("housing.worker").await?,
            Some(staff)
        );
        assert!(
            app.confidant
                .create_staff(
                    &app.admin,
                    app.organisation,
                    None,
                    confidant_core::Role::Auditor,
                    "Bad Handle!"
                )
                .await
                .is_err()
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    no_identifying_value_reaches_the_database_in_the_clear,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let p = app
            .confidant
            .create_person(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &canary_input(),
            )
            .await?;
        app.confidant
            .read_person(&app.worker_a, Purpose::Support, p.id)
            .await?;
        let bytes = app.db.raw_bytes()?;
        assert!(bytes.len() > 1000, "the dump/file was read");
        for marker in [
            CANARY_NAME,
            "Canaryaddressmarker",
            CANARY_NHS,
            "AB123456C",
            "ada@example.org",
            "07700900123",
            "LS1 1BA",
        ] {
            assert!(
                !contains(&bytes, marker.as_bytes()),
                "{marker} found in the raw database"
            );
        }
        Ok(())
    }
);

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[path = "conformance/schema_parity.rs"]
mod schema_parity;
