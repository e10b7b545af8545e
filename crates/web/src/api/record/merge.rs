//! Merging a duplicate record into a person's through the API: the check first (what moves, what
//! fills a gap, what differs), then the merge, and the merges into a record.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use confidant_core::Clock;
use confidant_core::person::MergePreview;
use confidant_core::store::{MergeConfirmation, MergeCounts, MergeRecord, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::api::{parse_code, rfc3339_micros};
use crate::http::bearer::{AccessPurpose, Authenticated, ChangeJson, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::{Path, Query};

/// What moves, by kind (`entries`, `documents`, `consents`, `disclosures`, …): counts only.
pub(crate) fn counts(moved: &MergeCounts) -> BTreeMap<String, i64> {
    serde_json::to_value(moved)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PreviewParams {
    /// The duplicate record to merge into this one (required: without it, or naming this record
    /// itself, the answer is 422 once the caller is known to be allowed).
    pub with: Option<Uuid>,
}

/// What merging would do: nothing is changed by asking.
#[derive(Serialize, ToSchema)]
pub struct MergePreviewResponse {
    pub person_id: Uuid,
    /// The duplicate, whose record would move into this one.
    pub duplicate_id: Uuid,
    /// What moves from the duplicate, by kind.
    pub moved: BTreeMap<String, i64>,
    /// Catalogue codes of details only the duplicate has: they fill this record's gaps.
    pub filled: Vec<String>,
    /// Catalogue codes of details both have with different values: this record's stay, the
    /// duplicate's go to its correction history.
    pub differing: Vec<String>,
    /// Both records have an open case: the duplicate's would be closed as `recorded_twice`.
    pub both_open: bool,
    /// The merge would break the rules on alleged perpetrators: it is refused (409) until the
    /// records' related people are put right.
    pub breaks_links: bool,
    pub photo_becomes_document: bool,
}

impl From<MergePreview> for MergePreviewResponse {
    fn from(p: MergePreview) -> Self {
        Self {
            person_id: p.surviving.id,
            duplicate_id: p.merged.id,
            moved: counts(&p.moved),
            filled: p.filled.iter().map(|f| f.code().to_owned()).collect(),
            differing: p.differing.iter().map(|f| f.code().to_owned()).collect(),
            both_open: p.both_open,
            breaks_links: p.breaks_links,
            photo_becomes_document: p.photo_becomes_document,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The duplicate record, of the same service: everything in it moves into this record.
    pub merge_id: Uuid,
    /// How it was made sure they are one person: `identifiers`, `with_person` or `with_referrer`.
    pub confirmed_how: String,
}

/// A merge as kept: ids, numbers, who, when, how it was checked and what moved.
#[derive(Serialize, ToSchema)]
pub struct MergeResponse {
    pub merged_id: Uuid,
    pub merged_record_number: i64,
    pub surviving_id: Uuid,
    pub surviving_record_number: i64,
    pub confirmed_how: String,
    pub merged_by: String,
    pub merged_at: String,
    pub moved: BTreeMap<String, i64>,
}

impl From<MergeRecord> for MergeResponse {
    fn from(m: MergeRecord) -> Self {
        Self {
            merged_id: m.merged_id,
            merged_record_number: m.merged_number,
            surviving_id: m.surviving_id,
            surviving_record_number: m.surviving_number,
            confirmed_how: m.confirmed_how.code().to_owned(),
            merged_by: m.merged_by,
            merged_at: rfc3339_micros(m.merged_at_micros),
            moved: counts(&m.moved),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/merge", tag = "records",
    params(("person_id" = Uuid, Path), PreviewParams),
    responses((status = 200, description = "what merging `with` into this record would do", body = MergePreviewResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn preview<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Query(params): Query<PreviewParams>,
    Trained(actor): Trained,
) -> Result<Json<MergePreviewResponse>, ApiError> {
    let preview = state
        .confidant
        .merge_preview(&actor, purpose, person_id, params.with.unwrap_or(person_id))
        .await?;
    Ok(Json(preview.into()))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/merge", tag = "records",
    params(("person_id" = Uuid, Path)),
    request_body = MergeRequest,
    responses((status = 200, description = "merged: the duplicate's record is gone, everything in it is this record's", body = MergeResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "either record changed meanwhile, or the merge would break the rules on alleged perpetrators", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn merge<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<MergeRequest>,
) -> Result<Json<MergeResponse>, ApiError> {
    let how: MergeConfirmation = parse_code("confirmed_how", &body.confirmed_how)?;
    let merge = state
        .confidant
        .merge_people(&actor, purpose, person_id, body.merge_id, how)
        .await?;
    Ok(Json(merge.into()))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/merges", tag = "records",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, description = "the records merged into this one, newest first", body = [MergeResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn merges<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<MergeResponse>>, ApiError> {
    let merges = state
        .confidant
        .merges_into(&actor, purpose, person_id)
        .await?;
    Ok(Json(merges.into_iter().map(MergeResponse::from).collect()))
}
