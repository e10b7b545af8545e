//! The request scope: the accesses one request makes wait together and are appended in one batch
//! when the request has its answer, before the answer is given.
//!
//! [`SqlStore::answer_when_audited`] runs a request inside a scope; [`AuditStore::record_access`]
//! inside it adds to the scope's list, and outside one (a command, a background task, a task a
//! handler spawned) appends at once. Either way an access is durable before what it read can be
//! answered: a scope's output is handed back only after its list has committed.

use std::cell::RefCell;
use std::future::Future;

use super::*;

tokio::task_local! {
    static PENDING: RefCell<Vec<AuditDraft>>;
}

impl SqlStore {
    /// Records an access: in a request scope, with the request's batch; outside one, at once.
    pub(crate) async fn record_access(&self, audit: AuditDraft) -> Result<(), StoreError> {
        let mut draft = Some(audit);
        // Outside a scope the closure does not run and the draft is still here.
        let _in_scope = PENDING.try_with(|pending| {
            if let Some(d) = draft.take() {
                pending.borrow_mut().push(d);
            }
        });
        match draft {
            None => Ok(()),
            Some(d) => self.writer.append(self, vec![d]).await.map(|_| ()),
        }
    }

    /// Runs `work` in a request scope and answers its output once every access it recorded is on
    /// the chain, durably; if they cannot be appended, the output is dropped and the error answered.
    pub(crate) async fn answer_when_audited<F>(&self, work: F) -> Result<F::Output, StoreError>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let (output, pending) = PENDING
            .scope(RefCell::new(Vec::new()), async {
                let output = work.await;
                let pending = PENDING.with(|p| p.take());
                (output, pending)
            })
            .await;
        self.writer.append(self, pending).await?;
        Ok(output)
    }
}
