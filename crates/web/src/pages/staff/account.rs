//! The dashboard and one's own account: password and personal access tokens for the API.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::account::SignInError;
use confidant_core::store::{Store, TokenScope, TrainingKind};
use confidant_core::{Clock, Role};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::page::Path;
use crate::pages::PostForm;
use crate::pages::{
    Chrome, PageError, Signed, St, date, date_time, field_errors, render, render_status,
};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    /// Their name (display name, else handle), with their job title.
    name: String,
    role: String,
    my_training: Vec<(String, String, bool)>,
    trained: bool,
    lapsed_staff: Option<Vec<Vec<String>>>,
    pending_reviews: Option<usize>,
    works_in_service: bool,
    referred_only: bool,
    /// For the DPO: the register's yearly review, when due within 30 days or overdue.
    register_review: Option<String>,
    /// The open tasks in one's inbox, and how many are overdue.
    tasks_open: usize,
    tasks_overdue: usize,
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Practitioner => "Practitioner",
        Role::TeamManager => "Team manager",
        Role::ServiceManager => "Service manager",
        Role::DataProtectionOfficer => "Data Protection Officer",
        Role::CaldicottGuardian => "Caldicott Guardian",
        Role::Administrator => "Administrator",
        Role::ProcessorStaff => "Processor staff",
        Role::Trustee => "Trustee",
        Role::Auditor => "Auditor",
    }
}

