//! `confidant migrate`: applies the database migrations; needs no key.

use crate::config::Config;
use crate::installation::connect;

pub(crate) async fn run(config: &Config) -> anyhow::Result<()> {
    let store = connect(config, true).await?;
    store.migrate().await?;
    store.close().await;
    println!("migrations applied");
    Ok(())
}
