//! The staff port of the store.

use super::*;

fn training_from_row(row: &AnyRow) -> Result<TrainingRecord, StoreError> {
    let kind: String = row.col("kind")?;
    Ok(TrainingRecord {
        id: id(row, "id")?,
        staff_id: id(row, "staff_id")?,
        kind: TrainingKind::from_code(&kind)
            .ok_or(StoreError::Backend("unknown training kind".to_owned()))?,
        completed_at_micros: row.col("completed_at")?,
        expires_at_micros: row.col("expires_at")?,
        recorded_by: row.col("recorded_by")?,
        recorded_at_micros: row.col("recorded_at")?,
    })
}

/// A training record `t` current at the time bound as `$2` (its holder and kind aside): a query
/// that uses it binds that time second.
pub(crate) const TRAINING_CURRENT: &str = "t.expires_at > $2 AND t.completed_at <= $2";

impl StaffStore for SqlStore {
    async fn create_organisation(
        &self,
        organisation: &Organisation,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO organisation (id, name, code, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(organisation.id.to_string())
        .bind(&organisation.name)
        .bind(organisation.code.as_deref())
        .bind(organisation.created_at_micros);
        insert_audited(self, insert, "an organisation of that name exists", audit).await
    }

    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        sqlx::query("SELECT id, name, code, created_at FROM organisation ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .read(organisation_from_row)
    }

    async fn organisation(&self, id: Uuid) -> Result<Option<Organisation>, StoreError> {
        self.read_optional(
            "SELECT id, name, code, created_at FROM organisation WHERE id = $1",
            id,
            organisation_from_row,
        )
        .await
    }

    async fn create_service(&self, service: &Service, audit: AuditDraft) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO service (id, organisation_id, name, code, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(service.id.to_string())
        .bind(service.organisation_id.to_string())
        .bind(&service.name)
        .bind(service.code.as_deref())
        .bind(service.created_at_micros);
        insert_audited(self, insert, "a service of that name exists", audit).await
    }

    async fn adopt_organisation(
        &self,
        organisation_id: Uuid,
        code: &str,
        services: &[(Uuid, String)],
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE organisation SET code = $1 WHERE id = $2 AND code IS NULL")
            .bind(code)
            .bind(organisation_id.to_string())
            .execute(&mut *tx)
            .await
            .or_conflict("another organisation has that register id")?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "that organisation already has a register id",
            ));
        }
        for (service, service_code) in services {
            sqlx::query(
                "UPDATE service SET code = $1 WHERE id = $2 AND organisation_id = $3 AND code IS NULL",
            )
            .bind(service_code)
            .bind(service.to_string())
            .bind(organisation_id.to_string())
            .execute(&mut *tx)
            .await
            .or_conflict("another service has that register id")?;
        }
        append(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn rename_service(
        &self,
        service_id: Uuid,
        name: &str,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query("UPDATE service SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(service_id.to_string());
        change_audited(self, change, audit).await
    }

    async fn service(&self, id: Uuid) -> Result<Option<Service>, StoreError> {
        self.read_optional(
            "SELECT id, organisation_id, name, code, created_at FROM service WHERE id = $1",
            id,
            service_from_row,
        )
        .await
    }

    async fn services(&self, organisation_id: Uuid) -> Result<Vec<Service>, StoreError> {
        self.read_all("SELECT id, organisation_id, name, code, created_at FROM service WHERE organisation_id = $1 ORDER BY name", organisation_id, service_from_row).await
    }

    async fn create_staff(&self, staff: &StaffRecord, audit: AuditDraft) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO staff (id, organisation_id, service_id, team_id, role, handle, display_name, job_title, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(staff.id.to_string())
        .bind(staff.organisation_id.to_string())
        .bind(staff.service_id.map(|s| s.to_string()))
        .bind(staff.team_id.map(|t| t.to_string()))
        .bind(staff.role.code())
        .bind(&staff.handle)
        .bind(staff.display_name.as_deref())
        .bind(staff.job_title.as_deref())
        .bind(staff.created_at_micros);
        insert_audited(self, insert, "that handle is taken", audit).await
    }

    async fn staff_by_handle(&self, handle: &str) -> Result<Option<StaffRecord>, StoreError> {
        self.read_optional(
            sqlx::AssertSqlSafe(format!(
                "SELECT {STAFF_COLUMNS} FROM staff s WHERE s.handle = $1"
            )),
            handle,
            staff_from_row,
        )
        .await
    }

    async fn staff(&self, staff_id: Uuid) -> Result<Option<StaffRecord>, StoreError> {
        self.read_optional(
            sqlx::AssertSqlSafe(format!(
                "SELECT {STAFF_COLUMNS} FROM staff s WHERE s.id = $1"
            )),
            staff_id,
            staff_from_row,
        )
        .await
    }

    async fn staff_of(&self, organisation_id: Uuid) -> Result<Vec<StaffRecord>, StoreError> {
        self.read_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {STAFF_COLUMNS} FROM staff s WHERE s.organisation_id = $1 ORDER BY s.handle"
            )),
            organisation_id,
            staff_from_row,
        )
        .await
    }

    async fn disable_staff(
        &self,
        staff_id: Uuid,
        at_micros: i64,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let sid = staff_id.to_string();
        let done =
            sqlx::query("UPDATE staff SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
                .bind(at_micros)
                .bind(&sid)
                .execute(&mut *tx)
                .await
                .db()?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE staff_session SET ended_at = $1, end_reason = 'disabled' WHERE staff_id = $2 AND ended_at IS NULL",
        )
        .bind(at_micros)
        .bind(&sid)
        .execute(&mut *tx)
        .await
        .db()?;
        sqlx::query(
            "UPDATE api_token SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL",
        )
        .bind(at_micros)
        .bind(&sid)
        .execute(&mut *tx)
        .await
        .db()?;
        append(&mut tx, &audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn set_staff_team(
        &self,
        staff_id: Uuid,
        team_id: Option<Uuid>,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let update = sqlx::query("UPDATE staff SET team_id = $1 WHERE id = $2")
            .bind(team_id.map(|t| t.to_string()))
            .bind(staff_id.to_string());
        insert_audited(self, update, "that team is not available", audit).await
    }

    async fn set_staff_details(
        &self,
        staff_id: Uuid,
        details: &StaffDetails,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let update = sqlx::query(
            "UPDATE staff SET display_name = $1, job_title = $2, team_id = $3 WHERE id = $4",
        )
        .bind(details.display_name.as_deref())
        .bind(details.job_title.as_deref())
        .bind(details.team_id.map(|t| t.to_string()))
        .bind(staff_id.to_string());
        insert_audited(self, update, "that account cannot be changed", audit).await
    }

    async fn create_team(&self, team: &Team, audit: AuditDraft) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO team (id, service_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(team.id.to_string())
        .bind(team.service_id.to_string())
        .bind(&team.name)
        .bind(team.created_at_micros);
        insert_audited(
            self,
            insert,
            "a team of that name exists in the service",
            audit,
        )
        .await
    }

    async fn team(&self, team_id: Uuid) -> Result<Option<Team>, StoreError> {
        self.read_optional(
            "SELECT id, service_id, name, created_at FROM team WHERE id = $1",
            team_id,
            team_from_row,
        )
        .await
    }

    async fn teams(&self, service_id: Uuid) -> Result<Vec<Team>, StoreError> {
        self.read_all(
            "SELECT id, service_id, name, created_at FROM team WHERE service_id = $1 ORDER BY name",
            service_id,
            team_from_row,
        )
        .await
    }

    async fn service_scope(&self, service_id: Uuid) -> Result<Option<AccessScope>, StoreError> {
        let code: Option<String> =
            sqlx::query_scalar("SELECT access_scope FROM service WHERE id = $1")
                .bind(service_id.to_string())
                .fetch_optional(&self.pool)
                .await
                .db()?;
        code.map(|c| scope_from_code(&c)).transpose()
    }

    async fn set_service_scope(
        &self,
        service_id: Uuid,
        scope: AccessScope,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let update = sqlx::query("UPDATE service SET access_scope = $1 WHERE id = $2")
            .bind(scope.code())
            .bind(service_id.to_string());
        insert_audited(self, update, "conflict", audit).await
    }

    async fn add_training(
        &self,
        record: &TrainingRecord,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO training_record (id, staff_id, kind, completed_at, expires_at, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(record.id.to_string())
        .bind(record.staff_id.to_string())
        .bind(record.kind.code())
        .bind(record.completed_at_micros)
        .bind(record.expires_at_micros)
        .bind(&record.recorded_by)
        .bind(record.recorded_at_micros);
        insert_audited(self, insert, "that record exists", audit).await
    }

    async fn training_records(
        &self,
        organisation_id: Uuid,
        staff_id: Option<Uuid>,
    ) -> Result<Vec<TrainingRecord>, StoreError> {
        sqlx::query(
            "SELECT r.id, r.staff_id, r.kind, r.completed_at, r.expires_at, r.recorded_by, r.recorded_at \
             FROM training_record r JOIN staff s ON s.id = r.staff_id \
             WHERE s.organisation_id = $1 AND ($2 = '' OR r.staff_id = $2) ORDER BY r.recorded_at DESC",
        )
        .bind(organisation_id.to_string())
        .bind(staff_id.map(|s| s.to_string()).unwrap_or_default())
        .fetch_all(&self.pool)
        .await
        .read(training_from_row)
    }

    async fn current_training(
        &self,
        staff_id: Uuid,
        now_micros: i64,
    ) -> Result<Vec<TrainingKind>, StoreError> {
        let codes: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT kind FROM training_record t WHERE t.staff_id = $1 AND {TRAINING_CURRENT}"
        )))
        .bind(staff_id.to_string())
        .bind(now_micros)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(codes
            .iter()
            .filter_map(|c| TrainingKind::from_code(c))
            .collect())
    }
}
