//! Checkpoints: a point of the chain (`seq:hash`), and the [`SignedCheckpoint`] kept outside the
//! database that pins the chain's head as it was.

use std::fmt;
use std::str::FromStr;

use confidant_crypto::audit_key::{AuditPublicKey, AuditSigningKey, SIGNATURE_LEN};
use confidant_policy::{Action, Resource};
use time::OffsetDateTime;

use super::{AuditDraft, Purpose};

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
}
