//! The policies checked against a second, plain statement of the rules ([`expected`]), over every
//! action, role, position of the resource, grant and training state; then loading an organisation's
//! policy files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cedar_policy::{Entities, ValidationMode, Validator};
use uuid::Uuid;

use super::*;

// ---------------------------------------------------------------------------------------------
// The rules, stated a second time in plain Rust.
// ---------------------------------------------------------------------------------------------

/// Whether the rules allow `actor` to do `action` on `resource` holding `grant`. Written from the
/// rules as the issue states them, without looking at the policies.
fn expected(actor: &Actor, action: Action, resource: &Resource, grant: Option<Grant>) -> bool {
    use AccessScope as Scope;
    use Action::*;
    use Role::*;

    let staff = match actor {
        Actor::System => {
            return matches!(
                (action, resource),
                (
                    OrganisationCreate | KeysRotate | AuditCheckpoint,
                    Resource::Installation
                ) | (
                    ServiceCreate
                        | ServiceRead
                        | StaffCreate
                        | StaffRead
                        | RecipientManage
                        | TaskSweep,
                    Resource::Organisation { .. }
                ) | (ServiceRead, Resource::Service { .. })
                    | (PersonShred, Resource::Person { .. })
                    | (
                        StaffUpdate | StaffDetails | StaffDisable | TokenIssue | StaffRead,
                        Resource::Staff { .. }
                    )
            );
        }
        Actor::Staff(staff) => staff,
    };

    // Nothing across organisations.
    let same_organisation = match *resource {
        Resource::Installation => true,
        Resource::Organisation { id } => id == staff.organisation_id,
        Resource::Service {
            organisation_id, ..
        }
        | Resource::Person {
            organisation_id, ..
        }
        | Resource::Staff {
            organisation_id, ..
        } => organisation_id == staff.organisation_id,
    };
    if !same_organisation {
        return false;
    }

    // Record content: never for administrators and auditors, never untrained.
    let content = matches!(
        action,
        PersonCreate
            | PersonRead
            | PersonUpdate
            | PersonList
            | PersonFind
            | PersonBreakGlass
            | PersonShred
            | PersonAssign
            | AccessGrant
            | PersonShare
            | ShareApprove
            | PersonRestrict
            | HoldPlace
            | HoldRelease
            | RetentionReview
            | RightsLog
            | RightsRead
            | RightsManage
    );
    if content && (!staff.trained || matches!(staff.role, Administrator | Auditor)) {
        return false;
    }
    // The break-the-glass review shows the reasons given, which are about people: training needed.
    if action == BreakGlassReview && !staff.trained {
        return false;
    }

    let role = staff.role;
    let works_in_service = matches!(role, Practitioner | TeamManager | ServiceManager);
    let may_break_glass = matches!(
        role,
        Practitioner | TeamManager | ServiceManager | DataProtectionOfficer | CaldicottGuardian
    );
    let in_own_service = |service: Uuid| staff.service_id == Some(service);
    let in_own_team = |team: Option<Uuid>| staff.team_id.is_some() && staff.team_id == team;
    // Whether the record's scope lets this member of a service read it (without a grant).
    let reads_by_scope =
        |service_id: Uuid, team_id: Option<Uuid>, key_worker_id: Option<Uuid>, scope: Scope| {
            works_in_service
                && in_own_service(service_id)
                && match scope {
                    Scope::Service => true,
                    Scope::Team => role == ServiceManager || in_own_team(team_id),
                    Scope::Caseload => match role {
                        ServiceManager => true,
                        TeamManager => in_own_team(team_id),
                        Practitioner => key_worker_id == Some(staff.user_id),
                        _ => false,
                    },
                }
        };

    match (action, *resource) {
        (AuditCheckpoint, Resource::Installation) => {
            matches!(role, Auditor | DataProtectionOfficer)
        }
        (ServiceCreate | StaffCreate, Resource::Organisation { .. }) => role == Administrator,
        (ServiceRead, Resource::Organisation { .. } | Resource::Service { .. }) => true,
        (StaffRead, Resource::Organisation { .. } | Resource::Staff { .. }) => matches!(
            role,
            Administrator
                | DataProtectionOfficer
                | CaldicottGuardian
                | ServiceManager
                | TeamManager
        ),
        (StaffUpdate, Resource::Staff { role: target, .. }) => {
            role == DataProtectionOfficer
                || (role == Administrator && matches!(target, Administrator | Auditor))
        }
        (StaffDisable, Resource::Staff { .. }) => {
            matches!(role, Administrator | DataProtectionOfficer)
        }
        // Names, job titles and teams hand nobody the account: administrators and the DPO, for
        // every account.
        (StaffDetails, Resource::Staff { .. }) => {
            matches!(role, Administrator | DataProtectionOfficer)
        }
        (TokenIssue, Resource::Staff { id, .. }) => id == staff.user_id,
        (TaskRead | TaskClose, Resource::Organisation { .. }) => true,
        (RecipientManage, Resource::Organisation { .. }) => {
            matches!(role, DataProtectionOfficer | CaldicottGuardian)
        }
        (OversightRead | BreakGlassReview, Resource::Organisation { .. }) => {
            matches!(role, DataProtectionOfficer | CaldicottGuardian)
        }
        (OversightRead, Resource::Service { id, .. }) => {
            matches!(role, ServiceManager | TeamManager) && in_own_service(id)
        }
        (PersonAssign, Resource::Person { service_id, .. }) => {
            matches!(role, TeamManager | ServiceManager) && in_own_service(service_id)
        }
        (PersonCreate | PersonList | PersonFind, Resource::Service { id, .. }) => {
            works_in_service && in_own_service(id)
        }
        (
            PersonRead | PersonUpdate | PersonShare,
            Resource::Person {
                service_id,
                team_id,
                key_worker_id,
                scope,
                ..
            },
        ) => {
            let by_scope = reads_by_scope(service_id, team_id, key_worker_id, scope);
            // Grants open reading (and a processor's work), never sharing on.
            let by_grant = action != PersonShare
                && match grant {
                    Some(Grant::BreakGlass) => action == PersonRead && may_break_glass,
                    Some(Grant::ProcessorReferral) => role == ProcessorStaff,
                    Some(Grant::TrusteeMatter) => action == PersonRead && role == Trustee,
                    None => false,
                };
            by_scope || by_grant
        }
        (
            RightsLog,
            Resource::Person {
                service_id,
                team_id,
                key_worker_id,
                scope,
                ..
            },
        ) => {
            matches!(role, DataProtectionOfficer | CaldicottGuardian)
                || reads_by_scope(service_id, team_id, key_worker_id, scope)
        }
        (RightsRead, Resource::Service { id, .. }) => {
            matches!(role, DataProtectionOfficer | CaldicottGuardian)
                || (role == ServiceManager && in_own_service(id))
        }
        (RightsManage, Resource::Service { id, .. }) => {
            role == DataProtectionOfficer || (role == ServiceManager && in_own_service(id))
        }
        (PersonShred | AccessGrant | PersonRestrict | HoldRelease, Resource::Person { .. }) => {
            role == DataProtectionOfficer
        }
        (HoldRelease, Resource::Service { .. }) => role == DataProtectionOfficer,
        (HoldPlace | RetentionReview, Resource::Person { .. } | Resource::Service { .. }) => {
            matches!(role, DataProtectionOfficer | CaldicottGuardian)
        }
        (ShareApprove, Resource::Person { service_id, .. }) => {
            matches!(role, DataProtectionOfficer | CaldicottGuardian)
                || (role == ServiceManager && in_own_service(service_id))
        }
        (PersonBreakGlass, Resource::Person { .. }) => may_break_glass,
        (AuditRead, Resource::Person { .. }) => {
            matches!(role, Auditor | DataProtectionOfficer | CaldicottGuardian)
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// The world the matrix runs in.
// ---------------------------------------------------------------------------------------------

/// Where the resource is, seen from the actor.
#[derive(Debug, Clone, Copy)]
enum Position {
    /// The actor's own organisation, service and team; the actor is the key worker; the staff
    /// account is the actor's own.
    InScope,
    /// Same service, another team; someone else is key worker; a colleague's account.
    OtherTeam,
    /// Another service of the same organisation.
    OtherService,
    /// Another organisation.
    OtherOrganisation,
}

const POSITIONS: [Position; 4] = [
    Position::InScope,
    Position::OtherTeam,
    Position::OtherService,
    Position::OtherOrganisation,
];

struct World {
    me: Uuid,
    colleague: Uuid,
    organisation: Uuid,
    service: Uuid,
    team: Uuid,
    other_team: Uuid,
    other_service: Uuid,
    other_service_team: Uuid,
    other_organisation: Uuid,
    other_organisation_service: Uuid,
    other_organisation_team: Uuid,
    other_organisation_staff: Uuid,
}

impl World {
    fn new() -> Self {
        let id = Uuid::new_v4;
        World {
            me: id(),
            colleague: id(),
            organisation: id(),
            service: id(),
            team: id(),
            other_team: id(),
            other_service: id(),
            other_service_team: id(),
            other_organisation: id(),
            other_organisation_service: id(),
            other_organisation_team: id(),
            other_organisation_staff: id(),
        }
    }

    /// A staff member of the organisation. `placed`: with a service and team (as people who work in
    /// a service are), or organisation-wide with neither.
    fn staff(&self, role: Role, placed: bool, trained: bool) -> Actor {
        Actor::Staff(StaffActor {
            user_id: self.me,
            organisation_id: self.organisation,
            service_id: placed.then_some(self.service),
            team_id: placed.then_some(self.team),
            role,
            trained,
        })
    }

    fn organisation(&self, at: Position) -> Resource {
        match at {
            Position::OtherOrganisation => Resource::Organisation {
                id: self.other_organisation,
            },
            _ => Resource::Organisation {
                id: self.organisation,
            },
        }
    }

    fn service(&self, at: Position) -> Resource {
        let (id, organisation_id) = match at {
            Position::InScope | Position::OtherTeam => (self.service, self.organisation),
            Position::OtherService => (self.other_service, self.organisation),
            Position::OtherOrganisation => {
                (self.other_organisation_service, self.other_organisation)
            }
        };
        Resource::Service {
            id,
            organisation_id,
        }
    }

    fn staff_account(&self, at: Position) -> Resource {
        let (id, organisation_id) = match at {
            Position::InScope => (self.me, self.organisation),
            Position::OtherTeam | Position::OtherService => (self.colleague, self.organisation),
            Position::OtherOrganisation => (self.other_organisation_staff, self.other_organisation),
        };
        Resource::Staff {
            id,
            organisation_id,
            role: Role::Practitioner,
        }
    }

    /// The account at `at` as one that sees record content and as one that does not.
    fn staff_accounts(&self, at: Position) -> Vec<Resource> {
        let content = self.staff_account(at);
        let Resource::Staff {
            id,
            organisation_id,
            ..
        } = content
        else {
            return vec![content];
        };
        vec![
            content,
            Resource::Staff {
                id,
                organisation_id,
                role: Role::Auditor,
            },
        ]
    }

    fn person(&self, at: Position, scope: AccessScope) -> Resource {
        let (service_id, organisation_id, team_id, key_worker_id) = match at {
            Position::InScope => (self.service, self.organisation, self.team, self.me),
            Position::OtherTeam => (
                self.service,
                self.organisation,
                self.other_team,
                self.colleague,
            ),
            Position::OtherService => (
                self.other_service,
                self.organisation,
                self.other_service_team,
                self.colleague,
            ),
            Position::OtherOrganisation => (
                self.other_organisation_service,
                self.other_organisation,
                self.other_organisation_team,
                self.other_organisation_staff,
            ),
        };
        Resource::Person {
            id: Uuid::new_v4(),
            service_id,
            organisation_id,
            team_id: Some(team_id),
            key_worker_id: Some(key_worker_id),
            scope,
        }
    }

    /// The resources `action` is asked about at `at`: every kind the action applies to.
    fn resources(&self, action: Action, at: Position) -> Vec<Resource> {
        use Action::*;
        let people = || {
            AccessScope::ALL
                .map(|scope| self.person(at, scope))
                .to_vec()
        };
        match action {
            OrganisationCreate | KeysRotate | AuditCheckpoint => vec![Resource::Installation],
            ServiceCreate | StaffCreate | BreakGlassReview | RecipientManage | TaskRead
            | TaskClose | TaskSweep => {
                vec![self.organisation(at)]
            }
            ServiceRead | OversightRead => vec![self.organisation(at), self.service(at)],
            StaffRead => {
                let mut all = vec![self.organisation(at)];
                all.extend(self.staff_accounts(at));
                all
            }
            StaffUpdate | StaffDetails | StaffDisable | TokenIssue => self.staff_accounts(at),
            PersonCreate | PersonList | PersonFind => vec![self.service(at)],
            PersonRead | PersonUpdate | PersonShred | PersonBreakGlass | AuditRead
            | AccessGrant | PersonAssign | PersonShare | ShareApprove | PersonRestrict
            | RightsLog => people(),
            RightsRead | RightsManage => vec![self.service(at)],
            HoldPlace | HoldRelease | RetentionReview => {
                let mut all = people();
                all.push(self.service(at));
                all
            }
        }
    }
}

fn grants() -> [Option<Grant>; 4] {
    [
        None,
        Some(Grant::BreakGlass),
        Some(Grant::TrusteeMatter),
        Some(Grant::ProcessorReferral),
    ]
}

/// Every actor of the matrix: the operator, and each role placed and organisation-wide, trained and
/// not.
fn actors(world: &World) -> Vec<Actor> {
    let mut actors = vec![Actor::System];
    for role in Role::ALL {
        for placed in [true, false] {
            for trained in [true, false] {
                actors.push(world.staff(role, placed, trained));
            }
        }
    }
    actors
}

// ---------------------------------------------------------------------------------------------
// The matrix.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_decision_of_the_default_policies_matches_the_rules_stated_plainly() {
    let world = World::new();
    let authorizer = Authorizer::new();
    let mut mismatches = Vec::new();
    let mut decisions = 0_usize;
    let mut allowed_actions = std::collections::HashSet::new();

    for actor in actors(&world) {
        for action in Action::ALL {
            for at in POSITIONS {
                for resource in world.resources(action, at) {
                    for grant in grants() {
                        decisions += 1;
                        let want = expected(&actor, action, &resource, grant);
                        let want_grant =
                            grant.filter(|_| want && !expected(&actor, action, &resource, None));
                        let got =
                            authorizer.authorize_in(&actor, action, resource, Context { grant });
                        match (&got, want) {
                            (Ok(permit), true) => {
                                allowed_actions.insert(action);
                                if permit.grant() != want_grant {
                                    mismatches.push(format!(
                                        "{actor:?} {action:?} {resource:?} {grant:?} ({at:?}): \
                                         permit relied on {:?}, expected {want_grant:?}",
                                        permit.grant()
                                    ));
                                }
                                if !permit.covers(action, &resource) || permit.actor() != &actor {
                                    mismatches.push(format!("{actor:?} {action:?}: wrong permit"));
                                }
                            }
                            (Err(denied), false) => {
                                if denied.action != action || denied.resource != resource {
                                    mismatches.push(format!("{actor:?} {action:?}: wrong refusal"));
                                }
                            }
                            _ => mismatches.push(format!(
                                "{actor:?} {action:?} {resource:?} {grant:?} ({at:?}): \
                                 policies {}, rules {}",
                                if got.is_ok() { "allow" } else { "deny" },
                                if want { "allow" } else { "deny" }
                            )),
                        }
                    }
                }
            }
        }
    }

    let mut report = String::new();
    for m in mismatches.iter().take(25) {
        let _ = writeln!(report, "{m}");
    }
    assert!(
        mismatches.is_empty(),
        "{} of {decisions} decisions differ from the rules, first ones:\n{report}",
        mismatches.len()
    );
    // The matrix is not vacuous: every action is allowed to someone somewhere in it.
    let never: Vec<_> = Action::ALL
        .into_iter()
        .filter(|a| !allowed_actions.contains(a))
        .collect();
    assert!(never.is_empty(), "never allowed: {never:?}");
    assert!(decisions > 18_000, "only {decisions} decisions");
}

// ---------------------------------------------------------------------------------------------
// Cases the matrix cannot reach, and the permit itself.
// ---------------------------------------------------------------------------------------------

fn person_in(
    world: &World,
    team_id: Option<Uuid>,
    key_worker_id: Option<Uuid>,
    scope: AccessScope,
) -> Resource {
    Resource::Person {
        id: Uuid::new_v4(),
        service_id: world.service,
        organisation_id: world.organisation,
        team_id,
        key_worker_id,
        scope,
    }
}

#[test]
fn a_practitioner_with_no_team_does_not_match_a_person_with_no_team() {
    let world = World::new();
    let authorizer = Authorizer::new();
    let Actor::Staff(mut me) = world.staff(Role::Practitioner, true, true) else {
        unreachable!()
    };
    me.team_id = None;
    let me = Actor::Staff(me);
    for scope in [AccessScope::Team, AccessScope::Caseload] {
        let person = person_in(&world, None, None, scope);
        assert!(
            authorizer
                .authorize(&me, Action::PersonRead, person)
                .is_err(),
            "{scope:?}"
        );
        assert!(!expected(&me, Action::PersonRead, &person, None));
    }
    let shared = person_in(&world, None, None, AccessScope::Service);
    assert!(
        authorizer
            .authorize(&me, Action::PersonRead, shared)
            .is_ok()
    );
}

#[test]
fn a_key_worker_reads_their_caseload_even_without_a_team() {
    let world = World::new();
    let authorizer = Authorizer::new();
    let Actor::Staff(mut me) = world.staff(Role::Practitioner, true, true) else {
        unreachable!()
    };
    me.team_id = None;
    let me = Actor::Staff(me);
    let mine = person_in(&world, None, Some(world.me), AccessScope::Caseload);
    let theirs = person_in(&world, None, Some(world.colleague), AccessScope::Caseload);
    assert!(
        authorizer
            .authorize(&me, Action::PersonUpdate, mine)
            .is_ok()
    );
    assert!(
        authorizer
            .authorize(&me, Action::PersonUpdate, theirs)
            .is_err()
    );
}

#[test]
fn a_team_manager_reads_a_caseload_record_of_their_team_only() {
    let world = World::new();
    let authorizer = Authorizer::new();
    let manager = world.staff(Role::TeamManager, true, true);
    let ours = person_in(
        &world,
        Some(world.team),
        Some(world.colleague),
        AccessScope::Caseload,
    );
    let theirs = person_in(
        &world,
        Some(world.other_team),
        Some(world.colleague),
        AccessScope::Caseload,
    );
    assert!(
        authorizer
            .authorize(&manager, Action::PersonRead, ours)
            .is_ok()
    );
    assert!(
        authorizer
            .authorize(&manager, Action::PersonRead, theirs)
            .is_err()
    );
}

#[test]
fn breaking_the_glass_lets_a_practitioner_read_but_not_update_another_services_record() {
    let world = World::new();
    let authorizer = Authorizer::new();
    let me = world.staff(Role::Practitioner, true, true);
    let elsewhere = world.person(Position::OtherService, AccessScope::Service);
    let glass = Context {
        grant: Some(Grant::BreakGlass),
    };

    assert!(
        authorizer
            .authorize(&me, Action::PersonRead, elsewhere)
            .is_err()
    );
    assert!(
        authorizer
            .authorize(&me, Action::PersonBreakGlass, elsewhere)
            .is_ok()
    );
    let permit = authorizer
        .authorize_in(&me, Action::PersonRead, elsewhere, glass)
        .expect("break-the-glass read");
    assert_eq!(permit.grant(), Some(Grant::BreakGlass));
    assert!(
        authorizer
            .authorize_in(&me, Action::PersonUpdate, elsewhere, glass)
            .is_err()
    );
}

#[test]
fn a_grant_that_was_not_needed_is_not_recorded_on_the_permit() {
    let world = World::new();
    let authorizer = Authorizer::new();
    let me = world.staff(Role::Practitioner, true, true);
    let mine = world.person(Position::InScope, AccessScope::Service);
    let permit = authorizer
        .authorize_in(
            &me,
            Action::PersonRead,
            mine,
            Context {
                grant: Some(Grant::BreakGlass),
            },
        )
        .expect("own service");
    assert_eq!(permit.grant(), None);
}

#[test]
fn an_action_on_the_wrong_kind_of_resource_is_refused() {
    let world = World::new();
    let authorizer = Authorizer::new();
    let dpo = world.staff(Role::DataProtectionOfficer, false, true);
    let organisation = world.organisation(Position::InScope);
    assert!(
        authorizer
            .authorize(&dpo, Action::PersonShred, organisation)
            .is_err()
    );
    assert!(
        authorizer
            .authorize(&Actor::System, Action::KeysRotate, organisation)
            .is_err()
    );
    let practitioner = world.staff(Role::Practitioner, true, true);
    let person = world.person(Position::InScope, AccessScope::Service);
    assert!(
        authorizer
            .authorize(&practitioner, Action::PersonList, person)
            .is_err()
    );
}

#[test]
fn a_refusal_names_the_actor_action_and_resource() {
    let world = World::new();
    let authorizer = Authorizer::new();
    let admin = world.staff(Role::Administrator, false, true);
    let person = world.person(Position::InScope, AccessScope::Service);
    let denied = authorizer
        .authorize(&admin, Action::PersonRead, person)
        .expect_err("administrators see no record content");
    assert_eq!(denied.actor, admin);
    assert_eq!(denied.action, Action::PersonRead);
    assert_eq!(denied.resource, person);
    assert_eq!(
        denied.to_string(),
        format!("{} may not person.read this person", world.me)
    );
}

// ---------------------------------------------------------------------------------------------
// The shipped schema and policies.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_shipped_schema_and_default_policies_validate_without_warnings() {
    let engine = engine::Engine::shipped().expect("shipped policies load");
    let (schema, warnings) =
        cedar_policy::Schema::from_cedarschema_str(Authorizer::schema_text()).expect("schema");
    assert_eq!(warnings.count(), 0);
    let policies: cedar_policy::PolicySet = Authorizer::default_policies_text()
        .parse()
        .expect("policies parse");
    let result = Validator::new(schema).validate(&policies, ValidationMode::Strict);
    assert!(result.validation_passed_without_warnings(), "{result}");
    assert_eq!(engine.policy_count(), policies.policies().count());
    assert!(engine.policy_count() > 20);
}

#[test]
fn every_action_of_the_crate_is_declared_in_the_schema_and_no_other() {
    let (schema, _) =
        cedar_policy::Schema::from_cedarschema_str(Authorizer::schema_text()).expect("schema");
    let mut declared: Vec<String> = schema
        .actions()
        .map(|a| a.id().unescaped().to_owned())
        .collect();
    declared.sort();
    let mut ours: Vec<String> = Action::ALL.iter().map(|a| a.code().to_owned()).collect();
    ours.sort();
    assert_eq!(declared, ours);
}

#[test]
fn the_entities_of_every_kind_of_request_conform_to_the_schema() {
    let world = World::new();
    let engine = engine::Engine::shipped().expect("shipped policies load");
    for actor in actors(&world) {
        for action in Action::ALL {
            for resource in world.resources(action, Position::InScope) {
                let entities = engine
                    .request_entities(&actor, action, &resource)
                    .expect("entities build");
                Entities::from_entities(entities, Some(engine.schema()))
                    .unwrap_or_else(|e| panic!("{actor:?} {resource:?}: {e}"));
            }
        }
    }
}

#[test]
fn codes_round_trip() {
    for role in Role::ALL {
        assert_eq!(Role::from_code(role.code()), Some(role));
    }
    for action in Action::ALL {
        assert_eq!(Action::from_code(action.code()), Some(action));
    }
    for scope in AccessScope::ALL {
        assert_eq!(AccessScope::from_code(scope.code()), Some(scope));
    }
    for grant in Grant::ALL {
        assert_eq!(Grant::from_code(grant.code()), Some(grant));
    }
    assert_eq!(Role::from_code("root"), None);
    assert_eq!(Action::from_code("person.delete"), None);
    assert_eq!(AccessScope::from_code("world"), None);
    assert_eq!(Grant::from_code("sudo"), None);
}

#[test]
fn the_authorizer_is_cheap_to_share_between_threads() {
    fn shareable<T: Send + Sync + Clone + std::fmt::Debug>() {}
    shareable::<Authorizer>();
    let a = Authorizer::new();
    let b = a.clone();
    assert!(Arc::ptr_eq(&a.engine, &b.engine));
    assert!(format!("{a:?}").contains("default.cedar"));
}

// ---------------------------------------------------------------------------------------------
// An organisation's policy files.
// ---------------------------------------------------------------------------------------------

/// A fresh directory under the system's temp dir, removed on drop.
struct PolicyDir(PathBuf);

impl PolicyDir {
    fn with(files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("confidant-policy-test-{}", Uuid::new_v4()));
        std::fs::create_dir(&dir).expect("temp dir");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write policy file");
        }
        PolicyDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PolicyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load_error(files: &[(&str, &str)]) -> (PolicyDir, PolicyError) {
    let dir = PolicyDir::with(files);
    let error = Authorizer::with_policy_dir(dir.path()).expect_err("the file is refused");
    (dir, error)
}

#[track_caller]
fn assert_invalid_at(
    error: &PolicyError,
    file: &Path,
    want_line: usize,
    want_column: usize,
    says: &str,
) {
    match error {
        PolicyError::Invalid {
            file: got_file,
            line,
            column,
            message,
        } => {
            assert_eq!(got_file, file, "{error}");
            assert_eq!((*line, *column), (want_line, want_column), "{error}");
            assert!(message.contains(says), "{error}");
        }
        PolicyError::Read { .. } => panic!("expected Invalid, got {error}"),
    }
}

#[test]
fn an_extra_forbid_tightens_what_the_defaults_allow() {
    let world = World::new();
    let manager = world.staff(Role::TeamManager, true, true);
    let practitioner = world.staff(Role::Practitioner, true, true);
    let caseload = person_in(
        &world,
        Some(world.team),
        Some(world.me),
        AccessScope::Caseload,
    );
    let dir = PolicyDir::with(&[(
        "local.cedar",
        "// Team managers here do not change caseload records.\n\
         forbid (principal is Confidant::User, action == Confidant::Action::\"person.update\", resource is Confidant::Person)\n\
         when { principal.role == Confidant::Role::\"team_manager\" && resource.scope == Confidant::Scope::\"caseload\" };\n",
    )]);

    let defaults = Authorizer::new();
    let local = Authorizer::with_policy_dir(dir.path()).expect("valid policy file");
    assert!(
        defaults
            .authorize(&manager, Action::PersonUpdate, caseload)
            .is_ok()
    );
    assert!(
        local
            .authorize(&manager, Action::PersonUpdate, caseload)
            .is_err()
    );
    // Only that is tightened.
    assert!(
        local
            .authorize(&manager, Action::PersonRead, caseload)
            .is_ok()
    );
    assert!(
        local
            .authorize(&practitioner, Action::PersonUpdate, caseload)
            .is_ok()
    );
    assert!(format!("{local:?}").contains("local.cedar"));
}

#[test]
fn a_permit_everything_file_cannot_lift_the_shipped_forbids() {
    let world = World::new();
    let dir = PolicyDir::with(&[("00-open.cedar", "permit (principal, action, resource);\n")]);
    let open = Authorizer::with_policy_dir(dir.path()).expect("valid policy file");

    let admin = world.staff(Role::Administrator, false, true);
    let untrained = world.staff(Role::ServiceManager, true, false);
    let practitioner = world.staff(Role::Practitioner, true, true);
    let person = world.person(Position::InScope, AccessScope::Caseload);
    let abroad = world.person(Position::OtherOrganisation, AccessScope::Service);

    // The file does widen what is not forbidden ...
    assert!(
        open.authorize(
            &admin,
            Action::OversightRead,
            world.organisation(Position::InScope)
        )
        .is_ok()
    );
    // ... but not past a forbid, nor outside the schema.
    assert!(open.authorize(&admin, Action::PersonRead, person).is_err());
    assert!(
        open.authorize(&untrained, Action::PersonRead, person)
            .is_err()
    );
    assert!(
        open.authorize(&practitioner, Action::PersonRead, abroad)
            .is_err()
    );
    assert!(
        open.authorize(&Actor::System, Action::PersonRead, person)
            .is_err()
    );
    assert!(
        open.authorize(
            &Actor::System,
            Action::PersonList,
            world.service(Position::InScope)
        )
        .is_err()
    );
    assert!(
        open.authorize(&practitioner, Action::PersonRead, Resource::Installation)
            .is_err()
    );
}

#[test]
fn files_are_taken_in_order_of_name_and_other_files_are_ignored() {
    let dir = PolicyDir::with(&[
        (
            "b.cedar",
            "@id(\"same\") forbid (principal, action == Confidant::Action::\"keys.rotate\", resource);\n",
        ),
        (
            "a.cedar",
            "@id(\"same\") permit (principal, action == Confidant::Action::\"keys.rotate\", resource);\n",
        ),
        ("README.md", "not a policy {"),
        ("notes.cedar.bak", "not a policy {"),
    ]);
    let authorizer = Authorizer::with_policy_dir(dir.path()).expect("both files load");
    let debug = format!("{authorizer:?}");
    let (a, b) = (debug.find("a.cedar"), debug.find("b.cedar"));
    assert!(a.is_some() && b.is_some() && a < b, "{debug}");
    assert!(!debug.contains("README"), "{debug}");
    assert!(
        authorizer
            .authorize(&Actor::System, Action::KeysRotate, Resource::Installation)
            .is_err()
    );
}

#[test]
fn an_empty_policy_dir_decides_as_the_defaults_do() {
    let world = World::new();
    let dir = PolicyDir::with(&[]);
    let authorizer = Authorizer::with_policy_dir(dir.path()).expect("empty dir");
    let me = world.staff(Role::Practitioner, true, true);
    let mine = world.person(Position::InScope, AccessScope::Caseload);
    assert!(authorizer.authorize(&me, Action::PersonRead, mine).is_ok());
    assert!(
        authorizer
            .authorize(&me, Action::PersonShred, mine)
            .is_err()
    );
}

#[test]
fn a_missing_policy_dir_is_a_read_error_naming_it() {
    let missing = std::env::temp_dir().join(format!("confidant-no-such-dir-{}", Uuid::new_v4()));
    match Authorizer::with_policy_dir(&missing) {
        Err(PolicyError::Read { file, .. }) => assert_eq!(file, missing),
        other => panic!("expected a read error, got {other:?}"),
    }
}

#[test]
fn a_syntax_error_names_its_file_line_and_column() {
    let text = "// Local rules.\n\
                permit (principal, action, resource)\n\
                when { principal.role == };\n";
    let (dir, error) = load_error(&[("local.cedar", text)]);
    // The `}` that came where an expression was due: line 3, column 26.
    assert_invalid_at(
        &error,
        &dir.path().join("local.cedar"),
        3,
        26,
        "unexpected token `}`",
    );
}

#[test]
fn an_unknown_attribute_names_its_file_line_and_column() {
    let text = "// Local rules.\n\
                forbid (principal is Confidant::User, action, resource)\n\
                when { principal.colour == \"red\" };\n";
    let (dir, error) = load_error(&[("local.cedar", text)]);
    assert_invalid_at(&error, &dir.path().join("local.cedar"), 3, 8, "colour");
}

#[test]
fn a_value_of_the_wrong_type_names_its_file_line_and_column() {
    let text = "permit (principal is Confidant::User, action, resource)\n\
                when {\n  \
                  principal.trained < 3\n\
                };\n";
    let (dir, error) = load_error(&[("zz-local.cedar", text)]);
    assert_invalid_at(
        &error,
        &dir.path().join("zz-local.cedar"),
        3,
        3,
        "expected Long but saw Bool",
    );
}

#[test]
fn a_role_that_does_not_exist_is_refused_rather_than_never_matching() {
    let text = "forbid (principal is Confidant::User, action, resource)\n\
                when { principal.role == Confidant::Role::\"practitoner\" };\n";
    let (dir, error) = load_error(&[("local.cedar", text)]);
    assert_invalid_at(
        &error,
        &dir.path().join("local.cedar"),
        2,
        26,
        "practitoner",
    );
}

#[test]
fn the_first_bad_file_in_name_order_is_the_one_reported() {
    let good = "forbid (principal, action == Confidant::Action::\"keys.rotate\", resource);\n";
    let (dir, error) = load_error(&[
        ("a.cedar", good),
        (
            "b.cedar",
            "permit (principal, action, resource) when { resource.colour };\n",
        ),
        ("c.cedar", "permit ("),
    ]);
    assert_invalid_at(&error, &dir.path().join("b.cedar"), 1, 45, "colour");
}

#[test]
fn a_policy_template_is_refused() {
    let text = "\n  permit (principal == ?principal, action, resource);\n";
    let (dir, error) = load_error(&[("local.cedar", text)]);
    assert_invalid_at(&error, &dir.path().join("local.cedar"), 2, 24, "template");
}

#[test]
fn line_and_column_count_characters_from_one() {
    let text = "ab\nçd\n";
    assert_eq!(load::line_column(text, 0), (1, 1));
    assert_eq!(load::line_column(text, 3), (2, 1));
    // `d` is byte 5 (ç is two bytes) but the second character of line 2.
    assert_eq!(load::line_column(text, 5), (2, 2));
    assert_eq!(load::line_column(text, 999), (3, 1));
}

// ---------------------------------------------------------------------------------------------
// The per-shape specialisation of the policies decides as the policies as written do.
// ---------------------------------------------------------------------------------------------

/// Every request of the matrix, decided by the engine's specialised sets and by the whole set as
/// written, must come out the same (grant relied on included).
fn assert_specialisation_is_faithful(engine: &engine::Engine, world: &World) {
    let mut differences = Vec::new();
    let mut allowed = 0_usize;
    for actor in actors(world) {
        for action in Action::ALL {
            for at in POSITIONS {
                for resource in world.resources(action, at) {
                    for grant in grants() {
                        let fast = engine.decide(&actor, action, &resource, grant);
                        let whole = engine.decide_unspecialised(&actor, action, &resource, grant);
                        if matches!(fast, engine::Outcome::Allow { .. }) {
                            allowed += 1;
                        }
                        if fast != whole {
                            differences.push(format!(
                                "{actor:?} {action:?} {resource:?} {grant:?}: {fast:?} vs {whole:?}"
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences, first: {:?}",
        differences.len(),
        differences.first()
    );
    assert!(allowed > 0);
}

#[test]
fn the_specialised_default_policies_decide_as_the_policies_as_written() {
    let engine = engine::Engine::shipped().expect("shipped policies load");
    let world = World::new();
    assert_specialisation_is_faithful(&engine, &world);
    // And it is worth having: a person read is asked of far fewer policies than the whole set.
    let me = world.staff(Role::Practitioner, true, true);
    let person = world.person(Position::InScope, AccessScope::Team);
    let asked = engine.policies_for(&me, Action::PersonRead, &person);
    // docs/performance.md quotes these two figures.
    assert_eq!((asked, engine.policy_count()), (11, 46));
    assert!(
        asked > 0 && asked * 2 < engine.policy_count(),
        "{asked} of {}",
        engine.policy_count()
    );
    // The operator reading a person meets one policy only: the forbid that stops it.
    assert_eq!(
        engine.policies_for(&Actor::System, Action::PersonRead, &person),
        1
    );
}

#[test]
fn the_specialised_policies_of_an_organisation_decide_as_written_whatever_their_scope() {
    // Every kind of scope constraint, some of which the shape decides and some it must keep, naming
    // entities of the matrix's world so that each of them matches some requests.
    let world = World::new();
    let (me, organisation, colleague) = (world.me, world.organisation, world.colleague);
    let text = format!(
        r#"
        permit (principal, action, resource);
        forbid (principal == Confidant::Operator::"system", action in [Confidant::Action::"keys.rotate", Confidant::Action::"service.read"], resource);
        forbid (principal is Confidant::User, action == Confidant::Action::"person.update", resource is Confidant::Person)
        when {{ principal.role == Confidant::Role::"service_manager" }};
        forbid (principal == Confidant::User::"{me}", action == Confidant::Action::"staff.update", resource);
        forbid (principal in Confidant::User::"{me}", action == Confidant::Action::"oversight.read", resource)
        when {{ !principal.trained }};
        forbid (principal is Confidant::User in Confidant::User::"{me}", action == Confidant::Action::"audit.read", resource)
        when {{ principal.role == Confidant::Role::"auditor" }};
        forbid (principal, action, resource == Confidant::Installation::"installation")
        unless {{ principal is Confidant::Operator }};
        forbid (principal, action == Confidant::Action::"break_glass.review", resource in Confidant::Organisation::"{organisation}");
        forbid (principal, action, resource is Confidant::Staff in Confidant::Staff::"{colleague}");
        permit (principal, action == Confidant::Action::"person.read", resource is Confidant::Person)
        when {{ context has grant && context.grant == Confidant::Grant::"trustee_matter" }};
        "#
    );
    let dir = PolicyDir::with(&[("scopes.cedar", &text)]);
    let files = load::read_policy_dir(dir.path()).expect("read");
    let engine = engine::Engine::shipped()
        .and_then(|shipped| shipped.with_files(&files))
        .expect("valid policies");
    assert_specialisation_is_faithful(&engine, &world);
}
