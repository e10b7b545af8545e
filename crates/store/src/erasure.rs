//! Erasures that reach every copy: the key store kept in step with the registry, and the
//! installation's erasure ledger (`ledger.rs`) kept in step with the database, both ways.
//!
//! Guarantees:
//! - After each erasure commits, the keys it retired leave the key store and the erasure goes onto
//!   the ledger; a process stopped in between finishes both at its next start.
//! - [`SqlStore::reconcile_erasures`] replays onto this database every erasure on the ledger that
//!   it does not know (a copy or backup from before the erasure): the same rows go as in the
//!   erasure itself, and their keys, each with its audit event (`erasure.replay`, by the system,
//!   ids only). Only then does anything serve from it.

use super::*;
use crate::ledger::{Erasure, ErasureKind, ErasureLedger, LedgerError};

/// What a reconciliation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Erasures on the ledger this database did not know, now done again here.
    pub replayed: usize,
    /// Erasures in this database the ledger did not hold, now appended to it.
    pub recorded: usize,
}

fn ledger_error(e: LedgerError) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn erasure_from_row(row: &AnyRow) -> Result<Erasure, StoreError> {
    let kind: String = row.col("kind")?;
    Ok(Erasure {
        kind: ErasureKind::from_code(&kind).ok_or(StoreError::Backend(
            "an erasure of an unknown kind".to_owned(),
        ))?,
        id: id(row, "id")?,
        at_micros: row.col("at")?,
        certificate_id: opt_id(row, "certificate_id")?,
    })
}

impl SqlStore {
    /// Keeps the erasure ledger in step with this store from now on: each erasure is appended
    /// after its commit. Set once, when the installation is opened.
    pub fn keep_erasure_ledger(&self, ledger: ErasureLedger) {
        let _ = self.ledger.set(ledger);
    }

    /// Every erasure this database holds: everyone destroyed and every record erased on its own.
    pub async fn erasures(&self) -> Result<Vec<Erasure>, StoreError> {
        sqlx::query(
            "SELECT 'person' AS kind, person_id AS id, destroyed_at AS at, certificate_id \
             FROM person_destruction \
             UNION ALL SELECT 'record' AS kind, record_id AS id, erased_at AS at, \
             CAST(NULL AS TEXT) AS certificate_id FROM record_erasure ORDER BY at, id",
        )
        .fetch_all(&self.pool)
        .await
        .read(erasure_from_row)
    }

