//! Merging two records of one person (issue 16), on SQLite and PostgreSQL: nothing is lost, every
//! value is readable under the survivor's key, the merged record is found by nobody and says where
//! it went, both audit trails stay readable and the chain verifies; refusals change nothing.

use confidant_core::Purpose;
use confidant_core::Role;
use confidant_core::audit::verify_chain;
use confidant_core::contact::PreferencesInput;
use confidant_core::document::Upload;
use confidant_core::field::{PersonField, RecordKind};
use confidant_core::person::{PersonError, PersonInput};
use confidant_core::record::{EntryChange, NewEntry, RecordInput};
use confidant_core::sharing::{EntrySelection, RecipientInput, ShareRequest};
use confidant_core::store::{
    ClosureReason, ContactType, CorrectionReason, MergeConfirmation, NoteFlags, Relationship,
};
use confidant_testkit::{TestApp, both_backends};
use uuid::Uuid;

const P: Purpose = Purpose::Support;

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

/// A surgery the service may share identity and case notes with, and the person's consent to it:
/// the recipient's id.
async fn surgery_with_consent(app: &TestApp, person: Uuid) -> anyhow::Result<Uuid> {
    let c = &app.confidant;
    let gp = c
        .add_recipient(
            &app.dpo,
            app.organisation,
            &RecipientInput {
                name: "Surgery".to_owned(),
                kind: "health".to_owned(),
                categories: vec!["identity".to_owned(), "case_notes".to_owned()],
                bases: vec!["public_task".to_owned()],
                ..RecipientInput::default()
            },
        )
        .await?
        .id;
    let form = c
        .add_consent_purpose(
            &app.dpo,
            app.service_a,
            "gp",
            "Sharing with the surgery",
            Some(gp),
            false,
            "v1",
        )
        .await?
        .id;
    c.record_consent(&app.worker_a, P, person, form, "granted", None)
        .await?;
    Ok(gp)
}

