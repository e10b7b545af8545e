//! `confidant user …` (or `staff`): add staff, list them, disable leavers, reset two-factor, set
//! passwords and teams, record training, and (as the Data Protection Officer) give a trustee a
//! matter.

use anyhow::Context;
use confidant_core::setup::NewStaff;
use confidant_core::store::TrainingKind;

use super::{describe, find_staff};
use crate::args::UserCommand;
use crate::config::Config;
use crate::installation::{open, operator};

pub(crate) async fn run(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let confidant = open(config).await?;
    let operator = operator(config, &confidant)?;
    let system = &operator;
    match command {
        UserCommand::Add {
            organisation,
            service,
            team,
            display_name,
            job_title,
            role,
            handle,
        } => {
            let new = NewStaff {
                role,
                service_id: service,
                team_id: team,
                handle,
                display_name: display_name.unwrap_or_default(),
                job_title: job_title.unwrap_or_default(),
            };
            let staff = confidant
                .add_staff(system, organisation, &new)
                .await
                .map_err(describe)?;
            let password = confidant_core::account::generated_password();
            confidant
                .set_password(system, staff.id, password.expose(), &[])
                .await
                .map_err(describe)?;
            println!("{}", staff.id);
            println!("first password (shown once): {}", password.expose());
        }
        UserCommand::List { organisation } => {
            for s in confidant
                .staff_of(system, organisation)
                .await
                .map_err(describe)?
            {
                let status = if s.disabled_at_micros.is_some() {
                    "disabled"
                } else {
                    "active"
                };
                println!("{}\t{}\t{}\t{status}", s.id, s.handle, s.role.code());
            }
        }
        UserCommand::Disable { handle } => {
            let staff = find_staff(&confidant, &handle).await?;
            if confidant
                .disable_staff(system, staff.id)
                .await
                .map_err(describe)?
            {
                println!("disabled; sessions ended and tokens revoked");
            } else {
                println!("already disabled");
            }
        }
        UserCommand::Reset2fa { handle } => {
            let staff = find_staff(&confidant, &handle).await?;
            confidant
                .reset_two_factor(system, staff.id)
                .await
                .map_err(describe)?;
            println!("two-factor sign-in removed; they enrol again at their next sign-in");
        }
        UserCommand::SetPassword { handle } => {
            let staff = find_staff(&confidant, &handle).await?;
            let password = confidant_core::account::generated_password();
            confidant
                .set_password(system, staff.id, password.expose(), &[])
                .await
                .map_err(describe)?;
            println!("new password (shown once): {}", password.expose());
        }
        UserCommand::SetTeam { handle, team } => {
            let staff = find_staff(&confidant, &handle).await?;
            confidant
                .set_staff_team(system, staff.id, team)
                .await
                .map_err(describe)?;
            println!("team set");
        }
        UserCommand::Training {
            handle,
            kind,
            completed_on,
            valid_days,
        } => {
            let staff = find_staff(&confidant, &handle).await?;
            let kinds: Vec<TrainingKind> = if kind == "all" {
                TrainingKind::ALL.to_vec()
            } else {
                vec![TrainingKind::from_code(&kind).context(
                    "unknown kind; one of: data_protection, policy_acknowledgement, all",
                )?]
            };
            let on = completed_on.unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
            for k in kinds {
                let record = confidant
                    .record_training(system, staff.id, k, on, valid_days)
                    .await
                    .map_err(describe)?;
                println!("{} recorded, valid until {}", k.code(), {
                    let t = time::OffsetDateTime::from_unix_timestamp_nanos(
                        i128::from(record.expires_at_micros) * 1000,
                    )
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                    t.date()
                });
            }
        }
        UserCommand::GrantMatter {
            token_file,
            handle,
            person,
            matter,
            parts,
            days,
            reason_file,
            flagged_reason_file,
        } => {
            let read = |file: &std::path::Path| -> anyhow::Result<String> {
                if file == std::path::Path::new("-") {
                    let mut text = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
                    Ok(text)
                } else {
                    std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read {}", file.display()))
                }
            };
            let reason = read(&reason_file)?;
            let flagged_reason = flagged_reason_file.as_deref().map(read).transpose()?;
            // The DPO decides, not the operator: the command acts as the owner of the token.
            let token = read(&token_file)?;
            let Some((dpo, scope)) = confidant.authenticate_token(token.trim()).await? else {
                anyhow::bail!("the token file holds no live personal access token");
            };
            if scope != confidant_core::store::TokenScope::ReadWrite {
                anyhow::bail!("the token is read-only: a grant needs a read_write token");
            }
            let trustee = find_staff(&confidant, &handle).await?;
            let grant = confidant
                .grant_trustee_matter(
                    &dpo,
                    trustee.id,
                    person,
                    &confidant_core::grant::TrusteeGrant {
                        matter,
                        parts,
                        days,
                        reason,
                        flagged_reason,
                    },
                )
                .await
                .map_err(|e| match e {
                    confidant_core::person::PersonError::Invalid(v) => anyhow::anyhow!(
                        "invalid input: {}",
                        v.0.iter()
                            .map(|v| format!("{}: {}", v.field, v.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    confidant_core::person::PersonError::NotFound => anyhow::anyhow!(
                        "not found: no such person or trustee, or the token's owner may not grant matters"
                    ),
                    other => anyhow::anyhow!("{other}"),
                })?;
            println!(
                "{} granted matter {} on {} ({}) until {}",
                handle,
                grant.matter.as_deref().unwrap_or_default(),
                grant.person_id,
                grant.parts.join(", "),
                time::OffsetDateTime::from_unix_timestamp_nanos(
                    i128::from(grant.ends_at_micros) * 1000
                )
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
                .date()
            );
        }
    }
    Ok(())
}
