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
    ClosureReason, ContactType, EntryStatus, NoteFlags, Relationship, Store,
};
use confidant_core::{Clock, Purpose};
use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use super::form::{
    FormData, FormField, FormPage, catalogue_control, form_error, label_of, labelled_errors,
};
use super::people::{checked_post, require_training};
use super::person::{check, full_name, kind_label, offers, other_statuses, read, who};
use super::{Chrome, PageError, Signed, St, date, date_time, render};
use crate::extract::page::Form;
use crate::extract::page::Path;

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
    Ok(full_name(&read(state, signed, person_id, need).await?))
}

/// The start of every page of a person's record: the actor's training must be current and the
/// record one they may use as the page needs (checked before the record is read). Gives the
/// person's name for the page's caption.
async fn trained_person_name<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    need: Need,
) -> Result<String, PageError> {
    require_training(state, signed).await?;
    person_name(state, signed, person_id, need).await
}

/// The start of a posted form of a person's record: as `checked_post`, then the person's name for
/// the form shown again on invalid input.
async fn checked_post_with_name<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    need: Need,
    form: Vec<(String, String)>,
) -> Result<(FormData, String), PageError> {
    let form = checked_post(state, signed, form).await?;
    let name = person_name(state, signed, person_id, need).await?;
    Ok((form, name))
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

// --- related people ---

fn related_fields(children: bool) -> Vec<FormField> {
    let relationships = Relationship::ALL
        .iter()
        .filter(|r| children || **r != Relationship::Child)
        .map(|r| (r.code().to_owned(), r.label().to_owned()))
        .collect();
    let mut fields = vec![FormField::radios(
        "relationship",
        "How are they related to the person?",
        relationships,
    )];
    fields.extend(record_fields(RecordKind::Related).filter_map(|spec| {
        let field = catalogue_control(spec, "", spec.code == "given_name")?;
        Some(match spec.code {
            "family_name" | "phone" | "email" | "address" | "notes" => field.hint("Optional"),
            _ => field,
        })
    }));
    fields.push(
        FormField::input("linked_person_id", "Their own record in Confidant")
            .hint("Optional. If a service of this organisation supports them too, the id of their record.")
            .classes("govuk-input--width-30"),
    );
    fields
}

fn related_label(code: &str) -> Option<&'static str> {
    match code {
        "relationship" => Some("How they are related"),
        "linked_person_id" => Some("Their own record"),
        other => label_of(Some(RecordKind::Related), other),
    }
}

async fn related_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
) -> Result<FormPage, PageError> {
    let person = read(state, signed, person_id, Need::Change).await?;
    let children = state
        .confidant
        .service_config(person.service_id)
        .await?
        .field_groups
        .contains(FieldGroup::Children);
    Ok(FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Add a related person",
        format!("/people/{person_id}/related/new"),
        related_fields(children),
        Vec::new(),
    )
    .caption(full_name(&person))
    .back(format!("/people/{person_id}#related"))
    .intro("Their details are kept with their own key, so they can be erased on their own.")
    .submit("Add the related person"))
}

pub async fn related_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    require_training(&state, &signed).await?;
    render(&related_page(&state, &signed, person_id).await?)
}

pub async fn related_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = checked_post(&state, &signed, form).await?;
    let page = related_page(&state, &signed, person_id).await?;
    let mut problems = Vec::new();
    let relationship = Relationship::from_code(form.get("relationship"));
    if relationship.is_none() {
        problems.push(violation("relationship", "must be chosen"));
    }
    let linked = match form.get("linked_person_id").trim() {
        "" => None,
        text => match Uuid::parse_str(text) {
            Ok(id) => Some(id),
            Err(_) => {
                problems.push(violation("linked_person_id", "must be the id of a record"));
                None
            }
        },
    };
    let Some(relationship) = relationship.filter(|_| problems.is_empty()) else {
        let errors = labelled_errors(&Violations(problems), related_label);
        return Ok(form_error(page, &form, errors));
    };
    let codes: Vec<&str> = record_fields(RecordKind::Related).map(|f| f.code).collect();
    match state
        .confidant
        .add_related(
            signed.actor(),
            Purpose::Support,
            person_id,
            relationship,
            linked,
            &record_input(&form, &codes),
        )
        .await
    {
        Ok(_) => Ok(see_other(&format!("/people/{person_id}#related"))),
        Err(PersonError::Invalid(v)) => {
            Ok(form_error(page, &form, labelled_errors(&v, related_label)))
        }
        Err(e) => Err(e.into()),
    }
}

