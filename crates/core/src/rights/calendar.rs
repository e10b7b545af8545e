//! The UK's bank holidays, as data: England and Wales, Scotland and Northern Ireland each have
//! their own. Confidant ships them in the format GOV.UK publishes (`bank-holidays.json`: one object
//! per division with its `events`, each a `title` and a `date`), so an operator brings them up to
//! date by dropping in a newer file (`bank_holidays_file` in the configuration): the years it
//! covers replace those shipped, the others are kept.
//!
//! Guarantees:
//! - A day is a working day when it is a weekday and not a bank holiday of the division.
//! - A division is known only for the years its data covers (its first to its last holiday's
//!   year); asking about a day outside them is an error naming the year, never a guess, so a due
//!   date is never computed on a calendar that has run out.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use time::{Date, Weekday};

use crate::kernel::codes::codes;
use crate::uk_time::iso_day;

codes!(
    /// A part of the UK with its own bank holidays (GOV.UK's division names).
    #[derive(PartialOrd, Ord)]
    Division {
        EnglandAndWales = "england-and-wales": "England and Wales",
        Scotland = "scotland": "Scotland",
        NorthernIreland = "northern-ireland": "Northern Ireland",
    }
);

/// The bank holidays shipped with this version (2023 to 2030; from 2029 worked out from the
/// standing rules, before any one-off holiday was announced).
const SHIPPED: &str = include_str!("../../data/uk-bank-holidays.json");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the bank holidays file cannot be read: {0}")]
    Unreadable(String),
    #[error("the bank holidays file has no holidays for {0}")]
    MissingDivision(&'static str),
    #[error(
        "no bank holidays are known for {division} in {year}: bring the bank holidays file up to date"
    )]
    YearNotCovered { division: &'static str, year: i32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Holidays {
    days: BTreeSet<Date>,
    first_year: i32,
    last_year: i32,
}

/// The bank holidays of each division.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankHolidays {
    divisions: BTreeMap<&'static str, Holidays>,
}

#[derive(serde::Deserialize)]
struct FileDivision {
    events: Vec<FileEvent>,
}

#[derive(serde::Deserialize)]
struct FileEvent {
    date: String,
}

