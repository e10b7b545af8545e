//! The due rule at its boundaries: each trigger the sweep knows, the day before and the day its
//! period ends (UK calendar: BST and GMT midnights, month ends, 29 February), and what keeps a
//! record off the queue whatever its dates.

use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::*;
use crate::organisation::micros;
use crate::retention::Period;

fn rule(id: &str, trigger: Trigger, period: Period) -> RetentionRule {
    RetentionRule {
        id: id.to_owned(),
        records: "Your case record".to_owned(),
        record_type: RecordType::CaseRecord,
        services: None,
        trigger,
        said_as: None,
        period,
        source: "schedule".to_owned(),
        destruction: "securely deleted".to_owned(),
    }
}

fn facts() -> RetentionFacts {
    RetentionFacts {
        person_id: Uuid::nil(),
        service_id: Uuid::nil(),
        service_code: Some("support".to_owned()),
        open_cases: 0,
        live_holds: 0,
        live_restrictions: 0,
        last_closed_at_micros: None,
        died_at_micros: None,
        last_contact_at_micros: micros(datetime!(2010-01-01 12:00 UTC)),
        hold_released_at_micros: None,
        born_on: None,
    }
}

/// Sets the time of one event of the record.
type SetTime = fn(&mut RetentionFacts, i64);

/// Due on `today` under one rule.
fn due_under(r: &RetentionRule, f: &RetentionFacts, today: Date) -> bool {
    ends_on(&[r], f).is_some_and(|d| d.on <= today)
}

fn at(t: OffsetDateTime) -> Option<i64> {
    Some(micros(t))
}

#[test]
fn each_known_trigger_is_due_on_the_day_its_period_ends_and_not_the_day_before() {
    // 23:30 UTC on 30 June is 00:30 BST on 1 July: the period counts from 1 July.
    let summer = datetime!(2020-06-30 23:30 UTC);
    let cases: [(Trigger, SetTime); 4] = [
        (Trigger::CaseClosed, |f, m| {
            f.last_closed_at_micros = Some(m)
        }),
        (Trigger::LastContact, |f, m| f.last_contact_at_micros = m),
        (Trigger::DeathRecorded, |f, m| f.died_at_micros = Some(m)),
        (Trigger::HoldReleased, |f, m| {
            f.hold_released_at_micros = Some(m)
        }),
    ];
    for (trigger, set) in cases {
        let r = rule("r", trigger, Period::Years(10));
        let mut f = facts();
        set(&mut f, micros(summer));
        assert!(!due_under(&r, &f, date!(2030 - 06 - 30)), "{trigger:?}");
        assert!(due_under(&r, &f, date!(2030 - 07 - 01)), "{trigger:?}");
        assert_eq!(
            ends_on(&[&r], &f).map(|d| d.on),
            Some(date!(2030 - 07 - 01))
        );
    }
}

#[test]
fn in_winter_a_moment_counts_from_its_utc_date_and_months_end_on_the_first_when_short() {
    let r = rule("r", Trigger::CaseClosed, Period::Months(1));
    let mut f = facts();
    // 23:30 GMT on 31 January: one month later has no 31st, so the period ends on 1 March.
    f.last_closed_at_micros = at(datetime!(2027-01-31 23:30 UTC));
    assert!(!due_under(&r, &f, date!(2027 - 02 - 28)));
    assert!(due_under(&r, &f, date!(2027 - 03 - 01)));
    // In a leap year, 29 February exists.
    f.last_closed_at_micros = at(datetime!(2028-01-29 10:00 UTC));
    assert_eq!(
        ends_on(&[&r], &f).map(|d| d.on),
        Some(date!(2028 - 02 - 29))
    );
    // Closed on 29 February, kept a year: due on 1 March of the common year.
    let year = rule("y", Trigger::CaseClosed, Period::Years(1));
    f.last_closed_at_micros = at(datetime!(2028-02-29 10:00 UTC));
    assert!(!due_under(&year, &f, date!(2029 - 02 - 28)));
    assert!(due_under(&year, &f, date!(2029 - 03 - 01)));
}

#[test]
fn days_and_at_once_count_from_the_uk_date() {
    let days = rule("d", Trigger::LastContact, Period::Days(30));
    let mut f = facts();
    // 23:30 UTC on 28 March 2026 is 23:30 GMT, still the 28th; a day later the clocks have gone
    // forward, and 23:30 UTC on the 29th is 00:30 BST on the 30th.
    f.last_contact_at_micros = micros(datetime!(2026-03-28 23:30 UTC));
    assert_eq!(
        ends_on(&[&days], &f).map(|d| d.on),
        Some(date!(2026 - 04 - 27))
    );
    f.last_contact_at_micros = micros(datetime!(2026-03-29 23:30 UTC));
    assert_eq!(
        ends_on(&[&days], &f).map(|d| d.on),
        Some(date!(2026 - 04 - 29))
    );
    let once = rule("o", Trigger::DeathRecorded, Period::AtOnce);
    f.died_at_micros = at(datetime!(2026-10-25 00:30 UTC));
    assert!(due_under(&once, &f, date!(2026 - 10 - 25)));
    assert!(!due_under(&once, &f, date!(2026 - 10 - 24)));
}

