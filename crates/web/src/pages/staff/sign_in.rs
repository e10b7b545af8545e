//! Signing in (password, then a second factor or enrolment in one), unlocking an idle session, and
//! signing out.
//!
//! Before there is a session, the sign-in form is protected by a double-submit token that the
//! server issued: the cookie and the form's field must agree, and the token must carry this
//! installation's HMAC and be unexpired (two hours), so a pair an attacker chooses is refused.

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::Clock;
use confidant_core::account::{NextStep, SessionState, SignInError};
use confidant_core::store::Store;
use serde::Deserialize;

use crate::http::extract::page::{Form, Query};
use crate::http::return_path::ReturnPath;
use crate::http::session::{
    MaybeSession, constant_time_eq, cookie_value, expired_cookie, redirect_with, session_cookie,
};
use crate::pages::{Chrome, PageError, St, field_errors, render, render_status};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    csrf: String,
    handle: String,
    errors: Vec<(String, String)>,
}

form_errors!(SignInPage, EnrolPage, SecondFactorPage, LockPage);

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    password: String,
}

/// A sign-in form token with less than this left is replaced when the form is shown again, so a
/// form is never shown with a token about to expire.
const SIGN_IN_FORM_REUSE: time::Duration = time::Duration::minutes(30);

/// Where a session in this state belongs.
fn home_of(state: SessionState) -> &'static str {
    match state {
        SessionState::Active => "/",
        SessionState::Locked => "/lock",
        SessionState::AwaitingSecondFactor { enrolled: true } => "/sign-in/two-factor",
        SessionState::AwaitingSecondFactor { enrolled: false } => "/sign-in/enrol",
    }
}

fn locked_message(until: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[hour]:[minute]");
    format!(
        "There have been too many failed attempts. Sign-in is locked until {} {}.",
        confidant_core::uk_time::to_uk(until)
            .format(&f)
            .unwrap_or_default(),
        confidant_core::uk_time::zone_name(until)
    )
}

pub async fn form<S: Store, C: Clock>(
    state: St<S, C>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(s) = session {
        return Ok(Redirect::to(home_of(s.state)).into_response());
    }
    let name = state.web.csrf_cookie();
    // The browser's token is kept while it has a while to run (several tabs share it); otherwise,
    // or if the server did not issue it, a new one.
    let (csrf, fresh) = match cookie_value(&headers, name) {
        Some(v)
            if state
                .confidant
                .sign_in_form_token_left(&v)
                .is_some_and(|left| left > SIGN_IN_FORM_REUSE) =>
        {
            (v, false)
        }
        _ => (state.confidant.sign_in_form_token(), true),
    };
    let page = SignInPage {
        chrome: Chrome::anonymous(),
        csrf: csrf.clone(),
        handle: String::new(),
        errors: Vec::new(),
    };
    let mut response = render(&page)?;
    if fresh {
        response.headers_mut().append(
            axum::http::header::SET_COOKIE,
            session_cookie(state.web.secure_cookies, name, &csrf),
        );
    }
    Ok(response)
}

