//! Legal holds on a query (issue 17, part 3): an inquiry, a claim or a review that covers everyone
//! a service worked with in a period keeps all their records, named or not.
//!
//! Guarantees:
//! - A hold on a query keeps every record with a case in the service open at any time in its
//!   period, and every record of the service made in it, for as long as it is in force: records
//!   that come to match later too. The store counts it wherever a hold on one record counts: the
//!   sweep keeps such records off the review queue, a destruction is refused inside its own
//!   transaction (fail closed), paper is neither a task nor recorded destroyed, nothing of the
//!   record can be removed. Its release is a "hold released" event for the records it covered.
//! - Placed by the Data Protection Officer or the Caldicott Guardian (`hold.place` on the
//!   service), released only by the Data Protection Officer (`hold.release`) with a reason; each
//!   audited, as is reading the list.
//! - The period is whole UK days (its first day's midnight to the end of its last), checked: a
//!   date each, the end not before the start. Its reason is about no one record, so it is not
//!   sealed under a person's key: whoever places it is asked not to name anyone.

use confidant_policy::Action;
use time::Date;
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::organisation::micros;
use crate::person::{PersonError, Violation, Violations};
use crate::sharing::reason_text;
use crate::store::{LegalHoldKind, QueryHoldRecord, Store};
use crate::uk_time::uk_midnight;
use crate::{Clock, Confidant};

/// A hold on a query as a form or a request gives it.
#[derive(Debug, Clone, Copy)]
pub struct QueryHoldInput<'a> {
    pub kind: &'a str,
    pub service_id: Uuid,
    /// The period's first and last days, `YYYY-MM-DD` (UK calendar, both included).
    pub from_on: &'a str,
    pub to_on: &'a str,
    pub reason: &'a str,
}

fn day(field: &'static str, text: &str, v: &mut Vec<Violation>) -> Option<Date> {
    let text = text.trim();
    if text.is_empty() {
        v.push(Violation::new(field, "is required"));
        return None;
    }
    match crate::uk_time::iso_day(text) {
        Some(d) if d.year() >= 1900 => Some(d),
        _ => {
            v.push(Violation::new(field, "is not a date (YYYY-MM-DD)"));
            None
        }
    }
}

/// Everything wrong with a hold on a query as given, but its service (which only a permit can
/// check): its kind, reason and period, each by field. For a form that must name every problem.
pub fn query_hold_faults(input: QueryHoldInput<'_>) -> Vec<Violation> {
    let mut faults = match super::code_and_reason::<LegalHoldKind>(
        "kind",
        input.kind,
        "is not a kind of legal hold",
        input.reason,
    ) {
        Err(PersonError::Invalid(v)) => v.0,
        _ => Vec::new(),
    };
    if let Err(v) = period(input) {
        faults.extend(v);
    }
    faults
}

