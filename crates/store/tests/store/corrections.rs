//! Correcting the record (issue 16), on SQLite and PostgreSQL: a case note is corrected only with
//! why, its earlier text kept with who, when and why; an entry marked as entered in error stays in
//! the record, is changed no more, and is never shared.

use confidant_core::Purpose;
use confidant_core::field::{FieldGroups, PersonField, RecordKind};
use confidant_core::person::{PersonError, PersonInput};
use confidant_core::record::{EntryChange, NewEntry, RecordInput};
use confidant_core::sharing::{EntrySelection, RecipientInput, ShareRequest};
use confidant_core::store::{
    ContactType, CorrectionReason, ErrorReason, NoteFlags, ReferralPolicy, ServiceConfig,
};
use confidant_testkit::{TestApp, both_backends, operator};
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

fn body(text: &str, reason: Option<CorrectionReason>) -> EntryChange {
    EntryChange {
        status: None,
        due_at: None,
        values: RecordInput::new().with("body", text),
        reason,
    }
}

fn fields(e: &PersonError) -> Vec<&'static str> {
    match e {
        PersonError::Invalid(v) => v.0.iter().map(|v| v.field).collect(),
        _ => Vec::new(),
    }
}

both_backends!(
    a_note_is_corrected_with_why_and_its_earlier_text_is_kept,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let person = app.person_named("Ada", "Corrected").await?;
        let first = c
            .add_entry(&app.worker_a, P, person, &note("Met at the hub on Tuesday"))
            .await?
            .id;
        // Without a reason: refused by name, nothing changes.
        let refused = c
            .update_entry(
                &app.worker_a,
                P,
                person,
                first,
                &body("Met at the hub on Monday", None),
            )
            .await;
        assert_eq!(refused.as_ref().map_err(fields).err(), Some(vec!["reason"]));
        assert!(
            c.entry_corrections(&app.worker_a, P, person, &[RecordKind::Note])
                .await?
                .is_empty()
        );
        c.update_entry(
            &app.worker_a,
            P,
            person,
            first,
            &body(
                "Met at the hub on Monday",
                Some(CorrectionReason::WrongDetail),
            ),
        )
        .await?;
        let history = c
            .entry_corrections(&app.worker_a, P, person, &[RecordKind::Note])
            .await?;
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].record_id, first);
        assert_eq!(history[0].old_value, "Met at the hub on Tuesday");
        assert_eq!(history[0].changed_by, app.worker_a.audit_id());
        assert_eq!(history[0].reason, Some(CorrectionReason::WrongDetail));
        let now: Vec<_> = c
            .entries(&app.worker_a, P, person, &[RecordKind::Note])
            .await?;
        assert_eq!(now[0].values.get("body"), Some("Met at the hub on Monday"));
        // The whole record's history names it too.
        let all = c.corrections(&app.worker_a, P, person).await?;
        assert!(
            all.iter()
                .any(|x| x.reason == Some(CorrectionReason::WrongDetail))
        );
        // Someone of another service cannot read its history.
        assert!(
            c.entry_corrections(&app.worker_b, P, person, &[RecordKind::Note])
                .await
                .is_err()
        );
        Ok(())
    }
);

