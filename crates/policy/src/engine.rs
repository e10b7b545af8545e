//! The Cedar side: the schema, the policy set, and turning an actor, action and resource into a Cedar
//! request with its entities.
//!
//! Fails closed: anything that goes wrong while building or evaluating a request (a resource the
//! action does not apply to, an evaluation error in any policy) is a refusal.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use cedar_policy::{
    Context as CedarContext, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema, Validator,
};
use uuid::Uuid;

use crate::load::{self, PolicyFile};
use crate::{
    AccessScope, Action, Actor, DEFAULT_POLICIES, Grant, PolicyError, Resource, Role, SCHEMA,
};

/// Where the shipped texts live, for error messages (they are compiled in).
pub(crate) const SCHEMA_FILE: &str = "crates/policy/cedar/confidant.cedarschema";
pub(crate) const DEFAULT_POLICIES_FILE: &str = "crates/policy/cedar/default.cedar";
/// Policy ids of the shipped policies start with this; an organisation's start with their file name,
/// which cannot contain a `/`, so the two never collide.
const SHIPPED_PREFIX: &str = "shipped/default.cedar";

/// What a decision came to.
pub(crate) enum Outcome {
    /// Allowed. `relied_on` is the context's grant when the request would be refused without it.
    Allow {
        relied_on: Option<Grant>,
    },
    Deny,
}

/// A parsed and validated policy set with its schema. Immutable once built.
pub(crate) struct Engine {
    schema: Schema,
    policies: PolicySet,
    authorizer: cedar_policy::Authorizer,
    vocabulary: Vocabulary,
    /// The files the policies came from, in load order (for `Debug`).
    sources: Vec<String>,
}

