//! Documents and the person's photo: uploaded, checked, sealed with the person's key, served back.
//!
//! Guarantees (ASVS V5, REGULATORY G46):
//! - Only the allowed types are accepted, and the type is decided by the content (its magic bytes),
//!   never by the name: an executable renamed `.pdf` is refused. The name's extension must also
//!   agree with the content.
//! - A size limit is checked before anything else; a refused upload writes nothing (the document
//!   and its content are written in one transaction, so there is never a partial one).
//! - The original file name is kept only sealed; downloads get a server-made name. What is served
//!   is the media type found on upload, never one a client chose.

use uuid::Uuid;

use confidant_policy::{Action, Actor};

use crate::audit::{AuditDraft, Purpose};
use crate::field::{FieldGroup, RecordKind};
use crate::organisation::micros;
use crate::person::{PersonError, from_micros};
use crate::record::{
    RecordInput, Values, invalid, no_identifiers, open_values, parse_record, seal_values,
};
use crate::store::{DocumentRecord, Store};
use crate::{Clock, Confidant};

/// The largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;
/// The largest photo accepted, in bytes.
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

const CONTENT_TABLE: &str = "document";

/// An accepted type: its media type, the extensions a name may have, and whether a browser may show
/// it inline (images whose content was checked; everything else is downloaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedType {
    pub media_type: &'static str,
    pub extensions: &'static [&'static str],
    pub inline: bool,
}

/// The allow-list of document types.
pub const ALLOWED_TYPES: &[AllowedType] = &[
    AllowedType {
        media_type: "application/pdf",
        extensions: &["pdf"],
        inline: false,
    },
    AllowedType {
        media_type: "image/png",
        extensions: &["png"],
        inline: true,
    },
    AllowedType {
        media_type: "image/jpeg",
        extensions: &["jpg", "jpeg"],
        inline: true,
    },
    AllowedType {
        media_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        extensions: &["docx"],
        inline: false,
    },
    AllowedType {
        media_type: "text/plain",
        extensions: &["txt"],
        inline: false,
    },
];

/// The type of this content, if it is one of the allowed types. Decided by the content: a
/// recognised binary signature, or (for plain text) valid UTF-8 without control characters other
/// than whitespace.
pub fn detect_type(content: &[u8]) -> Option<&'static AllowedType> {
    if let Some(kind) = infer::get(content) {
        return ALLOWED_TYPES
            .iter()
            .find(|t| t.media_type == kind.mime_type() && t.media_type != "text/plain");
    }
    let text = std::str::from_utf8(content).ok()?;
    let plain = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
    plain
        .then(|| ALLOWED_TYPES.iter().find(|t| t.media_type == "text/plain"))
        .flatten()
}

/// The allowed type a stored media type stands for.
pub fn allowed_type(media_type: &str) -> Option<&'static AllowedType> {
    ALLOWED_TYPES.iter().find(|t| t.media_type == media_type)
}

/// A document's metadata and opened name and description (never its content).
#[derive(Debug, Clone)]
pub struct Document {
    pub id: Uuid,
    pub media_type: String,
    pub size_bytes: i64,
    pub is_photo: bool,
    pub uploaded_by: String,
    pub uploaded_at: time::OffsetDateTime,
    pub values: Values,
}

impl Document {
    /// The name a download gets: made by the server, never the uploaded one.
    pub fn download_name(&self) -> String {
        let ext = allowed_type(&self.media_type)
            .and_then(|t| t.extensions.first())
            .copied()
            .unwrap_or("bin");
        format!("document-{}.{ext}", self.id)
    }
}

/// An upload as received.
#[derive(Clone)]
pub struct Upload<'a> {
    pub file_name: &'a str,
    pub content: &'a [u8],
    pub description: Option<&'a str>,
    /// The person's photo (an image, shown on their page) rather than a document.
    pub is_photo: bool,
}

