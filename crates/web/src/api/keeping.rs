//! Keeping and destroying through the API: a record's legal holds (placed by the Data Protection
//! Officer or the Caldicott Guardian, released by the Data Protection Officer), what destroying it
//! would reach, its destruction, and the organisation's destruction certificates.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use confidant_core::Clock;
use confidant_core::keeping::{Certificate, DestructionPreview, Hold};
use confidant_core::store::{CertificateRecord, HoldRecord, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::merge::counts;
use crate::api::{organisation_of, rfc3339_micros as at};
use crate::http::bearer::{AccessPurpose, Authenticated, ChangeJson, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;
use crate::http::routing::{Routes, get, post};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route(
            "/people/{person_id}/holds",
            get(holds::<S, C>).post(place::<S, C>),
        )
        .route(
            "/people/{person_id}/holds/{hold_id}/release",
            post(release::<S, C>),
        )
        .route(
            "/people/{person_id}/destruction",
            get(preview::<S, C>).post(destroy::<S, C>),
        )
        .route("/destruction-certificates", get(certificates::<S, C>))
        .route(
            "/destruction-certificates/{certificate_id}",
            get(certificate::<S, C>),
        )
}

/// A legal hold: ids, its kind, who and when, and its reasons.
#[derive(Serialize, ToSchema)]
pub struct HoldResponse {
    pub id: Uuid,
    pub person_id: Uuid,
    /// A hold on one case of the record (it still keeps the whole record).
    pub case_id: Option<Uuid>,
    /// `litigation`, `inquiry`, `complaint`, `safeguarding_review`, `police_investigation` or
    /// `rights_request`.
    pub kind: &'static str,
    pub placed_by: String,
    pub placed_at: String,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
    /// Present where the reasons were opened (listing a record's holds).
    pub reason: Option<String>,
    pub release_reason: Option<String>,
}

impl From<HoldRecord> for HoldResponse {
    fn from(h: HoldRecord) -> Self {
        Self {
            id: h.id,
            person_id: h.person_id,
            case_id: h.case_id,
            kind: h.kind.code(),
            placed_by: h.placed_by,
            placed_at: at(h.placed_at_micros),
            released_by: h.released_by,
            released_at: h.released_at_micros.map(at),
            reason: None,
            release_reason: None,
        }
    }
}

impl From<Hold> for HoldResponse {
    fn from(h: Hold) -> Self {
        Self {
            reason: Some(h.reason),
            release_reason: h.release_reason,
            ..HoldResponse::from(h.record)
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    /// `litigation`, `inquiry`, `complaint`, `safeguarding_review`, `police_investigation` or
    /// `rights_request`.
    pub kind: String,
    /// One case of the record, where the hold is about it.
    pub case_id: Option<Uuid>,
    /// Why (at least 10 characters), sealed under the person's key.
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Why the hold is no longer needed (at least 10 characters).
    pub reason: String,
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/holds", tag = "keeping",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, description = "the record's legal holds, newest first", body = [HoldResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "not found, or not the Data Protection Officer or Caldicott Guardian", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn holds<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<HoldResponse>>, ApiError> {
    let holds = state.confidant.holds(&actor, purpose, person_id).await?;
    Ok(Json(holds.into_iter().map(HoldResponse::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/holds", tag = "keeping",
    params(("person_id" = Uuid, Path)),
    request_body = HoldRequest,
    responses((status = 201, description = "placed: the record cannot be destroyed until it is released", body = HoldResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn place<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<HoldRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let hold = state
        .confidant
        .place_hold(
            &actor,
            purpose,
            person_id,
            &body.kind,
            body.case_id,
            &body.reason,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(HoldResponse::from(hold))))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/holds/{hold_id}/release", tag = "keeping",
    params(("person_id" = Uuid, Path), ("hold_id" = Uuid, Path)),
    request_body = ReleaseRequest,
    responses((status = 204, description = "released"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "not found, or not the Data Protection Officer", body = ErrorBody), (status = 409, description = "released already", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn release<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, hold_id)): Path<(Uuid, Uuid)>,
    ChangeJson(actor, body): ChangeJson<ReleaseRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .confidant
        .release_hold(&actor, purpose, person_id, hold_id, &body.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What destroying a record would reach: counts by kind, and the holds that keep it.
#[derive(Serialize, ToSchema)]
pub struct DestructionPreviewResponse {
    pub person_id: Uuid,
    /// What would be destroyed, by kind (`entries`, `documents`, `disclosures`, …).
    pub destroyed: BTreeMap<String, i64>,
    /// Records merged into this one earlier: destroyed with it.
    pub merged_records: i64,
    /// Paper notes and archived paper files: their entries go, the paper must be collected.
    pub paper: i64,
    /// Audit events about the record: kept (ids only).
    pub audit_events_kept: i64,
    /// The legal holds on this record in force: while there is one, destruction is refused (409).
    pub live_holds: Vec<HoldResponse>,
    /// Every hold in force that keeps it: those above, and holds on a query covering it.
    pub holds_in_force: i64,
}

fn preview_response(person_id: Uuid, p: DestructionPreview) -> DestructionPreviewResponse {
    DestructionPreviewResponse {
        person_id,
        destroyed: counts(&p.scope.counts),
        merged_records: p.scope.merged_records,
        paper: p.scope.paper,
        audit_events_kept: p.scope.audit_events,
        live_holds: p.live_holds.into_iter().map(HoldResponse::from).collect(),
        holds_in_force: p.scope.live_holds,
    }
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/destruction", tag = "keeping",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, description = "what destroying the record would reach: nothing is changed by asking", body = DestructionPreviewResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "not found, or not the Data Protection Officer", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn preview<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<DestructionPreviewResponse>, ApiError> {
    let p = state
        .confidant
        .destruction_preview(&actor, purpose, person_id)
        .await?;
    Ok(Json(preview_response(person_id, p)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestructionRequest {
    /// `dpo_decision`, `retention_ended` or `erasure`.
    pub basis: String,
    /// Why, without naming anyone (checked against the person's names, identifiers and contact
    /// details): it is kept on the certificate after the record is gone.
    pub reason: String,
}

/// A destruction certificate: its body as kept (canonical JSON, the bytes its hash and signature
/// cover), the hash, the signature, and the body parsed.
#[derive(Serialize, ToSchema)]
pub struct CertificateResponse {
    pub id: Uuid,
    pub issued_at: String,
    /// SHA-256 of `body`, hexadecimal.
    pub sha256: String,
    /// Ed25519 signature of `body` by the installation's audit signing key, hexadecimal, made as
    /// the certificate was issued (absent where the process that issued it had no key).
    pub signature: Option<String>,
    /// The signing key's public half, hexadecimal: check it against `confidant audit public-key`.
    pub public_key: Option<String>,
    pub body: String,
    #[schema(value_type = Object)]
    pub certificate: Option<Certificate>,
}

pub(crate) fn certificate_response(r: CertificateRecord) -> CertificateResponse {
    let signed = r.signed();
    CertificateResponse {
        id: r.id,
        issued_at: at(r.issued_at_micros),
        sha256: r.body_sha256,
        signature: signed.as_ref().map(|s| s.signature.clone()),
        public_key: signed.map(|s| s.public_key),
        certificate: serde_json::from_str(&r.body).ok(),
        body: r.body,
    }
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/destruction", tag = "keeping",
    params(("person_id" = Uuid, Path)),
    request_body = DestructionRequest,
    responses((status = 201, description = "destroyed: the record, its keys and every row of it are gone; its certificate", body = CertificateResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "not found, or not the Data Protection Officer", body = ErrorBody), (status = 409, description = "a legal hold is in force, the record was merged into another, or it changed meanwhile", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn destroy<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<DestructionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let done = state
        .confidant
        .destroy_person(&actor, purpose, person_id, &body.basis, &body.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(certificate_response(done.record))))
}

#[utoipa::path(get, path = "/api/v1/destruction-certificates", tag = "keeping",
    responses((status = 200, description = "the organisation's latest certificates, newest first", body = [CertificateResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "not the Data Protection Officer or Caldicott Guardian", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn certificates<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
) -> Result<Json<Vec<CertificateResponse>>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let list = state
        .confidant
        .destruction_certificates(&actor, organisation)
        .await?;
    Ok(Json(list.into_iter().map(certificate_response).collect()))
}

#[utoipa::path(get, path = "/api/v1/destruction-certificates/{certificate_id}", tag = "keeping",
    params(("certificate_id" = Uuid, Path)),
    responses((status = 200, body = CertificateResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn certificate<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(certificate_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<CertificateResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let (record, _) = state
        .confidant
        .destruction_certificate(&actor, organisation, certificate_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(certificate_response(record)))
}
