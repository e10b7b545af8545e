//! The redaction review's rules, as pure functions: what is proposed for an item from its flags,
//! which decisions an item admits and with which legal reason, when a health professional's
//! opinion still counts, and what stops a bundle's release.
//!
//! - An item about someone else (supplied by a third party, identifying a complainant, mentioning
//!   a related person, about a related person) is proposed for withholding under DPA 2018
//!   Schedule 2 paragraph 16; one flagged as could cause serious harm under Schedule 3 Part 2. It
//!   is released only for a reason that answers the flag (the other person consented, it is
//!   reasonable without their consent, a professional acting in role, the person knows it).
//! - Health data (a health field, or an item flagged as could cause serious harm) is released only
//!   when an appropriate health professional's opinion that it would not cause serious harm was
//!   given within the six months ending with the day of release, or the person already knows it
//!   (Schedule 3 paragraph 6); withholding it on serious harm needs such an opinion that it
//!   would.
//! - An item that names or locates someone who named the person as an alleged perpetrator is
//!   locked: withheld whatever anyone decides.
//! - An item with any flag waits for a decision; one without is released unless the reviewer
//!   withholds it.

use time::Date;

use crate::person::Violation;
use crate::store::{BundleItemRecord, Decision, DecisionReason, Exemption, ItemFlag, Professional};

use super::clock::months_before;

/// How long a health professional's opinion counts, in months (Schedule 3 paragraph 6(3)).
pub const OPINION_MONTHS: u8 = 6;

/// What is proposed for an item with these flags: withhold or not, under which exemption, and
/// whether it is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proposal {
    pub withhold: bool,
    pub exemption: Option<Exemption>,
    pub locked: bool,
}

pub fn propose(flags: &[ItemFlag]) -> Proposal {
    let has = |f: ItemFlag| flags.contains(&f);
    if has(ItemFlag::Victim) {
        return Proposal {
            withhold: true,
            exemption: Some(Exemption::VictimSafety),
            locked: true,
        };
    }
    let about_others = [
        ItemFlag::ThirdPartySource,
        ItemFlag::Complainant,
        ItemFlag::MentionsRelated,
        ItemFlag::RelatedPerson,
    ]
    .into_iter()
    .any(has);
    let exemption = if has(ItemFlag::SeriousHarm) {
        Some(Exemption::HealthSeriousHarm)
    } else if about_others {
        Some(Exemption::ThirdParty)
    } else {
        None
    };
    Proposal {
        withhold: flags.iter().any(|f| f.proposes_withholding()),
        exemption,
        locked: false,
    }
}

/// Whether an opinion given on `given` still counts on `today`: it was given within the six
/// months ending with today.
pub fn opinion_counts(given: Date, today: Date) -> bool {
    given <= today && given > months_before(today, OPINION_MONTHS)
}

/// Whether an item is health data: its release needs an opinion, or the person's knowing it.
pub fn is_health(flags: &[ItemFlag]) -> bool {
    flags.contains(&ItemFlag::Health) || flags.contains(&ItemFlag::SeriousHarm)
}

fn about_others(flags: &[ItemFlag]) -> bool {
    flags.iter().any(|f| {
        matches!(
            f,
            ItemFlag::ThirdPartySource
                | ItemFlag::Complainant
                | ItemFlag::MentionsRelated
                | ItemFlag::RelatedPerson
        )
    })
}

/// A decision as the reviewer gives it.
#[derive(Debug, Clone, Copy)]
pub struct ItemDecision {
    pub decision: Decision,
    pub reason: DecisionReason,
    /// The health professional's opinion: its UK day and whose it was.
    pub opinion: Option<(Date, Professional)>,
}

