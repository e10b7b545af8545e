//! The people page as a caseload: the people a worker looks after as a table (name, date of birth,
//! record number, key worker, case, last contact), their own by default, chosen by whose and by
//! case status, sorted by any column; the service's caseloads counted per worker for its managers
//! (`/caseloads`); and, for a processor's worker, the people referred to them.
//!
//! The choices travel in the address (`?of=mine&status=open&sort=name&order=asc`): codes and staff
//! or team ids only, never anything about a person.

use askama::Template;
use axum::response::Response;
use confidant_core::person::{Caseload, CaseloadOf, CaseloadQuery, CaseloadSort, PersonError};
use confidant_core::store::{CaseStatus, Store};
use confidant_core::{Clock, Purpose, Role};
use serde::Deserialize;
use std::collections::BTreeMap;

use uuid::Uuid;

use crate::http::extract::page::Query;
use crate::pages::record::people::own_service;
use crate::pages::{Chrome, PageError, St, TrainedStaff, date, render};

/// What the address asks for; every part may be left out.
#[derive(Deserialize, Default)]
pub struct CaseloadParams {
    #[serde(default)]
    of: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    order: String,
}

/// The address's choices, read; a value the page does not offer is a 400 naming the parameter.
struct Choice(CaseloadQuery);

impl Choice {
    fn read(p: &CaseloadParams) -> Result<Self, PageError> {
        CaseloadQuery::parse(&p.of, &p.status, &p.sort, &p.order)
            .map(Choice)
            .map_err(|v| PageError::Invalid(crate::pages::field_errors(&v)))
    }

    fn status_code(&self) -> &'static str {
        self.0.status.map_or("any", |s| s.code())
    }

    /// The address of this page with these choices, sorted by `sort` in `descending` order.
    fn href(&self, sort: CaseloadSort, descending: bool) -> String {
        format!(
            "/people?of={}&status={}&sort={}&order={}",
            self.0.of.code(),
            self.status_code(),
            sort.code(),
            if descending { "desc" } else { "asc" }
        )
    }
}

/// A sortable column's heading.
pub struct Column {
    label: &'static str,
    href: String,
    aria_sort: &'static str,
    /// What following the link does, for screen readers.
    action: &'static str,
}

pub struct Row {
    id: String,
    name: String,
    date_of_birth: String,
    record_number: i64,
    key_worker: String,
    status: String,
    last_contact: String,
}

#[derive(Template)]
#[template(path = "caseload.html")]
struct CaseloadPage {
    chrome: Chrome,
    csrf: String,
    heading: String,
    manages: bool,
    whose: Vec<(String, String, bool)>,
    statuses: Vec<(String, String, bool)>,
    sort: String,
    order: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    more: bool,
    empty: String,
    name_query: String,
    identifier_kind: String,
    errors: Vec<(String, String)>,
}

form_errors!(CaseloadPage);

const COLUMNS: [CaseloadSort; 6] = [
    CaseloadSort::Name,
    CaseloadSort::BirthDate,
    CaseloadSort::RecordNumber,
    CaseloadSort::KeyWorker,
    CaseloadSort::Status,
    CaseloadSort::LastContact,
];

/// `GET /people`: the caller's caseload, or for a processor's worker the people referred to them.
pub async fn list<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Query(params): Query<CaseloadParams>,
) -> Result<Response, PageError> {
    if signed.staff().role == Role::ProcessorStaff {
        return referred(&state, &signed).await;
    }
    let service = own_service(&state, &signed).await?;
    let choice = Choice::read(&params)?;
    let caseload = state
        .confidant
        .caseload(signed.actor(), Purpose::Support, service, choice.0)
        .await?;
    let role = signed.staff().role;
    render(&CaseloadPage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        heading: heading(&choice, &caseload),
        manages: manages(role),
        whose: whose(
            choice.0.of,
            &caseload.teams,
            &caseload.workers,
            signed.staff().id,
        ),
        statuses: std::iter::once(("any".to_owned(), "Any".to_owned(), choice.0.status.is_none()))
            .chain(CaseStatus::ALL.iter().map(|s| {
                (
                    s.code().to_owned(),
                    s.label().to_owned(),
                    choice.0.status == Some(*s),
                )
            }))
            .collect(),
        sort: choice.0.sort.code().to_owned(),
        order: if choice.0.descending { "desc" } else { "asc" }.to_owned(),
        columns: COLUMNS
            .iter()
            .map(|&c| {
                let current = c == choice.0.sort;
                let next_descending = current && !choice.0.descending;
                Column {
                    label: c.label(),
                    href: choice.href(c, next_descending),
                    aria_sort: match (current, choice.0.descending) {
                        (false, _) => "none",
                        (true, false) => "ascending",
                        (true, true) => "descending",
                    },
                    action: if next_descending {
                        "sort in descending order"
                    } else {
                        "sort in ascending order"
                    },
                }
            })
            .collect(),
        more: caseload.more,
        empty: match choice.0.of {
            CaseloadOf::Mine if choice.0.status.is_none() => {
                "No one has you as their key worker. Choose \u{201c}Everyone you can see\u{201d} to see the others.".to_owned()
            }
            _ => "No one you can see matches.".to_owned(),
        },
        rows: rows(&caseload),
        name_query: String::new(),
        identifier_kind: String::new(),
        errors: Vec::new(),
    })
}

/// Managers of a service see its caseloads per worker.
fn manages(role: Role) -> bool {
    matches!(role, Role::ServiceManager | Role::TeamManager)
}

