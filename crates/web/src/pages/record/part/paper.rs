//! Paper notes and archived paper files, and recording their destruction (who destroyed the
//! paper and their reference: it goes onto the record's certificate when the record is destroyed).

use confidant_core::keeping::PaperDestruction;

use super::*;
use crate::pages::form::FormData;
use crate::pages::{TrainedForm, TrainedStaff};

pub(super) struct PaperView {
    id: String,
    kind: &'static str,
    description: String,
    location: String,
    status: String,
    due: String,
    /// The statuses it may move to (not `destroyed`: that is recorded with the form below).
    next: Vec<(String, String)>,
    /// Not yet recorded destroyed: the form to record it is offered.
    to_destroy: bool,
    /// Who destroyed it, their reference and when, once recorded.
    destroyed: String,
}

#[derive(Template)]
#[template(path = "paper_records.html")]
pub(super) struct PaperPage {
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
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::ReadReferred).await?;
    let entries = entries_of(
        &state,
        &signed,
        person_id,
        &[RecordKind::PaperNote, RecordKind::PaperFile],
    )
    .await?;
    let can_change = offers(&state, &signed, person_id, Need::Change).await?;
    // Who destroyed what: shown to those who may record it.
    let lines = if can_change {
        state
            .confidant
            .paper_destroyed(signed.actor(), Purpose::Support, person_id)
            .await?
    } else {
        Vec::new()
    };
    let paper = entries
        .into_iter()
        .map(|e| PaperView {
            id: e.id.to_string(),
            kind: kind_label(e.kind),
            description: e.values.get("description").unwrap_or_default().to_owned(),
            location: e.values.get("location").unwrap_or_default().to_owned(),
            status: status_label(e.status),
            due: e.due_at.map(date).unwrap_or_default(),
            next: later_statuses(e.kind, e.status)
                .into_iter()
                .filter(|(code, _)| code != EntryStatus::Destroyed.code())
                .collect(),
            to_destroy: e.status != Some(EntryStatus::Destroyed),
            destroyed: lines
                .iter()
                .find(|l| l.entry_id == e.id)
                .map(|l| {
                    format!(
                        "By {}, reference {}, on {}",
                        l.destroyed_by,
                        l.reference,
                        iso_day(&l.destroyed_on)
                    )
                })
                .unwrap_or_default(),
        })
        .collect();
    render(&PaperPage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        section: "paper",
        name,
        can_change,
        paper,
    })
}

/// A paper note or file, for [`add_form`].
pub struct PaperForm;

impl AddPart for PaperForm {
    fn page(signed: &Signed, person_id: Uuid, name: String, _today: Date) -> FormPage {
        add_page(
            signed,
            person_id,
            name,
            "paper",
            "Add a paper record",
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
            "Add the paper record",
        )
    }
}

pub async fn paper_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let page = add_form_again::<S, C, PaperForm>(&state, &signed, person_id).await?;
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
        due_at: due.map(confidant_core::uk_time::uk_midnight),
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

/// A `YYYY-MM-DD` day as the pages show dates (as kept if it does not parse).
fn iso_day(text: &str) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).map_or_else(
        |_| text.to_owned(),
        |d| date(confidant_core::uk_time::uk_midnight(d)),
    )
}

fn destruction_page(signed: &Signed, person_id: Uuid, name: String, entry: &Entry) -> FormPage {
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Record the paper's destruction",
        format!("/people/{person_id}/entries/{}/destruction", entry.id),
        vec![
            FormField::input("destroyed_by", "Who destroyed it").hint(
                "The archive provider that collected and destroyed it, or your service if it was shredded on site. Do not name the person it is about.",
            ),
            FormField::input("reference", "Their reference").hint(
                "For example the number on the provider's certificate of destruction, or the entry in your shredding log.",
            ),
            FormField::date("destroyed_on", "When it was destroyed", "")
                .hint("For example, 27 3 2026"),
        ],
        Vec::new(),
    )
    .caption(name)
    .back(page_of(person_id, entry.kind))
    .submit("Record the destruction")
}

fn destruction_label(code: &str) -> Option<&'static str> {
    match code {
        "destroyed_by" => Some("Who destroyed it"),
        "reference" => Some("Their reference"),
        "destroyed_on" => Some("When it was destroyed"),
        "status" => Some("Status"),
        _ => None,
    }
}

pub async fn paper_destruction_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::ChangeEntry(entry_id)).await?;
    let entry = entry_of(&state, &signed, person_id, entry_id).await?;
    if !entry.kind.is_paper() {
        return Err(PageError::NotFound);
    }
    render(&destruction_page(&signed, person_id, name, &entry))
}

pub async fn paper_destruction<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::ChangeEntry(entry_id)).await?;
    let entry = entry_of(&state, &signed, person_id, entry_id).await?;
    let page = destruction_page(&signed, person_id, name, &entry);
    let today = crate::pages::uk_today(state.confidant.clock().now());
    let on = match parse_day(&form.date("destroyed_on")) {
        Ok(Some(day)) => day.to_string(),
        _ => form.date("destroyed_on"),
    };
    let recorded = match PaperDestruction::parse(
        form.get("destroyed_by"),
        form.get("reference"),
        &on,
        today,
    ) {
        Ok(paper) => {
            state
                .confidant
                .record_paper_destroyed(
                    signed.actor(),
                    Purpose::Support,
                    person_id,
                    entry_id,
                    &paper,
                )
                .await
        }
        Err(e) => Err(e),
    };
    match recorded {
        Ok(()) => Ok(see_other(&page_of(person_id, entry.kind))),
        Err(PersonError::Invalid(v)) => {
            let mut errors = labelled_errors(&v, destruction_label);
            // The core reads the date as YYYY-MM-DD; the form asks for day, month and year.
            for (id, message) in &mut errors {
                if id == "destroyed-on" && message.contains("YYYY-MM-DD") {
                    *message = "When it was destroyed must be a real date".to_owned();
                }
            }
            Ok(form_error(page, &form, errors))
        }
        Err(e) => Err(e.into()),
    }
}
