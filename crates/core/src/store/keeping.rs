//! Keeping and destroying: legal holds and the destruction of a person's record.
//!
//! Core decides and seals; the store writes. A destruction is one transaction that checks the
//! holds again (fail closed), records the person as destroyed, deletes every row of theirs, destroys
//! their keys and search entries, and keeps the certificate, with its audit event.

use std::future::Future;

use uuid::Uuid;

use super::{MergeCounts, ReferralRecord, SealedFields, StoreError, TaskChange};
use crate::access::PersonAccess;
use crate::audit::AuditDraft;
use crate::kernel::codes::codes;

codes!(
    /// Why a record must not be destroyed for now.
    LegalHoldKind {
        Litigation = "litigation": "Litigation or a legal claim",
        Inquiry = "inquiry": "A public inquiry",
        Complaint = "complaint": "A complaint, or a complaint to an ombudsman",
        SafeguardingReview = "safeguarding_review": "A safeguarding review (adult, child or domestic homicide review)",
        PoliceInvestigation = "police_investigation": "A police investigation",
        RightsRequest = "rights_request": "An open request about the person's rights",
    }
);

/// A legal hold as kept: ids, codes and times (its reasons are sealed beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service_id: Uuid,
    pub person_id: Uuid,
    /// A hold on one case of the person (it still keeps the whole record).
    pub case_id: Option<Uuid>,
    pub kind: LegalHoldKind,
    pub key_version: i64,
    pub placed_by: String,
    pub placed_at_micros: i64,
    pub released_by: Option<String>,
    pub released_at_micros: Option<i64>,
}

/// A legal hold on a query: every record with a case in the service open at any time from
/// `from_on` to `to_on` (UK dates, both included), and every record of the service made then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryHoldRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service_id: Uuid,
    pub kind: LegalHoldKind,
    pub from_on: String,
    pub to_on: String,
    /// The period as moments: the UK midnight starting `from_on`, the last microsecond of `to_on`.
    pub from_at_micros: i64,
    pub to_at_micros: i64,
    /// Why, naming no one.
    pub reason: String,
    pub placed_by: String,
    pub placed_at_micros: i64,
    pub released_by: Option<String>,
    pub released_at_micros: Option<i64>,
    pub release_reason: Option<String>,
}

impl HoldRecord {
    /// Still in force.
    pub fn live(&self) -> bool {
        self.released_at_micros.is_none()
    }
}

/// What destroying a person's record reaches, counted as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DestructionScope {
    /// The rows of the record (and of records merged into it).
    pub counts: MergeCounts,
    /// Records merged into this one earlier: destroyed with it.
    pub merged_records: i64,
    /// Paper notes and archived paper files among the entries not yet recorded destroyed: the
    /// electronic entry goes; the paper itself is still to collect and destroy.
    pub paper: i64,
    /// Paper entries recorded destroyed (with who destroyed each and their reference, copied
    /// onto the certificate, where it was recorded so). Absent from what a reviewer saw before
    /// it was counted: none then.
    #[serde(default)]
    pub paper_destroyed: i64,
    /// Audit events about the record: kept (ids, actions and times only; the chain must verify).
    pub audit_events: i64,
    /// Legal holds in force (on the record, or a query covering it) and open rights requests
    /// but for erasure: while there is one, nothing is destroyed.
    pub live_holds: i64,
    /// Legal holds released: kept (kinds and times), their reasons destroyed.
    pub released_holds: i64,
}

impl DestructionScope {
    /// The same rows of the record: nothing was added, removed or released since `other` was
    /// read (tasks aside). Audit events grow with every access (the destruction's own included)
    /// and are kept whatever their number; holds in force are checked on their own.
    pub fn same_rows(&self, other: &DestructionScope) -> bool {
        self.same_but_paper(other)
            && self.paper == other.paper
            && self.paper_destroyed == other.paper_destroyed
    }

    /// The same rows as a reviewer saw (`seen`), but for paper recorded destroyed since: what is
    /// expected to happen between a review and the destruction.
    pub fn as_reviewed(&self, seen: &DestructionScope) -> bool {
        self.same_but_paper(seen)
            && self.paper <= seen.paper
            && self.paper + self.paper_destroyed == seen.paper + seen.paper_destroyed
    }

