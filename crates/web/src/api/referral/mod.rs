//! Referrals into a service and their triage: received → contact attempted → accepted | declined |
//! no response | withdrawn. Declining erases what was received at once; accepting creates the person
//! and opens their case.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use confidant_core::Clock;
use confidant_core::record::RecordInput;
use confidant_core::referral::{NewReferral, Referral, ReferralLine};
use confidant_core::store::{ReferralRecord, ReferralSource, Store, TriageEvent, TriageState};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::api::record::case::CaseResponse;
use crate::api::{fields_of, parse_code, rfc3339, rfc3339_opt};
use crate::http::bearer::{AccessPurpose, Authenticated, ChangeJson, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::{Path, Query};
use crate::http::routing::{Routes, get, post};

fn at(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A referral's metadata: ids, codes and times only (what remains once it is decided).
#[derive(Serialize, ToSchema)]
pub struct ReferralSummary {
    pub id: Uuid,
    pub service_id: Uuid,
    /// `self`, `other`, `professional` or `partner`.
    pub source: &'static str,
    /// For a partner referral: the person's record at the partner service.
    pub partner_person_id: Option<Uuid>,
    /// `received`, `contact_attempted`, `accepted`, `declined`, `no_response` or `withdrawn`.
    pub state: &'static str,
    /// RFC 3339.
    pub received_at: String,
    pub last_contact_at: Option<String>,
    pub decided_at: Option<String>,
    /// Once accepted: the person created and their case.
    pub person_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
}

impl From<ReferralRecord> for ReferralSummary {
    fn from(r: ReferralRecord) -> Self {
        ReferralSummary {
            id: r.id,
            service_id: r.service_id,
            source: r.source.code(),
            partner_person_id: r.partner_person_id,
            state: r.state.code(),
            received_at: rfc3339(at(r.received_at_micros)),
            last_contact_at: rfc3339_opt(r.last_contact_at_micros.map(at)),
            decided_at: rfc3339_opt(r.decided_at_micros.map(at)),
            person_id: r.person_id,
            case_id: r.case_id,
        }
    }
}

/// One line of a service's referrals: its metadata and the referred person's names while the
/// referral still holds them.
#[derive(Serialize, ToSchema)]
pub struct ReferralLineResponse {
    #[serde(flatten)]
    pub referral: ReferralSummary,
    /// `given_name` and `family_name` (empty once erased).
    pub fields: BTreeMap<String, String>,
}

impl From<ReferralLine> for ReferralLineResponse {
    fn from(l: ReferralLine) -> Self {
        ReferralLineResponse {
            fields: fields_of(&l.values),
            referral: l.record.into(),
        }
    }
}

/// One step of triage.
#[derive(Serialize, ToSchema)]
pub struct TriageStep {
    pub state: &'static str,
    /// RFC 3339.
    pub at: String,
    /// Who moved it (a staff id).
    pub actor: String,
}

impl From<TriageEvent> for TriageStep {
    fn from(e: TriageEvent) -> Self {
        TriageStep {
            state: e.state.code(),
            at: rfc3339(at(e.at_micros)),
            actor: e.actor,
        }
    }
}

/// A referral: its metadata, what was received (empty once erased), its triage steps and possible
/// duplicates.
#[derive(Serialize, ToSchema)]
pub struct ReferralResponse {
    #[serde(flatten)]
    pub referral: ReferralSummary,
    /// What was received, by catalogue code (record `referral`).
    pub fields: BTreeMap<String, String>,
    /// Every step, oldest first; kept when the details are erased.
    pub steps: Vec<TriageStep>,
    /// People of the service who may be the same person (those within your scope).
    pub duplicate_people: Vec<Uuid>,
    /// Other open referrals that may be of the same person.
    pub duplicate_referrals: Vec<Uuid>,
}

impl From<Referral> for ReferralResponse {
    fn from(r: Referral) -> Self {
        ReferralResponse {
            fields: fields_of(&r.values),
            steps: r.steps.into_iter().map(TriageStep::from).collect(),
            duplicate_people: r.duplicate_people,
            duplicate_referrals: r.duplicate_referrals,
            referral: r.record.into(),
        }
    }
}

/// A referral as received. `given_name` and `family_name` are required.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralRequest {
    /// `self`, `other`, `professional` or `partner` (see the service's configuration for those it
    /// takes).
    #[schema(example = "professional")]
    pub source: String,
    /// For a partner referral: the person's record at the partner service, with an open case there.
    pub partner_person_id: Option<Uuid>,
    /// What was received, by catalogue code (record `referral`): the person's `given_name`,
    /// `family_name`, `date_of_birth`, `nhs_number`, `ni_number`, `postcode`, `phone`, `email`,
    /// `address`; the `referrer_name`, `referrer_organisation`, `referrer_contact`; the `reason`.
    pub fields: BTreeMap<String, String>,
}

/// Where triage moves a referral.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageRequest {
    /// `contact_attempted`, `declined` (erases what was received), `no_response` or `withdrawn`.
    /// Acceptance has its own endpoint.
    #[schema(example = "contact_attempted")]
    pub state: String,
}

