//! The service-user record (F3), driven through the core services on SQLite and PostgreSQL: the
//! catalogue and service field groups, corrections, related people and the perpetrator rule,
//! referrals with triage and erasure, cases, entries, documents and the paper register.

use confidant_core::Purpose;
use confidant_core::access::PersonAccess;
use confidant_core::audit::verify_chain;
use confidant_core::document::{MAX_DOCUMENT_BYTES, Upload};
use confidant_core::field::{FieldGroup, FieldGroups, IndexField, PersonField, RecordKind};
use confidant_core::person::{Lookup, PersonError, PersonInput};
use confidant_core::record::{EntryChange, NewEntry, RecordInput};
use confidant_core::referral::NewReferral;
use confidant_core::sharing::ToTell;
use confidant_core::store::RecordStore as _;
use confidant_core::store::{
    ClosureReason, ContactType, DisclosedItem, EntryStatus, NoteFlags, ReferralPolicy,
    ReferralSource, Relationship, ServiceConfig, TriageState,
};
use confidant_testkit::{TestApp, both_backends, operator};
use sqlx::Row;

const P: Purpose = Purpose::Support;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether stored bytes appear in a database's raw bytes: as they are (SQLite's file), or as the
/// hex text a PostgreSQL dump writes `bytea` as.
fn holds(raw: &[u8], stored: &[u8]) -> bool {
    let hex: String = stored.iter().map(|b| format!("{b:02x}")).collect();
    contains(raw, stored) || contains(raw, hex.as_bytes())
}

async fn chain_is_intact(app: &TestApp) -> anyhow::Result<()> {
    let verified = verify_chain(app.confidant.store(), None).await?;
    anyhow::ensure!(verified.is_ok(), "chain broken: {verified:?}");
    Ok(())
}

fn person(given: &str, family: &str) -> PersonInput {
    PersonInput::new()
        .with(PersonField::GivenName, given)
        .with(PersonField::FamilyName, family)
}

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

fn referral(given: &str, family: &str, phone: &str) -> NewReferral {
    NewReferral {
        source: ReferralSource::SelfReferral,
        partner_person_id: None,
        values: RecordInput::new()
            .with("given_name", given)
            .with("family_name", family)
            .with("phone", phone)
            .with("nhs_number", "943 476 5919")
            .with("reason", "Wants help with housing"),
    }
}

fn invalid_fields(e: &PersonError) -> Vec<&'static str> {
    match e {
        PersonError::Invalid(v) => v.0.iter().map(|v| v.field).collect(),
        _ => Vec::new(),
    }
}

async fn configure(
    app: &TestApp,
    service: uuid::Uuid,
    groups: &str,
    referrals: ReferralPolicy,
    partner: Option<uuid::Uuid>,
) -> anyhow::Result<()> {
    app.confidant
        .configure_service(
            &operator(),
            &ServiceConfig {
                service_id: service,
                field_groups: FieldGroups::parse(groups).map_err(anyhow::Error::msg)?,
                referrals,
                partner_service_id: partner,
            },
        )
        .await?;
    Ok(())
}

