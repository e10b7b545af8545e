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

use confidant_policy::{Role, StaffActor};
use uuid::Uuid;

use crate::audit::{AuditDraft, AuditEvent, Checkpoint};
use crate::field::{IndexField, PersonField};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The change conflicts with the stored state (duplicate, concurrent change, rotated key).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database failed. The text is for the operator's log only (it holds no personal data, as the
    /// store is never given any in the clear).
    #[error("database error: {0}")]
    Backend(String),
}

/// The installation's key material as stored: which master key wraps everything, and the wrapped
/// blind-index key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationKeys {
    pub master_key_id: String,
    pub wrapped_index_key: Vec<u8>,
}

/// A person's data key, wrapped by the master key identified by `master_key_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedDataKey {
    pub owner_id: Uuid,
    pub version: i64,
    pub master_key_id: String,
    pub wrapped: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub created_at_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub created_at_micros: i64,
}

/// A member of staff. `handle` is their sign-in name; staff are disabled, never deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service_id: Option<Uuid>,
    pub role: Role,
    pub handle: String,
    pub created_at_micros: i64,
}

/// An API token as stored: only its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub token_hash: [u8; 32],
    pub created_at_micros: i64,
    pub expires_at_micros: i64,
}

/// Where a person's record sits: what authorization needs, and nothing personal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub person_id: Uuid,
    pub service_id: Uuid,
    pub organisation_id: Uuid,
}

/// A person's record as stored: sealed field values only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPerson {
    pub id: Uuid,
    pub service_id: Uuid,
    pub key_version: i64,
    pub fields: Vec<(PersonField, Vec<u8>)>,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

/// One field change: a new sealed value, or `None` to remove the value.
pub type FieldChange = (PersonField, Option<Vec<u8>>);
/// One blind-index change: a new digest, or `None` to remove the index.
pub type IndexChange = (IndexField, Option<[u8; 16]>);

pub trait Store: Send + Sync + 'static {
    // --- installation keys ---
    fn installation_keys(
        &self,
    ) -> impl Future<Output = Result<Option<InstallationKeys>, StoreError>> + Send;
    /// Records the installation's keys once; `Conflict` if already initialised.
    fn initialise_keys(
        &self,
        keys: &InstallationKeys,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn wrapped_data_keys(
        &self,
    ) -> impl Future<Output = Result<Vec<WrappedDataKey>, StoreError>> + Send;
    /// Replaces every wrapped key at once. `Conflict` unless the stored master key id is
    /// `old_master_key_id` and `rewrapped` covers every stored data key.
    fn rotate_master_key(
        &self,
        old_master_key_id: &str,
        keys: &InstallationKeys,
        rewrapped: &[WrappedDataKey],
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    // --- organisations, services, staff ---
    fn create_organisation(
        &self,
        organisation: &Organisation,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn organisations(&self) -> impl Future<Output = Result<Vec<Organisation>, StoreError>> + Send;
    fn organisation(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Organisation>, StoreError>> + Send;
    fn create_service(
        &self,
        service: &Service,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn service(&self, id: Uuid)
    -> impl Future<Output = Result<Option<Service>, StoreError>> + Send;
    fn services(
        &self,
        organisation_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Service>, StoreError>> + Send;
    fn create_staff(
        &self,
        staff: &StaffRecord,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn staff_by_handle(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<Option<StaffRecord>, StoreError>> + Send;
    fn issue_token(
        &self,
        token: &ApiTokenRecord,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The staff member a live (unexpired, unrevoked) token belongs to.
    fn staff_by_token(
        &self,
        token_hash: &[u8; 32],
        now_micros: i64,
    ) -> impl Future<Output = Result<Option<StaffActor>, StoreError>> + Send;

    // --- people ---
    fn placement(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Option<Placement>, StoreError>> + Send;
    fn create_person(
        &self,
        person: &SealedPerson,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The record and its live data key; `None` if there is no record or its key was destroyed (then
    /// nothing is written).
    fn read_person(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Option<(SealedPerson, WrappedDataKey)>, StoreError>> + Send;
    /// Applies field and index changes; `false` (and nothing written) if the record is gone, and
    /// `Conflict` if its `updated_at` is no longer `expected_updated_at_micros`.
    fn update_person(
        &self,
        person_id: Uuid,
        fields: &[FieldChange],
        indexes: &[IndexChange],
        expected_updated_at_micros: i64,
        updated_at_micros: i64,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// One page of a service's people (ordered by id, after `after`), with only `fields` filled.
    fn list_people(
        &self,
        service_id: Uuid,
        fields: &[PersonField],
        after: Option<Uuid>,
        limit: u32,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Vec<(SealedPerson, WrappedDataKey)>, StoreError>> + Send;
    /// Ids of a service's people whose blind index `field` equals `digest`.
    fn find_people(
        &self,
        service_id: Uuid,
        field: IndexField,
        digest: &[u8; 16],
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;
    /// Destroys every data key of the person (crypto-shredding) and their blind indexes; the sealed
    /// values stay behind, unreadable. `false` if there was nothing to destroy.
    fn destroy_person_key(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    // --- the audit chain ---
    /// Appends a standalone event (a refusal, an attempt on something missing).
    fn append_audit(
        &self,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<AuditEvent, StoreError>> + Send;
    /// Events with `seq >= from_seq` in sequence order, at most `limit`.
    fn audit_events(
        &self,
        from_seq: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send;
    /// The head as recorded beside the chain (sequence number and hash), if any event exists.
    fn audit_head(&self) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;
    /// Events about one person, newest first (for "who has seen this record").
    fn audit_events_for_subject(
        &self,
        subject_id: Uuid,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send;
}
