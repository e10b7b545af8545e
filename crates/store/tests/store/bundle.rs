//! Access requests' bundles (issue 18, part 3), on SQLite and PostgreSQL: every flagged item is
//! proposed for withholding and nothing is released until it is decided and checked by a second
//! person; the release is logged as a disclosure to the person, answers the request and locks the
//! bundle; and a request by, or for, someone named as an alleged perpetrator gets nothing of the
//! victim.

use confidant_core::Purpose;
use confidant_core::Role;
use confidant_core::field::RecordKind;
use confidant_core::person::PersonError;
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::rights::{BundleView, DecisionInput, RequestInput};
use confidant_core::store::prelude::*;
use confidant_core::store::{
    BundleSource, ContactType, Decision, ItemFlag, NoteFlags, Relationship, RequestState,
};
use confidant_testkit::{TestApp, both_backends};
use uuid::Uuid;

use crate::retention::governed;

fn note(body: &str, flags: NoteFlags, supplied_by: Option<&str>) -> NewEntry {
    let mut values = RecordInput::new().with("body", body);
    if let Some(s) = supplied_by {
        values = values.with("supplied_by", s);
    }
    NewEntry {
        kind: RecordKind::Note,
        case_id: None,
        parent_id: None,
        contact_type: Some(ContactType::Phone),
        occurs_at: None,
        status: None,
        due_at: None,
        flags,
        values,
    }
}

fn access(identity: Option<&'static str>) -> RequestInput<'static> {
    RequestInput {
        kind: "access",
        channel: "email",
        received_on: "2026-11-20",
        representative_id: None,
        authority: None,
        identity_check: identity,
    }
}

/// An access request made on the person's behalf by related person `representative`.
fn for_them(representative: Uuid) -> RequestInput<'static> {
    RequestInput {
        representative_id: Some(representative),
        authority: Some("written_authority"),
        ..access(Some("authority_seen"))
    }
}

fn decision<'a>(decision: &'a str, reason: &'a str) -> DecisionInput<'a> {
    DecisionInput {
        decision,
        reason,
        opinion_on: None,
        opinion_by: None,
        reference: None,
    }
}

/// The position of the item whose text holds `marker`.
fn position_of(view: &BundleView, marker: &str) -> i64 {
    view.items
        .iter()
        .find(|i| i.rows.iter().any(|(_, v)| v.contains(marker)))
        .map(|i| i.record.position)
        .unwrap_or_else(|| panic!("no item holds {marker}"))
}

async fn count(app: &TestApp, sql: &str) -> anyhow::Result<i64> {
    let mut raw = app.db.raw().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut raw)
        .await?;
    Ok(sqlx::Row::try_get(&row, "n")?)
}

