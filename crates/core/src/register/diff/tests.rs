//! Each kind of change, read from a small register (or the recovery example) with one thing
//! changed, with what is printed and who is told.

use std::path::Path;

use super::*;

mod sharing;

const RECOVERY: &str = include_str!("../../../../../config/examples/recovery.toml");

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
id = "apd"
title = "Testway Appropriate Policy Document"
version = "1.0"

[[policy_document]]
id = "schedule"
title = "Testway Retention Schedule"
version = "2"

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
when = "when you agree"

[[recipient]]
id = "police"
name = "The police"
kind = "criminal_justice"
when = "to report a crime"

[[processor]]
id = "hosting"
name = "Testhost Ltd"
role = "hosts our case record system"
agreement_starts = "2025-04-01"
agreement_ends = "2027-03-31"

[[consent_purpose]]
id = "gp_letters"
label = "I agree that you may write to my GP about my support."
form_version = "1"

[[service]]
id = "support"
name = "Testway Support"
funder = "Testshire Council"
area = "Testshire"
referrals = "anyone"
field_groups = ["health"]
respond_within_days = 30

[[service]]
id = "advice"
name = "Testway Advice"
funder = "Testshire Council"
area = "Testshire"
referrals = "self"
field_groups = []
respond_within_days = 20

[[activity]]
id = "support"
services = ["support", "advice"]
purpose = "To support you."
basis = "public_task"
article9 = "health_social_care"
schedule1 = ["p1_health_social_care"]
categories = ["identity", "health"]
people = ["people who use the service"]
recipients = ["police"]
processors = ["hosting"]
retention = "case"
security = ["Records are encrypted."]

[[activity]]
id = "gp_letters"
services = ["support"]
purpose = "If you agree, we write to your GP."
basis = "consent"
consent_purpose = "gp_letters"
article9 = "explicit_consent"
categories = ["identity", "health"]
people = ["people who use the service"]
recipients = ["gp"]
retention = "case"
security = ["Records are encrypted."]
"#;

fn register(text: &str) -> Register {
    Register::parse(Path::new("register.toml"), text)
        .unwrap_or_else(|e| panic!("the test register is not valid:\n{e}"))
}

/// `text` with `from` (which must be there) replaced by `to`.
fn with(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the test register has no `{from}`");
    text.replacen(from, to, 1)
}

fn changes(old: &str, new: &str) -> RegisterDiff {
    diff(&register(old), &register(new))
}

/// The lines printed under one heading.
fn lines(d: &RegisterDiff, topic: Topic) -> Vec<String> {
    d.about(topic)
        .map(|c| format!("{} {}", c.mark.sign(), c.text))
        .collect()
}

fn people(service: &str) -> Audience {
    Audience::People {
        service: service.to_owned(),
    }
}

fn consented(service: &str, purpose: &str) -> Audience {
    Audience::Consented {
        service: service.to_owned(),
        purpose: purpose.to_owned(),
    }
}

fn staff(service: &str) -> Audience {
    Audience::ShareWizardStaff {
        service: Some(service.to_owned()),
    }
}

/// Who is told, as printed.
fn told(d: &RegisterDiff) -> Vec<String> {
    d.tell.iter().map(|t| t.who.to_string()).collect()
}

// Nothing changed.

#[test]
fn the_same_register_has_no_changes() {
    let d = changes(REGISTER, REGISTER);
    assert!(d.is_empty());
    assert_eq!(d.to_string(), "No changes.\n");
    let d = changes(RECOVERY, RECOVERY);
    assert!(d.is_empty(), "{d}");
}

#[test]
fn comments_and_the_lines_things_are_on_are_no_change() {
    let moved = with(
        REGISTER,
        "[[service]]\nid = \"support\"",
        "# The main service.\n\n[[service]]\nid = \"support\"",
    );
    let d = changes(REGISTER, &moved);
    assert!(d.is_empty(), "{d}");
}

// The whole text: headings, one change a line, then who must be told.

