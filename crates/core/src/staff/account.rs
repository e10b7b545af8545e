//! Staff sign-in: passwords, mandatory two-factor sign-in (TOTP, with one-time recovery codes),
//! progressive lock-out, server-side sessions that lock when idle and expire absolutely, and personal
//! access tokens for the API.
//!
//! Guarantees:
//! - A password is stored only as an Argon2id hash; an unknown or disabled account costs the same work
//!   as a real one (a dummy hash is verified) and gets the same answer as a wrong password.
//! - No session reaches anything but two-factor enrolment or the second-factor step until both factors
//!   are given; each step issues a new session token and ends the old one (no fixation).
//! - Every sign-in attempt, lock-out, second factor, unlock, sign-out and password change is on the
//!   audit chain, with the account's id only (never the handle or anything typed).
//! - Sessions live in the database (several servers can share them); the cookie holds a 256-bit
//!   random token, the database its SHA-256. A session idle for longer than the idle limit is locked
//!   until the password is given again; one older than the absolute limit is over.
//! - Repeated failures (password or second factor) lock the account for a time that doubles with each
//!   further failure, up to an hour.

use confidant_crypto::password::{self, PasswordProblem};
use confidant_crypto::totp::{self, TotpSecret};
use confidant_crypto::{
    CryptoError, FieldAddress, MasterKey, new_session_token, new_token, token_hash,
};
use confidant_policy::{Action, Actor, Resource, StaffActor};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, AuthEvent, Outcome, Purpose};
use crate::organisation::{OrganisationError, Secret, micros};
use crate::person::{Violation, Violations};
use crate::store::{
    ApiTokenRecord, Credential, RecoveryCodes, SessionRecord, SessionStage, StaffRecord, Store,
    StoreError, TokenScope, TrainingKind, WrappedDataKey,
};
use crate::{Clock, Confidant};

/// How long sessions last. The defaults follow ASVS L2: 15 minutes idle, 12 hours absolute.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// After this long without activity a session locks until the password is given again.
    pub idle: Duration,
    /// After this long from sign-in a session is over, whatever happens.
    pub absolute: Duration,
    /// Exports, erasure and key operations need the password given at most this long ago.
    pub reauthentication: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(15),
            absolute: Duration::hours(12),
            reauthentication: Duration::minutes(5),
        }
    }
}

/// Failures allowed before the first lock.
pub const FREE_ATTEMPTS: i64 = 5;
const FIRST_LOCK: Duration = Duration::minutes(1);
const LONGEST_LOCK: Duration = Duration::hours(1);
/// How many recovery codes an enrolment gives.
pub const RECOVERY_CODES: usize = 10;
/// The longest handle and second-factor input read at all.
const MAX_HANDLE: usize = 64;
const MAX_CODE: usize = 32;
const STAFF_KEY_VERSION: i64 = 1;

/// How long the account stays locked after `failures` consecutive failures (none before the limit).
pub fn lock_duration(failures: i64) -> Option<Duration> {
    if failures < FREE_ATTEMPTS {
        return None;
    }
    let doublings = u32::try_from(failures - FREE_ATTEMPTS)
        .unwrap_or(u32::MAX)
        .min(8);
    Some((FIRST_LOCK * 2_i32.pow(doublings)).min(LONGEST_LOCK))
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The input cannot be a credential at all (empty, over-long); names fields, never values.
    #[error("{0}")]
    Invalid(Violations),
    /// Wrong handle, wrong password, wrong code, or a disabled account: all answer the same.
    #[error("the details given are not right")]
    Refused,
    #[error("too many failed attempts; try again later")]
    LockedOut { until: OffsetDateTime },
    /// The session is missing, over, or not at the step this action belongs to.
    #[error("the session is not valid for this step")]
    NoSession,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored secret could not be opened")]
    Crypto(#[from] CryptoError),
}

/// How long a sign-in form token is accepted after it was issued.
pub const SIGN_IN_FORM_VALIDITY: Duration = Duration::hours(2);

/// A refusal about the caller rather than the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Training or policy acknowledgement is not current: no personal data.
    TrainingLapsed,
    /// A read-only token tried to change something.
    ReadOnlyToken,
    /// A role that may never break the glass asked to (its form, or sending it).
    BreakGlassRole,
}

impl Refusal {
    fn event(self) -> AuthEvent {
        match self {
            Refusal::TrainingLapsed => AuthEvent::TrainingLapsed,
            Refusal::ReadOnlyToken => AuthEvent::ReadOnlyToken,
            Refusal::BreakGlassRole => AuthEvent::BreakGlassRole,
        }
    }
}

/// What a correct password leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// The account has no second factor yet: enrol one now.
    EnrolTwoFactor,
    SecondFactor,
}

/// A new session, its token to give the browser once, and what it must do next.
#[derive(Debug)]
pub struct SignedIn {
    pub token: Secret,
    pub next: NextStep,
}

