//! The audit chain: every access to personal data, allowed or refused, as an event that holds ids and
//! codes only, each carrying the SHA-256 hash of the one before.
//!
//! Guarantees:
//! - An [`AuditDraft`] for an allowed access can only be made from a [`Permit`], and one for a refusal
//!   only from a [`Denied`]; stores need a draft for every operation on personal data, so no such
//!   operation can happen unrecorded.
//! - [`seal_event`] links an event to the previous hash over an unambiguous encoding of every field, so
//!   editing, deleting or reordering any event breaks the chain at that event; [`ChainVerifier`] finds the
//!   first break, and compares the chain's end with the head the store records beside it
//!   ([`RecordedHead`]), so events cut from the end or added past it, and a head row deleted or
//!   rewritten on its own, are named too. Every kind of tampering ends in a [`ChainBreak`] verdict.
//! - The chain and its head row are both in the database, so someone who can write to it can cut the
//!   tail *and* rewrite the head to match. A [`SignedCheckpoint`], signed with a key kept outside the
//!   database and stored outside it, pins the head as it was: [`verify_chain`] against it walks from
//!   the first event and proves the chain still passes through that event with that hash, so no event
//!   up to the checkpoint can have been cut, edited or rebuilt. Events after the newest checkpoint are
//!   only as trustworthy as the database until the next checkpoint is taken.

use std::fmt;
use std::str::FromStr;

use confidant_crypto::audit_key::{AuditPublicKey, AuditSigningKey, SIGNATURE_LEN};
use confidant_policy::{Action, Actor, Denied, Grant, Permit, Resource};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// The hash before the first event.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// Why personal data was accessed. Codes are stable and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Supporting the person: the everyday work of the service.
    Support,
    /// Running the service or the installation.
    Administration,
    /// Checking the records themselves (audit, quality).
    Audit,
    /// An access outside the actor's role under a break-the-glass grant. Never chosen by a client:
    /// core sets it whenever a decision relied on such a grant, so these accesses stand out.
    BreakGlass,
}

impl Purpose {
    /// The purposes a client may state.
    pub const ALL: [Purpose; 3] = [Purpose::Support, Purpose::Administration, Purpose::Audit];

    pub fn code(self) -> &'static str {
        match self {
            Purpose::Support => "support",
            Purpose::Administration => "administration",
            Purpose::Audit => "audit",
            Purpose::BreakGlass => "break_glass",
        }
    }

    /// A purpose a client may state (`break_glass` is not one of them).
    pub fn from_code(code: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// Sign-in and session events. They are not policy decisions, but every one is recorded (who, what,
/// when, how it ended), and never with the handle or password that was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthEvent {
    SignIn,
    SecondFactor,
    RecoveryCode,
    /// A new TOTP secret was made and shown for enrolment (not yet confirmed).
    TwoFactorSecret,
    TwoFactorEnrolment,
    Lockout,
    SignOut,
    Unlock,
    Reauthenticate,
    PasswordChange,
    /// Personal data refused because training or the policy acknowledgement has lapsed.
    TrainingLapsed,
    /// A change refused because the API token is read-only.
    ReadOnlyToken,
    /// Breaking the glass refused because the role may never break it.
    BreakGlassRole,
}

impl AuthEvent {
    pub fn code(self) -> &'static str {
        match self {
            AuthEvent::SignIn => "auth.sign_in",
            AuthEvent::SecondFactor => "auth.second_factor",
            AuthEvent::RecoveryCode => "auth.recovery_code",
            AuthEvent::TwoFactorSecret => "auth.two_factor_secret",
            AuthEvent::TwoFactorEnrolment => "auth.two_factor_enrolment",
            AuthEvent::Lockout => "auth.lockout",
            AuthEvent::SignOut => "auth.sign_out",
            AuthEvent::Unlock => "auth.unlock",
            AuthEvent::Reauthenticate => "auth.reauthenticate",
            AuthEvent::PasswordChange => "auth.password_change",
            AuthEvent::TrainingLapsed => "access.training_lapsed",
            AuthEvent::ReadOnlyToken => "access.read_only_token",
            AuthEvent::BreakGlassRole => "access.break_glass_role",
        }
    }
}

/// How an access ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Denied,
    NotFound,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::NotFound => "not_found",
        }
    }
}