#[test]
fn the_diff_prints_one_change_a_line_under_headings_then_who_must_be_told() {
    let new = with(REGISTER, "period = \"6 years\"", "period = \"8 years\"");
    let new = with(
        &new,
        "agreement_ends = \"2027-03-31\"",
        "agreement_ends = \"2028-03-31\"",
    );
    let d = changes(REGISTER, &new);
    assert!(!d.is_empty());
    assert_eq!(
        d.to_string(),
        r#"Processors
  ~ `hosting`: agreement ends from "2027-03-31" to "2028-03-31"

Retention rules
  ~ `case`: period from "6 years" to "8 years"

Privacy notices
  ~ `support`: changes in "How long we keep it"
  ~ `advice`: changes in "How long we keep it"

Who must be told
  The people of `support`:
    - its privacy notice changes ("How long we keep it"): the new version is published at the next start
  The people of `advice`:
    - its privacy notice changes ("How long we keep it"): the new version is published at the next start
  The Data Protection Officer:
    - processor `hosting`: its data processing agreement now runs from 2025-04-01 to 2028-03-31
"#
    );
}

// The organisation.

#[test]
fn a_new_controller_name_changes_every_notice() {
    let d = changes(
        REGISTER,
        &with(
            REGISTER,
            "controller = \"Testway Care\"",
            "controller = \"Testway Care Ltd\"",
        ),
    );
    assert_eq!(
        lines(&d, Topic::Organisation),
        [r#"~ controller from "Testway Care" to "Testway Care Ltd""#]
    );
    assert_eq!(
        d.why_tell(&people("support")),
        [
            r#"its privacy notice changes ("Who we are"): the new version is published at the next start"#
        ]
    );
    assert_eq!(
        told(&d),
        ["The people of `support`", "The people of `advice`"]
    );
}

#[test]
fn a_new_organisation_id_is_a_hazard_and_no_notice_changes() {
    let d = changes(
        REGISTER,
        &with(REGISTER, "id = \"testway\"", "id = \"testway-care\""),
    );
    assert_eq!(
        lines(&d, Topic::Organisation),
        [
            "! id from `testway` to `testway-care`: Confidant will treat it as a new organisation, creating `testway-care` with the register's services at the next start and leaving `testway`, and everything recorded in it, as it is"
        ]
    );
    assert_eq!(d.changes[0].mark, Mark::Hazard);
    assert!(d.tell.is_empty(), "{d}");
}

#[test]
fn contacts_complaints_and_the_review_date_are_listed() {
    let new = with(
        REGISTER,
        "name = \"Alex Marsh\"\nemail = \"dpo@testway.example\"",
        "name = \"Alex Marsh\"\nemail = \"privacy@testway.example\"\nphone = \"01632 960 002\"",
    );
    let new = with(
        &new,
        "[[policy_document]]",
        "[organisation.caldicott_guardian]\nname = \"Dr Robin Hale\"\nemail = \"cg@testway.example\"\n\n[[policy_document]]",
    );
    let new = with(&new, "or write to us.", "or write to our office.");
    let new = with(
        &new,
        "reviewed_on = \"2026-01-15\"",
        "reviewed_on = \"2027-01-10\"",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Organisation),
        [
            "~ Data Protection Officer: contact details change: email, phone",
            "+ Caldicott Guardian: Dr Robin Hale",
            "~ how to complain is reworded",
            r#"~ last reviewed from "2026-01-15" to "2027-01-10""#,
        ]
    );
    assert_eq!(
        d.why_tell(&people("advice")),
        [
            r#"its privacy notice changes ("Who to contact about your information"; "How to complain"; "Changes to this notice"): the new version is published at the next start"#
        ]
    );
}

// Services.

#[test]
fn a_renamed_service_stops_start_up_and_its_notice_changes() {
    let d = changes(
        REGISTER,
        &with(
            REGISTER,
            "name = \"Testway Support\"",
            "name = \"Testway Care and Support\"",
        ),
    );
    assert_eq!(
        lines(&d, Topic::Services),
        [
            r#"! `support`: name from "Testway Support" to "Testway Care and Support": start-up will stop while Confidant still calls it "Testway Support""#
        ]
    );
    assert_eq!(
        d.why_tell(&people("support")),
        [
            r#"its privacy notice changes (its title; "Who we are"): the new version is published at the next start"#
        ]
    );
    assert!(d.why_tell(&people("advice")).is_empty(), "{d}");
}