both_backends!(
    every_field_group_is_sealed_and_a_service_collects_only_its_groups,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        configure(
            &app,
            app.service_a,
            "health,safe_contact",
            ReferralPolicy::Anyone,
            None,
        )
        .await?;
        let input = person("Mira", "Canaryhealth")
            .with(PersonField::MentalHealth, "Zqxmentalhealthmarker")
            .with(PersonField::SafePhone, "07700 900456")
            .with(PersonField::SafeTimes, "Weekday mornings only");
        let created = app
            .confidant
            .create_person(&app.worker_a, P, app.service_a, &input)
            .await?;
        let read = app
            .confidant
            .read_person(&app.worker_a, P, created.id)
            .await?;
        assert_eq!(
            read.get(PersonField::MentalHealth),
            Some("Zqxmentalhealthmarker")
        );
        assert_eq!(
            read.get(PersonField::SafeTimes),
            Some("Weekday mornings only")
        );
        // Not collected by this service: refused by name, nothing written.
        let refused = app
            .confidant
            .update_person(
                &app.worker_a,
                P,
                created.id,
                &PersonInput::new().with(PersonField::Convictions, "none"),
            )
            .await
            .expect_err("criminal justice is off");
        assert_eq!(invalid_fields(&refused), vec!["convictions"]);
        // A choice must be one of its codes; an unknown code is refused.
        let mut odd = PersonInput::new().with(PersonField::Religion, "pastafarian");
        odd.set_code("favourite_colour", "blue");
        configure(
            &app,
            app.service_a,
            "health,diversity",
            ReferralPolicy::Anyone,
            None,
        )
        .await?;
        let refused = app
            .confidant
            .update_person(&app.worker_a, P, created.id, &odd)
            .await
            .expect_err("bad choice and unknown code");
        assert_eq!(invalid_fields(&refused), vec!["fields", "religion"]);
        let raw = app.db.raw_bytes()?;
        assert!(!contains(&raw, b"Zqxmentalhealthmarker"));
        assert!(!contains(&raw, b"Weekday mornings only"));
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_correction_keeps_the_old_value_with_who_and_when,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let created = app
            .confidant
            .create_person(&app.worker_a, P, app.service_a, &person("Ada", "Byron"))
            .await?;
        app.confidant
            .update_person(
                &app.worker_a,
                P,
                created.id,
                &PersonInput::new().with(PersonField::FamilyName, "Lovelace"),
            )
            .await?;
        // Setting the same value again leaves no history.
        app.confidant
            .update_person(
                &app.worker_a,
                P,
                created.id,
                &PersonInput::new().with(PersonField::FamilyName, "Lovelace"),
            )
            .await?;
        let history = app
            .confidant
            .corrections(&app.worker_a, P, created.id)
            .await?;
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].field, "family_name");
        assert_eq!(history[0].old_value, "Byron");
        assert_eq!(history[0].changed_by, app.worker_a.audit_id());
        // An entry's correction is in the same history.
        let n = app
            .confidant
            .add_entry(&app.worker_a, P, created.id, &note("Phoned on Tuesday"))
            .await?;
        app.confidant
            .update_entry(
                &app.worker_a,
                P,
                created.id,
                n.id,
                &EntryChange {
                    reason: Some(confidant_core::store::CorrectionReason::WrongDetail),
                    values: RecordInput::new().with("body", "Phoned on Wednesday"),
                    ..EntryChange::default()
                },
            )
            .await?;
        let history = app
            .confidant
            .corrections(&app.worker_a, P, created.id)
            .await?;
        assert_eq!(history.len(), 2);
        assert!(history.iter().any(|c| c.old_value == "Phoned on Tuesday"));
        assert!(
            app.confidant
                .recipients_to_tell(
                    &app.worker_a,
                    P,
                    created.id,
                    ToTell::Correction(&["family_name"])
                )
                .await?
                .is_empty()
        );
        // Someone who may not see the record may not see its history.
        assert!(matches!(
            app.confidant
                .corrections(&app.worker_b, P, created.id)
                .await,
            Err(PersonError::NotFound)
        ));
        chain_is_intact(&app).await
    }
);

both_backends!(
    declining_a_referral_erases_every_trace_of_it,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let referral = app
            .confidant
            .create_referral(
                &app.worker_a,
                P,
                app.service_a,
                &referral("Zqxreferredcanary", "Declinedperson", "07700 900777"),
            )
            .await?;
        let id = referral.record.id.to_string();
        // What the database holds of it: sealed values, its blind indexes; and its wrapped key in
        // the key store.
        let mut traces: Vec<Vec<u8>> = Vec::new();
        let (mut conn, mut keys) = (app.db.raw().await?, app.db.raw_keys().await?);
        for (sql, in_keys) in [
            (
                "SELECT value AS b FROM record_field WHERE record_id = $1",
                false,
            ),
            (
                "SELECT wrapped AS b FROM vault_key WHERE owner_id = $1",
                true,
            ),
            (
                "SELECT digest AS b FROM referral_index WHERE referral_id = $1",
                false,
            ),
        ] {
            let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&id);
            let rows = if in_keys {
                query.fetch_all(&mut keys).await?
            } else {
                query.fetch_all(&mut conn).await?
            };
            for row in rows {
                traces.push(row.try_get("b")?);
            }
        }
        assert!(
            traces.len() >= 8,
            "expected sealed values, a key and indexes"
        );
        let bytes = || -> anyhow::Result<Vec<u8>> {
            let mut all = app.db.raw_bytes()?;
            all.extend(app.db.raw_key_bytes()?);
            Ok(all)
        };
        let before = bytes()?;
        assert!(traces.iter().all(|t| holds(&before, t)));

        let moved = app
            .confidant
            .triage_referral(
                &app.worker_a,
                P,
                referral.record.id,
                TriageState::ContactAttempted,
            )
            .await?;
        assert!(moved.last_contact_at_micros.is_some());
        let declined = app
            .confidant
            .triage_referral(&app.worker_a, P, referral.record.id, TriageState::Declined)
            .await?;
        assert_eq!(declined.state, TriageState::Declined);

        let after = bytes()?;
        for trace in &traces {
            assert!(
                !holds(&after, trace),
                "a trace of the declined referral remains"
            );
        }
        assert!(!contains(&after, b"Zqxreferredcanary"));
        // The non-identifying record and its steps remain, and the chain is whole.
        let read = app
            .confidant
            .referral(&app.worker_a, P, referral.record.id)
            .await?;
        assert_eq!(read.record.state, TriageState::Declined);
        assert!(read.values.get("given_name").is_none());
        let steps: Vec<_> = read.steps.iter().map(|s| s.state).collect();
        assert_eq!(
            steps,
            vec![
                TriageState::Received,
                TriageState::ContactAttempted,
                TriageState::Declined
            ]
        );
        // A decided referral cannot be decided again.
        assert!(matches!(
            app.confidant
                .triage_referral(&app.worker_a, P, referral.record.id, TriageState::Withdrawn)
                .await,
            Err(PersonError::Conflict(_))
        ));
        chain_is_intact(&app).await
    }
);

