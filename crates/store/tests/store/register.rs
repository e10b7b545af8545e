//! The register is the one source (issue 15), on SQLite and PostgreSQL: an organisation onboards from
//! its register alone; start-up stops on a service the register and Confidant disagree about, naming
//! the file and line; recipients, processors, partner services and consent forms are the register's
//! and nothing else; consent is per purpose.

use std::path::Path;

use confidant_core::field::PersonField;
use confidant_core::person::{PersonError, PersonInput};
use confidant_core::record::RecordInput;
use confidant_core::referral::NewReferral;
use confidant_core::register::{InForce, InForceError, Register};
use confidant_core::sharing::{RecipientInput, Rule, ShareError, ShareRequest};
use confidant_core::store::prelude::*;
use confidant_core::store::{
    LawfulBasis, RecipientKind, ReferralPolicy, ReferralSource, ServiceConfig,
};
use confidant_core::{Purpose, Role, access::Principal};
use confidant_testkit::{TestApp, both_backends, operator, train};
use uuid::Uuid;

const P: Purpose = Purpose::Support;

const ORGANISATION: &str = r#"
[organisation]
id = "fenwick"
controller = "Fenwick Support Trust"
registration_number = "ZX000001"
address = "1 High Street, Fenwick FW1 1AA"
email = "info@fenwick.example"
complaints = "Tell your worker, or write to our Data Protection Officer."
regulator = "https://ico.org.uk/make-a-complaint/"
reviewed_on = "2026-06-01"

[organisation.dpo]
name = "Dana Price"
email = "dpo@fenwick.example"

[[policy_document]]
id = "retention_schedule"
title = "Fenwick Support Trust Records Retention Schedule"
version = "1"

[[retention]]
id = "records"
records = "Your record"
trigger = "case_closed"
period = "7 years"
source = "retention_schedule"
destruction = "securely destroyed"

[[recipient]]
id = "phb"
name = "The public health body"
kind = "researcher"
when = "routine returns, and raw data for research if you agree to each"

[[processor]]
id = "hosting"
name = "Hostwell Ltd"
role = "hosts our case record system"
agreement_starts = "2025-01-01"
agreement_ends = "2027-12-31"

[[consent_purpose]]
id = "returns"
label = "Routine returns to the public health body"
form_version = "2026-1"

[[consent_purpose]]
id = "raw_data"
label = "Raw data to the public health body for its research"
form_version = "2026-1"

[[service]]
id = "support"
name = "Support Service"
funder = "Fenwick Council"
area = "Fenwick"
referrals = "anyone"
field_groups = ["communication", "health"]
respond_within_days = 30

[[activity]]
id = "returns"
services = ["support"]
purpose = "If you agree, we send routine returns."
basis = "consent"
consent_purpose = "returns"
categories = ["identity"]
people = ["people we support"]
recipients = ["phb"]
retention = "records"
security = ["Only what is needed."]

[[activity]]
id = "raw_data"
services = ["support"]
purpose = "If you agree, we send raw data for research."
basis = "consent"
consent_purpose = "raw_data"
article9 = "explicit_consent"
categories = ["identity", "health"]
people = ["people we support"]
recipients = ["phb"]
retention = "records"
security = ["Only what is needed."]
"#;

/// The GP and the care activity naming it.
const GP: &str = r#"
[[recipient]]
id = "gp"
name = "Your GP"
kind = "health"
when = "for your care"

[[activity]]
id = "care"
services = ["support"]
purpose = "To support you."
basis = "legitimate_interests"
legitimate_interest = "to provide the service"
article9 = "health_social_care"
schedule1 = ["p1_health_social_care"]
categories = ["identity", "communication", "health", "case_notes"]
people = ["people we support"]
recipients = ["gp", "housing"]
processors = ["hosting"]
retention = "records"
security = ["Access on a need-to-know basis."]
"#;

/// A second service, taking referrals only from the first, and the partner recipient it is.
const HOUSING: &str = r#"
[[recipient]]
id = "housing"
name = "Fenwick Housing Team"
kind = "partner_service"
service = "housing"
when = "if you need housing support"

[[service]]
id = "housing"
name = "Housing Support"
funder = "Fenwick Council"
area = "Fenwick"
referrals = "partner"
partner = "support"
field_groups = ["housing"]
respond_within_days = 20