both_backends!(
    a_merge_loses_nothing_and_leaves_both_audit_trails_readable,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let keep = app.person_named("Ada", "Gill").await?;
        let dup = app.person_named("Ada", "Gill").await?;
        c.update_person(
            &app.worker_a,
            P,
            keep,
            &PersonInput::new().with(PersonField::DateOfBirth, "1980-02-03"),
        )
        .await?;
        // The duplicate: another date of birth (corrected once), an NHS number the survivor lacks.
        c.update_person(
            &app.worker_a,
            P,
            dup,
            &PersonInput::new().with(PersonField::DateOfBirth, "1980-03-02"),
        )
        .await?;
        c.update_person(
            &app.worker_a,
            P,
            dup,
            &PersonInput::new()
                .with(PersonField::DateOfBirth, "1980-03-04")
                .with(PersonField::NhsNumber, "943 476 5919"),
        )
        .await?;
        // Its case (closed), a note corrected once, a document, a related person, consent, a
        // disclosure, contact preferences and a break-the-glass access with its reason.
        let case = c.open_case(&app.worker_a, P, dup, None).await?;
        let first = c
            .add_entry(&app.worker_a, P, dup, &note("Zqmergenote first text"))
            .await?
            .id;
        c.update_entry(
            &app.worker_a,
            P,
            dup,
            first,
            &EntryChange {
                status: None,
                due_at: None,
                values: RecordInput::new().with("body", "Zqmergenote corrected text"),
                reason: Some(CorrectionReason::Typo),
            },
        )
        .await?;
        c.close_case(&app.worker_a, P, dup, case.id, ClosureReason::Completed)
            .await?;
        let pdf = b"%PDF-1.7\n%Zqmergedoc\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
        let doc = c
            .upload_document(
                &app.worker_a,
                P,
                dup,
                &Upload {
                    file_name: "letter.pdf",
                    content: pdf,
                    description: Some("Zqmergedoc letter"),
                    is_photo: false,
                },
            )
            .await?;
        c.add_related(
            &app.worker_a,
            P,
            dup,
            Relationship::Family,
            None,
            &RecordInput::new().with("given_name", "Bo"),
        )
        .await?;
        let gp = surgery_with_consent(&app, dup).await?;
        let shared = c
            .share(
                &app.worker_a,
                P,
                dup,
                &ShareRequest {
                    recipient_id: gp,
                    fields: vec!["given_name".to_owned()],
                    entries: EntrySelection::All,
                    basis: "public_task".to_owned(),
                    article9: Some("health_social_care".to_owned()),
                    reason: "Zqmergereason continuity".to_owned(),
                    person_told: true,
                    ..ShareRequest::default()
                },
            )
            .await?;
        c.set_contact_preferences(
            &app.worker_a,
            P,
            dup,
            &PreferencesInput {
                code_word: Some("Zqmergeword".to_owned()),
                ..PreferencesInput::default()
            },
        )
        .await?;
        c.break_glass(&app.worker_b, dup, "Zqmergeglass urgent check on welfare")
            .await?;
        // The survivor has an open case of its own.
        c.open_case(&app.worker_a, P, keep, None).await?;

        // Refusals change nothing: a practitioner, the same record, another service's record.
        let by_worker = c
            .merge_people(&app.worker_a, P, keep, dup, MergeConfirmation::WithPerson)
            .await;
        assert!(
            matches!(by_worker, Err(PersonError::NotFound)),
            "{by_worker:?}"
        );
        let same = c
            .merge_people(&manager, P, keep, keep, MergeConfirmation::WithPerson)
            .await;
        assert!(matches!(same, Err(PersonError::Invalid(_))), "{same:?}");
        assert!(c.read_person(&app.worker_a, P, dup).await.is_ok());

        // The check: what moves, what fills a gap, what differs.
        let preview = c.merge_preview(&manager, P, keep, dup).await?;
        assert_eq!(preview.moved.entries, 1);
        assert_eq!(preview.moved.documents, 1);
        assert_eq!(preview.moved.disclosures, 1);
        assert_eq!(preview.moved.consents, 1);
        assert_eq!(preview.moved.related_people, 1);
        assert_eq!(preview.moved.grants, 1);
        assert!(preview.filled.contains(&PersonField::NhsNumber));
        assert_eq!(preview.differing, vec![PersonField::DateOfBirth]);
        assert!(!preview.both_open);

        let merge = c
            .merge_people(&manager, P, keep, dup, MergeConfirmation::Identifiers)
            .await?;
        assert_eq!((merge.merged_id, merge.surviving_id), (dup, keep));

        // The merged record is found by nobody, and says where it went to those who may read it.
        assert!(matches!(
            c.read_person(&app.worker_a, P, dup).await,
            Err(PersonError::NotFound)
        ));
        assert_eq!(
            c.merged_into(&app.worker_a, P, dup).await?.surviving_id,
            keep
        );
        assert!(c.merged_into(&app.worker_b, P, dup).await.is_err());
        assert_eq!(c.merges_into(&app.worker_a, P, keep).await?.len(), 1);

        // The survivor: its own date of birth, the NHS number filled, the other kept in history.
        let person = c.read_person(&app.worker_a, P, keep).await?;
        assert_eq!(person.get(PersonField::DateOfBirth), Some("1980-02-03"));
        assert_eq!(person.get(PersonField::NhsNumber), Some("9434765919"));
        let history = c.corrections(&app.worker_a, P, keep).await?;
        assert!(
            history
                .iter()
                .any(|h| h.old_value == "1980-03-04" && h.reason == Some(CorrectionReason::Merged))
        );
        assert!(history.iter().any(|h| h.old_value == "1980-03-02"));
        assert!(
            history
                .iter()
                .any(|h| h.old_value == "Zqmergenote first text")
        );
        let entries = c
            .entries(&app.worker_a, P, keep, &[RecordKind::Note])
            .await?;
        assert!(
            entries
                .iter()
                .any(|e| e.values.get("body") == Some("Zqmergenote corrected text"))
        );
        let (_, content) = c.read_document(&app.worker_a, P, keep, doc.id).await?;
        assert_eq!(content, pdf);
        let related = c.related_people(&app.worker_a, P, keep).await?;
        assert_eq!(related.len(), 1);
        let cases = c.cases(&app.worker_a, P, keep).await?;
        assert_eq!(cases.len(), 2);
        let consents = c.consents(&app.worker_a, P, keep).await?;
        assert_eq!(consents.history.len(), 1);
        let disclosure = c
            .disclosure(&app.worker_a, P, keep, shared.disclosure_id)
            .await?;
        assert_eq!(
            disclosure.reason.as_deref(),
            Some("Zqmergereason continuity")
        );
        assert!(disclosure.package.is_some());
        let preferences = c.contact_preferences(&app.worker_a, P, keep).await?;
        assert_eq!(preferences.code_word.as_deref(), Some("Zqmergeword"));
        let glass = c
            .break_glass_queue(&app.dpo, app.organisation, true)
            .await?;
        assert!(glass.iter().any(|g| g.person_id == keep
            && g.reason.as_deref() == Some("Zqmergeglass urgent check on welfare")));
        // Found by the NHS number it brought, as the survivor.
        let found = c
            .find_people(
                &app.worker_a,
                P,
                app.service_a,
                &confidant_core::person::Lookup {
                    field: confidant_core::field::IndexField::NhsNumber,
                    value: "9434765919".into(),
                },
            )
            .await?;
        assert_eq!(found, [keep]);

        // Both audit trails: the survivor's shows the merged record's events too.
        let trail = c
            .access_history(&app.dpo, Purpose::Audit, keep, 500)
            .await?;
        assert!(trail.iter().any(|e| e.action == "person.merge_in"));
        assert!(trail.iter().any(|e| e.action == "person.merge_out"
            && e.subject_id.as_deref() == Some(dup.to_string().as_str())));
        assert!(trail.iter().any(|e| e.action == "note.create"));
        let verified = verify_chain(c.store(), None).await?;
        assert!(verified.is_ok(), "{verified:?}");

        // Its record number is no one's now.
        assert!(matches!(
            c.merge_target(&manager, P, keep, merge.merged_number).await,
            Err(PersonError::Invalid(_))
        ));
        // Merging again is refused: the record is gone.
        let again = c
            .merge_people(&manager, P, keep, dup, MergeConfirmation::Identifiers)
            .await;
        assert!(again.is_err());
        Ok(())
    }
);

