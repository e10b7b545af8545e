//! The person port of the store.

use std::collections::BTreeMap;

use super::*;

pub(crate) fn placement_from_row(row: &AnyRow) -> Result<Placement, StoreError> {
    let scope: String = row.col("access_scope")?;
    Ok(Placement {
        person_id: id(row, "id")?,
        service_id: id(row, "service_id")?,
        organisation_id: id(row, "organisation_id")?,
        team_id: opt_id(row, "team_id")?,
        key_worker_id: opt_id(row, "key_worker_id")?,
        scope: scope_from_code(&scope)?,
    })
}

impl PersonStore for SqlStore {
    async fn assign_person(
        &self,
        access: &PersonAccess,
        team_id: Option<Uuid>,
        key_worker_id: Option<Uuid>,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let person_id = access.person_id();
        let change =
            sqlx::query("UPDATE person SET team_id = $1, key_worker_id = $2 WHERE id = $3")
                .bind(team_id.map(|t| t.to_string()))
                .bind(key_worker_id.map(|k| k.to_string()))
                .bind(person_id.to_string());
        change_audited(self, change, audit).await
    }

    async fn placement(&self, person_id: Uuid) -> Result<Option<Placement>, StoreError> {
        self.read_optional("SELECT p.id, p.service_id, p.team_id, p.key_worker_id, s.organisation_id, s.access_scope \
             FROM person p JOIN service s ON s.id = p.service_id WHERE p.id = $1", person_id, placement_from_row).await
    }

