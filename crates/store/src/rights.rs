//! The rights port: requests about a person's rights and the steps of their clocks (see
//! `confidant_core::rights` for the guarantees).

use confidant_core::store::{
    Authority, Channel, ExtensionReason, IdentityCheck, RelatedRecord, RequestState, RequestStep,
    RequestStepRecord, RightKind, RightsRequestRecord, RightsStore, TaskChange,
};

use super::columns::related_from_row;
use super::task::apply_task_changes;
use super::*;

/// Whether the rights request `rr` keeps its record as a hold does: it is open and asks for
/// something the data must be kept to answer (a copy, what is done with it, its portable form,
/// a restriction, an objection, an automated decision). A request for erasure or rectification
/// is answered by changing the record, and a complaint is about how it is used: they keep
/// nothing by themselves.
macro_rules! holding_request {
    () => {
        "rr.state IN ('awaiting_identity', 'open', 'stopped') \
         AND rr.kind NOT IN ('erasure', 'rectification', 'complaint')"
    };
}
pub(crate) use holding_request;

const COLUMNS: &str = "id, organisation_id, service_id, person_id, kind, channel, representative_id, \
     authority, received_on, state, identity_check, start_on, stopped_days, stopped_on, extended_on, \
     extension_reason, due_on, safety_review, created_by, created_at, closed_on, version, acknowledged_on";

fn from_row(row: &AnyRow) -> Result<RightsRequestRecord, StoreError> {
    let stopped_days: i64 = row.col("stopped_days")?;
    Ok(RightsRequestRecord {
        id: id(row, "id")?,
        organisation_id: id(row, "organisation_id")?,
        service_id: id(row, "service_id")?,
        person_id: id(row, "person_id")?,
        kind: coded(row, "kind", RightKind::from_code, "right")?,
        channel: coded(row, "channel", Channel::from_code, "channel")?,
        representative_id: opt_id(row, "representative_id")?,
        authority: opt_coded(row, "authority", Authority::from_code, "authority")?,
        received_on: row.col("received_on")?,
        state: coded(row, "state", RequestState::from_code, "request state")?,
        identity_check: opt_coded(
            row,
            "identity_check",
            IdentityCheck::from_code,
            "identity check",
        )?,
        start_on: row.col("start_on")?,
        stopped_days: u32::try_from(stopped_days).unwrap_or(0),
        stopped_on: row.col("stopped_on")?,
        extended_on: row.col("extended_on")?,
        extension_reason: opt_coded(
            row,
            "extension_reason",
            ExtensionReason::from_code,
            "extension reason",
        )?,
        due_on: row.col("due_on")?,
        safety_review: flag(row, "safety_review")?,
        created_by: row.col("created_by")?,
        created_at_micros: row.col("created_at")?,
        closed_on: row.col("closed_on")?,
        version: row.col("version")?,
        acknowledged_on: row.col("acknowledged_on")?,
    })
}

fn step_from_row(row: &AnyRow) -> Result<RequestStepRecord, StoreError> {
    Ok(RequestStepRecord {
        id: id(row, "id")?,
        request_id: id(row, "request_id")?,
        step: coded(row, "step", RequestStep::from_code, "request step")?,
        on_day: row.col("on_day")?,
        detail: row.col("detail")?,
        by: row.col("actor")?,
        at_micros: row.col("at")?,
    })
}