/// An event waiting for its place in the chain: made only in this crate, from the permit or refusal
/// it records, and consumed by value by the one port call that writes it (it is not `Clone`), so
/// one draft can stand for one access only.
///
/// ```compile_fail
/// # use confidant_core::audit::AuditDraft;
/// # use confidant_core::store::AuditStore;
/// async fn twice(store: &impl AuditStore, draft: AuditDraft) {
///     let _ = store.append_audit(draft).await;
///     let _ = store.append_audit(draft).await; // the draft was spent by the first call
/// }
/// ```
///
/// ```compile_fail
/// # use confidant_core::audit::AuditDraft;
/// fn copy(draft: &AuditDraft) -> AuditDraft {
///     draft.clone()
/// }
/// ```
///
/// Spent once, it compiles:
///
/// ```
/// # use confidant_core::audit::AuditDraft;
/// # use confidant_core::store::AuditStore;
/// async fn once(store: &impl AuditStore, draft: AuditDraft) {
///     let _ = store.append_audit(draft).await;
/// }
/// ```
#[derive(Debug)]
pub struct AuditDraft {
    at: OffsetDateTime,
    actor: String,
    action: &'static str,
    resource_type: &'static str,
    resource_id: Option<Uuid>,
    subject_id: Option<Uuid>,
    purpose: Purpose,
    outcome: Outcome,
}

impl AuditDraft {
    pub(crate) fn permitted(permit: &Permit, purpose: Purpose, at: OffsetDateTime) -> Self {
        let purpose = match permit.grant() {
            Some(Grant::BreakGlass) => Purpose::BreakGlass,
            _ => purpose,
        };
        Self::new(
            at,
            permit.actor(),
            permit.action(),
            permit.resource(),
            purpose,
            Outcome::Ok,
        )
    }

    /// An action the policy permits refused all the same by a rule of core (an export under
    /// break-the-glass, which is read-only): recorded as denied, under the permit's actor and
    /// resource.
    pub(crate) fn refused_under(permit: &Permit, purpose: Purpose, at: OffsetDateTime) -> Self {
        Self {
            outcome: Outcome::Denied,
            ..Self::permitted(permit, purpose, at)
        }
    }

    /// A sign-in or session event of a member of staff (`None`: no account matched).
    pub(crate) fn authentication(
        staff_id: Option<Uuid>,
        event: AuthEvent,
        outcome: Outcome,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            at,
            actor: staff_id.map_or_else(|| "anonymous".to_owned(), |id| id.to_string()),
            action: event.code(),
            resource_type: "staff",
            resource_id: staff_id,
            subject_id: None,
            purpose: Purpose::Administration,
            outcome,
        }
    }

    pub(crate) fn refused(denied: &Denied, purpose: Purpose, at: OffsetDateTime) -> Self {
        Self::new(
            at,
            &denied.actor,
            denied.action,
            &denied.resource,
            purpose,
            Outcome::Denied,
        )
    }

    /// An attempt on a resource that does not exist (or no longer can be opened).
    pub(crate) fn missing(
        actor: &Actor,
        action: Action,
        resource_type: &'static str,
        id: Uuid,
        purpose: Purpose,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            at,
            actor: actor.audit_id(),
            action: action.code(),
            resource_type,
            resource_id: Some(id),
            subject_id: None,
            purpose,
            outcome: Outcome::NotFound,
        }
    }

    /// The outbox's sender trying a message that staff queued under a permit (audited then): the
    /// actor is the system, the resource the message, the subject the person.
    pub(crate) fn delivery(message_id: Uuid, person_id: Uuid, at: OffsetDateTime) -> Self {
        Self {
            at,
            actor: "system".to_owned(),
            action: "message.deliver",
            resource_type: "message",
            resource_id: Some(message_id),
            subject_id: Some(person_id),
            purpose: Purpose::Support,
            outcome: Outcome::Ok,
        }
    }

    /// Confidant itself publishing a new version of a service's privacy notice (no personal data).
    pub(crate) fn notice_published(at: OffsetDateTime) -> Self {
        Self {
            at,
            actor: "system".to_owned(),
            action: "notice.publish",
            resource_type: "notice",
            resource_id: None,
            subject_id: None,
            purpose: Purpose::Administration,
            outcome: Outcome::Ok,
        }
    }

    fn new(
        at: OffsetDateTime,
        actor: &Actor,
        action: Action,
        resource: &Resource,
        purpose: Purpose,
        outcome: Outcome,
    ) -> Self {
        Self {
            at,
            actor: actor.audit_id(),
            action: action.code(),
            resource_type: resource.type_code(),
            resource_id: resource.id(),
            subject_id: resource.subject(),
            purpose,
            outcome,
        }
    }

    /// Names the person the event is about when the resource is not the person (creating one).
    pub(crate) fn about(mut self, subject: Uuid) -> Self {
        self.subject_id = Some(subject);
        self
    }

    /// Records the event under a more specific code than the permit's action (`staff.disable` for a
    /// `staff.update` permit).
    /// A permitted actor refused this one thing (a processor's worker asking for what their
    /// referral did not send): recorded as a refusal.
    pub(crate) fn refusal(mut self) -> Self {
        self.outcome = Outcome::Denied;
        self
    }

    pub(crate) fn named(mut self, action: &'static str) -> Self {
        self.action = action;
        self
    }

    /// The same event again, for the next write of a use case that writes in steps (a credential
    /// saved, then the sessions it ends; a record's history, then each entry's): each write puts its
    /// own event on the chain. Only core asks for one, where a use case does.
    pub(crate) fn for_next_write(&self) -> Self {
        Self {
            actor: self.actor.clone(),
            ..*self
        }
    }

    pub fn outcome(&self) -> Outcome {
        self.outcome
    }
}

