//! Retention rules in a register: read typed, each fault refused with its file and line, the rules
//! a service's records follow, and what the notice and the Article 30 record say of them.

use std::path::Path;

use time::macros::date;

use crate::register::notice::{article30_rows, notice};
use crate::register::{Register, RegisterError, RetentionRule};
use crate::retention::{Period, RecordType, Trigger};

const FILE: &str = "register.toml";

/// Two services; a case-record rule for both, a rule for `support`'s records of people who were
/// children, and one for referrals `support` does not take on, in its own words.
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
id = "children"
records = "If you were under 18 when we worked with you, your case record"
services = ["support"]
trigger = "birthday_18"
period = "7 years"
source = "schedule"
destruction = "securely deleted."

[[retention]]
id = "declined"
records = "A referral we do not take on"
record_type = "referral"
services = ["support"]
trigger = "application_not_taken_up"
said_as = "you or we decide not to go ahead"
period = "30 days"
source = "schedule"
destruction = "erased"

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
services = ["support"]
purpose = "To support you."
basis = "public_task"
categories = ["identity"]
people = ["people who use the service"]
retention = "case"
security = ["Records are encrypted."]

[[activity]]
id = "advice"
services = ["advice"]
purpose = "To advise you."
basis = "public_task"
categories = ["identity"]
people = ["people who use the service"]
retention = "case"
security = ["Records are encrypted."]
"#;

fn parse(text: &str) -> Result<Register, Vec<RegisterError>> {
    Register::parse(Path::new(FILE), text).map_err(|e| e.0)
}

fn register(text: &str) -> Register {
    parse(text).unwrap_or_else(|e| panic!("the test register is not valid: {e:#?}"))
}

/// `REGISTER` with `from` (which must be there) replaced by `to`.
fn changed(from: &str, to: &str) -> String {
    assert!(REGISTER.contains(from), "the test register has no `{from}`");
    REGISTER.replacen(from, to, 1)
}

/// The line of the `n`th (from 0) `needle` in `text`.
fn line_of_nth(text: &str, needle: &str, n: usize) -> usize {
    let at = text
        .match_indices(needle)
        .nth(n)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("the text has no {needle} number {n}"));
    text[..at].matches('\n').count() + 1
}

/// `text` is refused with exactly these faults: (line, part of the message).
fn assert_faults(text: &str, expected: &[(usize, &str)]) {
    let errors = match parse(text) {
        Ok(_) => panic!("accepted a register with a fault (expected: {expected:?})"),
        Err(errors) => errors,
    };
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (e, (line, message)) in errors.iter().zip(expected) {
        assert_eq!(e.file, Path::new(FILE));
        assert_eq!(e.line, *line, "{e}");
        assert!(e.message.contains(message), "{e}\nexpected: {message}");
        assert!(
            e.to_string().starts_with(&format!("{FILE}:{line}: ")),
            "{e}"
        );
    }
}

/// The rule `n` (from 0) of `REGISTER`'s table line.
fn rule_line(n: usize) -> usize {
    line_of_nth(REGISTER, "[[retention]]", n)
}

// Read typed.

#[test]
fn a_rule_is_read_typed_with_case_record_and_every_service_by_default() {
    let r = register(REGISTER);
    assert_eq!(
        r.retention[0],
        RetentionRule {
            id: "case".to_owned(),
            records: "Your case record".to_owned(),
            record_type: RecordType::CaseRecord,
            services: None,
            trigger: Trigger::CaseClosed,
            said_as: None,
            period: Period::Years(6),
            source: "schedule".to_owned(),
            destruction: "securely deleted".to_owned(),
        }
    );
    let declined = &r.retention[2];
    assert_eq!(
        (
            declined.record_type,
            declined.services.as_deref(),
            declined.trigger,
            declined.period
        ),
        (
            RecordType::Referral,
            Some(&["support".to_owned()][..]),
            Trigger::ApplicationNotTakenUp,
            Period::Days(30)
        )
    );
    assert_eq!(declined.trigger_words(), "you or we decide not to go ahead");
    assert_eq!(r.retention[0].trigger_words(), "your case closes");
    assert_eq!(
        r.retention_source(declined).map(|d| d.title.as_str()),
        Some("Testway Retention Schedule")
    );
    // Its period ends 30 days after a referral declined on 31 January.
    assert_eq!(
        declined.ends_on(date!(2026 - 01 - 31)),
        Some(date!(2026 - 03 - 02))
    );
}

