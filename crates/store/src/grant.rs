//! The grant port of the store.

use super::*;

impl GrantStore for SqlStore {
    async fn create_grant(&self, grant: &GrantRecord, audit: AuditDraft) -> Result<(), StoreError> {
        insert_audited(self, insert_grant(grant), "that grant exists", audit).await
    }

    async fn live_grants(
        &self,
        staff_id: Uuid,
        person_id: Uuid,
        now_micros: i64,
    ) -> Result<Vec<Grant>, StoreError> {
        let codes: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT kind FROM access_grant WHERE staff_id = $1 AND person_id = $2 \
             AND starts_at <= $3 AND ends_at > $3 AND revoked_at IS NULL",
        )
        .bind(staff_id.to_string())
        .bind(person_id.to_string())
        .bind(now_micros)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(codes.iter().filter_map(|c| grant_from_code(c)).collect())
    }

    async fn live_grant_records(
        &self,
        staff_id: Uuid,
        person_id: Uuid,
        now_micros: i64,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {GRANT_COLUMNS} FROM access_grant WHERE staff_id = $1 AND person_id = $2 \
             AND starts_at <= $3 AND ends_at > $3 AND revoked_at IS NULL ORDER BY starts_at"
        )))
        .bind(staff_id.to_string())
        .bind(person_id.to_string())
        .bind(now_micros)
        .fetch_all(&self.pool)
        .await
        .read(grant_from_row)
    }

    async fn grant(&self, grant_id: Uuid) -> Result<Option<GrantRecord>, StoreError> {
        self.read_optional(
            sqlx::AssertSqlSafe(format!(
                "SELECT {GRANT_COLUMNS} FROM access_grant WHERE id = $1"
            )),
            grant_id,
            grant_from_row,
        )
        .await
    }

    async fn grants_of(
        &self,
        organisation_id: Uuid,
        kind: Grant,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {GRANT_COLUMNS} FROM access_grant WHERE organisation_id = $1 AND kind = $2 \
             AND ($3 = 0 OR review_state = 'pending') ORDER BY starts_at DESC LIMIT $4"
        )))
        .bind(organisation_id.to_string())
        .bind(kind.code())
        .bind(i64::from(pending_only))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .read(grant_from_row)
    }

    async fn review_grant(
        &self,
        grant_id: Uuid,
        state: ReviewState,
        reviewed_by: &str,
        at_micros: i64,
        note: Option<&[u8]>,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        // Escalating also ends the access at once, if it is still running.
        let change = sqlx::query(
            "UPDATE access_grant SET review_state = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4, \
             revoked_at = CASE WHEN $1 = 'escalated' AND ends_at > $3 THEN $3 ELSE revoked_at END \
             WHERE id = $5 AND review_state = 'pending'",
        )
        .bind(state.code())
        .bind(reviewed_by)
        .bind(at_micros)
        .bind(note)
        .bind(grant_id.to_string());
        change_audited(self, change, audit).await
    }
}
