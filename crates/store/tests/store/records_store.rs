//! The record stores of migration 3 (service configuration, corrections, related people, referrals,
//! cases, entries, documents), called directly on SQLite and on PostgreSQL.
//!
//! Outside `confidant-core`, an [`AuditDraft`] and a [`PersonAccess`] are made only from a permit.
//! This suite tests the ports themselves, so it makes them with the constructors of core's
//! `testing` feature (enabled only here): a fresh draft for each call, as core spends one per access.

use confidant_core::access::PersonAccess;
use confidant_core::audit::{AuditDraft, verify_chain};
use confidant_core::clock::FixedClock;
use confidant_core::field::{FieldGroup, FieldGroups, IndexField, PersonField, RecordKind};
use confidant_core::store::*;
use confidant_core::{Confidant, KeyRing, Role};
use confidant_crypto::MasterKey;
use confidant_store::SqlStore;
use confidant_testkit::{TestBackend, TestDb, both_backends, operator, test_time};
use uuid::Uuid;

/// A fresh database with an organisation, two services and a member of staff.
struct Fixture {
    db: TestDb,
    store: SqlStore,
    master_key_id: String,
    service: Uuid,
    other_service: Uuid,
    staff: Uuid,
}

impl Fixture {
    async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        let db = TestDb::new(backend).await?;
        let store = db.store().await?;
        let keys = KeyRing::initialise(&store, MasterKey::generate()).await?;
        let confidant = Confidant::new(store.clone(), keys, FixedClock::at(test_time()));
        let org = confidant
            .create_organisation(&operator(), "Northgate Recovery Trust")
            .await?;
        let a = confidant
            .create_service(&operator(), org.id, "Recovery Service")
            .await?;
        let b = confidant
            .create_service(&operator(), org.id, "Employment Support")
            .await?;
        let staff = confidant
            .create_staff(
                &operator(),
                org.id,
                Some(a.id),
                Role::Practitioner,
                "worker.a",
            )
            .await?;
        let master_key_id = store
            .installation_keys()
            .await?
            .ok_or_else(|| anyhow::anyhow!("no keys"))?
            .master_key_id;
        Ok(Self {
            db,
            store,
            master_key_id,
            service: a.id,
            other_service: b.id,
            staff: staff.id,
        })
    }

    /// A draft for one port call (each call spends its own).
    fn draft(&self) -> AuditDraft {
        AuditDraft::for_tests("test.store", None, test_time())
    }

    /// The access a permit on `person` would give.
    fn access(&self, person: Uuid) -> PersonAccess {
        PersonAccess::for_tests(person)
    }

    fn key(&self, owner: Uuid) -> WrappedDataKey {
        WrappedDataKey {
            owner_id: owner,
            version: 1,
            master_key_id: self.master_key_id.clone(),
            wrapped: vec![7; 40],
        }
    }

    async fn seq(&self) -> anyhow::Result<i64> {
        Ok(self.store.audit_head().await?.map_or(0, |h| h.seq))
    }

    async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        let mut raw = self.db.raw().await?;
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut raw)
            .await?;
        Ok(n)
    }

    async fn person(
        &self,
        service: Uuid,
        indexes: &[(IndexField, [u8; 16])],
    ) -> anyhow::Result<SealedPerson> {
        let person = SealedPerson {
            id: Uuid::now_v7(),
            service_id: service,
            team_id: None,
            key_worker_id: None,
            key_version: 1,
            record_number: 0,
            fields: vec![
                (PersonField::GivenName, b"sealed given".to_vec()),
                (PersonField::Phone, b"sealed phone".to_vec()),
            ],
            name_grams: Vec::new(),
            created_at_micros: 1_000,
            updated_at_micros: 1_000,
        };
        self.store
            .create_person(&person, indexes, &self.key(person.id), self.draft())
            .await?;
        Ok(person)
    }

    async fn chain_is_intact(&self) -> anyhow::Result<()> {
        let verified = verify_chain(&self.store, None).await?;
        anyhow::ensure!(verified.is_ok(), "chain broken: {verified:?}");
        Ok(())
    }
}

fn stamp(at: i64) -> ChangeStamp {
    ChangeStamp {
        by: "staff:test".to_owned(),
        at_micros: at,
    }
}

fn fields(pairs: &[(&str, &[u8])]) -> SealedFields {
    pairs
        .iter()
        .map(|(f, v)| ((*f).to_owned(), v.to_vec()))
        .collect()
}

both_backends!(
    the_records_schema_is_on_both_backends,
    |backend| async move {
        let fx = Fixture::new(backend).await?;
        for table in [
            "service_config",
            "field_version",
            "record_field",
            "related_person",
            "referral",
            "triage_event",
            "referral_index",
            "case_episode",
            "record_entry",
            "document",
        ] {
            assert_eq!(fx.count(&format!("SELECT COUNT(*) FROM {table}")).await?, 0);
        }
        Ok(())
    }
);

