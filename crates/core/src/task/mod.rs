//! The task inbox: one mechanism for everything that waits for someone.
//!
//! A task has a kind, a subject (ids only: a referral, an approval, a disclosure, a grant, a
//! recipient, a member of staff, and the person where there is one), a due date where a rule gives
//! one, whom it is for (a member of staff, or a role in a service or the whole organisation), and
//! once closed, who closed it, when and how. Closed tasks are kept.
//!
//! Guarantees (each has tests):
//! - A change that leaves something waiting opens its task, and the change that does the work
//!   closes it, in the change's own transaction with its audit event ([`AuditDraft::opens`],
//!   [`AuditDraft::closes`]): no referral is received without its triage task, none is triaged
//!   leaving it open.
//! - What falls due with time (training, a processor's agreement) and what was waiting before the
//!   inbox existed is opened by the sweep ([`Confidant::sweep_tasks`]), which is idempotent: one
//!   open task per kind, subject and person.
//! - An inbox holds only the tasks meant for its holder; a task is closed by hand only by someone
//!   it is for, and only the kinds that are ticked off by hand (telling someone), with how and when.
//!   A task holds no personal data: its page is where the work is done, under that page's rules.

mod sweep;

use confidant_policy::{Action, Actor, Resource};
use time::{Date, Duration};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::AuditDraft;
use crate::organisation::{OrganisationError, micros};
use crate::person::{Violation, Violations};
use crate::store::{
    Audience, HandClosure, Inbox, NewTask, Placement, Store, TaskKind, TaskRecord, TaskState,
    TellHow,
};
use crate::{AccessScope, Clock, Confidant, Purpose, Role};

pub(crate) use sweep::training_falls_due;
pub use sweep::{AGREEMENT_NOTICE, SweepReport, TRAINING_NOTICE};

/// How many open tasks an inbox lists at once.
pub const INBOX_LIMIT: u32 = 500;

/// A task as its holder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub task: TaskRecord,
    /// Past its due date (and still open).
    pub overdue: bool,
    /// The recipient's name, where the task is about a recipient (an organisation, not a person).
    pub recipient: Option<String>,
}

/// The roles that work with a service's records.
const IN_SERVICE: [Role; 3] = [Role::Practitioner, Role::TeamManager, Role::ServiceManager];

impl NewTask {
    fn new(organisation_id: Uuid, kind: TaskKind, subject_id: Uuid) -> Self {
        Self {
            id: Uuid::now_v7(),
            organisation_id,
            service_id: None,
            kind,
            subject_id,
            person_id: None,
            due_at_micros: None,
            audience: Vec::new(),
        }
    }

    /// A referral waits for triage by those working in its service.
    pub(crate) fn referral_triage(organisation_id: Uuid, service_id: Uuid, referral: Uuid) -> Self {
        Self {
            service_id: Some(service_id),
            audience: in_service(service_id),
            ..Self::new(organisation_id, TaskKind::ReferralTriage, referral)
        }
    }

    /// An approval waits for a second person: the DPO, the Caldicott Guardian or the service's
    /// manager (as `share.approve` allows).
    pub(crate) fn share_approval(
        organisation_id: Uuid,
        service_id: Uuid,
        person_id: Uuid,
        approval: Uuid,
    ) -> Self {
        Self {
            service_id: Some(service_id),
            person_id: Some(person_id),
            audience: vec![
                organisation_wide(Role::DataProtectionOfficer),
                organisation_wide(Role::CaldicottGuardian),
                Audience::Role {
                    role: Role::ServiceManager,
                    service_id: Some(service_id),
                },
            ],
            ..Self::new(organisation_id, TaskKind::ShareApproval, approval)
        }
    }

    /// An emergency disclosure or a break-the-glass access waits for review by the DPO or the
    /// Caldicott Guardian (as `break_glass.review` allows).
    pub(crate) fn review(
        kind: TaskKind,
        organisation_id: Uuid,
        service_id: Option<Uuid>,
        person_id: Uuid,
        subject: Uuid,
    ) -> Self {
        Self {
            service_id,
            person_id: Some(person_id),
            audience: reviewers(),
            ..Self::new(organisation_id, kind, subject)
        }
    }

    /// A recipient to tell of a correction or a restriction (Art. 19), by those who may read the
    /// person's record and the DPO.
    pub(crate) fn tell_recipient(placement: &Placement, recipient: Uuid) -> Self {
        let mut audience = readers(placement);
        audience.push(organisation_wide(Role::DataProtectionOfficer));
        Self {
            service_id: Some(placement.service_id),
            person_id: Some(placement.person_id),
            audience,
            ..Self::new(
                placement.organisation_id,
                TaskKind::TellRecipient,
                recipient,
            )
        }
    }