async fn related_name<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    related_id: Uuid,
) -> Result<String, PageError> {
    let related = state
        .confidant
        .related_people(signed.actor(), Purpose::Support, person_id)
        .await?
        .into_iter()
        .find(|r| r.id == related_id)
        .ok_or(PageError::NotFound)?;
    Ok([
        related.values.get("given_name"),
        related.values.get("family_name"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" "))
}

pub async fn related_remove_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, related_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::Change).await?;
    let related = related_name(&state, &signed, person_id, related_id).await?;
    render(
        &FormPage::new(
            signed.chrome("/people"),
            signed.csrf(),
            format!("Remove {related} from this record?"),
            format!("/people/{person_id}/related/{related_id}/remove"),
            Vec::new(),
            Vec::new(),
        )
        .caption(name)
        .back(format!("/people/{person_id}#related"))
        .warning("Their details are erased for good: this cannot be undone.")
        .submit("Yes, remove them")
        .submit_classes("govuk-button--warning"),
    )
}

pub async fn related_remove<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, related_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    checked_post(&state, &signed, form).await?;
    state
        .confidant
        .remove_related(signed.actor(), Purpose::Support, person_id, related_id)
        .await?;
    Ok(see_other(&format!("/people/{person_id}#related")))
}

// --- cases ---

pub async fn case_open<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    checked_post(&state, &signed, form).await?;
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

/// The open case of a person, or 404.
async fn open_case_of<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    case_id: Uuid,
) -> Result<(), PageError> {
    let cases = state
        .confidant
        .cases(signed.actor(), Purpose::Support, person_id)
        .await?;
    match cases.iter().find(|c| c.id == case_id) {
        Some(c) if c.closed_at.is_none() => Ok(()),
        Some(_) => Err(PageError::Conflict("This case is already closed.")),
        None => Err(PageError::NotFound),
    }
}

pub async fn case_close_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, case_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::Change).await?;
    open_case_of(&state, &signed, person_id, case_id).await?;
    render(&close_page(&signed, person_id, case_id, name))
}

pub async fn case_close<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, case_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = checked_post(&state, &signed, form).await?;
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

// --- case notes ---

struct NoteView {
    date: String,
    contact: &'static str,
    author: String,
    flags: Vec<&'static str>,
    body: String,
    supplied_by: String,
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
    signed: Signed,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::ReadReferred).await?;
    let handles = state.confidant.colleague_handles(signed.actor()).await?;
    let mut entries = entries_of(&state, &signed, person_id, &[RecordKind::Note]).await?;
    entries.sort_by_key(|e| std::cmp::Reverse(e.occurs_at));
    let notes = entries
        .into_iter()
        .map(|e| NoteView {
            date: date(e.occurs_at),
            contact: e.contact_type.map_or("Note", ContactType::label),
            author: who(&handles, &e.author),
            flags: flag_labels(e.flags),
            body: e.values.get("body").unwrap_or_default().to_owned(),
            supplied_by: e.values.get("supplied_by").unwrap_or_default().to_owned(),
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
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Add a case note",
        format!("/people/{person_id}/notes/new"),
        note_fields(today),
        Vec::new(),
    )
    .caption(name)
    .back(format!("/people/{person_id}/notes"))
    .submit("Save the note")
}

fn today<S: Store, C: Clock>(state: &St<S, C>) -> Date {
    state.confidant.clock().now().date()
}

pub async fn note_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::Change).await?;
    render(&note_page(&signed, person_id, name, today(&state)))
}

/// When an entry happened, from its posted day: now for today, else the start of that day (UTC).
fn occurs_at(day: Date, now: OffsetDateTime) -> Option<OffsetDateTime> {
    (day != now.date()).then(|| day.midnight().assume_utc())
}

