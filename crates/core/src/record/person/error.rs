//! The errors of the person use cases, and [`Violation`]: one invalid field, named but never shown.

use confidant_crypto::CryptoError;
use std::fmt;

use super::DuplicateMatch;
use crate::identifier::IdentifierError;
use crate::store::StoreError;

/// One invalid field: its name and what is wrong, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: &'static str,
    pub message: String,
}

impl Violation {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl From<IdentifierError> for Violation {
    fn from(e: IdentifierError) -> Self {
        Violation::new(e.field(), e.to_string())
    }
}

/// Every invalid field of one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Violations(pub Vec<Violation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<_> = self.0.iter().map(|v| v.field).collect();
        write!(f, "invalid: {}", fields.join(", "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PersonError {
    /// Missing, or not the actor's to see: the two answer the same.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(Violations),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Someone in the actor's scope may already be this person (by NHS number, National Insurance
    /// number, or family name and date of birth): nothing was created. Ids and index kinds only.
    #[error("possible duplicates: {}", .0.len())]
    PossibleDuplicates(Vec<DuplicateMatch>),
    /// The record may be read, but not in this way by this caller: an export under break-the-glass
    /// (which is read-only). `code` is a stable code for the API, `message` a plain sentence.
    #[error("forbidden: {code}")]
    Forbidden {
        code: &'static str,
        message: &'static str,
    },
    #[error(transparent)]
    Store(StoreError),
    /// A stored value failed to open: damage or tampering, never the user's fault.
    #[error("a stored value could not be opened")]
    Crypto(#[from] CryptoError),
}

impl From<StoreError> for PersonError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => PersonError::Conflict(what),
            other => PersonError::Store(other),
        }
    }
}
