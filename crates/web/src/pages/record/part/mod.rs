//! The parts of a person's record beyond their own fields: related people, cases, case notes,
//! support plans and goals, appointments, and paper notes and files.
//!
//! Guarantees:
//! - Every change is a POST with the session's CSRF token, made through one core service call;
//!   invalid input answers 400 with each problem named on its field and changes nothing.
//! - A record the actor may not see answers the same 404 as a missing one, on every page here.
//! - Paths hold ids only.

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::field::{FieldGroup, RecordKind, record_fields};
use confidant_core::person::{PersonError, Violation, Violations};
use confidant_core::record::{Entry, EntryChange, Need, NewEntry, RecordInput};
use confidant_core::store::{
    ClosureReason, ContactType, CorrectionReason, EntryStatus, ErrorReason, NoteFlags,
    Relationship, ReopenReason, Store,
};
use confidant_core::{Clock, Purpose};
use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use crate::http::extract::page::Path;
use crate::pages::form::{
    FormData, FormField, FormPage, catalogue_control, form_error, label_of, labelled_errors,
};
use crate::pages::record::person::{check, kind_label, offers, other_statuses, read_name, who};
use crate::pages::{Chrome, PageError, Signed, St, date, date_time, render};
use crate::pages::{TrainedForm, TrainedStaff};

mod plan;
pub use plan::*;

mod appointment;
pub use appointment::*;

mod paper;
pub use paper::*;

mod related;
pub use related::*;

fn violation(field: &'static str, message: &str) -> Violation {
    Violation::new(field, message.to_owned())
}

/// A day from its posted `YYYY-MM-DD` form: `None` when not given.
fn parse_day(iso: &str) -> Result<Option<Date>, ()> {
    if iso.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(iso, &format).map(Some).map_err(|_| ())
}

/// A time of day as `HH:MM` (or `H:MM`, `HH.MM`).
fn parse_time(text: &str) -> Option<Time> {
    let (h, m) = text.trim().split_once([':', '.'])?;
    Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

fn iso(d: Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&format).unwrap_or_default()
}

/// The values of one kind of record posted under their catalogue codes (only those in `codes`).
fn record_input(form: &FormData, codes: &[&str]) -> RecordInput {
    let mut input = RecordInput::new();
    for code in codes {
        input = input.with(code, form.get(code));
    }
    input
}

async fn person_name<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    need: Need,
) -> Result<String, PageError> {
    Ok(read_name(state, signed, person_id, need).await?.full())
}

/// A form that adds to one part of a person's record (`/people/{id}/<part>/new`), captioned with the
/// person's name and going back to the part's list.
fn add_page(
    signed: &Signed,
    person_id: Uuid,
    name: String,
    part: &str,
    heading: &str,
    fields: Vec<FormField>,
    submit: &str,
) -> FormPage {
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        heading,
        format!("/people/{person_id}/{part}/new"),
        fields,
        Vec::new(),
    )
    .caption(name)
    .back(format!("/people/{person_id}/{part}"))
    .submit(submit)
}

/// One part of the record that [`add_form`] offers a form to add to.
pub trait AddPart {
    /// The form, as first shown on `today`.
    fn page(signed: &Signed, person_id: Uuid, name: String, today: Date) -> FormPage;
}

/// The form that adds to a part of a person's record: the record must be one the actor may change.
pub async fn add_form<S: Store, C: Clock, P: AddPart>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::Change).await?;
    render(&P::page(&signed, person_id, name, today(&state)))
}

/// The form of a posted addition, shown again on invalid input, captioned with the person's name
/// (the record must be one the actor may change).
async fn add_form_again<S: Store, C: Clock, P: AddPart>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
) -> Result<FormPage, PageError> {
    let name = person_name(state, signed, person_id, Need::Change).await?;
    Ok(P::page(signed, person_id, name, today(state)))
}

async fn entries_of<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    kinds: &[RecordKind],
) -> Result<Vec<Entry>, PageError> {
    Ok(state
        .confidant
        .entries(signed.actor(), Purpose::Support, person_id, kinds)
        .await?)
}

