//! Rights requests: logged with how they arrived, who asked and on what authority, and the identity
//! check made; then each step of their clock, until they are answered, refused or withdrawn.
//!
//! Guarantees:
//! - Anyone who may read a record logs a request about it (`rights.log`: a request may be made to
//!   any member of staff), as do the Data Protection Officer and the Caldicott Guardian. The Data
//!   Protection Officer and the service's manager see the service's requests (`rights.read`, the
//!   Caldicott Guardian too) and move them on (`rights.manage`). Each is audited.
//! - Someone asking on the person's behalf is one of the record's related people, with an
//!   authority. When the person or that representative is named as an alleged perpetrator in any
//!   record (or the representative is named so in this one), the request is marked for a safety
//!   review wherever it is shown: nothing about a victim may reach them.
//! - The due date is the clock's ([`super::clock`]) on the service's bank holidays and its own
//!   limit from the register, kept with the request and on its task in the inbox (for the Data
//!   Protection Officer and the service's manager). It is worked out again at every step, from the
//!   request's own days: the clock starts when identity is confirmed, stops while clarification is
//!   awaited, and may be extended only before the one-month date, with a reason.
//! - A step is refused, naming the field, when it does not fit where the request stands or its day
//!   is in the future or before the request was received; two people stepping at once cannot both
//!   win (the second is told it changed).

use confidant_policy::{Action, Resource};
use time::{Date, Duration};
use uuid::Uuid;

use super::calendar::Division;
use super::clock::{Due, DueRule, due, may_extend_on};
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::kernel::codes::{Code, codes};
use crate::organisation::micros;
use crate::person::{PersonError, Violation, Violations};
use crate::retention::uk_date;
use crate::store::{
    Authority, Channel, ExtensionReason, IdentityCheck, NewTask, Relationship, RequestState,
    RequestStep, RequestStepRecord, RightKind, RightsRequestRecord, Store, TaskChange, TaskKind,
};
use crate::uk_time::{iso_day, uk_midnight};
use crate::{Clock, Confidant};

codes!(
    /// Why a request was refused (the letter explains it in full, with the right to complain to
    /// the ICO).
    RefusalGround {
        ManifestlyUnfounded = "manifestly_unfounded": "Manifestly unfounded",
        ManifestlyExcessive = "manifestly_excessive": "Manifestly excessive",
        Exemption = "exemption": "An exemption of the Data Protection Act 2018 applies",
    }
);

/// A request as a form or the API gives it.
#[derive(Debug, Clone, Copy)]
pub struct RequestInput<'a> {
    pub kind: &'a str,
    pub channel: &'a str,
    /// The UK day it was received, `YYYY-MM-DD`.
    pub received_on: &'a str,
    /// A related person of the record asking on the person's behalf.
    pub representative_id: Option<Uuid>,
    pub authority: Option<&'a str>,
    /// How identity was confirmed; `None` when it has to be asked for (the clock waits).
    pub identity_check: Option<&'a str>,
}

/// A step as a form or the API gives it: the step's code, its UK day and, where the step needs
/// one, a code saying more (the identity check, the extension's reason, the refusal's ground).
#[derive(Debug, Clone, Copy)]
pub struct StepInput<'a> {
    pub step: &'a str,
    pub on: &'a str,
    pub detail: Option<&'a str>,
}

/// A request with its steps and how its due date was reached.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: RightsRequestRecord,
    pub steps: Vec<RequestStepRecord>,
    pub due: Option<Due>,
    /// The day until which it may still be extended, while it may.
    pub extend_until: Option<Date>,
    /// Why the due date cannot be worked out, when the bank holidays do not reach it.
    pub calendar_gap: Option<String>,
}

fn coded<T: Code>(field: &'static str, text: &str, v: &mut Vec<Violation>) -> Option<T> {
    let found = T::from_code(text.trim());
    if found.is_none() {
        v.push(Violation::new(field, "is not one of the choices"));
    }
    found
}

