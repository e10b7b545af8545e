//! The chain itself: [`AuditEvent`]s as stored, [`seal_event`] that links a draft to the one before,
//! and [`ChainVerifier`] that walks them and names the first break ([`ChainBreak`]).

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{AuditDraft, Checkpoint, GENESIS};
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
pub async fn verify_chain<S: crate::store::AuditChain>(
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
pub async fn verify_extends<S: crate::store::AuditChain>(
    store: &S,
    checkpoint: Checkpoint,
) -> Result<Result<Verified, ChainBreak>, crate::store::StoreError> {
    walk(store, ChainVerifier::extending(checkpoint)).await
}

/// How often a walk reads on when the head moved past what it read: events committed while it read.
const CATCH_UP_ROUNDS: u32 = 3;

async fn walk<S: crate::store::AuditChain>(
    store: &S,
    mut verifier: ChainVerifier,
) -> Result<Result<Verified, ChainBreak>, crate::store::StoreError> {
    let mut rounds = 0;
    loop {
        loop {
            let batch = store
                .events_from(verifier.start_seq(), VERIFY_BATCH)
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
        let head = store.recorded_head().await?;
        match head {
            RecordedHead::At(h) if h.seq >= verifier.start_seq() && rounds < CATCH_UP_ROUNDS => {
                rounds += 1;
            }
            _ => return Ok(verifier.finish(head)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Purpose;
    use confidant_policy::{Action, Actor, Authorizer, Resource};
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
    fn absent_and_empty_fields_hash_differently() {
        let mut a = chain(1).remove(0);
        a.resource_id = None;
        let mut b = a.clone();
        b.resource_id = Some(String::new());
        assert_ne!(a.computed_hash(), b.computed_hash());
    }
}
