//! A person's overview read in one transaction, and the part readers the record port shares with it.
//!
//! A page that shows a record with its related people, cases, entry counts, documents and access
//! history used to read each part in its own transaction (with the placement looked up again each
//! time): about thirty statements. Here they are read under one snapshot (on PostgreSQL a
//! repeatable-read transaction; on SQLite any reading transaction is one), so the parts agree with
//! each other: a statement for each part, and one more for the sealed fields of the record, its
//! related people and its documents where it has any.

use confidant_core::store::{OverviewParts, OverviewRows};

use super::*;

/// The id and kind of each of a person's entries (no values), in id order.
pub(crate) const ENTRY_KINDS: &str =
    "SELECT id, kind FROM record_entry WHERE person_id = $1 ORDER BY id";

pub(crate) fn entry_kind_from_row(row: &AnyRow) -> Result<(Uuid, RecordKind), StoreError> {
    Ok((id(row, "id")?, kind_from_row(row)?))
}

fn kind_from_row(row: &AnyRow) -> Result<RecordKind, StoreError> {
    let kind: String = row.col("kind")?;
    RecordKind::from_code(&kind)
        .ok_or_else(|| StoreError::Backend(format!("unknown entry kind {kind}")))
}

/// How many entries of each kind a person's record holds (of a referred record, among the
/// entries referred), counted by the database.
async fn entry_counts_in(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
    parts: OverviewParts<'_>,
) -> Result<Vec<(RecordKind, u64)>, StoreError> {
    /// Entry ids per statement, well within both backends' parameter limits.
    const IDS_PER_READ: usize = 500;
    let count = |row: &AnyRow| -> Result<(RecordKind, u64), StoreError> {
        let n: i64 = row.col("n")?;
        Ok((kind_from_row(row)?, u64::try_from(n).unwrap_or(0)))
    };
    let pid = person_id.to_string();
    let mut counts: Vec<(RecordKind, u64)> = Vec::new();
    match parts {
        OverviewParts::Whole { .. } => {
            counts = sqlx::query(
                "SELECT kind, COUNT(*) AS n FROM record_entry WHERE person_id = $1 GROUP BY kind",
            )
            .bind(&pid)
            .fetch_all(&mut **tx)
            .await
            .read(count)?;
        }
        OverviewParts::Referred { entries } => {
            for chunk in entries.chunks(IDS_PER_READ) {
                let sql = format!(
                    "SELECT kind, COUNT(*) AS n FROM record_entry WHERE person_id = $1 AND id IN ({}) \
                     GROUP BY kind",
                    placeholders(2, chunk.len())
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&pid);
                for id in chunk {
                    query = query.bind(id.to_string());
                }
                for (kind, n) in query.fetch_all(&mut **tx).await.read(count)? {
                    match counts.iter_mut().find(|(k, _)| *k == kind) {
                        Some((_, total)) => *total += n,
                        None => counts.push((kind, n)),
                    }
                }
            }
        }
    }
    Ok(counts)
}

/// The latest `limit` events about `subject` (a person), newest first.
pub(crate) const SUBJECT_EVENTS: &str = "SELECT seq, at, actor, action, resource_type, resource_id, subject_id, purpose, outcome, prev_hash, hash \
     FROM audit_event WHERE subject_id IN (WITH RECURSIVE merged (id) AS (\
     SELECT CAST($1 AS TEXT) UNION SELECT m.merged_id FROM person_merge m JOIN merged ON m.surviving_id = merged.id) \
     SELECT id FROM merged) ORDER BY seq DESC LIMIT $2";

/// A person's record and its live data key; `None` if there is none (or its key was destroyed).
pub(crate) async fn person_in(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
) -> Result<Option<(SealedPerson, WrappedDataKey)>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{PERSON_WITH_KEY} WHERE p.id = $1"
    )))
    .bind(person_id.to_string())
    .fetch_optional(&mut **tx)
    .await
    .db()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut found = vec![person_with_key(&row)?];
    load_fields(tx, &mut found, &[]).await?;
    Ok(found.pop())
}

