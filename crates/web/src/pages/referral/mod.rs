//! Referrals into the user's own service: the list (open ones first), recording a new one, and one
//! referral with its triage: contact attempted, no response, withdrawn, declined (which erases what
//! was received) or accepted (which creates the person and opens their case).
//!
//! Guarantees:
//! - Only the sources the service takes are offered; core refuses any other.
//! - Every step is a POST with the session's CSRF token; a step already taken answers 409.
//! - Names appear only while the referral still holds them; paths hold ids only.

use std::collections::HashMap;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::field::{RecordKind, record_fields};
use confidant_core::person::{PersonError, Violation, Violations};
use confidant_core::record::RecordInput;
use confidant_core::referral::{NewReferral, Referral};
use confidant_core::store::{ReferralSource, Store, TriageState};
use confidant_core::{Clock, Purpose};
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::page::Path;
use crate::http::routing::{Routes, get, post};
use crate::pages::form::FormData;
use crate::pages::form::{
    FormField, FormPage, catalogue_control, form_error, label_of, labelled_errors, posted_value,
};
use crate::pages::record::people::own_service;
use crate::pages::record::person::who;
use crate::pages::{Chrome, PageError, Signed, St, date, date_time, render, render_status};
use crate::pages::{TrainedForm, TrainedStaff};

fn from_micros(m: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// The referred person's name from what was received ("" once erased).
fn referred_name(values: &confidant_core::record::Values) -> String {
    [values.get("given_name"), values.get("family_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The colour of a triage state's tag.
fn state_colour(state: TriageState) -> &'static str {
    match state {
        TriageState::Received => "blue",
        TriageState::ContactAttempted => "yellow",
        TriageState::Accepted => "green",
        TriageState::Declined => "red",
        TriageState::NoResponse | TriageState::Withdrawn => "grey",
    }
}

struct ReferralRow {
    id: String,
    received: String,
    name: String,
    source: &'static str,
    state: &'static str,
    colour: &'static str,
}

#[derive(Template)]
#[template(path = "referrals.html")]
struct ReferralsPage {
    chrome: Chrome,
    open: Vec<ReferralRow>,
    closed: Vec<ReferralRow>,
}

pub async fn list<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
) -> Result<Response, PageError> {
    let service = own_service(&state, &signed).await?;
    let lines = state
        .confidant
        .referrals(signed.actor(), Purpose::Support, service, false)
        .await?;
    let (mut open, mut closed) = (Vec::new(), Vec::new());
    for line in lines {
        let name = referred_name(&line.values);
        let row = ReferralRow {
            id: line.record.id.to_string(),
            received: date(from_micros(line.record.received_at_micros)),
            name: if name.is_empty() {
                "Not held (erased)".to_owned()
            } else {
                name
            },
            source: line.record.source.label(),
            state: line.record.state.label(),
            colour: state_colour(line.record.state),
        };
        if line.record.state.is_open() {
            open.push(row);
        } else {
            closed.push(row);
        }
    }
    render(&ReferralsPage {
        chrome: signed.chrome("/referrals"),
        open,
        closed,
    })
}

fn referral_label(code: &str) -> Option<&'static str> {
    match code {
        "source" => Some("Who made the referral"),
        "partner_person_id" => Some("The person's record at the partner service"),
        other => label_of(Some(RecordKind::Referral), other),
    }
}

fn referral_fields(sources: &[ReferralSource]) -> Vec<FormField> {
    let mut fields = vec![FormField::radios(
        "source",
        "Who made the referral?",
        sources
            .iter()
            .map(|s| (s.code().to_owned(), s.label().to_owned()))
            .collect(),
    )];
    if sources.contains(&ReferralSource::Partner) {
        fields.push(
            FormField::input(
                "partner_person_id",
                "The person's record at the partner service",
            )
            .hint("Only for a referral from the partner service: the id of their record there.")
            .classes("govuk-input--width-30"),
        );
    }
    for spec in record_fields(RecordKind::Referral) {
        let required = matches!(spec.code, "given_name" | "family_name");
        let Some(mut field) = catalogue_control(spec, "", required) else {
            continue;
        };
        if !required && spec.code != "reason" {
            let hint = if field.hint.is_empty() {
                "Optional".to_owned()
            } else {
                format!("Optional. {}", field.hint)
            };
            field = field.hint(&hint);
        }
        field = match spec.code {
            "given_name" => field.heading("About the person"),
            "referrer_name" => field.heading("Who referred them"),
            "reason" => field.heading("Why they were referred"),
            _ => field,
        };
        fields.push(field);
    }
    fields
}

async fn new_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    service: Uuid,
) -> Result<FormPage, PageError> {
    let config = state.confidant.service_config(service).await?;
    // A partner referral is sent by the partner service's own staff (through the API), never
    // recorded here by the receiving service.
    let sources: Vec<ReferralSource> = ReferralSource::ALL
        .iter()
        .copied()
        .filter(|s| config.referrals.accepts(*s) && *s != ReferralSource::Partner)
        .collect();
    if sources.is_empty() {
        return Err(PageError::Forbidden(
            "This service takes referrals only from its partner service, whose staff send them.",
        ));
    }
    Ok(FormPage::new(
        signed.chrome("/referrals"),
        signed.csrf(),
        "Record a referral",
        "/referrals/new",
        referral_fields(&sources),
        Vec::new(),
    )
    .back("/referrals")
    .intro("Record what was received. If the referral is declined, all of it is erased.")
    .submit("Record the referral"))
}

