//! The merge port of the store: everything sealed under a person's key read out, and a merge
//! written in one transaction (see `confidant_core::person` merge for the guarantees).

use confidant_core::store::{
    MergeConfirmation, MergeCounts, MergeHoldings, MergePlan, MergeRecord, MergeStore, SealedPlace,
    SealedValue,
};

use super::*;

/// The records a person owns whose fields are sealed under the person's key, each with the key
/// version it was sealed under (`$1` is the person).
const OWNED: &str = "SELECT id, key_version FROM record_entry WHERE person_id = $1 \
     UNION ALL SELECT id, key_version FROM document WHERE person_id = $1 \
     UNION ALL SELECT id, key_version FROM contact_preference WHERE person_id = $1 \
     UNION ALL SELECT id, key_version FROM message WHERE person_id = $1 \
     UNION ALL SELECT id, key_version FROM disclosure WHERE person_id = $1 \
     UNION ALL SELECT id, key_version FROM share_approval WHERE person_id = $1 \
     UNION ALL SELECT id, key_version FROM legal_hold WHERE person_id = $1";

/// The tables whose rows belong to a person, with what a merge counts of each.
const COUNTED: [(&str, &str); 13] = [
    (
        "entries",
        "SELECT COUNT(*) FROM record_entry WHERE person_id = $1",
    ),
    (
        "documents",
        "SELECT COUNT(*) FROM document WHERE person_id = $1",
    ),
    (
        "cases",
        "SELECT COUNT(*) FROM case_episode WHERE person_id = $1",
    ),
    (
        "consents",
        "SELECT COUNT(*) FROM consent WHERE person_id = $1",
    ),
    (
        "restrictions",
        "SELECT COUNT(*) FROM person_restriction WHERE person_id = $1",
    ),
    (
        "disclosures",
        "SELECT COUNT(*) FROM disclosure WHERE person_id = $1",
    ),
    (
        "approvals",
        "SELECT COUNT(*) FROM share_approval WHERE person_id = $1",
    ),
    (
        "related_people",
        "SELECT COUNT(*) FROM related_person WHERE person_id = $1",
    ),
    (
        "referrals",
        "SELECT COUNT(*) FROM referral WHERE person_id = $1",
    ),
    (
        "contact_preferences",
        "SELECT COUNT(*) FROM contact_preference WHERE person_id = $1",
    ),
    (
        "messages",
        "SELECT COUNT(*) FROM message WHERE person_id = $1",
    ),
    (
        "grants",
        "SELECT COUNT(*) FROM access_grant WHERE person_id = $1",
    ),
    ("tasks", "SELECT COUNT(*) FROM task WHERE person_id = $1"),
];

/// Row moves, in order (`$1` the survivor, `$2` the merged person; `$3`, where a row carries the key
/// version its fields are sealed under, the survivor's). A merged photo where the survivor has one
/// becomes a document first.
const MOVES: [&str; 19] = [
    "UPDATE document SET is_photo = 0 WHERE person_id = $2 AND is_photo = 1 \
     AND EXISTS (SELECT 1 FROM document s WHERE s.person_id = $1 AND s.is_photo = 1)",
    "UPDATE record_entry SET person_id = $1, key_version = $3 WHERE person_id = $2",
    "UPDATE document SET person_id = $1, key_version = $3 WHERE person_id = $2",
    "UPDATE share_approval SET person_id = $1, key_version = $3 WHERE person_id = $2",
    "UPDATE disclosure SET person_id = $1, key_version = $3 WHERE person_id = $2",
    "UPDATE contact_preference SET person_id = $1, key_version = $3 WHERE person_id = $2",
    "UPDATE message SET person_id = $1, key_version = $3 WHERE person_id = $2",
    "UPDATE case_episode SET person_id = $1 WHERE person_id = $2",
    "UPDATE consent SET person_id = $1 WHERE person_id = $2",
    "UPDATE person_restriction SET person_id = $1 WHERE person_id = $2",
    "UPDATE related_person SET person_id = $1 WHERE person_id = $2",
    "UPDATE related_person SET linked_person_id = $1 WHERE linked_person_id = $2",
    "UPDATE referral SET person_id = $1 WHERE person_id = $2",
    "UPDATE referral SET partner_person_id = $1 WHERE partner_person_id = $2",
    "UPDATE access_grant SET person_id = $1 WHERE person_id = $2",
    "UPDATE task SET person_id = $1 WHERE person_id = $2",
    "UPDATE paper_destruction SET person_id = $1 WHERE person_id = $2",
    "UPDATE rights_request SET person_id = $1 WHERE person_id = $2",
    // A legal hold keeps the merged record's rows wherever they go.
    "UPDATE legal_hold SET person_id = $1, key_version = $3 WHERE person_id = $2",
];

