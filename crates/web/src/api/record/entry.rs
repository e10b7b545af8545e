//! Entries of a person's record: case notes and contacts, support plans and goals, appointments,
//! paper notes awaiting transcription and archived paper files.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use confidant_core::Clock;
use confidant_core::field::RecordKind;
use confidant_core::keeping::PaperDestruction;
use confidant_core::record::{Entry, EntryChange, NewEntry, RecordInput};
use confidant_core::store::{
    ContactType, CorrectionReason, EntryStatus, ErrorReason, NoteFlags, Store,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::api::{
    fields_of, invalid, parse_code_opt, parse_time_opt, rfc3339, rfc3339_micros, rfc3339_opt,
};
use crate::http::bearer::{AccessPurpose, Authenticated, ChangeJson, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::{Path, Query};

/// The kinds of entry, by code.
const ENTRY_KINDS: [RecordKind; 6] = [
    RecordKind::Note,
    RecordKind::Plan,
    RecordKind::Goal,
    RecordKind::Appointment,
    RecordKind::PaperNote,
    RecordKind::PaperFile,
];

fn entry_kind(raw: &str) -> Result<RecordKind, ApiError> {
    ENTRY_KINDS
        .into_iter()
        .find(|k| k.code() == raw)
        .ok_or_else(|| {
            invalid(
                "kind",
                "must be one of: note, plan, goal, appointment, paper_note, paper_file",
            )
        })
}

/// Flags on a case note that decide what may later be disclosed. All `false` unless given.
#[derive(Deserialize, Serialize, ToSchema, Default, Clone, Copy)]
#[serde(deny_unknown_fields, default)]
pub struct NoteFlagsBody {
    /// Supplied by a third party (then `supplied_by` names who).
    pub third_party: bool,
    /// Identifies a complainant.
    pub identifies_complainant: bool,
    /// Could cause serious harm to someone's physical or mental health if disclosed.
    pub serious_harm: bool,
}

impl From<NoteFlagsBody> for NoteFlags {
    fn from(f: NoteFlagsBody) -> Self {
        NoteFlags {
            third_party: f.third_party,
            identifies_complainant: f.identifies_complainant,
            serious_harm: f.serious_harm,
        }
    }
}

impl From<NoteFlags> for NoteFlagsBody {
    fn from(f: NoteFlags) -> Self {
        NoteFlagsBody {
            third_party: f.third_party,
            identifies_complainant: f.identifies_complainant,
            serious_harm: f.serious_harm,
        }
    }
}

/// An entry of a person's record.
#[derive(Serialize, ToSchema)]
pub struct EntryResponse {
    pub id: Uuid,
    /// `note`, `plan`, `goal`, `appointment`, `paper_note` or `paper_file`.
    pub kind: &'static str,
    pub case_id: Option<Uuid>,
    /// A goal's support plan.
    pub plan_id: Option<Uuid>,
    /// A note's contact type.
    pub contact_type: Option<&'static str>,
    /// When it happened or happens (RFC 3339).
    pub occurs_at: String,
    /// Where it stands (its kind's status codes; notes have none).
    pub status: Option<&'static str>,
    /// When paper must be destroyed (RFC 3339).
    pub due_at: Option<String>,
    pub flags: NoteFlagsBody,
    /// Who wrote it (a staff id).
    pub author: String,
    pub updated_at: String,
    /// The entry's fields by catalogue code (see `GET /api/v1/catalogue`, record = `kind`).
    pub fields: BTreeMap<String, String>,
    /// Marked as entered in error: who (a staff id), when (RFC 3339) and why (a code).
    pub entered_in_error: Option<EnteredInError>,
}

#[derive(Serialize, ToSchema)]
pub struct EnteredInError {
    pub by: String,
    pub at: String,
    /// `wrong_record`, `duplicate` or `did_not_happen`.
    pub reason: &'static str,
}

impl From<Entry> for EntryResponse {
    fn from(e: Entry) -> Self {
        EntryResponse {
            id: e.id,
            kind: e.kind.code(),
            case_id: e.case_id,
            plan_id: e.parent_id,
            contact_type: e.contact_type.map(ContactType::code),
            occurs_at: rfc3339(e.occurs_at),
            status: e.status.map(EntryStatus::code),
            due_at: rfc3339_opt(e.due_at),
            flags: e.flags.into(),
            author: e.author,
            updated_at: rfc3339(e.updated_at),
            fields: fields_of(&e.values),
            entered_in_error: e.in_error.map(|x| EnteredInError {
                by: x.by,
                at: rfc3339_micros(x.at_micros),
                reason: x.reason.code(),
            }),
        }
    }
}

/// A new entry. Notes need `contact_type` and the field `body`; plans, goals and appointments a
/// `title`; paper notes a `description`; paper files a `description`, a `location` and `due_at`. A
/// goal, and only a goal, names its `plan_id`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntryRequest {
    /// `note`, `plan`, `goal`, `appointment`, `paper_note` or `paper_file`.
    #[schema(example = "note")]
    pub kind: String,
    pub case_id: Option<Uuid>,
    /// A goal's support plan (an entry of kind `plan`).
    pub plan_id: Option<Uuid>,
    /// A note's contact type: `visit`, `phone`, `text`, `email`, `letter`, `video_call`, `meeting`
    /// or `record`.
    #[schema(example = "phone")]
    pub contact_type: Option<String>,
    /// When it happened or happens (RFC 3339; now if absent).
    pub occurs_at: Option<String>,
    /// Where it starts (its kind's first status if absent). Plans: `active`, `completed`; goals:
    /// `not_started`, `in_progress`, `achieved`, `not_achieved`; appointments: `booked`,
    /// `attended`, `missed`, `cancelled`; paper notes: `awaiting_transcription`, `transcribed`,
    /// `destroyed`; paper files: `archived`, `destroyed`.
    pub status: Option<String>,
    /// When paper must be destroyed (RFC 3339).
    pub due_at: Option<String>,
    /// A note's flags.
    #[serde(default)]
    pub flags: NoteFlagsBody,
    /// The entry's fields by catalogue code (record = `kind`), e.g. `body` and `supplied_by` of a
    /// note.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// A change to an entry: a new status, a new due date, or values (`""` removes an optional one).
/// The values replaced are kept in the record's history.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryChangeRequest {
    pub status: Option<String>,
    /// RFC 3339.
    pub due_at: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Why the fields change: `typo`, `wrong_detail`, `incomplete` or `person_asked`. Required to
    /// correct a case note (its earlier text is kept with who, when and why).
    pub reason: Option<String>,
}

/// Why an entry is marked as entered in error.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryErrorRequest {
    /// `wrong_record`, `duplicate` or `did_not_happen`.
    pub reason: Option<String>,
}

