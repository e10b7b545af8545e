//! Authorization: the only place a [`Permit`] is minted.
//!
//! Guarantees:
//! - A `Permit` cannot be built outside this crate (its fields are private and it has no public
//!   constructor), so holding one proves that [`Authorizer::authorize`] allowed exactly that actor, action
//!   and resource. Core services accept no other proof.
//! - Every refusal is a [`Denied`] value that names the actor, action and resource, so it can be audited.
//!
//! The rule here is deliberately simple (need-to-know by service, administrators see no record content);
//! the access-control issue replaces it with Cedar policies behind the same `authorize` call.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A staff role. The codes are stable: they are stored and written to the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Practitioner,
    TeamManager,
    ServiceManager,
    DataProtectionOfficer,
    CaldicottGuardian,
    Administrator,
    ProcessorStaff,
    Trustee,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Practitioner,
        Role::TeamManager,
        Role::ServiceManager,
        Role::DataProtectionOfficer,
        Role::CaldicottGuardian,
        Role::Administrator,
        Role::ProcessorStaff,
        Role::Trustee,
        Role::Auditor,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Practitioner => "practitioner",
            Role::TeamManager => "team_manager",
            Role::ServiceManager => "service_manager",
            Role::DataProtectionOfficer => "data_protection_officer",
            Role::CaldicottGuardian => "caldicott_guardian",
            Role::Administrator => "administrator",
            Role::ProcessorStaff => "processor_staff",
            Role::Trustee => "trustee",
            Role::Auditor => "auditor",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Roles that work with the people of their own service day to day.
    fn works_in_service(self) -> bool {
        matches!(
            self,
            Role::Practitioner | Role::TeamManager | Role::ServiceManager
        )
    }
}

/// Who is acting. `System` is the operator at the command line (initialising, rotating keys); it runs
/// the installation and is never given record content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Staff(StaffActor),
    System,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffActor {
    pub user_id: Uuid,
    pub organisation_id: Uuid,
    /// The service the user works in; `None` for organisation-wide roles.
    pub service_id: Option<Uuid>,
    pub role: Role,
}

impl Actor {
    /// The id written to the audit log: a user id, or `system`.
    pub fn audit_id(&self) -> String {
        match self {
            Actor::Staff(s) => s.user_id.to_string(),
            Actor::System => "system".to_owned(),
        }
    }
}

/// What the actor wants to do. Codes are stable and appear in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    OrganisationCreate,
    ServiceCreate,
    ServiceRead,
    StaffCreate,
    PersonCreate,
    PersonRead,
    PersonUpdate,
    PersonList,
    PersonFind,
    /// Destroys a person's data key: every sealed value of theirs becomes unreadable.
    PersonShred,
    KeysRotate,
    /// Reads the audit chain's head to keep it elsewhere as a checkpoint.
    AuditCheckpoint,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::OrganisationCreate => "organisation.create",
            Action::ServiceCreate => "service.create",
            Action::ServiceRead => "service.read",
            Action::StaffCreate => "staff.create",
            Action::PersonCreate => "person.create",
            Action::PersonRead => "person.read",
            Action::PersonUpdate => "person.update",
            Action::PersonList => "person.list",
            Action::PersonFind => "person.find",
            Action::PersonShred => "person.shred",
            Action::KeysRotate => "keys.rotate",
            Action::AuditCheckpoint => "audit.checkpoint",
        }
    }
}

/// What the action is on, with the attributes the rule needs (ids only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Installation,
    Organisation {
        id: Uuid,
    },
    Service {
        id: Uuid,
        organisation_id: Uuid,
    },
    Person {
        id: Uuid,
        service_id: Uuid,
        organisation_id: Uuid,
    },
}