/// Checks a decision on an item on `today`, naming each problem.
pub fn check_decision(
    item: &BundleItemRecord,
    d: &ItemDecision,
    today: Date,
) -> Result<(), Vec<Violation>> {
    let mut v = Vec::new();
    if item.locked && d.decision == Decision::Release {
        v.push(Violation::new(
            "decision",
            "is refused: this item names or locates someone who named the person as an alleged perpetrator, and is never released",
        ));
    }
    if d.reason.decision() != d.decision {
        v.push(Violation::new(
            "reason",
            "does not support that decision (choose a reason for it)",
        ));
    }
    // An item that is both health data and about someone else, released for a reason about the
    // other person, needs the health professional's opinion beside it.
    let health = is_health(&item.flags);
    let others = about_others(&item.flags);
    let opinion_beside = d.decision == Decision::Release
        && health
        && others
        && d.reason != DecisionReason::AlreadyKnown;
    let needs_opinion = d.reason.needs_opinion() || opinion_beside;
    match (needs_opinion, d.opinion) {
        (true, None) => v.push(Violation::new(
            "opinion_on",
            "is required: the day the health professional gave their opinion",
        )),
        (true, Some((given, _))) if given > today => {
            v.push(Violation::new("opinion_on", "is in the future"));
        }
        (true, Some((given, _))) if !opinion_counts(given, today) => v.push(Violation::new(
            "opinion_on",
            "is more than six months ago: ask for the opinion again",
        )),
        (false, Some(_)) => v.push(Violation::new(
            "opinion_on",
            "is only for a decision resting on a health professional's opinion",
        )),
        _ => {}
    }
    if d.decision == Decision::Release {
        let answers_others = matches!(
            d.reason,
            DecisionReason::OtherConsented
                | DecisionReason::ReasonableWithoutConsent
                | DecisionReason::ProfessionalInRole
                | DecisionReason::AlreadyKnown
        );
        if others && !answers_others {
            v.push(Violation::new(
                "reason",
                "must answer why releasing it is right for the other person it is about (their consent, reasonable without it, a professional in role, or the person already knows it)",
            ));
        }
        if health
            && !others
            && !matches!(
                d.reason,
                DecisionReason::AlreadyKnown | DecisionReason::OpinionNoHarm
            )
        {
            v.push(Violation::new(
                "reason",
                "must be a health professional's opinion that it would not cause serious harm, or that the person already knows it: this is health data",
            ));
        }
    }
    if v.is_empty() { Ok(()) } else { Err(v) }
}

/// Whether an item waits for a reviewer's decision.
pub fn needs_decision(item: &BundleItemRecord) -> bool {
    !item.locked && !item.flags.is_empty() && item.decision.is_none()
}

/// Whether an item goes in the released copy.
pub fn released(item: &BundleItemRecord) -> bool {
    !item.locked
        && match item.decision {
            Some(d) => d == Decision::Release,
            None => item.flags.is_empty(),
        }
}

/// What stops a bundle's release on `today`: each item still to decide, and each opinion that no
/// longer counts (by the item's place, counted from one).
pub fn release_problems(items: &[BundleItemRecord], today: Date) -> Vec<String> {
    let mut problems = Vec::new();
    let waiting = items.iter().filter(|i| needs_decision(i)).count();
    if waiting > 0 {
        problems.push(format!("{waiting} flagged item(s) still to decide"));
    }
    for item in items {
        let stale = item
            .opinion_on
            .as_deref()
            .and_then(crate::uk_time::iso_day)
            .is_some_and(|given| !opinion_counts(given, today));
        if stale {
            problems.push(format!(
                "item {}: the health professional's opinion is now more than six months old",
                item.position + 1
            ));
        }
    }
    problems
}

/// A text's letters and digits alone, in lower case: how a postcode or a phone number is compared
/// whatever its spaces and punctuation.
pub(crate) fn letters_and_digits(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `text` mentions `name` as a whole word (case does not matter); a term with digits (a
/// postcode, a phone number) is matched whatever its spaces and punctuation. Names shorter than
/// two letters are never matched.
pub fn mentions(text: &str, name: &str) -> bool {
    if name.chars().any(|c| c.is_ascii_digit()) {
        let term = letters_and_digits(name);
        if term.chars().count() >= 4 && letters_and_digits(text).contains(&term) {
            return true;
        }
    }
    let name = name.trim().to_lowercase();
    if name.chars().count() < 2 {
        return false;
    }
    let text = text.to_lowercase();
    let mut from = 0;
    while let Some(at) = text[from..].find(&name) {
        let start = from + at;
        let end = start + name.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        if boundary(before) && boundary(after) {
            return true;
        }
        from = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
#[path = "redaction_tests.rs"]
mod tests;
