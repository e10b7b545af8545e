//! The bundle port: an access request's bundle and its items (see `confidant_core::rights::bundle`
//! for the guarantees).

use confidant_core::store::{
    BundleItemRecord, BundleRecord, BundleSource, BundleStore, Decision, DecisionReason, Exemption,
    ItemFlag, Professional, ReferralRecord, Relationship,
};

use super::columns::{REFERRAL_COLUMNS, referral_from_row};
use super::*;

const HEADER: &str = "request_id, compiled_by, compiled_at, manifest, checked_by, checked_at, \
     released_by, released_at, disclosure_id, version";
const ITEM: &str = "request_id, position, source, reference, digest, flags, proposed_withhold, \
     exemption, locked, decision, reason, opinion_on, opinion_by, decided_by, decided_at";
/// The columns of [`ITEM`].
const ITEM_COLUMNS: usize = 15;
/// Items written per statement.
const BATCH: usize = 100;

fn header_from_row(row: &AnyRow) -> Result<BundleRecord, StoreError> {
    Ok(BundleRecord {
        request_id: id(row, "request_id")?,
        compiled_by: row.col("compiled_by")?,
        compiled_at_micros: row.col("compiled_at")?,
        manifest: row.col("manifest")?,
        checked_by: row.col("checked_by")?,
        checked_at_micros: row.col("checked_at")?,
        released_by: row.col("released_by")?,
        released_at_micros: row.col("released_at")?,
        disclosure_id: opt_id(row, "disclosure_id")?,
        version: row.col("version")?,
    })
}

fn item_from_row(row: &AnyRow) -> Result<BundleItemRecord, StoreError> {
    let flags: String = row.col("flags")?;
    let flags = flags
        .split(',')
        .filter(|f| !f.is_empty())
        .map(|f| {
            ItemFlag::from_code(f)
                .ok_or_else(|| StoreError::Backend("unknown item flag code".to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BundleItemRecord {
        request_id: id(row, "request_id")?,
        position: row.col("position")?,
        source: coded(row, "source", BundleSource::from_code, "bundle source")?,
        reference: row.col("reference")?,
        digest: row.col("digest")?,
        flags,
        proposed_withhold: flag(row, "proposed_withhold")?,
        exemption: opt_coded(row, "exemption", Exemption::from_code, "exemption")?,
        locked: flag(row, "locked")?,
        decision: opt_coded(row, "decision", Decision::from_code, "decision")?,
        reason: opt_coded(row, "reason", DecisionReason::from_code, "decision reason")?,
        opinion_on: row.col("opinion_on")?,
        opinion_by: opt_coded(row, "opinion_by", Professional::from_code, "professional")?,
        decided_by: row.col("decided_by")?,
        decided_at_micros: row.col("decided_at")?,
    })
}

impl BundleStore for SqlStore {
    async fn save_bundle(
        &self,
        b: &BundleRecord,
        items: &[BundleItemRecord],
        replace: bool,
        expected_version: Option<i64>,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let request_id = b.request_id.to_string();
        let written = match expected_version {
            None => sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO rights_bundle ({HEADER}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (request_id) DO NOTHING"
            ))),
            Some(_) => sqlx::query(
                "UPDATE rights_bundle SET request_id = $1, compiled_by = $2, compiled_at = $3, \
                 manifest = $4, checked_by = $5, checked_at = $6, released_by = $7, \
                 released_at = $8, disclosure_id = $9, version = $10 \
                 WHERE request_id = $1 AND version = $11",
            ),
        }
        .bind(&request_id)
        .bind(&b.compiled_by)
        .bind(b.compiled_at_micros)
        .bind(&b.manifest)
        .bind(b.checked_by.as_deref())
        .bind(b.checked_at_micros)
        .bind(b.released_by.as_deref())
        .bind(b.released_at_micros)
        .bind(b.disclosure_id.map(|d| d.to_string()))
        .bind(b.version);
        let written = match expected_version {
            Some(v) => written.bind(v),
            None => written,
        }
        .execute(&mut *tx)
        .await
        .db()?;
        if written.rows_affected() == 0 {
            return Ok(false);
        }
        append(&mut tx, &audit).await?;
        if replace {
            sqlx::query("DELETE FROM rights_bundle_item WHERE request_id = $1")
                .bind(&request_id)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        for batch in items.chunks(BATCH) {
            let values: Vec<String> = (0..batch.len())
                .map(|i| format!("({})", placeholders(i * ITEM_COLUMNS + 1, ITEM_COLUMNS)))
                .collect();
            let sql = format!(
                "INSERT INTO rights_bundle_item ({ITEM}) VALUES {} \
                 ON CONFLICT (request_id, position) DO UPDATE SET decision = excluded.decision, \
                 reason = excluded.reason, opinion_on = excluded.opinion_on, \
                 opinion_by = excluded.opinion_by, decided_by = excluded.decided_by, \
                 decided_at = excluded.decided_at",
                values.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for item in batch {
                let flags: Vec<&str> = item.flags.iter().map(|f| f.code()).collect();
                query = query
                    .bind(&request_id)
                    .bind(item.position)
                    .bind(item.source.code())
                    .bind(&item.reference)
                    .bind(&item.digest)
                    .bind(flags.join(","))
                    .bind(i64::from(item.proposed_withhold))
                    .bind(item.exemption.map(|e| e.code()))
                    .bind(i64::from(item.locked))
                    .bind(item.decision.map(|d| d.code()))
                    .bind(item.reason.map(|r| r.code()))
                    .bind(item.opinion_on.as_deref())
                    .bind(item.opinion_by.map(|p| p.code()))
                    .bind(item.decided_by.as_deref())
                    .bind(item.decided_at_micros);
            }
            query.execute(&mut *tx).await.db()?;
        }
        commit(tx).await?;
        Ok(true)
    }

    async fn bundle(
        &self,
        request_id: Uuid,
    ) -> Result<Option<(BundleRecord, Vec<BundleItemRecord>)>, StoreError> {
        let mut conn = self.pool.acquire().await.db()?;
        let header = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {HEADER} FROM rights_bundle WHERE request_id = $1"
        )))
        .bind(request_id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .db()?
        .as_ref()
        .map(header_from_row)
        .transpose()?;
        let Some(header) = header else {
            return Ok(None);
        };
        let items = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM} FROM rights_bundle_item WHERE request_id = $1 ORDER BY position"
        )))
        .bind(request_id.to_string())
        .fetch_all(&mut *conn)
        .await
        .read(item_from_row)?;
        Ok(Some((header, items)))
    }

    async fn referrals_about(&self, person_id: Uuid) -> Result<Vec<ReferralRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REFERRAL_COLUMNS} FROM referral r WHERE r.person_id = $1 \
             ORDER BY r.received_at, r.id"
        )))
        .bind(person_id.to_string())
        .fetch_all(&self.pool)
        .await
        .read(referral_from_row)
    }

    async fn victims_of(&self, person_id: Uuid) -> Result<Vec<Uuid>, StoreError> {
        sqlx::query(
            "SELECT DISTINCT person_id FROM related_person \
             WHERE linked_person_id = $1 AND relationship = $2 ORDER BY person_id",
        )
        .bind(person_id.to_string())
        .bind(Relationship::AllegedPerpetrator.code())
        .fetch_all(&self.pool)
        .await
        .read(|row| id(row, "person_id"))
    }
}
