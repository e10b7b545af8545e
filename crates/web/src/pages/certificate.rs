//! Destruction certificates (issue 17): the list, one certificate as a page and as a PDF. Only the
//! Data Protection Officer and the Caldicott Guardian see them (`oversight.read`); they name no one.

use askama::Template;
use axum::response::Response;
use confidant_core::Clock;
use confidant_core::keeping::{Certificate, DestructionBasis, ItemOutcome};
use confidant_core::store::{CertificateRecord, Store};
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::page::Path;
use crate::http::routing::Routes;
use crate::pages::record::person::who;
use crate::pages::sharing::consent::at as from_micros;
use crate::pages::{Chrome, PageError, Signed, St, TrainedStaff, date_time, render};

#[derive(Template)]
#[template(path = "certificates.html")]
struct CertificatesPage {
    chrome: Chrome,
    /// (id, when, basis)
    certificates: Vec<(String, String, String)>,
    /// (person id, kind, placed)
    holds: Vec<(String, &'static str, String)>,
}

fn basis_label(code: &str) -> String {
    DestructionBasis::from_code(code).map_or_else(|| code.to_owned(), |b| b.label().to_owned())
}

fn organisation(signed: &Signed) -> Uuid {
    signed.staff().organisation_id
}

/// Certificates and the holds in force are oversight: the Data Protection Officer and the
/// Caldicott Guardian (others 403, audited by core).
async fn require_oversight<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<(), PageError> {
    signed
        .require(
            state,
            confidant_core::Action::OversightRead,
            signed.organisation(),
            "Only the Data Protection Officer and the Caldicott Guardian see destruction certificates.",
        )
        .await
}

pub async fn certificates_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
) -> Result<Response, PageError> {
    require_oversight(&state, &signed).await?;
    let c = &state.confidant;
    let list = c
        .destruction_certificates(signed.actor(), organisation(&signed))
        .await?;
    let holds = c.live_holds(signed.actor(), organisation(&signed)).await?;
    render(&CertificatesPage {
        chrome: signed.chrome("/admin/destruction-certificates"),
        certificates: list
            .into_iter()
            .map(|r| {
                let basis = serde_json::from_str::<Certificate>(&r.body)
                    .map(|c| basis_label(&c.basis))
                    .unwrap_or_default();
                (
                    r.id.to_string(),
                    date_time(from_micros(r.issued_at_micros)),
                    basis,
                )
            })
            .collect(),
        holds: holds
            .into_iter()
            .map(|h| {
                (
                    h.person_id.to_string(),
                    h.kind.label(),
                    date_time(from_micros(h.placed_at_micros)),
                )
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct CertificatePage {
    chrome: Chrome,
    just_destroyed: bool,
    id: String,
    record: String,
    when: String,
    by: String,
    basis: String,
    reason: String,
    copies: String,
    sha256: String,
    approved_by: String,
    rules: Vec<String>,
    /// (kind, count, outcome, note)
    items: Vec<(String, i64, &'static str, String)>,
    /// (day, who destroyed it, their reference)
    paper: Vec<(String, String, String)>,
    /// The request for erasure it answers, in words.
    erasure: Vec<(&'static str, String)>,
    /// The PDF is offered (typst is built in).
    pdf: bool,
}

/// The PDF of a certificate, only where typst is built in (the binary): see `confidant-pdf`.
pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    let routes = Routes::new();
    #[cfg(feature = "pdf")]
    let routes = routes.route(
        "/admin/destruction-certificates/{certificate_id}/certificate.pdf",
        crate::http::routing::get(certificate_pdf::<S, C>),
    );
    routes
}

/// What a certificate says, in words, for the page and the PDF alike.
struct Said {
    when: String,
    by: String,
    approved_by: String,
    items: Vec<(String, i64, &'static str, String)>,
    paper: Vec<(String, String, String)>,
}

fn said(
    names: &std::collections::HashMap<Uuid, String>,
    record: &CertificateRecord,
    certificate: &Certificate,
) -> Said {
    let approved: Vec<String> = certificate
        .approved_by
        .iter()
        .map(|a| who(names, a))
        .collect();
    Said {
        when: date_time(from_micros(record.issued_at_micros)),
        by: who(names, &certificate.decided_by),
        approved_by: if approved.is_empty() {
            "No one: not from a retention review".to_owned()
        } else {
            approved.join(", ")
        },
        items: certificate
            .items
            .iter()
            .map(|i| {
                (
                    i.kind.replace('_', " "),
                    i.count,
                    match i.outcome {
                        ItemOutcome::Destroyed => "Destroyed",
                        ItemOutcome::Kept => "Kept",
                        ItemOutcome::Outstanding => "Still to do",
                    },
                    i.note.clone().unwrap_or_default(),
                )
            })
            .collect(),
        paper: certificate
            .paper
            .iter()
            .map(|p| {
                (
                    p.destroyed_on.clone(),
                    p.destroyed_by.clone(),
                    p.reference.clone(),
                )
            })
            .collect(),
    }
}

pub(crate) async fn certificate_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    record: &CertificateRecord,
    certificate: &Certificate,
    just_destroyed: bool,
) -> Result<Response, PageError> {
    let names = state.confidant.colleague_names(signed.actor()).await?;
    let said = said(&names, record, certificate);
    render(&CertificatePage {
        chrome: signed.chrome("/admin/destruction-certificates"),
        just_destroyed,
        id: record.id.to_string(),
        record: certificate.record.to_string(),
        when: said.when,
        by: said.by,
        basis: basis_label(&certificate.basis),
        reason: certificate.reason.clone(),
        copies: certificate.copies.clone(),
        sha256: record.body_sha256.clone(),
        approved_by: said.approved_by,
        rules: certificate.rules.clone(),
        items: said.items,
        paper: said.paper,
        erasure: certificate
            .erasure
            .as_ref()
            .map(confidant_core::rights::erasure_rows)
            .unwrap_or_default(),
        pdf: cfg!(feature = "pdf"),
    })
}

/// A certificate of the signed-in organisation, as kept and as read (oversight only).
async fn opened<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    certificate_id: Uuid,
) -> Result<(CertificateRecord, Certificate), PageError> {
    require_oversight(state, signed).await?;
    state
        .confidant
        .destruction_certificate(signed.actor(), organisation(signed), certificate_id)
        .await?
        .ok_or(PageError::NotFound)
}

pub async fn certificate_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(certificate_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let (record, certificate) = opened(&state, &signed, certificate_id).await?;
    certificate_view(&state, &signed, &record, &certificate, false).await
}

/// The certificate as a PDF, from the organisation, laid out as the page is (read as the page
/// is: the Data Protection Officer and the Caldicott Guardian).
#[cfg(feature = "pdf")]
pub async fn certificate_pdf<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(certificate_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let (record, certificate) = opened(&state, &signed, certificate_id).await?;
    let names = state.confidant.colleague_names(signed.actor()).await?;
    let said = said(&names, &record, &certificate);
    let rows = |pairs: Vec<(&str, String)>| -> Vec<(String, String)> {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    };
    let mut summary = rows(vec![
        ("Certificate", record.id.to_string()),
        ("Record (its id)", certificate.record.to_string()),
        ("Destroyed", said.when),
        ("Decided by", said.by),
        ("Approved by", said.approved_by),
        ("Basis", basis_label(&certificate.basis)),
        ("Reason", certificate.reason.clone()),
    ]);
    if !certificate.rules.is_empty() {
        summary.push(("Retention rules".to_owned(), certificate.rules.join("; ")));
    }
    summary.push(("SHA-256".to_owned(), record.body_sha256.clone()));
    // The signature covers the certificate's JSON body (the API's `body`), not this PDF.
    if let Some(signed) = record.signed() {
        summary.push((
            "Signature of the JSON body (Ed25519)".to_owned(),
            signed.signature,
        ));
        summary.push(("Signed with public key".to_owned(), signed.public_key));
    }
    let mut sections = vec![confidant_pdf::PackageSection {
        heading: "What was destroyed, and what was kept".to_owned(),
        rows: said
            .items
            .into_iter()
            .map(|(kind, count, outcome, note)| {
                let note = if note.is_empty() {
                    String::new()
                } else {
                    format!(": {note}")
                };
                (kind, format!("{count}, {}{note}", outcome.to_lowercase()))
            })
            .collect(),
    }];
    if !said.paper.is_empty() {
        sections.push(confidant_pdf::PackageSection {
            heading: "Paper destroyed outside Confidant".to_owned(),
            rows: said
                .paper
                .into_iter()
                .map(|(on, by, reference)| (on, format!("by {by}, reference {reference}")))
                .collect(),
        });
    }
    if let Some(line) = &certificate.erasure {
        sections.push(confidant_pdf::PackageSection {
            heading: "The request for erasure it answers".to_owned(),
            rows: confidant_core::rights::erasure_rows(line)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        });
    }
    sections.push(confidant_pdf::PackageSection {
        heading: "Copies made before".to_owned(),
        rows: vec![("Copies".to_owned(), certificate.copies.clone())],
    });
    let document = confidant_pdf::PackageDocument {
        disclosure_id: record.id.to_string(),
        title: "Destruction certificate".to_owned(),
        sender: signed.chrome_base.org_name.clone(),
        summary,
        sections,
    };
    let filename = format!("destruction-certificate-{certificate_id}.pdf");
    let make = move || confidant_pdf::certificate_pdf(&document);
    crate::pages::sharing::disclosure::pdf_download(make, &filename).await
}
