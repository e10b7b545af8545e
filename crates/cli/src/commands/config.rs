//! `confidant config …`: shows the effective configuration (secrets redacted), or checks it with the
//! register of processing activities.

use confidant_core::register::Register;

use crate::args::ConfigCommand;
use crate::config::Config;

pub(crate) fn run(config: &Config, command: ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Show => print!("{}", config.redacted_toml()?),
        ConfigCommand::Check { register } => {
            let file = register.or_else(|| config.register_file());
            match file {
                None => println!(
                    "configuration valid; no register of processing activities (expected at {})",
                    config
                        .data_dir
                        .join("config")
                        .join("register.toml")
                        .display()
                ),
                Some(file) => match Register::load(&file) {
                    Ok(r) => println!(
                        "configuration valid; register {} valid: {} services, {} activities, {} recipients, {} processors",
                        file.display(),
                        r.services.len(),
                        r.activities.len(),
                        r.recipients.len(),
                        r.processors.len()
                    ),
                    Err(errors) => {
                        eprintln!("{errors}");
                        std::process::exit(2);
                    }
                },
            }
        }
    }
    Ok(())
}