both_backends!(
    accepting_a_referral_creates_the_person_and_opens_a_case_and_duplicates_are_found,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let first = app
            .confidant
            .create_referral(
                &app.worker_a,
                P,
                app.service_a,
                &referral("Kit", "Marlowe", "07700 900321"),
            )
            .await?;
        assert!(first.duplicate_people.is_empty());
        let (person_id, case) = app
            .confidant
            .accept_referral(&app.worker_a, P, first.record.id, None)
            .await?;
        let person = app
            .confidant
            .read_person(&app.worker_a, P, person_id)
            .await?;
        assert_eq!(person.get(PersonField::FamilyName), Some("Marlowe"));
        assert_eq!(person.get(PersonField::Phone), Some("07700900321"));
        assert!(case.closed_at.is_none());
        // The person is findable by the identifier from the referral.
        let found = app
            .confidant
            .find_people(
                &app.worker_a,
                P,
                app.service_a,
                &Lookup {
                    field: IndexField::NhsNumber,
                    value: "9434765919".into(),
                },
            )
            .await?;
        assert_eq!(found, vec![person_id]);
        // A second referral with the same NHS number is flagged as a possible duplicate.
        let second = app
            .confidant
            .create_referral(
                &app.worker_a,
                P,
                app.service_a,
                &referral("Christopher", "Marlowe", "07700 900999"),
            )
            .await?;
        assert_eq!(second.duplicate_people, vec![person_id]);
        // ...but not in another service.
        let elsewhere = app
            .confidant
            .create_referral(
                &app.worker_b,
                P,
                app.service_b,
                &referral("Kit", "Marlowe", "07700 900321"),
            )
            .await?;
        assert!(elsewhere.duplicate_people.is_empty());
        assert!(elsewhere.duplicate_referrals.is_empty());
        // One open case per person per service.
        assert!(matches!(
            app.confidant
                .open_case(&app.worker_a, P, person_id, None)
                .await,
            Err(PersonError::Conflict(_))
        ));
        let closed = app
            .confidant
            .close_case(
                &app.worker_a,
                P,
                person_id,
                case.id,
                ClosureReason::Completed,
            )
            .await?;
        assert!(closed.closed_at.is_some());
        let cases = app.confidant.cases(&app.worker_a, P, person_id).await?;
        assert_eq!(cases[0].closure_reason, Some(ClosureReason::Completed));
        app.confidant
            .open_case(&app.worker_a, P, person_id, None)
            .await?;
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_service_takes_referrals_only_from_its_sources,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        configure(
            &app,
            app.service_a,
            "",
            ReferralPolicy::ProfessionalOnly,
            None,
        )
        .await?;
        let refused = app
            .confidant
            .create_referral(
                &app.worker_a,
                P,
                app.service_a,
                &referral("Sam", "Self", "07700 900111"),
            )
            .await
            .expect_err("self-referral refused");
        assert_eq!(invalid_fields(&refused), vec!["source"]);
        // Partner only: the person must have an open case at the partner service.
        configure(
            &app,
            app.service_a,
            "",
            ReferralPolicy::PartnerOnly,
            Some(app.service_b),
        )
        .await?;
        let at_partner = app
            .confidant
            .create_person(&app.worker_b, P, app.service_b, &person("Pat", "Partner"))
            .await?;
        let mut partner = referral("Pat", "Partner", "07700 900222");
        partner.source = ReferralSource::Partner;
        partner.partner_person_id = Some(at_partner.id);
        // Sent by the partner service's staff: no open case there yet.
        let refused = app
            .confidant
            .create_referral(&app.worker_b, P, app.service_a, &partner)
            .await
            .expect_err("no open case at the partner");
        assert_eq!(invalid_fields(&refused), vec!["partner_person_id"]);
        app.confidant
            .open_case(&app.worker_b, P, at_partner.id, None)
            .await?;
        // The receiving service's own staff cannot see the partner's record: the same answer as
        // for a person without an open case, so nothing is learnt about it.
        let refused = app
            .confidant
            .create_referral(&app.worker_a, P, app.service_a, &partner)
            .await
            .expect_err("not the partner's record to refer");
        assert_eq!(invalid_fields(&refused), vec!["partner_person_id"]);
        // A partner's referral is a disclosure: without a partner-service recipient for the
        // receiving service in the register, there is none.
        let refused = app
            .confidant
            .create_referral(&app.worker_b, P, app.service_a, &partner)
            .await
            .expect_err("no partner-service recipient");
        assert_eq!(invalid_fields(&refused), vec!["source"]);
        let recipient = app
            .confidant
            .add_recipient(
                &app.dpo,
                app.organisation,
                &confidant_core::sharing::RecipientInput {
                    name: "Recovery Service (partner)".to_owned(),
                    kind: "partner_service".to_owned(),
                    categories: vec!["identity".to_owned(), "communication".to_owned()],
                    bases: vec!["legitimate_interests".to_owned()],
                    partner_service_id: Some(app.service_a),
                    ..Default::default()
                },
            )
            .await?;
        assert!(
            app.confidant
                .disclosures(&app.worker_b, P, at_partner.id)
                .await?
                .is_empty()
        );
        let made = app
            .confidant
            .create_referral(&app.worker_b, P, app.service_a, &partner)
            .await?;
        assert_eq!(made.record.service_id, app.service_a);
        // Logged at the partner service, to the receiving service, with what the record held.
        let log = app
            .confidant
            .disclosures(&app.worker_b, P, at_partner.id)
            .await?;
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].record.recipient_id, recipient.id);
        assert_eq!(log[0].record.service_id, app.service_b);
        assert!(
            log[0]
                .items
                .contains(&DisclosedItem::Field("given_name".to_owned())),
            "{:?}",
            log[0].items
        );
        // A self-referral to a partner-only service is refused.
        let refused = app
            .confidant
            .create_referral(
                &app.worker_a,
                P,
                app.service_a,
                &referral("Sam", "Self", "07700 900111"),
            )
            .await
            .expect_err("partner only");
        assert_eq!(invalid_fields(&refused), vec!["source"]);
        Ok(())
    }
);

