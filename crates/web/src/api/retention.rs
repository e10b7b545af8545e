//! The retention review queue through the API: the organisation's queue (the Data Protection
//! Officer and the Caldicott Guardian), one review with what destroying its record would reach, a
//! reviewer's decision, and the Data Protection Officer's approval of others' destroy decisions.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use confidant_core::Clock;
use confidant_core::keeping::{Decision, ReviewView};
use confidant_core::store::{ReviewRecord, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::merge::counts;
use crate::api::{organisation_of, rfc3339_micros as at};
use crate::http::bearer::{Authenticated, ChangeJson, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;
use crate::http::routing::{Routes, get, post};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/retention/reviews", get(queue::<S, C>))
        .route("/retention/reviews/{review_id}", get(review::<S, C>))
        .route(
            "/retention/reviews/{review_id}/decision",
            post(decide::<S, C>),
        )
        .route("/retention/approvals", post(approve::<S, C>))
        .route("/retention/referrals", get(referrals::<S, C>))
        .route(
            "/retention/referrals/{referral_id}/erasure",
            post(erase_referral::<S, C>),
        )
}

/// A referral not taken up whose period has ended, waiting to be erased: ids, codes and times.
#[derive(Serialize, ToSchema)]
pub struct ReferralDueResponse {
    pub referral_id: Uuid,
    pub service_id: Uuid,
    /// `no_response` or `withdrawn`.
    pub state: &'static str,
    pub received_at: String,
    pub last_contact_at: Option<String>,
    pub decided_at: Option<String>,
    /// The register's `application_not_taken_up` rules (ids) whose periods ended.
    pub rules: Vec<String>,
    /// The day the last of them ended (UK calendar).
    pub due_on: String,
}

impl From<confidant_core::keeping::ReferralDue> for ReferralDueResponse {
    fn from(d: confidant_core::keeping::ReferralDue) -> Self {
        let r = d.referral;
        Self {
            referral_id: r.id,
            service_id: r.service_id,
            state: r.state.code(),
            received_at: at(r.received_at_micros),
            last_contact_at: r.last_contact_at_micros.map(at),
            decided_at: r.decided_at_micros.map(at),
            rules: d.due.rules,
            due_on: d.due.on.to_string(),
        }
    }
}

/// Erasing a referral not taken up takes no fields: what is erased and why come from the
/// register's rules.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralErasureRequest {}

/// A referral erased: its ids, codes and times stay; what was received and its key are gone.
#[derive(Serialize, ToSchema)]
pub struct ReferralErasedResponse {
    pub referral_id: Uuid,
    pub rules: Vec<String>,
    pub due_on: String,
}

#[utoipa::path(get, path = "/api/v1/retention/referrals", tag = "keeping",
    responses((status = 200, description = "referrals not taken up whose period has ended, oldest first", body = [ReferralDueResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "not the Data Protection Officer or Caldicott Guardian", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn referrals<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
) -> Result<Json<Vec<ReferralDueResponse>>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let list = state.confidant.referrals_due(&actor, organisation).await?;
    Ok(Json(
        list.into_iter().map(ReferralDueResponse::from).collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/retention/referrals/{referral_id}/erasure", tag = "keeping",
    params(("referral_id" = Uuid, Path)),
    request_body = ReferralErasureRequest,
    responses((status = 200, description = "erased: what was received and its key are gone for good, backups included", body = ReferralErasedResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such referral, or not the Data Protection Officer or Caldicott Guardian", body = ErrorBody), (status = 409, description = "not a referral not taken up whose period has ended, or erased already: nothing erased", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn erase_referral<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(referral_id): Path<Uuid>,
    ChangeJson(actor, _body): ChangeJson<ReferralErasureRequest>,
) -> Result<Json<ReferralErasedResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let due = state
        .confidant
        .erase_referral_not_taken_up(&actor, organisation, referral_id)
        .await?;
    Ok(Json(ReferralErasedResponse {
        referral_id,
        rules: due.rules,
        due_on: due.on.to_string(),
    }))
}

/// A record on the review queue: ids, the rules whose periods ended, and the decisions on it.
#[derive(Serialize, ToSchema)]
pub struct RetentionReviewResponse {
    pub id: Uuid,
    /// The record's id.
    pub person_id: Uuid,
    pub service_id: Uuid,
    /// The register's retention rules (ids) whose periods ended.
    pub rules: Vec<String>,
    /// The day the last of them ended (UK calendar).
    pub due_on: String,
    pub found_at: String,
    /// `to_review`, `destroy` (waiting for approval), `approved` (waiting period), `destroyed`,
    /// `keep`, `transfer` or `not_destroyed`.
    pub state: &'static str,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub keep_until: Option<String>,
    pub reason: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    /// From when the sweep destroys it (if still due as reviewed and not held).
    pub destroy_after: Option<String>,
    pub closed_at: Option<String>,
    /// Why an approved record was not destroyed.
    pub outcome: Option<String>,
    pub certificate_id: Option<Uuid>,
}

impl From<ReviewRecord> for RetentionReviewResponse {
    fn from(r: ReviewRecord) -> Self {
        Self {
            id: r.id,
            person_id: r.person_id,
            service_id: r.service_id,
            rules: r.rules.split(',').map(str::to_owned).collect(),
            due_on: r.due_on,
            found_at: at(r.found_at_micros),
            state: r.state.code(),
            decided_by: r.decided_by,
            decided_at: r.decided_at_micros.map(at),
            keep_until: r.keep_until,
            reason: r.reason,
            approved_by: r.approved_by,
            approved_at: r.approved_at_micros.map(at),
            destroy_after: r.destroy_after_micros.map(at),
            closed_at: r.closed_at_micros.map(at),
            outcome: r.outcome,
            certificate_id: r.certificate_id,
        }
    }
}

/// A review with the exact scope destroying its record would reach.
#[derive(Serialize, ToSchema)]
pub struct RetentionScopeResponse {
    pub review: RetentionReviewResponse,
    /// What would be destroyed, by kind (`entries`, `documents`, `disclosures`, …).
    pub destroyed: BTreeMap<String, i64>,
    pub merged_records: i64,
    /// Paper notes and archived paper files: their entries go, the paper must be collected.
    pub paper: i64,
    /// Audit events about the record: kept (ids only).
    pub audit_events_kept: i64,
    /// Legal holds in force now: while there is one, nothing is destroyed.
    pub live_holds: i64,
}

impl From<ReviewView> for RetentionScopeResponse {
    fn from(v: ReviewView) -> Self {
        Self {
            destroyed: counts(&v.scope.counts),
            merged_records: v.scope.merged_records,
            paper: v.scope.paper,
            audit_events_kept: v.scope.audit_events,
            live_holds: v.live_holds,
            review: RetentionReviewResponse::from(v.review),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionDecisionRequest {
    /// `destroy` (then the Data Protection Officer approves it), `keep` (with `keep_until`) or
    /// `transfer` (for permanent keeping elsewhere).
    pub decision: String,
    /// For `keep`: until when (`YYYY-MM-DD`, after today).
    pub keep_until: Option<String>,
    /// Why, without naming anyone (at least 10 characters): it goes on the certificate.
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionApprovalRequest {
    /// Reviews whose `destroy` decision someone else made.
    pub reviews: Vec<Uuid>,
}

/// What was approved: each is destroyed by the sweep after the waiting period.
#[derive(Serialize, ToSchema)]
pub struct RetentionApprovalResponse {
    pub approved: Vec<Uuid>,
    /// Days until the sweep may destroy them.
    pub waiting_days: i64,
}

#[utoipa::path(get, path = "/api/v1/retention/reviews", tag = "keeping",
    responses((status = 200, description = "the review queue: what waits, what is approved, and the latest closed", body = [RetentionReviewResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "not the Data Protection Officer or Caldicott Guardian", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn queue<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
) -> Result<Json<Vec<RetentionReviewResponse>>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let list = state
        .confidant
        .retention_queue(&actor, organisation)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(RetentionReviewResponse::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/retention/reviews/{review_id}", tag = "keeping",
    params(("review_id" = Uuid, Path)),
    responses((status = 200, description = "the review and what destroying its record would reach", body = RetentionScopeResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn review<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(review_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<RetentionScopeResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let view = state
        .confidant
        .retention_review(&actor, organisation, review_id)
        .await?;
    Ok(Json(RetentionScopeResponse::from(view)))
}

#[utoipa::path(post, path = "/api/v1/retention/reviews/{review_id}/decision", tag = "keeping",
    params(("review_id" = Uuid, Path)),
    request_body = RetentionDecisionRequest,
    responses((status = 200, description = "decided; a decision on a review still open replaces the earlier one and any approval of it", body = RetentionReviewResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "the review is closed (destroyed, kept or transferred)", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn decide<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(review_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<RetentionDecisionRequest>,
) -> Result<Json<RetentionReviewResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let decision = Decision::parse(&body.decision, body.keep_until.as_deref())?;
    let done = state
        .confidant
        .decide_retention(&actor, organisation, review_id, decision, &body.reason)
        .await?;
    Ok(Json(RetentionReviewResponse::from(done)))
}

#[utoipa::path(post, path = "/api/v1/retention/approvals", tag = "keeping",
    request_body = RetentionApprovalRequest,
    responses((status = 200, description = "approved: each is destroyed by the sweep after the waiting period, if still due as reviewed and not held", body = RetentionApprovalResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "a review not found, or not the Data Protection Officer", body = ErrorBody), (status = 409, description = "one is not waiting for approval, or was decided by the approver: nothing approved", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn approve<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    ChangeJson(actor, body): ChangeJson<RetentionApprovalRequest>,
) -> Result<Json<RetentionApprovalResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let approved = state
        .confidant
        .approve_retention(&actor, organisation, &body.reviews)
        .await?;
    Ok(Json(RetentionApprovalResponse {
        approved,
        waiting_days: confidant_core::keeping::WAITING_DAYS,
    }))
}
