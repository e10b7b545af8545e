//! The second factor: TOTP enrolment and its confirmation, the second step of sign-in with a TOTP
//! code or a one-time recovery code, and resetting a member of staff's second factor.

use confidant_crypto::totp::{self, TotpSecret};
use confidant_policy::Action;
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, AuthEvent, Outcome};
use crate::organisation::{OrganisationError, Secret};
use crate::store::{Credential, RecoveryCodes, SessionStage, Store, StoreError};
use crate::{Clock, Confidant};

use super::*;

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The second factor to enrol for a session that has given its password but has none yet. The
    /// same secret is shown again until it is confirmed.
    pub async fn two_factor_enrolment(
        &self,
        session: &Session,
        issuer: &str,
    ) -> Result<Enrolment, SignInError> {
        if session.state != (SessionState::AwaitingSecondFactor { enrolled: false }) {
            return Err(SignInError::NoSession);
        }
        let staff_id = session.staff.id;
        let mut credential = self.credential_of(staff_id).await?;
        let row = staff_id.to_string();
        let (key, new_key) = self.staff_key(staff_id).await?;
        let secret = match &credential.totp_secret {
            Some(sealed) if new_key.is_none() => {
                TotpSecret::from_bytes(&key.open(&totp_address(&row), sealed)?)?
            }
            _ => {
                let secret = TotpSecret::generate();
                credential.totp_secret = Some(key.seal(&totp_address(&row), secret.as_bytes()));
                credential.totp_confirmed_at_micros = None;
                credential.totp_last_step = None;
                credential.updated_at_micros = self.now_micros();
                let audit = AuditDraft::authentication(
                    Some(staff_id),
                    AuthEvent::TwoFactorSecret,
                    Outcome::Ok,
                    self.clock.now(),
                );
                self.store
                    .save_credential(&credential, new_key.as_ref(), &RecoveryCodes::Clear, audit)
                    .await?;
                secret
            }
        };
        let uri = totp::otpauth_uri(&secret, issuer, &session.staff.handle);
        Ok(Enrolment {
            qr_svg: totp::qr_svg(&uri),
            otpauth_uri: uri,
            manual_key: Secret::new(secret.base32()),
        })
    }

    async fn open_totp(&self, credential: &Credential) -> Result<TotpSecret, SignInError> {
        let sealed = credential
            .totp_secret
            .as_ref()
            .ok_or(SignInError::NoSession)?;
        let wrapped = self
            .store
            .staff_key(credential.staff_id)
            .await?
            .ok_or(SignInError::NoSession)?;
        let key = self.keys.data_key(&wrapped)?;
        let row = credential.staff_id.to_string();
        Ok(TotpSecret::from_bytes(
            &key.open(&totp_address(&row), sealed)?,
        )?)
    }

    fn unix_now(&self) -> u64 {
        u64::try_from(self.clock.now().unix_timestamp()).unwrap_or(0)
    }

    /// What both second-factor steps start with: the session must be at this step (enrolled or
    /// enrolling), the code plausible, the account not locked; gives the trimmed code, the credential,
    /// the TOTP secret and the last step used.
    async fn second_step<'c>(
        &self,
        session: &Session,
        code: &'c str,
        enrolled: bool,
    ) -> Result<(&'c str, Credential, TotpSecret, Option<u64>), SignInError> {
        if session.state != (SessionState::AwaitingSecondFactor { enrolled }) {
            return Err(SignInError::NoSession);
        }
        let code = code.trim();
        if code.is_empty() {
            return Err(invalid(
                "code",
                "enter the code from your authenticator app",
            ));
        }
        if code.len() > MAX_CODE {
            return Err(invalid(
                "code",
                if enrolled {
                    "enter the 6-digit code or a recovery code"
                } else {
                    "enter the 6-digit code"
                },
            ));
        }
        let credential = self.credential_of(session.staff.id).await?;
        if let Some(until) = self.locked(&credential) {
            return Err(SignInError::LockedOut { until });
        }
        let secret = self.open_totp(&credential).await?;
        let last = credential
            .totp_last_step
            .and_then(|s| u64::try_from(s).ok());
        Ok((code, credential, secret, last))
    }

    /// Confirms enrolment with a first code: the session becomes a full one (new token) and the
    /// recovery codes are returned, to be shown once.
    pub async fn confirm_two_factor(
        &self,
        session: &Session,
        code: &str,
    ) -> Result<(Secret, Vec<Secret>), SignInError> {
        let (code, credential, secret, last) = self.second_step(session, code, false).await?;
        let Some(step) = totp::verify(&secret, code, self.unix_now(), last) else {
            return Err(self.fail(credential, AuthEvent::TwoFactorEnrolment).await?);
        };
        let codes = totp::recovery_codes(RECOVERY_CODES);
        let hashes: Vec<[u8; 32]> = codes
            .iter()
            .filter_map(|c| totp::recovery_code_hash(c))
            .map(|h| self.keys.recovery_code_digest(&h))
            .collect();
        let audit = AuditDraft::authentication(
            Some(session.staff.id),
            AuthEvent::TwoFactorEnrolment,
            Outcome::Ok,
            self.clock.now(),
        );
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        if !self
            .store
            .confirm_enrolment(session.staff.id, step, self.now_micros(), &hashes, audit)
            .await?
        {
            // Confirmed by a concurrent request: this one gets nothing.
            return Err(SignInError::NoSession);
        }
        let token = self
            .start_session(
                session.staff.id,
                SessionStage::Full,
                Some(session.record.id),
                AuthEvent::SignIn,
            )
            .await?;
        Ok((token, codes.into_iter().map(Secret::new).collect()))
    }

    /// The second step for an enrolled account: a TOTP code, or one of the recovery codes. On success
    /// the session becomes a full one under a new token.
    pub async fn second_factor(
        &self,
        session: &Session,
        code: &str,
    ) -> Result<Secret, SignInError> {
        let (code, credential, secret, last) = self.second_step(session, code, true).await?;
        let staff_id = session.staff.id;
        let now = self.now_micros();
        let passed = |event| {
            AuditDraft::authentication(Some(staff_id), event, Outcome::Ok, self.clock.now())
        };
        if let Some(step) = totp::verify(&secret, code, self.unix_now(), last) {
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            if !self
                .store
                .second_factor_passed(staff_id, Some(step), now, passed(AuthEvent::SecondFactor))
                .await?
            {
                // Another request used this step (or a later one) meanwhile: a replay.
                return Err(self.fail(credential, AuthEvent::SecondFactor).await?);
            }
        } else if let Some(hash) =
            totp::recovery_code_hash(code).map(|h| self.keys.recovery_code_digest(&h))
        {
            if !self
                .store
                .use_recovery_code(staff_id, &hash, now, passed(AuthEvent::RecoveryCode))
                .await?
            {
                return Err(self.fail(credential, AuthEvent::RecoveryCode).await?);
            }
            self.store
                .second_factor_passed(staff_id, None, now, passed(AuthEvent::SecondFactor))
                .await?;
        } else {
            return Err(self.fail(credential, AuthEvent::SecondFactor).await?);
        }
        Ok(self
            .start_session(
                staff_id,
                SessionStage::Full,
                Some(session.record.id),
                AuthEvent::SignIn,
            )
            .await?)
    }

    /// Removes a member of staff's second factor and recovery codes and ends their sessions: at their
    /// next sign-in they must enrol again. For a lost phone; audited.
    pub async fn reset_two_factor(
        &self,
        actor: &Principal,
        staff_id: Uuid,
    ) -> Result<(), OrganisationError> {
        let (staff, audit) = self
            .staff_change(
                actor,
                staff_id,
                Action::StaffUpdate,
                "staff.reset_two_factor",
            )
            .await?;
        self.hand_over(
            &staff,
            audit,
            RecoveryCodes::Clear,
            "two_factor_reset",
            |c, _| {
                c.totp_secret = None;
                c.totp_confirmed_at_micros = None;
                c.totp_last_step = None;
            },
        )
        .await
    }

    /// How many unused recovery codes a member of staff has left.
    pub async fn recovery_codes_left(&self, staff_id: Uuid) -> Result<i64, StoreError> {
        self.store.unused_recovery_codes(staff_id).await
    }
}
