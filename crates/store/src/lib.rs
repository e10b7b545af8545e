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

use confidant_core::access::PersonAccess;
use confidant_core::audit::{AuditDraft, AuditEvent, Checkpoint, RecordedHead, seal_event};
use confidant_core::field::{FieldGroups, IndexField, PersonField, RecordKind};
use confidant_core::name_index::GramDigest;
use confidant_core::store::NoticeVersion;
use confidant_core::store::{
    AccountStore, AuditStore, ContactStore, GrantStore, KeyStore, NoticeStore, PersonStore,
    RecordStore, ReferralStore, SharingStore, StaffStore,
};
use confidant_core::store::{
    ApiTokenRecord, CaseRecord, CaseReopening, ChangeStamp, ClosureReason, ContactType,
    CorrectionReason, Credential, DocumentRecord, EntryError, EntryRecord, EntryStatus,
    ErrorReason, FieldChange, FieldVersion, GrantRecord, IndexChange, InstallationKeys, NoteFlags,
    Organisation, Placement, RecoveryCodes, ReferralPolicy, ReferralRecord, ReferralSource,
    RelatedRecord, Relationship, ReopenReason, ReviewState, SealedChange, SealedFields,
    SealedPerson, Service, ServiceConfig, SessionRecord, SessionRow, SessionStage, StaffDetails,
    StaffRecord, StoreError, Team, TokenScope, TrainingKind, TrainingRecord, TriageEvent,
    TriageState, WrappedDataKey,
};
use confidant_core::{AccessScope, Grant, Role};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Connection, Executor, Row, SqlSafeStr, Transaction};
use uuid::Uuid;

mod account;
mod audit;
mod bundle;
mod caseload;
mod columns;
mod contact;
mod erasure;
mod grant;
mod keeping;
mod keys;
mod ledger;
mod merge;
mod migrate;
mod notice;
mod overview;
mod paper;
mod person;
mod query_hold;
mod record;
mod referral;
mod retention;
mod rights;
mod row;
mod sharing;
mod staff;
mod task;
mod tx;
mod vault;
mod versions;

use columns::*;
pub use erasure::Reconciled;
pub use ledger::{Erasure, ErasureKind, ErasureLedger, LedgerError};
use migrate::*;
use row::*;
use tx::*;
use vault::KeyVault;
pub use vault::key_store_url;
use versions::*;

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

/// Options for [`SqlStore::connect`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    /// Create the SQLite file if it does not exist (only `init`, `demo` and tests should).
    pub create_if_missing: bool,
    /// How long a batch of audit events may take to commit before its requests are refused as
    /// unavailable (the database locked or gone): nothing is answered without its event.
    pub audit_deadline: std::time::Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            create_if_missing: false,
            audit_deadline: std::time::Duration::from_secs(10),
        }
    }
}

/// The store on one database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// The group-commit audit writer's own connection (`audit/writer.rs`).
    writer_pool: AnyPool,
    backend: Backend,
    writer: audit::AuditWriter,
    /// The wrapped data keys, in a database of their own (`vault.rs`).
    vault: KeyVault,
    /// The installation's erasure ledger, once it is opened (`erasure.rs`).
    ledger: std::sync::Arc<std::sync::OnceLock<ErasureLedger>>,
}

static DRIVERS: Once = Once::new();

/// The URL of a SQLite database file.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

impl confidant_core::store::Closing for SqlStore {
    async fn close(&self) {
        self.close().await;
    }
}

/// How long a SQLite connection waits for the write lock before it answers busy (requests'
/// connections; the audit writer's waits only as long as its deadline).
const BUSY_TIMEOUT_MS: u64 = 30_000;

