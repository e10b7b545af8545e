//! An access request's bundle on pages: the search and its manifest, every item as it would be
//! released with its flags, proposal and decision, one item's decision form, the second check, the
//! release, and the released copy as JSON and (where typst is built in) an accessible PDF.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::person::PersonError;
use confidant_core::rights::{BundleItem, BundleView, DecisionInput};
use confidant_core::store::{BundleSource, Decision, DecisionReason, Professional, Store};
use confidant_core::uk_time::{day_text, iso_day};
use confidant_core::{Action, Clock, Resource};
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::page::Path;
use crate::http::routing::{Routes, get, post};
use crate::pages::form::{FormData, FormField, attach_errors, control_id, refill};
use crate::pages::record::person::who;
use crate::pages::sharing::consent::at as from_micros;
use crate::pages::{Chrome, PageError, Signed, St, TrainedForm, TrainedStaff, date_time, render};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    let routes = Routes::new()
        .route(
            "/rights/{request_id}/bundle",
            get(bundle_page::<S, C>).post(compile::<S, C>),
        )
        .route(
            "/rights/{request_id}/bundle/items/{position}",
            get(item_page::<S, C>).post(decide::<S, C>),
        )
        .route("/rights/{request_id}/bundle/check", post(check::<S, C>))
        .route("/rights/{request_id}/bundle/release", post(release::<S, C>))
        .route(
            "/rights/{request_id}/bundle/copy.json",
            get(copy_json::<S, C>),
        );
    #[cfg(feature = "pdf")]
    let routes = routes.route(
        "/rights/{request_id}/bundle/copy.pdf",
        get(copy_pdf::<S, C>),
    );
    routes
}

/// One item in the bundle's table.
struct Line {
    position: i64,
    number: i64,
    heading: String,
    rows: Vec<(String, String)>,
    flags: Vec<&'static str>,
    proposal: String,
    decision: String,
    waiting: bool,
}

fn proposal_text(item: &BundleItem) -> String {
    let r = &item.record;
    match (r.locked, r.proposed_withhold, r.exemption) {
        (true, _, _) => "Withheld, whatever is decided: it names or locates someone who named this person as an alleged perpetrator".to_owned(),
        (false, true, Some(e)) => format!("Withhold: {}", e.label()),
        (false, true, None) => "Withhold".to_owned(),
        (false, false, _) if r.flags.is_empty() => "Release".to_owned(),
        (false, false, _) => "Release, once decided".to_owned(),
    }
}

fn decision_text(item: &BundleItem, names: &std::collections::HashMap<Uuid, String>) -> String {
    let r = &item.record;
    match (r.decision, r.reason) {
        (Some(d), Some(reason)) => {
            let mut text = format!("{}: {}", d.label(), reason.label());
            if let (Some(on), Some(by)) = (r.opinion_on.as_deref(), r.opinion_by) {
                text.push_str(&format!(
                    ". Opinion of {} on {}",
                    by.label().to_lowercase(),
                    iso_day(on).map(day_text).unwrap_or_default()
                ));
            }
            if let Some(by) = &r.decided_by {
                text.push_str(&format!(". Decided by {}", who(names, by)));
            }
            text
        }
        _ if r.locked => "Withheld".to_owned(),
        _ => String::new(),
    }
}