#[test]
fn several_rules_keep_the_record_until_the_last_ends_and_one_not_yet_started_keeps_it() {
    let closed = rule("closed", Trigger::CaseClosed, Period::Years(6));
    let contact = rule("contact", Trigger::LastContact, Period::Years(8));
    let mut f = facts();
    f.last_closed_at_micros = at(datetime!(2015-05-01 12:00 UTC));
    f.last_contact_at_micros = micros(datetime!(2014-05-01 12:00 UTC));
    let due = ends_on(&[&closed, &contact], &f);
    assert_eq!(
        due,
        Some(Due {
            on: date!(2022 - 05 - 01),
            rules: vec!["closed".to_owned(), "contact".to_owned()],
            counts_from_birthday: false,
        })
    );
    // A death rule for someone whose death is not recorded: never due under it.
    let death = rule("death", Trigger::DeathRecorded, Period::Years(1));
    assert_eq!(ends_on(&[&closed, &death], &f), None);
}

#[test]
fn an_open_case_a_live_hold_or_restriction_no_rule_or_an_unknowable_trigger_keeps_a_record_off_the_queue()
 {
    let r = rule("r", Trigger::LastContact, Period::Days(1));
    let today = date!(2030 - 01 - 01);
    assert!(due_under(&r, &facts(), today));
    let mut f = facts();
    f.open_cases = 1;
    assert!(!due_under(&r, &f, today));
    let mut f = facts();
    f.live_holds = 1;
    assert!(!due_under(&r, &f, today));
    let mut f = facts();
    f.live_restrictions = 1;
    assert!(!due_under(&r, &f, today));
    assert_eq!(ends_on(&[], &facts()), None);
    // A case-closed rule for a record that never had a case.
    let closed = rule("c", Trigger::CaseClosed, Period::Days(1));
    assert!(!due_under(&closed, &facts(), today));
    // Triggers a case record cannot know here, and birthdays without a date of birth: never due
    // under them (never destroyed early).
    for t in [
        Trigger::Birthday18,
        Trigger::Birthday25,
        Trigger::ReferralDeclined,
        Trigger::ApplicationNotTakenUp,
        Trigger::Transcribed,
    ] {
        assert!(
            !due_under(&rule("x", t, Period::AtOnce), &facts(), today),
            "{t:?}"
        );
    }
}

#[test]
fn a_birthday_counts_from_the_date_of_birth_once_opened_and_29_february_from_1_march() {
    let eighteen = rule("b18", Trigger::Birthday18, Period::Months(6));
    let twenty_five = rule("b25", Trigger::Birthday25, Period::AtOnce);
    let mut f = facts();
    // Not opened: never due.
    assert_eq!(ends_on(&[&eighteen], &f), None);
    f.born_on = Some(date!(2008 - 02 - 29));
    // 18 on 1 March 2026 (a common year), six months on: 1 September 2026.
    assert!(!due_under(&eighteen, &f, date!(2026 - 08 - 31)));
    assert!(due_under(&eighteen, &f, date!(2026 - 09 - 01)));
    // 25 on 1 March 2033; a leap year birthday stays 29 February.
    assert!(!due_under(&twenty_five, &f, date!(2033 - 02 - 28)));
    assert!(due_under(&twenty_five, &f, date!(2033 - 03 - 01)));
    f.born_on = Some(date!(2007 - 02 - 28));
    assert!(due_under(&twenty_five, &f, date!(2032 - 02 - 28)));
    // With a case rule too, the later end wins; the due day would tell the birthday, so a review
    // records (and the record is queued from) the first of the month after it.
    let closed = rule("c", Trigger::CaseClosed, Period::Years(1));
    f.last_closed_at_micros = at(datetime!(2020-01-01 12:00 UTC));
    let due = ends_on(&[&closed, &twenty_five], &f).expect("due");
    assert_eq!(due.on, date!(2032 - 02 - 28));
    assert!(due.counts_from_birthday);
    assert_eq!(recorded_on(&due), date!(2032 - 03 - 01));
    assert!(as_reviewed(&due, "2032-03-01"));
    assert!(!as_reviewed(&due, "2032-02-28"));
    // In December, the first of January.
    f.born_on = Some(date!(2005 - 12 - 15));
    let december = ends_on(&[&twenty_five], &f).expect("due");
    assert_eq!(recorded_on(&december), date!(2031 - 01 - 01));
    // Without a birthday rule the exact day is recorded and must match.
    let plain = ends_on(&[&closed], &f).expect("due");
    assert_eq!(recorded_on(&plain), date!(2021 - 01 - 01));
    assert!(as_reviewed(&plain, "2021-01-01"));
    assert!(!as_reviewed(&plain, "2021-01-02"));
}

#[path = "due_referral_tests.rs"]
mod referrals_and_paper_notes;
