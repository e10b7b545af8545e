//! The sweep: opens the tasks that fall due with time (training, processors' agreements) and those
//! for what was waiting before the inbox existed; closes the ones whose reason has gone. Idempotent: run at start-up, hourly inside `serve`, and by
//! `confidant tasks sweep`.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::keeping::due::paper_note_due;
use crate::person::from_micros;
use crate::retention::uk_date;
use crate::store::{PaperDue, StaffRecord, TaskChange, TrainingKind, TrainingRecord};
use crate::uk_time::uk_midnight;

/// Training falls due this long before it lapses.
pub const TRAINING_NOTICE: Duration = Duration::days(30);
/// A processor's agreement is to be renewed or ended from this long before its end.
pub const AGREEMENT_NOTICE: Duration = Duration::days(60);

/// How many task changes one transaction of the sweep writes.
const SWEEP_CHUNK: usize = 250;

/// What one sweep did (counts only): the tasks it opened and closed (opening one already open, by
/// another process say, is not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub opened: usize,
    pub closed: usize,
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Sweeps one organisation's tasks (the operator's, `task.sweep`). Writes nothing, not even
    /// an event, when nothing changes.
    pub async fn sweep_tasks(
        &self,
        operator: &Principal,
        organisation_id: Uuid,
    ) -> Result<SweepReport, OrganisationError> {
        let resource = Resource::Organisation {
            id: organisation_id,
        };
        let permit = self.permit(operator, Action::TaskSweep, resource).await?;
        let now = self.clock.now();
        let mut changes = Vec::new();

        for waiting in self.store.waiting_without_task(organisation_id).await? {
            let task = match (waiting.kind, waiting.service_id, waiting.person_id) {
                (TaskKind::ReferralTriage, Some(service), _) => {
                    NewTask::referral_triage(organisation_id, service, waiting.subject_id)
                }
                (TaskKind::ShareApproval, Some(service), Some(person)) => {
                    NewTask::share_approval(organisation_id, service, person, waiting.subject_id)
                }
                (
                    kind @ (TaskKind::EmergencyReview | TaskKind::BreakGlassReview),
                    service,
                    Some(person),
                ) => NewTask::review(kind, organisation_id, service, person, waiting.subject_id),
                _ => continue,
            };
            changes.push(TaskChange::Open(task));
        }

        self.sweep_training(organisation_id, now, &mut changes)
            .await?;
        self.sweep_agreements(organisation_id, now, &mut changes)
            .await?;
        self.sweep_paper(organisation_id, now, &mut changes).await?;

        // In transactions of their own, a few hundred changes each, so a first sweep of a large
        // organisation holds the chain's head briefly at a time and never in a request's batch.
        let mut report = SweepReport::default();
        for chunk in changes.chunks(SWEEP_CHUNK) {
            let audit = AuditDraft::permitted(&permit, Purpose::Administration, now);
            let done = self.store.write_tasks(chunk, audit).await?;
            report.opened += done.opened;
            report.closed += done.closed;
        }
        Ok(report)
    }

    /// A member of staff whose training or acknowledgement lapses within [`TRAINING_NOTICE`] (or
    /// has lapsed, or was never recorded) has a task, for them and for the DPO, due when it lapses;
    /// it closes when every kind is current beyond the notice.
    async fn sweep_training(
        &self,
        organisation_id: Uuid,
        now: time::OffsetDateTime,
        changes: &mut Vec<TaskChange>,
    ) -> Result<(), OrganisationError> {
        let staff = self.store.staff_of(organisation_id).await?;
        let records = self.store.training_records(organisation_id, None).await?;
        let open: BTreeSet<Uuid> = self
            .store
            .open_tasks_of(organisation_id, TaskKind::TrainingDue)
            .await?
            .into_iter()
            .map(|t| t.subject_id)
            .collect();
        let horizon = micros(now + TRAINING_NOTICE);
        for member in staff.iter().filter(|s| s.disabled_at_micros.is_none()) {
            match training_falls_due(member, &records, horizon) {
                Some(due) if !open.contains(&member.id) => {
                    changes.push(TaskChange::Open(NewTask::training_due(member, due)));
                }
                None if open.contains(&member.id) => changes.push(TaskChange::Close {
                    kind: TaskKind::TrainingDue,
                    subject_id: member.id,
                    outcome: "task.sweep",
                }),
                _ => {}
            }
        }
        // A disabled account's task has no one left to do it.
        for member in staff.iter().filter(|s| s.disabled_at_micros.is_some()) {
            if open.contains(&member.id) {
                changes.push(TaskChange::Close {
                    kind: TaskKind::TrainingDue,
                    subject_id: member.id,
                    outcome: "task.sweep",
                });
            }
        }
        Ok(())
    }

    /// A processor whose data processing agreement ends within [`AGREEMENT_NOTICE`] has a task for
    /// the DPO, due when it ends; it closes when the register gives the agreement a later end (or
    /// retires the processor).
    async fn sweep_agreements(
        &self,
        organisation_id: Uuid,
        now: time::OffsetDateTime,
        changes: &mut Vec<TaskChange>,
    ) -> Result<(), OrganisationError> {
        let horizon = micros(now + AGREEMENT_NOTICE);
        let ending: BTreeMap<Uuid, i64> = self
            .store
            .recipients(organisation_id)
            .await?
            .into_iter()
            .filter(|r| r.retired_at_micros.is_none())
            .filter_map(|r| r.dpa_ends_at_micros.map(|end| (r.id, end)))
            .filter(|(_, end)| *end <= horizon)
            .collect();
        let open: BTreeSet<Uuid> = self
            .store
            .open_tasks_of(organisation_id, TaskKind::AgreementEnding)
            .await?
            .into_iter()
            .map(|t| t.subject_id)
            .collect();
        for (recipient, end) in &ending {
            if !open.contains(recipient) {
                changes.push(TaskChange::Open(NewTask {
                    due_at_micros: Some(*end),
                    audience: vec![organisation_wide(Role::DataProtectionOfficer)],
                    ..NewTask::new(organisation_id, TaskKind::AgreementEnding, *recipient)
                }));
            }
        }
        for recipient in open.iter().filter(|r| !ending.contains_key(r)) {
            changes.push(TaskChange::Close {
                kind: TaskKind::AgreementEnding,
                subject_id: *recipient,
                outcome: "task.sweep",
            });
        }
        Ok(())
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Paper to destroy (an archived file past its date, a paper note whose `transcribed` rule
    /// has ended, and any paper of a record whose destruction is approved) is a task for the
    /// service's managers, due on the file's date; it closes once the paper is recorded destroyed
    /// (or is no longer due).
    async fn sweep_paper(
        &self,
        organisation_id: Uuid,
        now: time::OffsetDateTime,
        changes: &mut Vec<TaskChange>,
    ) -> Result<(), OrganisationError> {
        let register = self.register();
        let due: BTreeMap<Uuid, PaperDue> = self
            .store
            .paper_to_destroy(organisation_id, micros(now))
            .await?
            .into_iter()
            .filter_map(|mut p| {
                // A transcribed note: due once its service's `transcribed` rule has ended.
                if let Some(at) = p.transcribed_at_micros {
                    let ended = paper_note_due(
                        register?,
                        p.service_code.as_deref()?,
                        from_micros(at),
                        uk_date(now),
                    )?;
                    p.due_at_micros = Some(micros(uk_midnight(ended.on)));
                }
                Some((p.entry_id, p))
            })
            .collect();
        let open: BTreeSet<Uuid> = self
            .store
            .open_tasks_of(organisation_id, TaskKind::PaperDestruction)
            .await?
            .into_iter()
            .map(|t| t.subject_id)
            .collect();
        for paper in due.values().filter(|p| !open.contains(&p.entry_id)) {
            changes.push(TaskChange::Open(NewTask {
                service_id: Some(paper.service_id),
                person_id: Some(paper.person_id),
                due_at_micros: paper.due_at_micros,
                audience: vec![Audience::Role {
                    role: Role::ServiceManager,
                    service_id: Some(paper.service_id),
                }],
                ..NewTask::new(organisation_id, TaskKind::PaperDestruction, paper.entry_id)
            }));
        }
        for entry in open.iter().filter(|e| !due.contains_key(e)) {
            changes.push(TaskChange::Close {
                kind: TaskKind::PaperDestruction,
                subject_id: *entry,
                outcome: "task.sweep",
            });
        }
        Ok(())
    }
}

impl NewTask {
    /// A member of staff's training falls due: for them, and for whoever records it (the DPO; for
    /// an administrator's or auditor's account, administrators too).
    pub(crate) fn training_due(member: &StaffRecord, due_at_micros: i64) -> Self {
        let mut audience = vec![
            Audience::Staff(member.id),
            organisation_wide(Role::DataProtectionOfficer),
        ];
        if matches!(member.role, Role::Administrator | Role::Auditor) {
            audience.push(organisation_wide(Role::Administrator));
        }
        Self {
            service_id: member.service_id,
            due_at_micros: Some(due_at_micros),
            audience,
            ..Self::new(member.organisation_id, TaskKind::TrainingDue, member.id)
        }
    }
}

/// When a member of staff's training first lapses, if that is before `horizon` (a kind never
/// recorded lapsed at the account's creation).
pub(crate) fn training_falls_due(
    member: &StaffRecord,
    records: &[TrainingRecord],
    horizon: i64,
) -> Option<i64> {
    TrainingKind::ALL
        .into_iter()
        .map(|kind| {
            records
                .iter()
                .filter(|r| r.staff_id == member.id && r.kind == kind)
                .map(|r| r.expires_at_micros)
                .max()
                .unwrap_or(member.created_at_micros)
        })
        .min()
        .filter(|lapses| *lapses <= horizon)
}