    /// Tasks about the record come and go on their own (its paper's, once a destruction is
    /// approved): they are not what a reviewer appraised.
    fn same_but_paper(&self, other: &DestructionScope) -> bool {
        let without_tasks = |c: &MergeCounts| MergeCounts { tasks: 0, ..*c };
        without_tasks(&self.counts) == without_tasks(&other.counts)
            && self.merged_records == other.merged_records
            && self.released_holds == other.released_holds
    }
}

/// Paper recorded destroyed outside Confidant: who destroyed it and their reference, checked not
/// to name the person. Copied onto the record's certificate when the record is destroyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperDestroyedLine {
    pub id: Uuid,
    /// The paper note's or archived file's entry.
    pub entry_id: Uuid,
    /// Who destroyed it (the archive provider, or the service) and their reference.
    pub destroyed_by: String,
    pub reference: String,
    /// `YYYY-MM-DD`, UK calendar.
    pub destroyed_on: String,
    pub recorded_by: String,
    pub recorded_at_micros: i64,
}

/// Why paper was not recorded destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperRefusal {
    /// Not a paper note or archived paper file of this record.
    NotPaper,
    /// Recorded destroyed already.
    Destroyed,
    /// Its time has not come: an archived file before its date, a paper note not yet typed into
    /// the record, and the record's destruction not approved and waited.
    NotDue,
    /// A legal hold is in force on the record.
    Held,
}

/// Paper still to destroy: an archived file past its date, or any paper of a record whose
/// destruction is approved and has waited its period (never under a hold or a restriction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperDue {
    /// The paper note's or archived file's entry.
    pub entry_id: Uuid,
    pub person_id: Uuid,
    pub service_id: Uuid,
    /// When its destruction is due: the end of the record's waiting period, or the file's date.
    pub due_at_micros: Option<i64>,
    /// A paper note typed into the record (its last change, not a record approved for
    /// destruction): due only when its service's `transcribed` rule says so, which core decides.
    pub transcribed_at_micros: Option<i64>,
    /// The service's code, for its rules.
    pub service_code: Option<String>,
}

/// A destruction to write.
pub struct DestructionPlan<'a> {
    pub access: &'a PersonAccess,
    /// The scope the certificate states, as read: the store refuses if it changed since.
    pub scope: DestructionScope,
    pub certificate_id: Uuid,
    pub organisation_id: Uuid,
    /// The certificate: canonical JSON that identifies no one.
    pub certificate: String,
    pub certificate_sha256: String,
    /// Its signature and the signing key's public half, when the process holds the key.
    pub signature: Option<(String, String)>,
    pub at_micros: i64,
    /// The retention review it carries out, closed in the same transaction (`approved` to
    /// `destroyed`, with the certificate's id).
    pub review_id: Option<Uuid>,
    /// The request for erasure it answers, at the version it was decided on: refused as
    /// [`DestructionRefusal::Changed`] unless it is still open at that version.
    pub erasure_request: Option<(Uuid, i64)>,
    /// Tasks opened with it (telling recipients of an erasure).
    pub tasks: Vec<TaskChange>,
}

/// Why a destruction was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestructionRefusal {
    /// The record, or its key, is gone (destroyed already, or never was).
    Gone,
    /// The record was merged into another: destroy that one.
    Merged,
    /// A legal hold is in force.
    Held,
    /// The record changed since its scope was read: read it again.
    Changed,
}

/// A destruction certificate as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub issued_at_micros: i64,
    pub body: String,
    pub body_sha256: String,
    /// Ed25519 over `body` by the installation's audit signing key, and its public half (both
    /// hexadecimal), made as it was issued; `None` where the process had no key then.
    pub signature: Option<String>,
    pub public_key: Option<String>,
}

