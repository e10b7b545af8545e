//! The key store: every wrapped data key (people's, third parties', referrals', staff's), in a
//! database of its own beside the data: on SQLite the file `<data file>-keys.db` next to the data
//! file, on PostgreSQL the database `<name>_keys` on the same server.
//!
//! Guarantees:
//! - The data database keeps only a registry of keys (owner, version, the master key that wrapped
//!   it): a copy or backup of the data alone opens nothing, and a key destroyed here is gone from
//!   every later copy of the data, whenever it was taken.
//! - A key is written here before its registry row commits, so a committed row always has its key
//!   (a key whose row then fails to commit opens nothing: no data was sealed under it).
//! - A registry row deleted (destruction, erasure, a merge, a re-key) is queued by a trigger in the
//!   data database (`retired_key`) and its key deleted here after the commit, or at the next start
//!   if the process stopped first ([`SqlStore::settle_retired_keys`]).
//! - A master key rotation writes the re-wrapped keys beside the old ones, switches the registry in
//!   one data transaction, then removes the old ones: a crash at any point leaves a key for every row.

use super::*;

/// The key store's one table: created when missing (it has no migrations of its own yet).
const SCHEMA_SQLITE: &str = "CREATE TABLE IF NOT EXISTS vault_key (owner_id TEXT NOT NULL, \
     version BIGINT NOT NULL, master_key_id TEXT NOT NULL, wrapped BLOB NOT NULL, \
     PRIMARY KEY (owner_id, version, master_key_id))";
const SCHEMA_POSTGRES: &str = "CREATE TABLE IF NOT EXISTS vault_key (owner_id TEXT NOT NULL, \
     version BIGINT NOT NULL, master_key_id TEXT NOT NULL, wrapped BYTEA NOT NULL, \
     PRIMARY KEY (owner_id, version, master_key_id))";

/// How many keys one look-up asks for (well within both backends' parameter limits).
const CHUNK: usize = 300;

/// The key store's URL for a data URL: `sqlite://DIR/confidant.db` → `sqlite://DIR/confidant-keys.db`,
/// `postgres://HOST/NAME?…` → `postgres://HOST/NAME_keys?…`.
pub fn key_store_url(data_url: &str) -> Result<String, StoreError> {
    let (base, query) = match data_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (data_url, None),
    };
    // A database named in the query would override the path, making the key store the data.
    if query.is_some_and(|q| q.split('&').any(|p| p.starts_with("dbname="))) {
        return Err(StoreError::Backend(
            "name the database in the URL's path, not with dbname=: the key store's is made from it"
                .to_owned(),
        ));
    }
    let keys = match Backend::from_url(base) {
        Some(Backend::Sqlite) => match base.strip_suffix(".db") {
            Some(stem) => format!("{stem}-keys.db"),
            None => format!("{base}-keys"),
        },
        Some(Backend::Postgres) => {
            let name = base.rsplit_once('/').map(|(_, n)| n).unwrap_or("");
            if name.is_empty() || base.ends_with("//") || name.contains('@') {
                return Err(StoreError::Backend(
                    "the PostgreSQL URL must name its database".to_owned(),
                ));
            }
            format!("{base}_keys")
        }
        None => {
            return Err(StoreError::Backend(
                "the database URL must start with sqlite:// or postgres://".to_owned(),
            ));
        }
    };
    Ok(match query {
        Some(q) => format!("{keys}?{q}"),
        None => keys,
    })
}

impl SqlStore {
    /// Fills in the wrapped bytes of keys read from the registry, and answers those the key store
    /// lacks, for the caller to leave their records out, as if they were gone. Most were erased
    /// since the read (as they would have been a moment later). One whose registry row is still
    /// there opens nothing here: a restored data backup older than its key store backup, say,
    /// holding a record merged away since. It is logged by id; a key store that lacks every key is
    /// refused at start ([`SqlStore::check_key_store`]).
    pub(crate) async fn fill_keys<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a mut WrappedDataKey>,
    ) -> Result<Erased, StoreError> {
        let missing = self.vault.fill(keys).await?;
        for (owner, version) in &missing {
            let registered: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM data_key WHERE owner_id = $1 AND version = $2",
            )
            .bind(owner.to_string())
            .bind(version)
            .fetch_one(&self.pool)
            .await
            .db()?;
            if registered > 0 {
                tracing::warn!(owner = %owner, version, "a registered key is not in the key store: its record is left out");
            }
        }
        Ok(Erased(missing.into_iter().map(|(o, _)| o).collect()))
    }
}

