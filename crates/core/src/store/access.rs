//! Credentials, sessions, training and access grants as stored, and a person as stored.

use super::*;
use crate::kernel::codes::codes;

/// A member of staff's sign-in secrets as stored. The password only as an Argon2id hash; the TOTP
/// secret only sealed with the staff member's own data key.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub staff_id: Uuid,
    pub password_hash: Option<String>,
    pub password_changed_at_micros: Option<i64>,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_confirmed_at_micros: Option<i64>,
    pub totp_last_step: Option<i64>,
    pub failed_attempts: i64,
    pub locked_until_micros: Option<i64>,
    pub updated_at_micros: i64,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("staff_id", &self.staff_id)
            .field("failed_attempts", &self.failed_attempts)
            .finish_non_exhaustive()
    }
}

/// What happens to a staff member's recovery codes along with a credential change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryCodes {
    Keep,
    /// Replace every code with these digests.
    Replace(Vec<[u8; 32]>),
    Clear,
}

codes!(
    /// How far a session has got: the password alone, or the password and the second factor.
    SessionStage {
        /// The password was right; a second factor (or enrolment in one) is still owed.
        Password = "password",
        Full = "full",
    }
);

/// A server-side session. The browser holds the token; the database only its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: Uuid,
    pub token_hash: [u8; 32],
    pub staff_id: Uuid,
    pub stage: SessionStage,
    pub csrf_token: String,
    pub created_at_micros: i64,
    pub last_seen_at_micros: i64,
    /// The last time the password was given (sign-in, unlock or re-authentication).
    pub authenticated_at_micros: i64,
    pub expires_at_micros: i64,
    pub ended_at_micros: Option<i64>,
}

/// A session with what every signed-in request needs of its member of staff, read in one
/// statement by [`AccountStore::session_by_token`].
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub record: SessionRecord,
    pub staff: StaffRecord,
    pub organisation_name: String,
    /// The kinds of training they hold unexpired at the time asked about.
    pub current_training: Vec<TrainingKind>,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("id", &self.id)
            .field("staff_id", &self.staff_id)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

codes!(
    /// Training and policy acknowledgements staff must hold before they reach personal data. Every
    /// kind (`ALL`) is required.
    #[derive(PartialOrd, Ord)]
    TrainingKind {
        /// Data protection and confidentiality training.
        DataProtection = "data_protection": "Data protection training",
        /// Acknowledgement of the organisation's information governance policies.
        PolicyAcknowledgement = "policy_acknowledgement": "Policy acknowledgement",
    }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRecord {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub kind: TrainingKind,
    pub completed_at_micros: i64,
    pub expires_at_micros: i64,
    pub recorded_by: String,
    pub recorded_at_micros: i64,
}

codes!(
    /// Where a break-the-glass access stands in the Caldicott Guardian's review.
    ReviewState {
        Pending = "pending",
        SignedOff = "signed_off",
        Escalated = "escalated",
    }
);

/// Access to one person beyond a role, for a limited time. Free text is sealed with the person's key.
#[derive(Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub id: Uuid,
    pub kind: Grant,
    pub staff_id: Uuid,
    pub person_id: Uuid,
    pub organisation_id: Uuid,
    pub reason: Option<Vec<u8>>,
    pub granted_by: String,
    pub starts_at_micros: i64,
    pub ends_at_micros: i64,
    pub revoked_at_micros: Option<i64>,
    pub review_state: Option<ReviewState>,
    pub reviewed_by: Option<String>,
    pub reviewed_at_micros: Option<i64>,
    pub review_note: Option<Vec<u8>>,
    /// A trustee's matter: its type (the register's id) and the parts of the record it opens
    /// (field group codes and entry kinds); empty for other grants.
    pub matter: Option<String>,
    pub parts: Vec<String>,
    /// Why flagged notes are opened too (sealed); `None`: they are not.
    pub flagged_reason: Option<Vec<u8>>,
}

impl std::fmt::Debug for GrantRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("staff_id", &self.staff_id)
            .field("person_id", &self.person_id)
            .finish_non_exhaustive()
    }
}

/// A person's record as stored: sealed field values only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPerson {
    pub id: Uuid,
    pub service_id: Uuid,
    pub team_id: Option<Uuid>,
    pub key_worker_id: Option<Uuid>,
    pub key_version: i64,
    /// The person's short number in their service, given by the store when the person is created
    /// (0 before that): in order of creation, never reused.
    pub record_number: i64,
    pub fields: Vec<(PersonField, Vec<u8>)>,
    /// Digests of the name's fragments for name search (written on create; never read back).
    pub name_grams: Vec<crate::name_index::GramDigest>,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

/// One field change: a new sealed value, or `None` to remove the value.
pub type FieldChange = (PersonField, Option<Vec<u8>>);
/// One blind-index change: a new digest, or `None` to remove the index.
pub type IndexChange = (IndexField, Option<[u8; 16]>);
