//! The retention port of the store: what the sweep reads of each record (ids and times of its
//! events), the review queue, and the lock that keeps the daily sweep to one process.

use confidant_core::store::{
    FactsPage, NewReview, RetentionFacts, RetentionState, RetentionStore, ReviewDecision,
    ReviewRecord,
};

use super::*;

/// What the sweep reads of a record (`p` the person, `s` its service), by correlated look-ups on
/// indexed columns; holds on a query, and open rights requests (but for erasure), count as holds.
const FACTS: &str = concat!(
    "SELECT p.id, p.service_id, s.code AS service_code, p.created_at, \
     (SELECT COUNT(*) FROM case_episode c WHERE c.person_id = p.id AND c.closed_at IS NULL) AS open_cases, \
     (SELECT MAX(c.closed_at) FROM case_episode c WHERE c.person_id = p.id) AS last_closed, \
     (SELECT MAX(c.closed_at) FROM case_episode c WHERE c.person_id = p.id AND c.closure_reason = 'died') AS died, \
     (SELECT MAX(e.occurs_at) FROM record_entry e WHERE e.person_id = p.id AND e.contact_type IS NOT NULL) AS last_contact, \
     (SELECT COUNT(*) FROM legal_hold h WHERE h.person_id = p.id AND h.released_at IS NULL) AS live_holds, \
     (SELECT COUNT(*) FROM person_restriction x WHERE x.person_id = p.id AND x.kind = 'restriction' \
         AND x.lifted_at IS NULL) AS live_restrictions, \
     (SELECT MAX(h.released_at) FROM legal_hold h WHERE h.person_id = p.id) AS released, \
     (SELECT COUNT(*) FROM rights_request rr WHERE rr.person_id = p.id AND ",
    super::rights::holding_request!(),
    ") AS open_requests, ",
    super::query_hold::of_p!()
);

const REVIEW_COLUMNS: &str = "id, organisation_id, service_id, person_id, rules, due_on, found_at, state, \
     decided_by, decided_at, keep_until, reason, scope, approved_by, approved_at, destroy_after, closed_at, \
     outcome, certificate_id";

fn facts_from_row(row: &AnyRow) -> Result<RetentionFacts, StoreError> {
    let created: i64 = row.col("created_at")?;
    let contact: Option<i64> = row.col("last_contact")?;
    Ok(RetentionFacts {
        person_id: id(row, "id")?,
        service_id: id(row, "service_id")?,
        service_code: row.col("service_code")?,
        open_cases: row.col("open_cases")?,
        live_holds: row.col::<i64>("live_holds")?
            + row.col::<i64>("query_holds")?
            + row.col::<i64>("open_requests")?,
        live_restrictions: row.col("live_restrictions")?,
        last_closed_at_micros: row.col("last_closed")?,
        died_at_micros: row.col("died")?,
        last_contact_at_micros: contact.map_or(created, |c| c.max(created)),
        hold_released_at_micros: row
            .col::<Option<i64>>("released")?
            .max(row.col::<Option<i64>>("query_released")?),
        born_on: None,
    })
}

fn review_from_row(row: &AnyRow) -> Result<ReviewRecord, StoreError> {
    Ok(ReviewRecord {
        id: id(row, "id")?,
        organisation_id: id(row, "organisation_id")?,
        service_id: id(row, "service_id")?,
        person_id: id(row, "person_id")?,
        rules: row.col("rules")?,
        due_on: row.col("due_on")?,
        found_at_micros: row.col("found_at")?,
        state: coded(row, "state", RetentionState::from_code, "retention state")?,
        decided_by: row.col("decided_by")?,
        decided_at_micros: row.col("decided_at")?,
        keep_until: row.col("keep_until")?,
        reason: row.col("reason")?,
        scope: row.col("scope")?,
        approved_by: row.col("approved_by")?,
        approved_at_micros: row.col("approved_at")?,
        destroy_after_micros: row.col("destroy_after")?,
        closed_at_micros: row.col("closed_at")?,
        outcome: row.col("outcome")?,
        certificate_id: opt_id(row, "certificate_id")?,
    })
}

