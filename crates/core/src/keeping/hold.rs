//! Legal holds: placed, released, listed.

use confidant_policy::{Action, Resource};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::organisation::micros;
use crate::person::{PersonError, Violation, Violations, access_of, from_micros};
use crate::record::{invalid, open_value, seal_values};
use crate::sharing::reason_text;
use crate::store::{HoldRecord, LegalHoldKind, Store};
use crate::{Clock, Confidant};

/// A legal hold with its reasons opened.
#[derive(Clone, PartialEq, Eq)]
pub struct Hold {
    pub record: HoldRecord,
    pub reason: String,
    pub release_reason: Option<String>,
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Hold({}, {}, [redacted])",
            self.record.id,
            self.record.kind.code()
        )
    }
}

impl Hold {
    pub fn placed_at(&self) -> OffsetDateTime {
        from_micros(self.record.placed_at_micros)
    }

    pub fn released_at(&self) -> Option<OffsetDateTime> {
        self.record.released_at_micros.map(from_micros)
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Places a legal hold on a person's record, or on one of its cases (`hold.place`).
    pub async fn place_hold(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        kind: &str,
        case_id: Option<Uuid>,
        reason: &str,
    ) -> Result<HoldRecord, PersonError> {
        let (permit, resource) = self
            .permit_on_person(actor, Action::HoldPlace, person_id, purpose)
            .await?;
        let (kind, reason) = super::code_and_reason::<LegalHoldKind>(
            "kind",
            kind,
            "is not a kind of legal hold",
            reason,
        )?;
        if let Some(case_id) = case_id {
            let audit =
                AuditDraft::permitted(&permit, purpose, self.clock.now()).named("case.read");
            let cases = self.store.cases_of(&access_of(&permit)?, audit).await?;
            if !cases.iter().any(|c| c.id == case_id) {
                return Err(invalid("case_id", "is not a case of this record"));
            }
        }
        let Resource::Person {
            service_id,
            organisation_id,
            ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let (key, wrapped) = self.person_key(&permit).await?;
        let now = self.clock.now();
        let record = HoldRecord {
            id: Uuid::now_v7(),
            organisation_id,
            service_id,
            person_id,
            case_id,
            kind,
            key_version: wrapped.version,
            placed_by: actor.audit_id(),
            placed_at_micros: micros(now),
            released_by: None,
            released_at_micros: None,
        };
        let sealed = seal_values(
            &key,
            record.id,
            record.key_version,
            [("reason", reason.as_str())],
        );
        let audit = AuditDraft::permitted(&permit, purpose, now).named("hold.place");
        self.store.place_hold(&record, &sealed, audit).await?;
        Ok(record)
    }

    /// Releases a live legal hold, with a reason (`hold.release`: the Data Protection Officer).
    pub async fn release_hold(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        hold_id: Uuid,
        reason: &str,
    ) -> Result<(), PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::HoldRelease, person_id, purpose)
            .await?;
        let reason = reason_text("reason", Some(reason))
            .and_then(|r| r.ok_or_else(|| Violation::new("reason", "is required")))
            .map_err(|e| PersonError::Invalid(Violations(vec![e])))?;
        let access = access_of(&permit)?;
        let holds = self.store.holds_of(&access).await?;
        let Some((hold, _)) = holds.iter().find(|(h, _)| h.id == hold_id) else {
            return Err(PersonError::NotFound);
        };
        if !hold.live() {
            return Err(PersonError::Conflict("that hold has already been released"));
        }
        // The release's reason is sealed under the key the hold's own reason is sealed under (a
        // hold moved by a merge was sealed again under the survivor's).
        let (key, wrapped) = self.person_key(&permit).await?;
        if wrapped.version != hold.key_version {
            return Err(PersonError::Conflict("the record's key changed; try again"));
        }
        let sealed = seal_values(
            &key,
            hold.id,
            hold.key_version,
            [("release_reason", reason.as_str())],
        );
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, purpose, now).named("hold.release");
        if self
            .store
            .release_hold(
                &access,
                hold_id,
                &actor.audit_id(),
                micros(now),
                &sealed,
                audit,
            )
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::Conflict("that hold has already been released"))
        }
    }

    /// The person's legal holds, live and released, with their reasons (`hold.place`: those who
    /// may place one see them). Audited as a read.
    pub async fn holds(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<Hold>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::HoldPlace, person_id, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("hold.read");
        self.store.record_access(audit).await?;
        let (key, _) = self.person_key(&permit).await?;
        let mut out = Vec::new();
        for (record, sealed) in self.store.holds_of(&access_of(&permit)?).await? {
            let open = |code: &str| {
                sealed
                    .iter()
                    .find(|(c, _)| c == code)
                    .map(|(c, v)| open_value(&key, record.id, record.key_version, c, v))
                    .transpose()
            };
            let reason = open("reason")?.unwrap_or_default();
            let release_reason = open("release_reason")?;
            out.push(Hold {
                record,
                reason,
                release_reason,
            });
        }
        Ok(out)
    }
}
