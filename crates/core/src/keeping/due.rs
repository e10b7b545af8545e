//! When a record's retention has ended: the pure rule the sweep applies to what it knows of a
//! record (the times of its events) and the register's rules for its service. No clock, no store.

use time::{Date, OffsetDateTime};

use crate::record::person::from_micros;
use crate::register::{Register, RetentionRule};
use crate::retention::{RecordType, Trigger, birthday, uk_date};
use crate::store::{ReferralRecord, RetentionFacts, TriageState};

/// A record whose retention has ended: on what day, under which rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The day the last of its rules' periods ended (UK calendar).
    pub on: Date,
    /// The rules (ids), in the register's order.
    pub rules: Vec<String>,
    /// Whether a rule counts from a birthday: then `on` would tell the date of birth, and what is
    /// written down, and when the record is queued, is the first of the month after it
    /// ([`recorded_on`]).
    pub counts_from_birthday: bool,
}

/// The due date a review records, and from which the record is queued: the day its period ended,
/// or where a rule counts from a birthday (that day would tell the date of birth) the first day
/// of the month after it, which tells the month at most.
pub fn recorded_on(due: &Due) -> Date {
    if !due.counts_from_birthday {
        return due.on;
    }
    let (year, month) = match due.on.month() {
        time::Month::December => (due.on.year() + 1, time::Month::January),
        m => (due.on.year(), m.next()),
    };
    Date::from_calendar_date(year, month, 1).unwrap_or(due.on)
}

/// Whether the record is due as its review `recorded`: a different day means something happened
/// since (a contact, a case reopened) that the reviewer did not see, or the register changed.
pub fn as_reviewed(due: &Due, recorded: &str) -> bool {
    recorded_on(due).to_string() == recorded
}

/// The UK date a rule's trigger happened on for this record, if it has. Only the events a case
/// record has are known here, and a birthday once its date of birth is opened: a referral's and a
/// paper note's are not (a rule on them never makes a case record due: kept, never destroyed
/// early), nor a birthday without a date of birth.
fn trigger_date(trigger: Trigger, facts: &RetentionFacts) -> Option<Date> {
    let micros = match trigger {
        Trigger::CaseClosed => facts.last_closed_at_micros,
        Trigger::LastContact => Some(facts.last_contact_at_micros),
        Trigger::DeathRecorded => facts.died_at_micros,
        Trigger::HoldReleased => facts.hold_released_at_micros,
        Trigger::Birthday18 | Trigger::Birthday25 => {
            return birthday(facts.born_on?, trigger.birthday_age()?);
        }
        Trigger::ReferralDeclined | Trigger::ApplicationNotTakenUp | Trigger::Transcribed => None,
    }?;
    Some(uk_date(from_micros(micros)))
}

/// When every rule's period has ended for the record, the day the last one did. `None` while any
/// has not (or its trigger has not happened, or cannot be known here), while a case is open, a
/// legal hold or a restriction of processing is in force, and when no rule applies.
pub fn ends_on(rules: &[&RetentionRule], facts: &RetentionFacts) -> Option<Due> {
    if rules.is_empty()
        || facts.open_cases > 0
        || facts.live_holds > 0
        || facts.live_restrictions > 0
    {
        return None;
    }
    let mut last: Option<Date> = None;
    for rule in rules {
        let end = rule.ends_on(trigger_date(rule.trigger, facts)?)?;
        last = Some(last.map_or(end, |l| l.max(end)));
    }
    Some(Due {
        on: last?,
        rules: rules.iter().map(|r| r.id.clone()).collect(),
        counts_from_birthday: rules.iter().any(|r| r.trigger.birthday_age().is_some()),
    })
}

/// The rules that keep a service's case records: the case record's own, and those of what is
/// destroyed with it (documents and archived paper files, where a rule of their own keeps them
/// longer). A paper note's rule is about the paper once transcribed, and a referral's about one
/// never accepted: neither keeps the record.
pub fn rules_keeping<'a>(register: &'a Register, service: &str) -> Vec<&'a RetentionRule> {
    let mut rules = register.retention_rules_for(service, RecordType::CaseRecord);
    for kind in [RecordType::Document, RecordType::ArchivedPaper] {
        for rule in register.retention_rules_for(service, kind) {
            if !rules.iter().any(|r| r.id == rule.id) {
                rules.push(rule);
            }
        }
    }
    rules
}