both_backends!(service_config_round_trips, |backend| async move {
    let fx = Fixture::new(backend).await?;
    assert_eq!(fx.store.service_config(fx.service).await?, None);
    let before = fx.seq().await?;
    let mut config = ServiceConfig {
        service_id: fx.service,
        field_groups: FieldGroups::new([FieldGroup::Health]),
        referrals: ReferralPolicy::PartnerOnly,
        partner_service_id: Some(fx.other_service),
    };
    fx.store.set_service_config(&config, fx.draft()).await?;
    assert_eq!(
        fx.store.service_config(fx.service).await?,
        Some(config.clone())
    );
    config.field_groups = FieldGroups::all();
    config.referrals = ReferralPolicy::SelfOnly;
    config.partner_service_id = None;
    fx.store.set_service_config(&config, fx.draft()).await?;
    assert_eq!(fx.store.service_config(fx.service).await?, Some(config));
    assert_eq!(fx.seq().await? - before, 2, "each change is audited");
    assert_eq!(fx.store.service_config(fx.other_service).await?, None);
    fx.db
        .raw_execute("UPDATE service_config SET referrals = 'everyone'")
        .await?;
    assert!(matches!(
        fx.store.service_config(fx.service).await,
        Err(StoreError::Backend(m)) if m.contains("unknown")
    ));
    fx.chain_is_intact().await
});

both_backends!(
    a_person_update_keeps_what_it_replaces,
    |backend| async move {
        let fx = Fixture::new(backend).await?;
        let p = fx.person(fx.service, &[]).await?;
        let before = fx.seq().await?;
        let changes = vec![
            (PersonField::GivenName, Some(b"sealed given 2".to_vec())),
            (PersonField::Phone, None),
            (PersonField::Email, Some(b"sealed email".to_vec())),
        ];
        // The clock behind the stored time still moves the record forward.
        assert!(
            fx.store
                .update_person(
                    &fx.access(p.id),
                    &changes,
                    &[],
                    None,
                    1_000,
                    &stamp(500),
                    fx.draft()
                )
                .await?
        );
        let history = fx.store.field_history(p.id, fx.draft()).await?;
        assert_eq!(
            fx.seq().await? - before,
            2,
            "the update and the history read"
        );
        let got: Vec<_> = history
            .iter()
            .map(|v| (v.field.as_str(), v.value.as_slice()))
            .collect();
        assert_eq!(
            got,
            [
                ("given_name", b"sealed given".as_slice()),
                ("phone", b"sealed phone".as_slice())
            ],
            "replaced and removed values, oldest first; a new value has no history"
        );
        assert!(history.iter().all(|v| v.record_id == p.id
            && v.key_version == 1
            && v.changed_by == "staff:test"
            && v.changed_at_micros == 500));
        let (read, _) = fx
            .store
            .read_person(&fx.access(p.id), fx.draft())
            .await?
            .ok_or_else(|| anyhow::anyhow!("gone"))?;
        assert_eq!(read.updated_at_micros, 1_001);
        assert_eq!(read.fields.len(), 2);
        // A stale expectation is refused and writes nothing.
        let n = fx.count("SELECT COUNT(*) FROM field_version").await?;
        assert_eq!(
            fx.store
                .update_person(
                    &fx.access(p.id),
                    &changes,
                    &[],
                    None,
                    1_000,
                    &stamp(2_000),
                    fx.draft()
                )
                .await,
            Err(StoreError::Conflict(
                "the record changed meanwhile; read it again"
            ))
        );
        assert_eq!(fx.count("SELECT COUNT(*) FROM field_version").await?, n);
        assert!(
            !fx.store
                .update_person(
                    &fx.access(Uuid::now_v7()),
                    &changes,
                    &[],
                    None,
                    1_001,
                    &stamp(2_000),
                    fx.draft()
                )
                .await?
        );
        assert!(
            fx.store
                .update_person(
                    &fx.access(p.id),
                    &changes,
                    &[],
                    None,
                    1_001,
                    &stamp(2_000),
                    fx.draft()
                )
                .await?
        );
        let (read, _) = fx
            .store
            .read_person(&fx.access(p.id), fx.draft())
            .await?
            .ok_or_else(|| anyhow::anyhow!("gone"))?;
        assert_eq!(read.updated_at_micros, 2_000);
        assert_eq!(fx.store.field_history(p.id, fx.draft()).await?.len(), 4);
        fx.chain_is_intact().await
    }
);

