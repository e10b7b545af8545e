//! The task port of the store, and the inbox changes a change's audit draft carries (written in
//! the change's own transaction, by [`apply_task_changes`]).

use confidant_core::store::{
    Audience, HandClosure, Inbox, NewTask, TaskChange, TaskCounts, TaskKind, TaskRecord, TaskState,
    TaskStore, Waiting,
};

use super::*;

const TASK_COLUMNS: &str = "t.id, t.organisation_id, t.service_id, t.kind, t.subject_id, t.person_id, t.due_at, \
     t.opened_at, t.opened_by, t.state, t.closed_at, t.closed_by, t.outcome, t.done_on";

fn task_from_row(row: &AnyRow) -> Result<TaskRecord, StoreError> {
    Ok(TaskRecord {
        id: id(row, "id")?,
        organisation_id: id(row, "organisation_id")?,
        service_id: opt_id(row, "service_id")?,
        kind: coded(row, "kind", TaskKind::from_code, "task kind")?,
        subject_id: id(row, "subject_id")?,
        person_id: opt_id(row, "person_id")?,
        due_at_micros: row.col("due_at")?,
        opened_at_micros: row.col("opened_at")?,
        opened_by: row.col("opened_by")?,
        state: coded(row, "state", TaskState::from_code, "task state")?,
        closed_at_micros: row.col("closed_at")?,
        closed_by: row.col("closed_by")?,
        outcome: row.col("outcome")?,
        done_on: row.col("done_on")?,
    })
}

fn audience_from_row(row: &AnyRow) -> Result<Audience, StoreError> {
    if let Some(staff) = opt_id(row, "staff_id")? {
        return Ok(Audience::Staff(staff));
    }
    let role: Option<String> = row.col("role")?;
    let role = role
        .as_deref()
        .and_then(Role::from_code)
        .ok_or_else(|| StoreError::Backend("a task's audience names no one".to_owned()))?;
    let service_id = opt_id(row, "service_id")?;
    Ok(match (service_id, opt_id(row, "team_id")?) {
        (Some(service_id), Some(team_id)) => Audience::TeamRole {
            role,
            service_id,
            team_id,
        },
        _ => Audience::Role { role, service_id },
    })
}

/// Writes what one change does to the inbox, in its transaction: opens tasks (an open one of the
/// same kind, subject and person stays as it is) and closes tasks, as `actor` at `at_micros`;
/// answers what it did.
pub(crate) async fn apply_task_changes(
    tx: &mut Transaction<'static, Any>,
    changes: &[TaskChange],
    actor: &str,
    at_micros: i64,
) -> Result<TaskCounts, StoreError> {
    let mut counts = TaskCounts::default();
    for change in changes {
        match change {
            TaskChange::Open(task) => {
                if open_task(tx, task, actor, at_micros).await? {
                    counts.opened += 1;
                }
            }
            TaskChange::Close {
                kind,
                subject_id,
                outcome,
            } => {
                let closed = sqlx::query(
                    "UPDATE task SET state = $1, closed_at = $2, closed_by = $3, outcome = $4 \
                     WHERE kind = $5 AND subject_id = $6 AND state = $7",
                )
                .bind(TaskState::Done.code())
                .bind(at_micros)
                .bind(actor)
                .bind(*outcome)
                .bind(kind.code())
                .bind(subject_id.to_string())
                .bind(TaskState::Open.code())
                .execute(&mut **tx)
                .await
                .db()?;
                counts.closed += usize::try_from(closed.rows_affected()).unwrap_or(usize::MAX);
            }
            TaskChange::Due {
                kind,
                subject_id,
                due_at_micros,
            } => {
                sqlx::query(
                    "UPDATE task SET due_at = $1 WHERE kind = $2 AND subject_id = $3 AND state = $4",
                )
                .bind(*due_at_micros)
                .bind(kind.code())
                .bind(subject_id.to_string())
                .bind(TaskState::Open.code())
                .execute(&mut **tx)
                .await
                .db()?;
            }
        }
    }
    Ok(counts)
}