#[test]
fn a_removed_service_stops_start_up() {
    let new = with(
        REGISTER,
        "[[service]]\nid = \"advice\"\nname = \"Testway Advice\"\nfunder = \"Testshire Council\"\narea = \"Testshire\"\nreferrals = \"self\"\nfield_groups = []\nrespond_within_days = 20\n",
        "",
    );
    let new = with(
        &new,
        "services = [\"support\", \"advice\"]",
        "services = [\"support\"]",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Services),
        [
            r#"! `advice` ("Testway Advice") is removed: start-up will stop while Confidant still has this service"#
        ]
    );
    assert_eq!(
        lines(&d, Topic::Activities),
        ["~ `support`: services: removed `advice`"]
    );
    // The notice of the service that stays says the same.
    assert!(d.tell.is_empty(), "{d}");
}

#[test]
fn an_added_service_is_created_and_its_people_get_its_first_notice() {
    let new = with(
        REGISTER,
        "[[activity]]",
        "[[service]]\nid = \"drop_in\"\nname = \"Testway Drop-in\"\nfunder = \"Testshire Council\"\narea = \"Testshire\"\nreferrals = \"anyone\"\nfield_groups = [\"health\"]\nrespond_within_days = 30\n\n[[activity]]",
    );
    let new = with(
        &new,
        "services = [\"support\", \"advice\"]",
        "services = [\"support\", \"advice\", \"drop_in\"]",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Services),
        [
            r#"+ `drop_in` ("Testway Drop-in") is added: start-up creates it, collecting `health`, with referrals from `anyone`"#
        ]
    );
    assert_eq!(
        lines(&d, Topic::Notices),
        ["+ `drop_in`: its first notice is published at the next start"]
    );
    assert_eq!(
        d.why_tell(&people("drop_in")),
        ["a new service: give its privacy notice to each person it takes on"]
    );
}

#[test]
fn field_groups_referrals_and_the_response_limit_are_listed() {
    let new = with(
        REGISTER,
        "referrals = \"self\"\nfield_groups = []\nrespond_within_days = 20",
        "referrals = \"partner\"\npartner = \"support\"\nfield_groups = [\"health\"]\nrespond_within_days = 15",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Services),
        [
            "~ `advice`: field groups collected: added `health`",
            r#"~ `advice`: who may refer from "self" to "partner""#,
            r#"~ `advice`: partner service from none to "support""#,
            r#"~ `advice`: days to answer a rights request from "20" to "15""#,
        ]
    );
    assert_eq!(
        d.why_tell(&people("advice")),
        [
            r#"its privacy notice changes ("Where your information comes from"; "Your rights"): the new version is published at the next start"#
        ]
    );
}

// Retention rules.

