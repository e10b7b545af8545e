//! The audit chain: every access to personal data, allowed or refused, as an event that holds ids and
//! codes only, each carrying the SHA-256 hash of the one before.
//!
//! Guarantees:
//! - An [`AuditDraft`] for an allowed access can only be made from a
//!   [`Permit`](confidant_policy::Permit), and one for a refusal only from a
//!   [`Denied`](confidant_policy::Denied); stores need a draft for every operation on personal data, so no such
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
//!
//! The draft an access is recorded from is in `draft.rs`, the chain and its verification in
//! `chain.rs`, and checkpoints (plain and signed) in `checkpoint.rs`; the codes of purposes,
//! outcomes and authentication events are here.

mod chain;
mod checkpoint;
mod draft;

pub use chain::{
    AuditEvent, ChainBreak, ChainVerifier, RecordedHead, Verified, seal_event, verify_chain,
    verify_extends,
};
pub use checkpoint::{Checkpoint, CheckpointFileError, CheckpointParseError, SignedCheckpoint};
pub use draft::AuditDraft;

use crate::kernel::codes::codes;

/// The hash before the first event.
pub const GENESIS: [u8; 32] = [0u8; 32];

codes!(
    /// Why personal data was accessed. Codes are stable and stored. `ALL` holds the purposes a
    /// client may state, so `break_glass` is never parsed from one.
    Purpose {
        /// Supporting the person: the everyday work of the service.
        Support = "support",
        /// Running the service or the installation.
        Administration = "administration",
        /// Checking the records themselves (audit, quality).
        Audit = "audit",
        /// An access outside the actor's role under a break-the-glass grant. Never chosen by a
        /// client: core sets it whenever a decision relied on such a grant, so these accesses
        /// stand out.
        BreakGlass = "break_glass",
    }
    listed [Support, Administration, Audit]
);

codes!(
    /// Sign-in and session events. They are not policy decisions, but every one is recorded (who,
    /// what, when, how it ended), and never with the handle or password that was typed.
    AuthEvent {
        SignIn = "auth.sign_in",
        SecondFactor = "auth.second_factor",
        RecoveryCode = "auth.recovery_code",
        /// A new TOTP secret was made and shown for enrolment (not yet confirmed).
        TwoFactorSecret = "auth.two_factor_secret",
        TwoFactorEnrolment = "auth.two_factor_enrolment",
        Lockout = "auth.lockout",
        SignOut = "auth.sign_out",
        Unlock = "auth.unlock",
        Reauthenticate = "auth.reauthenticate",
        PasswordChange = "auth.password_change",
        /// Personal data refused because training or the policy acknowledgement has lapsed.
        TrainingLapsed = "access.training_lapsed",
        /// A change refused because the API token is read-only.
        ReadOnlyToken = "access.read_only_token",
        /// Breaking the glass refused because the role may never break it.
        BreakGlassRole = "access.break_glass_role",
    }
);

codes!(
    /// How an access ended.
    Outcome {
        Ok = "ok",
        Denied = "denied",
        NotFound = "not_found",
    }
);
