//! [`AuditDraft`]: an access to be recorded, made only from the permit or refusal it records and
//! spent by the one port call that writes it.

use confidant_policy::{Action, Actor, Denied, Grant, Permit, Resource};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AuthEvent, Outcome, Purpose};
use crate::store::{NewTask, TaskChange, TaskKind};
/// An event waiting for its place in the chain: made only in this crate, from the permit or refusal
/// it records (the one exception, [`AuditDraft::erasure_replayed`], is the store's own event for
/// an erasure it does again, with no actor but the system), and consumed by value by the one port call that writes it (it is not `Clone`), so
/// one draft can stand for one access only.
///
/// ```compile_fail
/// # use confidant_core::audit::AuditDraft;
/// # use confidant_core::store::AuditStore;
/// async fn twice(store: &impl AuditStore, draft: AuditDraft) {
///     let _ = store.append_audit(draft).await;
///     let _ = store.append_audit(draft).await; // the draft was spent by the first call
/// }
/// ```
///
/// ```compile_fail
/// # use confidant_core::audit::AuditDraft;
/// fn copy(draft: &AuditDraft) -> AuditDraft {
///     draft.clone()
/// }
/// ```
///
/// Spent once, it compiles:
///
/// ```
/// # use confidant_core::audit::AuditDraft;
/// # use confidant_core::store::AuditStore;
/// async fn once(store: &impl AuditStore, draft: AuditDraft) {
///     let _ = store.append_audit(draft).await;
/// }
/// ```
#[derive(Debug)]
pub struct AuditDraft {
    pub(super) at: OffsetDateTime,
    pub(super) actor: String,
    pub(super) action: &'static str,
    pub(super) resource_type: &'static str,
    pub(super) resource_id: Option<Uuid>,
    pub(super) subject_id: Option<Uuid>,
    pub(super) purpose: Purpose,
    pub(super) outcome: Outcome,
    /// What the change does to the task inbox: written with the event, in its transaction.
    pub(super) tasks: Vec<TaskChange>,
}

impl AuditDraft {
    pub(crate) fn permitted(permit: &Permit, purpose: Purpose, at: OffsetDateTime) -> Self {
        let purpose = match permit.grant() {
            Some(Grant::BreakGlass) => Purpose::BreakGlass,
            _ => purpose,
        };
        Self::new(
            at,
            permit.actor(),
            permit.action(),
            permit.resource(),
            purpose,
            Outcome::Ok,
        )
    }

    /// An action the policy permits refused all the same by a rule of core (an export under
    /// break-the-glass, which is read-only): recorded as denied, under the permit's actor and
    /// resource.
    pub(crate) fn refused_under(permit: &Permit, purpose: Purpose, at: OffsetDateTime) -> Self {
        Self {
            outcome: Outcome::Denied,
            ..Self::permitted(permit, purpose, at)
        }
    }

