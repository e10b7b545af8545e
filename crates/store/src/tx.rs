//! Transactions that write a change and its audit event together, appending to the chain under the head lock.

use super::*;

pub(crate) const HEAD_MISSING: &str =
    "the audit chain's head row is missing: run `confidant audit verify` (nothing was written)";

/// Appends `draft` to the chain inside `tx`. Locks the head row first: the next writer waits until
/// this transaction ends, so sequence numbers and links follow commit order.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    draft: &AuditDraft,
) -> Result<AuditEvent, StoreError> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_optional(&mut **tx)
        .await
        .db()?
        // Nothing is written without its event: with the head gone, every audited write stops.
        .ok_or_else(|| StoreError::Backend(HEAD_MISSING.to_owned()))?;
    let seq: i64 = row.col("seq")?;
    let prev = hash32(row.col("hash")?, "audit head")?;
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
    .db()?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(event.hash.to_vec())
        .execute(&mut **tx)
        .await
        .db()?;
    Ok(event)
}

/// Runs one insert and appends its audit event in the same transaction; a duplicate is a conflict
/// described by `on_duplicate`.
pub(crate) async fn insert_audited(
    store: &SqlStore,
    insert: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
    on_duplicate: &'static str,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    insert.execute(&mut *tx).await.or_conflict(on_duplicate)?;
    append(&mut tx, &audit).await?;
    commit(tx).await
}

/// Runs one insert of a record, stores the record's sealed fields and appends its audit event, in
/// one transaction; a duplicate is a conflict described by `on_duplicate`.
pub(crate) async fn insert_sealed_audited(
    store: &SqlStore,
    insert: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
    on_duplicate: &'static str,
    record_id: Uuid,
    fields: &SealedFields,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    insert.execute(&mut *tx).await.or_conflict(on_duplicate)?;
    insert_fields(&mut tx, record_id, fields).await?;
    append(&mut tx, &audit).await?;
    commit(tx).await
}

/// Runs one conditional change; if it touched a row, appends its audit event in the same transaction
/// and answers `true`; if it touched none, writes nothing and answers `false`.
pub(crate) async fn change_audited(
    store: &SqlStore,
    change: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
    audit: AuditDraft,
) -> Result<bool, StoreError> {
    let mut tx = store.begin_write().await?;
    let done = change.execute(&mut *tx).await.db()?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    append(&mut tx, &audit).await?;
    commit(tx).await?;
    Ok(true)
}

pub(crate) async fn commit(tx: Transaction<'static, Any>) -> Result<(), StoreError> {
    tx.commit().await.db()
}
