//! The register of recipients: listing, adding and changing them, assigning a processor's workers,
//! and what has been disclosed to each.

use super::*;

/// A recipient of the register.
#[derive(Serialize, ToSchema)]
pub struct RecipientResponse {
    pub id: Uuid,
    /// Its id in the organisation's register of processing activities, where a register governs
    /// the organisation (recipients then come from the register alone).
    pub register_id: Option<String>,
    pub name: String,
    /// `statutory_body`, `health`, `social_care`, `criminal_justice`, `multi_agency_meeting`,
    /// `funder`, `researcher`, `national_return`, `partner_service` or `processor`.
    pub kind: &'static str,
    pub outside_uk: bool,
    /// Data categories it may receive: field group codes and `case_notes`.
    pub categories: Vec<String>,
    /// Lawful bases it may receive data under.
    pub bases: Vec<&'static str>,
    pub consent_required: bool,
    pub partner_service_id: Option<Uuid>,
    /// A processor's data processing agreement (dates).
    pub dpa_starts_on: Option<String>,
    pub dpa_ends_on: Option<String>,
    /// Where a shared package may be sent by secure email (`null`: download only).
    pub secure_email: Option<String>,
    /// RFC 3339, once retired.
    pub retired_at: Option<String>,
    /// For a processor whose agreement has ended, ends within 60 days, or is missing.
    pub warning: Option<String>,
}

impl RecipientResponse {
    fn new(r: RecipientRecord, warning: Option<String>) -> Self {
        RecipientResponse {
            id: r.id,
            register_id: r.code,
            name: r.name,
            kind: r.kind.code(),
            outside_uk: r.outside_uk,
            categories: r.categories,
            bases: r.bases.iter().map(|b| b.code()).collect(),
            consent_required: r.consent_required,
            partner_service_id: r.partner_service_id,
            dpa_starts_on: r.dpa_starts_at_micros.map(date),
            dpa_ends_on: r.dpa_ends_at_micros.map(date),
            secure_email: r.secure_email,
            retired_at: r.retired_at_micros.map(at),
            warning,
        }
    }
}

impl From<RecipientView> for RecipientResponse {
    fn from(v: RecipientView) -> Self {
        RecipientResponse::new(v.record, v.warning)
    }
}

/// A recipient as given to the register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientRequest {
    #[schema(example = "Riverside Medical Practice")]
    pub name: String,
    #[schema(example = "health")]
    pub kind: String,
    #[serde(default)]
    pub outside_uk: bool,
    /// Field group codes and `case_notes`.
    #[serde(default)]
    pub categories: Vec<String>,
    /// `consent`, `contract`, `legal_obligation`, `court_order`, `vital_interests`,
    /// `public_task`, `legitimate_interests`.
    #[serde(default)]
    pub bases: Vec<String>,
    #[serde(default)]
    pub consent_required: bool,
    pub partner_service_id: Option<Uuid>,
    /// `YYYY-MM-DD` (processors).
    pub dpa_starts_on: Option<String>,
    pub dpa_ends_on: Option<String>,
    /// The recipient's secure email address, where shared packages may be sent (optional).
    #[schema(example = "referrals@riverside.example.org")]
    pub secure_email: Option<String>,
    /// On update: retire the recipient (it receives nothing more).
    #[serde(default)]
    pub retired: bool,
}

