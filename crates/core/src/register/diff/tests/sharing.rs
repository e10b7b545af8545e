//! Recipients, processors and consent forms: what each may receive, who is told when it narrows,
//! and who must be asked for consent again.

use super::*;

// Recipients.

#[test]
fn an_added_recipient_says_what_it_may_receive() {
    let new = with(
        REGISTER,
        "[[processor]]",
        "[[recipient]]\nid = \"housing\"\nname = \"Testshire Housing\"\nkind = \"statutory_body\"\nwhen = \"to find you a home\"\n\n[[processor]]",
    );
    let new = with(
        &new,
        "recipients = [\"police\"]",
        "recipients = [\"police\", \"housing\"]",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Recipients),
        [
            r#"+ `housing` ("Testshire Housing", kind `statutory_body`) is added: it may receive `health`, `identity` under `public_task`"#
        ]
    );
    assert_eq!(
        lines(&d, Topic::Activities),
        ["~ `support`: recipients: added `housing`"]
    );
    assert_eq!(
        told(&d),
        ["The people of `support`", "The people of `advice`"]
    );
    assert!(d.why_tell(&people("support"))[0].contains("\"Who we share it with, and when\""));
}

#[test]
fn a_retired_recipient_is_told_to_the_staff_who_shared_with_it() {
    let new = with(
        REGISTER,
        "[[recipient]]\nid = \"police\"\nname = \"The police\"\nkind = \"criminal_justice\"\nwhen = \"to report a crime\"\n",
        "",
    );
    let new = with(&new, "recipients = [\"police\"]\n", "");
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Recipients),
        [
            r#"- `police` ("The police") is retired: it receives nothing more, and the disclosure log keeps it"#
        ]
    );
    let why = ["recipient `police` is retired: nothing more can be shared with it"];
    assert_eq!(d.why_tell(&staff("support")), why);
    assert_eq!(d.why_tell(&staff("advice")), why);
}

#[test]
fn a_recipients_narrower_terms_are_told_to_the_staff_who_share_with_it() {
    // The `support` activity no longer sends health: the police and the processor receive less.
    let new = with(
        REGISTER,
        "schedule1 = [\"p1_health_social_care\"]\ncategories = [\"identity\", \"health\"]",
        "schedule1 = [\"p1_health_social_care\"]\ncategories = [\"identity\"]",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Recipients),
        ["~ `police`: may receive: removed `health`"]
    );
    assert_eq!(
        lines(&d, Topic::Processors),
        ["~ `hosting`: may receive: removed `health`"]
    );
    assert_eq!(
        d.why_tell(&staff("support")),
        [
            "recipient `police` may receive less: no longer `health`",
            "processor `hosting` may receive less: no longer `health`",
        ]
    );
    assert_eq!(
        d.why_tell(&Audience::DataProtectionOfficer),
        [
            "processor `hosting` may receive other data: its agreement must cover what it now receives"
        ]
    );
}

#[test]
fn a_lawful_basis_a_recipient_loses_is_told_to_the_staff_who_share_with_it() {
    let new = with(
        REGISTER,
        "basis = \"public_task\"",
        "basis = \"legal_obligation\"",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Recipients),
        ["~ `police`: lawful bases: added `legal_obligation`; removed `public_task`"]
    );
    assert_eq!(
        lines(&d, Topic::Activities),
        [r#"~ `support`: lawful basis from "public_task" to "legal_obligation""#]
    );
    assert_eq!(
        d.why_tell(&staff("advice")),
        [
            "recipient `police` may receive less: no longer under `public_task`",
            "processor `hosting` may receive less: no longer under `public_task`"
        ]
    );
}

#[test]
fn a_recipients_kind_place_consent_and_contact_details_are_listed() {
    let new = with(
        REGISTER,
        "kind = \"criminal_justice\"\nwhen = \"to report a crime\"",
        "kind = \"statutory_body\"\nwhen = \"to report a crime\"\nconsent_required = true\nemail = \"desk@police.example\"",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Recipients),
        [
            r#"~ `police`: kind from "criminal_justice" to "statutory_body""#,
            "~ `police`: now needs the person's consent to every share",
            "~ `police`: contact details change: email",
        ]
    );
    assert_eq!(
        d.why_tell(&staff("support")),
        [
            "recipient `police` now needs the person's consent, or a recorded reason to share without it, for every share"
        ]
    );
}