/// What the merged record leaves behind: its details, search entries and key.
const ERASE: [&str; 4] = [
    "DELETE FROM person_field WHERE person_id = $1",
    "DELETE FROM blind_index WHERE person_id = $1",
    "DELETE FROM person_name_gram WHERE person_id = $1",
    "DELETE FROM data_key WHERE owner_id = $1",
];

const GRANT_COLUMNS: [&str; 3] = ["reason", "flagged_reason", "review_note"];

fn counts_json(counts: &MergeCounts) -> Result<String, StoreError> {
    serde_json::to_string(counts).map_err(|e| StoreError::Backend(e.to_string()))
}

fn merge_from_row(row: &AnyRow) -> Result<MergeRecord, StoreError> {
    let moved: String = row.col("moved")?;
    Ok(MergeRecord {
        merged_id: id(row, "merged_id")?,
        merged_number: row.col::<Option<i64>>("merged_number")?.unwrap_or_default(),
        surviving_id: id(row, "surviving_id")?,
        surviving_number: row
            .col::<Option<i64>>("surviving_number")?
            .unwrap_or_default(),
        service_id: id(row, "service_id")?,
        confirmed_how: coded(
            row,
            "confirmed_how",
            MergeConfirmation::from_code,
            "merge confirmation",
        )?,
        merged_by: row.col("merged_by")?,
        merged_at_micros: row.col("merged_at")?,
        moved: serde_json::from_str(&moved).map_err(|e| StoreError::Backend(e.to_string()))?,
    })
}

const MERGE_COLUMNS: &str =
    "merged_id, surviving_id, service_id, confirmed_how, merged_by, merged_at, moved";
/// A merge with both records' numbers (`m` the merge).
const MERGE_SELECT: &str = "SELECT m.merged_id, m.surviving_id, m.service_id, m.confirmed_how, \
     m.merged_by, m.merged_at, m.moved, f.record_number AS merged_number, \
     t.record_number AS surviving_number FROM person_merge m \
     JOIN person f ON f.id = m.merged_id JOIN person t ON t.id = m.surviving_id";

