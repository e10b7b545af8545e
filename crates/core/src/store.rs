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

/// A member of staff. `handle` is their sign-in name; staff are disabled, never deleted, so their
/// audit trail keeps its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub role: Role,
    pub handle: String,
    pub created_at_micros: i64,
    pub disabled_at_micros: Option<i64>,
}

/// A team within a service (for services whose staff see only their team's people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: Uuid,
    pub service_id: Uuid,
    pub name: String,
    pub created_at_micros: i64,
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// Reads only: every change is refused.
    Read,
    ReadWrite,
}

impl TokenScope {
    pub const ALL: [TokenScope; 2] = [TokenScope::Read, TokenScope::ReadWrite];
    pub fn code(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::ReadWrite => "read_write",
        }
    }
    pub fn from_code(code: &str) -> Option<TokenScope> {
        TokenScope::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// An API token as stored: only its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub token_hash: [u8; 32],
    pub scope: TokenScope,
    pub created_at_micros: i64,
    pub expires_at_micros: i64,
    pub revoked_at_micros: Option<i64>,
}

/// Sealed values of one record as stored: catalogue field code and sealed bytes.
pub type SealedFields = Vec<(String, Vec<u8>)>;
/// One change to a record's sealed fields: a new sealed value, or `None` to remove it.
pub type SealedChange = (String, Option<Vec<u8>>);

/// Who made a change and when: written beside each old value kept for the correction history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeStamp {
    pub by: String,
    pub at_micros: i64,
}

/// A service's configuration of its record: which field groups it collects and whom it takes
/// referrals from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    pub service_id: Uuid,
    pub field_groups: crate::field::FieldGroups,
    pub referrals: ReferralPolicy,
    /// For [`ReferralPolicy::PartnerOnly`]: the partner service whose open cases may be referred.
    pub partner_service_id: Option<Uuid>,
}

impl ServiceConfig {
    /// What a service does until it is configured: every field group, referrals from anyone.
    pub fn default_for(service_id: Uuid) -> Self {
        Self {
            service_id,
            field_groups: crate::field::FieldGroups::all(),
            referrals: ReferralPolicy::Anyone,
            partner_service_id: None,
        }
    }
}

macro_rules! codes {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal : $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
            pub fn from_code(code: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }
        }
    };
}

codes!(
    /// Whom a service takes referrals from.
    ReferralPolicy {
        Anyone = "anyone": "The person, anyone on their behalf, or a professional",
        SelfOnly = "self": "The person themselves only",
        ProfessionalOnly = "professional": "Professionals only",
        PartnerOnly = "partner": "Only a named partner service, for people with an open case there",
    }
);

impl ReferralPolicy {
    pub fn accepts(self, source: ReferralSource) -> bool {
        match self {
            ReferralPolicy::Anyone => source != ReferralSource::Partner,
            ReferralPolicy::SelfOnly => source == ReferralSource::SelfReferral,
            ReferralPolicy::ProfessionalOnly => source == ReferralSource::Professional,
            ReferralPolicy::PartnerOnly => source == ReferralSource::Partner,
        }
    }
}

codes!(
    /// Who made a referral.
    ReferralSource {
        SelfReferral = "self": "The person themselves",
        Other = "other": "Someone on their behalf (family, friend)",
        Professional = "professional": "A professional",
        Partner = "partner": "The partner service",
    }
);

codes!(
    /// Where a referral is in triage. `Received` → `ContactAttempted` → one of the four outcomes.
    TriageState {
        Received = "received": "Received",
        ContactAttempted = "contact_attempted": "Contact attempted",
        Accepted = "accepted": "Accepted",
        Declined = "declined": "Declined (erased)",
        NoResponse = "no_response": "No response",
        Withdrawn = "withdrawn": "Withdrawn",
    }
);

impl TriageState {
    /// Whether triage may move from `self` to `to`.
    pub fn may_become(self, to: TriageState) -> bool {
        use TriageState::*;
        matches!(
            (self, to),
            (Received, ContactAttempted)
                | (ContactAttempted, ContactAttempted)
                | (
                    Received | ContactAttempted,
                    Accepted | Declined | NoResponse | Withdrawn
                )
        )
    }

    pub fn is_open(self) -> bool {
        matches!(self, TriageState::Received | TriageState::ContactAttempted)
    }
}

codes!(
    /// How a related person stands to the service user.
    Relationship {
        Child = "child": "Child",
        Family = "family": "Family member",
        NextOfKin = "next_of_kin": "Next of kin",
        Advocate = "advocate": "Advocate",
        ActingOnBehalf = "acting_on_behalf": "Acting on the person's behalf",
        AllegedPerpetrator = "alleged_perpetrator": "Alleged perpetrator of abuse",
    }
);

codes!(
    /// Why a case closed.
    ClosureReason {
        Completed = "completed": "Support completed",
        Disengaged = "disengaged": "Stopped engaging",
        MovedAway = "moved_away": "Moved out of the area",
        Transferred = "transferred": "Transferred to another service",
        Declined = "declined": "Chose to end support",
        Died = "died": "Died",
        Other = "other": "Another reason",
    }
);

