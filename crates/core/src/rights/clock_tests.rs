//! The clock's table: month lengths, leap years, weekends, each division's bank holidays, stopped
//! days, extensions and a service's own limit. Every expected day was worked out by hand from the
//! rule and a calendar, not from the code.

use super::*;
use crate::retention::uk_date as start_day;
use time::macros::{date, datetime};

const EW: Division = Division::EnglandAndWales;

fn rule(start: Date) -> DueRule {
    DueRule {
        start,
        stopped_days: 0,
        extended: false,
        limit_days: None,
    }
}

fn due_in(division: Division, rule: DueRule) -> Due {
    due(&rule, BankHolidays::shipped(), division).expect("the year is covered")
}

#[test]
fn the_corresponding_date_or_the_months_last_day() {
    let table = [
        (date!(2026 - 09 - 03), 1, date!(2026 - 10 - 03)),
        (date!(2026 - 01 - 30), 1, date!(2026 - 02 - 28)),
        (date!(2026 - 01 - 31), 1, date!(2026 - 02 - 28)),
        (date!(2028 - 01 - 30), 1, date!(2028 - 02 - 29)),
        (date!(2028 - 01 - 31), 1, date!(2028 - 02 - 29)),
        (date!(2028 - 02 - 29), 1, date!(2028 - 03 - 29)),
        (date!(2026 - 03 - 31), 1, date!(2026 - 04 - 30)),
        (date!(2026 - 10 - 31), 1, date!(2026 - 11 - 30)),
        (date!(2026 - 12 - 31), 1, date!(2027 - 01 - 31)),
        (date!(2026 - 12 - 15), 1, date!(2027 - 01 - 15)),
        (date!(2026 - 11 - 30), 3, date!(2027 - 02 - 28)),
        (date!(2027 - 11 - 30), 3, date!(2028 - 02 - 29)),
        (date!(2026 - 10 - 31), 3, date!(2027 - 01 - 31)),
        (date!(2100 - 01 - 31), 1, date!(2100 - 02 - 28)),
        (date!(2000 - 01 - 31), 1, date!(2000 - 02 - 29)),
    ];
    for (start, months, expected) in table {
        assert_eq!(months_after(start, months), expected, "{start} + {months}");
    }
}

#[test]
fn due_one_month_on_and_moved_to_the_next_working_day() {
    // (division, received, due, moved from)
    let table = [
        // A Saturday: the Monday after (the ICO's own example, 3 September).
        (
            EW,
            date!(2026 - 09 - 03),
            date!(2026 - 10 - 05),
            Some(date!(2026 - 10 - 03)),
        ),
        // 30 January: no 30 February, the month's last day, a Saturday.
        (
            EW,
            date!(2026 - 01 - 30),
            date!(2026 - 03 - 02),
            Some(date!(2026 - 02 - 28)),
        ),
        // In a leap year 29 February, a Tuesday.
        (EW, date!(2028 - 01 - 31), date!(2028 - 02 - 29), None),
        (EW, date!(2028 - 02 - 29), date!(2028 - 03 - 29), None),
        (EW, date!(2026 - 03 - 31), date!(2026 - 04 - 30), None),
        // Good Friday, then the weekend, then Easter Monday: Tuesday.
        (
            EW,
            date!(2026 - 03 - 03),
            date!(2026 - 04 - 07),
            Some(date!(2026 - 04 - 03)),
        ),
        // Scotland has no Easter Monday holiday.
        (
            Division::Scotland,
            date!(2026 - 03 - 03),
            date!(2026 - 04 - 06),
            Some(date!(2026 - 04 - 03)),
        ),
        // Christmas Day, a weekend, Boxing Day's substitute Monday: Tuesday 29 December.
        (
            EW,
            date!(2026 - 11 - 25),
            date!(2026 - 12 - 29),
            Some(date!(2026 - 12 - 25)),
        ),
        // New Year's Day across the year's end; Scotland's 2 January substitute on the Monday.
        (
            EW,
            date!(2026 - 12 - 01),
            date!(2027 - 01 - 04),
            Some(date!(2027 - 01 - 01)),
        ),
        (
            Division::Scotland,
            date!(2026 - 12 - 01),
            date!(2027 - 01 - 05),
            Some(date!(2027 - 01 - 01)),
        ),
        // St Andrew's Day is Scotland's only.
        (EW, date!(2026 - 10 - 30), date!(2026 - 11 - 30), None),
        (
            Division::Scotland,
            date!(2026 - 10 - 30),
            date!(2026 - 12 - 01),
            Some(date!(2026 - 11 - 30)),
        ),
        // 12 July on a Sunday: Northern Ireland's holiday on the Monday.
        (
            EW,
            date!(2026 - 06 - 12),
            date!(2026 - 07 - 13),
            Some(date!(2026 - 07 - 12)),
        ),
        (
            Division::NorthernIreland,
            date!(2026 - 06 - 12),
            date!(2026 - 07 - 14),
            Some(date!(2026 - 07 - 12)),
        ),
        // Received on a Sunday: still day one.
        (EW, date!(2026 - 03 - 01), date!(2026 - 04 - 01), None),
    ];
    for (division, received, expected, moved_from) in table {
        let got = due_in(division, rule(received));
        assert_eq!(
            got,
            Due {
                date: expected,
                by: DueBy::OneMonth,
                moved_from
            },
            "{division:?} {received}"
        );
    }
}

