//! The demonstration: a fictional organisation with two services, their staff and 50 synthetic people,
//! created once. Every start gives each demo account a fresh password and current training, issues API
//! tokens for the two practitioners, and prints how to sign in.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Context;
use confidant_core::access::Principal;
use confidant_core::field::FieldGroups;
use confidant_core::sharing::RecipientInput;
use confidant_core::store::{ReferralPolicy, ServiceConfig, StaffRecord, TokenScope, TrainingKind};
use confidant_core::synthetic::Synthetic;
use confidant_core::{Clock, Confidant, Purpose, Role, SystemClock};
use confidant_store::SqlStore;
use uuid::Uuid;

use super::init;
use super::serve::{bind, put_register_in_force, serve_on, serving_audit_key};
use crate::config::Config;
use crate::installation::{open, operator};

const ORGANISATION: &str = "Riverside Community Support (demo)";
/// The register the demo runs on: the recovery service's example.
pub const REGISTER: &str = include_str!("../../../../config/examples/recovery.toml");
const SERVICES: [(&str, &str, &str); 2] = [
    (
        "Recovery Service",
        "recovery.worker",
        "safe_contact,communication,photo,diversity,health,pregnancy,children,criminal_justice,housing",
    ),
    (
        "Employment Support",
        "employment.worker",
        "communication,diversity,health,employment,housing",
    ),
];
/// Organisation-wide accounts, and a manager of the first service.
const OTHERS: [(Role, &str); 5] = [
    (Role::ServiceManager, "recovery.manager"),
    (Role::DataProtectionOfficer, "dpo"),
    (Role::CaldicottGuardian, "caldicott"),
    (Role::Administrator, "admin"),
    (Role::ProcessorStaff, "processor.worker"),
];
const PEOPLE_PER_SERVICE: usize = 25;
const REFERRALS_PER_SERVICE: usize = 3;

/// `confidant demo`: initialises the demo's data directory (with the example register unless one is
/// configured), seeds or refreshes the demo, puts the register in force, prints the guide and serves.
pub(crate) async fn run(config: &Config) -> anyhow::Result<()> {
    init::run(config).await?;
    // The demo runs on the recovery service's example register (its notice is public at
    // /privacy/recovery), unless a register is configured already.
    if config.register_file().is_none() {
        let dir = config.data_dir.join("config");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("register.toml"), REGISTER)?;
    }
    let confidant = open(config).await?;
    let operator = operator(config, &confidant)?;
    let guide = prepare(&confidant, &operator, config).await?;
    // The demo's services exist only now (on a new demo): put the register in force.
    put_register_in_force(&confidant, &operator).await?;
    let confidant = Arc::new(confidant);
    let audit_key = serving_audit_key(config)?;
    let listener = bind(config).await?;
    println!("{guide}");
    serve_on(config, listener, confidant, audit_key).await
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn ensure_staff(
    confidant: &Confidant<SqlStore, SystemClock>,
    operator: &Principal,
    organisation: Uuid,
    service: Option<Uuid>,
    role: Role,
    handle: &str,
) -> anyhow::Result<StaffRecord> {
    if let Some(s) = confidant.staff_by_handle(handle).await.map_err(err)? {
        return Ok(s);
    }
    confidant
        .create_staff(operator, organisation, service, role, handle)
        .await
        .map_err(err)
}

