//! Reading rows: ids, codes, flags and hashes from columns, and each record from its row. Errors name the column, never a value.

use super::*;

pub(crate) fn backend_error(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

pub(crate) fn id(row: &AnyRow, column: &str) -> Result<Uuid, StoreError> {
    let text: String = row.try_get(column).map_err(backend_error)?;
    Uuid::parse_str(&text)
        .map_err(|_| StoreError::Backend(format!("malformed id in column {column}")))
}

pub(crate) fn opt_id(row: &AnyRow, column: &str) -> Result<Option<Uuid>, StoreError> {
    let text: Option<String> = row.try_get(column).map_err(backend_error)?;
    text.map(|t| Uuid::parse_str(&t))
        .transpose()
        .map_err(|_| StoreError::Backend(format!("malformed id in column {column}")))
}

pub(crate) fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Backend(format!("malformed {what}: not 32 bytes")))
}

/// Reads an event by column position (the order of the SELECTs below: seq, at, actor, action, resource_type, resource_id, subject_id,
/// purpose, outcome, prev_hash, hash): about a third faster than by
/// name, which matters to `audit verify` over millions of rows.
pub(crate) fn event_from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        seq: row.try_get(0).map_err(backend_error)?,
        at_micros: row.try_get(1).map_err(backend_error)?,
        actor: row.try_get(2).map_err(backend_error)?,
        action: row.try_get(3).map_err(backend_error)?,
        resource_type: row.try_get(4).map_err(backend_error)?,
        resource_id: row.try_get(5).map_err(backend_error)?,
        subject_id: row.try_get(6).map_err(backend_error)?,
        purpose: row.try_get(7).map_err(backend_error)?,
        outcome: row.try_get(8).map_err(backend_error)?,
        prev_hash: chain_hash(row.try_get(9).map_err(backend_error)?),
        hash: chain_hash(row.try_get(10).map_err(backend_error)?),
    })
}

/// A stored chain hash of the wrong length was written by hand: it becomes one that no event computes
/// to, so verification names the event as edited (or unlinked) instead of failing to read it.
pub(crate) fn chain_hash(bytes: Vec<u8>) -> [u8; 32] {
    <[u8; 32]>::try_from(bytes.as_slice()).unwrap_or([0xff; 32])
}

pub(crate) fn wrapped_key_from_row(row: &AnyRow) -> Result<WrappedDataKey, StoreError> {
    Ok(WrappedDataKey {
        owner_id: id(row, "owner_id")?,
        version: row.try_get("version").map_err(backend_error)?,
        master_key_id: row.try_get("master_key_id").map_err(backend_error)?,
        wrapped: row.try_get("wrapped").map_err(backend_error)?,
    })
}

pub(crate) fn organisation_from_row(row: &AnyRow) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: id(row, "id")?,
        name: row.try_get("name").map_err(backend_error)?,
        created_at_micros: row.try_get("created_at").map_err(backend_error)?,
    })
}

pub(crate) fn service_from_row(row: &AnyRow) -> Result<Service, StoreError> {
    Ok(Service {
        id: id(row, "id")?,
        organisation_id: id(row, "organisation_id")?,
        name: row.try_get("name").map_err(backend_error)?,
        created_at_micros: row.try_get("created_at").map_err(backend_error)?,
    })
}

pub(crate) const STAFF_COLUMNS: &str = "s.id AS staff_id, s.organisation_id, s.service_id, s.team_id, s.role, s.handle, \
     s.created_at AS staff_created_at, s.disabled_at";

pub(crate) fn staff_from_row(row: &AnyRow) -> Result<StaffRecord, StoreError> {
    Ok(StaffRecord {
        id: id(row, "staff_id")?,
        organisation_id: id(row, "organisation_id")?,
        service_id: opt_id(row, "service_id")?,
        team_id: opt_id(row, "team_id")?,
        role: role(row)?,
        handle: row.try_get("handle").map_err(backend_error)?,
        created_at_micros: row.try_get("staff_created_at").map_err(backend_error)?,
        disabled_at_micros: row.try_get("disabled_at").map_err(backend_error)?,
    })
}

pub(crate) const TOKEN_COLUMNS: &str = "t.id AS token_id, t.staff_id AS token_staff_id, t.token_hash, t.scope, \
     t.created_at AS token_created_at, t.expires_at, t.revoked_at";