pub async fn new_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
) -> Result<Response, PageError> {
    let service = own_service(&state, &signed).await?;
    render(&new_page(&state, &signed, service).await?)
}

pub async fn create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let service = own_service(&state, &signed).await?;
    let page = new_page(&state, &signed, service).await?;
    let mut problems = Vec::new();
    let source = ReferralSource::from_code(form.get("source"));
    if source.is_none() {
        problems.push(Violation::new("source", "must be chosen"));
    }
    let partner = match form.get("partner_person_id").trim() {
        "" => None,
        text => match Uuid::parse_str(text) {
            Ok(id) => Some(id),
            Err(_) => {
                problems.push(Violation::new(
                    "partner_person_id",
                    "must be the id of a record",
                ));
                None
            }
        },
    };
    let Some(source) = source.filter(|_| problems.is_empty()) else {
        let errors = labelled_errors(&Violations(problems), referral_label);
        return Ok(form_error(page, &form, errors));
    };
    let mut values = RecordInput::new();
    for field in page
        .fields
        .iter()
        .filter(|f| !matches!(f.name.as_str(), "source" | "partner_person_id"))
    {
        let value = posted_value(field, &form);
        if !value.trim().is_empty() {
            values = values.with(&field.name, value);
        }
    }
    // The names are required: given empty, so that core names them.
    for code in ["given_name", "family_name"] {
        if form.get(code).trim().is_empty() {
            values = values.with(code, "");
        }
    }
    let new = NewReferral {
        source,
        partner_person_id: partner,
        values,
    };
    match state
        .confidant
        .create_referral(signed.actor(), Purpose::Support, service, &new)
        .await
    {
        Ok(r) => Ok(Redirect::to(&format!("/referrals/{}", r.record.id)).into_response()),
        Err(PersonError::Invalid(v)) => {
            Ok(form_error(page, &form, labelled_errors(&v, referral_label)))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "referral.html")]
struct ReferralPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    name: String,
    received: String,
    source: &'static str,
    state: &'static str,
    colour: &'static str,
    open: bool,
    partner_person: String,
    person: String,
    values: Vec<(&'static str, String)>,
    steps: Vec<Vec<String>>,
    duplicate_people: Vec<String>,
    duplicate_referrals: Vec<String>,
    key_worker: String,
    key_worker_error: String,
    errors: Vec<(String, String)>,
}

