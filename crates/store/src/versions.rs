//! The correction history: each replaced value of a person's or a record's sealed field kept in
//! `field_version`, still sealed, with who replaced it, when and why.

use super::*;

/// Keeps the current value of a person's field (if any) in the correction history.
pub(crate) const KEEP_PERSON_FIELD: &str = "INSERT INTO field_version (record_id, field, value, key_version, changed_by, changed_at, reason) \
     SELECT person_id, field, value, $3, $4, $5, $6 FROM person_field WHERE person_id = $1 AND field = $2";
/// Keeps the current value of a record's field (if any) in the correction history.
pub(crate) const KEEP_RECORD_FIELD: &str = "INSERT INTO field_version (record_id, field, value, key_version, changed_by, changed_at, reason) \
     SELECT record_id, field, value, $3, $4, $5, $6 FROM record_field WHERE record_id = $1 AND field = $2";

/// Replaces sealed fields of a record (an entry, a related person), keeping each replaced value in
/// the history with who, when and why.
pub(crate) async fn replace_fields(
    tx: &mut Transaction<'static, Any>,
    record_id: &str,
    key_version: i64,
    fields: &[SealedChange],
    stamp: &ChangeStamp,
    reason: Option<CorrectionReason>,
) -> Result<(), StoreError> {
    for (field, value) in fields {
        keep_version(
            tx,
            KEEP_RECORD_FIELD,
            record_id,
            field,
            key_version,
            stamp,
            reason,
        )
        .await?;
        sqlx::query("DELETE FROM record_field WHERE record_id = $1 AND field = $2")
            .bind(record_id)
            .bind(field)
            .execute(&mut **tx)
            .await
            .db()?;
        if let Some(v) = value {
            sqlx::query("INSERT INTO record_field (record_id, field, value) VALUES ($1, $2, $3)")
                .bind(record_id)
                .bind(field)
                .bind(v)
                .execute(&mut **tx)
                .await
                .db()?;
        }
    }
    Ok(())
}

pub(crate) async fn keep_version(
    tx: &mut Transaction<'static, Any>,
    sql: &'static str,
    record_id: &str,
    field: &str,
    key_version: i64,
    stamp: &ChangeStamp,
    reason: Option<CorrectionReason>,
) -> Result<(), StoreError> {
    sqlx::query(sql)
        .bind(record_id)
        .bind(field)
        .bind(key_version)
        .bind(&stamp.by)
        .bind(stamp.at_micros)
        .bind(reason.map(CorrectionReason::code))
        .execute(&mut **tx)
        .await
        .db()?;
    Ok(())
}
