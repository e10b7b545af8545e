//! The account port of the store.

use super::*;
use crate::staff::TRAINING_CURRENT;

fn credential_from_row(row: &AnyRow) -> Result<Credential, StoreError> {
    Ok(Credential {
        staff_id: id(row, "staff_id")?,
        password_hash: row.col("password_hash")?,
        password_changed_at_micros: row.col("password_changed_at")?,
        totp_secret: row.col("totp_secret")?,
        totp_confirmed_at_micros: row.col("totp_confirmed_at")?,
        totp_last_step: row.col("totp_last_step")?,
        failed_attempts: row.col("failed_attempts")?,
        locked_until_micros: row.col("locked_until")?,
        updated_at_micros: row.col("updated_at")?,
    })
}

fn session_from_row(row: &AnyRow) -> Result<SessionRecord, StoreError> {
    let stage: String = row.col("stage")?;
    Ok(SessionRecord {
        id: id(row, "id")?,
        token_hash: hash32(row.col("token_hash")?, "token")?,
        staff_id: id(row, "staff_id")?,
        stage: SessionStage::from_code(&stage)
            .ok_or(StoreError::Backend("unknown session stage".to_owned()))?,
        csrf_token: row.col("csrf_token")?,
        created_at_micros: row.col("created_at")?,
        last_seen_at_micros: row.col("last_seen_at")?,
        authenticated_at_micros: row.col("authenticated_at")?,
        expires_at_micros: row.col("expires_at")?,
        ended_at_micros: row.col("ended_at")?,
    })
}

impl AccountStore for SqlStore {
    async fn credential(&self, staff_id: Uuid) -> Result<Option<Credential>, StoreError> {
        self.read_optional("SELECT staff_id, password_hash, password_changed_at, totp_secret, totp_confirmed_at, totp_last_step, \
             failed_attempts, locked_until, updated_at FROM staff_credential WHERE staff_id = $1", staff_id, credential_from_row).await
    }

