//! Documents of a person's record (and their photo): upload as a raw body, list, download.
//!
//! The type is decided by core from the content, never from `Content-Type` or the name. The file
//! name is personal data, so it comes in a header (`X-File-Name`), never in the URL; downloads get a
//! server-made name. An upload over [`MAX_UPLOAD_BODY_BYTES`] is refused with 413 before it is read
//! whole, and a refused upload stores nothing.

use std::pin::Pin;

use axum::Json;
use axum::body::{Body, HttpBody};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use confidant_core::Clock;
use confidant_core::document::{Document, MAX_DOCUMENT_BYTES, Upload, allowed_type};
use confidant_core::store::Store;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::api::{invalid, rfc3339};
use crate::http::bearer::{AccessPurpose, Authenticated, ChangeJson, MayChange, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::{Path, Query};

/// The largest upload body read: a little above the largest document, so that core's own limit
/// (which says so by field) applies first; anything larger is refused with 413 unread.
pub const MAX_UPLOAD_BODY_BYTES: usize = MAX_DOCUMENT_BYTES + 64 * 1024;

/// The header carrying the uploaded file's name (percent-encoded UTF-8 if not plain ASCII).
const FILE_NAME: &str = "x-file-name";
/// The header carrying an optional description (percent-encoded UTF-8 if not plain ASCII).
const DESCRIPTION: &str = "x-description";

/// A document's metadata, its original name and description (never its content).
#[derive(Serialize, ToSchema)]
pub struct DocumentResponse {
    pub id: Uuid,
    /// The type found from the content on upload: `application/pdf`, `image/png`, `image/jpeg`,
    /// the Word `.docx` type or `text/plain`.
    pub media_type: String,
    pub size_bytes: i64,
    /// The person's photo rather than a document about them.
    pub is_photo: bool,
    /// Who uploaded it (a staff id).
    pub uploaded_by: String,
    /// RFC 3339.
    pub uploaded_at: String,
    /// The name it was uploaded with (kept sealed; downloads get a server-made name).
    pub file_name: Option<String>,
    pub description: Option<String>,
}

impl From<Document> for DocumentResponse {
    fn from(d: Document) -> Self {
        DocumentResponse {
            file_name: d.values.get("file_name").map(str::to_owned),
            description: d.values.get("description").map(str::to_owned),
            id: d.id,
            media_type: d.media_type,
            size_bytes: d.size_bytes,
            is_photo: d.is_photo,
            uploaded_by: d.uploaded_by,
            uploaded_at: rfc3339(d.uploaded_at),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `true` to upload the person's photo (a PNG or JPEG of at most 2 MB, replacing any earlier
    /// one; the service must keep photos) rather than a document.
    pub photo: Option<bool>,
}

/// A file's bytes, as a whole request or response body.
pub struct FileContent;

impl utoipa::PartialSchema for FileContent {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/octet-stream")
            .into()
    }
}

impl ToSchema for FileContent {}

/// Percent-decodes a header value into UTF-8 text; `None` if it is not valid.
fn header_text(headers: &HeaderMap, name: &str) -> Option<Result<String, ()>> {
    let raw = headers.get(name)?.as_bytes();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hex = raw
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                }
                None => return Some(Err(())),
            }
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    Some(String::from_utf8(out).map_err(|_| ()))
}

/// Reads the whole body, refusing it as soon as it is over the limit (a declared length over the
/// limit is refused before a byte is read).
async fn read_limited(headers: &HeaderMap, mut body: Body) -> Result<Vec<u8>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge(MAX_UPLOAD_BODY_BYTES));
    }
    let mut content = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame =
            frame.map_err(|_| ApiError::Malformed("the body could not be read".to_owned()))?;
        if let Ok(data) = frame.into_data() {
            if content.len() + data.len() > MAX_UPLOAD_BODY_BYTES {
                return Err(ApiError::PayloadTooLarge(MAX_UPLOAD_BODY_BYTES));
            }
            content.extend_from_slice(&data);
        }
    }
    Ok(content)
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/documents", tag = "documents",
    params(("person_id" = Uuid, Path),
        ("X-File-Name" = String, Header, description = "The file's name, percent-encoded UTF-8 if it is not plain ASCII (personal data: never put it in the URL). Its extension must agree with the content."),
        ("X-Description" = Option<String>, Header, description = "What the document is, percent-encoded UTF-8 if it is not plain ASCII (optional, up to 500 characters)."),
        UploadQuery),
    request_body(content = inline(FileContent), content_type = "application/octet-stream", description = "The file itself, as the whole body (at most 10 MB). Its type is judged by its content: PDF, PNG, JPEG, Word .docx or plain text; `Content-Type` is ignored."),
    responses((status = 201, body = DocumentResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, description = "the body is over the limit; nothing is stored", body = ErrorBody),
        (status = 422, description = "the type is not allowed, does not match the name, or a header is missing; nothing is stored", body = ErrorBody)),
    security(("bearer" = [])))]