impl Resource {
    pub fn type_code(&self) -> &'static str {
        match self {
            Resource::Installation => "installation",
            Resource::Organisation { .. } => "organisation",
            Resource::Service { .. } => "service",
            Resource::Person { .. } => "person",
        }
    }

    pub fn id(&self) -> Option<Uuid> {
        match *self {
            Resource::Installation => None,
            Resource::Organisation { id }
            | Resource::Service { id, .. }
            | Resource::Person { id, .. } => Some(id),
        }
    }

    /// The person the resource is about, if any (the audit log's subject).
    pub fn subject(&self) -> Option<Uuid> {
        match *self {
            Resource::Person { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// Proof that `actor` may do `action` on `resource`. Only [`Authorizer::authorize`] makes one.
#[derive(Debug, Clone)]
pub struct Permit {
    actor: Actor,
    action: Action,
    resource: Resource,
}

impl Permit {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    pub fn action(&self) -> Action {
        self.action
    }
    pub fn resource(&self) -> &Resource {
        &self.resource
    }
    /// True when this permit is for exactly this action on exactly this resource.
    pub fn covers(&self, action: Action, resource: &Resource) -> bool {
        self.action == action && &self.resource == resource
    }
}

/// A refusal, kept so it can be audited.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} may not {} this {}", actor.audit_id(), action.code(), resource.type_code())]
pub struct Denied {
    pub actor: Actor,
    pub action: Action,
    pub resource: Resource,
}

/// Decides. Stateless for now; the Cedar policy set will live here.
#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    _private: (),
}

impl Authorizer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn authorize(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
    ) -> Result<Permit, Denied> {
        if allowed(actor, action, &resource) {
            Ok(Permit {
                actor: actor.clone(),
                action,
                resource,
            })
        } else {
            Err(Denied {
                actor: actor.clone(),
                action,
                resource,
            })
        }
    }
}

fn allowed(actor: &Actor, action: Action, resource: &Resource) -> bool {
    use Action::*;
    match (actor, action, resource) {
        // The operator sets the installation up and keeps its keys; never reads records.
        (
            Actor::System,
            OrganisationCreate | KeysRotate | AuditCheckpoint,
            Resource::Installation,
        ) => true,
        (
            Actor::System,
            ServiceCreate | ServiceRead | StaffCreate,
            Resource::Organisation { .. },
        )
        | (Actor::System, ServiceRead, Resource::Service { .. }) => true,
        (Actor::System, _, _) => false,

        (Actor::Staff(s), AuditCheckpoint, Resource::Installation) => {
            matches!(s.role, Role::Auditor | Role::DataProtectionOfficer)
        }
        (Actor::Staff(s), ServiceCreate | StaffCreate, Resource::Organisation { id }) => {
            s.role == Role::Administrator && s.organisation_id == *id
        }
        (
            Actor::Staff(s),
            ServiceRead,
            Resource::Service {
                organisation_id, ..
            },
        ) => s.organisation_id == *organisation_id,
        (Actor::Staff(s), ServiceRead, Resource::Organisation { id }) => s.organisation_id == *id,
        (
            Actor::Staff(s),
            PersonCreate | PersonList | PersonFind,
            Resource::Service {
                id,
                organisation_id,
            },
        ) => {
            s.role.works_in_service()
                && s.organisation_id == *organisation_id
                && s.service_id == Some(*id)
        }
        (
            Actor::Staff(s),
            PersonRead | PersonUpdate,
            Resource::Person {
                service_id,
                organisation_id,
                ..
            },
        ) => {
            s.role.works_in_service()
                && s.organisation_id == *organisation_id
                && s.service_id == Some(*service_id)
        }
        // Erasure is a decision for the organisation's Data Protection Officer.
        (
            Actor::Staff(s),
            PersonShred,
            Resource::Person {
                organisation_id, ..
            },
        ) => s.role == Role::DataProtectionOfficer && s.organisation_id == *organisation_id,
        (Actor::Staff(_), _, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: Role, org: Uuid, service: Option<Uuid>) -> Actor {
        Actor::Staff(StaffActor {
            user_id: Uuid::new_v4(),
            organisation_id: org,
            service_id: service,
            role,
        })
    }

    #[test]
    fn a_practitioner_reads_people_of_their_own_service_only() {
        let (org, svc, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let az = Authorizer::new();
        let me = staff(Role::Practitioner, org, Some(svc));
        let mine = Resource::Person {
            id: Uuid::new_v4(),
            service_id: svc,
            organisation_id: org,
        };
        let theirs = Resource::Person {
            id: Uuid::new_v4(),
            service_id: other,
            organisation_id: org,
        };
        let permit = az
            .authorize(&me, Action::PersonRead, mine)
            .expect("allowed");
        assert!(permit.covers(Action::PersonRead, &mine));
        assert!(!permit.covers(Action::PersonUpdate, &mine));
        assert!(az.authorize(&me, Action::PersonRead, theirs).is_err());
    }

    #[test]
    fn administrators_auditors_and_the_system_see_no_record_content() {
        let (org, svc) = (Uuid::new_v4(), Uuid::new_v4());
        let person = Resource::Person {
            id: Uuid::new_v4(),
            service_id: svc,
            organisation_id: org,
        };
        let az = Authorizer::new();
        for actor in [
            staff(Role::Administrator, org, Some(svc)),
            staff(Role::Auditor, org, Some(svc)),
            Actor::System,
        ] {
            for action in [
                Action::PersonRead,
                Action::PersonUpdate,
                Action::PersonShred,
            ] {
                assert!(
                    az.authorize(&actor, action, person).is_err(),
                    "{actor:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn only_the_dpo_of_the_organisation_may_shred_a_person() {
        let (org, svc) = (Uuid::new_v4(), Uuid::new_v4());
        let person = Resource::Person {
            id: Uuid::new_v4(),
            service_id: svc,
            organisation_id: org,
        };
        let az = Authorizer::new();
        assert!(
            az.authorize(
                &staff(Role::DataProtectionOfficer, org, None),
                Action::PersonShred,
                person
            )
            .is_ok()
        );
        assert!(
            az.authorize(
                &staff(Role::DataProtectionOfficer, Uuid::new_v4(), None),
                Action::PersonShred,
                person
            )
            .is_err()
        );
        assert!(
            az.authorize(
                &staff(Role::ServiceManager, org, Some(svc)),
                Action::PersonShred,
                person
            )
            .is_err()
        );
    }

    #[test]
    fn role_codes_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::from_code(role.code()), Some(role));
        }
        assert_eq!(Role::from_code("root"), None);
    }
}
