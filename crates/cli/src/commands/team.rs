//! `confidant team …`: teams within a service.

use confidant_core::Actor;

use super::describe;
use crate::args::TeamCommand;
use crate::config::Config;
use crate::installation::open;

pub(crate) async fn run(config: &Config, command: TeamCommand) -> anyhow::Result<()> {
    match command {
        TeamCommand::Create { service, name } => {
            let confidant = open(config).await?;
            let team = confidant
                .create_team(&Actor::System, service, &name)
                .await
                .map_err(describe)?;
            println!("{}", team.id);
        }
    }
    Ok(())
}
