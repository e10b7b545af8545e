//! Cases: opened one per service at a time, closed once with a reason, listed for a person.

use confidant_policy::{Action, Resource};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::organisation::micros;
use crate::person::PersonError;
use crate::person::access_of;
use crate::store::{CaseRecord, ChangeStamp, ClosureReason, ReopenReason, Store};
use crate::{Clock, Confidant};

use super::*;

impl<S: Store, C: Clock> Confidant<S, C> {
    // --- cases ---

    /// Opens a case for a person in their service, with a key worker of that service (optional).
    pub async fn open_case(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        key_worker_id: Option<Uuid>,
    ) -> Result<Case, PersonError> {
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        self.check_key_worker(service_id, key_worker_id).await?;
        let now = self.clock.now();
        let case = CaseRecord {
            id: Uuid::now_v7(),
            person_id,
            service_id,
            key_worker_id,
            opened_at_micros: micros(now),
            opened_by: actor.audit_id(),
            closed_at_micros: None,
            closed_by: None,
            closure_reason: None,
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("case.open");
        self.store.open_case(&case, audit).await?;
        Ok(case.into())
    }

    pub(crate) async fn check_key_worker(
        &self,
        service_id: Uuid,
        key_worker_id: Option<Uuid>,
    ) -> Result<(), PersonError> {
        if let Some(k) = key_worker_id
            && self
                .store
                .staff(k)
                .await?
                .filter(|s| s.disabled_at_micros.is_none())
                .and_then(|s| s.service_id)
                != Some(service_id)
        {
            return Err(invalid(
                "key_worker_id",
                "is not a member of staff of the person's service",
            ));
        }
        Ok(())
    }

    /// Closes an open case with its reason; the closing date starts the retention clock.
    pub async fn close_case(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        case_id: Uuid,
        reason: ClosureReason,
    ) -> Result<Case, PersonError> {
        let (permit, case) = self
            .case_to_change(actor, purpose, person_id, case_id)
            .await?;
        if case.closed_at_micros.is_some() {
            return Err(PersonError::Conflict("the case is already closed"));
        }
        let now = self.clock.now();
        let stamp = ChangeStamp {
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("case.close");
        if !self
            .store
            .close_case(case_id, reason, &stamp, audit)
            .await?
        {
            return Err(PersonError::Conflict("the case is already closed"));
        }
        Ok(Case {
            closed_at: Some(now),
            closure_reason: Some(reason),
            ..case.into()
        })
    }

    /// Opens a closed case again, for a reason; its closing is kept in the case's history. Refused
    /// as a conflict if it is open, or the person has another case open in the service.
    pub async fn reopen_case(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        case_id: Uuid,
        reason: ReopenReason,
    ) -> Result<Case, PersonError> {
        let (permit, case) = self
            .case_to_change(actor, purpose, person_id, case_id)
            .await?;
        if case.closed_at_micros.is_none() {
            return Err(PersonError::Conflict("the case is open"));
        }
        let now = self.clock.now();
        let stamp = ChangeStamp {
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("case.reopen");
        if !self
            .store
            .reopen_case(case_id, &access_of(&permit)?, reason, &stamp, audit)
            .await?
        {
            return Err(PersonError::Conflict("the case is open"));
        }
        Ok(Case {
            closed_at: None,
            closure_reason: None,
            reopenings: self.store.case_reopenings(case_id).await?,
            ..case.into()
        })
    }

    /// A case of the person, with the permit to change their record (`person.update`); a case of
    /// someone else answers as a missing one.
    async fn case_to_change(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        case_id: Uuid,
    ) -> Result<(confidant_policy::Permit, CaseRecord), PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let case = self
            .store
            .case(case_id)
            .await?
            .filter(|c| c.person_id == person_id)
            .ok_or(PersonError::NotFound)?;
        Ok((permit, case))
    }

    /// A person's cases, newest first.
    pub async fn cases(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<Case>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("case.read");
        let mut cases = Vec::new();
        for record in self.store.cases_of(&access_of(&permit)?, audit).await? {
            let id = record.id;
            cases.push(Case {
                reopenings: self.store.case_reopenings(id).await?,
                ..record.into()
            });
        }
        Ok(cases)
    }
}
