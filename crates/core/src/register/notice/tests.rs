//! The notice states what the register gives, in the register's own terms: each finding of the
//! outside test of onboarding real notices has its tests here (contacts' details, role titles,
//! transfers outside the UK, data categories, the time to answer a request).

use std::path::Path;

use super::*;
use crate::register::RegisterError;

const FILE: &str = "register.toml";

/// A small valid register: one service, one activity, a DPO, a Caldicott Guardian and a data
/// manager, each with every detail. Tests change it by replacing text.
const REGISTER: &str = r#"
[organisation]
id = "testway"
controller = "Testway Care"
registration_number = "ZX000001"
address = "Testway Care, 1 Mill Lane, Testford TE1 1AA"
email = "info@testway.example"
phone = "01632 960 001"
complaints = "Tell the service, or write to us."
regulator = "https://ico.org.uk/make-a-complaint/"
reviewed_on = "2026-01-15"

[organisation.dpo]
name = "Alex Marsh"
email = "dpo@testway.example"
address = "PO Box 7, Testford TE1 2BB"
phone = "01632 960 002"

[organisation.caldicott_guardian]
name = "Dr Robin Hale"
email = "cg@testway.example"
phone = "01632 960 003"

[organisation.data_manager]
name = "Sam Ode"
email = "data@testway.example"
address = "Testway Care, 2 Mill Lane, Testford TE1 1AB"
phone = "01632 960 004"

[[policy_document]]
id = "schedule"
title = "Testway Records Retention Schedule"
version = "4"

[[retention]]
id = "case"
records = "Your case record"
trigger = "case_closed"
period = "6 years"
source = "schedule"
destruction = "deleted"

[[recipient]]
id = "gp"
name = "Your GP"
kind = "health"
when = "when you ask us to"

[[recipient]]
id = "clinic_abroad"
name = "Harbour Clinic, Dublin"
kind = "health"
when = "if you move there for treatment"
outside_uk = true

[[service]]
id = "support"
name = "Testway Support"
funder = "Testshire Council"
area = "Testshire"
referrals = "anyone"
field_groups = ["health"]
respond_within_days = 30

[[activity]]
id = "support"
services = ["support"]
purpose = "To support you."
basis = "public_task"
article9 = "health_social_care"
schedule1 = ["p1_health_social_care"]
categories = ["identity", "health"]
people = ["people who use the service"]
recipients = ["gp"]
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

fn markdown(register: &Register) -> String {
    notice(register, "support")
        .unwrap_or_else(|e| panic!("no notice: {e}"))
        .markdown()
}

fn section(register: &Register, heading: &str) -> Section {
    notice(register, "support")
        .unwrap_or_else(|e| panic!("no notice: {e}"))
        .sections
        .into_iter()
        .find(|s| s.heading == heading)
        .unwrap_or_else(|| panic!("the notice has no section `{heading}`"))
}

/// The line of `needle`'s first occurrence in `REGISTER`-like `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).expect("the text has the needle");
    text[..at].matches('\n').count() + 1
}

/// `text` is refused with one fault, at `line` of the file, saying `message`.
fn assert_refused(text: &str, line: usize, message: &str) {
    let errors = match parse(text) {
        Ok(_) => panic!("accepted a register with a fault (expected: {message})"),
        Err(errors) => errors,
    };
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let shown = errors[0].to_string();
    assert!(
        shown.starts_with(&format!("{FILE}:{line}: ")),
        "the fault names the file and line {line}: {shown}"
    );
    assert!(
        errors[0].message.contains(message),
        "{shown}\nexpected: {message}"
    );
}

// 1. Every contact shows its phone, email and post where the register gives them.

#[test]
fn every_contact_shows_its_email_post_and_phone() {
    let contacts = section(&register(REGISTER), "Who to contact about your information").items;
    assert_eq!(
        contacts,
        [
            "Our Data Protection Officer: Alex Marsh, dpo@testway.example, PO Box 7, Testford TE1 2BB, phone 01632 960 002",
            "Our Caldicott Guardian, who protects the confidentiality of health and care information: Dr Robin Hale, cg@testway.example, phone 01632 960 003",
            "Our data manager: Sam Ode, data@testway.example, Testway Care, 2 Mill Lane, Testford TE1 1AB, phone 01632 960 004",
        ]
    );
}

