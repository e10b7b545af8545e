//! Erasure (UK GDPR Art. 17): the grounds on which the person has the right, and what can keep
//! their data despite it, weighed and recorded; on approval the record is destroyed as retention
//! destroys it ([`crate::keeping`]), and its certificate is what is left.
//!
//! Guarantees:
//! - Only an erasure request whose clock runs is decided, by those who answer it (`rights.manage`:
//!   the Data Protection Officer and the service's manager); only the Data Protection Officer
//!   erases (`person.shred`), so a service manager may refuse but not erase.
//! - Every exemption is weighed: any that applies refuses the request, naming each (the request
//!   stays, refused, with the codes on its step); so does none of the grounds applying. The person
//!   must be told why, with the right to complain to the ICO.
//! - Erasing is refused, saying why and changing nothing but its audit event, to anyone but the
//!   Data Protection Officer, while processing is restricted, while a legal hold or an open
//!   request that needs the data keeps the record, while the person has an open case they have not
//!   been told cannot continue without their record, and when the record changed after the
//!   decision read it (the recipients and cases it names were read with it).
//! - The destruction is the one of [`crate::keeping`], with the basis "erasure": keys, rows, search
//!   entries and the erasure ledger (so backups lose the record too) in one transaction, with the
//!   request's own rows. Its certificate names no one and states the request, the grounds, the
//!   exemptions weighed and the recipients the disclosure log shows received the person's data,
//!   with the ids of the disclosures each received (on the packages they hold), and a task asks
//!   the Data Protection Officer to tell them (Art. 19), in the same transaction.

use confidant_policy::{Action, Permit};
use uuid::Uuid;

use super::request::StepInput;
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::keeping::{Destroyed, ErasureDecided, ErasureLine, RecipientLine};
use crate::kernel::codes::{Code, codes};
use crate::person::{PersonError, Violation, Violations, access_of};
use crate::retention::uk_date;
use crate::store::{
    DestructionScope, RecipientKind, RequestState, RightKind, RightsRequestRecord, Store,
};
use crate::{Clock, Confidant};

codes!(
    /// The grounds on which the person has the right to erasure (UK GDPR Art. 17(1)).
    ErasureGround {
        NoLongerNeeded = "no_longer_needed": "No longer needed for the purposes it was collected for (Art. 17(1)(a))",
        ConsentWithdrawn = "consent_withdrawn": "The person withdrew their consent and nothing else allows the processing (Art. 17(1)(b))",
        Objected = "objected": "The person objected and no overriding legitimate grounds were found, or objected to direct marketing (Art. 17(1)(c))",
        Unlawful = "unlawful": "It was processed unlawfully (Art. 17(1)(d))",
        LegalDuty = "legal_duty": "The law requires it to be erased (Art. 17(1)(e))",
        ChildOnline = "child_online": "Collected from a child for an online service (Art. 17(1)(f))",
    }
);

codes!(
    /// What keeps the data despite a request for erasure (Art. 17(3)), each weighed by whoever
    /// decides.
    ErasureExemption {
        Expression = "expression": "It is needed for freedom of expression and information (Art. 17(3)(a))",
        LegalObligation = "legal_obligation": "The law requires it to be kept: a statutory retention period, a court order (Art. 17(3)(b))",
        Safeguarding = "safeguarding": "It is needed to protect a child or an adult at risk (safeguarding duties, Art. 17(3)(b))",
        PublicTask = "public_task": "It is needed for a task in the public interest or under official authority (Art. 17(3)(b))",
        PublicHealth = "public_health": "Public health (Art. 17(3)(c))",
        Archiving = "archiving": "Archiving in the public interest, research or statistics, which erasure would defeat (Art. 17(3)(d))",
        LegalClaims = "legal_claims": "It is needed to make or defend legal claims (Art. 17(3)(e))",
    }
);

/// The detail of a refused erasure's step when none of the grounds applies.
pub const NO_GROUND: &str = "no_ground";

/// An erasure decision as a form or the API gives it.
#[derive(Debug, Clone, Copy)]
pub struct ErasureInput<'a> {
    /// The grounds of Art. 17(1) that apply (codes of [`ErasureGround`]).
    pub grounds: &'a [&'a str],
    /// The exemptions that apply (codes of [`ErasureExemption`]); none, to erase.
    pub exemptions: &'a [&'a str],
    /// The person was told that an open case cannot continue without their record.
    pub case_told: bool,
    /// Why, in words kept on the certificate (naming no one) or with the refusal.
    pub reason: &'a str,
}