#[derive(Template)]
#[template(path = "rights_bundle.html")]
struct BundlePage {
    chrome: Chrome,
    csrf: String,
    id: String,
    person: String,
    safety: bool,
    compiled: bool,
    released: bool,
    /// (what, value)
    facts: Vec<(&'static str, String)>,
    problems: Vec<String>,
    /// (source, found, left out, why)
    searched: Vec<(&'static str, usize, usize, String)>,
    lines: Vec<Line>,
    /// (article, heading)
    supplementary: Vec<(&'static str, String)>,
    manages: bool,
    may_compile: bool,
    may_check: bool,
    may_release: bool,
    pdf: bool,
    errors: Vec<(String, String)>,
}

async fn bundle_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    request_id: Uuid,
) -> Result<BundlePage, PageError> {
    let c = &state.confidant;
    let actor = signed.actor();
    let view: BundleView = c
        .bundle_view(actor, signed.staff().organisation_id, request_id)
        .await?;
    let names = c.colleague_names(actor).await?;
    let r = &view.request;
    let manages = c.allows(
        actor,
        Action::RightsManage,
        Resource::Service {
            id: r.service_id,
            organisation_id: r.organisation_id,
        },
    );
    let b = view.bundle.as_ref();
    let released = b.is_some_and(|b| b.released_at_micros.is_some());
    let mut facts = Vec::new();
    if let Some(b) = b {
        facts.push((
            "Searched",
            format!(
                "{} by {}",
                date_time(from_micros(b.compiled_at_micros)),
                who(&names, &b.compiled_by)
            ),
        ));
        facts.push((
            "Second check",
            match (&b.checked_by, b.checked_at_micros) {
                (Some(by), Some(at)) => {
                    format!("{} by {}", date_time(from_micros(at)), who(&names, by))
                }
                _ => "Not yet".to_owned(),
            },
        ));
        if let (Some(by), Some(at)) = (&b.released_by, b.released_at_micros) {
            facts.push((
                "Released",
                format!("{} by {}", date_time(from_micros(at)), who(&names, by)),
            ));
        }
        let withheld = view
            .items
            .iter()
            .filter(|i| !confidant_core::rights::redaction::released(&i.record))
            .count();
        facts.push((
            "Items",
            format!(
                "{} found; {} to release, {} withheld or waiting",
                view.items.len(),
                view.items.len() - withheld,
                withheld
            ),
        ));
    }
    let searched = view
        .manifest
        .iter()
        .map(|m| {
            (
                BundleSource::from_code(&m.source).map_or("", |s| s.label()),
                m.found,
                m.left_out,
                m.why_left_out.clone().unwrap_or_default(),
            )
        })
        .collect();
    let lines = view
        .items
        .iter()
        .map(|i| Line {
            position: i.record.position,
            number: i.record.position + 1,
            heading: i.heading.clone(),
            rows: i.rows.clone(),
            flags: i.record.flags.iter().map(|f| f.label()).collect(),
            proposal: proposal_text(i),
            decision: decision_text(i, &names),
            waiting: confidant_core::rights::redaction::needs_decision(&i.record),
        })
        .collect();
    let supplementary = match &view.supplementary {
        Ok(parts) => parts
            .iter()
            .map(|p| (p.article, p.heading.clone()))
            .collect(),
        Err(_) => Vec::new(),
    };
    let open = r.state.is_open() && r.kind == confidant_core::store::RightKind::Access;
    let checked = b.is_some_and(|b| b.checked_by.is_some());
    Ok(BundlePage {
        chrome: signed.chrome("/rights"),
        csrf: signed.csrf().to_owned(),
        id: r.id.to_string(),
        person: r.person_id.to_string(),
        safety: r.safety_review,
        compiled: b.is_some(),
        released,
        facts,
        problems: view.problems.clone(),
        searched,
        lines,
        supplementary,
        manages,
        may_compile: manages && open && !released,
        may_check: manages && b.is_some() && !released && !checked && view.problems.is_empty(),
        may_release: manages && checked && !released && view.problems.is_empty(),
        pdf: cfg!(feature = "pdf"),
        errors: Vec::new(),
    })
}

pub async fn bundle_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(request_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&bundle_view(&state, &signed, request_id).await?)
}

/// A refusal the page explains: what stops it, shown on the bundle's page.
async fn explained<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    request_id: Uuid,
    result: Result<(), PersonError>,
) -> Result<Response, PageError> {
    let errors: Vec<(String, String)> = match result {
        Ok(()) => return Ok(Redirect::to(&format!("/rights/{request_id}/bundle")).into_response()),
        Err(PersonError::Invalid(v)) => {
            v.0.into_iter()
                .map(|e| ("bundle-actions".to_owned(), e.message))
                .collect()
        }
        Err(PersonError::Conflict(what)) => vec![("bundle-actions".to_owned(), what.to_owned())],
        Err(e) => return Err(e.into()),
    };
    let mut page = bundle_view(state, signed, request_id).await?;
    page.errors = errors;
    crate::pages::render_status(StatusCode::BAD_REQUEST, &page)
}

pub async fn compile<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(request_id): Path<Uuid>,
    TrainedForm(_): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let done = state
        .confidant
        .compile_bundle(signed.actor(), signed.staff().organisation_id, request_id)
        .await
        .map(|_| ());
    explained(&state, &signed, request_id, done).await
}

