//! The audit chain: every access to personal data, allowed or refused, as an event that holds ids and
//! codes only, each carrying the SHA-256 hash of the one before.
//!
//! Guarantees:
//! - An [`AuditDraft`] for an allowed access can only be made from a [`Permit`], and one for a refusal
//!   only from a [`Denied`]; stores need a draft for every operation on personal data, so no such
//!   operation can happen unrecorded.
//! - [`seal_event`] links an event to the previous hash over an unambiguous encoding of every field, so
//!   editing, deleting or reordering any event breaks the chain at that event; [`ChainVerifier`] finds the
//!   first break. Truncation of the tail is found against a [`Checkpoint`] kept elsewhere.

use std::fmt;
use std::str::FromStr;

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

/// An event waiting for its place in the chain. Stores read it; only this crate makes one.
#[derive(Debug, Clone)]
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

    pub fn outcome(&self) -> Outcome {
        self.outcome
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

/// The first place the chain is broken.
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
    #[error("event {seq} differs from the checkpoint: history before the checkpoint was rewritten")]
    CheckpointMismatch { seq: i64 },
}

impl ChainBreak {
    /// The sequence number of the first bad event.
    pub fn seq(&self) -> i64 {
        match *self {
            ChainBreak::Missing { expected, .. } => expected,
            ChainBreak::Altered { seq }
            | ChainBreak::Unlinked { seq }
            | ChainBreak::CheckpointMissing { seq }
            | ChainBreak::CheckpointMismatch { seq } => seq,
            ChainBreak::Truncated { last, .. } => last + 1,
        }
    }
}

/// Walks events in sequence order and stops at the first break.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: [u8; 32],
    checkpoint: Option<Checkpoint>,
    checked: u64,
}

impl ChainVerifier {
    /// Verifies from the first event.
    pub fn from_genesis() -> Self {
        Self {
            next_seq: 1,
            prev_hash: GENESIS,
            checkpoint: None,
            checked: 0,
        }
    }

    /// Verifies from a checkpoint on: the first event given must be the checkpoint's own.
    pub fn from_checkpoint(checkpoint: Checkpoint) -> Self {
        Self {
            next_seq: checkpoint.seq,
            prev_hash: GENESIS,
            checkpoint: Some(checkpoint),
            checked: 0,
        }
    }

    /// The sequence number to start reading from.
    pub fn start_seq(&self) -> i64 {
        self.next_seq
    }

    pub fn check(&mut self, event: &AuditEvent) -> Result<(), ChainBreak> {
        if let Some(cp) = self.checkpoint {
            if event.seq != cp.seq {
                return Err(ChainBreak::CheckpointMissing { seq: cp.seq });
            }
            if event.hash != cp.hash || event.computed_hash() != cp.hash {
                return Err(ChainBreak::CheckpointMismatch { seq: cp.seq });
            }
            self.checkpoint = None;
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
        }
        self.prev_hash = event.hash;
        self.next_seq = event.seq + 1;
        self.checked += 1;
        Ok(())
    }