impl RetentionStore for SqlStore {
    async fn retention_facts(
        &self,
        organisation_id: Uuid,
        today: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<FactsPage, StoreError> {
        // Whether the sweep passes over a record is a column worked out per row, not a filter: a
        // filter lets PostgreSQL plan an anti-join that reads the whole queue for every page.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{FACTS}, \
             (SELECT COUNT(*) FROM person_merge m WHERE m.merged_id = p.id) \
             + (SELECT COUNT(*) FROM retention_review r WHERE r.person_id = p.id \
                 AND (r.closed_at IS NULL OR r.state = 'transfer' \
                      OR (r.state = 'keep' AND r.keep_until >= $3))) AS passed_over \
             FROM person p JOIN service s ON s.id = p.service_id \
             WHERE s.organisation_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $4"
        )))
        .bind(organisation_id.to_string())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(today)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .db()?;
        let mut page = FactsPage {
            looked_at: rows.len(),
            ..FactsPage::default()
        };
        for row in &rows {
            let facts = facts_from_row(row)?;
            page.last = Some(facts.person_id);
            if row.col::<i64>("passed_over")? == 0 {
                page.facts.push(facts);
            }
        }
        Ok(page)
    }

    async fn retention_facts_of(
        &self,
        access: &PersonAccess,
    ) -> Result<Option<RetentionFacts>, StoreError> {
        self.read_optional(
            sqlx::AssertSqlSafe(format!(
                "{FACTS} FROM person p JOIN service s ON s.id = p.service_id WHERE p.id = $1"
            )),
            access.person_id(),
            facts_from_row,
        )
        .await
    }

    async fn outstanding_paper(&self, access: &PersonAccess) -> Result<i64, StoreError> {
        super::paper::outstanding(self, access).await
    }

    async fn sealed_birth_date(
        &self,
        person_id: Uuid,
        audit: AuditDraft,
    ) -> Result<Option<(SealedPerson, WrappedDataKey)>, StoreError> {
        let mut tx = self.begin_read().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PERSON_WITH_KEY} WHERE p.id = $1"
        )))
        .bind(person_id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let mut people = row
            .iter()
            .map(person_with_key)
            .collect::<Result<Vec<_>, _>>()?;
        load_fields(&mut tx, &mut people, &[PersonField::DateOfBirth]).await?;
        finish_read(self, tx, audit).await?;
        let erased = self.fill_keys(people.iter_mut().map(|(_, k)| k)).await?;
        Ok(people.into_iter().find(|(_, k)| !erased.has(k)))
    }

    async fn queue_reviews(
        &self,
        reviews: &[NewReview],
        audit: AuditDraft,
    ) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, &audit).await?;
        if reviews.is_empty() {
            commit(tx).await?;
            return Ok(0);
        }
        // One statement for the lot; a record already on the queue (another process's sweep) is
        // left as it is, found through the one-open-review index.
        let values = (0..reviews.len())
            .map(|i| format!("({}, 'to_review')", placeholders(i * 7 + 1, 7)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO retention_review (id, organisation_id, service_id, person_id, rules, due_on, found_at, state) \
             VALUES {values} ON CONFLICT (person_id) WHERE closed_at IS NULL DO NOTHING"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in reviews {
            query = query
                .bind(r.id.to_string())
                .bind(r.organisation_id.to_string())
                .bind(r.service_id.to_string())
                .bind(r.person_id.to_string())
                .bind(&r.rules)
                .bind(&r.due_on)
                .bind(r.found_at_micros);
        }
        let done = query.execute(&mut *tx).await.db()?;
        let added = usize::try_from(done.rows_affected()).unwrap_or(0);
        commit(tx).await?;
        Ok(added)
    }

    async fn reviews(
        &self,
        organisation_id: Uuid,
        states: &[RetentionState],
        limit: u32,
    ) -> Result<Vec<ReviewRecord>, StoreError> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let list = (0..states.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {REVIEW_COLUMNS} FROM retention_review WHERE organisation_id = $1 \
             AND state IN ({list}) ORDER BY due_on, id LIMIT $2"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(organisation_id.to_string())
            .bind(i64::from(limit));
        for s in states {
            query = query.bind(s.code());
        }
        query.fetch_all(&self.pool).await.read(review_from_row)
    }

    async fn review(
        &self,
        organisation_id: Uuid,
        review_id: Uuid,
    ) -> Result<Option<ReviewRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REVIEW_COLUMNS} FROM retention_review WHERE id = $1 AND organisation_id = $2"
        )))
        .bind(review_id.to_string())
        .bind(organisation_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .read(review_from_row)
    }

    async fn decide_review(
        &self,
        review_id: Uuid,
        decision: &ReviewDecision,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, &audit).await?;
        // Keeping and transferring take the record off the queue; destroying waits for approval.
        let closes = decision.state != RetentionState::Destroy;
        let done = sqlx::query(
            "UPDATE retention_review SET state = $1, decided_by = $2, decided_at = $3, keep_until = $4, \
             reason = $5, closed_at = $6, scope = $7, approved_by = NULL, approved_at = NULL, \
             destroy_after = NULL WHERE id = $8 AND closed_at IS NULL",
        )
        .bind(decision.state.code())
        .bind(&decision.by)
        .bind(decision.at_micros)
        .bind(decision.keep_until.as_deref())
        .bind(&decision.reason)
        .bind(closes.then_some(decision.at_micros))
        .bind(decision.scope.as_deref())
        .bind(review_id.to_string())
        .execute(&mut *tx)
        .await
        .db()?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        commit(tx).await?;
        Ok(true)
    }

    async fn approve_reviews(
        &self,
        approvals: Vec<(Uuid, AuditDraft)>,
        by: &str,
        at_micros: i64,
        destroy_after_micros: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (id, audit) in approvals {
            append(&mut tx, &audit).await?;
            // Four eyes: never one's own decision.
            let done = sqlx::query(
                "UPDATE retention_review SET state = 'approved', approved_by = $1, approved_at = $2, \
                 destroy_after = $3 WHERE id = $4 AND state = 'destroy' AND decided_by <> $1",
            )
            .bind(by)
            .bind(at_micros)
            .bind(destroy_after_micros)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .db()?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict(
                    "a decision chosen changed meanwhile; look at the queue again",
                ));
            }
        }
        commit(tx).await?;
        Ok(())
    }

    async fn close_review(
        &self,
        review_id: Uuid,
        outcome: &str,
        at_micros: i64,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, &audit).await?;
        let done = sqlx::query(
            "UPDATE retention_review SET state = 'not_destroyed', outcome = $1, closed_at = $2 \
             WHERE id = $3 AND state = 'approved'",
        )
        .bind(outcome)
        .bind(at_micros)
        .bind(review_id.to_string())
        .execute(&mut *tx)
        .await
        .db()?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        commit(tx).await?;
        Ok(true)
    }

    async fn take_job_lock(
        &self,
        name: &str,
        holder: &str,
        now_micros: i64,
        until_micros: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO job_lock (name, holder, until) VALUES ($1, '', 0) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .execute(&mut *tx)
        .await
        .db()?;
        let taken = sqlx::query(
            "UPDATE job_lock SET holder = $2, until = $3 WHERE name = $1 \
             AND (until <= $4 OR holder = $2)",
        )
        .bind(name)
        .bind(holder)
        .bind(until_micros)
        .bind(now_micros)
        .execute(&mut *tx)
        .await
        .db()?;
        commit(tx).await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn release_job_lock(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE job_lock SET until = 0 WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }
}
