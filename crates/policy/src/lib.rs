//! Authorization: the only place a [`Permit`] is minted, and every decision is made by Cedar policies.
//!
//! Guarantees:
//! - A `Permit` cannot be built outside this crate (its fields are private and it has no public
//!   constructor), so holding one proves that [`Authorizer::authorize_in`] allowed exactly that actor,
//!   action and resource. Core services accept no other proof.
//! - Every decision, the operator's (`Actor::System`) included, is made by Cedar policies checked
//!   against one schema ([`Authorizer::schema_text`]) in strict mode. The shipped policies
//!   ([`Authorizer::default_policies_text`]) are always loaded; an organisation's own policy files can
//!   add to them but cannot lift their `forbid`s: nobody acts across organisations, the operator and
//!   administrators and auditors never touch record content, and untrained staff touch none.
//! - A policy file that does not parse or does not validate is refused as a whole, with its file,
//!   line and column ([`PolicyError`]); nothing is half loaded.
//! - Decisions fail closed: a request the schema does not allow (an action on the wrong kind of
//!   resource), or any error while evaluating a policy, is a refusal.
//! - Every refusal is a [`Denied`] value that names the actor, action and resource, so it can be
//!   audited.
//! - [`Permit::grant`] is set only when the action would have been refused without the grant, so the
//!   audit log marks exactly the reads that needed the glass broken.

mod engine;
mod load;

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use engine::Engine;

/// A staff role. The codes are stable: they are stored and written to the audit log, and the schema
/// enumerates them (`Confidant::Role`).
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
}

/// How widely a person's record is shared inside their service (`Confidant::Scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessScope {
    /// Everyone working in the person's service.
    Service,
    /// The person's team, and the service manager.
    Team,
    /// The key worker, the manager of the person's team, and the service manager.
    Caseload,
}

impl AccessScope {
    pub const ALL: [AccessScope; 3] = [
        AccessScope::Service,
        AccessScope::Team,
        AccessScope::Caseload,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AccessScope::Service => "service",
            AccessScope::Team => "team",
            AccessScope::Caseload => "caseload",
        }
    }

    pub fn from_code(code: &str) -> Option<AccessScope> {
        AccessScope::ALL.into_iter().find(|s| s.code() == code)
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
    /// The team the user belongs to within their service, if any.
    pub team_id: Option<Uuid>,
    pub role: Role,
    /// Training and policy acknowledgements are current.
    pub trained: bool,
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

/// What the actor wants to do. Codes are stable, appear in the audit log and are the action ids in
/// the schema (`Confidant::Action::"person.read"`).
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
    /// Destroys a person's record: their data key (every sealed value of theirs becomes
    /// unreadable) and every row of theirs, leaving a certificate that identifies no one.
    PersonShred,
    KeysRotate,
    /// Reads the audit chain's head to keep it elsewhere as a checkpoint.
    AuditCheckpoint,
    /// Lists the staff accounts of an organisation (resource `Organisation`) or sees one account
    /// (resource `Staff`).
    StaffRead,
    /// Sets an account's password, resets its two-factor or records its training (resource
    /// `Staff`): what could hand an account, and its access, to someone else.
    StaffUpdate,
    /// Sets an account's display name, job title and team (resource `Staff`): how colleagues see
    /// them and where they work, which hands nobody the account.
    StaffDetails,
    /// Disables an account or ends its sessions (resource `Staff`): only ever takes access away.
    StaffDisable,
    /// Puts a person in a team or gives them a key worker (resource `Person`): decides who sees the
    /// record in services scoped by team or caseload.
    PersonAssign,
    /// Issues a personal access token for an account (resource `Staff`).
    TokenIssue,
    /// Opens a break-the-glass grant on a person (resource `Person`).
    PersonBreakGlass,
    /// Sees and signs off the break-glass review queue (resource `Organisation`).
    BreakGlassReview,
    /// Reads who has accessed a record: ids, actions and times only (resource `Person`).
    AuditRead,
    /// Sees the training and break-glass dashboards (resource `Organisation` or `Service`).
    OversightRead,
    /// Gives a trustee a matter on one person (resource `Person`). A processor's worker gets a
    /// referral only through a disclosure to their processor (`person.share`).
    AccessGrant,
    /// Shares a person's data with a recipient of the register (resource `Person`): the disclosure
    /// still has to pass every sharing rule in core.
    PersonShare,
    /// Approves, as the second person, sending a recipient categories beyond its set (resource
    /// `Person`).
    ShareApprove,
    /// Records or lifts a restriction of processing or an upheld objection (resource `Person`).
    PersonRestrict,
    /// Adds to and changes the recipient register and the services' consent purposes (resource
    /// `Organisation`).
    RecipientManage,
    /// Reads one's own task inbox (resource `Organisation`).
    TaskRead,
    /// Closes one of one's own tasks by hand (resource `Organisation`; core checks it is theirs).
    TaskClose,
    /// Opens the tasks that fall due with time, and those a change before the inbox left without
    /// one (the operator; resource `Organisation`).
    TaskSweep,
    /// Places a legal hold on a person's record, keeping it from destruction (resource `Person`).
    HoldPlace,
    /// Releases a legal hold (resource `Person`): the Data Protection Officer only.
    HoldRelease,
    /// Decides what becomes of a record whose retention has ended (resource `Person`): destroy
    /// (for the Data Protection Officer to approve), keep until a date, or transfer.
    RetentionReview,
    /// Logs a request about the person's rights (resource `Person`): whoever may read the
    /// record, and the Data Protection Officer and the Caldicott Guardian.
    RightsLog,
    /// Sees a service's rights requests and their clocks (resource `Service`).
    RightsRead,
    /// Moves a rights request on (identity, clarification, extension, answer; resource
    /// `Service`): the Data Protection Officer and the service's manager.
    RightsManage,
}

