//! The JSON API, version 1. Each handler reads its input, calls one core service and shapes the answer.
//!
//! One folder per area, as in core, each with its router, which [`routes`] merges: `staff` (who the
//! token belongs to, the organisation's services), `record` (a person, the field catalogue and a
//! service's configuration, related people, cases, entries, documents, the record's history, export
//! and paper register), `referral`, `sharing` (recipients, consent, shares and disclosures,
//! approvals and review), `contact`, `keeping` (legal holds, destruction and its
//! certificates) and `rights` (rights requests and their clocks). The bearer token, the checks about the caller and the error
//! body are the edge's ([`crate::http`]).

mod contact;
mod keeping;
mod query_hold;
mod record;
mod referral;
mod retention;
mod rights;
mod rights_bundle;
mod rights_erasure;
mod sharing;
mod staff;
mod task;

pub use record::MAX_UPLOAD_BODY_BYTES;

use std::collections::BTreeMap;

use axum::Json;
use confidant_core::person::{Violation, Violations};
use confidant_core::record::Values;
use confidant_core::store::Store;
use confidant_core::{Clock, Code};
use time::OffsetDateTime;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::routing::{Routes, get};
use record::{case, caseload, catalogue, document, entry, history, merge, person, related};

/// Every route of the API, by area (paths below `/api/v1`).
pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/openapi.json", get(openapi))
        .merge(staff::routes())
        .merge(record::routes())
        .merge(referral::routes())
        .merge(sharing::routes())
        .merge(contact::routes())
        .merge(task::routes())
        .merge(keeping::routes())
        .merge(retention::routes())
        .merge(query_hold::routes())
        .merge(rights::routes())
        .merge(rights_bundle::routes())
        .merge(rights_erasure::routes())
        .map(|r| r.fallback(|| async { ApiError::NotFound }))
}

/// The routes that take more than the application's small-body limit (a document upload), with
/// their own limit. Merged outside that limit (see [`crate::router`]); paths are the full ones.
pub fn upload_routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    record::upload_routes()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A stored time (microseconds since the epoch, UTC) in RFC 3339.
fn rfc3339_micros(micros: i64) -> String {
    rfc3339(
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    )
}

fn rfc3339_opt(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(rfc3339)
}

/// The caller's organisation: a member of staff's; the system has none (404).
fn organisation_of(actor: &confidant_core::Actor) -> Result<uuid::Uuid, ApiError> {
    match actor {
        confidant_core::Actor::Staff(s) => Ok(s.organisation_id),
        confidant_core::Actor::System => Err(ApiError::NotFound),
    }
}

/// A refusal of one field of the request, by name.
fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::Invalid(Violations(vec![Violation::new(field, message)]))
}

/// A time sent by a client: RFC 3339 (`2026-11-22T10:00:00Z`).
fn parse_time(field: &'static str, raw: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339).map_err(
        |_| {
            invalid(
                field,
                "must be a time in RFC 3339 form, e.g. 2026-11-22T10:00:00Z",
            )
        },
    )
}

fn parse_time_opt(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<OffsetDateTime>, ApiError> {
    raw.map(|r| parse_time(field, r)).transpose()
}

/// A record's opened values, by catalogue code.
fn fields_of(values: &Values) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(code, value)| (code.to_owned(), value.to_owned()))
        .collect()
}

/// Parses a code sent by a client; a refusal lists the codes allowed (never the value sent).
fn parse_code<T: Code>(field: &'static str, raw: &str) -> Result<T, ApiError> {
    T::from_code(raw).ok_or_else(|| {
        let codes: Vec<_> = T::ALL.iter().map(|v| v.code()).collect();
        invalid(field, format!("must be one of: {}", codes.join(", ")))
    })
}

