//! Staff through the API: who the token belongs to, the services of an organisation, and a
//! trustee's matter granted by the Data Protection Officer.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use confidant_core::grant::TrusteeGrant;
use confidant_core::store::Store;
use confidant_core::{Actor, Clock};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::http::bearer::{Authenticated, WritableJson};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;
use crate::http::routing::{Routes, get, post};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/me", get(me::<S, C>))
        .route(
            "/organisations/{organisation_id}/services",
            get(list_services::<S, C>),
        )
        .route("/staff/{staff_id}/matters", post(grant_matter::<S, C>))
}

/// A trustee's matter: one person's record, the parts of it opened, for how long and why.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatterRequest {
    pub person_id: Uuid,
    /// A kind of matter the register names (`[[trustee_matter]]` id).
    #[schema(example = "complaint")]
    pub matter: String,
    /// Field group codes and entry kinds (`note`, `plan`, `goal`, `appointment`), within the
    /// kind's.
    pub parts: Vec<String>,
    pub days: i64,
    pub reason: String,
    /// Why flagged notes are opened too; without it they stay closed.
    pub flagged_reason: Option<String>,
}

/// The grant made.
#[derive(Serialize, ToSchema)]
pub struct MatterResponse {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub person_id: Uuid,
    pub matter: Option<String>,
    pub parts: Vec<String>,
    pub flagged_notes: bool,
    /// RFC 3339.
    pub ends_at: String,
}

#[utoipa::path(post, path = "/api/v1/staff/{staff_id}/matters", tag = "staff",
    params(("staff_id" = Uuid, Path)),
    request_body = MatterRequest,
    responses((status = 201, body = MatterResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn grant_matter<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(staff_id): Path<Uuid>,
    WritableJson(actor, body): WritableJson<MatterRequest>,
) -> Result<(StatusCode, Json<MatterResponse>), ApiError> {
    let grant = state
        .confidant
        .grant_trustee_matter(
            &actor,
            staff_id,
            body.person_id,
            &TrusteeGrant {
                matter: body.matter,
                parts: body.parts,
                days: body.days,
                reason: body.reason,
                flagged_reason: body.flagged_reason,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MatterResponse {
            id: grant.id,
            staff_id: grant.staff_id,
            person_id: grant.person_id,
            matter: grant.matter,
            parts: grant.parts,
            flagged_notes: grant.flagged_reason.is_some(),
            ends_at: super::rfc3339(
                time::OffsetDateTime::from_unix_timestamp_nanos(
                    i128::from(grant.ends_at_micros) * 1000,
                )
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            ),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ServiceResponse {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
}

/// Who the token belongs to.
#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub user_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub role: String,
    /// The member of staff's sign-in handle (absent for the operator).
    pub handle: Option<String>,
    /// How colleagues see them on the pages; absent when none is set (the handle is shown).
    pub display_name: Option<String>,
    pub job_title: Option<String>,
    /// Training and policy acknowledgements are current (personal data is reachable).
    pub trained: bool,
    /// `read` or `read_write`.
    pub token_scope: String,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "staff",
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn me<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    Authenticated(actor, scope): Authenticated,
) -> Result<Json<MeResponse>, ApiError> {
    let scope = scope.code().to_owned();
    let account = state.confidant.own_account(&actor).await?;
    Ok(Json(match actor.actor() {
        Actor::Staff(s) => MeResponse {
            user_id: Some(s.user_id),
            organisation_id: Some(s.organisation_id),
            service_id: s.service_id,
            role: s.role.code().to_owned(),
            handle: account.as_ref().map(|a| a.handle.clone()),
            display_name: account.as_ref().and_then(|a| a.display_name.clone()),
            job_title: account.and_then(|a| a.job_title),
            trained: s.trained,
            token_scope: scope,
        },
        Actor::System => MeResponse {
            user_id: None,
            organisation_id: None,
            service_id: None,
            role: "system".to_owned(),
            handle: None,
            display_name: None,
            job_title: None,
            trained: false,
            token_scope: scope,
        },
    }))
}

#[utoipa::path(get, path = "/api/v1/organisations/{organisation_id}/services", tag = "services",
    params(("organisation_id" = Uuid, Path)),
    responses((status = 200, body = [ServiceResponse]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_services<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    Path(organisation_id): Path<Uuid>,
) -> Result<Json<Vec<ServiceResponse>>, ApiError> {
    let actor = auth.0;
    let services = state.confidant.services(&actor, organisation_id).await?;
    Ok(Json(
        services
            .into_iter()
            .map(|s| ServiceResponse {
                id: s.id,
                organisation_id: s.organisation_id,
                name: s.name,
            })
            .collect(),
    ))
}
