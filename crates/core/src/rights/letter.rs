//! The letters a request's steps send the person (part 8): the acknowledgement with the date the
//! law gives, a request for proof of identity or for clarification (the clock paused), an
//! extension with its reason and new date, a refusal with its reasons and the routes to the
//! Information Commissioner and the courts, the response, a withdrawal confirmed; and for a
//! complaint its acknowledgement and outcome.
//!
//! Guarantees:
//! - A letter is made from the request's codes and days, the step and the sender alone: it names
//!   no one (not the person, not whoever asked for them, not anyone in the record), so it can
//!   never tell a third party's details; whoever sends it adds the address, from the person's safe
//!   contact details.
//! - Its dates are UK days in words; a due date is the clock's ([`super::clock`]) for the step as
//!   it was taken (an acknowledgement states the first month, an extension the three months).
//! - Only those who answer the request (`rights.manage`) make one, audited on the request.

use confidant_policy::Action;
use time::Date;
use uuid::Uuid;

use super::clock::{DueRule, due};
use super::erasure::refusal_text;
use super::request::RefusalGround;
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::person::PersonError;
use crate::store::{
    ExtensionReason, RequestStep, RequestStepRecord, RightKind, RightsRequestRecord, Store,
};
use crate::uk_time::{day_text, iso_day};
use crate::{Clock, Confidant};

/// A letter to the person, as plain texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// Who sends it (the organisation).
    pub sender: String,
    /// The UK day of the step, in words.
    pub dated: String,
    /// The request's short reference.
    pub reference: String,
    pub title: String,
    pub paragraphs: Vec<String>,
}

/// What the request asks, as a letter says it.
fn asks(kind: RightKind) -> &'static str {
    match kind {
        RightKind::Informed => "to be told what we do with your information",
        RightKind::Access => "for a copy of your information",
        RightKind::Rectification => "to correct your information",
        RightKind::Erasure => "to delete your information",
        RightKind::Restriction => "to limit how we use your information",
        RightKind::Objection => "objecting to how we use your information",
        RightKind::Portability => "for your information in a form you can take elsewhere",
        RightKind::AutomatedDecision => "about decisions made about you without a person",
        RightKind::Complaint => "about how we use your information",
    }
}

/// Where the person can go next: the Information Commissioner, and the courts.
pub const ICO_ROUTE: &str = "If you are unhappy with how we have handled this, you have the right to complain to the Information Commissioner's Office (ico.org.uk/make-a-complaint, telephone 0303 123 1113), and to ask a court to enforce your rights.";

/// Why a request was refused, as a letter says it.
fn refusal_reason(detail: Option<&str>) -> String {
    match detail {
        Some(d) => match RefusalGround::from_code(d) {
            Some(RefusalGround::ManifestlyUnfounded) => {
                "the request is manifestly unfounded, so the law does not require us to act on it"
                    .to_owned()
            }
            Some(RefusalGround::ManifestlyExcessive) => {
                "the request is manifestly excessive, so the law does not require us to act on it"
                    .to_owned()
            }
            Some(RefusalGround::Exemption) => {
                "an exemption in the Data Protection Act 2018 applies to the information the request concerns"
                    .to_owned()
            }
            None => refusal_text(d).map_or_else(
                || "the law does not require us to act on it".to_owned(),
                |t| t.trim_start_matches("Erasure refused: ").to_lowercase(),
            ),
        },
        None => "the law does not require us to act on it".to_owned(),
    }
}

