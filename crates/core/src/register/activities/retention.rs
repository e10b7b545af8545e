//! The register's retention rules (`[[retention]]`): read as written, checked, and kept typed
//! ([`RetentionRule`]), so the notice, the Article 30 record and the sweep read one meaning.
//!
//! Guarantees:
//! - A rule's record type, trigger and period are one of [`RecordType`], [`Trigger`] and
//!   [`Period`]; its `source` is a policy document of the register and its `services` (all of
//!   them when left out) are services of the register; each fault is reported with the file and
//!   the line of the rule's table, with every other fault of the register.
//! - Every service has a rule for its case records, and an activity's `retention` rule applies
//!   to every service the activity is for.
//! - Where several rules apply to the same records, each is stated in the notice; the sweep is to
//!   keep the records until the latest of their ends (never destroying early).

use std::collections::BTreeSet;

use serde::Deserialize;
use time::Date;

use crate::retention::{Period, RecordType, Trigger};

use super::check::Faults;
use super::{PolicyDocument, RawRegister, Register};

/// A `[[retention]]` table as written, before it is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetentionRule {
    pub(super) id: String,
    records: String,
    #[serde(default)]
    record_type: Option<String>,
    #[serde(default)]
    services: Option<Vec<String>>,
    trigger: String,
    #[serde(default)]
    said_as: Option<String>,
    period: String,
    source: String,
    destruction: String,
}

impl RawRetentionRule {
    fn applies_to(&self, service: &str) -> bool {
        self.services
            .as_ref()
            .is_none_or(|list| list.iter().any(|s| s == service))
    }
}

/// How long a kind of record is kept, from what, on whose authority, and how it is destroyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRule {
    pub id: String,
    /// What it applies to, in the notice's words ("Your case record, on paper and electronic").
    pub records: String,
    /// The retention class it is for (`record_type`; `case_record` when not given).
    pub record_type: RecordType,
    /// The services it applies to (ids); `None`, when `services` is left out: every service.
    pub services: Option<Vec<String>>,
    /// What starts the clock.
    pub trigger: Trigger,
    /// The organisation's own words for the trigger, where the notice must keep them ("the date
    /// you stop using our service"); otherwise the notice says [`Trigger::words`].
    pub said_as: Option<String>,
    /// How long.
    pub period: Period,
    /// The policy document the period comes from (an id of `[[policy_document]]`): the notice
    /// names its title and version.
    pub source: String,
    /// How the records are destroyed, in the notice's words.
    pub destruction: String,
}

impl RetentionRule {
    /// Whether the rule applies to a service (by id).
    pub fn applies_to(&self, service: &str) -> bool {
        self.services
            .as_ref()
            .is_none_or(|list| list.iter().any(|s| s == service))
    }

    /// The trigger as the notice words it: the register's `said_as`, or the trigger's own words.
    pub fn trigger_words(&self) -> &str {
        self.said_as.as_deref().unwrap_or(self.trigger.words())
    }

    /// The day the period ends for a trigger on that UK date ([`Period::ends_on`]).
    pub fn ends_on(&self, trigger: Date) -> Option<Date> {
        self.period.ends_on(trigger)
    }
}

impl Register {
    /// The rules for a service's records of a type: the rules of that type for the service, or,
    /// where there are none, those of the type it follows ([`RecordType::follows`]). Several
    /// rules may apply; none, for a referral without a rule of its own.
    pub fn retention_rules_for(
        &self,
        service: &str,
        record_type: RecordType,
    ) -> Vec<&RetentionRule> {
        let of = |t: RecordType| -> Vec<&RetentionRule> {
            self.retention
                .iter()
                .filter(|r| r.record_type == t && r.applies_to(service))
                .collect()
        };
        let own = of(record_type);
        match record_type.follows() {
            Some(other) if own.is_empty() => of(other),
            _ => own,
        }
    }

    /// The rules a service's notice states: every rule that applies to it, in the register's order.
    pub fn retention_of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a RetentionRule> {
        self.retention.iter().filter(move |r| r.applies_to(service))
    }

    /// The policy document a rule cites.
    pub fn retention_source(&self, rule: &RetentionRule) -> Option<&PolicyDocument> {
        self.policy_document(&rule.source)
    }
}

