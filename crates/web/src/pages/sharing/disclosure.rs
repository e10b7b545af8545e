//! One disclosure of a person's record: the log entry, the package as it left (fields by their
//! catalogue labels, entries by kind and date), the package's JSON and PDF as downloads, and ending a
//! processor's referral.
//!
//! Guarantees:
//! - A disclosure is found only under its own person, through core's permit on that person: any
//!   other pairing answers 404, like a record the actor may not see.
//! - The JSON download, and the PDF to read (builds with the `pdf` feature), are attachments under
//!   a server-made name, `no-store` and `nosniff`, opened through the same permit and audit.

use askama::Template;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::field::{PersonField, RecordKind, record_field};
use confidant_core::message::{MessageState, MessageStatus};
use confidant_core::record::Need;
use confidant_core::sharing::Disclosure;
use confidant_core::store::{DisclosedItem, EntryStatus, Store};
use confidant_core::{Clock, Purpose};
use uuid::Uuid;

use crate::pages::sharing::consent::{at, category_labels, review_label};

use crate::http::extract::page::Path;
use crate::pages::form::FormData;
use crate::pages::record::person::{kind_label, read_name, shown, who};
use crate::pages::{Chrome, PageError, Signed, St, date_time, render};
use crate::pages::{TrainedForm, TrainedStaff};

pub struct EntryView {
    pub kind: String,
    pub when: String,
    pub status: String,
    pub values: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "disclosure.html")]
struct DisclosurePage {
    chrome: Chrome,
    csrf: String,
    id: String,
    section: &'static str,
    name: String,
    disclosure_id: String,
    recipient: String,
    rows: Vec<(&'static str, String)>,
    can_end: bool,
    fields: Vec<(String, String)>,
    entries: Vec<EntryView>,
    held: bool,
    /// The package as a PDF is offered (builds with the `pdf` feature).
    pdf: bool,
}

async fn open<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    disclosure_id: Uuid,
) -> Result<Disclosure, PageError> {
    Ok(state
        .confidant
        .disclosure(signed.actor(), Purpose::Support, person_id, disclosure_id)
        .await?)
}