both_backends!(
    every_flagged_item_is_proposed_for_withholding_and_nothing_is_released_until_decided_and_checked,
    |backend| async move {
        let app = governed(backend, "case_closed", "8 years").await?;
        let c = &app.confidant;
        let org = app.organisation;
        let (w, sp) = (&app.worker_a, Purpose::Support);
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let p = app.person_named("Zqsubject", "Person").await?;
        let flags = |third_party, identifies_complainant, serious_harm| NoteFlags {
            third_party,
            identifies_complainant,
            serious_harm,
        };
        c.add_entry(w, sp, p, &note("Zqplain went to the gym", NoteFlags::default(), None))
            .await?;
        c.add_entry(
            w,
            sp,
            p,
            &note("Zqsupplied news of rent arrears", flags(true, false, false), Some("Zqneighbour")),
        )
        .await?;
        c.add_entry(w, sp, p, &note("Zqcomplaint about noise", flags(false, true, false), None))
            .await?;
        c.add_entry(w, sp, p, &note("Zqharm a diagnosis", flags(false, false, true), None))
            .await?;
        let mention_entry = c
            .add_entry(
                w,
                sp,
                p,
                &note("Zqmention: visited Zqsister", NoteFlags::default(), None),
            )
            .await?
            .id;
        c.add_related(
            w,
            sp,
            p,
            Relationship::Family,
            None,
            &RecordInput::new().with("given_name", "Zqsister"),
        )
        .await?;
        let r = c.log_rights_request(w, p, access(Some("known_to_staff"))).await?;

        // Only those who move requests on compile it; before that, nothing to decide.
        assert!(matches!(
            c.compile_bundle(w, org, r.id).await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.check_bundle(&app.dpo, org, r.id).await,
            Err(PersonError::Conflict(_))
        ));
        let view = c.compile_bundle(&app.dpo, org, r.id).await?;
        let sources: Vec<BundleSource> = view.items.iter().map(|i| i.record.source).collect();
        assert!(sources.contains(&BundleSource::Field));
        assert_eq!(
            sources.iter().filter(|s| **s == BundleSource::Entry).count(),
            5
        );
        assert!(sources.contains(&BundleSource::Related));
        assert_eq!(view.manifest.len(), 9, "each source is searched");
        // Every flagged item is proposed for withholding, under its exemption; the plain note
        // and the person's own details are not flagged.
        let about_others = [
            ItemFlag::ThirdPartySource,
            ItemFlag::Complainant,
            ItemFlag::SeriousHarm,
            ItemFlag::MentionsRelated,
            ItemFlag::RelatedPerson,
        ];
        let mut flagged = 0;
        for item in &view.items {
            if item.record.flags.iter().any(|f| about_others.contains(f)) {
                flagged += 1;
                assert!(item.record.proposed_withhold, "{:?}", item.record.flags);
                assert!(item.record.exemption.is_some());
                assert!(item.record.decision.is_none());
            }
        }
        assert_eq!(flagged, 5, "four notes and the relative");
        let plain = position_of(&view, "Zqplain");
        assert!(view.items[plain as usize].record.flags.is_empty());
        // A third party's details never join an item: who supplied a note, a relative's name.
        for item in &view.items {
            for (_, v) in &item.rows {
                assert!(!v.contains("Zqneighbour"));
                if item.record.source == BundleSource::Related {
                    assert!(!v.contains("Zqsister"));
                }
            }
        }
        assert!(!view.problems.is_empty(), "five items wait");

        // Nothing is checked, nor released, while any waits.
        assert!(matches!(
            c.check_bundle(&manager, org, r.id).await,
            Err(PersonError::Invalid(_))
        ));
        assert!(matches!(
            c.release_bundle(&manager, org, r.id).await,
            Err(PersonError::Conflict(_))
        ));
        // The reviewer decides each, with its legal reason.
        let supplied = position_of(&view, "Zqsupplied");
        let complaint = position_of(&view, "Zqcomplaint");
        let harm = position_of(&view, "Zqharm");
        let mention = position_of(&view, "Zqmention");
        let relative = view
            .items
            .iter()
            .find(|i| i.record.source == BundleSource::Related)
            .map(|i| i.record.position)
            .unwrap_or_default();
        // A decision meant for another item (a search since moved it) is refused.
        assert!(matches!(
            c.decide_bundle_item(
                &app.dpo,
                org,
                r.id,
                plain,
                DecisionInput {
                    reference: Some("another-item"),
                    ..decision("withhold", "identifies_other")
                }
            )
            .await,
            Err(PersonError::Conflict(_))
        ));
        // Health data released without an opinion: refused, changing nothing.
        assert!(matches!(
            c.decide_bundle_item(
                &app.dpo,
                org,
                r.id,
                harm,
                decision("release", "reasonable_without_consent")
            )
            .await,
            Err(PersonError::Invalid(_))
        ));
        c.decide_bundle_item(
            &app.dpo,
            org,
            r.id,
            harm,
            DecisionInput {
                opinion_on: Some("2026-11-01"),
                opinion_by: Some("responsible"),
                ..decision("release", "opinion_no_harm")
            },
        )
        .await?;
        for (position, d, reason) in [
            (supplied, "withhold", "identifies_source"),
            (complaint, "withhold", "identifies_source"),
            (mention, "release", "reasonable_without_consent"),
            (relative, "withhold", "identifies_other"),
        ] {
            c.decide_bundle_item(&app.dpo, org, r.id, position, decision(d, reason))
                .await?;
        }
        // A note changed after its decision: nothing is checked until the record is searched
        // again, which keeps the decisions on what did not change and asks again for the rest.
        c.update_entry(
            w,
            sp,
            p,
            mention_entry,
            &confidant_core::record::EntryChange {
                status: None,
                due_at: None,
                values: RecordInput::new().with("body", "Zqmention: visited Zqsister again"),
                reason: Some(confidant_core::store::CorrectionReason::Incomplete),
            },
        )
        .await?;
        assert!(matches!(
            c.check_bundle(&manager, org, r.id).await,
            Err(PersonError::Invalid(_))
        ));
        let again = c.compile_bundle(&app.dpo, org, r.id).await?;
        let waiting: Vec<i64> = again
            .items
            .iter()
            .filter(|i| confidant_core::rights::redaction::needs_decision(&i.record))
            .map(|i| i.record.position)
            .collect();
        let mention = position_of(&again, "Zqmention");
        assert_eq!(waiting, vec![mention]);
        c.decide_bundle_item(
            &app.dpo,
            org,
            r.id,
            mention,
            decision("release", "reasonable_without_consent"),
        )
        .await?;
        // The reviewer does not check their own decisions; a second person does.
        assert!(matches!(
            c.check_bundle(&app.dpo, org, r.id).await,
            Err(PersonError::Conflict(_))
        ));
        c.check_bundle(&manager, org, r.id).await?;
        // A decision changed after the check undoes it.
        c.decide_bundle_item(
            &app.dpo,
            org,
            r.id,
            mention,
            decision("release", "other_consented"),
        )
        .await?;
        assert!(matches!(
            c.release_bundle(&manager, org, r.id).await,
            Err(PersonError::Conflict(_))
        ));
        c.check_bundle(&manager, org, r.id).await?;
        let copy = c.release_bundle(&manager, org, r.id).await?;
        let text = copy.json.to_string();
        for shown in ["Zqplain", "Zqharm", "Zqmention", "Zqsubject"] {
            assert!(text.contains(shown), "{shown} is released");
        }
        for kept in ["Zqsupplied", "Zqcomplaint", "Zqneighbour"] {
            assert!(!text.contains(kept), "{kept} is withheld");
        }
        assert_eq!(copy.json["schema"], "confidant.access-copy/1");
        let withheld = copy.json["withheld"].as_array().cloned().unwrap_or_default();
        assert_eq!(withheld.len(), 1, "{withheld:?}");
        assert_eq!(withheld[0]["exemption"], "sch2_p16");
        assert_eq!(withheld[0]["items"], 3);
        let parts: Vec<String> = copy.json["supplementary"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["article"].as_str().unwrap_or_default().to_owned())
            .collect();
        for article in ["Art. 15(1)(a), (b)", "Art. 15(1)(c)", "Art. 15(1)(d)", "Art. 15(1)(e)", "Art. 15(1)(f)", "Art. 15(1)(g)", "Art. 15(1)(h)"] {
            assert!(parts.iter().any(|p| p == article), "{article} in {parts:?}");
        }

        // Logged as a disclosure to the person; the request answered; the bundle locked.
        let disclosures = c.disclosures(&app.dpo, Purpose::Administration, p).await;
        let logged = match disclosures {
            Ok(d) => d.iter().any(|d| d.record.id == copy.disclosure_id),
            // The DPO does not read records: look in the store.
            Err(_) => c
                .store()
                .disclosure(copy.disclosure_id)
                .await?
                .is_some_and(|(d, _, _)| d.person_id == p),
        };
        assert!(logged);
        let answered = c.rights_request(&app.dpo, org, r.id).await?;
        assert_eq!(answered.request.state, RequestState::Answered);
        for refused in [
            c.decide_bundle_item(&app.dpo, org, r.id, plain, decision("withhold", "identifies_other"))
                .await
                .map(|_| ()),
            c.compile_bundle(&app.dpo, org, r.id).await.map(|_| ()),
            c.check_bundle(&manager, org, r.id).await.map(|_| ()),
        ] {
            assert!(matches!(refused, Err(PersonError::Conflict(_))), "{refused:?}");
        }
        let again = c.released_copy(&manager, org, r.id).await?;
        assert_eq!(again.json, copy.json);
        // The bundle's rows hold ids and codes: no value of the record.
        let mut raw = app.db.raw().await?;
        for row in sqlx::query("SELECT manifest FROM rights_bundle")
            .fetch_all(&mut raw)
            .await?
        {
            let manifest: String = sqlx::Row::try_get(&row, "manifest")?;
            assert!(!manifest.contains("Zq"));
        }
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM rights_bundle_item WHERE reference LIKE 'Zq%'"
            )
            .await?,
            0
        );
        Ok(())
    }
);