both_backends!(related_people_come_and_go, |backend| async move {
    let fx = Fixture::new(backend).await?;
    let victim = fx.person(fx.service, &[]).await?;
    let perpetrator = fx.person(fx.other_service, &[]).await?;
    let related = RelatedRecord {
        id: Uuid::now_v7(),
        person_id: victim.id,
        relationship: Relationship::AllegedPerpetrator,
        linked_person_id: Some(perpetrator.id),
        key_version: 1,
        created_by: "staff:test".to_owned(),
        created_at_micros: 2_000,
    };
    let sealed = fields(&[("name", b"sealed name"), ("notes", b"sealed notes")]);
    let mut rotated = fx.key(related.id);
    rotated.master_key_id = "another".to_owned();
    let before = fx.seq().await?;
    assert!(matches!(
        fx.store
            .add_related(&related, &sealed, &rotated, fx.draft())
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(fx.seq().await?, before, "nothing written");
    fx.store
        .add_related(&related, &sealed, &fx.key(related.id), fx.draft())
        .await?;
    let child = RelatedRecord {
        id: Uuid::now_v7(),
        relationship: Relationship::Child,
        linked_person_id: None,
        created_at_micros: 3_000,
        ..related.clone()
    };
    fx.store
        .add_related(&child, &vec![], &fx.key(child.id), fx.draft())
        .await?;
    let all = fx
        .store
        .related_of(&fx.access(victim.id), fx.draft())
        .await?;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], (related.clone(), sealed, fx.key(related.id)));
    assert_eq!(all[1], (child.clone(), vec![], fx.key(child.id)));
    assert!(
        fx.store
            .related_of(&fx.access(perpetrator.id), fx.draft())
            .await?
            .is_empty()
    );
    assert!(
        fx.store
            .is_alleged_perpetrator_in(&fx.access(victim.id), perpetrator.id)
            .await?
    );
    assert!(
        !fx.store
            .is_alleged_perpetrator_in(&fx.access(perpetrator.id), victim.id)
            .await?
    );
    assert!(
        !fx.store
            .remove_related(related.id, &fx.access(perpetrator.id), fx.draft())
            .await?,
        "only from the record it is in"
    );
    let before = fx.seq().await?;
    assert!(
        fx.store
            .remove_related(related.id, &fx.access(victim.id), fx.draft())
            .await?
    );
    assert_eq!(fx.seq().await? - before, 1);
    let rid = related.id;
    assert_eq!(
        fx.count(&format!(
            "SELECT COUNT(*) FROM record_field WHERE record_id = '{rid}'"
        ))
        .await?,
        0
    );
    assert_eq!(
        fx.count(&format!(
            "SELECT COUNT(*) FROM data_key WHERE owner_id = '{rid}'"
        ))
        .await?,
        0
    );
    assert!(
        !fx.store
            .is_alleged_perpetrator_in(&fx.access(victim.id), perpetrator.id)
            .await?
    );
    assert!(
        !fx.store
            .remove_related(related.id, &fx.access(victim.id), fx.draft())
            .await?
    );
    assert_eq!(
        fx.store
            .related_of(&fx.access(victim.id), fx.draft())
            .await?
            .len(),
        1
    );
    fx.chain_is_intact().await
});

fn referral(service: Uuid, received_at: i64) -> ReferralRecord {
    ReferralRecord {
        id: Uuid::now_v7(),
        service_id: service,
        source: ReferralSource::Professional,
        partner_person_id: None,
        state: TriageState::Received,
        received_at_micros: received_at,
        last_contact_at_micros: None,
        decided_at_micros: None,
        person_id: None,
        case_id: None,
        key_version: 1,
        created_by: "staff:intake".to_owned(),
    }
}

