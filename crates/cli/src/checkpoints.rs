//! Signed checkpoints of the audit chain's head, written to files outside the database: by
//! `confidant audit checkpoint --out FILE`, and by `serve` every `audit_checkpoint_interval_seconds`
//! into `audit_checkpoint_dir`.
//!
//! Guarantees:
//! - A checkpoint is signed only for a head the chain really reaches: the command walks the whole chain
//!   first; the periodic writer checks that the chain still extends the newest checkpoint in its
//!   folder that this key signed (or walks the whole chain when there is none), and signs nothing when
//!   it does not, so a cut or a rewrite is never blessed by a later checkpoint.
//! - A file is written whole or not at all (a temporary file, synced, then renamed), and never
//!   overwrites another.
//! - A failure is logged with the sequence number and the verdict only (ids and codes: the chain holds
//!   no personal data) and tried again at the next period; serving goes on.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use confidant_core::audit::{Checkpoint, SignedCheckpoint, verify_chain, verify_extends};
use confidant_core::{Confidant, SystemClock};
use confidant_crypto::audit_key::{AuditPublicKey, AuditSigningKey};
use confidant_store::SqlStore;

use crate::keyfile;

/// Writes `checkpoint` to a new file at `path` atomically; refuses to overwrite one.
pub fn write_file(path: &Path, checkpoint: &SignedCheckpoint) -> anyhow::Result<()> {
    anyhow::ensure!(
        !path.exists(),
        "{} exists already: checkpoints are never overwritten",
        path.display()
    );
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut file = std::fs::File::create(&tmp)
        .with_context(|| format!("could not create {}", tmp.display()))?;
    file.write_all(checkpoint.to_file_text().as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("could not move {} to {}", tmp.display(), path.display()))?;
    keyfile::sync_dir(path)
}

/// The name the periodic writer gives a checkpoint (ordered by sequence number).
fn file_name(seq: i64) -> String {
    format!("checkpoint-{seq:015}.json")
}

/// The newest checkpoint in `dir` that `key` signed, if any. Files that are not such checkpoints are
/// logged (by name) and passed over.
pub fn newest_in(dir: &Path, key: &AuditPublicKey) -> anyhow::Result<Option<Checkpoint>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", dir.display())),
    };
    let mut newest: Option<Checkpoint> = None;
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !(name.starts_with("checkpoint-") && name.ends_with(".json")) {
            continue;
        }
        let read = std::fs::read_to_string(&path)
            .map_err(anyhow::Error::from)
            .and_then(|text| Ok(SignedCheckpoint::from_file_text(&text)?))
            .and_then(|signed| Ok(signed.verify(key)?));
        match read {
            Ok(cp) if newest.is_none_or(|n| cp.seq > n.seq) => newest = Some(cp),
            Ok(_) => {}
            Err(e) => tracing::warn!(file = %name, error = %e, "audit checkpoint file passed over"),
        }
    }
    Ok(newest)
}

/// Starts the periodic writer: every `interval`, if the head moved since the last checkpoint and the
/// chain still extends it, signs the head and writes it into `dir`.
pub fn spawn_writer(
    confidant: Arc<Confidant<SqlStore, SystemClock>>,
    key: AuditSigningKey,
    dir: PathBuf,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Option<Checkpoint> = None;
        let mut loaded = false;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if !loaded {
                match newest_in(&dir, &key.public_key()) {
                    Ok(found) => {
                        last = found;
                        loaded = true;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not read the audit checkpoint folder; trying again next period");
                        continue;
                    }
                }
            }
            match write_next(&confidant, &key, &dir, last).await {
                Ok(Some(written)) => {
                    tracing::info!(seq = written.seq, "audit checkpoint written");
                    last = Some(written);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "audit checkpoint not written; trying again next period");
                }
            }
        }
    })
}

/// One period's work. `Ok(None)`: the head has not moved.
async fn write_next(
    confidant: &Confidant<SqlStore, SystemClock>,
    key: &AuditSigningKey,
    dir: &Path,
    last: Option<Checkpoint>,
) -> anyhow::Result<Option<Checkpoint>> {
    let store = confidant.audit_log();
    let verified = match last {
        Some(cp) => verify_extends(&store, cp).await?,
        None => verify_chain(&store, None).await?,
    };
    let verified = verified.map_err(|broken| {
        anyhow::anyhow!(
            "the audit chain does not extend the last checkpoint ({}): {broken}",
            broken
                .seq()
                .map_or_else(|| "no event named".to_owned(), |s| format!("event {s}"))
        )
    })?;
    let Some(head) = verified.head else {
        return Ok(None);
    };
    if last == Some(head) {
        return Ok(None);
    }
    let signed = SignedCheckpoint::sign(head, time::OffsetDateTime::now_utc(), key);
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    write_file(&dir.join(file_name(head.seq)), &signed)?;
    Ok(Some(head))
}