/// The period's days, or what is wrong with them.
fn period(input: QueryHoldInput<'_>) -> Result<(Date, Date), Vec<Violation>> {
    let mut v = Vec::new();
    let from = day("from_on", input.from_on, &mut v);
    let to = day("to_on", input.to_on, &mut v);
    match (from, to) {
        (Some(f), Some(t)) if t < f => {
            Err(vec![Violation::new("to_on", "is before the first day")])
        }
        (Some(f), Some(t)) => Ok((f, t)),
        _ => Err(v),
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Places a hold on a query over one service's records in a period (`hold.place` on the
    /// service). Every problem with the input is named.
    pub async fn place_query_hold(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        input: QueryHoldInput<'_>,
    ) -> Result<QueryHoldRecord, PersonError> {
        let purpose = Purpose::Administration;
        let permit = self
            .service_permit(actor, Action::HoldPlace, input.service_id, purpose)
            .await?;
        let mut faults = Vec::new();
        let coded = match super::code_and_reason::<LegalHoldKind>(
            "kind",
            input.kind,
            "is not a kind of legal hold",
            input.reason,
        ) {
            Ok(coded) => Some(coded),
            Err(PersonError::Invalid(v)) => {
                faults.extend(v.0);
                None
            }
            Err(e) => return Err(e),
        };
        let days = period(input).map_err(|v| faults.extend(v)).ok();
        let (Some((kind, reason)), Some((from, to))) = (coded, days) else {
            return Err(PersonError::Invalid(Violations(faults)));
        };
        let now = self.clock.now();
        let record = QueryHoldRecord {
            id: Uuid::now_v7(),
            organisation_id,
            service_id: input.service_id,
            kind,
            from_on: from.to_string(),
            to_on: to.to_string(),
            from_at_micros: micros(uk_midnight(from)),
            to_at_micros: to
                .next_day()
                .map_or(i64::MAX, |d| micros(uk_midnight(d)) - 1),
            reason,
            placed_by: actor.audit_id(),
            placed_at_micros: micros(now),
            released_by: None,
            released_at_micros: None,
            release_reason: None,
        };
        let audit = AuditDraft::permitted(&permit, purpose, now)
            .named("hold.place_query")
            .on("legal_hold_query", record.id);
        self.store.place_query_hold(&record, audit).await?;
        Ok(record)
    }

    /// Releases a live hold on a query, with a reason (`hold.release` on its service: the Data
    /// Protection Officer).
    pub async fn release_query_hold(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        hold_id: Uuid,
        reason: &str,
    ) -> Result<(), PersonError> {
        let hold = self
            .store
            .query_hold(organisation_id, hold_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let purpose = Purpose::Administration;
        let permit = self
            .service_permit(actor, Action::HoldRelease, hold.service_id, purpose)
            .await?;
        let reason = reason_text("reason", Some(reason))
            .and_then(|r| r.ok_or_else(|| Violation::new("reason", "is required")))
            .map_err(|e| PersonError::Invalid(Violations(vec![e])))?;
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, purpose, now)
            .named("hold.release_query")
            .on("legal_hold_query", hold_id);
        if self
            .store
            .release_query_hold(
                organisation_id,
                hold_id,
                &actor.audit_id(),
                micros(now),
                &reason,
                audit,
            )
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::Conflict("that hold has already been released"))
        }
    }

    /// The organisation's holds on a query, live and released, newest first, each with how many
    /// records it covers now (`oversight.read`: the Data Protection Officer and the Caldicott
    /// Guardian). Audited.
    pub async fn query_holds(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<Vec<(QueryHoldRecord, i64)>, PersonError> {
        let permit = self.oversight_permit(actor, organisation_id).await?;
        let audit = AuditDraft::permitted(&permit, Purpose::Audit, self.clock.now())
            .named("hold.query_list");
        self.store.record_access(audit).await?;
        Ok(self.store.query_holds(organisation_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(from_on: &'a str, to_on: &'a str) -> QueryHoldInput<'a> {
        QueryHoldInput {
            kind: "inquiry",
            service_id: Uuid::nil(),
            from_on,
            to_on,
            reason: "An inquiry",
        }
    }

    fn fields(r: Result<(Date, Date), Vec<Violation>>) -> Vec<&'static str> {
        r.err()
            .unwrap_or_default()
            .iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn a_period_is_two_dates_in_order_one_day_at_least() {
        use time::macros::date;
        assert_eq!(
            period(input("2024-02-29", "2024-02-29")),
            Ok((date!(2024 - 02 - 29), date!(2024 - 02 - 29)))
        );
        assert_eq!(
            period(input(" 2025-12-31 ", "2026-01-01")),
            Ok((date!(2025 - 12 - 31), date!(2026 - 01 - 01)))
        );
        assert_eq!(fields(period(input("2026-01-02", "2026-01-01"))), ["to_on"]);
        assert_eq!(
            fields(period(input("", "2023-02-29"))),
            ["from_on", "to_on"]
        );
        assert_eq!(
            fields(period(input("1899-12-31", "2026-01-01"))),
            ["from_on"]
        );
        assert_eq!(
            fields(period(input("1 April 2026", "2026-04-30"))),
            ["from_on"]
        );
    }
}
