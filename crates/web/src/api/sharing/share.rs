//! The share itself, checked against every rule when it is made, and a person's disclosure log.

use super::*;
use crate::api::rfc3339_opt;

/// A share: the recipient, exactly which data, and the grounds for it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    pub recipient_id: Uuid,
    /// Person field codes (the catalogue's `person` record).
    #[serde(default)]
    pub fields: Vec<String>,
    /// `"all"` (every note, plan, goal and appointment that may leave), or absent.
    pub entries: Option<String>,
    /// Or these entries, by id.
    pub entry_ids: Option<Vec<Uuid>>,
    #[schema(example = "consent")]
    pub lawful_basis: String,
    pub article9_condition: Option<String>,
    pub schedule1_condition: Option<String>,
    pub reason: String,
    pub court_order_ref: Option<String>,
    pub person_told: bool,
    pub not_told_reason: Option<String>,
    pub without_consent_reason: Option<String>,
    /// `consent`, `legal_claims`, `protect_another_person`, `important_public_interest`,
    /// `compelling_grounds`: for a restricted record or an upheld objection (with
    /// `ground_reason`, and an approval by the DPO or Caldicott Guardian).
    pub ground: Option<String>,
    pub ground_reason: Option<String>,
    pub approval_id: Option<Uuid>,
    /// The consent purpose the share is for, when the recipient is on more than one line of the
    /// service's consent form (implied when it is on one).
    pub consent_purpose_id: Option<Uuid>,
    pub processor_staff_id: Option<Uuid>,
    pub referral_days: Option<i64>,
    /// Send the package by secure email to the recipient's `secure_email` (refused with a 422 on
    /// `send` when it has none). The message is queued with the disclosure, in its transaction.
    #[serde(default)]
    pub send: bool,
}

impl ShareBody {
    fn request(self) -> Result<ShareRequest, ApiError> {
        let entries = match (self.entries.as_deref(), self.entry_ids) {
            (None, None) => EntrySelection::None,
            (Some("all"), None) => EntrySelection::All,
            (None, Some(ids)) => EntrySelection::Some(ids),
            (Some(_), None) => return Err(invalid("entries", "must be \"all\" or absent")),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "entries",
                    "give either \"all\" or entry_ids, not both",
                ));
            }
        };
        Ok(ShareRequest {
            recipient_id: self.recipient_id,
            fields: self.fields,
            entries,
            basis: self.lawful_basis,
            article9: self.article9_condition,
            schedule1: self.schedule1_condition,
            reason: self.reason,
            court_order_ref: self.court_order_ref,
            person_told: self.person_told,
            not_told_reason: self.not_told_reason,
            without_consent_reason: self.without_consent_reason,
            ground: self.ground,
            ground_reason: self.ground_reason,
            approval_id: self.approval_id,
            consent_purpose_id: self.consent_purpose_id,
            processor_staff_id: self.processor_staff_id,
            referral_days: self.referral_days,
            send: self.send,
        })
    }
}

/// A sharing rule broken, by its true cause, with what it says.
#[derive(Serialize, ToSchema)]
pub struct RuleResponse {
    /// For example `consent_withdrawn`, `consent_expired`, `explicit_consent_needed`.
    pub rule: &'static str,
    /// What the rule says, with the UK day that explains it where one does.
    pub explanation: String,
    /// When the cause happened, where one explains it (consent withdrawn, refused, expired or
    /// given on an earlier form; a processor's agreement ended).
    pub on: Option<String>,
    /// The code the same refusal had before causes were told apart (`no_live_consent`,
    /// `beyond_recipient_categories`, `processor_agreement_not_in_force`), for clients matching
    /// it; kept until the next version of the API.
    pub earlier_rule: Option<&'static str>,
}

fn rules(list: &[Refusal]) -> Vec<RuleResponse> {
    list.iter()
        .map(|r| RuleResponse {
            rule: r.rule.code(),
            explanation: r.explanation(),
            on: rfc3339_opt(r.on),
            earlier_rule: r.rule.earlier_code(),
        })
        .collect()
}

/// What a check found: the rules the share would break (none: it would go).
#[derive(Serialize, ToSchema)]
pub struct CheckResponse {
    pub allowed: bool,
    pub refused_by: Vec<RuleResponse>,
}