impl Engine {
    /// The shipped schema and default policies.
    pub(crate) fn shipped() -> Result<Engine, PolicyError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(SCHEMA).map_err(|error| {
            load::invalid(
                Path::new(SCHEMA_FILE),
                SCHEMA,
                &cedar_policy::ffi::DetailedError::from(&error),
            )
        })?;
        let vocabulary = Vocabulary::new().map_err(|message| PolicyError::Invalid {
            file: SCHEMA_FILE.into(),
            line: 1,
            column: 1,
            message,
        })?;
        let validator = Validator::new(schema.clone());
        let mut policies = PolicySet::new();
        load::add_file(
            &mut policies,
            &validator,
            &PolicyFile {
                path: DEFAULT_POLICIES_FILE.into(),
                text: DEFAULT_POLICIES.to_owned(),
            },
            SHIPPED_PREFIX,
        )?;
        Ok(Engine {
            schema,
            policies,
            authorizer: cedar_policy::Authorizer::new(),
            vocabulary,
            sources: vec![DEFAULT_POLICIES_FILE.to_owned()],
        })
    }

    /// This engine's policies plus those of `files`, each validated against the same schema.
    pub(crate) fn with_files(&self, files: &[PolicyFile]) -> Result<Engine, PolicyError> {
        let validator = Validator::new(self.schema.clone());
        let mut policies = self.policies.clone();
        let mut sources = self.sources.clone();
        for file in files {
            let prefix = file.path.file_name().map_or_else(
                || file.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            load::add_file(&mut policies, &validator, file, &prefix)?;
            sources.push(file.path.display().to_string());
        }
        Ok(Engine {
            schema: self.schema.clone(),
            policies,
            authorizer: cedar_policy::Authorizer::new(),
            vocabulary: self.vocabulary.clone(),
            sources,
        })
    }

    pub(crate) fn sources(&self) -> &[String] {
        &self.sources
    }

    pub(crate) fn policy_count(&self) -> usize {
        self.policies.policies().count()
    }

    #[cfg(test)]
    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Decides `action` on `resource` for `actor`, holding `grant` if any.
    pub(crate) fn decide(
        &self,
        actor: &Actor,
        action: Action,
        resource: &Resource,
        grant: Option<Grant>,
    ) -> Outcome {
        let Some(request) = self.prepare(actor, action, resource) else {
            return Outcome::Deny;
        };
        if !self.allows(&request, grant) {
            return Outcome::Deny;
        }
        // Only ask again when there is a grant: was it needed?
        let relied_on = match grant {
            Some(grant) if !self.allows(&request, None) => Some(grant),
            _ => None,
        };
        Outcome::Allow { relied_on }
    }

    fn allows(&self, prepared: &Prepared, grant: Option<Grant>) -> bool {
        let Some(context) = self.context(grant) else {
            return false;
        };
        // With the schema, Cedar refuses to build a request the schema does not allow (say
        // `person.read` on an organisation), so no policy, however broad, can permit it.
        let Ok(request) = Request::new(
            prepared.principal.clone(),
            prepared.action.clone(),
            prepared.resource.clone(),
            context,
            Some(&self.schema),
        ) else {
            return false;
        };
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &prepared.entities);
        // A policy that errors is skipped by Cedar; if that policy was a `forbid`, allowing would
        // be wrong, so any error refuses.
        response.decision() == Decision::Allow && response.diagnostics().errors().next().is_none()
    }

    fn context(&self, grant: Option<Grant>) -> Option<CedarContext> {
        match grant {
            None => Some(CedarContext::empty()),
            Some(grant) => CedarContext::from_pairs([(
                "grant".to_owned(),
                RestrictedExpression::new_entity_uid(self.vocabulary.grant(grant)?.clone()),
            )])
            .ok(),
        }
    }

    /// The request's principal, action and resource, with the entities that carry their attributes.
    fn prepare(&self, actor: &Actor, action: Action, resource: &Resource) -> Option<Prepared> {
        let v = &self.vocabulary;
        let mut entities = Vec::with_capacity(2);
        let principal = match actor {
            Actor::System => v.operator.clone(),
            Actor::Staff(staff) => {
                let uid = v.user(staff.user_id);
                let mut attrs = HashMap::with_capacity(5);
                attrs.insert(
                    "organisation".to_owned(),
                    entity(v.organisation(staff.organisation_id)),
                );
                if let Some(service) = staff.service_id {
                    attrs.insert("service".to_owned(), entity(v.service(service)));
                }
                if let Some(team) = staff.team_id {
                    attrs.insert("team".to_owned(), entity(v.team(team)));
                }
                attrs.insert("role".to_owned(), entity(v.role(staff.role)?.clone()));
                attrs.insert(
                    "trained".to_owned(),
                    RestrictedExpression::new_bool(staff.trained),
                );
                entities.push(Entity::new(uid.clone(), attrs, HashSet::new()).ok()?);
                uid
            }
        };
        let resource = match *resource {
            Resource::Installation => v.installation.clone(),
            Resource::Organisation { id } => {
                let uid = v.organisation(id);
                entities.push(Entity::new_no_attrs(uid.clone(), HashSet::new()));
                uid
            }
            Resource::Service {
                id,
                organisation_id,
            } => {
                let uid = v.service(id);
                let attrs = HashMap::from([(
                    "organisation".to_owned(),
                    entity(v.organisation(organisation_id)),
                )]);
                entities.push(Entity::new(uid.clone(), attrs, HashSet::new()).ok()?);
                uid
            }
            Resource::Person {
                id,
                service_id,
                organisation_id,
                team_id,
                key_worker_id,
                scope,
            } => {
                let uid = v.person(id);
                let mut attrs = HashMap::with_capacity(5);
                attrs.insert(
                    "organisation".to_owned(),
                    entity(v.organisation(organisation_id)),
                );
                attrs.insert("service".to_owned(), entity(v.service(service_id)));
                if let Some(team) = team_id {
                    attrs.insert("team".to_owned(), entity(v.team(team)));
                }
                if let Some(key_worker) = key_worker_id {
                    attrs.insert("key_worker".to_owned(), entity(v.user(key_worker)));
                }
                attrs.insert("scope".to_owned(), entity(v.scope(scope)?.clone()));
                entities.push(Entity::new(uid.clone(), attrs, HashSet::new()).ok()?);
                uid
            }
            Resource::Staff {
                id,
                organisation_id,
            } => {
                let uid = v.staff(id);
                let attrs = HashMap::from([
                    (
                        "organisation".to_owned(),
                        entity(v.organisation(organisation_id)),
                    ),
                    ("holder".to_owned(), entity(v.user(id))),
                ]);
                entities.push(Entity::new(uid.clone(), attrs, HashSet::new()).ok()?);
                uid
            }
        };
        Some(Prepared {
            principal,
            action: v.action(action)?.clone(),
            resource,
            entities: Entities::from_entities(entities, None).ok()?,
        })
    }

    /// The entities a request would carry, for tests that check them against the schema.
    #[cfg(test)]
    pub(crate) fn request_entities(
        &self,
        actor: &Actor,
        action: Action,
        resource: &Resource,
    ) -> Option<Entities> {
        self.prepare(actor, action, resource).map(|p| p.entities)
    }
}

