//! When messages may reach a person: a window of UK local time each day (say 10:00 to 12:00, when
//! it is safe for them to read a message), on every day or on weekdays only. A message queued or
//! retried outside it waits for the window's next opening; before it sends, the outbox checks the
//! person's safe times as they are then (they may have changed since).
//!
//! Pure rules, on UK local time (`Europe/London`): the window is the same local hours on both sides
//! of a clock change, so in UTC it moves by an hour; a window opening in the hour the clocks skip
//! opens at the end of that hour. Bank holidays are not told apart from other weekdays.

use time::{Date, OffsetDateTime, Time, Weekday};

use crate::person::{Violation, Violations};
use crate::uk_time;

/// Hours of the day (UK local time) when messages may be sent, `from` inclusive, `until` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageWindow {
    pub from: Time,
    pub until: Time,
    pub weekdays_only: bool,
}

const HOURS: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[hour]:[minute]");

fn clock(text: &str) -> Option<Time> {
    Time::parse(text.trim(), HOURS).ok()
}

impl MessageWindow {
    /// Reads a window from a form or the API (`HH:MM` each): both empty is no window; one without
    /// the other, a time that is not one, or an end not after the start (a window does not run
    /// past midnight) is refused, naming the field.
    pub fn parse(
        from: &str,
        until: &str,
        weekdays_only: bool,
    ) -> Result<Option<MessageWindow>, Violations> {
        if from.trim().is_empty() && until.trim().is_empty() {
            return Ok(None);
        }
        let mut violations = Vec::new();
        let start = clock(from);
        let end = clock(until);
        if start.is_none() {
            violations.push(Violation::new(
                "message_from",
                "the time messages may be sent from must be a time like 09:30",
            ));
        }
        if end.is_none() {
            violations.push(Violation::new(
                "message_until",
                "the time messages may be sent until must be a time like 17:00",
            ));
        }
        match (start, end) {
            (Some(from), Some(until)) if from < until => Ok(Some(MessageWindow {
                from,
                until,
                weekdays_only,
            })),
            (Some(_), Some(_)) => Err(Violations(vec![Violation::new(
                "message_until",
                "the time messages may be sent until must be after the time they may be sent from, on the same day",
            )])),
            _ => Err(Violations(violations)),
        }
    }

    /// As stored (sealed): `HH:MM-HH:MM`, with `;weekdays` if only on weekdays.
    pub fn code(&self) -> String {
        format!(
            "{}-{}{}",
            self.from.format(HOURS).unwrap_or_default(),
            self.until.format(HOURS).unwrap_or_default(),
            if self.weekdays_only { ";weekdays" } else { "" }
        )
    }

    pub fn from_code(code: &str) -> Option<MessageWindow> {
        let (hours, weekdays_only) = match code.split_once(';') {
            Some((hours, "weekdays")) => (hours, true),
            Some(_) => return None,
            None => (code, false),
        };
        let (from, until) = hours.split_once('-')?;
        MessageWindow::parse(from, until, weekdays_only)
            .ok()
            .flatten()
    }

    /// As people read it: "between 10:00 and 12:00, Monday to Friday".
    pub fn describe(&self) -> String {
        format!(
            "between {} and {} (UK time){}",
            self.from.format(HOURS).unwrap_or_default(),
            self.until.format(HOURS).unwrap_or_default(),
            if self.weekdays_only {
                ", Monday to Friday"
            } else {
                ", any day"
            }
        )
    }

    fn day_allowed(&self, day: Date) -> bool {
        !self.weekdays_only || !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
    }

    /// The moment a local time on a day is; a time in the hour the clocks skip (01:00–01:59 on
    /// the last Sunday of March) is the end of that hour, 02:00 BST, so a window neither opens
    /// early nor runs past the hours the person gave.
    fn moment(day: Date, at: Time) -> OffsetDateTime {
        uk_time::from_uk(day, at).unwrap_or_else(|_| {
            uk_time::from_uk(day, Time::from_hms(2, 0, 0).unwrap_or(at))
                .unwrap_or_else(|_| day.with_time(at).assume_utc())
        })
    }

