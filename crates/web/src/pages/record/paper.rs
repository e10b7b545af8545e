//! The paper register of the user's own service: every paper note awaiting transcription or
//! destruction and every archived paper file of the people within their scope, soonest due first,
//! with a link to the person's page.
//! It shows kinds, statuses and dates only; what the paper holds stays in each person's record.

use askama::Template;
use axum::response::Response;
use confidant_core::store::{EntryStatus, Store};
use confidant_core::{Clock, Purpose};

use crate::pages::TrainedStaff;
use crate::pages::record::people::own_service;
use crate::pages::record::person::kind_label;
use crate::pages::{Chrome, PageError, St, date, render};

struct PaperRow {
    kind: &'static str,
    status: &'static str,
    due: String,
    overdue: bool,
    person: String,
}

#[derive(Template)]
#[template(path = "paper_register.html")]
struct RegisterPage {
    chrome: Chrome,
    rows: Vec<PaperRow>,
}

pub async fn register<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
) -> Result<Response, PageError> {
    let service = own_service(&state, &signed).await?;
    let now = state.confidant.clock().now();
    let rows = state
        .confidant
        .paper_register(signed.actor(), Purpose::Support, service)
        .await?
        .into_iter()
        .map(|e| {
            let due = e.due_at_micros.map(|m| {
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
            });
            PaperRow {
                kind: kind_label(e.kind),
                status: e.status.map_or("", EntryStatus::label),
                due: due.map_or_else(|| "Not set".to_owned(), date),
                overdue: due.is_some_and(|d| d < now) && e.status != Some(EntryStatus::Destroyed),
                person: e.person_id.to_string(),
            }
        })
        .collect();
    render(&RegisterPage {
        chrome: signed.chrome("/paper"),
        rows,
    })
}
