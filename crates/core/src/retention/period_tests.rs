//! Periods read from a register, and the day each ends: month ends, leap years both ways, year
//! boundaries, "at once", birthdays, and moments either side of UK midnight in GMT and BST.

use proptest::prelude::*;
use time::macros::{date, datetime};

use super::*;

fn parsed(text: &str) -> Result<Period, PeriodError> {
    Period::parse(text)
}

#[test]
fn a_period_reads_years_months_days_or_at_once_and_prints_as_the_notice_states_it() {
    for (text, period, shown) in [
        ("10 years", Period::Years(10), "10 years"),
        ("1 year", Period::Years(1), "1 year"),
        ("6 months", Period::Months(6), "6 months"),
        ("1 month", Period::Months(1), "1 month"),
        ("30 days", Period::Days(30), "30 days"),
        ("1 day", Period::Days(1), "1 day"),
        ("at once", Period::AtOnce, "at once"),
        // Spacing, case and number are forgiven; the notice prints its own form.
        ("  7  Years ", Period::Years(7), "7 years"),
        ("AT ONCE", Period::AtOnce, "at once"),
        ("1 years", Period::Years(1), "1 year"),
        ("2 month", Period::Months(2), "2 months"),
        ("200 years", Period::Years(200), "200 years"),
    ] {
        assert_eq!(parsed(text), Ok(period), "{text}");
        assert_eq!(period.to_string(), shown);
        assert_eq!(parsed(shown), Ok(period), "its own form reads back");
    }
}

#[test]
fn anything_else_is_refused_saying_what_a_period_is() {
    for text in [
        "",
        "erased at once",
        "at once please",
        "10",
        "years",
        "ten years",
        "10 yrs",
        "10years",
        "-1 years",
        "+1 years",
        "1.5 years",
        "10 years 6 months",
        "6 weeks",
        "until the case closes",
    ] {
        assert_eq!(parsed(text), Err(PeriodError::NotAPeriod), "{text:?}");
    }
    assert_eq!(parsed("0 days"), Err(PeriodError::Zero));
    assert_eq!(parsed("0 years"), Err(PeriodError::Zero));
    assert_eq!(parsed("201 years"), Err(PeriodError::TooLong));
    assert_eq!(parsed("2401 months"), Err(PeriodError::TooLong));
    assert_eq!(
        parsed("99999999999999999999 days"),
        Err(PeriodError::TooLong)
    );
    assert!(
        PeriodError::NotAPeriod
            .to_string()
            .contains("\"10 years\", \"6 months\", \"30 days\"), or \"at once\"")
    );
}

#[test]
fn a_period_round_trips_through_serde_as_its_words() {
    let json = serde_json::to_string(&Period::Months(6)).unwrap_or_default();
    assert_eq!(json, "\"6 months\"");
    assert_eq!(
        serde_json::from_str::<Period>(&json).ok(),
        Some(Period::Months(6))
    );
    let wrong = serde_json::from_str::<Period>("\"erased at once\"")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        wrong.starts_with("\"erased at once\" is not a period"),
        "{wrong}"
    );
}

#[test]
fn years_and_months_are_added_on_the_calendar() {
    assert_eq!(
        Period::Years(10).ends_on(date!(2020 - 03 - 15)),
        Some(date!(2030 - 03 - 15))
    );
    assert_eq!(
        Period::Months(6).ends_on(date!(2026 - 01 - 15)),
        Some(date!(2026 - 07 - 15))
    );
    assert_eq!(
        Period::Months(12).ends_on(date!(2026 - 05 - 31)),
        Period::Years(1).ends_on(date!(2026 - 05 - 31))
    );
}