#[expect(
    clippy::too_many_arguments,
    reason = "axum's extractors, in the order the request is checked"
)]
pub(crate) async fn upload<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    MayChange(actor): MayChange,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let file_name = match header_text(&headers, FILE_NAME) {
        Some(Ok(name)) if !name.trim().is_empty() => name,
        Some(Err(())) => {
            return Err(invalid(
                "file_name",
                "the X-File-Name header must be percent-encoded UTF-8",
            ));
        }
        _ => {
            return Err(invalid(
                "file_name",
                "give the file's name in the X-File-Name header",
            ));
        }
    };
    let description = match header_text(&headers, DESCRIPTION) {
        Some(Ok(d)) => Some(d),
        Some(Err(())) => {
            return Err(invalid(
                "description",
                "the X-Description header must be percent-encoded UTF-8",
            ));
        }
        None => None,
    };
    let content = read_limited(&headers, body).await?;
    let upload = Upload {
        file_name: &file_name,
        content: &content,
        description: description.as_deref(),
        is_photo: query.photo.unwrap_or(false),
    };
    let document = state
        .confidant
        .upload_document(&actor, purpose, person_id, &upload)
        .await?;
    Ok((StatusCode::CREATED, Json(DocumentResponse::from(document))))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/documents", tag = "documents",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, description = "newest first", body = [DocumentResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<DocumentResponse>>, ApiError> {
    let documents = state
        .confidant
        .documents(&actor, purpose, person_id)
        .await?;
    Ok(Json(
        documents.into_iter().map(DocumentResponse::from).collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/documents/{document_id}", tag = "documents",
    params(("person_id" = Uuid, Path), ("document_id" = Uuid, Path)),
    responses((status = 200, description = "The content, as an attachment named by the server (`document-{id}.{ext}`), with the type found on upload, `nosniff`, a sandboxing CSP and `no-store`.",
            body = inline(FileContent), content_type = "application/octet-stream"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn download<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, document_id)): Path<(Uuid, Uuid)>,
    Trained(actor): Trained,
) -> Result<Response, ApiError> {
    let (document, content) = state
        .confidant
        .read_document(&actor, purpose, person_id, document_id)
        .await?;
    // Only a type of the allow-list is ever served, whatever is stored.
    let media_type =
        allowed_type(&document.media_type).map_or("application/octet-stream", |t| t.media_type);
    let disposition = HeaderValue::try_from(format!(
        "attachment; filename=\"{}\"",
        document.download_name()
    ))
    .map_err(|_| ApiError::Internal("download name is not a header value".to_owned()))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
        ],
        content,
    )
        .into_response())
}

/// Where a misfiled document goes: another person of the same service whose record the caller
/// may change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveDocumentRequest {
    pub to_person_id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/documents/{document_id}/move", tag = "documents",
    params(("person_id" = Uuid, Path), ("document_id" = Uuid, Path)),
    request_body = MoveDocumentRequest,
    responses((status = 200, description = "moved: the document on its new record", body = DocumentResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn move_to<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path((person_id, document_id)): Path<(Uuid, Uuid)>,
    ChangeJson(actor, body): ChangeJson<MoveDocumentRequest>,
) -> Result<Json<DocumentResponse>, ApiError> {
    let moved = state
        .confidant
        .move_document(&actor, purpose, person_id, document_id, body.to_person_id)
        .await?;
    Ok(Json(moved.into()))
}
