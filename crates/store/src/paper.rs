//! Paper destroyed outside Confidant (issue 17, part 5): the lines recording it, and what is
//! still to destroy. The keeping port's paper methods delegate here.

use confidant_core::store::{PaperDestroyedLine, PaperDue, PaperRefusal, TaskChange, TaskKind};

use super::keeping::held;
use super::task::apply_task_changes;
use super::*;

/// Paper entries (as the partial index `record_entry_paper` has them).
const PAPER: &str = "(e.kind = 'paper_note' OR e.kind = 'paper_file')";
/// A hold on a query in force covers the person `p` (with `q`).
const COVERS: &str = super::query_hold::covers!();
/// Not yet recorded destroyed.
const NOT_DESTROYED: &str = "(e.status IS NULL OR e.status <> 'destroyed')";

pub(crate) async fn record_destroyed(
    store: &SqlStore,
    access: &PersonAccess,
    line: &PaperDestroyedLine,
    audit: AuditDraft,
) -> Result<Result<(), PaperRefusal>, StoreError> {
    let person_id = access.person_id();
    let mut tx = store.begin_write().await?;
    // The audit head's lock first: a hold being placed is seen, or waits.
    append(&mut tx, &audit).await?;
    let entry: Option<(String, Option<String>, Option<i64>)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT e.kind, e.status, e.due_at FROM record_entry e WHERE e.id = $1 AND e.person_id = $2 \
             AND {PAPER}"
        )))
        .bind(line.entry_id.to_string())
        .bind(person_id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .db()?;
    // Refusals write nothing: dropping the transaction rolls back its event too (core records
    // the refusal's own).
    let Some((kind, status, due_at)) = entry else {
        return Ok(Err(PaperRefusal::NotPaper));
    };
    if status.as_deref() == Some("destroyed") {
        return Ok(Err(PaperRefusal::Destroyed));
    }
    // Paper is destroyed when its time has come: an archived file on its date, a paper note once
    // typed into the record, or any of it once the record's destruction is approved and waited.
    let approved: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM retention_review WHERE person_id = $1 AND state = 'approved' \
         AND destroy_after <= $2",
    )
    .bind(person_id.to_string())
    .bind(line.recorded_at_micros)
    .fetch_one(&mut *tx)
    .await
    .db()?;
    let its_time = approved > 0
        || match kind.as_str() {
            "paper_file" => due_at.is_some_and(|d| d <= line.recorded_at_micros),
            _ => status.as_deref() == Some("transcribed"),
        };
    if !its_time {
        return Ok(Err(PaperRefusal::NotDue));
    }
    if held(&mut tx, person_id).await? {
        return Ok(Err(PaperRefusal::Held));
    }
    sqlx::query("UPDATE record_entry SET status = 'destroyed', updated_at = $1 WHERE id = $2")
        .bind(line.recorded_at_micros)
        .bind(line.entry_id.to_string())
        .execute(&mut *tx)
        .await
        .db()?;
    sqlx::query(
        "INSERT INTO paper_destruction (id, entry_id, person_id, destroyed_by, reference, destroyed_on, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(line.id.to_string())
    .bind(line.entry_id.to_string())
    .bind(person_id.to_string())
    .bind(&line.destroyed_by)
    .bind(&line.reference)
    .bind(&line.destroyed_on)
    .bind(&line.recorded_by)
    .bind(line.recorded_at_micros)
    .execute(&mut *tx)
    .await
    .or_conflict("this paper was recorded destroyed already")?;
    let close = TaskChange::Close {
        kind: TaskKind::PaperDestruction,
        subject_id: line.entry_id,
        outcome: "paper.destroyed",
    };
    apply_task_changes(
        &mut tx,
        &[close],
        &line.recorded_by,
        line.recorded_at_micros,
    )
    .await?;
    commit(tx).await?;
    Ok(Ok(()))
}