codes!(
    /// How a contact with the person happened.
    ContactType {
        Visit = "visit": "Visit",
        Phone = "phone": "Phone call",
        Text = "text": "Text message",
        Email = "email": "Email",
        Letter = "letter": "Letter",
        VideoCall = "video_call": "Video call",
        Meeting = "meeting": "Meeting",
        Record = "record": "Note for the record (no contact)",
    }
);

codes!(
    /// Where an entry stands: which codes apply depends on its kind ([`EntryStatus::of_kind`]).
    EntryStatus {
        Active = "active": "Active",
        Completed = "completed": "Completed",
        NotStarted = "not_started": "Not started",
        InProgress = "in_progress": "In progress",
        Achieved = "achieved": "Achieved",
        NotAchieved = "not_achieved": "Not achieved",
        Booked = "booked": "Booked",
        Attended = "attended": "Attended",
        Missed = "missed": "Missed",
        Cancelled = "cancelled": "Cancelled",
        AwaitingTranscription = "awaiting_transcription": "Awaiting transcription",
        Transcribed = "transcribed": "Transcribed, awaiting destruction",
        Archived = "archived": "Archived",
        Destroyed = "destroyed": "Destroyed",
    }
);

impl EntryStatus {
    /// The statuses an entry of `kind` can have; the first is where it starts. Notes have none.
    pub fn of_kind(kind: crate::field::RecordKind) -> &'static [EntryStatus] {
        use crate::field::RecordKind as K;
        use EntryStatus::*;
        match kind {
            K::Plan => &[Active, Completed],
            K::Goal => &[NotStarted, InProgress, Achieved, NotAchieved],
            K::Appointment => &[Booked, Attended, Missed, Cancelled],
            K::PaperNote => &[AwaitingTranscription, Transcribed, Destroyed],
            K::PaperFile => &[Archived, Destroyed],
            _ => &[],
        }
    }
}

codes!(
    /// What kind of body a recipient is (the recipient register, R18).
    RecipientKind {
        StatutoryBody = "statutory_body": "Statutory body (council, regulator)",
        Health = "health": "Health (GP, hospital, pharmacy)",
        SocialCare = "social_care": "Social care",
        CriminalJustice = "criminal_justice": "Criminal justice (police, probation, prison, courts)",
        MultiAgencyMeeting = "multi_agency_meeting": "Multi-agency meeting (MARAC, MAPPA)",
        Funder = "funder": "Funder",
        Researcher = "researcher": "Researcher",
        NationalReturn = "national_return": "National return (e.g. NDTMS)",
        PartnerService = "partner_service": "Partner service of the same organisation",
        Processor = "processor": "Processor (works on our behalf under a contract)",
        DataSubject = "data_subject": "The person themselves (their own copy)",
    }
);

codes!(
    /// The lawful basis of a disclosure (UK GDPR Art. 6), with a court order named on its own so
    /// its reference is asked for, and the person's own request for their copy.
    LawfulBasis {
        Consent = "consent": "Consent (Art. 6(1)(a))",
        Contract = "contract": "Contract (Art. 6(1)(b))",
        LegalObligation = "legal_obligation": "Legal obligation (Art. 6(1)(c))",
        CourtOrder = "court_order": "Court order (a legal obligation, Art. 6(1)(c))",
        VitalInterests = "vital_interests": "Vital interests: an emergency (Art. 6(1)(d))",
        PublicTask = "public_task": "Public task (Art. 6(1)(e))",
        LegitimateInterests = "legitimate_interests": "Legitimate interests (Art. 6(1)(f))",
        SubjectRequest = "subject_request": "The person's own request (Art. 15 / Art. 20)",
    }
);

codes!(
    /// The Article 9(2) condition for special category data.
    Article9Condition {
        ExplicitConsent = "explicit_consent": "Explicit consent (Art. 9(2)(a))",
        EmploymentSocialProtection = "employment_social_protection": "Employment, social security and social protection law (Art. 9(2)(b))",
        VitalInterests = "vital_interests": "Vital interests where consent cannot be given (Art. 9(2)(c))",
        LegalClaims = "legal_claims": "Legal claims or courts (Art. 9(2)(f))",
        SubstantialPublicInterest = "substantial_public_interest": "Substantial public interest (Art. 9(2)(g))",
        HealthSocialCare = "health_social_care": "Health or social care (Art. 9(2)(h))",
        PublicHealth = "public_health": "Public health (Art. 9(2)(i))",
        ArchivingResearch = "archiving_research": "Archiving, research or statistics (Art. 9(2)(j))",
    }
);

codes!(
    /// The DPA 2018 Schedule 1 condition for criminal offence data (and for Art. 9(2)(g)).
    Schedule1Condition {
        Employment = "p1_employment": "Part 1 para 1: employment, social security and social protection",
        HealthSocialCare = "p1_health_social_care": "Part 1 para 2: health or social care purposes",
        PublicHealth = "p1_public_health": "Part 1 para 3: public health",
        Research = "p1_research": "Part 1 para 4: research",
        Statutory = "p2_statutory": "Part 2 para 6: statutory and government purposes",
        UnlawfulActs = "p2_unlawful_acts": "Part 2 para 10: preventing or detecting unlawful acts",
        Safeguarding = "p2_safeguarding": "Part 2 para 18: safeguarding of children and individuals at risk",
        Consent = "p3_consent": "Part 3 para 29: consent",
        VitalInterests = "p3_vital_interests": "Part 3 para 30: vital interests",
        LegalClaims = "p3_legal_claims": "Part 3 para 33: legal claims",
    }
);