/// Every value sealed under the person's key, where it lives.
async fn sealed_values(
    tx: &mut Transaction<'static, Any>,
    pid: &str,
) -> Result<Vec<SealedValue>, StoreError> {
    let mut values = Vec::new();
    let person_fields =
        sqlx::query("SELECT field, value FROM person_field WHERE person_id = $1 ORDER BY field")
            .bind(pid)
            .fetch_all(&mut **tx)
            .await
            .db()?;
    for row in person_fields {
        values.push(SealedValue {
            place: SealedPlace::PersonField {
                field: coded(&row, "field", PersonField::from_code, "person field")?,
            },
            value: row.col("value")?,
        });
    }
    let versions = sqlx::query(
        "SELECT seq, field, value, key_version FROM field_version WHERE record_id = $1 ORDER BY seq",
    )
    .bind(pid)
    .fetch_all(&mut **tx)
    .await
    .db()?;
    for row in versions {
        values.push(SealedValue {
            place: SealedPlace::PersonVersion {
                seq: row.col("seq")?,
                field: coded(&row, "field", PersonField::from_code, "person field")?,
                key_version: row.col("key_version")?,
            },
            value: row.col("value")?,
        });
    }
    let fields = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT f.record_id, f.field, f.value, o.key_version FROM record_field f \
         JOIN ({OWNED}) o ON o.id = f.record_id ORDER BY f.record_id, f.field"
    )))
    .bind(pid)
    .fetch_all(&mut **tx)
    .await
    .db()?;
    for row in fields {
        values.push(SealedValue {
            place: SealedPlace::RecordField {
                record_id: id(&row, "record_id")?,
                field: row.col("field")?,
                key_version: row.col("key_version")?,
            },
            value: row.col("value")?,
        });
    }
    let record_versions = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT v.seq, v.record_id, v.field, v.value, v.key_version FROM field_version v \
         WHERE v.record_id IN (SELECT id FROM ({OWNED}) o) ORDER BY v.seq"
    )))
    .bind(pid)
    .fetch_all(&mut **tx)
    .await
    .db()?;
    for row in record_versions {
        values.push(SealedValue {
            place: SealedPlace::RecordVersion {
                seq: row.col("seq")?,
                record_id: id(&row, "record_id")?,
                field: row.col("field")?,
                key_version: row.col("key_version")?,
            },
            value: row.col("value")?,
        });
    }
    let contents = sqlx::query(
        "SELECT id, key_version, content FROM document WHERE person_id = $1 ORDER BY id",
    )
    .bind(pid)
    .fetch_all(&mut **tx)
    .await
    .db()?;
    for row in contents {
        values.push(SealedValue {
            place: SealedPlace::DocumentContent {
                document_id: id(&row, "id")?,
                key_version: row.col("key_version")?,
            },
            value: row.col("content")?,
        });
    }
    let grants = sqlx::query(
        "SELECT id, reason, flagged_reason, review_note FROM access_grant WHERE person_id = $1 ORDER BY id",
    )
    .bind(pid)
    .fetch_all(&mut **tx)
    .await
    .db()?;
    for row in grants {
        for column in GRANT_COLUMNS {
            if let Some(value) = row.col::<Option<Vec<u8>>>(column)? {
                values.push(SealedValue {
                    place: SealedPlace::GrantColumn {
                        grant_id: id(&row, "id")?,
                        column,
                    },
                    value,
                });
            }
        }
    }
    Ok(values)
}

/// Everything of the person's a merge moves, read in `tx`; `None` without a live key.
pub(crate) async fn holdings_in(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
    with_values: bool,
) -> Result<Option<MergeHoldings>, StoreError> {
    let pid = person_id.to_string();
    let key_version: Option<i64> = sqlx::query_scalar(
        "SELECT p.key_version FROM person p JOIN data_key k ON k.owner_id = p.id \
         AND k.version = p.key_version WHERE p.id = $1",
    )
    .bind(&pid)
    .fetch_optional(&mut **tx)
    .await
    .db()?;
    let Some(key_version) = key_version else {
        return Ok(None);
    };
    let values = if with_values {
        sealed_values(tx, &pid).await?
    } else {
        Vec::new()
    };
    let mut counts = MergeCounts::default();
    for (what, sql) in COUNTED {
        let n: i64 = sqlx::query_scalar(sql)
            .bind(&pid)
            .fetch_one(&mut **tx)
            .await
            .db()?;
        let slot = match what {
            "entries" => &mut counts.entries,
            "documents" => &mut counts.documents,
            "cases" => &mut counts.cases,
            "consents" => &mut counts.consents,
            "restrictions" => &mut counts.restrictions,
            "disclosures" => &mut counts.disclosures,
            "approvals" => &mut counts.approvals,
            "related_people" => &mut counts.related_people,
            "referrals" => &mut counts.referrals,
            "contact_preferences" => &mut counts.contact_preferences,
            "messages" => &mut counts.messages,
            "grants" => &mut counts.grants,
            _ => &mut counts.tasks,
        };
        *slot = n;
    }
    counts.earlier_values = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM field_version WHERE record_id = $1 \
         OR record_id IN (SELECT id FROM ({OWNED}) o)"
    )))
    .bind(&pid)
    .fetch_one(&mut **tx)
    .await
    .db()?;
    let open_case: Option<String> = sqlx::query_scalar(
        "SELECT c.id FROM case_episode c JOIN person p ON p.id = c.person_id \
         WHERE c.person_id = $1 AND c.service_id = p.service_id AND c.closed_at IS NULL",
    )
    .bind(&pid)
    .fetch_optional(&mut **tx)
    .await
    .db()?;
    let has_photo: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM document WHERE person_id = $1 AND is_photo = 1")
            .bind(&pid)
            .fetch_one(&mut **tx)
            .await
            .db()?;
    Ok(Some(MergeHoldings {
        key_version,
        values,
        counts,
        open_case: open_case
            .map(|c| Uuid::parse_str(&c).map_err(|e| StoreError::Backend(e.to_string())))
            .transpose()?,
        has_photo: has_photo > 0,
    }))
}

