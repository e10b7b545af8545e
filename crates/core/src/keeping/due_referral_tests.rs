//! Rules on events outside a case record: a referral not taken up, counted from the last contact
//! about it, and a paper note from its transcription; the day before and the day each period
//! ends (a month end, the autumn clock change), and what is never due under them.

use std::path::Path;

use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::super::{paper_note_due, referral_due};
use crate::organisation::micros;
use crate::register::Register;
use crate::store::{ReferralRecord, ReferralSource, TriageState};

/// `support` keeps an application not taken up for 6 months and a transcribed paper note for 30
/// days; `advice` has neither rule.
const REGISTER: &str = r#"
[organisation]
id = "testway"
controller = "Testway Care"
registration_number = "ZX000001"
address = "Testway Care, 1 Mill Lane, Testford TE1 1AA"
email = "info@testway.example"
complaints = "Tell the service, or write to us."
regulator = "https://ico.org.uk/make-a-complaint/"
reviewed_on = "2026-01-15"

[organisation.dpo]
name = "Alex Marsh"
email = "dpo@testway.example"

[[policy_document]]
id = "schedule"
title = "Testway Retention Schedule"
version = "3.2"

[[retention]]
id = "case"
records = "Your case record"
trigger = "case_closed"
period = "6 years"
source = "schedule"
destruction = "securely deleted"

[[retention]]
id = "applications"
records = "An application you do not take up"
record_type = "referral"
services = ["support"]
trigger = "application_not_taken_up"
period = "6 months"
source = "schedule"
destruction = "erased"

[[retention]]
id = "declined"
records = "A referral you decline"
record_type = "referral"
services = ["support"]
trigger = "referral_declined"
period = "at once"
source = "schedule"
destruction = "erased"

[[retention]]
id = "paper_notes"
records = "Paper notes, once typed into your record"
record_type = "paper_note"
services = ["support"]
trigger = "transcribed"
period = "30 days"
source = "schedule"
destruction = "shredded"

[[service]]
id = "support"
name = "Testway Support"
funder = "Testshire Council"
area = "Testshire"
referrals = "anyone"
field_groups = []
respond_within_days = 30

[[service]]
id = "advice"
name = "Testway Advice"
funder = "Testshire Council"
area = "Testshire"
referrals = "self"
field_groups = []
respond_within_days = 30

[[activity]]
id = "support"
services = ["support", "advice"]
purpose = "To support you."
basis = "public_task"
categories = ["identity"]
people = ["people who use the service"]
retention = "case"
security = ["Records are encrypted."]
"#;

fn register() -> Register {
    Register::parse(Path::new("register.toml"), REGISTER)
        .unwrap_or_else(|e| panic!("the test register is not valid: {e}"))
}

fn referral(state: TriageState, received: OffsetDateTime) -> ReferralRecord {
    ReferralRecord {
        id: Uuid::nil(),
        service_id: Uuid::nil(),
        source: ReferralSource::SelfReferral,
        partner_person_id: None,
        state,
        received_at_micros: micros(received),
        last_contact_at_micros: None,
        decided_at_micros: None,
        person_id: None,
        case_id: None,
        key_version: 1,
        created_by: "staff:x".to_owned(),
    }
}

fn due_on(r: &Register, service: &str, referral: &ReferralRecord, today: Date) -> bool {
    referral_due(r, service, referral, today).is_some()
}

#[test]
fn an_application_not_taken_up_is_due_six_months_after_the_last_contact_and_not_the_day_before() {
    let r = register();
    // Received in March, the last attempt to reach them on 31 August (BST, 13:00 in the UK), no
    // response recorded in September: six months from 31 August is 1 March (February has no 31st).
    let mut silent = referral(TriageState::NoResponse, datetime!(2026-03-02 09:00 UTC));
    silent.last_contact_at_micros = Some(micros(datetime!(2026-08-31 12:00 UTC)));
    silent.decided_at_micros = Some(micros(datetime!(2026-09-20 12:00 UTC)));
    assert!(!due_on(&r, "support", &silent, date!(2027 - 02 - 28)));
    assert!(due_on(&r, "support", &silent, date!(2027 - 03 - 01)));
    let due = referral_due(&r, "support", &silent, date!(2027 - 03 - 01)).expect("due");
    assert_eq!(
        (due.on, due.rules.as_slice()),
        (date!(2027 - 03 - 01), &["applications".to_owned()][..])
    );
    assert!(!due.counts_from_birthday);
    // Never reached at all: counted from its receipt.
    let never = referral(TriageState::NoResponse, datetime!(2026-01-31 23:30 UTC));
    assert!(!due_on(&r, "support", &never, date!(2026 - 07 - 30)));
    assert!(due_on(&r, "support", &never, date!(2026 - 07 - 31)));
    // Withdrawn: the person's withdrawal is the last contact (23:30 UTC on 31 March is 00:30 BST
    // on 1 April).
    let mut withdrawn = referral(TriageState::Withdrawn, datetime!(2026-01-05 09:00 UTC));
    withdrawn.last_contact_at_micros = Some(micros(datetime!(2026-02-01 12:00 UTC)));
    withdrawn.decided_at_micros = Some(micros(datetime!(2026-03-31 23:30 UTC)));
    assert!(!due_on(&r, "support", &withdrawn, date!(2026 - 09 - 30)));
    assert!(due_on(&r, "support", &withdrawn, date!(2026 - 10 - 01)));
}

#[test]
fn a_referral_open_accepted_or_declined_or_in_a_service_without_the_rule_is_never_due_here() {
    let r = register();
    let long_after = date!(2040 - 01 - 01);
    for state in [
        TriageState::Received,
        TriageState::ContactAttempted,
        TriageState::Accepted,
        // Declining erases at once, in triage itself.
        TriageState::Declined,
    ] {
        let mut open = referral(state, datetime!(2026-01-05 09:00 UTC));
        open.decided_at_micros = Some(micros(datetime!(2026-01-06 09:00 UTC)));
        assert!(!due_on(&r, "support", &open, long_after), "{state:?}");
    }
    let silent = referral(TriageState::NoResponse, datetime!(2026-01-05 09:00 UTC));
    assert!(!due_on(&r, "advice", &silent, long_after));
    assert!(!due_on(&r, "nowhere", &silent, long_after));
    // A withdrawal without its time (never written so) is not due: kept, never erased early.
    let withdrawn = referral(TriageState::Withdrawn, datetime!(2026-01-05 09:00 UTC));
    assert!(!due_on(&r, "support", &withdrawn, long_after));
}

#[test]
fn a_transcribed_paper_note_is_due_thirty_days_after_its_uk_day_across_the_clock_change() {
    let r = register();
    // 23:30 UTC on 24 October 2026 is 00:30 BST on 25 October, the day the clocks go back.
    let typed = datetime!(2026-10-24 23:30 UTC);
    assert_eq!(
        paper_note_due(&r, "support", typed, date!(2026 - 11 - 23)),
        None
    );
    let due = paper_note_due(&r, "support", typed, date!(2026 - 11 - 24)).expect("due");
    assert_eq!(due.on, date!(2026 - 11 - 24));
    assert_eq!(due.rules, ["paper_notes".to_owned()]);
    // Without a rule of its own, a paper note follows the case record: not due by transcription.
    assert_eq!(
        paper_note_due(&r, "advice", typed, date!(2040 - 01 - 01)),
        None
    );
}
