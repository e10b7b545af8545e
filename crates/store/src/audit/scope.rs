//! The request scope: the accesses one request makes wait together and are appended in one batch
//! when the request has its answer, before the answer is given.
//!
//! [`SqlStore::answer_when_audited`] runs a request inside a scope; [`AuditStore::record_access`]
//! inside it adds to the scope's list, and outside one (a command, a background task, a task a
//! handler spawned) appends at once. Either way an access is durable before what it read can be
//! answered: a scope's output is handed back only after its list has committed.
//!
//! A change made during the request first appends the reads waiting so far
//! ([`SqlStore::flush_reads_before_change`]), so the chain shows them before the change they led
//! to, and a change never commits while the reads behind it might still fail to be recorded. If
//! that append fails, the change is not made and the scope is marked failed: nothing of the request
//! is answered, even should a handler carry on after the error.

use std::cell::RefCell;
use std::future::Future;

use super::*;

#[derive(Default)]
struct Scope {
    pending: Vec<AuditDraft>,
    failed: Option<StoreError>,
}

tokio::task_local! {
    static SCOPE: RefCell<Scope>;
}

impl SqlStore {
    /// Records an access: in a request scope, with the request's batch; outside one, at once.
    pub(crate) async fn record_access(&self, audit: AuditDraft) -> Result<(), StoreError> {
        let mut draft = Some(audit);
        // Outside a scope the closure does not run and the draft is still here.
        let _in_scope = SCOPE.try_with(|scope| {
            if let Some(d) = draft.take() {
                scope.borrow_mut().pending.push(d);
            }
        });
        match draft {
            None => Ok(()),
            Some(d) => self.writer.append(self, vec![d]).await.map(|_| ()),
        }
    }

    /// As [`Self::record_access`] for several accesses: outside a scope they are appended
    /// together, in one batch, so either all or none are recorded.
    pub(crate) async fn record_accesses(&self, audits: Vec<AuditDraft>) -> Result<(), StoreError> {
        let mut drafts = Some(audits);
        let _in_scope = SCOPE.try_with(|scope| {
            if let Some(d) = drafts.take() {
                scope.borrow_mut().pending.extend(d);
            }
        });
        match drafts {
            Some(d) if !d.is_empty() => self.writer.append(self, d).await.map(|_| ()),
            _ => Ok(()),
        }
    }

    /// Before a change: appends the reads the request has recorded so far (nothing outside a
    /// scope). On failure the scope is marked failed and the change must not be made.
    pub(crate) async fn flush_reads_before_change(&self) -> Result<(), StoreError> {
        // A request whose earlier reads could not be recorded makes no further change either.
        let pending = SCOPE
            .try_with(|scope| {
                let mut scope = scope.borrow_mut();
                match &scope.failed {
                    Some(failed) => Err(failed.clone()),
                    None => Ok(std::mem::take(&mut scope.pending)),
                }
            })
            .unwrap_or(Ok(Vec::new()))?;
        if pending.is_empty() {
            return Ok(());
        }
        self.writer
            .append(self, pending)
            .await
            .map(|_| ())
            .inspect_err(|e| {
                let _in_scope = SCOPE.try_with(|scope| scope.borrow_mut().failed = Some(e.clone()));
            })
    }

    /// Runs `work` in a request scope and answers its output once every access it recorded is on
    /// the chain, durably; if they cannot be appended (now, or before a change it made), the output
    /// is dropped and the error answered.
    pub(crate) async fn answer_when_audited<F>(&self, work: F) -> Result<F::Output, StoreError>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let (output, scope) = SCOPE
            .scope(RefCell::new(Scope::default()), async {
                let output = work.await;
                let scope = SCOPE.with(|s| s.take());
                (output, scope)
            })
            .await;
        if let Some(failed) = scope.failed {
            return Err(failed);
        }
        self.writer.append(self, scope.pending).await?;
        Ok(output)
    }
}