/// A person's related people, oldest first, each with their sealed fields and own data key.
pub(crate) async fn related_in(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
) -> Result<Vec<(RelatedRecord, SealedFields, WrappedDataKey)>, StoreError> {
    let pid = person_id.to_string();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{RELATED_WITH_KEY} WHERE r.person_id = $1 ORDER BY r.created_at, r.id"
    )))
    .bind(&pid)
    .fetch_all(&mut **tx)
    .await
    .db()?;
    let fields = sqlx::query(
        "SELECT f.record_id, f.field, f.value FROM record_field f \
         JOIN related_person r ON r.id = f.record_id WHERE r.person_id = $1 ORDER BY f.record_id, f.field",
    )
    .bind(&pid);
    let related = with_fields(
        tx,
        rows,
        |row| Ok((related_from_row(row)?, wrapped_key_from_row(row)?)),
        fields,
    )
    .await?;
    Ok(related
        .into_iter()
        .map(|((record, key), sealed)| (record, sealed, key))
        .collect())
}

/// A person's cases, newest first.
pub(crate) async fn cases_in(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
) -> Result<Vec<CaseRecord>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLUMNS} FROM case_episode WHERE person_id = $1 ORDER BY opened_at DESC, id DESC"
    )))
    .bind(person_id.to_string())
    .fetch_all(&mut **tx)
    .await
    .read(case_from_row)
}

/// A person's documents (metadata and sealed fields; no content), newest first.
pub(crate) async fn documents_in(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
) -> Result<Vec<(DocumentRecord, SealedFields)>, StoreError> {
    let pid = person_id.to_string();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DOCUMENT_COLUMNS} FROM document d WHERE d.person_id = $1 ORDER BY d.created_at DESC, d.id DESC"
    )))
    .bind(&pid)
    .fetch_all(&mut **tx)
    .await
    .db()?;
    let fields = sqlx::query(
        "SELECT f.record_id, f.field, f.value FROM record_field f JOIN document d ON d.id = f.record_id \
         WHERE d.person_id = $1 ORDER BY f.record_id, f.field",
    )
    .bind(&pid);
    with_fields(tx, rows, document_from_row, fields).await
}

impl SqlStore {
    /// See [`RecordStore::person_overview`].
    pub(crate) async fn read_overview(
        &self,
        access: &PersonAccess,
        parts: OverviewParts<'_>,
        audit: Vec<AuditDraft>,
    ) -> Result<Option<OverviewRows>, StoreError> {
        let person_id = access.person_id();
        let mut tx = self.begin_snapshot().await?;
        let Some((person, key)) = person_in(&mut tx, person_id).await? else {
            return Ok(None);
        };
        let entry_counts = entry_counts_in(&mut tx, person_id, parts).await?;
        let mut rows = OverviewRows {
            person,
            key,
            entry_counts,
            related: Vec::new(),
            cases: Vec::new(),
            documents: Vec::new(),
            history: Vec::new(),
        };
        if let OverviewParts::Whole { history } = parts {
            rows.related = related_in(&mut tx, person_id).await?;
            rows.cases = cases_in(&mut tx, person_id).await?;
            rows.documents = documents_in(&mut tx, person_id).await?;
            rows.history = sqlx::query(SUBJECT_EVENTS)
                .bind(person_id.to_string())
                .bind(i64::from(history))
                .fetch_all(&mut *tx)
                .await
                .read(event_from_row)?;
        }
        tx.rollback().await.db()?;
        self.record_accesses(audit).await?;
        let erased = self
            .fill_keys(
                std::iter::once(&mut rows.key).chain(rows.related.iter_mut().map(|(_, _, k)| k)),
            )
            .await?;
        if erased.has(&rows.key) {
            return Ok(None);
        }
        rows.related.retain(|(_, _, k)| !erased.has(k));
        Ok(Some(rows))
    }
}
