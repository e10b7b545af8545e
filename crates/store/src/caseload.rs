//! The caseload port of the store: a service's people filtered by placement and case, the counts
//! per worker, and a processor's worker's referred people.

use confidant_core::store::{
    CaseStatus, CaseloadFilter, CaseloadRow, CaseloadStore, DiaryRow, ReferredPerson, WorkerFilter,
    WorkerLoad,
};

use super::*;

/// The person's open case in their service (`c` is its alias), as a condition.
const OPEN_CASE: &str = "SELECT 1 FROM case_episode c WHERE c.person_id = p.id \
     AND c.service_id = p.service_id AND c.closed_at IS NULL";
/// Any case of the person in their service.
const ANY_CASE: &str =
    "SELECT 1 FROM case_episode c WHERE c.person_id = p.id AND c.service_id = p.service_id";

/// The conditions (on `p`, a person) and their bound values that `filter` adds.
fn filter_conditions(
    filter: &CaseloadFilter,
    conditions: &mut Vec<String>,
    binds: &mut Vec<String>,
) {
    match filter.worker {
        WorkerFilter::Any => {}
        WorkerFilter::Unassigned => conditions.push("p.key_worker_id IS NULL".to_owned()),
        WorkerFilter::Worker(id) => {
            binds.push(id.to_string());
            conditions.push(format!("p.key_worker_id = ${}", binds.len()));
        }
    }
    if let Some(team) = filter.team_id {
        binds.push(team.to_string());
        conditions.push(format!("p.team_id = ${}", binds.len()));
    }
    match filter.status {
        None => {}
        Some(CaseStatus::Open) => conditions.push(format!("EXISTS ({OPEN_CASE})")),
        Some(CaseStatus::Closed) => {
            conditions.push(format!("NOT EXISTS ({OPEN_CASE}) AND EXISTS ({ANY_CASE})"))
        }
        Some(CaseStatus::NoCase) => conditions.push(format!("NOT EXISTS ({ANY_CASE})")),
    }
}

