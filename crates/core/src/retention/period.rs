//! How long a record is kept after its trigger, and the day that period ends.

use std::fmt;

use time::{Date, Month, OffsetDateTime};

use crate::uk_time;

/// How long a kind of record is kept after its trigger: whole years, months or days on the UK
/// calendar, or not at all (destroyed at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Years(u16),
    Months(u16),
    Days(u32),
    AtOnce,
}

/// The longest period a register may state, in years: longer is taken for a slip of the keyboard
/// (and stays well inside the calendar `time` can count).
const MAX_YEARS: u16 = 200;

/// Why a period was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error(
        "is not a period: write a number of years, months or days (\"10 years\", \"6 months\", \"30 days\"), or \"at once\""
    )]
    NotAPeriod,
    #[error("is zero: write \"at once\" for records destroyed as soon as their trigger happens")]
    Zero,
    #[error("is longer than 200 years")]
    TooLong,
}

impl Period {
    /// Reads "10 years", "1 year", "6 months", "30 days" or "at once" (any case; "1 years" and
    /// "2 year" too, since the meaning is plain). Anything else is refused.
    pub fn parse(text: &str) -> Result<Period, PeriodError> {
        let text = text.trim().to_ascii_lowercase();
        let words: Vec<&str> = text.split_whitespace().collect();
        let (count, unit) = match words.as_slice() {
            ["at", "once"] => return Ok(Period::AtOnce),
            [count, unit] => (*count, *unit),
            _ => return Err(PeriodError::NotAPeriod),
        };
        if !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PeriodError::NotAPeriod);
        }
        let unit_per_year = match unit {
            "year" | "years" => 1,
            "month" | "months" => 12,
            "day" | "days" => 366,
            _ => return Err(PeriodError::NotAPeriod),
        };
        let n: u32 = count.parse().map_err(|_| PeriodError::TooLong)?;
        if n == 0 {
            return Err(PeriodError::Zero);
        }
        if n > u32::from(MAX_YEARS) * unit_per_year {
            return Err(PeriodError::TooLong);
        }
        let short = |n: u32| u16::try_from(n).map_err(|_| PeriodError::TooLong);
        Ok(match unit_per_year {
            1 => Period::Years(short(n)?),
            12 => Period::Months(short(n)?),
            _ => Period::Days(n),
        })
    }

    /// The day the period ends, counted from the UK calendar date its trigger happened on: from
    /// that day the record is due for review, never before. Years and months are added on the
    /// calendar; where the month reached has no such day, the first day of the next month. Days
    /// are added as days; "at once" ends on the trigger's own date. `None` only past the last
    /// date the calendar holds (year 9999): such a record is never due.
    pub fn ends_on(self, trigger: Date) -> Option<Date> {
        match self {
            Period::Years(n) => add_months(trigger, u32::from(n) * 12),
            Period::Months(n) => add_months(trigger, u32::from(n)),
            Period::Days(n) => trigger.checked_add(time::Duration::days(i64::from(n))),
            Period::AtOnce => Some(trigger),
        }
    }

    /// [`Period::ends_on`] for a trigger recorded as a moment: counted from the date it was in
    /// the UK then.
    pub fn ends_on_from(self, trigger: OffsetDateTime) -> Option<Date> {
        self.ends_on(uk_date(trigger))
    }
}

impl fmt::Display for Period {
    /// As the notice states it: "10 years", "1 year", "6 months", "30 days", "at once".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, one, many) = match *self {
            Period::AtOnce => return f.write_str("at once"),
            Period::Years(n) => (u32::from(n), "year", "years"),
            Period::Months(n) => (u32::from(n), "month", "months"),
            Period::Days(n) => (n, "day", "days"),
        };
        write!(f, "{n} {}", if n == 1 { one } else { many })
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Period::parse(&text).map_err(|e| serde::de::Error::custom(format!("\"{text}\" {e}")))
    }
}

/// The UK calendar date a moment falls on (`Europe/London`: GMT in winter, BST in summer).
pub fn uk_date(moment: OffsetDateTime) -> Date {
    uk_time::to_uk(moment).date()
}

/// Someone's birthday of an age, by the rule periods follow: born on 29 February, their birthday
/// in a common year is 1 March. `None` past the calendar's end.
pub fn birthday(born: Date, age: u8) -> Option<Date> {
    add_months(born, u32::from(age) * 12)
}

/// `months` calendar months after `date`; where that month has no such day, the first day of the
/// month after it (never earlier than the full period).
fn add_months(date: Date, months: u32) -> Option<Date> {
    let index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1;
    let index = index + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    if date.day() <= month.length(year) {
        Date::from_calendar_date(year, month, date.day()).ok()
    } else {
        // December has 31 days, so the month after is always in the same year.
        Date::from_calendar_date(year, month.next(), 1).ok()
    }
}

#[cfg(test)]
#[path = "period_tests.rs"]
mod tests;
