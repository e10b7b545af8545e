//! Keeping and destroying on pages: a record's legal holds (placed by the Data Protection Officer
//! or the Caldicott Guardian, released by the Data Protection Officer), destroying a record (the
//! Data Protection Officer: what it would reach first, then the decision), and the organisation's
//! destruction certificates. Nothing here shows the record's content: the pages name the record by
//! its id, and a hold's reasons are opened only for those who may place one.

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::account::SignInError;
use confidant_core::keeping::DestructionBasis;
use confidant_core::person::PersonError;
use confidant_core::store::{LegalHoldKind, Store};
use confidant_core::{Clock, Purpose, Role};
use uuid::Uuid;

use super::certificate;
use crate::AppState;
use crate::http::extract::page::Path;
use crate::http::routing::{Routes, get, post};
use crate::pages::form::{FormData, FormField, FormPage, form_error};
use crate::pages::record::merge::moved_lines;
use crate::pages::record::person::who;
use crate::pages::{Chrome, PageError, Signed, St, TrainedForm, TrainedStaff, date_time, render};

const P: Purpose = Purpose::Administration;

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route(
            "/people/{person_id}/holds",
            get(holds_page::<S, C>).post(place::<S, C>),
        )
        .route(
            "/people/{person_id}/holds/{hold_id}/release",
            post(release::<S, C>),
        )
        .route(
            "/people/{person_id}/destroy",
            get(destroy_form::<S, C>).post(destroy::<S, C>),
        )
        .route(
            "/admin/destruction-certificates",
            get(certificate::certificates_page::<S, C>),
        )
        .route(
            "/admin/destruction-certificates/{certificate_id}",
            get(certificate::certificate_page::<S, C>),
        )
}

struct HoldLine {
    id: String,
    kind: &'static str,
    placed: String,
    reason: String,
    live: bool,
    released: String,
    release_reason: String,
}

#[derive(Template)]
#[template(path = "holds.html")]
struct HoldsPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    holds: Vec<HoldLine>,
    kinds: Vec<(&'static str, &'static str)>,
    may_release: bool,
    may_destroy: bool,
    /// A hold in force: the record cannot be destroyed.
    any_live: bool,
    /// What the placing form was given, when it comes back with errors.
    kind_given: String,
    reason_given: String,
    /// The hold whose release was refused, and why.
    released_with_error: String,
    release_error: String,
    errors: Vec<(String, String)>,
}

impl HoldsPage {
    /// The refused release's error, on its own hold's form.
    fn release_error_of(&self, hold: &str) -> &str {
        if hold == self.released_with_error {
            &self.release_error
        } else {
            ""
        }
    }
}

/// What a refused form brings back to the page.
#[derive(Default)]
struct Given {
    kind: String,
    reason: String,
    /// A release refused: the hold, and the message.
    release: Option<(Uuid, String)>,
}

form_errors!(HoldsPage);

async fn holds_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    mut errors: Vec<(String, String)>,
    given: Given,
) -> Result<HoldsPage, PageError> {
    let c = &state.confidant;
    let actor = signed.actor();
    let holds = c.holds(actor, P, person_id).await?;
    let names = c.colleague_names(actor).await?;
    let dpo = signed.staff().role == Role::DataProtectionOfficer;
    let any_live = holds.iter().any(|h| h.record.live());
    let (released_with_error, release_error) = match given.release {
        Some((hold, message)) => {
            errors.push((format!("release-{hold}"), message.clone()));
            (hold.to_string(), message)
        }
        None => (String::new(), String::new()),
    };
    Ok(HoldsPage {
        any_live,
        kind_given: given.kind,
        reason_given: given.reason,
        released_with_error,
        release_error,
        chrome: signed.chrome(""),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        holds: holds
            .into_iter()
            .map(|h| HoldLine {
                id: h.record.id.to_string(),
                kind: h.record.kind.label(),
                placed: format!(
                    "{} by {}",
                    date_time(h.placed_at()),
                    who(&names, &h.record.placed_by)
                ),
                live: h.record.live(),
                released: h
                    .released_at()
                    .map(|t| {
                        format!(
                            "{} by {}",
                            date_time(t),
                            who(&names, h.record.released_by.as_deref().unwrap_or_default())
                        )
                    })
                    .unwrap_or_default(),
                release_reason: h.release_reason.clone().unwrap_or_default(),
                reason: h.reason,
            })
            .collect(),
        kinds: LegalHoldKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        may_release: dpo,
        may_destroy: dpo,
        errors,
    })
}