/// A pool's options: SQLite's pragmas with `busy_ms` as the busy timeout; on PostgreSQL, no JIT
/// compilation (short queries only: compiling a plan whose estimated cost is high, as the
/// retention sweep's correlated look-ups are, cost it half a second a page), and lock and
/// statement time limits of `pg_limit_ms` where given.
fn pool_options(
    backend: Backend,
    max_connections: u32,
    busy_ms: u64,
    pg_limit_ms: Option<u64>,
) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                match (backend, pg_limit_ms) {
                    (Backend::Sqlite, _) => {
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; \
                             PRAGMA busy_timeout = {busy_ms};"
                        )))
                        .await?;
                    }
                    (Backend::Postgres, Some(ms)) => {
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "SET jit = off; SET lock_timeout = {ms}; SET statement_timeout = {ms};"
                        )))
                        .await?;
                    }
                    (Backend::Postgres, None) => {
                        conn.execute("SET jit = off").await?;
                    }
                }
                Ok(())
            })
        })
}

impl SqlStore {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`).
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let data_url = url;
        let backend = Backend::from_url(url).ok_or(StoreError::Backend(
            "the database URL must start with sqlite:// or postgres://".to_owned(),
        ))?;
        let url = match backend {
            Backend::Sqlite if options.create_if_missing => format!("{url}?mode=rwc"),
            Backend::Sqlite => format!("{url}?mode=rw"),
            Backend::Postgres => url.to_owned(),
        };
        let connect = AnyConnectOptions::from_str(&url).db()?;
        let pool = pool_options(
            backend,
            match backend {
                Backend::Sqlite => options.max_connections.min(4),
                Backend::Postgres => options.max_connections,
            },
            BUSY_TIMEOUT_MS,
            None,
        )
        .connect_with(connect.clone())
        .await
        .db()?;
        // The audit writer has a connection of its own, so requests never wait behind it for one,
        // and its own time limits, so a batch that cannot commit in time gives up in the database
        // too (a lock wait, a busy file) instead of holding a connection after its callers have
        // been refused.
        // At least 1 ms (0 means "no limit" to PostgreSQL) and within its 32-bit setting.
        let deadline_ms = u64::try_from(options.audit_deadline.as_millis())
            .unwrap_or(u64::MAX)
            .clamp(1, i32::MAX as u64);
        // No ping before each batch: a batch that fails reports its own error.
        let writer_pool = pool_options(backend, 1, deadline_ms, Some(deadline_ms))
            .test_before_acquire(false)
            .connect_lazy_with(connect);
        let vault = KeyVault::open(data_url, backend).await?;
        Ok(Self {
            pool,
            writer_pool,
            backend,
            writer: audit::AuditWriter::new(options.audit_deadline),
            vault,
            ledger: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every migration not yet applied.
    /// An installation from before the key store has its keys copied there first (`erasure.rs`);
    /// keys retired and not yet removed from the key store are removed after.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let moved = self.move_keys_to_vault().await?;
        migrator(self.backend)
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        if moved {
            // The dropped column's pages leave SQLite's WAL too (on PostgreSQL: VACUUM FULL, by hand).
            self.checkpoint_wal().await?;
        }
        self.settle_retired_keys().await
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
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&self.pool).await.db()?;
        Ok(n > 0)
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .db()
    }

    /// After an erasure on SQLite: copies the WAL back into the main file and truncates it, so the
    /// pages that held the erased values (overwritten there, as `secure_delete` is on) do not
    /// linger in the WAL. Best effort: a reader holding an old snapshot can keep frames alive until
    /// the next checkpoint, so a failure is logged, not returned (the erasure itself committed).
    async fn checkpoint_after_erasure(&self) {
        if let Err(e) = self.settle_erasure().await {
            tracing::warn!(error = %e, "an erasure's keys or ledger entry not yet settled; the next start settles them");
        }
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
                .db()?;
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.writer_pool.close().await;
        self.pool.close().await;
        self.vault.close().await;
    }

    /// A writing transaction. On SQLite the write lock is taken at `BEGIN`, so two writers wait for
    /// each other (busy timeout) instead of one failing when it upgrades a read lock.
    /// In a request, the reads it recorded so far are appended first (`audit/scope.rs`).
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.flush_reads_before_change().await?;
        begin_write(&self.pool, self.backend).await
    }

    /// A reading transaction: one snapshot for the reads of one answer. It never takes SQLite's
    /// write lock (WAL readers run beside the writer); the access it is for is recorded with
    /// [`AuditStore::record_access`] once it ends, before anything read is answered.
    async fn begin_read(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.pool.begin().await.db()
    }

    /// A reading transaction whose statements all see one snapshot: on PostgreSQL, where a plain
    /// `BEGIN` gives each statement its own (read committed), a read-only repeatable-read one.
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.pool.begin().await,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
            }
        }
        .db()
    }

    async fn installation_key_id(
        tx: &mut Transaction<'static, Any>,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT master_key_id FROM installation WHERE id = 1")
            .fetch_optional(&mut **tx)
            .await
            .db()
    }
}

/// A writing transaction on `pool`. On SQLite the write lock is taken at `BEGIN`, so two writers
/// wait for each other (busy timeout) instead of one failing when it upgrades a read lock.
async fn begin_write(
    pool: &AnyPool,
    backend: Backend,
) -> Result<Transaction<'static, Any>, StoreError> {
    match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => pool.begin().await,
    }
    .db()
}

/// The insert of an access grant (break the glass, a trustee's matter, a processor's referral).
fn insert_grant(grant: &GrantRecord) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments> {
    sqlx::query(
        "INSERT INTO access_grant (id, kind, staff_id, person_id, organisation_id, reason, granted_by, starts_at, \
         ends_at, review_state, matter, parts, flagged_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
    .bind(grant.matter.as_deref())
    .bind(grant.parts.join(","))
    .bind(grant.flagged_reason.as_deref())
}

/// The lock a failure count calls for, never shorter than one already in force (`row` holds
/// `failed_attempts` and `locked_until`).
fn lock_for(
    row: &AnyRow,
    lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
) -> Result<Option<i64>, StoreError> {
    let failed: i64 = row.col("failed_attempts")?;
    let current: Option<i64> = row.col("locked_until")?;
    Ok(lock_after(failed).map(|until| current.map_or(until, |c| c.max(until))))
}

/// Loads the sealed fields of a set of people, keeping only `fields` (all when empty).
async fn load_fields(
    tx: &mut Transaction<'static, Any>,
    people: &mut [(SealedPerson, WrappedDataKey)],
    fields: &[PersonField],
) -> Result<(), StoreError> {
    /// People per statement: one round trip for a page or a search's candidates, well within both
    /// backends' parameter limits.
    const PEOPLE_PER_READ: usize = 500;
    let at: HashMap<Uuid, usize> = people
        .iter()
        .enumerate()
        .map(|(i, (person, _))| (person.id, i))
        .collect();
    let ids: Vec<String> = people.iter().map(|(p, _)| p.id.to_string()).collect();
    for chunk in ids.chunks(PEOPLE_PER_READ) {
        let sql = format!(
            "SELECT person_id, field, value FROM person_field WHERE person_id IN ({}){} \
             ORDER BY person_id, field",
            placeholders(1, chunk.len()),
            // Only the fields asked for are read (an empty list: all of them).
            if fields.is_empty() {
                String::new()
            } else {
                format!(
                    " AND field IN ({})",
                    placeholders(chunk.len() + 1, fields.len())
                )
            }
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id.as_str());
        }
        for field in fields {
            query = query.bind(field.code());
        }
        for row in query.fetch_all(&mut **tx).await.db()? {
            let code: String = row.col("field")?;
            let field = PersonField::from_code(&code).ok_or(StoreError::Backend(
                "unknown field code in person_field".to_owned(),
            ))?;
            let person = at.get(&id(&row, "person_id")?).ok_or(StoreError::Backend(
                "a field of a person not asked for".to_owned(),
            ))?;
            people[*person].0.fields.push((field, row.col("value")?));
        }
    }
    Ok(())
}

const PERSON_WITH_KEY: &str = "SELECT p.id, p.service_id, p.team_id, p.key_worker_id, p.key_version, p.record_number, p.created_at, p.updated_at, \
     k.owner_id, k.version, k.master_key_id \
     FROM person p JOIN data_key k ON k.owner_id = p.id AND k.version = p.key_version";

fn person_with_key(row: &AnyRow) -> Result<(SealedPerson, WrappedDataKey), StoreError> {
    Ok((
        SealedPerson {
            id: id(row, "id")?,
            service_id: id(row, "service_id")?,
            team_id: opt_id(row, "team_id")?,
            key_worker_id: opt_id(row, "key_worker_id")?,
            key_version: row.col("key_version")?,
            record_number: row.col("record_number")?,
            fields: Vec::new(),
            name_grams: Vec::new(),
            created_at_micros: row.col("created_at")?,
            updated_at_micros: row.col("updated_at")?,
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
            .db()?;
        if let Some(d) = digest {
            sqlx::query("INSERT INTO blind_index (person_id, service_id, field, digest) VALUES ($1, $2, $3, $4)")
                .bind(person_id.to_string())
                .bind(service_id.to_string())
                .bind(field.code())
                .bind(d.to_vec())
                .execute(&mut **tx)
                .await
                .db()?;
        }
    }
    Ok(())
}

const KEY_TAKEN: &str = "the record changed meanwhile; try again";

const MASTER_KEY_ROTATED: &str =
    "the master key was rotated since this process started; restart it with the new key";

/// Inserts a data key, only while the installation's master key is the one that wrapped it. The
/// caller appends its audit event first: that takes the head lock, so no rotation (and no other
/// writer of this key) can slip in between these checks and the commit.
///
/// The key itself goes to the key store first (`vault.rs`): a committed registry row always has it.
async fn insert_data_key(
    tx: &mut Transaction<'static, Any>,
    vault: &KeyVault,
    key: &WrappedDataKey,
    created_at_micros: i64,
) -> Result<(), StoreError> {
    if SqlStore::installation_key_id(tx).await?.as_deref() != Some(key.master_key_id.as_str()) {
        return Err(StoreError::Conflict(MASTER_KEY_ROTATED));
    }
    // The caller holds the writers' lock (the audit head), so no other writer can register this
    // owner and version between this check and the commit: replacing a stored key of theirs here
    // can only replace one whose registry row never committed.
    let taken: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM data_key WHERE owner_id = $1 AND version = $2")
            .bind(key.owner_id.to_string())
            .bind(key.version)
            .fetch_one(&mut **tx)
            .await
            .db()?;
    if taken > 0 {
        return Err(StoreError::Conflict(KEY_TAKEN));
    }
    vault.put(&[key]).await?;
    sqlx::query(
        "INSERT INTO data_key (owner_id, version, master_key_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(key.owner_id.to_string())
    .bind(key.version)
    .bind(&key.master_key_id)
    .bind(created_at_micros)
    .execute(&mut **tx)
    .await
    .db()?;
    Ok(())
}

/// Creates a person: their data key, row (with the service's next record number, answered), sealed
/// fields and blind indexes (`create_person` and accepting a referral). The caller appends its audit
/// event first (see [`insert_data_key`]).
async fn insert_person(
    tx: &mut Transaction<'static, Any>,
    vault: &KeyVault,
    person: &SealedPerson,
    indexes: &[(IndexField, [u8; 16])],
    key: &WrappedDataKey,
) -> Result<i64, StoreError> {
    insert_data_key(tx, vault, key, person.created_at_micros).await?;
    let pid = person.id.to_string();
    // The next record number of the service, under its counter row's lock (PostgreSQL), or the
    // database's write lock (SQLite): two people created at once never get one number.
    let record_number: i64 = sqlx::query_scalar(
        "INSERT INTO service_record_number (service_id, last_number) VALUES ($1, 1) \
         ON CONFLICT (service_id) DO UPDATE SET last_number = service_record_number.last_number + 1 \
         RETURNING last_number",
    )
    .bind(person.service_id.to_string())
    .fetch_one(&mut **tx)
    .await
    .db()?;
    sqlx::query("INSERT INTO person (id, service_id, team_id, key_worker_id, key_version, record_number, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&pid)
        .bind(person.service_id.to_string())
        .bind(person.team_id.map(|t| t.to_string()))
        .bind(person.key_worker_id.map(|k| k.to_string()))
        .bind(person.key_version)
        .bind(record_number)
        .bind(person.created_at_micros)
        .bind(person.updated_at_micros)
        .execute(&mut **tx)
        .await
        .db()?;
    for (field, value) in &person.fields {
        sqlx::query("INSERT INTO person_field (person_id, field, value) VALUES ($1, $2, $3)")
            .bind(&pid)
            .bind(field.code())
            .bind(value)
            .execute(&mut **tx)
            .await
            .db()?;
    }
    set_indexes(
        tx,
        person.id,
        person.service_id,
        indexes.iter().map(|(f, d)| (*f, Some(*d))),
    )
    .await?;
    set_name_grams(tx, person.id, person.service_id, &person.name_grams).await?;
    Ok(record_number)
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
        .db()?;
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
        q.execute(&mut **tx).await.db()?;
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
            .or_conflict("a field was given twice")?;
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
        .read(|r| Ok((r.col("field")?, r.col("value")?)))
}

/// The sealed fields of many records at once: `query` selects `record_id, field, value` ordered by
/// record and field.
async fn grouped_fields(
    tx: &mut Transaction<'static, Any>,
    query: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
) -> Result<HashMap<Uuid, SealedFields>, StoreError> {
    let mut grouped: HashMap<Uuid, SealedFields> = HashMap::new();
    for row in query.fetch_all(&mut **tx).await.db()? {
        grouped
            .entry(id(&row, "record_id")?)
            .or_default()
            .push((row.col("field")?, row.col("value")?));
    }
    Ok(grouped)
}

/// Records beside their sealed fields: each of `rows` read by `from_row`, with the fields `fields`
/// selects for its id (column `id`); `fields` selects `record_id, field, value` ordered by record
/// and field.
async fn with_fields<T>(
    tx: &mut Transaction<'static, Any>,
    rows: Vec<AnyRow>,
    from_row: FromRow<T>,
    fields: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
) -> Result<Vec<(T, SealedFields)>, StoreError> {
    // No records, no fields to read: a round trip saved (most records have no documents, say).
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut fields = grouped_fields(tx, fields).await?;
    rows.iter()
        .map(|row| {
            let sealed = fields.remove(&id(row, "id")?).unwrap_or_default();
            Ok((from_row(row)?, sealed))
        })
        .collect()
}

/// Deletes a record's sealed fields, blind indexes (for a referral) and data keys.
async fn erase_record(
    tx: &mut Transaction<'static, Any>,
    record_id: Uuid,
) -> Result<(), StoreError> {
    let rid = record_id.to_string();
    // On the erasure ledger's list (`ledger.rs`): a restored backup loses it again.
    sqlx::query("INSERT INTO record_erasure (record_id, erased_at) VALUES ($1, $2) ON CONFLICT (record_id) DO NOTHING")
        .bind(&rid)
        .bind(now_micros())
        .execute(&mut **tx)
        .await
        .db()?;
    for sql in [
        "DELETE FROM record_field WHERE record_id = $1",
        "DELETE FROM referral_index WHERE referral_id = $1",
        "DELETE FROM data_key WHERE owner_id = $1",
        // A declined partner referral must not keep pointing at the person's record there.
        "UPDATE referral SET partner_person_id = NULL WHERE id = $1",
    ] {
        sqlx::query(sql).bind(&rid).execute(&mut **tx).await.db()?;
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
        .db()?;
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
    .or_conflict(ONE_OPEN_CASE)?;
    Ok(())
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
