//! Rights requests through the API: logging one about a person, the requests of the services the
//! caller sees them in, one request with its steps and how its due date was reached, and moving it
//! on a step.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use confidant_core::Clock;
use confidant_core::rights::{RequestInput, RequestView, StepInput};
use confidant_core::store::{RequestStepRecord, RightsRequestRecord, Store};
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
        .route(
            "/people/{person_id}/rights-requests",
            get(about::<S, C>).post(log::<S, C>),
        )
        .route("/rights-requests", get(list::<S, C>))
        .route("/rights-requests/{request_id}", get(one::<S, C>))
        .route("/rights-requests/{request_id}/steps", post(step::<S, C>))
}

/// A rights request: codes and UK days only.
#[derive(Serialize, ToSchema)]
pub struct RightsRequestResponse {
    pub id: Uuid,
    pub service_id: Uuid,
    pub person_id: Uuid,
    /// `informed`, `access`, `rectification`, `erasure`, `restriction`, `objection`,
    /// `portability`, `automated_decision` or `complaint`.
    pub kind: &'static str,
    pub channel: &'static str,
    /// The related person asking on the person's behalf, if not the person.
    pub representative_id: Option<Uuid>,
    pub authority: Option<&'static str>,
    pub received_on: String,
    /// `awaiting_identity`, `open`, `stopped`, `answered`, `refused` or `withdrawn`.
    pub state: &'static str,
    pub identity_check: Option<&'static str>,
    /// Day one, once identity is confirmed.
    pub start_on: Option<String>,
    pub stopped_days: u32,
    pub stopped_on: Option<String>,
    pub extended_on: Option<String>,
    pub extension_reason: Option<&'static str>,
    /// The due date (UK), once the clock has started.
    pub due_on: Option<String>,
    /// Someone named as an alleged perpetrator in a record asks or is asked about: nothing about
    /// a victim may reach them. Shown only to those who handle the request (the DPO, the
    /// Caldicott Guardian, the service's manager); `false` to others.
    pub safety_review: bool,
    pub created_by: String,
    pub created_at: String,
    pub closed_on: Option<String>,
    /// A complaint: the day it was acknowledged.
    pub acknowledged_on: Option<String>,
}

/// A request as the caller may see it: its safety-review mark only for those who handle it
/// (`rights.read` on its service).
pub(crate) fn response_for<S: Store, C: Clock>(
    state: &AppState<S, C>,
    actor: &confidant_core::access::Principal,
    r: RightsRequestRecord,
) -> RightsRequestResponse {
    let handles = state.confidant.allows(
        actor,
        confidant_core::Action::RightsRead,
        confidant_core::Resource::Service {
            id: r.service_id,
            organisation_id: r.organisation_id,
        },
    );
    let mut answer = response(r);
    answer.safety_review &= handles;
    answer
}

fn response(r: RightsRequestRecord) -> RightsRequestResponse {
    RightsRequestResponse {
        id: r.id,
        service_id: r.service_id,
        person_id: r.person_id,
        kind: r.kind.code(),
        channel: r.channel.code(),
        representative_id: r.representative_id,
        authority: r.authority.map(|a| a.code()),
        received_on: r.received_on,
        state: r.state.code(),
        identity_check: r.identity_check.map(|c| c.code()),
        start_on: r.start_on,
        stopped_days: r.stopped_days,
        stopped_on: r.stopped_on,
        extended_on: r.extended_on,
        extension_reason: r.extension_reason.map(|e| e.code()),
        due_on: r.due_on,
        safety_review: r.safety_review,
        created_by: r.created_by,
        created_at: at(r.created_at_micros),
        closed_on: r.closed_on,
        acknowledged_on: r.acknowledged_on,
    }
}

/// One step of a request.
#[derive(Serialize, ToSchema)]
pub struct RequestStepResponse {
    /// `logged`, `identity_requested`, `identity_confirmed`, `clock_stopped`, `clock_resumed`,
    /// `extended`, `answered`, `refused` or `withdrawn`.
    pub step: &'static str,
    pub on: String,
    pub detail: Option<String>,
    pub by: String,
    pub at: String,
}

fn step_response(s: RequestStepRecord) -> RequestStepResponse {
    RequestStepResponse {
        step: s.step.code(),
        on: s.on_day,
        detail: s.detail,
        by: s.by,
        at: at(s.at_micros),
    }
}

/// A request with its steps and how its due date was reached.
#[derive(Serialize, ToSchema)]
pub struct RightsRequestDetail {
    pub request: RightsRequestResponse,
    pub steps: Vec<RequestStepResponse>,
    /// `one_month`, `three_months`, `service_limit` or, for a complaint not yet acknowledged,
    /// `acknowledgement`.
    pub due_by: Option<&'static str>,
    /// How the due date was reached, in words (or why it is not known: the bank holidays do not
    /// reach it).
    pub due_explained: Option<String>,
    /// The last day it may still be extended, while it may.
    pub extend_until: Option<String>,
}