both_backends!(
    an_entry_entered_in_error_stays_is_changed_no_more_and_is_never_shared,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        c.configure_service(
            &operator(),
            &ServiceConfig {
                service_id: app.service_a,
                field_groups: FieldGroups::all(),
                referrals: ReferralPolicy::Anyone,
                partner_service_id: None,
            },
        )
        .await?;
        let person = c
            .create_person(
                &app.worker_a,
                P,
                app.service_a,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Nell")
                    .with(PersonField::FamilyName, "Mistaken"),
            )
            .await?
            .id;
        let wrong = c
            .add_entry(
                &app.worker_a,
                P,
                person,
                &note("Zqxwrongrecordmarker seen at home"),
            )
            .await?
            .id;
        let right = c
            .add_entry(&app.worker_a, P, person, &note("Phoned about the tenancy"))
            .await?
            .id;
        // Someone of another service cannot mark it; an entry of no record is not found.
        assert!(
            c.mark_entry_in_error(&app.worker_b, P, person, wrong, ErrorReason::WrongRecord)
                .await
                .is_err()
        );
        assert!(matches!(
            c.mark_entry_in_error(
                &app.worker_a,
                P,
                person,
                Uuid::now_v7(),
                ErrorReason::Duplicate
            )
            .await,
            Err(PersonError::NotFound)
        ));
        c.mark_entry_in_error(&app.worker_a, P, person, wrong, ErrorReason::WrongRecord)
            .await?;
        let entries = c
            .entries(&app.worker_a, P, person, &[RecordKind::Note])
            .await?;
        let marked = entries
            .iter()
            .find(|e| e.id == wrong)
            .ok_or_else(|| anyhow::anyhow!("the entry is gone"))?;
        let error = marked
            .in_error
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("not marked"))?;
        assert_eq!(error.reason, ErrorReason::WrongRecord);
        assert_eq!(error.by, app.worker_a.audit_id());
        assert!(
            entries
                .iter()
                .any(|e| e.id == right && e.in_error.is_none())
        );
        // Only its own service's staff mark it: not under break-the-glass (read-only).
        let glass = c
            .break_glass(&app.worker_b, person, "Called at night about a crisis")
            .await?;
        assert!(glass.id != Uuid::nil());
        assert!(
            c.mark_entry_in_error(&app.worker_b, P, person, right, ErrorReason::Duplicate)
                .await
                .is_err()
        );
        // Only a case note is marked: a plan is changed or completed instead.
        let plan = c
            .add_entry(
                &app.worker_a,
                P,
                person,
                &NewEntry {
                    kind: RecordKind::Plan,
                    contact_type: None,
                    values: RecordInput::new().with("title", "Housing plan"),
                    ..note("")
                },
            )
            .await?
            .id;
        assert!(matches!(
            c.mark_entry_in_error(&app.worker_a, P, person, plan, ErrorReason::Duplicate)
                .await,
            Err(PersonError::NotFound)
        ));
        // A copy of the record for the person leaves out what was written on it by mistake.
        let export = c.export_record(&app.worker_a, P, person).await?;
        assert!(export.entries.iter().all(|e| e.id != wrong));
        assert!(export.entries.iter().any(|e| e.id == right));
        // Marked once; changed no more.
        assert!(matches!(
            c.mark_entry_in_error(&app.worker_a, P, person, wrong, ErrorReason::Duplicate)
                .await,
            Err(PersonError::Conflict(_))
        ));
        assert!(matches!(
            c.update_entry(
                &app.worker_a,
                P,
                person,
                wrong,
                &body("Rewritten", Some(CorrectionReason::Typo))
            )
            .await,
            Err(PersonError::Conflict(_))
        ));
        // Sharing every entry leaves it out.
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
        let package = c
            .share(
                &app.worker_a,
                P,
                person,
                &ShareRequest {
                    recipient_id: gp,
                    fields: vec!["given_name".to_owned()],
                    entries: EntrySelection::All,
                    basis: "public_task".to_owned(),
                    article9: Some("health_social_care".to_owned()),
                    reason: "Continuity of care".to_owned(),
                    person_told: true,
                    ..ShareRequest::default()
                },
            )
            .await?;
        let sent = package.json.to_string();
        assert!(sent.contains("Phoned about the tenancy"));
        assert!(!sent.contains("Zqxwrongrecordmarker"), "{sent}");
        Ok(())
    }
);