    /// Deletes from the key store the keys whose registry rows were deleted, unless the same owner
    /// and version were registered again since.
    pub async fn settle_retired_keys(&self) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT r.owner_id, r.version, \
             (SELECT COUNT(*) FROM data_key k WHERE k.owner_id = r.owner_id AND k.version = r.version) AS live \
             FROM retired_key r",
        )
        .fetch_all(&self.pool)
        .await
        .db()?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut retired = Vec::with_capacity(rows.len());
        let mut seen = Vec::with_capacity(rows.len());
        for row in &rows {
            let owner: String = row.col("owner_id")?;
            let version: i64 = row.col("version")?;
            if row.col::<i64>("live")? == 0 {
                retired.push((owner.clone(), version));
            }
            seen.push((owner, version));
        }
        self.vault.remove(&retired).await?;
        let mut tx = self.pool.begin().await.db()?;
        for (owner, version) in &seen {
            sqlx::query("DELETE FROM retired_key WHERE owner_id = $1 AND version = $2")
                .bind(owner)
                .bind(version)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        tx.commit().await.db()
    }

    /// After an erasure committed: it goes onto the ledger, then its keys leave the key store. In
    /// that order, a backup (data, then key store, then ledger) that copied the key store after a
    /// key left it copies the ledger with its erasure.
    pub(crate) async fn settle_erasure(&self) -> Result<(), StoreError> {
        if let Some(ledger) = self.ledger.get() {
            let all = self.erasures().await?;
            ledger.append_missing(&all).map_err(ledger_error)?;
        }
        self.settle_retired_keys().await
    }

    /// Replays onto this database the ledger's erasures it does not hold, then appends to the
    /// ledger those it holds and the ledger does not. A ledger that does not verify stops here.
    pub async fn reconcile_erasures(
        &self,
        ledger: &ErasureLedger,
    ) -> Result<Reconciled, StoreError> {
        let on_ledger = ledger.read().map_err(ledger_error)?;
        let known: std::collections::HashSet<(ErasureKind, Uuid)> = self
            .erasures()
            .await?
            .iter()
            .map(|e| (e.kind, e.id))
            .collect();
        let missing: Vec<&Erasure> = on_ledger
            .iter()
            .filter(|e| !known.contains(&(e.kind, e.id)))
            .collect();
        for erasure in &missing {
            self.replay(erasure).await?;
        }
        self.settle_retired_keys().await?;
        if !missing.is_empty() {
            self.checkpoint_wal().await?;
        }
        let recorded = ledger
            .append_missing(&self.erasures().await?)
            .map_err(ledger_error)?;
        Ok(Reconciled {
            replayed: missing.len(),
            recorded,
        })
    }

    /// Does one erasure again, as it was done: a person's whole record (whatever holds it now),
    /// or one record's fields and key.
    async fn replay(&self, erasure: &Erasure) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool, self.backend).await?;
        let id = erasure.id.to_string();
        // Its own audit event, in its transaction (the head lock first, as every write takes it).
        let audit = AuditDraft::erasure_replayed(
            erasure.id,
            erasure.kind == ErasureKind::Person,
            time::OffsetDateTime::now_utc(),
        );
        append(&mut tx, &audit).await?;
        match erasure.kind {
            ErasureKind::Person => {
                sqlx::query(
                    "INSERT INTO person_destruction (person_id, certificate_id, destroyed_at) VALUES ($1, $2, $3)",
                )
                .bind(&id)
                .bind(
                    erasure
                        .certificate_id
                        .map(|c| c.to_string())
                        .unwrap_or_default(),
                )
                .bind(erasure.at_micros)
                .execute(&mut *tx)
                .await
                .db()?;
                keeping::destroy_rows(&mut tx, &id).await?;
                sqlx::query(
                    "UPDATE retention_review SET state = 'destroyed', outcome = 'destroyed (the erasure ledger replayed)', \
                     closed_at = $1 WHERE person_id = $2 AND closed_at IS NULL",
                )
                .bind(erasure.at_micros)
                .bind(&id)
                .execute(&mut *tx)
                .await
                .db()?;
            }
            ErasureKind::Record => {
                sqlx::query("INSERT INTO record_erasure (record_id, erased_at) VALUES ($1, $2)")
                    .bind(&id)
                    .bind(erasure.at_micros)
                    .execute(&mut *tx)
                    .await
                    .db()?;
                sqlx::query("DELETE FROM related_person WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await
                    .db()?;
                erase_record(&mut tx, erasure.id).await?;
            }
        }
        commit(tx).await
    }

    /// Refuses a key store that holds no keys while the registry names some: the data was opened
    /// without its key store (a copy, or the key store file moved away), and nothing in it opens.
    pub async fn check_key_store(&self) -> Result<(), StoreError> {
        let registered: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_key")
            .fetch_one(&self.pool)
            .await
            .db()?;
        if registered > 0 && self.vault.count().await? == 0 {
            return Err(StoreError::Backend(format!(
                "the key store holds no keys but the database names {registered}: \
                 restore the key store with the data (`confidant restore`), or point Confidant at it"
            )));
        }
        Ok(())
    }

    /// Whether the key store holds any key of `owner` (tests: a destroyed key is gone there too).
    pub async fn key_store_holds(&self, owner: Uuid) -> Result<bool, StoreError> {
        self.vault.holds(owner).await
    }

    /// Before the migrations: an installation whose registry still holds its wrapped keys (from
    /// before the key store) copies them into the key store; migration 22 then drops them. Answers
    /// whether it did. Every process of the installation must be stopped for the upgrade: one
    /// still running the old version could register a key between the copy and the drop.
    pub(crate) async fn move_keys_to_vault(&self) -> Result<bool, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM pragma_table_info('data_key') WHERE name = 'wrapped'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND table_name = 'data_key' AND column_name = 'wrapped'"
            }
        };
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&self.pool).await.db()?;
        if n == 0 {
            return Ok(false);
        }
        let rows = sqlx::query("SELECT owner_id, version, master_key_id, wrapped FROM data_key")
            .fetch_all(&self.pool)
            .await
            .db()?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            keys.push(WrappedDataKey {
                wrapped: row.col("wrapped")?,
                ..wrapped_key_from_row(row)?
            });
        }
        for chunk in keys.chunks(1000) {
            self.vault.put(&chunk.iter().collect::<Vec<_>>()).await?;
        }
        Ok(true)
    }
}