both_backends!(
    referrals_move_through_triage_and_a_declined_one_is_erased,
    |backend| async move {
        let fx = Fixture::new(backend).await?;
        let nhs = [1u8; 16];
        let phone = [2u8; 16];
        let existing = fx
            .person(fx.service, &[(IndexField::NhsNumber, nhs)])
            .await?;
        let _elsewhere = fx
            .person(fx.other_service, &[(IndexField::NhsNumber, nhs)])
            .await?;
        let first = referral(fx.service, 10_000);
        let second = referral(fx.service, 20_000);
        let sealed = fields(&[("given_name", b"sealed a"), ("reason", b"sealed b")]);
        let before = fx.seq().await?;
        for r in [&first, &second] {
            fx.store
                .create_referral(
                    r,
                    &sealed,
                    &[(IndexField::NhsNumber, nhs), (IndexField::Phone, phone)],
                    &fx.key(r.id),
                    fx.draft(),
                )
                .await?;
        }
        assert_eq!(fx.seq().await? - before, 2);
        assert_eq!(fx.store.referral(first.id).await?, Some(first.clone()));
        assert_eq!(fx.store.referral(Uuid::now_v7()).await?, None);
        assert_eq!(
            fx.store.triage_events(first.id).await?,
            [TriageEvent {
                referral_id: first.id,
                state: TriageState::Received,
                at_micros: 10_000,
                actor: "staff:intake".to_owned(),
            }]
        );
        let (r, f, k) = fx
            .store
            .read_referral(first.id, fx.draft())
            .await?
            .ok_or_else(|| anyhow::anyhow!("missing"))?;
        assert_eq!(
            (r, f, k),
            (first.clone(), sealed.clone(), Some(fx.key(first.id)))
        );
        let before = fx.seq().await?;
        assert_eq!(
            fx.store.read_referral(Uuid::now_v7(), fx.draft()).await?,
            None
        );
        assert_eq!(
            fx.seq().await?,
            before,
            "nothing found, nothing written here"
        );

        let listed = fx
            .store
            .referrals(fx.service, true, &["reason"], 10, fx.draft())
            .await?;
        assert_eq!(
            listed.iter().map(|(r, ..)| r.id).collect::<Vec<_>>(),
            [second.id, first.id],
            "newest first"
        );
        assert_eq!(listed[0].1, fields(&[("reason", b"sealed b")]));
        assert_eq!(
            fx.store
                .referrals(fx.service, true, &[], 1, fx.draft())
                .await?
                .len(),
            1
        );

        let (people, referrals) = fx
            .store
            .duplicate_candidates(fx.service, &[(IndexField::NhsNumber, nhs)], Some(first.id))
            .await?;
        assert_eq!(people, [existing.id]);
        assert_eq!(referrals, [second.id]);
        let (people, mut referrals) = fx
            .store
            .duplicate_candidates(
                fx.service,
                &[(IndexField::NhsNumber, nhs), (IndexField::Phone, phone)],
                None,
            )
            .await?;
        referrals.dedup();
        assert_eq!(people, [existing.id]);
        let mut both = vec![first.id, second.id];
        both.sort();
        assert_eq!(referrals, both);
        assert_eq!(
            fx.store
                .duplicate_candidates(fx.service, &[(IndexField::Email, nhs)], None)
                .await?,
            (vec![], vec![])
        );

        // Contact attempted, twice; a stale step is refused.
        assert!(
            fx.store
                .move_referral(
                    first.id,
                    TriageState::Received,
                    TriageState::ContactAttempted,
                    &stamp(11_000),
                    fx.draft()
                )
                .await?
        );
        assert!(
            !fx.store
                .move_referral(
                    first.id,
                    TriageState::Received,
                    TriageState::Withdrawn,
                    &stamp(11_500),
                    fx.draft()
                )
                .await?
        );
        assert!(
            fx.store
                .move_referral(
                    first.id,
                    TriageState::ContactAttempted,
                    TriageState::ContactAttempted,
                    &stamp(12_000),
                    fx.draft()
                )
                .await?
        );
        let moved = fx
            .store
            .referral(first.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("missing"))?;
        assert_eq!(moved.state, TriageState::ContactAttempted);
        assert_eq!(moved.last_contact_at_micros, Some(12_000));
        assert_eq!(moved.decided_at_micros, None);

        // Declining erases what was received.
        let before = fx.seq().await?;
        assert!(
            fx.store
                .move_referral(
                    first.id,
                    TriageState::ContactAttempted,
                    TriageState::Declined,
                    &stamp(13_000),
                    fx.draft()
                )
                .await?
        );
        assert_eq!(fx.seq().await? - before, 1);
        let (r, f, k) = fx
            .store
            .read_referral(first.id, fx.draft())
            .await?
            .ok_or_else(|| anyhow::anyhow!("missing"))?;
        assert_eq!(r.state, TriageState::Declined);
        assert_eq!(r.decided_at_micros, Some(13_000));
        assert_eq!(r.last_contact_at_micros, Some(12_000));
        assert!(f.is_empty());
        assert_eq!(k, None);
        let id = first.id;
        for sql in [
            format!("SELECT COUNT(*) FROM record_field WHERE record_id = '{id}'"),
            format!("SELECT COUNT(*) FROM referral_index WHERE referral_id = '{id}'"),
            format!("SELECT COUNT(*) FROM data_key WHERE owner_id = '{id}'"),
        ] {
            assert_eq!(fx.count(&sql).await?, 0, "{sql}");
        }
        let states: Vec<_> = fx
            .store
            .triage_events(first.id)
            .await?
            .iter()
            .map(|e| (e.state, e.at_micros))
            .collect();
        assert_eq!(
            states,
            [
                (TriageState::Received, 10_000),
                (TriageState::ContactAttempted, 11_000),
                (TriageState::ContactAttempted, 12_000),
                (TriageState::Declined, 13_000),
            ]
        );
        let open = fx
            .store
            .referrals(fx.service, true, &[], 10, fx.draft())
            .await?;
        assert_eq!(open.len(), 1);
        let all = fx
            .store
            .referrals(fx.service, false, &[], 10, fx.draft())
            .await?;
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].0.id, first.id);
        assert!(all[1].1.is_empty() && all[1].2.is_none());
        // The other outcome: withdrawn keeps its details.
        assert!(
            fx.store
                .move_referral(
                    second.id,
                    TriageState::Received,
                    TriageState::Withdrawn,
                    &stamp(21_000),
                    fx.draft()
                )
                .await?
        );
        let (r, f, k) = fx
            .store
            .read_referral(second.id, fx.draft())
            .await?
            .ok_or_else(|| anyhow::anyhow!("missing"))?;
        assert_eq!(r.decided_at_micros, Some(21_000));
        assert_eq!(r.last_contact_at_micros, None);
        assert_eq!(f.len(), 2);
        assert!(k.is_some());
        let (_, referrals) = fx
            .store
            .duplicate_candidates(fx.service, &[(IndexField::NhsNumber, nhs)], None)
            .await?;
        assert!(referrals.is_empty(), "only open referrals are candidates");
        fx.db
            .raw_execute("UPDATE referral SET state = 'lost'")
            .await?;
        assert!(matches!(
            fx.store.referral(first.id).await,
            Err(StoreError::Backend(m)) if m.contains("unknown")
        ));
        fx.chain_is_intact().await
    }
);

