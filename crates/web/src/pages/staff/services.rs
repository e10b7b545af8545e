//! The organisation's services, for its administrators: each service with how far its staff see
//! (the whole service, their team, or their caseload) and its teams; adding a service and a team;
//! changing a service's scope, explained and confirmed first, since it changes who can open which
//! records. Every change is core's, audited there.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::organisation::OrganisationError;
use confidant_core::store::Store;
use confidant_core::{AccessScope, Action, Clock, Role};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::page::Path;
use crate::pages::{Chrome, PageError, PostForm, Signed, St, field_errors, render, render_status};

/// What each scope means, in the words the pages use: (code, label, explanation).
pub const SCOPES: [(AccessScope, &str, &str); 3] = [
    (
        AccessScope::Service,
        "The whole service",
        "Everyone working in the service can open every record of the service.",
    ),
    (
        AccessScope::Team,
        "Their team",
        "Practitioners and team managers open only the records of their own team's people; the service manager opens every record of the service. Staff without a team open none.",
    ),
    (
        AccessScope::Caseload,
        "Their caseload",
        "Practitioners open only the records of the people they are key worker for; team managers those of their team's people; the service manager every record of the service.",
    ),
];

pub fn scope_label(scope: AccessScope) -> &'static str {
    SCOPES
        .iter()
        .find(|(s, _, _)| *s == scope)
        .map_or("", |(_, label, _)| label)
}

fn scope_explanation(scope: AccessScope) -> &'static str {
    SCOPES
        .iter()
        .find(|(s, _, _)| *s == scope)
        .map_or("", |(_, _, text)| text)
}

/// One service on the list.
struct ServiceLine {
    id: String,
    name: String,
    scope: &'static str,
    teams: String,
}

#[derive(Template)]
#[template(path = "admin_services.html")]
struct ServicesPage {
    chrome: Chrome,
    csrf: String,
    services: Vec<ServiceLine>,
    /// Services come from the organisation's register of processing activities: added there.
    from_register: bool,
    /// The name typed, shown again with its error.
    typed_name: String,
    errors: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "admin_service.html")]
struct ServicePage {
    chrome: Chrome,
    csrf: String,
    id: String,
    name: String,
    scope: &'static str,
    scope_href: String,
    explanation: &'static str,
    teams: Vec<String>,
    team_name: String,
    notice: String,
    errors: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "admin_service_scope.html")]
struct ScopePage {
    chrome: Chrome,
    csrf: String,
    id: String,
    name: String,
    current: &'static str,
    /// (code, label, explanation, checked).
    scopes: Vec<(&'static str, &'static str, &'static str, bool)>,
    /// Set when asking to confirm a change: (code, label, explanation) of the scope chosen.
    confirm: Option<(&'static str, &'static str, &'static str)>,
    /// On confirming: the service's active staff who would open no records in the scope chosen
    /// (no team where one is needed), as (account id, name).
    unplaced: Vec<(String, String)>,
    errors: Vec<(String, String)>,
}

form_errors!(ServicesPage, ServicePage, ScopePage);

/// Services, teams and scopes are set by the organisation's administrators.
async fn require_administrator<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<(), PageError> {
    signed
        .require(
            state,
            Action::ServiceCreate,
            signed.organisation(),
            "Only the organisation's administrators set up services and teams.",
        )
        .await
}

async fn services_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    name: String,
    errors: Vec<(String, String)>,
) -> Result<ServicesPage, PageError> {
    let c = &state.confidant;
    let mut services = Vec::new();
    for service in c
        .services(signed.actor(), signed.staff().organisation_id)
        .await?
    {
        let (_, scope) = c.service_with_scope(signed.actor(), service.id).await?;
        let teams: Vec<String> = c
            .teams(service.id)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        services.push(ServiceLine {
            id: service.id.to_string(),
            name: service.name,
            scope: scope_label(scope),
            teams: if teams.is_empty() {
                "None".to_owned()
            } else {
                teams.join(", ")
            },
        });
    }
    Ok(ServicesPage {
        chrome: signed.chrome("/admin/services"),
        csrf: signed.csrf().to_owned(),
        services,
        from_register: c.register().is_some(),
        typed_name: name,
        errors,
    })
}

pub async fn list<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_administrator(&state, &signed).await?;
    render(&services_page(&state, &signed, String::new(), Vec::new()).await?)
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    PostForm(form): PostForm<NameForm>,
) -> Result<Response, PageError> {
    require_administrator(&state, &signed).await?;
    let name: String = form.name.chars().take(200).collect();
    match state
        .confidant
        .create_service(signed.actor(), signed.staff().organisation_id, &form.name)
        .await
    {
        Ok(service) => Ok(Redirect::to(&format!("/admin/services/{}", service.id)).into_response()),
        Err(OrganisationError::Invalid(v)) => {
            let page = services_page(&state, &signed, name, field_errors(&v)).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(OrganisationError::Conflict(_)) => {
            let errors = vec![(
                "name".to_owned(),
                "The organisation already has a service of that name".to_owned(),
            )];
            let page = services_page(&state, &signed, name, errors).await?;
            render_status(StatusCode::CONFLICT, &page)
        }
        Err(e) => Err(e.into()),
    }
}

async fn service_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    service_id: Uuid,
    team_name: String,
    notice: String,
    errors: Vec<(String, String)>,
) -> Result<ServicePage, PageError> {
    let c = &state.confidant;
    let (service, scope) = c.service_with_scope(signed.actor(), service_id).await?;
    Ok(ServicePage {
        chrome: signed.chrome("/admin/services"),
        csrf: signed.csrf().to_owned(),
        id: service.id.to_string(),
        name: service.name,
        scope: scope_label(scope),
        scope_href: format!("/admin/services/{}/scope", service.id),
        explanation: scope_explanation(scope),
        teams: c
            .teams(service.id)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect(),
        team_name,
        notice,
        errors,
    })
}

