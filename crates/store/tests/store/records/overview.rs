//! A person's overview (`Confidant::person_overview`): the parts a person's page shows, read under
//! one permit in one transaction, must be exactly what reading each part on its own gives, and
//! leave exactly the events reading them one by one leaves.

use confidant_core::Role;
use confidant_core::audit::AuditDraft;
use confidant_core::document::Upload;
use confidant_core::store::{AuditStore as _, OverviewParts, Relationship};
use confidant_testkit::test_time;

use super::*;

/// The actions of the events appended after `seq`, in order.
async fn actions_after(app: &TestApp, seq: i64) -> anyhow::Result<Vec<String>> {
    Ok(events_after(app, seq)
        .await?
        .into_iter()
        .map(|e| e[1].clone())
        .collect())
}

/// The events appended after `seq`, in order: what each records (actor, action, resource type
/// and id, subject, purpose, outcome), without its place in the chain.
async fn events_after(app: &TestApp, seq: i64) -> anyhow::Result<Vec<[String; 7]>> {
    let events = app.confidant.store().audit_events(seq + 1, 100).await?;
    Ok(events
        .into_iter()
        .map(|e| {
            [
                e.actor,
                e.action,
                e.resource_type,
                e.resource_id.unwrap_or_default(),
                e.subject_id.unwrap_or_default(),
                e.purpose,
                e.outcome,
            ]
        })
        .collect())
}

/// Reads the parts of a person's page one by one, as the page did before the overview, and
/// answers the events that left.
async fn one_by_one(
    app: &TestApp,
    reader: &confidant_core::access::Principal,
    p: uuid::Uuid,
) -> anyhow::Result<Vec<[String; 7]>> {
    let c = &app.confidant;
    let before = head(app).await?;
    c.read_person(reader, P, p).await?;
    c.related_people(reader, P, p).await?;
    c.cases(reader, P, p).await?;
    c.entry_counts(reader, P, p).await?;
    c.documents(reader, P, p).await?;
    c.access_history(reader, P, p, 20).await?;
    events_after(app, before).await
}

both_backends!(
    an_overview_holds_what_each_part_gives_and_leaves_the_same_events,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let w = &app.worker_a;
        let p = c
            .create_person(w, P, app.service_a, &person("Olive", "Overview"))
            .await?
            .id;
        c.add_entry(w, P, p, &note("First note")).await?;
        c.add_entry(w, P, p, &note("Second note")).await?;
        c.open_case(w, P, p, None).await?;
        c.add_related(
            w,
            P,
            p,
            Relationship::Family,
            None,
            &RecordInput::new()
                .with("given_name", "Rosa")
                .with("family_name", "Overview"),
        )
        .await?;
        let pdf = b"%PDF-1.7\n%overview\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
        c.upload_document(
            w,
            P,
            p,
            &Upload {
                file_name: "letter.pdf",
                content: pdf,
                description: None,
                is_photo: false,
            },
        )
        .await?;

        // The parts one by one, as the page read them before.
        let person = c.read_person(w, P, p).await?;
        let related = c.related_people(w, P, p).await?;
        let cases = c.cases(w, P, p).await?;
        let counts = c.entry_counts(w, P, p).await?;
        let documents = c.documents(w, P, p).await?;
        let parts_read = one_by_one(&app, w, p).await?;

        let before = head(&app).await?;
        let subject_events = c.store().audit_events_for_subject(p, 20).await?;
        let overview = c.person_overview(w, P, p, 20).await?;
        assert_eq!(events_after(&app, before).await?, parts_read);
        assert_eq!(
            parts_read.iter().map(|e| e[1].as_str()).collect::<Vec<_>>(),
            [
                "person.read",
                "related.read",
                "case.read",
                "entry.count",
                "document.list",
                "audit.read"
            ]
        );
        assert_eq!(overview.person.get(PersonField::GivenName), Some("Olive"));
        assert_eq!(overview.person.view, person.view);
        assert_eq!(overview.related.len(), 1);
        assert_eq!(overview.related[0].id, related[0].id);
        assert_eq!(overview.related[0].values.get("given_name"), Some("Rosa"));
        assert_eq!(overview.cases, cases);
        assert_eq!(overview.entry_counts, counts);
        assert_eq!(overview.entry_counts.get(&RecordKind::Note), Some(&2));
        assert_eq!(overview.documents.len(), 1);
        assert_eq!(overview.documents[0].id, documents[0].id);
        // The history lists the parts read above, newest first.
        assert_eq!(overview.history, subject_events);
        assert_eq!(overview.history[0].action, "audit.read");
        assert_eq!(overview.history[1].action, "document.list");
        // Not its own reads: they are recorded after the snapshot the history was read in.
        assert_eq!(overview.history[0].seq, before);
        assert!(overview.may_change && overview.may_change_referred);

        // Breaking the glass: the same events, each recorded as a break-the-glass access, and
        // nothing to change.
        c.break_glass(
            &app.worker_b,
            p,
            "Called by A&E about an unconscious patient",
        )
        .await?;
        let glass = one_by_one(&app, &app.worker_b, p).await?;
        assert!(glass.iter().all(|e| e[5] == "break_glass"), "{glass:?}");
        let before = head(&app).await?;
        let broken = c.person_overview(&app.worker_b, P, p, 20).await?;
        assert_eq!(events_after(&app, before).await?, glass);
        assert!(!broken.may_change && !broken.may_change_referred);
        assert_eq!(broken.related.len(), 1);

        // An auditor may read access histories, but not the record: the overview is refused.
        let (_, auditor) = app
            .add_staff(Role::Auditor, None, "overview.auditor", true)
            .await?;
        let before = head(&app).await?;
        assert!(matches!(
            c.person_overview(&auditor, Purpose::Audit, p, 20).await,
            Err(PersonError::NotFound)
        ));
        assert_eq!(actions_after(&app, before).await?, ["person.read"]);

        // Someone of another service (who has not broken the glass): refused, audited, and told
        // nothing.
        let (_, outsider) = app
            .add_staff(
                Role::Practitioner,
                Some(app.service_b),
                "overview.outsider",
                true,
            )
            .await?;
        let before = head(&app).await?;
        assert!(matches!(
            c.person_overview(&outsider, P, p, 20).await,
            Err(PersonError::NotFound)
        ));
        let refused = c.store().audit_events(before + 1, 10).await?;
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].outcome, "denied");

        // A record that does not exist.
        let before = head(&app).await?;
        assert!(matches!(
            c.person_overview(w, P, uuid::Uuid::now_v7(), 20).await,
            Err(PersonError::NotFound)
        ));
        let missing = c.store().audit_events(before + 1, 10).await?;
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].outcome, "not_found");

        // A shredded record: its key is gone, so there is nothing to show.
        c.destroy_person(
            &app.dpo,
            Purpose::Administration,
            p,
            "dpo_decision",
            "Destroyed for this test",
        )
        .await?;
        assert!(matches!(
            c.person_overview(w, P, p, 20).await,
            Err(PersonError::NotFound)
        ));
        chain_is_intact(&app).await
    }
);