/// Paper destroyed outside Confidant: who destroyed it and their reference, kept after the record
/// is gone (on its certificate), so neither may name the person.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaperDestructionRequest {
    /// The archive provider, or the service if it was shredded on site (at most 120 characters).
    pub destroyed_by: Option<String>,
    /// Their reference: a certificate of destruction's number, a shredding log's entry (at most 80).
    pub reference: Option<String>,
    /// `YYYY-MM-DD` (UK calendar), not after today.
    pub destroyed_on: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntryQuery {
    /// Only entries of this kind: `note`, `plan`, `goal`, `appointment`, `paper_note` or
    /// `paper_file` (every kind if absent).
    pub kind: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/entries", tag = "records",
    params(("person_id" = Uuid, Path), EntryQuery),
    responses((status = 200, description = "newest first", body = [EntryResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Query(query): Query<EntryQuery>,
    Trained(actor): Trained,
) -> Result<Json<Vec<EntryResponse>>, ApiError> {
    let kinds = match query.kind.as_deref() {
        Some(k) => vec![entry_kind(k)?],
        None => Vec::new(),
    };
    let entries = state
        .confidant
        .entries(&actor, purpose, person_id, &kinds)
        .await?;
    Ok(Json(entries.into_iter().map(EntryResponse::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/entries", tag = "records",
    params(("person_id" = Uuid, Path)),
    request_body = NewEntryRequest,
    responses((status = 201, body = EntryResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn add<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<NewEntryRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let new = NewEntry {
        kind: entry_kind(&body.kind)?,
        case_id: body.case_id,
        parent_id: body.plan_id,
        contact_type: parse_code_opt::<ContactType>("contact_type", body.contact_type.as_deref())?,
        occurs_at: parse_time_opt("occurs_at", body.occurs_at.as_deref())?,
        status: parse_code_opt::<EntryStatus>("status", body.status.as_deref())?,
        due_at: parse_time_opt("due_at", body.due_at.as_deref())?,
        flags: body.flags.into(),
        values: RecordInput(body.fields),
    };
    let entry = state
        .confidant
        .add_entry(&actor, purpose, person_id, &new)
        .await?;
    Ok((StatusCode::CREATED, Json(EntryResponse::from(entry))))
}

#[utoipa::path(patch, path = "/api/v1/people/{person_id}/entries/{entry_id}", tag = "records",
    params(("person_id" = Uuid, Path), ("entry_id" = Uuid, Path)),
    request_body = EntryChangeRequest,
    responses((status = 200, body = EntryResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn update<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
    ChangeJson(actor, body): ChangeJson<EntryChangeRequest>,
) -> Result<Json<EntryResponse>, ApiError> {
    let change = EntryChange {
        reason: parse_code_opt::<CorrectionReason>("reason", body.reason.as_deref())?,
        status: parse_code_opt::<EntryStatus>("status", body.status.as_deref())?,
        due_at: parse_time_opt("due_at", body.due_at.as_deref())?,
        values: RecordInput(body.fields),
    };
    let entry = state
        .confidant
        .update_entry(&actor, purpose, person_id, entry_id, &change)
        .await?;
    Ok(Json(entry.into()))
}

/// Marks a case note as entered in error (kept, struck through, never shared).
#[utoipa::path(post, path = "/api/v1/people/{person_id}/entries/{entry_id}/error", tag = "records",
    params(("person_id" = Uuid, Path), ("entry_id" = Uuid, Path)),
    request_body = EntryErrorRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such case note of this record", body = ErrorBody), (status = 409, description = "marked already", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn mark_in_error<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
    ChangeJson(actor, body): ChangeJson<EntryErrorRequest>,
) -> Result<StatusCode, ApiError> {
    let reason = parse_code_opt::<ErrorReason>("reason", body.reason.as_deref())?
        .ok_or_else(|| invalid("reason", "is required"))?;
    state
        .confidant
        .mark_entry_in_error(&actor, purpose, person_id, entry_id, reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records a paper note or archived paper file destroyed: its status becomes `destroyed` and its
/// paper task closes. Refused while a legal hold is in force on the record.
#[utoipa::path(post, path = "/api/v1/people/{person_id}/entries/{entry_id}/destruction", tag = "records",
    params(("person_id" = Uuid, Path), ("entry_id" = Uuid, Path)),
    request_body = PaperDestructionRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such paper of this record", body = ErrorBody), (status = 409, description = "recorded destroyed already, or a legal hold is in force", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn paper_destroyed<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
    ChangeJson(actor, body): ChangeJson<PaperDestructionRequest>,
) -> Result<StatusCode, ApiError> {
    let today = confidant_core::retention::uk_date(state.confidant.clock().now());
    let paper = PaperDestruction::parse(
        body.destroyed_by.as_deref().unwrap_or_default(),
        body.reference.as_deref().unwrap_or_default(),
        body.destroyed_on.as_deref().unwrap_or_default(),
        today,
    )?;
    state
        .confidant
        .record_paper_destroyed(&actor, purpose, person_id, entry_id, &paper)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