pub fn package_view(package: &serde_json::Value) -> (Vec<(String, String)>, Vec<EntryView>) {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let fields = package["fields"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(code, value)| match PersonField::from_code(code) {
                    Some(f) => (f.spec().label.to_owned(), shown(&f.spec(), &text(value))),
                    None => (code.clone(), text(value)),
                })
                .collect()
        })
        .unwrap_or_default();
    let entries = package["entries"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|e| {
                    let kind = RecordKind::from_code(e["kind"].as_str().unwrap_or_default());
                    let values = e["values"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(code, value)| {
                                    let label = kind
                                        .and_then(|k| record_field(k, code))
                                        .map_or_else(|| code.clone(), |s| s.label.to_owned());
                                    (label, text(value))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    EntryView {
                        kind: kind.map_or_else(|| text(&e["kind"]), |k| kind_label(k).to_owned()),
                        when: time::OffsetDateTime::parse(
                            e["occurs_at"].as_str().unwrap_or_default(),
                            &time::format_description::well_known::Rfc3339,
                        )
                        .map(date_time)
                        .unwrap_or_default(),
                        status: e["status"]
                            .as_str()
                            .and_then(EntryStatus::from_code)
                            .map(|s| s.label().to_owned())
                            .unwrap_or_default(),
                        values,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    (fields, entries)
}

pub async fn show<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, disclosure_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let person = read_name(&state, &signed, person_id, Need::Read).await?;
    let d = open(&state, &signed, person_id, disclosure_id).await?;
    let handles = state.confidant.colleague_names(signed.actor()).await?;
    let r = &d.record;
    let none = || "None".to_owned();
    let mut rows: Vec<(&'static str, String)> = vec![
        ("Shared", date_time(at(r.shared_at_micros))),
        ("Lawful basis", r.basis.label().to_owned()),
        (
            "Article 9 condition",
            r.article9.map_or_else(none, |a| a.label().to_owned()),
        ),
        (
            "Schedule 1 condition",
            r.schedule1.map_or_else(none, |a| a.label().to_owned()),
        ),
        ("Data categories", category_labels(&r.categories)),
        (
            "Items",
            format!(
                "{} fields, {} entries",
                d.items
                    .iter()
                    .filter(|i| matches!(i, DisclosedItem::Field(_)))
                    .count(),
                d.items
                    .iter()
                    .filter(|i| matches!(i, DisclosedItem::Entry(_)))
                    .count()
            ),
        ),
        ("Reason", d.reason.clone().unwrap_or_else(none)),
    ];
    if let Some(c) = &d.court_order_ref {
        rows.push(("Court order reference", c.clone()));
    }
    rows.push(("Asked by", who(&handles, &r.requested_by)));
    if let Some(a) = &r.approved_by {
        rows.push(("Approved by", who(&handles, a)));
    }
    rows.push((
        "Person told",
        if r.person_told {
            "Yes".to_owned()
        } else {
            format!("No: {}", d.not_told_reason.clone().unwrap_or_default())
        },
    ));
    if let Some(w) = &d.without_consent_reason {
        rows.push(("Shared without consent because", w.clone()));
    }
    if let Some(g) = d
        .ground
        .as_deref()
        .and_then(confidant_core::store::OverrideGround::from_code)
    {
        rows.push(("Ground", g.label().to_owned()));
    }
    if let Some(why) = &d.ground_reason {
        rows.push(("Why the ground applies", why.clone()));
    }
    if r.emergency {
        rows.push((
            "Emergency",
            format!("Yes: {}", review_label(r.review_state)),
        ));
    }
    if let Some(staff) = r.processor_staff_id {
        rows.push(("Referred to", who(&handles, &staff.to_string())));
        rows.push((
            "Referral",
            match (r.ended_at_micros, r.ends_at_micros) {
                (Some(e), _) => format!("Ended {}", date_time(at(e))),
                (None, Some(e)) => format!("Until {}", date_time(at(e))),
                _ => String::new(),
            },
        ));
    }
    rows.push(("Sent by secure email", sending_label(d.sending.as_ref())));
    rows.push(("Package SHA-256", hex(&r.package_hash)));
    let (fields, entries) = d.package.as_ref().map(package_view).unwrap_or_default();
    render(&DisclosurePage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        section: "sharing",
        name: person.full(),
        disclosure_id: disclosure_id.to_string(),
        recipient: d.recipient_name.clone(),
        can_end: r.grant_id.is_some() && r.ended_at_micros.is_none(),
        held: d.package.is_some(),
        pdf: cfg!(feature = "pdf"),
        rows,
        fields,
        entries,
    })
}

/// Where the package's sending by secure email stands, in words (UK time).
pub fn sending_label(sending: Option<&MessageStatus>) -> String {
    let Some(m) = sending else {
        return "Not sent: the package is downloaded only".to_owned();
    };
    let r = &m.record;
    let tries = |n: i64| {
        if n == 1 {
            "1 attempt".to_owned()
        } else {
            format!("{n} attempts")
        }
    };
    match r.state {
        MessageState::Sent => match r.finished_at() {
            Some(t) => format!("Sent {}", date_time(t)),
            None => "Sent".to_owned(),
        },
        MessageState::Failed => format!("Failed after {}: not sent", tries(r.attempts)),
        MessageState::Queued if r.attempts > 0 => {
            format!("Queued: {} so far, to be tried again", tries(r.attempts))
        }
        MessageState::Queued | MessageState::NoTransport => "Queued".to_owned(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The package as it left, to download.
pub async fn package<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, disclosure_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let d = open(&state, &signed, person_id, disclosure_id).await?;
    let package = d.package.ok_or(PageError::NotFound)?;
    let body = serde_json::to_vec_pretty(&package)
        .map_err(|e| PageError::Internal(format!("package: {e}")))?;
    Ok(download(
        body,
        "application/json",
        &format!("disclosure-{disclosure_id}.json"),
    ))
}

/// A download of the package: an attachment under a server-made name, `no-store`, `nosniff`.
pub(crate) fn download(body: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A PDF made off the async threads (typesetting takes a while) and given as a download named
/// `filename`; a failure to make it is an internal error.
#[cfg(feature = "pdf")]
pub(crate) async fn pdf_download(
    make: impl FnOnce() -> Result<Vec<u8>, confidant_pdf::PdfError> + Send + 'static,
    filename: &str,
) -> Result<Response, PageError> {
    let bytes = tokio::task::spawn_blocking(make)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(download(bytes, "application/pdf", filename))
}

/// The package as a PDF to read: who sent it, to whom, when (UK time), on what basis and why, and
/// exactly the data sent, grouped by field group and entry with the catalogue's labels. Opened as
/// the JSON download is (the same permission, audited as the same read of the disclosure).
#[cfg(feature = "pdf")]
pub async fn package_pdf<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, disclosure_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let d = open(&state, &signed, person_id, disclosure_id).await?;
    // From the organisation (the controller), as the package is: no member of staff is named.
    let document = package_document(&d, &signed.chrome_base.org_name).ok_or(PageError::NotFound)?;
    let filename = format!("disclosure-{disclosure_id}.pdf");
    pdf_download(move || confidant_pdf::package_pdf(&document), &filename).await
}

/// The outbox's renderer of a package sent by secure email: the same document as the page's PDF,
/// from the sending organisation.
#[cfg(feature = "pdf")]
#[derive(Debug, Clone, Copy, Default)]
pub struct PackagePdfs;

#[cfg(feature = "pdf")]
impl confidant_core::message::PackagePdf for PackagePdfs {
    fn package_pdf(&self, d: &Disclosure, sender: &str) -> Option<Vec<u8>> {
        let document = package_document(d, sender)?;
        match confidant_pdf::package_pdf(&document) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                tracing::warn!(disclosure.id = %d.record.id, error = %e, "package PDF could not be made: sent as JSON");
                None
            }
        }
    }
}

/// The package of a disclosure as a document to read (none once the record is erased): what the
/// sealed package holds and nothing else (not the reasons kept beside it in the log), with the
/// sending organisation's name.
#[cfg(feature = "pdf")]
pub fn package_document(d: &Disclosure, sender: &str) -> Option<confidant_pdf::PackageDocument> {
    use confidant_pdf::{PackageDocument, PackageSection};
    let package = d.package.as_ref()?;
    let r = &d.record;
    let mut summary = vec![
        ("From".to_owned(), sender.to_owned()),
        ("To".to_owned(), d.recipient_name.clone()),
        ("Sent".to_owned(), date_time(at(r.shared_at_micros))),
        ("Lawful basis".to_owned(), r.basis.label().to_owned()),
    ];
    if let Some(a) = r.article9 {
        summary.push(("Article 9 condition".to_owned(), a.label().to_owned()));
    }
    if let Some(s) = r.schedule1 {
        summary.push(("Schedule 1 condition".to_owned(), s.label().to_owned()));
    }
    if let Some(c) = &d.court_order_ref {
        summary.push(("Court order reference".to_owned(), c.clone()));
    }
    summary.push(("Disclosure reference".to_owned(), r.id.to_string()));
    // The fields, grouped by their field group in the catalogue's order.
    let mut sections: Vec<PackageSection> = Vec::new();
    if let Some(fields) = package["fields"].as_object() {
        for group in confidant_core::field::FieldGroup::ALL {
            let rows: Vec<(String, String)> = PersonField::of_group(group)
                .filter_map(|f| {
                    let value = fields.get(f.code())?;
                    let text = match value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    Some((f.spec().label.to_owned(), shown(&f.spec(), &text)))
                })
                .collect();
            if !rows.is_empty() {
                sections.push(PackageSection {
                    heading: group.label().to_owned(),
                    rows,
                });
            }
        }
        // A field the catalogue no longer knows was still sent: kept under its code.
        let unknown: Vec<(String, String)> = fields
            .iter()
            .filter(|(code, _)| PersonField::from_code(code).is_none())
            .map(|(code, value)| {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (code.clone(), text)
            })
            .collect();
        if !unknown.is_empty() {
            sections.push(PackageSection {
                heading: "Other details".to_owned(),
                rows: unknown,
            });
        }
    }
    let (_, entries) = package_view(package);
    for e in entries {
        let mut heading = format!("{}, {}", e.kind, e.when);
        if !e.status.is_empty() {
            heading.push_str(&format!(" ({})", e.status));
        }
        sections.push(PackageSection {
            heading,
            rows: e.values,
        });
    }
    Some(PackageDocument {
        disclosure_id: r.id.to_string(),
        title: format!("Information shared with {}", d.recipient_name),
        sender: sender.to_owned(),
        summary,
        sections,
    })
}

/// Ends a processor's referral: its worker loses the person at once.
pub async fn end_referral<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, disclosure_id)): Path<(Uuid, Uuid)>,
    TrainedForm(_): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    state
        .confidant
        .end_referral(signed.actor(), Purpose::Support, person_id, disclosure_id)
        .await?;
    Ok(Redirect::to(&format!("/people/{person_id}/disclosures/{disclosure_id}")).into_response())
}