[[activity]]
id = "housing_support"
services = ["housing"]
purpose = "To find you somewhere safe to live."
basis = "legitimate_interests"
legitimate_interest = "to provide the housing service"
categories = ["identity", "housing"]
people = ["people we support"]
retention = "records"
security = ["Access on a need-to-know basis."]
"#;

fn register(text: &str) -> anyhow::Result<Register> {
    Register::parse(Path::new("fenwick.toml"), text).map_err(|e| anyhow::anyhow!("{e}"))
}

fn whole() -> anyhow::Result<Register> {
    register(&format!("{ORGANISATION}{GP}{HOUSING}"))
}

/// The installation governed by `register`, put in force.
async fn govern(app: TestApp, register: Register) -> anyhow::Result<(TestApp, InForce)> {
    let app = app.governed_by(register.clone());
    let done = in_force(&app, &register).await?;
    Ok((app, done))
}

async fn in_force(app: &TestApp, register: &Register) -> anyhow::Result<InForce> {
    app.confidant
        .put_register_in_force(&operator(), register)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn micros_of(date: &str) -> anyhow::Result<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(date, &format)?;
    Ok(i64::try_from(
        d.midnight().assume_utc().unix_timestamp_nanos() / 1000,
    )?)
}

/// A trained practitioner of a service of the register's organisation.
async fn practitioner(
    app: &TestApp,
    organisation: Uuid,
    service: Uuid,
    handle: &str,
) -> anyhow::Result<Principal> {
    let staff = app
        .confidant
        .create_staff(
            &operator(),
            organisation,
            Some(service),
            Role::Practitioner,
            handle,
        )
        .await?;
    train(&app.confidant, staff.id).await?;
    Ok(app.confidant.acting_as(&operator(), &staff).await?)
}

/// The whole register in force, a trained practitioner of its support service, and a person
/// there.
async fn with_person(app: TestApp) -> anyhow::Result<(TestApp, InForce, Principal, Uuid)> {
    let (app, done) = govern(app, whole()?).await?;
    let support = done.services["support"];
    let worker = practitioner(&app, done.organisation_id, support, "fen.worker").await?;
    let person = app
        .confidant
        .create_person(
            &worker,
            P,
            support,
            &PersonInput::new()
                .with(PersonField::GivenName, "Ivy")
                .with(PersonField::FamilyName, "Marsh"),
        )
        .await?
        .id;
    Ok((app, done, worker, person))
}