impl Schedule1Condition {
    /// A Part 2 (substantial public interest) condition, which Art. 9(2)(g) needs.
    pub fn is_part2(self) -> bool {
        matches!(
            self,
            Schedule1Condition::Statutory
                | Schedule1Condition::UnlawfulActs
                | Schedule1Condition::Safeguarding
        )
    }
}

codes!(
    /// A consent decision. The latest for a person and purpose is the one that holds.
    ConsentState {
        Granted = "granted": "Granted",
        Refused = "refused": "Refused",
        Withdrawn = "withdrawn": "Withdrawn",
    }
);

codes!(
    /// What limits processing of a person's record until lifted.
    RestrictionKind {
        Restriction = "restriction": "Processing restricted (Art. 18)",
        Objection = "objection": "Objection upheld (Art. 21)",
    }
);

codes!(
    /// The ground recorded for sharing despite a restriction or an upheld objection.
    OverrideGround {
        Consent = "consent": "The person consents (restriction)",
        LegalClaims = "legal_claims": "Legal claims",
        ProtectAnotherPerson = "protect_another_person": "Protecting the rights of another person (restriction)",
        ImportantPublicInterest = "important_public_interest": "Important public interest (restriction)",
        CompellingGrounds = "compelling_grounds": "Compelling legitimate grounds that override the objection",
    }
);

codes!(
    /// Where a request to send categories beyond a recipient's set stands.
    ApprovalState {
        Pending = "pending": "Waiting for a second person",
        Approved = "approved": "Approved",
        Refused = "refused": "Refused",
    }
);

/// A recipient of the register. Names are of organisations, bodies or meetings: not personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
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
    /// The recipient a consent to this purpose lets data go to.
    pub recipient_id: Option<Uuid>,
    /// Explicit consent (Art. 9(2)(a); needed for transfers outside the UK).
    pub explicit: bool,
    pub form_version: String,
    pub created_at_micros: i64,
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

/// A member of staff's sign-in secrets as stored. The password only as an Argon2id hash; the TOTP
/// secret only sealed with the staff member's own data key.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub staff_id: Uuid,
    pub password_hash: Option<String>,
    pub password_changed_at_micros: Option<i64>,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_confirmed_at_micros: Option<i64>,
    pub totp_last_step: Option<i64>,
    pub failed_attempts: i64,
    pub locked_until_micros: Option<i64>,
    pub updated_at_micros: i64,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("staff_id", &self.staff_id)
            .field("failed_attempts", &self.failed_attempts)
            .finish_non_exhaustive()
    }
}

/// What happens to a staff member's recovery codes along with a credential change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryCodes {
    Keep,
    /// Replace every code with these digests.
    Replace(Vec<[u8; 32]>),
    Clear,
}

/// How far a session has got: the password alone, or the password and the second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; a second factor (or enrolment in one) is still owed.
    Password,
    Full,
}

impl SessionStage {
    pub fn code(self) -> &'static str {
        match self {
            SessionStage::Password => "password",
            SessionStage::Full => "full",
        }
    }
    pub fn from_code(code: &str) -> Option<SessionStage> {
        [SessionStage::Password, SessionStage::Full]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// A server-side session. The browser holds the token; the database only its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: Uuid,
    pub token_hash: [u8; 32],
    pub staff_id: Uuid,
    pub stage: SessionStage,
    pub csrf_token: String,
    pub created_at_micros: i64,
    pub last_seen_at_micros: i64,
    /// The last time the password was given (sign-in, unlock or re-authentication).
    pub authenticated_at_micros: i64,
    pub expires_at_micros: i64,
    pub ended_at_micros: Option<i64>,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("id", &self.id)
            .field("staff_id", &self.staff_id)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// Training and policy acknowledgements staff must hold before they reach personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrainingKind {
    /// Data protection and confidentiality training.
    DataProtection,
    /// Acknowledgement of the organisation's information governance policies.
    PolicyAcknowledgement,
}

impl TrainingKind {
    /// Every kind; all are required.
    pub const ALL: [TrainingKind; 2] = [
        TrainingKind::DataProtection,
        TrainingKind::PolicyAcknowledgement,
    ];
    pub fn code(self) -> &'static str {
        match self {
            TrainingKind::DataProtection => "data_protection",
            TrainingKind::PolicyAcknowledgement => "policy_acknowledgement",
        }
    }
    pub fn from_code(code: &str) -> Option<TrainingKind> {
        TrainingKind::ALL.into_iter().find(|k| k.code() == code)
    }
    pub fn label(self) -> &'static str {
        match self {
            TrainingKind::DataProtection => "Data protection training",
            TrainingKind::PolicyAcknowledgement => "Policy acknowledgement",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRecord {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub kind: TrainingKind,
    pub completed_at_micros: i64,
    pub expires_at_micros: i64,
    pub recorded_by: String,
    pub recorded_at_micros: i64,
}

/// Where a break-the-glass access stands in the Caldicott Guardian's review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewState {
    Pending,
    SignedOff,
    Escalated,
}

