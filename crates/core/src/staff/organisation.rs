//! Organisations (data controllers), their services, and their staff with API tokens.
//!
//! Guarantees: names of organisations and services are checked (non-empty, bounded, no control
//! characters) before storage; an API token is shown once and stored only as its hash; a token
//! authenticates only while it is unexpired.

use confidant_policy::{AccessScope, Action, Actor, Resource, Role};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::person::{Violation, Violations};
use crate::store::{Organisation, Service, StaffRecord, Store, StoreError, Team};
use crate::{Clock, Confidant};

#[derive(Debug, thiserror::Error)]
pub enum OrganisationError {
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Invalid(Violations),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for OrganisationError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => OrganisationError::Conflict(what),
            other => OrganisationError::Store(other),
        }
    }
}

/// A short display name (organisation, service): 1–120 characters, no control characters, at least
/// one visible character.
fn display_name(field: &'static str, input: &str) -> Result<String, Violations> {
    let name = input.trim();
    let message = if name.is_empty() {
        Some("is required")
    } else if name.chars().count() > 120 {
        Some("is too long (at most 120 characters)")
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else if !crate::identifier::has_visible(name) {
        Some(crate::identifier::VISIBLE_REQUIRED)
    } else {
        None
    };
    match message {
        Some(m) => Err(Violations(vec![Violation::new(field, m)])),
        None => Ok(name.to_owned()),
    }
}

/// A staff sign-in handle: 3–64 of a-z, 0-9, '.', '-', '_'.
pub(crate) fn staff_handle(input: &str) -> Result<String, Violations> {
    let h = input.trim();
    let ok = (3..=64).contains(&h.len())
        && h.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(h.to_owned())
    } else {
        Err(Violations(vec![Violation::new(
            "handle",
            "must be 3 to 64 characters of a-z, 0-9, '.', '-' or '_'",
        )]))
    }
}