both_backends!(
    an_organisation_onboards_from_its_register_alone,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let register = whole()?;
        let done = in_force(&app, &register).await?;
        assert!(done.created);
        let store = app.confidant.store();
        let org = store
            .organisation(done.organisation_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no organisation"))?;
        assert_eq!(
            (org.name.as_str(), org.code.as_deref()),
            ("Fenwick Support Trust", Some("fenwick"))
        );
        let services = store.services(org.id).await?;
        let mut named: Vec<(Option<&str>, &str)> = services
            .iter()
            .map(|s| (s.code.as_deref(), s.name.as_str()))
            .collect();
        named.sort();
        assert_eq!(
            named,
            [
                (Some("housing"), "Housing Support"),
                (Some("support"), "Support Service")
            ]
        );
        let (support, housing) = (done.services["support"], done.services["housing"]);

        // Each service collects what the register covers and takes referrals as it says; the
        // partner-only service names its partner.
        let config = store.service_config(support).await?;
        let config = config.ok_or_else(|| anyhow::anyhow!("support not configured"))?;
        assert_eq!(
            config.field_groups,
            register.field_groups(&register.services[0])
        );
        assert_eq!(config.referrals, ReferralPolicy::Anyone);
        let config = store.service_config(housing).await?;
        assert_eq!(
            config.map(|c| (c.referrals, c.partner_service_id)),
            Some((ReferralPolicy::PartnerOnly, Some(support)))
        );

        // Recipients and processors: what the activities naming them give, nothing more.
        let recipients = store.recipients(org.id).await?;
        let by_code = |code: &str| {
            recipients
                .iter()
                .find(|r| r.code.as_deref() == Some(code))
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no recipient {code}"))
        };
        assert_eq!(recipients.len(), 4);
        let gp = by_code("gp")?;
        assert_eq!(gp.kind, RecipientKind::Health);
        assert_eq!(
            gp.categories,
            ["case_notes", "communication", "health", "identity"]
        );
        assert_eq!(gp.bases, [LawfulBasis::LegitimateInterests]);
        let phb = by_code("phb")?;
        assert_eq!(phb.categories, ["health", "identity"]);
        assert_eq!(phb.bases, [LawfulBasis::Consent]);
        assert_eq!(by_code("housing")?.partner_service_id, Some(housing));
        let hosting = by_code("hosting")?;
        assert_eq!(hosting.kind, RecipientKind::Processor);
        assert_eq!(
            (hosting.dpa_starts_at_micros, hosting.dpa_ends_at_micros),
            (
                Some(micros_of("2025-01-01")?),
                Some(micros_of("2028-01-01")?)
            ),
            "in force from its first day to the end of its last"
        );

        // The consent form: each purpose covers exactly its activities' recipients.
        let form = store.consent_purposes(support).await?;
        let lines: Vec<(&str, Vec<Uuid>, bool)> = form
            .iter()
            .map(|p| (p.code.as_str(), p.recipient_ids.clone(), p.explicit))
            .collect();
        assert_eq!(
            lines,
            [
                ("raw_data", vec![phb.id], true),
                ("returns", vec![phb.id], false)
            ]
        );
        assert!(store.consent_purposes(housing).await?.is_empty());

        // Put in force again: nothing to change.
        let again = in_force(&app, &register).await?;
        assert_eq!((again.created, again.changes), (false, 0));
        assert_eq!(again.services, done.services);
        assert_eq!(again.recipients, done.recipients);

        let verified = confidant_core::audit::verify_chain(store, None).await?;
        anyhow::ensure!(verified.is_ok(), "chain broken: {verified:?}");
        Ok(())
    }
);