    async fn create_person(
        &self,
        person: &SealedPerson,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        audit: AuditDraft,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, &audit).await?;
        let number = insert_person(&mut tx, &self.vault, person, indexes, key).await?;
        commit(tx).await?;
        Ok(number)
    }

    async fn read_person(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<Option<(SealedPerson, WrappedDataKey)>, StoreError> {
        let mut tx = self.begin_read().await?;
        let Some(mut found) = overview::person_in(&mut tx, access.person_id()).await? else {
            return Ok(None);
        };
        finish_read(self, tx, audit).await?;
        let erased = self.fill_keys([&mut found.1]).await?;
        Ok(Some(found).filter(|(_, k)| !erased.has(k)))
    }

    async fn update_person(
        &self,
        access: &PersonAccess,
        fields: &[FieldChange],
        indexes: &[IndexChange],
        name_grams: Option<&[GramDigest]>,
        expected_updated_at_micros: i64,
        stamp: &ChangeStamp,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let person_id = access.person_id();
        let mut tx = self.begin_write().await?;
        let pid = person_id.to_string();
        let row =
            sqlx::query("SELECT service_id, key_version, updated_at FROM person WHERE id = $1")
                .bind(&pid)
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        let Some(row) = row else {
            return Ok(false);
        };
        let stored_at: i64 = row.col("updated_at")?;
        const CHANGED: &str = "the record changed meanwhile; read it again";
        if stored_at != expected_updated_at_micros {
            return Err(StoreError::Conflict(CHANGED));
        }
        let service_id = id(&row, "service_id")?;
        let key_version: i64 = row.col("key_version")?;
        // The timestamp moves strictly forward, so optimistic checks cannot be fooled by a clock tie.
        // Conditional, so a concurrent change that read the same time loses (PostgreSQL reads above
        // take no lock; the row lock taken here makes the second writer re-check).
        let moved =
            sqlx::query("UPDATE person SET updated_at = $1 WHERE id = $2 AND updated_at = $3")
                .bind(stamp.at_micros.max(stored_at + 1))
                .bind(&pid)
                .bind(stored_at)
                .execute(&mut *tx)
                .await
                .db()?;
        if moved.rows_affected() == 0 {
            return Err(StoreError::Conflict(CHANGED));
        }
        for (field, value) in fields {
            keep_version(
                &mut tx,
                KEEP_PERSON_FIELD,
                &pid,
                field.code(),
                key_version,
                stamp,
                None,
            )
            .await?;
            sqlx::query("DELETE FROM person_field WHERE person_id = $1 AND field = $2")
                .bind(&pid)
                .bind(field.code())
                .execute(&mut *tx)
                .await
                .db()?;
            if let Some(v) = value {
                sqlx::query(
                    "INSERT INTO person_field (person_id, field, value) VALUES ($1, $2, $3)",
                )
                .bind(&pid)
                .bind(field.code())
                .bind(v)
                .execute(&mut *tx)
                .await
                .db()?;
            }
        }
        set_indexes(&mut tx, person_id, service_id, indexes.iter().copied()).await?;
        if let Some(grams) = name_grams {
            set_name_grams(&mut tx, person_id, service_id, grams).await?;
        }
        append(&mut tx, &audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn search_people_by_grams(
        &self,
        service_id: Uuid,
        grams: &[GramDigest],
        fields: &[PersonField],
        after: Option<Uuid>,
        limit: u32,
        audit: AuditDraft,
    ) -> Result<confidant_core::store::CandidatePage, StoreError> {
        let mut unique: Vec<&GramDigest> = grams.iter().collect();
        unique.sort_unstable();
        unique.dedup();
        let mut tx = self.begin_read().await?;
        let mut people = Vec::new();
        let mut next = None;
        if !unique.is_empty() && unique.len() <= 200 {
            let ids = people_holding(&mut tx, service_id, &unique, after, limit).await?;
            if ids.len() == usize::try_from(limit).unwrap_or(usize::MAX) {
                next = ids.last().and_then(|id| Uuid::parse_str(id).ok());
            }
            if !ids.is_empty() {
                let sql = format!(
                    "{PERSON_WITH_KEY} WHERE p.id IN ({}) ORDER BY p.id",
                    placeholders(1, ids.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in &ids {
                    q = q.bind(id.as_str());
                }
                people = q
                    .fetch_all(&mut *tx)
                    .await
                    .db()?
                    .iter()
                    .map(person_with_key)
                    .collect::<Result<Vec<_>, _>>()?;
                load_fields(&mut tx, &mut people, fields).await?;
            }
        }
        finish_read(self, tx, audit).await?;
        let erased = self.fill_keys(people.iter_mut().map(|(_, k)| k)).await?;
        people.retain(|(_, k)| !erased.has(k));
        Ok((people, next))
    }

    async fn list_people(
        &self,
        service_id: Uuid,
        fields: &[PersonField],
        after: Option<Uuid>,
        limit: u32,
        audit: AuditDraft,
    ) -> Result<Vec<(SealedPerson, WrappedDataKey)>, StoreError> {
        let mut tx = self.begin_read().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PERSON_WITH_KEY} WHERE p.service_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3"
        )))
        .bind(service_id.to_string())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .db()?;
        let mut people = rows
            .iter()
            .map(person_with_key)
            .collect::<Result<Vec<_>, _>>()?;
        load_fields(&mut tx, &mut people, fields).await?;
        finish_read(self, tx, audit).await?;
        let erased = self.fill_keys(people.iter_mut().map(|(_, k)| k)).await?;
        people.retain(|(_, k)| !erased.has(k));
        Ok(people)
    }

    async fn find_people(
        &self,
        service_id: Uuid,
        field: IndexField,
        digest: &[u8; 16],
        audit: AuditDraft,
    ) -> Result<Vec<Uuid>, StoreError> {
        let mut tx = self.begin_read().await?;
        let ids = holding(&mut tx, service_id, field, digest).await?;
        finish_read(self, tx, audit).await?;
        Ok(ids)
    }

    async fn find_people_by_indexes(
        &self,
        service_id: Uuid,
        digests: &[(IndexField, [u8; 16])],
        audit: AuditDraft,
    ) -> Result<Vec<(Uuid, Vec<IndexField>)>, StoreError> {
        let mut tx = self.begin_read().await?;
        let mut found: BTreeMap<Uuid, Vec<IndexField>> = BTreeMap::new();
        for (field, digest) in digests {
            for id in holding(&mut tx, service_id, *field, digest).await? {
                found.entry(id).or_default().push(*field);
            }
        }
        finish_read(self, tx, audit).await?;
        Ok(found.into_iter().collect())
    }

    async fn service_config(&self, service_id: Uuid) -> Result<Option<ServiceConfig>, StoreError> {
        self.read_optional("SELECT service_id, field_groups, referrals, partner_service_id FROM service_config WHERE service_id = $1", service_id, service_config_from_row).await
    }

    async fn set_service_config(
        &self,
        config: &ServiceConfig,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let upsert = sqlx::query(
            "INSERT INTO service_config (service_id, field_groups, referrals, partner_service_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (service_id) DO UPDATE SET \
             field_groups = excluded.field_groups, referrals = excluded.referrals, \
             partner_service_id = excluded.partner_service_id, updated_at = excluded.updated_at",
        )
        .bind(config.service_id.to_string())
        .bind(config.field_groups.codes())
        .bind(config.referrals.code())
        .bind(config.partner_service_id.map(|p| p.to_string()))
        .bind(now_micros());
        insert_audited(self, upsert, "conflict", audit).await
    }
}

