//! The Cedar side: the schema, the policy set, and turning an actor, action and resource into a Cedar
//! request with its entities.
//!
//! Fails closed: anything that goes wrong while building or evaluating a request (a resource the
//! action does not apply to, an evaluation error in any policy) is a refusal.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use cedar_policy::{
    ActionConstraint, Context as CedarContext, Decision, Entities, Entity, EntityId,
    EntityTypeName, EntityUid, Policy, PolicySet, PrincipalConstraint, Request, ResourceConstraint,
    RestrictedExpression, Schema, Validator, pst,
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
#[cfg_attr(test, derive(Debug, PartialEq, Eq))]
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
    /// Every policy loaded.
    policies: PolicySet,
    /// For each request shape, the policies that can apply to it, specialised to it: the same
    /// decisions as `policies`, several times faster. See [`specialise_all`].
    shapes: HashMap<Shape, PolicySet>,
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
            shapes: specialise_all(&policies, &vocabulary)?,
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
            shapes: specialise_all(&policies, &self.vocabulary)?,
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
        let Some(policies) = self.shapes.get(&shape(actor, action, resource)) else {
            return Outcome::Deny;
        };
        self.decide_with(policies, &request, grant)
    }

    /// As [`Engine::decide`], but with every policy as written instead of the request shape's
    /// specialised set: the reference the specialisation is tested against.
    #[cfg(test)]
    pub(crate) fn decide_unspecialised(
        &self,
        actor: &Actor,
        action: Action,
        resource: &Resource,
        grant: Option<Grant>,
    ) -> Outcome {
        let Some(request) = self.prepare(actor, action, resource) else {
            return Outcome::Deny;
        };
        self.decide_with(&self.policies, &request, grant)
    }

    /// How many policies a request of this shape is evaluated against.
    #[cfg(test)]
    pub(crate) fn policies_for(&self, actor: &Actor, action: Action, resource: &Resource) -> usize {
        self.shapes
            .get(&shape(actor, action, resource))
            .map_or(0, |set| set.policies().count())
    }

    fn decide_with(
        &self,
        policies: &PolicySet,
        request: &Prepared,
        grant: Option<Grant>,
    ) -> Outcome {
        if !self.allows(policies, request, grant) {
            return Outcome::Deny;
        }
        // Only ask again when there is a grant: was it needed?
        let relied_on = match grant {
            Some(grant) if !self.allows(policies, request, None) => Some(grant),
            _ => None,
        };
        Outcome::Allow { relied_on }
    }

    fn allows(&self, policies: &PolicySet, prepared: &Prepared, grant: Option<Grant>) -> bool {
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
            .is_authorized(&request, policies, &prepared.entities);
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
                role,
            } => {
                let uid = v.staff(id);
                let attrs = HashMap::from([
                    (
                        "organisation".to_owned(),
                        entity(v.organisation(organisation_id)),
                    ),
                    ("holder".to_owned(), entity(v.user(id))),
                    ("role".to_owned(), entity(v.role(role)?.clone())),
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

/// The kind of principal of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum PrincipalKind {
    User,
    Operator,
}

/// The kind of resource of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ResourceKind {
    Installation,
    Organisation,
    Service,
    Person,
    Staff,
}

const PRINCIPAL_KINDS: [PrincipalKind; 2] = [PrincipalKind::User, PrincipalKind::Operator];
const RESOURCE_KINDS: [ResourceKind; 5] = [
    ResourceKind::Installation,
    ResourceKind::Organisation,
    ResourceKind::Service,
    ResourceKind::Person,
    ResourceKind::Staff,
];

/// The shape of a request: everything about it that a policy's scope can test without entities.
type Shape = (Action, PrincipalKind, ResourceKind);

fn shape(actor: &Actor, action: Action, resource: &Resource) -> Shape {
    let principal = match actor {
        Actor::Staff(_) => PrincipalKind::User,
        Actor::System => PrincipalKind::Operator,
    };
    let resource = match resource {
        Resource::Installation => ResourceKind::Installation,
        Resource::Organisation { .. } => ResourceKind::Organisation,
        Resource::Service { .. } => ResourceKind::Service,
        Resource::Person { .. } => ResourceKind::Person,
        Resource::Staff { .. } => ResourceKind::Staff,
    };
    (action, principal, resource)
}

/// For every request shape, the policies that can apply to it, specialised to it.
///
/// Why: Cedar evaluates every policy of the set it is given, scope included, and building and
/// evaluating a scope such as `action in [seven actions]` costs several microseconds each time. A
/// request's action and the types of its principal and resource are known before it is built, so:
/// - a policy whose scope names another action, or another principal or resource type, cannot
///   match and is left out of that shape's set;
/// - in the policies kept, the parts of the scope the shape already satisfies (`action == ..`,
///   `action in [..]` listing the action, `principal is ..`, `resource is ..`) are replaced by the
///   unconstrained form. Conditions are untouched, and policy ids and effects are kept.
///
/// Anything not certainly decided by the shape is kept as written: `in` an entity (a hierarchy),
/// `==` an entity of the right type, an action that is not one of ours (a group), or a policy Cedar
/// cannot convert. Requests carry no action hierarchy, so `action in [..]` matches exactly the
/// actions listed. A test checks that the specialised sets decide every request of the matrix as
/// the whole set does.
fn specialise_all(
    policies: &PolicySet,
    vocabulary: &Vocabulary,
) -> Result<HashMap<Shape, PolicySet>, PolicyError> {
    let ours: HashSet<String> = vocabulary
        .actions
        .iter()
        .map(|(_, uid)| uid.to_string())
        .collect();
    let mut shapes = HashMap::new();
    for (action, action_uid) in &vocabulary.actions {
        let action_uid = action_uid.to_string();
        for principal in PRINCIPAL_KINDS {
            let principal_type = vocabulary.principal_type(principal);
            for resource in RESOURCE_KINDS {
                let resource_type = vocabulary.resource_type(resource);
                let fit = Fit {
                    ours: &ours,
                    action: &action_uid,
                    principal: &principal_type,
                    resource: &resource_type,
                };
                let mut set = PolicySet::new();
                for policy in policies.policies() {
                    if let Some(specialised) = fit.specialise(policy) {
                        set.add(specialised).map_err(|error| PolicyError::Invalid {
                            file: policy.id().to_string().into(),
                            line: 1,
                            column: 1,
                            message: error.to_string(),
                        })?;
                    }
                }
                shapes.insert((*action, principal, resource), set);
            }
        }
    }
    Ok(shapes)
}

/// One request shape, named as Cedar prints it.
struct Fit<'a> {
    ours: &'a HashSet<String>,
    action: &'a str,
    principal: &'a str,
    resource: &'a str,
}

