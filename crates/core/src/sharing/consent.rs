//! Consent purposes, consent decisions, and restrictions and objections.

use super::*;
use crate::access::Principal;

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Adds a purpose to a service's consent form.
    #[expect(
        clippy::too_many_arguments,
        reason = "one line of a consent form has this many parts"
    )]
    pub async fn add_consent_purpose(
        &self,
        actor: &Principal,
        service_id: Uuid,
        code_text: &str,
        label: &str,
        recipient_id: Option<Uuid>,
        explicit: bool,
        form_version: &str,
    ) -> Result<ConsentPurposeRecord, PersonError> {
        let service = self
            .store
            .service(service_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let resource = self.register_resource(service.organisation_id);
        let permit = self
            .person_permit(
                actor,
                Action::RecipientManage,
                resource,
                Purpose::Administration,
            )
            .await?;
        self.not_governed(service.organisation_id).await?;
        let mut v = Vec::new();
        let code_text = code_text.trim();
        if code_text.is_empty()
            || code_text.len() > 40
            || !code_text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            v.push(Violation::new(
                "code",
                "use 1 to 40 lower-case letters, digits and underscores",
            ));
        }
        let label = collect(&mut v, text("label", Some(label), true)).flatten();
        let version = collect(&mut v, text("form_version", Some(form_version), true)).flatten();
        if let Some(r) = recipient_id {
            let ours = self
                .store
                .recipient(r)
                .await?
                .is_some_and(|r| r.organisation_id == service.organisation_id);
            if !ours {
                v.push(Violation::new("recipient_id", "is not in the register"));
            }
        }
        let (Some(label), Some(form_version)) = (label, version) else {
            return Err(PersonError::Invalid(Violations(v)));
        };
        if !v.is_empty() {
            return Err(PersonError::Invalid(Violations(v)));
        }
        let now = self.clock.now();
        let record = ConsentPurposeRecord {
            id: Uuid::now_v7(),
            service_id,
            code: code_text.to_owned(),
            label,
            recipient_ids: recipient_id.into_iter().collect(),
            explicit,
            form_version,
            created_at_micros: micros(now),
            retired_at_micros: None,
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
            .named("consent_purpose.create");
        self.store.save_consent_purpose(&record, audit).await?;
        Ok(record)
    }

    /// A service's consent purposes: its consent form.
    pub async fn consent_form(
        &self,
        actor: &Principal,
        service_id: Uuid,
    ) -> Result<Vec<ConsentPurposeRecord>, PersonError> {
        let service = self
            .store
            .service(service_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let resource = Resource::Service {
            id: service.id,
            organisation_id: service.organisation_id,
        };
        self.person_permit(
            actor,
            Action::ServiceRead,
            resource,
            Purpose::Administration,
        )
        .await?;
        let mut form = self.store.consent_purposes(service_id).await?;
        form.retain(|p| p.retired_at_micros.is_none());
        Ok(form)
    }

    /// Records a consent decision (granted, refused, withdrawn) on one purpose of the person's
    /// service's form. The history is append-only; the latest decision holds from now on.
    pub async fn record_consent(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        purpose_id: Uuid,
        state: &str,
        expires_on: Option<&str>,
    ) -> Result<ConsentRecord, PersonError> {
        // The person's own decision: recorded while processing is restricted too.
        let (permit, resource) = self
            .permit_on_person_storing(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        let mut v = Vec::new();
        let state = collect(&mut v, code("state", Some(state), ConsentState::from_code)).flatten();
        if state.is_none() && v.is_empty() {
            v.push(Violation::new("state", "is required"));
        }
        let expires = collect(&mut v, parse_date("expires_on", expires_on)).flatten();
        let now = self.clock.now();
        if expires.is_some_and(|e| e <= micros(now)) {
            v.push(Violation::new("expires_on", "must be in the future"));
        }
        let form = self.store.consent_purposes(service_id).await?;
        let Some(line) = form
            .into_iter()
            .find(|p| p.id == purpose_id && p.retired_at_micros.is_none())
        else {
            v.push(Violation::new(
                "purpose_id",
                "is not on this service's consent form",
            ));
            return Err(PersonError::Invalid(Violations(v)));
        };
        let Some(state) = state.filter(|_| v.is_empty()) else {
            return Err(PersonError::Invalid(Violations(v)));
        };
        let record = ConsentRecord {
            id: Uuid::now_v7(),
            person_id,
            purpose_id,
            state,
            form_version: line.form_version,
            recorded_by: actor.audit_id(),
            recorded_at_micros: micros(now),
            expires_at_micros: expires.filter(|_| state == ConsentState::Granted),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named(match state {
            ConsentState::Granted => "consent.grant",
            ConsentState::Refused => "consent.refuse",
            ConsentState::Withdrawn => "consent.withdraw",
        });
        self.store.add_consent(&record, audit).await?;
        Ok(record)
    }

    /// The person's consents, their history and any restriction.
    pub async fn consents(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<ConsentOverview, PersonError> {
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, purpose, now).named("consent.read");
        self.store.record_access(audit).await?;
        let history = self.store.consents_of(&access_of(&permit)?).await?;
        let lines = self
            .store
            .consent_purposes(service_id)
            .await?
            .into_iter()
            .map(|p| {
                let current = history.iter().rfind(|c| c.purpose_id == p.id).cloned();
                let live = current
                    .as_ref()
                    .is_some_and(|c| is_live(c, &p, micros(now)));
                ConsentLine {
                    purpose: p,
                    current,
                    live,
                }
            })
            .collect();
        Ok(ConsentOverview {
            lines,
            history,
            restrictions: self.store.restrictions_of(&access_of(&permit)?).await?,
        })
    }

    /// Records a restriction of processing or an upheld objection (`person.restrict`).
    pub async fn restrict(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        kind: &str,
    ) -> Result<RestrictionRecord, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRestrict, person_id, purpose)
            .await?;
        let kind = RestrictionKind::from_code(kind.trim())
            .ok_or_else(|| invalid("kind", "is not restriction or objection"))?;
        if self
            .store
            .restrictions_of(&access_of(&permit)?)
            .await?
            .iter()
            .any(|r| r.kind == kind && r.lifted_at_micros.is_none())
        {
            return Err(PersonError::Conflict("that is already in force"));
        }
        let now = self.clock.now();
        let record = RestrictionRecord {
            id: Uuid::now_v7(),
            person_id,
            kind,
            recorded_by: actor.audit_id(),
            started_at_micros: micros(now),
            lifted_at_micros: None,
            lifted_by: None,
        };
        // Art. 19 asks recipients to be told of a restriction (not of an upheld objection).
        let to_tell = match kind {
            RestrictionKind::Restriction => self.tasks_to_tell(&permit, purpose, &[]).await?,
            RestrictionKind::Objection => Vec::new(),
        };
        let mut audit = AuditDraft::permitted(&permit, purpose, now).named(match kind {
            RestrictionKind::Restriction => "restriction.start",
            RestrictionKind::Objection => "objection.uphold",
        });
        for task in to_tell {
            audit = audit.opens(task);
        }
        self.store.add_restriction(&record, audit).await?;
        Ok(record)
    }

    /// Lifts a restriction or objection.
    pub async fn lift_restriction(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        restriction_id: Uuid,
    ) -> Result<(), PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRestrict, person_id, purpose)
            .await?;
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, purpose, now).named("restriction.lift");
        if self
            .store
            .lift_restriction(
                restriction_id,
                &access_of(&permit)?,
                &actor.audit_id(),
                micros(now),
                audit,
            )
            .await?
        {
            return Ok(());
        }
        // Nothing lifted: lifted already (by a racing caller, say) is a conflict; no such
        // restriction of this person is "not found".
        if self
            .store
            .restrictions_of(&access_of(&permit)?)
            .await?
            .iter()
            .any(|r| r.id == restriction_id)
        {
            Err(PersonError::Conflict("that has already been lifted"))
        } else {
            Err(PersonError::NotFound)
        }
    }
}
