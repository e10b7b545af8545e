//! An access request's bundle through the API: compiling it, reading it with each item as it
//! reads, deciding an item, the second check, the release, and the released copy (JSON, schema
//! `confidant.access-copy/1`, documented in docs/api.md).

use axum::Json;
use axum::extract::State;
use confidant_core::Clock;
use confidant_core::rights::{BundleItem, BundleView, DecisionInput, ManifestLine};
use confidant_core::store::{BundleItemRecord, Store};
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
            "/rights-requests/{request_id}/bundle",
            get(read::<S, C>).post(compile::<S, C>),
        )
        .route(
            "/rights-requests/{request_id}/bundle/items/{position}",
            post(decide::<S, C>),
        )
        .route(
            "/rights-requests/{request_id}/bundle/check",
            post(check::<S, C>),
        )
        .route(
            "/rights-requests/{request_id}/bundle/release",
            post(release::<S, C>),
        )
        .route(
            "/rights-requests/{request_id}/bundle/copy",
            get(copy::<S, C>),
        )
}

/// One item of a bundle: where it comes from, how it reads (as it would be released), its flags,
/// what was proposed and what was decided.
#[derive(Serialize, ToSchema)]
pub struct BundleItemResponse {
    /// Its place in the bundle, counted from zero (the path of its decision).
    pub position: i64,
    /// `field`, `case`, `entry`, `document`, `related`, `referral`, `consent`, `disclosure` or
    /// `message`.
    pub source: &'static str,
    /// The field's code, or the item's id.
    pub reference: String,
    pub heading: String,
    /// (label, value) pairs.
    pub rows: Vec<(String, String)>,
    /// `third_party_source`, `complainant`, `serious_harm`, `mentions_related`,
    /// `related_person`, `health`, `paper`, `safe_contact`, `victim`.
    pub flags: Vec<&'static str>,
    pub proposed: &'static str,
    /// The exemption proposed (`sch2_p16`, `sch3_pt2`, `sch3_pt3`, `sch2_p2`, `victim_safety`).
    pub exemption: Option<&'static str>,
    /// Withheld whatever anyone decides (a victim's data).
    pub locked: bool,
    /// `release` or `withhold`, once decided.
    pub decision: Option<&'static str>,
    pub reason: Option<&'static str>,
    pub opinion_on: Option<String>,
    pub opinion_by: Option<&'static str>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// One source the search covered.
#[derive(Serialize, ToSchema)]
pub struct ManifestResponse {
    pub source: String,
    pub found: usize,
    pub left_out: usize,
    pub why_left_out: Option<String>,
}

/// A request's bundle: its state, what stops its release, the search manifest and the items.
#[derive(Serialize, ToSchema)]
pub struct BundleResponse {
    pub request_id: Uuid,
    /// Whether it has been compiled.
    pub compiled: bool,
    pub compiled_by: Option<String>,
    pub compiled_at: Option<String>,
    pub checked_by: Option<String>,
    pub checked_at: Option<String>,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
    /// The disclosure log entry of the released copy.
    pub disclosure_id: Option<Uuid>,
    /// Someone named as an alleged perpetrator asks or is asked about.
    pub safety_review: bool,
    /// What stops the release today (empty when nothing does, once checked).
    pub problems: Vec<String>,
    pub searched: Vec<ManifestResponse>,
    pub items: Vec<BundleItemResponse>,
}

fn item_response(i: BundleItem) -> BundleItemResponse {
    let r: BundleItemRecord = i.record;
    BundleItemResponse {
        position: r.position,
        source: r.source.code(),
        reference: r.reference,
        heading: i.heading,
        rows: i.rows,
        flags: r.flags.iter().map(|f| f.code()).collect(),
        proposed: if r.proposed_withhold {
            "withhold"
        } else {
            "release"
        },
        exemption: r.exemption.map(|e| e.code()),
        locked: r.locked,
        decision: r.decision.map(|d| d.code()),
        reason: r.reason.map(|d| d.code()),
        opinion_on: r.opinion_on,
        opinion_by: r.opinion_by.map(|p| p.code()),
        decided_by: r.decided_by,
        decided_at: r.decided_at_micros.map(at),
    }
}

fn manifest_response(m: ManifestLine) -> ManifestResponse {
    ManifestResponse {
        source: m.source,
        found: m.found,
        left_out: m.left_out,
        why_left_out: m.why_left_out,
    }
}

fn response(v: BundleView) -> BundleResponse {
    let b = v.bundle.as_ref();
    BundleResponse {
        request_id: v.request.id,
        compiled: b.is_some(),
        compiled_by: b.map(|b| b.compiled_by.clone()),
        compiled_at: b.map(|b| at(b.compiled_at_micros)),
        checked_by: b.and_then(|b| b.checked_by.clone()),
        checked_at: b.and_then(|b| b.checked_at_micros).map(at),
        released_by: b.and_then(|b| b.released_by.clone()),
        released_at: b.and_then(|b| b.released_at_micros).map(at),
        disclosure_id: b.and_then(|b| b.disclosure_id),
        safety_review: v.request.safety_review,
        problems: v.problems,
        searched: v.manifest.into_iter().map(manifest_response).collect(),
        items: v.items.into_iter().map(item_response).collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/rights-requests/{request_id}/bundle", tag = "rights",
    params(("request_id" = Uuid, Path)),
    responses((status = 200, body = BundleResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such request, or not one the caller sees", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn read<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
    Path(request_id): Path<Uuid>,
) -> Result<Json<BundleResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let view = state
        .confidant
        .bundle_view(&actor, organisation, request_id)
        .await?;
    Ok(Json(response(view)))
}

/// Nothing: compiling, checking and releasing take no input.
#[derive(Deserialize, ToSchema)]
pub struct NoInput {}

#[utoipa::path(post, path = "/api/v1/rights-requests/{request_id}/bundle", tag = "rights",
    params(("request_id" = Uuid, Path)),
    request_body = NoInput,
    responses((status = 200, description = "the bundle, compiled (again: every decision undone)", body = BundleResponse), (status = 401, body = ErrorBody), (status = 403, description = "the request is made by someone the record names as an alleged perpetrator", body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not an open access request, or released", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn compile<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(request_id): Path<Uuid>,
    ChangeJson(actor, _): ChangeJson<NoInput>,
) -> Result<Json<BundleResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let view = state
        .confidant
        .compile_bundle(&actor, organisation, request_id)
        .await?;
    Ok(Json(response(view)))
}

/// A reviewer's decision on one item.
#[derive(Deserialize, ToSchema)]
pub struct DecisionRequest {
    /// `release` or `withhold`.
    pub decision: String,
    /// The legal reason: `nothing_of_others`, `other_consented`, `reasonable_without_consent`,
    /// `professional_in_role`, `already_known`, `opinion_no_harm` (to release);
    /// `identifies_other`, `identifies_source`, `opinion_serious_harm`, `social_work_harm`,
    /// `crime_prejudice` (to withhold).
    pub reason: String,
    /// For a reason resting on a health professional's opinion: its UK day, `YYYY-MM-DD`, within
    /// the last six months.
    pub opinion_on: Option<String>,
    /// `responsible` or `suitable`.
    pub opinion_by: Option<String>,
    /// The item's `reference` as read: `409` if a search since put another item in its place.
    pub reference: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/rights-requests/{request_id}/bundle/items/{position}", tag = "rights",
    params(("request_id" = Uuid, Path), ("position" = i64, Path)),
    request_body = DecisionRequest,
    responses((status = 200, description = "the item as decided (any second check is undone); its heading and rows are left empty here: read the bundle", body = BundleItemResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "no bundle yet, released, or changed meanwhile", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn decide<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path((request_id, position)): Path<(Uuid, i64)>,
    ChangeJson(actor, body): ChangeJson<DecisionRequest>,
) -> Result<Json<BundleItemResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let record = state
        .confidant
        .decide_bundle_item(
            &actor,
            organisation,
            request_id,
            position,
            DecisionInput {
                decision: &body.decision,
                reason: &body.reason,
                opinion_on: body.opinion_on.as_deref(),
                opinion_by: body.opinion_by.as_deref(),
                reference: body.reference.as_deref(),
            },
        )
        .await?;
    Ok(Json(item_response(BundleItem {
        record,
        heading: String::new(),
        rows: Vec::new(),
    })))
}

#[utoipa::path(post, path = "/api/v1/rights-requests/{request_id}/bundle/check", tag = "rights",
    params(("request_id" = Uuid, Path)),
    request_body = NoInput,
    responses((status = 200, description = "checked", body = BundleResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "no bundle, released, or the caller decided one of its items", body = ErrorBody), (status = 422, description = "what stops the release (items to decide, opinions too old)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn check<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(request_id): Path<Uuid>,
    ChangeJson(actor, _): ChangeJson<NoInput>,
) -> Result<Json<BundleResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    state
        .confidant
        .check_bundle(&actor, organisation, request_id)
        .await?;
    let view = state
        .confidant
        .bundle_view(&actor, organisation, request_id)
        .await?;
    Ok(Json(response(view)))
}

/// A released copy: its disclosure log entry and the JSON the person is given.
#[derive(Serialize, ToSchema)]
pub struct CopyResponse {
    pub disclosure_id: Uuid,
    /// Schema `confidant.access-copy/1` (docs/api.md).
    #[schema(value_type = Object)]
    pub copy: serde_json::Value,
}

#[utoipa::path(post, path = "/api/v1/rights-requests/{request_id}/bundle/release", tag = "rights",
    params(("request_id" = Uuid, Path)),
    request_body = NoInput,
    responses((status = 200, description = "released: logged as a disclosure to the person, locked, the request answered", body = CopyResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not checked, released already, or the clock not running", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn release<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(request_id): Path<Uuid>,
    ChangeJson(actor, _): ChangeJson<NoInput>,
) -> Result<Json<CopyResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let copy = state
        .confidant
        .release_bundle(&actor, organisation, request_id)
        .await?;
    Ok(Json(CopyResponse {
        disclosure_id: copy.disclosure_id,
        copy: copy.json,
    }))
}

#[utoipa::path(get, path = "/api/v1/rights-requests/{request_id}/bundle/copy", tag = "rights",
    params(("request_id" = Uuid, Path)),
    responses((status = 200, body = CopyResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not released yet", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn copy<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
    Path(request_id): Path<Uuid>,
) -> Result<Json<CopyResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let copy = state
        .confidant
        .released_copy(&actor, organisation, request_id)
        .await?;
    Ok(Json(CopyResponse {
        disclosure_id: copy.disclosure_id,
        copy: copy.json,
    }))
}
