//! An access request's bundle as stored: what the search found (each item by its source and id),
//! why an item was flagged, what was proposed and what the reviewer decided, the second check and
//! the release. Ids, codes and days only: the content is read from the record when it is shown or
//! released, never copied here.

use std::future::Future;

use uuid::Uuid;

use super::StoreError;
use crate::audit::AuditDraft;
use crate::kernel::codes::codes;

codes!(
    /// Where in the record an item of the bundle comes from: the search covers each of them.
    BundleSource {
        Field = "field": "The person's details",
        Case = "case": "Cases (episodes of support)",
        Entry = "entry": "Case notes, plans, goals, appointments and paper records",
        Document = "document": "Documents",
        Related = "related": "Related people",
        Referral = "referral": "Referrals",
        Consent = "consent": "Consents",
        Disclosure = "disclosure": "Disclosures (who was given what)",
        Message = "message": "Messages sent to the person",
    }
);

codes!(
    /// Why an item is flagged for the reviewer.
    ItemFlag {
        ThirdPartySource = "third_party_source": "Supplied by someone else",
        Complainant = "complainant": "Identifies a complainant",
        SeriousHarm = "serious_harm": "Flagged as could cause serious harm if disclosed",
        MentionsRelated = "mentions_related": "Mentions one of the record's related people by name",
        RelatedPerson = "related_person": "About a related person",
        Health = "health": "Health data",
        Paper = "paper": "Held on paper: retrieve it and review it",
        SafeContact = "safe_contact": "Safe contact details",
        Victim = "victim": "Names or locates someone who named this person as an alleged perpetrator",
        SafetyReview = "safety_review": "The request involves an alleged perpetrator: read it before it goes",
        File = "file": "A file: read it before it goes beside the copy",
    }
);

impl ItemFlag {
    /// Flags that propose withholding the item (the rest ask for a decision, proposing release).
    pub fn proposes_withholding(self) -> bool {
        matches!(
            self,
            ItemFlag::ThirdPartySource
                | ItemFlag::Complainant
                | ItemFlag::SeriousHarm
                | ItemFlag::MentionsRelated
                | ItemFlag::RelatedPerson
                | ItemFlag::Victim
        )
    }
}

codes!(
    /// The exemption an item is withheld under.
    Exemption {
        ThirdParty = "sch2_p16": "Information about another person (DPA 2018 Schedule 2, paragraph 16)",
        HealthSeriousHarm = "sch3_pt2": "Health data whose disclosure would likely cause serious harm (DPA 2018 Schedule 3, Part 2)",
        SocialWorkSeriousHarm = "sch3_pt3": "Social work data whose disclosure would likely cause serious harm (DPA 2018 Schedule 3, Part 3: only the bodies its paragraph 8 lists, mainly local authorities)",
        Crime = "sch2_p2": "Prevention or detection of crime (DPA 2018 Schedule 2, paragraph 2)",
        VictimSafety = "victim_safety": "Another person's data, kept from someone they named as an alleged perpetrator (DPA 2018 Schedule 2, paragraph 16)",
    }
);

codes!(
    /// A reviewer's decision on an item.
    Decision {
        Release = "release": "Release",
        Withhold = "withhold": "Withhold",
    }
);

codes!(
    /// Why an item is released or withheld: the legal test the reviewer applied.
    DecisionReason {
        NothingOfOthers = "nothing_of_others": "It holds nothing about anyone else",
        OtherConsented = "other_consented": "The other person consented",
        ReasonableWithoutConsent = "reasonable_without_consent": "Reasonable to release without the other person's consent (their information, any duty of confidence, consent sought, capacity, any refusal weighed)",
        ProfessionalInRole = "professional_in_role": "It is about a professional acting in their role",
        AlreadyKnown = "already_known": "The person has already seen it or knows it",
        OpinionNoHarm = "opinion_no_harm": "An appropriate health professional's opinion: releasing it would not cause serious harm",
        IdentifiesOther = "identifies_other": "It identifies another person, and releasing it without their consent is not reasonable",
        IdentifiesSource = "identifies_source": "It identifies someone as the source of information (a complainant or referrer)",
        OpinionSeriousHarm = "opinion_serious_harm": "An appropriate health professional's opinion: releasing it would likely cause serious harm",
        SocialWorkHarm = "social_work_harm": "Releasing it would likely cause serious harm and prejudice social work (only for the bodies DPA 2018 Schedule 3 paragraph 8 lists, mainly local authorities)",
        CrimePrejudice = "crime_prejudice": "Releasing it would likely prejudice preventing or detecting crime",
    }
);

