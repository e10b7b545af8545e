//! `confidant service …`: services of an organisation, how far their staff see, and what their
//! record collects.

use confidant_core::Actor;
use confidant_core::store::ServiceConfig;

use super::describe;
use crate::args::ServiceCommand;
use crate::config::Config;
use crate::installation::open;

pub(crate) async fn run(config: &Config, command: ServiceCommand) -> anyhow::Result<()> {
    let confidant = open(config).await?;
    match command {
        ServiceCommand::Create { organisation, name } => {
            let service = confidant
                .create_service(&Actor::System, organisation, &name)
                .await
                .map_err(describe)?;
            println!("{}", service.id);
        }
        ServiceCommand::SetScope { service, scope } => {
            confidant
                .set_service_scope(&Actor::System, service, scope)
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
                .configure_service(&Actor::System, &configuration)
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
