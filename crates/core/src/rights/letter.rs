//! The letters a request's steps send the person (part 8): the acknowledgement with the date the
//! law gives, a request for proof of identity or for clarification (the clock paused), an
//! extension with its reason and new date, a refusal with its reasons and the routes to the
//! Information Commissioner and the courts, the response, a withdrawal confirmed; and for a
//! complaint its acknowledgement and outcome.
//!
//! Guarantees:
//! - A letter is made from the request's codes and days, the step and the sender alone: it names
//!   no one (not the person, not whoever asked for them, not anyone in the record); whoever sends
//!   it adds the address, from the person's safe contact details. A request under safety review
//!   (an alleged perpetrator asks, or is asked about) is never told that safeguarding is the
//!   reason for a refusal: only that an exemption applies.
//! - It is dated the UK day it is made, and states the step's own day; a due date is the clock's
//!   ([`super::clock`]) from the step's day one (an acknowledgement states the first month, an
//!   extension the three months with the days stopped as the request now stands); where the bank
//!   holidays do not reach it, the letter says the law's period in words.
//! - Only those who answer the request (`rights.manage`) make one, audited on the request.

use confidant_policy::Action;
use time::Date;
use uuid::Uuid;

use super::clock::{DueRule, due};
use super::erasure::{ErasureExemption, NO_GROUND};
use super::request::RefusalGround;
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::person::PersonError;
use crate::retention::uk_date;
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
pub const ICO_ROUTE: &str = "If you are unhappy with how we have handled this, please tell us first, and we will look into it. You also have the right to complain to the Information Commissioner's Office (ico.org.uk/make-a-complaint; telephone 0303 123 1113; Wycliffe House, Water Lane, Wilmslow, Cheshire SK9 5AF), and to ask a court to enforce your rights.";

/// Why an erasure was refused, as a letter says it.
fn exemption_reason(e: ErasureExemption) -> &'static str {
    match e {
        ErasureExemption::Expression => {
            "we need to keep it to exercise the right of freedom of expression and information"
        }
        ErasureExemption::LegalObligation => "the law requires us to keep it",
        ErasureExemption::Safeguarding => {
            "we need to keep it to protect a child or an adult at risk"
        }
        ErasureExemption::PublicTask => {
            "we need it for a task we carry out in the public interest or under official authority"
        }
        ErasureExemption::PublicHealth => "we need to keep it for reasons of public health",
        ErasureExemption::Archiving => {
            "we keep it for archiving in the public interest, research or statistics, which deleting it would seriously harm"
        }
        ErasureExemption::LegalClaims => "we need it to make or defend legal claims",
    }
}

/// Why a request was refused, as a letter says it: under safety review, an exemption is named as
/// such, never safeguarding.
fn refusal_reason(detail: Option<&str>, safety_review: bool) -> String {
    let any_exemption =
        "an exemption in the data protection law applies to the information the request concerns";
    let Some(d) = detail else {
        return any_exemption.to_owned();
    };
    match RefusalGround::from_code(d) {
        Some(RefusalGround::ManifestlyUnfounded) => {
            "the request is manifestly unfounded, so the law does not require us to act on it"
                .to_owned()
        }
        Some(RefusalGround::ManifestlyExcessive) => {
            "the request is manifestly excessive, so the law does not require us to act on it"
                .to_owned()
        }
        Some(RefusalGround::Exemption) => any_exemption.to_owned(),
        None if d == NO_GROUND => {
            "none of the grounds on which the law gives the right to have information deleted applies"
                .to_owned()
        }
        None => {
            let reasons: Option<Vec<ErasureExemption>> =
                d.split(',').map(ErasureExemption::from_code).collect();
            match reasons {
                Some(r) if safety_review && r.contains(&ErasureExemption::Safeguarding) => {
                    any_exemption.to_owned()
                }
                Some(r) if !r.is_empty() => r
                    .into_iter()
                    .map(exemption_reason)
                    .collect::<Vec<_>>()
                    .join("; and "),
                _ => any_exemption.to_owned(),
            }
        }
    }
}