/// What the record holds that bears on erasing it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasureFacts {
    /// Legal holds in force, and open requests that need the data (access, say).
    pub kept: i64,
    /// Processing is restricted (Art. 18).
    pub restricted: bool,
    /// The person's open cases.
    pub open_cases: i64,
}

/// What was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureOutcome {
    /// Erase, on these grounds.
    Erase(Vec<ErasureGround>),
    /// Refused: these exemptions apply (or, when empty, none of the grounds does).
    Refuse(Vec<ErasureExemption>),
}

impl ErasureOutcome {
    /// The refused step's detail: the exemptions' codes, comma separated, or [`NO_GROUND`].
    pub fn refusal_detail(&self) -> Option<String> {
        match self {
            ErasureOutcome::Erase(_) => None,
            ErasureOutcome::Refuse(e) if e.is_empty() => Some(NO_GROUND.to_owned()),
            ErasureOutcome::Refuse(e) => {
                Some(e.iter().map(|x| x.code()).collect::<Vec<_>>().join(","))
            }
        }
    }
}

/// A refused erasure's step detail as people read it, if it is one.
pub fn refusal_text(detail: &str) -> Option<String> {
    if detail == NO_GROUND {
        return Some("Erasure refused: none of the grounds for erasure applies".to_owned());
    }
    let labels: Option<Vec<&str>> = detail
        .split(',')
        .map(|c| ErasureExemption::from_code(c).map(|e| e.label()))
        .collect();
    labels.map(|l| format!("Erasure refused: {}", l.join("; ")))
}

/// What a certificate's erasure line says, in words (the page and the PDF alike).
pub fn erasure_rows(line: &ErasureLine) -> Vec<(&'static str, String)> {
    let labels = |codes: &[String], label: fn(&str) -> Option<&'static str>| {
        codes
            .iter()
            .map(|c| label(c).unwrap_or(c.as_str()).to_owned())
            .collect::<Vec<_>>()
    };
    let grounds = labels(&line.grounds, |c| {
        ErasureGround::from_code(c).map(|g| g.label())
    });
    let weighed = labels(&line.exemptions_weighed, |c| {
        ErasureExemption::from_code(c).map(|e| e.label())
    });
    let recipients: Vec<String> = line
        .recipients
        .iter()
        .map(|r| {
            let ids: Vec<String> = r.disclosures.iter().map(Uuid::to_string).collect();
            format!("{} (disclosures {})", r.name, ids.join(", "))
        })
        .collect();
    let mut rows = vec![
        ("Request", line.request.to_string()),
        ("Received", line.received_on.clone()),
        ("Grounds found", grounds.join("; ")),
        ("Exemptions weighed, none applying", weighed.join("; ")),
    ];
    if line.open_case_told {
        rows.push((
            "Open case",
            "Ended: the person was told it could not continue without their record".to_owned(),
        ));
    }
    rows.push((
        "Recipients to tell (Art. 19)",
        if recipients.is_empty() {
            "None: the disclosure log showed no one had received the person's data".to_owned()
        } else {
            recipients.join("; ")
        },
    ));
    rows
}

/// Parses codes, each one known and named once.
fn codes_of<T: Code + PartialEq>(
    field: &'static str,
    given: &[&str],
    v: &mut Vec<Violation>,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for code in given {
        match T::from_code(code.trim()) {
            Some(c) if !out.contains(&c) => out.push(c),
            Some(_) => {}
            None => v.push(Violation::new(
                field,
                "holds something that is not one of the choices",
            )),
        }
    }
    out
}

/// The longest reason kept.
const REASON_MAX: usize = 2_000;

/// What an erasure request's input decides by itself: refused (an exemption applies, or no ground
/// does) or to be erased on its grounds, or every code that is not a choice.
pub fn outcome_of(input: &ErasureInput<'_>) -> Result<ErasureOutcome, Vec<Violation>> {
    let mut v = Vec::new();
    let grounds = codes_of::<ErasureGround>("grounds", input.grounds, &mut v);
    let exemptions = codes_of::<ErasureExemption>("exemptions", input.exemptions, &mut v);
    if !v.is_empty() {
        Err(v)
    } else if !exemptions.is_empty() || grounds.is_empty() {
        Ok(ErasureOutcome::Refuse(exemptions))
    } else {
        Ok(ErasureOutcome::Erase(grounds))
    }
}