impl RecipientRequest {
    fn input(&self) -> RecipientInput {
        RecipientInput {
            name: self.name.clone(),
            kind: self.kind.clone(),
            outside_uk: self.outside_uk,
            categories: self.categories.clone(),
            bases: self.bases.clone(),
            consent_required: self.consent_required,
            partner_service_id: self.partner_service_id,
            dpa_starts_on: self.dpa_starts_on.clone(),
            dpa_ends_on: self.dpa_ends_on.clone(),
            secure_email: self.secure_email.clone(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/recipients", tag = "sharing",
    responses((status = 200, body = [RecipientResponse]), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn recipients<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
) -> Result<Json<Vec<RecipientResponse>>, ApiError> {
    let organisation = organisation_of(&auth.0)?;
    let list = state.confidant.recipients(&auth.0, organisation).await?;
    Ok(Json(
        list.into_iter().map(RecipientResponse::from).collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/recipients", tag = "sharing",
    request_body = RecipientRequest,
    responses((status = 201, body = RecipientResponse), (status = 401, body = ErrorBody), (status = 404, description = "not the Data Protection Officer or Caldicott Guardian", body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn add_recipient<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    WritableJson(actor, body): WritableJson<RecipientRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let organisation = organisation_of(&actor)?;
    let record = state
        .confidant
        .add_recipient(&actor, organisation, &body.input())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RecipientResponse::new(record, None)),
    ))
}

#[utoipa::path(put, path = "/api/v1/recipients/{recipient_id}", tag = "sharing",
    params(("recipient_id" = Uuid, Path)),
    request_body = RecipientRequest,
    responses((status = 200, body = RecipientResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn update_recipient<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(recipient_id): Path<Uuid>,
    WritableJson(actor, body): WritableJson<RecipientRequest>,
) -> Result<Json<RecipientResponse>, ApiError> {
    let record = state
        .confidant
        .update_recipient(&actor, recipient_id, &body.input(), body.retired)
        .await?;
    Ok(Json(RecipientResponse::new(record, None)))
}

/// A processor's worker to assign to a processor.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignStaffRequest {
    pub staff_id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/recipients/{recipient_id}/staff", tag = "sharing",
    params(("recipient_id" = Uuid, Path)),
    request_body = AssignStaffRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn assign_staff<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(recipient_id): Path<Uuid>,
    WritableJson(actor, body): WritableJson<AssignStaffRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .confidant
        .assign_processor_staff(&actor, body.staff_id, recipient_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One disclosure of the log: ids, codes and times.
#[derive(Serialize, ToSchema)]
pub struct DisclosureSummary {
    pub id: Uuid,
    pub person_id: Uuid,
    pub service_id: Uuid,
    pub recipient_id: Uuid,
    pub lawful_basis: &'static str,
    pub article9_condition: Option<&'static str>,
    pub schedule1_condition: Option<&'static str>,
    pub categories: Vec<String>,
    /// Staff ids.
    pub requested_by: String,
    pub approval_id: Option<Uuid>,
    pub approved_by: Option<String>,
    pub person_told: bool,
    /// Vital interests: flagged for review.
    pub emergency: bool,
    /// `pending`, `signed_off` or `escalated` (emergencies).
    pub review_state: Option<&'static str>,
    /// SHA-256 of the package as it left, hex.
    pub package_sha256: String,
    /// RFC 3339.
    pub shared_at: String,
    /// A referral to a processor: its worker and until when.
    pub processor_staff_id: Option<Uuid>,
    pub ends_at: Option<String>,
    pub ended_at: Option<String>,
}

impl From<DisclosureRecord> for DisclosureSummary {
    fn from(d: DisclosureRecord) -> Self {
        DisclosureSummary {
            id: d.id,
            person_id: d.person_id,
            service_id: d.service_id,
            recipient_id: d.recipient_id,
            lawful_basis: d.basis.code(),
            article9_condition: d.article9.map(|c| c.code()),
            schedule1_condition: d.schedule1.map(|c| c.code()),
            categories: d.categories,
            requested_by: d.requested_by,
            approval_id: d.approval_id,
            approved_by: d.approved_by,
            person_told: d.person_told,
            emergency: d.emergency,
            review_state: d.review_state.map(|s| s.code()),
            package_sha256: d.package_hash.iter().map(|b| format!("{b:02x}")).collect(),
            shared_at: at(d.shared_at_micros),
            processor_staff_id: d.processor_staff_id,
            ends_at: d.ends_at_micros.map(at),
            ended_at: d.ended_at_micros.map(at),
        }
    }
}

/// A disclosure of a person's log, with its reasons and exactly what it contained.
#[derive(Serialize, ToSchema)]
pub struct DisclosureResponse {
    #[serde(flatten)]
    pub disclosure: DisclosureSummary,
    pub recipient_name: String,
    /// Person field codes sent.
    pub fields: Vec<String>,
    /// Entry ids sent.
    pub entries: Vec<Uuid>,
    pub reason: Option<String>,
    pub court_order_ref: Option<String>,
    pub not_told_reason: Option<String>,
    pub without_consent_reason: Option<String>,
    pub ground: Option<String>,
    pub ground_reason: Option<String>,
    /// The package as it left (one disclosure only).
    #[schema(value_type = Option<Object>)]
    pub package: Option<serde_json::Value>,
    /// The package's sending by secure email to the recipient: `null` when it was not sent that
    /// way; else its state (`queued`, `sent`, `failed`), when it finished and each attempt.
    pub sending: Option<crate::api::contact::MessageResponse>,
}

impl From<Disclosure> for DisclosureResponse {
    fn from(d: Disclosure) -> Self {
        let mut fields = Vec::new();
        let mut entries = Vec::new();
        for item in d.items {
            match item {
                DisclosedItem::Field(f) => fields.push(f),
                DisclosedItem::Entry(e) => entries.push(e),
            }
        }
        DisclosureResponse {
            disclosure: d.record.into(),
            recipient_name: d.recipient_name,
            fields,
            entries,
            reason: d.reason,
            court_order_ref: d.court_order_ref,
            not_told_reason: d.not_told_reason,
            without_consent_reason: d.without_consent_reason,
            ground: d.ground,
            ground_reason: d.ground_reason,
            package: d.package,
            sending: d.sending.map(Into::into),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/recipients/{recipient_id}/disclosures", tag = "sharing",
    params(("recipient_id" = Uuid, Path)),
    responses((status = 200, description = "newest first", body = [DisclosureSummary]), (status = 401, body = ErrorBody), (status = 404, description = "not the Data Protection Officer or Caldicott Guardian", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn recipient_disclosures<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(recipient_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<DisclosureSummary>>, ApiError> {
    let list = state.confidant.disclosures_to(&actor, recipient_id).await?;
    Ok(Json(
        list.into_iter().map(DisclosureSummary::from).collect(),
    ))
}
