//! Services' consent purposes, and a person's consents and restrictions.

use super::*;
use confidant_core::sharing::ToTell;

/// One purpose of a service's consent form.
#[derive(Serialize, ToSchema)]
pub struct ConsentPurposeResponse {
    pub id: Uuid,
    pub code: String,
    pub label: String,
    /// The recipients a consent to this purpose lets data go to (for this purpose only).
    pub recipient_ids: Vec<Uuid>,
    pub explicit: bool,
    pub form_version: String,
}

impl From<ConsentPurposeRecord> for ConsentPurposeResponse {
    fn from(p: ConsentPurposeRecord) -> Self {
        ConsentPurposeResponse {
            id: p.id,
            code: p.code,
            label: p.label,
            recipient_ids: p.recipient_ids,
            explicit: p.explicit,
            form_version: p.form_version,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentPurposeRequest {
    #[schema(example = "ndtms")]
    pub code: String,
    pub label: String,
    pub recipient_id: Option<Uuid>,
    /// Explicit consent (Art. 9(2)(a), and transfers outside the UK).
    #[serde(default)]
    pub explicit: bool,
    #[schema(example = "2026-1")]
    pub form_version: String,
}

#[utoipa::path(get, path = "/api/v1/services/{service_id}/consent-purposes", tag = "sharing",
    params(("service_id" = Uuid, Path)),
    responses((status = 200, body = [ConsentPurposeResponse]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn consent_purposes<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    Path(service_id): Path<Uuid>,
) -> Result<Json<Vec<ConsentPurposeResponse>>, ApiError> {
    let form = state.confidant.consent_form(&auth.0, service_id).await?;
    Ok(Json(
        form.into_iter().map(ConsentPurposeResponse::from).collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/services/{service_id}/consent-purposes", tag = "sharing",
    params(("service_id" = Uuid, Path)),
    request_body = ConsentPurposeRequest,
    responses((status = 201, body = ConsentPurposeResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn add_consent_purpose<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(service_id): Path<Uuid>,
    WritableJson(actor, body): WritableJson<ConsentPurposeRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let purpose = state
        .confidant
        .add_consent_purpose(
            &actor,
            service_id,
            &body.code,
            &body.label,
            body.recipient_id,
            body.explicit,
            &body.form_version,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ConsentPurposeResponse::from(purpose)),
    ))
}

/// One consent decision.
#[derive(Serialize, ToSchema)]
pub struct ConsentResponse {
    pub id: Uuid,
    pub purpose_id: Uuid,
    /// `granted`, `refused` or `withdrawn`.
    pub state: &'static str,
    pub form_version: String,
    /// A staff id.
    pub recorded_by: String,
    pub recorded_at: String,
    pub expires_on: Option<String>,
}

impl From<ConsentRecord> for ConsentResponse {
    fn from(c: ConsentRecord) -> Self {
        ConsentResponse {
            id: c.id,
            purpose_id: c.purpose_id,
            state: c.state.code(),
            form_version: c.form_version,
            recorded_by: c.recorded_by,
            recorded_at: at(c.recorded_at_micros),
            expires_on: c.expires_at_micros.map(date),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConsentLineResponse {
    pub purpose: ConsentPurposeResponse,
    pub current: Option<ConsentResponse>,
    /// Granted and not expired.
    pub live: bool,
}

impl From<ConsentLine> for ConsentLineResponse {
    fn from(l: ConsentLine) -> Self {
        ConsentLineResponse {
            purpose: l.purpose.into(),
            current: l.current.map(ConsentResponse::from),
            live: l.live,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RestrictionResponse {
    pub id: Uuid,
    /// `restriction` or `objection`.
    pub kind: &'static str,
    pub recorded_by: String,
    pub started_at: String,
    pub lifted_at: Option<String>,
}

impl From<RestrictionRecord> for RestrictionResponse {
    fn from(r: RestrictionRecord) -> Self {
        RestrictionResponse {
            id: r.id,
            kind: r.kind.code(),
            recorded_by: r.recorded_by,
            started_at: at(r.started_at_micros),
            lifted_at: r.lifted_at_micros.map(at),
        }
    }
}

/// A person's consents: each purpose of the service's form with its current decision, the full
/// history (oldest first, never rewritten) and restrictions.
#[derive(Serialize, ToSchema)]
pub struct ConsentsResponse {
    pub purposes: Vec<ConsentLineResponse>,
    pub history: Vec<ConsentResponse>,
    pub restrictions: Vec<RestrictionResponse>,
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/consents", tag = "sharing",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, body = ConsentsResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn consents<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<ConsentsResponse>, ApiError> {
    let o = state.confidant.consents(&actor, purpose, person_id).await?;
    Ok(Json(ConsentsResponse {
        purposes: o.lines.into_iter().map(ConsentLineResponse::from).collect(),
        history: o.history.into_iter().map(ConsentResponse::from).collect(),
        restrictions: o
            .restrictions
            .into_iter()
            .map(RestrictionResponse::from)
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub purpose_id: Uuid,
    /// `granted`, `refused` or `withdrawn`.
    #[schema(example = "granted")]
    pub state: String,
    /// `YYYY-MM-DD`: a granted consent lapses then.
    pub expires_on: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/consents", tag = "sharing",
    params(("person_id" = Uuid, Path)),
    request_body = ConsentRequest,
    responses((status = 201, body = ConsentResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn record_consent<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<ConsentRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let record = state
        .confidant
        .record_consent(
            &actor,
            purpose,
            person_id,
            body.purpose_id,
            &body.state,
            body.expires_on.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ConsentResponse::from(record))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictionRequest {
    /// `restriction` (Art. 18) or `objection` (upheld, Art. 21).
    pub kind: String,
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/restrictions", tag = "sharing",
    params(("person_id" = Uuid, Path)),
    request_body = RestrictionRequest,
    responses((status = 201, body = RestrictionResponse), (status = 401, body = ErrorBody), (status = 404, description = "not the Data Protection Officer, or not found", body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn restrict<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<RestrictionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let record = state
        .confidant
        .restrict(&actor, purpose, person_id, &body.kind)
        .await?;
    let to_tell = state
        .confidant
        .recipients_to_tell(&actor, purpose, person_id, ToTell::Restriction)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "restriction": RestrictionResponse::from(record),
            "recipients_to_tell": to_tell.into_iter().map(|r| serde_json::json!({"id": r.id, "name": r.name})).collect::<Vec<_>>(),
        })),
    ))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/restrictions/{restriction_id}/lift", tag = "sharing",
    params(("person_id" = Uuid, Path), ("restriction_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn lift<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, restriction_id)): Path<(Uuid, Uuid)>,
    MayChange(actor): MayChange,
) -> Result<StatusCode, ApiError> {
    state
        .confidant
        .lift_restriction(&actor, purpose, person_id, restriction_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
