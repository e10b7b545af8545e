//! Approvals of categories beyond a recipient's set, the review of emergency disclosures, and the sharing categories.

use super::*;

/// A request for a second person's approval of categories beyond a recipient's set.
#[derive(Serialize, ToSchema)]
pub struct ApprovalResponse {
    pub id: Uuid,
    pub recipient_id: Uuid,
    pub categories: Vec<String>,
    pub requested_by: String,
    pub requested_at: String,
    /// `pending`, `approved` or `refused`.
    pub state: &'static str,
    pub decided_by: Option<String>,
    /// The disclosure that used it.
    pub used_by: Option<Uuid>,
    pub justification: Option<String>,
}

impl ApprovalResponse {
    fn new(a: ApprovalRecord, justification: Option<String>) -> Self {
        ApprovalResponse {
            id: a.id,
            recipient_id: a.recipient_id,
            categories: a.categories,
            requested_by: a.requested_by,
            requested_at: at(a.requested_at_micros),
            state: a.state.code(),
            decided_by: a.decided_by,
            used_by: a.used_by,
            justification,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    pub recipient_id: Uuid,
    pub categories: Vec<String>,
    pub justification: String,
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/approvals", tag = "sharing",
    params(("person_id" = Uuid, Path)),
    request_body = ApprovalRequest,
    responses((status = 201, body = ApprovalResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn request_approval<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<ApprovalRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let record = state
        .confidant
        .request_approval(
            &actor,
            purpose,
            person_id,
            body.recipient_id,
            &body.categories,
            &body.justification,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApprovalResponse::new(record, None)),
    ))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/approvals", tag = "sharing",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, body = [ApprovalResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn approvals<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<ApprovalResponse>>, ApiError> {
    let list = state
        .confidant
        .approvals(&actor, purpose, person_id)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|(a, j)| ApprovalResponse::new(a, Some(j)))
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub approve: bool,
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/approvals/{approval_id}", tag = "sharing",
    params(("person_id" = Uuid, Path), ("approval_id" = Uuid, Path)),
    request_body = DecisionRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, description = "not found, or not a role that approves", body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, description = "the one who asked may not decide", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn decide<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, approval_id)): Path<(Uuid, Uuid)>,
    ChangeJson(actor, body): ChangeJson<DecisionRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .confidant
        .decide_approval(&actor, purpose, person_id, approval_id, body.approve)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/disclosures/review", tag = "sharing",
    responses((status = 200, description = "emergency disclosures waiting for review, oldest first", body = [DisclosureSummary]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn review_queue<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
) -> Result<Json<Vec<DisclosureSummary>>, ApiError> {
    let organisation = organisation_of(&actor)?;
    let list = state
        .confidant
        .disclosures_to_review(&actor, organisation)
        .await?;
    Ok(Json(
        list.into_iter().map(DisclosureSummary::from).collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// Escalate instead of signing off.
    #[serde(default)]
    pub escalate: bool,
}

#[utoipa::path(post, path = "/api/v1/disclosures/{disclosure_id}/review", tag = "sharing",
    params(("disclosure_id" = Uuid, Path)),
    request_body = ReviewRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn review<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(disclosure_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<ReviewRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .confidant
        .review_disclosure(&actor, disclosure_id, body.escalate)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The data categories a recipient can be given (for building requests).
#[derive(Serialize, ToSchema)]
pub struct CategoryResponse {
    pub code: &'static str,
    pub label: &'static str,
}

#[utoipa::path(get, path = "/api/v1/sharing/categories", tag = "sharing",
    responses((status = 200, body = [CategoryResponse])),
    security(("bearer" = [])))]
pub(crate) async fn categories(_auth: Authenticated) -> Json<Vec<CategoryResponse>> {
    Json(
        confidant_core::sharing::categories()
            .into_iter()
            .map(|(code, label)| CategoryResponse { code, label })
            .collect(),
    )
}