both_backends!(
    nothing_of_a_victim_reaches_those_who_work_with_the_alleged_perpetrator,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        configure(
            &app,
            app.service_a,
            "safe_contact,children",
            ReferralPolicy::Anyone,
            None,
        )
        .await?;
        // The alleged perpetrator is supported by service B.
        let perpetrator = app
            .confidant
            .create_person(
                &app.worker_b,
                P,
                app.service_b,
                &person("Rex", "Perpetrator").with(PersonField::Phone, "07700 900500"),
            )
            .await?;
        // The victim, in service A, with a safe phone and the link.
        let victim = app
            .confidant
            .create_person(
                &app.worker_a,
                P,
                app.service_a,
                &person("Zqxvictimgiven", "Zqxvictimfamily")
                    .with(PersonField::SafePhone, "07700 900999")
                    .with(PersonField::SafeAddress, "Zqxrefugeaddress"),
            )
            .await?;
        app.confidant
            .add_related(
                &app.worker_a,
                P,
                victim.id,
                Relationship::AllegedPerpetrator,
                Some(perpetrator.id),
                &RecordInput::new()
                    .with("given_name", "Rex")
                    .with("family_name", "Perpetrator"),
            )
            .await?;
        app.confidant
            .add_entry(
                &app.worker_a,
                P,
                victim.id,
                &note("Zqxvictimnote: disclosed the abuse"),
            )
            .await?;
        // The link as sharing and access requests will ask it, under an access to the victim.
        let store = app.confidant.store();
        assert!(
            store
                .is_alleged_perpetrator_in(&PersonAccess::for_tests(victim.id), perpetrator.id)
                .await?
        );
        assert!(
            !store
                .is_alleged_perpetrator_in(&PersonAccess::for_tests(perpetrator.id), victim.id)
                .await?
        );
        // The alleged perpetrator cannot also be the victim's next of kin (a route for sharing),
        // and the victim cannot be linked into the perpetrator's record. Neither worker may read
        // the other service's record, so they are not told why (that would say who is whose
        // alleged perpetrator): the related person is added and the link is not kept.
        let next_of_kin = app
            .confidant
            .add_related(
                &app.worker_a,
                P,
                victim.id,
                Relationship::NextOfKin,
                Some(perpetrator.id),
                &RecordInput::new().with("given_name", "Rex"),
            )
            .await?;
        assert_eq!(next_of_kin.linked_person_id, None);
        let into_perpetrator = app
            .confidant
            .add_related(
                &app.worker_b,
                P,
                perpetrator.id,
                Relationship::Family,
                Some(victim.id),
                &RecordInput::new().with("given_name", "Someone"),
            )
            .await?;
        assert_eq!(into_perpetrator.linked_person_id, None);
        let mut conn = app.db.raw().await?;
        let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM related_person")
            .fetch_one(&mut conn)
            .await?;
        let links: Vec<String> = sqlx::query_scalar(
            "SELECT linked_person_id FROM related_person WHERE linked_person_id IS NOT NULL",
        )
        .fetch_all(&mut conn)
        .await?;
        assert_eq!(kept, 3);
        assert_eq!(
            links,
            vec![perpetrator.id.to_string()],
            "only the perpetrator link is kept"
        );
        app.confidant
            .remove_related(&app.worker_b, P, perpetrator.id, into_perpetrator.id)
            .await?;
        app.confidant
            .remove_related(&app.worker_a, P, victim.id, next_of_kin.id)
            .await?;

        // Everything a worker of the perpetrator's service can search or export.
        let w = &app.worker_b;
        let mut seen = String::new();
        for name in ["Rex", "Perpetrator", "Zqxvictim"] {
            for p in app
                .confidant
                .search_people_by_name(w, P, app.service_b, name)
                .await?
            {
                seen.push_str(&format!("{} {} {}\n", p.id, p.given_name, p.family_name));
            }
        }
        for value in ["07700 900500", "07700 900999"] {
            let found = app
                .confidant
                .find_people(
                    w,
                    P,
                    app.service_b,
                    &Lookup {
                        field: IndexField::Phone,
                        value: value.into(),
                    },
                )
                .await?;
            seen.push_str(&format!("{found:?}\n"));
        }
        let export = app.confidant.export_record(w, P, perpetrator.id).await?;
        seen.push_str(&format!("{:?}\n", export.fields));
        for e in &export.entries {
            for (code, value) in e.values.iter() {
                seen.push_str(&format!("{code}={value}\n"));
            }
        }
        for r in &export.related {
            seen.push_str(&format!("{} {:?}\n", r.id, r.linked_person_id));
            for (code, value) in r.values.iter() {
                seen.push_str(&format!("{code}={value}\n"));
            }
        }
        assert!(seen.contains("Perpetrator"), "the search did run");
        for secret in [
            "Zqxvictim",
            "07700 900999",
            "Zqxrefugeaddress",
            &victim.id.to_string(),
        ] {
            assert!(!seen.contains(secret), "the victim leaked: {secret}");
        }
        assert!(export.related.is_empty());
        // The victim's record itself is out of reach of the perpetrator's service.
        assert!(matches!(
            app.confidant.read_person(w, P, victim.id).await,
            Err(PersonError::NotFound)
        ));
        // And the victim's own export never carries her safe contact details.
        let own = app
            .confidant
            .export_record(&app.worker_a, P, victim.id)
            .await?;
        assert!(
            own.fields
                .iter()
                .all(|(f, _)| f.spec().group != FieldGroup::SafeContact)
        );
        assert!(own.fields.iter().all(|(_, v)| v != "07700 900999"));
        chain_is_intact(&app).await
    }
);

