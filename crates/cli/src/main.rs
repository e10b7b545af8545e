//! `confidant`: the composition root (configuration → keys → store → services → web) and the operator's
//! commands. Every command that touches data goes through the core services.
//!
//! This file reads the command line and hands each command to its module in `commands/`; opening
//! the installation (key, database, policies, register) is in `installation.rs`.

mod args;
mod backup;
mod checkpoints;
mod commands;
mod config;
mod installation;
mod keyfile;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, Global};
use crate::config::{Config, Flags, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn load_config(global: &Global, command: &Command) -> anyhow::Result<Config> {
    let mut defaults = Config::default();
    if matches!(command, Command::Demo { .. }) {
        defaults.data_dir = PathBuf::from("./confidant-demo");
    }
    let listen = match command {
        Command::Serve { listen } | Command::Demo { listen } => *listen,
        _ => None,
    };
    let flags = Flags {
        data_dir: global.data_dir.clone(),
        database_url: global.database_url.clone(),
        listen,
    };
    Config::load(global.config.as_deref(), defaults, &flags)
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = load_config(&cli.global, &cli.command)?;
    init_logging(&config);
    match cli.command {
        Command::Init => commands::init::run(&config).await?,
        Command::Migrate => commands::migrate::run(&config).await?,
        Command::Serve { .. } => commands::serve::run(&config).await?,
        Command::Demo { .. } => commands::demo::run(&config).await?,
        Command::Config(command) => commands::config::run(&config, command)?,
        Command::Register(command) => return commands::register::run(&config, command).await,
        Command::Outbox(command) => commands::outbox::run(&config, command).await?,
        Command::Tasks(command) => commands::tasks::run(&config, command).await?,
        Command::Retention(command) => commands::retention::run(&config, command).await?,
        Command::Rights(command) => commands::rights::run(&config, command)?,
        Command::Destroy {
            person_id,
            reason,
            basis,
            out,
        } => commands::destroy::run(&config, person_id, &reason, &basis, out.as_deref()).await?,
        Command::Backup { out, part } => commands::backup::backup(&config, &out, part).await?,
        Command::Restore {
            from,
            keys_from,
            erasures_from,
        } => {
            commands::backup::restore(
                &config,
                &from,
                keys_from.as_deref(),
                erasures_from.as_deref(),
            )
            .await?
        }
        Command::Audit(command) => return commands::audit::run(&config, command).await,
        Command::Keys(command) => commands::keys::run(&config, command).await?,
        Command::Org(command) => commands::org::run(&config, command).await?,
        Command::Service(command) => commands::service::run(&config, command).await?,
        Command::Team(command) => commands::team::run(&config, command).await?,
        Command::User(command) => commands::user::run(&config, command).await?,
        Command::Token(command) => commands::token::run(&config, command).await?,
    }
    Ok(ExitCode::SUCCESS)
}