/// The storage port of keeping and destroying.
pub trait KeepingStore: Send + Sync + 'static {
    /// Places a hold, its reasons sealed, with its audit event.
    fn place_hold(
        &self,
        hold: &HoldRecord,
        sealed: &SealedFields,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Releases a live hold of the person, sealing the release's reason beside it. `false` if no
    /// such live hold.
    fn release_hold(
        &self,
        access: &PersonAccess,
        hold_id: Uuid,
        by: &str,
        at_micros: i64,
        sealed: &SealedFields,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The person's holds (and those of records merged into theirs), newest first, each with its
    /// sealed reasons.
    fn holds_of(
        &self,
        access: &PersonAccess,
    ) -> impl Future<Output = Result<Vec<(HoldRecord, SealedFields)>, StoreError>> + Send;

    /// The live holds of an organisation (ids, codes and times), newest first.
    fn live_holds(
        &self,
        organisation_id: Uuid,
    ) -> impl Future<Output = Result<Vec<HoldRecord>, StoreError>> + Send;

    /// What destroying the person's record would reach, read with its audit event. `None` if the
    /// record or its key is gone.
    fn destruction_scope(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Option<DestructionScope>, StoreError>> + Send;

    /// Destroys the person's record in one transaction with its audit event (the audit head's
    /// lock first): checks the holds again, records the person (and records merged into theirs)
    /// as destroyed, deletes every row, destroys every key (theirs, their related people's, their
    /// referrals'), their blind indexes and name grams, unlinks them from other records, and keeps
    /// the certificate. SQLite's write-ahead log is checkpointed after.
    fn destroy_person(
        &self,
        plan: DestructionPlan<'_>,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Result<(), DestructionRefusal>, StoreError>> + Send;

    /// A certificate of the organisation.
    fn certificate(
        &self,
        organisation_id: Uuid,
        certificate_id: Uuid,
    ) -> impl Future<Output = Result<Option<CertificateRecord>, StoreError>> + Send;

    /// The organisation's certificates, newest first.
    fn certificates(
        &self,
        organisation_id: Uuid,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<CertificateRecord>, StoreError>> + Send;

    /// Whether the person was destroyed (their id is on the list of everyone destroyed).
    fn destroyed(&self, person_id: Uuid) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records paper of the person destroyed, with its audit event, in one transaction: the
    /// entry's status becomes `destroyed`, the line is kept, and the entry's paper task closes.
    /// Refused (nothing written) when the entry is not paper of this record, was recorded
    /// destroyed already, its time has not come ([`PaperRefusal::NotDue`]), or a legal hold is in
    /// force.
    fn record_paper_destroyed(
        &self,
        access: &PersonAccess,
        line: &PaperDestroyedLine,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Result<(), PaperRefusal>, StoreError>> + Send;

    /// The person's paper recorded destroyed (and of records merged into theirs), oldest first.
    fn paper_destroyed_of(
        &self,
        access: &PersonAccess,
    ) -> impl Future<Output = Result<Vec<PaperDestroyedLine>, StoreError>> + Send;

    /// The organisation's paper still to destroy (ids and dates only), never under a hold or a
    /// restriction: archived files whose date is at or before `now_micros`, every paper entry of
    /// a record whose destruction is approved and has waited its period, and (for core to weigh
    /// against its service's rules) every paper note marked transcribed.
    fn paper_to_destroy(
        &self,
        organisation_id: Uuid,
        now_micros: i64,
    ) -> impl Future<Output = Result<Vec<PaperDue>, StoreError>> + Send;

    /// Places a hold on a query, with its audit event.
    fn place_query_hold(
        &self,
        hold: &QueryHoldRecord,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Releases a live hold on a query of the organisation, with its reason and audit event.
    /// `false`, nothing written, if there is no such live hold.
    fn release_query_hold(
        &self,
        organisation_id: Uuid,
        hold_id: Uuid,
        by: &str,
        at_micros: i64,
        reason: &str,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One hold on a query of the organisation.
    fn query_hold(
        &self,
        organisation_id: Uuid,
        hold_id: Uuid,
    ) -> impl Future<Output = Result<Option<QueryHoldRecord>, StoreError>> + Send;

    /// The organisation's holds on a query, live and released, newest first (at most 200), each
    /// with how many records it keeps now.
    fn query_holds(
        &self,
        organisation_id: Uuid,
    ) -> impl Future<Output = Result<Vec<(QueryHoldRecord, i64)>, StoreError>> + Send;

    /// The organisation's referrals not taken up (no response, or withdrawn) in the services
    /// whose codes are given, whose received data is not erased yet and no hold on a query
    /// covers: ids, codes and times only, each with its service's code; a page of at most `limit`
    /// after the id `after`, by id.
    fn referrals_not_taken_up(
        &self,
        organisation_id: Uuid,
        services: &[String],
        after: Option<Uuid>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(ReferralRecord, Option<String>)>, StoreError>> + Send;

    /// Erases what was received of a referral not taken up (its sealed fields, blind indexes and
    /// key, onto the erasure ledger) with its audit event, in one transaction. `false`, nothing
    /// written, when it is not such a referral, is erased already, or a hold on a query covers
    /// it (its service, received in the hold's period).
    fn erase_referral(
        &self,
        referral_id: Uuid,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