pub(crate) fn token_from_row(row: &AnyRow) -> Result<ApiTokenRecord, StoreError> {
    let scope: String = row.try_get("scope").map_err(backend_error)?;
    Ok(ApiTokenRecord {
        id: id(row, "token_id")?,
        staff_id: id(row, "token_staff_id")?,
        token_hash: hash32(row.try_get("token_hash").map_err(backend_error)?, "token")?,
        scope: TokenScope::from_code(&scope)
            .ok_or(StoreError::Backend("unknown token scope".to_owned()))?,
        created_at_micros: row.try_get("token_created_at").map_err(backend_error)?,
        expires_at_micros: row.try_get("expires_at").map_err(backend_error)?,
        revoked_at_micros: row.try_get("revoked_at").map_err(backend_error)?,
    })
}

pub(crate) fn team_from_row(row: &AnyRow) -> Result<Team, StoreError> {
    Ok(Team {
        id: id(row, "id")?,
        service_id: id(row, "service_id")?,
        name: row.try_get("name").map_err(backend_error)?,
        created_at_micros: row.try_get("created_at").map_err(backend_error)?,
    })
}

pub(crate) fn scope_from_code(code: &str) -> Result<AccessScope, StoreError> {
    AccessScope::from_code(code).ok_or(StoreError::Backend("unknown access scope".to_owned()))
}

pub(crate) fn grant_from_code(code: &str) -> Option<Grant> {
    [
        Grant::BreakGlass,
        Grant::TrusteeMatter,
        Grant::ProcessorReferral,
    ]
    .into_iter()
    .find(|g| g.code() == code)
}

pub(crate) const GRANT_COLUMNS: &str = "id, kind, staff_id, person_id, organisation_id, reason, granted_by, starts_at, ends_at, \
     revoked_at, review_state, reviewed_by, reviewed_at, review_note";

pub(crate) fn grant_from_row(row: &AnyRow) -> Result<GrantRecord, StoreError> {
    let kind: String = row.try_get("kind").map_err(backend_error)?;
    let review: Option<String> = row.try_get("review_state").map_err(backend_error)?;
    Ok(GrantRecord {
        id: id(row, "id")?,
        kind: grant_from_code(&kind).ok_or(StoreError::Backend("unknown grant kind".to_owned()))?,
        staff_id: id(row, "staff_id")?,
        person_id: id(row, "person_id")?,
        organisation_id: id(row, "organisation_id")?,
        reason: row.try_get("reason").map_err(backend_error)?,
        granted_by: row.try_get("granted_by").map_err(backend_error)?,
        starts_at_micros: row.try_get("starts_at").map_err(backend_error)?,
        ends_at_micros: row.try_get("ends_at").map_err(backend_error)?,
        revoked_at_micros: row.try_get("revoked_at").map_err(backend_error)?,
        review_state: review
            .map(|r| {
                ReviewState::from_code(&r)
                    .ok_or(StoreError::Backend("unknown review state".to_owned()))
            })
            .transpose()?,
        reviewed_by: row.try_get("reviewed_by").map_err(backend_error)?,
        reviewed_at_micros: row.try_get("reviewed_at").map_err(backend_error)?,
        review_note: row.try_get("review_note").map_err(backend_error)?,
    })
}

pub(crate) fn role(row: &AnyRow) -> Result<Role, StoreError> {
    let code: String = row.try_get("role").map_err(backend_error)?;
    Role::from_code(&code).ok_or(StoreError::Backend("unknown role code in staff".to_owned()))
}

/// A code column read back into its enum; an unknown code is a backend error (the database holds
/// something this version does not know).
pub(crate) fn coded<T>(
    row: &AnyRow,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<T, StoreError> {
    let code: String = row.try_get(column).map_err(backend_error)?;
    parse(&code).ok_or_else(|| StoreError::Backend(format!("unknown {what} code")))
}

pub(crate) fn opt_coded<T>(
    row: &AnyRow,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, StoreError> {
    let code: Option<String> = row.try_get(column).map_err(backend_error)?;
    code.map(|c| parse(&c).ok_or_else(|| StoreError::Backend(format!("unknown {what} code"))))
        .transpose()
}

/// A flag stored as 0 or 1.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    let value: i64 = row.try_get(column).map_err(backend_error)?;
    Ok(value != 0)
}
