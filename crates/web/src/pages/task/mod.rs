//! The task inbox: what waits for the signed-in member of staff, each linked to the page where it
//! is done; those ticked off by hand (telling a recipient or a person) have a page of their own
//! with the form that says how and when.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::Clock;
use confidant_core::organisation::OrganisationError;
use confidant_core::store::{Store, TaskKind, TaskRecord, TaskState, TellHow};
use confidant_core::task::{INBOX_LIMIT, TaskView};
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::page::Path;
use crate::http::routing::{Routes, get, post};
use crate::pages::sharing::consent::at as from_micros;
use crate::pages::{
    Chrome, PageError, PostForm, Signed, St, date, date_time, field_errors, render, render_status,
};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/tasks", get(inbox::<S, C>))
        .route("/tasks/{task_id}", get(show::<S, C>))
        .route("/tasks/{task_id}/close", post(close::<S, C>))
}

/// How many of the latest closed tasks the inbox shows.
const CLOSED_SHOWN: u32 = 20;

/// The page where a task is done, as `viewer` reaches it.
pub fn page_of(task: &TaskRecord, viewer: Uuid) -> String {
    let person = task.person_id.unwrap_or_default();
    match task.kind {
        TaskKind::ReferralTriage => format!("/referrals/{}", task.subject_id),
        TaskKind::ShareApproval => format!("/people/{person}/sharing#approvals"),
        TaskKind::EmergencyReview => "/admin/disclosures/review".to_owned(),
        TaskKind::BreakGlassReview => "/break-glass/review".to_owned(),
        TaskKind::AgreementEnding => format!("/admin/recipients/{}", task.subject_id),
        TaskKind::TellRecipient | TaskKind::TellOfNotice | TaskKind::TellOfErasure => {
            format!("/tasks/{}", task.id)
        }
        TaskKind::TrainingDue if task.subject_id == viewer => "/".to_owned(),
        TaskKind::TrainingDue => format!("/admin/users/{}", task.subject_id),
        TaskKind::RetentionReview | TaskKind::RetentionApproval => "/admin/retention".to_owned(),
        TaskKind::ReferralErasure => "/admin/retention#referrals".to_owned(),
        TaskKind::RightsRequest => format!("/rights/{}", task.subject_id),
        TaskKind::PaperDestruction => {
            format!("/people/{person}/paper#paper-{}", task.subject_id)
        }
    }
}

/// One line of the inbox.
pub struct Line {
    pub label: &'static str,
    pub about: String,
    pub href: String,
    pub due: String,
    pub overdue: bool,
    pub opened: String,
    pub closed: String,
}

/// Colleagues' names by id ([`confidant_core::Confidant::colleague_names`]).
type Names = std::collections::HashMap<Uuid, String>;

fn about(view: &TaskView, viewer: Uuid, names: &Names) -> String {
    let t = &view.task;
    let short = |id: Uuid| id.to_string()[..8].to_owned();
    match (t.kind, &view.recipient) {
        (TaskKind::TellRecipient | TaskKind::AgreementEnding, Some(name)) => name.clone(),
        (_, _) => match t.person_id {
            Some(p) => format!("Record {}", short(p)),
            None => match t.kind {
                TaskKind::ReferralTriage => format!("Referral {}", short(t.subject_id)),
                TaskKind::TellOfErasure => format!("Certificate {}", short(t.subject_id)),
                TaskKind::TrainingDue if t.subject_id == viewer => "Your training".to_owned(),
                TaskKind::TrainingDue => names
                    .get(&t.subject_id)
                    .cloned()
                    .unwrap_or_else(|| "A member of staff".to_owned()),
                _ => String::new(),
            },
        },
    }
}