    /// A sign-in or session event of a member of staff (`None`: no account matched).
    pub(crate) fn authentication(
        staff_id: Option<Uuid>,
        event: AuthEvent,
        outcome: Outcome,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            at,
            actor: staff_id.map_or_else(|| "anonymous".to_owned(), |id| id.to_string()),
            action: event.code(),
            resource_type: "staff",
            resource_id: staff_id,
            subject_id: None,
            purpose: Purpose::Administration,
            outcome,
            tasks: Vec::new(),
        }
    }

    pub(crate) fn refused(denied: &Denied, purpose: Purpose, at: OffsetDateTime) -> Self {
        Self::new(
            at,
            &denied.actor,
            denied.action,
            &denied.resource,
            purpose,
            Outcome::Denied,
        )
    }

    /// An attempt on a resource that does not exist (or no longer can be opened).
    pub(crate) fn missing(
        actor: &Actor,
        action: Action,
        resource_type: &'static str,
        id: Uuid,
        purpose: Purpose,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            at,
            actor: actor.audit_id(),
            action: action.code(),
            resource_type,
            resource_id: Some(id),
            subject_id: None,
            purpose,
            outcome: Outcome::NotFound,
            tasks: Vec::new(),
        }
    }

    /// The outbox's sender trying a message that staff queued under a permit (audited then): the
    /// actor is the system, the resource the message, the subject the person.
    pub(crate) fn delivery(message_id: Uuid, person_id: Uuid, at: OffsetDateTime) -> Self {
        Self {
            at,
            actor: "system".to_owned(),
            action: "message.deliver",
            resource_type: "message",
            resource_id: Some(message_id),
            subject_id: Some(person_id),
            purpose: Purpose::Support,
            outcome: Outcome::Ok,
            tasks: Vec::new(),
        }
    }

    /// The store doing again, on a copy or a restored backup, an erasure the installation's
    /// erasure ledger holds and the copy did not know, before anything serves from it: the actor
    /// is the system, the resource the erased person or record, by id. No subject: a record
    /// merged into another may be among them, and no event may be about one.
    pub fn erasure_replayed(erased_id: Uuid, person: bool, at: OffsetDateTime) -> Self {
        Self {
            at,
            actor: "system".to_owned(),
            action: "erasure.replay",
            resource_type: if person { "person" } else { "record" },
            resource_id: Some(erased_id),
            subject_id: None,
            purpose: Purpose::Administration,
            outcome: Outcome::Ok,
            tasks: Vec::new(),
        }
    }

    /// Confidant itself publishing a new version of a service's privacy notice (no personal data).
    pub(crate) fn notice_published(at: OffsetDateTime) -> Self {
        Self {
            at,
            actor: "system".to_owned(),
            action: "notice.publish",
            resource_type: "notice",
            resource_id: None,
            subject_id: None,
            purpose: Purpose::Administration,
            outcome: Outcome::Ok,
            tasks: Vec::new(),
        }
    }

    fn new(
        at: OffsetDateTime,
        actor: &Actor,
        action: Action,
        resource: &Resource,
        purpose: Purpose,
        outcome: Outcome,
    ) -> Self {
        Self {
            at,
            actor: actor.audit_id(),
            action: action.code(),
            resource_type: resource.type_code(),
            resource_id: resource.id(),
            subject_id: resource.subject(),
            purpose,
            outcome,
            tasks: Vec::new(),
        }
    }

    /// Names the person the event is about when the resource is not the person (creating one).
    pub(crate) fn about(mut self, subject: Uuid) -> Self {
        self.subject_id = Some(subject);
        self
    }

    /// Records the event under a more specific code than the permit's action (`staff.disable` for a
    /// `staff.update` permit).
    /// A permitted actor refused this one thing (a processor's worker asking for what their
    /// referral did not send): recorded as a refusal.
    pub(crate) fn refusal(mut self) -> Self {
        self.outcome = Outcome::Denied;
        self
    }

    /// Records the event as about a resource narrower than the permit's (a service's permit, for
    /// one of its holds or referrals), by type and id.
    pub(crate) fn on(mut self, resource_type: &'static str, id: Uuid) -> Self {
        self.resource_type = resource_type;
        self.resource_id = Some(id);
        self
    }

    pub(crate) fn named(mut self, action: &'static str) -> Self {
        self.action = action;
        self
    }

    /// The same event again, for the next write of a use case that writes in steps (a credential
    /// saved, then the sessions it ends; a record's history, then each entry's): each write puts its
    /// own event on the chain. Only core asks for one, where a use case does.
    pub(crate) fn for_next_write(&self) -> Self {
        Self {
            at: self.at,
            actor: self.actor.clone(),
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            subject_id: self.subject_id,
            purpose: self.purpose,
            outcome: self.outcome,
            tasks: Vec::new(),
        }
    }

    /// Opens a task with the change this draft records (in its transaction). Only a change that
    /// was made opens one: never a refusal.
    pub(crate) fn opens(mut self, task: NewTask) -> Self {
        debug_assert_eq!(self.outcome, Outcome::Ok);
        self.tasks.push(TaskChange::Open(task));
        self
    }

    /// Closes the open task of `kind` on `subject_id` with the change this draft records, naming
    /// the change as what closed it.
    pub(crate) fn closes(mut self, kind: TaskKind, subject_id: Uuid) -> Self {
        debug_assert_eq!(self.outcome, Outcome::Ok);
        let outcome = self.action;
        self.tasks.push(TaskChange::Close {
            kind,
            subject_id,
            outcome,
        });
        self
    }

    /// What the change does to the task inbox, for the store to write with the event.
    pub fn task_changes(&self) -> &[TaskChange] {
        &self.tasks
    }

    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The person the event is about, if any.
    pub fn subject_id(&self) -> Option<Uuid> {
        self.subject_id
    }
}

#[cfg(feature = "testing")]
impl AuditDraft {
    /// A draft made without a permit, for tests that call the store's ports directly: the system
    /// as actor, `action` on a `test` resource. The `testing` feature is enabled only by tests; the
    /// binary is built without it.
    pub fn for_tests(action: &'static str, subject: Option<Uuid>, at: OffsetDateTime) -> Self {
        Self {
            at,
            actor: "system".to_owned(),
            action,
            resource_type: "test",
            resource_id: None,
            subject_id: subject,
            purpose: Purpose::Administration,
            outcome: Outcome::Ok,
            tasks: Vec::new(),
        }
    }
}