    /// Records wait for review (for the Data Protection Officer and the Caldicott Guardian), or
    /// destroy decisions for the Data Protection Officer's approval: one task for the
    /// organisation's queue, not one per record.
    pub(crate) fn retention(kind: TaskKind, organisation_id: Uuid) -> Self {
        let audience = match kind {
            TaskKind::RetentionApproval => vec![organisation_wide(Role::DataProtectionOfficer)],
            _ => reviewers(),
        };
        Self {
            audience,
            ..Self::new(organisation_id, kind, organisation_id)
        }
    }

    /// The recipients named on an erasure's certificate to tell that the person's data was erased
    /// (Art. 19): for the Data Protection Officer, who reads certificates. It names no person: the
    /// record is gone.
    pub(crate) fn tell_of_erasure(
        organisation_id: Uuid,
        service_id: Uuid,
        certificate_id: Uuid,
    ) -> Self {
        Self {
            service_id: Some(service_id),
            audience: vec![organisation_wide(Role::DataProtectionOfficer)],
            ..Self::new(organisation_id, TaskKind::TellOfErasure, certificate_id)
        }
    }

    /// A person to tell of their service's changed notice, by those who may read their record.
    pub(crate) fn tell_of_notice(placement: &Placement) -> Self {
        Self {
            service_id: Some(placement.service_id),
            person_id: Some(placement.person_id),
            audience: readers(placement),
            ..Self::new(
                placement.organisation_id,
                TaskKind::TellOfNotice,
                placement.service_id,
            )
        }
    }
}

impl NewTask {
    /// A rights request to answer, due on its due date: for the Data Protection Officer and the
    /// service's manager.
    pub(crate) fn rights_request(
        request: &crate::store::RightsRequestRecord,
        due_at_micros: Option<i64>,
    ) -> Self {
        Self {
            service_id: Some(request.service_id),
            person_id: Some(request.person_id),
            due_at_micros,
            audience: vec![
                organisation_wide(Role::DataProtectionOfficer),
                Audience::Role {
                    role: Role::ServiceManager,
                    service_id: Some(request.service_id),
                },
            ],
            ..Self::new(request.organisation_id, TaskKind::RightsRequest, request.id)
        }
    }
}

/// Who may read a person's record in the way the policy's read rules say (without a grant): the
/// service manager always; in a service-wide record its practitioners and team managers; in a
/// team's record that team's; in a caseload, the team's manager and the key worker. A task about a
/// person is for them, so it names the record only to those who may open it.
pub fn readers(placement: &Placement) -> Vec<Audience> {
    let service_id = placement.service_id;
    let mut audience = vec![Audience::Role {
        role: Role::ServiceManager,
        service_id: Some(service_id),
    }];
    let team = |role: Role| {
        placement.team_id.map(|team_id| Audience::TeamRole {
            role,
            service_id,
            team_id,
        })
    };
    match placement.scope {
        AccessScope::Service => audience.extend([Role::Practitioner, Role::TeamManager].map(
            |role| Audience::Role {
                role,
                service_id: Some(service_id),
            },
        )),
        AccessScope::Team => {
            audience.extend(team(Role::Practitioner));
            audience.extend(team(Role::TeamManager));
        }
        AccessScope::Caseload => {
            audience.extend(team(Role::TeamManager));
            audience.extend(placement.key_worker_id.map(Audience::Staff));
        }
    }
    audience
}

fn organisation_wide(role: Role) -> Audience {
    Audience::Role {
        role,
        service_id: None,
    }
}

fn in_service(service_id: Uuid) -> Vec<Audience> {
    IN_SERVICE
        .into_iter()
        .map(|role| Audience::Role {
            role,
            service_id: Some(service_id),
        })
        .collect()
}

fn reviewers() -> Vec<Audience> {
    vec![
        organisation_wide(Role::DataProtectionOfficer),
        organisation_wide(Role::CaldicottGuardian),
    ]
}

/// Whether `inbox` is among those a task is for.
pub fn is_for(audience: &[Audience], inbox: &Inbox) -> bool {
    audience.iter().any(|a| match *a {
        Audience::Staff(id) => id == inbox.staff_id,
        Audience::Role { role, service_id } => {
            role == inbox.role && service_id.is_none_or(|s| inbox.service_id == Some(s))
        }
        Audience::TeamRole {
            role,
            service_id,
            team_id,
        } => {
            role == inbox.role
                && inbox.service_id == Some(service_id)
                && inbox.team_id == Some(team_id)
        }
    })
}

