//! A trustee's matter (issue 15), on SQLite and PostgreSQL: granted by the Data Protection Officer
//! for a kind of matter the register names, it opens only the parts of one record it states (flagged
//! notes only with a reason of their own), for a limited time; nothing else of the record, no
//! change, no export.

use confidant_core::field::{PersonField, RecordKind};
use confidant_core::grant::TrusteeGrant;
use confidant_core::person::{PersonError, PersonInput};
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::store::{ContactType, NoteFlags};
use confidant_core::{Purpose, Role};
use confidant_testkit::{TestApp, both_backends, complaint_matter, operator, test_register, train};
use uuid::Uuid;

const P: Purpose = Purpose::Support;

fn note(body: &str, flags: NoteFlags, kind: RecordKind) -> NewEntry {
    NewEntry {
        kind,
        case_id: None,
        parent_id: None,
        contact_type: (kind == RecordKind::Note).then_some(ContactType::Phone),
        occurs_at: None,
        status: None,
        due_at: None,
        flags,
        values: RecordInput::new().with(
            if kind == RecordKind::Note {
                "body"
            } else {
                "title"
            },
            body,
        ),
    }
}

fn ids(entries: Vec<confidant_core::record::Entry>) -> Vec<Uuid> {
    entries.iter().map(|e| e.id).collect()
}

fn invalid_fields(e: &PersonError) -> Vec<&'static str> {
    match e {
        PersonError::Invalid(v) => v.0.iter().map(|v| v.field).collect(),
        _ => Vec::new(),
    }
}

both_backends!(
    a_trustees_matter_opens_only_the_parts_it_states,
    |backend| async move {
        let TestApp {
            confidant,
            db,
            organisation,
            service_a,
            worker_a,
            dpo,
            ..
        } = TestApp::new(backend).await?;
        let _db = db;
        let c = confidant.with_register(test_register());
        let person = c
            .create_person(
                &worker_a,
                P,
                service_a,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Nell")
                    .with(PersonField::FamilyName, "Harker")
                    .with(PersonField::MentalHealth, "Low mood since the spring"),
            )
            .await?
            .id;
        let plain = c
            .add_entry(
                &worker_a,
                P,
                person,
                &note(
                    "Called about the complaint",
                    NoteFlags::default(),
                    RecordKind::Note,
                ),
            )
            .await?
            .id;
        let flagged = c
            .add_entry(
                &worker_a,
                P,
                person,
                &note(
                    "Names the complainant",
                    NoteFlags {
                        identifies_complainant: true,
                        ..NoteFlags::default()
                    },
                    RecordKind::Note,
                ),
            )
            .await?
            .id;
        let plan = c
            .add_entry(
                &worker_a,
                P,
                person,
                &note("Housing plan", NoteFlags::default(), RecordKind::Plan),
            )
            .await?
            .id;
        let staff = c
            .create_staff(
                &operator(),
                organisation,
                None,
                Role::Trustee,
                "board.trustee",
            )
            .await?;
        train(&c, staff.id).await?;
        let trustee = c.acting_as(&operator(), &staff).await?;
        let kinds = [RecordKind::Note, RecordKind::Plan];

        // Nothing before a grant.
        assert!(matches!(
            c.read_person(&trustee, P, person).await,
            Err(PersonError::NotFound)
        ));

        // Only the register's kinds of matter, only the parts a kind opens, only for its longest.
        let mut wrong = complaint_matter(30);
        wrong.matter = "gossip".to_owned();
        let refused = c.grant_trustee_matter(&dpo, staff.id, person, &wrong).await;
        assert_eq!(
            invalid_fields(&refused.expect_err("unknown matter")),
            ["matter"]
        );
        let mut wrong = complaint_matter(30);
        wrong.parts.push("health".to_owned());
        let refused = c.grant_trustee_matter(&dpo, staff.id, person, &wrong).await;
        assert_eq!(
            invalid_fields(&refused.expect_err("beyond the kind")),
            ["parts"]
        );
        let refused = c
            .grant_trustee_matter(&dpo, staff.id, person, &complaint_matter(61))
            .await;
        assert_eq!(invalid_fields(&refused.expect_err("too long")), ["days"]);
        // Only the DPO grants.
        let refused = c
            .grant_trustee_matter(&worker_a, staff.id, person, &complaint_matter(30))
            .await;
        assert!(matches!(refused, Err(PersonError::NotFound)), "{refused:?}");
        assert!(matches!(
            c.read_person(&trustee, P, person).await,
            Err(PersonError::NotFound)
        ));

        // A complaint: the identity details and the unflagged notes.
        c.grant_trustee_matter(&dpo, staff.id, person, &complaint_matter(30))
            .await?;
        let seen = c.read_person(&trustee, P, person).await?;
        assert_eq!(seen.get(PersonField::GivenName), Some("Nell"));
        assert_eq!(
            seen.get(PersonField::MentalHealth),
            None,
            "health is not opened"
        );
        let entries = ids(c.entries(&trustee, P, person, &kinds).await?);
        assert_eq!(entries, [plain]);
        // Nothing else of the record, no change, no export.
        assert!(matches!(
            c.related_people(&trustee, P, person).await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.documents(&trustee, P, person).await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.disclosures(&trustee, P, person).await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.export_record(&trustee, P, person).await,
            Err(PersonError::NotFound)
        ));
        let change = c
            .update_person(
                &trustee,
                P,
                person,
                &PersonInput::new().with(PersonField::GivenName, "Changed"),
            )
            .await;
        assert!(matches!(change, Err(PersonError::NotFound)), "{change:?}");

        // A reason to open flagged notes on a grant that opens no notes opens none under another.
        c.grant_trustee_matter(
            &dpo,
            staff.id,
            person,
            &TrusteeGrant {
                matter: "incident".to_owned(),
                parts: vec!["identity".to_owned()],
                days: 7,
                reason: "The board checks who was involved in May".to_owned(),
                flagged_reason: Some("The incident turns on what the complainant said".to_owned()),
            },
        )
        .await?;
        let entries = ids(c.entries(&trustee, P, person, &kinds).await?);
        assert_eq!(entries, [plain]);

        // A serious incident, flagged notes opened with a reason: they and the plans show too.
        c.grant_trustee_matter(
            &dpo,
            staff.id,
            person,
            &TrusteeGrant {
                matter: "incident".to_owned(),
                parts: vec![
                    "identity".to_owned(),
                    "health".to_owned(),
                    "note".to_owned(),
                    "plan".to_owned(),
                ],
                days: 7,
                reason: "The board reviews the serious incident of May".to_owned(),
                flagged_reason: Some("The incident turns on what the complainant said".to_owned()),
            },
        )
        .await?;
        let seen = c.read_person(&trustee, P, person).await?;
        assert!(seen.get(PersonField::MentalHealth).is_some());
        let mut entries = ids(c.entries(&trustee, P, person, &kinds).await?);
        entries.sort();
        let mut all = vec![plain, flagged, plan];
        all.sort();
        assert_eq!(entries, all);

        // A matter ends: nothing again.
        c.clock().advance(time::Duration::days(31));
        assert!(matches!(
            c.read_person(&trustee, P, person).await,
            Err(PersonError::NotFound)
        ));
        Ok(())
    }
);
