//! Server-side sessions: started at each step of sign-in, looked up by token (locked when idle,
//! over when too old), ended by signing out, by a lock-out or by an administrator.

use confidant_crypto::{new_session_token, new_token, token_hash};
use confidant_policy::Action;
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, AuthEvent, Outcome};
use crate::organisation::{OrganisationError, Secret, micros};
use crate::store::{SessionRecord, SessionRow, SessionStage, Store, StoreError};
use crate::{Clock, Confidant};

use super::*;

impl<S: Store, C: Clock> Confidant<S, C> {
    pub(super) async fn start_session(
        &self,
        staff_id: Uuid,
        stage: SessionStage,
        replaces: Option<Uuid>,
        event: AuthEvent,
    ) -> Result<Secret, StoreError> {
        let now = self.clock.now();
        let token = new_session_token();
        let record = SessionRecord {
            id: Uuid::now_v7(),
            token_hash: token_hash(&token),
            staff_id,
            stage,
            csrf_token: new_token()[4..].to_owned(),
            created_at_micros: micros(now),
            last_seen_at_micros: micros(now),
            authenticated_at_micros: micros(now),
            expires_at_micros: micros(now + self.settings.session.absolute),
            ended_at_micros: None,
        };
        let audit = AuditDraft::authentication(Some(staff_id), event, Outcome::Ok, now);
        self.store.create_session(&record, replaces, audit).await?;
        Ok(Secret::new(token))
    }

    /// How stale a session's "last seen" may grow before a request writes it again: a minute, or
    /// a tenth of the idle limit if that is shorter.
    fn touch_every_micros(&self) -> i64 {
        (self.idle_micros() / 10).min(60_000_000)
    }

    /// The session a token stands for, if it is live; records the activity of an active session.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        self.look_up_session(token, true).await
    }

    /// As [`Self::session`], without recording activity: for the lock page, which a page's own
    /// timer opens when the idle limit is up. Were that counted as activity, a forgotten window
    /// would keep its session from ever locking.
    pub async fn session_without_activity(
        &self,
        token: &str,
    ) -> Result<Option<Session>, StoreError> {
        self.look_up_session(token, false).await
    }

    async fn look_up_session(
        &self,
        token: &str,
        record_activity: bool,
    ) -> Result<Option<Session>, StoreError> {
        if !token.starts_with("cfs_") || token.len() > 80 {
            return Ok(None);
        }
        let now = self.now_micros();
        let Some(row) = self.store.session_by_token(&token_hash(token), now).await? else {
            return Ok(None);
        };
        let SessionRow {
            record,
            staff,
            organisation_name,
            current_training,
        } = row;
        if record.ended_at_micros.is_some() || record.expires_at_micros <= now {
            return Ok(None);
        }
        if staff.disabled_at_micros.is_some() {
            return Ok(None);
        }
        let idle_for = now - record.last_seen_at_micros;
        let state = match record.stage {
            // A half-finished sign-in does not linger: it gets the idle limit and no unlocking.
            SessionStage::Password if idle_for > self.idle_micros() => return Ok(None),
            SessionStage::Password => {
                let enrolled = self
                    .store
                    .credential(staff.id)
                    .await?
                    .is_some_and(|c| c.totp_confirmed_at_micros.is_some());
                SessionState::AwaitingSecondFactor { enrolled }
            }
            SessionStage::Full if idle_for > self.idle_micros() => SessionState::Locked,
            SessionStage::Full => {
                // Written at most once a minute (a tenth of the idle limit, if that is shorter),
                // not at every request: a session may lock up to that much before the limit,
                // never after it.
                if record_activity && idle_for >= self.touch_every_micros() {
                    self.store.touch_session(record.id, now).await?;
                }
                SessionState::Active
            }
        };
        let actor = Principal::authenticated(actor_of(&staff, &current_training));
        Ok(Some(Session {
            record,
            staff,
            organisation_name,
            state,
            actor,
        }))
    }

    fn idle_micros(&self) -> i64 {
        i64::try_from(self.settings.session.idle.whole_microseconds()).unwrap_or(i64::MAX)
    }

    /// Locked out while signed in: the session ends too.
    pub(super) async fn end_locked_out_session(&self, session: &Session) -> Result<(), StoreError> {
        let audit = AuditDraft::authentication(
            Some(session.staff.id),
            AuthEvent::SignOut,
            Outcome::Ok,
            self.clock.now(),
        );
        self.store
            .end_session(session.record.id, self.now_micros(), "locked_out", audit)
            .await
    }

    pub async fn sign_out(&self, session: &Session) -> Result<(), StoreError> {
        let audit = AuditDraft::authentication(
            Some(session.staff.id),
            AuthEvent::SignOut,
            Outcome::Ok,
            self.clock.now(),
        );
        self.store
            .end_session(session.record.id, self.now_micros(), "signed_out", audit)
            .await
    }

    /// Ends every session of a member of staff at once (an administrator's "sign them out").
    pub async fn terminate_sessions(
        &self,
        actor: &Principal,
        staff_id: Uuid,
    ) -> Result<u64, OrganisationError> {
        let (staff, audit) = self
            .staff_change(
                actor,
                staff_id,
                Action::StaffDisable,
                "staff.terminate_sessions",
            )
            .await?;
        Ok(self
            .store
            .end_sessions_of(staff.id, None, self.now_micros(), "terminated", audit)
            .await?)
    }
}