both_backends!(
    a_service_the_register_and_confidant_disagree_about_stops_start_up,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let done = in_force(&app, &whole()?).await?;
        let before = snapshot(&app, &done).await?;

        // A one-word difference in a service's name: refused, naming the file and the service's line.
        let renamed = format!("{ORGANISATION}{GP}{HOUSING}")
            .replace("name = \"Support Service\"", "name = \"Support Services\"");
        let renamed = register(&renamed)?;
        let line = renamed
            .service("support")
            .map(|s| s.line)
            .ok_or_else(|| anyhow::anyhow!("no service"))?;
        assert!(line > 1);
        match app
            .confidant
            .put_register_in_force(&operator(), &renamed)
            .await
        {
            Err(InForceError::Mismatch(e)) => {
                let text = e.to_string();
                assert!(text.contains(&format!("fenwick.toml:{line}:")), "{text}");
                assert!(text.contains("Support Services"), "{text}");
            }
            other => anyhow::bail!("expected a mismatch, got {other:?}"),
        }

        // A service of the organisation the register lacks: refused, naming it.
        let without_housing = register(&format!("{ORGANISATION}{GP}").replace(
            "recipients = [\"gp\", \"housing\"]",
            "recipients = [\"gp\"]",
        ))?;
        match app
            .confidant
            .put_register_in_force(&operator(), &without_housing)
            .await
        {
            Err(InForceError::Mismatch(e)) => {
                let text = e.to_string();
                assert!(text.contains("\"Housing Support\""), "{text}");
                assert!(text.contains("fenwick.toml:2:"), "{text}");
            }
            other => anyhow::bail!("expected a mismatch, got {other:?}"),
        }
        // Neither changed anything.
        assert_eq!(before, snapshot(&app, &done).await?);

        // Services and their configuration are the register's alone: the API refuses to change them.
        let dpo_staff = app
            .confidant
            .create_staff(
                &operator(),
                done.organisation_id,
                None,
                Role::DataProtectionOfficer,
                "fen.dpo",
            )
            .await?;
        train(&app.confidant, dpo_staff.id).await?;
        let dpo = app.confidant.acting_as(&operator(), &dpo_staff).await?;
        let support = done.services["support"];
        let refused = app
            .confidant
            .create_service(&operator(), done.organisation_id, "Marketing")
            .await;
        assert!(
            matches!(refused, Err(confidant_core::organisation::OrganisationError::Invalid(ref v)) if v.0[0].field == "register"),
            "{refused:?}"
        );
        let refused = app
            .confidant
            .configure_service(
                &operator(),
                &ServiceConfig {
                    service_id: support,
                    field_groups: confidant_core::field::FieldGroups::all(),
                    referrals: ReferralPolicy::Anyone,
                    partner_service_id: None,
                },
            )
            .await;
        assert!(refused.is_err(), "{refused:?}");
        let refused = app
            .confidant
            .add_recipient(
                &dpo,
                done.organisation_id,
                &RecipientInput {
                    name: "Brightpath Marketing Ltd".to_owned(),
                    kind: "funder".to_owned(),
                    categories: vec!["identity".to_owned()],
                    bases: vec!["legitimate_interests".to_owned()],
                    ..RecipientInput::default()
                },
            )
            .await;
        assert!(
            matches!(refused, Err(PersonError::Invalid(ref v)) if v.0[0].field == "register"),
            "{refused:?}"
        );
        let refused = app
            .confidant
            .add_consent_purpose(&dpo, support, "marketing", "Marketing", None, false, "1")
            .await;
        assert!(
            matches!(refused, Err(PersonError::Invalid(_))),
            "{refused:?}"
        );
        assert_eq!(
            before,
            snapshot(&app, &done).await?,
            "a refusal changes nothing"
        );

        // A consent purpose covering more recipients under the same form version: refused at the
        // purpose's line, until the version is raised.
        let widened_text = format!("{ORGANISATION}{GP}{HOUSING}").replacen(
            "consent_purpose = \"returns\"\ncategories = [\"identity\"]\npeople = [\"people we support\"]\nrecipients = [\"phb\"]",
            "consent_purpose = \"returns\"\ncategories = [\"identity\"]\npeople = [\"people we support\"]\nrecipients = [\"phb\", \"gp\"]",
            1,
        );
        let widened = register(&widened_text)?;
        let line = widened
            .consent_purpose("returns")
            .map(|p| p.line)
            .ok_or_else(|| anyhow::anyhow!("no purpose"))?;
        match app
            .confidant
            .put_register_in_force(&operator(), &widened)
            .await
        {
            Err(InForceError::Mismatch(e)) => {
                let text = e.to_string();
                assert!(text.contains(&format!("fenwick.toml:{line}:")), "{text}");
                assert!(text.contains("covers more recipients"), "{text}");
            }
            other => anyhow::bail!("expected a mismatch, got {other:?}"),
        }
        let raised = register(&widened_text.replacen(
            "form_version = \"2026-1\"",
            "form_version = \"2026-2\"",
            1,
        ))?;
        assert!(
            app.confidant
                .put_register_in_force(&operator(), &raised)
                .await
                .is_ok()
        );

        Ok(())
    }
);

/// Everything the register puts in force, as stored, and how many services there are.
async fn snapshot(app: &TestApp, done: &InForce) -> anyhow::Result<String> {
    let store = app.confidant.store();
    let mut out = format!("{:?}", store.services(done.organisation_id).await?);
    out.push_str(&format!(
        "{:?}",
        store.recipients(done.organisation_id).await?
    ));
    for service in done.services.values() {
        out.push_str(&format!(
            "{:?}{:?}",
            store.service_config(*service).await?,
            store.consent_purposes(*service).await?
        ));
    }
    Ok(out)
}

fn share(recipient_id: Uuid, basis: &str, purpose: Option<Uuid>) -> ShareRequest {
    ShareRequest {
        recipient_id,
        fields: vec![PersonField::GivenName.code().to_owned()],
        basis: basis.to_owned(),
        reason: "As the register says it may be shared".to_owned(),
        person_told: true,
        consent_purpose_id: purpose,
        ..ShareRequest::default()
    }
}

fn rules(result: Result<impl std::fmt::Debug, ShareError>) -> Vec<Rule> {
    match result {
        Err(ShareError::Blocked(b)) => b.rules(),
        other => panic!("expected a refusal by the rules, got {other:?}"),
    }
}

