//! A person's documents and photo: the list with the upload form, uploads (multipart), downloads,
//! and the photo shown on their page.
//!
//! Guarantees:
//! - An upload larger than the route's limit is refused with a 413 page before core is called, so
//!   nothing is stored; the type is decided by core from the content (an executable renamed `.pdf`
//!   is refused with a 400 page and nothing listed).
//! - A download is always an attachment under a server-made name, with the media type found on
//!   upload, `nosniff`, a sandboxing CSP and `no-store`. The photo is served inline only when its
//!   type may be shown inline (PNG or JPEG), with the same headers.
//! - The CSRF token travels in the multipart form and is checked before anything is stored.

use askama::Template;
use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::document::{
    Document, MAX_DOCUMENT_BYTES, MAX_PHOTO_BYTES, Upload, allowed_type,
};
use confidant_core::person::PersonError;
use confidant_core::record::Need;
use confidant_core::store::Store;
use confidant_core::{Clock, Purpose};
use uuid::Uuid;

use super::UPLOAD_BODY_BYTES;
use crate::http::extract::page::Path;
use crate::http::guard::require_training;
use crate::pages::TrainedStaff;
use crate::pages::form::{FormField, FormPage, attach_errors, labelled_errors};
use crate::pages::record::person::{check, offers, read_name, who};
use crate::pages::{Chrome, PageError, Signed, St, date_time, render, render_status};

/// The CSP of a served file: nothing in it may run or load anything.
/// (The same as `crate::security_headers` gives every response with a Content-Disposition.)
const FILE_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox";

/// What the documents list says a type is.
fn type_label(media_type: &str) -> &'static str {
    match media_type {
        "application/pdf" => "PDF",
        "image/png" => "PNG image",
        "image/jpeg" => "JPEG image",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            "Word document"
        }
        "text/plain" => "Plain text",
        _ => "File",
    }
}

/// A size in words: bytes, KB or MB.
fn size_label(bytes: i64) -> String {
    const KB: i64 = 1024;
    match bytes {
        b if b < KB => format!("{b} bytes"),
        b if b < KB * KB => format!("{} KB", (b + KB - 1) / KB),
        b => format!("{:.1} MB", b as f64 / (KB * KB) as f64),
    }
}

struct DocumentView {
    id: String,
    name: String,
    description: String,
    kind: &'static str,
    size: String,
    uploaded: String,
    by: String,
}

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    section: &'static str,
    name: String,
    can_change: bool,
    documents: Vec<DocumentView>,
    fields: Vec<FormField>,
    errors: Vec<(String, String)>,
}

fn upload_fields() -> Vec<FormField> {
    vec![
        FormField::file(
            "file",
            "Upload a document",
            ".pdf,.png,.jpg,.jpeg,.docx,.txt",
        )
        .hint("A PDF, PNG or JPEG image, Word (.docx) or plain text file, 10 MB or smaller."),
        FormField::input("description", "Description").hint("Optional. What the document is."),
    ]
}

async fn documents_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    description: &str,
    errors: Vec<(String, String)>,
) -> Result<DocumentsPage, PageError> {
    let person = read_name(state, signed, person_id, Need::Read).await?;
    let c = &state.confidant;
    let handles = c.colleague_names(signed.actor()).await?;
    let documents = c
        .documents(signed.actor(), Purpose::Support, person_id)
        .await?
        .into_iter()
        .filter(|d| !d.is_photo)
        .map(|d| DocumentView {
            id: d.id.to_string(),
            name: d
                .values
                .get("file_name")
                .map_or_else(|| d.download_name(), str::to_owned),
            description: d.values.get("description").unwrap_or_default().to_owned(),
            kind: type_label(&d.media_type),
            size: size_label(d.size_bytes),
            uploaded: date_time(d.uploaded_at),
            by: who(&handles, &d.uploaded_by),
        })
        .collect();
    let mut fields = upload_fields();
    fields[1].value = description.to_owned();
    attach_errors(&mut fields, &errors);
    Ok(DocumentsPage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        section: "documents",
        name: person.full(),
        can_change: offers(state, signed, person_id, Need::Change).await?,
        documents,
        fields,
        errors,
    })
}

pub async fn list<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&documents_page(&state, &signed, person_id, "", Vec::new()).await?)
}

/// A multipart upload, read whole (within the route's limit).
struct Uploaded {
    csrf: String,
    description: String,
    file_name: String,
    content: Vec<u8>,
}

fn multipart_error(e: MultipartError) -> PageError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        PageError::TooLarge
    } else {
        PageError::Invalid(vec![(
            "file".to_owned(),
            "The upload could not be read. Choose the file again and try again.".to_owned(),
        )])
    }
}

/// Reads the upload's parts. A body announced larger than the limit is refused before a byte of it
/// is read; one that turns out larger is refused when the limit is reached.
async fn read_upload(headers: &HeaderMap, mut multipart: Multipart) -> Result<Uploaded, PageError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > UPLOAD_BODY_BYTES) {
        return Err(PageError::TooLarge);
    }
    let mut upload = Uploaded {
        csrf: String::new(),
        description: String::new(),
        file_name: String::new(),
        content: Vec::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("csrf") => upload.csrf = field.text().await.map_err(multipart_error)?,
            Some("description") => {
                upload.description = field.text().await.map_err(multipart_error)?;
            }
            Some("file") => {
                upload.file_name = field.file_name().unwrap_or_default().to_owned();
                upload.content = field.bytes().await.map_err(multipart_error)?.to_vec();
            }
            _ => {
                field.bytes().await.map_err(multipart_error)?;
            }
        }
    }
    Ok(upload)
}