#[cfg(feature = "testing")]
impl AuditDraft {
    /// A draft made without a permit, for tests that call the store's ports directly: the system
    /// as actor, `action` on a `test` resource. The `testing` feature is enabled only by tests; the
    /// binary is built without it.
    pub fn for_tests(action: &'static str, subject: Option<Uuid>, at: OffsetDateTime) -> Self {
        Self {
            at,
            actor: "system".to_owned(),
            action,
            resource_type: "test",
            resource_id: None,
            subject_id: subject,
            purpose: Purpose::Administration,
            outcome: Outcome::Ok,
        }
    }
}

/// One link of the chain, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: i64,
    /// UTC, microseconds since the Unix epoch (the stored precision, so the hash can be recomputed).
    pub at_micros: i64,
    pub actor: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub subject_id: Option<String>,
    pub purpose: String,
    pub outcome: String,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

impl AuditEvent {
    /// The hash this event should carry, recomputed from its fields and its `prev_hash`.
    pub fn computed_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        self.feed(&mut h);
        h.finalize().into()
    }

    /// The exact bytes the hash covers (for benchmarks against bare SHA-256 over the same bytes).
    pub fn hashed_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(160);
        self.feed(&mut v);
        v
    }

    fn feed(&self, sink: &mut impl Sink) {
        sink.put(b"confidant/audit/v1");
        sink.put(&self.prev_hash);
        sink.put(&self.seq.to_be_bytes());
        sink.put(&self.at_micros.to_be_bytes());
        for part in [
            Some(self.actor.as_str()),
            Some(self.action.as_str()),
            Some(self.resource_type.as_str()),
            self.resource_id.as_deref(),
            self.subject_id.as_deref(),
            Some(self.purpose.as_str()),
            Some(self.outcome.as_str()),
        ] {
            match part {
                // u32::MAX marks "absent", so None and Some("") hash differently.
                None => sink.put(&u32::MAX.to_be_bytes()),
                Some(s) => {
                    sink.put(&(s.len() as u32).to_be_bytes());
                    sink.put(s.as_bytes());
                }
            }
        }
    }

    pub fn at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.at_micros) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

trait Sink {
    fn put(&mut self, bytes: &[u8]);
}
impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}
impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Gives a draft its place: sequence number `seq`, linked to `prev_hash`.
pub fn seal_event(prev_hash: [u8; 32], seq: i64, draft: &AuditDraft) -> AuditEvent {
    let micros = draft.at.unix_timestamp_nanos() / 1000;
    let mut event = AuditEvent {
        seq,
        at_micros: i64::try_from(micros).unwrap_or(i64::MAX),
        actor: draft.actor.clone(),
        action: draft.action.to_owned(),
        resource_type: draft.resource_type.to_owned(),
        resource_id: draft.resource_id.map(|id| id.to_string()),
        subject_id: draft.subject_id.map(|id| id.to_string()),
        purpose: draft.purpose.code().to_owned(),
        outcome: draft.outcome.code().to_owned(),
        prev_hash,
        hash: [0; 32],
    };
    event.hash = event.computed_hash();
    event
}

/// A point of the chain worth remembering elsewhere: `seq:hash-in-hex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: [u8; 32],
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, hex::encode(self.hash))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a checkpoint is written as SEQUENCE:HASH (a positive number, a colon, 64 hexadecimal characters)"
)]
pub struct CheckpointParseError;

impl FromStr for Checkpoint {
    type Err = CheckpointParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (seq, hash) = s.trim().split_once(':').ok_or(CheckpointParseError)?;
        let seq: i64 = seq.parse().map_err(|_| CheckpointParseError)?;
        if seq < 1 || hash.len() != 64 {
            return Err(CheckpointParseError);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hash, &mut out).map_err(|_| CheckpointParseError)?;
        Ok(Checkpoint { seq, hash: out })
    }
}

/// The head as the store records it beside the chain (the `audit_head` row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedHead {
    /// The row is gone: someone deleted it.
    Missing,
    /// No event has been recorded yet.
    Empty,
    /// The newest event, as the head row names it.
    At(Checkpoint),
}

