//! User administration: the organisation's staff, adding an account, and what an administrator may do
//! to one (disable a leaver, reset two-factor, end sessions, set a new password, record training).
//! Administrators run the system here without seeing any record content.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::account::staff_resource;
use confidant_core::field::FieldGroup;
use confidant_core::grant::{MatterPart, TrusteeGrant};
use confidant_core::organisation::OrganisationError;
use confidant_core::setup::{DetailsInput, NewStaff};
use confidant_core::store::{StaffRecord, Store, TrainingKind};
use confidant_core::{Action, Clock, Role};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::page::Path;
use crate::pages::PostForm;
use crate::pages::staff::account::role_label;
use crate::pages::{Chrome, PageError, Signed, St, date, field_errors, render, render_status};

struct UserLine {
    id: String,
    handle: String,
    /// Display name (with job title), or empty when none is set.
    name: String,
    role: &'static str,
    service: String,
    status: &'static str,
    training: &'static str,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserLine>,
    can_add: bool,
}

/// Staff accounts are for those who run the system or oversee it; others get a plain refusal.
async fn require_oversight<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<(), PageError> {
    signed
        .require(
            state,
            Action::StaffRead,
            signed.organisation(),
            "Only administrators, managers, the Data Protection Officer and the Caldicott Guardian see staff accounts.",
        )
        .await
}

pub async fn list<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_oversight(&state, &signed).await?;
    let org = signed.staff().organisation_id;
    let staff = state.confidant.staff_of(signed.actor(), org).await?;
    let services = state.confidant.services(signed.actor(), org).await?;
    let mut users = Vec::new();
    for s in staff {
        let training = state.confidant.own_training(&s).await?;
        users.push(UserLine {
            id: s.id.to_string(),
            role: role_label(s.role),
            service: s
                .service_id
                .and_then(|id| services.iter().find(|x| x.id == id))
                .map(|x| x.name.clone())
                .unwrap_or_else(|| "Whole organisation".to_owned()),
            status: if s.disabled_at_micros.is_some() {
                "Disabled"
            } else {
                "Active"
            },
            training: if training.is_current() {
                "Current"
            } else {
                "Lapsed"
            },
            name: if s.display_name.is_some() {
                s.name_and_title()
            } else {
                String::new()
            },
            handle: s.handle,
        });
    }
    render(&UsersPage {
        chrome: signed.chrome("/admin/users"),
        users,
        can_add: signed.staff().role == Role::Administrator,
    })
}

#[derive(Template)]
#[template(path = "admin_user_new.html")]
struct NewUserPage {
    chrome: Chrome,
    csrf: String,
    roles: Vec<(&'static str, &'static str)>,
    services: Vec<(String, String)>,
    /// Each service's teams: (service name, [(team id, team name)]).
    teams: Vec<(String, Vec<(String, String)>)>,
    typed: NewUserForm,
    errors: Vec<(String, String)>,
}

form_errors!(NewUserPage, UserPage);

#[derive(Template)]
#[template(path = "admin_user_created.html")]
struct CreatedPage {
    chrome: Chrome,
    id: String,
    handle: String,
    name: String,
    /// The first password, when the administrator may set it (accounts without record content).
    password: Option<String>,
}

async fn require_administrator<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<(), PageError> {
    signed
        .require(
            state,
            Action::StaffCreate,
            signed.organisation(),
            "Only the organisation's administrators manage staff accounts.",
        )
        .await
}

async fn new_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    typed: NewUserForm,
    errors: Vec<(String, String)>,
) -> Result<NewUserPage, PageError> {
    let mut services = Vec::new();
    let mut teams = Vec::new();
    for s in state
        .confidant
        .services(signed.actor(), signed.staff().organisation_id)
        .await?
    {
        let of_service: Vec<(String, String)> = state
            .confidant
            .teams(s.id)
            .await?
            .into_iter()
            .map(|t| (t.id.to_string(), t.name))
            .collect();
        if !of_service.is_empty() {
            teams.push((s.name.clone(), of_service));
        }
        services.push((s.id.to_string(), s.name));
    }
    Ok(NewUserPage {
        chrome: signed.chrome("/admin/users"),
        csrf: signed.csrf().to_owned(),
        roles: Role::ALL
            .iter()
            .map(|r| (r.code(), role_label(*r)))
            .collect(),
        services,
        teams,
        typed,
        errors,
    })
}