pub async fn show<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(service_id): Path<Uuid>,
) -> Result<Response, PageError> {
    require_administrator(&state, &signed).await?;
    let page = service_page(
        &state,
        &signed,
        service_id,
        String::new(),
        String::new(),
        Vec::new(),
    )
    .await?;
    render(&page)
}

pub async fn add_team<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(service_id): Path<Uuid>,
    PostForm(form): PostForm<NameForm>,
) -> Result<Response, PageError> {
    require_administrator(&state, &signed).await?;
    let name: String = form.name.chars().take(200).collect();
    let refused = |errors: Vec<(String, String)>, status: StatusCode| {
        let state = &state;
        let signed = &signed;
        let name = name.clone();
        async move {
            let page = service_page(state, signed, service_id, name, String::new(), errors).await?;
            render_status(status, &page)
        }
    };
    match state
        .confidant
        .create_team(signed.actor(), service_id, &form.name)
        .await
    {
        Ok(team) => {
            let page = service_page(
                &state,
                &signed,
                service_id,
                String::new(),
                format!("The team {} is added.", team.name),
                Vec::new(),
            )
            .await?;
            render(&page)
        }
        Err(OrganisationError::Invalid(v)) => {
            refused(field_errors(&v), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(OrganisationError::Conflict(_)) => {
            let errors = vec![(
                "name".to_owned(),
                "The service already has a team of that name".to_owned(),
            )];
            refused(errors, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn scope_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    service_id: Uuid,
    chosen: Option<AccessScope>,
    confirm: bool,
    errors: Vec<(String, String)>,
) -> Result<ScopePage, PageError> {
    let (service, current) = state
        .confidant
        .service_with_scope(signed.actor(), service_id)
        .await?;
    let checked = chosen.unwrap_or(current);
    let unplaced = match chosen.filter(|_| confirm) {
        Some(scope) => unplaced(state, signed, service.id, scope).await?,
        None => Vec::new(),
    };
    Ok(ScopePage {
        chrome: signed.chrome("/admin/services"),
        csrf: signed.csrf().to_owned(),
        id: service.id.to_string(),
        name: service.name,
        current: scope_label(current),
        scopes: SCOPES
            .iter()
            .map(|(s, label, text)| (s.code(), *label, *text, *s == checked))
            .collect(),
        confirm: chosen
            .filter(|_| confirm)
            .map(|s| (s.code(), scope_label(s), scope_explanation(s))),
        unplaced,
        errors,
    })
}

/// The service's active staff who would open no records in `scope` for want of a team:
/// practitioners and team managers where records are opened by team, team managers where by
/// caseload (a practitioner there opens their own caseload).
async fn unplaced<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    service_id: Uuid,
    scope: AccessScope,
) -> Result<Vec<(String, String)>, PageError> {
    let needs_team = |role: Role| match scope {
        AccessScope::Service => false,
        AccessScope::Team => matches!(role, Role::Practitioner | Role::TeamManager),
        AccessScope::Caseload => role == Role::TeamManager,
    };
    Ok(state
        .confidant
        .staff_of(signed.actor(), signed.staff().organisation_id)
        .await?
        .into_iter()
        .filter(|s| {
            s.service_id == Some(service_id)
                && s.disabled_at_micros.is_none()
                && s.team_id.is_none()
                && needs_team(s.role)
        })
        .map(|s| (s.id.to_string(), s.name_and_title()))
        .collect())
}

pub async fn scope_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(service_id): Path<Uuid>,
) -> Result<Response, PageError> {
    require_administrator(&state, &signed).await?;
    render(&scope_page(&state, &signed, service_id, None, false, Vec::new()).await?)
}

#[derive(Deserialize)]
pub struct ScopeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    scope: String,
    /// `yes` once the change is confirmed on the second step.
    #[serde(default)]
    confirmed: String,
}

/// The first post asks to confirm the change (showing what it means); the second, confirmed,
/// makes it. Choosing the scope in force changes nothing.
pub async fn scope_submit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(service_id): Path<Uuid>,
    PostForm(form): PostForm<ScopeForm>,
) -> Result<Response, PageError> {
    require_administrator(&state, &signed).await?;
    let Some(scope) = AccessScope::from_code(&form.scope) else {
        let errors = vec![(
            "scope".to_owned(),
            "Choose who can open the service's records".to_owned(),
        )];
        let page = scope_page(&state, &signed, service_id, None, false, errors).await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let (_, current) = state
        .confidant
        .service_with_scope(signed.actor(), service_id)
        .await?;
    if scope == current {
        return Ok(Redirect::to(&format!("/admin/services/{service_id}")).into_response());
    }
    if form.confirmed != "yes" {
        let page = scope_page(&state, &signed, service_id, Some(scope), true, Vec::new()).await?;
        return render(&page);
    }
    state
        .confidant
        .set_service_scope(signed.actor(), service_id, scope)
        .await?;
    let page = service_page(
        &state,
        &signed,
        service_id,
        String::new(),
        format!(
            "Who can open the service's records is now: {}.",
            scope_label(scope).to_lowercase()
        ),
        Vec::new(),
    )
    .await?;
    render(&page)
}

crate::http::guard::posted!(NameForm, ScopeForm);