both_backends!(
    consent_to_one_purpose_never_unlocks_another_and_only_the_registers_recipients_receive,
    |backend| async move {
        let (app, done, worker, person) = with_person(TestApp::new(backend).await?).await?;
        let support = done.services["support"];
        let form = app.confidant.consent_form(&worker, support).await?;
        let id_of = |code: &str| {
            form.iter()
                .find(|p| p.code == code)
                .map(|p| p.id)
                .ok_or_else(|| anyhow::anyhow!("no purpose {code}"))
        };
        let (returns, raw_data) = (id_of("returns")?, id_of("raw_data")?);
        app.confidant
            .record_consent(&worker, P, person, returns, "granted", None)
            .await?;
        let phb = done.recipients["phb"];

        // The recipient is on two purposes: the share must say which.
        let unnamed = app
            .confidant
            .share(&worker, P, person, &share(phb, "consent", None))
            .await;
        assert!(
            matches!(unnamed, Err(ShareError::Person(PersonError::Invalid(ref v))) if v.0[0].field == "consent_purpose_id"),
            "{unnamed:?}"
        );
        // Consent to the returns does not unlock the raw data.
        let broken = rules(
            app.confidant
                .share(&worker, P, person, &share(phb, "consent", Some(raw_data)))
                .await,
        );
        assert!(broken.contains(&Rule::ConsentNotRecorded), "{broken:?}");
        // A purpose that does not cover the recipient is refused by name.
        let gp = done.recipients["gp"];
        let wrong = app
            .confidant
            .share(&worker, P, person, &share(gp, "consent", Some(returns)))
            .await;
        assert!(
            matches!(wrong, Err(ShareError::Person(PersonError::Invalid(ref v))) if v.0[0].field == "consent_purpose_id"),
            "{wrong:?}"
        );
        // Under the purpose consented to, it goes, and the log names the purpose.
        let package = app
            .confidant
            .share(&worker, P, person, &share(phb, "consent", Some(returns)))
            .await?;
        let log = app.confidant.disclosures(&worker, P, person).await?;
        let entry = log
            .iter()
            .find(|d| d.record.id == package.disclosure_id)
            .ok_or_else(|| anyhow::anyhow!("not logged"))?;
        assert_eq!(entry.record.consent_purpose_id, Some(returns));

        // The GP receives only under the basis the register gives it.
        let broken = rules(
            app.confidant
                .share(&worker, P, person, &share(gp, "public_task", None))
                .await,
        );
        // (and so nothing is given under it: no category either).
        assert_eq!(
            broken,
            [Rule::CategoryNotInRegister, Rule::BasisNotForRecipient]
        );
        app.confidant
            .share(&worker, P, person, &share(gp, "legitimate_interests", None))
            .await?;

        // A new wording of the form: consent given on the old one no longer holds, until asked
        // again.
        let reworded = register(&format!("{ORGANISATION}{GP}{HOUSING}").replacen(
            "form_version = \"2026-1\"",
            "form_version = \"2026-2\"",
            1,
        ))?;
        let (app, _) = govern(app, reworded).await?;
        let broken = rules(
            app.confidant
                .share(&worker, P, person, &share(phb, "consent", Some(returns)))
                .await,
        );
        assert!(broken.contains(&Rule::ConsentOnEarlierForm), "{broken:?}");
        app.confidant
            .record_consent(&worker, P, person, returns, "granted", None)
            .await?;
        app.confidant
            .share(&worker, P, person, &share(phb, "consent", Some(returns)))
            .await?;

        // A recipient the register drops is retired: it receives nothing more, and its log stays.
        let (app, _) = govern(app, whole_without_gp()?).await?;
        let broken = rules(
            app.confidant
                .share(&worker, P, person, &share(gp, "legitimate_interests", None))
                .await,
        );
        assert!(broken.contains(&Rule::RecipientRetired), "{broken:?}");
        assert_eq!(
            app.confidant.disclosures(&worker, P, person).await?.len(),
            3
        );
        Ok(())
    }
);

/// The whole register with the GP gone: the care activity names only the housing team.
fn whole_without_gp() -> anyhow::Result<Register> {
    let gp_recipient = "[[recipient]]\nid = \"gp\"\nname = \"Your GP\"\nkind = \"health\"\nwhen = \"for your care\"\n";
    let text = format!("{ORGANISATION}{GP}{HOUSING}")
        .replace(gp_recipient, "")
        .replace(
            "recipients = [\"gp\", \"housing\"]",
            "recipients = [\"housing\"]",
        );
    register(&text)
}

