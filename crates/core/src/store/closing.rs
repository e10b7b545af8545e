//! What of a store the code outside the use cases may hold: the audit chain to read and verify, and
//! the connections to close at shutdown.

use std::future::Future;

use super::{AuditStore, StoreError};
use crate::audit::{AuditEvent, Checkpoint, RecordedHead};

/// A store that holds connections to close at shutdown.
pub trait Closing {
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// The audit chain, read in order: what verifying it and taking its head need, and nothing else.
pub trait AuditChain: Send + Sync {
    fn events_from(
        &self,
        from_seq: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send;

    fn head(&self) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;

    fn recorded_head(&self) -> impl Future<Output = Result<RecordedHead, StoreError>> + Send;
}

impl<S: AuditStore> AuditChain for S {
    async fn events_from(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        AuditStore::audit_events(self, from_seq, limit).await
    }

    async fn head(&self) -> Result<Option<Checkpoint>, StoreError> {
        AuditStore::audit_head(self).await
    }

    async fn recorded_head(&self) -> Result<RecordedHead, StoreError> {
        AuditStore::recorded_audit_head(self).await
    }
}

/// A store's audit chain and nothing else of it ([`crate::Confidant::audit_log`]): the rest of the
/// store, and so any personal data, cannot be reached through it.
pub struct AuditLog<'a, S>(pub(crate) &'a S);

impl<S: AuditStore> AuditChain for AuditLog<'_, S> {
    async fn events_from(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        AuditStore::audit_events(self.0, from_seq, limit).await
    }

    async fn head(&self) -> Result<Option<Checkpoint>, StoreError> {
        AuditStore::audit_head(self.0).await
    }

    async fn recorded_head(&self) -> Result<RecordedHead, StoreError> {
        AuditStore::recorded_audit_head(self.0).await
    }
}
