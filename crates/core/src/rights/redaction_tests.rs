//! The redaction review's rules: what each flag proposes, the six months an opinion counts for
//! (month ends and leap years worked out by hand), which reasons each item admits, what stops a
//! release, and how a name is found in a text.

use super::*;
use crate::store::BundleSource;
use time::macros::date;

fn item(flags: &[ItemFlag]) -> BundleItemRecord {
    let p = propose(flags);
    BundleItemRecord {
        request_id: uuid::Uuid::nil(),
        position: 0,
        source: BundleSource::Entry,
        reference: String::new(),
        digest: String::new(),
        flags: flags.to_vec(),
        proposed_withhold: p.withhold,
        exemption: p.exemption,
        locked: p.locked,
        decision: p.locked.then_some(Decision::Withhold),
        reason: None,
        opinion_on: None,
        opinion_by: None,
        decided_by: None,
        decided_at_micros: None,
    }
}

fn decide(reason: DecisionReason, opinion: Option<Date>) -> ItemDecision {
    ItemDecision {
        decision: reason.decision(),
        reason,
        opinion: opinion.map(|d| (d, Professional::Responsible)),
    }
}

const TODAY: Date = date!(2026 - 12 - 07);

#[test]
fn each_flag_proposes_what_the_law_asks() {
    use ItemFlag as F;
    let cases: [(&[ItemFlag], bool, Option<Exemption>, bool); 9] = [
        (&[], false, None, false),
        (
            &[F::ThirdPartySource],
            true,
            Some(Exemption::ThirdParty),
            false,
        ),
        (&[F::Complainant], true, Some(Exemption::ThirdParty), false),
        (
            &[F::MentionsRelated],
            true,
            Some(Exemption::ThirdParty),
            false,
        ),
        (
            &[F::RelatedPerson],
            true,
            Some(Exemption::ThirdParty),
            false,
        ),
        (
            &[F::SeriousHarm],
            true,
            Some(Exemption::HealthSeriousHarm),
            false,
        ),
        (&[F::Health], false, None, false),
        (&[F::Paper, F::SafeContact], false, None, false),
        (
            &[F::Health, F::Victim],
            true,
            Some(Exemption::VictimSafety),
            true,
        ),
    ];
    for (flags, withhold, exemption, locked) in cases {
        let p = propose(flags);
        assert_eq!(
            (p.withhold, p.exemption, p.locked),
            (withhold, exemption, locked),
            "{flags:?}"
        );
    }
}

#[test]
fn an_opinion_counts_for_the_six_months_ending_with_the_day() {
    // (given, today, counts)
    let cases = [
        // The six months ending on 7 December 2026 begin on 8 June.
        (date!(2026 - 06 - 08), TODAY, true),
        (date!(2026 - 06 - 07), TODAY, false),
        (TODAY, TODAY, true),
        // Never an opinion from the future.
        (date!(2026 - 12 - 08), TODAY, false),
        // 31 August 2026: six months before is 28 February 2026 (no 31st), so from 1 March.
        (date!(2026 - 03 - 01), date!(2026 - 08 - 31), true),
        (date!(2026 - 02 - 28), date!(2026 - 08 - 31), false),
        // In a leap year: 29 February 2028 is six months before 29 August 2028...
        (date!(2028 - 03 - 01), date!(2028 - 08 - 29), true),
        (date!(2028 - 02 - 29), date!(2028 - 08 - 29), false),
        // ...and before 31 August 2028 too (February's last day).
        (date!(2028 - 02 - 29), date!(2028 - 08 - 31), false),
        (date!(2028 - 03 - 01), date!(2028 - 08 - 31), true),
        // Across a year end.
        (date!(2026 - 07 - 01), date!(2027 - 01 - 01), false),
        (date!(2026 - 07 - 02), date!(2027 - 01 - 01), true),
    ];
    for (given, today, counts) in cases {
        assert_eq!(opinion_counts(given, today), counts, "{given} on {today}");
    }
}

#[test]
fn health_data_is_released_only_on_an_opinion_or_what_the_person_knows() {
    let health = item(&[ItemFlag::Health]);
    let fresh = Some(date!(2026 - 11 - 30));
    assert!(
        check_decision(
            &health,
            &decide(DecisionReason::OpinionNoHarm, fresh),
            TODAY
        )
        .is_ok()
    );
    assert!(check_decision(&health, &decide(DecisionReason::AlreadyKnown, None), TODAY).is_ok());
    for reason in [
        DecisionReason::NothingOfOthers,
        DecisionReason::ReasonableWithoutConsent,
        DecisionReason::OtherConsented,
    ] {
        let refused = check_decision(&health, &decide(reason, None), TODAY)
            .expect_err("health data needs an opinion or the person's knowing it");
        assert!(refused.iter().any(|v| v.field == "reason"), "{reason:?}");
    }
    // An opinion older than six months, or none, is refused by name.
    let stale = check_decision(
        &health,
        &decide(DecisionReason::OpinionNoHarm, Some(date!(2026 - 06 - 07))),
        TODAY,
    )
    .expect_err("an opinion over six months old");
    assert_eq!(stale[0].field, "opinion_on");
    let missing = check_decision(&health, &decide(DecisionReason::OpinionNoHarm, None), TODAY)
        .expect_err("an opinion without its day");
    assert_eq!(missing[0].field, "opinion_on");
    // Withholding on serious harm needs its opinion too; withholding otherwise needs none.
    let harm = item(&[ItemFlag::SeriousHarm]);
    assert!(
        check_decision(
            &harm,
            &decide(DecisionReason::OpinionSeriousHarm, None),
            TODAY
        )
        .is_err()
    );
    assert!(
        check_decision(
            &harm,
            &decide(DecisionReason::OpinionSeriousHarm, fresh),
            TODAY
        )
        .is_ok()
    );
    assert!(check_decision(&harm, &decide(DecisionReason::CrimePrejudice, None), TODAY).is_ok());
    // An opinion given with a reason that rests on none is refused.
    assert!(check_decision(&harm, &decide(DecisionReason::CrimePrejudice, fresh), TODAY).is_err());
}