fn heading(choice: &Choice, caseload: &Caseload) -> String {
    match choice.0.of {
        CaseloadOf::Mine => "My caseload".to_owned(),
        CaseloadOf::Everyone => "Everyone you can see".to_owned(),
        CaseloadOf::Unassigned => "People without a key worker".to_owned(),
        CaseloadOf::Worker(id) => match caseload.workers.get(&id) {
            Some(handle) => format!("Caseload of {handle}"),
            None => "Caseload of a former colleague".to_owned(),
        },
        CaseloadOf::Team(id) => match caseload.teams.get(&id) {
            Some(name) => format!("People in the team {name}"),
            None => "People in a team".to_owned(),
        },
    }
}

/// The "whose people" choices: mine, everyone, nobody's, each team, each worker (but oneself);
/// `current` is selected.
pub(crate) fn whose(
    current: CaseloadOf,
    teams: &BTreeMap<Uuid, String>,
    workers: &BTreeMap<Uuid, String>,
    me: Uuid,
) -> Vec<(String, String, bool)> {
    let mut options = vec![
        ("mine".to_owned(), "My caseload".to_owned()),
        ("everyone".to_owned(), "Everyone you can see".to_owned()),
        ("unassigned".to_owned(), "No key worker".to_owned()),
    ];
    options.extend(
        teams
            .iter()
            .map(|(id, name)| (format!("team-{id}"), format!("Team: {name}"))),
    );
    options.extend(
        workers
            .iter()
            .filter(|(id, _)| **id != me)
            .map(|(id, handle)| (format!("worker-{id}"), format!("Key worker: {handle}"))),
    );
    let current = current.code();
    options
        .into_iter()
        .map(|(value, label)| {
            let selected = value == current;
            (value, label, selected)
        })
        .collect()
}

fn rows(caseload: &Caseload) -> Vec<Row> {
    caseload
        .lines
        .iter()
        .map(|l| Row {
            id: l.id.to_string(),
            name: format!("{} {}", l.given_name, l.family_name)
                .trim()
                .to_owned(),
            date_of_birth: l
                .date_of_birth
                .as_deref()
                .map(birth_date)
                .unwrap_or_default(),
            record_number: l.record_number,
            key_worker: l
                .key_worker_id
                .map(|k| {
                    caseload
                        .workers
                        .get(&k)
                        .cloned()
                        .unwrap_or_else(|| "a former colleague".to_owned())
                })
                .unwrap_or_else(|| "None".to_owned()),
            status: match (l.status, l.status_since) {
                (CaseStatus::Open, Some(t)) => format!("Open since {}", date(t)),
                (CaseStatus::Closed, Some(t)) => format!("Closed {}", date(t)),
                (s, _) => s.label().to_owned(),
            },
            last_contact: l
                .last_contact
                .map(date)
                .unwrap_or_else(|| "None".to_owned()),
        })
        .collect()
}

/// A stored date of birth (`YYYY-MM-DD`) as people read it ("5 Mar 1990").
fn birth_date(stored: &str) -> String {
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    let shown = time::macros::format_description!("[day] [month repr:short] [year]");
    time::Date::parse(stored, &iso)
        .ok()
        .and_then(|d| d.format(&shown).ok())
        .unwrap_or_else(|| stored.to_owned())
}

#[derive(Template)]
#[template(path = "referred.html")]
struct ReferredPage {
    chrome: Chrome,
    rows: Vec<(String, String, String, String)>,
}

/// A processor's worker's people: those referred to them by a disclosure still running.
async fn referred<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &crate::pages::Signed,
) -> Result<Response, PageError> {
    let lines = state
        .confidant
        .referred_to_me(signed.actor(), Purpose::Support)
        .await?;
    render(&ReferredPage {
        chrome: signed.chrome("/people"),
        rows: lines
            .into_iter()
            .map(|l| {
                (
                    l.id.to_string(),
                    if l.name.is_empty() {
                        "A person referred to you".to_owned()
                    } else {
                        l.name
                    },
                    date(l.referred_at),
                    date(l.ends_at),
                )
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "caseloads.html")]
struct CaseloadsPage {
    chrome: Chrome,
    heading: String,
    rows: Vec<(String, String, i64, i64)>,
    total: i64,
}

/// `GET /caseloads`: the service's caseloads per worker, for its managers (a team manager's team).
pub async fn counts<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
) -> Result<Response, PageError> {
    const NOT_YOURS: &str = "Only the managers of a service see its caseloads per worker.";
    let role = signed.staff().role;
    // Those without a service are refused (and the refusal audited) as from the people list; a
    // practitioner's refusal is audited by core.
    let service = own_service(&state, &signed).await?;
    let counts = match state
        .confidant
        .caseload_counts(signed.actor(), Purpose::Support, service)
        .await
    {
        Ok(counts) => counts,
        Err(PersonError::NotFound) => return Err(PageError::Forbidden(NOT_YOURS)),
        Err(e) => return Err(e.into()),
    };
    let workers = &counts.workers;
    let mut rows: Vec<(String, String, i64, i64)> = counts
        .loads
        .iter()
        .map(|l| match l.key_worker_id {
            Some(id) => (
                format!("/people?of=worker-{id}"),
                workers
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| "A former colleague".to_owned()),
                l.people,
                l.open_cases,
            ),
            None => (
                "/people?of=unassigned".to_owned(),
                "No key worker".to_owned(),
                l.people,
                l.open_cases,
            ),
        })
        .collect();
    rows.sort_by_key(|r| r.1.to_lowercase());
    render(&CaseloadsPage {
        chrome: signed.chrome("/people"),
        heading: if role == Role::ServiceManager {
            "Caseloads in your service".to_owned()
        } else {
            "Caseloads in your team".to_owned()
        },
        total: counts.loads.iter().map(|l| l.people).sum(),
        rows,
    })
}