#[test]
fn stopped_days_move_the_date_before_the_working_day_is_found() {
    let stopped = |start, days| DueRule {
        stopped_days: days,
        ..rule(start)
    };
    assert_eq!(
        due_in(EW, stopped(date!(2026 - 09 - 03), 10)).date,
        date!(2026 - 10 - 13)
    );
    // 15 February is a Sunday, but twenty days later is what counts: Saturday 7 March, so Monday.
    assert_eq!(
        due_in(EW, stopped(date!(2026 - 01 - 15), 20)),
        Due {
            date: date!(2026 - 03 - 09),
            by: DueBy::OneMonth,
            moved_from: Some(date!(2026 - 03 - 07)),
        }
    );
    // Two days stopped take 3 October (a Saturday) to Monday 5 October itself.
    assert_eq!(
        due_in(EW, stopped(date!(2026 - 09 - 03), 2)),
        Due {
            date: date!(2026 - 10 - 05),
            by: DueBy::OneMonth,
            moved_from: None,
        }
    );
}

#[test]
fn an_extension_runs_three_months_from_the_same_start() {
    let extended = |start, stopped_days| DueRule {
        extended: true,
        stopped_days,
        ..rule(start)
    };
    // 28 February 2027 is a Sunday.
    assert_eq!(
        due_in(EW, extended(date!(2026 - 11 - 30), 0)),
        Due {
            date: date!(2027 - 03 - 01),
            by: DueBy::ThreeMonths,
            moved_from: Some(date!(2027 - 02 - 28)),
        }
    );
    assert_eq!(
        due_in(EW, extended(date!(2027 - 11 - 30), 0)).date,
        date!(2028 - 02 - 29)
    );
    assert_eq!(
        due_in(EW, extended(date!(2026 - 09 - 03), 5)).date,
        date!(2026 - 12 - 08)
    );
}

#[test]
fn an_extension_is_possible_only_until_the_one_month_date() {
    let r = rule(date!(2026 - 09 - 03));
    let b = BankHolidays::shipped();
    // Due on Monday 5 October (3 October is a Saturday).
    assert!(may_extend_on(&r, date!(2026 - 09 - 03), b, EW).expect("the year is covered"));
    assert!(may_extend_on(&r, date!(2026 - 10 - 05), b, EW).expect("the year is covered"));
    assert!(!may_extend_on(&r, date!(2026 - 10 - 06), b, EW).expect("the year is covered"));
    // A service's shorter limit does not shorten the law's window for an extension; stopped days
    // lengthen it.
    let shorter = DueRule {
        limit_days: Some(10),
        stopped_days: 3,
        ..r
    };
    assert!(may_extend_on(&shorter, date!(2026 - 10 - 06), b, EW).expect("the year is covered"));
    assert!(!may_extend_on(&shorter, date!(2026 - 10 - 07), b, EW).expect("the year is covered"));
}

