//! Merging two records of one person in a service: what the store hands over and takes back.
//!
//! Core reads every value sealed under the merged person's key ([`MergeHoldings`]), opens each at
//! its place and seals it again under the surviving person's key; the store then moves every row in
//! one transaction ([`MergeStore::merge_people`]), after checking that nothing of the merged record
//! changed since it was read.

use std::future::Future;

use serde::Serialize;
use uuid::Uuid;

use super::{ChangeStamp, IndexChange, StoreError};
use crate::access::PersonAccess;
use crate::audit::AuditDraft;
use crate::field::PersonField;
use crate::kernel::codes::codes;
use crate::name_index::GramDigest;

/// Where one sealed value of a person lives, as its sealing address names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedPlace {
    /// A field of the person's own record.
    PersonField { field: PersonField },
    /// An earlier value of one of the person's fields (the correction history), by its sequence.
    PersonVersion {
        seq: i64,
        field: PersonField,
        key_version: i64,
    },
    /// A field of a record the person owns: an entry, a document, a contact preference, a message,
    /// a disclosure or an approval.
    RecordField {
        record_id: Uuid,
        field: String,
        key_version: i64,
    },
    /// An earlier value of such a field, by its sequence.
    RecordVersion {
        seq: i64,
        record_id: Uuid,
        field: String,
        key_version: i64,
    },
    /// A document's content.
    DocumentContent { document_id: Uuid, key_version: i64 },
    /// A sealed column of an access grant (`reason`, `flagged_reason` or `review_note`), sealed
    /// under the person's key version.
    GrantColumn {
        grant_id: Uuid,
        column: &'static str,
    },
}

/// One sealed value and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub place: SealedPlace,
    pub value: Vec<u8>,
}

/// How many of each kind of row a record holds: what a merge moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MergeCounts {
    pub entries: i64,
    pub documents: i64,
    pub cases: i64,
    pub consents: i64,
    pub restrictions: i64,
    pub disclosures: i64,
    pub approvals: i64,
    pub related_people: i64,
    pub referrals: i64,
    pub contact_preferences: i64,
    pub messages: i64,
    pub grants: i64,
    pub tasks: i64,
    /// Earlier values kept by corrections (of the person's fields and of their records').
    pub earlier_values: i64,
}

/// Everything of a person's a merge moves, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeHoldings {
    pub key_version: i64,
    pub values: Vec<SealedValue>,
    pub counts: MergeCounts,
    /// Their open case in the service, if any.
    pub open_case: Option<Uuid>,
    pub has_photo: bool,
}

codes!(
    /// How whoever merged two records made sure they are one person.
    MergeConfirmation {
        Identifiers = "identifiers": "Their NHS or National Insurance numbers match",
        WithPerson = "with_person": "Checked with the person",
        WithReferrer = "with_referrer": "Checked with the referrer or another professional",
    }
);

/// A merge, as kept: ids, codes, times and counts only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRecord {
    pub merged_id: Uuid,
    /// The merged record's number in its service (never given again).
    pub merged_number: i64,
    pub surviving_id: Uuid,
    pub surviving_number: i64,
    pub service_id: Uuid,
    pub confirmed_how: MergeConfirmation,
    pub merged_by: String,
    pub merged_at_micros: i64,
    pub moved: MergeCounts,
}

/// A merge to write: the rows of `merged` move to `surviving`, with `resealed` (one for each of
/// `read.values`, in order) in place of what was read.
pub struct MergePlan<'a> {
    pub merged: &'a PersonAccess,
    pub surviving: &'a PersonAccess,
    pub surviving_key_version: i64,
    /// What was read of the merged record: the store checks it is still so.
    pub read: &'a MergeHoldings,
    pub resealed: Vec<SealedValue>,
    /// Fields the surviving record lacked, filled from the merged one (sealed for the survivor).
    pub fill: Vec<(PersonField, Vec<u8>)>,
    /// The merged record's values that differ from the survivor's, kept in its history.
    pub keep: Vec<(PersonField, Vec<u8>)>,
    /// The survivor's blind indexes, recomputed when a field was filled.
    pub indexes: Vec<IndexChange>,
    /// When the survivor was last changed, as read: the store refuses the merge if it changed
    /// since (its indexes were computed from what was read).
    pub surviving_updated_at: i64,
    /// The survivor's name grams, when a name was filled.
    pub name_grams: Option<Vec<GramDigest>>,
    pub record: MergeRecord,
    pub stamp: ChangeStamp,
}

/// The storage port of merges.
pub trait MergeStore: Send + Sync + 'static {
    /// Everything of the person's a merge would move (with `values`, sealed; without, only what
    /// it counts), audited as a read; `None` if their record or key is gone.
    fn merge_holdings(
        &self,
        access: &PersonAccess,
        values: bool,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Option<MergeHoldings>, StoreError>> + Send;

    /// Whether merging the two records would break the rules on alleged perpetrators: someone
    /// named as an alleged perpetrator in one and in another role in the other, a victim's record
    /// linked from the record of the person alleged to have abused them, or a record linked to
    /// itself. Ids and codes only.
    fn merge_breaks_links(
        &self,
        merged: Uuid,
        surviving: Uuid,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Writes a merge in one transaction with `audits` (the head's lock first): records it, moves
    /// every row of the merged person to the survivor with the values resealed, fills and keeps
    /// the person's fields, sets the survivor's indexes, and destroys the merged person's key and
    /// search entries. Where both have an open case, the merged one's is closed as recorded twice;
    /// where both have a live restriction or objection of a kind, the merged one's is lifted (the
    /// survivor's holds). `Ok(false)` if either record or key is gone or the merged one was merged
    /// already; `Conflict` if either record changed since it was read, or the merge would break
    /// the rules on alleged perpetrators.
    fn merge_people(
        &self,
        plan: MergePlan<'_>,
        audits: Vec<AuditDraft>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The merges into a person's record, newest first (ids, codes and times: not audited).
    fn merges_into(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<MergeRecord>, StoreError>> + Send;

    /// The merge a record went into, if it was merged.
    fn merge_of(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Option<MergeRecord>, StoreError>> + Send;
}