both_backends!(
    a_referral_from_a_partner_service_is_a_disclosure_logged_at_the_partner,
    |backend| async move {
        let (app, done, worker, person) = with_person(TestApp::new(backend).await?).await?;
        let (support, housing) = (done.services["support"], done.services["housing"]);
        app.confidant.open_case(&worker, P, person, None).await?;
        let referral = NewReferral {
            source: ReferralSource::Partner,
            partner_person_id: Some(person),
            values: RecordInput::new()
                .with("given_name", "Ivy")
                .with("family_name", "Marsh")
                .with("reason", "Needs somewhere safe to live"),
        };
        let made = app
            .confidant
            .create_referral(&worker, P, housing, &referral)
            .await?;
        assert_eq!(made.record.service_id, housing);
        let log = app.confidant.disclosures(&worker, P, person).await?;
        assert_eq!(log.len(), 1, "one disclosure, at the partner service");
        let entry = &log[0].record;
        assert_eq!(
            (entry.recipient_id, entry.service_id, entry.basis),
            (
                done.recipients["housing"],
                support,
                LawfulBasis::LegitimateInterests
            )
        );
        Ok(())
    }
);

both_backends!(
    a_service_renamed_in_the_register_is_renamed_by_the_operator_and_then_starts,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let done = in_force(&app, &whole()?).await?;
        let renamed = register(
            &format!("{ORGANISATION}{GP}{HOUSING}")
                .replace("name = \"Support Service\"", "name = \"Community Support\""),
        )?;
        assert!(matches!(
            app.confidant
                .put_register_in_force(&operator(), &renamed)
                .await,
            Err(InForceError::Mismatch(_))
        ));
        let support = done.services["support"];
        // Only to a name no other service of the organisation has.
        assert!(matches!(
            app.confidant
                .rename_service(&operator(), support, "Housing Support")
                .await,
            Err(confidant_core::organisation::OrganisationError::Conflict(_))
        ));
        app.confidant
            .rename_service(&operator(), support, "Community Support")
            .await?;
        let again = in_force(&app, &renamed).await?;
        assert_eq!(
            again.services["support"], support,
            "the same service, renamed"
        );
        Ok(())
    }
);

both_backends!(
    a_share_carries_only_what_an_activity_of_the_persons_service_gives_its_recipient,
    |backend| async move {
        let (app, done, worker, person) = with_person(TestApp::new(backend).await?).await?;
        let support = done.services["support"];
        let form = app.confidant.consent_form(&worker, support).await?;
        let returns = form
            .iter()
            .find(|p| p.code == "returns")
            .map(|p| p.id)
            .ok_or_else(|| anyhow::anyhow!("no returns purpose"))?;
        app.confidant
            .record_consent(&worker, P, person, returns, "granted", None)
            .await?;
        let phb = done.recipients["phb"];
        // Consent to the returns (identity only) does not carry health data, whatever condition
        // the share names: the raw-data purpose is the one that could.
        let mut health = share(phb, "consent", Some(returns));
        health
            .fields
            .push(PersonField::MentalHealth.code().to_owned());
        health.article9 = Some("health_social_care".to_owned());
        let broken = rules(app.confidant.share(&worker, P, person, &health).await);
        assert!(broken.contains(&Rule::CategoryNotInRegister), "{broken:?}");
        assert!(broken.contains(&Rule::ConditionNotInRegister), "{broken:?}");

        // The housing service names no activity sharing with the GP: its staff cannot share there.
        let housing = done.services["housing"];
        let housing_worker =
            practitioner(&app, done.organisation_id, housing, "fen.housing").await?;
        let tenant = app
            .confidant
            .create_person(
                &housing_worker,
                P,
                housing,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Rowan")
                    .with(PersonField::FamilyName, "Lee"),
            )
            .await?
            .id;
        let broken = rules(
            app.confidant
                .share(
                    &housing_worker,
                    P,
                    tenant,
                    &share(done.recipients["gp"], "legitimate_interests", None),
                )
                .await,
        );
        assert!(broken.contains(&Rule::NotForThisService), "{broken:?}");
        assert!(
            app.confidant
                .disclosures(&housing_worker, P, tenant)
                .await?
                .is_empty()
        );
        Ok(())
    }
);

