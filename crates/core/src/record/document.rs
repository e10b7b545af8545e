//! Documents and the person's photo: uploaded, checked, sealed with the person's key, served back.
//!
//! Guarantees (ASVS V5, REGULATORY G46):
//! - Only the allowed types are accepted, and the type is decided by the content (its magic bytes),
//!   never by the name: an executable renamed `.pdf` is refused. The name's extension must also
//!   agree with the content.
//! - A size limit is checked before anything else; a refused upload writes nothing (the document
//!   and its content are written in one transaction, so there is never a partial one).
//! - An image (PNG or JPEG) is decoded whole before it is stored, under limits ([`MAX_IMAGE_SIDE`]
//!   pixels a side, [`MAX_IMAGE_PIXELS`] in all, [`MAX_IMAGE_DECODE_BYTES`] of memory): one that does
//!   not decode (damaged, cut short, a disguised file) or would be larger (a decompression bomb: a
//!   small file that claims huge dimensions) is refused, naming the file, before anything is
//!   written.
//! - The original file name is kept only sealed, on one line (a name with a line break or another
//!   control character, or with nothing visible, is refused); downloads get a server-made name.
//!   What is served is the media type found on upload, never one a client chose.

use uuid::Uuid;

use confidant_policy::Action;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::{FieldGroup, RecordKind};
use crate::organisation::micros;
use crate::person::access_of;
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

pub(crate) const CONTENT_TABLE: &str = "document";

/// The most pixels an uploaded image may have on a side.
pub const MAX_IMAGE_SIDE: u32 = 12_000;
/// The most pixels an uploaded image may have in all (40 megapixels: a phone camera's photo).
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;
/// The most memory decoding an uploaded image may take.
pub const MAX_IMAGE_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// Why an image was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageProblem {
    /// It does not decode: damaged, cut short, or not the image it claims to be.
    Undecodable,
    /// It would decode larger than the limits.
    TooLarge,
}

impl ImageProblem {
    fn message(self) -> &'static str {
        match self {
            ImageProblem::Undecodable => {
                "is not an image that can be read: it may be damaged or cut short"
            }
            ImageProblem::TooLarge => {
                "is too large an image: at most 40 megapixels and 12,000 pixels a side"
            }
        }
    }
}

/// Decodes an image of an allowed type whole, under the limits; other types pass untouched.
/// The dimensions are checked from the header before any pixel is decoded, so a decompression
/// bomb is refused without inflating it.
pub fn check_image(found: &AllowedType, content: &[u8]) -> Result<(), ImageProblem> {
    use image::{ImageError, ImageFormat, ImageReader, Limits};
    let format = match found.media_type {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        _ => return Ok(()),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_IMAGE_DECODE_BYTES);
    let reader = || {
        let mut reader = ImageReader::with_format(std::io::Cursor::new(content), format);
        reader.limits(limits.clone());
        reader
    };
    let problem = |e: ImageError| match e {
        ImageError::Limits(_) => ImageProblem::TooLarge,
        _ => ImageProblem::Undecodable,
    };
    let (width, height) = reader().into_dimensions().map_err(problem)?;
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(ImageProblem::TooLarge);
    }
    reader().decode().map(|_| ()).map_err(problem)
}

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
        actor: &Principal,
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
        check_image(found, upload.content).map_err(|p| invalid("file", p.message()))?;
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
        let (key, wrapped) = self.person_key(&permit).await?;
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
            .add_document(&record, &content, &fields, audit)
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
        actor: &Principal,
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
        let (key, _) = self.person_key(&permit).await?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("document.list");
        let rows = self.store.documents_of(&access_of(&permit)?, audit).await?;
        open_documents(&key, rows)
    }

    /// One document's content, opened, with its metadata.
    pub async fn read_document(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        document_id: Uuid,
    ) -> Result<(Document, Vec<u8>), PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let (key, _) = self.person_key(&permit).await?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("document.read");
        let (record, sealed) = self
            .store
            .read_document(document_id, &access_of(&permit)?, audit)
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

/// Opens documents' metadata and names as stored (no content), with the person's key.
pub(crate) fn open_documents(
    key: &confidant_crypto::DataKey,
    rows: Vec<(DocumentRecord, crate::store::SealedFields)>,
) -> Result<Vec<Document>, PersonError> {
    rows.into_iter()
        .map(|(record, sealed)| {
            let values = open_values(
                RecordKind::Document,
                key,
                record.id,
                record.key_version,
                &sealed,
            )?;
            Ok(document_from(record, values))
        })
        .collect()
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

    fn png_type() -> &'static AllowedType {
        allowed_type("image/png").expect("PNG is allowed")
    }

    /// A real PNG of `width` × `height` grey pixels.
    fn png(width: u32, height: u32) -> Vec<u8> {
        use image::ImageEncoder as _;
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                &vec![128u8; (width * height) as usize],
                width,
                height,
                image::ExtendedColorType::L8,
            )
            .expect("a PNG encodes");
        out
    }

    /// A PNG chunk: length, type, data and CRC.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
        out
    }

    /// A decompression bomb: a small, well-formed PNG whose header claims `width` × `height`
    /// 8-bit RGBA pixels (gigabytes once inflated).
    fn bomb(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        // The deflate of some rows (filter bytes and pixels), taken from a real encoding of a
        // smaller image: valid data, which ends long before the rows the header claims.
        let rows = png(1024, 64);
        let idat_at = rows
            .windows(4)
            .position(|w| w == b"IDAT")
            .expect("the encoder writes IDAT");
        let len = u32::from_be_bytes(rows[idat_at - 4..idat_at].try_into().expect("4 bytes"));
        let data = &rows[idat_at + 4..idat_at + 4 + len as usize];
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend(chunk(b"IHDR", &ihdr));
        out.extend(chunk(b"IDAT", data));
        out.extend(chunk(b"IEND", &[]));
        out
    }

    #[test]
    fn an_image_that_decodes_within_the_limits_passes() {
        let image = png(64, 48);
        assert_eq!(detect_type(&image), Some(png_type()));
        assert_eq!(check_image(png_type(), &image), Ok(()));
    }

    #[test]
    fn a_truncated_or_damaged_image_is_refused() {
        let image = png(64, 48);
        for cut in [image.len() / 2, image.len() - 13, 40] {
            let truncated = &image[..cut];
            // Still a PNG by its magic bytes, so only decoding finds it out.
            assert_eq!(detect_type(truncated), Some(png_type()), "cut at {cut}");
            assert_eq!(
                check_image(png_type(), truncated),
                Err(ImageProblem::Undecodable),
                "cut at {cut}"
            );
        }
        let jpeg = allowed_type("image/jpeg").expect("JPEG is allowed");
        assert_eq!(
            check_image(jpeg, b"\xff\xd8\xff\xe0\0\x10JFIF\0 not really"),
            Err(ImageProblem::Undecodable)
        );
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        // 100,000 pixels a side: over the side limit (40 GB as RGBA).
        let huge = bomb(100_000, 100_000);
        assert!(
            huge.len() < 4096,
            "the bomb is a small file: {}",
            huge.len()
        );
        assert_eq!(detect_type(&huge), Some(png_type()));
        assert_eq!(check_image(png_type(), &huge), Err(ImageProblem::TooLarge));
        // Within the side limit but 144 megapixels (576 MB as RGBA): over the pixel limit.
        let wide = bomb(12_000, 12_000);
        assert_eq!(check_image(png_type(), &wide), Err(ImageProblem::TooLarge));
    }

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