fn referral_page(
    signed: &Signed,
    referral: &Referral,
    handles: &HashMap<Uuid, String>,
    key_worker: &str,
    errors: Vec<(String, String)>,
) -> ReferralPage {
    let record = &referral.record;
    let values = record_fields(RecordKind::Referral)
        .filter_map(|f| referral.values.get(f.code).map(|v| (f.label, v.to_owned())))
        .collect();
    let name = referred_name(&referral.values);
    ReferralPage {
        chrome: signed.chrome("/referrals"),
        csrf: signed.csrf().to_owned(),
        id: record.id.to_string(),
        name: if name.is_empty() {
            "Referral".to_owned()
        } else {
            format!("Referral of {name}")
        },
        received: date_time(referral.received_at()),
        source: record.source.label(),
        state: record.state.label(),
        colour: state_colour(record.state),
        open: record.state.is_open(),
        partner_person: record
            .partner_person_id
            .map(|p| p.to_string())
            .unwrap_or_default(),
        person: record.person_id.map(|p| p.to_string()).unwrap_or_default(),
        values,
        steps: referral
            .steps
            .iter()
            .map(|s| {
                vec![
                    date_time(from_micros(s.at_micros)),
                    s.state.label().to_owned(),
                    who(handles, &s.actor),
                ]
            })
            .collect(),
        duplicate_people: referral
            .duplicate_people
            .iter()
            .map(Uuid::to_string)
            .collect(),
        duplicate_referrals: referral
            .duplicate_referrals
            .iter()
            .map(Uuid::to_string)
            .collect(),
        key_worker: key_worker.to_owned(),
        key_worker_error: crate::pages::error_for(&errors, "key-worker"),
        errors,
    }
}

pub async fn show<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(referral_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let c = &state.confidant;
    let referral = c
        .referral(signed.actor(), Purpose::Support, referral_id)
        .await?;
    let handles = c.colleague_names(signed.actor()).await?;
    render(&referral_page(&signed, &referral, &handles, "", Vec::new()))
}

pub async fn triage<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(referral_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let to = TriageState::from_code(form.get("state"))
        .filter(|s| {
            matches!(
                s,
                TriageState::ContactAttempted
                    | TriageState::NoResponse
                    | TriageState::Withdrawn
                    | TriageState::Declined
            )
        })
        .ok_or_else(|| {
            PageError::Invalid(vec![(
                "state".to_owned(),
                "That is not a step of triage.".to_owned(),
            )])
        })?;
    state
        .confidant
        .triage_referral(signed.actor(), Purpose::Support, referral_id, to)
        .await?;
    Ok(Redirect::to(&format!("/referrals/{referral_id}")).into_response())
}

pub async fn accept<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(referral_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let c = &state.confidant;
    let handle = form.get("key_worker").trim();
    let key_worker = if handle.is_empty() {
        Ok(None)
    } else {
        match c.staff_by_handle(handle).await? {
            Some(staff) if staff.service_id == signed.staff().service_id => Ok(Some(staff.id)),
            _ => Err(Violations(vec![Violation::new(
                "key_worker",
                "is not the user name of a member of staff of this service",
            )])),
        }
    };
    let result = match key_worker {
        Ok(key_worker) => {
            c.accept_referral(signed.actor(), Purpose::Support, referral_id, key_worker)
                .await
        }
        Err(v) => Err(PersonError::Invalid(v)),
    };
    match result {
        Ok((person_id, _case)) => Ok(Redirect::to(&format!("/people/{person_id}")).into_response()),
        Err(PersonError::Invalid(v)) => {
            let referral = c
                .referral(signed.actor(), Purpose::Support, referral_id)
                .await?;
            let handles = c.colleague_names(signed.actor()).await?;
            let errors = labelled_errors(&v, |code| match code {
                "key_worker" | "key_worker_id" => Some("Key worker"),
                other => referral_label(other),
            })
            .into_iter()
            .map(|(id, m)| {
                // The core names the key worker by id; the form asks for a user name.
                let id = if id == "key-worker-id" {
                    "key-worker".to_owned()
                } else {
                    id
                };
                (id, m)
            })
            .collect();
            render_status(
                StatusCode::BAD_REQUEST,
                &referral_page(&signed, &referral, &handles, handle, errors),
            )
        }
        Err(e) => Err(e.into()),
    }
}

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/referrals", get(list::<S, C>))
        .route("/referrals/new", get(new_form::<S, C>).post(create::<S, C>))
        .route("/referrals/{referral_id}", get(show::<S, C>))
        .route("/referrals/{referral_id}/triage", post(triage::<S, C>))
        .route("/referrals/{referral_id}/accept", post(accept::<S, C>))
}