#[test]
fn a_month_without_the_day_ends_the_period_on_the_first_of_the_next_month() {
    for (from, period, ends) in [
        // 31 January: February has no 31st (nor 30th, nor 29th in a common year).
        (
            date!(2026 - 01 - 31),
            Period::Months(1),
            date!(2026 - 03 - 01),
        ),
        (
            date!(2026 - 01 - 30),
            Period::Months(1),
            date!(2026 - 03 - 01),
        ),
        (
            date!(2026 - 01 - 29),
            Period::Months(1),
            date!(2026 - 03 - 01),
        ),
        (
            date!(2026 - 01 - 28),
            Period::Months(1),
            date!(2026 - 02 - 28),
        ),
        // A 30-day month.
        (
            date!(2026 - 03 - 31),
            Period::Months(1),
            date!(2026 - 05 - 01),
        ),
        (
            date!(2026 - 08 - 31),
            Period::Months(1),
            date!(2026 - 10 - 01),
        ),
        (
            date!(2026 - 05 - 31),
            Period::Months(4),
            date!(2026 - 10 - 01),
        ),
        // A 31-day month reached from a 31st keeps it.
        (
            date!(2026 - 05 - 31),
            Period::Months(2),
            date!(2026 - 07 - 31),
        ),
        (
            date!(2026 - 08 - 31),
            Period::Months(6),
            date!(2027 - 03 - 01),
        ),
    ] {
        assert_eq!(period.ends_on(from), Some(ends), "{period} from {from}");
    }
}

#[test]
fn leap_years_both_ways() {
    // From 29 February into a common year: 1 March, never 28 February.
    assert_eq!(
        Period::Years(1).ends_on(date!(2024 - 02 - 29)),
        Some(date!(2025 - 03 - 01))
    );
    assert_eq!(
        Period::Years(7).ends_on(date!(2024 - 02 - 29)),
        Some(date!(2031 - 03 - 01))
    );
    assert_eq!(
        Period::Months(12).ends_on(date!(2024 - 02 - 29)),
        Some(date!(2025 - 03 - 01))
    );
    // From 29 February into a leap year: 29 February.
    assert_eq!(
        Period::Years(4).ends_on(date!(2024 - 02 - 29)),
        Some(date!(2028 - 02 - 29))
    );
    // From a common year into a leap year: the same day, the 29th not skipped to.
    assert_eq!(
        Period::Years(1).ends_on(date!(2023 - 02 - 28)),
        Some(date!(2024 - 02 - 28))
    );
    assert_eq!(
        Period::Years(1).ends_on(date!(2023 - 03 - 01)),
        Some(date!(2024 - 03 - 01))
    );
    // Into a leap February from the 29th-31st of a month.
    assert_eq!(
        Period::Months(1).ends_on(date!(2024 - 01 - 29)),
        Some(date!(2024 - 02 - 29))
    );
    assert_eq!(
        Period::Months(1).ends_on(date!(2024 - 01 - 31)),
        Some(date!(2024 - 03 - 01))
    );
    // 2100 is not a leap year (divisible by 100, not 400); 2000 was.
    assert_eq!(
        Period::Years(4).ends_on(date!(2096 - 02 - 29)),
        Some(date!(2100 - 03 - 01))
    );
    assert_eq!(
        Period::Years(4).ends_on(date!(1996 - 02 - 29)),
        Some(date!(2000 - 02 - 29))
    );
    // Days count the leap day.
    assert_eq!(
        Period::Days(1).ends_on(date!(2024 - 02 - 28)),
        Some(date!(2024 - 02 - 29))
    );
    assert_eq!(
        Period::Days(365).ends_on(date!(2024 - 01 - 01)),
        Some(date!(2024 - 12 - 31))
    );
}

#[test]
fn periods_cross_year_boundaries() {
    assert_eq!(
        Period::Days(1).ends_on(date!(2026 - 12 - 31)),
        Some(date!(2027 - 01 - 01))
    );
    assert_eq!(
        Period::Days(30).ends_on(date!(2026 - 12 - 15)),
        Some(date!(2027 - 01 - 14))
    );
    assert_eq!(
        Period::Months(1).ends_on(date!(2026 - 12 - 15)),
        Some(date!(2027 - 01 - 15))
    );
    assert_eq!(
        Period::Months(2).ends_on(date!(2026 - 11 - 30)),
        Some(date!(2027 - 01 - 30))
    );
    assert_eq!(
        Period::Months(2).ends_on(date!(2026 - 12 - 31)),
        Some(date!(2027 - 03 - 01))
    );
    assert_eq!(
        Period::Months(13).ends_on(date!(2026 - 12 - 31)),
        Some(date!(2028 - 01 - 31))
    );
    assert_eq!(
        Period::Months(6).ends_on(date!(2026 - 07 - 31)),
        Some(date!(2027 - 01 - 31))
    );
}