/// The first place the chain is broken. Every kind of tampering ends in one of these: a verdict, not a
/// database error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event {expected} is missing (the next event found is {found}): deleted or reordered")]
    Missing { expected: i64, found: i64 },
    #[error("event {seq} does not match its hash: it was edited")]
    Altered { seq: i64 },
    #[error(
        "event {seq} does not link to the event before it: an event before it was edited, deleted or reordered"
    )]
    Unlinked { seq: i64 },
    #[error(
        "the chain ends at event {last}, but {expected} events were recorded: events were cut from the end"
    )]
    Truncated { last: i64, expected: i64 },
    #[error("the checkpoint's event {seq} is not in the chain")]
    CheckpointMissing { seq: i64 },
    #[error("event {seq} differs from the checkpoint: history up to the checkpoint was rewritten")]
    CheckpointMismatch { seq: i64 },
    #[error(
        "the chain ends at event {last}, but the checkpoint vouches for event {seq}: events were cut from the end"
    )]
    CutBeforeCheckpoint { last: i64, seq: i64 },
    #[error(
        "the recorded head is missing (the audit_head row was deleted); the chain's last event is {last}"
    )]
    HeadMissing { last: i64 },
    #[error(
        "event {seq} lies past the recorded head: it was added outside Confidant, or the head was moved back"
    )]
    BeyondHead { seq: i64 },
    #[error("the recorded head names event {seq} with another hash: the head was rewritten")]
    HeadMismatch { seq: i64 },
}

impl ChainBreak {
    /// The sequence number of the first bad event, where there is one (a deleted head row names none).
    pub fn seq(&self) -> Option<i64> {
        match *self {
            ChainBreak::Missing { expected, .. } => Some(expected),
            ChainBreak::Altered { seq }
            | ChainBreak::Unlinked { seq }
            | ChainBreak::CheckpointMissing { seq }
            | ChainBreak::CheckpointMismatch { seq }
            | ChainBreak::BeyondHead { seq }
            | ChainBreak::HeadMismatch { seq } => Some(seq),
            ChainBreak::Truncated { last, .. } | ChainBreak::CutBeforeCheckpoint { last, .. } => {
                Some(last + 1)
            }
            ChainBreak::HeadMissing { .. } => None,
        }
    }
}

/// Walks events in sequence order and stops at the first break.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: [u8; 32],
    /// Trusted without reading what comes before it (the walk starts here): see [`Self::extending`].
    start: Option<Checkpoint>,
    /// Checked on the way: the event at its sequence number must carry its hash.
    vouched: Option<Checkpoint>,
    checked: u64,
}

impl ChainVerifier {
    /// Verifies from the first event.
    pub fn from_genesis() -> Self {
        Self {
            next_seq: 1,
            prev_hash: GENESIS,
            start: None,
            vouched: None,
            checked: 0,
        }
    }

    /// Verifies from the first event, and that the chain still passes through `checkpoint`: the event
    /// at its sequence number carries its hash. As every hash covers the one before, this proves that
    /// nothing up to the checkpoint was rewritten, and the walk on to the head proves the rest.
    pub fn against(checkpoint: Checkpoint) -> Self {
        Self {
            vouched: Some(checkpoint),
            ..Self::from_genesis()
        }
    }

    /// Verifies from a checkpoint on, taking what comes before it on trust: the first event given must
    /// be the checkpoint's own. Only for a caller that verified the chain up to that checkpoint itself
    /// (the periodic checkpoint writer, which checked the previous one); an edit before it is not seen.
    pub fn extending(checkpoint: Checkpoint) -> Self {
        Self {
            next_seq: checkpoint.seq,
            prev_hash: GENESIS,
            start: Some(checkpoint),
            vouched: None,
            checked: 0,
        }
    }

    /// The sequence number to read from next.
    pub fn start_seq(&self) -> i64 {
        self.next_seq
    }

    pub fn check(&mut self, event: &AuditEvent) -> Result<(), ChainBreak> {
        if let Some(cp) = self.start {
            if event.seq != cp.seq {
                return Err(ChainBreak::CheckpointMissing { seq: cp.seq });
            }
            if event.hash != cp.hash || event.computed_hash() != cp.hash {
                return Err(ChainBreak::CheckpointMismatch { seq: cp.seq });
            }
            self.start = None;
        } else {
            if event.seq != self.next_seq {
                return Err(ChainBreak::Missing {
                    expected: self.next_seq,
                    found: event.seq,
                });
            }
            if event.computed_hash() != event.hash {
                return Err(ChainBreak::Altered { seq: event.seq });
            }
            if event.prev_hash != self.prev_hash {
                return Err(ChainBreak::Unlinked { seq: event.seq });
            }
            if let Some(cp) = self.vouched
                && cp.seq == event.seq
            {
                if cp.hash != event.hash {
                    return Err(ChainBreak::CheckpointMismatch { seq: cp.seq });
                }
                self.vouched = None;
            }
        }
        self.prev_hash = event.hash;
        self.next_seq = event.seq + 1;
        self.checked += 1;
        Ok(())
    }