impl Action {
    pub const ALL: [Action; 36] = [
        Action::OrganisationCreate,
        Action::ServiceCreate,
        Action::ServiceRead,
        Action::StaffCreate,
        Action::PersonCreate,
        Action::PersonRead,
        Action::PersonUpdate,
        Action::PersonList,
        Action::PersonFind,
        Action::PersonShred,
        Action::KeysRotate,
        Action::AuditCheckpoint,
        Action::StaffRead,
        Action::StaffUpdate,
        Action::TokenIssue,
        Action::PersonBreakGlass,
        Action::BreakGlassReview,
        Action::AuditRead,
        Action::OversightRead,
        Action::AccessGrant,
        Action::StaffDisable,
        Action::PersonAssign,
        Action::PersonShare,
        Action::ShareApprove,
        Action::PersonRestrict,
        Action::RecipientManage,
        Action::TaskRead,
        Action::TaskClose,
        Action::TaskSweep,
        Action::StaffDetails,
        Action::HoldPlace,
        Action::HoldRelease,
        Action::RetentionReview,
        Action::RightsLog,
        Action::RightsRead,
        Action::RightsManage,
    ];

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
            Action::StaffRead => "staff.read",
            Action::StaffUpdate => "staff.update",
            Action::TokenIssue => "token.issue",
            Action::PersonBreakGlass => "person.break_glass",
            Action::BreakGlassReview => "break_glass.review",
            Action::AuditRead => "audit.read",
            Action::OversightRead => "oversight.read",
            Action::AccessGrant => "access.grant",
            Action::StaffDisable => "staff.disable",
            Action::PersonAssign => "person.assign",
            Action::PersonShare => "person.share",
            Action::ShareApprove => "share.approve",
            Action::PersonRestrict => "person.restrict",
            Action::RecipientManage => "recipient.manage",
            Action::TaskRead => "task.read",
            Action::TaskClose => "task.close",
            Action::TaskSweep => "task.sweep",
            Action::StaffDetails => "staff.details",
            Action::HoldPlace => "hold.place",
            Action::HoldRelease => "hold.release",
            Action::RetentionReview => "retention.review",
            Action::RightsLog => "rights.log",
            Action::RightsRead => "rights.read",
            Action::RightsManage => "rights.manage",
        }
    }

    pub fn from_code(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }
}

/// What the action is on, with the attributes the policies need (ids only).
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
        team_id: Option<Uuid>,
        key_worker_id: Option<Uuid>,
        scope: AccessScope,
    },
    /// A staff account, with the role it holds (who may change an account depends on it).
    Staff {
        id: Uuid,
        organisation_id: Uuid,
        role: Role,
    },
}

