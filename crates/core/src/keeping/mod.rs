//! Keeping and destroying (issue 17): legal holds, and the destruction of a person's record with a
//! certificate that identifies no one.
//!
//! Guarantees:
//! - A legal hold (litigation, an inquiry, a complaint or an ombudsman, a safeguarding review, a
//!   police investigation, an open rights request) is placed by the Data Protection Officer or the
//!   Caldicott Guardian (`hold.place`) on a person's record or one of its cases, with a reason
//!   sealed under the person's key, or on a query (a service's records in a period:
//!   `query_hold.rs`); only the Data Protection Officer releases it (`hold.release`),
//!   with a reason. Placing and releasing are audited. A hold moves with the record when it is
//!   merged into another.
//! - Destruction (`person.shred`: the Data Protection Officer, or the operator at the command line)
//!   first reads the exact scope (audited), then writes, in one transaction with its audit event:
//!   the holds checked again (a live hold refuses it: fail closed), the person recorded as
//!   destroyed, every row of their record deleted (and of records merged into it), every key
//!   (theirs, their related people's, their referrals') destroyed, blind indexes and name grams
//!   removed, other records unlinked from it, and the certificate kept. If the record changed since
//!   its scope was read, nothing is written (read it again). The audit chain is untouched and
//!   still verifies: its events hold ids only.
//! - The reason given must not name the person: it is checked against the person's names,
//!   identifiers and contact details before anything is written, because the certificate outlives
//!   the record.
//! - The certificate ([`certificate::Certificate`]) holds pseudonymous ids, codes, counts, times
//!   and the reason; nothing of the record's content.

pub mod certificate;
mod destroy;
pub mod due;
mod hold;
mod paper;
mod query_hold;
mod referral;
mod review;

pub use certificate::{
    Certificate, CertificateItem, CertificateSignature, DestructionBasis, ErasureLine, ItemOutcome,
    RecipientLine,
};
pub(crate) use destroy::ErasureDecided;
pub use destroy::{Destroyed, DestructionPreview};
pub use hold::Hold;
pub use paper::PaperDestruction;
pub use query_hold::{QueryHoldInput, query_hold_faults};
pub use referral::ReferralDue;
pub use review::{Decision, RetentionSweep, ReviewView, WAITING_DAYS};

/// A code and a reason as a form or a request gives them, each checked: the code one of `T`'s, the
/// reason required (at least ten characters, no control characters). Every problem is named.
pub(crate) fn code_and_reason<T: crate::Code>(
    field: &'static str,
    code: &str,
    not_one: &'static str,
    reason: &str,
) -> Result<(T, String), crate::person::PersonError> {
    use crate::person::{PersonError, Violation, Violations};
    let mut v = Vec::new();
    let code = T::from_code(code.trim());
    if code.is_none() {
        v.push(Violation::new(field, not_one));
    }
    let reason = match crate::sharing::reason_text("reason", Some(reason)) {
        Ok(Some(r)) => Some(r),
        Ok(None) => {
            v.push(Violation::new("reason", "is required"));
            None
        }
        Err(e) => {
            v.push(e);
            None
        }
    };
    match (code, reason) {
        (Some(code), Some(reason)) if v.is_empty() => Ok((code, reason)),
        _ => Err(PersonError::Invalid(Violations(v))),
    }
}