impl ReviewState {
    pub fn code(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::SignedOff => "signed_off",
            ReviewState::Escalated => "escalated",
        }
    }
    pub fn from_code(code: &str) -> Option<ReviewState> {
        [
            ReviewState::Pending,
            ReviewState::SignedOff,
            ReviewState::Escalated,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// Access to one person beyond a role, for a limited time. Free text is sealed with the person's key.
#[derive(Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub id: Uuid,
    pub kind: Grant,
    pub staff_id: Uuid,
    pub person_id: Uuid,
    pub organisation_id: Uuid,
    pub reason: Option<Vec<u8>>,
    pub granted_by: String,
    pub starts_at_micros: i64,
    pub ends_at_micros: i64,
    pub revoked_at_micros: Option<i64>,
    pub review_state: Option<ReviewState>,
    pub reviewed_by: Option<String>,
    pub reviewed_at_micros: Option<i64>,
    pub review_note: Option<Vec<u8>>,
}

impl std::fmt::Debug for GrantRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("staff_id", &self.staff_id)
            .field("person_id", &self.person_id)
            .finish_non_exhaustive()
    }
}

/// A person's record as stored: sealed field values only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPerson {
    pub id: Uuid,
    pub service_id: Uuid,
    pub team_id: Option<Uuid>,
    pub key_worker_id: Option<Uuid>,
    pub key_version: i64,
    pub fields: Vec<(PersonField, Vec<u8>)>,
    /// Digests of the name's fragments for name search (written on create; never read back).
    pub name_grams: Vec<crate::name_index::GramDigest>,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

/// One field change: a new sealed value, or `None` to remove the value.
pub type FieldChange = (PersonField, Option<Vec<u8>>);
/// One blind-index change: a new digest, or `None` to remove the index.
pub type IndexChange = (IndexField, Option<[u8; 16]>);

/// The installation's keys: the master key's id, the wrapped index key and every person's wrapped data key.
pub trait KeyStore: Send + Sync + 'static {
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
}

