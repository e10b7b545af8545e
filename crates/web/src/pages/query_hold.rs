//! Legal holds on a query on pages: the organisation's list (the Data Protection Officer and the
//! Caldicott Guardian), placing one over a service's records in a period, and the Data Protection
//! Officer's release with a reason. Records are not named: a hold says how many it covers.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::keeping::{QueryHoldInput, query_hold_faults};
use confidant_core::person::{PersonError, Violation};
use confidant_core::store::{LegalHoldKind, Store};
use confidant_core::{Clock, Role};
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::page::Path;
use crate::http::routing::{Routes, get, post};
use crate::pages::form::{FormData, FormField, FormPage, form_error};
use crate::pages::record::person::who;
use crate::pages::sharing::consent::at as from_micros;
use crate::pages::{Chrome, PageError, Signed, St, TrainedForm, TrainedStaff, date_time, render};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/admin/holds", get(list_page::<S, C>).post(place::<S, C>))
        .route("/admin/holds/new", get(new_page::<S, C>))
        .route(
            "/admin/holds/{query_hold_id}/release",
            post(release::<S, C>),
        )
}

struct Line {
    id: String,
    kind: &'static str,
    service: String,
    period: String,
    reason: String,
    placed: String,
    covers: i64,
    live: bool,
    released: String,
    release_reason: String,
}

#[derive(Template)]
#[template(path = "query_holds.html")]
struct ListPage {
    chrome: Chrome,
    csrf: String,
    holds: Vec<Line>,
    may_release: bool,
    /// The hold whose release was refused, and why.
    error_hold: String,
    error: String,
    /// The error summary's line: (the release's reason field, why).
    errors: Vec<(String, String)>,
}

impl ListPage {
    /// The refused release's error, on its own hold's form.
    fn release_error_of(&self, hold: &str) -> &str {
        if hold == self.error_hold {
            &self.error
        } else {
            ""
        }
    }
}

async fn require_oversight<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<(), PageError> {
    signed
        .require(
            state,
            confidant_core::Action::OversightRead,
            signed.organisation(),
            "Only the Data Protection Officer and the Caldicott Guardian see and place holds on a query.",
        )
        .await
}

async fn list_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    error: Option<(Uuid, String)>,
) -> Result<ListPage, PageError> {
    let c = &state.confidant;
    let actor = signed.actor();
    let org = signed.staff().organisation_id;
    let holds = c.query_holds(actor, org).await?;
    let services = c.services(actor, org).await?;
    let names = c.colleague_names(actor).await?;
    let (error_hold, error) = error
        .map(|(id, message)| (id.to_string(), message))
        .unwrap_or_default();
    Ok(ListPage {
        chrome: signed.chrome("/admin/holds"),
        csrf: signed.csrf().to_owned(),
        holds: holds
            .into_iter()
            .map(|(h, covers)| Line {
                id: h.id.to_string(),
                kind: h.kind.label(),
                service: services
                    .iter()
                    .find(|s| s.id == h.service_id)
                    .map_or_else(|| h.service_id.to_string(), |s| s.name.clone()),
                period: format!("{} to {}", h.from_on, h.to_on),
                placed: format!(
                    "{} by {}",
                    date_time(from_micros(h.placed_at_micros)),
                    who(&names, &h.placed_by)
                ),
                covers,
                live: h.released_at_micros.is_none(),
                released: h
                    .released_at_micros
                    .map(|t| {
                        format!(
                            "{} by {}",
                            date_time(from_micros(t)),
                            who(&names, h.released_by.as_deref().unwrap_or_default())
                        )
                    })
                    .unwrap_or_default(),
                release_reason: h.release_reason.unwrap_or_default(),
                reason: h.reason,
            })
            .collect(),
        may_release: signed.staff().role == Role::DataProtectionOfficer,
        errors: if error.is_empty() {
            Vec::new()
        } else {
            vec![(format!("release-{error_hold}"), error.clone())]
        },
        error_hold,
        error,
    })
}