/// One request's parts, built once and asked with and without a grant.
struct Prepared {
    principal: EntityUid,
    action: EntityUid,
    resource: EntityUid,
    entities: Entities,
}

fn entity(uid: EntityUid) -> RestrictedExpression {
    RestrictedExpression::new_entity_uid(uid)
}

/// The schema's names, parsed once.
#[derive(Clone)]
struct Vocabulary {
    user: EntityTypeName,
    organisation: EntityTypeName,
    service: EntityTypeName,
    team: EntityTypeName,
    staff: EntityTypeName,
    person: EntityTypeName,
    operator: EntityUid,
    installation: EntityUid,
    /// In the order of `Action::ALL`, `Role::ALL`, `AccessScope::ALL`, `Grant::ALL`.
    actions: Vec<(Action, EntityUid)>,
    roles: Vec<(Role, EntityUid)>,
    scopes: Vec<(AccessScope, EntityUid)>,
    grants: Vec<(Grant, EntityUid)>,
}

impl Vocabulary {
    fn new() -> Result<Self, String> {
        let name = |n: &str| -> Result<EntityTypeName, String> {
            n.parse()
                .map_err(|e| format!("bad entity type name `{n}`: {e}"))
        };
        let uid = |t: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(t.clone(), EntityId::new(id))
        };
        let action = name("Confidant::Action")?;
        let role = name("Confidant::Role")?;
        let scope = name("Confidant::Scope")?;
        let grant = name("Confidant::Grant")?;
        Ok(Vocabulary {
            user: name("Confidant::User")?,
            organisation: name("Confidant::Organisation")?,
            service: name("Confidant::Service")?,
            team: name("Confidant::Team")?,
            staff: name("Confidant::Staff")?,
            person: name("Confidant::Person")?,
            operator: uid(&name("Confidant::Operator")?, "system"),
            installation: uid(&name("Confidant::Installation")?, "installation"),
            actions: Action::ALL.map(|a| (a, uid(&action, a.code()))).to_vec(),
            roles: Role::ALL.map(|r| (r, uid(&role, r.code()))).to_vec(),
            scopes: AccessScope::ALL
                .map(|s| (s, uid(&scope, s.code())))
                .to_vec(),
            grants: Grant::ALL.map(|g| (g, uid(&grant, g.code()))).to_vec(),
        })
    }

    fn id(t: &EntityTypeName, id: Uuid) -> EntityUid {
        EntityUid::from_type_name_and_id(
            t.clone(),
            EntityId::new(id.hyphenated().encode_lower(&mut Uuid::encode_buffer())),
        )
    }

    fn user(&self, id: Uuid) -> EntityUid {
        Self::id(&self.user, id)
    }
    fn organisation(&self, id: Uuid) -> EntityUid {
        Self::id(&self.organisation, id)
    }
    fn service(&self, id: Uuid) -> EntityUid {
        Self::id(&self.service, id)
    }
    fn team(&self, id: Uuid) -> EntityUid {
        Self::id(&self.team, id)
    }
    fn staff(&self, id: Uuid) -> EntityUid {
        Self::id(&self.staff, id)
    }
    fn person(&self, id: Uuid) -> EntityUid {
        Self::id(&self.person, id)
    }

    fn action(&self, action: Action) -> Option<&EntityUid> {
        lookup(&self.actions, action)
    }
    fn role(&self, role: Role) -> Option<&EntityUid> {
        lookup(&self.roles, role)
    }
    fn scope(&self, scope: AccessScope) -> Option<&EntityUid> {
        lookup(&self.scopes, scope)
    }
    fn grant(&self, grant: Grant) -> Option<&EntityUid> {
        lookup(&self.grants, grant)
    }
}

/// The uid for `key` in a table built from the type's `ALL` (a scan of at most 19 entries, cheaper
/// than hashing). `None` only if `ALL` missed a value, which refuses the request.
fn lookup<K: PartialEq + Copy>(table: &[(K, EntityUid)], key: K) -> Option<&EntityUid> {
    table.iter().find(|(k, _)| *k == key).map(|(_, uid)| uid)
}