fn case_of(person: Uuid, service: Uuid, opened_at: i64) -> CaseRecord {
    CaseRecord {
        id: Uuid::now_v7(),
        person_id: person,
        service_id: service,
        key_worker_id: None,
        opened_at_micros: opened_at,
        opened_by: "staff:test".to_owned(),
        closed_at_micros: None,
        closed_by: None,
        closure_reason: None,
    }
}

both_backends!(
    accepting_a_referral_creates_the_person_and_their_case,
    |backend| async move {
        let fx = Fixture::new(backend).await?;
        let r = referral(fx.service, 10_000);
        fx.store
            .create_referral(&r, &vec![], &[], &fx.key(r.id), fx.draft())
            .await?;
        let person = SealedPerson {
            id: Uuid::now_v7(),
            service_id: fx.service,
            team_id: None,
            key_worker_id: None,
            key_version: 1,
            record_number: 0,
            fields: vec![(PersonField::GivenName, b"sealed".to_vec())],
            name_grams: Vec::new(),
            created_at_micros: 15_000,
            updated_at_micros: 15_000,
        };
        let mut case = case_of(person.id, fx.service, 15_000);
        case.key_worker_id = Some(fx.staff);
        let nhs = [3u8; 16];
        // A process on a rotated-away key writes nothing.
        let mut rotated = fx.key(person.id);
        rotated.master_key_id = "gone".to_owned();
        let before = fx.seq().await?;
        assert!(matches!(
            fx.store
                .accept_referral(
                    r.id,
                    TriageState::Received,
                    &person,
                    &[(IndexField::NhsNumber, nhs)],
                    &rotated,
                    &case,
                    &stamp(15_000),
                    fx.draft(),
                )
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(fx.seq().await?, before);
        assert_eq!(
            fx.store.referral(r.id).await?.map(|r| r.state),
            Some(TriageState::Received)
        );
        assert_eq!(fx.count("SELECT COUNT(*) FROM person").await?, 0);
        // Moved meanwhile: nothing.
        assert!(
            !fx.store
                .accept_referral(
                    r.id,
                    TriageState::ContactAttempted,
                    &person,
                    &[(IndexField::NhsNumber, nhs)],
                    &fx.key(person.id),
                    &case,
                    &stamp(15_000),
                    fx.draft(),
                )
                .await?
        );
        assert!(
            fx.store
                .accept_referral(
                    r.id,
                    TriageState::Received,
                    &person,
                    &[(IndexField::NhsNumber, nhs)],
                    &fx.key(person.id),
                    &case,
                    &stamp(15_000),
                    fx.draft(),
                )
                .await?
        );
        assert_eq!(fx.seq().await? - before, 1);
        let accepted = fx
            .store
            .referral(r.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("missing"))?;
        assert_eq!(accepted.state, TriageState::Accepted);
        assert_eq!(accepted.person_id, Some(person.id));
        assert_eq!(accepted.case_id, Some(case.id));
        assert_eq!(accepted.decided_at_micros, Some(15_000));
        assert_eq!(
            fx.store.triage_events(r.id).await?.last().map(|e| e.state),
            Some(TriageState::Accepted)
        );
        let (read, key) = fx
            .store
            .read_person(&fx.access(person.id), fx.draft())
            .await?
            .ok_or_else(|| anyhow::anyhow!("no person"))?;
        // The first of the service: the store gave record number 1.
        assert_eq!(
            read,
            SealedPerson {
                record_number: 1,
                ..person.clone()
            }
        );
        assert_eq!(key, fx.key(person.id));
        assert_eq!(fx.store.case(case.id).await?, Some(case.clone()));
        assert_eq!(
            fx.store
                .duplicate_candidates(fx.service, &[(IndexField::NhsNumber, nhs)], None)
                .await?
                .0,
            [person.id]
        );
        assert!(
            !fx.store
                .accept_referral(
                    r.id,
                    TriageState::Received,
                    &person,
                    &[],
                    &fx.key(person.id),
                    &case,
                    &stamp(16_000),
                    fx.draft(),
                )
                .await?,
            "once"
        );
        fx.chain_is_intact().await
    }
);

both_backends!(one_open_case_per_person_and_service, |backend| async move {
    let fx = Fixture::new(backend).await?;
    let p = fx.person(fx.service, &[]).await?;
    let first = case_of(p.id, fx.service, 1_000);
    fx.store.open_case(&first, fx.draft()).await?;
    let before = fx.seq().await?;
    assert_eq!(
        fx.store
            .open_case(&case_of(p.id, fx.service, 2_000), fx.draft())
            .await,
        Err(StoreError::Conflict(
            "the person already has an open case in this service"
        ))
    );
    assert_eq!(fx.seq().await?, before);
    let elsewhere = case_of(p.id, fx.other_service, 2_000);
    fx.store.open_case(&elsewhere, fx.draft()).await?;
    assert!(
        fx.store
            .close_case(
                first.id,
                ClosureReason::Completed,
                &stamp(3_000),
                fx.draft()
            )
            .await?
    );
    assert!(
        !fx.store
            .close_case(first.id, ClosureReason::Died, &stamp(4_000), fx.draft())
            .await?
    );
    let closed = fx
        .store
        .case(first.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(closed.closed_at_micros, Some(3_000));
    assert_eq!(closed.closed_by.as_deref(), Some("staff:test"));
    assert_eq!(closed.closure_reason, Some(ClosureReason::Completed));
    let again = case_of(p.id, fx.service, 5_000);
    fx.store.open_case(&again, fx.draft()).await?;
    let ids: Vec<_> = fx
        .store
        .cases_of(&fx.access(p.id), fx.draft())
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, [again.id, elsewhere.id, first.id], "newest first");
    assert_eq!(fx.store.case(Uuid::now_v7()).await?, None);
    fx.db
        .raw_execute(
            "UPDATE case_episode SET closure_reason = 'vanished' WHERE closed_at IS NOT NULL",
        )
        .await?;
    assert!(matches!(
        fx.store.cases_of(&fx.access(p.id), fx.draft()).await,
        Err(StoreError::Backend(m)) if m.contains("unknown")
    ));
    fx.chain_is_intact().await
});

fn entry(person: Uuid, kind: RecordKind, occurs_at: i64) -> EntryRecord {
    EntryRecord {
        id: Uuid::now_v7(),
        person_id: person,
        kind,
        case_id: None,
        parent_id: None,
        contact_type: None,
        occurs_at_micros: occurs_at,
        status: EntryStatus::of_kind(kind).first().copied(),
        due_at_micros: None,
        flags: NoteFlags::default(),
        author: "staff:test".to_owned(),
        key_version: 1,
        created_at_micros: occurs_at,
        updated_at_micros: occurs_at,
        in_error: None,
    }
}

both_backends!(
    entries_are_written_corrected_and_listed,
    |backend| async move {
        let fx = Fixture::new(backend).await?;
        let p = fx.person(fx.service, &[]).await?;
        let other = fx.person(fx.service, &[]).await?;
        let elsewhere = fx.person(fx.other_service, &[]).await?;
        let case = case_of(p.id, fx.service, 500);
        fx.store.open_case(&case, fx.draft()).await?;
        let mut note = entry(p.id, RecordKind::Note, 1_000);
        note.case_id = Some(case.id);
        note.contact_type = Some(ContactType::Phone);
        note.flags = NoteFlags {
            third_party: true,
            identifies_complainant: false,
            serious_harm: true,
        };
        let plan = entry(p.id, RecordKind::Plan, 2_000);
        let mut goal = entry(p.id, RecordKind::Goal, 3_000);
        goal.parent_id = Some(plan.id);
        let before = fx.seq().await?;
        let note_fields = fields(&[("body", b"sealed body"), ("supplied_by", b"sealed who")]);
        fx.store
            .create_entry(&note, &note_fields, fx.draft())
            .await?;
        fx.store
            .create_entry(&plan, &fields(&[("summary", b"sealed plan")]), fx.draft())
            .await?;
        fx.store.create_entry(&goal, &vec![], fx.draft()).await?;
        assert_eq!(fx.seq().await? - before, 3);
        assert_eq!(
            fx.store.create_entry(&goal, &vec![], fx.draft()).await,
            Err(StoreError::Conflict("that entry exists"))
        );

        let all = fx
            .store
            .entries_of(&fx.access(p.id), &[], fx.draft())
            .await?;
        assert_eq!(
            all.iter().map(|(e, _)| e.id).collect::<Vec<_>>(),
            [goal.id, plan.id, note.id],
            "newest first"
        );
        assert_eq!(all[2], (note.clone(), note_fields.clone()));
        let some = fx
            .store
            .entries_of(
                &fx.access(p.id),
                &[RecordKind::Note, RecordKind::Plan],
                fx.draft(),
            )
            .await?;
        assert_eq!(
            some.iter().map(|(e, _)| e.id).collect::<Vec<_>>(),
            [plan.id, note.id]
        );
        assert_eq!(some[0].1, fields(&[("summary", b"sealed plan")]));
        assert!(
            fx.store
                .entries_of(&fx.access(other.id), &[], fx.draft())
                .await?
                .is_empty()
        );

        // A correction keeps what it replaces.
        let changes: Vec<SealedChange> = vec![
            ("body".to_owned(), Some(b"sealed body 2".to_vec())),
            ("supplied_by".to_owned(), None),
            ("outcome".to_owned(), Some(b"sealed outcome".to_vec())),
        ];
        assert!(
            fx.store
                .update_entry(
                    note.id,
                    None,
                    None,
                    &changes,
                    None,
                    1_000,
                    &stamp(900),
                    fx.draft()
                )
                .await?
        );
        assert_eq!(
            fx.store
                .update_entry(
                    note.id,
                    None,
                    None,
                    &changes,
                    None,
                    1_000,
                    &stamp(900),
                    fx.draft()
                )
                .await,
            Err(StoreError::Conflict(
                "the entry changed meanwhile; read it again"
            ))
        );
        assert!(
            !fx.store
                .update_entry(
                    Uuid::now_v7(),
                    None,
                    None,
                    &changes,
                    None,
                    1_000,
                    &stamp(900),
                    fx.draft()
                )
                .await?
        );
        let (updated, now) = fx
            .store
            .entries_of(&fx.access(p.id), &[RecordKind::Note], fx.draft())
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("missing"))?;
        assert_eq!(updated.updated_at_micros, 1_001);
        assert_eq!(updated.status, note.status);
        assert_eq!(
            now,
            fields(&[("body", b"sealed body 2"), ("outcome", b"sealed outcome")])
        );
        let history = fx.store.field_history(note.id, fx.draft()).await?;
        assert_eq!(
            history
                .iter()
                .map(|v| (v.field.as_str(), v.value.as_slice(), v.changed_at_micros))
                .collect::<Vec<_>>(),
            [
                ("body", b"sealed body".as_slice(), 900),
                ("supplied_by", b"sealed who".as_slice(), 900)
            ]
        );
        // Status and due date.
        assert!(
            fx.store
                .update_entry(
                    goal.id,
                    Some(EntryStatus::Achieved),
                    Some(9_000),
                    &[],
                    None,
                    3_000,
                    &stamp(4_000),
                    fx.draft()
                )
                .await?
        );
        let (g, _) = fx
            .store
            .entries_of(&fx.access(p.id), &[RecordKind::Goal], fx.draft())
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("missing"))?;
        assert_eq!(g.status, Some(EntryStatus::Achieved));
        assert_eq!(g.due_at_micros, Some(9_000));
        assert_eq!(g.updated_at_micros, 4_000);
        assert!(
            fx.store
                .field_history(goal.id, fx.draft())
                .await?
                .is_empty()
        );

        // The paper register: held paper of the service, soonest due first.
        let mut file_due_late = entry(other.id, RecordKind::PaperFile, 100);
        file_due_late.due_at_micros = Some(50_000);
        let mut note_due_soon = entry(p.id, RecordKind::PaperNote, 200);
        note_due_soon.due_at_micros = Some(40_000);
        let undated = entry(p.id, RecordKind::PaperNote, 50);
        let mut destroyed = entry(p.id, RecordKind::PaperFile, 10);
        destroyed.status = Some(EntryStatus::Destroyed);
        destroyed.due_at_micros = Some(1);
        let mut not_ours = entry(elsewhere.id, RecordKind::PaperFile, 10);
        not_ours.due_at_micros = Some(1);
        for e in [
            &file_due_late,
            &note_due_soon,
            &undated,
            &destroyed,
            &not_ours,
        ] {
            fx.store.create_entry(e, &vec![], fx.draft()).await?;
        }
        let register: Vec<_> = fx
            .store
            .paper_register(fx.service, fx.draft())
            .await?
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(register, [note_due_soon.id, file_due_late.id, undated.id]);
        fx.db
            .raw_execute(
                "UPDATE record_entry SET contact_type = 'pigeon' WHERE contact_type IS NOT NULL",
            )
            .await?;
        assert!(matches!(
            fx.store.entries_of(&fx.access(p.id), &[], fx.draft()).await,
            Err(StoreError::Backend(m)) if m.contains("unknown")
        ));
        fx.chain_is_intact().await
    }
);

