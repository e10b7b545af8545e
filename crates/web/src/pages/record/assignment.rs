//! Putting a person in a team and giving them a key worker, on a page (the service's managers):
//! who looks after a person decides who sees their record in a service kept to teams or
//! caseloads.

use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::person::PersonError;
use confidant_core::record::Need;
use confidant_core::{Clock, Purpose};
use uuid::Uuid;

use crate::http::extract::page::Path;
use crate::pages::form::{FormData, FormField, FormPage, form_error, labelled_errors};
use crate::pages::record::person::{check, offers, read_name};
use crate::pages::{PageError, Signed, St, TrainedForm, TrainedStaff, render};
use confidant_core::store::Store;

const NONE: &str = "none";

async fn page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
) -> Result<FormPage, PageError> {
    check(state, signed, person_id, Need::Assign).await?;
    let options = state
        .confidant
        .assignment_options(signed.actor(), Purpose::Support, person_id)
        .await?;
    // The name for the caption, where the manager may read the record (a team manager may assign
    // a person of their service whose record is kept to another team).
    let name = if offers(state, signed, person_id, Need::Read).await? {
        read_name(state, signed, person_id, Need::Read)
            .await?
            .full()
    } else {
        format!("Record {}", &person_id.to_string()[..8])
    };
    let mut teams = vec![(NONE.to_owned(), "No team".to_owned())];
    teams.extend(
        options
            .teams
            .iter()
            .map(|t| (t.id.to_string(), t.name.clone())),
    );
    let mut workers = vec![(NONE.to_owned(), "No key worker".to_owned())];
    workers.extend(
        options
            .workers
            .iter()
            .map(|s| (s.id.to_string(), s.name_and_title())),
    );
    let current = |id: Option<Uuid>| id.map_or_else(|| NONE.to_owned(), |i| i.to_string());
    Ok(FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Team and key worker",
        format!("/people/{person_id}/assignment"),
        vec![
            FormField::radios("team_id", "Team", teams)
                .hint("In a service kept to teams, only the team's staff and the service manager see the record.")
                .value(&current(options.team_id)),
            FormField::radios("key_worker_id", "Key worker", workers)
                .hint("In a service kept to caseloads, the key worker, their team's manager and the service manager see the record.")
                .value(&current(options.key_worker_id)),
        ],
        Vec::new(),
    )
    .caption(name)
    .back(format!("/people/{person_id}"))
    .submit("Save"))
}

pub async fn form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&page(&state, &signed, person_id).await?)
}

/// An id from the form: `none` (or nothing) clears it; anything else must be an id.
fn chosen(form: &FormData, name: &'static str) -> Result<Option<Uuid>, (String, String)> {
    match form.get(name) {
        "" | NONE => Ok(None),
        raw => Uuid::parse_str(raw).map(Some).map_err(|_| {
            (
                name.replace('_', "-"),
                "Choose one of the options".to_owned(),
            )
        }),
    }
}

pub async fn submit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let page = page(&state, &signed, person_id).await?;
    let (team, worker) = match (chosen(&form, "team_id"), chosen(&form, "key_worker_id")) {
        (Ok(t), Ok(w)) => (t, w),
        (t, w) => {
            let errors = [t.err(), w.err()].into_iter().flatten().collect();
            return Ok(form_error(page, &form, errors));
        }
    };
    match state
        .confidant
        .assign_person(signed.actor(), Purpose::Support, person_id, team, worker)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/people/{person_id}")).into_response()),
        Err(PersonError::Invalid(v)) => Ok(form_error(
            page,
            &form,
            labelled_errors(&v, |code| match code {
                "team_id" => Some("Team"),
                "key_worker_id" => Some("Key worker"),
                _ => None,
            }),
        )),
        Err(e) => Err(e.into()),
    }
}
