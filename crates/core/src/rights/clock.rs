//! When a rights request must be answered (UK GDPR Art. 12(3) and Art. 12A, as the ICO reads them).
//!
//! The rule, in order:
//! 1. The clock starts on the day the request is received, or, where identity had to be confirmed
//!    (or a fee paid), on the day that was done. That day is day one.
//! 2. The answer is due one calendar month later: the same date in the next month, or the last day
//!    of that month when it has no such date (31 January → 28 February, or 29 in a leap year).
//!    Extended for a complex request or one of many, it is due three months from the same start
//!    (an extension is possible only before the one-month date, with the reason told to the
//!    person: see [`may_extend_on`]).
//! 3. Days the clock was stopped waiting for clarification (Art. 12A) are added.
//! 4. When the day reached is a weekend or a bank holiday of the service's part of the UK, the
//!    answer is due on the next working day.
//! 5. A service may promise less than the law (the register's `respond_within_days`, counted from
//!    the same start, stopped days added): the earlier of the two dates is due. A promise is kept
//!    by answering before it runs out, so when its last day is not a working day the service's
//!    date is the working day before. An extended request follows the law's three months: the
//!    person was told why it takes longer.

use time::{Date, Duration, Month};

use super::calendar::{BankHolidays, CalendarError, Division};
use crate::kernel::codes::codes;

/// What a request's due date depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueRule {
    /// Day one: the day the request was received, or the day identity was confirmed.
    pub start: Date,
    /// Days the clock was stopped waiting for clarification.
    pub stopped_days: u32,
    /// Extended by two further months.
    pub extended: bool,
    /// The service's own limit, in days from the start, where it has one.
    pub limit_days: Option<u32>,
}

codes!(
    /// Which rule set a due date.
    DueBy {
        OneMonth = "one_month": "one calendar month",
        ThreeMonths = "three_months": "three calendar months (extended)",
        ServiceLimit = "service_limit": "the service's own limit",
        Acknowledgement = "acknowledgement": "a complaint's acknowledgement: 30 days beginning with its receipt",
    }
);

/// A due date, with how it was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub date: Date,
    pub by: DueBy,
    /// The day the rule reached before a weekend or bank holiday moved it, where one did.
    pub moved_from: Option<Date>,
}

/// The same date `months` calendar months after `day`, or the last day of that month when it has
/// no such date.
pub fn months_after(day: Date, months: u8) -> Date {
    shift_months(day, i32::from(months))
}

/// The corresponding date `months` months before `day`, or that month's last day when it has no
/// such date.
pub fn months_before(day: Date, months: u8) -> Date {
    shift_months(day, -i32::from(months))
}

fn shift_months(day: Date, months: i32) -> Date {
    let index = day.year() * 12 + i32::from(u8::from(day.month())) - 1 + months;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    let month = Month::try_from(u8::try_from(month).unwrap_or(1)).unwrap_or(Month::January);
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, day.day().min(last))
        .expect("a day no later than the month's last exists")
}

fn next_working_day(
    mut day: Date,
    holidays: &BankHolidays,
    division: Division,
) -> Result<Date, CalendarError> {
    while !holidays.is_working_day(division, day)? {
        day += Duration::DAY;
    }
    Ok(day)
}

fn working_day_before(
    mut day: Date,
    holidays: &BankHolidays,
    division: Division,
) -> Result<Date, CalendarError> {
    while !holidays.is_working_day(division, day)? {
        day -= Duration::DAY;
    }
    Ok(day)
}

fn moved(reached: Date, due: Date) -> Option<Date> {
    (reached != due).then_some(reached)
}

/// The day a request is due (see the module's rule).
pub fn due(
    rule: &DueRule,
    holidays: &BankHolidays,
    division: Division,
) -> Result<Due, CalendarError> {
    let stopped = Duration::days(i64::from(rule.stopped_days));
    let (months, by) = if rule.extended {
        (3, DueBy::ThreeMonths)
    } else {
        (1, DueBy::OneMonth)
    };
    let reached = months_after(rule.start, months) + stopped;
    let law = Due {
        date: next_working_day(reached, holidays, division)?,
        by,
        moved_from: None,
    };
    let law = Due {
        moved_from: moved(reached, law.date),
        ..law
    };
    let Some(limit) = rule.limit_days.filter(|_| !rule.extended) else {
        return Ok(law);
    };
    let reached = rule.start + Duration::days(i64::from(limit)) + stopped;
    let own = working_day_before(reached, holidays, division)?;
    if own < law.date {
        Ok(Due {
            date: own,
            by: DueBy::ServiceLimit,
            moved_from: moved(reached, own),
        })
    } else {
        Ok(law)
    }
}

/// The last day to acknowledge a complaint received on `received`: the end of the period of 30
/// days beginning with that day (DPA 2018 s.164A, in force from 19 June 2026). A statute's days,
/// not the ICO's month: not moved past a weekend or a bank holiday.
pub fn complaint_acknowledgement_due(received: Date) -> Date {
    received + Duration::days(29)
}

/// Whether a request may still be extended on `day`: only until its one-month due date (the
/// person must be told, with the reason, within the first month).
pub fn may_extend_on(
    rule: &DueRule,
    day: Date,
    holidays: &BankHolidays,
    division: Division,
) -> Result<bool, CalendarError> {
    let unextended = DueRule {
        extended: false,
        limit_days: None,
        ..*rule
    };
    Ok(day <= due(&unextended, holidays, division)?.date)
}

impl Due {
    /// How the date was reached, for people: "one calendar month, moved from Saturday 3 October
    /// 2026 (not a working day)".
    pub fn explained(&self) -> String {
        let by = self.by.label();
        match self.moved_from {
            None => by.to_owned(),
            Some(from) => format!(
                "{by}, moved from {} (not a working day)",
                crate::uk_time::day_text(from)
            ),
        }
    }
}

#[cfg(test)]
#[path = "clock_tests.rs"]
mod tests;
