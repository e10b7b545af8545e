//! Paper (issue 17, part 5): a paper note or an archived paper file is destroyed outside
//! Confidant, shredded in the office or collected and destroyed by the archive provider. Whoever
//! records it names who destroyed it and their reference; the entry becomes `destroyed`, and the
//! line goes onto the record's certificate when the record itself is destroyed. An archived file
//! past its date, and any paper of a record whose destruction is approved, is a task for the
//! service's managers (the task sweep opens and closes them), and a reviewed destruction waits
//! until its paper is recorded destroyed.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::organisation::micros;
use crate::person::{PersonError, Violation, Violations, access_of};
use crate::store::{PaperDestroyedLine, PaperRefusal, Store};
use crate::{Action, Clock, Confidant};

/// The longest a name of who destroyed paper, and their reference, may be.
const BY_AT_MOST: usize = 120;
const REFERENCE_AT_MOST: usize = 80;

/// Paper destroyed, as a form or a request gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperDestruction {
    /// Who destroyed it: the archive provider, or the service (shredded on site).
    pub destroyed_by: String,
    /// Their reference: a destruction certificate's number, a shredding log's entry.
    pub reference: String,
    /// The day it was destroyed (UK calendar), not after today.
    pub destroyed_on: Date,
}

impl PaperDestruction {
    /// Reads and checks the three values, naming every problem: each required, on one line, not
    /// too long; the date `YYYY-MM-DD` and not after `today`.
    pub fn parse(
        destroyed_by: &str,
        reference: &str,
        destroyed_on: &str,
        today: Date,
    ) -> Result<PaperDestruction, PersonError> {
        let mut v = Vec::new();
        let mut line = |field: &'static str, text: &str, at_most: usize| {
            let text = text.trim();
            if text.is_empty() {
                v.push(Violation::new(field, "is required"));
            } else if text.chars().any(char::is_control) {
                v.push(Violation::new(field, "must be on one line"));
            } else if text.chars().count() > at_most {
                v.push(Violation::new(field, "is too long"));
            }
            text.to_owned()
        };
        let destroyed_by = line("destroyed_by", destroyed_by, BY_AT_MOST);
        let reference = line("reference", reference, REFERENCE_AT_MOST);
        let on = crate::uk_time::iso_day(destroyed_on.trim());
        match on {
            None => v.push(Violation::new("destroyed_on", "is not a date (YYYY-MM-DD)")),
            Some(d) if d > today => v.push(Violation::new("destroyed_on", "is after today")),
            Some(_) => {}
        }
        match on {
            Some(destroyed_on) if v.is_empty() => Ok(PaperDestruction {
                destroyed_by,
                reference,
                destroyed_on,
            }),
            _ => Err(PersonError::Invalid(Violations(v))),
        }
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Records a paper note or archived paper file of the person destroyed (`person.update` on
    /// the record: whoever may change it), once its time has come: an archived file on its
    /// destroy-by date, a paper note once transcribed, or any of it once the record's destruction
    /// is approved and has waited. Who destroyed it and their reference must not name the person
    /// (they outlive the record on its certificate). Refused while a legal hold is in force; an
    /// entry that is not paper of this record answers as not found.
    pub async fn record_paper_destroyed(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        entry_id: Uuid,
        paper: &PaperDestruction,
    ) -> Result<(), PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let access = access_of(&permit)?;
        let now = self.clock.now();
        let check = AuditDraft::permitted(&permit, purpose, now).named("paper.destroy_check");
        self.names_no_one(
            &access,
            check,
            &[
                ("destroyed_by", &paper.destroyed_by),
                ("reference", &paper.reference),
            ],
        )
        .await?;
        let line = PaperDestroyedLine {
            id: Uuid::now_v7(),
            entry_id,
            destroyed_by: paper.destroyed_by.clone(),
            reference: paper.reference.clone(),
            destroyed_on: paper.destroyed_on.to_string(),
            recorded_by: actor.audit_id(),
            recorded_at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("paper.destroyed");
        match self
            .store
            .record_paper_destroyed(&access, &line, audit)
            .await?
        {
            Ok(()) => Ok(()),
            Err(refusal) => Err(self.paper_refused(&permit, purpose, now, refusal).await?),
        }
    }

    /// The person's paper recorded destroyed, oldest first: who destroyed each, their reference
    /// and when (`person.read` on the record, audited; not for a processor's worker).
    pub async fn paper_destroyed(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<PaperDestroyedLine>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let read = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("paper.read");
        self.store.record_access(read).await?;
        Ok(self.store.paper_destroyed_of(&access_of(&permit)?).await?)
    }

    /// A refusal to record paper destroyed: its own audit event, and the answer.
    async fn paper_refused(
        &self,
        permit: &confidant_policy::Permit,
        purpose: Purpose,
        now: OffsetDateTime,
        refusal: PaperRefusal,
    ) -> Result<PersonError, PersonError> {
        let audit = AuditDraft::refused_under(permit, purpose, now).named("paper.destroyed");
        self.store.record_access(audit).await?;
        Ok(match refusal {
            PaperRefusal::NotPaper => PersonError::NotFound,
            PaperRefusal::Destroyed => {
                PersonError::Conflict("this paper was recorded destroyed already")
            }
            PaperRefusal::NotDue => PersonError::Conflict(
                "this paper is kept for now: an archived file until its destroy-by date, a paper note until it is transcribed, unless the record's destruction is approved",
            ),
            PaperRefusal::Held => PersonError::Conflict(
                "a legal hold, or an open request about the person's rights, is in force on this record: its paper must be kept until the hold is released or the request answered",
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn each_value_is_required_on_one_line_and_the_date_not_after_today() {
        let today = date!(2026 - 12 - 07);
        let ok = PaperDestruction::parse(" Archive Ltd ", "DC-1", "2026-12-07", today).expect("ok");
        assert_eq!(ok.destroyed_by, "Archive Ltd");
        assert_eq!(ok.destroyed_on, today);
        let Err(PersonError::Invalid(v)) = PaperDestruction::parse("", "a\nb", "2026-12-08", today)
        else {
            panic!("accepted");
        };
        let fields: Vec<&str> = v.0.iter().map(|v| v.field).collect();
        assert_eq!(fields, ["destroyed_by", "reference", "destroyed_on"]);
        let long = "x".repeat(REFERENCE_AT_MOST + 1);
        assert!(PaperDestruction::parse("A", &long, "2026-12-01", today).is_err());
        assert!(PaperDestruction::parse("A", "B", "1 December", today).is_err());
    }
}