pub async fn holds_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&holds_view(&state, &signed, person_id, Vec::new(), Given::default()).await?)
}

/// A refusal of the form's input, on the page again (400) with what was given; anything else as
/// it is.
async fn with_errors<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    e: PersonError,
    mut given: Given,
) -> Result<Response, PageError> {
    match e {
        PersonError::Invalid(v) => {
            let mut errors: Vec<(String, String)> =
                v.0.into_iter()
                    .map(|e| (e.field.to_owned(), e.message))
                    .collect();
            if let Some((hold, _)) = given.release.take() {
                let message = errors
                    .drain(..)
                    .map(|(_, m)| format!("The reason {m}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                given.release = Some((hold, message));
            } else {
                for (field, message) in &mut errors {
                    *message = match field.as_str() {
                        "kind" => "Choose why the record must be kept".to_owned(),
                        _ => format!("The details {message}"),
                    };
                }
            }
            let page = holds_view(state, signed, person_id, errors, given).await?;
            crate::pages::render_status(axum::http::StatusCode::BAD_REQUEST, &page)
        }
        other => Err(other.into()),
    }
}

pub async fn place<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    match state
        .confidant
        .place_hold(
            signed.actor(),
            P,
            person_id,
            form.get("kind"),
            None,
            form.get("reason"),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/people/{person_id}/holds")).into_response()),
        Err(e) => {
            let given = Given {
                kind: form.get("kind").to_owned(),
                reason: form.get("reason").to_owned(),
                release: None,
            };
            with_errors(&state, &signed, person_id, e, given).await
        }
    }
}

pub async fn release<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, hold_id)): Path<(Uuid, Uuid)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    match state
        .confidant
        .release_hold(signed.actor(), P, person_id, hold_id, form.get("reason"))
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/people/{person_id}/holds")).into_response()),
        Err(e) => {
            let given = Given {
                release: Some((hold_id, String::new())),
                ..Given::default()
            };
            with_errors(&state, &signed, person_id, e, given).await
        }
    }
}

/// What destroying a record reaches beyond the person's details and key, in words ("3 notes, 1
/// document, …"), for the pages that ask to confirm it.
pub(crate) fn reach(scope: &confidant_core::store::DestructionScope) -> String {
    let mut reach = moved_lines(&scope.counts);
    if scope.merged_records > 0 {
        reach.push(format!(
            "{} record(s) merged into this one",
            scope.merged_records
        ));
    }
    if reach.is_empty() {
        "only the person's details".to_owned()
    } else {
        reach.join(", ")
    }
}