both_backends!(
    uploads_are_judged_by_content_and_a_refused_one_leaves_nothing,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let p = app
            .confidant
            .create_person(&app.worker_a, P, app.service_a, &person("Dee", "Documents"))
            .await?;
        let executable = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0Zqxexecutablemarker";
        let refused = app
            .confidant
            .upload_document(
                &app.worker_a,
                P,
                p.id,
                &Upload {
                    file_name: "letter.pdf",
                    content: executable,
                    description: None,
                    is_photo: false,
                },
            )
            .await
            .expect_err("an executable is not a PDF");
        assert_eq!(invalid_fields(&refused), vec!["file"]);
        let huge = {
            let mut v = b"%PDF-1.7\n".to_vec();
            v.resize(MAX_DOCUMENT_BYTES + 1, b'x');
            v
        };
        let refused = app
            .confidant
            .upload_document(
                &app.worker_a,
                P,
                p.id,
                &Upload {
                    file_name: "big.pdf",
                    content: &huge,
                    description: None,
                    is_photo: false,
                },
            )
            .await
            .expect_err("over the limit");
        assert_eq!(invalid_fields(&refused), vec!["file"]);
        // A PDF named .txt is refused too: the name must agree with the content.
        let pdf = b"%PDF-1.7\n%Zqxpdfmarker\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
        let refused = app
            .confidant
            .upload_document(
                &app.worker_a,
                P,
                p.id,
                &Upload {
                    file_name: "notes.txt",
                    content: pdf,
                    description: None,
                    is_photo: false,
                },
            )
            .await
            .expect_err("name and content disagree");
        assert_eq!(invalid_fields(&refused), vec!["file"]);
        assert!(
            app.confidant
                .documents(&app.worker_a, P, p.id)
                .await?
                .is_empty()
        );
        let mut conn = app.db.raw().await?;
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM document")
            .fetch_one(&mut conn)
            .await?;
        assert_eq!(rows, 0, "a refused upload left a row");

        let stored = app
            .confidant
            .upload_document(
                &app.worker_a,
                P,
                p.id,
                &Upload {
                    file_name: "Zqxfilename letter.PDF",
                    content: pdf,
                    description: Some("Housing letter"),
                    is_photo: false,
                },
            )
            .await?;
        assert_eq!(stored.media_type, "application/pdf");
        assert_eq!(
            stored.download_name(),
            format!("document-{}.pdf", stored.id)
        );
        let (doc, content) = app
            .confidant
            .read_document(&app.worker_a, P, p.id, stored.id)
            .await?;
        assert_eq!(content, pdf.to_vec());
        assert_eq!(doc.size_bytes, i64::try_from(pdf.len())?);
        let listed = app.confidant.documents(&app.worker_a, P, p.id).await?;
        assert_eq!(
            listed[0].values.get("file_name"),
            Some("Zqxfilename letter.PDF")
        );
        // Content and name are sealed.
        let raw = app.db.raw_bytes()?;
        assert!(!contains(&raw, b"Zqxpdfmarker"));
        assert!(!contains(&raw, b"Zqxfilename"));
        // Not another service's to read.
        assert!(matches!(
            app.confidant
                .read_document(&app.worker_b, P, p.id, stored.id)
                .await,
            Err(PersonError::NotFound)
        ));
        Ok(())
    }
);