/// Writes one resealed value in its place (the person's own fields are written apart).
async fn write_value(
    tx: &mut Transaction<'static, Any>,
    surviving: &str,
    value: &SealedValue,
) -> Result<u64, StoreError> {
    let query = match &value.place {
        SealedPlace::PersonField { .. } => return Ok(1),
        SealedPlace::PersonVersion {
            seq, key_version, ..
        } => sqlx::query(
            "UPDATE field_version SET record_id = $1, value = $2, key_version = $3 WHERE seq = $4",
        )
        .bind(surviving)
        .bind(&value.value)
        .bind(*key_version)
        .bind(*seq),
        SealedPlace::RecordField {
            record_id, field, ..
        } => sqlx::query("UPDATE record_field SET value = $1 WHERE record_id = $2 AND field = $3")
            .bind(&value.value)
            .bind(record_id.to_string())
            .bind(field),
        SealedPlace::RecordVersion {
            seq, key_version, ..
        } => sqlx::query("UPDATE field_version SET value = $1, key_version = $2 WHERE seq = $3")
            .bind(&value.value)
            .bind(*key_version)
            .bind(*seq),
        SealedPlace::DocumentContent { document_id, .. } => {
            sqlx::query("UPDATE document SET content = $1 WHERE id = $2")
                .bind(&value.value)
                .bind(document_id.to_string())
        }
        SealedPlace::GrantColumn { grant_id, column } => {
            let column = GRANT_COLUMNS
                .iter()
                .find(|c| *c == column)
                .ok_or_else(|| StoreError::Backend("not a grant's sealed column".to_owned()))?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE access_grant SET {column} = $1 WHERE id = $2"
            )))
            .bind(&value.value)
            .bind(grant_id.to_string())
        }
    };
    Ok(query.execute(&mut **tx).await.db()?.rows_affected())
}

const CHANGED: &str = "one of the records changed while they were merged; try again";
const BREAKS_LINKS: &str = "merging these records would break the rules on alleged perpetrators: \
     put their related people right first";

/// Whether merging `merged` into `surviving` would break the rules on alleged perpetrators (see
/// [`MergeStore::merge_breaks_links`]): `$1` and `$2` are the two records.
const BREAKS_LINKS_SQL: &str = "SELECT \
     (SELECT COUNT(*) FROM related_person r WHERE r.person_id IN ($1, $2) \
        AND r.linked_person_id IN ($1, $2)) \
     + (SELECT COUNT(*) FROM related_person a JOIN related_person b \
        ON a.linked_person_id = b.linked_person_id \
        WHERE a.person_id IN ($1, $2) AND b.person_id IN ($1, $2) \
        AND a.relationship = 'alleged_perpetrator' AND b.relationship <> 'alleged_perpetrator') \
     + (SELECT COUNT(*) FROM related_person v JOIN related_person r ON r.linked_person_id = v.person_id \
        WHERE v.linked_person_id IN ($1, $2) AND v.relationship = 'alleged_perpetrator' \
        AND r.person_id IN ($1, $2))";