    async fn save_credential(
        &self,
        credential: &Credential,
        new_key: Option<&WrappedDataKey>,
        recovery: &RecoveryCodes,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let sid = credential.staff_id.to_string();
        // The head lock first: a new key is registered under it (see `insert_data_key`).
        append(&mut tx, &audit).await?;
        if let Some(key) = new_key {
            insert_data_key(&mut tx, &self.vault, key, credential.updated_at_micros)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(KEY_TAKEN) => {
                        StoreError::Conflict("the account changed meanwhile; try again")
                    }
                    e => e,
                })?;
        }
        sqlx::query("DELETE FROM staff_credential WHERE staff_id = $1")
            .bind(&sid)
            .execute(&mut *tx)
            .await
            .db()?;
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
        .db()?;
        if matches!(recovery, RecoveryCodes::Replace(_) | RecoveryCodes::Clear) {
            sqlx::query("DELETE FROM recovery_code WHERE staff_id = $1")
                .bind(&sid)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        if let RecoveryCodes::Replace(hashes) = recovery {
            for h in hashes {
                sqlx::query("INSERT INTO recovery_code (staff_id, code_hash) VALUES ($1, $2)")
                    .bind(&sid)
                    .bind(h.to_vec())
                    .execute(&mut *tx)
                    .await
                    .db()?;
            }
        }
        commit(tx).await
    }

    async fn sign_in_throttle(
        &self,
        handle_digest: &[u8; 32],
    ) -> Result<Option<(i64, Option<i64>)>, StoreError> {
        sqlx::query(
            "SELECT failed_attempts, locked_until FROM sign_in_throttle WHERE handle_digest = $1",
        )
        .bind(handle_digest.to_vec())
        .fetch_optional(&self.pool)
        .await
        .read(|r| Ok((r.col("failed_attempts")?, r.col("locked_until")?)))
    }

    async fn record_unknown_failure(
        &self,
        handle_digest: &[u8; 32],
        at_micros: i64,
        lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
        audit: AuditDraft,
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
        .db()?;
        let lock = lock_for(&row, lock_after)?;
        if let Some(until) = lock {
            sqlx::query("UPDATE sign_in_throttle SET locked_until = $1 WHERE handle_digest = $2")
                .bind(until)
                .bind(handle_digest.to_vec())
                .execute(&mut *tx)
                .await
                .db()?;
        }
        append(&mut tx, &audit).await?;
        commit(tx).await?;
        Ok(lock)
    }

    async fn record_failure(
        &self,
        staff_id: Uuid,
        at_micros: i64,
        lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
        failure: AuditDraft,
        lockout: AuditDraft,
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
        .db()?;
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
                .db()?;
        }
        append(&mut tx, if lock.is_some() { &lockout } else { &failure }).await?;
        commit(tx).await?;
        Ok(lock)
    }

    async fn second_factor_passed(
        &self,
        staff_id: Uuid,
        step: Option<i64>,
        at_micros: i64,
        audit: AuditDraft,
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
        audit: AuditDraft,
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
        .db()?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM recovery_code WHERE staff_id = $1")
            .bind(&sid)
            .execute(&mut *tx)
            .await
            .db()?;
        for h in recovery_codes {
            sqlx::query("INSERT INTO recovery_code (staff_id, code_hash) VALUES ($1, $2)")
                .bind(&sid)
                .bind(h.to_vec())
                .execute(&mut *tx)
                .await
                .db()?;
        }
        append(&mut tx, &audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn use_recovery_code(
        &self,
        staff_id: Uuid,
        code_hash: &[u8; 32],
        at_micros: i64,
        audit: AuditDraft,
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
        .db()
    }

    async fn staff_key(&self, staff_id: Uuid) -> Result<Option<WrappedDataKey>, StoreError> {
        let mut key = self
            .read_optional(
                "SELECT k.owner_id, k.version, k.master_key_id FROM data_key k \
             WHERE k.owner_id = $1 AND EXISTS (SELECT 1 FROM staff s WHERE s.id = k.owner_id) \
             ORDER BY k.version DESC LIMIT 1",
                staff_id,
                wrapped_key_from_row,
            )
            .await?;
        let erased = self.fill_keys(&mut key).await?;
        Ok(key.filter(|k| !erased.has(k)))
    }

    async fn person_key(
        &self,
        access: &PersonAccess,
    ) -> Result<Option<WrappedDataKey>, StoreError> {
        let mut key = self.read_optional("SELECT owner_id, version, master_key_id FROM data_key WHERE owner_id = $1 ORDER BY version DESC LIMIT 1", access.person_id(), wrapped_key_from_row).await?;
        let erased = self.fill_keys(&mut key).await?;
        Ok(key.filter(|k| !erased.has(k)))
    }

    async fn create_session(
        &self,
        session: &SessionRecord,
        replaces: Option<Uuid>,
        audit: AuditDraft,
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
            .db()?;
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
        .db()?;
        append(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn session_by_token(
        &self,
        token_hash: &[u8; 32],
        now_micros: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        // One statement for what every signed-in request needs. The staff columns name the
        // session's `staff_id`; the current training comes as one comma-separated column.
        // `string_agg` needs SQLite 3.44 or later: the bundled library (libsqlite3-sys) is 3.51.
        let sql = format!(
            "SELECT ss.id, ss.token_hash, ss.stage, ss.csrf_token, ss.created_at, ss.last_seen_at, \
             ss.authenticated_at, ss.expires_at, ss.ended_at, {STAFF_COLUMNS}, o.name AS organisation_name, \
             (SELECT string_agg(k.kind, ',') FROM (SELECT DISTINCT t.kind FROM training_record t \
              WHERE t.staff_id = s.id AND {TRAINING_CURRENT}) k) AS current_training \
             FROM staff_session ss JOIN staff s ON s.id = ss.staff_id \
             JOIN organisation o ON o.id = s.organisation_id WHERE ss.token_hash = $1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash.to_vec())
            .bind(now_micros)
            .fetch_optional(&self.pool)
            .await
            .read(|row| {
                let training: Option<String> = row.col("current_training")?;
                Ok(SessionRow {
                    record: session_from_row(row)?,
                    staff: staff_from_row(row)?,
                    organisation_name: row.col("organisation_name")?,
                    current_training: training
                        .as_deref()
                        .unwrap_or_default()
                        .split(',')
                        .filter_map(TrainingKind::from_code)
                        .collect(),
                })
            })
    }

    async fn touch_session(&self, session_id: Uuid, at_micros: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE staff_session SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1 AND ended_at IS NULL",
        )
        .bind(at_micros)
        .bind(session_id.to_string())
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn reauthenticate_session(
        &self,
        session_id: Uuid,
        at_micros: i64,
        audit: AuditDraft,
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
        audit: AuditDraft,
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
        audit: AuditDraft,
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
        .db()?;
        sqlx::query(
            "UPDATE api_token SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL",
        )
        .bind(at_micros)
        .bind(staff_id.to_string())
        .execute(&mut *tx)
        .await
        .db()?;
        append(&mut tx, &audit).await?;
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
        .db()
    }

    async fn issue_token(
        &self,
        token: &ApiTokenRecord,
        audit: AuditDraft,
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
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS}, {STAFF_COLUMNS} FROM api_token t JOIN staff s ON s.id = t.staff_id \
             WHERE t.token_hash = $1 AND t.expires_at > $2 AND t.revoked_at IS NULL AND s.disabled_at IS NULL"
        )))
        .bind(token_hash.to_vec())
        .bind(now_micros)
        .fetch_optional(&self.pool)
        .await
        .read(|r| Ok((token_from_row(r)?, staff_from_row(r)?)))
    }

    async fn tokens_of(&self, staff_id: Uuid) -> Result<Vec<ApiTokenRecord>, StoreError> {
        self.read_all(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_token t WHERE t.staff_id = $1 ORDER BY t.created_at DESC"
        )), staff_id, token_from_row).await
    }

    async fn revoke_token(
        &self,
        token_id: Uuid,
        staff_id: Uuid,
        at_micros: i64,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND staff_id = $3 AND revoked_at IS NULL",
        )
        .bind(at_micros)
        .bind(token_id.to_string())
        .bind(staff_id.to_string());
        change_audited(self, change, audit).await
    }
}
