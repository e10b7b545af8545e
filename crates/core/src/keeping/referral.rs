//! Referrals not taken up (issue 17, part 2): an application the person did not take up (no
//! response, or withdrawn) is kept for its service's `application_not_taken_up` period after the
//! last contact about it, then erased once a reviewer has looked at it.
//!
//! Guarantees:
//! - Only a referral decided as not taken up, in a service with such a rule, whose period has
//!   ended on the UK calendar ([`due::referral_due`]) is listed or erased; a declined referral
//!   was erased when it was declined, an open or accepted one never is here.
//! - Nothing is erased without review: the sweep opens one task for the reviewers while any is
//!   due, and a reviewer (`retention.review` on the referral's service: the Data Protection
//!   Officer or the Caldicott Guardian) erases each, the period checked again first.
//! - Erasing is the same crypto-shredding as declining: the sealed fields, blind indexes and key
//!   go in one transaction with the audit event (on the referral), onto the erasure ledger, so a
//!   restored backup loses it again. The referral's ids, codes and times stay.
//! - The list shows ids, codes and dates only, and reading it is audited.

use confidant_policy::{Action, Permit};
use time::Date;
use uuid::Uuid;

use super::due::{self, Due};
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::person::PersonError;
use crate::retention::uk_date;
use crate::store::{ReferralRecord, Store, StoreError};
use crate::{Clock, Confidant};

/// The most referrals due the list shows at a time (erased ones leave room), and how many the
/// store reads at a time to find them.
const LIST_AT_MOST: usize = 500;
const PAGE: u32 = 1_000;

/// A referral not taken up whose retention has ended: ids, codes and times only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralDue {
    pub referral: ReferralRecord,
    /// The day its period ended, and the rules (ids).
    pub due: Due,
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The organisation's referrals not taken up whose period has ended on `today` (UK date).
    /// For the sweep and the list; no permit (ids and times only).
    pub(super) async fn referrals_due_on(
        &self,
        organisation_id: Uuid,
        today: Date,
    ) -> Result<Vec<ReferralDue>, StoreError> {
        let Some(register) = self.register() else {
            return Ok(Vec::new());
        };
        // Only services with such a rule (the others keep their referrals: nothing is due), read
        // a page at a time until LIST_AT_MOST are due, so those not yet due never crowd them out.
        let services = due::services_keeping_applications(register);
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .referrals_not_taken_up(organisation_id, &services, after, PAGE)
                .await?;
            after = page.last().map(|(r, _)| r.id);
            let full = page.len() == PAGE as usize;
            found.extend(page.into_iter().filter_map(|(referral, code)| {
                let due = due::referral_due(register, code.as_deref()?, &referral, today)?;
                Some(ReferralDue { referral, due })
            }));
            if !full || found.len() >= LIST_AT_MOST {
                break;
            }
        }
        found.truncate(LIST_AT_MOST);
        Ok(found)
    }

    /// The referrals not taken up due for erasure (`oversight.read`: the Data Protection Officer
    /// and the Caldicott Guardian), audited.
    pub async fn referrals_due(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<Vec<ReferralDue>, PersonError> {
        let permit = self.oversight_permit(actor, organisation_id).await?;
        let now = self.clock.now();
        let audit =
            AuditDraft::permitted(&permit, Purpose::Audit, now).named("retention.referrals");
        self.store.record_access(audit).await?;
        Ok(self.referrals_due_on(organisation_id, uk_date(now)).await?)
    }

    /// Erases a referral not taken up whose period has ended (`retention.review` on its service),
    /// checked again now. `NotFound` for a referral of another organisation or one the actor may
    /// not review; `Conflict` when it is not due (or was erased meanwhile), writing nothing.
    pub async fn erase_referral_not_taken_up(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        referral_id: Uuid,
    ) -> Result<Due, PersonError> {
        let referral = self
            .store
            .referral(referral_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let service = self
            .store
            .service(referral.service_id)
            .await?
            .filter(|s| s.organisation_id == organisation_id)
            .ok_or(PersonError::NotFound)?;
        let purpose = Purpose::Administration;
        let permit: Permit = self
            .service_permit(actor, Action::RetentionReview, service.id, purpose)
            .await?;
        let now = self.clock.now();
        let due = self
            .register()
            .zip(service.code.as_deref())
            .and_then(|(register, code)| {
                due::referral_due(register, code, &referral, uk_date(now))
            })
            .ok_or(PersonError::Conflict(
                "this referral is not due for erasure: only one not taken up, once its period has ended",
            ))?;
        let audit = AuditDraft::permitted(&permit, purpose, now)
            .named("retention.referral_erase")
            .on("referral", referral_id);
        if !self.store.erase_referral(referral_id, audit).await? {
            return Err(PersonError::Conflict(
                "this referral was erased meanwhile, or a legal hold on a query keeps it",
            ));
        }
        Ok(due)
    }
}
