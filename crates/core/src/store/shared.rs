//! The register, consent, restrictions, approvals and the disclosure log as stored.

use super::*;

/// A recipient of the register. Names are of organisations, bodies or meetings: not personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// The register's id of the recipient or processor; `None` for one the register does not name.
    pub code: Option<String>,
    pub name: String,
    pub kind: RecipientKind,
    pub outside_uk: bool,
    /// Data category codes it may receive (field group codes and `case_notes`).
    pub categories: Vec<String>,
    pub bases: Vec<LawfulBasis>,
    pub consent_required: bool,
    /// For a partner service of the same organisation: which service.
    pub partner_service_id: Option<Uuid>,
    /// For a processor: when its data processing agreement starts and ends.
    pub dpa_starts_at_micros: Option<i64>,
    pub dpa_ends_at_micros: Option<i64>,
    /// Where a shared package may be sent by secure email (the recipient organisation's own
    /// mailbox, not a person's); `None`: download only.
    pub secure_email: Option<String>,
    pub created_by: String,
    pub updated_at_micros: i64,
    pub retired_at_micros: Option<i64>,
}

/// What a service asks consent for: one line of its consent form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentPurposeRecord {
    pub id: Uuid,
    pub service_id: Uuid,
    pub code: String,
    pub label: String,
    /// The recipients a consent to this purpose lets data go to (and only for this purpose).
    pub recipient_ids: Vec<Uuid>,
    /// Explicit consent (Art. 9(2)(a); needed for transfers outside the UK).
    pub explicit: bool,
    pub form_version: String,
    pub created_at_micros: i64,
    /// Gone from the register: it unlocks nothing and leaves the form; its decisions are kept.
    pub retired_at_micros: Option<i64>,
}

/// One consent decision, never changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub id: Uuid,
    pub person_id: Uuid,
    pub purpose_id: Uuid,
    pub state: ConsentState,
    pub form_version: String,
    pub recorded_by: String,
    pub recorded_at_micros: i64,
    pub expires_at_micros: Option<i64>,
}

/// A restriction or upheld objection on a person's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictionRecord {
    pub id: Uuid,
    pub person_id: Uuid,
    pub kind: RestrictionKind,
    pub recorded_by: String,
    pub started_at_micros: i64,
    pub lifted_at_micros: Option<i64>,
    pub lifted_by: Option<String>,
}

/// A request to send a recipient categories beyond its set. The justification is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    pub id: Uuid,
    pub person_id: Uuid,
    pub recipient_id: Uuid,
    pub categories: Vec<String>,
    pub key_version: i64,
    pub requested_by: String,
    pub requested_at_micros: i64,
    pub state: ApprovalState,
    pub decided_by: Option<String>,
    pub decided_at_micros: Option<i64>,
    pub used_by: Option<Uuid>,
}

/// One disclosure of the log: who received what, on what basis, asked and approved by whom. What
/// it contained is in its items; the package and the reasons are sealed beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureRecord {
    pub id: Uuid,
    pub person_id: Uuid,
    pub service_id: Uuid,
    pub recipient_id: Uuid,
    pub basis: LawfulBasis,
    /// The consent purpose the share relied on, where it relied on consent.
    pub consent_purpose_id: Option<Uuid>,
    pub article9: Option<Article9Condition>,
    pub schedule1: Option<Schedule1Condition>,
    pub categories: Vec<String>,
    pub key_version: i64,
    pub requested_by: String,
    pub approval_id: Option<Uuid>,
    pub approved_by: Option<String>,
    pub person_told: bool,
    /// Vital interests: allowed, and flagged for review.
    pub emergency: bool,
    pub review_state: Option<ReviewState>,
    pub reviewed_by: Option<String>,
    /// SHA-256 of the package as it left.
    pub package_hash: [u8; 32],
    pub shared_at_micros: i64,
    /// A referral to a processor: the worker it went to, the grant it opened, until when.
    pub processor_staff_id: Option<Uuid>,
    pub grant_id: Option<Uuid>,
    pub ends_at_micros: Option<i64>,
    pub ended_at_micros: Option<i64>,
}

/// What the sharing rules read of a person's consent and restrictions, as counts: the store refuses
/// to record a disclosure if they changed between the decision and the write (a consent withdrawn
/// meanwhile must stop it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SharingState {
    pub consents: i64,
    pub restrictions: i64,
    pub lifted: i64,
}

/// One published version of a service's privacy notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeVersion {
    /// The service's id in the register.
    pub service_code: String,
    pub version: i64,
    pub digest: String,
    pub markdown: String,
    pub published_at_micros: i64,
}

/// What a disclosure contained: a person field (by code) or a record entry (by id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DisclosedItem {
    Field(String),
    Entry(Uuid),
}