/// Seeds the demo if it is new, refreshes passwords, training and tokens, and returns the guide.
pub async fn prepare(
    confidant: &Confidant<SqlStore, SystemClock>,
    operator: &Principal,
    config: &Config,
) -> anyhow::Result<String> {
    let system = operator;
    let existing = confidant.organisations().await.map_err(err)?;
    let org = match existing.into_iter().find(|o| o.name == ORGANISATION) {
        Some(org) => org,
        None => {
            let org = confidant
                .create_organisation(system, ORGANISATION)
                .await
                .map_err(err)?;
            let mut synthetic = Synthetic::new(2026);
            for (name, handle, groups) in SERVICES {
                let service = confidant
                    .create_service(system, org.id, name)
                    .await
                    .map_err(err)?;
                confidant
                    .configure_service(
                        system,
                        &ServiceConfig {
                            service_id: service.id,
                            field_groups: FieldGroups::parse(groups).map_err(err)?,
                            referrals: ReferralPolicy::Anyone,
                            partner_service_id: None,
                        },
                    )
                    .await
                    .map_err(err)?;
                let worker = ensure_staff(
                    confidant,
                    operator,
                    org.id,
                    Some(service.id),
                    Role::Practitioner,
                    handle,
                )
                .await?;
                refresh_training(confidant, operator, &worker).await?;
                let actor = confidant.acting_as(operator, &worker).await.map_err(err)?;
                for n in 0..PEOPLE_PER_SERVICE {
                    let person = confidant
                        .create_person(
                            &actor,
                            Purpose::Administration,
                            service.id,
                            &synthetic.person(),
                        )
                        .await
                        .map_err(err)?;
                    confidant
                        .open_case(&actor, Purpose::Administration, person.id, Some(worker.id))
                        .await
                        .map_err(err)?;
                    for note in synthetic.notes(if n < 3 { 3 } else { 0 }) {
                        confidant
                            .add_entry(&actor, Purpose::Administration, person.id, &note)
                            .await
                            .map_err(err)?;
                    }
                }
                for _ in 0..REFERRALS_PER_SERVICE {
                    confidant
                        .create_referral(
                            &actor,
                            Purpose::Administration,
                            service.id,
                            &synthetic.referral(),
                        )
                        .await
                        .map_err(err)?;
                }
            }
            org
        }
    };
    let services = confidant.services(system, org.id).await.map_err(err)?;
    let first_service = services
        .iter()
        .find(|s| s.name == SERVICES[0].0)
        .map(|s| s.id);

    let mut accounts = Vec::new();
    for (name, handle, _) in SERVICES {
        let service = services.iter().find(|s| s.name == name).map(|s| s.id);
        accounts.push(
            ensure_staff(
                confidant,
                operator,
                org.id,
                service,
                Role::Practitioner,
                handle,
            )
            .await?,
        );
    }
    for (role, handle) in OTHERS {
        let service = (role == Role::ServiceManager)
            .then_some(first_service)
            .flatten();
        accounts.push(ensure_staff(confidant, operator, org.id, service, role, handle).await?);
    }

    seed_sharing(confidant, operator, org.id, &services, &accounts).await?;

    let base = format!("http://{}", config.listen);
    let mut guide = String::new();
    writeln!(guide, "\nConfidant demo is running: open {base}/sign-in")?;
    writeln!(
        guide,
        "Data directory: {} (SQLite database and master key file)\n",
        config.data_dir.display()
    )?;
    writeln!(
        guide,
        "Demo accounts (fictional; new passwords at every start):"
    )?;
    for staff in &accounts {
        refresh_training(confidant, operator, staff).await?;
        let password = confidant_core::account::generated_password();
        confidant
            .set_password(system, staff.id, password.expose(), &[])
            .await
            .map_err(err)?;
        writeln!(
            guide,
            "  {:<18} {:<24} password {}",
            staff.handle,
            staff.role.code(),
            password.expose()
        )?;
    }
    writeln!(
        guide,
        "\nTwo-factor sign-in is mandatory: at the first sign-in of each account you are shown a QR code\n\
         for an authenticator app, and the key as text (`oathtool --totp -b KEY` prints codes too)."
    )?;

    writeln!(
        guide,
        "\nAPI tokens for the practitioners (valid 30 days, new ones each start):"
    )?;
    let mut example = None;
    for staff in accounts.iter().filter(|s| s.role == Role::Practitioner) {
        let token = confidant
            .issue_token(
                system,
                staff,
                time::Duration::days(30),
                TokenScope::ReadWrite,
            )
            .await
            .map_err(err)?;
        writeln!(guide, "  {}:\n    {}", staff.handle, token.expose())?;
        if example.is_none() {
            example = Some((token.expose().to_owned(), staff.service_id));
        }
    }
    let (token, service) = example.context("the demo's practitioners are missing")?;
    if let Some(service) = service {
        writeln!(guide, "\nTry:")?;
        writeln!(
            guide,
            "  curl -H 'Authorization: Bearer {token}' {base}/api/v1/me"
        )?;
        writeln!(
            guide,
            "  curl -H 'Authorization: Bearer {token}' {base}/api/v1/services/{service}/people"
        )?;
    }
    writeln!(
        guide,
        "The API is described at {base}/api/v1/openapi.json. Stop with Ctrl-C."
    )?;
    Ok(guide)
}

