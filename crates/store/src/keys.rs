//! The keys port of the store.

use super::*;

fn installation_keys_from_row(row: &AnyRow) -> Result<InstallationKeys, StoreError> {
    Ok(InstallationKeys {
        master_key_id: row.col("master_key_id")?,
        wrapped_index_key: row.col("wrapped_index_key")?,
    })
}

impl KeyStore for SqlStore {
    async fn installation_keys(&self) -> Result<Option<InstallationKeys>, StoreError> {
        sqlx::query("SELECT master_key_id, wrapped_index_key FROM installation WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .read(installation_keys_from_row)
    }

    async fn initialise_keys(&self, keys: &InstallationKeys) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO installation (id, master_key_id, wrapped_index_key, created_at) VALUES (1, $1, $2, $3)",
        )
        .bind(&keys.master_key_id)
        .bind(&keys.wrapped_index_key)
        .bind(now_micros())
        .execute(&self.pool)
        .await
        .or_conflict("the installation is already initialised")?;
        Ok(())
    }

    async fn wrapped_data_keys(&self) -> Result<Vec<WrappedDataKey>, StoreError> {
        let mut keys = sqlx::query(
            "SELECT owner_id, version, master_key_id FROM data_key ORDER BY owner_id, version",
        )
        .fetch_all(&self.pool)
        .await
        .read(wrapped_key_from_row)?;
        let erased = self.fill_keys(&mut keys).await?;
        keys.retain(|k| !erased.has(k));
        Ok(keys)
    }

    async fn rotate_master_key(
        &self,
        old_master_key_id: &str,
        keys: &InstallationKeys,
        rewrapped: &[WrappedDataKey],
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Appending first takes the head lock, which every other writer needs: no key can be added
        // while the set is replaced.
        append(&mut tx, &audit).await?;
        if Self::installation_key_id(&mut tx).await?.as_deref() != Some(old_master_key_id) {
            return Err(StoreError::Conflict(
                "the master key was rotated by someone else",
            ));
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_key")
            .fetch_one(&mut *tx)
            .await
            .db()?;
        if usize::try_from(count).ok() != Some(rewrapped.len()) {
            return Err(StoreError::Conflict(
                "data keys changed during rotation; try again",
            ));
        }
        // The re-wrapped keys go into the key store beside the old ones before the registry
        // switches: whatever happens next, every registry row (old master or new) has its key
        // there. Under the head's lock, no key can be erased meanwhile (and so put back here).
        self.vault
            .put(&rewrapped.iter().collect::<Vec<_>>())
            .await?;
        for key in rewrapped {
            let done = sqlx::query(
                "UPDATE data_key SET master_key_id = $1 WHERE owner_id = $2 AND version = $3 AND master_key_id = $4",
            )
            .bind(&key.master_key_id)
            .bind(key.owner_id.to_string())
            .bind(key.version)
            .bind(old_master_key_id)
            .execute(&mut *tx)
            .await
            .db()?;
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
        .db()?;
        commit(tx).await?;
        // The old master's copies go. The rotation has committed, so a failure here must not be
        // answered as the rotation's (the caller would keep the old key file): the copies left
        // open nothing without the old master key, and the next rotation removes them.
        if let Err(e) = self.vault.keep_only_master(&keys.master_key_id).await {
            tracing::warn!(error = %e, "the old master key's copies of the data keys are still in the key store");
        }
        Ok(())
    }
}
