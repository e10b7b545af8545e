//! The demonstration: a fictional organisation with two services, their staff and 50 synthetic people,
//! created once. Every start gives each demo account a fresh password and current training, issues API
//! tokens for the two practitioners, and prints how to sign in.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Context;
use confidant_core::access::Principal;
use confidant_core::register::InForce;
use confidant_core::store::{ReferralSource, StaffRecord, TokenScope, TrainingKind};
use confidant_core::synthetic::Synthetic;
use confidant_core::{Clock, Confidant, Purpose, Role, SystemClock};
use confidant_store::SqlStore;
use uuid::Uuid;

use super::init;
use super::serve::{bind, put_register_in_force, serve_on, serving_audit_key};
use crate::config::Config;
use crate::installation::{open, operator};

/// The register the demo runs on: the recovery charity's example, which makes its organisation, its
/// two services, their recipients, processors and consent forms.
pub const REGISTER: &str = include_str!("../../../../config/examples/recovery.toml");
/// The register's services (by id) and their practitioners.
const SERVICES: [(&str, &str); 2] = [
    ("recovery", "recovery.worker"),
    ("employment", "employment.worker"),
];
/// The register's processor whose worker the demo has.
const PROCESSOR: &str = "beacon";
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
    // The register makes the organisation and its services (on a new demo) and keeps them as it says.
    let in_force = put_register_in_force(&confidant, &operator)
        .await?
        .context("the demo runs on a register of processing activities")?;
    let guide = prepare(&confidant, &operator, config, &in_force).await?;
    let audit_key = serving_audit_key(config)?;
    let confidant = Arc::new(confidant.with_signing_key(audit_key.clone()));
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
    let staff = confidant
        .create_staff(operator, organisation, service, role, handle)
        .await
        .map_err(err)?;
    // Fictional names and job titles, shown wherever staff are named.
    let Some((_, name, title)) = NAMES.iter().find(|(h, _, _)| *h == handle) else {
        return Ok(staff);
    };
    let details = confidant_core::setup::DetailsInput {
        display_name: (*name).to_owned(),
        job_title: (*title).to_owned(),
        team_id: None,
    };
    confidant
        .set_staff_details(operator, staff.id, &details)
        .await
        .map_err(err)
}

/// The demo's staff as people read them: (handle, display name, job title), all fictional.
const NAMES: [(&str, &str, &str); 7] = [
    ("recovery.worker", "Sam Okafor", "Recovery worker"),
    ("employment.worker", "Priya Shah", "Employment adviser"),
    (
        "recovery.manager",
        "Jo Whitfield",
        "Recovery service manager",
    ),
    ("dpo", "Alex Byrne", "Data Protection Officer"),
    ("caldicott", "Ruth Amos", "Caldicott Guardian"),
    ("admin", "Chris Lee", "Systems administrator"),
    ("processor.worker", "Dana Morris", "Support worker, Beacon"),
];

/// Seeds the demo if its organisation is new (people, cases, notes and referrals in each service),
/// refreshes passwords, training and tokens, and returns the guide.
pub async fn prepare(
    confidant: &Confidant<SqlStore, SystemClock>,
    operator: &Principal,
    config: &Config,
    in_force: &InForce,
) -> anyhow::Result<String> {
    let system = operator;
    let org = in_force.organisation_id;
    let service = |code: &str| {
        in_force.services.get(code).copied().with_context(|| {
            format!("the demo needs the example register's service `{code}` in the register")
        })
    };
    let mut accounts = Vec::new();
    for (code, handle) in SERVICES {
        let service = service(code)?;
        accounts.push(
            ensure_staff(
                confidant,
                operator,
                org,
                Some(service),
                Role::Practitioner,
                handle,
            )
            .await?,
        );
    }
    if in_force.created {
        let mut synthetic = Synthetic::new(2026);
        for (worker, (code, _)) in accounts.iter().zip(SERVICES) {
            let service = service(code)?;
            refresh_training(confidant, operator, worker).await?;
            let actor = confidant.acting_as(operator, worker).await.map_err(err)?;
            for n in 0..PEOPLE_PER_SERVICE {
                let person = confidant
                    .create_person(
                        &actor,
                        Purpose::Administration,
                        service,
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
                // From professionals, whom both services take referrals from.
                let mut referral = synthetic.referral();
                referral.source = ReferralSource::Professional;
                confidant
                    .create_referral(&actor, Purpose::Administration, service, &referral)
                    .await
                    .map_err(err)?;
            }
        }
    }
    let first_service = service(SERVICES[0].0)?;

    for (role, handle) in OTHERS {
        let service = (role == Role::ServiceManager).then_some(first_service);
        accounts.push(ensure_staff(confidant, operator, org, service, role, handle).await?);
    }

    let processor = in_force
        .recipients
        .get(PROCESSOR)
        .copied()
        .with_context(|| {
            format!("the demo needs the example register's processor `{PROCESSOR}`")
        })?;
    seed_processor_worker(confidant, operator, processor, &accounts).await?;

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

/// The processor's worker works for the register's processor, once. Recipients, processors and the
/// consent forms come from the register.
async fn seed_processor_worker(
    confidant: &Confidant<SqlStore, SystemClock>,
    operator: &Principal,
    processor: Uuid,
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
    let worker = account("processor.worker")?;
    let assigned = confidant
        .processor_workers(&dpo, processor)
        .await
        .map_err(err)?
        .iter()
        .any(|w| w.id == worker.id);
    if !assigned {
        confidant
            .assign_processor_staff(&dpo, worker.id, processor)
            .await
            .map_err(err)?;
    }
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
