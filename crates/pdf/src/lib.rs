//! Confidant's PDF documents, typeset with typst: a service's privacy notice (R13), a disclosure
//! package as people read it (issue 16), a destruction certificate (issue 17), and a letter about a
//! rights request (issue 18).
//!
//! Guarantees:
//! - The PDF is tagged and declares PDF/UA-1 (typst checks the standard while writing), with the
//!   notice's title as the document title and British English as its language, so screen readers
//!   get headings, paragraphs and lists in reading order.
//! - Text is never typst markup. The template is ours and fixed; every text of the notice reaches
//!   it as a string value through `sys.inputs`, and typst sets strings as plain text. A register
//!   that says `#`, `*`, `$` or `]` prints those characters and cannot change the document.
//! - Nothing is read from disk or the network and no clock is consulted: the fonts are embedded in
//!   the binary, and the same notice gives the same bytes.
//!
//! typst is a large dependency; it lives in this crate alone so it is compiled once, and only into
//! what needs PDFs.

mod world;

use confidant_core::notice::Notice;
use typst::diag::SourceDiagnostic;
use typst::foundations::{Array, Dict, Smart, Str, Value};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards};

use crate::world::DocumentWorld;

/// Why a PDF could not be made. Both are defects in this crate (the template or the standard
/// settings), not in the notice: any text is acceptable input.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("typesetting failed: {}", .0.join("; "))]
    Typeset(Vec<String>),
    #[error("writing the PDF failed: {}", .0.join("; "))]
    Export(Vec<String>),
}

const NOTICE_TEMPLATE: &str = include_str!("notice.typ");
const PACKAGE_TEMPLATE: &str = include_str!("package.typ");
const LETTER_TEMPLATE: &str = include_str!("letter.typ");

/// A disclosure package as people read it: who sent it, to whom, when (in UK time), on what
/// basis and why, then exactly the data sent, grouped and labelled. Plain texts, made by the
/// caller from the package (the web crate, from the catalogue's labels).
#[derive(Clone, Default)]
pub struct PackageDocument {
    pub disclosure_id: String,
    pub title: String,
    pub sender: String,
    /// (label, value): from, to, sent, lawful basis, conditions, reason.
    pub summary: Vec<(String, String)>,
    pub sections: Vec<PackageSection>,
}

/// One group of the data sent: a field group, or one entry.
#[derive(Clone, Default)]
pub struct PackageSection {
    pub heading: String,
    pub rows: Vec<(String, String)>,
}

impl std::fmt::Debug for PackageDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackageDocument({}, [redacted])", self.disclosure_id)
    }
}

fn rows(rows: &[(String, String)]) -> Value {
    Value::Array(
        rows.iter()
            .map(|(k, v)| Value::Array([string(k), string(v)].into_iter().collect()))
            .collect(),
    )
}

/// Renders a disclosure package as an accessible, tagged A4 PDF.
pub fn package_pdf(document: &PackageDocument) -> Result<Vec<u8>, PdfError> {
    rows_pdf(
        document,
        format!("confidant-disclosure-{}", document.disclosure_id),
    )
}

/// Renders a destruction certificate, laid out as a package is (a summary, then sections of
/// rows), as an accessible, tagged A4 PDF; `document.disclosure_id` holds the certificate's id.
pub fn certificate_pdf(document: &PackageDocument) -> Result<Vec<u8>, PdfError> {
    rows_pdf(
        document,
        format!("confidant-certificate-{}", document.disclosure_id),
    )
}

fn rows_pdf(document: &PackageDocument, ident: String) -> Result<Vec<u8>, PdfError> {
    let sections: Array = document
        .sections
        .iter()
        .map(|s| {
            Value::Dict(dict([
                ("heading", string(&s.heading)),
                ("rows", rows(&s.rows)),
            ]))
        })
        .collect();
    let data = dict([
        ("title", string(&document.title)),
        ("sender", string(&document.sender)),
        ("summary", rows(&document.summary)),
        ("sections", Value::Array(sections)),
    ]);
    let inputs = dict([("package", Value::Dict(data))]);
    render(PACKAGE_TEMPLATE, inputs, ident)
}

fn render(template: &'static str, inputs: Dict, ident: String) -> Result<Vec<u8>, PdfError> {
    let world = DocumentWorld::new(template, inputs)?;
    let document: PagedDocument = typst::compile(&world)
        .output
        .map_err(|e| PdfError::Typeset(messages(&e)))?;
    let options = PdfOptions {
        ident: Smart::Custom(ident),
        standards: PdfStandards::new(&[PdfStandard::Ua_1])
            .map_err(|e| PdfError::Export(vec![e.message().to_string()]))?,
        ..PdfOptions::default()
    };
    typst_pdf::pdf(&document, &options).map_err(|e| PdfError::Export(messages(&e)))
}

/// Renders a letter to the person about their request as an accessible, tagged A4 PDF, signed
/// for the organisation.
pub fn letter_pdf(letter: &confidant_core::rights::Letter) -> Result<Vec<u8>, PdfError> {
    let data = dict([
        ("title", string(&letter.title)),
        ("sender", string(&letter.sender)),
        ("dated", string(&letter.dated)),
        ("reference", string(&letter.reference)),
        ("paragraphs", strings(&letter.paragraphs)),
        ("signed", string(&format!("For {}", letter.sender))),
    ]);
    let inputs = dict([("letter", Value::Dict(data))]);
    render(
        LETTER_TEMPLATE,
        inputs,
        format!("confidant-letter-{}", letter.reference),
    )
}

/// Renders a privacy notice as an accessible, tagged A4 PDF.
pub fn notice_pdf(notice: &Notice) -> Result<Vec<u8>, PdfError> {
    let sections: Array = notice
        .sections
        .iter()
        .map(|s| {
            Value::Dict(dict([
                ("heading", string(&s.heading)),
                ("paragraphs", strings(&s.paragraphs)),
                ("items", strings(&s.items)),
            ]))
        })
        .collect();
    let data = dict([
        ("title", string(&notice.title)),
        ("controller", string(&notice.controller)),
        (
            "version",
            string(&format!(
                "Version {}, made from the register reviewed on {}.",
                notice.digest(),
                notice.reviewed_on
            )),
        ),
        ("sections", Value::Array(sections)),
    ]);
    let inputs = dict([("notice", Value::Dict(data))]);
    render(
        NOTICE_TEMPLATE,
        inputs,
        format!("confidant-notice-{}", notice.service_id),
    )
}

fn dict<const N: usize>(entries: [(&str, Value); N]) -> Dict {
    entries
        .into_iter()
        .map(|(k, v)| (Str::from(k), v))
        .collect()
}

fn string(text: &str) -> Value {
    Value::Str(Str::from(text))
}

fn strings(texts: &[String]) -> Value {
    Value::Array(texts.iter().map(|t| string(t)).collect())
}

fn messages(diagnostics: &[SourceDiagnostic]) -> Vec<String> {
    diagnostics.iter().map(|d| d.message.to_string()).collect()
}
