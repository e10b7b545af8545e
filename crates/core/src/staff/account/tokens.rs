//! Personal access tokens for the API: issued for a member of staff with a scope and an expiry,
//! authenticated by their hash, listed and revoked by their owner.

use confidant_crypto::{new_token, token_hash};
use confidant_policy::{Action, Actor};
use time::Duration;
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::organisation::{OrganisationError, Secret, micros};
use crate::person::{Violation, Violations};
use crate::store::{ApiTokenRecord, StaffRecord, Store, StoreError, TokenScope};
use crate::{Clock, Confidant};

use super::*;

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Issues a personal access token for a member of staff, valid for `valid_for` (1–90 days) with
    /// `scope`. The token is returned once; only its hash is kept.
    pub async fn issue_token(
        &self,
        actor: &Principal,
        staff: &StaffRecord,
        valid_for: Duration,
        scope: TokenScope,
    ) -> Result<Secret, OrganisationError> {
        if valid_for < Duration::days(1) || valid_for > Duration::days(90) {
            return Err(OrganisationError::Invalid(Violations(vec![
                Violation::new("days", "must be between 1 and 90"),
            ])));
        }
        let permit = self
            .permit(actor, Action::TokenIssue, staff_resource(staff))
            .await?;
        let token = new_token();
        let now = self.clock.now();
        let record = ApiTokenRecord {
            id: Uuid::now_v7(),
            staff_id: staff.id,
            token_hash: token_hash(&token),
            scope,
            created_at_micros: micros(now),
            expires_at_micros: micros(now + valid_for),
            revoked_at_micros: None,
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, now);
        self.store.issue_token(&record, audit).await?;
        Ok(Secret::new(token))
    }

    /// Who a bearer token stands for, and what the token may do, if it is live.
    pub async fn authenticate_token(
        &self,
        token: &str,
    ) -> Result<Option<(Principal, TokenScope)>, StoreError> {
        if !token.starts_with("cft_") || token.len() != 68 {
            return Ok(None);
        }
        let Some((record, staff)) = self
            .store
            .token_owner(&token_hash(token), self.now_micros())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((
            Principal::authenticated(self.actor_for(&staff).await?),
            record.scope,
        )))
    }

    /// A member of staff's own tokens (live and past), newest first.
    pub async fn tokens_of(&self, staff_id: Uuid) -> Result<Vec<ApiTokenRecord>, StoreError> {
        self.store.tokens_of(staff_id).await
    }

    /// Revokes one of the actor's own tokens: refused from the very next request.
    pub async fn revoke_token(
        &self,
        actor: &Principal,
        token_id: Uuid,
    ) -> Result<bool, OrganisationError> {
        let Actor::Staff(me) = actor.actor() else {
            return Err(OrganisationError::NotFound);
        };
        let staff = self.staff_record(me.user_id).await?;
        let permit = self
            .permit(actor, Action::TokenIssue, staff_resource(&staff))
            .await?;
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("token.revoke");
        Ok(self
            .store
            .revoke_token(token_id, staff.id, self.now_micros(), audit)
            .await?)
    }
}