/// Opens a task; `false` if one of its kind, subject and person was open already.
async fn open_task(
    tx: &mut Transaction<'static, Any>,
    task: &NewTask,
    actor: &str,
    at_micros: i64,
) -> Result<bool, StoreError> {
    let id = task.id.to_string();
    let opened = sqlx::query(
        "INSERT INTO task (id, organisation_id, service_id, kind, subject_id, person_id, open_key, due_at, \
         opened_at, opened_by, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(task.organisation_id.to_string())
    .bind(task.service_id.map(|s| s.to_string()))
    .bind(task.kind.code())
    .bind(task.subject_id.to_string())
    .bind(task.person_id.map(|p| p.to_string()))
    .bind(task.open_key())
    .bind(task.due_at_micros)
    .bind(at_micros)
    .bind(actor)
    .bind(TaskState::Open.code())
    .execute(&mut **tx)
    .await
    .db()?;
    if opened.rows_affected() == 0 {
        return Ok(false);
    }
    for audience in &task.audience {
        let (staff, role, service, team) = match *audience {
            Audience::Staff(s) => (Some(s.to_string()), None, None, None),
            Audience::Role { role, service_id } => (
                None,
                Some(role.code()),
                service_id.map(|s| s.to_string()),
                None,
            ),
            Audience::TeamRole {
                role,
                service_id,
                team_id,
            } => (
                None,
                Some(role.code()),
                Some(service_id.to_string()),
                Some(team_id.to_string()),
            ),
        };
        sqlx::query(
            "INSERT INTO task_audience (task_id, staff_id, role, service_id, team_id) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(staff)
        .bind(role)
        .bind(service)
        .bind(team)
        .execute(&mut **tx)
        .await
        .db()?;
    }
    Ok(true)
}

/// The tasks of one state in an inbox: of its organisation, with an audience row naming its holder
/// (by id, or by role in their service or team, or organisation-wide). Binds `$1`–`$6`
/// ([`in_inbox`]).
const IN_INBOX: &str = "t.organisation_id = $1 AND t.state = $2 AND EXISTS (\
     SELECT 1 FROM task_audience a WHERE a.task_id = t.id AND (a.staff_id = $3 \
     OR (a.role = $4 AND (a.service_id IS NULL OR a.service_id = $5) \
     AND (a.team_id IS NULL OR a.team_id = $6))))";

fn in_inbox<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    inbox: &Inbox,
    state: TaskState,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    query
        .bind(inbox.organisation_id.to_string())
        .bind(state.code())
        .bind(inbox.staff_id.to_string())
        .bind(inbox.role.code())
        .bind(inbox.service_id.map(|s| s.to_string()))
        .bind(inbox.team_id.map(|t| t.to_string()))
}

impl TaskStore for SqlStore {
    async fn tasks_in(
        &self,
        inbox: &Inbox,
        state: TaskState,
        limit: u32,
        audit: AuditDraft,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        // Open tasks soonest due first (those with no due date after them); closed ones latest
        // first.
        let order = match state {
            TaskState::Open => "(t.due_at IS NULL), t.due_at, t.opened_at, t.id",
            TaskState::Done => "t.closed_at DESC, t.id DESC",
        };
        let mut tx = self.begin_read().await?;
        let tasks = in_inbox(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {TASK_COLUMNS} FROM task t WHERE {IN_INBOX} ORDER BY {order} LIMIT $7"
            ))),
            inbox,
            state,
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .read(task_from_row)?;
        finish_read(self, tx, audit).await?;
        Ok(tasks)
    }

    async fn count_open_tasks(
        &self,
        inbox: &Inbox,
        now_micros: i64,
        audit: AuditDraft,
    ) -> Result<(i64, i64), StoreError> {
        let mut tx = self.begin_read().await?;
        let row = in_inbox(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) AS open, COALESCE(SUM(CASE WHEN t.due_at <= $7 THEN 1 ELSE 0 END), 0) \
                 AS overdue FROM task t WHERE {IN_INBOX}"
            ))),
            inbox,
            TaskState::Open,
        )
        .bind(now_micros)
        .fetch_one(&mut *tx)
        .await
        .db()?;
        let counts = (row.col("open")?, row.col("overdue")?);
        finish_read(self, tx, audit).await?;
        Ok(counts)
    }

    async fn task(&self, task_id: Uuid) -> Result<Option<(TaskRecord, Vec<Audience>)>, StoreError> {
        let Some(task) = self
            .read_optional(
                sqlx::AssertSqlSafe(format!("SELECT {TASK_COLUMNS} FROM task t WHERE t.id = $1")),
                task_id,
                task_from_row,
            )
            .await?
        else {
            return Ok(None);
        };
        let audience = self
            .read_all(
                "SELECT staff_id, role, service_id, team_id FROM task_audience WHERE task_id = $1",
                task_id,
                audience_from_row,
            )
            .await?;
        Ok(Some((task, audience)))
    }

    async fn close_task_by_hand(
        &self,
        task_id: Uuid,
        closure: &HandClosure,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "UPDATE task SET state = $1, closed_at = $2, closed_by = $3, outcome = $4, done_on = $5 \
             WHERE id = $6 AND state = $7",
        )
        .bind(TaskState::Done.code())
        .bind(closure.at_micros)
        .bind(closure.by.clone())
        .bind(closure.how.code())
        .bind(closure.done_on.clone())
        .bind(task_id.to_string())
        .bind(TaskState::Open.code());
        change_audited(self, change, audit).await
    }

    async fn waiting_without_task(
        &self,
        organisation_id: Uuid,
    ) -> Result<Vec<Waiting>, StoreError> {
        // Each: the kind, what waits, the person and the service, where no task of the kind was
        // ever opened on it.
        let sources: [(TaskKind, &str); 4] = [
            (
                TaskKind::ReferralTriage,
                "SELECT r.id AS subject_id, NULL AS person_id, r.service_id FROM referral r \
                 JOIN service s ON s.id = r.service_id \
                 WHERE s.organisation_id = $1 AND r.state IN ('received', 'contact_attempted')",
            ),
            (
                TaskKind::ShareApproval,
                "SELECT a.id AS subject_id, a.person_id, p.service_id FROM share_approval a \
                 JOIN person p ON p.id = a.person_id JOIN service s ON s.id = p.service_id \
                 WHERE s.organisation_id = $1 AND a.state = 'pending'",
            ),
            (
                TaskKind::EmergencyReview,
                "SELECT d.id AS subject_id, d.person_id, d.service_id FROM disclosure d \
                 JOIN service s ON s.id = d.service_id \
                 WHERE s.organisation_id = $1 AND d.emergency = 1 AND d.review_state = 'pending'",
            ),
            (
                TaskKind::BreakGlassReview,
                "SELECT g.id AS subject_id, g.person_id, p.service_id FROM access_grant g \
                 JOIN person p ON p.id = g.person_id \
                 WHERE g.organisation_id = $1 AND g.kind = 'break_glass' AND g.review_state = 'pending'",
            ),
        ];
        let mut waiting = Vec::new();
        for (kind, select) in sources {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT w.subject_id, w.person_id, w.service_id FROM ({select}) w \
                 WHERE NOT EXISTS (SELECT 1 FROM task t WHERE t.kind = $2 AND t.subject_id = w.subject_id)"
            )))
            .bind(organisation_id.to_string())
            .bind(kind.code())
            .fetch_all(&self.pool)
            .await
            .db()?;
            for row in &rows {
                waiting.push(Waiting {
                    kind,
                    subject_id: id(row, "subject_id")?,
                    person_id: opt_id(row, "person_id")?,
                    service_id: opt_id(row, "service_id")?,
                });
            }
        }
        Ok(waiting)
    }

    async fn write_tasks(
        &self,
        changes: &[TaskChange],
        audit: AuditDraft,
    ) -> Result<TaskCounts, StoreError> {
        let mut tx = self.begin_write().await?;
        let event = append(&mut tx, &audit).await?;
        let counts = apply_task_changes(&mut tx, changes, &event.actor, event.at_micros).await?;
        if counts == TaskCounts::default() {
            // Nothing changed: no event either.
            tx.rollback().await.db()?;
            return Ok(counts);
        }
        commit(tx).await?;
        Ok(counts)
    }

    async fn living_placements_of_service(
        &self,
        service_code: &str,
    ) -> Result<Vec<Placement>, StoreError> {
        sqlx::query(
            "SELECT p.id, p.service_id, p.team_id, p.key_worker_id, s.organisation_id, s.access_scope \
             FROM person p JOIN service s ON s.id = p.service_id WHERE s.code = $1 \
             AND EXISTS (SELECT 1 FROM data_key k WHERE k.owner_id = p.id) ORDER BY p.id",
        )
        .bind(service_code)
        .fetch_all(&self.pool)
        .await
        .read(crate::person::placement_from_row)
    }

    async fn open_tasks_of(
        &self,
        organisation_id: Uuid,
        kind: TaskKind,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM task t WHERE t.organisation_id = $1 AND t.kind = $2 AND t.state = $3 \
             ORDER BY t.opened_at"
        )))
        .bind(organisation_id.to_string())
        .bind(kind.code())
        .bind(TaskState::Open.code())
        .fetch_all(&self.pool)
        .await
        .read(task_from_row)
    }
}
