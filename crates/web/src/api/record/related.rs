//! Related people of a service user's record: children, family, next of kin, advocates, someone
//! acting on the person's behalf, alleged perpetrators. Each is a third party sealed with their own
//! key; the link lives in this record only.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use confidant_core::Clock;
use confidant_core::record::RecordInput;
use confidant_core::related::Related;
use confidant_core::store::{Relationship, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::{fields_of, parse_code, rfc3339};
use crate::http::bearer::{AccessPurpose, Authenticated, ChangeJson, MayChange, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;

/// A related person.
#[derive(Serialize, ToSchema)]
pub struct RelatedResponse {
    pub id: Uuid,
    /// `child`, `family`, `next_of_kin`, `advocate`, `acting_on_behalf` or `alleged_perpetrator`.
    pub relationship: &'static str,
    /// Their own record, when a service of the organisation supports them too.
    pub linked_person_id: Option<Uuid>,
    /// RFC 3339.
    pub created_at: String,
    /// Their details by catalogue code (record `related`): `given_name`, `family_name`, `phone`,
    /// `email`, `address`, `notes`.
    pub fields: BTreeMap<String, String>,
}

impl From<Related> for RelatedResponse {
    fn from(r: Related) -> Self {
        RelatedResponse {
            id: r.id,
            relationship: r.relationship.code(),
            linked_person_id: r.linked_person_id,
            created_at: rfc3339(r.created_at),
            fields: fields_of(&r.values),
        }
    }
}

/// A related person to add. `given_name` is required. `child` needs a service that records
/// children.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelatedRequest {
    /// `child`, `family`, `next_of_kin`, `advocate`, `acting_on_behalf` or `alleged_perpetrator`.
    #[schema(example = "next_of_kin")]
    pub relationship: String,
    /// Their own record, if a service of the organisation supports them too.
    pub linked_person_id: Option<Uuid>,
    /// Their details by catalogue code (record `related`).
    pub fields: BTreeMap<String, String>,
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/related", tag = "records",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, body = [RelatedResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<RelatedResponse>>, ApiError> {
    let related = state
        .confidant
        .related_people(&actor, purpose, person_id)
        .await?;
    Ok(Json(
        related.into_iter().map(RelatedResponse::from).collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/related", tag = "records",
    params(("person_id" = Uuid, Path)),
    request_body = RelatedRequest,
    responses((status = 201, body = RelatedResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn add<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<RelatedRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let relationship: Relationship = parse_code("relationship", &body.relationship)?;
    let related = state
        .confidant
        .add_related(
            &actor,
            purpose,
            person_id,
            relationship,
            body.linked_person_id,
            &RecordInput(body.fields),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(RelatedResponse::from(related))))
}

/// A related person's new relationship and details: a field given replaces the recorded one, `""`
/// clears it, one left out stays; `given_name` is required. Their link to a record of their own
/// is not changed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelatedChange {
    #[schema(example = "next_of_kin")]
    pub relationship: String,
    pub fields: BTreeMap<String, String>,
}

#[utoipa::path(put, path = "/api/v1/people/{person_id}/related/{related_id}", tag = "records",
    params(("person_id" = Uuid, Path), ("related_id" = Uuid, Path)),
    request_body = RelatedChange,
    responses((status = 200, body = RelatedResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn change<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, related_id)): Path<(Uuid, Uuid)>,
    ChangeJson(actor, body): ChangeJson<RelatedChange>,
) -> Result<Json<RelatedResponse>, ApiError> {
    let relationship: Relationship = parse_code("relationship", &body.relationship)?;
    let related = state
        .confidant
        .update_related(
            &actor,
            purpose,
            person_id,
            related_id,
            relationship,
            &RecordInput(body.fields),
        )
        .await?;
    Ok(Json(RelatedResponse::from(related)))
}

#[utoipa::path(delete, path = "/api/v1/people/{person_id}/related/{related_id}", tag = "records",
    params(("person_id" = Uuid, Path), ("related_id" = Uuid, Path)),
    responses((status = 204, description = "removed, and their key destroyed"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn remove<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, related_id)): Path<(Uuid, Uuid)>,
    MayChange(actor): MayChange,
) -> Result<StatusCode, ApiError> {
    state
        .confidant
        .remove_related(&actor, purpose, person_id, related_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