/// A day given as `YYYY-MM-DD`, not after `today`.
fn past_day(field: &'static str, text: &str, today: Date, v: &mut Vec<Violation>) -> Option<Date> {
    match iso_day(text.trim()) {
        None => {
            v.push(Violation::new(field, "is not a date (YYYY-MM-DD)"));
            None
        }
        Some(d) if d > today => {
            v.push(Violation::new(field, "is in the future"));
            None
        }
        Some(d) if d.year() < 2000 => {
            v.push(Violation::new(field, "is too long ago"));
            None
        }
        Some(d) => Some(d),
    }
}

fn invalid(v: Vec<Violation>) -> PersonError {
    PersonError::Invalid(Violations(v))
}

fn stored_day(text: Option<&str>) -> Option<Date> {
    text.and_then(iso_day)
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The service's own limit (the register's `respond_within_days`) and whose bank holidays it
    /// keeps (England and Wales unless the register says otherwise).
    pub(super) async fn clock_of(
        &self,
        service_id: Uuid,
    ) -> Result<(Option<u32>, Division), PersonError> {
        let code = self.store.service(service_id).await?.and_then(|s| s.code);
        let service = code.and_then(|c| self.register()?.service(&c).cloned());
        Ok(match service {
            None => (None, Division::EnglandAndWales),
            Some(s) => (
                Some(s.respond_within_days),
                s.bank_holidays
                    .as_deref()
                    .and_then(Division::from_code)
                    .unwrap_or(Division::EnglandAndWales),
            ),
        })
    }

    /// The request's due date and the last day it may be extended, from its own days.
    async fn due_of(
        &self,
        request: &RightsRequestRecord,
        field: &'static str,
    ) -> Result<(Option<Due>, Option<Date>), PersonError> {
        let Some(start) = stored_day(request.start_on.as_deref()) else {
            return Ok((None, None));
        };
        if request.kind == RightKind::Complaint {
            // Acknowledged within 30 days; then answered without undue delay (no date in law).
            let due = request.acknowledged_on.is_none().then(|| Due {
                date: super::complaint_acknowledgement_due(start),
                by: super::DueBy::Acknowledgement,
                moved_from: None,
            });
            return Ok((due, None));
        }
        let (limit_days, division) = self.clock_of(request.service_id).await?;
        let rule = DueRule {
            start,
            stopped_days: request.stopped_days,
            extended: request.extended_on.is_some(),
            limit_days,
        };
        let calendar =
            |e: super::CalendarError| invalid(vec![Violation::new(field, e.to_string())]);
        let found = due(&rule, self.bank_holidays(), division).map_err(calendar)?;
        let extend_until = if request.extended_on.is_none() && request.state.is_open() {
            let one_month = DueRule {
                extended: false,
                limit_days: None,
                ..rule
            };
            Some(
                due(&one_month, self.bank_holidays(), division)
                    .map_err(calendar)?
                    .date,
            )
        } else {
            None
        };
        Ok((Some(found), extend_until))
    }

    /// A request of the organisation and the permit for `action` on its service.
    pub(super) async fn request_permit(
        &self,
        actor: &Principal,
        action: Action,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<(RightsRequestRecord, confidant_policy::Permit), PersonError> {
        let request = self
            .store
            .rights_request(organisation_id, request_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let permit = self
            .service_permit(actor, action, request.service_id, Purpose::Administration)
            .await?;
        Ok((request, permit))
    }

    /// Logs a request about a person's rights (`rights.log` on the person). Every problem with
    /// the input is named.
    pub async fn log_rights_request(
        &self,
        actor: &Principal,
        person_id: Uuid,
        input: RequestInput<'_>,
    ) -> Result<RightsRequestRecord, PersonError> {
        let purpose = Purpose::Administration;
        let (permit, resource) = self
            .permit_on_person(actor, Action::RightsLog, person_id, purpose)
            .await?;
        let Resource::Person {
            service_id,
            organisation_id,
            ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let now = self.clock.now();
        let today = uk_date(now);
        let mut v = Vec::new();
        let kind = coded::<RightKind>("kind", input.kind, &mut v);
        let channel = coded::<Channel>("channel", input.channel, &mut v);
        let received = past_day("received_on", input.received_on, today, &mut v);
        let check = match input.identity_check.map(str::trim) {
            None | Some("") => None,
            Some(c) => coded::<IdentityCheck>("identity_check", c, &mut v),
        };
        let authority = match input.authority.map(str::trim) {
            None | Some("") => None,
            Some(a) => coded::<Authority>("authority", a, &mut v),
        };
        let mut safety_review = self.store.named_as_alleged_perpetrator(person_id).await?;
        match (input.representative_id, authority) {
            (None, None) => {}
            (None, Some(_)) => v.push(Violation::new(
                "authority",
                "is only for someone asking on the person's behalf",
            )),
            (Some(related_id), authority) => {
                match self.store.related_link(person_id, related_id).await? {
                    None => v.push(Violation::new(
                        "representative_id",
                        "is not one of this record's related people",
                    )),
                    Some(link) => {
                        safety_review |= link.relationship == Relationship::AllegedPerpetrator;
                        if let Some(linked) = link.linked_person_id {
                            safety_review |=
                                self.store.named_as_alleged_perpetrator(linked).await?;
                        }
                    }
                }
                if authority.is_none() && input.authority.is_none_or(|a| a.trim().is_empty()) {
                    v.push(Violation::new(
                        "authority",
                        "is required when someone asks on the person's behalf",
                    ));
                }
            }
        }
        let (Some(kind), Some(channel), Some(received)) = (kind, channel, received) else {
            return Err(invalid(v));
        };
        if !v.is_empty() {
            return Err(invalid(v));
        }
        let id = Uuid::now_v7();
        let mut request = RightsRequestRecord {
            id,
            organisation_id,
            service_id,
            person_id,
            kind,
            channel,
            representative_id: input.representative_id,
            authority,
            received_on: received.to_string(),
            // A complaint's clock runs from its receipt, whoever makes it.
            state: if check.is_some() || kind == RightKind::Complaint {
                RequestState::Open
            } else {
                RequestState::AwaitingIdentity
            },
            identity_check: check,
            start_on: (check.is_some() || kind == RightKind::Complaint)
                .then(|| received.to_string()),
            stopped_days: 0,
            stopped_on: None,
            extended_on: None,
            extension_reason: None,
            due_on: None,
            safety_review,
            created_by: actor.audit_id(),
            created_at_micros: micros(now),
            closed_on: None,
            acknowledged_on: None,
            version: 1,
        };
        let (found, _) = self.due_of(&request, "received_on").await?;
        request.due_on = found.map(|d| d.date.to_string());
        let step = |step, detail: Option<&str>| RequestStepRecord {
            id: Uuid::now_v7(),
            request_id: id,
            step,
            on_day: received.to_string(),
            detail: detail.map(str::to_owned),
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let mut steps = vec![step(RequestStep::Logged, Some(kind.code()))];
        match (check, kind) {
            (Some(c), _) => steps.push(step(RequestStep::IdentityConfirmed, Some(c.code()))),
            (None, RightKind::Complaint) => {}
            (None, _) => steps.push(step(RequestStep::IdentityRequested, None)),
        }
        let task = TaskChange::Open(NewTask::rights_request(&request, due_micros(&request)));
        let audit = AuditDraft::permitted(&permit, purpose, now)
            .named("rights.log")
            .on("rights_request", id);
        self.store
            .log_rights_request(&request, &steps, &[task], audit)
            .await?;
        Ok(request)
    }

    /// One request with its steps and due date (`rights.read` on its service), audited.
    pub async fn rights_request(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<RequestView, PersonError> {
        let (request, permit) = self
            .request_permit(actor, Action::RightsRead, organisation_id, request_id)
            .await?;
        let purpose = Purpose::Administration;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now())
            .named("rights.read")
            .on("rights_request", request_id);
        self.store.record_access(audit).await?;
        let steps = self.store.rights_request_steps(request_id).await?;
        // A calendar that has run out leaves the request readable (and closable), its due date
        // unknown until the bank holidays are brought up to date.
        let (due, extend_until, calendar_gap) = match self.due_of(&request, "on").await {
            Ok((due, until)) => (due, until, None),
            Err(PersonError::Invalid(v)) => (None, None, v.0.into_iter().next().map(|v| v.message)),
            Err(e) => return Err(e),
        };
        Ok(RequestView {
            request,
            steps,
            due,
            extend_until,
            calendar_gap,
        })
    }

    /// The requests about one person (`rights.log` on them: whoever may log one sees what has
    /// been logged), newest first. Audited.
    pub async fn rights_requests_about(
        &self,
        actor: &Principal,
        person_id: Uuid,
    ) -> Result<Vec<RightsRequestRecord>, PersonError> {
        let purpose = Purpose::Administration;
        let (permit, _) = self
            .permit_on_person(actor, Action::RightsLog, person_id, purpose)
            .await?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("rights.list_person");
        self.store.record_access(audit).await?;
        Ok(self.store.rights_requests_about(person_id).await?)
    }

    /// The requests of every service the actor may see them in (`rights.read`): open ones by due
    /// date, then the latest closed. Audited once.
    pub async fn rights_requests(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<Vec<RightsRequestRecord>, PersonError> {
        let services = self.store.services(organisation_id).await?;
        let mut seen = Vec::new();
        let mut permit = None;
        for service in &services {
            let resource = Resource::Service {
                id: service.id,
                organisation_id,
            };
            if let Ok(p) = self
                .authorizer
                .authorize(actor, Action::RightsRead, resource)
            {
                seen.push(service.id);
                permit.get_or_insert(p);
            }
        }
        let purpose = Purpose::Administration;
        let permit = match (permit, services.first()) {
            (Some(p), _) => p,
            // Refused everywhere: audited on the first service, answered "not found".
            (None, Some(first)) => {
                self.service_permit(actor, Action::RightsRead, first.id, purpose)
                    .await?
            }
            (None, None) => return Err(PersonError::NotFound),
        };
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("rights.list");
        self.store.record_access(audit).await?;
        Ok(self.store.rights_requests(&seen, 50).await?)
    }

    /// Moves a request on by one step (`rights.manage` on its service).
    pub async fn step_rights_request(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
        input: StepInput<'_>,
    ) -> Result<RightsRequestRecord, PersonError> {
        let (old, permit) = self
            .request_permit(actor, Action::RightsManage, organisation_id, request_id)
            .await?;
        let purpose = Purpose::Administration;
        let now = self.clock.now();
        let (mut request, step, detail) = self.apply_step(&old, input, uk_date(now)).await?;
        // The due date is worked out again while the clock runs (closing needs no calendar; while
        // stopped it keeps the date from before the stop, the earliest it can be).
        if request.state == RequestState::Open {
            let (found, _) = self.due_of(&request, "on").await?;
            request.due_on = found.map(|d| d.date.to_string());
        }
        request.version = old.version + 1;
        let tasks = if request.state.is_open() {
            vec![TaskChange::Due {
                kind: TaskKind::RightsRequest,
                subject_id: request.id,
                due_at_micros: due_micros(&request),
            }]
        } else {
            vec![TaskChange::Close {
                kind: TaskKind::RightsRequest,
                subject_id: request.id,
                outcome: "rights.step",
            }]
        };
        let record = RequestStepRecord {
            id: Uuid::now_v7(),
            request_id,
            step,
            on_day: input.on.trim().to_owned(),
            detail,
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now)
            .named("rights.step")
            .on("rights_request", request_id);
        if self
            .store
            .step_rights_request(&request, old.version, &record, &tasks, audit)
            .await?
        {
            Ok(request)
        } else {
            Err(PersonError::Conflict(
                "someone else has just moved this request on: read it again",
            ))
        }
    }

    /// What a step makes of a request, or every reason it does not fit.
    async fn apply_step(
        &self,
        old: &RightsRequestRecord,
        input: StepInput<'_>,
        today: Date,
    ) -> Result<(RightsRequestRecord, RequestStep, Option<String>), PersonError> {
        let mut v = Vec::new();
        let step = coded::<RequestStep>("step", input.step, &mut v);
        let on = past_day("on", input.on, today, &mut v);
        let received = stored_day(Some(&old.received_on));
        if let (Some(on), Some(received)) = (on, received)
            && on < received
        {
            v.push(Violation::new("on", "is before the request was received"));
        }
        let (Some(step), Some(on)) = (step, on) else {
            return Err(invalid(v));
        };
        if !v.is_empty() {
            return Err(invalid(v));
        }
        // Steps are kept in the order they happened: none is dated before the last.
        let last = self
            .store
            .rights_request_steps(old.id)
            .await?
            .iter()
            .filter_map(|s| iso_day(&s.on_day))
            .max();
        if let Some(last) = last.filter(|last| on < *last) {
            return Err(invalid(vec![Violation::new(
                "on",
                format!(
                    "is before the last step recorded ({})",
                    crate::uk_time::day_text(last)
                ),
            )]));
        }
        let detail = input.detail.map(str::trim).filter(|d| !d.is_empty());
        let mut new = old.clone();
        let not_now = |what: &str| {
            invalid(vec![Violation::new(
                "step",
                format!("cannot be taken now: the request is {what}"),
            )])
        };
        let state_text = old.state.label().to_lowercase();
        let complaint = old.kind == RightKind::Complaint;
        let of_a_complaint = matches!(
            step,
            RequestStep::Acknowledged | RequestStep::Answered | RequestStep::Withdrawn
        );
        if complaint != of_a_complaint && (complaint || step == RequestStep::Acknowledged) {
            return Err(invalid(vec![Violation::new(
                "step",
                if complaint {
                    "is not a step of a complaint: acknowledge it, then tell the outcome"
                } else {
                    "is only for a complaint"
                },
            )]));
        }
        let detail_code = match step {
            RequestStep::Acknowledged => {
                if old.acknowledged_on.is_some() || !old.state.is_open() {
                    return Err(not_now(&state_text));
                }
                new.acknowledged_on = Some(on.to_string());
                None
            }
            RequestStep::IdentityConfirmed => {
                if old.state != RequestState::AwaitingIdentity {
                    return Err(not_now(&state_text));
                }
                let check = detail.and_then(IdentityCheck::from_code).ok_or_else(|| {
                    invalid(vec![Violation::new(
                        "detail",
                        "say how identity was confirmed",
                    )])
                })?;
                new.identity_check = Some(check);
                new.start_on = Some(on.to_string());
                new.state = RequestState::Open;
                Some(check.code().to_owned())
            }
            RequestStep::ClockStopped => {
                if old.state != RequestState::Open {
                    return Err(not_now(&state_text));
                }
                new.stopped_on = Some(on.to_string());
                new.state = RequestState::Stopped;
                None
            }
            RequestStep::ClockResumed => {
                let Some(stopped) = stored_day(old.stopped_on.as_deref())
                    .filter(|_| old.state == RequestState::Stopped)
                else {
                    return Err(not_now(&state_text));
                };
                if on < stopped {
                    return Err(invalid(vec![Violation::new(
                        "on",
                        "is before the clock was stopped",
                    )]));
                }
                // The period stopped begins with the day clarification was asked for and ends with
                // the day it arrived (Art. 12A): both days count.
                let days = u32::try_from((on - stopped).whole_days() + 1).unwrap_or(0);
                new.stopped_days = old.stopped_days.saturating_add(days);
                new.stopped_on = None;
                new.state = RequestState::Open;
                None
            }
            RequestStep::Extended => {
                if !matches!(old.state, RequestState::Open | RequestState::Stopped) {
                    return Err(not_now(&state_text));
                }
                if old.extended_on.is_some() {
                    return Err(invalid(vec![Violation::new(
                        "step",
                        "cannot be taken now: the request has been extended already",
                    )]));
                }
                let reason = detail.and_then(ExtensionReason::from_code).ok_or_else(|| {
                    invalid(vec![Violation::new(
                        "detail",
                        "give the reason for the extension",
                    )])
                })?;
                self.check_extension(old, today).await?;
                new.extended_on = Some(on.to_string());
                new.extension_reason = Some(reason);
                Some(reason.code().to_owned())
            }
            RequestStep::Answered | RequestStep::Refused | RequestStep::Withdrawn => {
                if !old.state.is_open() {
                    return Err(not_now(&state_text));
                }
                // An erasure is answered by erasing (the request goes with the record), never by
                // a step that leaves the data where it was.
                if step == RequestStep::Answered && old.kind == RightKind::Erasure {
                    return Err(invalid(vec![Violation::new(
                        "step",
                        "cannot be taken for a request for erasure: decide it on its page, where erasing answers it",
                    )]));
                }
                new.state = match step {
                    RequestStep::Answered => RequestState::Answered,
                    RequestStep::Refused => RequestState::Refused,
                    _ => RequestState::Withdrawn,
                };
                new.closed_on = Some(on.to_string());
                if step == RequestStep::Refused {
                    // An erasure is refused also under the exemptions weighed (or for want of a
                    // ground): the codes its decision gives (`super::erasure`).
                    let erasure = detail.filter(|d| {
                        old.kind == RightKind::Erasure && super::erasure::refusal_text(d).is_some()
                    });
                    let ground = detail
                        .and_then(RefusalGround::from_code)
                        .map(|g| g.code().to_owned())
                        .or(erasure.map(str::to_owned))
                        .ok_or_else(|| {
                            invalid(vec![Violation::new(
                                "detail",
                                "give the ground for refusing",
                            )])
                        })?;
                    Some(ground)
                } else {
                    None
                }
            }
            RequestStep::Logged | RequestStep::IdentityRequested => {
                return Err(invalid(vec![Violation::new(
                    "step",
                    "is taken when the request is logged",
                )]));
            }
        };
        Ok((new, step, detail_code))
    }

    /// An extension is possible only until the one-month due date: recorded (`today`) by then,
    /// whatever day it says the person was told.
    async fn check_extension(
        &self,
        request: &RightsRequestRecord,
        today: Date,
    ) -> Result<(), PersonError> {
        let Some(start) = stored_day(request.start_on.as_deref()) else {
            return Err(invalid(vec![Violation::new(
                "step",
                "cannot be taken now: the clock has not started",
            )]));
        };
        let (_, division) = self.clock_of(request.service_id).await?;
        // Days stopped so far count, and those of a stop still running up to the extension.
        let running = stored_day(request.stopped_on.as_deref()).map_or(0, |s| {
            u32::try_from((today - s).whole_days() + 1).unwrap_or(0)
        });
        let rule = DueRule {
            start,
            stopped_days: request.stopped_days.saturating_add(running),
            extended: false,
            limit_days: None,
        };
        let calendar = |e: super::CalendarError| invalid(vec![Violation::new("on", e.to_string())]);
        if may_extend_on(&rule, today, self.bank_holidays(), division).map_err(calendar)? {
            Ok(())
        } else {
            let until = due(&rule, self.bank_holidays(), division)
                .map_err(calendar)?
                .date;
            Err(invalid(vec![Violation::new(
                "on",
                format!(
                    "is too late: a request can be extended only within its first month, which ended on {}",
                    crate::uk_time::day_text(until)
                ),
            )]))
        }
    }
}

/// When the request's task is due: the last moment of its due day (UK time).
fn due_micros(request: &RightsRequestRecord) -> Option<i64> {
    stored_day(request.due_on.as_deref()).map(|d| micros(uk_midnight(d + Duration::DAY)) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_day_must_be_a_date_not_in_the_future() {
        let today = date!(2026 - 12 - 07);
        let mut v = Vec::new();
        assert_eq!(past_day("on", " 2026-12-07 ", today, &mut v), Some(today));
        assert_eq!(past_day("on", "2026-12-08", today, &mut v), None);
        assert_eq!(past_day("on", "7 December 2026", today, &mut v), None);
        assert_eq!(past_day("on", "1999-12-31", today, &mut v), None);
        let messages: Vec<_> = v.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "is in the future",
                "is not a date (YYYY-MM-DD)",
                "is too long ago"
            ]
        );
    }
}