fn line(view: &TaskView, viewer: Uuid, names: &Names) -> Line {
    let t = &view.task;
    // Who closed it, when a colleague did (by hand, or by the change that ended it; the sweep
    // names nobody).
    let by = t
        .closed_by
        .as_deref()
        .and_then(|b| Uuid::parse_str(b).ok())
        .and_then(|id| names.get(&id))
        .map(|name| format!(" by {name}"))
        .unwrap_or_default();
    Line {
        label: t.kind.label(),
        about: about(view, viewer, names),
        href: page_of(t, viewer),
        due: t
            .due_at_micros
            .map(|d| date(from_micros(d)))
            .unwrap_or_else(|| "No due date".to_owned()),
        overdue: view.overdue,
        opened: date_time(from_micros(t.opened_at_micros)),
        closed: match (t.closed_at_micros, &t.outcome, &t.done_on) {
            (Some(at), Some(how), Some(on)) => format!(
                "{} on {on} (recorded {}{by})",
                TellHow::from_code(how).map_or_else(|| how.clone(), |h| h.label().to_owned()),
                date_time(from_micros(at))
            ),
            (Some(at), _, _) => format!("{}{by}", date_time(from_micros(at))),
            _ => String::new(),
        },
    }
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct InboxPage {
    chrome: Chrome,
    open: Vec<Line>,
    overdue: usize,
    done: Vec<Line>,
}

pub async fn inbox<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    let me = signed.staff().id;
    let open = state
        .confidant
        .tasks(signed.actor(), TaskState::Open, INBOX_LIMIT)
        .await?;
    let done = state
        .confidant
        .tasks(signed.actor(), TaskState::Done, CLOSED_SHOWN)
        .await?;
    let names = state.confidant.colleague_names(signed.actor()).await?;
    render(&InboxPage {
        chrome: signed.chrome("/tasks"),
        overdue: open.iter().filter(|t| t.overdue).count(),
        open: open.iter().map(|t| line(t, me, &names)).collect(),
        done: done.iter().map(|t| line(t, me, &names)).collect(),
    })
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    line: Line,
    open: bool,
    by_hand: bool,
    record: Option<String>,
    /// The certificate of an erasure whose recipients are to be told.
    certificate: Option<String>,
    hows: Vec<(&'static str, &'static str, bool)>,
    day: String,
    month: String,
    year: String,
    errors: Vec<(String, String)>,
}

form_errors!(TaskPage);

async fn task_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    task_id: Uuid,
    form: Option<&CloseForm>,
    errors: Vec<(String, String)>,
) -> Result<TaskPage, PageError> {
    let view = state.confidant.task(signed.actor(), task_id).await?;
    let names = state.confidant.colleague_names(signed.actor()).await?;
    let chosen = form.map(|f| f.how.as_str()).unwrap_or_default();
    Ok(TaskPage {
        chrome: signed.chrome("/tasks"),
        csrf: signed.csrf().to_owned(),
        id: task_id.to_string(),
        open: view.task.state == TaskState::Open,
        by_hand: view.task.kind.closed_by_hand(),
        record: view.task.person_id.map(|p| p.to_string()),
        certificate: (view.task.kind == TaskKind::TellOfErasure)
            .then(|| view.task.subject_id.to_string()),
        hows: TellHow::ALL
            .iter()
            .map(|h| (h.code(), h.label(), h.code() == chosen))
            .collect(),
        day: form.map(|f| f.told_on_day.clone()).unwrap_or_default(),
        month: form.map(|f| f.told_on_month.clone()).unwrap_or_default(),
        year: form.map(|f| f.told_on_year.clone()).unwrap_or_default(),
        line: line(&view, signed.staff().id, &names),
        errors,
    })
}

pub async fn show<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(task_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&task_page(&state, &signed, task_id, None, Vec::new()).await?)
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    how: String,
    #[serde(default)]
    told_on_day: String,
    #[serde(default)]
    told_on_month: String,
    #[serde(default)]
    told_on_year: String,
}

crate::http::guard::posted!(CloseForm);

/// A date from its three parts, if they make one.
fn date_of(day: &str, month: &str, year: &str) -> Option<time::Date> {
    let (day, month, year) = (day.trim(), month.trim(), year.trim());
    if year.len() != 4 {
        return None;
    }
    let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

pub async fn close<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(task_id): Path<Uuid>,
    PostForm(form): PostForm<CloseForm>,
) -> Result<Response, PageError> {
    let mut errors = Vec::new();
    let how = TellHow::from_code(&form.how);
    if how.is_none() {
        errors.push(("how".to_owned(), "Choose how they were told".to_owned()));
    }
    let told_on = date_of(&form.told_on_day, &form.told_on_month, &form.told_on_year);
    if told_on.is_none() {
        errors.push((
            "told-on".to_owned(),
            "Enter the date they were told, for example 27 3 2026".to_owned(),
        ));
    }
    let result = match (how, told_on) {
        (Some(how), Some(on)) => Some(
            state
                .confidant
                .close_task(signed.actor(), task_id, how, on)
                .await,
        ),
        _ => None,
    };
    match result {
        Some(Ok(_)) => Ok(Redirect::to("/tasks").into_response()),
        Some(Err(OrganisationError::Invalid(v))) => {
            let page = task_page(&state, &signed, task_id, Some(&form), field_errors(&v)).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Some(Err(e)) => Err(e.into()),
        None => {
            let page = task_page(&state, &signed, task_id, Some(&form), errors).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}
