//! `confidant audit …`: verify the chain (from the first event, against a signed checkpoint if given),
//! write a signed checkpoint, and print the signing key's public half or the head.

use std::process::ExitCode;

use anyhow::{Context, bail};
use confidant_core::audit::{Checkpoint, SignedCheckpoint, verify_chain};
use confidant_crypto::audit_key::AuditPublicKey;

use crate::args::AuditCommand;
use crate::config::Config;
use crate::installation::operator;
use crate::installation::{connect, open, require_schema};
use crate::{checkpoints, keyfile};

/// Runs one audit command. Exit 3: the chain is broken (or does not extend the checkpoint); exit 4:
/// the checkpoint file is rejected (edited, or signed by another key).
pub async fn run(config: &Config, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify {
            against,
            public_key,
            since_checkpoint,
        } => {
            let pinned = match against {
                None => since_checkpoint,
                Some(file) => match read_checkpoint(config, &file, public_key)? {
                    Ok(cp) => Some(cp),
                    Err(rejected) => {
                        eprintln!("checkpoint REJECTED: {rejected}");
                        return Ok(ExitCode::from(4));
                    }
                },
            };
            let store = connect(config, false).await?;
            require_schema(&store).await?;
            let result = verify_chain(&store, pinned).await;
            store.close().await;
            match result? {
                Ok(verified) => {
                    match verified.head {
                        Some(head) => println!(
                            "audit chain intact: {} events checked, head {head}",
                            verified.checked
                        ),
                        None => println!("audit chain intact: no events yet"),
                    }
                    if let Some(cp) = pinned {
                        println!("the chain extends the checkpoint at event {}", cp.seq);
                    }
                }
                Err(broken) => {
                    match broken.seq() {
                        Some(seq) => eprintln!("audit chain BROKEN at event {seq}: {broken}"),
                        None => eprintln!("audit chain BROKEN: {broken}"),
                    }
                    return Ok(ExitCode::from(3));
                }
            }
        }
        AuditCommand::Checkpoint { out } => {
            let Some((key, _)) = keyfile::load_audit_key(&config.audit_signing_key_path())? else {
                bail!(
                    "no audit signing key: set CONFIDANT_AUDIT_SIGNING_KEY or put the key file at {} \
                 (`confidant init` creates it)",
                    config.audit_signing_key_path().display()
                );
            };
            if out.exists() {
                bail!(
                    "{} exists already: checkpoints are never overwritten",
                    out.display()
                );
            }
            let confidant = open(config).await?;
            let operator = operator(config, &confidant)?;
            // A checkpoint of a broken chain would vouch for the break: walk it all first.
            if let Err(broken) = verify_chain(&confidant.audit_log(), None).await? {
                eprintln!(
                    "audit chain BROKEN{}: {broken}; no checkpoint written",
                    broken
                        .seq()
                        .map_or_else(String::new, |s| format!(" at event {s}"))
                );
                return Ok(ExitCode::from(3));
            }
            let Some(head) = confidant.record_audit_checkpoint(&operator).await? else {
                bail!("not permitted");
            };
            let signed = SignedCheckpoint::sign(head, time::OffsetDateTime::now_utc(), &key);
            checkpoints::write_file(&out, &signed)?;
            confidant.close().await;
            println!(
                "checkpoint of event {} written to {} (public key {})",
                head.seq,
                out.display(),
                key.public_key().to_hex()
            );
        }
        AuditCommand::PublicKey => {
            let Some((key, _)) = keyfile::load_audit_key(&config.audit_signing_key_path())? else {
                bail!(
                    "no audit signing key at {} (`confidant init` creates it)",
                    config.audit_signing_key_path().display()
                );
            };
            println!("{}", key.public_key().to_hex());
        }
        AuditCommand::Head => {
            let confidant = open(config).await?;
            let operator = operator(config, &confidant)?;
            match confidant.record_audit_checkpoint(&operator).await? {
                Some(head) => println!("{head}"),
                None => bail!("not permitted"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a checkpoint file and checks its signature under `public_key`, or else the configured signing
/// key's public half. The inner error is the verdict on the file; the outer one, that nothing could be
/// checked (no file, no key).
fn read_checkpoint(
    config: &Config,
    file: &std::path::Path,
    public_key: Option<String>,
) -> anyhow::Result<Result<Checkpoint, confidant_core::audit::CheckpointFileError>> {
    let trusted = match public_key {
        Some(hex) => AuditPublicKey::from_hex(&hex).context("--public-key is not a public key")?,
        None => match keyfile::load_audit_key(&config.audit_signing_key_path())? {
            Some((key, _)) => key.public_key(),
            None => bail!(
                "no key to check the checkpoint with: give --public-key, or configure the audit signing key ({})",
                config.audit_signing_key_path().display()
            ),
        },
    };
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("could not read the checkpoint {}", file.display()))?;
    Ok(SignedCheckpoint::from_file_text(&text).and_then(|signed| signed.verify(&trusted)))
}
