//! `confidant register …`: a service's privacy notice (Markdown or PDF), the Article 30 record, and
//! what changed in a service's latest published notice.

use anyhow::{Context, bail};

use crate::args::RegisterCommand;
use crate::config::Config;
use crate::installation::{load_register, open};

pub(crate) async fn run(config: &Config, command: RegisterCommand) -> anyhow::Result<()> {
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
    match command {
        RegisterCommand::Notice { service, pdf } => {
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
        RegisterCommand::Csv => {
            print!("{}", confidant_core::notice::article30_csv(&register))
        }
        RegisterCommand::Changes { service } => {
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
    }
    Ok(())
}