pub(crate) async fn destroyed_of(
    store: &SqlStore,
    access: &PersonAccess,
) -> Result<Vec<PaperDestroyedLine>, StoreError> {
    sqlx::query(
        "SELECT id, entry_id, destroyed_by, reference, destroyed_on, recorded_by, recorded_at \
         FROM paper_destruction WHERE person_id = $1 ORDER BY recorded_at, id",
    )
    .bind(access.person_id().to_string())
    .fetch_all(&store.pool)
    .await
    .read(|row| {
        Ok(PaperDestroyedLine {
            id: id(row, "id")?,
            entry_id: id(row, "entry_id")?,
            destroyed_by: row.col("destroyed_by")?,
            reference: row.col("reference")?,
            destroyed_on: row.col("destroyed_on")?,
            recorded_by: row.col("recorded_by")?,
            recorded_at_micros: row.col("recorded_at")?,
        })
    })
}

pub(crate) async fn to_destroy(
    store: &SqlStore,
    organisation_id: Uuid,
    now_micros: i64,
) -> Result<Vec<PaperDue>, StoreError> {
    // Never while a hold or a restriction of processing is in force; the paper of a record whose
    // destruction is approved only once its waiting period is over (until then it may be
    // withdrawn), due from then. Transcribed notes go to core, which knows the rules.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT e.id, e.person_id, p.service_id, s.code AS service_code, \
         CASE WHEN e.kind = 'paper_file' AND e.due_at <= $2 THEN e.due_at END AS file_due, \
         CASE WHEN e.kind = 'paper_note' AND e.status = 'transcribed' THEN e.updated_at END \
           AS transcribed_at, \
         (SELECT MIN(r.destroy_after) FROM retention_review r WHERE r.person_id = e.person_id \
          AND r.state = 'approved' AND r.destroy_after <= $2) AS approved_due \
         FROM record_entry e JOIN person p ON p.id = e.person_id JOIN service s ON s.id = p.service_id \
         WHERE s.organisation_id = $1 AND {PAPER} AND {NOT_DESTROYED} \
         AND NOT EXISTS (SELECT 1 FROM legal_hold h WHERE h.person_id = e.person_id AND h.released_at IS NULL) \
         AND NOT EXISTS (SELECT 1 FROM legal_hold_query q WHERE q.released_at IS NULL AND {COVERS}) \
         AND NOT EXISTS (SELECT 1 FROM person_restriction x WHERE x.person_id = e.person_id \
             AND x.kind = 'restriction' AND x.lifted_at IS NULL) \
         AND ((e.kind = 'paper_file' AND e.due_at <= $2) \
              OR (e.kind = 'paper_note' AND e.status = 'transcribed') \
              OR EXISTS (SELECT 1 FROM retention_review r \
              WHERE r.person_id = e.person_id AND r.state = 'approved' AND r.destroy_after <= $2)) \
         ORDER BY e.id"
    )))
    .bind(organisation_id.to_string())
    .bind(now_micros)
    .fetch_all(&store.pool)
    .await
    .read(|row| {
        let approved: Option<i64> = row.col("approved_due")?;
        let file_due: Option<i64> = row.col("file_due")?;
        // A transcribed note not of a record approved for destruction: core weighs its rules.
        let transcribed: Option<i64> = row.col("transcribed_at")?;
        Ok(PaperDue {
            entry_id: id(row, "id")?,
            person_id: id(row, "person_id")?,
            service_id: id(row, "service_id")?,
            due_at_micros: approved.or(file_due),
            transcribed_at_micros: transcribed.filter(|_| approved.is_none()),
            service_code: row.col("service_code")?,
        })
    })
}

pub(crate) async fn outstanding(
    store: &SqlStore,
    access: &PersonAccess,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM record_entry e WHERE e.person_id = $1 AND {PAPER} AND {NOT_DESTROYED}"
    )))
    .bind(access.person_id().to_string())
    .fetch_one(&store.pool)
    .await
    .db()
}
