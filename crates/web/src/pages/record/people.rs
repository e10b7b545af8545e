//! The people a service supports: the list, search (by name within one's scope, or by identifier
//! through the blind indexes), and breaking the glass. A person's own page is in [`crate::pages::record::person`].

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::account::Refusal;
use confidant_core::field::{IndexField, PersonField};
use confidant_core::person::{Lookup, PersonError, PersonSummary};
use confidant_core::store::Store;
use confidant_core::{Clock, Purpose};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::page::Path;
use crate::http::guard::require_training;
use crate::pages::{Chrome, PageError, Signed, St, field_errors, render, render_status};
use crate::pages::{PostForm, TrainedForm};

/// The actor's own service, if the policy lets them list its people (refusals are audited).
pub(crate) async fn own_service<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<Uuid, PageError> {
    const NOT_YOURS: &str =
        "Only staff who work in a service have a list of the people it supports.";
    let resource = match signed.staff().service_id {
        Some(id) => confidant_core::Resource::Service {
            id,
            organisation_id: signed.staff().organisation_id,
        },
        None => signed.organisation(),
    };
    signed
        .require(
            state,
            confidant_core::Action::PersonList,
            resource,
            NOT_YOURS,
        )
        .await?;
    signed
        .staff()
        .service_id
        .ok_or(PageError::Forbidden(NOT_YOURS))
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    chrome: Chrome,
    csrf: String,
    people: Vec<(String, String)>,
    heading: String,
    searched: bool,
    name_query: String,
    identifier_kind: String,
    errors: Vec<(String, String)>,
}

form_errors!(PeoplePage, BreakGlassPage);

fn lines(people: Vec<PersonSummary>) -> Vec<(String, String)> {
    people
        .into_iter()
        .map(|p| {
            (
                p.id.to_string(),
                format!("{} {}", p.given_name, p.family_name),
            )
        })
        .collect()
}

#[derive(Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    identifier_kind: String,
    #[serde(default)]
    identifier: String,
}

/// A search is posted, never put in a URL: names and identifiers are personal data.
pub async fn search<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    TrainedForm(form): TrainedForm<SearchForm>,
) -> Result<Response, PageError> {
    let service = own_service(&state, &signed).await?;
    let actor = signed.actor();
    let result: Result<Vec<(String, String)>, PersonError> = if !form.identifier.trim().is_empty() {
        match IndexField::from_code(&form.identifier_kind)
            .filter(|f| *f != IndexField::BirthAndFamilyName)
        {
            None => Err(PersonError::Invalid(confidant_core::person::Violations(
                vec![confidant_core::person::Violation::new(
                    "identifier_kind",
                    "must be chosen",
                )],
            ))),
            Some(field) => {
                let lookup = Lookup {
                    field,
                    value: form.identifier.clone(),
                };
                match state
                    .confidant
                    .find_people(actor, Purpose::Support, service, &lookup)
                    .await
                {
                    Ok(ids) => {
                        let mut found = Vec::new();
                        for id in ids {
                            match state
                                .confidant
                                .read_person(actor, Purpose::Support, id)
                                .await
                            {
                                Ok(p) => found.push((
                                    id.to_string(),
                                    format!(
                                        "{} {}",
                                        p.get(PersonField::GivenName).unwrap_or_default(),
                                        p.get(PersonField::FamilyName).unwrap_or_default()
                                    ),
                                )),
                                // Out of the actor's team or caseload: not shown.
                                Err(PersonError::NotFound) => {}
                                Err(e) => return Err(e.into()),
                            }
                        }
                        Ok(found)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    } else {
        state
            .confidant
            .search_people_by_name(actor, Purpose::Support, service, &form.name)
            .await
            .map(lines)
    };
    let (people, errors) = match result {
        Ok(p) => (p, Vec::new()),
        Err(PersonError::Invalid(v)) => (Vec::new(), field_errors(&v)),
        Err(e) => return Err(e.into()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        status,
        &PeoplePage {
            chrome: signed.chrome("/people"),
            csrf: signed.csrf().to_owned(),
            heading: "Search results".to_owned(),
            people,
            searched: true,
            name_query: form.name.chars().take(100).collect(),
            identifier_kind: form.identifier_kind,
            errors,
        },
    )
}

#[derive(Template)]
#[template(path = "break_glass.html")]
struct BreakGlassPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    minutes: i64,
    reason: String,
    errors: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub struct BreakGlassForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// Refuses (and records the refusal of) a role that may never break the glass.
async fn can_break<S: Store, C: Clock>(state: &St<S, C>, signed: &Signed) -> Result<(), PageError> {
    if crate::pages::can_break_glass(signed.staff().role) {
        Ok(())
    } else {
        state
            .confidant
            .record_refusal(signed.actor(), Refusal::BreakGlassRole)
            .await?;
        Err(PageError::Forbidden(
            "Your role cannot open records outside its scope.",
        ))
    }
}

pub async fn break_glass_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    can_break(&state, &signed).await?;
    require_training(&state, signed.actor()).await?;
    render(&BreakGlassPage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        minutes: state.confidant.settings().break_glass.whole_minutes(),
        reason: String::new(),
        errors: Vec::new(),
    })
}

pub async fn break_glass_submit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    PostForm(form): PostForm<BreakGlassForm>,
) -> Result<Response, PageError> {
    can_break(&state, &signed).await?;
    require_training(&state, signed.actor()).await?;
    match state
        .confidant
        .break_glass(signed.actor(), person_id, &form.reason)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/people/{person_id}")).into_response()),
        Err(PersonError::Invalid(v)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &BreakGlassPage {
                chrome: signed.chrome("/people"),
                csrf: signed.csrf().to_owned(),
                id: person_id.to_string(),
                minutes: state.confidant.settings().break_glass.whole_minutes(),
                reason: form.reason.chars().take(1000).collect(),
                errors: field_errors(&v),
            },
        ),
        Err(e) => Err(e.into()),
    }
}

crate::http::guard::posted!(SearchForm, BreakGlassForm);