/// What a scope constraint comes to for a shape.
enum Scope {
    /// Cannot match: leave the policy out.
    Never,
    /// Always matches: replace the constraint with the unconstrained one.
    Always,
    /// Depends on the entities: keep it as written.
    Keep,
}

impl Fit<'_> {
    /// `None` when `policy` cannot apply to this shape; otherwise the policy to evaluate.
    fn specialise(&self, policy: &Policy) -> Option<Policy> {
        let action = self.action_scope(&policy.action_constraint());
        let principal = self.entity_scope(&policy.principal_constraint().into(), self.principal);
        let resource = self.entity_scope(&policy.resource_constraint().into(), self.resource);
        if [&action, &principal, &resource]
            .iter()
            .any(|s| matches!(s, Scope::Never))
        {
            return None;
        }
        let Ok(pst::Policy::Static(original)) = policy.to_pst() else {
            return Some(policy.clone());
        };
        let mut body = original.body().clone();
        if matches!(action, Scope::Always) {
            body.action = pst::ActionConstraint::Any;
        }
        if matches!(principal, Scope::Always) {
            body.principal = pst::PrincipalConstraint::Any;
        }
        if matches!(resource, Scope::Always) {
            body.resource = pst::ResourceConstraint::Any;
        }
        pst::StaticPolicy::try_from(body)
            .ok()
            .and_then(|rewritten| Policy::from_pst(pst::Policy::Static(rewritten)).ok())
            .or_else(|| Some(policy.clone()))
    }

    fn action_scope(&self, constraint: &ActionConstraint) -> Scope {
        let named: Vec<String> = match constraint {
            ActionConstraint::Any => return Scope::Always,
            ActionConstraint::Eq(uid) => vec![uid.to_string()],
            ActionConstraint::In(uids) => uids.iter().map(ToString::to_string).collect(),
        };
        if named.iter().any(|n| n == self.action) {
            Scope::Always
        } else if named.iter().all(|n| self.ours.contains(n)) {
            Scope::Never
        } else {
            Scope::Keep
        }
    }

    fn entity_scope(&self, constraint: &EntityScope, type_name: &str) -> Scope {
        match constraint {
            EntityScope::Any => Scope::Always,
            EntityScope::Is(t) if t == type_name => Scope::Always,
            EntityScope::Is(_) => Scope::Never,
            EntityScope::IsIn(t) | EntityScope::Eq(t) if t != type_name => Scope::Never,
            EntityScope::IsIn(_) | EntityScope::Eq(_) | EntityScope::In => Scope::Keep,
        }
    }
}