both_backends!(
    a_related_person_is_changed_and_what_they_replace_is_kept_sealed_under_their_key,
    |backend| async move {
        use confidant_core::store::Relationship;
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let person = app.person_named("Ada", "Related").await?;
        let bo = c
            .add_related(
                &app.worker_a,
                P,
                person,
                Relationship::Family,
                None,
                &RecordInput::new()
                    .with("given_name", "Bo")
                    .with("family_name", "Oldname"),
            )
            .await?;
        // Without a given name: refused by name, nothing changes.
        let refused = c
            .update_related(
                &app.worker_a,
                P,
                person,
                bo.id,
                Relationship::NextOfKin,
                &RecordInput::new().with("family_name", "Newname"),
            )
            .await;
        assert_eq!(
            refused.as_ref().map_err(fields).err(),
            Some(vec!["given_name"])
        );
        let changed = c
            .update_related(
                &app.worker_a,
                P,
                person,
                bo.id,
                Relationship::NextOfKin,
                &RecordInput::new()
                    .with("given_name", "Bo")
                    .with("family_name", "Newname"),
            )
            .await?;
        assert_eq!(changed.relationship, Relationship::NextOfKin);
        let listed = c.related_people(&app.worker_a, P, person).await?;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].relationship, Relationship::NextOfKin);
        assert_eq!(changed.values.get("family_name"), Some("Newname"));
        assert_eq!(listed[0].values.get("family_name"), Some("Newname"));
        assert_eq!(listed[0].values.get("given_name"), Some("Bo"));
        // Only what changed is kept in the history, sealed (the earlier name is not stored in
        // the clear).
        let mut conn = app.db.raw().await?;
        let kept: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT field, value FROM field_version WHERE record_id = $1")
                .bind(bo.id.to_string())
                .fetch_all(&mut conn)
                .await?;
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].0, "family_name");
        assert!(!kept[0].1.windows(7).any(|w| w == b"Oldname"));
        // Fields left out are kept, and the answer says so.
        let kept_name = c
            .update_related(
                &app.worker_a,
                P,
                person,
                bo.id,
                Relationship::NextOfKin,
                &RecordInput::new().with("given_name", "Bo"),
            )
            .await?;
        assert_eq!(kept_name.values.get("family_name"), Some("Newname"));
        // Naming someone an alleged perpetrator, or no longer, is never an edit.
        let named = c
            .add_related(
                &app.worker_a,
                P,
                person,
                Relationship::AllegedPerpetrator,
                None,
                &RecordInput::new().with("given_name", "Pat"),
            )
            .await?;
        for (id, to) in [
            (named.id, Relationship::Family),
            (bo.id, Relationship::AllegedPerpetrator),
        ] {
            let refused = c
                .update_related(
                    &app.worker_a,
                    P,
                    person,
                    id,
                    to,
                    &RecordInput::new().with("given_name", "Pat"),
                )
                .await;
            assert_eq!(
                refused.as_ref().map_err(fields).err(),
                Some(vec!["relationship"])
            );
        }
        // Another service's worker, and a related person named through another record: not found.
        let other = c
            .update_related(
                &app.worker_b,
                P,
                person,
                bo.id,
                Relationship::Family,
                &RecordInput::new().with("given_name", "Bo"),
            )
            .await;
        assert!(matches!(other, Err(PersonError::NotFound)));
        let second = app.person_named("Cy", "Elsewhere").await?;
        let through = c
            .update_related(
                &app.worker_a,
                P,
                second,
                bo.id,
                Relationship::Family,
                &RecordInput::new().with("given_name", "Bo"),
            )
            .await;
        assert!(matches!(through, Err(PersonError::NotFound)));
        // Erasing them erases what they replaced too.
        c.remove_related(&app.worker_a, P, person, bo.id).await?;
        let key: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_key WHERE owner_id = $1")
            .bind(bo.id.to_string())
            .fetch_one(&mut conn)
            .await?;
        assert_eq!(key, 0);
        Ok(())
    }
);

both_backends!(
    a_closed_case_is_reopened_with_why_and_its_closing_kept,
    |backend| async move {
        use confidant_core::store::{ClosureReason, ReopenReason};
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let person = app.person_named("Ada", "Reopened").await?;
        let case = c.open_case(&app.worker_a, P, person, None).await?;
        // An open case is not reopened.
        let open = c
            .reopen_case(&app.worker_a, P, person, case.id, ReopenReason::Returned)
            .await;
        assert!(matches!(open, Err(PersonError::Conflict(_))));
        c.close_case(&app.worker_a, P, person, case.id, ClosureReason::Disengaged)
            .await?;
        // Another service's worker: not found, nothing changes.
        let other = c
            .reopen_case(&app.worker_b, P, person, case.id, ReopenReason::Returned)
            .await;
        assert!(matches!(other, Err(PersonError::NotFound)));
        let reopened = c
            .reopen_case(&app.worker_a, P, person, case.id, ReopenReason::Returned)
            .await?;
        assert_eq!(reopened.closed_at, None);
        let cases = c.cases(&app.worker_a, P, person).await?;
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].closed_at, None);
        let kept: Vec<_> = cases[0]
            .reopenings
            .iter()
            .map(|r| (r.closure_reason, r.reason, r.reopened_by.clone()))
            .collect();
        assert_eq!(
            kept,
            vec![(
                ClosureReason::Disengaged,
                ReopenReason::Returned,
                app.worker_a.audit_id()
            )]
        );
        // Closed again and reopened again: both closings kept, in order.
        c.close_case(&app.worker_a, P, person, case.id, ClosureReason::Completed)
            .await?;
        // While a second case is open, the first cannot reopen: one open case per service.
        let second = c.open_case(&app.worker_a, P, person, None).await?;
        let clash = c
            .reopen_case(
                &app.worker_a,
                P,
                person,
                case.id,
                ReopenReason::ClosedInError,
            )
            .await;
        assert!(matches!(clash, Err(PersonError::Conflict(_))), "{clash:?}");
        c.close_case(
            &app.worker_a,
            P,
            person,
            second.id,
            ClosureReason::Transferred,
        )
        .await?;
        c.reopen_case(
            &app.worker_a,
            P,
            person,
            case.id,
            ReopenReason::ClosedInError,
        )
        .await?;
        let cases = c.cases(&app.worker_a, P, person).await?;
        let first = cases
            .iter()
            .find(|k| k.id == case.id)
            .ok_or_else(|| anyhow::anyhow!("the case"))?;
        let reasons: Vec<_> = first.reopenings.iter().map(|r| r.closure_reason).collect();
        assert_eq!(
            reasons,
            [ClosureReason::Disengaged, ClosureReason::Completed]
        );
        Ok(())
    }
);