async fn entry_of<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    entry_id: Uuid,
) -> Result<Entry, PageError> {
    entries_of(state, signed, person_id, &[])
        .await?
        .into_iter()
        .find(|e| e.id == entry_id)
        .ok_or(PageError::NotFound)
}

/// Where the entries of a kind are listed.
fn page_of(person_id: Uuid, kind: RecordKind) -> String {
    let part = match kind {
        RecordKind::Note => "notes",
        RecordKind::Plan | RecordKind::Goal => "plans",
        RecordKind::Appointment => "appointments",
        RecordKind::PaperNote | RecordKind::PaperFile => "paper",
        _ => return format!("/people/{person_id}"),
    };
    format!("/people/{person_id}/{part}")
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// --- cases ---

pub async fn case_open<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(_): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    state
        .confidant
        .open_case(signed.actor(), Purpose::Support, person_id, None)
        .await?;
    Ok(see_other(&format!("/people/{person_id}#cases")))
}

fn close_page(signed: &Signed, person_id: Uuid, case_id: Uuid, name: String) -> FormPage {
    let reasons = ClosureReason::ALL
        .iter()
        .map(|r| (r.code().to_owned(), r.label().to_owned()))
        .collect();
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Close the case",
        format!("/people/{person_id}/cases/{case_id}/close"),
        vec![FormField::radios(
            "reason",
            "Why is the case closing?",
            reasons,
        )],
        Vec::new(),
    )
    .caption(name)
    .back(format!("/people/{person_id}#cases"))
    .intro("The closing date starts the retention period of the record.")
    .submit("Close the case")
}

/// A case of the person that is open (`open`) or closed (else); 409 if it is the other way, 404
/// if there is none.
async fn case_now<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    case_id: Uuid,
    open: bool,
) -> Result<(), PageError> {
    let cases = state
        .confidant
        .cases(signed.actor(), Purpose::Support, person_id)
        .await?;
    match cases.iter().find(|c| c.id == case_id) {
        Some(c) if c.closed_at.is_none() == open => Ok(()),
        Some(_) if open => Err(PageError::Conflict("This case is already closed.")),
        Some(_) => Err(PageError::Conflict("This case is open.")),
        None => Err(PageError::NotFound),
    }
}

pub async fn case_close_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, case_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::Change).await?;
    case_now(&state, &signed, person_id, case_id, true).await?;
    render(&close_page(&signed, person_id, case_id, name))
}

pub async fn case_close<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, case_id)): Path<(Uuid, Uuid)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let Some(reason) = ClosureReason::from_code(form.get("reason")) else {
        let name = person_name(&state, &signed, person_id, Need::Change).await?;
        let errors = vec![(
            "reason".to_owned(),
            "Choose why the case is closing".to_owned(),
        )];
        return Ok(form_error(
            close_page(&signed, person_id, case_id, name),
            &form,
            errors,
        ));
    };
    state
        .confidant
        .close_case(signed.actor(), Purpose::Support, person_id, case_id, reason)
        .await?;
    Ok(see_other(&format!("/people/{person_id}#cases")))
}

fn reopen_page(signed: &Signed, person_id: Uuid, case_id: Uuid, name: String) -> FormPage {
    let reasons = ReopenReason::ALL
        .iter()
        .map(|r| (r.code().to_owned(), r.label().to_owned()))
        .collect();
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Reopen the case",
        format!("/people/{person_id}/cases/{case_id}/reopen"),
        vec![FormField::radios(
            "reason",
            "Why is the case opening again?",
            reasons,
        )],
        Vec::new(),
    )
    .caption(name)
    .back(format!("/people/{person_id}#cases"))
    .intro("The case opens again; when and why it was closed is kept in its history.")
    .submit("Reopen the case")
}

pub async fn case_reopen_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, case_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::Change).await?;
    case_now(&state, &signed, person_id, case_id, false).await?;
    render(&reopen_page(&signed, person_id, case_id, name))
}