both_backends!(
    notes_plans_appointments_and_paper_are_kept_and_checked,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let p = app
            .confidant
            .create_person(&app.worker_a, P, app.service_a, &person("Noor", "Notes"))
            .await?;
        // A third-party note must say who supplied it.
        let mut flagged = note("The neighbour says she is unwell");
        flagged.flags.third_party = true;
        let refused = app
            .confidant
            .add_entry(&app.worker_a, P, p.id, &flagged)
            .await
            .expect_err("supplied_by missing");
        assert_eq!(invalid_fields(&refused), vec!["supplied_by"]);
        flagged.values = flagged.values.with("supplied_by", "Neighbour");
        flagged.flags.serious_harm = true;
        app.confidant
            .add_entry(&app.worker_a, P, p.id, &flagged)
            .await?;
        let mut no_type = note("no type");
        no_type.contact_type = None;
        assert_eq!(
            invalid_fields(
                &app.confidant
                    .add_entry(&app.worker_a, P, p.id, &no_type)
                    .await
                    .expect_err("contact type required")
            ),
            vec!["contact_type"]
        );
        let plan = app
            .confidant
            .add_entry(
                &app.worker_a,
                P,
                p.id,
                &NewEntry {
                    kind: RecordKind::Plan,
                    contact_type: None,
                    values: RecordInput::new().with("title", "Stay well"),
                    ..note("")
                },
            )
            .await?;
        let goal = app
            .confidant
            .add_entry(
                &app.worker_a,
                P,
                p.id,
                &NewEntry {
                    kind: RecordKind::Goal,
                    contact_type: None,
                    parent_id: Some(plan.id),
                    values: RecordInput::new().with("title", "Register with a GP"),
                    ..note("")
                },
            )
            .await?;
        assert_eq!(goal.status, Some(EntryStatus::NotStarted));
        let done = app
            .confidant
            .update_entry(
                &app.worker_a,
                P,
                p.id,
                goal.id,
                &EntryChange {
                    reason: None,
                    status: Some(EntryStatus::Achieved),
                    values: RecordInput::new().with("progress", "Registered on Monday"),
                    ..EntryChange::default()
                },
            )
            .await?;
        assert_eq!(done.status, Some(EntryStatus::Achieved));
        // A status of another kind is refused.
        assert_eq!(
            invalid_fields(
                &app.confidant
                    .update_entry(
                        &app.worker_a,
                        P,
                        p.id,
                        goal.id,
                        &EntryChange {
                            reason: None,
                            status: Some(EntryStatus::Attended),
                            ..EntryChange::default()
                        },
                    )
                    .await
                    .expect_err("not a goal status")
            ),
            vec!["status"]
        );
        let due = confidant_testkit::test_time() + time::Duration::days(365);
        let paper = app
            .confidant
            .add_entry(
                &app.worker_a,
                P,
                p.id,
                &NewEntry {
                    kind: RecordKind::PaperFile,
                    contact_type: None,
                    due_at: Some(due),
                    values: RecordInput::new()
                        .with("description", "Closed file 2019")
                        .with("location", "Archive room, box 12"),
                    ..note("")
                },
            )
            .await?;
        let register = app
            .confidant
            .paper_register(&app.worker_a, P, app.service_a)
            .await?;
        assert_eq!(register.len(), 1);
        assert_eq!(register[0].id, paper.id);
        assert_eq!(register[0].status, Some(EntryStatus::Archived));
        // Destroyed paper is recorded with who destroyed it, not as a status change.
        let as_status = app
            .confidant
            .update_entry(
                &app.worker_a,
                P,
                p.id,
                paper.id,
                &EntryChange {
                    reason: None,
                    status: Some(EntryStatus::Destroyed),
                    ..EntryChange::default()
                },
            )
            .await;
        assert!(matches!(as_status, Err(PersonError::Invalid(_))));
        // Not before its destroy-by date; on it, with who destroyed it.
        let destroyed = confidant_core::keeping::PaperDestruction {
            destroyed_by: "Archive provider".to_owned(),
            reference: "DC-1".to_owned(),
            destroyed_on: time::macros::date!(2026 - 11 - 20),
        };
        let early = app
            .confidant
            .record_paper_destroyed(&app.worker_a, P, p.id, paper.id, &destroyed)
            .await;
        assert!(matches!(early, Err(PersonError::Conflict(_))));
        app.confidant.clock().advance(time::Duration::days(366));
        app.confidant
            .record_paper_destroyed(&app.worker_a, P, p.id, paper.id, &destroyed)
            .await?;
        assert!(
            app.confidant
                .paper_register(&app.worker_a, P, app.service_a)
                .await?
                .is_empty()
        );
        let notes = app
            .confidant
            .entries(&app.worker_a, P, p.id, &[RecordKind::Note])
            .await?;
        assert_eq!(notes.len(), 1);
        assert!(notes[0].flags.serious_harm && notes[0].flags.third_party);
        assert_eq!(notes[0].values.get("supplied_by"), Some("Neighbour"));
        // The export withholds the flagged note, and an ordinary note leaves without who supplied
        // anything.
        let mut told = note("Mother says she is doing well");
        told.flags.third_party = true;
        told.values = told.values.with("supplied_by", "Mother");
        app.confidant
            .add_entry(&app.worker_a, P, p.id, &told)
            .await?;
        let export = app.confidant.export_record(&app.worker_a, P, p.id).await?;
        assert_eq!(export.withheld_notes, 1);
        let exported_notes: Vec<_> = export
            .entries
            .iter()
            .filter(|e| e.kind == RecordKind::Note)
            .collect();
        assert_eq!(exported_notes.len(), 1);
        assert!(exported_notes[0].values.get("body").is_some());
        assert!(exported_notes[0].values.get("supplied_by").is_none());
        assert!(!format!("{export:?}").contains("Mother"));
        // Shredding the person makes their entries unreadable.
        app.confidant
            .destroy_person(
                &app.dpo,
                Purpose::Administration,
                p.id,
                "dpo_decision",
                "Destroyed for this test",
            )
            .await?;
        assert!(
            app.confidant
                .entries(&app.worker_a, P, p.id, &[])
                .await
                .is_err()
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    invalid_input_on_a_record_one_may_not_see_answers_not_found,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        configure(&app, app.service_a, "health", ReferralPolicy::Anyone, None).await?;
        let p = app
            .confidant
            .create_person(&app.worker_a, P, app.service_a, &person("Hidden", "Person"))
            .await?;
        // From another service, a bad value or a group the service does not collect answers
        // exactly like a missing record: nothing about the record or its service's groups leaks.
        let bad = PersonInput::new().with(PersonField::Convictions, "x");
        assert!(matches!(
            app.confidant
                .update_person(&app.worker_b, P, p.id, &bad)
                .await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            app.confidant
                .update_person(&app.worker_b, P, uuid::Uuid::now_v7(), &bad)
                .await,
            Err(PersonError::NotFound)
        ));
        // An accepted referral's details are shown only to those who may see the person.
        configure(&app, app.service_b, "", ReferralPolicy::Anyone, None).await?;
        let r = app
            .confidant
            .create_referral(
                &app.worker_b,
                P,
                app.service_b,
                &referral("Ari", "Accepted", "07700 900444"),
            )
            .await?;
        app.confidant
            .accept_referral(&app.worker_b, P, r.record.id, None)
            .await?;
        let seen = app
            .confidant
            .referral(&app.worker_b, P, r.record.id)
            .await?;
        assert_eq!(seen.values.get("family_name"), Some("Accepted"));
        app.confidant
            .set_service_scope(
                &operator(),
                app.service_b,
                confidant_core::AccessScope::Caseload,
            )
            .await?;
        let (_, colleague) = app
            .add_staff(
                confidant_core::Role::Practitioner,
                Some(app.service_b),
                "colleague.b",
                true,
            )
            .await?;
        let lines = app
            .confidant
            .referrals(&colleague, P, app.service_b, false)
            .await?;
        assert_eq!(lines.len(), 1);
        assert!(lines[0].values.get("family_name").is_none());
        let seen = app.confidant.referral(&colleague, P, r.record.id).await?;
        assert!(seen.values.get("family_name").is_none());
        Ok(())
    }
);