#[test]
fn a_contact_without_post_or_phone_shows_its_email_alone() {
    let text = changed("phone = \"01632 960 003\"\n", "");
    let contacts = section(&register(&text), "Who to contact about your information").items;
    assert!(
        contacts.contains(
            &"Our Caldicott Guardian, who protects the confidentiality of health and care information: Dr Robin Hale, cg@testway.example".to_owned()
        ),
        "{contacts:#?}"
    );
}

#[test]
fn the_organisation_shows_its_address_email_and_phone() {
    let who = section(&register(REGISTER), "Who we are").items;
    assert_eq!(
        who,
        [
            "Address: Testway Care, 1 Mill Lane, Testford TE1 1AA",
            "Email: info@testway.example",
            "Phone: 01632 960 001",
        ]
    );
}

#[test]
fn a_blank_contact_detail_is_refused_rather_than_printed_empty() {
    let text = changed("phone = \"01632 960 002\"", "phone = \" \"");
    assert_refused(
        &text,
        line_of(&text, "[organisation]"),
        "organisation: `dpo.phone` is empty (leave it out if there is none)",
    );
}

// 2. Each role under its own title; a DPO or a data manager, at least one of them.

const DPO_TABLE: &str = "[organisation.dpo]\nname = \"Alex Marsh\"\nemail = \"dpo@testway.example\"\naddress = \"PO Box 7, Testford TE1 2BB\"\nphone = \"01632 960 002\"\n";
const DATA_MANAGER_TABLE: &str = "[organisation.data_manager]\nname = \"Sam Ode\"\nemail = \"data@testway.example\"\naddress = \"Testway Care, 2 Mill Lane, Testford TE1 1AB\"\nphone = \"01632 960 004\"\n";

#[test]
fn a_data_manager_without_a_dpo_is_called_a_data_manager() {
    let register = register(&changed(DPO_TABLE, ""));
    assert_eq!(register.organisation.dpo, None);
    let md = markdown(&register);
    assert!(
        md.contains("- Our data manager: Sam Ode, data@testway.example, Testway Care, 2 Mill Lane, Testford TE1 1AB, phone 01632 960 004\n"),
        "{md}"
    );
    assert!(!md.contains("Data Protection Officer"), "{md}");
}

#[test]
fn a_dpo_without_a_data_manager_is_valid() {
    let register = register(&changed(DATA_MANAGER_TABLE, ""));
    let md = markdown(&register);
    assert!(
        md.contains("- Our Data Protection Officer: Alex Marsh,"),
        "{md}"
    );
    assert!(!md.contains("data manager"), "{md}");
}

#[test]
fn a_register_with_neither_a_dpo_nor_a_data_manager_is_refused_with_its_line() {
    let text = changed(DPO_TABLE, "").replacen(DATA_MANAGER_TABLE, "", 1);
    assert_refused(
        &text,
        line_of(&text, "[organisation]"),
        "organisation: name a Data Protection Officer (`[organisation.dpo]`) or a data manager (`[organisation.data_manager]`), or both",
    );
}

#[test]
fn the_article_30_record_names_the_dpo_or_says_there_is_none() {
    let with = article30_rows(&register(REGISTER));
    assert_eq!(
        with[0][2],
        "Alex Marsh <dpo@testway.example>, 01632 960 002"
    );
    let without = article30_rows(&register(&changed(DPO_TABLE, "")));
    assert_eq!(
        without[0][2],
        "None appointed (data manager: Sam Ode <data@testway.example>, 01632 960 004)"
    );
}

// 3. Outside the UK: from the transfers and the recipients abroad, never from prose.

const ABROAD: &str = "recipients = [\"gp\", \"clinic_abroad\"]\ntransfers = [{ country = \"Ireland\", safeguard = \"UK adequacy regulations for the EEA\" }]\n";

