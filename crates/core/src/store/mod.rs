//! The storage port. Implemented once on sqlx for SQLite and PostgreSQL (`confidant-store`), and held to
//! one conformance suite on both.
//!
//! Contract for implementers:
//! - Every method that takes an [`AuditDraft`] writes the change *and* the sealed audit event (see
//!   [`crate::audit::seal_event`]) in one transaction, appending to the chain under a lock so the chain
//!   stays linear under concurrency; if either fails, neither is kept.
//! - Only sealed values, wrapped keys and blind indexes are handed over; nothing here is plaintext
//!   personal data, and a store must not log what it is given beyond ids.
//! - A data key is inserted only while the installation's master key is the one that wrapped it, so a
//!   process still running on a rotated-away key cannot write keys nobody can open.

use std::future::Future;

use confidant_policy::{AccessScope, Grant, Role};
use uuid::Uuid;

use crate::access::PersonAccess;
use crate::audit::{AuditDraft, AuditEvent, Checkpoint};
use crate::field::{IndexField, PersonField};

mod access;
mod accounts;
mod bundle;
mod caseloads;
mod closing;
mod codes;
mod keeping;
mod merges;
mod record_ports;
mod records;
mod retention;
mod rights;
mod shared;
mod staff_ports;
mod tasks;

pub use access::*;
pub use accounts::*;
pub use bundle::*;
pub use caseloads::*;
pub use closing::*;
pub use codes::*;
pub use keeping::*;
pub use merges::*;
pub use record_ports::*;
pub use records::*;
pub use retention::*;
pub use rights::*;
pub use shared::*;
pub use staff_ports::*;
pub use tasks::*;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The change conflicts with the stored state (duplicate, concurrent change, rotated key).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database failed. The text is for the operator's log only (it holds no personal data, as the
    /// store is never given any in the clear).
    #[error("database error: {0}")]
    Backend(String),
    /// The database cannot be reached or written for now (gone, locked past the deadline): try
    /// again shortly. Nothing read was answered without its audit event. The text is for the log.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// The whole storage port: the sum of the ports of each area, so an area asks for only what it
/// needs.
pub trait Store:
    KeyStore
    + StaffStore
    + AccountStore
    + GrantStore
    + PersonStore
    + RecordStore
    + ReferralStore
    + SharingStore
    + ContactStore
    + NoticeStore
    + AuditStore
    + TaskStore
    + CaseloadStore
    + MergeStore
    + KeepingStore
    + RetentionStore
    + RightsStore
    + BundleStore
{
}

impl<
    T: KeyStore
        + StaffStore
        + AccountStore
        + GrantStore
        + PersonStore
        + RecordStore
        + ReferralStore
        + SharingStore
        + ContactStore
        + NoticeStore
        + AuditStore
        + TaskStore
        + CaseloadStore
        + MergeStore
        + KeepingStore
        + RetentionStore
        + RightsStore
        + BundleStore,
> Store for T
{
}

/// Every port, for calling the store's methods on a concrete store (the command line, tests).
pub mod prelude {
    pub use super::{
        AccountStore, AuditStore, BundleStore, CaseloadStore, ContactStore, GrantStore,
        KeepingStore, KeyStore, MergeStore, NoticeStore, PersonStore, RecordStore, ReferralStore,
        RetentionStore, RightsStore, SharingStore, StaffStore, Store, TaskStore,
    };
}