pub async fn note_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (form, name) =
        checked_post_with_name(&state, &signed, person_id, Need::Change, form).await?;
    let now = state.confidant.clock().now();
    let page = note_page(&signed, person_id, name, now.date());
    let mut problems = Vec::new();
    let contact_type = ContactType::from_code(form.get("contact_type"));
    if contact_type.is_none() {
        problems.push(violation("contact_type", "must be chosen"));
    }
    let day = match parse_day(&form.date("occurs_on")) {
        Ok(Some(d)) if d > now.date() => {
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

// --- support plans and goals ---

struct GoalView {
    id: String,
    title: String,
    status: String,
    progress: String,
}

struct PlanView {
    id: String,
    title: String,
    summary: String,
    status: String,
    started: String,
    goals: Vec<GoalView>,
}

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    chrome: Chrome,
    id: String,
    section: &'static str,
    name: String,
    can_change: bool,
    plans: Vec<PlanView>,
}

fn status_label(status: Option<EntryStatus>) -> String {
    status.map(|s| s.label().to_owned()).unwrap_or_default()
}

pub async fn plans<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::ReadReferred).await?;
    let entries = entries_of(
        &state,
        &signed,
        person_id,
        &[RecordKind::Plan, RecordKind::Goal],
    )
    .await?;
    let plans = entries
        .iter()
        .filter(|e| e.kind == RecordKind::Plan)
        .map(|plan| {
            let mut goals: Vec<&Entry> = entries
                .iter()
                .filter(|g| g.kind == RecordKind::Goal && g.parent_id == Some(plan.id))
                .collect();
            goals.sort_by_key(|g| g.occurs_at);
            PlanView {
                id: plan.id.to_string(),
                title: plan.values.get("title").unwrap_or_default().to_owned(),
                summary: plan.values.get("summary").unwrap_or_default().to_owned(),
                status: status_label(plan.status),
                started: date(plan.occurs_at),
                goals: goals
                    .into_iter()
                    .map(|g| GoalView {
                        id: g.id.to_string(),
                        title: g.values.get("title").unwrap_or_default().to_owned(),
                        status: status_label(g.status),
                        progress: g.values.get("progress").unwrap_or_default().to_owned(),
                    })
                    .collect(),
            }
        })
        .collect();
    render(&PlansPage {
        chrome: signed.chrome("/people"),
        id: person_id.to_string(),
        section: "plans",
        name,
        can_change: offers(&state, &signed, person_id, Need::Change).await?,
        plans,
    })
}

fn entry_label(kind: RecordKind) -> impl Fn(&str) -> Option<&'static str> {
    move |code| match code {
        "status" => Some("Status"),
        "plan_id" => Some("Plan"),
        "occurs_on" => Some("Date"),
        "occurs_time" => Some("Time"),
        "due_on" | "due_at" => Some("Destroy by"),
        "kind" => Some("Kind of paper record"),
        other => label_of(Some(kind), other),
    }
}

fn plan_page(signed: &Signed, person_id: Uuid, name: String) -> FormPage {
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Add a support plan",
        format!("/people/{person_id}/plans/new"),
        vec![
            FormField::input("title", "Plan"),
            FormField::textarea("summary", "Summary").hint("Optional"),
        ],
        Vec::new(),
    )
    .caption(name)
    .back(format!("/people/{person_id}/plans"))
    .submit("Add the plan")
}

pub async fn plan_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::Change).await?;
    render(&plan_page(&signed, person_id, name))
}

/// Adds an entry of a simple kind (a plan or a goal) from a posted form.
async fn add_simple<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    new: NewEntry,
    page: FormPage,
    form: &FormData,
) -> Result<Response, PageError> {
    let kind = new.kind;
    match state
        .confidant
        .add_entry(signed.actor(), Purpose::Support, person_id, &new)
        .await
    {
        Ok(_) => Ok(see_other(&page_of(person_id, kind))),
        Err(PersonError::Invalid(v)) => Ok(form_error(
            page,
            form,
            labelled_errors(&v, entry_label(kind)),
        )),
        Err(e) => Err(e.into()),
    }
}

fn new_entry(kind: RecordKind, values: RecordInput) -> NewEntry {
    NewEntry {
        kind,
        case_id: None,
        parent_id: None,
        contact_type: None,
        occurs_at: None,
        status: None,
        due_at: None,
        flags: NoteFlags::default(),
        values,
    }
}

pub async fn plan_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (form, name) =
        checked_post_with_name(&state, &signed, person_id, Need::Change, form).await?;
    let new = new_entry(RecordKind::Plan, record_input(&form, &["title", "summary"]));
    let page = plan_page(&signed, person_id, name);
    add_simple(&state, &signed, person_id, new, page, &form).await
}