/// The recipient register, the recovery service's consent form and the processor's worker, once:
/// what the share wizard and the API offer in the demo (all fictional).
async fn seed_sharing(
    confidant: &Confidant<SqlStore, SystemClock>,
    operator: &Principal,
    organisation: Uuid,
    services: &[confidant_core::store::Service],
    accounts: &[StaffRecord],
) -> anyhow::Result<()> {
    let account = |handle: &str| {
        accounts
            .iter()
            .find(|a| a.handle == handle)
            .context("a demo account is missing")
    };
    let dpo_record = account("dpo")?;
    refresh_training(confidant, operator, dpo_record).await?;
    let dpo = confidant
        .acting_as(operator, dpo_record)
        .await
        .map_err(err)?;
    if !confidant
        .recipients(&dpo, organisation)
        .await
        .map_err(err)?
        .is_empty()
    {
        return Ok(());
    }
    let service = |name: &str| {
        services
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.id)
            .context("a demo service is missing")
    };
    let (recovery, employment) = (service(SERVICES[0].0)?, service(SERVICES[1].0)?);
    let today = confidant.clock().now().date();
    let list = |codes: &[&str]| codes.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    let recipients = [
        RecipientInput {
            name: "Riverside Medical Practice (GP)".to_owned(),
            kind: "health".to_owned(),
            categories: list(&["identity", "communication", "health", "case_notes"]),
            bases: list(&["consent", "vital_interests"]),
            ..RecipientInput::default()
        },
        RecipientInput {
            name: "National Drug Treatment Monitoring System".to_owned(),
            kind: "national_return".to_owned(),
            categories: list(&["identity", "health"]),
            bases: list(&["consent", "public_task"]),
            consent_required: true,
            ..RecipientInput::default()
        },
        RecipientInput {
            name: "County Probation Service".to_owned(),
            kind: "criminal_justice".to_owned(),
            categories: list(&["identity", "criminal_justice"]),
            bases: list(&["consent", "legal_obligation", "court_order", "public_task"]),
            ..RecipientInput::default()
        },
        RecipientInput {
            name: "Riverside MARAC".to_owned(),
            kind: "multi_agency_meeting".to_owned(),
            categories: list(&["identity", "health", "children"]),
            bases: list(&["public_task", "vital_interests"]),
            consent_required: true,
            ..RecipientInput::default()
        },
        RecipientInput {
            name: "Employment Support (our partner service)".to_owned(),
            kind: "partner_service".to_owned(),
            categories: list(&["identity", "communication", "employment"]),
            bases: list(&["consent"]),
            partner_service_id: Some(employment),
            ..RecipientInput::default()
        },
        RecipientInput {
            name: "Riverside Recovery Partners Ltd (sub-contractor)".to_owned(),
            kind: "processor".to_owned(),
            categories: list(&["identity", "health", "case_notes"]),
            bases: list(&["contract"]),
            dpa_starts_on: Some((today - time::Duration::days(30)).to_string()),
            dpa_ends_on: Some((today + time::Duration::days(335)).to_string()),
            ..RecipientInput::default()
        },
    ];
    let mut ids = Vec::new();
    for input in &recipients {
        ids.push(
            confidant
                .add_recipient(&dpo, organisation, input)
                .await
                .map_err(err)?
                .id,
        );
    }
    let purposes = [
        ("gp", "Sharing with your GP about your treatment", 0, false),
        (
            "ndtms",
            "Sending your initials, date of birth and treatment to the national monitoring system (NDTMS)",
            1,
            false,
        ),
        ("probation", "Sharing with your probation officer", 2, false),
        (
            "employment",
            "Referring you on to our Employment Support service",
            4,
            false,
        ),
    ];
    for (code, label, recipient, explicit) in purposes {
        confidant
            .add_consent_purpose(
                &dpo,
                recovery,
                code,
                label,
                Some(ids[recipient]),
                explicit,
                "2026-1",
            )
            .await
            .map_err(err)?;
    }
    let processor_worker = account("processor.worker")?;
    confidant
        .assign_processor_staff(&dpo, processor_worker.id, ids[5])
        .await
        .map_err(err)?;
    Ok(())
}

/// Records a year of training for a demo account whose training is missing or lapsed.
async fn refresh_training(
    confidant: &Confidant<SqlStore, SystemClock>,
    operator: &Principal,
    staff: &StaffRecord,
) -> anyhow::Result<()> {
    let status = confidant.own_training(staff).await.map_err(err)?;
    let today = confidant.clock().now().date();
    for kind in TrainingKind::ALL {
        if status.lapsed().contains(&kind) {
            confidant
                .record_training(operator, staff.id, kind, today, 365)
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}
