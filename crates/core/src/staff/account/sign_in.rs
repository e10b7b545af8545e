//! The first step of signing in: handle and password, the progressive lock-out of failures, and
//! re-authentication of a signed-in member of staff; the sign-in form's own token.

use confidant_crypto::password;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::audit::{AuditDraft, AuthEvent, Outcome};
use crate::organisation::micros;
use crate::store::{Credential, SessionStage, Store, WrappedDataKey};
use crate::{Clock, Confidant};

use super::*;

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Counts a failure against the account, locking it once past the free attempts.
    /// Counts a failure against the account (atomically: parallel guesses all count), locking it
    /// once past the free attempts.
    pub(super) async fn fail(
        &self,
        credential: Credential,
        event: AuthEvent,
    ) -> Result<SignInError, SignInError> {
        let now = self.clock.now();
        let staff = Some(credential.staff_id);
        let failure = AuditDraft::authentication(staff, event, Outcome::Denied, now);
        let lockout = AuditDraft::authentication(staff, AuthEvent::Lockout, Outcome::Denied, now);
        let lock_after = |n: i64| lock_duration(n).map(|d| micros(now + d));
        let lock = self
            .store
            .record_failure(
                credential.staff_id,
                micros(now),
                &lock_after,
                failure,
                lockout,
            )
            .await?;
        Ok(match lock {
            Some(until) => SignInError::LockedOut {
                until: crate::person::from_micros(until),
            },
            None => SignInError::Refused,
        })
    }

    /// A failure under a user name with no usable account counts exactly as one under a real account
    /// would, lock-out included, so the answers do not tell whether the name exists.
    async fn fail_unknown(&self, handle: &str) -> Result<SignInError, SignInError> {
        let digest = self.keys.handle_digest(handle);
        let now = self.clock.now();
        let audit = AuditDraft::authentication(None, AuthEvent::SignIn, Outcome::NotFound, now);
        let locked_until = self
            .store
            .sign_in_throttle(&digest)
            .await?
            .and_then(|(_, until)| until);
        if let Some(until) = locked_until.filter(|u| *u > micros(now)) {
            self.store.record_access(audit).await?;
            return Ok(SignInError::LockedOut {
                until: crate::person::from_micros(until),
            });
        }
        let lock_after = |n: i64| lock_duration(n).map(|d| micros(now + d));
        let lock = self
            .store
            .record_unknown_failure(&digest, micros(now), &lock_after, audit)
            .await?;
        Ok(match lock {
            Some(until) => SignInError::LockedOut {
                until: crate::person::from_micros(until),
            },
            None => SignInError::Refused,
        })
    }

    pub(super) fn locked(&self, credential: &Credential) -> Option<OffsetDateTime> {
        credential
            .locked_until_micros
            .filter(|until| *until > self.now_micros())
            .map(crate::person::from_micros)
    }

    /// The first step: handle and password. Unknown, disabled and wrong all answer `Refused`.
    pub async fn sign_in(&self, handle: &str, password: &str) -> Result<SignedIn, SignInError> {
        let handle = handle.trim().to_lowercase();
        if handle.is_empty() {
            return Err(invalid("handle", "enter your user name"));
        }
        if handle.chars().count() > MAX_HANDLE {
            return Err(invalid("handle", "is longer than any user name can be"));
        }
        check_typed_password(password)?;
        let staff = self
            .store
            .staff_by_handle(&handle)
            .await?
            .filter(|s| s.disabled_at_micros.is_none());
        let credential = match &staff {
            Some(s) => self.store.credential(s.id).await?,
            None => None,
        };
        let usable = match (staff, credential) {
            (Some(staff), Some(credential)) => credential
                .password_hash
                .clone()
                .map(|hash| (staff, credential, hash)),
            _ => None,
        };
        let Some((staff, credential, hash)) = usable else {
            password::verify_dummy(password);
            return Err(self.fail_unknown(&handle).await?);
        };
        if let Some(until) = self.locked(&credential) {
            password::verify_dummy(password);
            self.audit_auth(Some(staff.id), AuthEvent::SignIn, Outcome::Denied)
                .await?;
            return Err(SignInError::LockedOut { until });
        }
        if !password::verify(password, &hash) {
            return Err(self.fail(credential, AuthEvent::SignIn).await?);
        }
        let next = if credential.totp_confirmed_at_micros.is_some() {
            NextStep::SecondFactor
        } else {
            NextStep::EnrolTwoFactor
        };
        let token = self
            .start_session(staff.id, SessionStage::Password, None, AuthEvent::SignIn)
            .await?;
        Ok(SignedIn { token, next })
    }

    pub(super) async fn credential_of(&self, staff_id: Uuid) -> Result<Credential, SignInError> {
        self.store
            .credential(staff_id)
            .await?
            .ok_or(SignInError::NoSession)
    }

    pub(super) async fn staff_key(
        &self,
        staff_id: Uuid,
    ) -> Result<(confidant_crypto::DataKey, Option<WrappedDataKey>), SignInError> {
        match self.store.staff_key(staff_id).await? {
            Some(w) => Ok((self.keys.data_key(&w)?, None)),
            None => {
                let (key, wrapped) = self.keys.new_data_key(staff_id, STAFF_KEY_VERSION);
                Ok((key, Some(wrapped)))
            }
        }
    }

    /// Checks the password of a signed-in member of staff again: to unlock an idle session, or before
    /// an export, an erasure or a key operation. Failures count towards the lock-out.
    pub async fn reauthenticate(
        &self,
        session: &Session,
        password: &str,
    ) -> Result<(), SignInError> {
        if !matches!(session.state, SessionState::Active | SessionState::Locked) {
            return Err(SignInError::NoSession);
        }
        check_typed_password(password)?;
        let credential = self.credential_of(session.staff.id).await?;
        if let Some(until) = self.locked(&credential) {
            password::verify_dummy(password);
            self.audit_auth(Some(session.staff.id), AuthEvent::Unlock, Outcome::Denied)
                .await?;
            return Err(SignInError::LockedOut { until });
        }
        let ok = credential
            .password_hash
            .as_deref()
            .is_some_and(|h| password::verify(password, h));
        let event = if session.state == SessionState::Locked {
            AuthEvent::Unlock
        } else {
            AuthEvent::Reauthenticate
        };
        if !ok {
            let refusal = self.fail(credential, event).await?;
            if matches!(refusal, SignInError::LockedOut { .. }) {
                self.end_locked_out_session(session).await?;
            }
            return Err(refusal);
        }
        let audit = AuditDraft::authentication(
            Some(session.staff.id),
            event,
            Outcome::Ok,
            self.clock.now(),
        );
        self.store
            .reauthenticate_session(session.record.id, self.now_micros(), audit)
            .await?;
        Ok(())
    }

    /// A new token for the sign-in form (its double-submit cookie and hidden field), valid for
    /// [`SIGN_IN_FORM_VALIDITY`]. Bound to this installation by an HMAC under a key derived from
    /// its keys, so an attacker cannot choose a matching cookie and field of their own.
    pub fn sign_in_form_token(&self) -> String {
        let expires = self.clock.now() + SIGN_IN_FORM_VALIDITY;
        self.keys.sign_in_form_token(expires.unix_timestamp())
    }

    /// How long a sign-in form token has left, if this installation issued it and it has not
    /// expired; `None` for anything else.
    pub fn sign_in_form_token_left(&self, token: &str) -> Option<Duration> {
        let expires = self.keys.sign_in_form_expiry(token)?;
        let left = Duration::seconds(expires - self.clock.now().unix_timestamp());
        (left > Duration::ZERO && left <= SIGN_IN_FORM_VALIDITY).then_some(left)
    }
}