/// The decision an erasure request's input makes on what the record holds, or every reason it
/// cannot be taken.
pub fn assess(
    input: &ErasureInput<'_>,
    facts: ErasureFacts,
) -> Result<ErasureOutcome, Vec<Violation>> {
    let outcome = outcome_of(input)?;
    if matches!(outcome, ErasureOutcome::Refuse(_)) {
        return Ok(outcome);
    }
    let mut v = Vec::new();
    // The reason goes on the certificate: only an erasure needs one (a refusal's are its codes).
    match crate::sharing::reason_text("reason", Some(input.reason)) {
        Ok(Some(r)) if r.chars().count() > REASON_MAX => v.push(Violation::new(
            "reason",
            format!("must be at most {REASON_MAX} characters"),
        )),
        Ok(Some(_)) => {}
        Ok(None) => v.push(Violation::new("reason", "is required")),
        Err(e) => v.push(e),
    }
    if facts.kept > 0 {
        v.push(Violation::new(
            "exemptions",
            "cannot all be left unticked while a legal hold, or an open request that needs the data, keeps this record: erase once the hold is released or the request answered, or refuse under the exemption that applies",
        ));
    }
    if facts.restricted {
        v.push(Violation::new(
            "grounds",
            "cannot be acted on while processing is restricted: the Data Protection Officer lifts the restriction, with its reason, before erasing",
        ));
    }
    if facts.open_cases > 0 && !input.case_told {
        v.push(Violation::new(
            "case_told",
            "must be ticked: the person has an open case, and must be told it cannot continue without their record",
        ));
    }
    if v.is_empty() { Ok(outcome) } else { Err(v) }
}

/// What an erasure decision did.
#[derive(Debug, Clone)]
pub enum ErasureDecision {
    /// The record is destroyed: its certificate.
    Erased(Box<Destroyed>),
    /// The request is refused, as it now stands.
    Refused(Box<RightsRequestRecord>),
}

