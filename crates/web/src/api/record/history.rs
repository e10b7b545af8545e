//! A person's record as a whole: its correction history, its export (only what may leave it), and a
//! service's register of paper held.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use confidant_core::Clock;
use confidant_core::record::Correction;
use confidant_core::store::{EntryRecord, EntryStatus, Store};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::case::CaseResponse;
use super::document::DocumentResponse;
use super::entry::EntryResponse;
use super::related::RelatedResponse;
use crate::AppState;
use crate::api::{rfc3339, rfc3339_opt};
use crate::http::bearer::{AccessPurpose, Authenticated, MayChange, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;

/// One earlier value of a field: what it was, who replaced it and when.
#[derive(Serialize, ToSchema)]
pub struct CorrectionResponse {
    /// The person's id for their own fields, or the entry's id.
    pub record_id: Uuid,
    /// The field's catalogue code.
    pub field: String,
    pub label: &'static str,
    /// The value before the change.
    pub old_value: String,
    /// Who replaced it (a staff id).
    pub changed_by: String,
    /// RFC 3339.
    pub changed_at: String,
}

impl From<Correction> for CorrectionResponse {
    fn from(c: Correction) -> Self {
        CorrectionResponse {
            record_id: c.record_id,
            field: c.field,
            label: c.label,
            old_value: c.old_value,
            changed_by: c.changed_by,
            changed_at: rfc3339(c.changed_at),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/history", tag = "records",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, description = "oldest first", body = [CorrectionResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn history<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<CorrectionResponse>>, ApiError> {
    let corrections = state
        .confidant
        .corrections(&actor, purpose, person_id)
        .await?;
    Ok(Json(
        corrections
            .into_iter()
            .map(CorrectionResponse::from)
            .collect(),
    ))
}

/// Everything of a person's record that may leave it. A victim's safe contact details are never in
/// it, and nothing of any other record is.
#[derive(Serialize, ToSchema)]
pub struct ExportResponse {
    pub person_id: Uuid,
    /// The person's fields that may leave the record, by catalogue code.
    pub fields: BTreeMap<String, String>,
    pub cases: Vec<CaseResponse>,
    pub entries: Vec<EntryResponse>,
    pub related: Vec<RelatedResponse>,
    /// Documents' metadata and names (their content is downloaded one by one).
    pub documents: Vec<DocumentResponse>,
    /// Notes left out because they are flagged as identifying a complainant or as could cause
    /// serious harm if disclosed. Related people appear by relationship only, and who supplied a
    /// note is left out: third parties' details stay in the record.
    pub withheld_notes: usize,
    /// This copy's entry in the disclosure log (given to the person themselves).
    pub disclosure_id: Uuid,
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/export", tag = "records",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, body = ExportResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn export<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    // An export writes the disclosure log (a copy given out), so it needs a token that may change.
    MayChange(actor): MayChange,
) -> Result<Json<ExportResponse>, ApiError> {
    let export = state
        .confidant
        .export_record(&actor, purpose, person_id)
        .await?;
    Ok(Json(ExportResponse {
        person_id: export.person_id,
        fields: export
            .fields
            .into_iter()
            .map(|(field, value)| (field.code().to_owned(), value))
            .collect(),
        cases: export.cases.into_iter().map(CaseResponse::from).collect(),
        entries: export
            .entries
            .into_iter()
            .map(EntryResponse::from)
            .collect(),
        related: export
            .related
            .into_iter()
            .map(RelatedResponse::from)
            .collect(),
        disclosure_id: export.disclosure_id,
        documents: export
            .documents
            .into_iter()
            .map(DocumentResponse::from)
            .collect(),
        withheld_notes: export.withheld_notes,
    }))
}

/// Paper held for a person: ids, kind, status and dates only (what it holds stays in their record).
#[derive(Serialize, ToSchema)]
pub struct PaperResponse {
    pub id: Uuid,
    pub person_id: Uuid,
    /// `paper_note` or `paper_file`.
    pub kind: &'static str,
    pub case_id: Option<Uuid>,
    /// `awaiting_transcription`, `transcribed`, `archived` or `destroyed`.
    pub status: Option<&'static str>,
    /// When the paper was written or filed (RFC 3339).
    pub occurs_at: String,
    /// When it must be destroyed (RFC 3339).
    pub due_at: Option<String>,
}

fn from_micros(m: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl From<EntryRecord> for PaperResponse {
    fn from(e: EntryRecord) -> Self {
        PaperResponse {
            id: e.id,
            person_id: e.person_id,
            kind: e.kind.code(),
            case_id: e.case_id,
            status: e.status.map(EntryStatus::code),
            occurs_at: rfc3339(from_micros(e.occurs_at_micros)),
            due_at: rfc3339_opt(e.due_at_micros.map(from_micros)),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/services/{service_id}/paper", tag = "services",
    params(("service_id" = Uuid, Path)),
    responses((status = 200, description = "soonest due first", body = [PaperResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn paper_register<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<PaperResponse>>, ApiError> {
    let paper = state
        .confidant
        .paper_register(&actor, purpose, service_id)
        .await?;
    Ok(Json(paper.into_iter().map(PaperResponse::from).collect()))
}
