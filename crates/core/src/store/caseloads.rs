//! Caseloads as stored: a service's people with where they sit (team, key worker), the state of
//! their case and their last contact, filtered on those plaintext columns; the counts per worker;
//! and the people referred to a processor's worker. Only the fields asked for are read, sealed.

use super::*;
use crate::kernel::codes::codes;

codes!(
    /// Where a person's case stands in their service.
    CaseStatus {
        Open = "open": "Open",
        Closed = "closed": "Closed",
        NoCase = "none": "No case",
    }
);

/// Whose people a caseload reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerFilter {
    /// Everyone (within the team, if one is given).
    Any,
    /// Those with no key worker.
    Unassigned,
    /// Those whose key worker this is.
    Worker(Uuid),
}

/// Which of a service's people a caseload reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseloadFilter {
    pub worker: WorkerFilter,
    pub team_id: Option<Uuid>,
    pub status: Option<CaseStatus>,
}

/// One person of a caseload, sealed: their row and key (with only the fields asked for), and their
/// case and last contact (the newest case note not marked in error, at or before now).
#[derive(Debug, Clone)]
pub struct CaseloadRow {
    pub person: SealedPerson,
    pub key: WrappedDataKey,
    /// When their open case in the service was opened, if one is open.
    pub open_since_micros: Option<i64>,
    /// When their last case in the service was closed, if none is open and one was closed.
    pub closed_at_micros: Option<i64>,
    pub last_contact_micros: Option<i64>,
}

impl CaseloadRow {
    pub fn status(&self) -> CaseStatus {
        match (self.open_since_micros, self.closed_at_micros) {
            (Some(_), _) => CaseStatus::Open,
            (None, Some(_)) => CaseStatus::Closed,
            (None, None) => CaseStatus::NoCase,
        }
    }
}

/// How many people one key worker (or nobody: `None`) has in a service, and how many of them have
/// an open case. Numbers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerLoad {
    pub key_worker_id: Option<Uuid>,
    pub people: i64,
    pub open_cases: i64,
}

/// A person referred to a processor's worker through a disclosure still running: who, and until
/// when (ids and times only; the worker's read of the record checks the referral again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferredPerson {
    pub person_id: Uuid,
    pub disclosed_at_micros: i64,
    pub ends_at_micros: i64,
}

/// One appointment of a diary, sealed: the appointment (its time, status and sealed values) and its
/// person's row and key (with only the fields asked for).
#[derive(Debug, Clone)]
pub struct DiaryRow {
    pub entry_id: Uuid,
    pub occurs_at_micros: i64,
    pub status: Option<EntryStatus>,
    pub entry_key_version: i64,
    pub values: SealedFields,
    pub person: SealedPerson,
    pub key: WrappedDataKey,
}

pub trait CaseloadStore: Send + Sync + 'static {
    /// One page of a service's people matching `filter` (ordered by id, after `after`), with only
    /// `fields` filled; the read is audited with `audit`.
    #[allow(clippy::too_many_arguments)]
    fn caseload(
        &self,
        service_id: Uuid,
        filter: &CaseloadFilter,
        fields: &[PersonField],
        now_micros: i64,
        after: Option<Uuid>,
        limit: u32,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<CaseloadRow>, StoreError>> + Send;

    /// A service's people counted per key worker (within one team, if given), audited.
    fn caseload_counts(
        &self,
        service_id: Uuid,
        team_id: Option<Uuid>,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<WorkerLoad>, StoreError>> + Send;

    /// The appointments (not entered in error) from `from_micros` until before `to_micros` of a
    /// service's people matching `filter`, in time order, at most `limit`; the read is audited.
    #[allow(clippy::too_many_arguments)]
    fn appointments_between(
        &self,
        service_id: Uuid,
        filter: &CaseloadFilter,
        fields: &[PersonField],
        from_micros: i64,
        to_micros: i64,
        limit: u32,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<DiaryRow>, StoreError>> + Send;

    /// The person of a service with this record number, if there is one (an id only: whoever asks
    /// then reads the record under its own rules).
    fn person_numbered(
        &self,
        service_id: Uuid,
        record_number: i64,
    ) -> impl Future<Output = Result<Option<Uuid>, StoreError>> + Send;

    /// The people referred to a processor's worker by disclosures that have not ended at
    /// `now_micros`, newest first, at most `limit`.
    fn referred_people(
        &self,
        staff_id: Uuid,
        now_micros: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ReferredPerson>, StoreError>> + Send;
}
