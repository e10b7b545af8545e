//! The task inbox as stored: what waits, for whom, and how it was closed (ids and codes only).

use super::*;
use crate::kernel::codes::codes;

codes!(
    /// What a task asks for. Later areas (rights requests, retention reviews, breaches, risk
    /// reviews) add their kinds here.
    TaskKind {
        ReferralTriage = "referral_triage": "Triage a referral",
        ShareApproval = "share_approval": "Approve or refuse sending more than a recipient's set",
        EmergencyReview = "emergency_review": "Review an emergency disclosure",
        BreakGlassReview = "break_glass_review": "Review a break-the-glass access",
        AgreementEnding = "agreement_ending": "Renew or end a processor's data processing agreement",
        TellRecipient = "tell_recipient": "Tell a recipient of a correction or a restriction",
        TellOfNotice = "tell_of_notice": "Tell a person about their service's new privacy notice",
        TrainingDue = "training_due": "Training or policy acknowledgement falls due",
        RetentionReview = "retention_review": "Review records whose retention has ended",
        RetentionApproval = "retention_approval": "Approve destroying records reviewed by others",
        PaperDestruction = "paper_destruction": "Destroy paper: an archived file past its date, or paper of a record to be destroyed",
        ReferralErasure = "referral_erasure": "Erase referrals not taken up whose time has ended",
        RightsRequest = "rights_request": "Answer a request about a person's rights by its due date",
        TellOfErasure = "tell_of_erasure": "Tell the recipients of an erased record's data that it was erased",
    }
);

impl TaskKind {
    /// Whether someone closes it by hand, saying how and when they told someone (the others close
    /// when their work is done: the referral triaged, the approval decided, the access reviewed,
    /// training recorded, the agreement's new end in the register).
    pub fn closed_by_hand(self) -> bool {
        matches!(
            self,
            TaskKind::TellRecipient | TaskKind::TellOfNotice | TaskKind::TellOfErasure
        )
    }
}

codes!(
    /// How someone was told, when a task is ticked off by hand.
    TellHow {
        SecureEmail = "secure_email": "Secure email",
        Email = "email": "Email",
        Letter = "letter": "Letter",
        Phone = "phone": "Telephone",
        InPerson = "in_person": "In person",
        Portal = "portal": "Their own system or portal",
    }
);

codes!(
    /// Where a task stands.
    TaskState {
        Open = "open",
        Done = "done",
    }
);

/// Whom a task is for: one member of staff, or the holders of a role (in one team of a service, in
/// one service, or anywhere in the organisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff(Uuid),
    Role {
        role: Role,
        service_id: Option<Uuid>,
    },
    TeamRole {
        role: Role,
        service_id: Uuid,
        team_id: Uuid,
    },
}

/// A task to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service_id: Option<Uuid>,
    pub kind: TaskKind,
    pub subject_id: Uuid,
    pub person_id: Option<Uuid>,
    pub due_at_micros: Option<i64>,
    pub audience: Vec<Audience>,
}

impl NewTask {
    /// At most one task of a kind is open on one subject (and person): opening it again while it is
    /// open changes nothing.
    pub fn open_key(&self) -> String {
        open_key(self.kind, self.subject_id, self.person_id)
    }
}

/// The key that keeps one task of a kind open on one subject (and person).
pub fn open_key(kind: TaskKind, subject_id: Uuid, person_id: Option<Uuid>) -> String {
    match person_id {
        Some(p) => format!("{}:{subject_id}:{p}", kind.code()),
        None => format!("{}:{subject_id}", kind.code()),
    }
}

/// What a change does to the inbox, written in the change's own transaction with its audit event
/// (so a referral is never received without its triage task, nor triaged leaving it open). Closing
/// records the change's actor and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskChange {
    Open(NewTask),
    /// Closes the open task of `kind` on `subject_id` (for every person), if there is one.
    Close {
        kind: TaskKind,
        subject_id: Uuid,
        /// What closed it: the change's event code.
        outcome: &'static str,
    },
    /// Sets when the open task of `kind` on `subject_id` is due, if there is one.
    Due {
        kind: TaskKind,
        subject_id: Uuid,
        due_at_micros: Option<i64>,
    },
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service_id: Option<Uuid>,
    pub kind: TaskKind,
    pub subject_id: Uuid,
    pub person_id: Option<Uuid>,
    pub due_at_micros: Option<i64>,
    pub opened_at_micros: i64,
    pub opened_by: String,
    pub state: TaskState,
    pub closed_at_micros: Option<i64>,
    pub closed_by: Option<String>,
    pub outcome: Option<String>,
    /// The date someone was told (`YYYY-MM-DD`), for a task ticked off by hand.
    pub done_on: Option<String>,
}

/// Whose inbox: a member of staff as the request established them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inbox {
    pub organisation_id: Uuid,
    pub staff_id: Uuid,
    pub role: Role,
    pub service_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
}

/// Something waiting that has no task yet: what was there before the inbox, found by the sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub kind: TaskKind,
    pub subject_id: Uuid,
    pub person_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
}

/// What a batch of task changes did: the tasks opened (an open one already there is left as it
/// is) and closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub opened: usize,
    pub closed: usize,
}

/// How a task closed by hand was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandClosure {
    pub how: TellHow,
    /// `YYYY-MM-DD`, the UK date they were told.
    pub done_on: String,
    pub by: String,
    pub at_micros: i64,
}

pub trait TaskStore: Send + Sync {
    /// The tasks in this inbox (open ones, soonest due first; or the latest closed), recording the
    /// read.
    fn tasks_in(
        &self,
        inbox: &Inbox,
        state: TaskState,
        limit: u32,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<TaskRecord>, StoreError>> + Send;

    /// How many tasks are open in this inbox, and how many of them are due by `now_micros`,
    /// recording the read.
    fn count_open_tasks(
        &self,
        inbox: &Inbox,
        now_micros: i64,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(i64, i64), StoreError>> + Send;

    /// One task and whom it is for.
    fn task(
        &self,
        task_id: Uuid,
    ) -> impl Future<Output = Result<Option<(TaskRecord, Vec<Audience>)>, StoreError>> + Send;

    /// Closes an open task by hand; `false` if it was not open.
    fn close_task_by_hand(
        &self,
        task_id: Uuid,
        closure: &HandClosure,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// What waits in the organisation with no task of its kind (open or closed) on it: open
    /// referrals, pending approvals, emergency disclosures and break-the-glass accesses not yet
    /// reviewed.
    fn waiting_without_task(
        &self,
        organisation_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Waiting>, StoreError>> + Send;

    /// Writes a batch of task changes with one audit event, in a transaction of its own (not in
    /// another request's batch), and answers what they did; when they did nothing, writes nothing,
    /// not even the event.
    fn write_tasks(
        &self,
        changes: &[TaskChange],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<TaskCounts, StoreError>> + Send;

    /// Where each person of a service (by its register code) sits, for opening a task about them;
    /// erased people (their key destroyed) are left out. Ids only: a deciding read of the change
    /// that asks it, recorded by that change's event.
    fn living_placements_of_service(
        &self,
        service_code: &str,
    ) -> impl Future<Output = Result<Vec<Placement>, StoreError>> + Send;

    /// The open tasks of a kind in the organisation (for the sweep to close what no longer waits).
    fn open_tasks_of(
        &self,
        organisation_id: Uuid,
        kind: TaskKind,
    ) -> impl Future<Output = Result<Vec<TaskRecord>, StoreError>> + Send;
}
