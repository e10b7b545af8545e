//! Staff through the API: who the token belongs to, and the services of an organisation.

use axum::Json;
use axum::extract::State;
use confidant_core::store::Store;
use confidant_core::{Actor, Clock};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::http::bearer::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;
use crate::http::routing::{Routes, get};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new().route("/me", get(me)).route(
        "/organisations/{organisation_id}/services",
        get(list_services::<S, C>),
    )
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
    /// Training and policy acknowledgements are current (personal data is reachable).
    pub trained: bool,
    /// `read` or `read_write`.
    pub token_scope: String,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "staff",
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn me(Authenticated(actor, scope): Authenticated) -> Json<MeResponse> {
    let scope = scope.code().to_owned();
    Json(match actor.actor() {
        Actor::Staff(s) => MeResponse {
            user_id: Some(s.user_id),
            organisation_id: Some(s.organisation_id),
            service_id: s.service_id,
            role: s.role.code().to_owned(),
            trained: s.trained,
            token_scope: scope,
        },
        Actor::System => MeResponse {
            user_id: None,
            organisation_id: None,
            service_id: None,
            role: "system".to_owned(),
            trained: false,
            token_scope: scope,
        },
    })
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
