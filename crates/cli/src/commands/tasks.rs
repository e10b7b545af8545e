//! The task inbox's sweep: a background task of `serve` (at start, then hourly) and the
//! `tasks sweep` command. Logs counts only.

use std::sync::Arc;
use std::time::Duration;

use confidant_core::access::Principal;
use confidant_core::task::SweepReport;
use confidant_core::{Confidant, SystemClock};
use confidant_store::SqlStore;

use super::describe;
use crate::args::TasksCommand;
use crate::config::Config;
use crate::installation::{open, operator};

/// How often `serve` sweeps.
const EVERY: Duration = Duration::from_secs(60 * 60);

/// `confidant tasks sweep`: opens the tasks that have fallen due, in every organisation.
pub(crate) async fn run(config: &Config, command: TasksCommand) -> anyhow::Result<()> {
    match command {
        TasksCommand::Sweep => {
            let confidant = open(config).await?;
            let operator = operator(config, &confidant)?;
            let total = sweep(&confidant, &operator).await?;
            println!("tasks: {} opened, {} closed", total.opened, total.closed);
            confidant.close().await;
        }
    }
    Ok(())
}

/// Sweeps every organisation once.
pub async fn sweep(
    confidant: &Confidant<SqlStore, SystemClock>,
    operator: &Principal,
) -> anyhow::Result<SweepReport> {
    let mut total = SweepReport::default();
    let mut failed = 0;
    for organisation in confidant.organisations().await.map_err(describe)? {
        // One organisation's failure does not keep the others' tasks from opening.
        match confidant.sweep_tasks(operator, organisation.id).await {
            Ok(report) => {
                total.opened += report.opened;
                total.closed += report.closed;
            }
            Err(e) => {
                failed += 1;
                tracing::error!(organisation = %organisation.id, error = %describe(e), "task sweep of an organisation failed");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("the sweep failed for {failed} organisation(s): see the log");
    }
    Ok(total)
}

/// Sweeps at start and then hourly. Several processes may sweep at once: a task is opened once
/// whoever opens it (the database keeps one open task per kind, subject and person).
pub fn spawn_sweeper(
    confidant: Arc<Confidant<SqlStore, SystemClock>>,
    operator: Principal,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sweep(&confidant, &operator).await {
                Ok(r) if r != SweepReport::default() => {
                    tracing::info!(opened = r.opened, closed = r.closed, "task sweep");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "task sweep failed"),
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}