/// The letter a step sends, if it sends one, made on `today`: `due` is the date the law gives as
/// of that step (for an acknowledgement or an extension); `copy` says an access request's copy was
/// released with the response.
pub fn letter(
    request: &RightsRequestRecord,
    step: &RequestStepRecord,
    sender: &str,
    (today, due, copy): (Date, Option<Date>, bool),
) -> Option<Letter> {
    let received = iso_day(&request.received_on).map_or_else(String::new, day_text);
    let on = iso_day(&step.on_day).map_or_else(String::new, day_text);
    let what = asks(request.kind);
    let complaint = request.kind == RightKind::Complaint;
    let access = request.kind == RightKind::Access;
    let by = |months: &str| {
        due.map_or_else(
            || format!("within {months} of the day the time started"),
            |d| format!("by {} at the latest", day_text(d)),
        )
    };
    let (title, paragraphs): (&str, Vec<String>) = match step.step {
        // Logging a request is followed, the same day, by identity confirmed or asked for (each
        // with its letter); a complaint is acknowledged by its own step, and has no month.
        RequestStep::Logged | RequestStep::ClockResumed => return None,
        RequestStep::IdentityConfirmed | RequestStep::IdentityRequested if complaint => {
            return None;
        }
        RequestStep::IdentityConfirmed => {
            let mut p = vec![
                format!("We received your request {what} on {received}."),
                if step.on_day == request.received_on {
                    format!("We will respond {}.", by("one calendar month"))
                } else {
                    format!(
                        "We received what confirms who you are on {on}. We will respond {}.",
                        by("one calendar month")
                    )
                },
            ];
            if access {
                p.push("If we need more information to find what you asked for, we will ask you, and the time we have to respond pauses until you reply.".to_owned());
            }
            ("We have received your request", p)
        }
        RequestStep::IdentityRequested => (
            "Before we act on your request: confirming who you are",
            vec![
                format!("We received your request {what} on {received}."),
                "Before we act on it we need to be sure who you are, so that your information goes only to you. Please send us, or show us, proof of your identity, or of your authority if you ask on someone else's behalf.".to_owned(),
                "The time we have to respond starts on the day we receive it.".to_owned(),
            ],
        ),
        RequestStep::ClockStopped => {
            let mut p = vec![
                format!("To answer your request {what}, received on {received}, we need you to tell us more about what you are asking for: for example, the dates or the parts of your support it concerns."),
            ];
            p.push(if access {
                format!("Please reply to this letter. The time we have to respond is paused from {on} until we receive your reply, and runs again from then.")
            } else {
                "Please reply to this letter.".to_owned()
            });
            ("We need more information to answer your request", p)
        }
        RequestStep::Extended => {
            let why = match step.detail.as_deref().and_then(ExtensionReason::from_code) {
                Some(ExtensionReason::Numerous) => "it is one of several requests you have made to us",
                Some(ExtensionReason::Complex) | None => "it is complex",
            };
            (
                "We need more time to answer your request",
                vec![
                    format!("We need more time to answer your request {what}, received on {received}, because {why}."),
                    format!(
                        "The law allows us up to two further months. We will respond {}.",
                        by("three calendar months")
                    ),
                ],
            )
        }
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
                if access && copy {
                    "With this letter is the copy of your information and how we use it: why, who we share it with, how long we keep it, where it came from and your rights. Where the law required us to withhold something, to protect someone else or you, the copy says under which exemption.".to_owned()
                } else {
                    "What we have done, and why, follows with this letter.".to_owned()
                },
                ICO_ROUTE.to_owned(),
            ],
        ),
        RequestStep::Refused => (
            "Our decision on your request",
            vec![
                format!("We have decided not to act on your request {what}, received on {received}."),
                format!(
                    "This is because {}.",
                    refusal_reason(step.detail.as_deref(), request.safety_review)
                ),
                ICO_ROUTE.to_owned(),
            ],
        ),
        RequestStep::Withdrawn => (
            if complaint { "Your complaint is closed" } else { "Your request is closed" },
            vec![
                format!(
                    "We have closed your {} {what}, received on {received}, which was withdrawn on {on}.",
                    if complaint { "complaint" } else { "request" }
                ),
                "You can make a new request or complaint at any time, in any words, to any of our staff.".to_owned(),
            ],
        ),
    };
    let mut paragraphs = paragraphs;
    if step.on_day != today.to_string() && !matches!(step.step, RequestStep::Withdrawn) {
        paragraphs.insert(0, format!("This letter is about what happened on {on}."));
    }
    Some(Letter {
        sender: sender.to_owned(),
        dated: day_text(today),
        reference: reference(request.id),
        title: title.to_owned(),
        paragraphs,
    })
}

