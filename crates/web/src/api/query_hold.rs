//! Legal holds on a query through the API: the organisation's list (the Data Protection Officer
//! and the Caldicott Guardian), placing one over a service's records in a period, and the Data
//! Protection Officer's release with a reason.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use confidant_core::Clock;
use confidant_core::keeping::QueryHoldInput;
use confidant_core::store::{QueryHoldRecord, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::{organisation_of, rfc3339_micros as at};
use crate::http::bearer::{Authenticated, ChangeJson, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;
use crate::http::routing::{Routes, get, post};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/holds/queries", get(list::<S, C>).post(place::<S, C>))
        .route(
            "/holds/queries/{query_hold_id}/release",
            post(release::<S, C>),
        )
}

/// A legal hold on a query: a service's records in a period (UK dates, both included).
#[derive(Serialize, ToSchema)]
pub struct QueryHoldResponse {
    pub id: Uuid,
    pub service_id: Uuid,
    /// `litigation`, `inquiry`, `complaint`, `safeguarding_review`, `police_investigation` or
    /// `rights_request`.
    pub kind: &'static str,
    pub from_on: String,
    pub to_on: String,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: String,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
    pub release_reason: Option<String>,
    /// How many records it covers now (every record with a case in the service open in the
    /// period, or made in it).
    pub covers: Option<i64>,
}

fn response(h: QueryHoldRecord, covers: Option<i64>) -> QueryHoldResponse {
    QueryHoldResponse {
        id: h.id,
        service_id: h.service_id,
        kind: h.kind.code(),
        from_on: h.from_on,
        to_on: h.to_on,
        reason: h.reason,
        placed_by: h.placed_by,
        placed_at: at(h.placed_at_micros),
        released_by: h.released_by,
        released_at: h.released_at_micros.map(at),
        release_reason: h.release_reason,
        covers,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryHoldRequest {
    pub kind: String,
    pub service_id: Uuid,
    /// The period's first day, `YYYY-MM-DD`.
    pub from_on: String,
    /// The period's last day (included), `YYYY-MM-DD`.
    pub to_on: String,
    /// Why, naming the inquiry, claim or review and no person.
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryHoldReleaseRequest {
    pub reason: String,
}

#[utoipa::path(get, path = "/api/v1/holds/queries", tag = "keeping",
    responses((status = 200, description = "the organisation's holds on a query, live and released, newest first", body = [QueryHoldResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "not the Data Protection Officer or Caldicott Guardian", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
) -> Result<Json<Vec<QueryHoldResponse>>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let holds = state.confidant.query_holds(&actor, organisation).await?;
    Ok(Json(
        holds
            .into_iter()
            .map(|(h, covers)| response(h, Some(covers)))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/holds/queries", tag = "keeping",
    request_body = QueryHoldRequest,
    responses((status = 201, description = "placed: every record it covers is kept until the Data Protection Officer releases it", body = QueryHoldResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such service, or not the Data Protection Officer or Caldicott Guardian", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn place<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    ChangeJson(actor, body): ChangeJson<QueryHoldRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let hold = state
        .confidant
        .place_query_hold(
            &actor,
            organisation,
            QueryHoldInput {
                kind: &body.kind,
                service_id: body.service_id,
                from_on: &body.from_on,
                to_on: &body.to_on,
                reason: &body.reason,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(response(hold, None))))
}

#[utoipa::path(post, path = "/api/v1/holds/queries/{query_hold_id}/release", tag = "keeping",
    params(("query_hold_id" = Uuid, Path)),
    request_body = QueryHoldReleaseRequest,
    responses((status = 204, description = "released"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such hold, or not the Data Protection Officer", body = ErrorBody), (status = 409, description = "released already", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn release<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(hold_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<QueryHoldReleaseRequest>,
) -> Result<StatusCode, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    state
        .confidant
        .release_query_hold(&actor, organisation, hold_id, &body.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