both_backends!(
    two_open_cases_and_two_objections_leave_the_survivors_in_force_and_a_restriction_refuses_a_merge,
    |backend| async move {
        use confidant_core::store::{ContactStore, PersonStore};
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let keep = app.person_named("Ada", "Open").await?;
        let dup = app.person_named("Ada", "Open").await?;
        let kept_case = c.open_case(&app.worker_a, P, keep, None).await?;
        let dup_case = c.open_case(&app.worker_a, P, dup, None).await?;
        c.add_entry(&app.worker_a, P, dup, &note("Zqopennote"))
            .await?;
        // A restriction of processing refuses the merge (it would write into the record) until
        // it is lifted; objections upheld move with it.
        let restricted = c.restrict(&app.dpo, P, dup, "restriction").await?;
        let refused = c
            .merge_people(&manager, P, keep, dup, MergeConfirmation::WithPerson)
            .await;
        assert!(
            matches!(
                refused,
                Err(PersonError::Forbidden {
                    code: "restricted",
                    ..
                })
            ),
            "{refused:?}"
        );
        c.lift_restriction(&app.dpo, P, dup, restricted.id).await?;
        for person in [keep, dup] {
            c.restrict(&app.dpo, P, person, "objection").await?;
        }
        assert!(c.merge_preview(&manager, P, keep, dup).await?.both_open);
        c.merge_people(&manager, P, keep, dup, MergeConfirmation::WithPerson)
            .await?;
        let cases = c.cases(&app.worker_a, P, keep).await?;
        let open: Vec<_> = cases.iter().filter(|k| k.closed_at.is_none()).collect();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].id, kept_case.id);
        let closed = cases.iter().find(|k| k.id == dup_case.id).expect("moved");
        assert_eq!(closed.closure_reason, Some(ClosureReason::RecordedTwice));
        assert_eq!(c.entries(&app.worker_a, P, keep, &[]).await?.len(), 1);
        let consents = c.consents(&app.worker_a, P, keep).await?;
        let live: Vec<_> = consents
            .restrictions
            .iter()
            .filter(|r| r.lifted_at_micros.is_none())
            .collect();
        assert_eq!(live.len(), 1, "{:?}", consents.restrictions);
        assert_eq!(consents.restrictions.len(), 3);
        // A change about the merged record, even one sealed before the merge, is refused.
        let late = c
            .store()
            .set_contact_preferences(
                &confidant_core::contact::ContactPreferenceRecord {
                    id: uuid::Uuid::now_v7(),
                    person_id: dup,
                    allowed: Vec::new(),
                    refused: Vec::new(),
                    no_voicemail: false,
                    has_code_word: false,
                    key_version: 1,
                    recorded_by: "test".to_owned(),
                    recorded_at_micros: 0,
                },
                &Vec::new(),
                confidant_core::audit::AuditDraft::for_tests(
                    "contact.update",
                    Some(dup),
                    time::OffsetDateTime::now_utc(),
                ),
            )
            .await;
        assert!(
            matches!(late, Err(confidant_core::store::StoreError::Conflict(_))),
            "{late:?}"
        );
        assert!(c.store().placement(dup).await?.is_some());
        // Another service's record is not one to merge.
        let elsewhere = c
            .create_person(
                &app.worker_b,
                P,
                app.service_b,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Cy")
                    .with(PersonField::FamilyName, "Elsewhere"),
            )
            .await?
            .id;
        let other = c
            .merge_people(&manager, P, keep, elsewhere, MergeConfirmation::WithPerson)
            .await;
        assert!(matches!(other, Err(PersonError::Invalid(_))), "{other:?}");
        Ok(())
    }
);

