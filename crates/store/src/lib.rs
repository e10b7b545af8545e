//! `confidant-core`'s storage port on sqlx, for SQLite (one file, the embedded default) and PostgreSQL.
//!
//! Guarantees:
//! - One implementation serves both backends through sqlx's `Any` driver: the SQL is the same text
//!   (numbered `$N` parameters work on both), so the behaviour cannot drift between them; what differs
//!   (column types, triggers, connection pragmas) lives in the per-backend migrations and in
//!   [`SqlStore::connect`]. The conformance suite in `tests/` runs every operation on both.
//! - Every operation that carries an audit draft writes its change and the audit event in one
//!   transaction. Appending takes the lock on the single `audit_head` row, so concurrent writers are
//!   chained in commit order on PostgreSQL, and SQLite writers take the write lock up front
//!   (`BEGIN IMMEDIATE`) instead of failing on lock upgrade.
//! - SQLite runs in WAL mode with `synchronous = FULL` (an acknowledged write survives a crash or power
//!   loss), foreign keys on, and `secure_delete` on so destroyed keys are overwritten in the file.
//! - Errors carry no values: the store is only ever given sealed bytes, ids and digests.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::str::FromStr;
use std::sync::Once;

use confidant_core::audit::{AuditDraft, AuditEvent, Checkpoint, RecordedHead, seal_event};
use confidant_core::contact::ContactPreferenceRecord;
use confidant_core::field::{FieldGroups, IndexField, PersonField, RecordKind};
use confidant_core::message::{AttemptRecord, MessageRecord, MessageState};
use confidant_core::name_index::GramDigest;
use confidant_core::store::NoticeVersion;
use confidant_core::store::{
    ApiTokenRecord, ApprovalRecord, ApprovalState, CaseRecord, ChangeStamp, ClosureReason,
    ConsentPurposeRecord, ConsentRecord, ContactType, Credential, DisclosedItem, DisclosureRecord,
    DocumentRecord, EntryRecord, EntryStatus, FieldChange, FieldVersion, GrantRecord, IndexChange,
    InstallationKeys, NoteFlags, Organisation, Placement, RecipientRecord, RecoveryCodes,
    ReferralPolicy, ReferralRecord, ReferralSource, RelatedRecord, Relationship, RestrictionRecord,
    ReviewState, SealedChange, SealedFields, SealedPerson, Service, ServiceConfig, SessionRecord,
    SessionStage, StaffRecord, Store, StoreError, Team, TokenScope, TrainingKind, TrainingRecord,
    TriageEvent, TriageState, WrappedDataKey,
};
use confidant_core::{AccessScope, Grant, Role};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Connection, Executor, Row, SqlSafeStr, Transaction};
use uuid::Uuid;

mod contact;
mod sharing;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The schema, embedded in the binary: one list per backend, same version numbers on both.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "staff access",
        include_str!("../migrations/sqlite/0002_staff_access.sql"),
    ),
    (
        3,
        "records",
        include_str!("../migrations/sqlite/0003_records.sql"),
    ),
    (
        4,
        "sharing",
        include_str!("../migrations/sqlite/0004_sharing.sql"),
    ),
    (
        5,
        "contact",
        include_str!("../migrations/sqlite/0005_contact.sql"),
    ),
    (
        6,
        "notices",
        include_str!("../migrations/sqlite/0006_notices.sql"),
    ),
    (
        8,
        "exactly once",
        include_str!("../migrations/sqlite/0008_exactly_once.sql"),
    ),
    (
        9,
        "schema parity",
        include_str!("../migrations/sqlite/0009_schema_parity.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "staff access",
        include_str!("../migrations/postgres/0002_staff_access.sql"),
    ),
    (
        3,
        "records",
        include_str!("../migrations/postgres/0003_records.sql"),
    ),
    (
        4,
        "sharing",
        include_str!("../migrations/postgres/0004_sharing.sql"),
    ),
    (
        5,
        "contact",
        include_str!("../migrations/postgres/0005_contact.sql"),
    ),
    (
        6,
        "notices",
        include_str!("../migrations/postgres/0006_notices.sql"),
    ),
    (
        8,
        "exactly once",
        include_str!("../migrations/postgres/0008_exactly_once.sql"),
    ),
    (
        9,
        "schema parity",
        include_str!("../migrations/postgres/0009_schema_parity.sql"),
    ),
];

fn migrator(backend: Backend) -> Migrator {
    let list = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    Migrator::with_migrations(
        list.iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sqlx::AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

fn backend_error(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

fn id(row: &AnyRow, column: &str) -> Result<Uuid, StoreError> {
    let text: String = row.try_get(column).map_err(backend_error)?;
    Uuid::parse_str(&text)
        .map_err(|_| StoreError::Backend(format!("malformed id in column {column}")))
}

fn opt_id(row: &AnyRow, column: &str) -> Result<Option<Uuid>, StoreError> {
    let text: Option<String> = row.try_get(column).map_err(backend_error)?;
    text.map(|t| Uuid::parse_str(&t))
        .transpose()
        .map_err(|_| StoreError::Backend(format!("malformed id in column {column}")))
}

fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Backend(format!("malformed {what}: not 32 bytes")))
}

/// Options for [`SqlStore::connect`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    /// Create the SQLite file if it does not exist (only `init`, `demo` and tests should).
    pub create_if_missing: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            create_if_missing: false,
        }
    }
}

/// The store on one database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

static DRIVERS: Once = Once::new();

/// The URL of a SQLite database file.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