impl CaseloadStore for SqlStore {
    async fn caseload(
        &self,
        service_id: Uuid,
        filter: &CaseloadFilter,
        fields: &[PersonField],
        now_micros: i64,
        after: Option<Uuid>,
        limit: u32,
        audit: AuditDraft,
    ) -> Result<Vec<CaseloadRow>, StoreError> {
        let mut binds: Vec<String> = vec![
            service_id.to_string(),
            after.map(|a| a.to_string()).unwrap_or_default(),
        ];
        let mut conditions = vec!["p.service_id = $1".to_owned(), "p.id > $2".to_owned()];
        filter_conditions(filter, &mut conditions, &mut binds);
        let now_at = binds.len() + 1;
        let limit_at = binds.len() + 2;
        let sql = format!(
            "SELECT pk.*, \
               (SELECT MAX(c.opened_at) FROM case_episode c WHERE c.person_id = pk.id \
                  AND c.service_id = pk.service_id AND c.closed_at IS NULL) AS open_since, \
               (SELECT MAX(c.closed_at) FROM case_episode c WHERE c.person_id = pk.id \
                  AND c.service_id = pk.service_id) AS last_closed, \
               (SELECT MAX(e.occurs_at) FROM record_entry e WHERE e.person_id = pk.id \
                  AND e.kind = 'note' AND e.error_at IS NULL AND e.occurs_at <= ${now_at}) AS last_contact \
             FROM ({PERSON_WITH_KEY} WHERE {} ORDER BY p.id LIMIT ${limit_at}) pk ORDER BY pk.id",
            conditions.join(" AND ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let mut tx = self.begin_read().await?;
        let rows = q
            .bind(now_micros)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .db()?;
        let mut people = rows
            .iter()
            .map(person_with_key)
            .collect::<Result<Vec<_>, _>>()?;
        let extras = rows
            .iter()
            .map(|r| {
                Ok((
                    r.col::<Option<i64>>("open_since")?,
                    r.col::<Option<i64>>("last_closed")?,
                    r.col::<Option<i64>>("last_contact")?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        load_fields(&mut tx, &mut people, fields).await?;
        finish_read(self, tx, audit).await?;
        let erased = self.fill_keys(people.iter_mut().map(|(_, k)| k)).await?;
        Ok(people
            .into_iter()
            .zip(extras)
            .filter(|((_, key), _)| !erased.has(key))
            .map(|((person, key), (open, closed, contact))| CaseloadRow {
                person,
                key,
                open_since_micros: open,
                closed_at_micros: if open.is_some() { None } else { closed },
                last_contact_micros: contact,
            })
            .collect())
    }

    async fn caseload_counts(
        &self,
        service_id: Uuid,
        team_id: Option<Uuid>,
        audit: AuditDraft,
    ) -> Result<Vec<WorkerLoad>, StoreError> {
        let sql = format!(
            "SELECT p.key_worker_id, COUNT(*) AS people, \
               SUM(CASE WHEN EXISTS ({OPEN_CASE}) THEN 1 ELSE 0 END) AS open_cases \
             FROM person p JOIN data_key k ON k.owner_id = p.id AND k.version = p.key_version \
             WHERE p.service_id = $1 AND ($2 = '' OR p.team_id = $2) \
             GROUP BY p.key_worker_id ORDER BY p.key_worker_id"
        );
        let mut tx = self.begin_read().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(service_id.to_string())
            .bind(team_id.map(|t| t.to_string()).unwrap_or_default())
            .fetch_all(&mut *tx)
            .await
            .db()?;
        let loads = rows
            .iter()
            .map(|r| {
                Ok(WorkerLoad {
                    key_worker_id: opt_id(r, "key_worker_id")?,
                    people: r.col("people")?,
                    open_cases: r.col::<Option<i64>>("open_cases")?.unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        finish_read(self, tx, audit).await?;
        Ok(loads)
    }

    async fn appointments_between(
        &self,
        service_id: Uuid,
        filter: &CaseloadFilter,
        fields: &[PersonField],
        from_micros: i64,
        to_micros: i64,
        limit: u32,
        audit: AuditDraft,
    ) -> Result<Vec<DiaryRow>, StoreError> {
        let mut binds: Vec<String> = vec![service_id.to_string()];
        let mut conditions = vec!["p.service_id = $1".to_owned()];
        filter_conditions(filter, &mut conditions, &mut binds);
        let (from_at, to_at, limit_at) = (binds.len() + 1, binds.len() + 2, binds.len() + 3);
        let sql = format!(
            "SELECT e.id AS entry_id, e.occurs_at, e.status AS entry_status, \
               e.key_version AS entry_key_version, pk.* \
             FROM record_entry e JOIN ({PERSON_WITH_KEY} WHERE {}) pk ON pk.id = e.person_id \
             WHERE e.kind = 'appointment' AND e.error_at IS NULL \
               AND e.occurs_at >= ${from_at} AND e.occurs_at < ${to_at} \
             ORDER BY e.occurs_at, e.id LIMIT ${limit_at}",
            conditions.join(" AND ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let mut tx = self.begin_read().await?;
        let rows = q
            .bind(from_micros)
            .bind(to_micros)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .db()?;
        // A person with several appointments is read once.
        let mut people: Vec<(SealedPerson, WrappedDataKey)> = Vec::new();
        for row in &rows {
            let (person, key) = person_with_key(row)?;
            if !people.iter().any(|(p, _)| p.id == person.id) {
                people.push((person, key));
            }
        }
        load_fields(&mut tx, &mut people, fields).await?;
        let mut diary = Vec::with_capacity(rows.len());
        for row in &rows {
            let person_id: Uuid = id(row, "id")?;
            let Some((person, key)) = people.iter().find(|(p, _)| p.id == person_id).cloned()
            else {
                continue;
            };
            let entry_id: Uuid = id(row, "entry_id")?;
            diary.push(DiaryRow {
                entry_id,
                occurs_at_micros: row.col("occurs_at")?,
                status: opt_coded(row, "entry_status", EntryStatus::from_code, "entry status")?,
                entry_key_version: row.col("entry_key_version")?,
                values: record_fields(&mut tx, entry_id).await?,
                person,
                key,
            });
        }
        finish_read(self, tx, audit).await?;
        let erased = self.fill_keys(diary.iter_mut().map(|d| &mut d.key)).await?;
        diary.retain(|d| !erased.has(&d.key));
        Ok(diary)
    }

    async fn person_numbered(
        &self,
        service_id: Uuid,
        record_number: i64,
    ) -> Result<Option<Uuid>, StoreError> {
        let found: Option<String> = sqlx::query_scalar(
            // A record erased or merged away (its key destroyed) is no one's to find by number.
            "SELECT p.id FROM person p WHERE p.service_id = $1 AND p.record_number = $2 \
             AND EXISTS (SELECT 1 FROM data_key k WHERE k.owner_id = p.id AND k.version = p.key_version)",
        )
        .bind(service_id.to_string())
        .bind(record_number)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        found
            .map(|id| Uuid::parse_str(&id).map_err(|_| StoreError::Backend("a person id".into())))
            .transpose()
    }

    async fn referred_people(
        &self,
        staff_id: Uuid,
        now_micros: i64,
        limit: u32,
    ) -> Result<Vec<ReferredPerson>, StoreError> {
        sqlx::query(
            "SELECT person_id, shared_at, ends_at FROM disclosure WHERE processor_staff_id = $1 \
             AND ended_at IS NULL AND ends_at > $2 ORDER BY shared_at DESC LIMIT $3",
        )
        .bind(staff_id.to_string())
        .bind(now_micros)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .read(|r| {
            Ok(ReferredPerson {
                person_id: id(r, "person_id")?,
                disclosed_at_micros: r.col("shared_at")?,
                ends_at_micros: r.col("ends_at")?,
            })
        })
    }
}
