//! Sharing (F4), driven through the core services on SQLite and PostgreSQL: every rule of the share
//! action both allowed and refused, consent withdrawal taking effect at once, the package against
//! its log entry, processors' referrals, bad input writing nothing, emergencies flagged for review,
//! recipients to tell, and the export logged.

use confidant_core::access::PersonAccess;
use confidant_core::audit::verify_chain;
use confidant_core::field::{FieldGroups, PersonField, RecordKind};
use confidant_core::person::{PersonError, PersonInput};
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::sharing::ToTell;
use confidant_core::sharing::{EntrySelection, RecipientInput, Rule, ShareError, ShareRequest};
use confidant_core::store::prelude::*;
use confidant_core::store::{
    ContactType, DisclosedItem, NoteFlags, ReferralPolicy, Relationship, ReviewState, ServiceConfig,
};
use confidant_core::{Purpose, Role, access::Principal};
use confidant_testkit::{TestApp, both_backends, operator, test_time};
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

const P: Purpose = Purpose::Support;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn date(days_from_test_time: i64) -> String {
    (test_time() + time::Duration::days(days_from_test_time))
        .date()
        .to_string()
}

fn recipient(name: &str, kind: &str, categories: &[&str], bases: &[&str]) -> RecipientInput {
    RecipientInput {
        name: name.to_owned(),
        kind: kind.to_owned(),
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        bases: bases.iter().map(|b| (*b).to_owned()).collect(),
        ..RecipientInput::default()
    }
}

fn request(recipient_id: Uuid, fields: &[PersonField], basis: &str) -> ShareRequest {
    ShareRequest {
        recipient_id,
        fields: fields.iter().map(|f| f.code().to_owned()).collect(),
        basis: basis.to_owned(),
        reason: "Continuity of care after discharge".to_owned(),
        person_told: true,
        ..ShareRequest::default()
    }
}

fn invalid_fields(e: &ShareError) -> Vec<&'static str> {
    match e {
        ShareError::Person(PersonError::Invalid(v)) => v.0.iter().map(|v| v.field).collect(),
        _ => Vec::new(),
    }
}

/// A service with every field group, and a person in it with a few details.
struct World {
    app: TestApp,
    person: Uuid,
}

async fn world(backend: confidant_testkit::TestBackend) -> anyhow::Result<World> {
    let app = TestApp::new(backend).await?;
    for service in [app.service_a, app.service_b] {
        app.confidant
            .configure_service(
                &operator(),
                &ServiceConfig {
                    service_id: service,
                    field_groups: FieldGroups::all(),
                    referrals: ReferralPolicy::Anyone,
                    partner_service_id: None,
                },
            )
            .await?;
    }
    let input = PersonInput::new()
        .with(PersonField::GivenName, "Nell")
        .with(PersonField::FamilyName, "Quillshare")
        .with(PersonField::MentalHealth, "Zqxsharedhealthmarker")
        .with(PersonField::Convictions, "Theft 2019")
        .with(PersonField::SafePhone, "07700 900777");
    let person = app
        .confidant
        .create_person(&app.worker_a, P, app.service_a, &input)
        .await?
        .id;
    Ok(World { app, person })
}

impl World {
    async fn add_recipient(&self, input: &RecipientInput) -> anyhow::Result<Uuid> {
        Ok(self
            .app
            .confidant
            .add_recipient(&self.app.dpo, self.app.organisation, input)
            .await?
            .id)
    }

    /// A consent purpose on service A's form for `recipient`, and the person's decision on it.
    async fn consent(
        &self,
        recipient: Uuid,
        code: &str,
        explicit: bool,
        state: &str,
    ) -> anyhow::Result<Uuid> {
        let form = self
            .app
            .confidant
            .consent_form(&self.app.worker_a, self.app.service_a)
            .await?;
        let purpose = match form.iter().find(|p| p.code == code) {
            Some(p) => p.id,
            None => {
                self.app
                    .confidant
                    .add_consent_purpose(
                        &self.app.dpo,
                        self.app.service_a,
                        code,
                        "Sharing with the named recipient",
                        Some(recipient),
                        explicit,
                        "v1",
                    )
                    .await?
                    .id
            }
        };
        self.app
            .confidant
            .record_consent(&self.app.worker_a, P, self.person, purpose, state, None)
            .await?;
        Ok(purpose)
    }

    /// Asks (as worker A) for a second person's approval to share with `recipient` despite a
    /// restriction or objection (no extra categories), and has `approver` approve it.
    async fn approve(&self, recipient: Uuid, approver: &Principal) -> anyhow::Result<Uuid> {
        let asked = self
            .app
            .confidant
            .request_approval(
                &self.app.worker_a,
                P,
                self.person,
                recipient,
                &[],
                "Sharing despite the restriction: a court claim",
            )
            .await?;
        self.app
            .confidant
            .decide_approval(approver, P, self.person, asked.id, true)
            .await?;
        Ok(asked.id)
    }

    async fn blocked(&self, req: &ShareRequest) -> anyhow::Result<Vec<Rule>> {
        self.blocked_by(&self.app.worker_a, req).await
    }