async fn insert_step(
    tx: &mut Transaction<'static, Any>,
    step: &RequestStepRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO rights_request_step (id, request_id, step, on_day, detail, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(step.id.to_string())
    .bind(step.request_id.to_string())
    .bind(step.step.code())
    .bind(&step.on_day)
    .bind(step.detail.as_deref())
    .bind(&step.by)
    .bind(step.at_micros)
    .execute(&mut **tx)
    .await
    .db()?;
    Ok(())
}

impl RightsStore for SqlStore {
    async fn log_rights_request(
        &self,
        r: &RightsRequestRecord,
        steps: &[RequestStepRecord],
        tasks: &[TaskChange],
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let event = append(&mut tx, &audit).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO rights_request ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
        )))
        .bind(r.id.to_string())
        .bind(r.organisation_id.to_string())
        .bind(r.service_id.to_string())
        .bind(r.person_id.to_string())
        .bind(r.kind.code())
        .bind(r.channel.code())
        .bind(r.representative_id.map(|i| i.to_string()))
        .bind(r.authority.map(|a| a.code()))
        .bind(&r.received_on)
        .bind(r.state.code())
        .bind(r.identity_check.map(|c| c.code()))
        .bind(r.start_on.as_deref())
        .bind(i64::from(r.stopped_days))
        .bind(r.stopped_on.as_deref())
        .bind(r.extended_on.as_deref())
        .bind(r.extension_reason.map(|e| e.code()))
        .bind(r.due_on.as_deref())
        .bind(i64::from(r.safety_review))
        .bind(&r.created_by)
        .bind(r.created_at_micros)
        .bind(r.closed_on.as_deref())
        .bind(r.version)
        .bind(r.acknowledged_on.as_deref())
        .execute(&mut *tx)
        .await
        .or_conflict("that request exists")?;
        for step in steps {
            insert_step(&mut tx, step).await?;
        }
        apply_task_changes(&mut tx, tasks, &event.actor, event.at_micros).await?;
        commit(tx).await
    }

    async fn step_rights_request(
        &self,
        r: &RightsRequestRecord,
        expected_version: i64,
        step: &RequestStepRecord,
        tasks: &[TaskChange],
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let event = append(&mut tx, &audit).await?;
        let done = sqlx::query(
            "UPDATE rights_request SET state = $1, identity_check = $2, start_on = $3, \
             stopped_days = $4, stopped_on = $5, extended_on = $6, extension_reason = $7, \
             due_on = $8, closed_on = $9, version = $10, acknowledged_on = $11 \
             WHERE id = $12 AND version = $13",
        )
        .bind(r.state.code())
        .bind(r.identity_check.map(|c| c.code()))
        .bind(r.start_on.as_deref())
        .bind(i64::from(r.stopped_days))
        .bind(r.stopped_on.as_deref())
        .bind(r.extended_on.as_deref())
        .bind(r.extension_reason.map(|e| e.code()))
        .bind(r.due_on.as_deref())
        .bind(r.closed_on.as_deref())
        .bind(r.version)
        .bind(r.acknowledged_on.as_deref())
        .bind(r.id.to_string())
        .bind(expected_version)
        .execute(&mut *tx)
        .await
        .db()?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_step(&mut tx, step).await?;
        apply_task_changes(&mut tx, tasks, &event.actor, event.at_micros).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn rights_request(
        &self,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<Option<RightsRequestRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM rights_request WHERE id = $1 AND organisation_id = $2"
        )))
        .bind(request_id.to_string())
        .bind(organisation_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .db()?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn rights_request_steps(
        &self,
        request_id: Uuid,
    ) -> Result<Vec<RequestStepRecord>, StoreError> {
        sqlx::query(
            "SELECT id, request_id, step, on_day, detail, actor, at FROM rights_request_step \
             WHERE request_id = $1 ORDER BY at, id",
        )
        .bind(request_id.to_string())
        .fetch_all(&self.pool)
        .await
        .read(step_from_row)
    }

    async fn rights_requests(
        &self,
        services: &[Uuid],
        closed_limit: u32,
    ) -> Result<Vec<RightsRequestRecord>, StoreError> {
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = services.iter().map(Uuid::to_string).collect();
        let list = placeholders(1, ids.len());
        let open = [
            RequestState::AwaitingIdentity,
            RequestState::Open,
            RequestState::Stopped,
        ];
        let states = placeholders(ids.len() + 1, open.len());
        let mut found = Vec::new();
        for (condition, order) in [
            (
                format!("state IN ({states})"),
                "CASE WHEN due_on IS NULL THEN 0 ELSE 1 END, due_on, id".to_owned(),
            ),
            (
                format!("state NOT IN ({states})"),
                format!("created_at DESC, id DESC LIMIT {closed_limit}"),
            ),
        ] {
            let sql = format!(
                "SELECT {COLUMNS} FROM rights_request WHERE service_id IN ({list}) AND {condition} \
                 ORDER BY {order}"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                query = query.bind(id.as_str());
            }
            for state in open {
                query = query.bind(state.code());
            }
            found.extend(query.fetch_all(&self.pool).await.read(from_row)?);
        }
        Ok(found)
    }

    async fn rights_requests_about(
        &self,
        person_id: Uuid,
    ) -> Result<Vec<RightsRequestRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM rights_request WHERE person_id = $1 \
             ORDER BY created_at DESC, id DESC"
        )))
        .bind(person_id.to_string())
        .fetch_all(&self.pool)
        .await
        .read(from_row)
    }

    async fn related_link(
        &self,
        person_id: Uuid,
        related_id: Uuid,
    ) -> Result<Option<RelatedRecord>, StoreError> {
        sqlx::query(
            "SELECT id, person_id, relationship, linked_person_id, key_version, created_by, \
             created_at FROM related_person WHERE id = $1 AND person_id = $2",
        )
        .bind(related_id.to_string())
        .bind(person_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .db()?
        .as_ref()
        .map(related_from_row)
        .transpose()
    }

    async fn named_as_alleged_perpetrator(&self, person_id: Uuid) -> Result<bool, StoreError> {
        let found = sqlx::query(
            "SELECT 1 AS found FROM related_person \
             WHERE linked_person_id = $1 AND relationship = $2 LIMIT 1",
        )
        .bind(person_id.to_string())
        .bind(confidant_core::store::Relationship::AllegedPerpetrator.code())
        .fetch_optional(&self.pool)
        .await
        .db()?;
        Ok(found.is_some())
    }
}