fn detail(view: RequestView) -> RightsRequestDetail {
    RightsRequestDetail {
        due_by: view.due.map(|d| d.by.code()),
        due_explained: view.due.map(|d| d.explained()).or(view.calendar_gap),
        extend_until: view.extend_until.map(|d| d.to_string()),
        steps: view.steps.into_iter().map(step_response).collect(),
        request: response(view.request),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RightsRequestRequest {
    pub kind: String,
    /// `in_person`, `phone`, `letter`, `email`, `web_form` or `other`.
    pub channel: String,
    /// The UK day it was received, `YYYY-MM-DD`.
    pub received_on: String,
    /// A related person of the record asking on the person's behalf.
    pub representative_id: Option<Uuid>,
    /// With a representative: `written_authority`, `power_of_attorney`, `court_deputy` or
    /// `parental_responsibility`.
    pub authority: Option<String>,
    /// How identity was confirmed (`known_to_staff`, `contact_on_record`, `documents_seen`,
    /// `authority_seen`); absent when it must be asked for (the clock waits for it).
    pub identity_check: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestStepRequest {
    /// `identity_confirmed` (detail: the check), `clock_stopped`, `clock_resumed`, `extended`
    /// (detail: `complex` or `numerous`), `answered`, `refused` (detail:
    /// `manifestly_unfounded`, `manifestly_excessive` or `exemption`) or `withdrawn`; for a
    /// complaint, `acknowledged`, then `answered` (the outcome told) or `withdrawn`.
    pub step: String,
    /// The UK day it happened, `YYYY-MM-DD`.
    pub on: String,
    pub detail: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/rights-requests", tag = "rights",
    params(("person_id" = Uuid, Path)),
    request_body = RightsRequestRequest,
    responses((status = 201, description = "logged, with its due date once identity is confirmed, and a task for the Data Protection Officer and the service's manager", body = RightsRequestResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such record, or not the caller's to log a request about", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn log<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<RightsRequestRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let request = state
        .confidant
        .log_rights_request(
            &actor,
            person_id,
            RequestInput {
                kind: &body.kind,
                channel: &body.channel,
                received_on: &body.received_on,
                representative_id: body.representative_id,
                authority: body.authority.as_deref(),
                identity_check: body.identity_check.as_deref(),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(response_for(&state, &actor, request)),
    ))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/rights-requests", tag = "rights",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, description = "the requests about the person, newest first", body = [RightsRequestResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn about<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
    Path(person_id): Path<Uuid>,
) -> Result<Json<Vec<RightsRequestResponse>>, ApiError> {
    let list = state
        .confidant
        .rights_requests_about(&actor, person_id)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|r| response_for(&state, &actor, r))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/rights-requests", tag = "rights",
    responses((status = 200, description = "the requests of the services the caller sees them in: open ones by due date, then the latest closed", body = [RightsRequestResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "not the Data Protection Officer, the Caldicott Guardian or a service's manager", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
) -> Result<Json<Vec<RightsRequestResponse>>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let list = state
        .confidant
        .rights_requests(&actor, organisation)
        .await?;
    Ok(Json(list.into_iter().map(response).collect()))
}

#[utoipa::path(get, path = "/api/v1/rights-requests/{request_id}", tag = "rights",
    params(("request_id" = Uuid, Path)),
    responses((status = 200, body = RightsRequestDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn one<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
    Path(request_id): Path<Uuid>,
) -> Result<Json<RightsRequestDetail>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let view = state
        .confidant
        .rights_request(&actor, organisation, request_id)
        .await?;
    Ok(Json(detail(view)))
}

#[utoipa::path(post, path = "/api/v1/rights-requests/{request_id}/steps", tag = "rights",
    params(("request_id" = Uuid, Path)),
    request_body = RequestStepRequest,
    responses((status = 200, description = "the request as it now stands, its due date worked out again", body = RightsRequestResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such request, or not the Data Protection Officer or the service's manager", body = ErrorBody), (status = 409, description = "someone moved it on first", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn step<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(request_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<RequestStepRequest>,
) -> Result<Json<RightsRequestResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let request = state
        .confidant
        .step_rights_request(
            &actor,
            organisation,
            request_id,
            StepInput {
                step: &body.step,
                on: &body.on,
                detail: body.detail.as_deref(),
            },
        )
        .await?;
    Ok(Json(response(request)))
}
