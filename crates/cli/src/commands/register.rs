//! `confidant register …`: a service's privacy notice (Markdown or PDF), the Article 30 record,
//! what changed in a service's latest published notice, and what changes between two register
//! files (which needs neither the installation's register nor its database).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use confidant_core::register::Register;

use crate::args::RegisterCommand;
use crate::config::Config;
use crate::installation::{load_register, open};

/// The installation's register, which every command but `diff` reads.
fn installed(config: &Config) -> anyhow::Result<Register> {
    let Some(register) = load_register(config)? else {
        bail!(
            "there is no register of processing activities: put it at {} or set register_file",
            config
                .data_dir
                .join("config")
                .join("register.toml")
                .display()
        );
    };
    Ok(register)
}

pub(crate) async fn run(config: &Config, command: RegisterCommand) -> anyhow::Result<ExitCode> {
    match command {
        RegisterCommand::Notice { service, pdf } => {
            let register = installed(config)?;
            let notice = confidant_core::notice::notice(&register, &service)?;
            match pdf {
                None => print!("{}", notice.markdown()),
                Some(file) => {
                    let bytes = confidant_pdf::notice_pdf(&notice)?;
                    std::fs::write(&file, bytes)
                        .with_context(|| format!("cannot write {}", file.display()))?;
                    println!("notice of {service} written to {}", file.display());
                }
            }
        }
        RegisterCommand::Apply => {
            installed(config)?;
            let confidant = open(config).await?;
            let operator = crate::installation::operator(config, &confidant)?;
            let in_force = super::serve::put_register_in_force(&confidant, &operator)
                .await?
                .context("there is no register of processing activities")?;
            println!(
                "organisation {} ({}; {} changes)",
                in_force.organisation_id,
                if in_force.created {
                    "created"
                } else {
                    "already there"
                },
                in_force.changes
            );
            for (code, id) in &in_force.services {
                println!("service {code}: {id}");
            }
            confidant.close().await;
        }
        RegisterCommand::Csv => {
            print!(
                "{}",
                confidant_core::notice::article30_csv(&installed(config)?)
            )
        }
        RegisterCommand::Changes { service } => {
            // Checked first, as every command of the installation's register is.
            installed(config)?;
            let confidant = open(config).await?;
            let Some(change) = confidant.notice_change(&service).await? else {
                bail!("no notice of `{service}` has been published yet");
            };
            println!("notice of {service}: version {}", change.version);
            match change.previous {
                None => println!("the first version: nothing to compare with"),
                Some(p) => {
                    println!("changed since version {p}:");
                    for (sign, line) in &change.changes {
                        println!("{sign} {line}");
                    }
                    // The operator is shown no people: the service's practitioners and managers
                    // list whom to tell (audited).
                    println!(
                        "people to tell: not shown to the operator (record ids are listed only to those who may list the service's people)"
                    );
                }
            }
            confidant.close().await;
        }
        RegisterCommand::Diff { old, new } => return Ok(diff(&old, &new)),
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints what changes from the register file `old` to `new`, or every fault of either (exit 2).
fn diff(old: &Path, new: &Path) -> ExitCode {
    match (Register::load(old), Register::load(new)) {
        (Ok(old), Ok(new)) => {
            print!("{}", confidant_core::register::diff(&old, &new));
            ExitCode::SUCCESS
        }
        (old, new) => {
            for errors in [old.err(), new.err()].into_iter().flatten() {
                eprintln!("{errors}");
            }
            ExitCode::from(2)
        }
    }
}
