//! Caseloads through the API: a service's people as a table's lines (whose, case status, sorted,
//! as on the people page) and the caseloads counted per worker for the service's managers.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use confidant_core::Clock;
use confidant_core::person::{CaseloadLine, CaseloadQuery};
use confidant_core::store::Store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::api::rfc3339_opt;
use crate::http::bearer::{AccessPurpose, Authenticated, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::{Path, Query};

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseloadParams {
    /// Whose people: `mine` (the default), `everyone`, `unassigned`, `worker-{staff id}` or
    /// `team-{team id}`.
    #[serde(default)]
    pub of: String,
    /// `any` (the default), `open`, `closed` or `none` (no case).
    #[serde(default)]
    pub status: String,
    /// `name` (the default), `date_of_birth`, `record_number`, `key_worker`, `status` or
    /// `last_contact`.
    #[serde(default)]
    pub sort: String,
    /// `asc` (the default) or `desc`.
    #[serde(default)]
    pub order: String,
}

/// One person of a caseload.
#[derive(Serialize, ToSchema)]
pub struct CaseloadItem {
    pub id: Uuid,
    pub record_number: i64,
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`, if recorded.
    pub date_of_birth: Option<String>,
    pub team_id: Option<Uuid>,
    pub key_worker_id: Option<Uuid>,
    /// The key worker's display name, else their handle.
    pub key_worker_name: Option<String>,
    /// `open`, `closed` or `none`.
    pub case_status: &'static str,
    /// When the open case was opened, or the last one closed (RFC 3339).
    pub case_status_since: Option<String>,
    /// The newest case note's time (RFC 3339), not counting notes marked as entered in error.
    pub last_contact: Option<String>,
}

impl CaseloadItem {
    /// A line of a caseload, its key worker named from `workers`.
    fn of(l: CaseloadLine, workers: &BTreeMap<Uuid, String>) -> Self {
        CaseloadItem {
            key_worker_name: l.key_worker_id.and_then(|k| workers.get(&k).cloned()),
            id: l.id,
            record_number: l.record_number,
            given_name: l.given_name,
            family_name: l.family_name,
            date_of_birth: l.date_of_birth,
            team_id: l.team_id,
            key_worker_id: l.key_worker_id,
            case_status: l.status.code(),
            case_status_since: rfc3339_opt(l.status_since),
            last_contact: rfc3339_opt(l.last_contact),
        }
    }
}

/// A caseload, sorted; `more` when more people matched than the 500 it holds.
#[derive(Serialize, ToSchema)]
pub struct CaseloadResponse {
    pub people: Vec<CaseloadItem>,
    pub more: bool,
}

#[utoipa::path(get, path = "/api/v1/services/{service_id}/caseload", tag = "people",
    params(("service_id" = Uuid, Path), CaseloadParams),
    responses((status = 200, body = CaseloadResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn caseload<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    Query(params): Query<CaseloadParams>,
    Trained(actor): Trained,
) -> Result<Json<CaseloadResponse>, ApiError> {
    let query = CaseloadQuery::parse(&params.of, &params.status, &params.sort, &params.order)
        .map_err(ApiError::Invalid)?;
    let caseload = state
        .confidant
        .caseload(&actor, purpose, service_id, query)
        .await?;
    Ok(Json(CaseloadResponse {
        people: caseload
            .lines
            .into_iter()
            .map(|l| CaseloadItem::of(l, &caseload.workers))
            .collect(),
        more: caseload.more,
    }))
}

/// How many people one key worker has (`key_worker_id` null: those with none).
#[derive(Serialize, ToSchema)]
pub struct WorkerLoadItem {
    pub key_worker_id: Option<Uuid>,
    /// The key worker's display name, else their handle.
    pub key_worker_name: Option<String>,
    pub people: i64,
    pub open_cases: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CaseloadCountsResponse {
    pub workers: Vec<WorkerLoadItem>,
}

#[utoipa::path(get, path = "/api/v1/services/{service_id}/caseloads", tag = "people",
    params(("service_id" = Uuid, Path)),
    responses((status = 200, body = CaseloadCountsResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn caseload_counts<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<CaseloadCountsResponse>, ApiError> {
    let counts = state
        .confidant
        .caseload_counts(&actor, purpose, service_id)
        .await?;
    Ok(Json(CaseloadCountsResponse {
        workers: counts
            .loads
            .into_iter()
            .map(|l| WorkerLoadItem {
                key_worker_name: l
                    .key_worker_id
                    .and_then(|k| counts.workers.get(&k).cloned()),
                key_worker_id: l.key_worker_id,
                people: l.people,
                open_cases: l.open_cases,
            })
            .collect(),
    }))
}