/// A secret shown once (an API token); never printed, wiped when dropped.
#[derive(Clone)]
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    pub(crate) fn new(text: zeroize::Zeroizing<String>) -> Self {
        Self(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    fn micros_now(&self) -> i64 {
        micros(self.clock.now())
    }

    pub async fn create_organisation(
        &self,
        actor: &Principal,
        name: &str,
    ) -> Result<Organisation, OrganisationError> {
        let name = display_name("name", name).map_err(OrganisationError::Invalid)?;
        let permit = self
            .authorizer
            .authorize(actor, Action::OrganisationCreate, Resource::Installation)
            .map_err(|_| OrganisationError::NotFound)?;
        let organisation = Organisation {
            id: Uuid::now_v7(),
            name,
            code: None,
            created_at_micros: self.micros_now(),
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now());
        self.store.create_organisation(&organisation, audit).await?;
        Ok(organisation)
    }

    pub async fn organisations(&self) -> Result<Vec<Organisation>, OrganisationError> {
        Ok(self.store.organisations().await?)
    }

    pub(crate) async fn organisation_resource(
        &self,
        id: Uuid,
    ) -> Result<Resource, OrganisationError> {
        self.store
            .organisation(id)
            .await?
            .map(|o| Resource::Organisation { id: o.id })
            .ok_or(OrganisationError::NotFound)
    }

    /// Why a change to what an organisation's register governs (its services and their
    /// configuration, recipients, processors, consent forms) is refused, when a register governs
    /// it: the register is the one source.
    pub(crate) async fn register_refusal(
        &self,
        organisation_id: Uuid,
    ) -> Result<Option<Violations>, StoreError> {
        let governed = self
            .store
            .organisation(organisation_id)
            .await?
            .is_some_and(|o| o.code.is_some());
        Ok(governed.then(|| {
            Violations(vec![Violation::new(
                "register",
                "comes from the organisation's register of processing activities: change the register and restart Confidant",
            )])
        }))
    }

    async fn outside_register(&self, organisation_id: Uuid) -> Result<(), OrganisationError> {
        match self.register_refusal(organisation_id).await? {
            Some(v) => Err(OrganisationError::Invalid(v)),
            None => Ok(()),
        }
    }

    pub async fn create_service(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        name: &str,
    ) -> Result<Service, OrganisationError> {
        let name = display_name("name", name).map_err(OrganisationError::Invalid)?;
        let resource = self.organisation_resource(organisation_id).await?;
        let permit = self.permit(actor, Action::ServiceCreate, resource).await?;
        self.outside_register(organisation_id).await?;
        let service = Service {
            id: Uuid::now_v7(),
            organisation_id,
            name,
            code: None,
            created_at_micros: self.micros_now(),
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now());
        self.store.create_service(&service, audit).await?;
        Ok(service)
    }

    /// Renames a service: the operator's way to make Confidant's name the register's, when
    /// start-up stops on a service named differently in the two (the service's id and register
    /// code stay, so nothing else changes).
    pub async fn rename_service(
        &self,
        actor: &Principal,
        service_id: Uuid,
        name: &str,
    ) -> Result<Service, OrganisationError> {
        let name = display_name("name", name).map_err(OrganisationError::Invalid)?;
        let service = self
            .store
            .service(service_id)
            .await?
            .ok_or(OrganisationError::NotFound)?;
        let resource = self.organisation_resource(service.organisation_id).await?;
        let permit = self.permit(actor, Action::ServiceCreate, resource).await?;
        let taken = self
            .store
            .services(service.organisation_id)
            .await?
            .iter()
            .any(|s| s.id != service_id && s.name == name);
        if taken {
            return Err(OrganisationError::Conflict(
                "another service of the organisation has that name",
            ));
        }
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("service.rename");
        if !self.store.rename_service(service_id, &name, audit).await? {
            return Err(OrganisationError::NotFound);
        }
        Ok(Service { name, ..service })
    }

    pub async fn services(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<Vec<Service>, OrganisationError> {
        let resource = self.organisation_resource(organisation_id).await?;
        self.permit(actor, Action::ServiceRead, resource).await?;
        Ok(self.store.services(organisation_id).await?)
    }

    /// Adds a member of staff. Their service, if given, must belong to the organisation.
    pub async fn create_staff(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        service_id: Option<Uuid>,
        role: Role,
        handle: &str,
    ) -> Result<StaffRecord, OrganisationError> {
        let handle = staff_handle(handle).map_err(OrganisationError::Invalid)?;
        let resource = self.organisation_resource(organisation_id).await?;
        let permit = self.permit(actor, Action::StaffCreate, resource).await?;
        if let Some(sid) = service_id {
            match self.store.service(sid).await? {
                Some(s) if s.organisation_id == organisation_id => {}
                _ => {
                    return Err(OrganisationError::Invalid(Violations(vec![
                        Violation::new("service_id", "is not a service of this organisation"),
                    ])));
                }
            }
        }
        let staff = StaffRecord {
            id: Uuid::now_v7(),
            organisation_id,
            service_id,
            team_id: None,
            role,
            handle,
            display_name: None,
            job_title: None,
            created_at_micros: self.micros_now(),
            disabled_at_micros: None,
        };
        self.insert_staff(&permit, staff).await
    }

    /// Stores a new account, audited under `permit`.
    pub(crate) async fn insert_staff(
        &self,
        permit: &confidant_policy::Permit,
        staff: StaffRecord,
    ) -> Result<StaffRecord, OrganisationError> {
        let audit = AuditDraft::permitted(permit, Purpose::Administration, self.clock.now());
        self.store.create_staff(&staff, audit).await?;
        Ok(staff)
    }

    /// The staff of an organisation, disabled ones included.
    pub async fn staff_of(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<Vec<StaffRecord>, OrganisationError> {
        let resource = self.organisation_resource(organisation_id).await?;
        self.permit(actor, Action::StaffRead, resource).await?;
        Ok(self.store.staff_of(organisation_id).await?)
    }

    /// One member of staff, if the actor may see the organisation's staff.
    pub async fn staff_member(
        &self,
        actor: &Principal,
        staff_id: Uuid,
    ) -> Result<StaffRecord, OrganisationError> {
        let staff = self.staff_record(staff_id).await?;
        self.permit(
            actor,
            Action::StaffRead,
            crate::account::staff_resource(&staff),
        )
        .await?;
        Ok(staff)
    }

    /// The actor's own account (`None` for the operator): anyone may see their own.
    pub async fn own_account(
        &self,
        actor: &Principal,
    ) -> Result<Option<StaffRecord>, OrganisationError> {
        match actor.actor() {
            Actor::Staff(me) => Ok(self.store.staff(me.user_id).await?),
            Actor::System => Ok(None),
        }
    }

    /// How the actor's colleagues are named, by id (their display name, else their handle), to
    /// show who did what. Staff names are not personal data of the people supported; no permit is
    /// needed beyond being staff.
    pub async fn colleague_names(
        &self,
        actor: &Principal,
    ) -> Result<std::collections::HashMap<Uuid, String>, OrganisationError> {
        let Actor::Staff(me) = actor.actor() else {
            return Ok(Default::default());
        };
        Ok(self
            .store
            .staff_of(me.organisation_id)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name().to_owned()))
            .collect())
    }

    /// Adds a team to a service.
    pub async fn create_team(
        &self,
        actor: &Principal,
        service_id: Uuid,
        name: &str,
    ) -> Result<Team, OrganisationError> {
        let name = display_name("name", name).map_err(OrganisationError::Invalid)?;
        let service = self
            .store
            .service(service_id)
            .await?
            .ok_or(OrganisationError::NotFound)?;
        let resource = self.organisation_resource(service.organisation_id).await?;
        let permit = self.permit(actor, Action::ServiceCreate, resource).await?;
        let team = Team {
            id: Uuid::now_v7(),
            service_id,
            name,
            created_at_micros: self.micros_now(),
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("team.create");
        self.store.create_team(&team, audit).await?;
        Ok(team)
    }

    pub async fn teams(&self, service_id: Uuid) -> Result<Vec<Team>, OrganisationError> {
        Ok(self.store.teams(service_id).await?)
    }

    /// Sets how far a service's staff see: the whole service, their team, or their caseload.
    pub async fn set_service_scope(
        &self,
        actor: &Principal,
        service_id: Uuid,
        scope: AccessScope,
    ) -> Result<(), OrganisationError> {
        let service = self
            .store
            .service(service_id)
            .await?
            .ok_or(OrganisationError::NotFound)?;
        let resource = self.organisation_resource(service.organisation_id).await?;
        let permit = self.permit(actor, Action::ServiceCreate, resource).await?;
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("service.set_scope");
        Ok(self
            .store
            .set_service_scope(service_id, scope, audit)
            .await?)
    }

    /// A service with how far its staff see, for those who may see the service (its
    /// organisation's staff).
    pub async fn service_with_scope(
        &self,
        actor: &Principal,
        service_id: Uuid,
    ) -> Result<(Service, AccessScope), OrganisationError> {
        let service = self.readable_service(actor, service_id).await?;
        let scope = self
            .store
            .service_scope(service.id)
            .await?
            .unwrap_or(AccessScope::Service);
        Ok((service, scope))
    }

    /// A service's configuration, for those who may see the service (its organisation's staff).
    pub async fn service_configuration(
        &self,
        actor: &Principal,
        service_id: Uuid,
    ) -> Result<crate::store::ServiceConfig, OrganisationError> {
        self.readable_service(actor, service_id).await?;
        Ok(self.service_config(service_id).await?)
    }

    /// A service, if the actor may see it (`service.read`); a refusal is audited and answers as
    /// a missing service does.
    async fn readable_service(
        &self,
        actor: &Principal,
        service_id: Uuid,
    ) -> Result<Service, OrganisationError> {
        let service = self
            .store
            .service(service_id)
            .await?
            .ok_or(OrganisationError::NotFound)?;
        self.permit(
            actor,
            Action::ServiceRead,
            Resource::Service {
                id: service.id,
                organisation_id: service.organisation_id,
            },
        )
        .await?;
        Ok(service)
    }

    /// Sets what a service's record collects (its field groups) and whom it takes referrals from.
    pub async fn configure_service(
        &self,
        actor: &Principal,
        config: &crate::store::ServiceConfig,
    ) -> Result<(), OrganisationError> {
        let service = self
            .store
            .service(config.service_id)
            .await?
            .ok_or(OrganisationError::NotFound)?;
        if let Some(partner) = config.partner_service_id {
            let same_org = self.store.service(partner).await?.is_some_and(|p| {
                p.organisation_id == service.organisation_id && p.id != service.id
            });
            if !same_org {
                return Err(OrganisationError::Invalid(Violations(vec![
                    Violation::new(
                        "partner_service_id",
                        "must be another service of the same organisation",
                    ),
                ])));
            }
        }
        if (config.referrals == crate::store::ReferralPolicy::PartnerOnly)
            != config.partner_service_id.is_some()
        {
            return Err(OrganisationError::Invalid(Violations(vec![
                Violation::new(
                    "partner_service_id",
                    "name a partner service exactly when referrals come only from a partner",
                ),
            ])));
        }
        let resource = self.organisation_resource(service.organisation_id).await?;
        let permit = self.permit(actor, Action::ServiceCreate, resource).await?;
        self.outside_register(service.organisation_id).await?;
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("service.configure");
        Ok(self.store.set_service_config(config, audit).await?)
    }

    /// Puts a member of staff in a team of their own service (or none), as their role allows
    /// (`staff.details`: administrators and the Data Protection Officer).
    pub async fn set_staff_team(
        &self,
        actor: &Principal,
        staff_id: Uuid,
        team_id: Option<Uuid>,
    ) -> Result<(), OrganisationError> {
        let staff = self.staff_record(staff_id).await?;
        let permit = self
            .permit(
                actor,
                Action::StaffDetails,
                crate::account::staff_resource(&staff),
            )
            .await?;
        let mut violations = Vec::new();
        self.check_team(&staff, team_id, &mut violations).await?;
        if !violations.is_empty() {
            return Err(OrganisationError::Invalid(Violations(violations)));
        }
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("staff.set_team");
        Ok(self.store.set_staff_team(staff.id, team_id, audit).await?)
    }

    pub async fn staff_by_handle(
        &self,
        handle: &str,
    ) -> Result<Option<StaffRecord>, OrganisationError> {
        Ok(self.store.staff_by_handle(handle).await?)
    }

    /// Whether the policy would allow it, to decide which actions a page offers. Not a decision on
    /// anything (nothing is recorded); the action itself is decided and audited when it is taken.
    pub fn allows(&self, actor: &Principal, action: Action, resource: Resource) -> bool {
        self.authorizer.authorize(actor, action, resource).is_ok()
    }

    /// Asks the policy whether `actor` may do `action` on `resource`, for pages that offer an action
    /// before it is taken; a refusal is audited like any other.
    pub async fn may(
        &self,
        actor: &Principal,
        action: Action,
        resource: Resource,
    ) -> Result<bool, StoreError> {
        match self.authorizer.authorize(actor, action, resource) {
            Ok(_) => Ok(true),
            Err(denied) => {
                let audit = AuditDraft::refused(&denied, Purpose::Administration, self.clock.now());
                self.store.record_access(audit).await?;
                Ok(false)
            }
        }
    }

    /// Authorizes, auditing a refusal; a refusal answers as "not found".
    pub(crate) async fn permit(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
    ) -> Result<confidant_policy::Permit, OrganisationError> {
        match self.authorizer.authorize(actor, action, resource) {
            Ok(p) => Ok(p),
            Err(denied) => {
                let audit = AuditDraft::refused(&denied, Purpose::Administration, self.clock.now());
                self.store.record_access(audit).await?;
                Err(OrganisationError::NotFound)
            }
        }
    }
}

/// UTC microseconds since the Unix epoch: the stored time precision.
pub fn micros(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}
