//! Passwords: changing one's own, and setting a member of staff's on behalf of the organisation
//! (which ends their sessions).

use confidant_crypto::password;
use confidant_policy::Action;
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, AuthEvent, Outcome};
use crate::organisation::OrganisationError;
use crate::person::Violations;
use crate::store::{Credential, RecoveryCodes, StaffRecord, Store, StoreError};
use crate::{Clock, Confidant};

use super::*;

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Changes one's own password: the current one must be right, the new one strong enough.
    pub async fn change_password(
        &self,
        session: &Session,
        current: &str,
        new: &str,
        context_words: &[&str],
    ) -> Result<(), SignInError> {
        if session.state != SessionState::Active {
            return Err(SignInError::NoSession);
        }
        let own = self.password_context(&session.staff).await?;
        let mut words = context_words.to_vec();
        words.extend(own.iter().map(String::as_str));
        password::check_new(new, &words)
            .map_err(|p| SignInError::Invalid(Violations(vec![password_violation(&p)])))?;
        check_typed_password(current)?;
        let mut credential = self.credential_of(session.staff.id).await?;
        if let Some(until) = self.locked(&credential) {
            password::verify_dummy(current);
            self.audit_auth(
                Some(session.staff.id),
                AuthEvent::PasswordChange,
                Outcome::Denied,
            )
            .await?;
            return Err(SignInError::LockedOut { until });
        }
        let ok = credential
            .password_hash
            .as_deref()
            .is_some_and(|h| password::verify(current, h));
        if !ok {
            let refusal = self.fail(credential, AuthEvent::PasswordChange).await?;
            if matches!(refusal, SignInError::LockedOut { .. }) {
                self.end_locked_out_session(session).await?;
            }
            return Err(refusal);
        }
        let now = self.now_micros();
        credential.password_hash = Some(password::hash(new));
        credential.password_changed_at_micros = Some(now);
        credential.updated_at_micros = now;
        let audit = AuditDraft::authentication(
            Some(session.staff.id),
            AuthEvent::PasswordChange,
            Outcome::Ok,
            self.clock.now(),
        );
        self.store
            .save_credential(
                &credential,
                None,
                &RecoveryCodes::Keep,
                audit.for_next_write(),
            )
            .await?;
        // Anyone else signed in with the old password is signed out; this session carries on.
        self.store
            .end_sessions_of(
                session.staff.id,
                Some(session.record.id),
                now,
                "password_changed",
                audit,
            )
            .await?;
        Ok(())
    }

    /// Sets a member of staff's password on behalf of the organisation (the operator at the command
    /// line, or an administrator): their sessions end and any lock is lifted. Two-factor stays.
    pub async fn set_password(
        &self,
        actor: &Principal,
        staff_id: Uuid,
        new: &str,
        context_words: &[&str],
    ) -> Result<(), OrganisationError> {
        let (staff, audit) = self
            .staff_change(actor, staff_id, Action::StaffUpdate, "staff.set_password")
            .await?;
        let own = self.password_context(&staff).await?;
        let mut words = context_words.to_vec();
        words.extend(own.iter().map(String::as_str));
        password::check_new(new, &words)
            .map_err(|p| OrganisationError::Invalid(Violations(vec![password_violation(&p)])))?;
        let hash = password::hash(new);
        self.hand_over(
            &staff,
            audit,
            RecoveryCodes::Keep,
            "password_set",
            |c, now| {
                c.password_hash = Some(hash);
                c.password_changed_at_micros = Some(now);
                c.failed_attempts = 0;
                c.locked_until_micros = None;
            },
        )
        .await
    }

    /// The words a new password of this member of staff must not be built from, found here rather
    /// than trusted to every caller: their handle, their organisation's name and the names of all
    /// its services (zxcvbn's user inputs; see [`password::check_new`]).
    async fn password_context(&self, staff: &StaffRecord) -> Result<Vec<String>, StoreError> {
        let mut words = vec![staff.handle.clone()];
        if let Some(org) = self.store.organisation(staff.organisation_id).await? {
            words.push(org.name);
        }
        words.extend(
            self.store
                .services(staff.organisation_id)
                .await?
                .into_iter()
                .map(|s| s.name),
        );
        Ok(words)
    }

    /// Changes a member of staff's credential on behalf of the organisation, then ends their sessions
    /// and revokes their tokens: whoever held the old password or second factor holds nothing now.
    pub(super) async fn hand_over(
        &self,
        staff: &StaffRecord,
        audit: AuditDraft,
        recovery: RecoveryCodes,
        reason: &'static str,
        change: impl FnOnce(&mut Credential, i64),
    ) -> Result<(), OrganisationError> {
        let now = self.now_micros();
        let mut credential = self
            .store
            .credential(staff.id)
            .await?
            .unwrap_or_else(|| empty_credential(staff.id, now));
        change(&mut credential, now);
        credential.updated_at_micros = now;
        self.store
            .save_credential(&credential, None, &recovery, audit.for_next_write())
            .await?;
        self.store
            .end_sessions_of(staff.id, None, now, reason, audit)
            .await?;
        Ok(())
    }
}
