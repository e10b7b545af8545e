//! The audit port of the store.

use super::*;

impl AuditStore for SqlStore {
    async fn append_audit(&self, audit: AuditDraft) -> Result<AuditEvent, StoreError> {
        let mut tx = self.begin_write().await?;
        let event = append(&mut tx, &audit).await?;
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
        .await.read(event_from_row)
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
            .db()?
        else {
            return Ok(RecordedHead::Missing);
        };
        let seq: i64 = row.col("seq")?;
        if seq == 0 {
            return Ok(RecordedHead::Empty);
        }
        let hash: Vec<u8> = row.col("hash")?;
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
        .await.read(event_from_row)
    }
}