/// Organisations, services, teams, staff accounts and their training.
pub trait StaffStore: Send + Sync + 'static {
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

    fn staff(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<StaffRecord>, StoreError>> + Send;

    /// Every member of an organisation's staff, disabled ones included, by handle.
    fn staff_of(
        &self,
        organisation_id: Uuid,
    ) -> impl Future<Output = Result<Vec<StaffRecord>, StoreError>> + Send;

    /// Disables an account: ends its sessions and revokes its tokens in the same transaction.
    /// `false` if it was already disabled or does not exist.
    fn disable_staff(
        &self,
        staff_id: Uuid,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn set_staff_team(
        &self,
        staff_id: Uuid,
        team_id: Option<Uuid>,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn create_team(
        &self,
        team: &Team,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn team(&self, id: Uuid) -> impl Future<Output = Result<Option<Team>, StoreError>> + Send;

    fn teams(&self, service_id: Uuid)
    -> impl Future<Output = Result<Vec<Team>, StoreError>> + Send;

    fn service_scope(
        &self,
        service_id: Uuid,
    ) -> impl Future<Output = Result<Option<AccessScope>, StoreError>> + Send;

    fn set_service_scope(
        &self,
        service_id: Uuid,
        scope: AccessScope,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn add_training(
        &self,
        record: &TrainingRecord,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every training record of the staff of an organisation (or of one member when `staff_id` is
    /// given), newest first.
    fn training_records(
        &self,
        organisation_id: Uuid,
        staff_id: Option<Uuid>,
    ) -> impl Future<Output = Result<Vec<TrainingRecord>, StoreError>> + Send;

    /// The kinds a member of staff holds unexpired at `now_micros`.
    fn current_training(
        &self,
        staff_id: Uuid,
        now_micros: i64,
    ) -> impl Future<Output = Result<Vec<TrainingKind>, StoreError>> + Send;
}

/// Signing in: credentials, the lock-out throttle, recovery codes, sessions and API tokens.
pub trait AccountStore: Send + Sync + 'static {
    fn credential(
        &self,
        staff_id: Uuid,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;

    /// Writes the whole credential row (insert or replace), optionally a new data key for the staff
    /// member (sealing their TOTP secret) and a change of recovery codes, with the audit event.
    fn save_credential(
        &self,
        credential: &Credential,
        new_key: Option<&WrappedDataKey>,
        recovery: &RecoveryCodes,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Failed sign-ins under a user name with no usable account: (failures, locked until).
    fn sign_in_throttle(
        &self,
        handle_digest: &[u8; 32],
    ) -> impl Future<Output = Result<Option<(i64, Option<i64>)>, StoreError>> + Send;

    /// Counts one more failed sign-in under a user name with no usable account, atomically, and sets
    /// the lock `lock_after` gives for the new count (never shortening one in force), with the audit
    /// event. Returns the lock's end, if any.
    fn record_unknown_failure(
        &self,
        handle_digest: &[u8; 32],
        at_micros: i64,
        lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Counts one failed step against an account atomically (parallel failures all count) and sets
    /// the lock `lock_after` gives for the new count, never shortening one in force. Appends
    /// `failure`, or `lockout` when a lock is set. Returns the lock's end, if any.
    fn record_failure(
        &self,
        staff_id: Uuid,
        at_micros: i64,
        lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
        failure: &AuditDraft,
        lockout: &AuditDraft,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Records a passed second factor and clears the failure count. With a TOTP `step`, only if it is
    /// later than the last step used: `false` (nothing written) for a replayed code.
    fn second_factor_passed(
        &self,
        staff_id: Uuid,
        step: Option<i64>,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Confirms a pending two-factor enrolment with its first step, clears the failure count and
    /// replaces the recovery codes; `false` (nothing written) if it was already confirmed.
    fn confirm_enrolment(
        &self,
        staff_id: Uuid,
        step: i64,
        at_micros: i64,
        recovery_codes: &[[u8; 32]],
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks an unused recovery code used; `false` if there is no such unused code.
    fn use_recovery_code(
        &self,
        staff_id: Uuid,
        code_hash: &[u8; 32],
        at_micros: i64,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn unused_recovery_codes(
        &self,
        staff_id: Uuid,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// The live data key of an owner (a member of staff here), if any.
    fn data_key(
        &self,
        owner_id: Uuid,
    ) -> impl Future<Output = Result<Option<WrappedDataKey>, StoreError>> + Send;

    /// Creates a session; if `replaces` is given, that session ends in the same transaction (a new
    /// token at every step of sign-in, so a token seen before sign-in is worth nothing after), and
    /// `Conflict` if it had already ended.
    fn create_session(
        &self,
        session: &SessionRecord,
        replaces: Option<Uuid>,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn session_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Records activity (not audited: it is not an access to personal data).
    fn touch_session(
        &self,
        session_id: Uuid,
        at_micros: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a fresh password check (unlock after idling, re-authentication).
    fn reauthenticate_session(
        &self,
        session_id: Uuid,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn end_session(
        &self,
        session_id: Uuid,
        at_micros: i64,
        reason: &'static str,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Ends every live session of a member of staff but `except` (the one making the change, if
    /// any) and revokes every API token of theirs, in one transaction: what follows a password or
    /// second factor changing hands. Returns how many sessions ended.
    fn end_sessions_of(
        &self,
        staff_id: Uuid,
        except: Option<Uuid>,
        at_micros: i64,
        reason: &'static str,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    fn live_sessions_of(
        &self,
        staff_id: Uuid,
        now_micros: i64,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    fn issue_token(
        &self,
        token: &ApiTokenRecord,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A live (unexpired, unrevoked) token and its enabled owner.
    fn token_owner(
        &self,
        token_hash: &[u8; 32],
        now_micros: i64,
    ) -> impl Future<Output = Result<Option<(ApiTokenRecord, StaffRecord)>, StoreError>> + Send;

    fn tokens_of(
        &self,
        staff_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ApiTokenRecord>, StoreError>> + Send;

    /// Revokes one of `staff_id`'s tokens; `false` if there was no such live token.
    fn revoke_token(
        &self,
        token_id: Uuid,
        staff_id: Uuid,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Access grants: break-the-glass, a trustee's matter, a processor's referral.
pub trait GrantStore: Send + Sync + 'static {
    fn create_grant(
        &self,
        grant: &GrantRecord,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The kinds of unrevoked grants `staff_id` holds on `person_id` at `now_micros`.
    fn live_grants(
        &self,
        staff_id: Uuid,
        person_id: Uuid,
        now_micros: i64,
    ) -> impl Future<Output = Result<Vec<Grant>, StoreError>> + Send;

    fn grant(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<GrantRecord>, StoreError>> + Send;

    /// An organisation's grants of one kind, newest first; only pending reviews if `pending_only`.
    fn grants_of(
        &self,
        organisation_id: Uuid,
        kind: Grant,
        pending_only: bool,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<GrantRecord>, StoreError>> + Send;

    /// Records a review decision on a pending grant (an escalation also ends the access at once);
    /// `false` if it is not pending any more.
    fn review_grant(
        &self,
        grant_id: Uuid,
        state: ReviewState,
        reviewed_by: &str,
        at_micros: i64,
        note: Option<&[u8]>,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// People: their sealed fields, blind indexes, name grams, placement and keys, and each service's configuration.
pub trait PersonStore: Send + Sync + 'static {
    fn placement(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Option<Placement>, StoreError>> + Send;

    /// Puts a person in a team and/or gives them a key worker (`None` clears).
    fn assign_person(
        &self,
        person_id: Uuid,
        team_id: Option<Uuid>,
        key_worker_id: Option<Uuid>,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

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

    /// Applies field, index and (when given) name-gram changes, keeping each replaced or removed
    /// value (still sealed) in the correction history with `stamp`; `false` (and nothing written) if the record is gone, and
    /// `Conflict` if its `updated_at` is no longer `expected_updated_at_micros`.
    #[allow(clippy::too_many_arguments)]
    fn update_person(
        &self,
        person_id: Uuid,
        fields: &[FieldChange],
        indexes: &[IndexChange],
        name_grams: Option<&[crate::name_index::GramDigest]>,
        expected_updated_at_micros: i64,
        stamp: &ChangeStamp,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The people of a service holding every one of `grams` (name search candidates), ordered by
    /// id, at most `limit`, with only `fields` filled.
    fn search_people_by_grams(
        &self,
        service_id: Uuid,
        grams: &[crate::name_index::GramDigest],
        fields: &[PersonField],
        limit: u32,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Vec<(SealedPerson, WrappedDataKey)>, StoreError>> + Send;

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

    /// Destroys every data key of the person (crypto-shredding), their blind indexes and name
    /// grams; the sealed values stay behind, unreadable. `false` if there was nothing to destroy.
    fn destroy_person_key(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn service_config(
        &self,
        service_id: Uuid,
    ) -> impl Future<Output = Result<Option<ServiceConfig>, StoreError>> + Send;

    fn set_service_config(
        &self,
        config: &ServiceConfig,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The rest of a person's record: corrections, related people, cases, entries and documents.
pub trait RecordStore: Send + Sync + 'static {
    /// Earlier values of a record's sealed fields (a person's, or an entry's), oldest first.
    fn field_history(
        &self,
        record_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Vec<FieldVersion>, StoreError>> + Send;

    fn add_related(
        &self,
        related: &RelatedRecord,
        fields: &SealedFields,
        key: &WrappedDataKey,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A person's related people with their fields and live keys.
    fn related_of(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Vec<(RelatedRecord, SealedFields, WrappedDataKey)>, StoreError>>
    + Send;

    /// Removes a related person from a record: their row, fields and key. `false` if there is none.
    fn remove_related(
        &self,
        related_id: Uuid,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The records in which `person_id` is linked as an alleged perpetrator (ids only).
    fn victims_of(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;

    /// Opens a case; `Conflict` if the person already has an open case in the service.
    fn open_case(
        &self,
        case: &CaseRecord,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Closes an open case; `false` if it is not open.
    fn close_case(
        &self,
        case_id: Uuid,
        reason: ClosureReason,
        step: &ChangeStamp,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn case(
        &self,
        case_id: Uuid,
    ) -> impl Future<Output = Result<Option<CaseRecord>, StoreError>> + Send;

    /// A person's cases, newest first (metadata: ids, dates and codes), audited in the same
    /// transaction.
    fn cases_of(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Vec<CaseRecord>, StoreError>> + Send;

    fn create_entry(
        &self,
        entry: &EntryRecord,
        fields: &SealedFields,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Changes an entry's status, due date and sealed fields, keeping each replaced value in the
    /// history; `Conflict` if it changed since `expected_updated_at_micros`, `false` if it is gone.
    #[allow(clippy::too_many_arguments)]
    fn update_entry(
        &self,
        entry_id: Uuid,
        status: Option<EntryStatus>,
        due_at_micros: Option<i64>,
        fields: &[SealedChange],
        expected_updated_at_micros: i64,
        stamp: &ChangeStamp,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A person's entries of these kinds, newest first by `occurs_at`, with their sealed fields.
    fn entries_of(
        &self,
        person_id: Uuid,
        kinds: &[crate::field::RecordKind],
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Vec<(EntryRecord, SealedFields)>, StoreError>> + Send;

    /// Paper entries of a service that are still held (not destroyed), soonest due first (metadata).
    fn paper_register(
        &self,
        service_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Vec<EntryRecord>, StoreError>> + Send;

    /// Stores a document (or replaces the person's photo) with its sealed content, in one
    /// transaction: there is never a partial one.
    fn add_document(
        &self,
        document: &DocumentRecord,
        content: &[u8],
        fields: &SealedFields,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A person's documents (metadata and sealed fields; no content), newest first.
    fn documents_of(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Vec<(DocumentRecord, SealedFields)>, StoreError>> + Send;

    /// One document of a person with its sealed content.
    fn read_document(
        &self,
        document_id: Uuid,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<Option<(DocumentRecord, Vec<u8>)>, StoreError>> + Send;
}

/// Referrals into a service and their triage.
pub trait ReferralStore: Send + Sync + 'static {
    fn create_referral(
        &self,
        referral: &ReferralRecord,
        fields: &SealedFields,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A referral's metadata (nothing identifying; not audited).
    fn referral(
        &self,
        referral_id: Uuid,
    ) -> impl Future<Output = Result<Option<ReferralRecord>, StoreError>> + Send;

    /// A service's referrals, newest first, with the fields named in `fields` and their live keys
    /// (none for an erased referral).
    fn referrals(
        &self,
        service_id: Uuid,
        open_only: bool,
        fields: &[&str],
        limit: u32,
        audit: &AuditDraft,
    ) -> impl Future<
        Output = Result<Vec<(ReferralRecord, SealedFields, Option<WrappedDataKey>)>, StoreError>,
    > + Send;

    fn read_referral(
        &self,
        referral_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<
        Output = Result<Option<(ReferralRecord, SealedFields, Option<WrappedDataKey>)>, StoreError>,
    > + Send;

    fn triage_events(
        &self,
        referral_id: Uuid,
    ) -> impl Future<Output = Result<Vec<TriageEvent>, StoreError>> + Send;

    /// Moves a referral from `from` to `to` (recording the step); `false` (nothing written) if it is
    /// no longer in `from` or `from` may not become `to` ([`TriageState::may_become`]): so of
    /// racing callers one moves it and the rest get `false`. Contact attempted sets the last contact; an outcome sets the decision
    /// time. Declining also erases what was received: the sealed fields, blind indexes and key.
    fn move_referral(
        &self,
        referral_id: Uuid,
        from: TriageState,
        to: TriageState,
        step: &ChangeStamp,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Accepts a referral still in `from`: creates the person (with their key and indexes) and opens
    /// their case, in one transaction. `false` (nothing written) if it moved meanwhile or `from` is
    /// not open: a referral is accepted once, however many callers race for it.
    #[allow(clippy::too_many_arguments)]
    fn accept_referral(
        &self,
        referral_id: Uuid,
        from: TriageState,
        person: &SealedPerson,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        case: &CaseRecord,
        step: &ChangeStamp,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// People of a service and its open referrals with any of these blind-index digests: possible
    /// duplicates, found without decrypting anything. `except` leaves out the asking referral.
    fn duplicate_candidates(
        &self,
        service_id: Uuid,
        digests: &[(IndexField, [u8; 16])],
        except: Option<Uuid>,
    ) -> impl Future<Output = Result<(Vec<Uuid>, Vec<Uuid>), StoreError>> + Send;
}

/// The recipient register, consent, restrictions, approvals and the disclosure log.
pub trait SharingStore: Send + Sync + 'static {
    /// Adds a recipient, or changes it (same id). A name already used in the organisation is a
    /// conflict.
    fn save_recipient(
        &self,
        recipient: &RecipientRecord,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn recipient(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<RecipientRecord>, StoreError>> + Send;

    /// The organisation's recipients, by name.
    fn recipients(
        &self,
        organisation_id: Uuid,
    ) -> impl Future<Output = Result<Vec<RecipientRecord>, StoreError>> + Send;

    /// Makes a processor's worker work for that processor (`None`: for none).
    fn set_staff_recipient(
        &self,
        staff_id: Uuid,
        recipient_id: Option<Uuid>,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn staff_recipient(
        &self,
        staff_id: Uuid,
    ) -> impl Future<Output = Result<Option<Uuid>, StoreError>> + Send;

    /// Adds a consent purpose to a service's form; a code already used there is a conflict.
    fn add_consent_purpose(
        &self,
        purpose: &ConsentPurposeRecord,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn consent_purposes(
        &self,
        service_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ConsentPurposeRecord>, StoreError>> + Send;

    /// Appends a consent decision (the history is never changed).
    fn add_consent(
        &self,
        consent: &ConsentRecord,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A person's consent history, oldest first.
    fn consents_of(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ConsentRecord>, StoreError>> + Send;

    /// Records a restriction or upheld objection; `Conflict` if one of that kind is already in force
    /// for the person (so of racing callers one records it).
    fn add_restriction(
        &self,
        restriction: &RestrictionRecord,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lifts a live restriction of this person; false if there is none with that id.
    fn lift_restriction(
        &self,
        id: Uuid,
        person_id: Uuid,
        lifted_by: &str,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn restrictions_of(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<RestrictionRecord>, StoreError>> + Send;

    /// Saves a request for approval with its sealed justification.
    fn create_approval(
        &self,
        approval: &ApprovalRecord,
        justification: &SealedFields,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Decides a pending request; false if it is not this person's or not pending.
    fn decide_approval(
        &self,
        id: Uuid,
        person_id: Uuid,
        state: ApprovalState,
        decided_by: &str,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn approval(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<(ApprovalRecord, SealedFields)>, StoreError>> + Send;

    /// A person's approval requests, newest first.
    fn approvals_of(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ApprovalRecord>, StoreError>> + Send;

    /// Writes a disclosure, what it contained, its sealed package and reasons, the processor's
    /// grant it opens (if any) and its audit event, in one transaction. An approval it uses is
    /// marked used in the same transaction; an approval already used is a conflict, and so is a
    /// person whose consent or restrictions no longer match `expected` (the rules' view).
    fn record_disclosure(
        &self,
        expected: SharingState,
        disclosure: &DisclosureRecord,
        items: &[DisclosedItem],
        sealed: &SealedFields,
        grant: Option<&GrantRecord>,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A person's disclosures, newest first.
    fn disclosures_of(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<DisclosureRecord>, StoreError>> + Send;

    /// A recipient's disclosures, newest first.
    fn disclosures_to(
        &self,
        recipient_id: Uuid,
    ) -> impl Future<Output = Result<Vec<DisclosureRecord>, StoreError>> + Send;

    /// Disclosures flagged for review (emergencies) in an organisation, oldest first.
    fn disclosures_to_review(
        &self,
        organisation_id: Uuid,
    ) -> impl Future<Output = Result<Vec<DisclosureRecord>, StoreError>> + Send;

    /// One disclosure with its items and its sealed package and reasons.
    fn disclosure(
        &self,
        id: Uuid,
    ) -> impl Future<
        Output = Result<Option<(DisclosureRecord, Vec<DisclosedItem>, SealedFields)>, StoreError>,
    > + Send;

    /// Ends a processor's referral: the disclosure's `ended_at` and its grant's revocation.
    fn end_disclosure(
        &self,
        id: Uuid,
        person_id: Uuid,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Signs off (or escalates) a disclosure flagged for review.
    fn review_disclosure(
        &self,
        id: Uuid,
        state: ReviewState,
        reviewed_by: &str,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The ids of a person's entries of these kinds, each with whether it is flagged as
    /// identifying a complainant or as could cause serious harm (no values: for checking a share).
    fn entry_flags(
        &self,
        person_id: Uuid,
        kinds: &[crate::field::RecordKind],
    ) -> impl Future<Output = Result<Vec<(Uuid, bool)>, StoreError>> + Send;

    /// The recipients that received any of these fields of the person (any of their data at all
    /// when `fields` is empty), from the disclosure log.
    fn recipients_of(
        &self,
        person_id: Uuid,
        fields: &[&str],
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;
}

/// Contact preferences and the message outbox.
pub trait ContactStore: Send + Sync + 'static {
    /// Records a new set of contact preferences (a new row; earlier ones stay) with its sealed code
    /// word, if any.
    fn set_contact_preferences(
        &self,
        preferences: &crate::contact::ContactPreferenceRecord,
        fields: &SealedFields,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The person's current preferences: codes and flags only, nothing sealed (not audited, like
    /// [`Store::placement`]; the checks that use it are part of an audited action).
    fn contact_preferences(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Option<crate::contact::ContactPreferenceRecord>, StoreError>> + Send;

    /// Every set of the person's preferences with its sealed fields, newest first.
    fn contact_preference_history(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<
        Output = Result<Vec<(crate::contact::ContactPreferenceRecord, SealedFields)>, StoreError>,
    > + Send;

    /// Puts a message in the outbox with its sealed address and body.
    fn queue_message(
        &self,
        message: &crate::message::MessageRecord,
        fields: &SealedFields,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A person's messages with their delivery log (oldest attempt first), newest message first.
    fn messages_of(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> impl Future<
        Output = Result<
            Vec<(
                crate::message::MessageRecord,
                Vec<crate::message::AttemptRecord>,
            )>,
            StoreError,
        >,
    > + Send;

    /// Messages due for an attempt at `now_micros` (queued ones; also texts waiting for a transport
    /// when `texts_sendable`), oldest first, at most `limit`. Ids and codes only.
    fn due_messages(
        &self,
        now_micros: i64,
        texts_sendable: bool,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<crate::message::MessageRecord>, StoreError>> + Send;

    /// Claims a due message for one attempt (pushes its next attempt to `lease_until_micros`) if it
    /// still has `expected_attempts`, and gives its sealed address and body; `None` if another
    /// sender got there first or it is no longer due.
    fn claim_message(
        &self,
        message_id: Uuid,
        expected_attempts: i64,
        now_micros: i64,
        lease_until_micros: i64,
    ) -> impl Future<Output = Result<Option<SealedFields>, StoreError>> + Send;

    /// Logs one attempt (numbered after the last one logged) and moves the message to `state` with `attempts` counted.
    fn record_attempt(
        &self,
        attempt: &crate::message::AttemptRecord,
        state: crate::message::MessageState,
        attempts: i64,
        next_attempt_at_micros: Option<i64>,
        finished_at_micros: Option<i64>,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Published privacy notices.
pub trait NoticeStore: Send + Sync + 'static {
    /// A service's notice versions, newest first.
    fn notice_versions(
        &self,
        service_code: &str,
    ) -> impl Future<Output = Result<Vec<NoticeVersion>, StoreError>> + Send;

    /// Publishes a new version; a version number already taken is a conflict.
    fn publish_notice(
        &self,
        version: &NoticeVersion,
        audit: &AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The ids of a service's people (no values): whom to tell of a new notice.
    fn people_ids_of_service(
        &self,
        service_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;
}

/// The audit chain: appending, reading, verifying and checkpoints.
pub trait AuditStore: Send + Sync + 'static {
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

    /// The head as recorded beside the chain (sequence number and hash), if any event exists. A head
    /// row that was deleted is a backend error here; verification reads [`Store::recorded_audit_head`].
    fn audit_head(&self) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;

    /// The head row as it is, a deleted one included, so that verification can give a verdict on it.
    fn recorded_audit_head(
        &self,
    ) -> impl Future<Output = Result<crate::audit::RecordedHead, StoreError>> + Send;

    /// Events about one person, newest first (for "who has seen this record").
    fn audit_events_for_subject(
        &self,
        subject_id: Uuid,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send;
}

///
/// It is the sum of the ports of each area, so an area asks for only what it needs.
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
        + AuditStore,
> Store for T
{
}

/// Every port, for calling the store's methods on a concrete store (the command line, tests).
pub mod prelude {
    pub use super::{
        AccountStore, AuditStore, ContactStore, GrantStore, KeyStore, NoticeStore, PersonStore,
        RecordStore, ReferralStore, SharingStore, StaffStore, Store,
    };
}