/// How many rows of one gram [`people_holding`] counts at most when it picks the gram to start
/// from: enough to tell a rare gram from a common one without counting all of a common one's
/// rows. When every gram is common they tie, and the walk may then cover a common gram's range.
const GRAM_COUNT_CAP: i64 = 1000;

/// The ids of the service's people holding every one of `grams`, in id order after `after`, at
/// most `limit`. Starts from the rarest gram (each counted up to [`GRAM_COUNT_CAP`]) and walks its
/// index range in id order, probing each person for the other grams by primary key and stopping at
/// the first one missing, until the page is full: a page costs about one look-up per person walked
/// past, never a pass over every row of every gram (only, at worst, of the one it starts from).
///
/// Each probe is a scalar subquery (`(SELECT 1 … LIMIT 1) IS NOT NULL`), not `EXISTS`: PostgreSQL
/// turns `EXISTS` into semi-joins that, with many grams, its planner may run as scans of the whole
/// table, while a scalar subquery stays a per-row look-up on both backends.
async fn people_holding(
    tx: &mut Transaction<'static, Any>,
    service_id: Uuid,
    grams: &[&GramDigest],
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    let service = service_id.to_string();
    let mut counted = Vec::with_capacity(grams.len());
    for gram in grams {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM person_name_gram WHERE service_id = $1 AND digest = $2 LIMIT $3) c",
        )
        .bind(&service)
        .bind(gram.to_vec())
        .bind(GRAM_COUNT_CAP)
        .fetch_one(&mut **tx)
        .await
        .db()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        counted.push((n, *gram));
    }
    counted.sort_by_key(|(n, _)| *n);
    let (start, rest) = counted.split_first().ok_or(StoreError::Backend(
        "a name search without grams".to_owned(),
    ))?;
    let probes: String = (0..rest.len())
        .map(|i| {
            format!(
                " AND (SELECT 1 FROM person_name_gram h WHERE h.person_id = g.person_id AND h.digest = ${} LIMIT 1) IS NOT NULL",
                i + 5
            )
        })
        .collect();
    let sql = format!(
        "SELECT g.person_id FROM person_name_gram g WHERE g.service_id = $1 AND g.digest = $2 \
         AND g.person_id > $3{probes} ORDER BY g.person_id LIMIT $4"
    );
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&service)
        .bind(start.1.to_vec())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit));
    for (_, gram) in rest {
        q = q.bind(gram.to_vec());
    }
    q.fetch_all(&mut **tx).await.db()
}

/// The ids of a service's people whose blind index `field` is `digest`, ordered by id.
async fn holding(
    tx: &mut Transaction<'static, Any>,
    service_id: Uuid,
    field: IndexField,
    digest: &[u8; 16],
) -> Result<Vec<Uuid>, StoreError> {
    let rows = sqlx::query(
        "SELECT person_id FROM blind_index WHERE field = $1 AND digest = $2 AND service_id = $3 ORDER BY person_id",
    )
    .bind(field.code())
    .bind(digest.to_vec())
    .bind(service_id.to_string())
    .fetch_all(&mut **tx)
    .await
    .db()?;
    rows.iter().map(|r| id(r, "person_id")).collect()
}