both_backends!(
    a_misfiled_document_moves_to_the_right_record_resealed_and_logged_on_both,
    |backend| async move {
        use confidant_core::document::Upload;
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let wrong = app.person_named("Ada", "Wrongrecord").await?;
        let right = app.person_named("Bea", "Rightrecord").await?;
        let pdf = b"%PDF-1.7\n%Zqmovemarker\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
        let doc = c
            .upload_document(
                &app.worker_a,
                P,
                wrong,
                &Upload {
                    file_name: "tenancy.pdf",
                    content: pdf,
                    description: Some("Tenancy agreement"),
                    is_photo: false,
                },
            )
            .await?;
        let elsewhere = c
            .create_person(
                &app.worker_b,
                P,
                app.service_b,
                &PersonInput::new()
                    .with(confidant_core::field::PersonField::GivenName, "Cy")
                    .with(
                        confidant_core::field::PersonField::FamilyName,
                        "Otherservice",
                    ),
            )
            .await?
            .id;
        // Refused, naming the target, and nothing moves: the same record, or another service's.
        for to in [wrong, elsewhere] {
            let refused = c
                .move_document(&app.worker_a, P, wrong, doc.id, to)
                .await
                .expect_err("not a record to move to");
            assert_eq!(fields(&refused), ["to"]);
        }
        // Someone of another service cannot move it: the document is not found for them.
        let outsider = c
            .move_document(&app.worker_b, P, wrong, doc.id, elsewhere)
            .await;
        assert!(matches!(outsider, Err(PersonError::NotFound)));
        // By record number, within the service.
        let number = c.read_person(&app.worker_a, P, right).await?.record_number;
        assert_eq!(c.move_target(&app.worker_a, P, wrong, number).await?, right);
        let missing = c.move_target(&app.worker_a, P, wrong, 999).await;
        assert!(matches!(missing, Err(PersonError::Invalid(_))));

        let moved = c
            .move_document(&app.worker_a, P, wrong, doc.id, right)
            .await?;
        assert_eq!(moved.values.get("file_name"), Some("tenancy.pdf"));
        assert!(c.documents(&app.worker_a, P, wrong).await?.is_empty());
        let listed = c.documents(&app.worker_a, P, right).await?;
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].values.get("description"),
            Some("Tenancy agreement")
        );
        let (_, content) = c.read_document(&app.worker_a, P, right, doc.id).await?;
        assert_eq!(content, pdf);
        // Logged on both records.
        let left = c
            .access_history(&app.dpo, Purpose::Audit, wrong, 50)
            .await?;
        assert!(left.iter().any(|e| e.action == "document.move_out"));
        let joined = c
            .access_history(&app.dpo, Purpose::Audit, right, 50)
            .await?;
        assert!(joined.iter().any(|e| e.action == "document.move_in"));
        // Erasing the record it left no longer reaches it: it is sealed under the right key now.
        c.destroy_person(
            &app.dpo,
            P,
            wrong,
            "dpo_decision",
            "Destroyed for this test",
        )
        .await?;
        let (_, again) = c.read_document(&app.worker_a, P, right, doc.id).await?;
        assert_eq!(again, pdf);
        Ok(())
    }
);
