//! Asking the policy about a person or a service: the permits the person use cases (and the record's
//! other parts) act under, with the person's service, carers and referral as context.

use confidant_policy::{Action, Actor, Context, Denied, Grant, Permit, Resource};
use uuid::Uuid;

use crate::audit::{AuditDraft, Purpose};
use crate::organisation::micros;
use crate::store::{ServiceConfig, Store, StoreError};
use crate::{Clock, Confidant};

use super::*;

/// What a change to a restricted record answers.
pub(crate) const RESTRICTED: &str = "Processing of this record is restricted: it is only stored until the Data Protection Officer lifts the restriction, and nothing in it can be changed or destroyed meanwhile.";

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Authorizes; a refusal is audited and answered as "not found". When the actor's role does not
    /// reach the person, a live grant they hold on the person (break the glass, a trustee's matter, a
    /// processor's referral) is offered to the policy as context; the permit then records it.
    ///
    /// A processor's referral or a trustee's matter is never offered here: a use case that may act
    /// under one projects what it reads and changes onto what the referral sent or the matter
    /// opens, and asks through [`Self::person_permit_referred`]. Every other use case refuses a
    /// processor's worker and a trustee.
    pub(crate) async fn person_permit(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        purpose: Purpose,
    ) -> Result<Permit, PersonError> {
        self.person_permit_with(actor, action, resource, purpose, false)
            .await
    }

    /// As [`Self::person_permit`], and a processor's live referral may ground the permit: only for
    /// use cases that keep to [`Self::referred_scope`] in what they answer and change.
    pub(crate) async fn person_permit_referred(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        purpose: Purpose,
    ) -> Result<Permit, PersonError> {
        self.person_permit_with(actor, action, resource, purpose, true)
            .await
    }

    async fn person_permit_with(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        purpose: Purpose,
        referral_projected: bool,
    ) -> Result<Permit, PersonError> {
        self.decide_on_person(actor, action, resource, purpose, referral_projected, true)
            .await
    }

    /// As [`Self::person_permit`], without refusing a change to a restricted record: for what the
    /// person decides themselves ([`Need::Decide`](crate::record::Need::Decide)).
    pub(crate) async fn person_permit_storing(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        purpose: Purpose,
    ) -> Result<Permit, PersonError> {
        self.decide_on_person(actor, action, resource, purpose, false, false)
            .await
    }

    async fn decide_on_person(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        purpose: Purpose,
        referral_projected: bool,
        honour_restriction: bool,
    ) -> Result<Permit, PersonError> {
        match self
            .try_person_permit(actor, action, resource, referral_projected)
            .await?
        {
            Ok(permit) if honour_restriction && self.restricted_for(action, resource).await? => {
                let audit = AuditDraft::refused_under(&permit, purpose, self.clock.now());
                self.store.record_access(audit).await?;
                Err(PersonError::Forbidden {
                    code: "restricted",
                    message: RESTRICTED,
                })
            }
            Ok(permit) => Ok(permit),
            Err(denied) => {
                let audit = AuditDraft::refused(&denied, purpose, self.clock.now());
                self.store.record_access(audit).await?;
                Err(PersonError::NotFound)
            }
        }
    }

    /// Whether a restriction of processing (Art. 18) in force on the person refuses `action`: the
    /// record is only stored meanwhile, so nothing of it is changed (`person.update`) or destroyed
    /// (`person.shred`). Reading it, holding it, logging a rights request about it and lifting
    /// the restriction go on; sharing is refused by the sharing rules.
    pub(crate) async fn restricted_for(
        &self,
        action: Action,
        resource: Resource,
    ) -> Result<bool, PersonError> {
        let Resource::Person { id, .. } = resource else {
            return Ok(false);
        };
        if !matches!(action, Action::PersonUpdate | Action::PersonShred) {
            return Ok(false);
        }
        self.processing_restricted(id).await
    }

    /// Whether a restriction of processing (Art. 18) is in force on the person.
    pub(crate) async fn processing_restricted(&self, person_id: Uuid) -> Result<bool, PersonError> {
        Ok(self
            .store
            .restrictions_of(&crate::access::PersonAccess::deciding(person_id))
            .await?
            .iter()
            .any(|r| {
                r.kind == crate::store::RestrictionKind::Restriction && r.lifted_at_micros.is_none()
            }))
    }

    /// The decision of [`Self::person_permit_with`], recorded nowhere.
    pub(crate) async fn try_person_permit(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        referral_projected: bool,
    ) -> Result<Result<Permit, Denied>, PersonError> {
        let denied = match self.authorizer.authorize(actor, action, resource) {
            Ok(permit) => return Ok(Ok(permit)),
            Err(denied) => denied,
        };
        if let (Actor::Staff(staff), Resource::Person { id, .. }) = (actor, resource) {
            let grants = self
                .store
                .live_grants(staff.user_id, id, micros(self.clock.now()))
                .await?;
            for grant in grants {
                // A processor's referral and a trustee's matter open parts of a record: only a
                // use case that keeps to the grant's scope may rest on them.
                if grant == Grant::ProcessorReferral
                    && (!referral_projected
                        || self.live_referrals(staff.user_id, id).await?.is_empty())
                {
                    continue;
                }
                if grant == Grant::TrusteeMatter && !referral_projected {
                    continue;
                }
                let context = Context { grant: Some(grant) };
                if let Ok(permit) = self
                    .authorizer
                    .authorize_in(actor, action, resource, context)
                {
                    return Ok(Ok(permit));
                }
            }
        }
        Ok(Err(denied))
    }

    /// The service as a resource; a missing one is audited and answered as "not found".
    pub(crate) async fn service_resource(
        &self,
        actor: &Actor,
        action: Action,
        service_id: Uuid,
        purpose: Purpose,
    ) -> Result<Resource, PersonError> {
        match self.store.service(service_id).await? {
            Some(s) => Ok(Resource::Service {
                id: s.id,
                organisation_id: s.organisation_id,
            }),
            None => {
                let audit = AuditDraft::missing(
                    actor,
                    action,
                    "service",
                    service_id,
                    purpose,
                    self.clock.now(),
                );
                self.store.record_access(audit).await?;
                Err(PersonError::NotFound)
            }
        }
    }

    pub(crate) async fn person_resource(
        &self,
        actor: &Actor,
        action: Action,
        person_id: Uuid,
        purpose: Purpose,
    ) -> Result<Resource, PersonError> {
        match self.store.placement(person_id).await? {
            Some(p) => Ok(p.resource()),
            None => Err(self.person_missing(actor, action, person_id, purpose).await),
        }
    }

    /// Records an attempt on a person who does not exist (or whose key was destroyed), and
    /// answers "not found" (or why it could not be recorded).
    pub(crate) async fn person_missing(
        &self,
        actor: &Actor,
        action: Action,
        person_id: Uuid,
        purpose: Purpose,
    ) -> PersonError {
        let audit = AuditDraft::missing(
            actor,
            action,
            "person",
            person_id,
            purpose,
            self.clock.now(),
        );
        match self.store.record_access(audit).await {
            Ok(()) => PersonError::NotFound,
            Err(e) => e.into(),
        }
    }

    /// A service's configuration, or what an unconfigured service does.
    pub async fn service_config(&self, service_id: Uuid) -> Result<ServiceConfig, StoreError> {
        Ok(self
            .store
            .service_config(service_id)
            .await?
            .unwrap_or_else(|| ServiceConfig::default_for(service_id)))
    }
}