pub async fn check<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(request_id): Path<Uuid>,
    TrainedForm(_): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let done = state
        .confidant
        .check_bundle(signed.actor(), signed.staff().organisation_id, request_id)
        .await
        .map(|_| ());
    explained(&state, &signed, request_id, done).await
}

pub async fn release<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(request_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    if !form.ticked("confirm") {
        let mut page = bundle_view(&state, &signed, request_id).await?;
        page.errors = vec![(
            "confirm".to_owned(),
            "Confirm that the copy is ready to go to the person".to_owned(),
        )];
        return crate::pages::render_status(StatusCode::BAD_REQUEST, &page);
    }
    let done = state
        .confidant
        .release_bundle(signed.actor(), signed.staff().organisation_id, request_id)
        .await
        .map(|_| ());
    explained(&state, &signed, request_id, done).await
}

#[derive(Template)]
#[template(path = "rights_bundle_item.html")]
struct ItemPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    position: i64,
    /// The item's reference, sent back with the decision.
    reference: String,
    number: i64,
    heading: String,
    rows: Vec<(String, String)>,
    flags: Vec<&'static str>,
    proposal: String,
    decision: String,
    fields: Vec<FormField>,
    errors: Vec<(String, String)>,
}

fn reasons() -> Vec<(String, String)> {
    DecisionReason::ALL
        .iter()
        .map(|r| {
            let verb = match r.decision() {
                Decision::Release => "Release",
                Decision::Withhold => "Withhold",
            };
            (r.code().to_owned(), format!("{verb}: {}", r.label()))
        })
        .collect()
}

async fn item_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    request_id: Uuid,
    position: i64,
) -> Result<ItemPage, PageError> {
    let c = &state.confidant;
    let view = c
        .bundle_view(signed.actor(), signed.staff().organisation_id, request_id)
        .await?;
    if view.bundle.is_none() {
        return Err(PageError::Conflict(
            "the record has not been searched for this request yet",
        ));
    }
    let names = c.colleague_names(signed.actor()).await?;
    let item = view
        .items
        .iter()
        .find(|i| i.record.position == position)
        .ok_or(PageError::NotFound)?;
    let r = &view.request;
    let manages = c.allows(
        signed.actor(),
        Action::RightsManage,
        Resource::Service {
            id: r.service_id,
            organisation_id: r.organisation_id,
        },
    );
    let open = view
        .bundle
        .as_ref()
        .is_some_and(|b| b.released_at_micros.is_none());
    let fields = if manages && open && !item.record.locked {
        vec![
            FormField::radios("reason", "Decision and its reason", reasons()).hint(
                "Health data is released only on a health professional's opinion (within the last six months) that it would not cause serious harm, or when the person already knows it.",
            ),
            FormField::date("opinion_on", "Day of the health professional's opinion", "")
                .hint("Only for a decision resting on their opinion. For example, 27 11 2026."),
            FormField::radios(
                "opinion_by",
                "Whose opinion",
                Professional::ALL
                    .iter()
                    .map(|p| (p.code().to_owned(), p.label().to_owned()))
                    .collect(),
            ),
        ]
    } else {
        Vec::new()
    };
    Ok(ItemPage {
        chrome: signed.chrome("/rights"),
        csrf: signed.csrf().to_owned(),
        id: r.id.to_string(),
        position,
        reference: item.record.reference.clone(),
        number: position + 1,
        heading: item.heading.clone(),
        rows: item.rows.clone(),
        flags: item.record.flags.iter().map(|f| f.label()).collect(),
        proposal: proposal_text(item),
        decision: decision_text(item, &names),
        fields,
        errors: Vec::new(),
    })
}

pub async fn item_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((request_id, position)): Path<(Uuid, i64)>,
) -> Result<Response, PageError> {
    render(&item_view(&state, &signed, request_id, position).await?)
}

