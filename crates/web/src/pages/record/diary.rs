//! The diary (`/diary`): the appointments of this week or the next, today's first, of the people
//! the caller chooses as on the caseload page (their own by default), each linking to the record
//! and, while booked and still to come, to sending a reminder through the outbox.
//!
//! Weeks are UK weeks, Monday to Sunday; times are shown in UK time with GMT or BST.

use askama::Template;
use axum::response::Response;
use confidant_core::person::{CaseloadOf, DiaryLine};
use confidant_core::store::{EntryStatus, Store};
use confidant_core::{Clock, Purpose};
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

use crate::http::extract::page::Query;
use crate::pages::record::caseload::whose;
use crate::pages::record::people::own_service;
use crate::pages::{Chrome, PageError, St, TrainedStaff, render, uk_today};

#[derive(Deserialize, Default)]
pub struct DiaryParams {
    #[serde(default)]
    of: String,
    #[serde(default)]
    week: String,
}

pub struct Row {
    time: String,
    person_id: String,
    entry_id: String,
    person: String,
    title: String,
    place: String,
    status: String,
    key_worker: String,
    remind: bool,
}

pub struct Day {
    id: String,
    heading: String,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "diary.html")]
struct DiaryPage {
    chrome: Chrome,
    heading: String,
    whose: Vec<(String, String, bool)>,
    weeks: Vec<(String, String, bool)>,
    days: Vec<Day>,
    more: bool,
}

const DAY: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[weekday] [day padding:none] [month repr:long]");
const CLOCK: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[hour]:[minute]");

/// `GET /diary`: this week's appointments (or next week's), by UK day.
pub async fn diary<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Query(params): Query<DiaryParams>,
) -> Result<Response, PageError> {
    let service = own_service(&state, &signed).await?;
    let of = match params.of.as_str() {
        "" => CaseloadOf::Mine,
        code => CaseloadOf::from_code(code).ok_or_else(|| invalid("of", "whose diary"))?,
    };
    let next_week = match params.week.as_str() {
        "" | "this" => false,
        "next" => true,
        _ => return Err(invalid("week", "which week")),
    };
    let now = state.confidant.clock().now();
    let today = uk_today(now);
    let monday = today - Duration::days(i64::from(today.weekday().number_days_from_monday()));
    let first = if next_week {
        monday + Duration::days(7)
    } else {
        monday
    };
    let diary = state
        .confidant
        .diary(signed.actor(), Purpose::Support, service, of, first, 7)
        .await?;
    let row = |l: &DiaryLine| Row {
        time: format!(
            "{} {}",
            confidant_core::uk_time::to_uk(l.at)
                .format(CLOCK)
                .unwrap_or_default(),
            confidant_core::uk_time::zone_name(l.at)
        ),
        person_id: l.person_id.to_string(),
        entry_id: l.entry_id.to_string(),
        person: l.person_name.clone(),
        title: l.title.clone().unwrap_or_default(),
        place: l.place.clone().unwrap_or_default(),
        status: l.status.map(|s| s.label()).unwrap_or_default().to_owned(),
        key_worker: l
            .key_worker_id
            .and_then(|k| diary.workers.get(&k).cloned())
            .unwrap_or_else(|| "None".to_owned()),
        remind: l.status == Some(EntryStatus::Booked) && l.at > now,
    };
    let mut days: Vec<Day> = Vec::new();
    for offset in 0..7 {
        let day: Date = first + Duration::days(offset);
        let rows: Vec<Row> = diary
            .lines
            .iter()
            .filter(|l| uk_day(l.at) == day)
            .map(row)
            .collect();
        let name = day.format(DAY).unwrap_or_default();
        days.push(Day {
            id: format!("day-{day}"),
            heading: if day == today {
                format!("Today, {name}")
            } else {
                name
            },
            rows,
        });
    }
    // Today first, then the rest of the week in order.
    days.sort_by_key(|d| !d.heading.starts_with("Today"));
    render(&DiaryPage {
        chrome: signed.chrome("/diary"),
        heading: match (of, next_week) {
            (CaseloadOf::Mine, false) => "My diary this week".to_owned(),
            (CaseloadOf::Mine, true) => "My diary next week".to_owned(),
            (_, false) => "Diary this week".to_owned(),
            (_, true) => "Diary next week".to_owned(),
        },
        whose: whose(of, &diary.teams, &diary.workers, signed.staff().id),
        weeks: vec![
            ("this".to_owned(), "This week".to_owned(), !next_week),
            ("next".to_owned(), "Next week".to_owned(), next_week),
        ],
        days,
        more: diary.more,
    })
}

fn uk_day(t: OffsetDateTime) -> Date {
    confidant_core::uk_time::to_uk(t).date()
}

fn invalid(field: &str, what: &str) -> PageError {
    PageError::Invalid(vec![(
        field.to_owned(),
        format!("That is not {what} this page offers"),
    )])
}
