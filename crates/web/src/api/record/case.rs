//! A person's cases (episodes of support): list, open, close with a reason.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use confidant_core::Clock;
use confidant_core::record::Case;
use confidant_core::store::{ClosureReason, ReopenReason, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::{parse_code, rfc3339, rfc3339_micros, rfc3339_opt};
use crate::http::bearer::{AccessPurpose, Authenticated, ChangeJson, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;

/// A case: when it opened, and when and why it closed (closing starts the retention clock).
#[derive(Serialize, ToSchema)]
pub struct CaseResponse {
    pub id: Uuid,
    pub service_id: Uuid,
    pub key_worker_id: Option<Uuid>,
    /// RFC 3339.
    pub opened_at: String,
    /// RFC 3339; absent while the case is open.
    pub closed_at: Option<String>,
    /// A closure reason code (see `CloseCaseRequest`).
    pub closure_reason: Option<&'static str>,
    /// Its earlier closings, kept when it was reopened, oldest first.
    pub reopenings: Vec<ReopeningResponse>,
}

/// An earlier closing of a case, and its reopening.
#[derive(Serialize, ToSchema)]
pub struct ReopeningResponse {
    /// RFC 3339.
    pub closed_at: String,
    pub closed_by: String,
    pub closure_reason: &'static str,
    /// RFC 3339.
    pub reopened_at: String,
    pub reopened_by: String,
    /// `returned`, `not_finished` or `closed_in_error`.
    pub reason: &'static str,
}

impl From<Case> for CaseResponse {
    fn from(c: Case) -> Self {
        CaseResponse {
            id: c.id,
            service_id: c.service_id,
            key_worker_id: c.key_worker_id,
            opened_at: rfc3339(c.opened_at),
            closed_at: rfc3339_opt(c.closed_at),
            closure_reason: c.closure_reason.map(ClosureReason::code),
            reopenings: c
                .reopenings
                .into_iter()
                .map(|r| ReopeningResponse {
                    closed_at: rfc3339_micros(r.closed_at_micros),
                    closed_by: r.closed_by,
                    closure_reason: r.closure_reason.code(),
                    reopened_at: rfc3339_micros(r.reopened_at_micros),
                    reopened_by: r.reopened_by,
                    reason: r.reason.code(),
                })
                .collect(),
        }
    }
}

/// A new case, with its key worker (a member of staff of the person's service) if there is one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct OpenCaseRequest {
    pub key_worker_id: Option<Uuid>,
}

/// Why a case closes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseCaseRequest {
    /// `completed`, `disengaged`, `moved_away`, `transferred`, `declined`, `died` or `other`.
    #[schema(example = "completed")]
    pub reason: String,
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/cases", tag = "records",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, body = [CaseResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<CaseResponse>>, ApiError> {
    let cases = state.confidant.cases(&actor, purpose, person_id).await?;
    Ok(Json(cases.into_iter().map(CaseResponse::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/cases", tag = "records",
    params(("person_id" = Uuid, Path)),
    request_body = OpenCaseRequest,
    responses((status = 201, body = CaseResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the person already has an open case in the service", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn open<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<OpenCaseRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let case = state
        .confidant
        .open_case(&actor, purpose, person_id, body.key_worker_id)
        .await?;
    Ok((StatusCode::CREATED, Json(CaseResponse::from(case))))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/cases/{case_id}/close", tag = "records",
    params(("person_id" = Uuid, Path), ("case_id" = Uuid, Path)),
    request_body = CloseCaseRequest,
    responses((status = 200, body = CaseResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the case is already closed", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn close<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, case_id)): Path<(Uuid, Uuid)>,
    ChangeJson(actor, body): ChangeJson<CloseCaseRequest>,
) -> Result<Json<CaseResponse>, ApiError> {
    let reason: ClosureReason = parse_code("reason", &body.reason)?;
    let case = state
        .confidant
        .close_case(&actor, purpose, person_id, case_id, reason)
        .await?;
    Ok(Json(case.into()))
}

/// Why a closed case opens again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenCaseRequest {
    /// `returned`, `not_finished` or `closed_in_error`.
    #[schema(example = "returned")]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/cases/{case_id}/reopen", tag = "records",
    params(("person_id" = Uuid, Path), ("case_id" = Uuid, Path)),
    request_body = ReopenCaseRequest,
    responses((status = 200, body = CaseResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the case is open, or the person has another case open in the service", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn reopen<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, case_id)): Path<(Uuid, Uuid)>,
    ChangeJson(actor, body): ChangeJson<ReopenCaseRequest>,
) -> Result<Json<CaseResponse>, ApiError> {
    let reason: ReopenReason = parse_code("reason", &body.reason)?;
    let case = state
        .confidant
        .reopen_case(&actor, purpose, person_id, case_id, reason)
        .await?;
    Ok(Json(case.into()))
}