pub async fn submit<S: Store, C: Clock>(
    state: St<S, C>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    // Double submit (the cookie and the field agree) of a token this server issued and that has
    // not expired: a matching pair an attacker made up is refused.
    let cookie = cookie_value(&headers, state.web.csrf_cookie()).unwrap_or_default();
    if !constant_time_eq(cookie.as_bytes(), form.csrf.as_bytes())
        || state.confidant.sign_in_form_token_left(&cookie).is_none()
    {
        return Err(PageError::Csrf);
    }
    let again = |errors: Vec<(String, String)>, status: StatusCode| {
        let page = SignInPage {
            chrome: Chrome::anonymous(),
            csrf: cookie.clone(),
            handle: form.handle.chars().take(64).collect(),
            errors,
        };
        render_status(status, &page)
    };
    match state.confidant.sign_in(&form.handle, &form.password).await {
        Ok(signed) => {
            let to = match signed.next {
                NextStep::EnrolTwoFactor => "/sign-in/enrol",
                NextStep::SecondFactor => "/sign-in/two-factor",
            };
            Ok(redirect_with(
                to,
                vec![session_cookie(
                    state.web.secure_cookies,
                    state.web.session_cookie(),
                    signed.token.expose(),
                )],
            ))
        }
        Err(SignInError::Invalid(v)) => again(field_errors(&v), StatusCode::UNPROCESSABLE_ENTITY),
        Err(SignInError::Refused) => again(
            vec![(
                "handle".to_owned(),
                "Enter a correct user name and password".to_owned(),
            )],
            StatusCode::UNAUTHORIZED,
        ),
        Err(SignInError::LockedOut { until }) => again(
            vec![("handle".to_owned(), locked_message(until))],
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    chrome: Chrome,
    csrf: String,
    qr_svg: String,
    manual_key: String,
    errors: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    chrome: Chrome,
    codes: Vec<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// The session of a request that is at the given sign-in step, or where to go instead.
fn at_step(
    session: Option<confidant_core::account::Session>,
    step: SessionState,
) -> Result<confidant_core::account::Session, PageError> {
    match session {
        None => Err(PageError::Redirect("/sign-in")),
        Some(s) if s.state == step => Ok(s),
        Some(s) => Err(PageError::Redirect(home_of(s.state))),
    }
}

/// The session of a posted sign-in step: the form's token is checked against whatever session
/// the request has before anything else, so a forged post is refused (403) even when the session
/// is at another step; then as [`at_step`].
fn posted_at_step(
    session: Option<confidant_core::account::Session>,
    step: SessionState,
    given: &str,
) -> Result<confidant_core::account::Session, PageError> {
    if let Some(s) = &session {
        check_session_csrf(s, given)?;
    }
    at_step(session, step)
}

fn check_session_csrf(
    session: &confidant_core::account::Session,
    given: &str,
) -> Result<(), PageError> {
    if constant_time_eq(given.as_bytes(), session.record.csrf_token.as_bytes()) {
        Ok(())
    } else {
        Err(PageError::Csrf)
    }
}

async fn enrol_page<S: Store, C: Clock>(
    state: &St<S, C>,
    session: &confidant_core::account::Session,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let enrolment = state
        .confidant
        .two_factor_enrolment(session, "Confidant")
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let page = EnrolPage {
        chrome: Chrome::anonymous(),
        csrf: session.record.csrf_token.clone(),
        qr_svg: enrolment.qr_svg,
        manual_key: enrolment.manual_key.expose().to_owned(),
        errors,
    };
    render_status(status, &page)
}

pub async fn enrol_form<S: Store, C: Clock>(
    state: St<S, C>,
    MaybeSession(session): MaybeSession,
) -> Result<Response, PageError> {
    let session = at_step(
        session,
        SessionState::AwaitingSecondFactor { enrolled: false },
    )?;
    enrol_page(&state, &session, Vec::new(), StatusCode::OK).await
}

pub async fn enrol_submit<S: Store, C: Clock>(
    state: St<S, C>,
    MaybeSession(session): MaybeSession,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let session = posted_at_step(
        session,
        SessionState::AwaitingSecondFactor { enrolled: false },
        &form.csrf,
    )?;
    match state
        .confidant
        .confirm_two_factor(&session, &form.code)
        .await
    {
        Ok((token, codes)) => {
            let page = RecoveryCodesPage {
                chrome: Chrome::anonymous(),
                codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
            };
            let mut response = render(&page)?;
            response.headers_mut().append(
                axum::http::header::SET_COOKIE,
                session_cookie(
                    state.web.secure_cookies,
                    state.web.session_cookie(),
                    token.expose(),
                ),
            );
            Ok(response)
        }
        Err(SignInError::Refused) => {
            let errors = vec![(
                "code".to_owned(),
                "The code is not right: enter the current 6-digit code from your app".to_owned(),
            )];
            enrol_page(&state, &session, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(SignInError::Invalid(v)) => {
            enrol_page(
                &state,
                &session,
                field_errors(&v),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(SignInError::LockedOut { until }) => Err(locked_out(&state, &session, until).await),
        Err(e) => Err(e.into()),
    }
}

/// A lock-out during sign-in ends the half-made session; the sign-in page says why.
async fn locked_out<S: Store, C: Clock>(
    state: &St<S, C>,
    session: &confidant_core::account::Session,
    _until: time::OffsetDateTime,
) -> PageError {
    if let Err(e) = state.confidant.sign_out(session).await {
        return PageError::Internal(e.to_string());
    }
    PageError::Redirect("/sign-in")
}

#[derive(Template)]
#[template(path = "two_factor.html")]
struct SecondFactorPage {
    chrome: Chrome,
    csrf: String,
    errors: Vec<(String, String)>,
}

pub async fn second_form<S: Store, C: Clock>(
    MaybeSession(session): MaybeSession,
) -> Result<Response, PageError> {
    let session = at_step(
        session,
        SessionState::AwaitingSecondFactor { enrolled: true },
    )?;
    render(&SecondFactorPage {
        chrome: Chrome::anonymous(),
        csrf: session.record.csrf_token.clone(),
        errors: Vec::new(),
    })
}

pub async fn second_submit<S: Store, C: Clock>(
    state: St<S, C>,
    MaybeSession(session): MaybeSession,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let session = posted_at_step(
        session,
        SessionState::AwaitingSecondFactor { enrolled: true },
        &form.csrf,
    )?;
    let again = |errors: Vec<(String, String)>| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SecondFactorPage {
                chrome: Chrome::anonymous(),
                csrf: session.record.csrf_token.clone(),
                errors,
            },
        )
    };
    match state.confidant.second_factor(&session, &form.code).await {
        Ok(token) => Ok(redirect_with(
            "/",
            vec![session_cookie(
                state.web.secure_cookies,
                state.web.session_cookie(),
                token.expose(),
            )],
        )),
        Err(SignInError::Refused) => again(vec![(
            "code".to_owned(),
            "The code is not right: enter the current code from your app, or a recovery code"
                .to_owned(),
        )]),
        Err(SignInError::Invalid(v)) => again(field_errors(&v)),
        Err(SignInError::LockedOut { until }) => Err(locked_out(&state, &session, until).await),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "lock.html")]
struct LockPage {
    chrome: Chrome,
    csrf: String,
    handle: String,
    /// The idle timeout in words ("15 minutes").
    idle: String,
    /// The session is locked (otherwise still open, used elsewhere since this page was hidden).
    locked: bool,
    /// Where unlocking goes: a checked path, or "" for the dashboard.
    back: String,
    errors: Vec<(String, String)>,
}

impl LockPage {
    fn new<S: Store, C: Clock>(
        state: &St<S, C>,
        session: &confidant_core::account::Session,
        back: Option<&ReturnPath>,
        errors: Vec<(String, String)>,
    ) -> Self {
        Self {
            chrome: Chrome::anonymous(),
            csrf: session.record.csrf_token.clone(),
            handle: session.staff.name_and_handle(),
            idle: in_words(state.confidant.settings().session.idle),
            locked: session.state == SessionState::Locked,
            back: back.map(|b| b.to_string()).unwrap_or_default(),
            errors,
        }
    }
}

/// A duration in whole minutes, or seconds when under a minute: "15 minutes", "1 minute", "30 seconds".
pub(crate) fn in_words(d: time::Duration) -> String {
    let (n, unit) = if d.whole_minutes() >= 1 {
        (d.whole_minutes(), "minute")
    } else {
        (d.whole_seconds(), "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    /// Where to go once unlocked: kept only if [`ReturnPath`] admits it.
    #[serde(default, rename = "return")]
    back: Option<String>,
}

#[derive(Deserialize)]
pub struct LockQuery {
    #[serde(default, rename = "return")]
    back: Option<String>,
}

/// Where unlocking goes: the page given, if it is one of this site's, or the dashboard.
fn way_back(back: Option<&ReturnPath>) -> Response {
    Redirect::to(back.map_or("/", ReturnPath::as_str)).into_response()
}

/// The lock page. Opened by a page's own refresh at the idle limit (`?return=` that page), so it
/// reads the session without counting that as activity: a window left open must not keep its
/// session from locking. A session still open (used in another window since) is not asked for
/// the password, but its page stays hidden until someone follows the link back.
pub async fn lock_form<S: Store, C: Clock>(
    state: St<S, C>,
    headers: HeaderMap,
    Query(query): Query<LockQuery>,
) -> Result<Response, PageError> {
    let back = ReturnPath::from_given(query.back.as_deref());
    let session = match cookie_value(&headers, state.web.session_cookie()) {
        Some(token) => state.confidant.session_without_activity(&token).await?,
        None => None,
    };
    let session = match session {
        Some(s) if matches!(s.state, SessionState::Locked | SessionState::Active) => s,
        other => at_step(other, SessionState::Locked)?,
    };
    render(&LockPage::new(&state, &session, back.as_ref(), Vec::new()))
}

pub async fn lock_submit<S: Store, C: Clock>(
    state: St<S, C>,
    MaybeSession(session): MaybeSession,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let back = ReturnPath::from_given(form.back.as_deref());
    if let Some(s) = &session {
        check_session_csrf(s, &form.csrf)?;
        // Unlocked meanwhile (in another window): nothing to do but go back.
        if s.state == SessionState::Active {
            return Ok(way_back(back.as_ref()));
        }
    }
    let session = at_step(session, SessionState::Locked)?;
    let again = |errors: Vec<(String, String)>| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &LockPage::new(&state, &session, back.as_ref(), errors),
        )
    };
    match state
        .confidant
        .reauthenticate(&session, &form.password)
        .await
    {
        Ok(()) => Ok(way_back(back.as_ref())),
        Err(SignInError::Refused) => again(vec![(
            "password".to_owned(),
            "The password is not right".to_owned(),
        )]),
        Err(SignInError::Invalid(v)) => again(field_errors(&v)),
        Err(SignInError::LockedOut { .. }) => Ok(redirect_with(
            "/sign-in",
            vec![expired_cookie(
                state.web.secure_cookies,
                state.web.session_cookie(),
            )],
        )),
        Err(e) => Err(e.into()),
    }
}

/// A form that carries nothing but its CSRF token (sign out, revoke, ...).
#[derive(Deserialize)]
pub struct CsrfOnlyForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn sign_out<S: Store, C: Clock>(
    state: St<S, C>,
    MaybeSession(session): MaybeSession,
    Form(form): Form<CsrfOnlyForm>,
) -> Result<Response, PageError> {
    if let Some(session) = session {
        check_session_csrf(&session, &form.csrf)?;
        state.confidant.sign_out(&session).await?;
    }
    Ok(redirect_with(
        "/sign-in",
        vec![expired_cookie(
            state.web.secure_cookies,
            state.web.session_cookie(),
        )],
    ))
}

crate::http::guard::posted!(CsrfOnlyForm);

#[cfg(test)]
mod tests {
    use super::in_words;

    #[test]
    fn the_idle_timeout_is_put_in_words() {
        assert_eq!(in_words(time::Duration::minutes(15)), "15 minutes");
        assert_eq!(in_words(time::Duration::seconds(60)), "1 minute");
        assert_eq!(in_words(time::Duration::seconds(90)), "1 minute");
        assert_eq!(in_words(time::Duration::seconds(3)), "3 seconds");
        assert_eq!(in_words(time::Duration::seconds(1)), "1 second");
    }
}
