//! Sharing: the recipient register, services' consent forms, a person's consents and restrictions,
//! second-person approvals, the share itself (checked against every rule when it is made) and the
//! disclosure log. A share the rules refuse answers 403 `sharing_refused` with each rule broken.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use confidant_core::sharing::{
    ConsentLine, Disclosure, EntrySelection, RecipientInput, RecipientView, Rule, ShareError,
    ShareRequest,
};
use confidant_core::store::{
    ApprovalRecord, ConsentPurposeRecord, ConsentRecord, DisclosedItem, DisclosureRecord,
    RecipientRecord, RestrictionRecord, Store,
};
use confidant_core::{Actor, Clock};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{AccessPurpose, Authenticated, JsonBody, invalid, rfc3339};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::api::Path;

mod approvals;
pub use approvals::*;

fn at(micros: i64) -> String {
    rfc3339(
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    )
}

fn date(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
        .to_string()
}

fn organisation_of(actor: &Actor) -> Result<Uuid, ApiError> {
    match actor {
        Actor::Staff(s) => Ok(s.organisation_id),
        Actor::System => Err(ApiError::NotFound),
    }
}

/// A recipient of the register.
#[derive(Serialize, ToSchema)]
pub struct RecipientResponse {
    pub id: Uuid,
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
    /// RFC 3339, once retired.
    pub retired_at: Option<String>,
    /// For a processor whose agreement has ended, ends within 60 days, or is missing.
    pub warning: Option<String>,
}

impl RecipientResponse {
    fn new(r: RecipientRecord, warning: Option<String>) -> Self {
        RecipientResponse {
            id: r.id,
            name: r.name,
            kind: r.kind.code(),
            outside_uk: r.outside_uk,
            categories: r.categories,
            bases: r.bases.iter().map(|b| b.code()).collect(),
            consent_required: r.consent_required,
            partner_service_id: r.partner_service_id,
            dpa_starts_on: r.dpa_starts_at_micros.map(date),
            dpa_ends_on: r.dpa_ends_at_micros.map(date),
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
        }
    }
}

#[utoipa::path(get, path = "/api/v1/recipients", tag = "sharing",
    responses((status = 200, body = [RecipientResponse]), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn recipients<S: Store, C: Clock>(
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
pub(super) async fn add_recipient<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    JsonBody(body): JsonBody<RecipientRequest>,
) -> Result<impl IntoResponse, ApiError> {
    auth.writable(&state).await?;
    let organisation = organisation_of(&auth.0)?;
    let record = state
        .confidant
        .add_recipient(&auth.0, organisation, &body.input())
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
pub(super) async fn update_recipient<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    Path(recipient_id): Path<Uuid>,
    JsonBody(body): JsonBody<RecipientRequest>,
) -> Result<Json<RecipientResponse>, ApiError> {
    auth.writable(&state).await?;
    let record = state
        .confidant
        .update_recipient(&auth.0, recipient_id, &body.input(), body.retired)
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
pub(super) async fn assign_staff<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    Path(recipient_id): Path<Uuid>,
    JsonBody(body): JsonBody<AssignStaffRequest>,
) -> Result<StatusCode, ApiError> {
    auth.writable(&state).await?;
    state
        .confidant
        .assign_processor_staff(&auth.0, body.staff_id, recipient_id)
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
        }
    }
}