/// The answer to a share the rules refuse.
#[derive(Serialize, ToSchema)]
pub struct RefusedBody {
    /// `sharing_refused`.
    pub error: &'static str,
    pub message: &'static str,
    pub refused_by: Vec<RuleResponse>,
}

/// A share's failure as answered.
pub enum ShareFailure {
    Api(ApiError),
    Refused(Vec<Refusal>),
}

impl From<ApiError> for ShareFailure {
    fn from(e: ApiError) -> Self {
        ShareFailure::Api(e)
    }
}

impl From<ShareError> for ShareFailure {
    fn from(e: ShareError) -> Self {
        match e {
            ShareError::Person(p) => ShareFailure::Api(p.into()),
            ShareError::Blocked(b) => ShareFailure::Refused(b.0),
        }
    }
}

impl IntoResponse for ShareFailure {
    fn into_response(self) -> Response {
        match self {
            ShareFailure::Api(e) => e.into_response(),
            ShareFailure::Refused(list) => {
                tracing::info!(rules = ?list.iter().map(|r| r.rule.code()).collect::<Vec<_>>(), "share refused by the sharing rules");
                (
                    StatusCode::FORBIDDEN,
                    Json(RefusedBody {
                        error: "sharing_refused",
                        message: "the share breaks the sharing rules listed; nothing was sent",
                        refused_by: rules(&list),
                    }),
                )
                    .into_response()
            }
        }
    }
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/shares/check", tag = "sharing",
    params(("person_id" = Uuid, Path)),
    request_body = ShareBody,
    responses((status = 200, body = CheckResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn check<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    TrainedJson(actor, body): TrainedJson<ShareBody>,
) -> Result<Json<CheckResponse>, ApiError> {
    let broken = state
        .confidant
        .check_share(&actor, purpose, person_id, &body.request()?)
        .await?;
    Ok(Json(CheckResponse {
        allowed: broken.is_empty(),
        refused_by: rules(&broken),
    }))
}

/// An allowed share: its disclosure log entry and the package, exactly as it left.
#[derive(Serialize, ToSchema)]
pub struct PackageResponse {
    pub disclosure_id: Uuid,
    #[schema(value_type = Object)]
    pub package: serde_json::Value,
    /// `queued` when the package was queued to go by secure email, else `not_sent`.
    pub sending: &'static str,
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/shares", tag = "sharing",
    params(("person_id" = Uuid, Path)),
    request_body = ShareBody,
    responses((status = 201, body = PackageResponse), (status = 401, body = ErrorBody),
        (status = 403, description = "refused by the sharing rules (`sharing_refused`, each rule listed), or about the caller", body = RefusedBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn share<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<ShareBody>,
) -> Result<impl IntoResponse, ShareFailure> {
    let request = body.request()?;
    let package = state
        .confidant
        .share(&actor, purpose, person_id, &request)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PackageResponse {
            disclosure_id: package.disclosure_id,
            package: package.json,
            sending: if request.send { "queued" } else { "not_sent" },
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/disclosures", tag = "sharing",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, description = "newest first; packages left out", body = [DisclosureResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn disclosures<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<DisclosureResponse>>, ApiError> {
    let list = state
        .confidant
        .disclosures(&actor, purpose, person_id)
        .await?;
    Ok(Json(
        list.into_iter().map(DisclosureResponse::from).collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/disclosures/{disclosure_id}", tag = "sharing",
    params(("person_id" = Uuid, Path), ("disclosure_id" = Uuid, Path)),
    responses((status = 200, body = DisclosureResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn disclosure<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, disclosure_id)): Path<(Uuid, Uuid)>,
    Trained(actor): Trained,
) -> Result<Json<DisclosureResponse>, ApiError> {
    let d = state
        .confidant
        .disclosure(&actor, purpose, person_id, disclosure_id)
        .await?;
    Ok(Json(d.into()))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/disclosures/{disclosure_id}/end", tag = "sharing",
    params(("person_id" = Uuid, Path), ("disclosure_id" = Uuid, Path)),
    responses((status = 204, description = "the processor's worker no longer reaches the person"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn end_referral<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, disclosure_id)): Path<(Uuid, Uuid)>,
    MayChange(actor): MayChange,
) -> Result<StatusCode, ApiError> {
    state
        .confidant
        .end_referral(&actor, purpose, person_id, disclosure_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
