//! `confidant team …`: teams within a service.

use super::describe;
use crate::args::TeamCommand;
use crate::config::Config;
use crate::installation::{open, operator};

pub(crate) async fn run(config: &Config, command: TeamCommand) -> anyhow::Result<()> {
    match command {
        TeamCommand::Create { service, name } => {
            let confidant = open(config).await?;
            let operator = operator(config, &confidant)?;
            let team = confidant
                .create_team(&operator, service, &name)
                .await
                .map_err(describe)?;
            println!("{}", team.id);
        }
    }
    Ok(())
}