fn document(person: Uuid, is_photo: bool, at: i64) -> DocumentRecord {
    DocumentRecord {
        id: Uuid::now_v7(),
        person_id: person,
        media_type: "application/pdf".to_owned(),
        size_bytes: 4,
        is_photo,
        key_version: 1,
        uploaded_by: "staff:test".to_owned(),
        created_at_micros: at,
    }
}

both_backends!(documents_and_the_one_photo, |backend| async move {
    let fx = Fixture::new(backend).await?;
    let p = fx.person(fx.service, &[]).await?;
    let other = fx.person(fx.service, &[]).await?;
    let letter = document(p.id, false, 1_000);
    let photo = document(p.id, true, 2_000);
    let newer_photo = document(p.id, true, 3_000);
    let their_photo = document(other.id, true, 3_000);
    let before = fx.seq().await?;
    fx.store
        .add_document(
            &letter,
            b"ltr!",
            &fields(&[("title", b"sealed title")]),
            fx.draft(),
        )
        .await?;
    fx.store
        .add_document(&photo, b"img1", &fields(&[("caption", b"c")]), fx.draft())
        .await?;
    fx.store
        .add_document(&their_photo, b"img3", &vec![], fx.draft())
        .await?;
    fx.store
        .add_document(&newer_photo, b"img2", &vec![], fx.draft())
        .await?;
    assert_eq!(fx.seq().await? - before, 4);
    let docs = fx.store.documents_of(&fx.access(p.id), fx.draft()).await?;
    assert_eq!(
        docs,
        [
            (newer_photo.clone(), vec![]),
            (letter.clone(), fields(&[("title", b"sealed title")]))
        ],
        "the new photo replaced the old; newest first"
    );
    let pid = photo.id;
    assert_eq!(
        fx.count(&format!(
            "SELECT COUNT(*) FROM record_field WHERE record_id = '{pid}'"
        ))
        .await?,
        0
    );
    assert_eq!(
        fx.store
            .documents_of(&fx.access(other.id), fx.draft())
            .await?
            .len(),
        1
    );
    assert_eq!(
        fx.store
            .read_document(letter.id, &fx.access(p.id), fx.draft())
            .await?,
        Some((letter.clone(), b"ltr!".to_vec()))
    );
    let before = fx.seq().await?;
    assert_eq!(
        fx.store
            .read_document(letter.id, &fx.access(other.id), fx.draft())
            .await?,
        None,
        "only through its own person"
    );
    assert_eq!(fx.seq().await?, before);
    assert_eq!(
        fx.store
            .add_document(&letter, b"x", &vec![], fx.draft())
            .await,
        Err(StoreError::Conflict("that document exists"))
    );
    // The schema itself keeps one photo per person.
    let pid = p.id;
    assert!(
        fx.db
            .raw_execute(&format!(
                "INSERT INTO document (id, person_id, media_type, size_bytes, is_photo, key_version, \
                 uploaded_by, created_at, content) VALUES ('{}', '{pid}', 'image/png', 1, 1, 1, 'x', 1, X'00')",
                Uuid::now_v7()
            ))
            .await
            .is_err()
    );
    fx.chain_is_intact().await
});

