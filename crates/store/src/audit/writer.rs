//! The group-commit audit writer: one task per store takes the events of every request waiting at
//! that moment and appends them in one transaction, with one disk commit, before any of those
//! requests is answered.
//!
//! Guarantees:
//! - A caller is answered `Ok` only after the transaction holding its events has committed; on any
//!   failure (the database gone, locked past the deadline, the head row missing) every caller in the
//!   batch gets the error and nothing of the batch is on the chain. A batch cut off by the deadline
//!   may still commit; the caller then sees a failure for an event that is recorded, never the
//!   reverse.
//! - The chain is extended under the lock on the single `audit_head` row, the same lock every audited
//!   write takes, so the chain stays one sequence across writers, batches and `serve` processes on one
//!   PostgreSQL database. A batch's events are contiguous and in the order they were handed in.
//! - Batching needs no timer: while one batch commits, the next gathers, so one writer waits for
//!   one commit and fifty wait for about two.
//! - The writer has its own connection (`SqlStore`'s `writer_pool`) whose time limits are the
//!   deadline: SQLite's busy timeout, PostgreSQL's lock and statement timeouts. A batch that cannot
//!   commit in time fails in the database, so it holds no connection or lock after its callers were
//!   refused; a timer a little longer than the deadline is the backstop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::*;
use crate::row::{Answer as _, RowExt, hash32};
use crate::tx::{HEAD_MISSING, commit};

/// How many callers one batch takes at most (each caller hands in one request's events).
const MAX_CALLERS_PER_BATCH: usize = 256;
/// How many events one `INSERT` carries (11 parameters each: far below either backend's limit).
const ROWS_PER_INSERT: usize = 64;
/// How many callers may wait for a batch before the next one waits to hand its events in.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Vec<AuditEvent>, StoreError>>;

struct Job {
    drafts: Vec<AuditDraft>,
    answer: Reply,
}

/// The handle to a store's writer task (started on first use, in the caller's runtime, and started
/// again should that runtime have gone).
#[derive(Debug, Clone)]
pub(crate) struct AuditWriter {
    inbox: Arc<Mutex<Option<mpsc::Sender<Job>>>>,
    deadline: Duration,
}

impl AuditWriter {
    pub(crate) fn new(deadline: Duration) -> Self {
        Self {
            inbox: Arc::new(Mutex::new(None)),
            deadline,
        }
    }

    /// Appends `drafts` in one batch (with whatever else is waiting) and answers their events once
    /// the batch has committed.
    pub(crate) async fn append(
        &self,
        store: &SqlStore,
        drafts: Vec<AuditDraft>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let (answer, answered) = oneshot::channel();
        let inbox = self.inbox(store)?;
        inbox
            .send(Job { drafts, answer })
            .await
            .map_err(|_| StoreError::Unavailable(WRITER_GONE.to_owned()))?;
        answered
            .await
            .map_err(|_| StoreError::Unavailable(WRITER_GONE.to_owned()))?
    }

    fn inbox(&self, store: &SqlStore) -> Result<mpsc::Sender<Job>, StoreError> {
        let mut inbox = self.inbox.lock().map_err(|_| {
            StoreError::Backend("the audit writer's handle was poisoned".to_owned())
        })?;
        if let Some(sender) = inbox.as_ref().filter(|s| !s.is_closed()) {
            return Ok(sender.clone());
        }
        let (sender, receiver) = mpsc::channel(QUEUE);
        // The task holds the pool, not the store: a store's last clone dropped closes the inbox,
        // and the task ends.
        tokio::spawn(run(
            store.writer_pool.clone(),
            store.backend,
            receiver,
            self.deadline,
        ));
        *inbox = Some(sender.clone());
        Ok(sender)
    }
}

const WRITER_GONE: &str = "the audit writer stopped before answering (the server is shutting down)";