    /// Ends the walk and compares its end with the head the store recorded beside the chain, which
    /// reveals events cut from the end, events added past it, and a head row that was rewritten or
    /// deleted.
    pub fn finish(self, recorded: RecordedHead) -> Result<Verified, ChainBreak> {
        if let Some(cp) = self.start {
            return Err(ChainBreak::CheckpointMissing { seq: cp.seq });
        }
        let last = self.next_seq - 1;
        if let Some(cp) = self.vouched {
            return Err(ChainBreak::CutBeforeCheckpoint { last, seq: cp.seq });
        }
        let head = (self.next_seq > 1).then_some(Checkpoint {
            seq: last,
            hash: self.prev_hash,
        });
        match recorded {
            RecordedHead::Missing => return Err(ChainBreak::HeadMissing { last }),
            RecordedHead::Empty if last > 0 => return Err(ChainBreak::BeyondHead { seq: 1 }),
            RecordedHead::Empty => {}
            RecordedHead::At(h) if h.seq > last => {
                return Err(ChainBreak::Truncated {
                    last,
                    expected: h.seq,
                });
            }
            RecordedHead::At(h) if h.seq < last => {
                return Err(ChainBreak::BeyondHead { seq: h.seq + 1 });
            }
            RecordedHead::At(h) if Some(h) != head => {
                return Err(ChainBreak::HeadMismatch { seq: h.seq });
            }
            RecordedHead::At(_) => {}
        }
        Ok(Verified {
            checked: self.checked,
            head,
        })
    }
}

/// The result of an intact walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub checked: u64,
    pub head: Option<Checkpoint>,
}

/// How many events a verification reads per round trip.
const VERIFY_BATCH: u32 = 2000;

/// Walks the whole stored chain from its first event, checks on the way that it still passes through
/// `against` (a checkpoint kept elsewhere), and compares its end with the head recorded beside it. The
/// outer error is the database's (it could not be read at all); the inner one is the first break.
pub async fn verify_chain<S: crate::store::AuditStore>(
    store: &S,
    against: Option<Checkpoint>,
) -> Result<Result<Verified, ChainBreak>, crate::store::StoreError> {
    let verifier = match against {
        Some(cp) => ChainVerifier::against(cp),
        None => ChainVerifier::from_genesis(),
    };
    walk(store, verifier).await
}

/// Walks the stored chain from `checkpoint` on only (see [`ChainVerifier::extending`]): for a caller
/// that verified everything up to it before, such as the periodic checkpoint writer.
pub async fn verify_extends<S: crate::store::AuditStore>(
    store: &S,
    checkpoint: Checkpoint,
) -> Result<Result<Verified, ChainBreak>, crate::store::StoreError> {
    walk(store, ChainVerifier::extending(checkpoint)).await
}

/// How often a walk reads on when the head moved past what it read: events committed while it read.
const CATCH_UP_ROUNDS: u32 = 3;

async fn walk<S: crate::store::AuditStore>(
    store: &S,
    mut verifier: ChainVerifier,
) -> Result<Result<Verified, ChainBreak>, crate::store::StoreError> {
    let mut rounds = 0;
    loop {
        loop {
            let batch = store
                .audit_events(verifier.start_seq(), VERIFY_BATCH)
                .await?;
            for event in &batch {
                if let Err(broken) = verifier.check(event) {
                    return Ok(Err(broken));
                }
            }
            if batch.len() < VERIFY_BATCH as usize {
                break;
            }
        }
        // The head is read after the events: an event and its head update commit together, so a head
        // past the last event read means events committed meanwhile (read on) or a cut tail (nothing
        // more to read, and `finish` names it).
        let head = store.recorded_audit_head().await?;
        match head {
            RecordedHead::At(h) if h.seq >= verifier.start_seq() && rounds < CATCH_UP_ROUNDS => {
                rounds += 1;
            }
            _ => return Ok(verifier.finish(head)),
        }
    }
}

/// A checkpoint signed with the installation's audit signing key, as written to a file outside the
/// database: what the chain's head was (sequence number and hash) and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// UTC, microseconds since the Unix epoch.
    pub at_micros: i64,
    /// The public key of the key that signed it (the verifier decides whether to trust it).
    pub key: AuditPublicKey,
    pub signature: [u8; SIGNATURE_LEN],
}

