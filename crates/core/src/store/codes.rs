//! Each service's configuration and the codes the records use (each with its label).

use super::*;
use crate::kernel::codes::codes;

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
    /// Why a closed case is opened again.
    ReopenReason {
        Returned = "returned": "They asked for support again",
        NotFinished = "not_finished": "Support was not finished",
        ClosedInError = "closed_in_error": "It was closed by mistake",
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
        RecordedTwice = "recorded_twice": "Recorded twice (a duplicate record)",
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

codes!(
    /// Why a value in a record was corrected (kept beside the earlier value).
    CorrectionReason {
        Typo = "typo": "A typing mistake",
        WrongDetail = "wrong_detail": "A detail was wrong",
        Incomplete = "incomplete": "Something was missing",
        PersonAsked = "person_asked": "The person asked for it to be corrected",
        /// Kept from a record merged into this one (never given by hand).
        Merged = "merged": "Kept from a record merged into this one",
    }
);

codes!(
    /// Why an entry was marked as entered in error.
    ErrorReason {
        WrongRecord = "wrong_record": "Written on the wrong person's record",
        Duplicate = "duplicate": "Recorded twice",
        DidNotHappen = "did_not_happen": "Describes something that did not happen",
    }
);