#[test]
fn a_services_shorter_limit_wins_and_is_kept_on_the_working_day_before() {
    let limited = |start, days| DueRule {
        limit_days: Some(days),
        ..rule(start)
    };
    // Twenty days from 1 June 2026 is Sunday 21 June: the Friday before.
    assert_eq!(
        due_in(EW, limited(date!(2026 - 06 - 01), 20)),
        Due {
            date: date!(2026 - 06 - 19),
            by: DueBy::ServiceLimit,
            moved_from: Some(date!(2026 - 06 - 21)),
        }
    );
    // Thirty days from 1 January 2027 is Sunday 31 January: Friday 29 January, before the law's
    // Monday 1 February.
    assert_eq!(
        due_in(EW, limited(date!(2027 - 01 - 01), 30)).date,
        date!(2027 - 01 - 29)
    );
    // Twenty days from 5 May 2026 is the spring bank holiday: Friday 22 May.
    assert_eq!(
        due_in(EW, limited(date!(2026 - 05 - 05), 20)).date,
        date!(2026 - 05 - 22)
    );
    // Thirty days from 1 February 2026 is Tuesday 3 March: the law's Monday 2 March is sooner.
    assert_eq!(
        due_in(EW, limited(date!(2026 - 02 - 01), 30)),
        Due {
            date: date!(2026 - 03 - 02),
            by: DueBy::OneMonth,
            moved_from: Some(date!(2026 - 03 - 01)),
        }
    );
    // The same day either way: the law's.
    assert_eq!(
        due_in(EW, limited(date!(2026 - 01 - 31), 30)).by,
        DueBy::OneMonth
    );
    // Stopped days count against the service's limit too.
    let stopped = DueRule {
        stopped_days: 5,
        ..limited(date!(2026 - 06 - 01), 20)
    };
    assert_eq!(due_in(EW, stopped).date, date!(2026 - 06 - 26));
    // Extended, the law's three months.
    let extended = DueRule {
        extended: true,
        ..limited(date!(2026 - 06 - 01), 20)
    };
    assert_eq!(
        due_in(EW, extended),
        Due {
            date: date!(2026 - 09 - 01),
            by: DueBy::ThreeMonths,
            moved_from: None,
        }
    );
}

#[test]
fn the_day_of_receipt_is_the_uk_day_across_the_clock_changes() {
    // 23:30 UTC on 30 June is 00:30 on 1 July in BST: day one is 1 July, due Saturday 1 August,
    // so Monday 3 August.
    let summer = start_day(datetime!(2026-06-30 23:30 UTC));
    assert_eq!(summer, date!(2026 - 07 - 01));
    assert_eq!(due_in(EW, rule(summer)).date, date!(2026 - 08 - 03));
    // In winter UK time is UTC.
    assert_eq!(
        start_day(datetime!(2026-12-31 23:30 UTC)),
        date!(2026 - 12 - 31)
    );
    // Either side of the clocks going back (01:00 UTC on 25 October 2026).
    assert_eq!(
        start_day(datetime!(2026-10-24 23:30 UTC)),
        date!(2026 - 10 - 25)
    );
    assert_eq!(
        start_day(datetime!(2026-03-28 23:30 UTC)),
        date!(2026 - 03 - 28)
    );
}

#[test]
fn a_due_date_past_the_known_bank_holidays_is_an_error() {
    let err = due(&rule(date!(2030 - 12 - 15)), BankHolidays::shipped(), EW);
    assert_eq!(
        err,
        Err(CalendarError::YearNotCovered {
            division: "England and Wales",
            year: 2031
        })
    );
}

#[test]
fn how_a_date_was_reached_reads_plainly() {
    let moved = due_in(EW, rule(date!(2026 - 09 - 03)));
    assert_eq!(
        moved.explained(),
        "one calendar month, moved from Saturday 3 October 2026 (not a working day)"
    );
    assert_eq!(
        due_in(EW, rule(date!(2026 - 03 - 31))).explained(),
        "one calendar month"
    );
}

#[test]
fn a_complaint_is_acknowledged_within_thirty_days_beginning_with_its_receipt() {
    let table = [
        (date!(2026 - 06 - 19), date!(2026 - 07 - 18)),
        (date!(2026 - 11 - 20), date!(2026 - 12 - 19)),
        // Across a month end, a year end, a leap day; a Saturday stays a Saturday.
        (date!(2026 - 12 - 15), date!(2027 - 01 - 13)),
        (date!(2028 - 02 - 01), date!(2028 - 03 - 01)),
        (date!(2027 - 02 - 01), date!(2027 - 03 - 02)),
        (date!(2026 - 10 - 12), date!(2026 - 11 - 10)),
        (date!(2026 - 11 - 26), date!(2026 - 12 - 25)),
    ];
    for (received, due) in table {
        assert_eq!(complaint_acknowledgement_due(received), due, "{received}");
    }
}