/// The start of every upload: the upload read, then its CSRF token and the actor's training.
async fn checked_upload<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    headers: &HeaderMap,
    multipart: Multipart,
) -> Result<Uploaded, PageError> {
    let upload = read_upload(headers, multipart).await?;
    signed.check_csrf(&upload.csrf)?;
    require_training(state, signed.actor()).await?;
    Ok(upload)
}

fn file_label(code: &str) -> Option<&'static str> {
    match code {
        "file" => Some("The file"),
        "file_name" => Some("The file's name"),
        "description" => Some("Description"),
        _ => None,
    }
}

/// Stores an upload through core; `Err` holds the field errors to show (nothing was stored).
async fn store_upload<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    upload: &Uploaded,
    is_photo: bool,
) -> Result<Result<Document, Vec<(String, String)>>, PageError> {
    check(state, signed, person_id, Need::Change).await?;
    if upload.file_name.is_empty() && upload.content.is_empty() {
        return Ok(Err(vec![("file".to_owned(), "Choose a file".to_owned())]));
    }
    let limit = if is_photo {
        MAX_PHOTO_BYTES
    } else {
        MAX_DOCUMENT_BYTES
    };
    if upload.content.len() > limit {
        return Err(PageError::TooLarge);
    }
    let description = upload.description.trim();
    let request = Upload {
        file_name: &upload.file_name,
        content: &upload.content,
        description: (!description.is_empty()).then_some(description),
        is_photo,
    };
    match state
        .confidant
        .upload_document(signed.actor(), Purpose::Support, person_id, &request)
        .await
    {
        Ok(d) => Ok(Ok(d)),
        Err(PersonError::Invalid(v)) => Ok(Err(labelled_errors(&v, file_label))),
        Err(e) => Err(e.into()),
    }
}

pub async fn upload<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let upload = checked_upload(&state, &signed, &headers, multipart).await?;
    match store_upload(&state, &signed, person_id, &upload, false).await? {
        Ok(_) => Ok(Redirect::to(&format!("/people/{person_id}/documents")).into_response()),
        Err(errors) => render_status(
            StatusCode::BAD_REQUEST,
            &documents_page(&state, &signed, person_id, &upload.description, errors).await?,
        ),
    }
}

/// A file response with the headers every served file gets.
fn file_response(content: Vec<u8>, media_type: &str, disposition: String) -> Response {
    let mut response = content.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(media_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FILE_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn download<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, document_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let (document, content) = state
        .confidant
        .read_document(signed.actor(), Purpose::Support, person_id, document_id)
        .await?;
    // The name is the server's own (`document-<id>.<ext>`): nothing to escape in the header.
    let disposition = format!("attachment; filename=\"{}\"", document.download_name());
    Ok(file_response(content, &document.media_type, disposition))
}

pub async fn photo<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let c = &state.confidant;
    let latest = c
        .documents(signed.actor(), Purpose::Support, person_id)
        .await?
        .into_iter()
        .filter(|d| d.is_photo)
        .max_by_key(|d| d.uploaded_at)
        .ok_or(PageError::NotFound)?;
    let (document, content) = c
        .read_document(signed.actor(), Purpose::Support, person_id, latest.id)
        .await?;
    if !allowed_type(&document.media_type).is_some_and(|t| t.inline) {
        return Err(PageError::NotFound);
    }
    let disposition = format!("inline; filename=\"{}\"", document.download_name());
    Ok(file_response(content, &document.media_type, disposition))
}

fn photo_page(
    signed: &Signed,
    person_id: Uuid,
    name: String,
    errors: Vec<(String, String)>,
) -> FormPage {
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Upload a photo",
        format!("/people/{person_id}/photo"),
        vec![
            FormField::file("file", "Photo", "image/png,image/jpeg")
                .hint("A PNG or JPEG image, 2 MB or smaller."),
        ],
        errors,
    )
    .caption(name)
    .back(format!("/people/{person_id}#photo"))
    .submit("Upload photo")
    .multipart()
}

pub async fn photo_upload<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let upload = checked_upload(&state, &signed, &headers, multipart).await?;
    match store_upload(&state, &signed, person_id, &upload, true).await? {
        Ok(_) => Ok(Redirect::to(&format!("/people/{person_id}#photo")).into_response()),
        Err(errors) => {
            let name = read_name(&state, &signed, person_id, Need::Change)
                .await?
                .full();
            render_status(
                StatusCode::BAD_REQUEST,
                &photo_page(&signed, person_id, name, errors),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_words() {
        assert_eq!(size_label(900), "900 bytes");
        assert_eq!(size_label(2048), "2 KB");
        assert_eq!(size_label(3 * 1024 * 1024 / 2), "1.5 MB");
    }
}