pub async fn case_reopen<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, case_id)): Path<(Uuid, Uuid)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let Some(reason) = ReopenReason::from_code(form.get("reason")) else {
        let name = person_name(&state, &signed, person_id, Need::Change).await?;
        let errors = vec![(
            "reason".to_owned(),
            "Choose why the case is opening again".to_owned(),
        )];
        return Ok(form_error(
            reopen_page(&signed, person_id, case_id, name),
            &form,
            errors,
        ));
    };
    state
        .confidant
        .reopen_case(signed.actor(), Purpose::Support, person_id, case_id, reason)
        .await?;
    Ok(see_other(&format!("/people/{person_id}#cases")))
}

// --- case notes ---

struct NoteView {
    id: String,
    date: String,
    contact: &'static str,
    author: String,
    flags: Vec<&'static str>,
    body: String,
    supplied_by: String,
    /// Earlier texts, oldest first: (text, who replaced it, when, why).
    earlier: Vec<(String, String, String, &'static str)>,
    /// "Entered in error on … by …: why", or "".
    in_error: String,
}

#[derive(Template)]
#[template(path = "notes.html")]
struct NotesPage {
    chrome: Chrome,
    id: String,
    section: &'static str,
    name: String,
    can_change: bool,
    notes: Vec<NoteView>,
}

fn flag_labels(flags: NoteFlags) -> Vec<&'static str> {
    let mut out = Vec::new();
    if flags.third_party {
        out.push("Third-party information");
    }
    if flags.identifies_complainant {
        out.push("Identifies a complainant");
    }
    if flags.serious_harm {
        out.push("Serious harm if disclosed");
    }
    out
}

pub async fn notes<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::ReadReferred).await?;
    let handles = state.confidant.colleague_names(signed.actor()).await?;
    let mut entries = entries_of(&state, &signed, person_id, &[RecordKind::Note]).await?;
    entries.sort_by_key(|e| std::cmp::Reverse(e.occurs_at));
    // The earlier texts of the notes shown (only those: a trustee's matter or a processor's
    // referral shows fewer notes, and their history goes no further).
    let history = if entries.is_empty() {
        Vec::new()
    } else {
        match state
            .confidant
            .entry_corrections(
                signed.actor(),
                Purpose::Support,
                person_id,
                &[RecordKind::Note],
            )
            .await
        {
            Ok(history) => history,
            // A processor's worker does not see the correction history.
            Err(PersonError::NotFound) => Vec::new(),
            Err(e) => return Err(e.into()),
        }
    };
    let notes = entries
        .into_iter()
        .map(|e| NoteView {
            id: e.id.to_string(),
            date: date(e.occurs_at),
            contact: e.contact_type.map_or("Note", ContactType::label),
            author: who(&handles, &e.author),
            flags: flag_labels(e.flags),
            body: e.values.get("body").unwrap_or_default().to_owned(),
            supplied_by: e.values.get("supplied_by").unwrap_or_default().to_owned(),
            earlier: history
                .iter()
                .filter(|c| c.record_id == e.id && c.field == "body")
                .map(|c| {
                    (
                        c.old_value.clone(),
                        who(&handles, &c.changed_by),
                        date_time(c.changed_at),
                        c.reason.map_or("No reason recorded", |r| r.label()),
                    )
                })
                .collect(),
            in_error: e.in_error.as_ref().map_or_else(String::new, |x| {
                format!(
                    "Entered in error: {}. Marked by {} on {}.",
                    x.reason.label(),
                    who(&handles, &x.by),
                    date_time(crate::pages::sharing::consent::at(x.at_micros))
                )
            }),
        })
        .collect();
    render(&NotesPage {
        chrome: signed.chrome("/people"),
        id: person_id.to_string(),
        section: "notes",
        name,
        can_change: offers(&state, &signed, person_id, Need::Change).await?,
        notes,
    })
}