/// What the page shows before deciding.
#[derive(Debug, Clone)]
pub struct ErasurePreview {
    pub request: RightsRequestRecord,
    pub facts: ErasureFacts,
    /// The recipients the disclosure log shows received the person's data (read for the Data
    /// Protection Officer, who erases; empty for others).
    pub recipients: Vec<RecipientLine>,
    /// The actor may erase (`person.shred`): the Data Protection Officer.
    pub may_erase: bool,
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// An erasure request open to decide (`rights.manage`).
    async fn erasure_request(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<RightsRequestRecord, PersonError> {
        let (request, _) = self
            .request_permit(actor, Action::RightsManage, organisation_id, request_id)
            .await?;
        if request.kind != RightKind::Erasure {
            return Err(PersonError::NotFound);
        }
        if request.state != RequestState::Open {
            return Err(PersonError::Conflict(match request.state {
                RequestState::AwaitingIdentity => {
                    "the requester's identity is not confirmed yet: confirm it first"
                }
                RequestState::Stopped => {
                    "the clock is stopped waiting for clarification: record it when it arrives"
                }
                _ => "this request is closed",
            }));
        }
        Ok(request)
    }

    /// What bears on erasing the record, read under the Data Protection Officer's permit to
    /// destroy it (each read audited): the scope (holds and requests keeping it among it), open
    /// cases, and who received the person's data, with the disclosures they received.
    async fn erasure_facts(
        &self,
        permit: &Permit,
    ) -> Result<(ErasureFacts, Vec<RecipientLine>, DestructionScope), PersonError> {
        let purpose = Purpose::Administration;
        let access = access_of(permit)?;
        let now = self.clock.now();
        let preview = AuditDraft::permitted(permit, purpose, now).named("person.destroy_preview");
        let scope = self
            .store
            .destruction_scope(&access, preview)
            .await?
            .ok_or(PersonError::NotFound)?;
        let cases = AuditDraft::permitted(permit, purpose, now).named("case.list");
        let open_cases = self
            .store
            .cases_of(&access, cases)
            .await?
            .iter()
            .filter(|c| c.closed_at_micros.is_none())
            .count();
        // The disclosure log, by recipient: each disclosure's id is what the recipient holds it
        // by, so they can be told what to erase once the record is gone.
        let log = AuditDraft::permitted(permit, purpose, now).named("disclosure.recipients");
        self.store.record_access(log).await?;
        let mut recipients: Vec<RecipientLine> = Vec::new();
        for d in self.store.disclosures_of(&access).await? {
            if let Some(line) = recipients.iter_mut().find(|r| r.id == d.recipient_id) {
                line.disclosures.push(d.id);
                continue;
            }
            if let Some(r) = self.store.recipient(d.recipient_id).await?
                && r.kind != RecipientKind::DataSubject
            {
                recipients.push(RecipientLine {
                    id: r.id,
                    name: r.name,
                    disclosures: vec![d.id],
                });
            }
        }
        recipients.sort_by(|a, b| a.name.cmp(&b.name));
        let facts = ErasureFacts {
            kept: scope.live_holds,
            restricted: false,
            open_cases: i64::try_from(open_cases).unwrap_or(i64::MAX),
        };
        Ok((facts, recipients, scope))
    }

    /// An erasure request with what bears on deciding it (`rights.manage`; what the record holds
    /// only for the Data Protection Officer, who alone erases).
    pub async fn erasure_preview(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<ErasurePreview, PersonError> {
        let request = self
            .erasure_request(actor, organisation_id, request_id)
            .await?;
        let person_id = request.person_id;
        let resource = self.store.placement(person_id).await?.map(|p| p.resource());
        let may_erase = resource.is_some_and(|r| self.allows(actor, Action::PersonShred, r));
        let (facts, recipients) = if !may_erase {
            (ErasureFacts::default(), Vec::new())
        } else if self.processing_restricted(person_id).await? {
            // Its destruction, and so the reads for it, are refused while it is restricted.
            let restricted = ErasureFacts {
                restricted: true,
                ..ErasureFacts::default()
            };
            (restricted, Vec::new())
        } else {
            let purpose = Purpose::Administration;
            let (permit, _) = self
                .permit_on_person(actor, Action::PersonShred, person_id, purpose)
                .await?;
            let (facts, recipients, _) = self.erasure_facts(&permit).await?;
            (facts, recipients)
        };
        Ok(ErasurePreview {
            request,
            facts,
            recipients,
            may_erase,
        })
    }

    /// Decides an erasure request: refused (an exemption applies, or no ground does), recorded as
    /// its refused step; or erased, destroying the record with its certificate.
    pub async fn decide_erasure(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
        input: ErasureInput<'_>,
    ) -> Result<ErasureDecision, PersonError> {
        let request = self
            .erasure_request(actor, organisation_id, request_id)
            .await?;
        let invalid = |v| PersonError::Invalid(Violations(v));
        // The codes alone first: a refusal needs nothing of the record.
        if let Some(detail) = outcome_of(&input).map_err(invalid)?.refusal_detail() {
            let today = uk_date(self.clock.now()).to_string();
            let step = StepInput {
                step: "refused",
                on: &today,
                detail: Some(&detail),
            };
            let refused = self
                .step_rights_request(actor, organisation_id, request_id, step)
                .await?;
            return Ok(ErasureDecision::Refused(Box::new(refused)));
        }
        let purpose = Purpose::Administration;
        // Only the Data Protection Officer erases, and not a restricted record: anyone else, and
        // a restricted record, refused here, audited, before anything of the record is read.
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonShred, request.person_id, purpose)
            .await?;
        let (facts, recipients, seen) = self.erasure_facts(&permit).await?;
        let grounds = match assess(&input, facts) {
            Ok(ErasureOutcome::Erase(grounds)) => grounds,
            Ok(ErasureOutcome::Refuse(_)) => {
                return Err(PersonError::Conflict("read the request again"));
            }
            Err(v) => {
                // Kept by a hold or an open request: recorded as a refused destruction, as
                // destroying it by hand would be.
                if facts.kept > 0 {
                    let _ = self.held(&permit, purpose).await?;
                }
                return Err(invalid(v));
            }
        };
        let line = ErasureLine {
            request: request.id,
            received_on: request.received_on.clone(),
            grounds: grounds.iter().map(|g| g.code().to_owned()).collect(),
            exemptions_weighed: ErasureExemption::ALL
                .iter()
                .map(|e| e.code().to_owned())
                .collect(),
            open_case_told: facts.open_cases > 0,
            recipients,
        };
        let erasure = ErasureDecided {
            line,
            version: request.version,
            seen,
        };
        let destroyed = self
            .destroy_for_erasure(
                purpose,
                (permit, resource),
                actor,
                input.reason.trim(),
                erasure,
            )
            .await?;
        Ok(ErasureDecision::Erased(Box::new(destroyed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(grounds: &'a [&'a str], exemptions: &'a [&'a str]) -> ErasureInput<'a> {
        ErasureInput {
            grounds,
            exemptions,
            case_told: false,
            reason: "Support ended; asked to be forgotten",
        }
    }

    fn fields(v: Vec<Violation>) -> Vec<&'static str> {
        v.iter().map(|v| v.field).collect()
    }

    #[test]
    fn a_ground_and_no_exemption_erases_and_any_exemption_refuses_naming_it() {
        let clear = ErasureFacts::default();
        assert_eq!(
            assess(&input(&["no_longer_needed"], &[]), clear),
            Ok(ErasureOutcome::Erase(vec![ErasureGround::NoLongerNeeded]))
        );
        let refused = assess(
            &input(&["consent_withdrawn"], &["safeguarding", "legal_claims"]),
            clear,
        )
        .expect("decided");
        assert_eq!(
            refused,
            ErasureOutcome::Refuse(vec![
                ErasureExemption::Safeguarding,
                ErasureExemption::LegalClaims
            ])
        );
        assert_eq!(
            refused.refusal_detail().as_deref(),
            Some("safeguarding,legal_claims")
        );
        let text = refusal_text("safeguarding,legal_claims").expect("decided");
        assert!(
            text.contains("adult at risk") && text.contains("legal claims"),
            "{text}"
        );
        // No ground: refused, whatever the record holds.
        let none = assess(&input(&[], &[]), ErasureFacts { kept: 1, ..clear }).expect("decided");
        assert_eq!(none.refusal_detail().as_deref(), Some(NO_GROUND));
        assert!(
            refusal_text(NO_GROUND)
                .expect("decided")
                .contains("none of the grounds")
        );
        assert_eq!(refusal_text("manifestly_excessive"), None);
        // A code named twice counts once.
        assert_eq!(
            assess(&input(&["unlawful", "unlawful"], &[]), clear),
            Ok(ErasureOutcome::Erase(vec![ErasureGround::Unlawful]))
        );
    }

    #[test]
    fn what_keeps_the_record_stops_erasing_but_not_refusing() {
        let held = ErasureFacts {
            kept: 1,
            ..Default::default()
        };
        assert_eq!(
            fields(assess(&input(&["unlawful"], &[]), held).expect_err("refused")),
            ["exemptions"]
        );
        assert!(matches!(
            assess(&input(&["unlawful"], &["legal_claims"]), held),
            Ok(ErasureOutcome::Refuse(_))
        ));
        let restricted = ErasureFacts {
            restricted: true,
            ..Default::default()
        };
        assert_eq!(
            fields(assess(&input(&["unlawful"], &[]), restricted).expect_err("refused")),
            ["grounds"]
        );
        let open_case = ErasureFacts {
            open_cases: 1,
            ..Default::default()
        };
        assert_eq!(
            fields(assess(&input(&["objected"], &[]), open_case).expect_err("refused")),
            ["case_told"]
        );
        let told = ErasureInput {
            case_told: true,
            ..input(&["objected"], &[])
        };
        assert!(matches!(
            assess(&told, open_case),
            Ok(ErasureOutcome::Erase(_))
        ));
        // Everything at once is said at once.
        let all = ErasureFacts {
            kept: 2,
            restricted: true,
            open_cases: 1,
        };
        assert_eq!(
            fields(assess(&input(&["unlawful"], &[]), all).expect_err("refused")),
            ["exemptions", "grounds", "case_told"]
        );
    }

    #[test]
    fn bad_input_is_named_field_by_field() {
        let clear = ErasureFacts::default();
        let bad = input(&["forgotten"], &["because"]);
        assert_eq!(
            fields(assess(&bad, clear).expect_err("refused")),
            ["grounds", "exemptions"]
        );
        // Erasing needs its reason, kept on the certificate; a refusal's reasons are its codes.
        for reason in ["  ", "too short", &"x".repeat(REASON_MAX + 1)] {
            let erase = ErasureInput {
                reason,
                ..input(&["unlawful"], &[])
            };
            assert_eq!(
                fields(assess(&erase, clear).expect_err("refused")),
                ["reason"],
                "{reason:?}"
            );
            let refuse = ErasureInput {
                reason,
                ..input(&["unlawful"], &["archiving"])
            };
            assert!(assess(&refuse, clear).is_ok(), "{reason:?}");
        }
    }
}