impl DecisionReason {
    /// The decision this reason supports.
    pub fn decision(self) -> Decision {
        match self {
            DecisionReason::NothingOfOthers
            | DecisionReason::OtherConsented
            | DecisionReason::ReasonableWithoutConsent
            | DecisionReason::ProfessionalInRole
            | DecisionReason::AlreadyKnown
            | DecisionReason::OpinionNoHarm => Decision::Release,
            _ => Decision::Withhold,
        }
    }

    /// The exemption a withholding reason relies on.
    pub fn exemption(self) -> Option<Exemption> {
        match self {
            DecisionReason::IdentifiesOther | DecisionReason::IdentifiesSource => {
                Some(Exemption::ThirdParty)
            }
            DecisionReason::OpinionSeriousHarm => Some(Exemption::HealthSeriousHarm),
            DecisionReason::SocialWorkHarm => Some(Exemption::SocialWorkSeriousHarm),
            DecisionReason::CrimePrejudice => Some(Exemption::Crime),
            _ => None,
        }
    }

    /// Whether the reason rests on a health professional's opinion (which must be recorded).
    pub fn needs_opinion(self) -> bool {
        matches!(
            self,
            DecisionReason::OpinionNoHarm | DecisionReason::OpinionSeriousHarm
        )
    }
}

codes!(
    /// Whose opinion on serious harm was asked (DPA 2018 s.204: the appropriate health
    /// professional).
    Professional {
        Responsible = "responsible": "The health professional currently or most recently responsible for their care",
        Suitable = "suitable": "Another health professional with the experience and qualifications to advise",
    }
);

/// An access request's bundle, as stored: one per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleRecord {
    pub request_id: Uuid,
    pub compiled_by: String,
    pub compiled_at_micros: i64,
    /// The search manifest: each source searched, what was found and what was left out and why
    /// (counts and codes, JSON).
    pub manifest: String,
    pub checked_by: Option<String>,
    pub checked_at_micros: Option<i64>,
    pub released_by: Option<String>,
    pub released_at_micros: Option<i64>,
    /// The disclosure log entry of the released copy.
    pub disclosure_id: Option<Uuid>,
    /// Bumped by every change, so two reviewers at once cannot both win.
    pub version: i64,
}

/// One item of a bundle, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleItemRecord {
    pub request_id: Uuid,
    /// Its place in the bundle (the order it is shown and released in).
    pub position: i64,
    pub source: BundleSource,
    /// The field's code, or the item's id.
    pub reference: String,
    /// A keyed digest of the item as it read when searched (hex): what was reviewed.
    pub digest: String,
    pub flags: Vec<ItemFlag>,
    /// Proposed for withholding, under `exemption`.
    pub proposed_withhold: bool,
    pub exemption: Option<Exemption>,
    /// Kept back whatever anyone decides (a victim's data).
    pub locked: bool,
    pub decision: Option<Decision>,
    pub reason: Option<DecisionReason>,
    /// The UK day of the health professional's opinion, `YYYY-MM-DD`.
    pub opinion_on: Option<String>,
    pub opinion_by: Option<Professional>,
    pub decided_by: Option<String>,
    pub decided_at_micros: Option<i64>,
}

impl BundleItemRecord {
    /// The exemption it is withheld under: a victim's safety when locked, else the reviewer's
    /// reason's, else the proposal's.
    pub fn decision_exemption(&self) -> Option<Exemption> {
        if self.locked {
            return Some(Exemption::VictimSafety);
        }
        self.reason
            .and_then(DecisionReason::exemption)
            .or(self.exemption)
    }
}

/// The bundle port.
pub trait BundleStore: Send + Sync {
    /// Writes the bundle's header and the given items (replacing all of them when `replace`), with
    /// its audit event, if the stored bundle is at `expected_version` (`None`: there is none yet).
    /// `false`, nothing written, when someone changed it first.
    fn save_bundle(
        &self,
        bundle: &BundleRecord,
        items: &[BundleItemRecord],
        replace: bool,
        expected_version: Option<i64>,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A request's bundle with its items in order, if it has one.
    fn bundle(
        &self,
        request_id: Uuid,
    ) -> impl Future<Output = Result<Option<(BundleRecord, Vec<BundleItemRecord>)>, StoreError>> + Send;

    /// The referrals that became this person's record (metadata only), oldest first.
    fn referrals_about(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<super::ReferralRecord>, StoreError>> + Send;

    /// The records in which this person is named as an alleged perpetrator (ids only).
    fn victims_of(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;
}
