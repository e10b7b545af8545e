//! Support plans and goals, changing an entry (correcting a case note, with why), and marking
//! an entry as entered in error.

use super::*;
use crate::pages::form::FormData;
use crate::pages::{TrainedForm, TrainedStaff};

pub(super) struct GoalView {
    id: String,
    title: String,
    status: String,
    progress: String,
}

pub(super) struct PlanView {
    id: String,
    title: String,
    summary: String,
    status: String,
    started: String,
    goals: Vec<GoalView>,
}

#[derive(Template)]
#[template(path = "plans.html")]
pub(super) struct PlansPage {
    chrome: Chrome,
    id: String,
    section: &'static str,
    name: String,
    can_change: bool,
    plans: Vec<PlanView>,
}

pub(super) fn status_label(status: Option<EntryStatus>) -> String {
    status.map(|s| s.label().to_owned()).unwrap_or_default()
}

pub async fn plans<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::ReadReferred).await?;
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

pub(super) fn entry_label(kind: RecordKind) -> impl Fn(&str) -> Option<&'static str> {
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

/// A support plan, for [`add_form`].
pub struct PlanForm;

impl AddPart for PlanForm {
    fn page(signed: &Signed, person_id: Uuid, name: String, _today: Date) -> FormPage {
        add_page(
            signed,
            person_id,
            name,
            "plans",
            "Add a support plan",
            vec![
                FormField::input("title", "Plan"),
                FormField::textarea("summary", "Summary").hint("Optional"),
            ],
            "Add the plan",
        )
    }
}

/// Adds an entry of a simple kind (a plan or a goal) from a posted form.
pub(super) async fn add_simple<S: Store, C: Clock>(
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

pub(super) fn new_entry(kind: RecordKind, values: RecordInput) -> NewEntry {
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
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let new = new_entry(RecordKind::Plan, record_input(&form, &["title", "summary"]));
    let page = add_form_again::<S, C, PlanForm>(&state, &signed, person_id).await?;
    add_simple(&state, &signed, person_id, new, page, &form).await
}

pub(super) fn goal_page(
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

pub(super) async fn plan_of<S: Store, C: Clock>(
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
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, plan_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::Change).await?;
    let plan = plan_of(&state, &signed, person_id, plan_id).await?;
    render(&goal_page(&signed, person_id, plan_id, name, &plan))
}

pub async fn goal_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, plan_id)): Path<(Uuid, Uuid)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::Change).await?;
    let plan = plan_of(&state, &signed, person_id, plan_id).await?;
    let new = NewEntry {
        parent_id: Some(plan_id),
        ..new_entry(RecordKind::Goal, record_input(&form, &["title"]))
    };
    let page = goal_page(&signed, person_id, plan_id, name, &plan);
    add_simple(&state, &signed, person_id, new, page, &form).await
}

/// The edit form of a plan (title, summary, status) or a goal (status, progress).
pub(super) fn edit_page(
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
        RecordKind::Note => (
            "Correct the case note",
            vec![
                FormField::textarea("body", "Note")
                    .hint("The earlier text is kept, struck through, with who corrected it, when and why.")
                    .value(&value("body")),
                FormField::radios(
                    "reason",
                    "Why is it corrected?",
                    CorrectionReason::ALL
                        .iter()
                        .filter(|r| **r != CorrectionReason::Merged)
                        .map(|r| (r.code().to_owned(), r.label().to_owned()))
                        .collect(),
                ),
            ],
        ),
        _ => return Err(PageError::NotFound),
    };
    // An entry marked as entered in error is kept as it is.
    if entry.in_error.is_some() {
        return Err(PageError::NotFound);
    }
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
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::ChangeEntry(entry_id)).await?;
    let entry = entry_of(&state, &signed, person_id, entry_id).await?;
    render(&edit_page(&signed, person_id, name, &entry)?)
}

pub async fn entry_edit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::ChangeEntry(entry_id)).await?;
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
        RecordKind::Note => &["body"],
        _ => &["progress"],
    };
    let reason = match form.get("reason") {
        "" => None,
        code => CorrectionReason::from_code(code),
    };
    let change = EntryChange {
        reason,
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
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    check(&state, &signed, person_id, Need::ChangeEntry(entry_id)).await?;
    let entry = entry_of(&state, &signed, person_id, entry_id).await?;
    let status = EntryStatus::from_code(form.get("status")).ok_or_else(|| {
        PageError::Invalid(vec![(
            "status".to_owned(),
            "The status is not one this entry can have.".to_owned(),
        )])
    })?;
    let change = EntryChange {
        reason: None,
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

fn error_page(signed: &Signed, person_id: Uuid, name: String, entry: &Entry) -> FormPage {
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Mark as entered in error",
        format!("/people/{person_id}/entries/{}/error", entry.id),
        vec![
            FormField::radios(
                "reason",
                "Why was it entered in error?",
                ErrorReason::ALL
                    .iter()
                    .map(|r| (r.code().to_owned(), r.label().to_owned()))
                    .collect(),
            )
            .hint("It stays in the record, struck through, with who marked it, when and why, and is never shared. This cannot be undone."),
        ],
        Vec::new(),
    )
    .caption(name)
    .back(page_of(person_id, entry.kind))
    .submit("Mark as entered in error")
}

pub async fn entry_error_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::ChangeEntry(entry_id)).await?;
    let entry = entry_of(&state, &signed, person_id, entry_id).await?;
    render(&error_page(&signed, person_id, name, &entry))
}

pub async fn entry_error<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::ChangeEntry(entry_id)).await?;
    let entry = entry_of(&state, &signed, person_id, entry_id).await?;
    let Some(reason) = ErrorReason::from_code(form.get("reason")) else {
        let page = error_page(&signed, person_id, name, &entry);
        let errors = vec![(
            "reason".to_owned(),
            "Choose why it was entered in error".to_owned(),
        )];
        return Ok(form_error(page, &form, errors));
    };
    state
        .confidant
        .mark_entry_in_error(
            signed.actor(),
            Purpose::Support,
            person_id,
            entry_id,
            reason,
        )
        .await?;
    Ok(see_other(&page_of(person_id, entry.kind)))
}