/// Owners whose keys were erased between a read and its key look-up.
#[derive(Debug, Default)]
pub(crate) struct Erased(BTreeSet<Uuid>);

impl Erased {
    pub(crate) fn has(&self, key: &WrappedDataKey) -> bool {
        self.0.contains(&key.owner_id)
    }
}

/// The key store of one installation.
#[derive(Debug, Clone)]
pub(crate) struct KeyVault {
    pool: AnyPool,
    backend: Backend,
}

impl KeyVault {
    /// Opens (creating when missing) the key store beside the data at `data_url`.
    pub(crate) async fn open(data_url: &str, backend: Backend) -> Result<Self, StoreError> {
        let url = key_store_url(data_url)?;
        let pool = match backend {
            Backend::Sqlite => {
                let connect = AnyConnectOptions::from_str(&format!("{url}?mode=rwc")).db()?;
                let pool = pool_options(backend, 4, BUSY_TIMEOUT_MS, None)
                    .connect_with(connect)
                    .await
                    .db()?;
                // Its owner's alone, as the master key file is.
                #[cfg(unix)]
                if let Some(path) = url.strip_prefix("sqlite://") {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| StoreError::Backend(format!("the key store file: {e}")))?;
                }
                pool
            }
            Backend::Postgres => {
                let connect = AnyConnectOptions::from_str(&url).db()?;
                let options = pool_options(backend, 4, BUSY_TIMEOUT_MS, None);
                match options.clone().connect_with(connect.clone()).await {
                    Ok(pool) => pool,
                    Err(e) if is_missing_database(&e) => {
                        create_postgres_database(data_url, &url).await?;
                        options.connect_with(connect).await.db()?
                    }
                    Err(e) => return Err(e).db(),
                }
            }
        };
        let schema = match backend {
            Backend::Sqlite => SCHEMA_SQLITE,
            Backend::Postgres => SCHEMA_POSTGRES,
        };
        sqlx::query(schema).execute(&pool).await.db()?;
        Ok(Self { pool, backend })
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Stores keys (replacing a key stored before under the same owner, version and master key).
    pub(crate) async fn put(&self, keys: &[&WrappedDataKey]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.db()?;
        for key in keys {
            sqlx::query(
                "INSERT INTO vault_key (owner_id, version, master_key_id, wrapped) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (owner_id, version, master_key_id) DO UPDATE SET wrapped = excluded.wrapped",
            )
            .bind(key.owner_id.to_string())
            .bind(key.version)
            .bind(&key.master_key_id)
            .bind(&key.wrapped)
            .execute(&mut *tx)
            .await
            .db()?;
        }
        tx.commit().await.db()
    }

