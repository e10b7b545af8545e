//! The person's rights as stored: requests and each step of their clock (ids, codes and days only;
//! who asked on the person's behalf is a related person of their record, sealed there).

use std::future::Future;

use uuid::Uuid;

use super::{RelatedRecord, StoreError, TaskChange};
use crate::audit::AuditDraft;
use crate::kernel::codes::codes;

codes!(
    /// What a request asks for (UK GDPR Arts. 13 to 22).
    RightKind {
        Informed = "informed": "To be informed (what we do with their data)",
        Access = "access": "Access: a copy of their data",
        Rectification = "rectification": "Rectification: correcting their data",
        Erasure = "erasure": "Erasure: deleting their data",
        Restriction = "restriction": "Restriction: only storing their data",
        Objection = "objection": "Objection to how their data is used",
        Portability = "portability": "Portability: their data to take elsewhere",
        AutomatedDecision = "automated_decision": "About decisions made without a person",
        Complaint = "complaint": "A complaint about how their data is used",
    }
);

codes!(
    /// How a request arrived. It may be made to anyone, in any words, without citing the law.
    Channel {
        InPerson = "in_person": "In person",
        Phone = "phone": "By phone",
        Letter = "letter": "By letter",
        Email = "email": "By email",
        WebForm = "web_form": "Through a form on a website",
        Other = "other": "Another way",
    }
);

codes!(
    /// On what authority someone asks on the person's behalf.
    Authority {
        WrittenAuthority = "written_authority": "The person's written authority (a solicitor or advocate, say)",
        PowerOfAttorney = "power_of_attorney": "A lasting power of attorney",
        CourtDeputy = "court_deputy": "A deputy appointed by the Court of Protection",
        ParentalResponsibility = "parental_responsibility": "Parental responsibility for a child",
    }
);

codes!(
    /// How the requester's identity was confirmed (proportionate: not asked for when it is clear).
    IdentityCheck {
        KnownToStaff = "known_to_staff": "Known to the member of staff who took the request",
        ContactOnRecord = "contact_on_record": "Came from contact details on the record",
        DocumentsSeen = "documents_seen": "Identity documents seen",
        AuthoritySeen = "authority_seen": "The representative's identity and authority seen",
    }
);

codes!(
    /// Why a request was extended by two further months.
    ExtensionReason {
        Complex = "complex": "The request is complex",
        Numerous = "numerous": "It is one of several requests from the person",
    }
);

codes!(
    /// Where a request stands.
    RequestState {
        AwaitingIdentity = "awaiting_identity": "Waiting for identity to be confirmed",
        Open = "open": "Open: the clock is running",
        Stopped = "stopped": "Clock stopped: waiting for clarification",
        Answered = "answered": "Answered",
        Refused = "refused": "Refused, with the reasons and the right to complain to the ICO",
        Withdrawn = "withdrawn": "Withdrawn by the person",
    }
);

impl RequestState {
    /// Whether the request still waits for an answer.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RequestState::AwaitingIdentity | RequestState::Open | RequestState::Stopped
        )
    }
}

codes!(
    /// One step of a request's life, kept in order: what its clock rests on.
    RequestStep {
        Logged = "logged": "Logged",
        IdentityRequested = "identity_requested": "Identity asked for",
        IdentityConfirmed = "identity_confirmed": "Identity confirmed: the clock starts",
        ClockStopped = "clock_stopped": "Clarification asked for: the clock stops",
        ClockResumed = "clock_resumed": "Clarification received: the clock runs again",
        Extended = "extended": "Extended by two months, the person told why",
        Acknowledged = "acknowledged": "Complaint acknowledged",
        Answered = "answered": "Answered",
        Refused = "refused": "Refused",
        Withdrawn = "withdrawn": "Withdrawn",
    }
);

/// A rights request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RightsRequestRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service_id: Uuid,
    /// The person the request is about.
    pub person_id: Uuid,
    pub kind: RightKind,
    pub channel: Channel,
    /// Who asked on the person's behalf (a related person of their record), if not the person.
    pub representative_id: Option<Uuid>,
    pub authority: Option<Authority>,
    /// The UK day it was received, `YYYY-MM-DD`.
    pub received_on: String,
    pub state: RequestState,
    pub identity_check: Option<IdentityCheck>,
    /// Day one, once identity is confirmed (or was clear).
    pub start_on: Option<String>,
    pub stopped_days: u32,
    /// Since when the clock is stopped, while it is.
    pub stopped_on: Option<String>,
    pub extended_on: Option<String>,
    pub extension_reason: Option<ExtensionReason>,
    /// When it is due, once the clock has started (while stopped: as it stood when it stopped).
    pub due_on: Option<String>,
    /// Someone named as an alleged perpetrator in a record asks, or is asked about: nothing about
    /// a victim may reach them, and whoever handles it is told so.
    pub safety_review: bool,
    pub created_by: String,
    pub created_at_micros: i64,
    pub closed_on: Option<String>,
    /// A complaint's acknowledgement (DPA 2018 s.164A: within 30 days of receipt).
    pub acknowledged_on: Option<String>,
    /// Bumped by every step, so two people deciding at once cannot both win.
    pub version: i64,
}

/// One step of a request, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestStepRecord {
    pub id: Uuid,
    pub request_id: Uuid,
    pub step: RequestStep,
    /// The UK day it happened, `YYYY-MM-DD` (days are what the clock counts).
    pub on_day: String,
    /// A code saying more (the identity check, the extension's reason).
    pub detail: Option<String>,
    pub by: String,
    pub at_micros: i64,
}

/// The rights port.
pub trait RightsStore: Send + Sync {
    /// Logs a request with its first steps, its task and its audit event, in one transaction.
    fn log_rights_request(
        &self,
        request: &RightsRequestRecord,
        steps: &[RequestStepRecord],
        tasks: &[TaskChange],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Writes a request as it now stands, with its step, task changes and audit event, if it is
    /// still at `expected_version` (`request.version` is the new one). `false`, nothing written,
    /// when someone changed it first.
    fn step_rights_request(
        &self,
        request: &RightsRequestRecord,
        expected_version: i64,
        step: &RequestStepRecord,
        tasks: &[TaskChange],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One request of the organisation.
    fn rights_request(
        &self,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> impl Future<Output = Result<Option<RightsRequestRecord>, StoreError>> + Send;

    /// A request's steps, in order.
    fn rights_request_steps(
        &self,
        request_id: Uuid,
    ) -> impl Future<Output = Result<Vec<RequestStepRecord>, StoreError>> + Send;

    /// The requests in the given services: open ones by due date (those without one first), then
    /// at most `closed_limit` closed ones, newest first.
    fn rights_requests(
        &self,
        services: &[Uuid],
        closed_limit: u32,
    ) -> impl Future<Output = Result<Vec<RightsRequestRecord>, StoreError>> + Send;

    /// The requests about one person, newest first.
    fn rights_requests_about(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<RightsRequestRecord>, StoreError>> + Send;

    /// A related person of the person's record (ids and codes only), if it is one.
    fn related_link(
        &self,
        person_id: Uuid,
        related_id: Uuid,
    ) -> impl Future<Output = Result<Option<RelatedRecord>, StoreError>> + Send;

    /// Whether the person is named as an alleged perpetrator in any record.
    fn named_as_alleged_perpetrator(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