#[test]
fn a_services_records_follow_its_own_rules_and_documents_and_paper_the_case_records() {
    let r = register(REGISTER);
    let ids = |service: &str, t: RecordType| -> Vec<String> {
        r.retention_rules_for(service, t)
            .iter()
            .map(|rule| rule.id.clone())
            .collect()
    };
    assert_eq!(ids("support", RecordType::CaseRecord), ["case", "children"]);
    assert_eq!(ids("advice", RecordType::CaseRecord), ["case"]);
    assert_eq!(ids("support", RecordType::Referral), ["declined"]);
    // `advice` has no rule for referrals: none applies, and nothing falls due.
    assert!(ids("advice", RecordType::Referral).is_empty());
    for t in [
        RecordType::Document,
        RecordType::PaperNote,
        RecordType::ArchivedPaper,
    ] {
        assert_eq!(ids("support", t), ["case", "children"], "{t:?}");
        assert_eq!(ids("advice", t), ["case"], "{t:?}");
    }
    // A rule for documents is theirs alone, and only for the services it names.
    let documents = changed(
        "[[service]]\nid = \"support\"",
        "[[retention]]\nid = \"documents\"\nrecords = \"Documents you give us\"\nrecord_type = \"document\"\nservices = [\"advice\"]\ntrigger = \"last_contact\"\nperiod = \"2 years\"\nsource = \"schedule\"\ndestruction = \"deleted\"\n\n[[service]]\nid = \"support\"",
    );
    let r = register(&documents);
    let ids = |service: &str, t: RecordType| -> Vec<String> {
        r.retention_rules_for(service, t)
            .iter()
            .map(|rule| rule.id.clone())
            .collect()
    };
    assert_eq!(ids("advice", RecordType::Document), ["documents"]);
    assert_eq!(ids("support", RecordType::Document), ["case", "children"]);
}

// The notice and the Article 30 record.

#[test]
fn the_notice_states_every_rule_of_its_service_with_its_trigger_words_and_source() {
    let r = register(REGISTER);
    let keeping = |service: &str| -> Vec<String> {
        notice(&r, service)
            .unwrap_or_else(|e| panic!("no notice: {e}"))
            .sections
            .into_iter()
            .find(|s| s.heading == "How long we keep it")
            .map(|s| s.items)
            .unwrap_or_default()
    };
    let source = "Our \"Testway Retention Schedule\" (version 3.2) sets this period.";
    assert_eq!(
        keeping("support"),
        [
            format!(
                "Your case record: 6 years after your case closes. Then: securely deleted. {source}"
            ),
            format!(
                "If you were under 18 when we worked with you, your case record: 7 years after your 18th birthday. Then: securely deleted. {source}"
            ),
            format!(
                "A referral we do not take on: 30 days after you or we decide not to go ahead. Then: erased. {source}"
            ),
        ]
    );
    assert_eq!(
        keeping("advice"),
        [format!(
            "Your case record: 6 years after your case closes. Then: securely deleted. {source}"
        )]
    );
    // At once, on a trigger in its own words.
    let at_once = register(&changed("period = \"30 days\"", "period = \"at once\""));
    let md = notice(&at_once, "support")
        .map(|n| n.markdown())
        .unwrap_or_default();
    assert!(
        md.contains("A referral we do not take on: at once after you or we decide not to go ahead. Then: erased."),
        "{md}"
    );
    // The key store's backup cycle, when the register gives it.
    assert!(!md.contains("beyond use"), "{md}");
    let cycle = register(&changed(
        "reviewed_on = \"2026-01-15\"",
        "reviewed_on = \"2026-01-15\"\nkey_backup_days = 35",
    ));
    let md = notice(&cycle, "advice")
        .map(|n| n.markdown())
        .unwrap_or_default();
    assert!(
        md.contains("our backups of those keys are kept for no more than 35 days, so any copy of your information in our backups is beyond use within 35 days"),
        "{md}"
    );
    for days in ["0", "400"] {
        let refused = parse(&changed(
            "reviewed_on = \"2026-01-15\"",
            &format!("reviewed_on = \"2026-01-15\"\nkey_backup_days = {days}"),
        ));
        assert!(
            refused.is_err_and(|e| e.iter().any(|e| e.message.contains("key_backup_days"))),
            "{days}"
        );
    }
}

#[test]
fn the_article_30_record_gives_each_activitys_rule_with_its_source() {
    let rows = article30_rows(&register(REGISTER));
    assert_eq!(
        rows[0][16],
        "Your case record: 6 years after your case closes; securely deleted; source: Testway Retention Schedule v3.2"
    );
}

// Faults, each with the file and the line of its table.

#[test]
fn a_trigger_period_or_record_type_not_known_is_refused_naming_the_codes() {
    assert_faults(
        &changed(
            "trigger = \"case_closed\"",
            "trigger = \"your case closes\"",
        ),
        &[(
            rule_line(0),
            "retention rule `case`: `trigger` `your case closes` is not a trigger (case_closed, last_contact, referral_declined, application_not_taken_up, birthday_18, birthday_25, death_recorded, hold_released, transcribed); the notice's own words for it go in `said_as`",
        )],
    );
    assert_faults(
        &changed("period = \"6 years\"", "period = \"erased at once\""),
        &[(
            rule_line(0),
            "retention rule `case`: `period` \"erased at once\" is not a period: write a number of years, months or days (\"10 years\", \"6 months\", \"30 days\"), or \"at once\"",
        )],
    );
    assert_faults(
        &changed("period = \"30 days\"", "period = \"0 days\""),
        &[(
            rule_line(2),
            "retention rule `declined`: `period` \"0 days\" is zero",
        )],
    );
    assert_faults(
        &changed("record_type = \"referral\"", "record_type = \"referrals\""),
        &[(
            rule_line(2),
            "retention rule `declined`: `record_type` `referrals` is not a record type (case_record, referral, paper_note, archived_paper, document)",
        )],
    );
}