// Processors.

#[test]
fn an_added_or_retired_processor_is_told_to_the_dpo() {
    let added = with(
        REGISTER,
        "[[consent_purpose]]",
        "[[processor]]\nid = \"shredding\"\nname = \"Shredwell Ltd\"\nrole = \"destroys paper records\"\nagreement_starts = \"2026-01-01\"\nagreement_ends = \"2026-12-31\"\n\n[[consent_purpose]]",
    );
    let added = with(
        &added,
        "processors = [\"hosting\"]",
        "processors = [\"hosting\", \"shredding\"]",
    );
    let d = changes(REGISTER, &added);
    assert_eq!(
        lines(&d, Topic::Processors),
        [
            r#"+ `shredding` ("Shredwell Ltd") is added, its agreement running from 2026-01-01 to 2026-12-31: it may receive `health`, `identity` under `public_task`"#
        ]
    );
    assert_eq!(
        d.why_tell(&Audience::DataProtectionOfficer),
        [
            "processor `shredding` is added: its data processing agreement must be in place, from 2026-01-01 to 2026-12-31"
        ]
    );

    let d = changes(&added, REGISTER);
    assert_eq!(
        lines(&d, Topic::Processors),
        [
            r#"- `shredding` ("Shredwell Ltd") is retired: nothing more is sent to it, and the disclosure log keeps it"#
        ]
    );
    assert_eq!(
        d.why_tell(&Audience::DataProtectionOfficer),
        ["processor `shredding` is retired: nothing more is sent to it"]
    );
    assert_eq!(
        d.why_tell(&staff("support")),
        ["processor `shredding` is retired: nothing more can be sent to it"]
    );
}

#[test]
fn without_a_dpo_the_data_manager_is_told() {
    let no_dpo = with(
        REGISTER,
        "[organisation.dpo]",
        "[organisation.data_manager]",
    );
    let new = with(
        &no_dpo,
        "agreement_starts = \"2025-04-01\"",
        "agreement_starts = \"2025-06-01\"",
    );
    let d = changes(&no_dpo, &new);
    assert_eq!(
        lines(&d, Topic::Processors),
        [r#"~ `hosting`: agreement starts from "2025-04-01" to "2025-06-01""#]
    );
    assert_eq!(told(&d), ["The data manager"]);
}

// Consent purposes.

#[test]
fn a_raised_form_version_asks_everyone_who_consented_again() {
    let new = with(
        RECOVERY,
        "form_version = \"2026-1\"",
        "form_version = \"2026-2\"",
    );
    let d = diff(&register(RECOVERY), &register(&new));
    assert_eq!(
        lines(&d, Topic::ConsentPurposes),
        [r#"~ `ndtms` on the form of `recovery`: form version from "2026-1" to "2026-2""#]
    );
    assert_eq!(
        d.why_tell(&consented("recovery", "ndtms")),
        [
            r#"its form version changes from "2026-1" to "2026-2": consent given on an earlier form does not cover the new one"#
        ]
    );
    assert!(d.why_tell(&consented("recovery", "cjit")).is_empty());
    // The notice does not print the form's version.
    assert_eq!(
        told(&d),
        ["The people who consented to `ndtms` on the form of `recovery` (ask them again)"]
    );
}

#[test]
fn new_wording_on_the_same_form_version_asks_again_and_says_to_raise_it() {
    let new = with(
        REGISTER,
        "write to my GP about my support.",
        "write to my GP and my pharmacist about my support.",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::ConsentPurposes),
        [
            r#"~ `gp_letters` on the form of `support`: wording is reworded but the form version stays "1": raise `form_version`, so each consent shows the wording it was given on"#
        ]
    );
    assert_eq!(
        d.why_tell(&consented("support", "gp_letters")),
        ["its wording changes: consent given on the earlier wording does not cover the new one"]
    );
}

#[test]
fn a_consent_purpose_letting_data_go_to_more_recipients_asks_again() {
    let new = with(
        REGISTER,
        "recipients = [\"gp\"]",
        "recipients = [\"gp\", \"police\"]",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::ConsentPurposes),
        ["~ `gp_letters` on the form of `support`: lets data go to: added `police`"]
    );
    assert_eq!(
        d.why_tell(&consented("support", "gp_letters")),
        [
            "it now also lets data go to `police`: consent given for fewer recipients does not cover them"
        ]
    );
    assert_eq!(
        lines(&d, Topic::Recipients),
        ["~ `police`: lawful bases: added `consent`"]
    );

    // The other way: fewer recipients asks no one again, and tells the staff.
    let d = changes(&new, REGISTER);
    assert!(
        d.why_tell(&consented("support", "gp_letters")).is_empty(),
        "{d}"
    );
    assert!(
        d.why_tell(&staff("support"))
            .contains(&"consent to `gp_letters` no longer lets data go to `police`".to_owned()),
        "{d}"
    );
}