#[test]
fn at_once_ends_on_the_trigger_date() {
    for day in [
        date!(2026 - 01 - 01),
        date!(2024 - 02 - 29),
        date!(2026 - 12 - 31),
        date!(9999 - 12 - 31),
    ] {
        assert_eq!(Period::AtOnce.ends_on(day), Some(day));
    }
}

#[test]
fn a_period_past_the_calendars_end_is_never_due() {
    assert_eq!(Period::Years(1).ends_on(date!(9999 - 06 - 01)), None);
    assert_eq!(Period::Days(1).ends_on(date!(9999 - 12 - 31)), None);
}

#[test]
fn a_birthday_is_the_day_itself_and_29_february_is_1_march_in_a_common_year() {
    assert_eq!(
        birthday(date!(2008 - 02 - 29), 18),
        Some(date!(2026 - 03 - 01))
    );
    assert_eq!(
        birthday(date!(2008 - 02 - 29), 25),
        Some(date!(2033 - 03 - 01))
    );
    assert_eq!(
        birthday(date!(2008 - 02 - 29), 28),
        Some(date!(2036 - 02 - 29))
    );
    assert_eq!(
        birthday(date!(2008 - 06 - 15), 18),
        Some(date!(2026 - 06 - 15))
    );
    assert_eq!(
        birthday(date!(2001 - 12 - 31), 25),
        Some(date!(2026 - 12 - 31))
    );
    // A rule counted from the 18th birthday: "7 years after your 18th birthday".
    let eighteenth = birthday(date!(2008 - 02 - 29), 18);
    assert_eq!(
        eighteenth.and_then(|d| Period::Years(7).ends_on(d)),
        Some(date!(2033 - 03 - 01))
    );
    // The triggers say which birthday they are.
    assert_eq!(
        crate::retention::Trigger::Birthday18
            .birthday_age()
            .and_then(|age| birthday(date!(2008 - 02 - 29), age)),
        Some(date!(2026 - 03 - 01))
    );
}

#[test]
fn a_moment_counts_from_its_uk_date_either_side_of_midnight_in_summer_and_winter() {
    // Summer (BST, UTC+1): UK midnight is 23:00 UTC the day before.
    assert_eq!(
        uk_date(datetime!(2026-07-14 22:59:59 UTC)),
        date!(2026 - 07 - 14)
    );
    assert_eq!(
        uk_date(datetime!(2026-07-14 23:00 UTC)),
        date!(2026 - 07 - 15)
    );
    // Winter (GMT): UK midnight is UTC midnight.
    assert_eq!(
        uk_date(datetime!(2026-12-14 23:59:59 UTC)),
        date!(2026 - 12 - 14)
    );
    assert_eq!(
        uk_date(datetime!(2026-12-15 00:00 UTC)),
        date!(2026 - 12 - 15)
    );
    // A case closed at 00:30 BST on 31 August (23:30 UTC on the 30th): a month later is
    // 1 October (September has no 31st), not the 30 September the UTC date would give.
    assert_eq!(
        Period::Months(1).ends_on_from(datetime!(2026-08-30 23:30 UTC)),
        Some(date!(2026 - 10 - 01))
    );
    assert_eq!(
        Period::Months(1).ends_on_from(datetime!(2026-08-30 22:59 UTC)),
        Some(date!(2026 - 09 - 30))
    );
    // In winter the UTC date is the UK date.
    assert_eq!(
        Period::Months(1).ends_on_from(datetime!(2026-01-31 23:59 UTC)),
        Some(date!(2026 - 03 - 01))
    );
    assert_eq!(
        Period::Months(1).ends_on_from(datetime!(2026-02-01 00:00 UTC)),
        Some(date!(2026 - 03 - 01))
    );
    assert_eq!(
        Period::AtOnce.ends_on_from(datetime!(2026-12-31 23:59 UTC)),
        Some(date!(2026 - 12 - 31))
    );
    assert_eq!(
        Period::AtOnce.ends_on_from(datetime!(2027-01-01 00:00 UTC)),
        Some(date!(2027 - 01 - 01))
    );
}

