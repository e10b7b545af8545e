//! `confidant org …`: organisations (data controllers).

use super::describe;
use crate::args::OrgCommand;
use crate::config::Config;
use crate::installation::{open, operator};

pub(crate) async fn run(config: &Config, command: OrgCommand) -> anyhow::Result<()> {
    let confidant = open(config).await?;
    let operator = operator(config, &confidant)?;
    match command {
        OrgCommand::Create { name } => {
            let org = confidant
                .create_organisation(&operator, &name)
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
