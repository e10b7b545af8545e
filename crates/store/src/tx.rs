//! Transactions that write a change and its audit event together, appending to the chain under the head lock.

use super::*;

pub(crate) const HEAD_MISSING: &str =
    "the audit chain's head row is missing: run `confidant audit verify` (nothing was written)";

/// Appends `draft` to the chain inside `tx` (a change and its event, committed together). Locks the
/// head row first: see [`crate::audit::append_all`].
pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    draft: &AuditDraft,
) -> Result<AuditEvent, StoreError> {
    let event = crate::audit::append_all(tx, &[draft])
        .await?
        .pop()
        .ok_or_else(|| StoreError::Backend("an appended event went missing".to_owned()))?;
    // A change about a record merged into another is refused: what it holds would be sealed under
    // the merged record's destroyed key. Asked under the head's lock, which the merge holds until
    // it commits, so a change either came before the merge (and the merge sees it) or is refused.
    if draft.outcome() == confidant_core::audit::Outcome::Ok
        && let Some(subject) = draft.subject_id()
    {
        let merged: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM person_merge WHERE merged_id = $1")
                .bind(subject.to_string())
                .fetch_one(&mut **tx)
                .await
                .db()?;
        if merged > 0 {
            return Err(StoreError::Conflict(
                "the record was merged into another: change that one",
            ));
        }
    }
    Ok(event)
}

/// Ends a reading transaction and records the access it was for: durable before the reads are
/// answered (at once, or with the request's batch: [`AuditStore::record_access`]).
pub(crate) async fn finish_read(
    store: &SqlStore,
    tx: Transaction<'static, Any>,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    // Nothing was written: ending it releases the snapshot.
    tx.rollback().await.db()?;
    store.record_access(audit).await
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
