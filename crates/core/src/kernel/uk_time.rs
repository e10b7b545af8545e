//! UK local time (R: dates and clocks show in UK time). Everything is stored in UTC; people read and
//! type times in Europe/London's local time, GMT in winter and BST in summer, from the IANA time
//! zone database (`time-tz`), never a fixed offset.
//!
//! Guarantees:
//! - A moment is shown with the offset in force at that moment, on both sides of a clock change.
//! - A local time typed in is read with the offset in force on that day: in the hour skipped when
//!   the clocks go forward it does not exist and is refused; in the hour repeated when they go back
//!   it means the first (BST) one, which the person entering it is told of by the time shown back.

use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};
use time_tz::{OffsetDateTimeExt, OffsetResult, PrimitiveDateTimeExt, Tz, timezones};

/// A calendar day written `YYYY-MM-DD` (as forms, requests and the register give days), or `None`.
pub fn iso_day(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok()
}

fn london() -> &'static Tz {
    timezones::db::europe::LONDON
}

/// The moment in UK local time.
pub fn to_uk(t: OffsetDateTime) -> OffsetDateTime {
    t.to_timezone(london())
}

/// "GMT" or "BST": the name of UK time at that moment.
pub fn zone_name(t: OffsetDateTime) -> &'static str {
    if to_uk(t).offset().is_utc() {
        "GMT"
    } else {
        "BST"
    }
}

/// The UK day of a moment as people write it: "1 April 2026".
pub fn date_text(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[day padding:none] [month repr:long] [year]");
    to_uk(t).format(&f).unwrap_or_default()
}

/// A calendar day with its weekday, as people write it: "Saturday 3 October 2026".
pub fn day_text(day: Date) -> String {
    let f = time::macros::format_description!(
        "[weekday repr:long] [day padding:none] [month repr:long] [year]"
    );
    day.format(&f).unwrap_or_default()
}

/// A UK local time that is not a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("that time does not exist in the UK: the clocks go forward an hour then")]
pub struct SkippedHour;

/// The moment a UK local date and time names (see the module's guarantees).
pub fn from_uk(date: Date, time: Time) -> Result<OffsetDateTime, SkippedHour> {
    match PrimitiveDateTime::new(date, time).assume_timezone(london()) {
        OffsetResult::Some(t) => Ok(t),
        OffsetResult::Ambiguous(first, _) => Ok(first),
        OffsetResult::None => Err(SkippedHour),
    }
}

/// The start of a UK day.
pub fn uk_midnight(date: Date) -> OffsetDateTime {
    // Midnight is never in a skipped hour in the UK (the clocks change at 01:00 GMT).
    from_uk(date, Time::MIDNIGHT).unwrap_or_else(|_| date.midnight().assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    #[test]
    fn moments_show_with_the_offset_in_force_on_both_sides_of_each_change() {
        // 2026: forward on 29 March at 01:00 GMT, back on 25 October at 01:00 GMT.
        let before = to_uk(datetime!(2026-03-29 00:59 UTC));
        assert_eq!(
            (
                before.hour(),
                before.minute(),
                zone_name(datetime!(2026-03-29 00:59 UTC))
            ),
            (0, 59, "GMT")
        );
        let after = to_uk(datetime!(2026-03-29 01:00 UTC));
        assert_eq!(
            (after.hour(), zone_name(datetime!(2026-03-29 01:00 UTC))),
            (2, "BST")
        );
        let summer = to_uk(datetime!(2026-07-14 13:00 UTC));
        assert_eq!(summer.hour(), 14);
        let last_bst = to_uk(datetime!(2026-10-25 00:59 UTC));
        assert_eq!((last_bst.hour(), last_bst.minute()), (1, 59));
        let back = to_uk(datetime!(2026-10-25 01:00 UTC));
        assert_eq!(
            (back.hour(), zone_name(datetime!(2026-10-25 01:00 UTC))),
            (1, "GMT")
        );
        // The date changes at UK midnight, not UTC's.
        assert_eq!(
            to_uk(datetime!(2026-06-30 23:30 UTC)).date(),
            date!(2026 - 07 - 01)
        );
        assert_eq!(
            to_uk(datetime!(2026-12-31 23:30 UTC)).date(),
            date!(2026 - 12 - 31)
        );
    }

    #[test]
    fn local_times_are_read_with_the_days_offset_and_the_skipped_hour_is_refused() {
        assert_eq!(
            from_uk(date!(2026 - 07 - 14), time!(14:00)),
            Ok(datetime!(2026-07-14 13:00 UTC))
        );
        assert_eq!(
            from_uk(date!(2026 - 12 - 14), time!(14:00)),
            Ok(datetime!(2026-12-14 14:00 UTC))
        );
        assert_eq!(
            from_uk(date!(2026 - 03 - 29), time!(01:30)),
            Err(SkippedHour)
        );
        assert_eq!(
            from_uk(date!(2026 - 03 - 29), time!(02:00)),
            Ok(datetime!(2026-03-29 01:00 UTC))
        );
        // The repeated hour: the first (BST) one.
        assert_eq!(
            from_uk(date!(2026 - 10 - 25), time!(01:30)),
            Ok(datetime!(2026-10-25 00:30 UTC))
        );
        assert_eq!(
            from_uk(date!(2026 - 10 - 25), time!(02:00)),
            Ok(datetime!(2026-10-25 02:00 UTC))
        );
        // A leap day, and the turn of a year.
        assert_eq!(
            from_uk(date!(2028 - 02 - 29), time!(09:15)),
            Ok(datetime!(2028-02-29 09:15 UTC))
        );
        assert_eq!(
            uk_midnight(date!(2027 - 01 - 01)),
            datetime!(2027-01-01 00:00 UTC)
        );
        assert_eq!(
            uk_midnight(date!(2026 - 08 - 01)),
            datetime!(2026-07-31 23:00 UTC)
        );
    }

    #[test]
    fn what_is_shown_reads_back_as_the_same_moment_across_a_year() {
        let mut t = datetime!(2026-01-01 00:00 UTC);
        while t < datetime!(2027-01-01 00:00 UTC) {
            let local = to_uk(t);
            let back = from_uk(local.date(), local.time()).expect("a shown time exists");
            // In the repeated hour the shown GMT time reads back as its BST twin, an hour earlier.
            assert!(
                back == t || back == t - time::Duration::HOUR,
                "{t} -> {local} -> {back}"
            );
            t += time::Duration::minutes(17);
        }
    }
}