both_backends!(
    of_concurrent_corrections_from_one_reading_exactly_one_wins,
    |backend| async move {
        let fx = Fixture::new(backend).await?;
        let p = fx.person(fx.service, &[]).await?;
        let note = entry(p.id, RecordKind::Note, 1_000);
        fx.store
            .create_entry(&note, &fields(&[("body", b"v0")]), fx.draft())
            .await?;
        let mut tasks = Vec::new();
        for i in 0..6u8 {
            let store = fx.store.clone();
            let (person_draft, entry_draft) = (fx.draft(), fx.draft());
            let person_access = fx.access(p.id);
            let person_changes = vec![(PersonField::GivenName, Some(vec![i]))];
            let entry_changes: Vec<SealedChange> = vec![("body".to_owned(), Some(vec![i]))];
            let nid = note.id;
            tasks.push(tokio::spawn(async move {
                let person = store
                    .update_person(
                        &person_access,
                        &person_changes,
                        &[],
                        None,
                        1_000,
                        &stamp(5_000),
                        person_draft,
                    )
                    .await;
                let entry = store
                    .update_entry(
                        nid,
                        None,
                        None,
                        &entry_changes,
                        None,
                        1_000,
                        &stamp(5_000),
                        entry_draft,
                    )
                    .await;
                (person, entry)
            }));
        }
        let (mut people, mut entries) = (0, 0);
        for task in tasks {
            let (person, entry) = task.await?;
            match person {
                Ok(true) => people += 1,
                Err(StoreError::Conflict(_)) => {}
                other => anyhow::bail!("unexpected {other:?}"),
            }
            match entry {
                Ok(true) => entries += 1,
                Err(StoreError::Conflict(_)) => {}
                other => anyhow::bail!("unexpected {other:?}"),
            }
        }
        assert_eq!((people, entries), (1, 1));
        assert_eq!(fx.store.field_history(p.id, fx.draft()).await?.len(), 1);
        assert_eq!(fx.store.field_history(note.id, fx.draft()).await?.len(), 1);
        fx.chain_is_intact().await
    }
);