both_backends!(
    an_access_request_by_or_for_an_alleged_perpetrator_gets_nothing_of_the_victim,
    |backend| async move {
        let app = governed(backend, "case_closed", "8 years").await?;
        let c = &app.confidant;
        let org = app.organisation;
        let (w, sp) = (&app.worker_a, Purpose::Support);
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let victim = app.person_named("Zqvictim", "Zqsafe").await?;
        let abuser = app.person_named("Zqabuser", "Person").await?;
        let named = c
            .add_related(
                w,
                sp,
                victim,
                Relationship::AllegedPerpetrator,
                Some(abuser),
                &RecordInput::new().with("given_name", "Zqnamed"),
            )
            .await?;
        // The abuser's own record mentions the victim once, and holds a plain note.
        c.add_entry(
            w,
            sp,
            abuser,
            &note(
                "Said he saw zqvictim at the shop",
                NoteFlags::default(),
                None,
            ),
        )
        .await?;
        c.add_entry(
            w,
            sp,
            abuser,
            &note("Zqgroup attended", NoteFlags::default(), None),
        )
        .await?;

        // The abuser's own request: marked, and what names the victim is withheld for good.
        let r = c
            .log_rights_request(w, abuser, access(Some("known_to_staff")))
            .await?;
        assert!(r.safety_review);
        let shields_before = count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM audit_event WHERE action = 'rights.victim_shield' AND subject_id = '{victim}'"
            ),
        )
        .await?;
        let view = c.compile_bundle(&app.dpo, org, r.id).await?;
        let mentioned = view
            .items
            .iter()
            .find(|i| i.rows.iter().any(|(_, v)| v.contains("zqvictim")))
            .map(|i| i.record.clone())
            .ok_or_else(|| anyhow::anyhow!("the note is in the bundle for review"))?;
        assert!(mentioned.flags.contains(&ItemFlag::Victim));
        assert!(mentioned.locked);
        assert_eq!(mentioned.decision, Some(Decision::Withhold));
        // The victim's record was read to find them, audited on it.
        let shields_after = count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM audit_event WHERE action = 'rights.victim_shield' AND subject_id = '{victim}'"
            ),
        )
        .await?;
        assert!(shields_after > shields_before);
        // No one may release it, for any reason.
        for (d, reason) in [
            ("release", "reasonable_without_consent"),
            ("release", "other_consented"),
            ("release", "already_known"),
        ] {
            assert!(matches!(
                c.decide_bundle_item(&app.dpo, org, r.id, mentioned.position, decision(d, reason))
                    .await,
                Err(PersonError::Invalid(_))
            ));
        }
        // With a safety review every entry waits to be read; the victim's stays withheld.
        let group = position_of(&view, "Zqgroup");
        assert!(
            view.items[group as usize]
                .record
                .flags
                .contains(&ItemFlag::SafetyReview)
        );
        assert_eq!(view.problems.len(), 1, "{:?}", view.problems);
        c.decide_bundle_item(
            &app.dpo,
            org,
            r.id,
            group,
            decision("release", "nothing_of_others"),
        )
        .await?;
        c.check_bundle(&manager, org, r.id).await?;
        let copy = c.release_bundle(&manager, org, r.id).await?;
        let text = copy.json.to_string().to_lowercase();
        assert!(text.contains("zqgroup"));
        assert!(
            !text.contains("zqvictim"),
            "nothing of the victim reaches them"
        );
        assert!(!text.contains("zqsafe"));

        // A request "on the victim's behalf" by the one named as the alleged perpetrator in
        // their record: never compiled, and nothing written.
        let on_behalf = c.log_rights_request(w, victim, for_them(named.id)).await?;
        assert!(on_behalf.safety_review);
        assert!(matches!(
            c.compile_bundle(&app.dpo, org, on_behalf.id).await,
            Err(PersonError::Forbidden {
                code: "requester_alleged_perpetrator",
                ..
            })
        ));
        assert!(c.store().bundle(on_behalf.id).await?.is_none());
        // The same person entered again as an unlinked relative, by the same name: refused too;
        // someone else acting for the victim is not.
        for (given, relationship, refused) in [
            ("ZQNAMED ", Relationship::Family, true),
            ("Zqsolicitor", Relationship::Advocate, false),
        ] {
            let row = c
                .add_related(
                    w,
                    sp,
                    victim,
                    relationship,
                    None,
                    &RecordInput::new().with("given_name", given),
                )
                .await?;
            let asked = c.log_rights_request(w, victim, for_them(row.id)).await?;
            let compiled = c.compile_bundle(&app.dpo, org, asked.id).await;
            assert_eq!(
                matches!(
                    compiled,
                    Err(PersonError::Forbidden {
                        code: "requester_alleged_perpetrator",
                        ..
                    })
                ),
                refused,
                "{given}: {:?}",
                compiled.map(|v| v.items.len())
            );
        }
        // Only an access request has a bundle.
        let erasure = c
            .log_rights_request(
                w,
                victim,
                RequestInput {
                    kind: "erasure",
                    ..access(Some("known_to_staff"))
                },
            )
            .await?;
        assert!(matches!(
            c.compile_bundle(&app.dpo, org, erasure.id).await,
            Err(PersonError::Conflict(_))
        ));
        Ok(())
    }
);
