//! The retention review queue: the sweep puts on it each record whose retention has ended; a
//! reviewer decides (destroy, keep until a date, transfer); the Data Protection Officer approves
//! the destroy decisions of others; a waiting period runs; then the sweep destroys, checking
//! again that the record is still due and not held. Nothing is destroyed without review.

use confidant_policy::{Action, Resource};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::destroy::Decided;
use super::{DestructionBasis, due};
use crate::access::{PersonAccess, Principal};
use crate::audit::{AuditDraft, Purpose};
use crate::field::PersonField;
use crate::organisation::{OrganisationError, micros};
use crate::person::{PersonError, Violation, Violations, access_of};
use crate::retention::uk_date;
use crate::store::{
    DestructionScope, NewReview, NewTask, RetentionState, ReviewDecision, ReviewRecord, Store,
    StoreError, TaskChange, TaskKind,
};
use crate::{Clock, Confidant};

/// Days between the Data Protection Officer's approval and the destruction: time to notice a
/// mistake, and for a hold to be placed.
pub const WAITING_DAYS: i64 = 7;

/// How many records the sweep reads at a time, and queues in one transaction.
const PAGE: u32 = 5_000;
const QUEUE_CHUNK: usize = 500;

/// The longest a decision may keep a record past its period, in years.
const KEEP_YEARS_AT_MOST: i32 = 50;

/// What one sweep of an organisation did (counts only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionSweep {
    /// Records looked at.
    pub considered: usize,
    /// Put on the review queue.
    pub queued: usize,
    /// Destroyed after their approval's waiting period.
    pub destroyed: usize,
    /// Approved but not destroyed: a hold, a new event, or the record gone (each says why).
    pub not_destroyed: usize,
    /// Approved but failed this time (tried again at the next sweep).
    pub failed: usize,
    /// Approved and waited, but paper of the record is still to destroy: left approved (the paper
    /// is a task) until it is recorded destroyed.
    pub awaiting_paper: usize,
    /// Referrals not taken up whose period has ended, waiting for a reviewer to erase them.
    pub referrals_due: usize,
}

/// What became of one approved review at a sweep.
enum CarriedOut {
    Destroyed,
    NotDestroyed,
    AwaitingPaper,
}

/// A reviewer's decision as a form or a request gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Destroy,
    /// Keep until a date (the record comes back to the queue after it).
    Keep(Date),
    /// Transfer for permanent keeping elsewhere (an archive): off the queue.
    Transfer,
}

/// A review with what destroying it would reach (read under a permit on the record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewView {
    pub review: ReviewRecord,
    pub scope: DestructionScope,
    /// Legal holds in force now.
    pub live_holds: i64,
}

impl Decision {
    /// Reads `destroy`, `keep` (with `keep_until`, `YYYY-MM-DD`) or `transfer`.
    pub fn parse(decision: &str, keep_until: Option<&str>) -> Result<Decision, PersonError> {
        let bad = |field: &'static str, message: &'static str| {
            PersonError::Invalid(Violations(vec![Violation::new(field, message)]))
        };
        match decision.trim() {
            "destroy" => Ok(Decision::Destroy),
            "transfer" => Ok(Decision::Transfer),
            "keep" => {
                let text = keep_until.map(str::trim).unwrap_or_default();
                if text.is_empty() {
                    return Err(bad("keep_until", "is required to keep a record for longer"));
                }
                crate::uk_time::iso_day(text)
                    .map(Decision::Keep)
                    .ok_or_else(|| bad("keep_until", "is not a date (YYYY-MM-DD)"))
            }
            _ => Err(bad("decision", "is not destroy, keep or transfer")),
        }
    }