async fn destroy_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
) -> Result<FormPage, PageError> {
    let preview = state
        .confidant
        .destruction_preview(signed.actor(), P, person_id)
        .await?;
    let reach = reach(&preview.scope);
    let mut page = FormPage::new(
        signed.chrome(""),
        signed.csrf(),
        "Destroy this record",
        format!("/people/{person_id}/destroy"),
        vec![
            FormField::radios(
                "basis",
                "On what basis",
                DestructionBasis::ALL
                    .iter()
                    .map(|b| (b.code().to_owned(), b.label().to_owned()))
                    .collect(),
            ),
            FormField::textarea("reason", "Why")
                .hint("Without naming anyone: this is kept on the certificate after the record is gone. A reason holding the person's name, date of birth, identifiers or contact details is refused."),
            FormField::input("password", "Your password")
                .input_type("password")
                .hint("Asked again before a record is destroyed, unless you signed in or gave it in the last few minutes."),
            FormField::checkboxes(
                "confirm",
                "This cannot be undone",
                vec![(
                    "confirm".to_owned(),
                    "I understand the record, its keys and everything in it will be destroyed".to_owned(),
                    false,
                )],
            ),
        ],
        Vec::new(),
    )
    .back(format!("/people/{person_id}/holds"))
    .intro(format!(
        "Destroying reaches: the person's details and key, {reach}, their search entries, and the keys of their related people and referrals. Kept: {} audit event(s) about the record (ids, actions and times only) and a certificate that names no one.{}",
        preview.scope.audit_events,
        if preview.scope.paper > 0 {
            format!(
                " {} paper note(s) or archived file(s) are recorded: their entries go, and the paper must be collected and destroyed.",
                preview.scope.paper
            )
        } else {
            String::new()
        }
    ))
    .submit("Destroy the record")
    .submit_classes("govuk-button--warning");
    // The scope counts holds on a query covering the record too.
    if preview.scope.live_holds > 0 {
        page = page.warning(format!(
            "{} legal hold(s) in force: the record cannot be destroyed until the Data Protection Officer releases them.",
            preview.scope.live_holds
        ));
    }
    Ok(page)
}

/// A destruction confirmed on its form: the box that says it cannot be undone ticked, then the
/// password again unless it was given a moment ago, asked only once the form is otherwise
/// complete (`errors` empty), so a half-filled form never counts as a failed attempt. The form's
/// errors when it is not (`to` says what it was for); a lock-out signs out.
pub(crate) async fn confirmed<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    form: &FormData,
    mut errors: Vec<(String, String)>,
    to: &str,
) -> Result<Option<Vec<(String, String)>>, PageError> {
    if !form.ticked("confirm") {
        errors.push((
            "confirm".to_owned(),
            "Tick to say you understand the record will be destroyed".to_owned(),
        ));
    }
    if !errors.is_empty() {
        return Ok(Some(errors));
    }
    let now = state.confidant.clock().now();
    if signed
        .session
        .recently_authenticated(now, &state.confidant.settings().session)
    {
        return Ok(None);
    }
    match state
        .confidant
        .reauthenticate(&signed.session, form.get("password"))
        .await
    {
        Ok(()) => Ok(None),
        Err(SignInError::Refused | SignInError::Invalid(_)) => Ok(Some(vec![(
            "password".to_owned(),
            format!("Enter your correct password to {to}"),
        )])),
        Err(SignInError::LockedOut { .. }) => Err(PageError::Redirect("/sign-in")),
        Err(e) => Err(e.into()),
    }
}

pub async fn destroy_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&destroy_view(&state, &signed, person_id).await?)
}

pub async fn destroy<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let page = destroy_view(&state, &signed, person_id).await?;
    let mut errors = Vec::new();
    if DestructionBasis::from_code(form.get("basis")).is_none() {
        errors.push(("basis".to_owned(), "Choose the basis".to_owned()));
    }
    if form.get("reason").trim().is_empty() {
        errors.push(("reason".to_owned(), "Say why".to_owned()));
    }
    if let Some(errors) = confirmed(&state, &signed, &form, errors, "destroy the record").await? {
        return Ok(form_error(page, &form, errors));
    }
    match state
        .confidant
        .destroy_person(
            signed.actor(),
            P,
            person_id,
            form.get("basis"),
            form.get("reason"),
        )
        .await
    {
        Ok(done) => {
            certificate::certificate_view(&state, &signed, &done.record, &done.certificate, true)
                .await
        }
        Err(PersonError::Invalid(v)) => {
            let errors =
                v.0.into_iter()
                    .map(|e| (e.field.to_owned(), e.message))
                    .collect();
            Ok(form_error(page, &form, errors))
        }
        Err(e) => Err(e.into()),
    }
}
