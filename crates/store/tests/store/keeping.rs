//! Keeping and destroying (issue 17), on SQLite and PostgreSQL: a held record is never destroyed;
//! destruction leaves no row of the record in any table (found by reading the schema, so a new table
//! is covered without being named here); the certificate holds nothing of the record; the chain
//! verifies after; refusals change nothing but their audit event.

use confidant_core::Purpose;
use confidant_core::Role;
use confidant_core::access::PersonAccess;
use confidant_core::audit::{AuditDraft, verify_chain};
use confidant_core::contact::PreferencesInput;
use confidant_core::document::Upload;
use confidant_core::field::{PersonField, RecordKind};
use confidant_core::keeping::{Certificate, ItemOutcome};
use confidant_core::person::{PersonError, PersonInput};
use confidant_core::record::{EntryChange, NewEntry, RecordInput};
use confidant_core::referral::NewReferral;
use confidant_core::sharing::{EntrySelection, RecipientInput, ShareRequest};
use confidant_core::store::prelude::*;
use confidant_core::store::{
    ContactType, CorrectionReason, DestructionPlan, DestructionRefusal, MergeConfirmation,
    NoteFlags, ReferralSource, Relationship,
};
use confidant_testkit::{TestApp, TestBackend, both_backends};
use sqlx::Row;
use uuid::Uuid;

const P: Purpose = Purpose::Support;
const A: Purpose = Purpose::Administration;
const REASON: &str = "Retention period ended and reviewed";

fn note(body: &str) -> NewEntry {
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

/// A record holding a little of everything, each value carrying `marker`: its id.
pub(super) async fn full_record(app: &TestApp, marker: &str) -> anyhow::Result<Uuid> {
    let c = &app.confidant;
    let p = app
        .person_named(&format!("{marker}given"), &format!("{marker}family"))
        .await?;
    c.update_person(
        &app.worker_a,
        P,
        p,
        &PersonInput::new()
            .with(PersonField::DateOfBirth, "1980-02-03")
            .with(PersonField::NhsNumber, "943 476 5919"),
    )
    .await?;
    let case = c.open_case(&app.worker_a, P, p, None).await?;
    let first = c
        .add_entry(&app.worker_a, P, p, &note(&format!("{marker} first note")))
        .await?
        .id;
    c.update_entry(
        &app.worker_a,
        P,
        p,
        first,
        &EntryChange {
            status: None,
            due_at: None,
            values: RecordInput::new().with("body", format!("{marker} corrected note").as_str()),
            reason: Some(CorrectionReason::Typo),
        },
    )
    .await?;
    let _ = case;
    let pdf = format!("%PDF-1.7\n%{marker}\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n");
    c.upload_document(
        &app.worker_a,
        P,
        p,
        &Upload {
            file_name: "letter.pdf",
            content: pdf.as_bytes(),
            description: Some(&format!("{marker} letter")),
            is_photo: false,
        },
    )
    .await?;
    let relative = c
        .add_related(
            &app.worker_a,
            P,
            p,
            Relationship::Family,
            None,
            &RecordInput::new().with("given_name", format!("{marker}relative").as_str()),
        )
        .await?;
    // A rights request made on the person's behalf by the relative, moved on and answered.
    let request = c
        .log_rights_request(
            &app.worker_a,
            p,
            confidant_core::rights::RequestInput {
                kind: "access",
                channel: "letter",
                received_on: "2026-11-20",
                representative_id: Some(relative.id),
                authority: Some("written_authority"),
                identity_check: Some("authority_seen"),
            },
        )
        .await?;
    // Its bundle compiled (items by id: destroyed with the record)...
    c.compile_bundle(&app.dpo, app.organisation, request.id)
        .await?;
    // ...and answered: an open one would keep the record from destruction (tested in `rights`).
    for (step, on) in [("clock_stopped", "2026-11-21"), ("answered", "2026-11-22")] {
        c.step_rights_request(
            &app.dpo,
            app.organisation,
            request.id,
            confidant_core::rights::StepInput {
                step,
                on,
                detail: None,
            },
        )
        .await?;
    }
    let gp = c
        .add_recipient(
            &app.dpo,
            app.organisation,
            &RecipientInput {
                name: format!("Surgery {}", Uuid::now_v7()),
                kind: "health".to_owned(),
                categories: vec!["identity".to_owned(), "case_notes".to_owned()],
                bases: vec!["public_task".to_owned()],
                ..RecipientInput::default()
            },
        )
        .await?
        .id;
    c.share(
        &app.worker_a,
        P,
        p,
        &ShareRequest {
            recipient_id: gp,
            fields: vec!["given_name".to_owned()],
            entries: EntrySelection::All,
            basis: "public_task".to_owned(),
            article9: Some("health_social_care".to_owned()),
            reason: format!("{marker} continuity of care"),
            person_told: true,
            ..ShareRequest::default()
        },
    )
    .await?;
    c.set_contact_preferences(
        &app.worker_a,
        P,
        p,
        &PreferencesInput {
            code_word: Some(format!("{marker}word")),
            ..PreferencesInput::default()
        },
    )
    .await?;
    c.break_glass(
        &app.worker_b,
        p,
        &format!("{marker} urgent check on welfare"),
    )
    .await?;
    Ok(p)
}

/// Every (table, column) of the schema holding text, read from the database itself.
async fn text_columns(app: &TestApp) -> anyhow::Result<Vec<(String, String)>> {
    let mut raw = app.db.raw().await?;
    let sql = match app.db.backend {
        TestBackend::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
             AND upper(p.type) = 'TEXT'"
        }
        TestBackend::Postgres => {
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = current_schema() AND data_type = 'text' \
             AND table_name NOT LIKE '_sqlx%'"
        }
    };
    let rows = sqlx::query(sql).fetch_all(&mut raw).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>("t")?, r.try_get::<String, _>("c")?)))
        .collect()
}

