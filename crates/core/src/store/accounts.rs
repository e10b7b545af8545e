//! Installation keys, organisations, services, staff, teams and API tokens as stored.

use super::*;
use crate::kernel::codes::codes;

/// The installation's key material as stored: which master key wraps everything, and the wrapped
/// blind-index key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationKeys {
    pub master_key_id: String,
    pub wrapped_index_key: Vec<u8>,
}

/// A person's data key, wrapped by the master key identified by `master_key_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedDataKey {
    pub owner_id: Uuid,
    pub version: i64,
    pub master_key_id: String,
    pub wrapped: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    /// The code the register of processing activities names it by (`[organisation] id`), when a
    /// register governs it.
    pub code: Option<String>,
    pub created_at_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    /// The register's stable id of the service (`[[service]] id`, the notice's address).
    pub code: Option<String>,
    pub created_at_micros: i64,
}

/// A member of staff. `handle` is their sign-in name; `display_name` and `job_title` are how
/// colleagues see them (an account without a display name is shown by its handle); staff are
/// disabled, never deleted, so their audit trail keeps its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub role: Role,
    pub handle: String,
    pub display_name: Option<String>,
    pub job_title: Option<String>,
    pub created_at_micros: i64,
    pub disabled_at_micros: Option<i64>,
}

impl StaffRecord {
    /// How the pages name them: their display name, else their handle.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.handle)
    }

    /// Their name with their handle, where the two differ ("Sam Patel (sam.patel)"): where an
    /// account is picked or signed in to.
    pub fn name_and_handle(&self) -> String {
        match &self.display_name {
            Some(name) => format!("{name} ({})", self.handle),
            None => self.handle.clone(),
        }
    }

    /// Their name with their job title, where one is set ("Sam Patel, Senior support worker").
    pub fn name_and_title(&self) -> String {
        match &self.job_title {
            Some(title) => format!("{}, {title}", self.name()),
            None => self.name().to_owned(),
        }
    }
}

/// What the account page sets about a member of staff: checked by core before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaffDetails {
    pub display_name: Option<String>,
    pub job_title: Option<String>,
    pub team_id: Option<Uuid>,
}

/// A team within a service (for services whose staff see only their team's people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: Uuid,
    pub service_id: Uuid,
    pub name: String,
    pub created_at_micros: i64,
}

codes!(
    /// What an API token may do.
    TokenScope {
        /// Reads only: every change is refused.
        Read = "read",
        ReadWrite = "read_write",
    }
);

/// An API token as stored: only its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub token_hash: [u8; 32],
    pub scope: TokenScope,
    pub created_at_micros: i64,
    pub expires_at_micros: i64,
    pub revoked_at_micros: Option<i64>,
}

/// Sealed values of one record as stored: catalogue field code and sealed bytes.
pub type SealedFields = Vec<(String, Vec<u8>)>;
/// One change to a record's sealed fields: a new sealed value, or `None` to remove it.
pub type SealedChange = (String, Option<Vec<u8>>);

/// Who made a change and when: written beside each old value kept for the correction history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeStamp {
    pub by: String,
    pub at_micros: i64,
}