/// A second factor to enrol: show the QR code (or the key for manual entry), then confirm a code.
pub struct Enrolment {
    pub otpauth_uri: String,
    pub qr_svg: String,
    pub manual_key: Secret,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Password given; a second factor (or enrolment) is owed.
    AwaitingSecondFactor {
        enrolled: bool,
    },
    Active,
    /// Idle too long: the password must be given again.
    Locked,
}

/// A live session as the web layer sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub record: SessionRecord,
    pub staff: StaffRecord,
    pub state: SessionState,
    /// Who acts, for authorization; meaningful only when `state` is `Active`.
    pub actor: Principal,
}

impl Session {
    /// True when the password was given within the re-authentication window.
    pub fn recently_authenticated(&self, now: OffsetDateTime, policy: &SessionPolicy) -> bool {
        now_micros_of(now) - self.record.authenticated_at_micros
            <= policy.reauthentication.whole_microseconds() as i64
    }
}

fn now_micros_of(t: OffsetDateTime) -> i64 {
    micros(t)
}

fn invalid(field: &'static str, message: &str) -> SignInError {
    SignInError::Invalid(Violations(vec![Violation::new(field, message)]))
}

/// A password typed at sign-in: refused outright only when it cannot be anyone's password.
fn check_typed_password(password: &str) -> Result<(), SignInError> {
    if password.is_empty() {
        return Err(invalid("password", "enter your password"));
    }
    if password.chars().count() > password::MAX_CHARS {
        return Err(invalid("password", "is longer than any password can be"));
    }
    Ok(())
}

/// Describes why a new password was refused, as a field violation.
pub fn password_violation(problem: &PasswordProblem) -> Violation {
    let message = match problem {
        PasswordProblem::TooGuessable { hint: Some(h) } => {
            format!("is too easy to guess. {h}")
        }
        other => other.to_string(),
    };
    Violation::new("new_password", message)
}