/// The letter a step sends, if it sends one: `due` is the date the law gives as of that step
/// (for an acknowledgement, a confirmed identity or an extension).
pub fn letter(
    request: &RightsRequestRecord,
    step: &RequestStepRecord,
    sender: &str,
    due: Option<Date>,
) -> Option<Letter> {
    let received = iso_day(&request.received_on).map_or_else(String::new, day_text);
    let on = iso_day(&step.on_day).map_or_else(String::new, day_text);
    let what = asks(request.kind);
    let by = due.map_or_else(
        || "within one calendar month".to_owned(),
        |d| format!("by {} at the latest", day_text(d)),
    );
    let complaint = request.kind == RightKind::Complaint;
    let (title, paragraphs): (&str, Vec<String>) = match step.step {
        // Logging a request is followed, the same day, by identity confirmed or asked for (each
        // with its letter); a complaint is acknowledged by its own step.
        RequestStep::Logged | RequestStep::ClockResumed => return None,
        RequestStep::IdentityConfirmed => (
            "We have received your request",
            vec![
                format!("We received your request {what} on {received}."),
                if step.on_day == request.received_on {
                    format!("We will respond {by}.")
                } else {
                    format!("Thank you for confirming who you are, on {on}. We will respond {by}.")
                },
                "If we need more information to find what you asked for, we will ask you, and the time we have to respond pauses until you reply.".to_owned(),
            ],
        ),
        RequestStep::IdentityRequested => (
            "Before we act on your request: confirming who you are",
            vec![
                format!("We received your request {what} on {received}."),
                "Before we act on it we need to be sure who you are, so that your information goes only to you. Please send us, or show us, proof of your identity, or of your authority if you ask on someone else's behalf.".to_owned(),
                "The time we have to respond starts on the day we confirm who you are.".to_owned(),
            ],
        ),
        RequestStep::ClockStopped => (
            "We need more information to answer your request",
            vec![
                format!("To answer your request {what}, received on {received}, we need you to tell us more about what you are asking for: for example, the dates or the parts of your support it concerns."),
                format!("Please reply to this letter. The time we have to respond is paused from {on} until we receive your reply, and runs again from then."),
            ],
        ),
        RequestStep::Extended => (
            "We need more time to answer your request",
            vec![
                format!(
                    "We need more time to answer your request {what}, received on {received}, because {}.",
                    match step.detail.as_deref().and_then(ExtensionReason::from_code) {
                        Some(ExtensionReason::Numerous) => "it is one of several requests you have made to us",
                        _ => "it is complex",
                    }
                ),
                format!("The law allows us up to two further months. We will respond {by}."),
            ],
        ),
        RequestStep::Acknowledged => (
            "We have received your complaint",
            vec![
                format!("We received your complaint {what} on {received}."),
                "We are looking into it, and will write to tell you what we found and what we will do.".to_owned(),
            ],
        ),
        RequestStep::Answered if complaint => (
            "The outcome of your complaint",
            vec![
                format!("We have looked into your complaint {what}, received on {received}. What we found and what we will do follow with this letter."),
                ICO_ROUTE.to_owned(),
            ],
        ),
        RequestStep::Answered => (
            "Our response to your request",
            vec![
                format!("This is our response to your request {what}, received on {received}."),
                if request.kind == RightKind::Access {
                    "With this letter is the copy of your information and how we use it: why, who we share it with, how long we keep it, where it came from and your rights. Where the law required us to withhold something, to protect someone else or you, the copy says under which exemption.".to_owned()
                } else {
                    "We have done what you asked, as the rest of this response explains.".to_owned()
                },
                ICO_ROUTE.to_owned(),
            ],
        ),
        RequestStep::Refused => (
            "Our decision on your request",
            vec![
                format!("We have decided not to act on your request {what}, received on {received}."),
                format!("This is because {}.", refusal_reason(step.detail.as_deref())),
                ICO_ROUTE.to_owned(),
            ],
        ),
        RequestStep::Withdrawn => (
            "Your request is closed",
            vec![
                format!("As you asked, we have closed your request {what}, received on {received}."),
                "You can make a new request at any time, in any words, to any of our staff.".to_owned(),
            ],
        ),
    };
    Some(Letter {
        sender: sender.to_owned(),
        dated: on,
        reference: request.id.to_string()[..8].to_uppercase(),
        title: title.to_owned(),
        paragraphs,
    })
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The letter one of a request's steps sends (`rights.manage` on its service), from the
    /// organisation, audited on the request; `None` for a step that sends none.
    pub async fn rights_letter(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
        step_id: Uuid,
    ) -> Result<Option<Letter>, PersonError> {
        let (request, permit) = self
            .request_permit(actor, Action::RightsManage, organisation_id, request_id)
            .await?;
        let steps = self.store.rights_request_steps(request_id).await?;
        let step = steps
            .iter()
            .find(|s| s.id == step_id)
            .ok_or(PersonError::NotFound)?;
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("rights.letter")
            .on("rights_request", request_id);
        self.store.record_access(audit).await?;
        let sender = self
            .store
            .organisation(organisation_id)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let due = self.due_as_stepped(&request, step).await?;
        Ok(letter(&request, step, &sender, due))
    }

    /// The date the law gives as of `step`: one month from the day identity was confirmed (for
    /// an acknowledgement), three from day one with the days stopped so far (for an extension).
    async fn due_as_stepped(
        &self,
        request: &RightsRequestRecord,
        step: &RequestStepRecord,
    ) -> Result<Option<Date>, PersonError> {
        let (start, extended) = match step.step {
            RequestStep::IdentityConfirmed => (iso_day(&step.on_day), false),
            RequestStep::Extended => (request.start_on.as_deref().and_then(iso_day), true),
            _ => return Ok(None),
        };
        let Some(start) = start else {
            return Ok(None);
        };
        let (limit_days, division) = self.clock_of(request.service_id).await?;
        let rule = DueRule {
            start,
            stopped_days: if extended { request.stopped_days } else { 0 },
            extended,
            limit_days,
        };
        // A date past the bank holidays known: the letter says "within one calendar month".
        Ok(due(&rule, self.bank_holidays(), division)
            .ok()
            .map(|d| d.date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Channel, IdentityCheck, RequestState};
    use time::macros::date;

    fn request(kind: RightKind, identity: Option<IdentityCheck>) -> RightsRequestRecord {
        RightsRequestRecord {
            id: Uuid::parse_str("0192a4b0-1111-7000-8000-000000000000").expect("an id"),
            organisation_id: Uuid::nil(),
            service_id: Uuid::nil(),
            person_id: Uuid::nil(),
            kind,
            channel: Channel::Letter,
            representative_id: Some(Uuid::nil()),
            authority: None,
            received_on: "2026-11-20".to_owned(),
            state: RequestState::Open,
            identity_check: identity,
            start_on: Some("2026-11-20".to_owned()),
            stopped_days: 0,
            stopped_on: None,
            extended_on: None,
            extension_reason: None,
            due_on: None,
            safety_review: false,
            created_by: "staff".to_owned(),
            created_at_micros: 0,
            closed_on: None,
            acknowledged_on: None,
            version: 1,
        }
    }

    fn step(step: RequestStep, detail: Option<&str>) -> RequestStepRecord {
        RequestStepRecord {
            id: Uuid::nil(),
            request_id: Uuid::nil(),
            step,
            on_day: "2026-11-23".to_owned(),
            detail: detail.map(str::to_owned),
            by: "staff".to_owned(),
            at_micros: 0,
        }
    }

    fn text(l: &Letter) -> String {
        format!("{} {}", l.title, l.paragraphs.join(" "))
    }

    #[test]
    fn each_step_that_must_be_told_has_its_letter_with_what_the_law_asks() {
        let access = request(RightKind::Access, Some(IdentityCheck::KnownToStaff));
        let due = Some(date!(2026 - 12 - 21));
        let ack = letter(
            &access,
            &step(RequestStep::IdentityConfirmed, None),
            "The Trust",
            due,
        )
        .expect("an acknowledgement");
        assert_eq!(ack.sender, "The Trust");
        assert_eq!(ack.reference, "0192A4B0");
        assert_eq!(ack.dated, "Monday 23 November 2026");
        let said = text(&ack);
        assert!(
            said.contains("for a copy of your information on Friday 20 November 2026"),
            "{said}"
        );
        assert!(
            said.contains("by Monday 21 December 2026 at the latest"),
            "{said}"
        );
        // Without a date the law's words stand.
        let undated = letter(
            &access,
            &step(RequestStep::IdentityConfirmed, None),
            "T",
            None,
        )
        .expect("one");
        assert!(text(&undated).contains("within one calendar month"));

        let extended = text(
            &letter(
                &access,
                &step(RequestStep::Extended, Some("numerous")),
                "T",
                due,
            )
            .expect("an extension"),
        );
        assert!(extended.contains("one of several requests"), "{extended}");
        assert!(extended.contains("two further months"), "{extended}");

        let stopped =
            text(&letter(&access, &step(RequestStep::ClockStopped, None), "T", None).expect("one"));
        assert!(
            stopped.contains("paused from Monday 23 November 2026"),
            "{stopped}"
        );

        for (detail, reason) in [
            ("manifestly_excessive", "manifestly excessive"),
            ("exemption", "an exemption in the Data Protection Act 2018"),
        ] {
            let refused = text(
                &letter(
                    &access,
                    &step(RequestStep::Refused, Some(detail)),
                    "T",
                    None,
                )
                .expect("a refusal"),
            );
            assert!(refused.contains(reason), "{refused}");
            assert!(
                refused.contains("ico.org.uk/make-a-complaint") && refused.contains("court"),
                "{refused}"
            );
        }
        let erasure = request(RightKind::Erasure, Some(IdentityCheck::KnownToStaff));
        let refused = text(
            &letter(
                &erasure,
                &step(RequestStep::Refused, Some("safeguarding,legal_claims")),
                "T",
                None,
            )
            .expect("a refusal"),
        );
        assert!(refused.contains("to delete your information"), "{refused}");
        assert!(
            refused.contains("adult at risk") && refused.contains("legal claims"),
            "{refused}"
        );

        let answered =
            text(&letter(&access, &step(RequestStep::Answered, None), "T", None).expect("one"));
        assert!(
            answered.contains("the copy of your information"),
            "{answered}"
        );
        assert!(answered.contains(ICO_ROUTE));
    }

    #[test]
    fn steps_that_tell_nothing_send_nothing_and_a_complaint_has_its_own() {
        let waiting = request(RightKind::Access, None);
        assert!(letter(&waiting, &step(RequestStep::Logged, None), "T", None).is_none());
        let asked = text(
            &letter(
                &waiting,
                &step(RequestStep::IdentityRequested, None),
                "T",
                None,
            )
            .expect("one"),
        );
        assert!(asked.contains("proof of your identity"), "{asked}");
        assert!(letter(&waiting, &step(RequestStep::ClockResumed, None), "T", None).is_none());

        let complaint = request(RightKind::Complaint, None);
        assert!(letter(&complaint, &step(RequestStep::Logged, None), "T", None).is_none());
        let ack = text(
            &letter(
                &complaint,
                &step(RequestStep::Acknowledged, None),
                "T",
                None,
            )
            .expect("one"),
        );
        assert!(
            ack.contains("We received your complaint about how we use your information"),
            "{ack}"
        );
        let outcome =
            text(&letter(&complaint, &step(RequestStep::Answered, None), "T", None).expect("one"));
        assert!(
            outcome.contains("The outcome of your complaint") && outcome.contains(ICO_ROUTE),
            "{outcome}"
        );
    }

    #[test]
    fn a_letter_names_no_one_whoever_asked() {
        // Made from codes and days alone: the same letter whoever asked, naming nobody.
        let mut theirs = request(RightKind::Access, Some(IdentityCheck::AuthoritySeen));
        let mut own = theirs.clone();
        own.representative_id = None;
        theirs.safety_review = true;
        for s in RequestStep::ALL {
            let a = letter(&theirs, &step(s, None), "T", None);
            let b = letter(&own, &step(s, None), "T", None);
            assert_eq!(a, b, "{s:?}");
        }
    }
}
