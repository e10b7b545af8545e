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
use confidant_core::store::{Store, TrainingKind};
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
    handle: String,
    errors: Vec<(String, String)>,
}

form_errors!(NewUserPage, UserPage);

#[derive(Template)]
#[template(path = "admin_user_created.html")]
struct CreatedPage {
    chrome: Chrome,
    id: String,
    handle: String,
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
    handle: String,
    errors: Vec<(String, String)>,
) -> Result<NewUserPage, PageError> {
    let services = state
        .confidant
        .services(signed.actor(), signed.staff().organisation_id)
        .await?
        .into_iter()
        .map(|s| (s.id.to_string(), s.name))
        .collect();
    Ok(NewUserPage {
        chrome: signed.chrome("/admin/users"),
        csrf: signed.csrf().to_owned(),
        roles: Role::ALL
            .iter()
            .map(|r| (r.code(), role_label(*r)))
            .collect(),
        services,
        handle,
        errors,
    })
}

pub async fn new_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_administrator(&state, &signed).await?;
    render(&new_page(&state, &signed, String::new(), Vec::new()).await?)
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    service: String,
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
    let service = if form.service.is_empty() {
        None
    } else {
        match Uuid::parse_str(&form.service) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(("service".to_owned(), "Choose a service".to_owned()));
                None
            }
        }
    };
    let handle: String = form.handle.chars().take(64).collect();
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        let page = new_page(&state, &signed, handle, errors).await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let org = signed.staff().organisation_id;
    let staff = match state
        .confidant
        .create_staff(signed.actor(), org, service, role, &form.handle)
        .await
    {
        Ok(s) => s,
        Err(OrganisationError::Invalid(v)) => {
            let page = new_page(&state, &signed, handle, field_errors(&v)).await?;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(OrganisationError::Conflict(what)) => {
            let page = new_page(
                &state,
                &signed,
                handle,
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