fn goal_page(
    signed: &Signed,
    person_id: Uuid,
    plan_id: Uuid,
    name: String,
    plan: &str,
) -> FormPage {
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Add a goal",
        format!("/people/{person_id}/plans/{plan_id}/goals/new"),
        vec![FormField::input("title", "Goal")],
        Vec::new(),
    )
    .caption(format!("{name}: {plan}"))
    .back(format!("/people/{person_id}/plans"))
    .submit("Add the goal")
}

async fn plan_of<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    plan_id: Uuid,
) -> Result<String, PageError> {
    let plan = entry_of(state, signed, person_id, plan_id).await?;
    if plan.kind != RecordKind::Plan {
        return Err(PageError::NotFound);
    }
    Ok(plan.values.get("title").unwrap_or_default().to_owned())
}

pub async fn goal_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, plan_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::Change).await?;
    let plan = plan_of(&state, &signed, person_id, plan_id).await?;
    render(&goal_page(&signed, person_id, plan_id, name, &plan))
}

pub async fn goal_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, plan_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (form, name) =
        checked_post_with_name(&state, &signed, person_id, Need::Change, form).await?;
    let plan = plan_of(&state, &signed, person_id, plan_id).await?;
    let new = NewEntry {
        parent_id: Some(plan_id),
        ..new_entry(RecordKind::Goal, record_input(&form, &["title"]))
    };
    let page = goal_page(&signed, person_id, plan_id, name, &plan);
    add_simple(&state, &signed, person_id, new, page, &form).await
}

/// The edit form of a plan (title, summary, status) or a goal (status, progress).
fn edit_page(
    signed: &Signed,
    person_id: Uuid,
    name: String,
    entry: &Entry,
) -> Result<FormPage, PageError> {
    let statuses = EntryStatus::of_kind(entry.kind)
        .iter()
        .map(|s| (s.code().to_owned(), s.label().to_owned()))
        .collect();
    let status = FormField::radios("status", "Status", statuses)
        .value(entry.status.map(EntryStatus::code).unwrap_or_default());
    let value = |code: &str| entry.values.get(code).unwrap_or_default().to_owned();
    let (heading, fields) = match entry.kind {
        RecordKind::Plan => (
            "Change the support plan",
            vec![
                FormField::input("title", "Plan").value(&value("title")),
                FormField::textarea("summary", "Summary").value(&value("summary")),
                status,
            ],
        ),
        RecordKind::Goal => (
            "Update the goal",
            vec![
                status,
                FormField::textarea("progress", "Progress")
                    .hint("What has happened towards the goal. The earlier text is kept in the correction history.")
                    .value(&value("progress")),
            ],
        ),
        _ => return Err(PageError::NotFound),
    };
    let caption = match entry.kind {
        RecordKind::Goal => format!("{name}: {}", value("title")),
        _ => name,
    };
    Ok(FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        heading,
        format!("/people/{person_id}/entries/{}/edit", entry.id),
        fields,
        Vec::new(),
    )
    .caption(caption)
    .back(page_of(person_id, entry.kind))
    .submit("Save changes"))
}

pub async fn entry_edit_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::ChangeEntry(entry_id)).await?;
    let entry = entry_of(&state, &signed, person_id, entry_id).await?;
    render(&edit_page(&signed, person_id, name, &entry)?)
}

