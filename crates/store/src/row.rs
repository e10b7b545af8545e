//! Reading rows: ids, codes, flags and hashes from columns, and each record from its row. Errors name the column, never a value.
//!
//! sqlx's errors become the store's here and nowhere else: a column is read with `row.col(…)`, each
//! record by its `*_from_row` function, what a query fetched with `.read(…)` (or `.db()` for a count
//! or a statement's outcome, `.or_conflict(…)` where a duplicate is the caller's conflict), and a
//! select by one key with `read_all` or `read_optional`.

use super::*;
use sqlx::{ColumnIndex, Decode, Type};

/// sqlx's error as the store's: the database gone, busy or locked past the busy timeout is
/// [`StoreError::Unavailable`] (the caller may try again shortly: a 503), anything else a backend
/// fault.
pub(crate) fn backend_error(e: sqlx::Error) -> StoreError {
    let unavailable = match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => is_unavailable(d.as_ref()),
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Backend(e.to_string())
    }
}

/// SQLite's busy and locked results (primary and extended codes); PostgreSQL's connection
/// failures (class 08 but a protocol violation), shutdowns, lock time-outs and connection limits.
/// Each backend's codes are read only from its own errors: a PostgreSQL code that happens to be
/// numeric is not taken for a SQLite one.
fn is_unavailable(e: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = e.code() else {
        return false;
    };
    if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        return code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
    }
    if e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        return (code.starts_with("08") && code != "08P01")
            || matches!(
                code.as_ref(),
                "57P01" | "57P02" | "57P03" | "55P03" | "57014" | "53300"
            );
    }
    false
}

/// Reading a row's columns: sqlx's error becomes the store's here, once.
pub(crate) trait RowExt {
    /// The value of a column, by name or by position.
    fn col<'r, T>(&'r self, column: impl ColumnIndex<AnyRow>) -> Result<T, StoreError>
    where
        T: Decode<'r, Any> + Type<Any>;
}

impl RowExt for AnyRow {
    fn col<'r, T>(&'r self, column: impl ColumnIndex<AnyRow>) -> Result<T, StoreError>
    where
        T: Decode<'r, Any> + Type<Any>,
    {
        self.try_get(column).map_err(backend_error)
    }
}

/// What a statement answered (rows, a count, a scalar): sqlx's error becomes the store's here, once.
pub(crate) trait Answer<T> {
    fn db(self) -> Result<T, StoreError>;
    /// As [`Answer::db`], except that a broken unique constraint is the conflict `what`.
    fn or_conflict(self, what: &'static str) -> Result<T, StoreError>;
}

impl<T> Answer<T> for Result<T, sqlx::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(backend_error)
    }

    fn or_conflict(self, what: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(what)
            } else {
                backend_error(e)
            }
        })
    }
}

/// Reads one row into a record: the `*_from_row` functions, and closures for a column or two.
pub(crate) type FromRow<T> = fn(&AnyRow) -> Result<T, StoreError>;

/// The rows a query fetched (all of them, or one if any), each read into a record.
pub(crate) trait Fetched {
    type Read<T>;
    fn read<T>(self, from_row: FromRow<T>) -> Result<Self::Read<T>, StoreError>;
}

impl Fetched for Result<Vec<AnyRow>, sqlx::Error> {
    type Read<T> = Vec<T>;
    fn read<T>(self, from_row: FromRow<T>) -> Result<Vec<T>, StoreError> {
        self.db()?.iter().map(from_row).collect()
    }
}

impl Fetched for Result<Option<AnyRow>, sqlx::Error> {
    type Read<T> = Option<T>;
    fn read<T>(self, from_row: FromRow<T>) -> Result<Option<T>, StoreError> {
        match self.db()? {
            Some(row) => from_row(&row).map(Some),
            None => Ok(None),
        }
    }
}

/// Queries with one key: most reads select the rows of one id (or handle, or code).
impl SqlStore {
    /// Every row `sql` selects with `key` as its one parameter (`$1`), each read by `from_row`.
    pub(crate) async fn read_all<T>(
        &self,
        sql: impl SqlSafeStr,
        key: impl ToString,
        from_row: FromRow<T>,
    ) -> Result<Vec<T>, StoreError> {
        sqlx::query(sql)
            .bind(key.to_string())
            .fetch_all(&self.pool)
            .await
            .read(from_row)
    }

    /// As [`Self::read_all`], and the access recorded as `audit` before the rows are answered
    /// ([`AuditStore::record_access`]): the read takes no write lock.
    pub(crate) async fn read_all_audited<T>(
        &self,
        sql: impl SqlSafeStr,
        key: impl ToString,
        from_row: FromRow<T>,
        audit: AuditDraft,
    ) -> Result<Vec<T>, StoreError> {
        let rows = self.read_all(sql, key, from_row).await?;
        self.record_access(audit).await?;
        Ok(rows)
    }

