//! The demonstration: a fictional organisation with two services, their staff and 50 synthetic people,
//! created once; every start issues fresh API tokens for the two practitioners and prints how to use them.

use std::fmt::Write as _;

use anyhow::Context;
use confidant_core::synthetic::Synthetic;
use confidant_core::{Actor, Confidant, Purpose, Role, StaffActor, SystemClock};
use confidant_store::SqlStore;

use crate::config::Config;

const ORGANISATION: &str = "Riverside Community Support (demo)";
const SERVICES: [(&str, &str); 2] = [
    ("Recovery Service", "recovery.worker"),
    ("Employment Support", "employment.worker"),
];
const PEOPLE_PER_SERVICE: usize = 25;

fn actor_of(staff: &confidant_core::store::StaffRecord) -> Actor {
    Actor::Staff(StaffActor {
        user_id: staff.id,
        organisation_id: staff.organisation_id,
        service_id: staff.service_id,
        role: staff.role,
    })
}

/// Seeds the demo if it is new, issues tokens, and returns the guide to print.
pub async fn prepare(
    confidant: &Confidant<SqlStore, SystemClock>,
    config: &Config,
) -> anyhow::Result<String> {
    let system = Actor::System;
    let existing = confidant
        .organisations()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !existing.iter().any(|o| o.name == ORGANISATION) {
        let org = confidant
            .create_organisation(&system, ORGANISATION)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut synthetic = Synthetic::new(2026);
        for (name, handle) in SERVICES {
            let service = confidant
                .create_service(&system, org.id, name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let worker = confidant
                .create_staff(
                    &system,
                    org.id,
                    Some(service.id),
                    Role::Practitioner,
                    handle,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for _ in 0..PEOPLE_PER_SERVICE {
                confidant
                    .create_person(
                        &actor_of(&worker),
                        Purpose::Administration,
                        service.id,
                        &synthetic.person(),
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        for (role, handle) in [
            (Role::DataProtectionOfficer, "dpo"),
            (Role::Administrator, "admin"),
        ] {
            confidant
                .create_staff(&system, org.id, None, role, handle)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }

    let mut guide = String::new();
    writeln!(
        guide,
        "\nConfidant demo is running at http://{}",
        config.listen
    )?;
    writeln!(
        guide,
        "Data directory: {} (SQLite database and master key file)\n",
        config.data_dir.display()
    )?;
    writeln!(
        guide,
        "Sign in to the API with a personal access token (valid 30 days, new ones each start):"
    )?;
    let mut example = None;
    for (name, handle) in SERVICES {
        let staff = confidant
            .staff_by_handle(handle)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .context("the demo's staff are missing")?;
        let token = confidant
            .issue_token(&system, &staff, time::Duration::days(30))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        writeln!(
            guide,
            "  {name} practitioner ({handle}):\n    {}",
            token.expose()
        )?;
        if example.is_none() {
            example = Some((token.expose().to_owned(), staff.service_id));
        }
    }
    if let Some((token, Some(service))) = example {
        let base = format!("http://{}", config.listen);
        writeln!(guide, "\nTry:")?;
        writeln!(
            guide,
            "  curl -H 'Authorization: Bearer {token}' {base}/api/v1/me"
        )?;
        writeln!(
            guide,
            "  curl -H 'Authorization: Bearer {token}' {base}/api/v1/services/{service}/people"
        )?;
        writeln!(
            guide,
            "The API is described at {base}/api/v1/openapi.json. Stop with Ctrl-C."
        )?;
    }
    Ok(guide)
}