/// A request's reference in letters and on its page: the random end of its id, so two requests
/// made in the same moment differ and it says nothing of when.
pub fn reference(request_id: Uuid) -> String {
    let id = request_id.simple().to_string();
    id[id.len() - 10..].to_uppercase()
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The letter one of a request's steps sends (`rights.manage` on its service), from the
    /// organisation, made today and audited on the request; `None` for a step that sends none.
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
        let sender = self
            .store
            .organisation(organisation_id)
            .await?
            .map(|o| o.name)
            .ok_or(PersonError::NotFound)?;
        let due = self.due_as_stepped(&request, step).await?;
        let copy = request.kind == RightKind::Access
            && self
                .store
                .bundle(request_id)
                .await?
                .is_some_and(|(b, _)| b.disclosure_id.is_some());
        let now = self.clock.now();
        let Some(made) = letter(&request, step, &sender, (uk_date(now), due, copy)) else {
            return Ok(None);
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
            .named("rights.letter")
            .on("rights_request", request_id);
        self.store.record_access(audit).await?;
        Ok(Some(made))
    }

    /// The date the law gives as of `step`: one month from the day identity was confirmed (for
    /// an acknowledgement), three from day one with the days stopped so far (for an extension).
    async fn due_as_stepped(
        &self,
        request: &RightsRequestRecord,
        step: &RequestStepRecord,
    ) -> Result<Option<Date>, PersonError> {
        let (start, extended) = match step.step {
            RequestStep::IdentityConfirmed if request.kind != RightKind::Complaint => {
                (iso_day(&step.on_day), false)
            }
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

    const TODAY: Date = date!(2026 - 11 - 23);

    fn request(kind: RightKind, identity: Option<IdentityCheck>) -> RightsRequestRecord {
        RightsRequestRecord {
            id: Uuid::parse_str("0192a4b0-1111-7000-8000-00000000abcd").expect("an id"),
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

    fn said(r: &RightsRequestRecord, s: &RequestStepRecord, due: Option<Date>) -> String {
        let l = letter(r, s, "T", (TODAY, due, false)).expect("a letter");
        format!("{} {}", l.title, l.paragraphs.join(" "))
    }

    #[test]
    fn an_acknowledgement_states_the_date_the_law_gives_and_is_dated_the_day_it_is_made() {
        let access = request(RightKind::Access, Some(IdentityCheck::KnownToStaff));
        let due = Some(date!(2026 - 12 - 21));
        let confirmed = step(RequestStep::IdentityConfirmed, None);
        let ack = letter(&access, &confirmed, "The Trust", (TODAY, due, false)).expect("one");
        assert_eq!(ack.sender, "The Trust");
        assert_eq!(ack.reference, "000000ABCD");
        assert_eq!(ack.dated, "Monday 23 November 2026");
        let text = said(&access, &confirmed, due);
        assert!(
            text.contains("for a copy of your information on Friday 20 November 2026"),
            "{text}"
        );
        assert!(
            text.contains("by Monday 21 December 2026 at the latest"),
            "{text}"
        );
        assert!(
            text.contains("We received what confirms who you are on Monday 23 November"),
            "{text}"
        );
        assert!(text.contains("pauses until you reply"), "{text}");
        // Made later: dated that day, saying which day it is about.
        let later = letter(
            &access,
            &confirmed,
            "T",
            (date!(2026 - 11 - 30), due, false),
        )
        .expect("one");
        assert_eq!(later.dated, "Monday 30 November 2026");
        assert!(later.paragraphs[0].contains("about what happened on Monday 23 November"));
        // Confirmed as it was logged; without a date, the law's words; only access pauses.
        let mut at_once = step(RequestStep::IdentityConfirmed, None);
        at_once.on_day = access.received_on.clone();
        assert!(!said(&access, &at_once, due).contains("confirms who you are"));
        assert!(
            said(&access, &confirmed, None)
                .contains("within one calendar month of the day the time started")
        );
        let erasure = request(RightKind::Erasure, Some(IdentityCheck::KnownToStaff));
        assert!(!said(&erasure, &confirmed, due).contains("pauses"));
        assert!(
            letter(
                &access,
                &step(RequestStep::Logged, None),
                "T",
                (TODAY, due, false)
            )
            .is_none()
        );
    }

    #[test]
    fn an_extension_a_pause_a_response_and_a_withdrawal_say_what_happened() {
        let access = request(RightKind::Access, Some(IdentityCheck::KnownToStaff));
        let three = Some(date!(2027 - 02 - 22));
        for (reason, why) in [
            ("numerous", "one of several requests"),
            ("complex", "it is complex"),
        ] {
            let text = said(&access, &step(RequestStep::Extended, Some(reason)), three);
            assert!(text.contains(why), "{text}");
            assert!(
                text.contains("two further months") && text.contains("Monday 22 February 2027"),
                "{text}"
            );
        }
        assert!(
            said(&access, &step(RequestStep::Extended, None), None)
                .contains("within three calendar months")
        );
        let paused = said(&access, &step(RequestStep::ClockStopped, None), None);
        assert!(
            paused.contains("paused from Monday 23 November 2026"),
            "{paused}"
        );
        let objection = request(RightKind::Objection, Some(IdentityCheck::KnownToStaff));
        assert!(!said(&objection, &step(RequestStep::ClockStopped, None), None).contains("paused"));
        // The copy is said to come with the response only once it was released.
        let answered = step(RequestStep::Answered, None);
        let with_copy = letter(&access, &answered, "T", (TODAY, None, true)).expect("one");
        assert!(
            with_copy
                .paragraphs
                .iter()
                .any(|p| p.contains("the copy of your information"))
        );
        let without = said(&access, &answered, None);
        assert!(
            !without.contains("the copy of your information") && without.contains(ICO_ROUTE),
            "{without}"
        );
        let withdrawn = said(&access, &step(RequestStep::Withdrawn, None), None);
        assert!(
            withdrawn.contains("which was withdrawn on Monday 23 November"),
            "{withdrawn}"
        );
    }

    #[test]
    fn a_refusal_gives_its_reasons_and_the_routes_to_the_ico_and_the_courts() {
        let access = request(RightKind::Access, Some(IdentityCheck::KnownToStaff));
        for (detail, reason) in [
            ("manifestly_unfounded", "manifestly unfounded"),
            ("manifestly_excessive", "manifestly excessive"),
            (
                "exemption",
                "an exemption in the data protection law applies",
            ),
        ] {
            let text = said(&access, &step(RequestStep::Refused, Some(detail)), None);
            assert!(text.contains(reason), "{text}");
            for route in [
                "ico.org.uk/make-a-complaint",
                "0303 123 1113",
                "Wilmslow",
                "court",
            ] {
                assert!(text.contains(route), "{route}: {text}");
            }
        }
        let mut erasure = request(RightKind::Erasure, Some(IdentityCheck::KnownToStaff));
        let refused = step(RequestStep::Refused, Some("safeguarding,legal_claims"));
        let text = said(&erasure, &refused, None);
        assert!(text.contains("to delete your information"), "{text}");
        assert!(
            text.contains("to protect a child or an adult at risk; and we need it to make or defend legal claims."),
            "{text}"
        );
        let none = said(&erasure, &step(RequestStep::Refused, Some(NO_GROUND)), None);
        assert!(none.contains("none of the grounds"), "{none}");
        // Under safety review, safeguarding is never named.
        erasure.safety_review = true;
        let text = said(&erasure, &refused, None);
        assert!(
            !text.contains("at risk") && text.contains("an exemption"),
            "{text}"
        );
    }

    #[test]
    fn steps_that_tell_nothing_send_nothing_and_a_complaint_has_its_own() {
        let none = |r: &RightsRequestRecord, s: RequestStep| {
            letter(r, &step(s, None), "T", (TODAY, None, false)).is_none()
        };
        let waiting = request(RightKind::Access, None);
        assert!(none(&waiting, RequestStep::Logged) && none(&waiting, RequestStep::ClockResumed));
        let asked = said(&waiting, &step(RequestStep::IdentityRequested, None), None);
        assert!(
            asked.contains("proof of your identity") && asked.contains("the day we receive it"),
            "{asked}"
        );

        let complaint = request(RightKind::Complaint, Some(IdentityCheck::KnownToStaff));
        for s in [
            RequestStep::Logged,
            RequestStep::IdentityConfirmed,
            RequestStep::IdentityRequested,
        ] {
            assert!(none(&complaint, s), "{s:?}");
        }
        let ack = said(&complaint, &step(RequestStep::Acknowledged, None), None);
        assert!(
            ack.contains("We received your complaint about how we use your information"),
            "{ack}"
        );
        let outcome = said(&complaint, &step(RequestStep::Answered, None), None);
        assert!(
            outcome.contains("The outcome of your complaint") && outcome.contains(ICO_ROUTE),
            "{outcome}"
        );
        assert!(
            said(&complaint, &step(RequestStep::Withdrawn, None), None)
                .contains("Your complaint is closed")
        );
    }
}
