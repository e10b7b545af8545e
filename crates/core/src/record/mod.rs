//! A person's record: their fields, entries, cases, related people, documents, and access beyond a
//! role (break the glass, a trustee's matter, a processor's referral).

pub mod document;
mod document_move;
pub mod entries;
pub mod grant;
pub mod person;
pub mod related;
pub mod trustee;

pub use entries::*;