fn totp_address(staff_id: &str) -> FieldAddress<'_> {
    FieldAddress {
        table: "staff_credential",
        column: "totp_secret",
        row_id: staff_id,
        key_version: STAFF_KEY_VERSION as u32,
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    fn now_micros(&self) -> i64 {
        micros(self.clock.now())
    }

    /// The operator's principal, for whoever holds this installation's master key (the command
    /// line); `None` for any other key.
    pub fn operator(&self, key: &MasterKey) -> Option<Principal> {
        (key.key_id() == self.keys.master_key_id()).then(|| Principal::authenticated(Actor::System))
    }

    /// The operator acting as a member of staff, to set up what a demonstration, a test or a
    /// benchmark needs (the demo's records, say): "not found" to anyone but the operator. The
    /// operator holds the master key, so this gives them nothing they could not reach already.
    pub async fn acting_as(
        &self,
        operator: &Principal,
        staff: &StaffRecord,
    ) -> Result<Principal, OrganisationError> {
        if !matches!(operator.actor(), Actor::System) {
            return Err(OrganisationError::NotFound);
        }
        Ok(Principal::authenticated(self.actor_for(staff).await?))
    }

    /// The actor a member of staff acts as now: training is checked at this moment.
    pub(crate) async fn actor_for(&self, staff: &StaffRecord) -> Result<Actor, StoreError> {
        let held = self
            .store
            .current_training(staff.id, self.now_micros())
            .await?;
        let trained = TrainingKind::ALL.iter().all(|k| held.contains(k));
        Ok(Actor::Staff(StaffActor {
            user_id: staff.id,
            organisation_id: staff.organisation_id,
            service_id: staff.service_id,
            team_id: staff.team_id,
            role: staff.role,
            trained,
        }))
    }

    async fn audit_auth(
        &self,
        staff_id: Option<Uuid>,
        event: AuthEvent,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        let audit = AuditDraft::authentication(staff_id, event, outcome, self.clock.now());
        self.store.append_audit(audit).await.map(|_| ())
    }

    /// Counts a failure against the account, locking it once past the free attempts.
    /// Counts a failure against the account (atomically: parallel guesses all count), locking it
    /// once past the free attempts.
    async fn fail(
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
            self.store.append_audit(audit).await?;
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

    fn locked(&self, credential: &Credential) -> Option<OffsetDateTime> {
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

    async fn start_session(
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

    /// The session a token stands for, if it is live; records the activity of an active session.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        if !token.starts_with("cfs_") || token.len() > 80 {
            return Ok(None);
        }
        let now = self.now_micros();
        let Some(record) = self.store.session_by_token(&token_hash(token)).await? else {
            return Ok(None);
        };
        if record.ended_at_micros.is_some() || record.expires_at_micros <= now {
            return Ok(None);
        }
        let Some(staff) = self
            .store
            .staff(record.staff_id)
            .await?
            .filter(|s| s.disabled_at_micros.is_none())
        else {
            return Ok(None);
        };
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
                self.store.touch_session(record.id, now).await?;
                SessionState::Active
            }
        };
        let actor = Principal::authenticated(self.actor_for(&staff).await?);
        Ok(Some(Session {
            record,
            staff,
            state,
            actor,
        }))
    }

    fn idle_micros(&self) -> i64 {
        i64::try_from(self.settings.session.idle.whole_microseconds()).unwrap_or(i64::MAX)
    }

    async fn credential_of(&self, staff_id: Uuid) -> Result<Credential, SignInError> {
        self.store
            .credential(staff_id)
            .await?
            .ok_or(SignInError::NoSession)
    }

    async fn staff_key(
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

    /// Locked out while signed in: the session ends too.
    async fn end_locked_out_session(&self, session: &Session) -> Result<(), StoreError> {
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
    async fn hand_over(
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

    /// Disables a leaver: never deleted, so their audit trail keeps its meaning; their sessions end
    /// and their tokens are revoked in the same transaction.
    pub async fn disable_staff(
        &self,
        actor: &Principal,
        staff_id: Uuid,
    ) -> Result<bool, OrganisationError> {
        let (staff, audit) = self
            .staff_change(actor, staff_id, Action::StaffDisable, "staff.disable")
            .await?;
        Ok(self
            .store
            .disable_staff(staff.id, self.now_micros(), audit)
            .await?)
    }

    /// A member of staff and the audit draft of an administrative change to their account (`action`:
    /// `StaffUpdate` for what could hand the account over, `StaffDisable` for taking access away),
    /// recorded under `code`; a refusal is audited and answers "not found".
    pub(crate) async fn staff_change(
        &self,
        actor: &Actor,
        staff_id: Uuid,
        action: Action,
        code: &'static str,
    ) -> Result<(StaffRecord, AuditDraft), OrganisationError> {
        let staff = self.staff_record(staff_id).await?;
        let permit = self.permit(actor, action, staff_resource(&staff)).await?;
        let audit =
            AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now()).named(code);
        Ok((staff, audit))
    }

    pub(crate) async fn staff_record(
        &self,
        staff_id: Uuid,
    ) -> Result<StaffRecord, OrganisationError> {
        self.store
            .staff(staff_id)
            .await?
            .ok_or(OrganisationError::NotFound)
    }

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

    /// Records a refusal decided before the policy is asked, about the caller itself (lapsed
    /// training, a read-only token), so that every refusal is on the audit log.
    pub async fn record_refusal(
        &self,
        actor: &Principal,
        refusal: Refusal,
    ) -> Result<(), StoreError> {
        let staff_id = match actor.actor() {
            Actor::Staff(s) => Some(s.user_id),
            Actor::System => None,
        };
        let audit = AuditDraft::authentication(
            staff_id,
            refusal.event(),
            Outcome::Denied,
            self.clock.now(),
        );
        self.store.append_audit(audit).await.map(|_| ())
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

    /// How many unused recovery codes a member of staff has left.
    pub async fn recovery_codes_left(&self, staff_id: Uuid) -> Result<i64, StoreError> {
        self.store.unused_recovery_codes(staff_id).await
    }
}

/// An account as a policy resource.
pub fn staff_resource(staff: &StaffRecord) -> Resource {
    Resource::Staff {
        id: staff.id,
        organisation_id: staff.organisation_id,
        role: staff.role,
    }
}

pub(crate) fn empty_credential(staff_id: Uuid, now: i64) -> Credential {
    Credential {
        staff_id,
        password_hash: None,
        password_changed_at_micros: None,
        totp_secret: None,
        totp_confirmed_at_micros: None,
        totp_last_step: None,
        failed_attempts: 0,
        locked_until_micros: None,
        updated_at_micros: now,
    }
}

/// A strong random password for a new account or a reset, for the operator to pass on.
pub fn generated_password() -> Secret {
    // 20 characters from the recovery-code alphabet: about 100 bits.
    let codes = totp::recovery_codes(2);
    let joined: String = codes
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join("-");
    Secret::new(zeroize::Zeroizing::new(joined))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_out_starts_after_the_free_attempts_and_doubles_up_to_an_hour() {
        assert_eq!(lock_duration(FREE_ATTEMPTS - 1), None);
        assert_eq!(lock_duration(FREE_ATTEMPTS), Some(Duration::minutes(1)));
        assert_eq!(lock_duration(FREE_ATTEMPTS + 1), Some(Duration::minutes(2)));
        assert_eq!(lock_duration(FREE_ATTEMPTS + 3), Some(Duration::minutes(8)));
        assert_eq!(lock_duration(FREE_ATTEMPTS + 6), Some(Duration::hours(1)));
        assert_eq!(lock_duration(i64::MAX), Some(Duration::hours(1)));
    }

    #[test]
    fn typed_passwords_are_refused_only_when_empty_or_impossibly_long() {
        assert!(check_typed_password("").is_err());
        assert!(check_typed_password(&"x".repeat(129)).is_err());
        assert!(check_typed_password("short").is_ok());
    }
}
