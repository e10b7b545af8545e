//! `confidant org …`: organisations (data controllers).

use confidant_core::Actor;

use super::describe;
use crate::args::OrgCommand;
use crate::config::Config;
use crate::installation::open;

pub(crate) async fn run(config: &Config, command: OrgCommand) -> anyhow::Result<()> {
    let confidant = open(config).await?;
    match command {
        OrgCommand::Create { name } => {
            let org = confidant
                .create_organisation(&Actor::System, &name)
                .await
                .map_err(describe)?;
            println!("{}", org.id);
        }
        OrgCommand::List => {
            for org in confidant.organisations().await.map_err(describe)? {
                println!("{}\t{}", org.id, org.name);
            }
        }
    }
    Ok(())
}