#[test]
fn transfers_and_recipients_abroad_are_listed_with_their_safeguards_and_consent() {
    let register = register(&changed("recipients = [\"gp\"]\n", ABROAD));
    let abroad = section(&register, "Outside the UK");
    assert_eq!(
        abroad.paragraphs,
        ["Some of your information may be sent outside the UK, only as set out here."]
    );
    assert_eq!(
        abroad.items,
        [
            "Ireland: UK adequacy regulations for the EEA",
            "Harbour Clinic, Dublin (outside the UK): we share your information only with your explicit consent.",
        ]
    );
    let md = markdown(&register);
    assert!(!md.contains(NOTHING_OUTSIDE_THE_UK), "{md}");
    // Sharing abroad rests on explicit consent, so the person may withdraw it.
    assert!(md.contains("The right to withdraw consent"), "{md}");
}

#[test]
fn a_transfer_without_a_recipient_abroad_is_listed_alone() {
    let register = register(&changed(
        "retention = \"case\"\nsecurity",
        "transfers = [{ country = \"United States\", safeguard = \"the ICO's International Data Transfer Agreement\" }]\nretention = \"case\"\nsecurity",
    ));
    let abroad = section(&register, "Outside the UK");
    assert_eq!(
        abroad.items,
        ["United States: the ICO's International Data Transfer Agreement"]
    );
    assert!(!markdown(&register).contains(NOTHING_OUTSIDE_THE_UK));
}

#[test]
fn nothing_goes_outside_the_uk_only_when_there_is_no_transfer_and_no_recipient_abroad() {
    let register = register(REGISTER);
    let abroad = section(&register, "Outside the UK");
    assert_eq!(abroad.paragraphs, [NOTHING_OUTSIDE_THE_UK]);
    assert!(abroad.items.is_empty());
    // The recipient abroad is in the register, but no activity of this service shares with it.
    assert!(!markdown(&register).contains("Harbour Clinic"));
}

#[test]
fn a_recipient_abroad_without_a_transfer_is_refused() {
    let text = changed(
        "recipients = [\"gp\"]",
        "recipients = [\"gp\", \"clinic_abroad\"]",
    );
    assert_refused(
        &text,
        line_of(&text, "[[activity]]"),
        "activity `support`: a recipient outside the UK needs a transfer with its safeguard (`transfers`)",
    );
}

#[test]
fn a_consent_purpose_that_mentions_transfers_is_only_text() {
    let consent = "\n[[activity]]\nid = \"portability\"\nservices = [\"support\"]\npurpose = \"We transfer your data outside the UK, to a provider in Canada, when you ask us to.\"\nbasis = \"consent\"\nconsent_purpose = \"transfer_abroad\"\ncategories = [\"identity\"]\npeople = [\"people who use the service\"]\nretention = \"case\"\nsecurity = [\"Records are encrypted.\"]\n\n[[consent_purpose]]\nid = \"transfer_abroad\"\nlabel = \"Sending my data abroad when I ask\"\nform_version = \"1\"\n";
    let register = register(&format!("{REGISTER}{consent}"));
    let abroad = section(&register, "Outside the UK");
    assert_eq!(abroad.paragraphs, [NOTHING_OUTSIDE_THE_UK]);
    assert!(abroad.items.is_empty());
    // The purpose is printed as written, where purposes are.
    assert!(
        section(&register, "What we use and why").items[1]
            .starts_with("We transfer your data outside the UK, to a provider in Canada")
    );
}

// 4. Data categories: never an empty list; none and unknown codes refused.

#[test]
fn every_data_category_has_a_label() {
    for group in FieldGroup::ALL {
        assert!(!group.label().trim().is_empty(), "{}", group.code());
    }
}

#[test]
fn categories_are_printed_by_their_labels() {
    let uses = section(&register(REGISTER), "What we use and why").items;
    assert_eq!(
        uses,
        ["To support you. Information: Identity and contact, Health and disability. About: people who use the service. Lawful basis: Public task (Art. 6(1)(e)). For special category information: ".to_owned()
            + Article9Condition::HealthSocialCare.label()
            + ". Data Protection Act 2018, Schedule 1: "
            + Schedule1Condition::HealthSocialCare.label()
            + "."]
    );
}