fn inbox_of(actor: &Principal) -> Result<Inbox, OrganisationError> {
    match actor.actor() {
        Actor::Staff(me) => Ok(Inbox {
            organisation_id: me.organisation_id,
            staff_id: me.user_id,
            role: me.role,
            service_id: me.service_id,
            team_id: me.team_id,
        }),
        Actor::System => Err(OrganisationError::NotFound),
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The actor's own tasks: the open ones, soonest due first (those without a due date last), or
    /// the latest closed.
    pub async fn tasks(
        &self,
        actor: &Principal,
        state: TaskState,
        limit: u32,
    ) -> Result<Vec<TaskView>, OrganisationError> {
        let (inbox, permit) = self.inbox_permit(actor, Action::TaskRead).await?;
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, now);
        let tasks = self
            .store
            .tasks_in(&inbox, state, limit.min(INBOX_LIMIT), audit)
            .await?;
        let mut views = Vec::with_capacity(tasks.len());
        for task in tasks {
            views.push(self.task_view(task, now).await?);
        }
        Ok(views)
    }

    /// How many of the actor's tasks are open and how many of those are overdue (the dashboard's
    /// figures: counted by the database, nothing opened).
    pub async fn task_counts(
        &self,
        actor: &Principal,
    ) -> Result<(usize, usize), OrganisationError> {
        let (inbox, permit) = self.inbox_permit(actor, Action::TaskRead).await?;
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, now);
        let (open, overdue) = self
            .store
            .count_open_tasks(&inbox, micros(now), audit)
            .await?;
        let count = |n: i64| usize::try_from(n).unwrap_or(0);
        Ok((count(open), count(overdue)))
    }

    /// One of the actor's own tasks (open or closed); anyone else's answers "not found", audited.
    pub async fn task(
        &self,
        actor: &Principal,
        task_id: Uuid,
    ) -> Result<TaskView, OrganisationError> {
        let (inbox, permit) = self.inbox_permit(actor, Action::TaskRead).await?;
        let now = self.clock.now();
        let task = self
            .own_task(actor, &inbox, task_id, Action::TaskRead)
            .await?;
        let mut audit =
            AuditDraft::permitted(&permit, Purpose::Administration, now).named("task.read");
        if let Some(person) = task.person_id {
            audit = audit.about(person);
        }
        self.store.record_access(audit).await?;
        self.task_view(task, now).await
    }

    async fn inbox_permit(
        &self,
        actor: &Principal,
        action: Action,
    ) -> Result<(Inbox, confidant_policy::Permit), OrganisationError> {
        let inbox = inbox_of(actor)?;
        let permit = self
            .permit(
                actor,
                action,
                Resource::Organisation {
                    id: inbox.organisation_id,
                },
            )
            .await?;
        Ok((inbox, permit))
    }

    /// The task, if it is for this inbox: anyone else's, or one of another organisation, is as
    /// absent as one that is not there (the refusal is audited and tells nothing).
    async fn own_task(
        &self,
        actor: &Principal,
        inbox: &Inbox,
        task_id: Uuid,
        action: Action,
    ) -> Result<TaskRecord, OrganisationError> {
        match self
            .store
            .task(task_id)
            .await?
            .filter(|(t, a)| t.organisation_id == inbox.organisation_id && is_for(a, inbox))
        {
            Some((task, _)) => Ok(task),
            None => {
                let missing = AuditDraft::missing(
                    actor,
                    action,
                    "task",
                    task_id,
                    Purpose::Administration,
                    self.clock.now(),
                );
                self.store.record_access(missing).await?;
                Err(OrganisationError::NotFound)
            }
        }
    }

    async fn task_view(
        &self,
        task: TaskRecord,
        now: time::OffsetDateTime,
    ) -> Result<TaskView, OrganisationError> {
        let recipient = match task.kind {
            TaskKind::TellRecipient | TaskKind::AgreementEnding => {
                self.store.recipient(task.subject_id).await?.map(|r| r.name)
            }
            _ => None,
        };
        Ok(TaskView {
            overdue: task.state == TaskState::Open
                && task.due_at_micros.is_some_and(|d| d <= micros(now)),
            recipient,
            task,
        })
    }

    /// Ticks off one of the actor's own tasks that is closed by hand, saying how and on which UK
    /// date the person or recipient was told (today or earlier, within a year).
    pub async fn close_task(
        &self,
        actor: &Principal,
        task_id: Uuid,
        how: TellHow,
        told_on: Date,
    ) -> Result<TaskRecord, OrganisationError> {
        let (inbox, permit) = self.inbox_permit(actor, Action::TaskClose).await?;
        let now = self.clock.now();
        let task = self
            .own_task(actor, &inbox, task_id, Action::TaskClose)
            .await?;
        let mut v = Vec::new();
        if !task.kind.closed_by_hand() {
            v.push(Violation::new(
                "task",
                "closes by itself when its work is done: open its page",
            ));
        }
        let today = crate::uk_time::to_uk(now).date();
        if told_on > today {
            v.push(Violation::new("told_on", "must not be in the future"));
        } else if told_on < today - Duration::days(366) {
            v.push(Violation::new("told_on", "must be within the last year"));
        }
        if !v.is_empty() {
            return Err(OrganisationError::Invalid(Violations(v)));
        }
        let closure = HandClosure {
            how,
            done_on: told_on.to_string(),
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let mut audit =
            AuditDraft::permitted(&permit, Purpose::Administration, now).named("task.close");
        if let Some(person) = task.person_id {
            audit = audit.about(person);
        }
        if !self
            .store
            .close_task_by_hand(task_id, &closure, audit)
            .await?
        {
            return Err(OrganisationError::Conflict(
                "that task has been closed already",
            ));
        }
        Ok(TaskRecord {
            state: TaskState::Done,
            closed_at_micros: Some(closure.at_micros),
            closed_by: Some(closure.by),
            outcome: Some(how.code().to_owned()),
            done_on: Some(closure.done_on),
            ..task
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbox(role: Role, service: Option<Uuid>, team: Option<Uuid>, staff: Uuid) -> Inbox {
        Inbox {
            organisation_id: Uuid::nil(),
            staff_id: staff,
            role,
            service_id: service,
            team_id: team,
        }
    }

    /// A person's task reaches exactly those the read rules let open the record (without a grant),
    /// in each scope a service can have.
    #[test]
    fn readers_follow_the_read_rules_in_every_scope() {
        let (service, other_service) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let (team, other_team) = (Uuid::from_u128(3), Uuid::from_u128(4));
        let (key_worker, colleague) = (Uuid::from_u128(5), Uuid::from_u128(6));
        let placement = |scope| Placement {
            person_id: Uuid::from_u128(9),
            service_id: service,
            organisation_id: Uuid::nil(),
            team_id: Some(team),
            key_worker_id: Some(key_worker),
            scope,
        };
        // Who: role, service, team, id; whether they read the record in [service, team, caseload]
        // scope.
        type Case = (Role, Option<Uuid>, Option<Uuid>, Uuid, [bool; 3]);
        let cases: [Case; 9] = [
            (
                Role::ServiceManager,
                Some(service),
                None,
                colleague,
                [true; 3],
            ),
            (
                Role::ServiceManager,
                Some(other_service),
                None,
                colleague,
                [false; 3],
            ),
            (
                Role::Practitioner,
                Some(service),
                Some(team),
                key_worker,
                [true, true, true],
            ),
            (
                Role::Practitioner,
                Some(service),
                Some(team),
                colleague,
                [true, true, false],
            ),
            (
                Role::Practitioner,
                Some(service),
                Some(other_team),
                colleague,
                [true, false, false],
            ),
            (
                Role::Practitioner,
                Some(service),
                None,
                colleague,
                [true, false, false],
            ),
            (
                Role::TeamManager,
                Some(service),
                Some(team),
                colleague,
                [true, true, true],
            ),
            (
                Role::TeamManager,
                Some(service),
                Some(other_team),
                colleague,
                [true, false, false],
            ),
            (
                Role::DataProtectionOfficer,
                None,
                None,
                colleague,
                [false; 3],
            ),
        ];
        for (role, svc, tm, id, reads) in cases {
            for (scope, expected) in [
                AccessScope::Service,
                AccessScope::Team,
                AccessScope::Caseload,
            ]
            .into_iter()
            .zip(reads)
            {
                assert_eq!(
                    is_for(&readers(&placement(scope)), &inbox(role, svc, tm, id)),
                    expected,
                    "{role:?} in {svc:?}/{tm:?} ({id}) for a {scope:?} record"
                );
            }
        }
    }
}