async fn breaks_links(
    executor: impl sqlx::Executor<'_, Database = Any>,
    merged: Uuid,
    surviving: Uuid,
) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(BREAKS_LINKS_SQL)
        .bind(merged.to_string())
        .bind(surviving.to_string())
        .fetch_one(executor)
        .await
        .db()?;
    Ok(n > 0)
}

impl MergeStore for SqlStore {
    async fn merge_holdings(
        &self,
        access: &PersonAccess,
        values: bool,
        audit: AuditDraft,
    ) -> Result<Option<MergeHoldings>, StoreError> {
        let mut tx = self.begin_read().await?;
        let found = holdings_in(&mut tx, access.person_id(), values).await?;
        if found.is_none() {
            tx.rollback().await.db()?;
            return Ok(None);
        }
        finish_read(self, tx, audit).await?;
        Ok(found)
    }

    async fn merge_breaks_links(&self, merged: Uuid, surviving: Uuid) -> Result<bool, StoreError> {
        breaks_links(&self.pool, merged, surviving).await
    }

    async fn merge_people(
        &self,
        plan: MergePlan<'_>,
        audits: Vec<AuditDraft>,
    ) -> Result<bool, StoreError> {
        let merged = plan.merged.person_id();
        let surviving = plan.surviving.person_id();
        let (mid, sid) = (merged.to_string(), surviving.to_string());
        if plan.resealed.len() != plan.read.values.len() {
            return Err(StoreError::Backend(
                "a merge must reseal every value it read".to_owned(),
            ));
        }
        let record = &plan.record;
        let mut tx = self.begin_write().await?;
        // The head lock first, as erasing a person takes it: an erasure either came first (and a
        // key checked next is gone) or waits for this merge. Every change appends under it too,
        // and one about the merged record is refused once this commits (`tx::append`).
        for audit in &audits {
            append(&mut tx, audit).await?;
        }
        // The survivor as it was read (its indexes were computed from it), with its key.
        let survivor = sqlx::query(
            "UPDATE person SET updated_at = $1 WHERE id = $2 AND updated_at = $3 AND key_version = $4 \
             AND EXISTS (SELECT 1 FROM data_key k WHERE k.owner_id = person.id AND k.version = person.key_version)",
        )
        .bind(plan.stamp.at_micros)
        .bind(&sid)
        .bind(plan.surviving_updated_at)
        .bind(plan.surviving_key_version)
        .execute(&mut *tx)
        .await
        .db()?;
        let Some(now) = holdings_in(&mut tx, merged, true).await? else {
            return Ok(false);
        };
        if survivor.rows_affected() != 1 || now != *plan.read {
            return Err(StoreError::Conflict(CHANGED));
        }
        if breaks_links(&mut *tx, merged, surviving).await? {
            return Err(StoreError::Conflict(BREAKS_LINKS));
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO person_merge ({MERGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )))
        .bind(&mid)
        .bind(&sid)
        .bind(record.service_id.to_string())
        .bind(record.confirmed_how.code())
        .bind(&record.merged_by)
        .bind(record.merged_at_micros)
        .bind(counts_json(&record.moved)?)
        .execute(&mut *tx)
        .await
        .or_conflict("the record was merged already")?;
        // One open case per person per service, one live restriction of each kind: where both
        // have one, the merged record's is closed (recorded twice) or lifted, the survivor's holds.
        sqlx::query(
            "UPDATE case_episode SET closed_at = $1, closed_by = $2, closure_reason = $3 \
             WHERE person_id = $4 AND closed_at IS NULL AND EXISTS (SELECT 1 FROM case_episode s \
             WHERE s.person_id = $5 AND s.service_id = case_episode.service_id AND s.closed_at IS NULL)",
        )
        .bind(plan.stamp.at_micros)
        .bind(&plan.stamp.by)
        .bind(confidant_core::store::ClosureReason::RecordedTwice.code())
        .bind(&mid)
        .bind(&sid)
        .execute(&mut *tx)
        .await
        .db()?;
        sqlx::query(
            "UPDATE person_restriction SET lifted_at = $1, lifted_by = 'system:merge' \
             WHERE person_id = $2 AND lifted_at IS NULL AND EXISTS (SELECT 1 FROM person_restriction s \
             WHERE s.person_id = $3 AND s.kind = person_restriction.kind AND s.lifted_at IS NULL)",
        )
        .bind(plan.stamp.at_micros)
        .bind(&mid)
        .bind(&sid)
        .execute(&mut *tx)
        .await
        .db()?;
        // A retention review of the merged record ends: its rows are the survivor's now, and the
        // survivor is reviewed on its own dates.
        sqlx::query(
            "UPDATE retention_review SET state = 'not_destroyed', outcome = 'merged into another record', \
             closed_at = $1 WHERE person_id = $2 AND closed_at IS NULL",
        )
        .bind(plan.stamp.at_micros)
        .bind(&mid)
        .execute(&mut *tx)
        .await
        .db()?;
        for value in &plan.resealed {
            if write_value(&mut tx, &sid, value).await? != 1 {
                return Err(StoreError::Conflict(CHANGED));
            }
        }
        for sql in MOVES {
            let mut query = sqlx::query(sql).bind(&sid).bind(&mid);
            if sql.contains("$3") {
                query = query.bind(plan.surviving_key_version);
            }
            query.execute(&mut *tx).await.or_conflict(CHANGED)?;
        }
        for (field, value) in &plan.fill {
            sqlx::query("INSERT INTO person_field (person_id, field, value) VALUES ($1, $2, $3)")
                .bind(&sid)
                .bind(field.code())
                .bind(value)
                .execute(&mut *tx)
                .await
                .or_conflict(CHANGED)?;
        }
        for (field, value) in &plan.keep {
            sqlx::query(
                "INSERT INTO field_version (record_id, field, value, key_version, changed_by, changed_at, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&sid)
            .bind(field.code())
            .bind(value)
            .bind(plan.surviving_key_version)
            .bind(&plan.stamp.by)
            .bind(plan.stamp.at_micros)
            .bind(confidant_core::store::CorrectionReason::Merged.code())
            .execute(&mut *tx)
            .await
            .db()?;
        }
        set_indexes(
            &mut tx,
            surviving,
            record.service_id,
            plan.indexes.iter().copied(),
        )
        .await?;
        if let Some(grams) = &plan.name_grams {
            set_name_grams(&mut tx, surviving, record.service_id, grams).await?;
        }
        for sql in ERASE {
            sqlx::query(sql).bind(&mid).execute(&mut *tx).await.db()?;
        }
        commit(tx).await?;
        // The merged record's key leaves the key store too.
        self.checkpoint_after_erasure().await;
        Ok(true)
    }

    async fn merges_into(&self, person_id: Uuid) -> Result<Vec<MergeRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{MERGE_SELECT} WHERE m.surviving_id = $1 ORDER BY m.merged_at DESC"
        )))
        .bind(person_id.to_string())
        .fetch_all(&self.pool)
        .await
        .read(merge_from_row)
    }

    async fn merge_of(&self, person_id: Uuid) -> Result<Option<MergeRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{MERGE_SELECT} WHERE m.merged_id = $1"
        )))
        .bind(person_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .db()?
        .map(|row| merge_from_row(&row))
        .transpose()
    }
}