/// A principal or resource constraint, reduced to what shapes need: the type it names, if any.
enum EntityScope {
    Any,
    Is(String),
    /// `is T in e`: needs `T`, and then the hierarchy.
    IsIn(String),
    /// `== e`: needs the type of `e`, and then `e` itself.
    Eq(String),
    /// `in e`: the hierarchy decides.
    In,
}

impl From<PrincipalConstraint> for EntityScope {
    fn from(constraint: PrincipalConstraint) -> Self {
        match constraint {
            PrincipalConstraint::Any => EntityScope::Any,
            PrincipalConstraint::Is(t) => EntityScope::Is(t.to_string()),
            PrincipalConstraint::IsIn(t, _) => EntityScope::IsIn(t.to_string()),
            PrincipalConstraint::Eq(uid) => EntityScope::Eq(uid.type_name().to_string()),
            PrincipalConstraint::In(_) => EntityScope::In,
        }
    }
}

impl From<ResourceConstraint> for EntityScope {
    fn from(constraint: ResourceConstraint) -> Self {
        match constraint {
            ResourceConstraint::Any => EntityScope::Any,
            ResourceConstraint::Is(t) => EntityScope::Is(t.to_string()),
            ResourceConstraint::IsIn(t, _) => EntityScope::IsIn(t.to_string()),
            ResourceConstraint::Eq(uid) => EntityScope::Eq(uid.type_name().to_string()),
            ResourceConstraint::In(_) => EntityScope::In,
        }
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

    /// The type a principal of this kind has, as Cedar prints it.
    fn principal_type(&self, kind: PrincipalKind) -> String {
        match kind {
            PrincipalKind::User => self.user.to_string(),
            PrincipalKind::Operator => self.operator.type_name().to_string(),
        }
    }

    /// The type a resource of this kind has, as Cedar prints it.
    fn resource_type(&self, kind: ResourceKind) -> String {
        match kind {
            ResourceKind::Installation => self.installation.type_name().to_string(),
            ResourceKind::Organisation => self.organisation.to_string(),
            ResourceKind::Service => self.service.to_string(),
            ResourceKind::Person => self.person.to_string(),
            ResourceKind::Staff => self.staff.to_string(),
        }
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

/// The entry for `key` in a table built from the type's `ALL` (a scan of at most 19 entries, cheaper
/// than hashing). `None` only if `ALL` missed a value, which refuses the request.
fn lookup<K: PartialEq + Copy, V>(table: &[(K, V)], key: K) -> Option<&V> {
    table.iter().find(|(k, _)| *k == key).map(|(_, uid)| uid)
}
