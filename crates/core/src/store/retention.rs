//! The retention review queue as stored: what the sweep found due, the decisions on it, and the
//! lock that keeps the daily sweep to one process at a time (ids, codes, dates and times only).

use std::future::Future;

use uuid::Uuid;

use super::StoreError;
use crate::access::PersonAccess;
use crate::audit::AuditDraft;
use crate::kernel::codes::codes;

codes!(
    /// Where a record on the review queue stands. `ToReview` → `Destroy` (a reviewer's decision) →
    /// `Approved` (the Data Protection Officer's, with the waiting period) → `Destroyed`; or
    /// `Keep` (until a date), `Transfer`, or `NotDestroyed` (at the end, something stood in the
    /// way: its outcome says what).
    RetentionState {
        ToReview = "to_review": "To review",
        Destroy = "destroy": "Destroy: waiting for approval",
        Approved = "approved": "Approved: waiting period",
        Destroyed = "destroyed": "Destroyed",
        Keep = "keep": "Kept for longer",
        Transfer = "transfer": "Transfer for permanent keeping",
        NotDestroyed = "not_destroyed": "Not destroyed",
    }
);

impl RetentionState {
    /// Still on the queue (the record cannot be queued again).
    pub fn open(self) -> bool {
        matches!(
            self,
            RetentionState::ToReview | RetentionState::Destroy | RetentionState::Approved
        )
    }
}

/// What the sweep knows of a record: ids and the times of its events, nothing of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionFacts {
    pub person_id: Uuid,
    pub service_id: Uuid,
    /// The service's id in the register (its rules apply by it); `None` for a service the
    /// register does not name.
    pub service_code: Option<String>,
    /// Cases still open (a record with one is never due).
    pub open_cases: i64,
    /// Legal holds in force, holds on a query covering it and open rights requests but for
    /// erasure (a held record is never due).
    pub live_holds: i64,
    /// Restrictions of processing in force (Art. 18: the data is only to be stored, so it is
    /// never due while one is).
    pub live_restrictions: i64,
    /// When its last case closed, if it has had one.
    pub last_closed_at_micros: Option<i64>,
    /// When a case closed because the person died.
    pub died_at_micros: Option<i64>,
    /// The latest contact recorded (an entry with a contact type), or when the record was made.
    pub last_contact_at_micros: i64,
    /// When a legal hold on it was last released.
    pub hold_released_at_micros: Option<i64>,
    /// The date of birth: never read by the store (it is sealed). The sweep opens it, under an
    /// audit event, only for a record whose other rules have all ended and whose service has a
    /// rule counting from a birthday.
    pub born_on: Option<time::Date>,
}

/// A page of the sweep's scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactsPage {
    /// The facts of the records in the page the sweep may consider.
    pub facts: Vec<RetentionFacts>,
    /// How many records the page looked at (fewer than asked for: the scan is at its end).
    pub looked_at: usize,
    /// The last record the page looked at: the next page starts after it.
    pub last: Option<Uuid>,
}

/// A record to put on the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service_id: Uuid,
    pub person_id: Uuid,
    /// The rules whose periods ended (ids of the register's `[[retention]]`), comma-separated.
    pub rules: String,
    /// The day the last of them ended (`YYYY-MM-DD`, UK calendar).
    pub due_on: String,
    pub found_at_micros: i64,
}

/// A record on the queue, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service_id: Uuid,
    pub person_id: Uuid,
    pub rules: String,
    pub due_on: String,
    pub found_at_micros: i64,
    pub state: RetentionState,
    pub decided_by: Option<String>,
    pub decided_at_micros: Option<i64>,
    pub keep_until: Option<String>,
    pub reason: Option<String>,
    /// For a decision to destroy: what the reviewer saw (JSON of the record's counts), which the
    /// destruction must find unchanged.
    pub scope: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at_micros: Option<i64>,
    pub destroy_after_micros: Option<i64>,
    pub closed_at_micros: Option<i64>,
    pub outcome: Option<String>,
    pub certificate_id: Option<Uuid>,
}

/// A reviewer's decision, to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDecision {
    pub state: RetentionState,
    pub by: String,
    pub at_micros: i64,
    /// For `Keep`: the date until which (`YYYY-MM-DD`).
    pub keep_until: Option<String>,
    pub reason: String,
    /// For `Destroy`: what the reviewer saw.
    pub scope: Option<String>,
}

/// The storage port of the retention review queue.
pub trait RetentionStore: Send + Sync + 'static {
    /// The next `limit` of the organisation's records by id after `after`, with the facts of
    /// those the sweep may consider: not merged into another, not on the queue, and not kept by a
    /// decision whose date is after `today` (`YYYY-MM-DD`).
    fn retention_facts(
        &self,
        organisation_id: Uuid,
        today: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> impl Future<Output = Result<FactsPage, StoreError>> + Send;

    /// The same for one record (before it is destroyed, to see it is still due); `None` if gone.
    fn retention_facts_of(
        &self,
        access: &PersonAccess,
    ) -> impl Future<Output = Result<Option<RetentionFacts>, StoreError>> + Send;

    /// How much of the record's paper (and of records merged into it) is not yet recorded
    /// destroyed (a reviewed destruction waits for it).
    fn outstanding_paper(
        &self,
        access: &PersonAccess,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// The record's sealed date of birth (only that field is filled) with its key, read under
    /// `audit`; `None` if the record is gone or erased.
    fn sealed_birth_date(
        &self,
        person_id: Uuid,
        audit: AuditDraft,
    ) -> impl Future<
        Output = Result<Option<(super::SealedPerson, super::WrappedDataKey)>, StoreError>,
    > + Send;

    /// Puts records on the queue with the sweep's audit event; a record already on it is left
    /// alone. Answers how many were added.
    fn queue_reviews(
        &self,
        reviews: &[NewReview],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// The organisation's reviews in these states, oldest due first.
    fn reviews(
        &self,
        organisation_id: Uuid,
        states: &[RetentionState],
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ReviewRecord>, StoreError>> + Send;

    /// One review of the organisation.
    fn review(
        &self,
        organisation_id: Uuid,
        review_id: Uuid,
    ) -> impl Future<Output = Result<Option<ReviewRecord>, StoreError>> + Send;

    /// Writes a decision on a review still open (waiting for review, for approval, or in its
    /// waiting period: a new decision replaces the earlier one and any approval of it), with its
    /// audit event (a `keep` or a `transfer` closes it). `false` if it was closed meanwhile.
    fn decide_review(
        &self,
        review_id: Uuid,
        decision: &ReviewDecision,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Approves `destroy` decisions made by someone other than `by`, starting their waiting
    /// period, in one transaction with each one's audit event: all of them, or (`Conflict`)
    /// none.
    fn approve_reviews(
        &self,
        approvals: Vec<(Uuid, AuditDraft)>,
        by: &str,
        at_micros: i64,
        destroy_after_micros: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Closes an approved review without destroying (something stood in the way), with its audit
    /// event. `false` if it was no longer approved.
    fn close_review(
        &self,
        review_id: Uuid,
        outcome: &str,
        at_micros: i64,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes the named lock until `until_micros` if it is free (or its holder's time has passed,
    /// or `holder` holds it already). `true` if `holder` now holds it.
    fn take_job_lock(
        &self,
        name: &str,
        holder: &str,
        now_micros: i64,
        until_micros: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Frees the named lock if `holder` holds it.
    fn release_job_lock(
        &self,
        name: &str,
        holder: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