/// The writer task: takes every job waiting (at least one), writes them as one batch, answers each.
async fn run(pool: AnyPool, backend: Backend, mut inbox: mpsc::Receiver<Job>, deadline: Duration) {
    let mut jobs = Vec::with_capacity(MAX_CALLERS_PER_BATCH);
    while inbox.recv_many(&mut jobs, MAX_CALLERS_PER_BATCH).await > 0 {
        let drafts: Vec<&AuditDraft> = jobs.iter().flat_map(|j| j.drafts.iter()).collect();
        // The database enforces the deadline on the writer's own connection (busy timeout, lock
        // and statement time limits); this is the backstop should it not.
        let backstop = deadline + Duration::from_secs(2);
        let written =
            match tokio::time::timeout(backstop, write_batch(&pool, backend, &drafts)).await {
                Ok(written) => written,
                Err(_) => Err(StoreError::Unavailable(format!(
                    "the audit batch did not commit within {} ms",
                    backstop.as_millis()
                ))),
            };
        match written {
            Ok(events) => {
                let mut events = events.into_iter();
                for job in jobs.drain(..) {
                    let mine = events.by_ref().take(job.drafts.len()).collect();
                    // A caller that stopped waiting (its request was dropped) needs no answer.
                    let _ = job.answer.send(Ok(mine));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, callers = jobs.len(), "an audit batch failed; its requests are refused");
                for job in jobs.drain(..) {
                    let _ = job.answer.send(Err(e.clone()));
                }
            }
        }
    }
}

async fn write_batch(
    pool: &AnyPool,
    backend: Backend,
    drafts: &[&AuditDraft],
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut tx = begin_write(pool, backend).await?;
    let events = append_all(&mut tx, drafts).await?;
    commit(tx).await?;
    Ok(events)
}

/// Appends `drafts` to the chain inside `tx`, in order. Locks the head row first: the next writer (a
/// batch, an audited write, another process) waits until this transaction ends, so sequence numbers
/// and links follow commit order.
pub(crate) async fn append_all(
    tx: &mut Transaction<'static, Any>,
    drafts: &[&AuditDraft],
) -> Result<Vec<AuditEvent>, StoreError> {
    let count = i64::try_from(drafts.len())
        .map_err(|_| StoreError::Backend("too many audit events in one batch".to_owned()))?;
    let row = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(count)
        .fetch_optional(&mut **tx)
        .await
        .db()?
        // Nothing is written without its event: with the head gone, every audited write stops.
        .ok_or_else(|| StoreError::Backend(HEAD_MISSING.to_owned()))?;
    let last: i64 = row.col("seq")?;
    let mut prev = hash32(row.col("hash")?, "audit head")?;
    let mut events = Vec::with_capacity(drafts.len());
    for (seq, draft) in (last - count + 1..).zip(drafts) {
        let event = seal_event(prev, seq, draft);
        prev = event.hash;
        events.push(event);
    }
    for rows in events.chunks(ROWS_PER_INSERT) {
        insert_events(tx, rows).await?;
    }
    // What each change does to the task inbox, with its event; a refusal changes nothing, so its
    // draft's task changes (which core never makes) are not written.
    for (draft, event) in drafts.iter().zip(&events) {
        let changes = draft.task_changes();
        if !changes.is_empty() && draft.outcome() == confidant_core::audit::Outcome::Ok {
            crate::task::apply_task_changes(tx, changes, &event.actor, event.at_micros).await?;
        }
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(prev.to_vec())
        .execute(&mut **tx)
        .await
        .db()?;
    Ok(events)
}

async fn insert_events(
    tx: &mut Transaction<'static, Any>,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    const COLUMNS: usize = 11;
    let values: Vec<String> = (0..events.len())
        .map(|row| {
            let params: Vec<String> = (1..=COLUMNS)
                .map(|col| format!("${}", row * COLUMNS + col))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO audit_event (seq, at, actor, action, resource_type, resource_id, subject_id, purpose, outcome, prev_hash, hash) \
         VALUES {}",
        values.join(", ")
    );
    let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
    for event in events {
        insert = insert
            .bind(event.seq)
            .bind(event.at_micros)
            .bind(event.actor.clone())
            .bind(event.action.clone())
            .bind(event.resource_type.clone())
            .bind(event.resource_id.clone())
            .bind(event.subject_id.clone())
            .bind(event.purpose.clone())
            .bind(event.outcome.clone())
            .bind(event.prev_hash.to_vec())
            .bind(event.hash.to_vec());
    }
    insert.execute(&mut **tx).await.db()?;
    Ok(())
}
