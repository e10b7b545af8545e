//! The task inbox through the API: the caller's open (or latest closed) tasks, and ticking off one
//! that is closed by hand.

use axum::Json;
use axum::extract::State;
use confidant_core::store::{Store, TaskState, TellHow};
use confidant_core::task::TaskView;
use confidant_core::{Actor, Clock};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::http::bearer::{Authenticated, WritableJson};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::{Path, Query};
use crate::http::routing::{Routes, get, post};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/tasks", get(list::<S, C>))
        .route("/tasks/{task_id}/close", post(close::<S, C>))
}

/// One task: ids and codes only (its page holds the rest, under that page's rules).
#[derive(Serialize, ToSchema)]
pub struct TaskResponse {
    pub id: Uuid,
    /// `referral_triage`, `share_approval`, `emergency_review`, `break_glass_review`,
    /// `agreement_ending`, `tell_recipient`, `tell_of_notice`, `training_due`.
    pub kind: String,
    pub label: String,
    /// What the task is about: a referral, approval, disclosure, grant, recipient, service or
    /// member of staff, by kind.
    pub subject_id: Uuid,
    pub person_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    /// The recipient's name, for a task about a recipient.
    pub recipient: Option<String>,
    /// RFC 3339, where a rule gives a due date.
    pub due_at: Option<String>,
    pub overdue: bool,
    /// `open` or `done`.
    pub state: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    /// What closed it: the change's event code, or how someone was told.
    pub outcome: Option<String>,
    /// The date someone was told (`YYYY-MM-DD`).
    pub done_on: Option<String>,
    /// Closed by hand, with how and when (`POST /api/v1/tasks/{id}/close`); the others close when
    /// their work is done.
    pub closed_by_hand: bool,
    /// The page where the task is done.
    pub page: String,
}

use super::rfc3339_micros as rfc3339;

impl TaskResponse {
    fn of(view: TaskView, viewer: Uuid) -> Self {
        let page = crate::pages::task::page_of(&view.task, viewer);
        let t = view.task;
        Self {
            id: t.id,
            kind: t.kind.code().to_owned(),
            label: t.kind.label().to_owned(),
            subject_id: t.subject_id,
            person_id: t.person_id,
            service_id: t.service_id,
            recipient: view.recipient,
            due_at: t.due_at_micros.map(rfc3339),
            overdue: view.overdue,
            state: t.state.code().to_owned(),
            opened_at: rfc3339(t.opened_at_micros),
            closed_at: t.closed_at_micros.map(rfc3339),
            closed_by: t.closed_by,
            outcome: t.outcome,
            done_on: t.done_on,
            closed_by_hand: t.kind.closed_by_hand(),
            page,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    /// `open` (the default) or `done` (the latest closed).
    pub state: Option<String>,
}

fn viewer(actor: &Actor) -> Uuid {
    match actor {
        Actor::Staff(s) => s.user_id,
        Actor::System => Uuid::nil(),
    }
}

#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks",
    params(TaskQuery),
    responses((status = 200, body = [TaskResponse]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    Authenticated(actor, _): Authenticated,
    Query(query): Query<TaskQuery>,
) -> Result<Json<Vec<TaskResponse>>, ApiError> {
    let wanted = match query.state.as_deref() {
        None | Some("open") => TaskState::Open,
        Some("done") => TaskState::Done,
        Some(_) => return Err(super::invalid("state", "must be open or done")),
    };
    let me = viewer(&actor);
    let tasks = state
        .confidant
        .tasks(&actor, wanted, confidant_core::task::INBOX_LIMIT)
        .await?;
    Ok(Json(
        tasks.into_iter().map(|t| TaskResponse::of(t, me)).collect(),
    ))
}

/// How and when the person or recipient was told.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// `secure_email`, `email`, `letter`, `phone`, `in_person` or `portal`.
    pub how: String,
    /// The UK date they were told, `YYYY-MM-DD` (today or within the last year).
    pub told_on: String,
}

#[utoipa::path(post, path = "/api/v1/tasks/{task_id}/close", tag = "tasks",
    params(("task_id" = Uuid, Path)),
    request_body = CloseRequest,
    responses((status = 200, body = TaskResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn close<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(task_id): Path<Uuid>,
    WritableJson(actor, body): WritableJson<CloseRequest>,
) -> Result<Json<TaskResponse>, ApiError> {
    let how = TellHow::from_code(body.how.trim()).ok_or_else(|| {
        super::invalid(
            "how",
            "must be secure_email, email, letter, phone, in_person or portal",
        )
    })?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let told_on = time::Date::parse(body.told_on.trim(), &format)
        .map_err(|_| super::invalid("told_on", "must be a date, YYYY-MM-DD"))?;
    let task = state
        .confidant
        .close_task(&actor, task_id, how, told_on)
        .await?;
    let me = viewer(&actor);
    let view = state.confidant.task(&actor, task.id).await?;
    Ok(Json(TaskResponse::of(view, me)))
}