    fn state(self) -> RetentionState {
        match self {
            Decision::Destroy => RetentionState::Destroy,
            Decision::Keep(_) => RetentionState::Keep,
            Decision::Transfer => RetentionState::Transfer,
        }
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Sweeps one organisation (the operator's, `task.sweep`): queues every record whose retention
    /// has ended, opens or closes the reviewers' and the approver's tasks, and destroys what was
    /// approved and has waited its period. Writes nothing when nothing changes.
    pub async fn sweep_retention(
        &self,
        operator: &Principal,
        organisation_id: Uuid,
    ) -> Result<RetentionSweep, OrganisationError> {
        let resource = Resource::Organisation {
            id: organisation_id,
        };
        let permit = self.permit(operator, Action::TaskSweep, resource).await?;
        let now = self.clock.now();
        let today = uk_date(now);
        let mut report = RetentionSweep::default();
        if let Some(register) = self.register() {
            let today_text = today.to_string();
            let mut after = None;
            let mut found = Vec::new();
            loop {
                let mut page = self
                    .store
                    .retention_facts(organisation_id, &today_text, after, PAGE)
                    .await?;
                report.considered += page.facts.len();
                after = page.last;
                self.open_birth_dates(&permit, &mut page.facts, today, now)
                    .await?;
                found.extend(page.facts.iter().filter_map(|f| {
                    let d = due::due(register, f, today)?;
                    Some(NewReview {
                        id: Uuid::now_v7(),
                        organisation_id,
                        service_id: f.service_id,
                        person_id: f.person_id,
                        rules: d.rules.join(","),
                        due_on: due::recorded_on(&d).to_string(),
                        found_at_micros: micros(now),
                    })
                }));
                if page.looked_at < PAGE as usize {
                    break;
                }
            }
            for chunk in found.chunks(QUEUE_CHUNK) {
                let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
                    .named("retention.sweep");
                report.queued += self.store.queue_reviews(chunk, audit).await?;
            }
        }
        self.carry_out(operator, &permit, organisation_id, now, &mut report)
            .await?;
        report.referrals_due = self.referrals_due_on(organisation_id, today).await?.len();
        self.retention_tasks(&permit, organisation_id, now, report.referrals_due > 0)
            .await?;
        Ok(report)
    }

    /// Destroys the approved reviews whose waiting period is over; closes those that must not be.
    async fn carry_out(
        &self,
        operator: &Principal,
        sweep: &confidant_policy::Permit,
        organisation_id: Uuid,
        now: OffsetDateTime,
        report: &mut RetentionSweep,
    ) -> Result<(), OrganisationError> {
        let approved = self
            .store
            .reviews(organisation_id, &[RetentionState::Approved], u32::MAX)
            .await?;
        let ready = approved
            .into_iter()
            .filter(|r| r.destroy_after_micros.is_some_and(|t| t <= micros(now)));
        for review in ready {
            match self.carry_out_one(operator, sweep, &review, now).await {
                Ok(CarriedOut::Destroyed) => report.destroyed += 1,
                Ok(CarriedOut::NotDestroyed) => report.not_destroyed += 1,
                // Left approved: its paper is a task, and the next sweep looks again.
                Ok(CarriedOut::AwaitingPaper) => report.awaiting_paper += 1,
                // Left approved: the next sweep tries again (the command line reports the count).
                Err(_) => report.failed += 1,
            }
        }
        Ok(())
    }

    /// One approved review: destroyed if the record is still due and not held, else closed with
    /// why not; left approved while paper of the record is still to destroy.
    async fn carry_out_one(
        &self,
        operator: &Principal,
        sweep: &confidant_policy::Permit,
        review: &ReviewRecord,
        now: OffsetDateTime,
    ) -> Result<CarriedOut, PersonError> {
        let purpose = Purpose::Administration;
        let mut facts: Vec<_> = self
            .store
            .retention_facts_of(&PersonAccess::deciding(review.person_id))
            .await?
            .into_iter()
            .collect();
        self.open_birth_dates(sweep, &mut facts, uk_date(now), now)
            .await?;
        let why_not = match (facts.first(), self.register()) {
            (None, _) => Some("the record is gone"),
            (Some(f), _) if f.live_holds > 0 => {
                Some("a legal hold, or an open request about the person's rights, is in force")
            }
            (Some(f), _) if f.live_restrictions > 0 => {
                Some("a restriction of processing is in force: the record is only to be stored")
            }
            // Due as reviewed: a later due date means something happened since (a contact, a
            // case reopened), which the reviewer did not see.
            (Some(f), Some(register))
                if due::due(register, f, uk_date(now))
                    .is_some_and(|d| due::as_reviewed(&d, &review.due_on)) =>
            {
                None
            }
            _ => Some("not as reviewed: a newer event, or the register changed; reviewed again"),
        };
        let not_destroyed = |outcome: &'static str| async move {
            let audit = AuditDraft::permitted(sweep, purpose, now)
                .about(review.person_id)
                .named("retention.not_destroyed");
            self.store
                .close_review(review.id, outcome, micros(now), audit)
                .await
        };
        if let Some(outcome) = why_not {
            not_destroyed(outcome).await?;
            return Ok(CarriedOut::NotDestroyed);
        }
        let access = PersonAccess::deciding(review.person_id);
        if self.store.outstanding_paper(&access).await? > 0 {
            return Ok(CarriedOut::AwaitingPaper);
        }
        let on = self
            .permit_on_person(operator, Action::PersonShred, review.person_id, purpose)
            .await?;
        let Some(reviewed) = review
            .scope
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
        else {
            not_destroyed("what the reviewer saw is not recorded: review it again").await?;
            return Ok(CarriedOut::NotDestroyed);
        };
        let decision = Decided {
            basis: DestructionBasis::RetentionEnded,
            reason: review.reason.clone().unwrap_or_default(),
            decided_by: review.decided_by.clone().unwrap_or_default(),
            approved_by: review.approved_by.iter().cloned().collect(),
            review_id: Some(review.id),
            reviewed: Some(reviewed),
            rules: self.rules_cited(&review.rules),
            erasure: None,
        };
        match self.destroy_decided(purpose, on, decision).await {
            Ok(_) => Ok(CarriedOut::Destroyed),
            Err(PersonError::Conflict(why)) => {
                not_destroyed(why).await?;
                Ok(CarriedOut::NotDestroyed)
            }
            Err(e) => Err(e),
        }
    }

    /// Fills in the date of birth of each record that needs it to know whether it is due
    /// ([`due::needs_birth_date`]), each read under an audit event about the person. A date that
    /// does not open or parse is left out: a birthday rule then keeps the record (never destroyed
    /// early).
    async fn open_birth_dates(
        &self,
        permit: &confidant_policy::Permit,
        facts: &mut [crate::store::RetentionFacts],
        today: Date,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let Some(register) = self.register() else {
            return Ok(());
        };
        for f in facts
            .iter_mut()
            .filter(|f| due::needs_birth_date(register, f, today))
        {
            let audit = AuditDraft::permitted(permit, Purpose::Administration, now)
                .about(f.person_id)
                .named("retention.birth_date");
            let sealed = self.store.sealed_birth_date(f.person_id, audit).await?;
            f.born_on = sealed.and_then(|(person, key)| {
                let opened = self.open_person(&person, &key).ok()?;
                crate::uk_time::iso_day(opened.get(PersonField::DateOfBirth)?)
            });
        }
        Ok(())
    }

    /// Opens the reviewers' task while records wait for review (and another while referrals not
    /// taken up wait to be erased), and the Data Protection Officer's while decisions wait for
    /// approval; closes each when nothing waits.
    async fn retention_tasks(
        &self,
        permit: &confidant_policy::Permit,
        organisation_id: Uuid,
        now: OffsetDateTime,
        referrals_waiting: bool,
    ) -> Result<(), OrganisationError> {
        let waits = |state| async move {
            Ok::<_, StoreError>(
                !self
                    .store
                    .reviews(organisation_id, &[state], 1)
                    .await?
                    .is_empty(),
            )
        };
        let mut changes = Vec::new();
        for (kind, waiting) in [
            (
                TaskKind::RetentionReview,
                waits(RetentionState::ToReview).await?,
            ),
            (
                TaskKind::RetentionApproval,
                waits(RetentionState::Destroy).await?,
            ),
            (TaskKind::ReferralErasure, referrals_waiting),
        ] {
            let open = self
                .store
                .open_tasks_of(organisation_id, kind)
                .await?
                .iter()
                .any(|t| t.subject_id == organisation_id);
            if waiting && !open {
                changes.push(TaskChange::Open(NewTask::retention(kind, organisation_id)));
            } else if !waiting && open {
                changes.push(TaskChange::Close {
                    kind,
                    subject_id: organisation_id,
                    outcome: "retention.sweep",
                });
            }
        }
        if !changes.is_empty() {
            let audit = AuditDraft::permitted(permit, Purpose::Administration, now);
            self.store.write_tasks(&changes, audit).await?;
        }
        Ok(())
    }

    /// The organisation's review queue (`oversight.read`: the Data Protection Officer and the
    /// Caldicott Guardian): what waits, what is approved, and the latest closed. Audited.
    pub async fn retention_queue(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<Vec<ReviewRecord>, PersonError> {
        let permit = self.oversight_permit(actor, organisation_id).await?;
        let audit = AuditDraft::permitted(&permit, Purpose::Audit, self.clock.now())
            .named("retention.queue");
        self.store.record_access(audit).await?;
        let open = [
            RetentionState::ToReview,
            RetentionState::Destroy,
            RetentionState::Approved,
        ];
        let closed = [
            RetentionState::Destroyed,
            RetentionState::Keep,
            RetentionState::Transfer,
            RetentionState::NotDestroyed,
        ];
        let mut all = self.store.reviews(organisation_id, &open, 1_000).await?;
        all.extend(self.store.reviews(organisation_id, &closed, 200).await?);
        Ok(all)
    }

    /// One review with the exact scope destroying it would reach (`retention.review` on the
    /// record: the Data Protection Officer and the Caldicott Guardian), audited as a read.
    pub async fn retention_review(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        review_id: Uuid,
    ) -> Result<ReviewView, PersonError> {
        let review = self.review_of(organisation_id, review_id).await?;
        let purpose = Purpose::Administration;
        let (permit, _) = self
            .permit_on_person(actor, Action::RetentionReview, review.person_id, purpose)
            .await?;
        let access = access_of(&permit)?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("retention.scope");
        let scope = self.store.destruction_scope(&access, audit).await?;
        let (scope, live_holds) = match scope {
            Some(s) => (s, s.live_holds),
            None => (DestructionScope::default(), 0),
        };
        Ok(ReviewView {
            review,
            scope,
            live_holds,
        })
    }

    /// A reviewer's decision on a record waiting for review (`retention.review`): destroy (then
    /// waiting for the Data Protection Officer's approval), keep until a later date, or transfer.
    /// The reason is required and must not name the person (it goes on the certificate).
    pub async fn decide_retention(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        review_id: Uuid,
        decision: Decision,
        reason: &str,
    ) -> Result<ReviewRecord, PersonError> {
        let review = self.review_of(organisation_id, review_id).await?;
        let purpose = Purpose::Administration;
        let (permit, _) = self
            .permit_on_person(actor, Action::RetentionReview, review.person_id, purpose)
            .await?;
        let reason = match crate::sharing::reason_text("reason", Some(reason)) {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(PersonError::Invalid(Violations(vec![Violation::new(
                    "reason",
                    "is required",
                )])));
            }
            Err(v) => return Err(PersonError::Invalid(Violations(vec![v]))),
        };
        let now = self.clock.now();
        let today = uk_date(now);
        if let Decision::Keep(until) = decision {
            let latest = today
                .replace_year(today.year() + KEEP_YEARS_AT_MOST)
                .unwrap_or(today);
            if until <= today || until > latest {
                return Err(PersonError::Invalid(Violations(vec![Violation::new(
                    "keep_until",
                    "must be after today and within 50 years",
                )])));
            }
        }
        if !review.state.open() {
            return Err(PersonError::Conflict("this review is closed"));
        }
        let access = access_of(&permit)?;
        let check = AuditDraft::permitted(&permit, purpose, now).named("retention.check");
        self.reason_names_no_one(&access, check, &reason).await?;
        // What a decision to destroy is about: the record as it is now, which the destruction
        // must find unchanged.
        let scope = match decision {
            Decision::Destroy => {
                let read = AuditDraft::permitted(&permit, purpose, now).named("retention.scope");
                let seen = self
                    .store
                    .destruction_scope(&access, read)
                    .await?
                    .ok_or(PersonError::NotFound)?;
                Some(
                    serde_json::to_string(&seen).map_err(|_| {
                        PersonError::Crypto(confidant_crypto::CryptoError::Malformed)
                    })?,
                )
            }
            _ => None,
        };
        let write = ReviewDecision {
            state: decision.state(),
            by: actor.audit_id(),
            at_micros: micros(now),
            keep_until: match decision {
                Decision::Keep(d) => Some(d.to_string()),
                _ => None,
            },
            reason,
            scope,
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("retention.decide");
        if !self.store.decide_review(review_id, &write, audit).await? {
            return Err(PersonError::Conflict("this review is closed"));
        }
        self.review_of(organisation_id, review_id).await
    }

    /// The Data Protection Officer approves destroy decisions (`person.shred` on each record),
    /// each made by someone else: each waits [`WAITING_DAYS`] and is then destroyed by the sweep.
    /// Answers the ids approved; a review not waiting for approval, or decided by the approver, is
    /// refused and nothing of the batch is written.
    pub async fn approve_retention(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        review_ids: &[Uuid],
    ) -> Result<Vec<Uuid>, PersonError> {
        if review_ids.is_empty() {
            return Err(PersonError::Invalid(Violations(vec![Violation::new(
                "reviews",
                "choose at least one decision to approve",
            )])));
        }
        let purpose = Purpose::Administration;
        let by = actor.audit_id();
        let mut permits = Vec::new();
        for id in review_ids {
            let review = self.review_of(organisation_id, *id).await?;
            let (permit, _) = self
                .permit_on_person(actor, Action::PersonShred, review.person_id, purpose)
                .await?;
            if review.state != RetentionState::Destroy {
                return Err(PersonError::Conflict(
                    "a record chosen is not waiting for approval",
                ));
            }
            if review.decided_by.as_deref() == Some(by.as_str()) {
                return Err(PersonError::Conflict(
                    "you decided one of these yourself: someone else must approve it",
                ));
            }
            permits.push((review.id, permit));
        }
        let now = self.clock.now();
        let after = micros(now + Duration::days(WAITING_DAYS));
        let ids: Vec<Uuid> = permits.iter().map(|(id, _)| *id).collect();
        let approvals = permits
            .into_iter()
            .map(|(id, permit)| {
                let audit = AuditDraft::permitted(&permit, purpose, now).named("retention.approve");
                (id, audit)
            })
            .collect();
        self.store
            .approve_reviews(approvals, &by, micros(now), after)
            .await?;
        Ok(ids)
    }

    /// Takes the daily sweep's turn for this installation: `true` for the one process whose turn
    /// it is (nobody swept in the last `every`), which then sweeps; the others leave it. The
    /// operator's only. Running two sweeps at once is safe (each step is checked against the
    /// state it expects), only wasteful.
    pub async fn take_retention_turn(
        &self,
        operator: &Principal,
        every: Duration,
    ) -> Result<bool, OrganisationError> {
        if operator.actor() != &confidant_policy::Actor::System {
            return Err(OrganisationError::NotFound);
        }
        let now = self.clock.now();
        // A new holder every time: a process never renews its own turn early.
        let holder = Uuid::now_v7().to_string();
        Ok(self
            .store
            .take_job_lock("retention.sweep", &holder, micros(now), micros(now + every))
            .await?)
    }

    /// The rules (ids, comma-separated) as the certificate cites them: each with the policy
    /// document it comes from and its version.
    fn rules_cited(&self, ids: &str) -> Vec<String> {
        ids.split(',')
            .map(|id| {
                let source = self.register().and_then(|r| {
                    r.retention_rule(id)
                        .and_then(|rule| r.retention_source(rule))
                });
                match source {
                    Some(doc) => format!("{id} ({} version {})", doc.title, doc.version),
                    None => id.to_owned(),
                }
            })
            .collect()
    }

    async fn review_of(
        &self,
        organisation_id: Uuid,
        review_id: Uuid,
    ) -> Result<ReviewRecord, PersonError> {
        self.store
            .review(organisation_id, review_id)
            .await?
            .ok_or(PersonError::NotFound)
    }
}