/// Why a checkpoint file is not to be believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointFileError {
    #[error("the checkpoint file is not a Confidant audit checkpoint ({0})")]
    Malformed(&'static str),
    #[error(
        "the checkpoint was signed with another key (key {found}, this installation's is {expected}): it is from another installation, from before a key rotation, or it was edited"
    )]
    OtherKey { found: String, expected: String },
    #[error("the checkpoint's signature does not match its contents: the file was edited")]
    BadSignature,
}

/// The file form: JSON, fields named for people reading it.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointFile {
    format: String,
    sequence: i64,
    head_hash: String,
    time: String,
    public_key: String,
    signature: String,
}

const CHECKPOINT_FORMAT: &str = "confidant-audit-checkpoint/v1";

impl SignedCheckpoint {
    /// Signs `checkpoint` as the head at `at`.
    pub fn sign(checkpoint: Checkpoint, at: OffsetDateTime, key: &AuditSigningKey) -> Self {
        let at_micros = i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX);
        let public = key.public_key();
        let signature = key.sign(&Self::signed_bytes(checkpoint, at_micros, &public));
        Self {
            checkpoint,
            at_micros,
            key: public,
            signature,
        }
    }

    /// Exactly what the signature covers: a domain tag, then every field at a fixed width.
    fn signed_bytes(checkpoint: Checkpoint, at_micros: i64, key: &AuditPublicKey) -> Vec<u8> {
        let mut v = Vec::with_capacity(128);
        v.extend_from_slice(CHECKPOINT_FORMAT.as_bytes());
        v.extend_from_slice(&checkpoint.seq.to_be_bytes());
        v.extend_from_slice(&checkpoint.hash);
        v.extend_from_slice(&at_micros.to_be_bytes());
        v.extend_from_slice(&key.to_bytes());
        v
    }

    pub fn at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.at_micros) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The checkpoint, if `trusted` signed exactly this.
    pub fn verify(&self, trusted: &AuditPublicKey) -> Result<Checkpoint, CheckpointFileError> {
        let bytes = Self::signed_bytes(self.checkpoint, self.at_micros, trusted);
        match trusted.verify(&bytes, &self.signature) {
            Ok(()) => Ok(self.checkpoint),
            Err(_) if self.key != *trusted => Err(CheckpointFileError::OtherKey {
                found: self.key.to_hex(),
                expected: trusted.to_hex(),
            }),
            Err(_) => Err(CheckpointFileError::BadSignature),
        }
    }

    /// The file's text (JSON, ending in a newline).
    pub fn to_file_text(&self) -> String {
        let file = CheckpointFile {
            format: CHECKPOINT_FORMAT.to_owned(),
            sequence: self.checkpoint.seq,
            head_hash: hex::encode(self.checkpoint.hash),
            time: self
                .at()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            public_key: self.key.to_hex(),
            signature: hex::encode(self.signature),
        };
        let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a file's text. Says nothing about whether to believe it: see [`Self::verify`].
    pub fn from_file_text(text: &str) -> Result<Self, CheckpointFileError> {
        let file: CheckpointFile = serde_json::from_str(text)
            .map_err(|_| CheckpointFileError::Malformed("not the expected JSON"))?;
        if file.format != CHECKPOINT_FORMAT {
            return Err(CheckpointFileError::Malformed("unknown format"));
        }
        let checkpoint: Checkpoint = format!("{}:{}", file.sequence, file.head_hash)
            .parse()
            .map_err(|_| CheckpointFileError::Malformed("bad sequence or hash"))?;
        let at = OffsetDateTime::parse(&file.time, &time::format_description::well_known::Rfc3339)
            .map_err(|_| CheckpointFileError::Malformed("bad time"))?;
        let at_micros = i64::try_from(at.unix_timestamp_nanos() / 1000)
            .map_err(|_| CheckpointFileError::Malformed("bad time"))?;
        let key = AuditPublicKey::from_hex(&file.public_key)
            .map_err(|_| CheckpointFileError::Malformed("bad public key"))?;
        let mut signature = [0u8; SIGNATURE_LEN];
        hex::decode_to_slice(&file.signature, &mut signature)
            .map_err(|_| CheckpointFileError::Malformed("bad signature"))?;
        Ok(Self {
            checkpoint,
            at_micros,
            key,
            signature,
        })
    }
}