    /// Fills in the wrapped bytes of keys read from the registry; answers the keys it does not
    /// hold (left empty), for [`SqlStore::fill_keys`] to judge.
    async fn fill<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a mut WrappedDataKey>,
    ) -> Result<Vec<(Uuid, i64)>, StoreError> {
        let mut keys: Vec<&mut WrappedDataKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let owners: BTreeSet<String> = keys.iter().map(|k| k.owner_id.to_string()).collect();
        let owners: Vec<String> = owners.into_iter().collect();
        let mut found: HashMap<(Uuid, i64, String), Vec<u8>> = HashMap::new();
        for chunk in owners.chunks(CHUNK) {
            let sql = format!(
                "SELECT owner_id, version, master_key_id, wrapped FROM vault_key WHERE owner_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for owner in chunk {
                query = query.bind(owner);
            }
            for row in query.fetch_all(&self.pool).await.db()? {
                found.insert(
                    (
                        id(&row, "owner_id")?,
                        row.col("version")?,
                        row.col("master_key_id")?,
                    ),
                    row.col("wrapped")?,
                );
            }
        }
        let mut missing = Vec::new();
        for key in keys.iter_mut() {
            match found.get(&(key.owner_id, key.version, key.master_key_id.clone())) {
                Some(wrapped) => key.wrapped.clone_from(wrapped),
                None => missing.push((key.owner_id, key.version)),
            }
        }
        Ok(missing)
    }

    /// Deletes every key of these owners and versions, under whichever master key.
    pub(crate) async fn remove(&self, retired: &[(String, i64)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.db()?;
        for (owner, version) in retired {
            sqlx::query("DELETE FROM vault_key WHERE owner_id = $1 AND version = $2")
                .bind(owner)
                .bind(version)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        tx.commit().await.db()?;
        self.checkpoint().await;
        Ok(())
    }

    /// Deletes the keys wrapped by any other master key (after a rotation committed).
    pub(crate) async fn keep_only_master(&self, master_key_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM vault_key WHERE master_key_id <> $1")
            .bind(master_key_id)
            .execute(&self.pool)
            .await
            .db()?;
        self.checkpoint().await;
        Ok(())
    }

    /// How many keys the store holds.
    pub(crate) async fn count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM vault_key")
            .fetch_one(&self.pool)
            .await
            .db()
    }

    /// Whether it holds a key of this owner (tests: a destroyed key is gone here too).
    pub(crate) async fn holds(&self, owner: Uuid) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vault_key WHERE owner_id = $1")
            .bind(owner.to_string())
            .fetch_one(&self.pool)
            .await
            .db()?;
        Ok(n > 0)
    }

    /// Copies the key store into `path`, a new file, as it is at one moment (SQLite only).
    async fn snapshot_sqlite(&self, path: &Path) -> Result<(), StoreError> {
        vacuum_into(&self.pool, path).await
    }

    /// On SQLite, writes the WAL back into the file so deleted keys (overwritten there, as
    /// `secure_delete` is on) do not linger in it. Best effort, as for the data.
    async fn checkpoint(&self) {
        if self.backend == Backend::Sqlite
            && let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
        {
            tracing::warn!(error = %e, "key store WAL checkpoint did not complete");
        }
    }
}

/// `VACUUM INTO` a new file: a consistent copy of a live SQLite database, while readers and
/// writers carry on.
async fn vacuum_into(pool: &AnyPool, path: &Path) -> Result<(), StoreError> {
    let target = path.to_str().ok_or(StoreError::Backend(
        "the backup path is not valid UTF-8".to_owned(),
    ))?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(pool)
        .await
        .db()?;
    Ok(())
}

impl SqlStore {
    /// Copies a SQLite installation's data, then its key store (either or both), into new files,
    /// each as it is at one moment while the installation serves. Data first: a key is stored
    /// before its registry row and removed after it, so every registry row of the data copy has its
    /// key in the key store copy (or was erased meanwhile, and is on the ledger).
    pub async fn snapshot_sqlite(
        &self,
        data: Option<&Path>,
        keys: Option<&Path>,
    ) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Backend(
                "a snapshot by VACUUM INTO is for SQLite; PostgreSQL is dumped with pg_dump"
                    .to_owned(),
            ));
        }
        if let Some(data) = data {
            vacuum_into(&self.pool, data).await?;
        }
        match keys {
            Some(keys) => self.vault.snapshot_sqlite(keys).await,
            None => Ok(()),
        }
    }
}

fn is_missing_database(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000"))
}

/// Creates the key store's database on the data's server (its name checked to be a plain identifier).
async fn create_postgres_database(data_url: &str, keys_url: &str) -> Result<(), StoreError> {
    let base = keys_url.split_once('?').map_or(keys_url, |(b, _)| b);
    let name = base.rsplit_once('/').map(|(_, n)| n).unwrap_or("");
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Backend(
            "the key store's database name must be letters, digits and underscores".to_owned(),
        ));
    }
    let mut conn = sqlx::AnyConnection::connect(data_url).await.db()?;
    let made = conn
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await;
    let _ = conn.close().await;
    match made {
        Ok(_) => Ok(()),
        // Another process made it meanwhile.
        Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42P04") => Ok(()),
        Err(e) => Err(e).db(),
    }
}