#[test]
fn an_activity_whose_categories_name_nothing_prints_no_information_sentence() {
    // A register built in code, not checked: the notice still prints no empty list.
    let mut register = register(REGISTER);
    register.activities[0].categories = vec!["not_a_group".to_owned()];
    register.activities[0].people.clear();
    let line = &section(&register, "What we use and why").items[0];
    assert!(!line.contains("Information:"), "{line}");
    assert!(!line.contains("About:"), "{line}");
    assert!(!line.contains(": ."), "{line}");
    assert!(
        line.starts_with("To support you. Lawful basis: Public task"),
        "{line}"
    );
}

#[test]
fn an_activity_with_no_categories_is_refused_with_its_line() {
    let text = changed("categories = [\"identity\", \"health\"]", "categories = []");
    let errors = parse(&text).expect_err("an activity without categories is refused");
    let line = line_of(&text, "[[activity]]");
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        shown.contains(&format!(
            "{FILE}:{line}: activity `support`: names no data categories (`categories`: field group codes, or `case_notes`)"
        )),
        "{shown:#?}"
    );
}

#[test]
fn an_unknown_category_is_refused_with_its_line() {
    let text = changed(
        "categories = [\"identity\", \"health\"]",
        "categories = [\"identity\", \"health\", \"shoe_size\"]",
    );
    assert_refused(
        &text,
        line_of(&text, "[[activity]]"),
        "activity `support`: `shoe_size` is not a data category (a field group, or `case_notes`)",
    );
}

// 5. The time to answer: the service's shorter promise, or one calendar month and the extension.

fn rights_paragraph(days: u32) -> String {
    let text = changed(
        "respond_within_days = 30",
        &format!("respond_within_days = {days}"),
    );
    section(&register(&text), "Your rights").paragraphs[0].clone()
}

#[test]
fn a_month_is_one_calendar_month_extendable_by_two_for_complex_requests() {
    assert_eq!(
        rights_paragraph(30),
        "You can ask us, free of charge (unless a request is manifestly unfounded or excessive). We answer within one calendar month of receiving your request. If your request is complex, or you make a number of requests, we may take up to two further months; if we do, we tell you so, and why, within the first month. If we cannot do what you ask, we tell you why."
    );
}

#[test]
fn a_shorter_promise_is_stated_as_the_services_own() {
    let paragraph = rights_paragraph(20);
    assert_eq!(
        paragraph,
        "You can ask us, free of charge (unless a request is manifestly unfounded or excessive). We answer within 20 days of receiving your request: that is our own promise, shorter than the one calendar month the law allows. If we cannot do what you ask, we tell you why."
    );
    assert!(!paragraph.contains("if we need longer"));
    assert!(rights_paragraph(1).contains("We answer within 1 day of receiving your request:"));
}

#[test]
fn a_promise_longer_than_the_law_allows_is_refused() {
    let text = changed("respond_within_days = 30", "respond_within_days = 31");
    assert_refused(
        &text,
        line_of(&text, "[[service]]"),
        "service `support`: `respond_within_days` must be 1 to 30",
    );
}

#[test]
fn a_recipient_secure_email_is_checked_with_its_line() {
    let good = changed(
        "when = \"when you ask us to\"",
        "when = \"when you ask us to\"\nsecure_email = \"Referrals@GP.example.org\"",
    );
    let register = parse(&good).expect("a secure email is accepted");
    assert_eq!(
        register.recipients[0].secure_email.as_deref(),
        Some("Referrals@GP.example.org")
    );
    let text = changed(
        "when = \"when you ask us to\"",
        "when = \"when you ask us to\"\nsecure_email = \"not an address\"",
    );
    assert_refused(
        &text,
        line_of(&text, "id = \"gp\"") - 1,
        "recipient `gp`: `secure_email` must be one email address, such as team@example.org",
    );
}