#[test]
fn consent_becoming_explicit_asks_again() {
    let plain = with(
        REGISTER,
        "consent_purpose = \"gp_letters\"\narticle9 = \"explicit_consent\"",
        "consent_purpose = \"gp_letters\"\narticle9 = \"health_social_care\"\nschedule1 = [\"p1_health_social_care\"]",
    );
    let d = changes(&plain, REGISTER);
    assert_eq!(
        lines(&d, Topic::ConsentPurposes),
        ["~ `gp_letters` on the form of `support`: now explicit consent"]
    );
    assert_eq!(
        d.why_tell(&consented("support", "gp_letters")),
        ["it is now explicit consent, which consent given before does not meet"]
    );
    let d = changes(REGISTER, &plain);
    assert_eq!(
        lines(&d, Topic::ConsentPurposes),
        ["~ `gp_letters` on the form of `support`: no longer explicit consent"]
    );
    assert!(
        d.why_tell(&consented("support", "gp_letters")).is_empty(),
        "{d}"
    );
}

#[test]
fn a_consent_purpose_added_to_a_form_or_leaving_it() {
    let new = with(
        REGISTER,
        "services = [\"support\"]\npurpose = \"If you agree",
        "services = [\"support\", \"advice\"]\npurpose = \"If you agree",
    );
    let new = with(&new, "field_groups = []", "field_groups = [\"health\"]");
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::ConsentPurposes),
        [
            r#"+ `gp_letters` is on the form of `advice` (form version "1"), letting data go to `gp`, as explicit consent"#
        ]
    );

    let d = changes(&new, REGISTER);
    assert_eq!(
        lines(&d, Topic::ConsentPurposes),
        [
            "- `gp_letters` leaves the form of `advice`: the consent recorded to it is kept, and lets nothing more be shared"
        ]
    );
    assert_eq!(
        d.why_tell(&staff("advice")),
        ["consent to `gp_letters` lets nothing more be shared"]
    );
}

#[test]
fn a_recipient_becoming_a_multi_agency_meeting_or_going_abroad_needs_consent() {
    let new = with(
        REGISTER,
        "kind = \"criminal_justice\"",
        "kind = \"multi_agency_meeting\"\noutside_uk = true",
    );
    let new = with(
        &new,
        "recipients = [\"police\"]\nprocessors = [\"hosting\"]\nretention = \"case\"",
        "recipients = [\"police\"]\nprocessors = [\"hosting\"]\ntransfers = [{ country = \"Ireland\", safeguard = \"UK adequacy regulations\" }]\nretention = \"case\"",
    );
    let d = changes(REGISTER, &new);
    assert_eq!(
        lines(&d, Topic::Recipients),
        [
            r#"~ `police`: kind from "criminal_justice" to "multi_agency_meeting""#,
            "~ `police`: now outside the UK",
            "~ `police`: now needs the person's consent to every share",
        ]
    );
    assert_eq!(
        d.why_tell(&staff("advice")),
        [
            "recipient `police` is now outside the UK: shares to it need the person's explicit consent",
            "recipient `police` now needs the person's consent, or a recorded reason to share without it, for every share",
        ]
    );
    assert!(
        d.why_tell(&people("support"))[0].contains("\"Outside the UK\""),
        "{d}"
    );
}