    /// Ends the walk. `recorded_head` is the head the store recorded separately (its sequence
    /// number), which reveals events cut from the end.
    pub fn finish(self, recorded_head: Option<i64>) -> Result<Verified, ChainBreak> {
        if let Some(cp) = self.checkpoint {
            return Err(ChainBreak::CheckpointMissing { seq: cp.seq });
        }
        let last = self.next_seq - 1;
        if let Some(expected) = recorded_head
            && expected > last
        {
            return Err(ChainBreak::Truncated { last, expected });
        }
        Ok(Verified {
            checked: self.checked,
            head: (self.checked > 0).then_some(Checkpoint {
                seq: last,
                hash: self.prev_hash,
            }),
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

/// Walks the stored chain (from the start, or from a checkpoint) and compares its end with the head
/// recorded beside it. The outer error is the database's; the inner one is the first break.
pub async fn verify_chain<S: crate::store::Store>(
    store: &S,
    from: Option<Checkpoint>,
) -> Result<Result<Verified, ChainBreak>, crate::store::StoreError> {
    let mut verifier = match from {
        Some(cp) => ChainVerifier::from_checkpoint(cp),
        None => ChainVerifier::from_genesis(),
    };
    let mut next = verifier.start_seq();
    loop {
        let batch = store.audit_events(next, VERIFY_BATCH).await?;
        for event in &batch {
            if let Err(broken) = verifier.check(event) {
                return Ok(Err(broken));
            }
        }
        match batch.last() {
            Some(last) if batch.len() == VERIFY_BATCH as usize => next = last.seq + 1,
            _ => break,
        }
    }
    let head = store.audit_head().await?;
    Ok(verifier.finish(head.map(|h| h.seq)))
}

impl<S: crate::store::Store, C: crate::Clock> crate::Confidant<S, C> {
    /// Records that the chain's head was taken as a checkpoint and returns it: the checkpoint covers
    /// its own recording, so a later `verify --since-checkpoint` starts from a known event.
    pub async fn record_audit_checkpoint(
        &self,
        actor: &Actor,
    ) -> Result<Option<Checkpoint>, crate::store::StoreError> {
        let Ok(permit) =
            self.authorizer
                .authorize(actor, Action::AuditCheckpoint, Resource::Installation)
        else {
            return Ok(None);
        };
        let draft = AuditDraft::permitted(&permit, Purpose::Audit, self.clock.now());
        let event = self.store.append_audit(&draft).await?;
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

    fn verify(events: &[AuditEvent], head: Option<i64>) -> Result<Verified, ChainBreak> {
        let mut v = ChainVerifier::from_genesis();
        for e in events {
            v.check(e)?;
        }
        v.finish(head)
    }

    #[test]
    fn an_intact_chain_verifies_and_reports_its_head() {
        let events = chain(5);
        let ok = verify(&events, Some(5)).expect("intact");
        assert_eq!(ok.checked, 5);
        assert_eq!(ok.head.map(|h| h.seq), Some(5));
        assert_eq!(ok.head.map(|h| h.hash), Some(events[4].hash));
    }

    #[test]
    fn an_edited_event_is_named() {
        let mut events = chain(5);
        events[2].action = "person.delete".into();
        assert_eq!(verify(&events, None), Err(ChainBreak::Altered { seq: 3 }));
    }

    #[test]
    fn an_edited_event_with_a_recomputed_hash_breaks_the_next_link() {
        let mut events = chain(5);
        events[2].outcome = "denied".into();
        events[2].hash = events[2].computed_hash();
        assert_eq!(verify(&events, None), Err(ChainBreak::Unlinked { seq: 4 }));
    }

    #[test]
    fn a_deleted_event_is_named() {
        let mut events = chain(5);
        events.remove(1);
        assert_eq!(
            verify(&events, None),
            Err(ChainBreak::Missing {
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn reordered_events_are_found() {
        let mut events = chain(5);
        // Swap the contents of events 2 and 3 but keep their sequence numbers in order.
        let (a, b) = (events[1].clone(), events[2].clone());
        events[1] = AuditEvent { seq: 2, ..b };
        events[2] = AuditEvent { seq: 3, ..a };
        assert_eq!(verify(&events, None).map_err(|e| e.seq()), Err(2));
    }

    #[test]
    fn a_cut_tail_is_found_against_the_recorded_head() {
        let events = chain(5);
        assert_eq!(
            verify(&events[..3], Some(5)),
            Err(ChainBreak::Truncated {
                last: 3,
                expected: 5
            })
        );
    }

    #[test]
    fn verification_from_a_checkpoint_detects_a_rewritten_history() {
        let events = chain(6);
        let cp = Checkpoint {
            seq: 3,
            hash: events[2].hash,
        };
        let mut v = ChainVerifier::from_checkpoint(cp);
        for e in &events[2..] {
            v.check(e).expect("intact");
        }
        assert_eq!(v.finish(Some(6)).expect("intact").checked, 4);

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
            verify(&forged, Some(6)).is_ok(),
            "a full rebuild passes without a checkpoint"
        );
        let mut v = ChainVerifier::from_checkpoint(cp);
        assert_eq!(
            v.check(&forged[2]),
            Err(ChainBreak::CheckpointMismatch { seq: 3 })
        );
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