impl Resource {
    pub fn type_code(&self) -> &'static str {
        match self {
            Resource::Installation => "installation",
            Resource::Organisation { .. } => "organisation",
            Resource::Service { .. } => "service",
            Resource::Person { .. } => "person",
            Resource::Staff { .. } => "staff",
        }
    }

    pub fn id(&self) -> Option<Uuid> {
        match *self {
            Resource::Installation => None,
            Resource::Organisation { id }
            | Resource::Service { id, .. }
            | Resource::Person { id, .. }
            | Resource::Staff { id, .. } => Some(id),
        }
    }

    /// The organisation the resource belongs to (an organisation belongs to itself); `None` for the
    /// installation.
    pub fn organisation_id(&self) -> Option<Uuid> {
        match *self {
            Resource::Installation => None,
            Resource::Organisation { id } => Some(id),
            Resource::Service {
                organisation_id, ..
            }
            | Resource::Person {
                organisation_id, ..
            }
            | Resource::Staff {
                organisation_id, ..
            } => Some(organisation_id),
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

/// A live grant that lets an actor reach a person their role alone would not (`Confidant::Grant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// Break the glass: an emergency read, reviewed afterwards.
    BreakGlass,
    /// A matter put to the trustees (a complaint, a serious incident).
    TrusteeMatter,
    /// A referral of the person to a processor's staff.
    ProcessorReferral,
}

impl Grant {
    pub const ALL: [Grant; 3] = [
        Grant::BreakGlass,
        Grant::TrusteeMatter,
        Grant::ProcessorReferral,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Grant::BreakGlass => "break_glass",
            Grant::TrusteeMatter => "trustee_matter",
            Grant::ProcessorReferral => "processor_referral",
        }
    }

    pub fn from_code(code: &str) -> Option<Grant> {
        Grant::ALL.into_iter().find(|g| g.code() == code)
    }
}

/// What the request knows besides actor, action and resource. The caller fills it from the store.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Context {
    /// A live grant the actor holds on this very person, if any.
    pub grant: Option<Grant>,
}

/// Proof that `actor` may do `action` on `resource`. Only [`Authorizer::authorize_in`] makes one.
#[derive(Debug, Clone)]
pub struct Permit {
    actor: Actor,
    action: Action,
    resource: Resource,
    grant: Option<Grant>,
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
    /// The grant the decision relied on: `Some` only when the action would have been refused without
    /// it. The audit log marks break-glass reads with it.
    pub fn grant(&self) -> Option<Grant> {
        self.grant
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

/// Why a policy directory could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A policy does not parse or does not validate against the schema. Names the file, the 1-based
    /// line and column (in characters), and what is wrong, for example
    /// ``policies/local.cedar:3:8: for policy `policy0`, attribute `colour` on entity type `Confidant::User` not found``.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("could not read {file}: {message}")]
    Read { file: PathBuf, message: String },
}

const SCHEMA: &str = include_str!("../cedar/confidant.cedarschema");
const DEFAULT_POLICIES: &str = include_str!("../cedar/default.cedar");

/// The shipped schema and policies, parsed and validated once per process.
static SHIPPED: LazyLock<Arc<Engine>> = LazyLock::new(|| {
    #[expect(
        clippy::expect_used,
        reason = "the shipped schema and policies are constants, and a test proves they validate"
    )]
    let engine = Engine::shipped().expect("the shipped schema and policies validate");
    Arc::new(engine)
});

/// Decides. Cheap to clone (the parsed policies are shared), `Send` and `Sync`.
#[derive(Clone)]
pub struct Authorizer {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("sources", &self.engine.sources())
            .field("policies", &self.engine.policy_count())
            .finish()
    }
}

impl Default for Authorizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Authorizer {
    /// The shipped schema and default policies only.
    pub fn new() -> Self {
        Self {
            engine: Arc::clone(&SHIPPED),
        }
    }

    /// The shipped schema and default policies plus every `*.cedar` file in `dir`, taken in order of
    /// file name, each parsed and validated against the schema. Other files are ignored. The first
    /// file that fails stops the load.
    pub fn with_policy_dir(dir: &Path) -> Result<Self, PolicyError> {
        let files = load::read_policy_dir(dir)?;
        let engine = SHIPPED.with_files(&files)?;
        Ok(Self {
            engine: Arc::new(engine),
        })
    }

    /// Decides with no grant in the context.
    #[expect(
        clippy::result_large_err,
        reason = "a refusal carries the actor and resource whole so it can be audited; it is made at most once per request"
    )]
    pub fn authorize(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
    ) -> Result<Permit, Denied> {
        self.authorize_in(actor, action, resource, Context::default())
    }

    /// Decides. A refusal names the actor, action and resource so it can be audited.
    #[expect(
        clippy::result_large_err,
        reason = "a refusal carries the actor and resource whole so it can be audited; it is made at most once per request"
    )]
    pub fn authorize_in(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        context: Context,
    ) -> Result<Permit, Denied> {
        match self.engine.decide(actor, action, &resource, context.grant) {
            engine::Outcome::Allow { relied_on } => Ok(Permit {
                actor: actor.clone(),
                action,
                resource,
                grant: relied_on,
            }),
            engine::Outcome::Deny => Err(Denied {
                actor: actor.clone(),
                action,
                resource,
            }),
        }
    }

    /// The Cedar schema every request and policy is checked against.
    pub fn schema_text() -> &'static str {
        SCHEMA
    }

    /// The shipped policies, always loaded.
    pub fn default_policies_text() -> &'static str {
        DEFAULT_POLICIES
    }
}

#[cfg(test)]
mod tests;