#[test]
fn what_is_about_someone_else_is_released_only_for_a_reason_that_answers_it() {
    let other = item(&[ItemFlag::ThirdPartySource]);
    assert!(
        check_decision(
            &other,
            &decide(DecisionReason::NothingOfOthers, None),
            TODAY
        )
        .is_err()
    );
    for reason in [
        DecisionReason::OtherConsented,
        DecisionReason::ReasonableWithoutConsent,
        DecisionReason::ProfessionalInRole,
        DecisionReason::AlreadyKnown,
    ] {
        assert!(
            check_decision(&other, &decide(reason, None), TODAY).is_ok(),
            "{reason:?}"
        );
    }
    // A reason must support the decision given with it.
    let mismatched = ItemDecision {
        decision: Decision::Release,
        reason: DecisionReason::IdentifiesOther,
        opinion: None,
    };
    assert_eq!(
        check_decision(&other, &mismatched, TODAY).expect_err("a mismatched reason")[0].field,
        "reason"
    );
    // A victim's item is never released, whatever the reason.
    let victim = item(&[ItemFlag::Victim]);
    for reason in DecisionReason::ALL {
        if reason.decision() == Decision::Release {
            assert!(
                check_decision(&victim, &decide(reason, Some(TODAY)), TODAY).is_err(),
                "{reason:?}"
            );
        }
    }
}

#[test]
fn an_item_both_about_someone_else_and_health_data_needs_both_answered() {
    let both = item(&[ItemFlag::ThirdPartySource, ItemFlag::SeriousHarm]);
    let fresh = Some(date!(2026 - 11 - 30));
    // The opinion alone does not answer for the other person; their test alone not for health.
    assert!(check_decision(&both, &decide(DecisionReason::OpinionNoHarm, fresh), TODAY).is_err());
    assert!(
        check_decision(
            &both,
            &decide(DecisionReason::ReasonableWithoutConsent, None),
            TODAY
        )
        .is_err()
    );
    // The other person's test with the opinion beside it, or what the person knows: released.
    assert!(
        check_decision(
            &both,
            &decide(DecisionReason::ReasonableWithoutConsent, fresh),
            TODAY
        )
        .is_ok()
    );
    assert!(check_decision(&both, &decide(DecisionReason::AlreadyKnown, None), TODAY).is_ok());
}

#[test]
fn nothing_is_released_until_every_flagged_item_is_decided() {
    let mut items = vec![
        item(&[]),
        item(&[ItemFlag::Paper]),
        item(&[ItemFlag::Victim]),
    ];
    for (i, it) in items.iter_mut().enumerate() {
        it.position = i64::try_from(i).unwrap_or_default();
    }
    assert_eq!(release_problems(&items, TODAY).len(), 1);
    assert!(released(&items[0]));
    assert!(!released(&items[1]), "a flagged item waits");
    assert!(!released(&items[2]), "a victim's item never goes");
    assert!(
        !needs_decision(&items[2]),
        "a victim's item is decided already"
    );
    items[1].decision = Some(Decision::Release);
    items[1].reason = Some(DecisionReason::NothingOfOthers);
    assert!(release_problems(&items, TODAY).is_empty());
    assert!(released(&items[1]));
    // An opinion that has aged past six months by the day of release stops it.
    items[1].opinion_on = Some("2026-06-01".to_owned());
    let problems = release_problems(&items, TODAY);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("item 2:"), "{problems:?}");
    // An unflagged item withheld by the reviewer stays out.
    items[0].decision = Some(Decision::Withhold);
    assert!(!released(&items[0]));
}

#[test]
fn a_name_is_found_as_a_whole_word_whatever_its_case() {
    assert!(mentions("Spoke to Jane about the move", "jane"));
    assert!(mentions("JANE-MARIE called", "Jane"));
    assert!(mentions("At 12 Acacia Road, LS1 4AP.", "LS1 4AP"));
    assert!(!mentions("Janet called", "Jane"));
    assert!(
        !mentions("anything", "a"),
        "a one-letter name matches nothing"
    );
    assert!(!mentions("", "Jane"));
    assert!(mentions("Zoë's flat", "zoë"));
    // A postcode or phone number whatever its spaces.
    assert!(mentions("moved to ls14ap last week", "LS1 4AP"));
    assert!(mentions("rang 07700-900 123", "07700 900123"));
    assert!(!mentions("rang 07700 900 124", "07700 900123"));
}