/// Where in the database any of `ids` still appears, outside the tables that keep ids on purpose.
pub(super) async fn rows_naming(app: &TestApp, ids: &[String]) -> anyhow::Result<Vec<String>> {
    // Kept on purpose, ids only: the audit log, the list of the destroyed, the certificates, and
    // the holds (kinds and times).
    const KEPT: [&str; 4] = [
        "audit_event",
        "person_destruction",
        "destruction_certificate",
        "legal_hold",
    ];
    let mut raw = app.db.raw().await?;
    let mut found = Vec::new();
    for (table, column) in text_columns(app).await? {
        if KEPT.contains(&table.as_str()) {
            continue;
        }
        for id in ids {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1");
            let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(&mut raw)
                .await?
                .try_get("n")?;
            if n > 0 {
                found.push(format!("{table}.{column}"));
            }
        }
    }
    Ok(found)
}

/// Every id the person's rows carry, read before the destruction.
pub(super) async fn ids_of(app: &TestApp, person: Uuid) -> anyhow::Result<Vec<String>> {
    let mut raw = app.db.raw().await?;
    let mut ids = vec![person.to_string()];
    for table in [
        "record_entry",
        "document",
        "contact_preference",
        "message",
        "disclosure",
        "share_approval",
        "related_person",
        "referral",
        "case_episode",
        "consent",
        "person_restriction",
        "access_grant",
        "task",
        "rights_request",
    ] {
        let sql = format!("SELECT id FROM {table} WHERE person_id = $1");
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(person.to_string())
            .fetch_all(&mut raw)
            .await?
        {
            ids.push(row.try_get("id")?);
        }
    }
    Ok(ids)
}

pub(super) async fn chain_is_intact(app: &TestApp) -> anyhow::Result<()> {
    let verified = verify_chain(app.confidant.store(), None).await?;
    anyhow::ensure!(verified.is_ok(), "chain broken: {verified:?}");
    Ok(())
}