both_backends!(
    an_overview_counts_entries_in_the_store_and_of_a_referral_only_those_sent,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let w = &app.worker_a;
        let p = c
            .create_person(w, P, app.service_a, &person("Cora", "Counted"))
            .await?
            .id;
        let other = c
            .create_person(w, P, app.service_a, &person("Otto", "Other"))
            .await?
            .id;
        let mut notes = Vec::new();
        for body in ["one", "two", "three"] {
            notes.push(c.add_entry(w, P, p, &note(body)).await?.id);
        }
        let elsewhere = c.add_entry(w, P, other, &note("not hers")).await?.id;
        let draft = || AuditDraft::for_tests("test.overview", None, test_time());
        let access = PersonAccess::for_tests(p);
        let store = c.store();

        let before = head(&app).await?;
        let whole = store
            .person_overview(
                &access,
                OverviewParts::Whole { history: 3 },
                vec![draft(), draft()],
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("no overview"))?;
        assert_eq!(whole.entry_counts, [(RecordKind::Note, 3)]);
        assert_eq!(
            whole.history.len(),
            3,
            "the latest three of her four events"
        );
        assert_eq!(head(&app).await? - before, 2, "one event per draft given");

        // Of a referral, only the entries sent and of this person, however many ids there are
        // (more than one statement's worth).
        let mut sent = vec![notes[0], elsewhere];
        sent.extend((0..600).map(|_| uuid::Uuid::now_v7()));
        sent.push(notes[2]);
        let referred = store
            .person_overview(
                &access,
                OverviewParts::Referred { entries: &sent },
                vec![draft()],
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("no overview"))?;
        assert_eq!(referred.entry_counts, [(RecordKind::Note, 2)]);
        assert!(referred.related.is_empty() && referred.history.is_empty());
        let none = store
            .person_overview(
                &access,
                OverviewParts::Referred { entries: &[] },
                vec![draft()],
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("no overview"))?;
        assert!(none.entry_counts.is_empty());

        // No record: nothing read and nothing recorded.
        let before = head(&app).await?;
        let gone = store
            .person_overview(
                &PersonAccess::for_tests(uuid::Uuid::now_v7()),
                OverviewParts::Whole { history: 5 },
                vec![draft()],
            )
            .await?;
        assert!(gone.is_none());
        assert_eq!(head(&app).await?, before);
        chain_is_intact(&app).await
    }
);
