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
//!
//! Here: the account's types, the sign-in policy and what the steps share. The steps are in
//! `sign_in.rs` (password, lock-out, re-authentication), `two_factor.rs` (enrolment, second factor,
//! recovery codes), `sessions.rs`, `passwords.rs` (changing and setting passwords) and `tokens.rs`
//! (personal access tokens).

mod passwords;
mod sessions;
mod sign_in;
mod tokens;
mod two_factor;

use confidant_crypto::password::{self, PasswordProblem};
use confidant_crypto::totp;
use confidant_crypto::{CryptoError, FieldAddress, MasterKey};
use confidant_policy::{Action, Actor, Resource, StaffActor};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, AuthEvent, Outcome, Purpose};
use crate::organisation::{OrganisationError, Secret, micros};
use crate::person::{Violation, Violations};
use crate::store::{Credential, SessionRecord, StaffRecord, Store, StoreError, TrainingKind};
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
    /// The name of the member of staff's organisation, for the page's header.
    pub organisation_name: String,
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

/// A member of staff as the policy sees them, given the training they hold now: trained only when
/// every kind is current.
fn actor_of(staff: &StaffRecord, held: &[TrainingKind]) -> Actor {
    Actor::Staff(StaffActor {
        user_id: staff.id,
        organisation_id: staff.organisation_id,
        service_id: staff.service_id,
        team_id: staff.team_id,
        role: staff.role,
        trained: TrainingKind::ALL.iter().all(|k| held.contains(k)),
    })
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
        Ok(actor_of(staff, &held))
    }

    async fn audit_auth(
        &self,
        staff_id: Option<Uuid>,
        event: AuthEvent,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        let audit = AuditDraft::authentication(staff_id, event, outcome, self.clock.now());
        self.store.record_access(audit).await
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
        // Separation of duties: nobody records their own training, resets their own second factor
        // or sets their own password this way (their own password is changed with the current
        // one, on their account page).
        if action == Action::StaffUpdate
            && matches!(actor, Actor::Staff(me) if me.user_id == staff_id)
        {
            return Err(OrganisationError::Invalid(Violations(vec![
                Violation::new(
                    "staff_id",
                    "is your own account: another member of staff who may do this must do it",
                ),
            ])));
        }
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
        self.store.record_access(audit).await
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
