//! `confidant service …`: services of an organisation, how far their staff see, and what their
//! record collects.

use confidant_core::store::ServiceConfig;

use super::describe;
use crate::args::ServiceCommand;
use crate::config::Config;
use crate::installation::{open, operator};

pub(crate) async fn run(config: &Config, command: ServiceCommand) -> anyhow::Result<()> {
    let confidant = open(config).await?;
    let operator = operator(config, &confidant)?;
    match command {
        ServiceCommand::Create { organisation, name } => {
            let service = confidant
                .create_service(&operator, organisation, &name)
                .await
                .map_err(describe)?;
            println!("{}", service.id);
        }
        ServiceCommand::Rename { service, name } => {
            let renamed = confidant
                .rename_service(&operator, service, &name)
                .await
                .map_err(describe)?;
            println!("service {} renamed", renamed.id);
        }
        ServiceCommand::SetScope { service, scope } => {
            confidant
                .set_service_scope(&operator, service, scope)
                .await
                .map_err(describe)?;
            println!("scope set to {}", scope.code());
        }
        ServiceCommand::Configure {
            service,
            groups,
            referrals,
            partner,
        } => {
            let configuration = ServiceConfig {
                service_id: service,
                field_groups: groups,
                referrals,
                partner_service_id: partner,
            };
            confidant
                .configure_service(&operator, &configuration)
                .await
                .map_err(describe)?;
            println!(
                "service configured: groups {}; referrals from {}",
                configuration.field_groups.codes(),
                referrals.code()
            );
        }
    }
    Ok(())
}