pub async fn decide<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((request_id, position)): Path<(Uuid, i64)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let reason = form.get("reason").trim();
    let decision = DecisionReason::from_code(reason).map_or("", |r| r.decision().code());
    // The opinion's day says there is one: whose it was counts only then (a choice of whose
    // opinion cannot be undone on the page).
    let opinion_on = form.date("opinion_on");
    let input = DecisionInput {
        decision,
        reason,
        opinion_on: Some(opinion_on.as_str()),
        opinion_by: Some(form.get("opinion_by")).filter(|_| !opinion_on.is_empty()),
        reference: Some(form.get("reference")).filter(|r| !r.is_empty()),
    };
    match state
        .confidant
        .decide_bundle_item(
            signed.actor(),
            signed.staff().organisation_id,
            request_id,
            position,
            input,
        )
        .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/rights/{request_id}/bundle#item-{position}")).into_response(),
        ),
        Err(PersonError::Invalid(v)) => {
            let mut page = item_view(&state, &signed, request_id, position).await?;
            let mut errors: Vec<(String, String)> = Vec::new();
            for e in v.0 {
                let field = if e.field == "decision" {
                    "reason"
                } else {
                    e.field
                };
                let message = match e.field {
                    "reason" | "decision" if e.message.starts_with("is not") => {
                        "Choose the decision and its reason".to_owned()
                    }
                    "reason" | "decision" => format!("The decision {}", e.message),
                    "opinion_on" => format!("The day of the opinion {}", e.message),
                    "opinion_by" => format!("Whose opinion {}", e.message),
                    _ => e.message,
                };
                let id = control_id(field);
                if !errors.iter().any(|(f, _)| f == &id) {
                    errors.push((id, message));
                }
            }
            refill(&mut page.fields, &form);
            attach_errors(&mut page.fields, &errors);
            page.errors = errors;
            crate::pages::render_status(StatusCode::BAD_REQUEST, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// The released copy as the JSON the person was given.
pub async fn copy_json<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(request_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let copy = state
        .confidant
        .released_copy(signed.actor(), signed.staff().organisation_id, request_id)
        .await?;
    let bytes =
        serde_json::to_vec_pretty(&copy.json).map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(crate::pages::sharing::disclosure::download(
        bytes,
        "application/json",
        &format!("access-copy-{request_id}.json"),
    ))
}

/// The released copy as an accessible PDF, from the organisation.
#[cfg(feature = "pdf")]
pub async fn copy_pdf<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(request_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let copy = state
        .confidant
        .released_copy(signed.actor(), signed.staff().organisation_id, request_id)
        .await?;
    let document = copy_document(&copy.json, &signed.chrome_base.org_name, copy.disclosure_id);
    let filename = format!("access-copy-{request_id}.pdf");
    let make = move || confidant_pdf::package_pdf(&document);
    crate::pages::sharing::disclosure::pdf_download(make, &filename).await
}

/// The copy as a document to read: a summary, each released item, what was withheld under which
/// exemption, then the supplementary information.
#[cfg(feature = "pdf")]
pub fn copy_document(
    json: &serde_json::Value,
    sender: &str,
    disclosure_id: Uuid,
) -> confidant_pdf::PackageDocument {
    use confidant_pdf::{PackageDocument, PackageSection};
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let released_on = json["released_on"]
        .as_str()
        .and_then(iso_day)
        .map(day_text)
        .unwrap_or_default();
    let summary = vec![
        ("From".to_owned(), sender.to_owned()),
        ("Given".to_owned(), released_on),
        ("What this is".to_owned(), "A copy of the information we hold about you, in answer to your request, with what the law asks us to tell you about it.".to_owned()),
        ("Reference".to_owned(), disclosure_id.to_string()),
    ];
    let mut sections = Vec::new();
    for item in json["items"].as_array().into_iter().flatten() {
        let rows = item["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|pair| (text(&pair[0]), text(&pair[1])))
            .collect();
        sections.push(PackageSection {
            heading: text(&item["heading"]),
            rows,
        });
    }
    let withheld: Vec<(String, String)> = json["withheld"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            (
                text(&w["label"]),
                format!("{} item(s)", w["items"].as_u64().unwrap_or(0)),
            )
        })
        .collect();
    if !withheld.is_empty() {
        sections.push(PackageSection {
            heading: "What we have not included, and why".to_owned(),
            rows: withheld,
        });
    }
    for part in json["supplementary"].as_array().into_iter().flatten() {
        let article = text(&part["article"]);
        let mut rows: Vec<(String, String)> = part["paragraphs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (article.clone(), text(p)))
            .collect();
        rows.extend(
            part["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (String::new(), text(p))),
        );
        sections.push(PackageSection {
            heading: text(&part["heading"]),
            rows,
        });
    }
    PackageDocument {
        disclosure_id: disclosure_id.to_string(),
        title: "Your information: a copy".to_owned(),
        sender: sender.to_owned(),
        summary,
        sections,
    }
}