/// Whether the record is due for review on `today` (UK date) under the register, and if so when
/// and why: every rule keeping its service's case records ([`rules_keeping`]) has ended (by the
/// day recorded: [`recorded_on`]).
pub fn due(register: &Register, facts: &RetentionFacts, today: Date) -> Option<Due> {
    let service = facts.service_code.as_deref()?;
    ends_on(&rules_keeping(register, service), facts).filter(|d| recorded_on(d) <= today)
}

/// Whether the sweep must open the record's date of birth to know if it is due: a rule of its
/// service counts from a birthday, and the record would be due on `today` if that birthday were
/// long past (every other rule has ended, no case is open, no hold is in force).
pub fn needs_birth_date(register: &Register, facts: &RetentionFacts, today: Date) -> bool {
    let Some(service) = facts.service_code.as_deref() else {
        return false;
    };
    let rules = rules_keeping(register, service);
    if facts.born_on.is_some() || !rules.iter().any(|r| r.trigger.birthday_age().is_some()) {
        return false;
    }
    let long_ago = RetentionFacts {
        born_on: Some(LONG_AGO),
        ..facts.clone()
    };
    ends_on(&rules, &long_ago).is_some_and(|d| recorded_on(&d) <= today)
}

/// When a service's rules for a kind of record counted from `trigger` have all ended for one
/// that `happened` then: the day the last of them does, with their ids. `None` when the service
/// has no such rule (nothing falls due: kept, never destroyed early) or a period has not ended
/// by `today`.
fn ended_by(
    register: &Register,
    service: &str,
    record_type: RecordType,
    trigger: Trigger,
    happened: OffsetDateTime,
    today: Date,
) -> Option<Due> {
    let rules: Vec<&RetentionRule> = register
        .retention_rules_for(service, record_type)
        .into_iter()
        .filter(|r| r.trigger == trigger)
        .collect();
    let mut last: Option<Date> = None;
    for rule in &rules {
        let end = rule.period.ends_on_from(happened)?;
        last = Some(last.map_or(end, |l| l.max(end)));
    }
    let on = last.filter(|on| *on <= today)?;
    Some(Due {
        on,
        rules: rules.iter().map(|r| r.id.clone()).collect(),
        counts_from_birthday: false,
    })
}

/// Whether a referral not taken up (no response, or withdrawn) is due for erasure on `today`
/// under its service's `application_not_taken_up` rules, counted from the last contact about it:
/// the person's withdrawal, or else the latest attempt to reach them (or its receipt). A declined
/// referral is erased when declined; an open or accepted one is never due here.
pub fn referral_due(
    register: &Register,
    service: &str,
    referral: &ReferralRecord,
    today: Date,
) -> Option<Due> {
    let last_contact = match referral.state {
        TriageState::Withdrawn => referral.decided_at_micros?,
        TriageState::NoResponse => referral
            .last_contact_at_micros
            .map_or(referral.received_at_micros, |c| {
                c.max(referral.received_at_micros)
            }),
        _ => return None,
    };
    ended_by(
        register,
        service,
        RecordType::Referral,
        Trigger::ApplicationNotTakenUp,
        from_micros(last_contact),
        today,
    )
}

/// The codes of the services with an `application_not_taken_up` rule for referrals: the only
/// ones whose referrals not taken up ever fall due.
pub fn services_keeping_applications(register: &Register) -> Vec<String> {
    register
        .services
        .iter()
        .map(|s| s.id.clone())
        .filter(|code| {
            register
                .retention_rules_for(code, RecordType::Referral)
                .iter()
                .any(|r| r.trigger == Trigger::ApplicationNotTakenUp)
        })
        .collect()
}

/// Whether a paper note typed into the record at `transcribed_at` is due for destruction on
/// `today` under its service's `transcribed` rules for paper notes (none: not by this rule).
pub fn paper_note_due(
    register: &Register,
    service: &str,
    transcribed_at: OffsetDateTime,
    today: Date,
) -> Option<Due> {
    ended_by(
        register,
        service,
        RecordType::PaperNote,
        Trigger::Transcribed,
        transcribed_at,
        today,
    )
}

/// A date of birth before any the catalogue accepts (it refuses years before 1900).
const LONG_AGO: Date = time::macros::date!(1800 - 01 - 01);

#[cfg(test)]
#[path = "due_tests.rs"]
mod tests;