    /// The row `sql` selects with `key` as its one parameter (`$1`), if there is one, read by
    /// `from_row`.
    pub(crate) async fn read_optional<T>(
        &self,
        sql: impl SqlSafeStr,
        key: impl ToString,
        from_row: FromRow<T>,
    ) -> Result<Option<T>, StoreError> {
        sqlx::query(sql)
            .bind(key.to_string())
            .fetch_optional(&self.pool)
            .await
            .read(from_row)
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

pub(crate) fn id(row: &AnyRow, column: &str) -> Result<Uuid, StoreError> {
    let text: String = row.col(column)?;
    Uuid::parse_str(&text)
        .map_err(|_| StoreError::Backend(format!("malformed id in column {column}")))
}

pub(crate) fn opt_id(row: &AnyRow, column: &str) -> Result<Option<Uuid>, StoreError> {
    let text: Option<String> = row.col(column)?;
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
        seq: row.col(0)?,
        at_micros: row.col(1)?,
        actor: row.col(2)?,
        action: row.col(3)?,
        resource_type: row.col(4)?,
        resource_id: row.col(5)?,
        subject_id: row.col(6)?,
        purpose: row.col(7)?,
        outcome: row.col(8)?,
        prev_hash: chain_hash(row.col(9)?),
        hash: chain_hash(row.col(10)?),
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
        version: row.col("version")?,
        master_key_id: row.col("master_key_id")?,
        // The wrapped bytes are in the key store: filled in by `KeyVault::fill`.
        wrapped: Vec::new(),
    })
}

pub(crate) fn organisation_from_row(row: &AnyRow) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: id(row, "id")?,
        name: row.col("name")?,
        code: row.col("code")?,
        created_at_micros: row.col("created_at")?,
    })
}

pub(crate) fn service_from_row(row: &AnyRow) -> Result<Service, StoreError> {
    Ok(Service {
        id: id(row, "id")?,
        organisation_id: id(row, "organisation_id")?,
        name: row.col("name")?,
        code: row.col("code")?,
        created_at_micros: row.col("created_at")?,
    })
}

pub(crate) const STAFF_COLUMNS: &str = "s.id AS staff_id, s.organisation_id, s.service_id, s.team_id, s.role, s.handle, \
     s.display_name, s.job_title, s.created_at AS staff_created_at, s.disabled_at";

pub(crate) fn staff_from_row(row: &AnyRow) -> Result<StaffRecord, StoreError> {
    Ok(StaffRecord {
        id: id(row, "staff_id")?,
        organisation_id: id(row, "organisation_id")?,
        service_id: opt_id(row, "service_id")?,
        team_id: opt_id(row, "team_id")?,
        role: role(row)?,
        handle: row.col("handle")?,
        display_name: row.col("display_name")?,
        job_title: row.col("job_title")?,
        created_at_micros: row.col("staff_created_at")?,
        disabled_at_micros: row.col("disabled_at")?,
    })
}

pub(crate) const TOKEN_COLUMNS: &str = "t.id AS token_id, t.staff_id AS token_staff_id, t.token_hash, t.scope, \
     t.created_at AS token_created_at, t.expires_at, t.revoked_at";

pub(crate) fn token_from_row(row: &AnyRow) -> Result<ApiTokenRecord, StoreError> {
    let scope: String = row.col("scope")?;
    Ok(ApiTokenRecord {
        id: id(row, "token_id")?,
        staff_id: id(row, "token_staff_id")?,
        token_hash: hash32(row.col("token_hash")?, "token")?,
        scope: TokenScope::from_code(&scope)
            .ok_or(StoreError::Backend("unknown token scope".to_owned()))?,
        created_at_micros: row.col("token_created_at")?,
        expires_at_micros: row.col("expires_at")?,
        revoked_at_micros: row.col("revoked_at")?,
    })
}

pub(crate) fn team_from_row(row: &AnyRow) -> Result<Team, StoreError> {
    Ok(Team {
        id: id(row, "id")?,
        service_id: id(row, "service_id")?,
        name: row.col("name")?,
        created_at_micros: row.col("created_at")?,
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
     revoked_at, review_state, reviewed_by, reviewed_at, review_note, matter, parts, flagged_reason";

pub(crate) fn grant_from_row(row: &AnyRow) -> Result<GrantRecord, StoreError> {
    let kind: String = row.col("kind")?;
    let review: Option<String> = row.col("review_state")?;
    Ok(GrantRecord {
        id: id(row, "id")?,
        kind: grant_from_code(&kind).ok_or(StoreError::Backend("unknown grant kind".to_owned()))?,
        staff_id: id(row, "staff_id")?,
        person_id: id(row, "person_id")?,
        organisation_id: id(row, "organisation_id")?,
        reason: row.col("reason")?,
        granted_by: row.col("granted_by")?,
        starts_at_micros: row.col("starts_at")?,
        ends_at_micros: row.col("ends_at")?,
        revoked_at_micros: row.col("revoked_at")?,
        review_state: review
            .map(|r| {
                ReviewState::from_code(&r)
                    .ok_or(StoreError::Backend("unknown review state".to_owned()))
            })
            .transpose()?,
        reviewed_by: row.col("reviewed_by")?,
        reviewed_at_micros: row.col("reviewed_at")?,
        review_note: row.col("review_note")?,
        matter: row.col("matter")?,
        parts: {
            let parts: String = row.col("parts")?;
            parts
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        },
        flagged_reason: row.col("flagged_reason")?,
    })
}

pub(crate) fn role(row: &AnyRow) -> Result<Role, StoreError> {
    let code: String = row.col("role")?;
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
    let code: String = row.col(column)?;
    parse(&code).ok_or_else(|| StoreError::Backend(format!("unknown {what} code")))
}

pub(crate) fn opt_coded<T>(
    row: &AnyRow,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, StoreError> {
    let code: Option<String> = row.col(column)?;
    code.map(|c| parse(&c).ok_or_else(|| StoreError::Backend(format!("unknown {what} code"))))
        .transpose()
}

/// A flag stored as 0 or 1.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    let value: i64 = row.col(column)?;
    Ok(value != 0)
}