pub async fn entry_edit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (form, name) = checked_post_with_name(
        &state,
        &signed,
        person_id,
        Need::ChangeEntry(entry_id),
        form,
    )
    .await?;
    let entry = entry_of(&state, &signed, person_id, entry_id).await?;
    let page = edit_page(&signed, person_id, name, &entry)?;
    let status = match form.get("status") {
        "" => None,
        code => match EntryStatus::from_code(code) {
            Some(s) => Some(s),
            None => {
                let errors = vec![("status".to_owned(), "Choose a status".to_owned())];
                return Ok(form_error(page, &form, errors));
            }
        },
    };
    let codes: &[&str] = match entry.kind {
        RecordKind::Plan => &["title", "summary"],
        _ => &["progress"],
    };
    let change = EntryChange {
        status,
        due_at: None,
        values: record_input(&form, codes),
    };
    match state
        .confidant
        .update_entry(
            signed.actor(),
            Purpose::Support,
            person_id,
            entry_id,
            &change,
        )
        .await
    {
        Ok(_) => Ok(see_other(&page_of(person_id, entry.kind))),
        Err(PersonError::Invalid(v)) => Ok(form_error(
            page,
            &form,
            labelled_errors(&v, entry_label(entry.kind)),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Moves an entry to another status (an appointment attended, a paper note transcribed…).
pub async fn entry_status<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = checked_post(&state, &signed, form).await?;
    check(&state, &signed, person_id, Need::ChangeEntry(entry_id)).await?;
    let entry = entry_of(&state, &signed, person_id, entry_id).await?;
    let status = EntryStatus::from_code(form.get("status")).ok_or_else(|| {
        PageError::Invalid(vec![(
            "status".to_owned(),
            "The status is not one this entry can have.".to_owned(),
        )])
    })?;
    let change = EntryChange {
        status: Some(status),
        ..EntryChange::default()
    };
    state
        .confidant
        .update_entry(
            signed.actor(),
            Purpose::Support,
            person_id,
            entry_id,
            &change,
        )
        .await?;
    Ok(see_other(&page_of(person_id, entry.kind)))
}

// --- appointments ---

struct AppointmentView {
    id: String,
    when: String,
    title: String,
    place: String,
    status: String,
    next: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "appointments.html")]
struct AppointmentsPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    section: &'static str,
    name: String,
    can_change: bool,
    appointments: Vec<AppointmentView>,
}

pub async fn appointments<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::ReadReferred).await?;
    let mut entries = entries_of(&state, &signed, person_id, &[RecordKind::Appointment]).await?;
    entries.sort_by_key(|e| std::cmp::Reverse(e.occurs_at));
    let appointments = entries
        .into_iter()
        .map(|e| AppointmentView {
            id: e.id.to_string(),
            when: date_time(e.occurs_at),
            title: e.values.get("title").unwrap_or_default().to_owned(),
            place: e.values.get("place").unwrap_or_default().to_owned(),
            status: status_label(e.status),
            next: other_statuses(e.kind, e.status),
        })
        .collect();
    render(&AppointmentsPage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        section: "appointments",
        name,
        can_change: offers(&state, &signed, person_id, Need::Change).await?,
        appointments,
    })
}

fn appointment_page(signed: &Signed, person_id: Uuid, name: String) -> FormPage {
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Add an appointment",
        format!("/people/{person_id}/appointments/new"),
        vec![
            FormField::input("title", "What"),
            FormField::input("place", "Where").hint("Optional"),
            FormField::date("occurs_on", "Date", "").hint("For example, 27 3 2026"),
            FormField::input("occurs_time", "Time")
                .hint("In 24-hour time, for example 14:30")
                .classes("govuk-input--width-5"),
        ],
        Vec::new(),
    )
    .caption(name)
    .back(format!("/people/{person_id}/appointments"))
    .submit("Add the appointment")
}

pub async fn appointment_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::Change).await?;
    render(&appointment_page(&signed, person_id, name))
}

pub async fn appointment_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (form, name) =
        checked_post_with_name(&state, &signed, person_id, Need::Change, form).await?;
    let page = appointment_page(&signed, person_id, name);
    let mut problems = Vec::new();
    let day = match parse_day(&form.date("occurs_on")) {
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            problems.push(violation("occurs_on", "must be given"));
            None
        }
        Err(()) => {
            problems.push(violation("occurs_on", "must be a real date"));
            None
        }
    };
    let time = parse_time(form.get("occurs_time"));
    if time.is_none() {
        problems.push(violation("occurs_time", "must be a time such as 14:30"));
    }
    let (Some(day), Some(time)) = (day, time) else {
        let errors = labelled_errors(&Violations(problems), entry_label(RecordKind::Appointment));
        return Ok(form_error(page, &form, errors));
    };
    let new = NewEntry {
        occurs_at: Some(day.with_time(time).assume_utc()),
        ..new_entry(
            RecordKind::Appointment,
            record_input(&form, &["title", "place"]),
        )
    };
    add_simple(&state, &signed, person_id, new, page, &form).await
}

// --- paper notes and archived paper files ---

