//! Legal holds on a query (see `confidant_core::keeping` for the guarantees): placed, released,
//! listed, and the look-ups that make every check of a hold see them too.

use confidant_core::store::{LegalHoldKind, QueryHoldRecord};

use super::*;

/// Whether the hold on a query `q` covers the person `p`: their record made in the service in its
/// period (or a record merged into theirs made then), or a case of theirs in the service open at
/// any time in it (a merged record's cases moved to theirs).
macro_rules! covers {
    () => {
        "((q.service_id = p.service_id AND p.created_at BETWEEN q.from_at AND q.to_at) \
         OR EXISTS (SELECT 1 FROM case_episode c WHERE c.person_id = p.id \
             AND c.service_id = q.service_id AND c.opened_at <= q.to_at \
             AND (c.closed_at IS NULL OR c.closed_at >= q.from_at)) \
         OR EXISTS (SELECT 1 FROM person_merge g JOIN person m ON m.id = g.merged_id \
             WHERE g.surviving_id = p.id AND m.service_id = q.service_id \
             AND m.created_at BETWEEN q.from_at AND q.to_at))"
    };
}

pub(crate) use covers;

/// How many holds on a query in force keep the person `p`, and when the latest released one that
/// covered them was released (correlated look-ups, for the sweep's select list).
macro_rules! of_p {
    () => {
        concat!(
            "(SELECT COUNT(*) FROM legal_hold_query q WHERE q.released_at IS NULL AND ",
            $crate::query_hold::covers!(),
            ") AS query_holds, \
             (SELECT MAX(q.released_at) FROM legal_hold_query q WHERE q.released_at IS NOT NULL AND ",
            $crate::query_hold::covers!(),
            ") AS query_released"
        )
    };
}
pub(crate) use of_p;

/// The holds on a query in force that keep the person `$1` (their ids: counted once however many
/// of a record's merged ids they cover).
pub(crate) const LIVE_OF_PERSON: &str = concat!(
    "SELECT q.id FROM person p JOIN legal_hold_query q ON q.released_at IS NULL AND ",
    covers!(),
    " WHERE p.id = $1"
);

/// Whether a hold on a query in force covers the referral `r`: of its service, received in its
/// period (what was received is a record of the service made then).
pub(crate) const COVERS_REFERRAL: &str = "EXISTS (SELECT 1 FROM legal_hold_query q \
     WHERE q.released_at IS NULL AND q.service_id = r.service_id \
     AND r.received_at BETWEEN q.from_at AND q.to_at)";

/// The records that link to the person `$1` (a related person who is them, a referral from their
/// case), by id: destroying them would break those records.
macro_rules! linking_to {
    () => {
        "(SELECT r.person_id FROM related_person r WHERE r.linked_person_id = $1 \
          UNION SELECT f.person_id FROM referral f WHERE f.partner_person_id = $1)"
    };
}
pub(crate) use linking_to;

/// How many holds on a query in force keep a record that links to the person `$1`.
pub(crate) const LIVE_OF_LINKED: &str = concat!(
    "SELECT COUNT(*) FROM person p JOIN legal_hold_query q ON q.released_at IS NULL AND ",
    covers!(),
    " WHERE p.id IN ",
    linking_to!()
);

const COLUMNS: &str = "id, organisation_id, service_id, kind, from_on, to_on, from_at, to_at, reason, \
     placed_by, placed_at, released_by, released_at, release_reason";

fn from_row(row: &AnyRow) -> Result<QueryHoldRecord, StoreError> {
    Ok(QueryHoldRecord {
        id: id(row, "id")?,
        organisation_id: id(row, "organisation_id")?,
        service_id: id(row, "service_id")?,
        kind: coded(row, "kind", LegalHoldKind::from_code, "legal hold kind")?,
        from_on: row.col("from_on")?,
        to_on: row.col("to_on")?,
        from_at_micros: row.col("from_at")?,
        to_at_micros: row.col("to_at")?,
        reason: row.col("reason")?,
        placed_by: row.col("placed_by")?,
        placed_at_micros: row.col("placed_at")?,
        released_by: row.col("released_by")?,
        released_at_micros: row.col("released_at")?,
        release_reason: row.col("release_reason")?,
    })
}

pub(crate) async fn place(
    store: &SqlStore,
    hold: &QueryHoldRecord,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    // The head lock first: a destruction checking its holds either sees this one or runs before.
    append(&mut tx, &audit).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO legal_hold_query ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, NULL)"
    )))
    .bind(hold.id.to_string())
    .bind(hold.organisation_id.to_string())
    .bind(hold.service_id.to_string())
    .bind(hold.kind.code())
    .bind(&hold.from_on)
    .bind(&hold.to_on)
    .bind(hold.from_at_micros)
    .bind(hold.to_at_micros)
    .bind(&hold.reason)
    .bind(&hold.placed_by)
    .bind(hold.placed_at_micros)
    .execute(&mut *tx)
    .await
    .db()?;
    commit(tx).await
}

pub(crate) async fn release(
    store: &SqlStore,
    organisation_id: Uuid,
    hold_id: Uuid,
    (by, at_micros, reason): (&str, i64, &str),
    audit: AuditDraft,
) -> Result<bool, StoreError> {
    let mut tx = store.begin_write().await?;
    // The head lock first, as every write takes it (a refusal rolls the event back with the rest).
    append(&mut tx, &audit).await?;
    let done = sqlx::query(
        "UPDATE legal_hold_query SET released_by = $1, released_at = $2, release_reason = $3 \
         WHERE id = $4 AND organisation_id = $5 AND released_at IS NULL",
    )
    .bind(by)
    .bind(at_micros)
    .bind(reason)
    .bind(hold_id.to_string())
    .bind(organisation_id.to_string())
    .execute(&mut *tx)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    commit(tx).await?;
    Ok(true)
}

pub(crate) async fn one(
    store: &SqlStore,
    organisation_id: Uuid,
    hold_id: Uuid,
) -> Result<Option<QueryHoldRecord>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM legal_hold_query WHERE id = $1 AND organisation_id = $2"
    )))
    .bind(hold_id.to_string())
    .bind(organisation_id.to_string())
    .fetch_optional(&store.pool)
    .await
    .db()?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub(crate) async fn list(
    store: &SqlStore,
    organisation_id: Uuid,
) -> Result<Vec<(QueryHoldRecord, i64)>, StoreError> {
    let holds = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM legal_hold_query WHERE organisation_id = $1 \
         ORDER BY placed_at DESC, id DESC LIMIT 200"
    )))
    .bind(organisation_id.to_string())
    .fetch_all(&store.pool)
    .await
    .read(from_row)?;
    let mut out = Vec::with_capacity(holds.len());
    for hold in holds {
        // Records as they stand: one merged into another counts as the one it is now part of.
        let kept: i64 = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM person p JOIN legal_hold_query q ON q.id = $1 AND ",
            covers!(),
            " WHERE NOT EXISTS (SELECT 1 FROM person_merge g WHERE g.merged_id = p.id)"
        ))
        .bind(hold.id.to_string())
        .fetch_one(&store.pool)
        .await
        .db()?;
        out.push((hold, kept));
    }
    Ok(out)
}