#[test]
fn a_moment_counts_from_its_uk_date_across_the_clock_changes() {
    // 2026: forward on 29 March at 01:00 UTC (GMT to BST), back on 25 October at 01:00 UTC.
    // The day the clocks go forward starts at 00:00 UTC (still GMT) and ends at 23:00 UTC (BST).
    assert_eq!(
        uk_date(datetime!(2026-03-28 23:59:59 UTC)),
        date!(2026 - 03 - 28)
    );
    assert_eq!(
        uk_date(datetime!(2026-03-29 00:00 UTC)),
        date!(2026 - 03 - 29)
    );
    assert_eq!(
        uk_date(datetime!(2026-03-29 22:59:59 UTC)),
        date!(2026 - 03 - 29)
    );
    assert_eq!(
        uk_date(datetime!(2026-03-29 23:00 UTC)),
        date!(2026 - 03 - 30)
    );
    // The day the clocks go back starts at 23:00 UTC the day before (BST) and ends at 00:00 UTC
    // (GMT): 25 hours.
    assert_eq!(
        uk_date(datetime!(2026-10-24 22:59:59 UTC)),
        date!(2026 - 10 - 24)
    );
    assert_eq!(
        uk_date(datetime!(2026-10-24 23:00 UTC)),
        date!(2026 - 10 - 25)
    );
    assert_eq!(
        uk_date(datetime!(2026-10-25 23:59:59 UTC)),
        date!(2026 - 10 - 25)
    );
    assert_eq!(
        uk_date(datetime!(2026-10-26 00:00 UTC)),
        date!(2026 - 10 - 26)
    );
    // Periods from those moments.
    assert_eq!(
        Period::Months(6).ends_on_from(datetime!(2026-03-29 22:59 UTC)),
        Some(date!(2026 - 09 - 29))
    );
    assert_eq!(
        Period::Months(6).ends_on_from(datetime!(2026-03-29 23:00 UTC)),
        Some(date!(2026 - 09 - 30))
    );
    assert_eq!(
        Period::Years(1).ends_on_from(datetime!(2026-10-24 22:59 UTC)),
        Some(date!(2027 - 10 - 24))
    );
    assert_eq!(
        Period::Years(1).ends_on_from(datetime!(2026-10-24 23:00 UTC)),
        Some(date!(2027 - 10 - 25))
    );
    assert_eq!(
        Period::Days(1).ends_on_from(datetime!(2026-10-25 23:59 UTC)),
        Some(date!(2026 - 10 - 26))
    );
    assert_eq!(
        Period::Days(1).ends_on_from(datetime!(2026-10-26 00:00 UTC)),
        Some(date!(2026 - 10 - 27))
    );
}

fn any_date() -> impl Strategy<Value = Date> {
    // 1900-01-01 to 2199-12-31.
    (2_415_021i32..=2_524_593)
        .prop_map(|jd| Date::from_julian_day(jd).unwrap_or(date!(2000 - 01 - 01)))
}

fn any_period() -> impl Strategy<Value = Period> {
    prop_oneof![
        (1u16..=200).prop_map(Period::Years),
        (1u16..=2400).prop_map(Period::Months),
        (1u32..=73_200).prop_map(Period::Days),
        Just(Period::AtOnce),
    ]
}

proptest! {
    /// Never early: the end is on or after the trigger and reached in whole months (the same
    /// day, or the 1st of the next month where the month is short); a later trigger never ends
    /// sooner; and the printed period reads back as itself.
    #[test]
    fn a_period_never_ends_before_its_full_length(
        from in any_date(),
        later in 0i64..400,
        period in any_period(),
    ) {
        let end = period.ends_on(from);
        prop_assert!(end.is_some());
        let end = end.unwrap_or(from);
        prop_assert!(end >= from);
        let months = match period {
            Period::Years(n) => Some(i32::from(n) * 12),
            Period::Months(n) => Some(i32::from(n)),
            Period::Days(n) => {
                prop_assert_eq!((end - from).whole_days(), i64::from(n));
                None
            }
            Period::AtOnce => {
                prop_assert_eq!(end, from);
                None
            }
        };
        if let Some(months) = months {
            let index = |d: Date| d.year() * 12 + i32::from(u8::from(d.month()));
            let moved = index(end) - index(from);
            if end.day() == from.day() {
                prop_assert_eq!(moved, months);
            } else {
                prop_assert_eq!(end.day(), 1);
                prop_assert_eq!(moved, months + 1);
            }
        }
        let next = from + time::Duration::days(later);
        prop_assert!(period.ends_on(next).unwrap_or(next) >= end);
        prop_assert_eq!(Period::parse(&period.to_string()), Ok(period));
    }
}
