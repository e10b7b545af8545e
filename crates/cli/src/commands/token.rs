//! `confidant token …`: personal access tokens for the API, printed once.

use super::{describe, find_staff};
use crate::args::TokenCommand;
use crate::config::Config;
use crate::installation::{open, operator};

pub(crate) async fn run(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Issue {
            handle,
            days,
            scope,
        } => {
            let confidant = open(config).await?;
            let operator = operator(config, &confidant)?;
            let staff = find_staff(&confidant, &handle).await?;
            let token = confidant
                .issue_token(
                    &operator,
                    &staff,
                    time::Duration::days(i64::from(days)),
                    scope,
                )
                .await
                .map_err(describe)?;
            println!("{}", token.expose());
        }
    }
    Ok(())
}