fn parse_code_opt<T: Code>(field: &'static str, raw: Option<&str>) -> Result<Option<T>, ApiError> {
    raw.map(|r| parse_code(field, r)).transpose()
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API's description, generated from the handlers of every area.
#[derive(OpenApi)]
#[openapi(
    info(title = "Confidant API", version = "1", description = "Case records for care and support services. Every call is authorized and recorded on a tamper-evident audit log."),
    paths(task::list, task::close, staff::me, staff::list_services, staff::grant_matter, person::create_person, person::list_people, caseload::caseload, caseload::caseload_counts, person::find_people, person::read_person, person::update_person, person::assign_person, person::break_glass, person::access_history,
        merge::preview, merge::merge, merge::merges,
        catalogue::catalogue, catalogue::configuration,
        history::history, history::export, history::paper_register,
        related::list, related::add, related::change, related::remove,
        case::list, case::open, case::close, case::reopen,
        entry::list, entry::add, entry::update, entry::mark_in_error, entry::paper_destroyed,
        document::upload, document::list, document::download, document::move_to,
        referral::list, referral::create, referral::read, referral::triage, referral::accept,
        sharing::categories, sharing::recipients, sharing::add_recipient, sharing::update_recipient, sharing::assign_staff, sharing::recipient_disclosures,
        sharing::consent_purposes, sharing::add_consent_purpose, sharing::consents, sharing::record_consent, sharing::restrict, sharing::lift,
        sharing::check, sharing::share, sharing::disclosures, sharing::disclosure, sharing::end_referral,
        sharing::request_approval, sharing::approvals, sharing::decide, sharing::review_queue, sharing::review,
        contact::preferences, contact::set_preferences, contact::queue, contact::messages,
        keeping::holds, keeping::place, keeping::release, keeping::preview, keeping::destroy, keeping::certificates, keeping::certificate,
        retention::queue, retention::review, retention::decide, retention::approve, retention::referrals, retention::erase_referral,
        query_hold::list, query_hold::place, query_hold::release,
        rights::log, rights::about, rights::list, rights::one, rights::step,
        rights_bundle::read, rights_bundle::compile, rights_bundle::decide, rights_bundle::check, rights_bundle::release, rights_bundle::copy,
        rights_erasure::preview, rights_erasure::decide),
    components(schemas(task::TaskResponse, task::CloseRequest, ErrorBody, crate::http::error::FieldError, crate::http::error::DuplicateBody, person::PersonRequest, person::NewPersonRequest, person::PersonResponse, person::PersonPage, person::PersonListItem, caseload::CaseloadResponse, caseload::CaseloadItem, caseload::CaseloadCountsResponse, caseload::WorkerLoadItem, person::LookupRequest, person::LookupResponse, staff::ServiceResponse, staff::MeResponse, staff::MatterRequest, staff::MatterResponse, person::AssignmentRequest, person::BreakGlassRequest, person::BreakGlassResponse, person::AccessEvent,
        merge::MergePreviewResponse, merge::MergeRequest, merge::MergeResponse,
        catalogue::FieldResponse, catalogue::ChoiceResponse, catalogue::ConfigurationResponse, catalogue::FieldGroupResponse, catalogue::CodeResponse,
        history::CorrectionResponse, history::ExportResponse, history::PaperResponse,
        related::RelatedResponse, related::RelatedRequest, related::RelatedChange,
        case::CaseResponse, case::OpenCaseRequest, case::CloseCaseRequest, case::ReopenCaseRequest, case::ReopeningResponse,
        entry::EntryResponse, entry::NewEntryRequest, entry::EntryChangeRequest, entry::EntryErrorRequest, entry::PaperDestructionRequest, entry::EnteredInError, entry::NoteFlagsBody,
        document::DocumentResponse, document::MoveDocumentRequest,
        referral::ReferralSummary, referral::ReferralLineResponse, referral::ReferralResponse, referral::TriageStep, referral::ReferralRequest, referral::TriageRequest, referral::AcceptRequest, referral::AcceptResponse,
        sharing::RecipientResponse, sharing::RecipientRequest, sharing::AssignStaffRequest, sharing::DisclosureSummary, sharing::DisclosureResponse,
        sharing::ConsentPurposeResponse, sharing::ConsentPurposeRequest, sharing::ConsentResponse, sharing::ConsentLineResponse, sharing::RestrictionResponse,
        sharing::ConsentsResponse, sharing::ConsentRequest, sharing::RestrictionRequest, sharing::ShareBody, sharing::RuleResponse, sharing::CheckResponse,
        sharing::RefusedBody, sharing::PackageResponse, sharing::ApprovalResponse, sharing::ApprovalRequest, sharing::DecisionRequest, sharing::ReviewRequest,
        sharing::CategoryResponse,
        contact::PreferencesResponse, contact::WindowResponse, contact::PreferencesRequest, contact::MessageRequest, contact::MessageResponse, contact::AttemptResponse,
        keeping::HoldResponse, keeping::HoldRequest, keeping::ReleaseRequest, keeping::DestructionPreviewResponse, keeping::DestructionRequest, keeping::CertificateResponse,
        retention::RetentionReviewResponse, retention::RetentionScopeResponse, retention::RetentionDecisionRequest, retention::RetentionApprovalRequest, retention::RetentionApprovalResponse, retention::ReferralDueResponse, retention::ReferralErasureRequest, retention::ReferralErasedResponse, query_hold::QueryHoldResponse, query_hold::QueryHoldRequest, query_hold::QueryHoldReleaseRequest,
        rights::RightsRequestResponse, rights::RequestStepResponse, rights::RightsRequestDetail, rights::RightsRequestRequest, rights::RequestStepRequest,
        rights_bundle::BundleResponse, rights_bundle::BundleItemResponse, rights_bundle::ManifestResponse, rights_bundle::NoInput, rights_bundle::DecisionRequest, rights_bundle::CopyResponse,
        rights_erasure::ErasurePreviewResponse, rights_erasure::ErasureRecipient, rights_erasure::ErasureRequest, rights_erasure::ErasureResponse)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