impl BankHolidays {
    /// The holidays shipped with this version.
    pub fn shipped() -> &'static BankHolidays {
        static SHIPPED_DAYS: OnceLock<BankHolidays> = OnceLock::new();
        SHIPPED_DAYS.get_or_init(|| {
            BankHolidays::from_json(SHIPPED).expect("the shipped bank holidays are well formed")
        })
    }

    /// Reads a file in GOV.UK's format. Every division must be there with at least one holiday.
    pub fn from_json(text: &str) -> Result<Self, CalendarError> {
        let file: BTreeMap<String, FileDivision> =
            serde_json::from_str(text).map_err(|e| CalendarError::Unreadable(e.to_string()))?;
        let mut divisions = BTreeMap::new();
        for division in Division::ALL {
            let Some(found) = file.get(division.code()) else {
                return Err(CalendarError::MissingDivision(division.code()));
            };
            let mut days = BTreeSet::new();
            for event in &found.events {
                let day = iso_day(&event.date).ok_or_else(|| {
                    CalendarError::Unreadable(format!(
                        "`{}` is not a date written YYYY-MM-DD",
                        event.date
                    ))
                })?;
                days.insert(day);
            }
            let (Some(first), Some(last)) = (days.first(), days.last()) else {
                return Err(CalendarError::MissingDivision(division.code()));
            };
            let (first_year, last_year) = (first.year(), last.year());
            divisions.insert(
                division.code(),
                Holidays {
                    days,
                    first_year,
                    last_year,
                },
            );
        }
        Ok(Self { divisions })
    }

    /// These holidays brought up to date by a newer file's: for each division, the years the
    /// newer one covers are taken from it, the others kept. GOV.UK's file reaches only a year or
    /// two ahead, so dropping it in never shortens what is known.
    pub fn updated_with(&self, newer: &BankHolidays) -> BankHolidays {
        let mut divisions = BTreeMap::new();
        for division in Division::ALL {
            let (old, new) = (self.holidays(division), newer.holidays(division));
            let covered = new.first_year..=new.last_year;
            let days = old
                .days
                .iter()
                .filter(|d| !covered.contains(&d.year()))
                .chain(&new.days)
                .copied()
                .collect();
            divisions.insert(
                division.code(),
                Holidays {
                    days,
                    first_year: old.first_year.min(new.first_year),
                    last_year: old.last_year.max(new.last_year),
                },
            );
        }
        BankHolidays { divisions }
    }

    fn holidays(&self, division: Division) -> &Holidays {
        // Every division is present: `from_json` refuses a file without one.
        &self.divisions[division.code()]
    }

    /// The years the data covers for a division.
    pub fn years(&self, division: Division) -> std::ops::RangeInclusive<i32> {
        let h = self.holidays(division);
        h.first_year..=h.last_year
    }

    /// Whether `day` is a bank holiday in the division.
    pub fn is_holiday(&self, division: Division, day: Date) -> Result<bool, CalendarError> {
        let h = self.holidays(division);
        if !(h.first_year..=h.last_year).contains(&day.year()) {
            return Err(CalendarError::YearNotCovered {
                division: division.label(),
                year: day.year(),
            });
        }
        Ok(h.days.contains(&day))
    }

    /// Whether `day` is a working day in the division: a weekday that is no bank holiday.
    pub fn is_working_day(&self, division: Division, day: Date) -> Result<bool, CalendarError> {
        let weekend = matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday);
        Ok(!self.is_holiday(division, day)? && !weekend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn each_division_has_its_own_holidays() {
        let b = BankHolidays::shipped();
        // St Andrew's Day 2026 is a Monday: Scotland only.
        assert!(
            b.is_holiday(Division::Scotland, date!(2026 - 11 - 30))
                .expect("the year is covered")
        );
        assert!(
            !b.is_holiday(Division::EnglandAndWales, date!(2026 - 11 - 30))
                .expect("the year is covered")
        );
        // The Battle of the Boyne, 12 July 2026, is a Sunday: Monday 13 July, Northern Ireland only.
        assert!(
            b.is_holiday(Division::NorthernIreland, date!(2026 - 07 - 13))
                .expect("the year is covered")
        );
        assert!(
            !b.is_working_day(Division::NorthernIreland, date!(2026 - 07 - 13))
                .expect("the year is covered")
        );
        assert!(
            b.is_working_day(Division::EnglandAndWales, date!(2026 - 07 - 13))
                .expect("the year is covered")
        );
        // Easter Monday is not a holiday in Scotland; the summer holiday is in August's first week.
        assert!(
            b.is_working_day(Division::Scotland, date!(2026 - 04 - 06))
                .expect("the year is covered")
        );
        assert!(
            !b.is_working_day(Division::EnglandAndWales, date!(2026 - 04 - 06))
                .expect("the year is covered")
        );
        assert!(
            b.is_holiday(Division::Scotland, date!(2026 - 08 - 03))
                .expect("the year is covered")
        );
        assert!(
            b.is_holiday(Division::EnglandAndWales, date!(2026 - 08 - 31))
                .expect("the year is covered")
        );
        // Boxing Day 2026 is a Saturday: the holiday is Monday 28 December everywhere.
        for d in Division::ALL {
            assert!(
                b.is_holiday(d, date!(2026 - 12 - 28))
                    .expect("the year is covered"),
                "{d:?}"
            );
            assert!(
                !b.is_working_day(d, date!(2026 - 12 - 26))
                    .expect("the year is covered"),
                "{d:?}"
            );
        }
        // 2 January is Scotland's; the coronation in 2023 was everyone's.
        assert!(
            b.is_holiday(Division::Scotland, date!(2027 - 01 - 04))
                .expect("the year is covered")
        );
        assert!(
            b.is_working_day(Division::EnglandAndWales, date!(2027 - 01 - 04))
                .expect("the year is covered")
        );
        for d in Division::ALL {
            assert!(
                b.is_holiday(d, date!(2023 - 05 - 08))
                    .expect("the year is covered"),
                "{d:?}"
            );
        }
    }

    #[test]
    fn a_year_the_data_does_not_cover_is_an_error_not_a_guess() {
        let b = BankHolidays::shipped();
        assert_eq!(b.years(Division::EnglandAndWales), 2023..=2030);
        assert_eq!(
            b.is_working_day(Division::EnglandAndWales, date!(2031 - 03 - 04)),
            Err(CalendarError::YearNotCovered {
                division: "England and Wales",
                year: 2031
            })
        );
        assert!(matches!(
            b.is_holiday(Division::Scotland, date!(2022 - 12 - 30)),
            Err(CalendarError::YearNotCovered { year: 2022, .. })
        ));
    }

    #[test]
    fn a_newer_file_replaces_the_shipped_one_and_a_bad_one_is_refused() {
        let newer = r#"{
            "england-and-wales": {"division": "england-and-wales", "events": [
                {"title": "New Year's Day", "date": "2031-01-01", "notes": "", "bunting": true},
                {"title": "A one-off holiday", "date": "2031-06-02", "notes": "", "bunting": true}]},
            "scotland": {"division": "scotland", "events": [{"title": "x", "date": "2031-01-02"}]},
            "northern-ireland": {"division": "northern-ireland", "events": [{"title": "x", "date": "2031-03-17"}]}
        }"#;
        let b = BankHolidays::from_json(newer).expect("a good file");
        assert!(
            !b.is_working_day(Division::EnglandAndWales, date!(2031 - 06 - 02))
                .expect("the year is covered")
        );
        assert!(
            b.is_working_day(Division::EnglandAndWales, date!(2031 - 06 - 03))
                .expect("the year is covered")
        );
        assert!(
            b.is_holiday(Division::EnglandAndWales, date!(2026 - 12 - 25))
                .is_err()
        );
        // Brought into the shipped ones: both years known, the newer file's own for 2031.
        let both = BankHolidays::shipped().updated_with(&b);
        assert_eq!(both.years(Division::EnglandAndWales), 2023..=2031);
        assert!(
            both.is_holiday(Division::EnglandAndWales, date!(2026 - 12 - 25))
                .expect("the year is covered")
        );
        assert!(
            both.is_holiday(Division::EnglandAndWales, date!(2031 - 06 - 02))
                .expect("the year is covered")
        );
        // A newer file for years already shipped replaces those years only.
        let moved = BankHolidays::from_json(
            r#"{"england-and-wales": {"events": [{"date": "2030-06-03"}]},
                "scotland": {"events": [{"date": "2030-01-02"}]},
                "northern-ireland": {"events": [{"date": "2030-03-18"}]}}"#,
        )
        .expect("a good file");
        let replaced = BankHolidays::shipped().updated_with(&moved);
        assert!(
            !replaced
                .is_holiday(Division::EnglandAndWales, date!(2030 - 12 - 25))
                .expect("the year is covered")
        );
        assert!(
            replaced
                .is_holiday(Division::EnglandAndWales, date!(2029 - 12 - 25))
                .expect("the year is covered")
        );

        assert_eq!(
            BankHolidays::from_json(r#"{"england-and-wales": {"events": []}}"#),
            Err(CalendarError::MissingDivision("england-and-wales"))
        );
        assert_eq!(
            BankHolidays::from_json(
                r#"{"england-and-wales": {"events": [{"date": "2031-01-01"}]},
                    "scotland": {"events": [{"date": "2031-01-01"}]}}"#
            ),
            Err(CalendarError::MissingDivision("northern-ireland"))
        );
        assert!(matches!(
            BankHolidays::from_json(
                r#"{"england-and-wales": {"events": [{"date": "1 January 2031"}]}}"#
            ),
            Err(CalendarError::Unreadable(_))
        ));
        assert!(matches!(
            BankHolidays::from_json("not json"),
            Err(CalendarError::Unreadable(_))
        ));
    }
}