    /// Whether a message may be sent at `t`.
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        let day = uk_time::to_uk(t).date();
        self.day_allowed(day)
            && Self::moment(day, self.from) <= t
            && t < Self::moment(day, self.until)
    }

    /// `t` if the window is open then, else the moment it next opens.
    pub fn next_open(&self, t: OffsetDateTime) -> OffsetDateTime {
        if self.contains(t) {
            return t;
        }
        let mut day = uk_time::to_uk(t).date();
        // At most a weekend and a day away.
        for _ in 0..8 {
            let opens = Self::moment(day, self.from);
            if self.day_allowed(day) && opens > t {
                return opens;
            }
            day = day.next_day().unwrap_or(day);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, time};

    fn window(from: &str, until: &str, weekdays_only: bool) -> MessageWindow {
        MessageWindow::parse(from, until, weekdays_only)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("{from}-{until} is a window"))
    }

    fn fields(from: &str, until: &str) -> Vec<&'static str> {
        match MessageWindow::parse(from, until, false) {
            Err(v) => v.0.iter().map(|v| v.field).collect(),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn a_window_is_read_from_two_times_and_refused_by_name_otherwise() {
        assert_eq!(MessageWindow::parse("", " ", false), Ok(None));
        assert_eq!(
            window("09:30", "12:00", true),
            MessageWindow {
                from: time!(09:30),
                until: time!(12:00),
                weekdays_only: true
            }
        );
        assert_eq!(fields("09:30", ""), ["message_until"]);
        assert_eq!(fields("half nine", "12:00"), ["message_from"]);
        assert_eq!(fields("12:00", "09:00"), ["message_until"]);
        assert_eq!(fields("12:00", "12:00"), ["message_until"]);
        assert_eq!(fields("25:00", "26:00"), ["message_from", "message_until"]);
        let w = window("10:00", "12:30", true);
        assert_eq!(w.code(), "10:00-12:30;weekdays");
        assert_eq!(MessageWindow::from_code(&w.code()), Some(w));
        assert_eq!(MessageWindow::from_code("10:00-12:30;sundays"), None);
        assert_eq!(
            w.describe(),
            "between 10:00 and 12:30 (UK time), Monday to Friday"
        );
    }

    #[test]
    fn inside_the_window_now_outside_it_at_its_next_opening() {
        let w = window("10:00", "12:00", false);
        // Thursday 3 December 2026, GMT: UK time is UTC.
        let inside = datetime!(2026-12-03 11:59 UTC);
        assert_eq!(w.next_open(inside), inside);
        assert_eq!(
            w.next_open(datetime!(2026-12-03 09:00 UTC)),
            datetime!(2026-12-03 10:00 UTC)
        );
        // The end is not in it: the next opening is the following day.
        assert!(!w.contains(datetime!(2026-12-03 12:00 UTC)));
        assert_eq!(
            w.next_open(datetime!(2026-12-03 12:00 UTC)),
            datetime!(2026-12-04 10:00 UTC)
        );
        // In summer the same local hours are an hour earlier in UTC.
        assert_eq!(
            w.next_open(datetime!(2026-07-01 08:30 UTC)),
            datetime!(2026-07-01 09:00 UTC)
        );
        assert!(w.contains(datetime!(2026-07-01 10:59 UTC)));
        assert!(!w.contains(datetime!(2026-07-01 11:00 UTC)));
    }

    #[test]
    fn weekdays_only_waits_over_the_weekend_and_month_and_year_ends() {
        let w = window("10:00", "12:00", true);
        // Friday 4 December after the window: Monday 7 December.
        assert_eq!(
            w.next_open(datetime!(2026-12-04 13:00 UTC)),
            datetime!(2026-12-07 10:00 UTC)
        );
        // Saturday inside the hours is still the weekend.
        assert!(!w.contains(datetime!(2026-12-05 11:00 UTC)));
        // Thursday 31 December 2026 after the window: Friday 1 January 2027.
        assert_eq!(
            w.next_open(datetime!(2026-12-31 15:00 UTC)),
            datetime!(2027-01-01 10:00 UTC)
        );
        // Saturday 29 February 2028 (a leap day) waits for Monday 1 March.
        assert_eq!(
            w.next_open(datetime!(2028-02-26 11:00 UTC)),
            datetime!(2028-02-28 10:00 UTC)
        );
        assert_eq!(
            w.next_open(datetime!(2028-02-29 13:00 UTC)),
            datetime!(2028-03-01 10:00 UTC)
        );
    }

    #[test]
    fn across_the_clock_changes_the_window_keeps_its_local_hours() {
        let w = window("10:00", "12:00", false);
        // Saturday 28 March 2026 after the window (GMT) opens on Sunday 29 March at 10:00 BST.
        assert_eq!(
            w.next_open(datetime!(2026-03-28 12:30 UTC)),
            datetime!(2026-03-29 09:00 UTC)
        );
        // Saturday 24 October (BST) after the window opens on Sunday 25 October at 10:00 GMT.
        assert_eq!(
            w.next_open(datetime!(2026-10-24 11:30 UTC)),
            datetime!(2026-10-25 10:00 UTC)
        );
        // A window opening in the skipped hour opens when the clocks have gone forward, at
        // 02:00 BST; one ending in it ends there too (never later than the hours given).
        let early = window("01:30", "03:00", false);
        assert_eq!(
            early.next_open(datetime!(2026-03-29 00:10 UTC)),
            datetime!(2026-03-29 01:00 UTC)
        );
        let ends_in_it = window("00:30", "01:30", false);
        assert!(ends_in_it.contains(datetime!(2026-03-29 00:45 UTC)));
        assert!(!ends_in_it.contains(datetime!(2026-03-29 01:00 UTC)));
        // Late at night in UK time, just after midnight UTC in summer: the next day's opening.
        let late = window("23:00", "23:30", false);
        assert!(late.contains(datetime!(2026-07-01 22:10 UTC)));
        assert_eq!(
            late.next_open(datetime!(2026-07-01 22:45 UTC)),
            datetime!(2026-07-02 22:00 UTC)
        );
    }
}
