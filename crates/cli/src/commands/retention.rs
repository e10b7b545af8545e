//! The retention sweep: `confidant retention sweep`, and once a day inside `serve` (in whichever
//! process's turn it is: the database holds the turn). Logs and prints counts only.

use std::sync::Arc;
use std::time::Duration;

use confidant_core::access::Principal;
use confidant_core::keeping::RetentionSweep;
use confidant_core::{Confidant, SystemClock};
use confidant_store::SqlStore;

use super::describe;
use crate::args::RetentionCommand;
use crate::config::Config;
use crate::installation::{open, operator};

/// How often a `serve` process asks whether it is its turn to sweep.
const ASK_EVERY: Duration = Duration::from_secs(60 * 60);
/// How long a turn lasts: the sweep runs once a day across the installation.
const TURN: time::Duration = time::Duration::days(1);

/// `confidant retention sweep`.
pub(crate) async fn run(config: &Config, command: RetentionCommand) -> anyhow::Result<()> {
    match command {
        RetentionCommand::Sweep => {
            // The certificates of what it destroys are signed with the audit key, where it is.
            let mut confidant = open(config).await?;
            if let Some((key, _)) =
                crate::keyfile::load_audit_key(&config.audit_signing_key_path())?
            {
                confidant = confidant.with_signing_key(key);
            }
            if confidant.register().is_none() {
                println!(
                    "retention: no register of processing activities is configured, so no retention rule applies; nothing is queued"
                );
            }
            let operator = operator(config, &confidant)?;
            let total = sweep(&confidant, &operator).await;
            confidant.close().await;
            let total = total?;
            println!(
                "retention: {} records looked at, {} put on the review queue, {} destroyed after review, {} approved but kept (see the queue for why), {} approved and waiting for their paper to be destroyed, {} referrals not taken up waiting to be erased by a reviewer",
                total.considered,
                total.queued,
                total.destroyed,
                total.not_destroyed,
                total.awaiting_paper,
                total.referrals_due
            );
            if total.failed > 0 {
                anyhow::bail!(
                    "{} approved destructions failed and stay approved for the next sweep",
                    total.failed
                );
            }
        }
    }
    Ok(())
}

/// Sweeps every organisation once.
pub async fn sweep(
    confidant: &Confidant<SqlStore, SystemClock>,
    operator: &Principal,
) -> anyhow::Result<RetentionSweep> {
    let mut total = RetentionSweep::default();
    let mut failed = 0;
    for organisation in confidant.organisations().await.map_err(describe)? {
        // One organisation's failure does not keep the others' sweep from running.
        match confidant.sweep_retention(operator, organisation.id).await {
            Ok(r) => {
                total.considered += r.considered;
                total.queued += r.queued;
                total.destroyed += r.destroyed;
                total.not_destroyed += r.not_destroyed;
                total.failed += r.failed;
                total.awaiting_paper += r.awaiting_paper;
                total.referrals_due += r.referrals_due;
            }
            Err(e) => {
                failed += 1;
                tracing::error!(organisation = %organisation.id, error = %describe(e), "retention sweep of an organisation failed");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("the retention sweep failed for {failed} organisation(s): see the log");
    }
    Ok(total)
}

/// Asks hourly whether it is this process's turn, and sweeps when it is (once a day across every
/// process serving the installation).
pub fn spawn_sweeper(
    confidant: Arc<Confidant<SqlStore, SystemClock>>,
    operator: Principal,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match confidant.take_retention_turn(&operator, TURN).await {
                Ok(true) => match sweep(&confidant, &operator).await {
                    Ok(r) => tracing::info!(
                        considered = r.considered,
                        queued = r.queued,
                        destroyed = r.destroyed,
                        not_destroyed = r.not_destroyed,
                        failed = r.failed,
                        awaiting_paper = r.awaiting_paper,
                        "retention sweep"
                    ),
                    Err(e) => tracing::error!(error = %e, "retention sweep failed"),
                },
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = %describe(e), "could not ask for the retention sweep's turn")
                }
            }
            tokio::time::sleep(ASK_EVERY).await;
        }
    })
}