impl<S: crate::store::Store, C: crate::Clock> crate::Confidant<S, C> {
    /// Records that the chain's head was taken as a checkpoint and returns it: the checkpoint covers
    /// its own recording, so the event that says a checkpoint was taken is itself pinned by it.
    pub async fn record_audit_checkpoint(
        &self,
        actor: &crate::access::Principal,
    ) -> Result<Option<Checkpoint>, crate::store::StoreError> {
        let Ok(permit) =
            self.authorizer
                .authorize(actor, Action::AuditCheckpoint, Resource::Installation)
        else {
            return Ok(None);
        };
        let draft = AuditDraft::permitted(&permit, Purpose::Audit, self.clock.now());
        let event = self.store.append_audit(draft).await?;
        Ok(Some(Checkpoint {
            seq: event.seq,
            hash: event.hash,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confidant_policy::Authorizer;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let permit = Authorizer::new()
            .authorize(&Actor::System, Action::KeysRotate, Resource::Installation)
            .expect("system may rotate keys");
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let at = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(seq);
                let e = seal_event(
                    prev,
                    seq,
                    &AuditDraft::permitted(&permit, Purpose::Administration, at),
                );
                prev = e.hash;
                e
            })
            .collect()
    }

    /// The head row as the store keeps it when nothing touched it: the last event given.
    fn head_of(events: &[AuditEvent]) -> RecordedHead {
        events.last().map_or(RecordedHead::Empty, |e| {
            RecordedHead::At(Checkpoint {
                seq: e.seq,
                hash: e.hash,
            })
        })
    }

    fn walk(
        mut v: ChainVerifier,
        events: &[AuditEvent],
        head: RecordedHead,
    ) -> Result<Verified, ChainBreak> {
        for e in events {
            v.check(e)?;
        }
        v.finish(head)
    }

    fn verify(events: &[AuditEvent], head: RecordedHead) -> Result<Verified, ChainBreak> {
        walk(ChainVerifier::from_genesis(), events, head)
    }

    #[test]
    fn an_intact_chain_verifies_and_reports_its_head() {
        let events = chain(5);
        let ok = verify(&events, head_of(&events)).expect("intact");
        assert_eq!(ok.checked, 5);
        assert_eq!(ok.head.map(|h| h.seq), Some(5));
        assert_eq!(ok.head.map(|h| h.hash), Some(events[4].hash));
        assert_eq!(verify(&[], RecordedHead::Empty).expect("empty").head, None);
    }

    #[test]
    fn an_edited_event_is_named() {
        let mut events = chain(5);
        let head = head_of(&events);
        events[2].action = "person.delete".into();
        assert_eq!(verify(&events, head), Err(ChainBreak::Altered { seq: 3 }));
    }

    #[test]
    fn an_edited_event_with_a_recomputed_hash_breaks_the_next_link() {
        let mut events = chain(5);
        let head = head_of(&events);
        events[2].outcome = "denied".into();
        events[2].hash = events[2].computed_hash();
        assert_eq!(verify(&events, head), Err(ChainBreak::Unlinked { seq: 4 }));
    }

    #[test]
    fn a_deleted_event_is_named() {
        let mut events = chain(5);
        let head = head_of(&events);
        events.remove(1);
        assert_eq!(
            verify(&events, head),
            Err(ChainBreak::Missing {
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn reordered_events_are_found() {
        let mut events = chain(5);
        let head = head_of(&events);
        // Swap the contents of events 2 and 3 but keep their sequence numbers in order.
        let (a, b) = (events[1].clone(), events[2].clone());
        events[1] = AuditEvent { seq: 2, ..b };
        events[2] = AuditEvent { seq: 3, ..a };
        assert_eq!(verify(&events, head).map_err(|e| e.seq()), Err(Some(2)));
    }

    #[test]
    fn a_cut_tail_is_found_against_the_recorded_head() {
        let events = chain(5);
        assert_eq!(
            verify(&events[..3], head_of(&events)),
            Err(ChainBreak::Truncated {
                last: 3,
                expected: 5
            })
        );
    }

    #[test]
    fn a_head_row_that_was_deleted_moved_or_rewritten_is_named() {
        let events = chain(5);
        assert_eq!(
            verify(&events, RecordedHead::Missing),
            Err(ChainBreak::HeadMissing { last: 5 })
        );
        assert_eq!(
            verify(&events, RecordedHead::Missing).map_err(|e| e.seq()),
            Err(None)
        );
        // Moved back: events past it were added outside Confidant (or it was moved to hide them).
        assert_eq!(
            verify(&events, head_of(&events[..3])),
            Err(ChainBreak::BeyondHead { seq: 4 })
        );
        assert_eq!(
            verify(&events, RecordedHead::Empty),
            Err(ChainBreak::BeyondHead { seq: 1 })
        );
        let RecordedHead::At(mut other) = head_of(&events) else {
            unreachable!("five events")
        };
        other.hash[0] ^= 1;
        assert_eq!(
            verify(&events, RecordedHead::At(other)),
            Err(ChainBreak::HeadMismatch { seq: 5 })
        );
    }

    #[test]
    fn a_checkpoint_catches_a_cut_tail_even_when_the_head_row_was_rewritten_to_match() {
        let events = chain(6);
        let cp = Checkpoint {
            seq: 5,
            hash: events[4].hash,
        };
        assert!(walk(ChainVerifier::against(cp), &events, head_of(&events)).is_ok());
        let cut = &events[..3];
        assert_eq!(
            verify(cut, head_of(cut)).map(|v| v.checked),
            Ok(3),
            "no checkpoint: unseen"
        );
        assert_eq!(
            walk(ChainVerifier::against(cp), cut, head_of(cut)),
            Err(ChainBreak::CutBeforeCheckpoint { last: 3, seq: 5 })
        );
    }

    #[test]
    fn a_checkpoint_catches_edits_before_it_and_a_rebuilt_history() {
        let events = chain(6);
        let cp = Checkpoint {
            seq: 3,
            hash: events[2].hash,
        };
        // An edit before the checkpoint, hashes left alone: the walk from the first event names it.
        let mut edited = events.clone();
        edited[0].actor = "someone-else".into();
        assert_eq!(
            walk(ChainVerifier::against(cp), &edited, head_of(&events)),
            Err(ChainBreak::Altered { seq: 1 })
        );

        // An attacker rebuilds the whole chain from event 2 on with a different event 2.
        let mut forged = chain(6);
        forged[1].purpose = "audit".into();
        let mut prev = forged[0].hash;
        for e in forged.iter_mut().skip(1) {
            e.prev_hash = prev;
            e.hash = e.computed_hash();
            prev = e.hash;
        }
        assert!(
            verify(&forged, head_of(&forged)).is_ok(),
            "a full rebuild passes without a checkpoint"
        );
        assert_eq!(
            walk(ChainVerifier::against(cp), &forged, head_of(&forged)),
            Err(ChainBreak::CheckpointMismatch { seq: 3 })
        );
    }

    #[test]
    fn extending_walks_from_the_checkpoint_on() {
        let events = chain(6);
        let cp = Checkpoint {
            seq: 3,
            hash: events[2].hash,
        };
        let ok =
            walk(ChainVerifier::extending(cp), &events[2..], head_of(&events)).expect("intact");
        assert_eq!(ok.checked, 4);
        let mut v = ChainVerifier::extending(cp);
        let mut other = events[2].clone();
        other.purpose = "audit".into();
        other.hash = other.computed_hash();
        assert_eq!(
            v.check(&other),
            Err(ChainBreak::CheckpointMismatch { seq: 3 })
        );
        assert_eq!(
            walk(ChainVerifier::extending(cp), &events[3..], head_of(&events)),
            Err(ChainBreak::CheckpointMissing { seq: 3 })
        );
    }

    #[test]
    fn a_signed_checkpoint_round_trips_and_refuses_edits_and_other_keys() {
        let key = AuditSigningKey::generate();
        let cp = Checkpoint {
            seq: 42,
            hash: [7; 32],
        };
        let at = OffsetDateTime::UNIX_EPOCH + time::Duration::microseconds(1_700_000_000_123_456);
        let signed = SignedCheckpoint::sign(cp, at, &key);
        let text = signed.to_file_text();
        let read = SignedCheckpoint::from_file_text(&text).expect("well formed");
        assert_eq!(read, signed);
        assert_eq!(read.verify(&key.public_key()), Ok(cp));

        let edited = text.replace("\"sequence\": 42", "\"sequence\": 41");
        assert_ne!(edited, text);
        assert_eq!(
            SignedCheckpoint::from_file_text(&edited)
                .expect("well formed")
                .verify(&key.public_key()),
            Err(CheckpointFileError::BadSignature)
        );
        let other = AuditSigningKey::generate();
        let foreign = SignedCheckpoint::sign(cp, at, &other);
        assert!(matches!(
            foreign.verify(&key.public_key()),
            Err(CheckpointFileError::OtherKey { .. })
        ));
        for bad in ["", "{}", "not json", &text.replace("v1", "v9")] {
            assert!(
                matches!(
                    SignedCheckpoint::from_file_text(bad),
                    Err(CheckpointFileError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn checkpoints_round_trip_and_reject_malformed_text() {
        let cp = Checkpoint {
            seq: 42,
            hash: [7; 32],
        };
        assert_eq!(cp.to_string().parse::<Checkpoint>(), Ok(cp));
        for bad in ["", "42", "0:00", "x:ab", &format!("-1:{}", "0".repeat(64))] {
            assert!(bad.parse::<Checkpoint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn absent_and_empty_fields_hash_differently() {
        let mut a = chain(1).remove(0);
        a.resource_id = None;
        let mut b = a.clone();
        b.resource_id = Some(String::new());
        assert_ne!(a.computed_hash(), b.computed_hash());
    }
}