#[test]
fn a_changed_retention_period_changes_the_notice_of_every_service_keeping_records_under_it() {
    let new = with(RECOVERY, "period = \"10 years\"", "period = \"8 years\"");
    let d = diff(&register(RECOVERY), &register(&new));
    assert_eq!(
        lines(&d, Topic::Retention),
        [r#"~ `case_records`: period from "10 years" to "8 years""#]
    );
    let why = [
        r#"its privacy notice changes ("How long we keep it"): the new version is published at the next start"#,
    ];
    assert_eq!(d.why_tell(&people("recovery")), why);
    assert_eq!(d.why_tell(&people("employment")), why);
}

#[test]
fn retention_rules_added_and_removed() {
    let new = with(
        REGISTER,
        "[[recipient]]\nid = \"gp\"",
        "[[retention]]\nid = \"referrals\"\nrecords = \"A declined referral\"\nrecord_type = \"referral\"\ntrigger = \"referral_declined\"\nsaid_as = \"you say no\"\nperiod = \"at once\"\nsource = \"schedule\"\ndestruction = \"erased\"\n\n[[recipient]]\nid = \"gp\"",
    );
    let new = with(
        &new,
        "recipients = [\"gp\"]\nretention = \"case\"",
        "recipients = [\"gp\"]\nretention = \"referrals\"",
    );
    let new = with(
        &new,
        "trigger = \"case_closed\"",
        "trigger = \"last_contact\"",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Retention),
        [
            r#"~ `case`: trigger from "case_closed" to "last_contact""#,
            r#"+ `referrals` ("A declined referral") is added: at once after you say no"#,
        ]
    );
    assert_eq!(
        lines(&d, Topic::Activities),
        [r#"~ `gp_letters`: retention rule from "case" to "referrals""#]
    );
    let d = changes(&new, REGISTER);
    assert_eq!(
        lines(&d, Topic::Retention)[1],
        r#"- `referrals` ("A declined referral") is removed"#
    );
}

#[test]
fn a_retention_rules_record_type_services_words_and_source_are_listed() {
    let extra = "[[retention]]\nid = \"documents\"\nrecords = \"Documents you give us\"\nrecord_type = \"document\"\nservices = [\"support\"]\ntrigger = \"case_closed\"\nperiod = \"2 years\"\nsource = \"schedule\"\ndestruction = \"deleted\"\n\n[[recipient]]\nid = \"gp\"";
    let old = with(REGISTER, "[[recipient]]\nid = \"gp\"", extra);
    let new = with(
        &old,
        "record_type = \"document\"",
        "record_type = \"paper_note\"",
    );
    let new = with(
        &new,
        "services = [\"support\"]\ntrigger",
        "services = [\"support\", \"advice\"]\ntrigger",
    );
    let new = with(
        &new,
        "trigger = \"case_closed\"\nperiod = \"2 years\"",
        "trigger = \"case_closed\"\nsaid_as = \"we stop working with you\"\nperiod = \"2 years\"",
    );
    let new = with(
        &new,
        "source = \"schedule\"\ndestruction = \"deleted\"\n\n[[recipient]]",
        "source = \"apd\"\ndestruction = \"deleted\"\n\n[[recipient]]",
    );
    let d = changes(&old, &new);
    assert_eq!(
        lines(&d, Topic::Retention),
        [
            r#"~ `documents`: record type from "document" to "paper_note""#,
            r#"~ `documents`: services: added `advice`"#,
            r#"~ `documents`: trigger's words from none to "we stop working with you""#,
            r#"~ `documents`: source from "schedule" to "apd""#,
        ]
    );
    // From every service to a list, and back.
    let every = with(&old, "services = [\"support\"]\n", "");
    assert_eq!(
        lines(&changes(&every, &old), Topic::Retention),
        [r#"~ `documents`: services from every service to `support`"#]
    );
    assert_eq!(
        lines(&changes(&old, &every), Topic::Retention),
        [r#"~ `documents`: services from `support` to every service"#]
    );
    // The notices of the services it now applies to state it, with its source.
    assert!(
        d.why_tell(&people("advice"))
            .iter()
            .any(|w| w.contains("How long we keep it")),
        "{d}"
    );
}

// Activities.

#[test]
fn an_activitys_purpose_conditions_categories_recipients_and_processors_are_listed() {
    let new = with(
        REGISTER,
        "purpose = \"To support you.\"",
        "purpose = \"To support you and your family.\"",
    );
    let new = with(
        &new,
        "article9 = \"health_social_care\"\nschedule1 = [\"p1_health_social_care\"]\ncategories = [\"identity\", \"health\"]",
        "article9 = \"substantial_public_interest\"\nschedule1 = [\"p2_safeguarding\"]\npolicy_document = \"apd\"\ncategories = [\"identity\", \"health\", \"case_notes\"]",
    );
    let new = with(
        &new,
        "people = [\"people who use the service\"]\nrecipients = [\"police\"]\nprocessors = [\"hosting\"]",
        "people = [\"people who use the service\", \"their families\"]\nrecipients = [\"police\", \"gp\"]",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Activities),
        [
            "~ `support`: purpose is reworded",
            r#"~ `support`: Article 9 condition from "health_social_care" to "substantial_public_interest""#,
            "~ `support`: Schedule 1 conditions: added `p2_safeguarding`; removed `p1_health_social_care`",
            r#"~ `support`: policy document from none to "apd""#,
            "~ `support`: categories: added `case_notes`",
            r#"~ `support`: people: added "their families""#,
            "~ `support`: recipients: added `gp`",
            "~ `support`: processors: removed `hosting`",
        ]
    );
    assert_eq!(
        lines(&d, Topic::Processors),
        [
            "~ `hosting`: may receive: removed `health`, `identity`",
            "~ `hosting`: lawful bases: removed `public_task`",
        ]
    );
}

#[test]
fn activities_added_and_removed() {
    let extra = "[[activity]]\nid = \"audit\"\nservices = [\"support\"]\npurpose = \"To check our work.\"\nbasis = \"legitimate_interests\"\nlegitimate_interest = \"to check our work\"\ncategories = [\"identity\"]\npeople = [\"people who use the service\"]\nretention = \"case\"\nsecurity = [\"Records are encrypted.\"]\n";
    let new = format!("{REGISTER}\n{extra}");
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Activities),
        [
            "+ `audit` is added, for `support`, on lawful basis `legitimate_interests`, with categories `identity`"
        ]
    );
    assert_eq!(told(&d), ["The people of `support`"]);
    let d = changes(&new, REGISTER);
    assert_eq!(
        lines(&d, Topic::Activities),
        ["- `audit` (for `support`) is removed"]
    );
}