/// The audit chain's head now (0 when empty).
async fn head(app: &TestApp) -> anyhow::Result<i64> {
    use confidant_core::store::AuditStore as _;
    Ok(app
        .confidant
        .store()
        .audit_head()
        .await?
        .map_or(0, |h| h.seq))
}

// In a subfolder so that cargo does not build it as a test binary of its own.
#[path = "records/duplicates.rs"]
mod duplicates;

#[path = "records/exactly_once.rs"]
mod exactly_once;

#[path = "records/overview.rs"]
mod overview;

both_backends!(
    name_search_reads_candidates_a_page_at_a_time_until_it_has_its_matches,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let w = &app.worker_a;
        let create = |given: &'static str, family: &'static str| {
            let mut input = PersonInput::new();
            input.set_code("given_name", given.to_owned());
            input.set_code("family_name", family.to_owned());
            input
        };
        // 250 people hold both grams of "anna" ("ann" in the one name, "nna" in the other) without
        // matching it; then five who do. Ids follow creation, so the matches lie past the first
        // page of candidates.
        for _ in 0..250 {
            app.confidant
                .create_person(w, Purpose::Support, app.service_a, &create("Xann", "Nnax"))
                .await?;
        }
        let mut joannas = Vec::new();
        for _ in 0..5 {
            joannas.push(
                app.confidant
                    .create_person(
                        w,
                        Purpose::Support,
                        app.service_a,
                        &create("Joanna", "Smith"),
                    )
                    .await?
                    .id,
            );
        }
        let found = app
            .confidant
            .search_people_by_name(w, Purpose::Support, app.service_a, "anna")
            .await?;
        assert_eq!(
            found.iter().map(|p| p.id).collect::<Vec<_>>(),
            joannas,
            "only the true matches, in id order"
        );
        // The rarest gram leads: "joanna smith" is found by its rare grams among the common ones.
        let found = app
            .confidant
            .search_people_by_name(w, Purpose::Support, app.service_a, "smith joa")
            .await?;
        assert_eq!(found.len(), 5);
        // A broad query stops at the cap.
        let found = app
            .confidant
            .search_people_by_name(w, Purpose::Support, app.service_a, "xann")
            .await?;
        assert_eq!(found.len(), confidant_core::person::MAX_SEARCH);
        assert!(found.windows(2).all(|p| p[0].id < p[1].id));
        // Nobody, and another service sees none of them.
        assert!(
            app.confidant
                .search_people_by_name(w, Purpose::Support, app.service_a, "zzq")
                .await?
                .is_empty()
        );
        assert!(
            app.confidant
                .search_people_by_name(&app.worker_b, Purpose::Support, app.service_b, "anna")
                .await?
                .is_empty()
        );
        chain_is_intact(&app).await
    }
);