/// Acceptance of a referral.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The person's key worker (a member of staff of the service); the accepting practitioner if
    /// absent.
    pub key_worker_id: Option<Uuid>,
}

/// The person created from an accepted referral, and their new case.
#[derive(Serialize, ToSchema)]
pub struct AcceptResponse {
    pub person_id: Uuid,
    pub case: CaseResponse,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReferralQuery {
    /// Only referrals still in triage (`received` or `contact_attempted`).
    pub open: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/services/{service_id}/referrals", tag = "referrals",
    params(("service_id" = Uuid, Path), ReferralQuery),
    responses((status = 200, description = "newest first (at most 500)", body = [ReferralLineResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    Query(query): Query<ReferralQuery>,
    Trained(actor): Trained,
) -> Result<Json<Vec<ReferralLineResponse>>, ApiError> {
    let lines = state
        .confidant
        .referrals(&actor, purpose, service_id, query.open.unwrap_or(false))
        .await?;
    Ok(Json(
        lines.into_iter().map(ReferralLineResponse::from).collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/services/{service_id}/referrals", tag = "referrals",
    params(("service_id" = Uuid, Path)),
    request_body = ReferralRequest,
    responses((status = 201, body = ReferralResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<ReferralRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let new = NewReferral {
        source: parse_code::<ReferralSource>("source", &body.source)?,
        partner_person_id: body.partner_person_id,
        values: RecordInput(body.fields),
    };
    let referral = state
        .confidant
        .create_referral(&actor, purpose, service_id, &new)
        .await?;
    Ok((StatusCode::CREATED, Json(ReferralResponse::from(referral))))
}

#[utoipa::path(get, path = "/api/v1/referrals/{referral_id}", tag = "referrals",
    params(("referral_id" = Uuid, Path)),
    responses((status = 200, body = ReferralResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn read<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(referral_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<ReferralResponse>, ApiError> {
    let referral = state
        .confidant
        .referral(&actor, purpose, referral_id)
        .await?;
    Ok(Json(referral.into()))
}

#[utoipa::path(post, path = "/api/v1/referrals/{referral_id}/triage", tag = "referrals",
    params(("referral_id" = Uuid, Path)),
    request_body = TriageRequest,
    responses((status = 200, body = ReferralSummary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the referral has already been decided, or changed meanwhile", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn triage<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(referral_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<TriageRequest>,
) -> Result<Json<ReferralSummary>, ApiError> {
    let to: TriageState = parse_code("state", &body.state)?;
    let record = state
        .confidant
        .triage_referral(&actor, purpose, referral_id, to)
        .await?;
    Ok(Json(record.into()))
}

#[utoipa::path(post, path = "/api/v1/referrals/{referral_id}/accept", tag = "referrals",
    params(("referral_id" = Uuid, Path)),
    request_body = AcceptRequest,
    responses((status = 201, body = AcceptResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the referral has already been decided, or changed meanwhile", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn accept<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(referral_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<AcceptRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let (person_id, case) = state
        .confidant
        .accept_referral(&actor, purpose, referral_id, body.key_worker_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AcceptResponse {
            person_id,
            case: case.into(),
        }),
    ))
}

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route(
            "/services/{service_id}/referrals",
            get(list::<S, C>).post(create::<S, C>),
        )
        .route("/referrals/{referral_id}", get(read::<S, C>))
        .route("/referrals/{referral_id}/triage", post(triage::<S, C>))
        .route("/referrals/{referral_id}/accept", post(accept::<S, C>))
}