#[test]
fn activities_in_another_order_change_the_notice_only() {
    let support_start = REGISTER
        .find("[[activity]]\nid = \"support\"")
        .unwrap_or_default();
    let letters_start = REGISTER
        .find("[[activity]]\nid = \"gp_letters\"")
        .unwrap_or_default();
    assert!(support_start > 0 && letters_start > support_start);
    let swapped = format!(
        "{}{}\n{}",
        &REGISTER[..support_start],
        &REGISTER[letters_start..],
        &REGISTER[support_start..letters_start]
    );
    let d = changes(REGISTER, &swapped);
    assert_eq!(
        d.to_string(),
        "Privacy notices\n  ~ `support`: changes in \"What we use and why\"; \"Who we share it with, and when\"\n\nWho must be told\n  The people of `support`:\n    - its privacy notice changes (\"What we use and why\"; \"Who we share it with, and when\"): the new version is published at the next start\n"
    );
}

// Policy documents.

#[test]
fn a_policy_documents_new_version_changes_the_notices_that_name_it() {
    let new = with(RECOVERY, "version = \"2.0\"", "version = \"2.1\"");
    let d = diff(&register(RECOVERY), &register(&new));
    assert_eq!(
        lines(&d, Topic::PolicyDocuments),
        [r#"~ `apd`: version from "2.0" to "2.1""#]
    );
    // Only the recovery service relies on it.
    assert_eq!(told(&d), ["The people of `recovery`"]);
    assert_eq!(
        d.why_tell(&people("recovery")),
        [
            r#"its privacy notice changes ("What we use and why"): the new version is published at the next start"#
        ]
    );
}

#[test]
fn policy_documents_added_and_removed() {
    let new = with(
        REGISTER,
        "[[retention]]",
        "[[policy_document]]\nid = \"sharing\"\ntitle = \"Information sharing policy\"\nversion = \"3\"\n\n[[retention]]",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::PolicyDocuments),
        [r#"+ `sharing` ("Information sharing policy", version "3") is added"#]
    );
    assert!(d.tell.is_empty(), "no notice names it: {d}");
    let d = changes(&new, REGISTER);
    assert_eq!(
        lines(&d, Topic::PolicyDocuments),
        [r#"- `sharing` ("Information sharing policy") is removed"#]
    );
}

#[test]
fn trustee_matters_added_changed_and_removed_tell_the_dpo() {
    let matter = "[[trustee_matter]]\nid = \"complaint\"\nlabel = \"A complaint\"\nparts = [\"identity\", \"note\"]\nmax_days = 30\n\n[[retention]]";
    let new = with(REGISTER, "[[retention]]", matter);
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::TrusteeMatters),
        [r#"+ `complaint` ("A complaint": identity, note, up to 30 days) is added"#]
    );
    assert!(
        d.to_string()
            .contains("trustees' matter `complaint` can now be granted"),
        "{d}"
    );
    let wider = new.replace("max_days = 30", "max_days = 60");
    let d = changes(&new, &wider);
    assert_eq!(
        lines(&d, Topic::TrusteeMatters),
        [r#"~ `complaint`: longest grant (days) from "30" to "60""#]
    );
    let d = changes(&new, REGISTER);
    assert_eq!(
        lines(&d, Topic::TrusteeMatters),
        ["- `complaint` is removed"]
    );
}