both_backends!(
    an_organisation_from_before_the_register_is_taken_over_once_by_exact_name,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        // The recovery example, as the test organisation's own: same controller and service names.
        let text = include_str!("../../../../config/examples/recovery.toml").replacen(
            "controller = \"Lanternway Recovery Charity\"",
            "controller = \"Northgate Recovery Trust\"",
            1,
        );
        let register = register(&text)?;
        // Kept by hand before the register: the NDTMS recipient and its consent purpose, with a
        // person's consent on it.
        let ndtms = register
            .recipient("ndtms")
            .ok_or_else(|| anyhow::anyhow!("no ndtms"))?;
        let recipient = app
            .confidant
            .add_recipient(
                &app.dpo,
                app.organisation,
                &RecipientInput {
                    name: ndtms.name.clone(),
                    kind: "national_return".to_owned(),
                    categories: vec!["identity".to_owned()],
                    bases: vec!["consent".to_owned()],
                    ..RecipientInput::default()
                },
            )
            .await?;
        let line = register
            .consent_purpose("ndtms")
            .ok_or_else(|| anyhow::anyhow!("no purpose"))?;
        let purpose = app
            .confidant
            .add_consent_purpose(
                &app.dpo,
                app.service_a,
                "ndtms",
                &line.label,
                Some(recipient.id),
                true,
                &line.form_version,
            )
            .await?;
        let done = in_force(&app, &register).await?;
        assert!(!done.created);
        assert_eq!(done.organisation_id, app.organisation);
        assert_eq!(done.services["recovery"], app.service_a);
        assert_eq!(done.services["employment"], app.service_b);
        // The purpose kept by hand is the register's now, with its consents.
        assert_eq!(done.recipients["ndtms"], recipient.id);
        let form = app
            .confidant
            .consent_form(&app.worker_a, app.service_a)
            .await?;
        assert!(form.iter().any(|p| p.id == purpose.id && p.code == "ndtms"));
        let again = in_force(&app, &register).await?;
        assert_eq!(again.changes, 0, "from then on, by code");
        Ok(())
    }
);

both_backends!(
    nothing_is_taken_over_unless_every_service_is_the_registers,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let text = include_str!("../../../../config/examples/recovery.toml").replacen(
            "controller = \"Lanternway Recovery Charity\"",
            "controller = \"Northgate Recovery Trust\"",
            1,
        );
        app.confidant
            .create_service(&operator(), app.organisation, "Night Shelter")
            .await?;
        match app
            .confidant
            .put_register_in_force(&operator(), &register(&text)?)
            .await
        {
            Err(InForceError::Mismatch(e)) => {
                assert!(e.to_string().contains("\"Night Shelter\""), "{e}")
            }
            other => anyhow::bail!("expected a mismatch, got {other:?}"),
        }
        let org = app.confidant.store().organisation(app.organisation).await?;
        assert_eq!(org.and_then(|o| o.code), None, "nothing was taken over");
        Ok(())
    }
);

both_backends!(
    a_recipient_given_a_new_id_under_the_same_name_retires_the_old_one_first,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let done = in_force(&app, &whole()?).await?;
        let renamed = register(
            &format!("{ORGANISATION}{GP}{HOUSING}")
                .replace("id = \"gp\"", "id = \"family_doctor\"")
                .replace(
                    "recipients = [\"gp\", \"housing\"]",
                    "recipients = [\"family_doctor\", \"housing\"]",
                ),
        )?;
        let now = in_force(&app, &renamed).await?;
        assert_ne!(now.recipients["family_doctor"], done.recipients["gp"]);
        let all = app
            .confidant
            .store()
            .recipients(now.organisation_id)
            .await?;
        let old = all
            .iter()
            .find(|r| r.id == done.recipients["gp"])
            .ok_or_else(|| anyhow::anyhow!("the old row is kept"))?;
        assert!(old.retired_at_micros.is_some());
        assert!(old.name.starts_with("Your GP (retired "), "{}", old.name);
        Ok(())
    }
);