/// Checks each rule and returns those that are valid, typed; faults go to `f`. Also checks that
/// every service has a rule for its case records and that each activity's rule applies to its
/// services.
pub(super) fn typed_rules(raw: &RawRegister, f: &mut Faults<'_>) -> Vec<RetentionRule> {
    let services: BTreeSet<&str> = raw
        .service
        .iter()
        .map(|s| s.get_ref().id.as_str())
        .collect();
    let docs: BTreeSet<&str> = raw
        .policy_document
        .iter()
        .map(|d| d.get_ref().id.as_str())
        .collect();
    let mut rules = Vec::new();
    for r in &raw.retention {
        let (span, rule) = (r.span(), r.get_ref());
        let name = format!("retention rule `{}`", rule.id);
        let fault = |f: &mut Faults<'_>, message: String| f.at(&span, format!("{name}: {message}"));
        for (what, value) in [
            ("records", Some(&rule.records)),
            ("destruction", Some(&rule.destruction)),
            ("said_as", rule.said_as.as_ref()),
        ] {
            if value.is_some_and(|v| v.trim().is_empty()) {
                fault(f, format!("`{what}` is empty"));
            }
        }
        let record_type = match rule.record_type.as_deref() {
            None => Some(RecordType::CaseRecord),
            Some(code) => RecordType::from_code(code).or_else(|| {
                fault(
                    f,
                    format!(
                        "`record_type` `{code}` is not a record type ({})",
                        crate::retention::codes_of::<RecordType>()
                    ),
                );
                None
            }),
        };
        let trigger = Trigger::from_code(rule.trigger.trim()).or_else(|| {
            fault(
                f,
                format!(
                    "`trigger` `{}` is not a trigger ({}); the notice's own words for it go in `said_as`",
                    rule.trigger,
                    crate::retention::codes_of::<Trigger>()
                ),
            );
            None
        });
        let period = Period::parse(&rule.period)
            .map_err(|e| fault(f, format!("`period` \"{}\" {e}", rule.period)))
            .ok();
        if rule.source.trim().is_empty() {
            fault(
                f,
                "`source` is empty: name the policy document (`[[policy_document]]`) the period comes from".to_owned(),
            );
        } else if !docs.contains(rule.source.as_str()) {
            fault(
                f,
                format!(
                    "source `{}` is not a policy document of the register (`[[policy_document]]`)",
                    rule.source
                ),
            );
        }
        match &rule.services {
            Some(list) if list.is_empty() => fault(
                f,
                "`services` is empty (leave it out for every service)".to_owned(),
            ),
            Some(list) => {
                for s in list.iter().filter(|s| !services.contains(s.as_str())) {
                    fault(f, format!("service `{s}` is not in the register"));
                }
            }
            None => {}
        }
        if trigger == Some(Trigger::ReferralDeclined) && period.is_some_and(|p| p != Period::AtOnce)
        {
            // Declining erases what was received there and then (R6): a longer period would be a
            // promise the system does not keep.
            fault(
                f,
                "`trigger` `referral_declined` erases what was received when the referral is declined: its `period` is \"at once\"".to_owned(),
            );
        }
        if let (Some(record_type), Some(trigger), Some(period)) = (record_type, trigger, period) {
            rules.push(RetentionRule {
                id: rule.id.clone(),
                records: rule.records.clone(),
                record_type,
                services: rule.services.clone(),
                trigger,
                said_as: rule.said_as.clone(),
                period,
                source: rule.source.clone(),
                destruction: rule.destruction.clone(),
            });
        }
    }
    check_coverage(raw, &services, f);
    rules
}

/// Every service has a rule for its case records; an activity's rule applies to its services.
fn check_coverage(raw: &RawRegister, services: &BTreeSet<&str>, f: &mut Faults<'_>) {
    for s in &raw.service {
        let id = s.get_ref().id.as_str();
        // A record type the check refused already counts, so one fault is not reported twice.
        let covered = raw.retention.iter().map(|r| r.get_ref()).any(|r| {
            r.applies_to(id)
                && r.record_type.as_deref().is_none_or(|code| {
                    RecordType::from_code(code).is_none_or(|t| t == RecordType::CaseRecord)
                })
        });
        if !covered {
            f.at(
                &s.span(),
                format!(
                    "service `{id}` has no retention rule for its case records (a `[[retention]]` rule with `record_type = \"case_record\"`, the default, for this service)"
                ),
            );
        }
    }
    for a in &raw.activity {
        let activity = a.get_ref();
        let Some(rule) = raw
            .retention
            .iter()
            .map(|r| r.get_ref())
            .find(|r| r.id == activity.retention)
        else {
            continue; // Reported by the activity's own check.
        };
        // A service not in the register is reported by the activity's own check.
        let uncovered = activity
            .services
            .iter()
            .filter(|s| services.contains(s.as_str()) && !rule.applies_to(s));
        for s in uncovered {
            f.at(
                &a.span(),
                format!(
                    "activity `{}`: retention rule `{}` is not for service `{s}` (the rule's `services`)",
                    activity.id, rule.id
                ),
            );
        }
    }
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
