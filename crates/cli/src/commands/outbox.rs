//! The outbox's sender: a background task of `serve` when an SMTP server is configured, and the
//! `outbox send` command. Logs counts only, never an address or a text.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use confidant_core::message::{DeliveryReport, RetryPolicy};
use confidant_core::{Confidant, SystemClock};
use confidant_mail::SmtpMailer;
use confidant_store::SqlStore;
use confidant_web::pages::sharing::disclosure::PackagePdfs;

use crate::args::OutboxCommand;
use crate::config::Config;
use crate::installation::open;

/// `confidant outbox send`: tries every message that is due now through the configured SMTP
/// server, then exits.
pub(crate) async fn run(config: &Config, command: OutboxCommand) -> anyhow::Result<()> {
    match command {
        OutboxCommand::Send => {
            let Some(smtp) = config.smtp()? else {
                bail!("no SMTP server is configured ([smtp] in the configuration file)");
            };
            let mailer = SmtpMailer::new(&smtp)?;
            let confidant = open(config).await?;
            let total = drain(&confidant, &mailer, smtp.retry_policy()).await?;
            println!(
                "outbox: {} sent, {} to retry later, {} given up, {} texts waiting (no text transport configured)",
                total.sent, total.retrying, total.failed, total.waiting_for_transport
            );
            confidant.close().await;
        }
    }
    Ok(())
}

/// Messages tried per batch.
const BATCH: u32 = 100;

/// Tries every message due now, batch after batch, until a batch finds nothing due.
pub async fn drain(
    confidant: &Confidant<SqlStore, SystemClock>,
    mailer: &SmtpMailer,
    policy: RetryPolicy,
) -> anyhow::Result<DeliveryReport> {
    let mut total = DeliveryReport::default();
    loop {
        // A shared package goes with its PDF (typst), made at delivery.
        let report = confidant
            .deliver_messages_with(mailer, &PackagePdfs, policy, BATCH)
            .await?;
        let tried = report.sent
            + report.retrying
            + report.failed
            + report.waiting_for_transport
            + report.waiting_for_safe_times;
        total.sent += report.sent;
        total.retrying += report.retrying;
        total.failed += report.failed;
        total.waiting_for_transport += report.waiting_for_transport;
        total.waiting_for_safe_times += report.waiting_for_safe_times;
        if tried < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Starts the background sender when an SMTP server is configured.
pub fn spawn_sender(
    config: &Config,
    confidant: Arc<Confidant<SqlStore, SystemClock>>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(smtp) = config.smtp()? else {
        tracing::info!("no SMTP server configured: messages wait in the outbox");
        return Ok(None);
    };
    let mailer = SmtpMailer::new(&smtp)?;
    let policy = smtp.retry_policy();
    let every = Duration::from_secs(u64::from(smtp.poll_seconds.max(1)));
    Ok(Some(tokio::spawn(async move {
        loop {
            match drain(&confidant, &mailer, policy).await {
                Ok(r) if r != DeliveryReport::default() => tracing::info!(
                    sent = r.sent,
                    retrying = r.retrying,
                    failed = r.failed,
                    waiting_for_text_transport = r.waiting_for_transport,
                    waiting_for_safe_times = r.waiting_for_safe_times,
                    "outbox run"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox run failed"),
            }
            tokio::time::sleep(every).await;
        }
    })))
}