#[utoipa::path(get, path = "/api/v1/recipients/{recipient_id}/disclosures", tag = "sharing",
    params(("recipient_id" = Uuid, Path)),
    responses((status = 200, description = "newest first", body = [DisclosureSummary]), (status = 401, body = ErrorBody), (status = 404, description = "not the Data Protection Officer or Caldicott Guardian", body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn recipient_disclosures<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    Path(recipient_id): Path<Uuid>,
) -> Result<Json<Vec<DisclosureSummary>>, ApiError> {
    auth.trained(&state).await?;
    let list = state
        .confidant
        .disclosures_to(&auth.0, recipient_id)
        .await?;
    Ok(Json(
        list.into_iter().map(DisclosureSummary::from).collect(),
    ))
}

/// One purpose of a service's consent form.
#[derive(Serialize, ToSchema)]
pub struct ConsentPurposeResponse {
    pub id: Uuid,
    pub code: String,
    pub label: String,
    pub recipient_id: Option<Uuid>,
    pub explicit: bool,
    pub form_version: String,
}

impl From<ConsentPurposeRecord> for ConsentPurposeResponse {
    fn from(p: ConsentPurposeRecord) -> Self {
        ConsentPurposeResponse {
            id: p.id,
            code: p.code,
            label: p.label,
            recipient_id: p.recipient_id,
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
pub(super) async fn consent_purposes<S: Store, C: Clock>(
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
pub(super) async fn add_consent_purpose<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    Path(service_id): Path<Uuid>,
    JsonBody(body): JsonBody<ConsentPurposeRequest>,
) -> Result<impl IntoResponse, ApiError> {
    auth.writable(&state).await?;
    let purpose = state
        .confidant
        .add_consent_purpose(
            &auth.0,
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
pub(super) async fn consents<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
) -> Result<Json<ConsentsResponse>, ApiError> {
    auth.trained(&state).await?;
    let o = state
        .confidant
        .consents(&auth.0, purpose, person_id)
        .await?;
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
pub(super) async fn record_consent<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    JsonBody(body): JsonBody<ConsentRequest>,
) -> Result<impl IntoResponse, ApiError> {
    auth.may_change(&state).await?;
    let record = state
        .confidant
        .record_consent(
            &auth.0,
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
pub(super) async fn restrict<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    JsonBody(body): JsonBody<RestrictionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    auth.may_change(&state).await?;
    let record = state
        .confidant
        .restrict(&auth.0, purpose, person_id, &body.kind)
        .await?;
    let to_tell = state.confidant.recipients_to_tell(person_id, &[]).await?;
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
pub(super) async fn lift<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, restriction_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    auth.may_change(&state).await?;
    state
        .confidant
        .lift_restriction(&auth.0, purpose, person_id, restriction_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

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
    pub processor_staff_id: Option<Uuid>,
    pub referral_days: Option<i64>,
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
            processor_staff_id: self.processor_staff_id,
            referral_days: self.referral_days,
        })
    }
}

/// A sharing rule, with what it says.
#[derive(Serialize, ToSchema)]
pub struct RuleResponse {
    pub rule: &'static str,
    pub explanation: &'static str,
}

fn rules(list: &[Rule]) -> Vec<RuleResponse> {
    list.iter()
        .map(|r| RuleResponse {
            rule: r.code(),
            explanation: r.explanation(),
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
    Refused(Vec<Rule>),
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
                tracing::info!(rules = ?list.iter().map(|r| r.code()).collect::<Vec<_>>(), "share refused by the sharing rules");
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
pub(super) async fn check<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    JsonBody(body): JsonBody<ShareBody>,
) -> Result<Json<CheckResponse>, ApiError> {
    auth.trained(&state).await?;
    let broken = state
        .confidant
        .check_share(&auth.0, purpose, person_id, &body.request()?)
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
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/shares", tag = "sharing",
    params(("person_id" = Uuid, Path)),
    request_body = ShareBody,
    responses((status = 201, body = PackageResponse), (status = 401, body = ErrorBody),
        (status = 403, description = "refused by the sharing rules (`sharing_refused`, each rule listed), or about the caller", body = RefusedBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn share<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    JsonBody(body): JsonBody<ShareBody>,
) -> Result<impl IntoResponse, ShareFailure> {
    auth.may_change(&state).await?;
    let package = state
        .confidant
        .share(&auth.0, purpose, person_id, &body.request()?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PackageResponse {
            disclosure_id: package.disclosure_id,
            package: package.json,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/disclosures", tag = "sharing",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, description = "newest first; packages left out", body = [DisclosureResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn disclosures<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
) -> Result<Json<Vec<DisclosureResponse>>, ApiError> {
    auth.trained(&state).await?;
    let list = state
        .confidant
        .disclosures(&auth.0, purpose, person_id)
        .await?;
    Ok(Json(
        list.into_iter().map(DisclosureResponse::from).collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/disclosures/{disclosure_id}", tag = "sharing",
    params(("person_id" = Uuid, Path), ("disclosure_id" = Uuid, Path)),
    responses((status = 200, body = DisclosureResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn disclosure<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, disclosure_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<DisclosureResponse>, ApiError> {
    auth.trained(&state).await?;
    let d = state
        .confidant
        .disclosure(&auth.0, purpose, person_id, disclosure_id)
        .await?;
    Ok(Json(d.into()))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/disclosures/{disclosure_id}/end", tag = "sharing",
    params(("person_id" = Uuid, Path), ("disclosure_id" = Uuid, Path)),
    responses((status = 204, description = "the processor's worker no longer reaches the person"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn end_referral<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, disclosure_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    auth.may_change(&state).await?;
    state
        .confidant
        .end_referral(&auth.0, purpose, person_id, disclosure_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