both_backends!(
    a_merge_that_would_mix_up_an_alleged_perpetrator_is_refused,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let keep = app.person_named("Ada", "Linked").await?;
        let dup = app.person_named("Ada", "Linked").await?;
        let other = app.person_named("Pat", "Other").await?;
        // The duplicate names Pat as an alleged perpetrator; the survivor names Pat as family.
        c.add_related(
            &app.worker_a,
            P,
            dup,
            Relationship::AllegedPerpetrator,
            Some(other),
            &RecordInput::new().with("given_name", "Pat"),
        )
        .await?;
        c.add_related(
            &app.worker_a,
            P,
            keep,
            Relationship::Family,
            Some(other),
            &RecordInput::new().with("given_name", "Pat"),
        )
        .await?;
        assert!(c.merge_preview(&manager, P, keep, dup).await?.breaks_links);
        let refused = c
            .merge_people(&manager, P, keep, dup, MergeConfirmation::WithPerson)
            .await;
        assert!(
            matches!(refused, Err(PersonError::Conflict(_))),
            "{refused:?}"
        );
        assert!(c.read_person(&app.worker_a, P, dup).await.is_ok());
        assert!(c.merges_into(&app.worker_a, P, keep).await?.is_empty());
        Ok(())
    }
);

both_backends!(
    the_consent_history_and_disclosure_log_move_only_with_a_merge,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let a = app.person_named("Ada", "Fixed").await?;
        let b = app.person_named("Bea", "Fixed").await?;
        let c = &app.confidant;
        let gp = surgery_with_consent(&app, a).await?;
        c.share(
            &app.worker_a,
            P,
            a,
            &ShareRequest {
                recipient_id: gp,
                fields: vec!["given_name".to_owned()],
                basis: "public_task".to_owned(),
                reason: "Continuity of care".to_owned(),
                person_told: true,
                ..ShareRequest::default()
            },
        )
        .await?;
        for sql in [
            format!("UPDATE consent SET person_id = '{b}' WHERE person_id = '{a}'"),
            format!("UPDATE disclosure SET person_id = '{b}' WHERE person_id = '{a}'"),
            format!("UPDATE disclosure SET key_version = 2 WHERE person_id = '{a}'"),
        ] {
            let refused = app.db.raw_execute(&sql).await;
            assert!(refused.is_err(), "{sql} was not refused");
        }
        Ok(())
    }
);