pub async fn list_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
) -> Result<Response, PageError> {
    require_oversight(&state, &signed).await?;
    render(&list_view(&state, &signed, None).await?)
}

async fn new_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<FormPage, PageError> {
    let services = state
        .confidant
        .services(signed.actor(), signed.staff().organisation_id)
        .await?;
    Ok(FormPage::new(
        signed.chrome("/admin/holds"),
        signed.csrf(),
        "Place a hold on a query",
        "/admin/holds",
        vec![
            FormField::radios(
                "kind",
                "Why the records must be kept",
                LegalHoldKind::ALL
                    .iter()
                    .map(|k| (k.code().to_owned(), k.label().to_owned()))
                    .collect(),
            ),
            FormField::radios(
                "service_id",
                "Whose records: the service",
                services
                    .into_iter()
                    .map(|s| (s.id.to_string(), s.name))
                    .collect(),
            ),
            FormField::date("from_on", "From", "").hint("The first day of the period, for example 1 4 2025."),
            FormField::date("to_on", "To", "").hint("The last day of the period (included)."),
            FormField::textarea("reason", "Why")
                .hint("Name the inquiry, claim or review, not any person: the reason is shown with the hold."),
        ],
        Vec::new(),
    )
    .back("/admin/holds")
    .intro("The hold keeps every record with a case in the service open at any time in the period, and every record of the service made in it, whoever they are: none of them is reviewed for destruction, destroyed, or loses any part while the hold is in force. Only the Data Protection Officer releases it.")
    .submit("Place the hold"))
}

pub async fn new_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
) -> Result<Response, PageError> {
    require_oversight(&state, &signed).await?;
    render(&new_view(&state, &signed).await?)
}

pub async fn place<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    require_oversight(&state, &signed).await?;
    let (from_on, to_on) = (form.date("from_on"), form.date("to_on"));
    let service_id = Uuid::parse_str(form.get("service_id").trim()).unwrap_or_default();
    let input = QueryHoldInput {
        kind: form.get("kind"),
        service_id,
        from_on: &from_on,
        to_on: &to_on,
        reason: form.get("reason"),
    };
    match state
        .confidant
        .place_query_hold(signed.actor(), signed.staff().organisation_id, input)
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/holds").into_response()),
        Err(PersonError::Invalid(v)) => Ok(form_error(
            new_view(&state, &signed).await?,
            &form,
            said(v.0),
        )),
        // No service, or one not of the organisation (the viewer oversees it, checked above):
        // that, and whatever else is wrong.
        Err(PersonError::NotFound) => {
            let mut faults = query_hold_faults(input);
            faults.push(Violation::new(
                "service_id",
                "Choose the service whose records it keeps",
            ));
            Ok(form_error(
                new_view(&state, &signed).await?,
                &form,
                said(faults),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The form's errors in its own words, by field.
fn said(faults: Vec<Violation>) -> Vec<(String, String)> {
    faults
        .into_iter()
        .map(|e| {
            let message = match e.field {
                "kind" => "Choose why the records must be kept".to_owned(),
                "reason" => format!("The reason {}", e.message),
                "from_on" => format!("The first day {}", e.message),
                "to_on" => format!("The last day {}", e.message),
                _ => e.message,
            };
            (e.field.to_owned(), message)
        })
        .collect()
}

pub async fn release<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(hold_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    match state
        .confidant
        .release_query_hold(
            signed.actor(),
            signed.staff().organisation_id,
            hold_id,
            form.get("reason"),
        )
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/holds").into_response()),
        Err(PersonError::Invalid(v)) => {
            let message =
                v.0.into_iter()
                    .map(|e| format!("The reason for releasing it {}", e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
            let page = list_view(&state, &signed, Some((hold_id, message))).await?;
            crate::pages::render_status(StatusCode::BAD_REQUEST, &page)
        }
        Err(e) => Err(e.into()),
    }
}