pub async fn dashboard<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    let role = signed.staff().role;
    let mine = state.confidant.own_training(signed.staff()).await?;
    let my_training = TrainingKind::ALL
        .iter()
        .map(|k| {
            let lapsed = mine.lapsed().contains(k);
            let when = match mine.expires_at(*k) {
                Some(t) if lapsed => format!("Expired {}", date(t)),
                Some(t) => format!("Current until {}", date(t)),
                None => "Not recorded".to_owned(),
            };
            (k.label().to_owned(), when, !lapsed)
        })
        .collect();
    let lapsed_staff = if matches!(
        role,
        Role::DataProtectionOfficer
            | Role::CaldicottGuardian
            | Role::ServiceManager
            | Role::TeamManager
    ) {
        let overview = state.confidant.training_overview(signed.actor()).await?;
        Some(
            overview
                .iter()
                .filter(|s| !s.is_current())
                .map(|s| {
                    vec![
                        s.staff.name().to_owned(),
                        role_label(s.staff.role).to_owned(),
                        s.lapsed()
                            .iter()
                            .map(|k| k.label())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect(),
        )
    } else {
        None
    };
    let pending_reviews = if crate::pages::oversees(role) {
        Some(
            state
                .confidant
                .break_glass_queue(signed.actor(), signed.staff().organisation_id, true)
                .await?
                .len(),
        )
    } else {
        None
    };
    let today = crate::pages::uk_today(state.confidant.clock().now());
    let register_review = (role == Role::DataProtectionOfficer)
        .then(|| state.confidant.register())
        .flatten()
        .and_then(|r| {
            r.review_due(today).map(|due| {
                format!(
                    "The register of processing activities was last reviewed on {}. Its yearly review is due by {due}: check it against what the services do, then update its review date.",
                    r.organisation.reviewed_on
                )
            })
        });
    let (tasks_open, tasks_overdue) = state.confidant.task_counts(signed.actor()).await?;
    render(&DashboardPage {
        tasks_open,
        tasks_overdue,
        register_review,
        chrome: signed.chrome("/"),
        name: signed.staff().name_and_title(),
        role: role_label(role).to_owned(),
        trained: mine.is_current(),
        my_training,
        lapsed_staff,
        pending_reviews,
        works_in_service: crate::pages::works_in_service(role),
        referred_only: role == Role::ProcessorStaff,
    })
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    csrf: String,
    errors: Vec<(String, String)>,
    done: bool,
}

form_errors!(PasswordPage, TokensPage);

#[derive(Deserialize)]
pub struct PasswordChange {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub async fn password_form<S: Store, C: Clock>(signed: Signed) -> Result<Response, PageError> {
    render(&PasswordPage {
        chrome: signed.chrome(""),
        csrf: signed.csrf().to_owned(),
        errors: Vec::new(),
        done: false,
    })
}

pub async fn password_submit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    PostForm(form): PostForm<PasswordChange>,
) -> Result<Response, PageError> {
    let org = signed.chrome_base.org_name.clone();
    let result = state
        .confidant
        .change_password(
            &signed.session,
            &form.current_password,
            &form.new_password,
            &[org.as_str(), "confidant"],
        )
        .await;
    let errors = match result {
        Ok(()) => Vec::new(),
        Err(SignInError::Invalid(v)) => field_errors(&v),
        Err(SignInError::Refused) => vec![(
            "current-password".to_owned(),
            "Your current password is not right".to_owned(),
        )],
        Err(SignInError::LockedOut { .. }) => return Err(PageError::Redirect("/sign-in")),
        Err(e) => return Err(e.into()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        status,
        &PasswordPage {
            chrome: signed.chrome(""),
            csrf: signed.csrf().to_owned(),
            done: errors.is_empty(),
            errors,
        },
    )
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    csrf: String,
    tokens: Vec<TokenLine>,
    errors: Vec<(String, String)>,
    /// A token just issued, shown once.
    issued: Option<String>,
    needs_password: bool,
}

struct TokenLine {
    id: String,
    scope: &'static str,
    created: String,
    expires: String,
    status: &'static str,
    live: bool,
}

async fn tokens_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    errors: Vec<(String, String)>,
    issued: Option<String>,
) -> Result<TokensPage, PageError> {
    let now = state.confidant.clock().now();
    let now_micros = confidant_core::organisation::micros(now);
    let tokens = state
        .confidant
        .tokens_of(signed.staff().id)
        .await?
        .into_iter()
        .map(|t| {
            let (status, live) = if t.revoked_at_micros.is_some() {
                ("Revoked", false)
            } else if t.expires_at_micros <= now_micros {
                ("Expired", false)
            } else {
                ("Active", true)
            };
            TokenLine {
                id: t.id.to_string(),
                scope: match t.scope {
                    TokenScope::Read => "Read only",
                    TokenScope::ReadWrite => "Read and change",
                },
                created: date_time(micros_to_time(t.created_at_micros)),
                expires: date_time(micros_to_time(t.expires_at_micros)),
                status,
                live,
            }
        })
        .collect();
    Ok(TokensPage {
        chrome: signed.chrome("/account/tokens"),
        csrf: signed.csrf().to_owned(),
        tokens,
        errors,
        issued,
        needs_password: !signed
            .session
            .recently_authenticated(now, &state.confidant.settings().session),
    })
}

fn micros_to_time(m: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

pub async fn tokens<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    render(&tokens_page(&state, &signed, Vec::new(), None).await?)
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    password: String,
}

/// Issues a token. A token outlives the session that made it, so the password is asked again unless
/// it was given in the last few minutes.
pub async fn token_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    PostForm(form): PostForm<TokenForm>,
) -> Result<Response, PageError> {
    let mut errors = Vec::new();
    let scope = TokenScope::from_code(&form.scope);
    if scope.is_none() {
        errors.push((
            "scope".to_owned(),
            "Choose what the token may do".to_owned(),
        ));
    }
    let days = form
        .days
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=90).contains(d));
    if days.is_none() {
        errors.push((
            "days".to_owned(),
            "Enter a number of days between 1 and 90".to_owned(),
        ));
    }
    let now = state.confidant.clock().now();
    let recent = signed
        .session
        .recently_authenticated(now, &state.confidant.settings().session);
    if errors.is_empty() && !recent {
        match state
            .confidant
            .reauthenticate(&signed.session, &form.password)
            .await
        {
            Ok(()) => {}
            Err(SignInError::Refused | SignInError::Invalid(_)) => errors.push((
                "password".to_owned(),
                "Enter your correct password to issue a token".to_owned(),
            )),
            Err(SignInError::LockedOut { .. }) => return Err(PageError::Redirect("/sign-in")),
            Err(e) => return Err(e.into()),
        }
    }
    let (Some(scope), Some(days), true) = (scope, days, errors.is_empty()) else {
        let page = tokens_page(&state, &signed, errors, None).await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let token = state
        .confidant
        .issue_token(
            signed.actor(),
            signed.staff(),
            time::Duration::days(days),
            scope,
        )
        .await?;
    let page = tokens_page(&state, &signed, Vec::new(), Some(token.expose().to_owned())).await?;
    render(&page)
}

pub async fn token_revoke<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(token_id): Path<Uuid>,
    PostForm(_): PostForm<crate::pages::staff::sign_in::CsrfOnlyForm>,
) -> Result<Response, PageError> {
    // Someone else's token (or none) answers as one that does not exist: nothing was revoked.
    if !state
        .confidant
        .revoke_token(signed.actor(), token_id)
        .await?
    {
        return Err(PageError::NotFound);
    }
    Ok(Redirect::to("/account/tokens").into_response())
}

crate::http::guard::posted!(PasswordChange, TokenForm);