/// The statuses after the current one: paper only moves on (transcribed, then destroyed).
fn later_statuses(kind: RecordKind, current: Option<EntryStatus>) -> Vec<(String, String)> {
    let all = EntryStatus::of_kind(kind);
    let next = current
        .and_then(|c| all.iter().position(|s| *s == c))
        .map_or(0, |p| p + 1);
    all.iter()
        .skip(next)
        .map(|s| (s.code().to_owned(), s.label().to_owned()))
        .collect()
}

struct PaperView {
    id: String,
    kind: &'static str,
    description: String,
    location: String,
    status: String,
    due: String,
    next: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "paper_records.html")]
struct PaperPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    section: &'static str,
    name: String,
    can_change: bool,
    paper: Vec<PaperView>,
}

pub async fn paper<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::ReadReferred).await?;
    let entries = entries_of(
        &state,
        &signed,
        person_id,
        &[RecordKind::PaperNote, RecordKind::PaperFile],
    )
    .await?;
    let paper = entries
        .into_iter()
        .map(|e| PaperView {
            id: e.id.to_string(),
            kind: kind_label(e.kind),
            description: e.values.get("description").unwrap_or_default().to_owned(),
            location: e.values.get("location").unwrap_or_default().to_owned(),
            status: status_label(e.status),
            due: e.due_at.map(date).unwrap_or_default(),
            next: later_statuses(e.kind, e.status),
        })
        .collect();
    render(&PaperPage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        section: "paper",
        name,
        can_change: offers(&state, &signed, person_id, Need::Change).await?,
        paper,
    })
}

fn paper_page(signed: &Signed, person_id: Uuid, name: String) -> FormPage {
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Add a paper record",
        format!("/people/{person_id}/paper/new"),
        vec![
            FormField::radios(
                "kind",
                "What is it?",
                vec![
                    (
                        RecordKind::PaperNote.code().to_owned(),
                        "A paper note, to be typed into the record and then destroyed".to_owned(),
                    ),
                    (
                        RecordKind::PaperFile.code().to_owned(),
                        "An archived paper file, kept until its destruction date".to_owned(),
                    ),
                ],
            ),
            FormField::textarea("description", "What the paper holds")
                .hint("Describe it without copying its content."),
            FormField::input("location", "Where it is kept")
                .hint("Needed for an archived file, for example the cabinet and drawer."),
            FormField::date("due_on", "Destroy by", "").hint(
                "Needed for an archived file; optional for a paper note. For example, 27 3 2032",
            ),
        ],
        Vec::new(),
    )
    .caption(name)
    .back(format!("/people/{person_id}/paper"))
    .submit("Add the paper record")
}

pub async fn paper_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = trained_person_name(&state, &signed, person_id, Need::Change).await?;
    render(&paper_page(&signed, person_id, name))
}

pub async fn paper_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (form, name) =
        checked_post_with_name(&state, &signed, person_id, Need::Change, form).await?;
    let page = paper_page(&signed, person_id, name);
    let mut problems = Vec::new();
    let kind = RecordKind::from_code(form.get("kind"))
        .filter(|k| matches!(k, RecordKind::PaperNote | RecordKind::PaperFile));
    if kind.is_none() {
        problems.push(violation("kind", "must be chosen"));
    }
    let due = match parse_day(&form.date("due_on")) {
        Ok(d) => d,
        Err(()) => {
            problems.push(violation("due_on", "must be a real date"));
            None
        }
    };
    let Some(kind) = kind.filter(|_| problems.is_empty()) else {
        let errors = labelled_errors(&Violations(problems), entry_label(RecordKind::PaperFile));
        return Ok(form_error(page, &form, errors));
    };
    let codes: &[&str] = if kind == RecordKind::PaperFile {
        &["description", "location"]
    } else {
        &["description"]
    };
    let new = NewEntry {
        due_at: due.map(|d| d.midnight().assume_utc()),
        ..new_entry(kind, record_input(&form, codes))
    };
    match state
        .confidant
        .add_entry(signed.actor(), Purpose::Support, person_id, &new)
        .await
    {
        Ok(_) => Ok(see_other(&page_of(person_id, kind))),
        Err(PersonError::Invalid(v)) => {
            let mut errors = labelled_errors(&v, entry_label(kind));
            // The core names the destruction date `due_at`; the form's control is `due_on`.
            for (id, _) in &mut errors {
                if id == "due-at" {
                    *id = "due-on".to_owned();
                }
            }
            Ok(form_error(page, &form, errors))
        }
        Err(e) => Err(e.into()),
    }
}