fn note_fields(today: Date) -> Vec<FormField> {
    let contacts = ContactType::ALL
        .iter()
        .map(|c| (c.code().to_owned(), c.label().to_owned()))
        .collect();
    vec![
        FormField::radios("contact_type", "Type of contact", contacts),
        FormField::date("occurs_on", "Date of the contact", &iso(today))
            .hint("For example, 27 3 2026"),
        FormField::textarea("body", "Note"),
        FormField::checkboxes(
            "flags",
            "Mark the note if it applies",
            vec![
                (
                    "third_party".to_owned(),
                    "Supplied by a third party (say who below)".to_owned(),
                    false,
                ),
                (
                    "identifies_complainant".to_owned(),
                    "Identifies someone who complained".to_owned(),
                    false,
                ),
                (
                    "serious_harm".to_owned(),
                    "Disclosing it could cause someone serious harm".to_owned(),
                    false,
                ),
            ],
        )
        .hint("These decide what may be disclosed later, for example in a subject access request."),
        FormField::input("supplied_by", "Supplied by")
            .hint("Only for information supplied by a third party: who gave it."),
    ]
}

fn note_label(code: &str) -> Option<&'static str> {
    match code {
        "contact_type" => Some("Type of contact"),
        "occurs_on" => Some("Date of the contact"),
        "flags" => Some("Marks"),
        other => label_of(Some(RecordKind::Note), other),
    }
}

fn note_page(signed: &Signed, person_id: Uuid, name: String, today: Date) -> FormPage {
    add_page(
        signed,
        person_id,
        name,
        "notes",
        "Add a case note",
        note_fields(today),
        "Save the note",
    )
}

fn today<S: Store, C: Clock>(state: &St<S, C>) -> Date {
    crate::pages::uk_today(state.confidant.clock().now())
}

/// A case note, for [`add_form`].
pub struct NoteForm;

impl AddPart for NoteForm {
    fn page(signed: &Signed, person_id: Uuid, name: String, today: Date) -> FormPage {
        note_page(signed, person_id, name, today)
    }
}

/// When an entry happened, from its posted day: now for today, else the start of that UK day.
fn occurs_at(day: Date, now: OffsetDateTime) -> Option<OffsetDateTime> {
    (day != crate::pages::uk_today(now)).then(|| confidant_core::uk_time::uk_midnight(day))
}

pub async fn note_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::Change).await?;
    let now = state.confidant.clock().now();
    let page = note_page(&signed, person_id, name, crate::pages::uk_today(now));
    let mut problems = Vec::new();
    let contact_type = ContactType::from_code(form.get("contact_type"));
    if contact_type.is_none() {
        problems.push(violation("contact_type", "must be chosen"));
    }
    let day = match parse_day(&form.date("occurs_on")) {
        Ok(Some(d)) if d > crate::pages::uk_today(now) => {
            problems.push(violation("occurs_on", "must be today or in the past"));
            None
        }
        Ok(d) => d,
        Err(()) => {
            problems.push(violation("occurs_on", "must be a real date"));
            None
        }
    };
    if !problems.is_empty() {
        let errors = labelled_errors(&Violations(problems), note_label);
        return Ok(form_error(page, &form, errors));
    }
    let cases = state
        .confidant
        .cases(signed.actor(), Purpose::Support, person_id)
        .await?;
    let new = NewEntry {
        kind: RecordKind::Note,
        case_id: cases.iter().find(|c| c.closed_at.is_none()).map(|c| c.id),
        parent_id: None,
        contact_type,
        occurs_at: day.and_then(|d| occurs_at(d, now)),
        status: None,
        due_at: None,
        flags: NoteFlags {
            third_party: form.ticked("third_party"),
            identifies_complainant: form.ticked("identifies_complainant"),
            serious_harm: form.ticked("serious_harm"),
        },
        values: record_input(&form, &["body", "supplied_by"]),
    };
    match state
        .confidant
        .add_entry(signed.actor(), Purpose::Support, person_id, &new)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/people/{person_id}/notes"))),
        Err(PersonError::Invalid(v)) => {
            Ok(form_error(page, &form, labelled_errors(&v, note_label)))
        }
        Err(e) => Err(e.into()),
    }
}
