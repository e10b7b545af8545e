//! Training and policy acknowledgements: recorded per member of staff with an expiry date. A member of
//! staff whose training or acknowledgement has lapsed reaches no personal data (the policy's training
//! gate reads [`crate::StaffActor::trained`], computed at each request), and shows on their managers'
//! and the DPO's dashboard.
//!
//! Guarantees: a record cannot be completed in the future or expire before it was completed; every
//! record is audited with who recorded it.

use std::collections::BTreeMap;

use confidant_policy::{Action, Actor, Resource};
use time::{Date, Duration, OffsetDateTime, Time};
use uuid::Uuid;

use crate::access::Principal;
use crate::organisation::{OrganisationError, micros};
use crate::person::{Violation, Violations, from_micros};
use crate::store::{StaffRecord, Store, TrainingKind, TrainingRecord};
use crate::{Clock, Confidant};

/// The longest a training record may be valid for (three years).
pub const LONGEST_VALIDITY_DAYS: i64 = 3 * 366;

/// One member of staff's training as of now.
#[derive(Debug, Clone)]
pub struct TrainingStatus {
    pub staff: StaffRecord,
    /// The latest record of each kind, if any.
    pub latest: BTreeMap<TrainingKind, TrainingRecord>,
    now_micros: i64,
}

impl TrainingStatus {
    /// The kinds that are missing or expired.
    pub fn lapsed(&self) -> Vec<TrainingKind> {
        TrainingKind::ALL
            .into_iter()
            .filter(|k| {
                self.latest
                    .get(k)
                    .is_none_or(|r| r.expires_at_micros <= self.now_micros)
            })
            .collect()
    }

    pub fn is_current(&self) -> bool {
        self.lapsed().is_empty()
    }

    pub fn expires_at(&self, kind: TrainingKind) -> Option<OffsetDateTime> {
        self.latest
            .get(&kind)
            .map(|r| from_micros(r.expires_at_micros))
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Records that a member of staff completed training (or acknowledged the policies) on
    /// `completed_on`, valid for `valid_for_days`.
    pub async fn record_training(
        &self,
        actor: &Principal,
        staff_id: Uuid,
        kind: TrainingKind,
        completed_on: Date,
        valid_for_days: i64,
    ) -> Result<TrainingRecord, OrganisationError> {
        let now = self.clock.now();
        let mut violations = Vec::new();
        if completed_on > crate::uk_time::to_uk(now).date() {
            violations.push(Violation::new("completed_on", "must not be in the future"));
        }
        if !(1..=LONGEST_VALIDITY_DAYS).contains(&valid_for_days) {
            violations.push(Violation::new(
                "valid_for_days",
                format!("must be between 1 and {LONGEST_VALIDITY_DAYS}"),
            ));
        }
        if !violations.is_empty() {
            return Err(OrganisationError::Invalid(Violations(violations)));
        }
        let (member, mut audit) = self
            .staff_change(
                actor,
                staff_id,
                Action::StaffUpdate,
                "staff.record_training",
            )
            .await?;
        let completed = completed_on.with_time(Time::MIDNIGHT).assume_utc();
        let record = TrainingRecord {
            id: Uuid::now_v7(),
            staff_id,
            kind,
            completed_at_micros: micros(completed),
            expires_at_micros: micros(completed + Duration::days(valid_for_days)),
            recorded_by: actor.audit_id(),
            recorded_at_micros: micros(now),
        };
        // The training task closes once nothing falls due within its notice.
        let mut records = self
            .store
            .training_records(member.organisation_id, Some(staff_id))
            .await?;
        records.push(record.clone());
        let horizon = micros(now + crate::task::TRAINING_NOTICE);
        if crate::task::training_falls_due(&member, &records, horizon).is_none() {
            audit = audit.closes(crate::store::TaskKind::TrainingDue, staff_id);
        }
        self.store.add_training(&record, audit).await?;
        Ok(record)
    }

    /// The training of the staff the actor oversees: the whole organisation for its DPO and
    /// Caldicott Guardian, their own service for its managers.
    pub async fn training_overview(
        &self,
        actor: &Principal,
    ) -> Result<Vec<TrainingStatus>, OrganisationError> {
        let Actor::Staff(me) = actor.actor() else {
            return Err(OrganisationError::NotFound);
        };
        let resource = match me.service_id {
            Some(id) => Resource::Service {
                id,
                organisation_id: me.organisation_id,
            },
            None => Resource::Organisation {
                id: me.organisation_id,
            },
        };
        self.permit(actor, Action::OversightRead, resource).await?;
        let staff = self.store.staff_of(me.organisation_id).await?;
        let records = self
            .store
            .training_records(me.organisation_id, None)
            .await?;
        let now = micros(self.clock.now());
        Ok(staff
            .into_iter()
            .filter(|s| s.disabled_at_micros.is_none())
            .filter(|s| me.service_id.is_none() || s.service_id == me.service_id)
            .map(|s| status_of(s, &records, now))
            .collect())
    }

    /// A member of staff's own training (shown on their dashboard and when access is refused).
    pub async fn own_training(
        &self,
        staff: &StaffRecord,
    ) -> Result<TrainingStatus, OrganisationError> {
        let records = self
            .store
            .training_records(staff.organisation_id, Some(staff.id))
            .await?;
        Ok(status_of(staff.clone(), &records, micros(self.clock.now())))
    }
}

fn status_of(staff: StaffRecord, records: &[TrainingRecord], now_micros: i64) -> TrainingStatus {
    let mut latest: BTreeMap<TrainingKind, TrainingRecord> = BTreeMap::new();
    for r in records.iter().filter(|r| r.staff_id == staff.id) {
        let newer = latest
            .get(&r.kind)
            .is_none_or(|l| r.expires_at_micros > l.expires_at_micros);
        if newer {
            latest.insert(r.kind, r.clone());
        }
    }
    TrainingStatus {
        staff,
        latest,
        now_micros,
    }
}
