//! A person's record as stored: related people, referrals, cases, entries, documents, corrections and where the record sits.

use super::*;

/// A related person (a third party) as stored: sealed with their own data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedRecord {
    pub id: Uuid,
    /// The service user in whose record they appear.
    pub person_id: Uuid,
    pub relationship: Relationship,
    /// When the related person is also someone a service supports: their record. Only ever used to
    /// keep the service user's record away from them; never shown from their side.
    pub linked_person_id: Option<Uuid>,
    pub key_version: i64,
    pub created_by: String,
    pub created_at_micros: i64,
}

/// A referral as stored: metadata in the clear (nothing identifying), details sealed with the
/// referral's own data key until it is accepted or erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRecord {
    pub id: Uuid,
    pub service_id: Uuid,
    pub source: ReferralSource,
    /// For a partner referral: the person's record at the partner service.
    pub partner_person_id: Option<Uuid>,
    pub state: TriageState,
    pub received_at_micros: i64,
    pub last_contact_at_micros: Option<i64>,
    pub decided_at_micros: Option<i64>,
    pub person_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub key_version: i64,
    pub created_by: String,
}

/// One step of a referral's triage: what it became, when, and who moved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriageEvent {
    pub referral_id: Uuid,
    pub state: TriageState,
    pub at_micros: i64,
    pub actor: String,
}

/// A case (episode of support) of one person in one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    pub id: Uuid,
    pub person_id: Uuid,
    pub service_id: Uuid,
    pub key_worker_id: Option<Uuid>,
    pub opened_at_micros: i64,
    pub opened_by: String,
    /// Closing starts the retention clock.
    pub closed_at_micros: Option<i64>,
    pub closed_by: Option<String>,
    pub closure_reason: Option<ClosureReason>,
}

/// An earlier closing of a case, kept when it was reopened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReopening {
    pub closed_at_micros: i64,
    pub closed_by: String,
    pub closure_reason: ClosureReason,
    pub reopened_at_micros: i64,
    pub reopened_by: String,
    pub reason: ReopenReason,
}

/// Flags on a case note that later decide what may be disclosed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoteFlags {
    /// Supplied by a third party (who: the sealed `supplied_by` field).
    pub third_party: bool,
    /// Identifies a complainant.
    pub identifies_complainant: bool,
    /// Could cause serious harm to someone's physical or mental health if disclosed.
    pub serious_harm: bool,
}

/// An entry in a person's record: a case note or contact, a support plan, a goal, an appointment, a
/// paper note or an archived paper file. Metadata in the clear, content sealed with the person's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    pub id: Uuid,
    pub person_id: Uuid,
    pub kind: crate::field::RecordKind,
    pub case_id: Option<Uuid>,
    /// A goal's plan.
    pub parent_id: Option<Uuid>,
    pub contact_type: Option<ContactType>,
    /// When it happened (a note, a paper note) or happens (an appointment).
    pub occurs_at_micros: i64,
    pub status: Option<EntryStatus>,
    /// When a paper file or transcribed paper note must be destroyed.
    pub due_at_micros: Option<i64>,
    pub flags: NoteFlags,
    pub author: String,
    pub key_version: i64,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
    /// Marked as entered in error: by whom, when and why.
    pub in_error: Option<EntryError>,
}

/// An entry marked as entered in error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub by: String,
    pub at_micros: i64,
    pub reason: ErrorReason,
}

/// A document's metadata. The content is sealed with the person's key; its type was checked from
/// the content on upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub id: Uuid,
    pub person_id: Uuid,
    pub media_type: String,
    pub size_bytes: i64,
    /// The person's photo rather than a document about them.
    pub is_photo: bool,
    pub key_version: i64,
    pub uploaded_by: String,
    pub created_at_micros: i64,
}

/// An earlier value of a sealed field, kept by a correction: still sealed, with who replaced it and
/// when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldVersion {
    pub record_id: Uuid,
    pub field: String,
    pub value: Vec<u8>,
    pub key_version: i64,
    pub changed_by: String,
    pub changed_at_micros: i64,
    /// Why it was replaced (corrections before reasons were kept have none).
    pub reason: Option<CorrectionReason>,
}

/// Where a person's record sits: what authorization needs, and nothing personal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub person_id: Uuid,
    pub service_id: Uuid,
    pub organisation_id: Uuid,
    pub team_id: Option<Uuid>,
    pub key_worker_id: Option<Uuid>,
    pub scope: AccessScope,
}

impl Placement {
    /// The person's record as the policy sees it.
    pub fn resource(&self) -> confidant_policy::Resource {
        confidant_policy::Resource::Person {
            id: self.person_id,
            service_id: self.service_id,
            organisation_id: self.organisation_id,
            team_id: self.team_id,
            key_worker_id: self.key_worker_id,
            scope: self.scope,
        }
    }
}

/// Which parts of a person's overview to read besides the record and its entry counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverviewParts<'a> {
    /// Only those, counting only `entries`: what a processor's worker may see of a referred record
    /// (the entries their referrals sent).
    Referred { entries: &'a [Uuid] },
    /// Also related people, cases, documents and the latest `history` events about the person.
    Whole { history: u32 },
}

/// What a person's overview shows, as stored, read in one transaction by
/// [`RecordStore::person_overview`]. Parts not asked for are empty.
#[derive(Debug)]
pub struct OverviewRows {
    pub person: SealedPerson,
    pub key: WrappedDataKey,
    /// How many entries of each kind the record holds (kinds it holds none of are left out),
    /// counted in the store: no entry is read.
    pub entry_counts: Vec<(crate::field::RecordKind, u64)>,
    pub related: Vec<(RelatedRecord, SealedFields, WrappedDataKey)>,
    pub cases: Vec<CaseRecord>,
    /// Metadata and sealed fields; no content.
    pub documents: Vec<(DocumentRecord, SealedFields)>,
    /// Newest first.
    pub history: Vec<AuditEvent>,
}