impl SqlStore {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`).
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = Backend::from_url(url).ok_or(StoreError::Backend(
            "the database URL must start with sqlite:// or postgres://".to_owned(),
        ))?;
        let url = match backend {
            Backend::Sqlite if options.create_if_missing => format!("{url}?mode=rwc"),
            Backend::Sqlite => format!("{url}?mode=rw"),
            Backend::Postgres => url.to_owned(),
        };
        let connect = AnyConnectOptions::from_str(&url).map_err(backend_error)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => options.max_connections.min(4),
                Backend::Postgres => options.max_connections,
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; \
                             PRAGMA busy_timeout = 30000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await
            .map_err(backend_error)?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator(self.backend)
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))
    }

    /// True once the schema exists (migrations have run at least once).
    pub async fn has_schema(&self) -> Result<bool, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'installation'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'installation'"
            }
        };
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(n > 0)
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(backend_error)
    }

    /// After an erasure on SQLite: copies the WAL back into the main file and truncates it, so the
    /// pages that held the erased values (overwritten there, as `secure_delete` is on) do not
    /// linger in the WAL. Best effort: a reader holding an old snapshot can keep frames alive until
    /// the next checkpoint, so a failure is logged, not returned (the erasure itself committed).
    async fn checkpoint_after_erasure(&self) {
        if let Err(e) = self.checkpoint_wal().await {
            tracing::warn!(error = %e, "WAL checkpoint after an erasure did not complete");
        }
    }

    /// Writes the WAL back into the main SQLite file (a no-op on PostgreSQL).
    pub async fn checkpoint_wal(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
                .map_err(backend_error)?;
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A writing transaction. On SQLite the write lock is taken at `BEGIN`, so two writers wait for
    /// each other (busy timeout) instead of one failing when it upgrades a read lock.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .map_err(backend_error)
    }

    async fn installation_key_id(
        tx: &mut Transaction<'static, Any>,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT master_key_id FROM installation WHERE id = 1")
            .fetch_optional(&mut **tx)
            .await
            .map_err(backend_error)
    }
}

const HEAD_MISSING: &str =
    "the audit chain's head row is missing: run `confidant audit verify` (nothing was written)";

/// Appends `draft` to the chain inside `tx`. Locks the head row first: the next writer waits until
/// this transaction ends, so sequence numbers and links follow commit order.
async fn append(
    tx: &mut Transaction<'static, Any>,
    draft: &AuditDraft,
) -> Result<AuditEvent, StoreError> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend_error)?
        // Nothing is written without its event: with the head gone, every audited write stops.
        .ok_or_else(|| StoreError::Backend(HEAD_MISSING.to_owned()))?;
    let seq: i64 = row.try_get("seq").map_err(backend_error)?;
    let prev = hash32(row.try_get("hash").map_err(backend_error)?, "audit head")?;
    let event = seal_event(prev, seq, draft);
    sqlx::query(
        "INSERT INTO audit_event (seq, at, actor, action, resource_type, resource_id, subject_id, purpose, outcome, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(event.seq)
    .bind(event.at_micros)
    .bind(&event.actor)
    .bind(&event.action)
    .bind(&event.resource_type)
    .bind(&event.resource_id)
    .bind(&event.subject_id)
    .bind(&event.purpose)
    .bind(&event.outcome)
    .bind(event.prev_hash.to_vec())
    .bind(event.hash.to_vec())
    .execute(&mut **tx)
    .await
    .map_err(backend_error)?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(event.hash.to_vec())
        .execute(&mut **tx)
        .await
        .map_err(backend_error)?;
    Ok(event)
}

/// Runs one insert and appends its audit event in the same transaction; a duplicate is a conflict
/// described by `on_duplicate`.
async fn insert_audited(
    store: &SqlStore,
    insert: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
    on_duplicate: &'static str,
    audit: &AuditDraft,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    match insert.execute(&mut *tx).await {
        Err(e) if is_unique_violation(&e) => return Err(StoreError::Conflict(on_duplicate)),
        other => other.map_err(backend_error)?,
    };
    append(&mut tx, audit).await?;
    commit(tx).await
}

/// The insert of an access grant (break the glass, a trustee's matter, a processor's referral).
fn insert_grant(grant: &GrantRecord) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments> {
    sqlx::query(
        "INSERT INTO access_grant (id, kind, staff_id, person_id, organisation_id, reason, granted_by, starts_at, \
         ends_at, review_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(grant.id.to_string())
    .bind(grant.kind.code())
    .bind(grant.staff_id.to_string())
    .bind(grant.person_id.to_string())
    .bind(grant.organisation_id.to_string())
    .bind(grant.reason.as_deref())
    .bind(&grant.granted_by)
    .bind(grant.starts_at_micros)
    .bind(grant.ends_at_micros)
    .bind(grant.review_state.map(ReviewState::code))
}

/// The lock a failure count calls for, never shorter than one already in force (`row` holds
/// `failed_attempts` and `locked_until`).
fn lock_for(
    row: &AnyRow,
    lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
) -> Result<Option<i64>, StoreError> {
    let failed: i64 = row.try_get("failed_attempts").map_err(backend_error)?;
    let current: Option<i64> = row.try_get("locked_until").map_err(backend_error)?;
    Ok(lock_after(failed).map(|until| current.map_or(until, |c| c.max(until))))
}

/// Runs one conditional change; if it touched a row, appends its audit event in the same transaction
/// and answers `true`; if it touched none, writes nothing and answers `false`.
async fn change_audited(
    store: &SqlStore,
    change: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
    audit: &AuditDraft,
) -> Result<bool, StoreError> {
    let mut tx = store.begin_write().await?;
    let done = change.execute(&mut *tx).await.map_err(backend_error)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    append(&mut tx, audit).await?;
    commit(tx).await?;
    Ok(true)
}

async fn commit(tx: Transaction<'static, Any>) -> Result<(), StoreError> {
    tx.commit().await.map_err(backend_error)
}

/// Reads an event by column position (the order of the SELECTs below: seq, at, actor, action, resource_type, resource_id, subject_id,
/// purpose, outcome, prev_hash, hash): about a third faster than by
/// name, which matters to `audit verify` over millions of rows.
fn event_from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
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
fn chain_hash(bytes: Vec<u8>) -> [u8; 32] {
    <[u8; 32]>::try_from(bytes.as_slice()).unwrap_or([0xff; 32])
}

fn wrapped_key_from_row(row: &AnyRow) -> Result<WrappedDataKey, StoreError> {
    Ok(WrappedDataKey {
        owner_id: id(row, "owner_id")?,
        version: row.try_get("version").map_err(backend_error)?,
        master_key_id: row.try_get("master_key_id").map_err(backend_error)?,
        wrapped: row.try_get("wrapped").map_err(backend_error)?,
    })
}

fn organisation_from_row(row: &AnyRow) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: id(row, "id")?,
        name: row.try_get("name").map_err(backend_error)?,
        created_at_micros: row.try_get("created_at").map_err(backend_error)?,
    })
}

fn service_from_row(row: &AnyRow) -> Result<Service, StoreError> {
    Ok(Service {
        id: id(row, "id")?,
        organisation_id: id(row, "organisation_id")?,
        name: row.try_get("name").map_err(backend_error)?,
        created_at_micros: row.try_get("created_at").map_err(backend_error)?,
    })
}

const STAFF_COLUMNS: &str = "s.id AS staff_id, s.organisation_id, s.service_id, s.team_id, s.role, s.handle, \
     s.created_at AS staff_created_at, s.disabled_at";

fn staff_from_row(row: &AnyRow) -> Result<StaffRecord, StoreError> {
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

const TOKEN_COLUMNS: &str = "t.id AS token_id, t.staff_id AS token_staff_id, t.token_hash, t.scope, \
     t.created_at AS token_created_at, t.expires_at, t.revoked_at";

fn token_from_row(row: &AnyRow) -> Result<ApiTokenRecord, StoreError> {
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

fn team_from_row(row: &AnyRow) -> Result<Team, StoreError> {
    Ok(Team {
        id: id(row, "id")?,
        service_id: id(row, "service_id")?,
        name: row.try_get("name").map_err(backend_error)?,
        created_at_micros: row.try_get("created_at").map_err(backend_error)?,
    })
}

fn scope_from_code(code: &str) -> Result<AccessScope, StoreError> {
    AccessScope::from_code(code).ok_or(StoreError::Backend("unknown access scope".to_owned()))
}

fn grant_from_code(code: &str) -> Option<Grant> {
    [
        Grant::BreakGlass,
        Grant::TrusteeMatter,
        Grant::ProcessorReferral,
    ]
    .into_iter()
    .find(|g| g.code() == code)
}

const GRANT_COLUMNS: &str = "id, kind, staff_id, person_id, organisation_id, reason, granted_by, starts_at, ends_at, \
     revoked_at, review_state, reviewed_by, reviewed_at, review_note";

fn grant_from_row(row: &AnyRow) -> Result<GrantRecord, StoreError> {
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

fn role(row: &AnyRow) -> Result<Role, StoreError> {
    let code: String = row.try_get("role").map_err(backend_error)?;
    Role::from_code(&code).ok_or(StoreError::Backend("unknown role code in staff".to_owned()))
}

/// Loads the sealed fields of a set of people, keeping only `fields` (all when empty).
async fn load_fields(
    tx: &mut Transaction<'static, Any>,
    people: &mut [(SealedPerson, WrappedDataKey)],
    fields: &[PersonField],
) -> Result<(), StoreError> {
    for (person, _) in people.iter_mut() {
        let rows = sqlx::query(
            "SELECT field, value FROM person_field WHERE person_id = $1 ORDER BY field",
        )
        .bind(person.id.to_string())
        .fetch_all(&mut **tx)
        .await
        .map_err(backend_error)?;
        for row in rows {
            let code: String = row.try_get("field").map_err(backend_error)?;
            let field = PersonField::from_code(&code).ok_or(StoreError::Backend(
                "unknown field code in person_field".to_owned(),
            ))?;
            if fields.is_empty() || fields.contains(&field) {
                person
                    .fields
                    .push((field, row.try_get("value").map_err(backend_error)?));
            }
        }
    }
    Ok(())
}

const PERSON_WITH_KEY: &str = "SELECT p.id, p.service_id, p.team_id, p.key_worker_id, p.key_version, p.created_at, p.updated_at, \
     k.owner_id, k.version, k.master_key_id, k.wrapped \
     FROM person p JOIN data_key k ON k.owner_id = p.id AND k.version = p.key_version";

fn person_with_key(row: &AnyRow) -> Result<(SealedPerson, WrappedDataKey), StoreError> {
    Ok((
        SealedPerson {
            id: id(row, "id")?,
            service_id: id(row, "service_id")?,
            team_id: opt_id(row, "team_id")?,
            key_worker_id: opt_id(row, "key_worker_id")?,
            key_version: row.try_get("key_version").map_err(backend_error)?,
            fields: Vec::new(),
            name_grams: Vec::new(),
            created_at_micros: row.try_get("created_at").map_err(backend_error)?,
            updated_at_micros: row.try_get("updated_at").map_err(backend_error)?,
        },
        wrapped_key_from_row(row)?,
    ))
}

async fn set_indexes(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
    service_id: Uuid,
    changes: impl Iterator<Item = (IndexField, Option<[u8; 16]>)>,
) -> Result<(), StoreError> {
    for (field, digest) in changes {
        sqlx::query("DELETE FROM blind_index WHERE person_id = $1 AND field = $2")
            .bind(person_id.to_string())
            .bind(field.code())
            .execute(&mut **tx)
            .await
            .map_err(backend_error)?;
        if let Some(d) = digest {
            sqlx::query("INSERT INTO blind_index (person_id, service_id, field, digest) VALUES ($1, $2, $3, $4)")
                .bind(person_id.to_string())
                .bind(service_id.to_string())
                .bind(field.code())
                .bind(d.to_vec())
                .execute(&mut **tx)
                .await
                .map_err(backend_error)?;
        }
    }
    Ok(())
}

/// A code column read back into its enum; an unknown code is a backend error (the database holds
/// something this version does not know).
fn coded<T>(
    row: &AnyRow,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<T, StoreError> {
    let code: String = row.try_get(column).map_err(backend_error)?;
    parse(&code).ok_or_else(|| StoreError::Backend(format!("unknown {what} code")))
}

fn opt_coded<T>(
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
fn flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    let value: i64 = row.try_get(column).map_err(backend_error)?;
    Ok(value != 0)
}

const MASTER_KEY_ROTATED: &str =
    "the master key was rotated since this process started; restart it with the new key";

/// Inserts a data key, only while the installation's master key is the one that wrapped it. The
/// caller appends its audit event first: that takes the head lock, so no rotation can slip in
/// between this check and the commit.
async fn insert_data_key(
    tx: &mut Transaction<'static, Any>,
    key: &WrappedDataKey,
    created_at_micros: i64,
) -> Result<(), StoreError> {
    if SqlStore::installation_key_id(tx).await?.as_deref() != Some(key.master_key_id.as_str()) {
        return Err(StoreError::Conflict(MASTER_KEY_ROTATED));
    }
    sqlx::query(
        "INSERT INTO data_key (owner_id, version, master_key_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(key.owner_id.to_string())
    .bind(key.version)
    .bind(&key.master_key_id)
    .bind(&key.wrapped)
    .bind(created_at_micros)
    .execute(&mut **tx)
    .await
    .map_err(backend_error)?;
    Ok(())
}

/// Creates a person: their data key, row, sealed fields and blind indexes (`create_person` and
/// accepting a referral). The caller appends its audit event first (see [`insert_data_key`]).
async fn insert_person(
    tx: &mut Transaction<'static, Any>,
    person: &SealedPerson,
    indexes: &[(IndexField, [u8; 16])],
    key: &WrappedDataKey,
) -> Result<(), StoreError> {
    insert_data_key(tx, key, person.created_at_micros).await?;
    let pid = person.id.to_string();
    sqlx::query("INSERT INTO person (id, service_id, team_id, key_worker_id, key_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&pid)
        .bind(person.service_id.to_string())
        .bind(person.team_id.map(|t| t.to_string()))
        .bind(person.key_worker_id.map(|k| k.to_string()))
        .bind(person.key_version)
        .bind(person.created_at_micros)
        .bind(person.updated_at_micros)
        .execute(&mut **tx)
        .await
        .map_err(backend_error)?;
    for (field, value) in &person.fields {
        sqlx::query("INSERT INTO person_field (person_id, field, value) VALUES ($1, $2, $3)")
            .bind(&pid)
            .bind(field.code())
            .bind(value)
            .execute(&mut **tx)
            .await
            .map_err(backend_error)?;
    }
    set_indexes(
        tx,
        person.id,
        person.service_id,
        indexes.iter().map(|(f, d)| (*f, Some(*d))),
    )
    .await?;
    set_name_grams(tx, person.id, person.service_id, &person.name_grams).await
}

/// Replaces a person's name grams.
async fn set_name_grams(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
    service_id: Uuid,
    grams: &[GramDigest],
) -> Result<(), StoreError> {
    let pid = person_id.to_string();
    sqlx::query("DELETE FROM person_name_gram WHERE person_id = $1")
        .bind(&pid)
        .execute(&mut **tx)
        .await
        .map_err(backend_error)?;
    let mut unique: Vec<&GramDigest> = grams.iter().collect();
    unique.sort_unstable();
    unique.dedup();
    // Many rows per statement: a name has a dozen or two grams.
    for chunk in unique.chunks(100) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, $2, ${})", i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO person_name_gram (person_id, service_id, digest) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&pid)
            .bind(service_id.to_string());
        for g in chunk {
            q = q.bind(g.to_vec());
        }
        q.execute(&mut **tx).await.map_err(backend_error)?;
    }
    Ok(())
}

/// Inserts the sealed fields of a record (a related person, referral, entry or document).
async fn insert_fields(
    tx: &mut Transaction<'static, Any>,
    record_id: Uuid,
    fields: &SealedFields,
) -> Result<(), StoreError> {
    let rid = record_id.to_string();
    for (field, value) in fields {
        sqlx::query("INSERT INTO record_field (record_id, field, value) VALUES ($1, $2, $3)")
            .bind(&rid)
            .bind(field)
            .bind(value)
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict("a field was given twice")
                } else {
                    backend_error(e)
                }
            })?;
    }
    Ok(())
}

/// The sealed fields of one record, by field code.
async fn record_fields(
    tx: &mut Transaction<'static, Any>,
    record_id: Uuid,
) -> Result<SealedFields, StoreError> {
    sqlx::query("SELECT field, value FROM record_field WHERE record_id = $1 ORDER BY field")
        .bind(record_id.to_string())
        .fetch_all(&mut **tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("field").map_err(backend_error)?,
                r.try_get("value").map_err(backend_error)?,
            ))
        })
        .collect()
}

/// The sealed fields of many records at once: `query` selects `record_id, field, value` ordered by
/// record and field.
async fn grouped_fields(
    tx: &mut Transaction<'static, Any>,
    query: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
) -> Result<HashMap<Uuid, SealedFields>, StoreError> {
    let mut grouped: HashMap<Uuid, SealedFields> = HashMap::new();
    for row in query.fetch_all(&mut **tx).await.map_err(backend_error)? {
        grouped.entry(id(&row, "record_id")?).or_default().push((
            row.try_get("field").map_err(backend_error)?,
            row.try_get("value").map_err(backend_error)?,
        ));
    }
    Ok(grouped)
}

/// Deletes a record's sealed fields, blind indexes (for a referral) and data keys.
async fn erase_record(
    tx: &mut Transaction<'static, Any>,
    record_id: Uuid,
) -> Result<(), StoreError> {
    let rid = record_id.to_string();
    for sql in [
        "DELETE FROM record_field WHERE record_id = $1",
        "DELETE FROM referral_index WHERE referral_id = $1",
        "DELETE FROM data_key WHERE owner_id = $1",
        // A declined partner referral must not keep pointing at the person's record there.
        "UPDATE referral SET partner_person_id = NULL WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(&rid)
            .execute(&mut **tx)
            .await
            .map_err(backend_error)?;
    }
    Ok(())
}

async fn insert_triage_event(
    tx: &mut Transaction<'static, Any>,
    referral_id: Uuid,
    state: TriageState,
    step: &ChangeStamp,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO triage_event (referral_id, state, at, actor) VALUES ($1, $2, $3, $4)")
        .bind(referral_id.to_string())
        .bind(state.code())
        .bind(step.at_micros)
        .bind(&step.by)
        .execute(&mut **tx)
        .await
        .map_err(backend_error)?;
    Ok(())
}

const ONE_OPEN_CASE: &str = "the person already has an open case in this service";

async fn insert_case(
    tx: &mut Transaction<'static, Any>,
    case: &CaseRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO case_episode (id, person_id, service_id, key_worker_id, opened_at, opened_by, closed_at, \
         closed_by, closure_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(case.id.to_string())
    .bind(case.person_id.to_string())
    .bind(case.service_id.to_string())
    .bind(case.key_worker_id.map(|k| k.to_string()))
    .bind(case.opened_at_micros)
    .bind(&case.opened_by)
    .bind(case.closed_at_micros)
    .bind(case.closed_by.as_deref())
    .bind(case.closure_reason.map(ClosureReason::code))
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(ONE_OPEN_CASE)
        } else {
            backend_error(e)
        }
    })?;
    Ok(())
}

/// Keeps the current value of a person's field (if any) in the correction history.
const KEEP_PERSON_FIELD: &str = "INSERT INTO field_version (record_id, field, value, key_version, changed_by, changed_at) \
     SELECT person_id, field, value, $3, $4, $5 FROM person_field WHERE person_id = $1 AND field = $2";
/// Keeps the current value of a record's field (if any) in the correction history.
const KEEP_RECORD_FIELD: &str = "INSERT INTO field_version (record_id, field, value, key_version, changed_by, changed_at) \
     SELECT record_id, field, value, $3, $4, $5 FROM record_field WHERE record_id = $1 AND field = $2";

async fn keep_version(
    tx: &mut Transaction<'static, Any>,
    sql: &'static str,
    record_id: &str,
    field: &str,
    key_version: i64,
    stamp: &ChangeStamp,
) -> Result<(), StoreError> {
    sqlx::query(sql)
        .bind(record_id)
        .bind(field)
        .bind(key_version)
        .bind(&stamp.by)
        .bind(stamp.at_micros)
        .execute(&mut **tx)
        .await
        .map_err(backend_error)?;
    Ok(())
}

fn service_config_from_row(row: &AnyRow) -> Result<ServiceConfig, StoreError> {
    let groups: String = row.try_get("field_groups").map_err(backend_error)?;
    Ok(ServiceConfig {
        service_id: id(row, "service_id")?,
        field_groups: FieldGroups::parse(&groups)
            .map_err(|_| StoreError::Backend("unknown field group code".to_owned()))?,
        referrals: coded(
            row,
            "referrals",
            ReferralPolicy::from_code,
            "referral policy",
        )?,
        partner_service_id: opt_id(row, "partner_service_id")?,
    })
}

fn field_version_from_row(row: &AnyRow) -> Result<FieldVersion, StoreError> {
    Ok(FieldVersion {
        record_id: id(row, "record_id")?,
        field: row.try_get("field").map_err(backend_error)?,
        value: row.try_get("value").map_err(backend_error)?,
        key_version: row.try_get("key_version").map_err(backend_error)?,
        changed_by: row.try_get("changed_by").map_err(backend_error)?,
        changed_at_micros: row.try_get("changed_at").map_err(backend_error)?,
    })
}

/// The live key of a record beside it (`owner_id, version, master_key_id, wrapped` of a LEFT JOIN),
/// `None` if it was erased.
fn opt_key_from_row(row: &AnyRow) -> Result<Option<WrappedDataKey>, StoreError> {
    match opt_id(row, "owner_id")? {
        Some(_) => wrapped_key_from_row(row).map(Some),
        None => Ok(None),
    }
}

const RELATED_WITH_KEY: &str = "SELECT r.id, r.person_id, r.relationship, r.linked_person_id, r.key_version, r.created_by, \
     r.created_at, k.owner_id, k.version, k.master_key_id, k.wrapped \
     FROM related_person r JOIN data_key k ON k.owner_id = r.id AND k.version = r.key_version";

fn related_from_row(row: &AnyRow) -> Result<RelatedRecord, StoreError> {
    Ok(RelatedRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        relationship: coded(row, "relationship", Relationship::from_code, "relationship")?,
        linked_person_id: opt_id(row, "linked_person_id")?,
        key_version: row.try_get("key_version").map_err(backend_error)?,
        created_by: row.try_get("created_by").map_err(backend_error)?,
        created_at_micros: row.try_get("created_at").map_err(backend_error)?,
    })
}

const REFERRAL_COLUMNS: &str = "r.id, r.service_id, r.source, r.partner_person_id, r.state, r.received_at, \
     r.last_contact_at, r.decided_at, r.person_id, r.case_id, r.key_version, r.created_by";

/// A referral with its live key, if it still has one.
const REFERRAL_WITH_KEY: &str = "SELECT r.id, r.service_id, r.source, r.partner_person_id, r.state, r.received_at, \
     r.last_contact_at, r.decided_at, r.person_id, r.case_id, r.key_version, r.created_by, \
     k.owner_id, k.version, k.master_key_id, k.wrapped \
     FROM referral r LEFT JOIN data_key k ON k.owner_id = r.id AND k.version = r.key_version";

fn referral_from_row(row: &AnyRow) -> Result<ReferralRecord, StoreError> {
    Ok(ReferralRecord {
        id: id(row, "id")?,
        service_id: id(row, "service_id")?,
        source: coded(row, "source", ReferralSource::from_code, "referral source")?,
        partner_person_id: opt_id(row, "partner_person_id")?,
        state: coded(row, "state", TriageState::from_code, "triage state")?,
        received_at_micros: row.try_get("received_at").map_err(backend_error)?,
        last_contact_at_micros: row.try_get("last_contact_at").map_err(backend_error)?,
        decided_at_micros: row.try_get("decided_at").map_err(backend_error)?,
        person_id: opt_id(row, "person_id")?,
        case_id: opt_id(row, "case_id")?,
        key_version: row.try_get("key_version").map_err(backend_error)?,
        created_by: row.try_get("created_by").map_err(backend_error)?,
    })
}

/// A referral, its sealed fields (only `only`, all when empty) and its live key; no fields without a
/// key.
async fn referral_with_fields(
    tx: &mut Transaction<'static, Any>,
    row: &AnyRow,
    only: &[&str],
) -> Result<(ReferralRecord, SealedFields, Option<WrappedDataKey>), StoreError> {
    let referral = referral_from_row(row)?;
    let key = opt_key_from_row(row)?;
    let mut fields = match key {
        Some(_) => record_fields(tx, referral.id).await?,
        None => Vec::new(),
    };
    if !only.is_empty() {
        fields.retain(|(code, _)| only.contains(&code.as_str()));
    }
    Ok((referral, fields, key))
}

const CASE_COLUMNS: &str = "id, person_id, service_id, key_worker_id, opened_at, opened_by, closed_at, closed_by, \
     closure_reason";

fn case_from_row(row: &AnyRow) -> Result<CaseRecord, StoreError> {
    Ok(CaseRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        service_id: id(row, "service_id")?,
        key_worker_id: opt_id(row, "key_worker_id")?,
        opened_at_micros: row.try_get("opened_at").map_err(backend_error)?,
        opened_by: row.try_get("opened_by").map_err(backend_error)?,
        closed_at_micros: row.try_get("closed_at").map_err(backend_error)?,
        closed_by: row.try_get("closed_by").map_err(backend_error)?,
        closure_reason: opt_coded(
            row,
            "closure_reason",
            ClosureReason::from_code,
            "closure reason",
        )?,
    })
}

const ENTRY_COLUMNS: &str = "e.id, e.person_id, e.kind, e.case_id, e.parent_id, e.contact_type, e.occurs_at, e.status, \
     e.due_at, e.third_party, e.identifies_complainant, e.serious_harm, e.author, e.key_version, e.created_at, \
     e.updated_at";

fn entry_from_row(row: &AnyRow) -> Result<EntryRecord, StoreError> {
    Ok(EntryRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        kind: coded(row, "kind", RecordKind::from_code, "record kind")?,
        case_id: opt_id(row, "case_id")?,
        parent_id: opt_id(row, "parent_id")?,
        contact_type: opt_coded(row, "contact_type", ContactType::from_code, "contact type")?,
        occurs_at_micros: row.try_get("occurs_at").map_err(backend_error)?,
        status: opt_coded(row, "status", EntryStatus::from_code, "entry status")?,
        due_at_micros: row.try_get("due_at").map_err(backend_error)?,
        flags: NoteFlags {
            third_party: flag(row, "third_party")?,
            identifies_complainant: flag(row, "identifies_complainant")?,
            serious_harm: flag(row, "serious_harm")?,
        },
        author: row.try_get("author").map_err(backend_error)?,
        key_version: row.try_get("key_version").map_err(backend_error)?,
        created_at_micros: row.try_get("created_at").map_err(backend_error)?,
        updated_at_micros: row.try_get("updated_at").map_err(backend_error)?,
    })
}

const DOCUMENT_COLUMNS: &str = "d.id, d.person_id, d.media_type, d.size_bytes, d.is_photo, d.key_version, d.uploaded_by, \
     d.created_at";

fn document_from_row(row: &AnyRow) -> Result<DocumentRecord, StoreError> {
    Ok(DocumentRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        media_type: row.try_get("media_type").map_err(backend_error)?,
        size_bytes: row.try_get("size_bytes").map_err(backend_error)?,
        is_photo: flag(row, "is_photo")?,
        key_version: row.try_get("key_version").map_err(backend_error)?,
        uploaded_by: row.try_get("uploaded_by").map_err(backend_error)?,
        created_at_micros: row.try_get("created_at").map_err(backend_error)?,
    })
}

/// `$first, $first+1, …` for an `IN (…)` list of `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn now_micros() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

impl Store for SqlStore {
    async fn installation_keys(&self) -> Result<Option<InstallationKeys>, StoreError> {
        let row =
            sqlx::query("SELECT master_key_id, wrapped_index_key FROM installation WHERE id = 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_error)?;
        row.map(|r| {
            Ok(InstallationKeys {
                master_key_id: r.try_get("master_key_id").map_err(backend_error)?,
                wrapped_index_key: r.try_get("wrapped_index_key").map_err(backend_error)?,
            })
        })
        .transpose()
    }

    async fn initialise_keys(&self, keys: &InstallationKeys) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO installation (id, master_key_id, wrapped_index_key, created_at) VALUES (1, $1, $2, $3)",
        )
        .bind(&keys.master_key_id)
        .bind(&keys.wrapped_index_key)
        .bind(now_micros())
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(
                "the installation is already initialised",
            )),
            Err(e) => Err(backend_error(e)),
        }
    }

    async fn wrapped_data_keys(&self) -> Result<Vec<WrappedDataKey>, StoreError> {
        sqlx::query("SELECT owner_id, version, master_key_id, wrapped FROM data_key ORDER BY owner_id, version")
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?
            .iter()
            .map(wrapped_key_from_row)
            .collect()
    }

    async fn rotate_master_key(
        &self,
        old_master_key_id: &str,
        keys: &InstallationKeys,
        rewrapped: &[WrappedDataKey],
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Appending first takes the head lock, which every other writer needs: no key can be added
        // while the set is replaced.
        append(&mut tx, audit).await?;
        if Self::installation_key_id(&mut tx).await?.as_deref() != Some(old_master_key_id) {
            return Err(StoreError::Conflict(
                "the master key was rotated by someone else",
            ));
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_key")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend_error)?;
        if usize::try_from(count).ok() != Some(rewrapped.len()) {
            return Err(StoreError::Conflict(
                "data keys changed during rotation; try again",
            ));
        }
        for key in rewrapped {
            let done = sqlx::query(
                "UPDATE data_key SET wrapped = $1, master_key_id = $2 WHERE owner_id = $3 AND version = $4 AND master_key_id = $5",
            )
            .bind(&key.wrapped)
            .bind(&key.master_key_id)
            .bind(key.owner_id.to_string())
            .bind(key.version)
            .bind(old_master_key_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict(
                    "data keys changed during rotation; try again",
                ));
            }
        }
        sqlx::query(
            "UPDATE installation SET master_key_id = $1, wrapped_index_key = $2 WHERE id = 1",
        )
        .bind(&keys.master_key_id)
        .bind(&keys.wrapped_index_key)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        commit(tx).await
    }

    async fn create_organisation(
        &self,
        organisation: &Organisation,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let insert =
            sqlx::query("INSERT INTO organisation (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(organisation.id.to_string())
                .bind(&organisation.name)
                .bind(organisation.created_at_micros);
        insert_audited(self, insert, "an organisation of that name exists", audit).await
    }

    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        sqlx::query("SELECT id, name, created_at FROM organisation ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?
            .iter()
            .map(organisation_from_row)
            .collect()
    }

    async fn organisation(&self, id: Uuid) -> Result<Option<Organisation>, StoreError> {
        sqlx::query("SELECT id, name, created_at FROM organisation WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?
            .as_ref()
            .map(organisation_from_row)
            .transpose()
    }

    async fn create_service(
        &self,
        service: &Service,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO service (id, organisation_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(service.id.to_string())
        .bind(service.organisation_id.to_string())
        .bind(&service.name)
        .bind(service.created_at_micros);
        insert_audited(self, insert, "a service of that name exists", audit).await
    }

    async fn service(&self, id: Uuid) -> Result<Option<Service>, StoreError> {
        sqlx::query("SELECT id, organisation_id, name, created_at FROM service WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?
            .as_ref()
            .map(service_from_row)
            .transpose()
    }

    async fn services(&self, organisation_id: Uuid) -> Result<Vec<Service>, StoreError> {
        sqlx::query("SELECT id, organisation_id, name, created_at FROM service WHERE organisation_id = $1 ORDER BY name")
            .bind(organisation_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?
            .iter()
            .map(service_from_row)
            .collect()
    }

    async fn create_staff(
        &self,
        staff: &StaffRecord,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO staff (id, organisation_id, service_id, role, handle, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(staff.id.to_string())
        .bind(staff.organisation_id.to_string())
        .bind(staff.service_id.map(|s| s.to_string()))
        .bind(staff.role.code())
        .bind(&staff.handle)
        .bind(staff.created_at_micros);
        insert_audited(self, insert, "that handle is taken", audit).await
    }

    async fn staff_by_handle(&self, handle: &str) -> Result<Option<StaffRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM staff s WHERE s.handle = $1"
        )))
        .bind(handle)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(staff_from_row)
        .transpose()
    }

    async fn staff(&self, staff_id: Uuid) -> Result<Option<StaffRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM staff s WHERE s.id = $1"
        )))
        .bind(staff_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(staff_from_row)
        .transpose()
    }

    async fn staff_of(&self, organisation_id: Uuid) -> Result<Vec<StaffRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM staff s WHERE s.organisation_id = $1 ORDER BY s.handle"
        )))
        .bind(organisation_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(staff_from_row)
        .collect()
    }

    async fn disable_staff(
        &self,
        staff_id: Uuid,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let sid = staff_id.to_string();
        let done =
            sqlx::query("UPDATE staff SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
                .bind(at_micros)
                .bind(&sid)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE staff_session SET ended_at = $1, end_reason = 'disabled' WHERE staff_id = $2 AND ended_at IS NULL",
        )
        .bind(at_micros)
        .bind(&sid)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        sqlx::query(
            "UPDATE api_token SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL",
        )
        .bind(at_micros)
        .bind(&sid)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn set_staff_team(
        &self,
        staff_id: Uuid,
        team_id: Option<Uuid>,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let update = sqlx::query("UPDATE staff SET team_id = $1 WHERE id = $2")
            .bind(team_id.map(|t| t.to_string()))
            .bind(staff_id.to_string());
        insert_audited(self, update, "that team is not available", audit).await
    }

    async fn create_team(&self, team: &Team, audit: &AuditDraft) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO team (id, service_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(team.id.to_string())
        .bind(team.service_id.to_string())
        .bind(&team.name)
        .bind(team.created_at_micros);
        insert_audited(
            self,
            insert,
            "a team of that name exists in the service",
            audit,
        )
        .await
    }

    async fn team(&self, team_id: Uuid) -> Result<Option<Team>, StoreError> {
        sqlx::query("SELECT id, service_id, name, created_at FROM team WHERE id = $1")
            .bind(team_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?
            .as_ref()
            .map(team_from_row)
            .transpose()
    }

    async fn teams(&self, service_id: Uuid) -> Result<Vec<Team>, StoreError> {
        sqlx::query(
            "SELECT id, service_id, name, created_at FROM team WHERE service_id = $1 ORDER BY name",
        )
        .bind(service_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(team_from_row)
        .collect()
    }

    async fn service_scope(&self, service_id: Uuid) -> Result<Option<AccessScope>, StoreError> {
        let code: Option<String> =
            sqlx::query_scalar("SELECT access_scope FROM service WHERE id = $1")
                .bind(service_id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_error)?;
        code.map(|c| scope_from_code(&c)).transpose()
    }

    async fn set_service_scope(
        &self,
        service_id: Uuid,
        scope: AccessScope,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let update = sqlx::query("UPDATE service SET access_scope = $1 WHERE id = $2")
            .bind(scope.code())
            .bind(service_id.to_string());
        insert_audited(self, update, "conflict", audit).await
    }

    async fn credential(&self, staff_id: Uuid) -> Result<Option<Credential>, StoreError> {
        let row = sqlx::query(
            "SELECT staff_id, password_hash, password_changed_at, totp_secret, totp_confirmed_at, totp_last_step, \
             failed_attempts, locked_until, updated_at FROM staff_credential WHERE staff_id = $1",
        )
        .bind(staff_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        row.map(|r| {
            Ok(Credential {
                staff_id: id(&r, "staff_id")?,
                password_hash: r.try_get("password_hash").map_err(backend_error)?,
                password_changed_at_micros: r
                    .try_get("password_changed_at")
                    .map_err(backend_error)?,
                totp_secret: r.try_get("totp_secret").map_err(backend_error)?,
                totp_confirmed_at_micros: r.try_get("totp_confirmed_at").map_err(backend_error)?,
                totp_last_step: r.try_get("totp_last_step").map_err(backend_error)?,
                failed_attempts: r.try_get("failed_attempts").map_err(backend_error)?,
                locked_until_micros: r.try_get("locked_until").map_err(backend_error)?,
                updated_at_micros: r.try_get("updated_at").map_err(backend_error)?,
            })
        })
        .transpose()
    }

    async fn save_credential(
        &self,
        credential: &Credential,
        new_key: Option<&WrappedDataKey>,
        recovery: &RecoveryCodes,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let sid = credential.staff_id.to_string();
        if let Some(key) = new_key {
            if Self::installation_key_id(&mut tx).await?.as_deref()
                != Some(key.master_key_id.as_str())
            {
                return Err(StoreError::Conflict(MASTER_KEY_ROTATED));
            }
            sqlx::query(
                "INSERT INTO data_key (owner_id, version, master_key_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(key.owner_id.to_string())
            .bind(key.version)
            .bind(&key.master_key_id)
            .bind(&key.wrapped)
            .bind(credential.updated_at_micros)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict("the account changed meanwhile; try again")
                } else {
                    backend_error(e)
                }
            })?;
        }
        sqlx::query("DELETE FROM staff_credential WHERE staff_id = $1")
            .bind(&sid)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        sqlx::query(
            "INSERT INTO staff_credential (staff_id, password_hash, password_changed_at, totp_secret, totp_confirmed_at, \
             totp_last_step, failed_attempts, locked_until, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&sid)
        .bind(credential.password_hash.as_deref())
        .bind(credential.password_changed_at_micros)
        .bind(credential.totp_secret.as_deref())
        .bind(credential.totp_confirmed_at_micros)
        .bind(credential.totp_last_step)
        .bind(credential.failed_attempts)
        .bind(credential.locked_until_micros)
        .bind(credential.updated_at_micros)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if matches!(recovery, RecoveryCodes::Replace(_) | RecoveryCodes::Clear) {
            sqlx::query("DELETE FROM recovery_code WHERE staff_id = $1")
                .bind(&sid)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        if let RecoveryCodes::Replace(hashes) = recovery {
            for h in hashes {
                sqlx::query("INSERT INTO recovery_code (staff_id, code_hash) VALUES ($1, $2)")
                    .bind(&sid)
                    .bind(h.to_vec())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
            }
        }
        append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn sign_in_throttle(
        &self,
        handle_digest: &[u8; 32],
    ) -> Result<Option<(i64, Option<i64>)>, StoreError> {
        let row = sqlx::query(
            "SELECT failed_attempts, locked_until FROM sign_in_throttle WHERE handle_digest = $1",
        )
        .bind(handle_digest.to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        row.map(|r| {
            Ok((
                r.try_get("failed_attempts").map_err(backend_error)?,
                r.try_get("locked_until").map_err(backend_error)?,
            ))
        })
        .transpose()
    }

    async fn record_unknown_failure(
        &self,
        handle_digest: &[u8; 32],
        at_micros: i64,
        lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
        audit: &AuditDraft,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO sign_in_throttle (handle_digest, failed_attempts, locked_until, updated_at) \
             VALUES ($1, 1, NULL, $2) ON CONFLICT (handle_digest) DO UPDATE \
             SET failed_attempts = sign_in_throttle.failed_attempts + 1, updated_at = $2 \
             RETURNING failed_attempts, locked_until",
        )
        .bind(handle_digest.to_vec())
        .bind(at_micros)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend_error)?;
        let lock = lock_for(&row, lock_after)?;
        if let Some(until) = lock {
            sqlx::query("UPDATE sign_in_throttle SET locked_until = $1 WHERE handle_digest = $2")
                .bind(until)
                .bind(handle_digest.to_vec())
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(lock)
    }

    async fn record_failure(
        &self,
        staff_id: Uuid,
        at_micros: i64,
        lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
        failure: &AuditDraft,
        lockout: &AuditDraft,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let sid = staff_id.to_string();
        let row = sqlx::query(
            "UPDATE staff_credential SET failed_attempts = failed_attempts + 1, updated_at = $1 \
             WHERE staff_id = $2 RETURNING failed_attempts, locked_until",
        )
        .bind(at_micros)
        .bind(&sid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_error)?;
        let lock = match &row {
            Some(row) => lock_for(row, lock_after)?,
            None => None,
        };
        if let Some(until) = lock {
            sqlx::query("UPDATE staff_credential SET locked_until = $1 WHERE staff_id = $2")
                .bind(until)
                .bind(&sid)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        append(&mut tx, if lock.is_some() { lockout } else { failure }).await?;
        commit(tx).await?;
        Ok(lock)
    }

    async fn second_factor_passed(
        &self,
        staff_id: Uuid,
        step: Option<i64>,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        let sid = staff_id.to_string();
        let change = match step {
            // The step moves strictly forward: a code whose step was used (or an earlier one) is refused.
            Some(step) => sqlx::query(
                "UPDATE staff_credential SET totp_last_step = $1, failed_attempts = 0, locked_until = NULL, \
                 updated_at = $2 WHERE staff_id = $3 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            )
            .bind(step)
            .bind(at_micros)
            .bind(sid),
            None => sqlx::query(
                "UPDATE staff_credential SET failed_attempts = 0, locked_until = NULL, updated_at = $1 \
                 WHERE staff_id = $2",
            )
            .bind(at_micros)
            .bind(sid),
        };
        change_audited(self, change, audit).await
    }

    async fn confirm_enrolment(
        &self,
        staff_id: Uuid,
        step: i64,
        at_micros: i64,
        recovery_codes: &[[u8; 32]],
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let sid = staff_id.to_string();
        let done = sqlx::query(
            "UPDATE staff_credential SET totp_confirmed_at = $1, totp_last_step = $2, failed_attempts = 0, \
             locked_until = NULL, updated_at = $1 \
             WHERE staff_id = $3 AND totp_confirmed_at IS NULL AND totp_secret IS NOT NULL",
        )
        .bind(at_micros)
        .bind(step)
        .bind(&sid)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM recovery_code WHERE staff_id = $1")
            .bind(&sid)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        for h in recovery_codes {
            sqlx::query("INSERT INTO recovery_code (staff_id, code_hash) VALUES ($1, $2)")
                .bind(&sid)
                .bind(h.to_vec())
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn use_recovery_code(
        &self,
        staff_id: Uuid,
        code_hash: &[u8; 32],
        at_micros: i64,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "UPDATE recovery_code SET used_at = $1 WHERE staff_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(at_micros)
        .bind(staff_id.to_string())
        .bind(code_hash.to_vec());
        change_audited(self, change, audit).await
    }

    async fn unused_recovery_codes(&self, staff_id: Uuid) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_code WHERE staff_id = $1 AND used_at IS NULL",
        )
        .bind(staff_id.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(backend_error)
    }

    async fn data_key(&self, owner_id: Uuid) -> Result<Option<WrappedDataKey>, StoreError> {
        sqlx::query(
            "SELECT owner_id, version, master_key_id, wrapped FROM data_key WHERE owner_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(owner_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(wrapped_key_from_row)
        .transpose()
    }

    async fn create_session(
        &self,
        session: &SessionRecord,
        replaces: Option<Uuid>,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(old) = replaces {
            // The step that replaces a session happens once: a second, concurrent completion of the
            // same sign-in finds it ended and gets nothing.
            let done = sqlx::query(
                "UPDATE staff_session SET ended_at = $1, end_reason = 'replaced' WHERE id = $2 AND ended_at IS NULL",
            )
            .bind(session.created_at_micros)
            .bind(old.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict(
                    "this sign-in step was already completed",
                ));
            }
        }
        sqlx::query(
            "INSERT INTO staff_session (id, token_hash, staff_id, stage, csrf_token, created_at, last_seen_at, \
             authenticated_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(session.id.to_string())
        .bind(session.token_hash.to_vec())
        .bind(session.staff_id.to_string())
        .bind(session.stage.code())
        .bind(&session.csrf_token)
        .bind(session.created_at_micros)
        .bind(session.last_seen_at_micros)
        .bind(session.authenticated_at_micros)
        .bind(session.expires_at_micros)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn session_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, token_hash, staff_id, stage, csrf_token, created_at, last_seen_at, authenticated_at, \
             expires_at, ended_at FROM staff_session WHERE token_hash = $1",
        )
        .bind(token_hash.to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        row.map(|r| {
            let stage: String = r.try_get("stage").map_err(backend_error)?;
            Ok(SessionRecord {
                id: id(&r, "id")?,
                token_hash: hash32(r.try_get("token_hash").map_err(backend_error)?, "token")?,
                staff_id: id(&r, "staff_id")?,
                stage: SessionStage::from_code(&stage)
                    .ok_or(StoreError::Backend("unknown session stage".to_owned()))?,
                csrf_token: r.try_get("csrf_token").map_err(backend_error)?,
                created_at_micros: r.try_get("created_at").map_err(backend_error)?,
                last_seen_at_micros: r.try_get("last_seen_at").map_err(backend_error)?,
                authenticated_at_micros: r.try_get("authenticated_at").map_err(backend_error)?,
                expires_at_micros: r.try_get("expires_at").map_err(backend_error)?,
                ended_at_micros: r.try_get("ended_at").map_err(backend_error)?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, session_id: Uuid, at_micros: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE staff_session SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1 AND ended_at IS NULL",
        )
        .bind(at_micros)
        .bind(session_id.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn reauthenticate_session(
        &self,
        session_id: Uuid,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let update = sqlx::query(
            "UPDATE staff_session SET last_seen_at = $1, authenticated_at = $1 WHERE id = $2 AND ended_at IS NULL",
        )
        .bind(at_micros)
        .bind(session_id.to_string());
        insert_audited(self, update, "conflict", audit).await
    }

    async fn end_session(
        &self,
        session_id: Uuid,
        at_micros: i64,
        reason: &'static str,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let update = sqlx::query(
            "UPDATE staff_session SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
        )
        .bind(at_micros)
        .bind(reason)
        .bind(session_id.to_string());
        insert_audited(self, update, "conflict", audit).await
    }

    async fn end_sessions_of(
        &self,
        staff_id: Uuid,
        except: Option<Uuid>,
        at_micros: i64,
        reason: &'static str,
        audit: &AuditDraft,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE staff_session SET ended_at = $1, end_reason = $2 WHERE staff_id = $3 AND ended_at IS NULL AND id <> $4",
        )
        .bind(at_micros)
        .bind(reason)
        .bind(staff_id.to_string())
        .bind(except.map(|e| e.to_string()).unwrap_or_default())
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        sqlx::query(
            "UPDATE api_token SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL",
        )
        .bind(at_micros)
        .bind(staff_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(done.rows_affected())
    }

    async fn live_sessions_of(&self, staff_id: Uuid, now_micros: i64) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM staff_session WHERE staff_id = $1 AND ended_at IS NULL AND expires_at > $2",
        )
        .bind(staff_id.to_string())
        .bind(now_micros)
        .fetch_one(&self.pool)
        .await
        .map_err(backend_error)
    }

    async fn issue_token(
        &self,
        token: &ApiTokenRecord,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO api_token (id, staff_id, token_hash, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token.id.to_string())
        .bind(token.staff_id.to_string())
        .bind(token.token_hash.to_vec())
        .bind(token.scope.code())
        .bind(token.created_at_micros)
        .bind(token.expires_at_micros);
        insert_audited(self, insert, "that token already exists", audit).await
    }

    async fn token_owner(
        &self,
        token_hash: &[u8; 32],
        now_micros: i64,
    ) -> Result<Option<(ApiTokenRecord, StaffRecord)>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS}, {STAFF_COLUMNS} FROM api_token t JOIN staff s ON s.id = t.staff_id \
             WHERE t.token_hash = $1 AND t.expires_at > $2 AND t.revoked_at IS NULL AND s.disabled_at IS NULL"
        )))
        .bind(token_hash.to_vec())
        .bind(now_micros)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        row.map(|r| Ok((token_from_row(&r)?, staff_from_row(&r)?)))
            .transpose()
    }

    async fn tokens_of(&self, staff_id: Uuid) -> Result<Vec<ApiTokenRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_token t WHERE t.staff_id = $1 ORDER BY t.created_at DESC"
        )))
        .bind(staff_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(token_from_row)
        .collect()
    }

    async fn revoke_token(
        &self,
        token_id: Uuid,
        staff_id: Uuid,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND staff_id = $3 AND revoked_at IS NULL",
        )
        .bind(at_micros)
        .bind(token_id.to_string())
        .bind(staff_id.to_string());
        change_audited(self, change, audit).await
    }

    async fn add_training(
        &self,
        record: &TrainingRecord,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO training_record (id, staff_id, kind, completed_at, expires_at, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(record.id.to_string())
        .bind(record.staff_id.to_string())
        .bind(record.kind.code())
        .bind(record.completed_at_micros)
        .bind(record.expires_at_micros)
        .bind(&record.recorded_by)
        .bind(record.recorded_at_micros);
        insert_audited(self, insert, "that record exists", audit).await
    }

    async fn training_records(
        &self,
        organisation_id: Uuid,
        staff_id: Option<Uuid>,
    ) -> Result<Vec<TrainingRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.staff_id, r.kind, r.completed_at, r.expires_at, r.recorded_by, r.recorded_at \
             FROM training_record r JOIN staff s ON s.id = r.staff_id \
             WHERE s.organisation_id = $1 AND ($2 = '' OR r.staff_id = $2) ORDER BY r.recorded_at DESC",
        )
        .bind(organisation_id.to_string())
        .bind(staff_id.map(|s| s.to_string()).unwrap_or_default())
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind").map_err(backend_error)?;
                Ok(TrainingRecord {
                    id: id(r, "id")?,
                    staff_id: id(r, "staff_id")?,
                    kind: TrainingKind::from_code(&kind)
                        .ok_or(StoreError::Backend("unknown training kind".to_owned()))?,
                    completed_at_micros: r.try_get("completed_at").map_err(backend_error)?,
                    expires_at_micros: r.try_get("expires_at").map_err(backend_error)?,
                    recorded_by: r.try_get("recorded_by").map_err(backend_error)?,
                    recorded_at_micros: r.try_get("recorded_at").map_err(backend_error)?,
                })
            })
            .collect()
    }

    async fn current_training(
        &self,
        staff_id: Uuid,
        now_micros: i64,
    ) -> Result<Vec<TrainingKind>, StoreError> {
        let codes: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT kind FROM training_record WHERE staff_id = $1 AND expires_at > $2 AND completed_at <= $2",
        )
        .bind(staff_id.to_string())
        .bind(now_micros)
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(codes
            .iter()
            .filter_map(|c| TrainingKind::from_code(c))
            .collect())
    }

    async fn create_grant(
        &self,
        grant: &GrantRecord,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        insert_audited(self, insert_grant(grant), "that grant exists", audit).await
    }

    async fn live_grants(
        &self,
        staff_id: Uuid,
        person_id: Uuid,
        now_micros: i64,
    ) -> Result<Vec<Grant>, StoreError> {
        let codes: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT kind FROM access_grant WHERE staff_id = $1 AND person_id = $2 \
             AND starts_at <= $3 AND ends_at > $3 AND revoked_at IS NULL",
        )
        .bind(staff_id.to_string())
        .bind(person_id.to_string())
        .bind(now_micros)
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(codes.iter().filter_map(|c| grant_from_code(c)).collect())
    }

    async fn grant(&self, grant_id: Uuid) -> Result<Option<GrantRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {GRANT_COLUMNS} FROM access_grant WHERE id = $1"
        )))
        .bind(grant_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(grant_from_row)
        .transpose()
    }

    async fn grants_of(
        &self,
        organisation_id: Uuid,
        kind: Grant,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {GRANT_COLUMNS} FROM access_grant WHERE organisation_id = $1 AND kind = $2 \
             AND ($3 = 0 OR review_state = 'pending') ORDER BY starts_at DESC LIMIT $4"
        )))
        .bind(organisation_id.to_string())
        .bind(kind.code())
        .bind(i64::from(pending_only))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(grant_from_row)
        .collect()
    }

    async fn review_grant(
        &self,
        grant_id: Uuid,
        state: ReviewState,
        reviewed_by: &str,
        at_micros: i64,
        note: Option<&[u8]>,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        // Escalating also ends the access at once, if it is still running.
        let change = sqlx::query(
            "UPDATE access_grant SET review_state = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4, \
             revoked_at = CASE WHEN $1 = 'escalated' AND ends_at > $3 THEN $3 ELSE revoked_at END \
             WHERE id = $5 AND review_state = 'pending'",
        )
        .bind(state.code())
        .bind(reviewed_by)
        .bind(at_micros)
        .bind(note)
        .bind(grant_id.to_string());
        change_audited(self, change, audit).await
    }

    async fn assign_person(
        &self,
        person_id: Uuid,
        team_id: Option<Uuid>,
        key_worker_id: Option<Uuid>,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        let change =
            sqlx::query("UPDATE person SET team_id = $1, key_worker_id = $2 WHERE id = $3")
                .bind(team_id.map(|t| t.to_string()))
                .bind(key_worker_id.map(|k| k.to_string()))
                .bind(person_id.to_string());
        change_audited(self, change, audit).await
    }

    async fn placement(&self, person_id: Uuid) -> Result<Option<Placement>, StoreError> {
        let row = sqlx::query(
            "SELECT p.id, p.service_id, p.team_id, p.key_worker_id, s.organisation_id, s.access_scope \
             FROM person p JOIN service s ON s.id = p.service_id WHERE p.id = $1",
        )
        .bind(person_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        row.map(|r| {
            let scope: String = r.try_get("access_scope").map_err(backend_error)?;
            Ok(Placement {
                person_id: id(&r, "id")?,
                service_id: id(&r, "service_id")?,
                organisation_id: id(&r, "organisation_id")?,
                team_id: opt_id(&r, "team_id")?,
                key_worker_id: opt_id(&r, "key_worker_id")?,
                scope: scope_from_code(&scope)?,
            })
        })
        .transpose()
    }

    async fn create_person(
        &self,
        person: &SealedPerson,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, audit).await?;
        insert_person(&mut tx, person, indexes, key).await?;
        commit(tx).await
    }

    async fn read_person(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<Option<(SealedPerson, WrappedDataKey)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PERSON_WITH_KEY} WHERE p.id = $1"
        )))
        .bind(person_id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut found = vec![person_with_key(&row)?];
        load_fields(&mut tx, &mut found, &[]).await?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(found.pop())
    }

    async fn update_person(
        &self,
        person_id: Uuid,
        fields: &[FieldChange],
        indexes: &[IndexChange],
        name_grams: Option<&[GramDigest]>,
        expected_updated_at_micros: i64,
        stamp: &ChangeStamp,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let pid = person_id.to_string();
        let row =
            sqlx::query("SELECT service_id, key_version, updated_at FROM person WHERE id = $1")
                .bind(&pid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend_error)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let stored_at: i64 = row.try_get("updated_at").map_err(backend_error)?;
        const CHANGED: &str = "the record changed meanwhile; read it again";
        if stored_at != expected_updated_at_micros {
            return Err(StoreError::Conflict(CHANGED));
        }
        let service_id = id(&row, "service_id")?;
        let key_version: i64 = row.try_get("key_version").map_err(backend_error)?;
        // The timestamp moves strictly forward, so optimistic checks cannot be fooled by a clock tie.
        // Conditional, so a concurrent change that read the same time loses (PostgreSQL reads above
        // take no lock; the row lock taken here makes the second writer re-check).
        let moved =
            sqlx::query("UPDATE person SET updated_at = $1 WHERE id = $2 AND updated_at = $3")
                .bind(stamp.at_micros.max(stored_at + 1))
                .bind(&pid)
                .bind(stored_at)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        if moved.rows_affected() == 0 {
            return Err(StoreError::Conflict(CHANGED));
        }
        for (field, value) in fields {
            keep_version(
                &mut tx,
                KEEP_PERSON_FIELD,
                &pid,
                field.code(),
                key_version,
                stamp,
            )
            .await?;
            sqlx::query("DELETE FROM person_field WHERE person_id = $1 AND field = $2")
                .bind(&pid)
                .bind(field.code())
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
            if let Some(v) = value {
                sqlx::query(
                    "INSERT INTO person_field (person_id, field, value) VALUES ($1, $2, $3)",
                )
                .bind(&pid)
                .bind(field.code())
                .bind(v)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
            }
        }
        set_indexes(&mut tx, person_id, service_id, indexes.iter().copied()).await?;
        if let Some(grams) = name_grams {
            set_name_grams(&mut tx, person_id, service_id, grams).await?;
        }
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn search_people_by_grams(
        &self,
        service_id: Uuid,
        grams: &[GramDigest],
        fields: &[PersonField],
        limit: u32,
        audit: &AuditDraft,
    ) -> Result<Vec<(SealedPerson, WrappedDataKey)>, StoreError> {
        let mut unique: Vec<&GramDigest> = grams.iter().collect();
        unique.sort_unstable();
        unique.dedup();
        let mut tx = self.begin_write().await?;
        let mut people = Vec::new();
        if !unique.is_empty() && unique.len() <= 200 {
            let placeholders: Vec<String> =
                (0..unique.len()).map(|i| format!("${}", i + 4)).collect();
            // The people holding every gram: one indexed range per gram, grouped.
            let sql = format!(
                "{PERSON_WITH_KEY} WHERE p.id IN (SELECT g.person_id FROM person_name_gram g \
                 WHERE g.service_id = $1 AND g.digest IN ({}) GROUP BY g.person_id \
                 HAVING COUNT(*) = $2) ORDER BY p.id LIMIT $3",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(service_id.to_string())
                .bind(i64::try_from(unique.len()).unwrap_or(i64::MAX))
                .bind(i64::from(limit));
            for g in &unique {
                q = q.bind(g.to_vec());
            }
            let rows = q.fetch_all(&mut *tx).await.map_err(backend_error)?;
            people = rows
                .iter()
                .map(person_with_key)
                .collect::<Result<Vec<_>, _>>()?;
            load_fields(&mut tx, &mut people, fields).await?;
        }
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(people)
    }

    async fn list_people(
        &self,
        service_id: Uuid,
        fields: &[PersonField],
        after: Option<Uuid>,
        limit: u32,
        audit: &AuditDraft,
    ) -> Result<Vec<(SealedPerson, WrappedDataKey)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PERSON_WITH_KEY} WHERE p.service_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3"
        )))
        .bind(service_id.to_string())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?;
        let mut people = rows
            .iter()
            .map(person_with_key)
            .collect::<Result<Vec<_>, _>>()?;
        load_fields(&mut tx, &mut people, fields).await?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(people)
    }

    async fn find_people(
        &self,
        service_id: Uuid,
        field: IndexField,
        digest: &[u8; 16],
        audit: &AuditDraft,
    ) -> Result<Vec<Uuid>, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT person_id FROM blind_index WHERE field = $1 AND digest = $2 AND service_id = $3 ORDER BY person_id",
        )
        .bind(field.code())
        .bind(digest.to_vec())
        .bind(service_id.to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?;
        let ids = rows
            .iter()
            .map(|r| id(r, "person_id"))
            .collect::<Result<Vec<_>, _>>()?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(ids)
    }

    async fn destroy_person_key(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let pid = person_id.to_string();
        // The audit head's lock first, as every key-touching write takes it (no deadlock with a
        // rotation); if there turns out to be nothing to destroy, the transaction is dropped.
        append(&mut tx, audit).await?;
        let gone = sqlx::query("DELETE FROM data_key WHERE owner_id = $1")
            .bind(&pid)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        if gone.rows_affected() == 0 {
            return Ok(false);
        }
        // The record's third parties and the referral it came from are part of it: their keys go
        // too. Blind indexes and name grams would still link the person to what someone already
        // knows.
        for sql in [
            "DELETE FROM data_key WHERE owner_id IN (SELECT id FROM related_person WHERE person_id = $1)",
            "DELETE FROM data_key WHERE owner_id IN (SELECT id FROM referral WHERE person_id = $1)",
            "DELETE FROM referral_index WHERE referral_id IN (SELECT id FROM referral WHERE person_id = $1)",
            "DELETE FROM blind_index WHERE person_id = $1",
            "DELETE FROM person_name_gram WHERE person_id = $1",
            // Referrals elsewhere that named this person's record no longer point at it.
            "UPDATE referral SET partner_person_id = NULL WHERE partner_person_id = $1",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&pid)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        commit(tx).await?;
        self.checkpoint_after_erasure().await;
        Ok(true)
    }

    async fn service_config(&self, service_id: Uuid) -> Result<Option<ServiceConfig>, StoreError> {
        sqlx::query(
            "SELECT service_id, field_groups, referrals, partner_service_id FROM service_config WHERE service_id = $1",
        )
        .bind(service_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(service_config_from_row)
        .transpose()
    }

    async fn set_service_config(
        &self,
        config: &ServiceConfig,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let upsert = sqlx::query(
            "INSERT INTO service_config (service_id, field_groups, referrals, partner_service_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (service_id) DO UPDATE SET \
             field_groups = excluded.field_groups, referrals = excluded.referrals, \
             partner_service_id = excluded.partner_service_id, updated_at = excluded.updated_at",
        )
        .bind(config.service_id.to_string())
        .bind(config.field_groups.codes())
        .bind(config.referrals.code())
        .bind(config.partner_service_id.map(|p| p.to_string()))
        .bind(now_micros());
        insert_audited(self, upsert, "conflict", audit).await
    }

    async fn field_history(
        &self,
        record_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<Vec<FieldVersion>, StoreError> {
        let mut tx = self.begin_write().await?;
        let versions = sqlx::query(
            "SELECT record_id, field, value, key_version, changed_by, changed_at FROM field_version \
             WHERE record_id = $1 ORDER BY seq",
        )
        .bind(record_id.to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(field_version_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(versions)
    }

    async fn add_related(
        &self,
        related: &RelatedRecord,
        fields: &SealedFields,
        key: &WrappedDataKey,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, audit).await?;
        insert_data_key(&mut tx, key, related.created_at_micros).await?;
        sqlx::query(
            "INSERT INTO related_person (id, person_id, relationship, linked_person_id, key_version, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(related.id.to_string())
        .bind(related.person_id.to_string())
        .bind(related.relationship.code())
        .bind(related.linked_person_id.map(|l| l.to_string()))
        .bind(related.key_version)
        .bind(&related.created_by)
        .bind(related.created_at_micros)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict("that related person exists")
            } else {
                backend_error(e)
            }
        })?;
        insert_fields(&mut tx, related.id, fields).await?;
        commit(tx).await
    }

    async fn related_of(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<Vec<(RelatedRecord, SealedFields, WrappedDataKey)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let pid = person_id.to_string();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{RELATED_WITH_KEY} WHERE r.person_id = $1 ORDER BY r.created_at, r.id"
        )))
        .bind(&pid)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?;
        let mut fields = grouped_fields(
            &mut tx,
            sqlx::query(
                "SELECT f.record_id, f.field, f.value FROM record_field f \
                 JOIN related_person r ON r.id = f.record_id WHERE r.person_id = $1 ORDER BY f.record_id, f.field",
            )
            .bind(&pid),
        )
        .await?;
        let related = rows
            .iter()
            .map(|row| {
                let record = related_from_row(row)?;
                let sealed = fields.remove(&record.id).unwrap_or_default();
                Ok((record, sealed, wrapped_key_from_row(row)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(related)
    }

    async fn remove_related(
        &self,
        related_id: Uuid,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let gone = sqlx::query("DELETE FROM related_person WHERE id = $1 AND person_id = $2")
            .bind(related_id.to_string())
            .bind(person_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        if gone.rows_affected() == 0 {
            return Ok(false);
        }
        // The head lock before touching data keys, as a rotation takes it before re-wrapping them.
        append(&mut tx, audit).await?;
        erase_record(&mut tx, related_id).await?;
        commit(tx).await?;
        self.checkpoint_after_erasure().await;
        Ok(true)
    }

    async fn victims_of(&self, person_id: Uuid) -> Result<Vec<Uuid>, StoreError> {
        sqlx::query(
            "SELECT DISTINCT person_id FROM related_person WHERE linked_person_id = $1 AND relationship = $2 \
             ORDER BY person_id",
        )
        .bind(person_id.to_string())
        .bind(Relationship::AllegedPerpetrator.code())
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|r| id(r, "person_id"))
        .collect()
    }

    async fn create_referral(
        &self,
        referral: &ReferralRecord,
        fields: &SealedFields,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, audit).await?;
        insert_data_key(&mut tx, key, referral.received_at_micros).await?;
        let rid = referral.id.to_string();
        sqlx::query(
            "INSERT INTO referral (id, service_id, source, partner_person_id, state, received_at, last_contact_at, \
             decided_at, person_id, case_id, key_version, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&rid)
        .bind(referral.service_id.to_string())
        .bind(referral.source.code())
        .bind(referral.partner_person_id.map(|p| p.to_string()))
        .bind(referral.state.code())
        .bind(referral.received_at_micros)
        .bind(referral.last_contact_at_micros)
        .bind(referral.decided_at_micros)
        .bind(referral.person_id.map(|p| p.to_string()))
        .bind(referral.case_id.map(|c| c.to_string()))
        .bind(referral.key_version)
        .bind(&referral.created_by)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict("that referral exists")
            } else {
                backend_error(e)
            }
        })?;
        insert_fields(&mut tx, referral.id, fields).await?;
        for (field, digest) in indexes {
            sqlx::query(
                "INSERT INTO referral_index (referral_id, service_id, field, digest) VALUES ($1, $2, $3, $4)",
            )
            .bind(&rid)
            .bind(referral.service_id.to_string())
            .bind(field.code())
            .bind(digest.to_vec())
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict("an index was given twice")
                } else {
                    backend_error(e)
                }
            })?;
        }
        let received = ChangeStamp {
            by: referral.created_by.clone(),
            at_micros: referral.received_at_micros,
        };
        insert_triage_event(&mut tx, referral.id, referral.state, &received).await?;
        commit(tx).await
    }

    async fn referral(&self, referral_id: Uuid) -> Result<Option<ReferralRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REFERRAL_COLUMNS} FROM referral r WHERE r.id = $1"
        )))
        .bind(referral_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(referral_from_row)
        .transpose()
    }

    async fn referrals(
        &self,
        service_id: Uuid,
        open_only: bool,
        fields: &[&str],
        limit: u32,
        audit: &AuditDraft,
    ) -> Result<Vec<(ReferralRecord, SealedFields, Option<WrappedDataKey>)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{REFERRAL_WITH_KEY} WHERE r.service_id = $1 AND ($2 = 0 OR r.state IN ($3, $4)) \
             ORDER BY r.received_at DESC, r.id DESC LIMIT $5"
        )))
        .bind(service_id.to_string())
        .bind(i64::from(open_only))
        .bind(TriageState::Received.code())
        .bind(TriageState::ContactAttempted.code())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?;
        let mut referrals = Vec::with_capacity(rows.len());
        for row in &rows {
            referrals.push(referral_with_fields(&mut tx, row, fields).await?);
        }
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(referrals)
    }

    async fn read_referral(
        &self,
        referral_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<Option<(ReferralRecord, SealedFields, Option<WrappedDataKey>)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{REFERRAL_WITH_KEY} WHERE r.id = $1"
        )))
        .bind(referral_id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let found = referral_with_fields(&mut tx, &row, &[]).await?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(Some(found))
    }

    async fn triage_events(&self, referral_id: Uuid) -> Result<Vec<TriageEvent>, StoreError> {
        sqlx::query(
            "SELECT referral_id, state, at, actor FROM triage_event WHERE referral_id = $1 ORDER BY seq",
        )
        .bind(referral_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|r| {
            Ok(TriageEvent {
                referral_id: id(r, "referral_id")?,
                state: coded(r, "state", TriageState::from_code, "triage state")?,
                at_micros: r.try_get("at").map_err(backend_error)?,
                actor: r.try_get("actor").map_err(backend_error)?,
            })
        })
        .collect()
    }

    async fn move_referral(
        &self,
        referral_id: Uuid,
        from: TriageState,
        to: TriageState,
        step: &ChangeStamp,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        use TriageState as T;
        // Only along an allowed step: together with `state = from` below, a decided referral can
        // never be decided again, whatever `from` the caller read.
        if !from.may_become(to) {
            return Ok(false);
        }
        let contact = (to == T::ContactAttempted).then_some(step.at_micros);
        let decided = matches!(to, T::Accepted | T::Declined | T::NoResponse | T::Withdrawn)
            .then_some(step.at_micros);
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE referral SET state = $1, last_contact_at = COALESCE($2, last_contact_at), \
             decided_at = COALESCE($3, decided_at) WHERE id = $4 AND state = $5",
        )
        .bind(to.code())
        .bind(contact)
        .bind(decided)
        .bind(referral_id.to_string())
        .bind(from.code())
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        // The head lock before touching data keys, as a rotation takes it before re-wrapping them.
        append(&mut tx, audit).await?;
        insert_triage_event(&mut tx, referral_id, to, step).await?;
        if to == T::Declined {
            // Crypto-shredding: what was received about the person goes, key and all. The row keeps
            // only ids, codes and times.
            erase_record(&mut tx, referral_id).await?;
        }
        commit(tx).await?;
        if to == T::Declined {
            self.checkpoint_after_erasure().await;
        }
        Ok(true)
    }

    async fn accept_referral(
        &self,
        referral_id: Uuid,
        from: TriageState,
        person: &SealedPerson,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        case: &CaseRecord,
        step: &ChangeStamp,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        // Only from an open state: `state = from` alone would let a caller that read the referral
        // after another accepted it "move" accepted to accepted and create a second person.
        if !from.may_become(TriageState::Accepted) {
            return Ok(false);
        }
        let mut tx = self.begin_write().await?;
        let rid = referral_id.to_string();
        let moved = sqlx::query(
            "UPDATE referral SET state = $1, decided_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(TriageState::Accepted.code())
        .bind(step.at_micros)
        .bind(&rid)
        .bind(from.code())
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        append(&mut tx, audit).await?;
        insert_person(&mut tx, person, indexes, key).await?;
        insert_case(&mut tx, case).await?;
        // Only now that both exist (the references are checked at once).
        sqlx::query("UPDATE referral SET person_id = $1, case_id = $2 WHERE id = $3")
            .bind(person.id.to_string())
            .bind(case.id.to_string())
            .bind(&rid)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        insert_triage_event(&mut tx, referral_id, TriageState::Accepted, step).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn duplicate_candidates(
        &self,
        service_id: Uuid,
        digests: &[(IndexField, [u8; 16])],
        except: Option<Uuid>,
    ) -> Result<(Vec<Uuid>, Vec<Uuid>), StoreError> {
        let sid = service_id.to_string();
        let except = except.map(|e| e.to_string()).unwrap_or_default();
        let mut people = BTreeSet::new();
        let mut referrals = BTreeSet::new();
        for (field, digest) in digests {
            let rows = sqlx::query(
                "SELECT person_id FROM blind_index WHERE field = $1 AND digest = $2 AND service_id = $3",
            )
            .bind(field.code())
            .bind(digest.to_vec())
            .bind(&sid)
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?;
            for row in &rows {
                people.insert(id(row, "person_id")?);
            }
            let rows = sqlx::query(
                "SELECT i.referral_id FROM referral_index i JOIN referral r ON r.id = i.referral_id \
                 WHERE i.field = $1 AND i.digest = $2 AND i.service_id = $3 AND i.referral_id <> $4 \
                 AND r.state IN ($5, $6)",
            )
            .bind(field.code())
            .bind(digest.to_vec())
            .bind(&sid)
            .bind(&except)
            .bind(TriageState::Received.code())
            .bind(TriageState::ContactAttempted.code())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?;
            for row in &rows {
                referrals.insert(id(row, "referral_id")?);
            }
        }
        Ok((
            people.into_iter().collect(),
            referrals.into_iter().collect(),
        ))
    }

    async fn open_case(&self, case: &CaseRecord, audit: &AuditDraft) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_case(&mut tx, case).await?;
        append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn close_case(
        &self,
        case_id: Uuid,
        reason: ClosureReason,
        step: &ChangeStamp,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "UPDATE case_episode SET closed_at = $1, closed_by = $2, closure_reason = $3 \
             WHERE id = $4 AND closed_at IS NULL",
        )
        .bind(step.at_micros)
        .bind(&step.by)
        .bind(reason.code())
        .bind(case_id.to_string());
        change_audited(self, change, audit).await
    }

    async fn case(&self, case_id: Uuid) -> Result<Option<CaseRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM case_episode WHERE id = $1"
        )))
        .bind(case_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(case_from_row)
        .transpose()
    }

    async fn cases_of(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        let mut tx = self.begin_write().await?;
        let cases = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM case_episode WHERE person_id = $1 ORDER BY opened_at DESC, id DESC"
        )))
        .bind(person_id.to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(case_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(cases)
    }

    async fn create_entry(
        &self,
        entry: &EntryRecord,
        fields: &SealedFields,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO record_entry (id, person_id, kind, case_id, parent_id, contact_type, occurs_at, status, due_at, \
             third_party, identifies_complainant, serious_harm, author, key_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(entry.id.to_string())
        .bind(entry.person_id.to_string())
        .bind(entry.kind.code())
        .bind(entry.case_id.map(|c| c.to_string()))
        .bind(entry.parent_id.map(|p| p.to_string()))
        .bind(entry.contact_type.map(ContactType::code))
        .bind(entry.occurs_at_micros)
        .bind(entry.status.map(EntryStatus::code))
        .bind(entry.due_at_micros)
        .bind(i64::from(entry.flags.third_party))
        .bind(i64::from(entry.flags.identifies_complainant))
        .bind(i64::from(entry.flags.serious_harm))
        .bind(&entry.author)
        .bind(entry.key_version)
        .bind(entry.created_at_micros)
        .bind(entry.updated_at_micros)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict("that entry exists")
            } else {
                backend_error(e)
            }
        })?;
        insert_fields(&mut tx, entry.id, fields).await?;
        append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn update_entry(
        &self,
        entry_id: Uuid,
        status: Option<EntryStatus>,
        due_at_micros: Option<i64>,
        fields: &[SealedChange],
        expected_updated_at_micros: i64,
        stamp: &ChangeStamp,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        const CHANGED: &str = "the entry changed meanwhile; read it again";
        let mut tx = self.begin_write().await?;
        let eid = entry_id.to_string();
        let row = sqlx::query("SELECT key_version, updated_at FROM record_entry WHERE id = $1")
            .bind(&eid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend_error)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let stored_at: i64 = row.try_get("updated_at").map_err(backend_error)?;
        if stored_at != expected_updated_at_micros {
            return Err(StoreError::Conflict(CHANGED));
        }
        let key_version: i64 = row.try_get("key_version").map_err(backend_error)?;
        // Conditional on the time read, so a concurrent change that read the same time loses; the
        // time moves strictly forward, so a clock tie cannot fool the check.
        let moved = sqlx::query(
            "UPDATE record_entry SET status = COALESCE($1, status), due_at = COALESCE($2, due_at), \
             updated_at = $3 WHERE id = $4 AND updated_at = $5",
        )
        .bind(status.map(EntryStatus::code))
        .bind(due_at_micros)
        .bind(stamp.at_micros.max(stored_at + 1))
        .bind(&eid)
        .bind(stored_at)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if moved.rows_affected() == 0 {
            return Err(StoreError::Conflict(CHANGED));
        }
        for (field, value) in fields {
            keep_version(&mut tx, KEEP_RECORD_FIELD, &eid, field, key_version, stamp).await?;
            sqlx::query("DELETE FROM record_field WHERE record_id = $1 AND field = $2")
                .bind(&eid)
                .bind(field)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
            if let Some(v) = value {
                sqlx::query(
                    "INSERT INTO record_field (record_id, field, value) VALUES ($1, $2, $3)",
                )
                .bind(&eid)
                .bind(field)
                .bind(v)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
            }
        }
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn entries_of(
        &self,
        person_id: Uuid,
        kinds: &[RecordKind],
        audit: &AuditDraft,
    ) -> Result<Vec<(EntryRecord, SealedFields)>, StoreError> {
        // The kinds as an IN list of parameters after the person ($1); no list means every kind.
        let only = if kinds.is_empty() {
            String::new()
        } else {
            format!(" AND e.kind IN ({})", placeholders(2, kinds.len()))
        };
        let pid = person_id.to_string();
        let mut tx = self.begin_write().await?;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM record_entry e WHERE e.person_id = $1{only} \
             ORDER BY e.occurs_at DESC, e.created_at DESC, e.id DESC"
        )))
        .bind(pid.clone());
        for kind in kinds {
            query = query.bind(kind.code());
        }
        let rows = query.fetch_all(&mut *tx).await.map_err(backend_error)?;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT f.record_id, f.field, f.value FROM record_field f JOIN record_entry e ON e.id = f.record_id \
             WHERE e.person_id = $1{only} ORDER BY f.record_id, f.field"
        )))
        .bind(pid);
        for kind in kinds {
            query = query.bind(kind.code());
        }
        let mut fields = grouped_fields(&mut tx, query).await?;
        let entries = rows
            .iter()
            .map(|row| {
                let entry = entry_from_row(row)?;
                let sealed = fields.remove(&entry.id).unwrap_or_default();
                Ok((entry, sealed))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(entries)
    }

    async fn paper_register(
        &self,
        service_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<Vec<EntryRecord>, StoreError> {
        let mut tx = self.begin_write().await?;
        let register = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM record_entry e JOIN person p ON p.id = e.person_id \
             WHERE p.service_id = $1 AND e.kind IN ($2, $3) AND (e.status IS NULL OR e.status <> $4) \
             ORDER BY CASE WHEN e.due_at IS NULL THEN 1 ELSE 0 END, e.due_at, e.occurs_at, e.id"
        )))
        .bind(service_id.to_string())
        .bind(RecordKind::PaperNote.code())
        .bind(RecordKind::PaperFile.code())
        .bind(EntryStatus::Destroyed.code())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(entry_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(register)
    }

    async fn add_document(
        &self,
        document: &DocumentRecord,
        content: &[u8],
        fields: &SealedFields,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if document.is_photo {
            // A person has one photo: the new one replaces the old, fields and all.
            let pid = document.person_id.to_string();
            for sql in [
                "DELETE FROM record_field WHERE record_id IN \
                 (SELECT id FROM document WHERE person_id = $1 AND is_photo = 1)",
                "DELETE FROM document WHERE person_id = $1 AND is_photo = 1",
            ] {
                sqlx::query(sql)
                    .bind(&pid)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
            }
        }
        sqlx::query(
            "INSERT INTO document (id, person_id, media_type, size_bytes, is_photo, key_version, uploaded_by, \
             created_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(document.id.to_string())
        .bind(document.person_id.to_string())
        .bind(&document.media_type)
        .bind(document.size_bytes)
        .bind(i64::from(document.is_photo))
        .bind(document.key_version)
        .bind(&document.uploaded_by)
        .bind(document.created_at_micros)
        .bind(content)
        .execute(&mut *tx)
        .await
        .map_err(|e| match is_unique_violation(&e) {
            // Two photos uploaded at once: the index keeps one per person.
            true if document.is_photo => {
                StoreError::Conflict("the photo changed meanwhile; try again")
            }
            true => StoreError::Conflict("that document exists"),
            false => backend_error(e),
        })?;
        insert_fields(&mut tx, document.id, fields).await?;
        append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn documents_of(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<Vec<(DocumentRecord, SealedFields)>, StoreError> {
        let pid = person_id.to_string();
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DOCUMENT_COLUMNS} FROM document d WHERE d.person_id = $1 ORDER BY d.created_at DESC, d.id DESC"
        )))
        .bind(&pid)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?;
        let mut fields = grouped_fields(
            &mut tx,
            sqlx::query(
                "SELECT f.record_id, f.field, f.value FROM record_field f JOIN document d ON d.id = f.record_id \
                 WHERE d.person_id = $1 ORDER BY f.record_id, f.field",
            )
            .bind(&pid),
        )
        .await?;
        let documents = rows
            .iter()
            .map(|row| {
                let document = document_from_row(row)?;
                let sealed = fields.remove(&document.id).unwrap_or_default();
                Ok((document, sealed))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(documents)
    }

    async fn read_document(
        &self,
        document_id: Uuid,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<Option<(DocumentRecord, Vec<u8>)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DOCUMENT_COLUMNS}, d.content FROM document d WHERE d.id = $1 AND d.person_id = $2"
        )))
        .bind(document_id.to_string())
        .bind(person_id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let found = (
            document_from_row(&row)?,
            row.try_get("content").map_err(backend_error)?,
        );
        append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(Some(found))
    }

    async fn set_contact_preferences(
        &self,
        preferences: &ContactPreferenceRecord,
        fields: &SealedFields,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        contact::set_preferences(self, preferences, fields, audit).await
    }

    async fn contact_preferences(
        &self,
        person_id: Uuid,
    ) -> Result<Option<ContactPreferenceRecord>, StoreError> {
        contact::current_preferences(self, person_id).await
    }

    async fn contact_preference_history(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<Vec<(ContactPreferenceRecord, SealedFields)>, StoreError> {
        contact::preference_history(self, person_id, audit).await
    }

    async fn queue_message(
        &self,
        message: &MessageRecord,
        fields: &SealedFields,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        contact::queue_message(self, message, fields, audit).await
    }

    async fn messages_of(
        &self,
        person_id: Uuid,
        audit: &AuditDraft,
    ) -> Result<Vec<(MessageRecord, Vec<AttemptRecord>)>, StoreError> {
        contact::messages_of(self, person_id, audit).await
    }

    async fn due_messages(
        &self,
        now_micros: i64,
        texts_sendable: bool,
        limit: u32,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        contact::due_messages(self, now_micros, texts_sendable, limit).await
    }

    async fn claim_message(
        &self,
        message_id: Uuid,
        expected_attempts: i64,
        now_micros: i64,
        lease_until_micros: i64,
    ) -> Result<Option<SealedFields>, StoreError> {
        contact::claim_message(
            self,
            message_id,
            expected_attempts,
            now_micros,
            lease_until_micros,
        )
        .await
    }

    async fn record_attempt(
        &self,
        attempt: &AttemptRecord,
        state: MessageState,
        attempts: i64,
        next_attempt_at_micros: Option<i64>,
        finished_at_micros: Option<i64>,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        contact::record_attempt(
            self,
            attempt,
            state,
            attempts,
            next_attempt_at_micros,
            finished_at_micros,
            audit,
        )
        .await
    }

    async fn notice_versions(&self, service_code: &str) -> Result<Vec<NoticeVersion>, StoreError> {
        sqlx::query(
            "SELECT service_code, version, digest, markdown, published_at FROM notice_version \
             WHERE service_code = $1 ORDER BY version DESC",
        )
        .bind(service_code)
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|row| {
            Ok(NoticeVersion {
                service_code: row.try_get("service_code").map_err(backend_error)?,
                version: row.try_get("version").map_err(backend_error)?,
                digest: row.try_get("digest").map_err(backend_error)?,
                markdown: row.try_get("markdown").map_err(backend_error)?,
                published_at_micros: row.try_get("published_at").map_err(backend_error)?,
            })
        })
        .collect()
    }

    async fn publish_notice(
        &self,
        version: &NoticeVersion,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO notice_version (service_code, version, digest, markdown, published_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&version.service_code)
        .bind(version.version)
        .bind(&version.digest)
        .bind(&version.markdown)
        .bind(version.published_at_micros);
        insert_audited(
            self,
            insert,
            "that notice version is already published",
            audit,
        )
        .await
    }

    async fn people_ids_of_service(&self, service_id: Uuid) -> Result<Vec<Uuid>, StoreError> {
        sqlx::query("SELECT id FROM person WHERE service_id = $1 ORDER BY id")
            .bind(service_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?
            .iter()
            .map(|row| id(row, "id"))
            .collect()
    }

    async fn append_audit(&self, audit: &AuditDraft) -> Result<AuditEvent, StoreError> {
        let mut tx = self.begin_write().await?;
        let event = append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(event)
    }

    async fn audit_events(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        sqlx::query(
            "SELECT seq, at, actor, action, resource_type, resource_id, subject_id, purpose, outcome, prev_hash, hash \
             FROM audit_event WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(from_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(event_from_row)
        .collect()
    }

    async fn audit_head(&self) -> Result<Option<Checkpoint>, StoreError> {
        match self.recorded_audit_head().await? {
            RecordedHead::Missing => Err(StoreError::Backend(HEAD_MISSING.to_owned())),
            RecordedHead::Empty => Ok(None),
            RecordedHead::At(head) => Ok(Some(head)),
        }
    }

    async fn recorded_audit_head(&self) -> Result<RecordedHead, StoreError> {
        let Some(row) = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?
        else {
            return Ok(RecordedHead::Missing);
        };
        let seq: i64 = row.try_get("seq").map_err(backend_error)?;
        if seq == 0 {
            return Ok(RecordedHead::Empty);
        }
        let hash: Vec<u8> = row.try_get("hash").map_err(backend_error)?;
        // A hash of the wrong length is a rewritten head, not a database failure: name it as one that
        // matches no event.
        let hash = <[u8; 32]>::try_from(hash.as_slice()).unwrap_or([0xff; 32]);
        Ok(RecordedHead::At(Checkpoint { seq, hash }))
    }

    async fn audit_events_for_subject(
        &self,
        subject_id: Uuid,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        sqlx::query(
            "SELECT seq, at, actor, action, resource_type, resource_id, subject_id, purpose, outcome, prev_hash, hash \
             FROM audit_event WHERE subject_id = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(subject_id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(event_from_row)
        .collect()
    }

    // --- sharing (see sharing.rs) ---
    async fn save_recipient(
        &self,
        recipient: &RecipientRecord,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::save_recipient(self, recipient, audit).await
    }

    async fn recipient(&self, id: Uuid) -> Result<Option<RecipientRecord>, StoreError> {
        sharing::recipient(self, id).await
    }

    async fn recipients(&self, organisation_id: Uuid) -> Result<Vec<RecipientRecord>, StoreError> {
        sharing::recipients(self, organisation_id).await
    }

    async fn set_staff_recipient(
        &self,
        staff_id: Uuid,
        recipient_id: Option<Uuid>,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::set_staff_recipient(self, staff_id, recipient_id, audit).await
    }

    async fn staff_recipient(&self, staff_id: Uuid) -> Result<Option<Uuid>, StoreError> {
        sharing::staff_recipient(self, staff_id).await
    }

    async fn add_consent_purpose(
        &self,
        purpose: &ConsentPurposeRecord,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::add_consent_purpose(self, purpose, audit).await
    }

    async fn consent_purposes(
        &self,
        service_id: Uuid,
    ) -> Result<Vec<ConsentPurposeRecord>, StoreError> {
        sharing::consent_purposes(self, service_id).await
    }

    async fn add_consent(
        &self,
        consent: &ConsentRecord,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::add_consent(self, consent, audit).await
    }

    async fn consents_of(&self, person_id: Uuid) -> Result<Vec<ConsentRecord>, StoreError> {
        sharing::consents_of(self, person_id).await
    }

    async fn add_restriction(
        &self,
        restriction: &RestrictionRecord,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::add_restriction(self, restriction, audit).await
    }

    async fn lift_restriction(
        &self,
        id: Uuid,
        person_id: Uuid,
        lifted_by: &str,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        sharing::lift_restriction(self, id, person_id, lifted_by, at_micros, audit).await
    }

    async fn restrictions_of(&self, person_id: Uuid) -> Result<Vec<RestrictionRecord>, StoreError> {
        sharing::restrictions_of(self, person_id).await
    }

    async fn create_approval(
        &self,
        approval: &ApprovalRecord,
        justification: &SealedFields,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::create_approval(self, approval, justification, audit).await
    }

    async fn decide_approval(
        &self,
        id: Uuid,
        person_id: Uuid,
        state: ApprovalState,
        decided_by: &str,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        sharing::decide_approval(self, id, person_id, state, decided_by, at_micros, audit).await
    }

    async fn approval(
        &self,
        id: Uuid,
    ) -> Result<Option<(ApprovalRecord, SealedFields)>, StoreError> {
        sharing::approval(self, id).await
    }

    async fn approvals_of(&self, person_id: Uuid) -> Result<Vec<ApprovalRecord>, StoreError> {
        sharing::approvals_of(self, person_id).await
    }

    async fn record_disclosure(
        &self,
        expected: confidant_core::store::SharingState,
        disclosure: &DisclosureRecord,
        items: &[DisclosedItem],
        sealed: &SealedFields,
        grant: Option<&GrantRecord>,
        audit: &AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::record_disclosure(self, expected, disclosure, items, sealed, grant, audit).await
    }

    async fn disclosures_of(&self, person_id: Uuid) -> Result<Vec<DisclosureRecord>, StoreError> {
        sharing::disclosures_of(self, person_id).await
    }

    async fn disclosures_to(
        &self,
        recipient_id: Uuid,
    ) -> Result<Vec<DisclosureRecord>, StoreError> {
        sharing::disclosures_to(self, recipient_id).await
    }

    async fn disclosures_to_review(
        &self,
        organisation_id: Uuid,
    ) -> Result<Vec<DisclosureRecord>, StoreError> {
        sharing::disclosures_to_review(self, organisation_id).await
    }

    async fn disclosure(
        &self,
        id: Uuid,
    ) -> Result<Option<(DisclosureRecord, Vec<DisclosedItem>, SealedFields)>, StoreError> {
        sharing::disclosure(self, id).await
    }

    async fn end_disclosure(
        &self,
        id: Uuid,
        person_id: Uuid,
        at_micros: i64,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        sharing::end_disclosure(self, id, person_id, at_micros, audit).await
    }

    async fn review_disclosure(
        &self,
        id: Uuid,
        state: ReviewState,
        reviewed_by: &str,
        audit: &AuditDraft,
    ) -> Result<bool, StoreError> {
        sharing::review_disclosure(self, id, state, reviewed_by, audit).await
    }

    async fn entry_flags(
        &self,
        person_id: Uuid,
        kinds: &[RecordKind],
    ) -> Result<Vec<(Uuid, bool)>, StoreError> {
        sharing::entry_flags(self, person_id, kinds).await
    }

    async fn recipients_of(
        &self,
        person_id: Uuid,
        fields: &[&str],
    ) -> Result<Vec<Uuid>, StoreError> {
        sharing::recipients_of(self, person_id, fields).await
    }
}

/// Connection-level helpers the CLI needs beyond the port.
impl SqlStore {
    /// Closes and reopens nothing; exposes whether a connection can be made at all (used by `migrate`).
    pub async fn connection_ok(&self) -> bool {
        match self.pool.acquire().await {
            Ok(mut c) => c.ping().await.is_ok(),
            Err(_) => false,
        }
    }
}