both_backends!(
    destruction_leaves_no_row_of_the_record_and_a_certificate_that_names_no_one,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let p = full_record(&app, "Zqdestroy").await?;
        let other = full_record(&app, "Zqkeepme").await?;
        let ids = ids_of(&app, p).await?;
        assert!(
            ids.len() >= 8,
            "the fixture holds rows of many kinds: {ids:?}"
        );

        // The search sees the record's rows while it is there (so it can fail).
        let before = rows_naming(&app, &ids).await?;
        for table in [
            "person.id",
            "record_entry.id",
            "disclosure.person_id",
            "related_person.id",
            "rights_request.person_id",
            "rights_request.representative_id",
            "rights_request_step.request_id",
            "rights_bundle.request_id",
            "rights_bundle_item.request_id",
            "rights_bundle_item.reference",
        ] {
            assert!(
                before.iter().any(|f| f == table),
                "{table} not seen: {before:?}"
            );
        }

        // What it would reach, before anything happens.
        let preview = c.destruction_preview(&app.dpo, A, p).await?;
        assert_eq!(preview.scope.counts.entries, 1);
        assert_eq!(preview.scope.counts.documents, 1);
        assert_eq!(preview.scope.counts.disclosures, 1);
        assert_eq!(preview.scope.counts.related_people, 1);
        assert!(preview.scope.counts.earlier_values >= 1);
        assert!(preview.live_holds.is_empty());

        // Refused, changing nothing: a practitioner; a reason naming the person; no reason.
        assert!(matches!(
            c.destroy_person(&app.worker_a, A, p, "dpo_decision", REASON)
                .await,
            Err(PersonError::NotFound)
        ));
        for bad in [
            "Duplicate of zqdestroygiven, not needed",
            "NHS number 9434765919 was a test",
            "",
        ] {
            let refused = c.destroy_person(&app.dpo, A, p, "dpo_decision", bad).await;
            assert!(
                matches!(refused, Err(PersonError::Invalid(_))),
                "{refused:?}"
            );
        }
        assert!(matches!(
            c.destroy_person(&app.dpo, A, p, "because", REASON).await,
            Err(PersonError::Invalid(_))
        ));
        assert!(c.read_person(&app.worker_a, P, p).await.is_ok());

        let done = c
            .destroy_person(&app.dpo, A, p, "retention_ended", REASON)
            .await?;
        assert_eq!(done.certificate.record, p);
        assert_eq!(done.certificate.basis, "retention_ended");
        let item = |k: &str| done.certificate.items.iter().find(|i| i.kind == k).cloned();
        assert_eq!(
            item("entries").map(|i| (i.count, i.outcome)),
            Some((1, ItemOutcome::Destroyed))
        );
        assert_eq!(
            item("audit_events").map(|i| i.outcome),
            Some(ItemOutcome::Kept)
        );

        // Nothing of the record is left in any table but those that keep ids on purpose.
        let left = rows_naming(&app, &ids).await?;
        assert!(
            left.is_empty(),
            "rows of the destroyed record remain: {left:?}"
        );
        assert!(c.read_person(&app.worker_a, P, p).await.is_err());
        assert!(c.store().destroyed(p).await?);
        // Destroying again: nothing there.
        assert!(matches!(
            c.destroy_person(&app.dpo, A, p, "dpo_decision", REASON)
                .await,
            Err(PersonError::NotFound)
        ));

        // The certificate, as kept and as read back: none of the markers, and its hash covers it.
        let (kept_record, kept) = c
            .destruction_certificate(&app.dpo, app.organisation, done.record.id)
            .await?
            .expect("the certificate is kept");
        assert_eq!(kept, done.certificate);
        assert_eq!(kept_record, done.record);
        assert_eq!(
            confidant_core::keeping::certificate::sha256_hex(&done.record.body),
            done.record.body_sha256
        );
        let body = done.record.body.to_lowercase();
        for marker in [
            "zqdestroy",
            "zqkeepme",
            "9434765919",
            "943 476 5919",
            "1980",
        ] {
            assert!(!body.contains(marker), "{marker} in the certificate");
        }
        let parsed: Certificate = serde_json::from_str(&done.record.body)?;
        assert_eq!(parsed, done.certificate);
        // A practitioner cannot read certificates.
        assert!(
            c.destruction_certificate(&app.worker_a, app.organisation, done.record.id)
                .await
                .is_err()
        );

        // Everyone else is intact, and the markers of the destroyed record are gone at rest.
        let kept_person = c.read_person(&app.worker_a, P, other).await?;
        assert_eq!(
            kept_person.get(PersonField::GivenName),
            Some("Zqkeepmegiven")
        );
        assert_eq!(c.entries(&app.worker_a, P, other, &[]).await?.len(), 1);
        c.store().checkpoint_wal().await?;
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_held_record_is_never_destroyed_until_the_dpo_releases_the_hold,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let (_, guardian) = app
            .add_staff(Role::CaldicottGuardian, None, "guardian", true)
            .await?;
        let p = full_record(&app, "Zqheld").await?;

        // Who may place: the DPO and the Caldicott Guardian; not a practitioner.
        assert!(matches!(
            c.place_hold(
                &app.worker_a,
                A,
                p,
                "litigation",
                None,
                "Claim expected from the insurer"
            )
            .await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.place_hold(
                &app.dpo,
                A,
                p,
                "feud",
                None,
                "Claim expected from the insurer"
            )
            .await,
            Err(PersonError::Invalid(_))
        ));
        assert!(matches!(
            c.place_hold(&app.dpo, A, p, "litigation", None, "").await,
            Err(PersonError::Invalid(_))
        ));
        let hold = c
            .place_hold(
                &guardian,
                A,
                p,
                "safeguarding_review",
                None,
                "Adult review under way",
            )
            .await?;
        let holds = c.holds(&app.dpo, A, p).await?;
        assert_eq!(holds.len(), 1);
        assert_eq!(holds[0].reason, "Adult review under way");
        assert!(holds[0].record.live());

        // Held: refused, nothing destroyed, and the refusal audited.
        let refused = c
            .destroy_person(&app.dpo, A, p, "dpo_decision", REASON)
            .await;
        assert!(
            matches!(refused, Err(PersonError::Conflict(_))),
            "{refused:?}"
        );
        assert!(c.read_person(&app.worker_a, P, p).await.is_ok());
        let events = c.store().audit_events_for_subject(p, 500).await?;
        assert!(
            events
                .iter()
                .any(|e| e.action == "person.destroy" && e.outcome == "denied"),
            "the refusal is on the audit log"
        );

        // Fail closed inside the transaction: a plan read before the hold is refused.
        let access = PersonAccess::for_tests(p);
        let scope = c
            .store()
            .destruction_scope(&access, AuditDraft::for_tests("test.scope", Some(p), now()))
            .await?
            .expect("the record is there");
        let mut stale = scope;
        stale.live_holds = 0;
        let answer = c
            .store()
            .destroy_person(
                DestructionPlan {
                    access: &access,
                    scope: stale,
                    certificate_id: Uuid::now_v7(),
                    organisation_id: app.organisation,
                    certificate: "{}".to_owned(),
                    certificate_sha256: String::new(),
                    signature: None,
                    at_micros: 0,
                    review_id: None,
                    erasure_request: None,
                    tasks: Vec::new(),
                },
                AuditDraft::for_tests("test.destroy", Some(p), now()),
            )
            .await?;
        assert_eq!(answer, Err(DestructionRefusal::Held));
        assert!(c.read_person(&app.worker_a, P, p).await.is_ok());

        // Only the DPO releases, with a reason.
        assert!(matches!(
            c.release_hold(&guardian, A, p, hold.id, "Review finished last week")
                .await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.release_hold(&app.dpo, A, p, hold.id, "").await,
            Err(PersonError::Invalid(_))
        ));
        c.release_hold(&app.dpo, A, p, hold.id, "Review finished last week")
            .await?;
        assert!(matches!(
            c.release_hold(&app.dpo, A, p, hold.id, "Review finished last week")
                .await,
            Err(PersonError::Conflict(_))
        ));
        let holds = c.holds(&app.dpo, A, p).await?;
        assert_eq!(
            holds[0].release_reason.as_deref(),
            Some("Review finished last week")
        );

        let done = c
            .destroy_person(&app.dpo, A, p, "dpo_decision", REASON)
            .await?;
        let released = done
            .certificate
            .items
            .iter()
            .find(|i| i.kind == "released_legal_holds")
            .map(|i| (i.count, i.outcome));
        assert_eq!(released, Some((1, ItemOutcome::Kept)));
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_hold_follows_a_merge_and_destroying_the_survivor_takes_the_merged_record_too,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let keep = app.person_named("Zqsame", "Person").await?;
        let dup = app.person_named("Zqsame", "Person").await?;
        c.add_entry(&app.worker_a, P, dup, &note("Zqmerged note"))
            .await?;
        let hold = c
            .place_hold(
                &app.dpo,
                A,
                dup,
                "complaint",
                None,
                "Complaint to the ombudsman",
            )
            .await?;
        c.merge_people(&manager, P, keep, dup, MergeConfirmation::WithPerson)
            .await?;
        // The hold moved with the record, its reason readable under the survivor's key.
        let holds = c.holds(&app.dpo, A, keep).await?;
        assert_eq!(holds.len(), 1);
        assert_eq!(holds[0].reason, "Complaint to the ombudsman");
        assert!(matches!(
            c.destroy_person(&app.dpo, A, keep, "dpo_decision", REASON)
                .await,
            Err(PersonError::Conflict(_))
        ));
        // The merged record is destroyed through its survivor only.
        assert!(matches!(
            c.destroy_person(&app.dpo, A, dup, "dpo_decision", REASON)
                .await,
            Err(PersonError::NotFound | PersonError::Conflict(_))
        ));
        c.release_hold(&app.dpo, A, keep, hold.id, "Ombudsman closed the complaint")
            .await?;
        let done = c
            .destroy_person(&app.dpo, A, keep, "dpo_decision", REASON)
            .await?;
        let merged = done
            .certificate
            .items
            .iter()
            .find(|i| i.kind == "merged_records")
            .map(|i| i.count);
        assert_eq!(merged, Some(1));
        let left = rows_naming(&app, &[keep.to_string(), dup.to_string()]).await?;
        assert!(left.is_empty(), "rows remain: {left:?}");
        assert!(c.store().destroyed(dup).await?);
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_record_from_a_referral_with_tasks_approvals_and_restrictions_leaves_nothing,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let referral = c
            .create_referral(
                &app.worker_a,
                P,
                app.service_a,
                &NewReferral {
                    source: ReferralSource::SelfReferral,
                    partner_person_id: None,
                    values: RecordInput::new()
                        .with("given_name", "Zqreferred")
                        .with("family_name", "Person"),
                },
            )
            .await?;
        let (p, _) = c
            .accept_referral(&app.worker_a, P, referral.record.id, None)
            .await?;
        c.add_entry(&app.worker_a, P, p, &note("Zqreferred note"))
            .await?;
        let restriction = c.restrict(&app.dpo, P, p, "restriction").await?;
        let gp = c
            .add_recipient(
                &app.dpo,
                app.organisation,
                &RecipientInput {
                    name: "Surgery".to_owned(),
                    kind: "health".to_owned(),
                    categories: vec!["identity".to_owned()],
                    bases: vec!["public_task".to_owned()],
                    ..RecipientInput::default()
                },
            )
            .await?
            .id;
        c.request_approval(
            &app.worker_a,
            P,
            p,
            gp,
            &["health".to_owned()],
            "Zqreferred needs the surgery to know",
        )
        .await?;
        let mut ids = ids_of(&app, p).await?;
        ids.push(referral.record.id.to_string());
        let tasks: i64 = {
            let mut raw = app.db.raw().await?;
            sqlx::query("SELECT COUNT(*) AS n FROM task WHERE subject_id = $1 OR person_id = $2")
                .bind(referral.record.id.to_string())
                .bind(p.to_string())
                .fetch_one(&mut raw)
                .await?
                .try_get("n")?
        };
        assert!(
            tasks >= 2,
            "the fixture has tasks (triage, approval): {tasks}"
        );
        // A restricted record is only stored: the DPO lifts the restriction to erase it.
        c.lift_restriction(&app.dpo, P, p, restriction.id).await?;
        c.destroy_person(&app.dpo, A, p, "erasure", REASON).await?;
        let left = rows_naming(&app, &ids).await?;
        assert!(
            left.is_empty(),
            "rows of the destroyed record remain: {left:?}"
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_held_record_keeps_its_related_people_documents_and_links,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let held = full_record(&app, "Zqkept").await?;
        let other = app.person_named("Zqlinked", "Person").await?;
        // The held record names the other as a related person.
        c.add_related(
            &app.worker_a,
            P,
            held,
            Relationship::Family,
            Some(other),
            &RecordInput::new().with("given_name", "Zqlinked"),
        )
        .await?;
        c.place_hold(
            &app.dpo,
            A,
            held,
            "police_investigation",
            None,
            "Investigation under way",
        )
        .await?;
        // Removing a related person of a held record is refused.
        let related = c.related_people(&app.worker_a, P, held).await?;
        let first = related.first().map(|r| r.id).expect("a related person");
        let removed = c.remove_related(&app.worker_a, P, held, first).await;
        assert!(
            matches!(removed, Err(PersonError::Conflict(_))),
            "{removed:?}"
        );
        assert_eq!(
            c.related_people(&app.worker_a, P, held).await?.len(),
            related.len()
        );
        // Destroying the other record would cut the held record's link to it: refused too.
        let refused = c
            .destroy_person(&app.dpo, A, other, "dpo_decision", REASON)
            .await;
        assert!(
            matches!(refused, Err(PersonError::Conflict(_))),
            "{refused:?}"
        );
        assert!(c.read_person(&app.worker_a, P, other).await.is_ok());
        chain_is_intact(&app).await
    }
);

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