impl std::fmt::Debug for Upload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upload({} bytes, [redacted])", self.content.len())
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Checks and stores a document (or the person's photo, replacing any earlier one).
    pub async fn upload_document(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
        upload: &Upload<'_>,
    ) -> Result<Document, PersonError> {
        let limit = if upload.is_photo {
            MAX_PHOTO_BYTES
        } else {
            MAX_DOCUMENT_BYTES
        };
        if upload.content.len() > limit {
            return Err(invalid(
                "file",
                format!("is larger than the limit of {} MB", limit / (1024 * 1024)),
            ));
        }
        if upload.content.is_empty() {
            return Err(invalid("file", "is empty"));
        }
        let Some(found) = detect_type(upload.content) else {
            return Err(invalid(
                "file",
                "is not an allowed type (PDF, PNG, JPEG, Word .docx or plain text), judged by its content",
            ));
        };
        let extension = upload
            .file_name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .unwrap_or_default();
        if !found.extensions.contains(&extension.as_str()) {
            return Err(invalid(
                "file",
                "its name's extension does not match its content",
            ));
        }
        if upload.is_photo && !found.inline {
            return Err(invalid("file", "a photo must be a PNG or JPEG image"));
        }
        let mut input = RecordInput::new().with("file_name", upload.file_name);
        if let Some(d) = upload.description {
            input = input.with("description", d);
        }
        let parsed = parse_record(
            RecordKind::Document,
            &input,
            &["file_name"],
            &no_identifiers,
        )
        .map_err(crate::person::PersonError::Invalid)?;
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        if upload.is_photo {
            let confidant_policy::Resource::Person { service_id, .. } = resource else {
                return Err(PersonError::NotFound);
            };
            if !self
                .service_config(service_id)
                .await?
                .field_groups
                .contains(FieldGroup::Photo)
            {
                return Err(invalid("file", "this service does not keep photos"));
            }
        }
        let (key, wrapped) = self.person_key(person_id).await?;
        let id = Uuid::now_v7();
        let now = self.clock.now();
        let row_id = id.to_string();
        let content = key.seal(
            &confidant_crypto::FieldAddress {
                table: CONTENT_TABLE,
                column: "content",
                row_id: &row_id,
                key_version: u32::try_from(wrapped.version).unwrap_or(u32::MAX),
            },
            upload.content,
        );
        let present: Vec<(&str, &str)> = parsed
            .iter()
            .filter_map(|(c, v)| v.as_deref().map(|v| (*c, v)))
            .collect();
        let fields = seal_values(&key, id, wrapped.version, present.iter().copied());
        let record = DocumentRecord {
            id,
            person_id,
            media_type: found.media_type.to_owned(),
            size_bytes: i64::try_from(upload.content.len()).unwrap_or(i64::MAX),
            is_photo: upload.is_photo,
            key_version: wrapped.version,
            uploaded_by: actor.audit_id(),
            created_at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named(if upload.is_photo {
            "photo.upload"
        } else {
            "document.upload"
        });
        self.store
            .add_document(&record, &content, &fields, &audit)
            .await?;
        let mut values = Values::default();
        for (code, value) in present {
            if let Some(spec) = crate::field::record_field(RecordKind::Document, code) {
                values.insert(spec.code, value.to_owned());
            }
        }
        Ok(document_from(record, values))
    }

    /// A person's documents (and photo), newest first: metadata and names, no content.
    pub async fn documents(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<Document>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        // Documents are not among the categories a processor is referred.
        if permit.grant() == Some(confidant_policy::Grant::ProcessorReferral) {
            return Ok(Vec::new());
        }
        let (key, _) = self.person_key(person_id).await?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("document.list");
        let rows = self.store.documents_of(person_id, &audit).await?;
        rows.into_iter()
            .map(|(record, sealed)| {
                let values = open_values(
                    RecordKind::Document,
                    &key,
                    record.id,
                    record.key_version,
                    &sealed,
                )?;
                Ok(document_from(record, values))
            })
            .collect()
    }

    /// One document's content, opened, with its metadata.
    pub async fn read_document(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
        document_id: Uuid,
    ) -> Result<(Document, Vec<u8>), PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let (key, _) = self.person_key(person_id).await?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("document.read");
        let (record, sealed) = self
            .store
            .read_document(document_id, person_id, &audit)
            .await?
            .ok_or(PersonError::NotFound)?;
        let row_id = record.id.to_string();
        let content = key.open(
            &confidant_crypto::FieldAddress {
                table: CONTENT_TABLE,
                column: "content",
                row_id: &row_id,
                key_version: u32::try_from(record.key_version).unwrap_or(u32::MAX),
            },
            &sealed,
        )?;
        Ok((document_from(record, Values::default()), content.to_vec()))
    }
}

fn document_from(record: DocumentRecord, values: Values) -> Document {
    Document {
        id: record.id,
        media_type: record.media_type,
        size_bytes: record.size_bytes,
        is_photo: record.is_photo,
        uploaded_by: record.uploaded_by,
        uploaded_at: from_micros(record.created_at_micros),
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_judged_by_content() {
        assert_eq!(
            detect_type(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n").map(|t| t.media_type),
            Some("application/pdf")
        );
        assert_eq!(
            detect_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").map(|t| t.media_type),
            Some("image/png")
        );
        assert_eq!(
            detect_type("Notes from the visit.\nAll well.\n".as_bytes()).map(|t| t.media_type),
            Some("text/plain")
        );
        // A Windows executable, an ELF binary, a shell script with a NUL, HTML is text but a zip is
        // not allowed.
        assert_eq!(detect_type(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff"), None);
        assert_eq!(detect_type(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"), None);
        assert_eq!(detect_type(b"#!/bin/sh\0rm -rf /"), None);
        assert_eq!(detect_type(b"PK\x03\x04\x14\0\0\0\0\0"), None);
    }
}