#[test]
fn a_declined_referral_is_erased_at_once_and_no_rule_may_say_otherwise() {
    let declined = changed(
        "trigger = \"application_not_taken_up\"",
        "trigger = \"referral_declined\"",
    );
    assert_faults(
        &declined,
        &[(
            rule_line(2),
            "retention rule `declined`: `trigger` `referral_declined` erases what was received when the referral is declined: its `period` is \"at once\"",
        )],
    );
    let r = register(&declined.replacen("period = \"30 days\"", "period = \"at once\"", 1));
    assert_eq!(r.retention[2].trigger, Trigger::ReferralDeclined);
    assert_eq!(r.retention[2].period, Period::AtOnce);
}

#[test]
fn a_source_not_in_the_register_or_missing_is_refused() {
    assert_faults(
        &changed("source = \"schedule\"", "source = \"retention_policy\""),
        &[(
            rule_line(0),
            "retention rule `case`: source `retention_policy` is not a policy document of the register (`[[policy_document]]`)",
        )],
    );
    assert_faults(
        &changed("source = \"schedule\"", "source = \" \""),
        &[(rule_line(0), "retention rule `case`: `source` is empty")],
    );
    // Without `source` at all, the table is refused as written (one fault, with its line).
    let text = changed("source = \"schedule\"\n", "");
    let errors = parse(&text).err().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].message.contains("missing field `source`"),
        "{errors:#?}"
    );
    assert!(errors[0].line > 0);
}

#[test]
fn services_not_in_the_register_or_an_empty_list_are_refused() {
    assert_faults(
        &changed(
            "services = [\"support\"]\ntrigger = \"birthday_18\"",
            "services = [\"support\", \"outreach\"]\ntrigger = \"birthday_18\"",
        ),
        &[(
            rule_line(1),
            "retention rule `children`: service `outreach` is not in the register",
        )],
    );
    assert_faults(
        &changed(
            "services = [\"support\"]\ntrigger = \"birthday_18\"",
            "services = []\ntrigger = \"birthday_18\"",
        ),
        &[(
            rule_line(1),
            "retention rule `children`: `services` is empty (leave it out for every service)",
        )],
    );
}

#[test]
fn empty_words_are_refused() {
    assert_faults(
        &changed(
            "said_as = \"you or we decide not to go ahead\"",
            "said_as = \"  \"",
        ),
        &[(
            rule_line(2),
            "retention rule `declined`: `said_as` is empty",
        )],
    );
    assert_faults(
        &changed("records = \"Your case record\"", "records = \"\""),
        &[(rule_line(0), "retention rule `case`: `records` is empty")],
    );
}

#[test]
fn a_service_without_a_rule_for_its_case_records_is_refused() {
    // `case` now applies to `support` only: `advice` keeps case records under no rule, and its
    // activity names a rule that is not for it.
    let text = changed(
        "trigger = \"case_closed\"",
        "services = [\"support\"]\ntrigger = \"case_closed\"",
    );
    assert_faults(
        &text,
        &[
            (
                line_of_nth(&text, "[[service]]", 1),
                "service `advice` has no retention rule for its case records",
            ),
            (
                line_of_nth(&text, "[[activity]]", 1),
                "activity `advice`: retention rule `case` is not for service `advice` (the rule's `services`)",
            ),
        ],
    );
}

#[test]
fn an_activitys_rule_must_apply_to_its_services() {
    let text = changed(
        "purpose = \"To advise you.\"\nbasis = \"public_task\"\ncategories = [\"identity\"]\npeople = [\"people who use the service\"]\nretention = \"case\"",
        "purpose = \"To advise you.\"\nbasis = \"public_task\"\ncategories = [\"identity\"]\npeople = [\"people who use the service\"]\nretention = \"declined\"",
    );
    assert_faults(
        &text,
        &[(
            line_of_nth(&text, "[[activity]]", 1),
            "activity `advice`: retention rule `declined` is not for service `advice`",
        )],
    );
}

#[test]
fn every_fault_of_a_rule_is_reported_at_once() {
    let text = changed("trigger = \"case_closed\"", "trigger = \"closed\"");
    let text = text.replacen("period = \"6 years\"", "period = \"six years\"", 1);
    let text = text.replacen("source = \"schedule\"", "source = \"nowhere\"", 1);
    let errors = parse(&text).err().unwrap_or_default();
    let found: Vec<(usize, &str)> = errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found.iter().all(|(line, _)| *line == rule_line(0)));
    assert!(found[0].1.contains("`trigger` `closed`"), "{found:#?}");
    assert!(found[1].1.contains("`period` \"six years\""), "{found:#?}");
    assert!(found[2].1.contains("source `nowhere`"), "{found:#?}");
}