pub async fn new_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_administrator(&state, &signed).await?;
    render(&new_page(&state, &signed, NewUserForm::default(), Vec::new()).await?)
}

/// The staff form as posted (and shown again, cut short, with its errors).
#[derive(Deserialize, Default)]
pub struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    job_title: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    team: String,
}

impl NewUserForm {
    /// What the form shows again: each text cut to what could be valid and a little more.
    fn shown_again(&self) -> Self {
        let cut = |t: &str, n: usize| t.chars().take(n).collect::<String>();
        Self {
            csrf: String::new(),
            handle: cut(&self.handle, 64),
            display_name: cut(&self.display_name, 120),
            job_title: cut(&self.job_title, 120),
            role: cut(&self.role, 40),
            service: cut(&self.service, 40),
            team: cut(&self.team, 40),
        }
    }
}

/// An optional id chosen in a form: `None` when left empty, an error (by field) when not an id.
fn chosen_id(
    value: &str,
    field: &str,
    message: &str,
    errors: &mut Vec<(String, String)>,
) -> Option<Uuid> {
    if value.is_empty() {
        return None;
    }
    Uuid::parse_str(value)
        .map_err(|_| errors.push((field.to_owned(), message.to_owned())))
        .ok()
}

pub async fn create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    PostForm(form): PostForm<NewUserForm>,
) -> Result<Response, PageError> {
    require_administrator(&state, &signed).await?;
    let mut errors = Vec::new();
    let role = Role::from_code(&form.role);
    if role.is_none() {
        errors.push(("role".to_owned(), "Choose a role".to_owned()));
    }
    let service = chosen_id(&form.service, "service", "Choose a service", &mut errors);
    let team = chosen_id(&form.team, "team", "Choose a team", &mut errors);
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        let page = new_page(&state, &signed, form.shown_again(), errors).await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let org = signed.staff().organisation_id;
    let new = NewStaff {
        role,
        service_id: service,
        team_id: team,
        handle: form.handle.clone(),
        display_name: form.display_name.clone(),
        job_title: form.job_title.clone(),
    };
    let staff = match state.confidant.add_staff(signed.actor(), org, &new).await {
        Ok(s) => s,
        Err(OrganisationError::Invalid(v)) => {
            let page = new_page(&state, &signed, form.shown_again(), field_errors(&v)).await?;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(OrganisationError::Conflict(what)) => {
            let page = new_page(
                &state,
                &signed,
                form.shown_again(),
                vec![(
                    "handle".to_owned(),
                    format!("That user name cannot be used: {what}"),
                )],
            )
            .await?;
            return render_status(StatusCode::CONFLICT, &page);
        }
        Err(e) => return Err(e.into()),
    };
    // Separation of duties: an administrator sets the first password only of an account that sees
    // no record content (the policy's `staff.update`); for any other the Data Protection Officer
    // sets it from the account's page. Asking first (not auditing a refusal) keeps the account just
    // made from ending in a "Page not found" with no password shown.
    let password =
        if state
            .confidant
            .allows(signed.actor(), Action::StaffUpdate, staff_resource(&staff))
        {
            let password = confidant_core::account::generated_password();
            state
                .confidant
                .set_password(signed.actor(), staff.id, password.expose(), &[])
                .await?;
            Some(password.expose().to_owned())
        } else {
            None
        };
    render(&CreatedPage {
        chrome: signed.chrome("/admin/users"),
        id: staff.id.to_string(),
        name: staff.name_and_title(),
        handle: staff.handle,
        password,
    })
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    handle: String,
    /// How colleagues see them: display name, else the handle.
    name: String,
    /// The display name and job title as stored (or as just typed, with an error).
    display_name: String,
    job_title: String,
    /// Their service's name (or the whole organisation), and their team's (or empty).
    works_in: String,
    team: String,
    /// The teams of their service they may be put in: (id, name, chosen); empty when their role
    /// has no team.
    teams: Vec<(String, String, bool)>,
    /// May set the display name, job title and team (`staff.details`).
    can_details: bool,
    role: &'static str,
    disabled: bool,
    training: Vec<(String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    today: String,
    /// May set the password, reset two-factor, record training (the policy decides by the account's
    /// role: administrators for accounts without record content, the DPO for every account).
    can_update: bool,
    /// May disable the account or end its sessions.
    can_disable: bool,
    /// The kind of record access this account can be granted (trustees and processors' workers),
    /// offered to the Data Protection Officer.
    grant_kind: Option<&'static str>,
    /// The kinds of trustees' matter the register names: (id, label, the parts each opens).
    matters: Vec<(String, String, String)>,
    /// Every part of a record a matter can open: (code, label).
    parts: Vec<(String, String)>,
    notice: String,
    errors: Vec<(String, String)>,
}

async fn user_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    staff_id: Uuid,
    notice: String,
    errors: Vec<(String, String)>,
) -> Result<UserPage, PageError> {
    let staff = state
        .confidant
        .staff_member(signed.actor(), staff_id)
        .await?;
    let training = state.confidant.own_training(&staff).await?;
    let (works_in, team, teams) = placement(state, signed, &staff).await?;
    let lines = TrainingKind::ALL
        .iter()
        .map(|k| {
            let text = match training.expires_at(*k) {
                Some(t) if training.lapsed().contains(k) => format!("Expired {}", date(t)),
                Some(t) => format!("Current until {}", date(t)),
                None => "Not recorded".to_owned(),
            };
            (k.label().to_owned(), text)
        })
        .collect();
    Ok(UserPage {
        chrome: signed.chrome("/admin/users"),
        csrf: signed.csrf().to_owned(),
        id: staff.id.to_string(),
        handle: staff.handle.clone(),
        name: staff.name().to_owned(),
        display_name: staff.display_name.clone().unwrap_or_default(),
        job_title: staff.job_title.clone().unwrap_or_default(),
        works_in,
        team,
        teams,
        can_details: state.confidant.allows(
            signed.actor(),
            Action::StaffDetails,
            staff_resource(&staff),
        ),
        role: role_label(staff.role),
        disabled: staff.disabled_at_micros.is_some(),
        training: lines,
        kinds: TrainingKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        today: crate::pages::uk_today(state.confidant.clock().now()).to_string(),
        // Nobody records their own training or resets their own second factor or password here.
        can_update: staff.id != signed.staff().id
            && state
                .confidant
                .allows(signed.actor(), Action::StaffUpdate, staff_resource(&staff)),
        can_disable: state.confidant.allows(
            signed.actor(),
            Action::StaffDisable,
            staff_resource(&staff),
        ),
        grant_kind: match (signed.staff().role, staff.role) {
            (Role::DataProtectionOfficer, Role::Trustee) => Some("a trustee's matter"),
            _ => None,
        },
        matters: state
            .confidant
            .register()
            .map(|r| {
                r.trustee_matters
                    .iter()
                    .map(|m| {
                        let parts: Vec<String> = m.parts.iter().map(|p| part_label(p)).collect();
                        (m.id.clone(), m.label.clone(), parts.join(", "))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        parts: FieldGroup::ALL
            .iter()
            .map(|g| g.code())
            .chain(MatterPart::ENTRY_KINDS.iter().map(|k| k.code()))
            .map(|code| (code.to_owned(), part_label(code)))
            .collect(),
        notice,
        errors,
    })
}

/// Where an account works: its service's name, its team's name, and the teams it may be put in.
async fn placement<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    staff: &StaffRecord,
) -> Result<(String, String, Vec<(String, String, bool)>), PageError> {
    let Some(service_id) = staff.service_id else {
        return Ok(("Whole organisation".to_owned(), String::new(), Vec::new()));
    };
    let (service, _) = state
        .confidant
        .service_with_scope(signed.actor(), service_id)
        .await?;
    let teams = state.confidant.teams(service_id).await?;
    let team = teams
        .iter()
        .find(|t| Some(t.id) == staff.team_id)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let choices = if confidant_core::setup::has_team(staff.role) {
        teams
            .into_iter()
            .map(|t| (t.id.to_string(), t.name, Some(t.id) == staff.team_id))
            .collect()
    } else {
        Vec::new()
    };
    Ok((service.name, team, choices))
}

pub async fn show<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(staff_id): Path<Uuid>,
) -> Result<Response, PageError> {
    require_oversight(&state, &signed).await?;
    render(&user_page(&state, &signed, staff_id, String::new(), Vec::new()).await?)
}

/// A part of a record as the grant form names it.
fn part_label(code: &str) -> String {
    match MatterPart::from_code(code) {
        Some(MatterPart::Details(g)) => format!("Details: {}", g.label()),
        Some(MatterPart::Entries(k)) => format!("Entries: {}s", k.code()),
        None => code.to_owned(),
    }
}

#[derive(Deserialize)]
pub struct OperationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    completed_on: String,
    #[serde(default)]
    valid_for_days: String,
    /// A trustee's matter: its kind, and why flagged notes are opened too (if they are).
    #[serde(default)]
    matter: String,
    #[serde(default)]
    flagged_reason: String,
    /// The account's details: display name, job title and team (an id, or empty for none).
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    job_title: String,
    #[serde(default)]
    team: String,
    /// The parts it opens, as ticked boxes `part_<code>`.
    #[serde(flatten)]
    ticked: std::collections::HashMap<String, String>,
}

pub async fn operate<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((staff_id, operation)): Path<(Uuid, String)>,
    PostForm(form): PostForm<OperationForm>,
) -> Result<Response, PageError> {
    require_oversight(&state, &signed).await?;
    if operation == "grant" {
        return grant(&state, &signed, staff_id, &form).await;
    }
    if operation == "details" {
        return details(&state, &signed, staff_id, &form).await;
    }
    let action = match operation.as_str() {
        "disable" | "end-sessions" => Action::StaffDisable,
        "reset-two-factor" | "reset-password" | "training" => Action::StaffUpdate,
        _ => return Err(PageError::NotFound),
    };
    let staff = state
        .confidant
        .staff_member(signed.actor(), staff_id)
        .await?;
    signed
        .require(
            &state,
            action,
            staff_resource(&staff),
            "Administrators change the accounts of administrators and auditors; the Data Protection Officer changes every account. Either may disable an account or end its sessions.",
        )
        .await?;
    let actor = signed.actor();
    let confidant = &state.confidant;
    let notice = match operation.as_str() {
        "disable" => {
            confidant.disable_staff(actor, staff_id).await?;
            "The account is disabled: its sessions have ended and its tokens are revoked."
                .to_owned()
        }
        "reset-two-factor" => {
            confidant.reset_two_factor(actor, staff_id).await?;
            "Two-factor sign-in is reset: they must set it up again at their next sign-in."
                .to_owned()
        }
        "end-sessions" => {
            let n = confidant.terminate_sessions(actor, staff_id).await?;
            format!("{n} session(s) ended.")
        }
        "reset-password" => {
            let password = confidant_core::account::generated_password();
            confidant
                .set_password(actor, staff_id, password.expose(), &[])
                .await?;
            format!(
                "New password (give it to them privately; it is shown only now): {}",
                password.expose()
            )
        }
        "training" => {
            let kind = TrainingKind::from_code(&form.kind);
            let completed = time::Date::parse(
                form.completed_on.trim(),
                time::macros::format_description!("[year]-[month]-[day]"),
            );
            let days = form.valid_for_days.trim().parse::<i64>();
            let (Some(kind), Ok(completed), Ok(days)) = (kind, completed, days) else {
                let page = user_page(
                    &state,
                    &signed,
                    staff_id,
                    String::new(),
                    vec![(
                        "completed-on".to_owned(),
                        "Choose the kind, enter the date completed as YYYY-MM-DD and the days it is valid for".to_owned(),
                    )],
                )
                .await?;
                return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
            };
            match confidant
                .record_training(actor, staff_id, kind, completed, days)
                .await
            {
                Ok(_) => format!("{} recorded.", kind.label()),
                Err(OrganisationError::Invalid(v)) => {
                    let page =
                        user_page(&state, &signed, staff_id, String::new(), field_errors(&v))
                            .await?;
                    return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
                }
                Err(e) => return Err(e.into()),
            }
        }
        _ => return Err(PageError::NotFound),
    };
    if notice.is_empty() {
        return Ok(Redirect::to(&format!("/admin/users/{staff_id}")).into_response());
    }
    render(&user_page(&state, &signed, staff_id, notice, Vec::new()).await?)
}

/// Sets an account's display name, job title and team (administrators and the Data Protection
/// Officer), refused by field when any is wrong or the team contradicts the account's role.
async fn details<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    staff_id: Uuid,
    form: &OperationForm,
) -> Result<Response, PageError> {
    let staff = state
        .confidant
        .staff_member(signed.actor(), staff_id)
        .await?;
    signed
        .require(
            state,
            Action::StaffDetails,
            staff_resource(&staff),
            "Administrators and the Data Protection Officer set staff names, job titles and teams.",
        )
        .await?;
    let mut errors = Vec::new();
    let team_id = chosen_id(form.team.trim(), "team", "Choose a team", &mut errors);
    let refused = |errors: Vec<(String, String)>| async move {
        let mut page = user_page(state, signed, staff_id, String::new(), errors).await?;
        page.display_name = form.display_name.chars().take(120).collect();
        page.job_title = form.job_title.chars().take(120).collect();
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    if !errors.is_empty() {
        return refused(errors).await;
    }
    let input = DetailsInput {
        display_name: form.display_name.clone(),
        job_title: form.job_title.clone(),
        team_id,
    };
    match state
        .confidant
        .set_staff_details(signed.actor(), staff_id, &input)
        .await
    {
        Ok(_) => {
            let page = user_page(
                state,
                signed,
                staff_id,
                "Their name, job title and team are saved.".to_owned(),
                Vec::new(),
            )
            .await?;
            render(&page)
        }
        Err(OrganisationError::Invalid(v)) => refused(field_errors(&v)).await,
        Err(e) => Err(e.into()),
    }
}

/// The Data Protection Officer gives a trustee a matter: read access to one person's record for a
/// number of days, with a reason. (A processor's worker is referred a person only by sharing with
/// their processor, which the disclosure log records.)
async fn grant<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    staff_id: Uuid,
    form: &OperationForm,
) -> Result<Response, PageError> {
    let staff = state
        .confidant
        .staff_member(signed.actor(), staff_id)
        .await?;
    match staff.role {
        Role::Trustee => {}
        _ => {
            return Err(PageError::Forbidden(
                "Only trustees are given a matter here; a processor's worker is referred a person by sharing with their processor.",
            ));
        }
    };
    let mut errors = Vec::new();
    let person = Uuid::parse_str(form.person_id.trim());
    if person.is_err() {
        errors.push((
            "person-id".to_owned(),
            "Enter the person's record number (from the address of their page)".to_owned(),
        ));
    }
    let days = form.days.trim().parse::<i64>();
    if days.is_err() {
        errors.push(("days".to_owned(), "Enter a number of days".to_owned()));
    }
    let (Ok(person), Ok(days), true) = (person, days, errors.is_empty()) else {
        let page = user_page(state, signed, staff_id, String::new(), errors).await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let input = TrusteeGrant {
        matter: form.matter.clone(),
        parts: {
            let mut parts: Vec<String> = form
                .ticked
                .keys()
                .filter_map(|k| k.strip_prefix("part_"))
                .map(str::to_owned)
                .collect();
            parts.sort();
            parts
        },
        days,
        reason: form.reason.clone(),
        flagged_reason: Some(form.flagged_reason.clone()).filter(|r| !r.trim().is_empty()),
    };
    match state
        .confidant
        .grant_trustee_matter(signed.actor(), staff_id, person, &input)
        .await
    {
        Ok(_) => {
            let page = user_page(
                state,
                signed,
                staff_id,
                format!("Access to record {person} granted for {days} days."),
                Vec::new(),
            )
            .await?;
            render(&page)
        }
        Err(confidant_core::person::PersonError::Invalid(v)) => {
            let page = user_page(state, signed, staff_id, String::new(), field_errors(&v)).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

crate::http::guard::posted!(NewUserForm, OperationForm);