    async fn blocked_by(&self, actor: &Principal, req: &ShareRequest) -> anyhow::Result<Vec<Rule>> {
        let checked = self
            .app
            .confidant
            .check_share(actor, P, self.person, req)
            .await?;
        // The check step's dry run finds the same, and writes no disclosure.
        let before = self.disclosure_count().await?;
        let previewed = self
            .app
            .confidant
            .preview_share(actor, P, self.person, req)
            .await?;
        anyhow::ensure!(
            previewed.refusals == checked,
            "preview {:?} vs check {checked:?}",
            previewed.refusals
        );
        anyhow::ensure!(
            self.disclosure_count().await? == before,
            "the dry run shared"
        );
        match self.app.confidant.share(actor, P, self.person, req).await {
            Ok(shared) => {
                anyhow::ensure!(checked.is_empty(), "check said {checked:?}, share went");
                // What the check step showed is what went.
                let shown = previewed
                    .package
                    .ok_or_else(|| anyhow::anyhow!("the dry run showed nothing"))?;
                anyhow::ensure!(
                    shown["fields"] == shared.json["fields"]
                        && shown["entries"] == shared.json["entries"],
                    "shown {shown} vs sent {}",
                    shared.json
                );
                Ok(Vec::new())
            }
            Err(ShareError::Blocked(b)) => {
                anyhow::ensure!(checked == b.0, "check {checked:?} vs share {:?}", b.0);
                Ok(b.rules())
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn disclosure_count(&self) -> anyhow::Result<i64> {
        let mut raw = self.app.db.raw().await?;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM disclosure")
            .fetch_one(&mut raw)
            .await?;
        Ok(row.try_get("n")?)
    }
}

async fn chain_is_intact(app: &TestApp) -> anyhow::Result<()> {
    let verified = verify_chain(app.confidant.store(), None).await?;
    anyhow::ensure!(verified.is_ok(), "chain broken: {verified:?}");
    Ok(())
}

both_backends!(
    consent_is_needed_live_and_withdrawal_takes_effect_for_the_very_next_share,
    |backend| async move {
        let w = world(backend).await?;
        let gp = w
            .add_recipient(&recipient(
                "Riverside GP",
                "health",
                &["identity"],
                &["consent"],
            ))
            .await?;
        let req = request(gp, &[PersonField::GivenName], "consent");
        assert_eq!(w.blocked(&req).await?, vec![Rule::NoConsentPurpose]);
        w.consent(gp, "gp", false, "granted").await?;
        assert!(w.blocked(&req).await?.is_empty(), "live consent: allowed");
        w.consent(gp, "gp", false, "withdrawn").await?;
        assert_eq!(w.blocked(&req).await?, vec![Rule::ConsentWithdrawn]);
        // The history keeps both decisions, in order, and cannot be rewritten.
        let overview = w
            .app
            .confidant
            .consents(&w.app.worker_a, P, w.person)
            .await?;
        let states: Vec<&str> = overview.history.iter().map(|c| c.state.code()).collect();
        assert_eq!(states, vec!["granted", "withdrawn"]);
        assert!(!overview.lines[0].live);
        for tamper in [
            "UPDATE consent SET state = 'granted'",
            "DELETE FROM consent",
        ] {
            assert!(
                w.app.db.raw_execute(tamper).await.is_err(),
                "consent history is append-only: {tamper}"
            );
        }
        // A consent that has expired is not live.
        let purpose = overview.lines[0].purpose.id;
        let expires = date(10);
        w.app
            .confidant
            .record_consent(
                &w.app.worker_a,
                P,
                w.person,
                purpose,
                "granted",
                Some(&expires),
            )
            .await?;
        assert!(w.blocked(&req).await?.is_empty());
        w.app.confidant.clock().advance(time::Duration::days(11));
        assert_eq!(w.blocked(&req).await?, vec![Rule::ConsentExpired]);
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    special_category_and_criminal_offence_data_need_their_conditions,
    |backend| async move {
        let w = world(backend).await?;
        let police = w
            .add_recipient(&recipient(
                "County Police",
                "criminal_justice",
                &["identity", "health", "criminal_justice", "case_notes"],
                &["legal_obligation", "public_task"],
            ))
            .await?;
        let mut req = request(police, &[PersonField::MentalHealth], "public_task");
        assert_eq!(
            w.blocked(&req).await?,
            vec![Rule::SpecialCategoryNeedsArticle9]
        );
        req.article9 = Some("substantial_public_interest".to_owned());
        assert_eq!(w.blocked(&req).await?, vec![Rule::PublicInterestNeedsPart2]);
        req.schedule1 = Some("p2_safeguarding".to_owned());
        assert!(w.blocked(&req).await?.is_empty());

        let mut req = request(police, &[PersonField::Convictions], "legal_obligation");
        assert_eq!(
            w.blocked(&req).await?,
            vec![Rule::CriminalOffenceNeedsSchedule1]
        );
        req.schedule1 = Some("p2_unlawful_acts".to_owned());
        assert!(w.blocked(&req).await?.is_empty());

        // Case notes count as special category data.
        w.app
            .confidant
            .add_entry(&w.app.worker_a, P, w.person, &note("Saw her at the hub"))
            .await?;
        let mut req = request(police, &[], "public_task");
        req.entries = EntrySelection::All;
        assert_eq!(
            w.blocked(&req).await?,
            vec![Rule::SpecialCategoryNeedsArticle9]
        );
        req.article9 = Some("health_social_care".to_owned());
        assert!(w.blocked(&req).await?.is_empty());
        chain_is_intact(&w.app).await
    }
);

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

both_backends!(
    categories_beyond_the_recipients_set_need_a_second_persons_approval,
    |backend| async move {
        let w = world(backend).await?;
        let council = w
            .add_recipient(&recipient(
                "Council Housing Team",
                "statutory_body",
                &["identity"],
                &["public_task"],
            ))
            .await?;
        let mut req = request(
            council,
            &[PersonField::GivenName, PersonField::MentalHealth],
            "public_task",
        );
        req.article9 = Some("health_social_care".to_owned());
        assert_eq!(
            w.blocked(&req).await?,
            vec![Rule::BeyondRecipientCategories]
        );
        let asked = w
            .app
            .confidant
            .request_approval(
                &w.app.worker_a,
                P,
                w.person,
                council,
                &["health".to_owned()],
                "Her housing priority depends on her health",
            )
            .await?;
        // Not the one who asked, and not a practitioner.
        let own = w
            .app
            .confidant
            .decide_approval(&w.app.worker_a, P, w.person, asked.id, true)
            .await;
        assert!(matches!(own, Err(PersonError::NotFound)), "{own:?}");
        let (_, dpo_worker) = w
            .app
            .add_staff(Role::DataProtectionOfficer, None, "dpo.two", true)
            .await?;
        // Still pending: an approval that was not given does not count.
        req.approval_id = Some(asked.id);
        assert_eq!(
            w.blocked(&req).await?,
            vec![Rule::BeyondRecipientCategories]
        );
        w.app
            .confidant
            .decide_approval(&dpo_worker, P, w.person, asked.id, true)
            .await?;
        // An approval is good for seven days.
        w.app.confidant.clock().advance(time::Duration::days(8));
        assert_eq!(
            w.blocked(&req).await?,
            vec![Rule::BeyondRecipientCategories]
        );
        w.app.confidant.clock().advance(time::Duration::days(-8));
        assert!(w.blocked(&req).await?.is_empty(), "approved: allowed");
        let log = w
            .app
            .confidant
            .disclosures(&w.app.worker_a, P, w.person)
            .await?;
        assert_eq!(log[0].record.approval_id, Some(asked.id));
        assert_eq!(
            log[0].record.approved_by.as_deref(),
            Some(dpo_worker.audit_id().as_str())
        );
        // An approval is used once.
        assert_eq!(
            w.blocked(&req).await?,
            vec![Rule::BeyondRecipientCategories]
        );
        // The one who asked may not approve, even holding the role.
        let (_, manager) = w
            .app
            .add_staff(Role::ServiceManager, Some(w.app.service_a), "sm.a", true)
            .await?;
        let again = w
            .app
            .confidant
            .request_approval(
                &manager,
                P,
                w.person,
                council,
                &["health".to_owned()],
                "Her housing priority depends on her health",
            )
            .await?;
        let self_approved = w
            .app
            .confidant
            .decide_approval(&manager, P, w.person, again.id, true)
            .await;
        assert!(
            matches!(self_approved, Err(PersonError::Invalid(_))),
            "{self_approved:?}"
        );
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    the_basis_must_be_one_the_recipient_may_receive_under,
    |backend| async move {
        let w = world(backend).await?;
        let funder = w
            .add_recipient(&recipient(
                "Lottery Fund",
                "funder",
                &["identity"],
                &["legitimate_interests"],
            ))
            .await?;
        let req = request(funder, &[PersonField::GivenName], "public_task");
        assert_eq!(w.blocked(&req).await?, vec![Rule::BasisNotForRecipient]);
        let req = request(funder, &[PersonField::GivenName], "legitimate_interests");
        assert!(w.blocked(&req).await?.is_empty());
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    a_restriction_or_upheld_objection_stops_sharing_unless_a_ground_is_recorded,
    |backend| async move {
        let w = world(backend).await?;
        let council = w
            .add_recipient(&recipient(
                "Social Services",
                "social_care",
                &["identity"],
                &["public_task", "legal_obligation", "legitimate_interests"],
            ))
            .await?;
        let restriction = w
            .app
            .confidant
            .restrict(&w.app.dpo, P, w.person, "restriction")
            .await?;
        let mut req = request(council, &[PersonField::GivenName], "legal_obligation");
        assert_eq!(w.blocked(&req).await?, vec![Rule::RecordRestricted]);
        // A ground needs its reason...
        req.ground = Some("legal_claims".to_owned());
        let e = w
            .app
            .confidant
            .share(&w.app.worker_a, P, w.person, &req)
            .await
            .expect_err("a ground without its reason");
        assert_eq!(invalid_fields(&e), vec!["ground_reason"]);
        req.ground_reason = Some("Needed for the county court claim".to_owned());
        // ...and an approval by the DPO or Caldicott Guardian: a service manager's is not enough.
        assert_eq!(w.blocked(&req).await?, vec![Rule::RecordRestricted]);
        let (_, manager) = w
            .app
            .add_staff(Role::ServiceManager, Some(w.app.service_a), "sm.r", true)
            .await?;
        let by_manager = w.approve(council, &manager).await?;
        req.approval_id = Some(by_manager);
        assert_eq!(w.blocked(&req).await?, vec![Rule::RecordRestricted]);
        req.approval_id = Some(w.approve(council, &w.app.dpo).await?);
        assert!(w.blocked(&req).await?.is_empty());
        // The approval was used; the log keeps the ground and its reason.
        let log = w
            .app
            .confidant
            .disclosures(&w.app.worker_a, P, w.person)
            .await?;
        assert_eq!(log[0].ground.as_deref(), Some("legal_claims"));
        assert_eq!(
            log[0].ground_reason.as_deref(),
            Some("Needed for the county court claim")
        );
        assert_eq!(w.blocked(&req).await?, vec![Rule::RecordRestricted]);
        req.approval_id = None;
        req.ground_reason = None;
        // A practitioner may not lift it; the DPO may, and then sharing needs no ground.
        assert!(
            w.app
                .confidant
                .lift_restriction(&w.app.worker_a, P, w.person, restriction.id)
                .await
                .is_err()
        );
        w.app
            .confidant
            .lift_restriction(&w.app.dpo, P, w.person, restriction.id)
            .await?;
        req.ground = None;
        assert!(w.blocked(&req).await?.is_empty());

        w.app
            .confidant
            .restrict(&w.app.dpo, P, w.person, "objection")
            .await?;
        let mut req = request(council, &[PersonField::GivenName], "legitimate_interests");
        assert_eq!(w.blocked(&req).await?, vec![Rule::ObjectionUpheld]);
        req.ground = Some("compelling_grounds".to_owned());
        req.ground_reason = Some("Risk to a child outweighs the objection".to_owned());
        assert_eq!(w.blocked(&req).await?, vec![Rule::ObjectionUpheld]);
        req.approval_id = Some(w.approve(council, &w.app.dpo).await?);
        assert!(w.blocked(&req).await?.is_empty());
        // An objection does not touch a legal obligation.
        let req = request(council, &[PersonField::GivenName], "legal_obligation");
        assert!(w.blocked(&req).await?.is_empty());
        // Recipients to tell of the restriction: everyone who received anything of the person.
        let told = w
            .app
            .confidant
            .recipients_to_tell(&w.app.dpo, P, w.person, ToTell::Restriction)
            .await?;
        assert_eq!(told.iter().map(|r| r.id).collect::<Vec<_>>(), vec![council]);
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    a_recipient_outside_the_uk_needs_explicit_consent,
    |backend| async move {
        let w = world(backend).await?;
        let mut input = recipient(
            "Overseas Research Unit",
            "researcher",
            &["identity"],
            &["consent"],
        );
        input.outside_uk = true;
        let abroad = w.add_recipient(&input).await?;
        let mut req = request(abroad, &[PersonField::GivenName], "consent");
        req.consent_purpose_id = Some(
            w.consent(abroad, "research_plain", false, "granted")
                .await?,
        );
        assert_eq!(
            w.blocked(&req).await?,
            vec![Rule::OutsideUkNeedsExplicitConsent]
        );
        // Explicit consent on another purpose to the same recipient: the share must say it is for
        // that purpose, and then it may go.
        let explicit = w
            .consent(abroad, "research_explicit", true, "granted")
            .await?;
        assert!(matches!(
            w.app.confidant.check_share(&w.app.worker_a, P, w.person, &request(abroad, &[PersonField::GivenName], "consent")).await,
            Err(PersonError::Invalid(ref v)) if v.0[0].field == "consent_purpose_id"
        ));
        req.consent_purpose_id = Some(explicit);
        assert!(w.blocked(&req).await?.is_empty());
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    a_recipient_that_needs_consent_takes_a_reason_to_share_without_it,
    |backend| async move {
        let w = world(backend).await?;
        // Registered without "consent required": a multi-agency meeting needs it all the same.
        let input = recipient(
            "North MARAC",
            "multi_agency_meeting",
            &["identity"],
            &["consent", "public_task"],
        );
        let marac = w.add_recipient(&input).await?;
        let mut req = request(marac, &[PersonField::GivenName], "public_task");
        assert_eq!(w.blocked(&req).await?, vec![Rule::RecipientNeedsConsent]);
        req.without_consent_reason =
            Some("Asking would put her at greater risk of serious harm".to_owned());
        assert!(w.blocked(&req).await?.is_empty());
        let log = w
            .app
            .confidant
            .disclosures(&w.app.worker_a, P, w.person)
            .await?;
        assert_eq!(
            log[0].without_consent_reason.as_deref(),
            Some("Asking would put her at greater risk of serious harm")
        );
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    safe_contact_details_never_leave_and_nothing_reaches_a_linked_alleged_perpetrator,
    |backend| async move {
        let w = world(backend).await?;
        let refuge = w
            .add_recipient(&recipient(
                "Refuge partner",
                "health",
                &["identity", "safe_contact"],
                &["vital_interests", "public_task"],
            ))
            .await?;
        let req = request(
            refuge,
            &[PersonField::GivenName, PersonField::SafePhone],
            "public_task",
        );
        assert_eq!(w.blocked(&req).await?, vec![Rule::SafeContactNeverLeaves]);
        let req = request(refuge, &[PersonField::GivenName], "public_task");
        assert!(w.blocked(&req).await?.is_empty());

        // Service B supports the alleged perpetrator, linked in her record.
        let mut partner = recipient(
            "Employment Support (partner)",
            "partner_service",
            &["identity"],
            &["public_task"],
        );
        partner.partner_service_id = Some(w.app.service_b);
        let to_b = w.add_recipient(&partner).await?;
        let req = request(to_b, &[PersonField::GivenName], "public_task");
        assert!(
            w.blocked(&req).await?.is_empty(),
            "no perpetrator linked yet"
        );
        let perpetrator = w
            .app
            .confidant
            .create_person(
                &w.app.worker_b,
                P,
                w.app.service_b,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Rex")
                    .with(PersonField::FamilyName, "Harmer"),
            )
            .await?;
        w.app
            .confidant
            .add_related(
                &w.app.worker_a,
                P,
                w.person,
                Relationship::AllegedPerpetrator,
                Some(perpetrator.id),
                &RecordInput::new().with("given_name", "Rex"),
            )
            .await?;
        assert_eq!(w.blocked(&req).await?, vec![Rule::RecipientBarredForRecord]);
        // Nothing that left holds her safe phone.
        for d in w
            .app
            .confidant
            .disclosures(&w.app.worker_a, P, w.person)
            .await?
        {
            let full = w
                .app
                .confidant
                .disclosure(&w.app.worker_a, P, w.person, d.record.id)
                .await?;
            let text = full.package.map(|p| p.to_string()).unwrap_or_default();
            assert!(!text.contains("07700 900777"));
        }
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    flagged_notes_never_leave_and_the_package_holds_exactly_what_the_log_says,
    |backend| async move {
        let w = world(backend).await?;
        let gp = w
            .add_recipient(&recipient(
                "Riverside GP",
                "health",
                &["identity", "health", "case_notes"],
                &["consent", "vital_interests"],
            ))
            .await?;
        w.consent(gp, "gp", false, "granted").await?;
        let plain = w
            .app
            .confidant
            .add_entry(
                &w.app.worker_a,
                P,
                w.person,
                &note("Zqxpackagenotemarker seen"),
            )
            .await?;
        let mut flagged_note = note("Named the neighbour who complained");
        flagged_note.flags.identifies_complainant = true;
        let flagged = w
            .app
            .confidant
            .add_entry(&w.app.worker_a, P, w.person, &flagged_note)
            .await?;
        let mut req = request(
            gp,
            &[
                PersonField::GivenName,
                PersonField::FamilyName,
                PersonField::MentalHealth,
                PersonField::Email,
            ],
            "consent",
        );
        req.article9 = Some("health_social_care".to_owned());
        req.entries = EntrySelection::Some(vec![plain.id, flagged.id]);
        assert_eq!(w.blocked(&req).await?, vec![Rule::FlaggedNoteNeverLeaves]);
        req.entries = EntrySelection::All;
        let package = w
            .app
            .confidant
            .share(&w.app.worker_a, P, w.person, &req)
            .await?;
        let disclosure = w
            .app
            .confidant
            .disclosure(&w.app.worker_a, P, w.person, package.disclosure_id)
            .await?;
        // The package against the log: the same fields and entries, nothing more.
        let json = &package.json;
        let mut in_package: Vec<DisclosedItem> = json["fields"]
            .as_object()
            .map(|m| m.keys().map(|k| DisclosedItem::Field(k.clone())).collect())
            .unwrap_or_default();
        for e in json["entries"].as_array().into_iter().flatten() {
            let id: Uuid = serde_json::from_value(e["id"].clone())?;
            in_package.push(DisclosedItem::Entry(id));
        }
        in_package.sort();
        let mut logged = disclosure.items.clone();
        logged.sort();
        assert_eq!(in_package, logged);
        // Email was asked for but she has none: it is neither sent nor logged.
        assert!(!logged.contains(&DisclosedItem::Field("email".to_owned())));
        assert!(logged.contains(&DisclosedItem::Entry(plain.id)));
        assert!(!logged.contains(&DisclosedItem::Entry(flagged.id)));
        assert_eq!(disclosure.package.as_ref(), Some(json));
        let hash: [u8; 32] = Sha256::digest(serde_json::to_vec(json)?).into();
        assert_eq!(disclosure.record.package_hash, hash);
        assert_eq!(
            disclosure.record.categories,
            vec!["case_notes", "health", "identity"]
        );
        // What a disclosure was and held never changes, and it is never deleted.
        for tamper in [
            "UPDATE disclosure SET basis = 'legal_obligation'",
            "UPDATE disclosure SET categories = 'identity'",
            "DELETE FROM disclosure_item",
            "UPDATE disclosure_item SET item = 'given_name'",
            "DELETE FROM disclosure",
        ] {
            assert!(
                w.app.db.raw_execute(tamper).await.is_err(),
                "the log refused {tamper}"
            );
        }
        // The package is sealed at rest.
        let raw = w.app.db.raw_bytes()?;
        assert!(!contains(&raw, b"Zqxpackagenotemarker"));
        assert!(!contains(&raw, b"Zqxsharedhealthmarker"));
        // Recipients to tell of a correction: by field.
        let told = w
            .app
            .confidant
            .recipients_to_tell(
                &w.app.worker_a,
                P,
                w.person,
                ToTell::Correction(&["mental_health"]),
            )
            .await?;
        assert_eq!(told.iter().map(|r| r.id).collect::<Vec<_>>(), vec![gp]);
        assert!(
            w.app
                .confidant
                .recipients_to_tell(
                    &w.app.worker_a,
                    P,
                    w.person,
                    ToTell::Correction(&["convictions"])
                )
                .await?
                .is_empty()
        );
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    an_emergency_share_is_allowed_with_a_reason_and_flagged_for_review,
    |backend| async move {
        let w = world(backend).await?;
        let ambulance = w
            .add_recipient(&recipient(
                "Ambulance Service",
                "health",
                &["identity", "health"],
                &["vital_interests"],
            ))
            .await?;
        let mut req = request(
            ambulance,
            &[PersonField::GivenName, PersonField::MentalHealth],
            "vital_interests",
        );
        req.article9 = Some("vital_interests".to_owned());
        req.person_told = false;
        req.not_told_reason = Some("Unconscious when the ambulance was called".to_owned());
        let package = w
            .app
            .confidant
            .share(&w.app.worker_a, P, w.person, &req)
            .await?;
        let queue = w
            .app
            .confidant
            .disclosures_to_review(&w.app.dpo, w.app.organisation)
            .await?;
        assert_eq!(queue.len(), 1);
        assert!(queue[0].emergency);
        assert_eq!(queue[0].review_state, Some(ReviewState::Pending));
        assert!(!queue[0].person_told);
        // A practitioner does not review; the DPO signs it off once.
        assert!(
            w.app
                .confidant
                .review_disclosure(&w.app.worker_a, package.disclosure_id, false)
                .await
                .is_err()
        );
        w.app
            .confidant
            .review_disclosure(&w.app.dpo, package.disclosure_id, false)
            .await?;
        assert!(
            w.app
                .confidant
                .disclosures_to_review(&w.app.dpo, w.app.organisation)
                .await?
                .is_empty()
        );
        let per_recipient = w
            .app
            .confidant
            .disclosures_to(&w.app.dpo, ambulance)
            .await?;
        assert_eq!(per_recipient.len(), 1);
        assert_eq!(per_recipient[0].review_state, Some(ReviewState::SignedOff));
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    a_processors_worker_reaches_only_what_was_referred_and_only_until_it_ends,
    |backend| async move {
        let w = world(backend).await?;
        let mut input = recipient(
            "Recovery Sub-contractor Ltd",
            "processor",
            &["identity", "health"],
            &["contract", "legitimate_interests"],
        );
        input.dpa_starts_on = Some(date(-30));
        input.dpa_ends_on = Some(date(30));
        let processor = w.add_recipient(&input).await?;
        // The register warns: the agreement ends within 60 days.
        let register = w
            .app
            .confidant
            .recipients(&w.app.worker_a, w.app.organisation)
            .await?;
        assert!(
            register
                .iter()
                .find(|r| r.record.id == processor)
                .and_then(|r| r.warning.as_ref())
                .is_some()
        );
        let (worker, processor_actor) = w
            .app
            .add_staff(Role::ProcessorStaff, None, "proc.worker", true)
            .await?;
        w.app
            .confidant
            .assign_processor_staff(&w.app.dpo, worker.id, processor)
            .await?;
        // A second person, never referred.
        let other = w
            .app
            .confidant
            .create_person(
                &w.app.worker_a,
                P,
                w.app.service_a,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Olly")
                    .with(PersonField::FamilyName, "Unreferred"),
            )
            .await?;
        let never = w
            .app
            .confidant
            .read_person(&processor_actor, P, other.id)
            .await;
        assert!(matches!(never, Err(PersonError::NotFound)));
        // The DPO cannot hand the worker a referral outside a disclosure (nor a trustee's matter).
        let direct = w
            .app
            .confidant
            .grant_trustee_matter(
                &w.app.dpo,
                worker.id,
                other.id,
                &confidant_testkit::complaint_matter(30),
            )
            .await;
        assert!(matches!(direct, Err(PersonError::Invalid(_))));

        let mut req = request(processor, &[PersonField::GivenName], "contract");
        let missing = w
            .app
            .confidant
            .share(&w.app.worker_a, P, w.person, &req)
            .await
            .expect_err("a processor referral names its worker");
        assert_eq!(invalid_fields(&missing), vec!["processor_staff_id"]);
        req.processor_staff_id = Some(worker.id);
        req.referral_days = Some(14);
        let package = w
            .app
            .confidant
            .share(&w.app.worker_a, P, w.person, &req)
            .await?;
        let read = w
            .app
            .confidant
            .read_person(&processor_actor, P, w.person)
            .await?;
        assert_eq!(read.get(PersonField::GivenName), Some("Nell"));
        // Their people page lists her (by the name sent) and not the person never referred.
        let mine = w.app.confidant.referred_to_me(&processor_actor, P).await?;
        assert_eq!(
            mine.iter()
                .map(|l| (l.id, l.name.as_str()))
                .collect::<Vec<_>>(),
            vec![(w.person, "Nell")]
        );
        // Only what was referred: her given name, not her health, notes, documents or related people,
        // and nothing of the sharing history or an export.
        assert_eq!(read.get(PersonField::MentalHealth), None);
        // Exactly the fields sent: her family name is of the same category, but was not sent.
        assert_eq!(read.get(PersonField::FamilyName), None);
        assert_eq!(read.get(PersonField::Convictions), None);
        let c = &w.app.confidant;
        assert!(
            c.entries(&processor_actor, P, w.person, &[])
                .await?
                .is_empty()
        );
        // The overview a page shows agrees: the name sent, no entry counted, no other part, and
        // only the referred fields to change.
        // Her record holds more than was sent: a note, a case and a related person.
        c.add_entry(&w.app.worker_a, P, w.person, &note("Not sent"))
            .await?;
        c.open_case(&w.app.worker_a, P, w.person, None).await?;
        c.add_related(
            &w.app.worker_a,
            P,
            w.person,
            Relationship::Family,
            None,
            &RecordInput::new().with("given_name", "Not sent"),
        )
        .await?;
        let head = c.store().audit_head().await?.map_or(0, |h| h.seq);
        let overview = c.person_overview(&processor_actor, P, w.person, 20).await?;
        let recorded: Vec<String> = c
            .store()
            .audit_events(head + 1, 10)
            .await?
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(recorded, ["person.read", "entry.count"]);
        assert_eq!(overview.person.get(PersonField::GivenName), Some("Nell"));
        assert_eq!(overview.person.get(PersonField::MentalHealth), None);
        assert!(overview.entry_counts.is_empty());
        assert!(overview.related.is_empty() && overview.cases.is_empty());
        assert!(overview.documents.is_empty() && overview.history.is_empty());
        assert!(!overview.may_change && overview.may_change_referred);
        // Parts a referral cannot send do not exist for the worker at all.
        assert!(matches!(
            c.documents(&processor_actor, P, w.person).await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.related_people(&processor_actor, P, w.person).await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.disclosures(&processor_actor, P, w.person).await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.export_record(&processor_actor, P, w.person).await,
            Err(PersonError::NotFound)
        ));
        // Changing a field outside what was referred is refused; inside, allowed.
        let outside = c
            .update_person(
                &processor_actor,
                P,
                w.person,
                &PersonInput::new().with(PersonField::MentalHealth, "Better"),
            )
            .await;
        assert!(
            matches!(outside, Err(PersonError::Invalid(_))),
            "{outside:?}"
        );
        c.update_person(
            &processor_actor,
            P,
            w.person,
            &PersonInput::new().with(PersonField::GivenName, "Nella"),
        )
        .await?;
        // A restriction of processing ends the worker's access while it lasts.
        let restriction = c.restrict(&w.app.dpo, P, w.person, "restriction").await?;
        assert!(c.read_person(&processor_actor, P, w.person).await.is_err());
        c.lift_restriction(&w.app.dpo, P, w.person, restriction.id)
            .await?;
        assert!(c.read_person(&processor_actor, P, w.person).await.is_ok());
        // Still nothing of the person never referred.
        assert!(
            w.app
                .confidant
                .read_person(&processor_actor, P, other.id)
                .await
                .is_err()
        );
        // Ending the referral ends the access at once.
        w.app
            .confidant
            .end_referral(&w.app.worker_a, P, w.person, package.disclosure_id)
            .await?;
        assert!(matches!(
            w.app
                .confidant
                .read_person(&processor_actor, P, w.person)
                .await,
            Err(PersonError::NotFound)
        ));
        // A referral also ends by itself when its days are up.
        let again = w
            .app
            .confidant
            .share(&w.app.worker_a, P, w.person, &req)
            .await?;
        assert!(again.disclosure_id != package.disclosure_id);
        assert!(
            w.app
                .confidant
                .read_person(&processor_actor, P, w.person)
                .await
                .is_ok()
        );
        w.app.confidant.clock().advance(time::Duration::days(15));
        assert!(
            w.app
                .confidant
                .read_person(&processor_actor, P, w.person)
                .await
                .is_err()
        );
        // And once the agreement has ended nothing more goes to the processor.
        w.app.confidant.clock().advance(time::Duration::days(20));
        assert_eq!(w.blocked(&req).await?, vec![Rule::ProcessorAgreementEnded]);
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    bad_input_is_refused_with_the_reason_and_writes_nothing,
    |backend| async move {
        let w = world(backend).await?;
        let court = w
            .add_recipient(&recipient(
                "Family Court",
                "criminal_justice",
                &["identity"],
                &["court_order"],
            ))
            .await?;
        let head = w.app.confidant.store().audit_head().await?;
        let before = w.disclosure_count().await?;

        let unknown = request(Uuid::now_v7(), &[PersonField::GivenName], "court_order");
        let e = w
            .app
            .confidant
            .share(&w.app.worker_a, P, w.person, &unknown)
            .await
            .expect_err("unknown recipient");
        assert!(invalid_fields(&e).contains(&"recipient_id"), "{e:?}");

        let malformed = request(court, &[PersonField::GivenName], "because_i_said_so");
        let e = w
            .app
            .confidant
            .share(&w.app.worker_a, P, w.person, &malformed)
            .await
            .expect_err("malformed basis");
        assert_eq!(invalid_fields(&e), vec!["basis"]);

        let mut no_ref = request(court, &[PersonField::GivenName], "court_order");
        let e = w
            .app
            .confidant
            .share(&w.app.worker_a, P, w.person, &no_ref)
            .await
            .expect_err("court order without its reference");
        assert_eq!(invalid_fields(&e), vec!["court_order_ref"]);

        no_ref.court_order_ref = Some("FD26P00123".to_owned());
        no_ref.person_told = false;
        no_ref.fields.push("shoe_size".to_owned());
        let e = w
            .app
            .confidant
            .share(&w.app.worker_a, P, w.person, &no_ref)
            .await
            .expect_err("unknown field, no reason for not telling");
        assert_eq!(invalid_fields(&e), vec!["fields", "not_told_reason"]);

        assert_eq!(w.app.confidant.store().audit_head().await?, head);
        assert_eq!(w.disclosure_count().await?, before);

        // Someone who may not see the record gets "not found", whatever the request holds.
        let e = w
            .app
            .confidant
            .share(&w.app.worker_b, P, w.person, &malformed)
            .await
            .expect_err("out of scope");
        assert!(matches!(e, ShareError::Person(PersonError::NotFound)));

        // With the reference, the court-order share goes and its reference is logged.
        no_ref.fields.pop();
        no_ref.not_told_reason = Some("The court ordered that she is not told".to_owned());
        w.app
            .confidant
            .share(&w.app.worker_a, P, w.person, &no_ref)
            .await?;
        let log = w
            .app
            .confidant
            .disclosures(&w.app.worker_a, P, w.person)
            .await?;
        assert_eq!(log[0].court_order_ref.as_deref(), Some("FD26P00123"));
        assert_eq!(w.disclosure_count().await?, before + 1);
        chain_is_intact(&w.app).await
    }
);

both_backends!(
    a_retired_recipient_receives_nothing_and_the_export_is_logged_too,
    |backend| async move {
        let w = world(backend).await?;
        let input = recipient(
            "Old Funder",
            "funder",
            &["identity"],
            &["legitimate_interests"],
        );
        let funder = w.add_recipient(&input).await?;
        let req = request(funder, &[PersonField::GivenName], "legitimate_interests");
        assert!(w.blocked(&req).await?.is_empty());
        w.app
            .confidant
            .update_recipient(&w.app.dpo, funder, &input, true)
            .await?;
        assert_eq!(w.blocked(&req).await?, vec![Rule::RecipientRetired]);
        // Only the DPO or Caldicott Guardian keep the register.
        assert!(
            w.app
                .confidant
                .add_recipient(&w.app.worker_a, w.app.organisation, &input)
                .await
                .is_err()
        );
        // A name already in the register is a conflict.
        assert!(matches!(
            w.app
                .confidant
                .add_recipient(&w.app.dpo, w.app.organisation, &input)
                .await,
            Err(PersonError::Conflict(_))
        ));

        let before = w.disclosure_count().await?;
        let export = w
            .app
            .confidant
            .export_record(&w.app.worker_a, P, w.person)
            .await?;
        assert_eq!(w.disclosure_count().await?, before + 1);
        let logged = w
            .app
            .confidant
            .disclosure(&w.app.worker_a, P, w.person, export.disclosure_id)
            .await?;
        assert_eq!(logged.record.basis.code(), "subject_request");
        assert!(
            logged
                .items
                .contains(&DisclosedItem::Field("given_name".to_owned()))
        );
        assert!(
            !logged
                .items
                .contains(&DisclosedItem::Field("safe_phone".to_owned()))
        );
        // The person's own copy is not a recipient to tell of a correction.
        let told = w
            .app
            .confidant
            .recipients_to_tell(&w.app.worker_a, P, w.person, ToTell::Correction(&[]))
            .await?;
        assert_eq!(told.iter().map(|r| r.id).collect::<Vec<_>>(), vec![funder]);

        // Destruction: the log's entries about the record go with it (the certificate counts
        // them), and nothing of the reasons or packages is left at rest.
        let done = w
            .app
            .confidant
            .destroy_person(
                &w.app.dpo,
                P,
                w.person,
                "dpo_decision",
                "Destroyed for this test",
            )
            .await?;
        let raw = w.app.db.raw_bytes()?;
        assert!(!contains(&raw, b"Continuity of care after discharge"));
        let records = w
            .app
            .confidant
            .store()
            .disclosures_of(&PersonAccess::for_tests(w.person))
            .await?;
        assert!(records.is_empty());
        let counted = done
            .certificate
            .items
            .iter()
            .find(|i| i.kind == "disclosures")
            .map(|i| i.count);
        assert_eq!(counted, Some(2));
        chain_is_intact(&w.app).await
    }
);
