//! Each example register, started from configuration alone (issue 15), on SQLite and PostgreSQL:
//! its organisation and services are made from the file; every recipient its services' activities
//! name receives exactly under the bases the register gives it (a consent-based one only once the
//! person consents to that purpose), and under no other; a recipient the register lacks receives
//! nothing; each service takes referrals from exactly the sources the register says.

use std::path::Path;

use confidant_core::field::PersonField;
use confidant_core::person::{PersonError, PersonInput};
use confidant_core::record::RecordInput;
use confidant_core::referral::NewReferral;
use confidant_core::register::Register;
use confidant_core::sharing::{Rule, ShareError, ShareRequest};
use confidant_core::store::{LawfulBasis, ReferralPolicy, ReferralSource};
use confidant_core::{Purpose, Role};
use confidant_testkit::{TestApp, TestBackend, each_backend, operator, train};
use uuid::Uuid;

const P: Purpose = Purpose::Support;

const EXAMPLES: [&str; 3] = [
    "recovery.toml",
    "care-company.toml",
    "domestic-abuse-advocacy.toml",
];

fn example(file: &str) -> anyhow::Result<Register> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/examples")
        .join(file);
    Register::load(&path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The examples, and the recovery example with its employment service taking referrals only from
/// the recovery service (its partner).
fn registers() -> anyhow::Result<Vec<(String, Register)>> {
    let mut out = Vec::new();
    for file in EXAMPLES {
        out.push((file.to_owned(), example(file)?));
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples/recovery.toml");
    let text = std::fs::read_to_string(&path)?;
    let from = "referrals = \"professional\"\nfield_groups = [\"communication\"";
    anyhow::ensure!(
        text.contains(from),
        "the recovery example's employment service changed"
    );
    let partner = text.replacen(
        from,
        "referrals = \"partner\"\npartner = \"recovery\"\nfield_groups = [\"communication\"",
        1,
    );
    out.push((
        "recovery.toml, employment by partner referral".to_owned(),
        Register::parse(&path, &partner).map_err(|e| anyhow::anyhow!("{e}"))?,
    ));
    Ok(out)
}

fn share(recipient_id: Uuid, basis: LawfulBasis) -> ShareRequest {
    ShareRequest {
        recipient_id,
        fields: vec![PersonField::GivenName.code().to_owned()],
        basis: basis.code().to_owned(),
        reason: "As the register says it may be shared".to_owned(),
        court_order_ref: (basis == LawfulBasis::CourtOrder).then(|| "ORDER/2026/17".to_owned()),
        person_told: true,
        without_consent_reason: (basis != LawfulBasis::Consent)
            .then(|| "The law requires it without consent".to_owned()),
        ..ShareRequest::default()
    }
}

async fn run(backend: TestBackend) -> anyhow::Result<()> {
    for (file, register) in registers()? {
        let file = file.as_str();
        let app = TestApp::new(backend).await?.governed_by(register.clone());
        let done = app
            .confidant
            .put_register_in_force(&operator(), &register)
            .await
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        anyhow::ensure!(
            done.created,
            "{file}: the organisation is made from the file"
        );
        let mut people = Vec::new();
        for (n, service) in register.services.iter().enumerate() {
            let service_id = done.services[&service.id];
            let staff = app
                .confidant
                .create_staff(
                    &operator(),
                    done.organisation_id,
                    Some(service_id),
                    Role::Practitioner,
                    &format!("example.worker{n}"),
                )
                .await?;
            train(&app.confidant, staff.id).await?;
            let worker = app.confidant.acting_as(&operator(), &staff).await?;
            let person = app
                .confidant
                .create_person(
                    &worker,
                    P,
                    service_id,
                    &PersonInput::new()
                        .with(PersonField::GivenName, "Example")
                        .with(PersonField::FamilyName, "Person"),
                )
                .await?
                .id;
            app.confidant.open_case(&worker, P, person, None).await?;
            people.push((service, service_id, worker, person));
        }

        let mut shared_to = 0;
        for (service, _, worker, person) in &people {
            let form = app
                .confidant
                .consent_form(worker, done.services[&service.id])
                .await?;
            let named: Vec<&str> = register
                .activities_of(&service.id)
                .flat_map(|a| a.recipients.iter().map(String::as_str))
                .collect();
            for code in &named {
                let recipient = done.recipients[*code];
                let terms = register.terms_of(code);
                if !terms.categories.iter().any(|c| c == "identity")
                    || register.recipient(code).is_some_and(|r| r.outside_uk)
                {
                    // Nothing of identity goes to it, or it needs explicit consent abroad.
                    continue;
                }
                for basis in &terms.bases {
                    let mut request = share(recipient, *basis);
                    if *basis == LawfulBasis::Consent {
                        let line = form
                            .iter()
                            .find(|p| p.recipient_ids.contains(&recipient))
                            .ok_or_else(|| anyhow::anyhow!("{file}: no purpose covers {code}"))?;
                        request.consent_purpose_id = Some(line.id);
                        // Without the person's consent to that purpose: refused.
                        match app.confidant.share(worker, P, *person, &request).await {
                            Err(ShareError::Blocked(b)) => anyhow::ensure!(
                                b.rules().contains(&Rule::ConsentNotRecorded),
                                "{file}: {code} without consent: {b}"
                            ),
                            other => anyhow::bail!(
                                "{file}: {code} without consent was not refused: {other:?}"
                            ),
                        }
                        app.confidant
                            .record_consent(worker, P, *person, line.id, "granted", None)
                            .await?;
                    }
                    let shared = app.confidant.share(worker, P, *person, &request).await;
                    anyhow::ensure!(
                        shared.is_ok(),
                        "{file}: {code} under {basis:?} was refused: {shared:?}"
                    );
                    shared_to += 1;
                }
                // Under a basis the register does not give it: refused.
                if let Some(other) = LawfulBasis::ALL.iter().find(|b| {
                    !terms.bases.contains(b)
                        && !matches!(b, LawfulBasis::SubjectRequest | LawfulBasis::Consent)
                }) {
                    match app
                        .confidant
                        .share(worker, P, *person, &share(recipient, *other))
                        .await
                    {
                        Err(ShareError::Blocked(b)) => anyhow::ensure!(
                            b.rules().contains(&Rule::BasisNotForRecipient),
                            "{file}: {code} under {other:?}: {b}"
                        ),
                        other => {
                            anyhow::bail!("{file}: {code} under another basis: {other:?}")
                        }
                    }
                }
            }
            // A recipient the register lacks receives nothing.
            let unknown = app
                .confidant
                .share(
                    worker,
                    P,
                    *person,
                    &share(Uuid::new_v4(), LawfulBasis::LegitimateInterests),
                )
                .await;
            anyhow::ensure!(
                matches!(unknown, Err(ShareError::Person(PersonError::Invalid(_)))),
                "{file}: {unknown:?}"
            );
        }

        // Every share the register allows was made (the example's recipients are not all skipped).
        let logged: usize = {
            let mut n = 0;
            for (_, _, worker, person) in &people {
                n += app.confidant.disclosures(worker, P, *person).await?.len();
            }
            n
        };
        anyhow::ensure!(
            shared_to > 2 && logged == shared_to,
            "{file}: {shared_to} shares, {logged} logged"
        );

        // Referrals: from exactly the sources the register says.
        let mut partner_referrals = 0;
        for (service, service_id, worker, _) in &people {
            let policy = ReferralPolicy::from_code(&service.referrals)
                .ok_or_else(|| anyhow::anyhow!("{file}: referral policy"))?;
            for source in [
                ReferralSource::SelfReferral,
                ReferralSource::Other,
                ReferralSource::Professional,
            ] {
                let made = app
                    .confidant
                    .create_referral(
                        worker,
                        P,
                        *service_id,
                        &NewReferral {
                            source,
                            partner_person_id: None,
                            values: RecordInput::new()
                                .with("given_name", "Referred")
                                .with("family_name", "Person"),
                        },
                    )
                    .await;
                anyhow::ensure!(
                    made.is_ok() == policy.accepts(source),
                    "{file}: {} from {source:?}: {made:?}",
                    service.id
                );
            }
            if let Some(partner) = service.partner.as_deref() {
                partner_referrals += 1;
                let (_, _, partner_worker, partner_person) = people
                    .iter()
                    .find(|(s, ..)| s.id == partner)
                    .ok_or_else(|| anyhow::anyhow!("{file}: no partner"))?;
                app.confidant
                    .create_referral(
                        partner_worker,
                        P,
                        *service_id,
                        &NewReferral {
                            source: ReferralSource::Partner,
                            partner_person_id: Some(*partner_person),
                            values: RecordInput::new()
                                .with("given_name", "Example")
                                .with("family_name", "Person"),
                        },
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("{file}: partner referral: {e:?}"))?;
            }
        }
        if file.contains("partner") {
            anyhow::ensure!(partner_referrals == 1, "{file}: the partner referral ran");
        }
        let verified = confidant_core::audit::verify_chain(app.confidant.store(), None).await?;
        anyhow::ensure!(verified.is_ok(), "{file}: chain broken: {verified:?}");
    }
    Ok(())
}

each_backend!(run => every_example_starts_from_its_register_alone_and_shares_and_refers_as_it_says_on_sqlite, every_example_starts_from_its_register_alone_and_shares_and_refers_as_it_says_on_postgres);
