//! The staff web pages: server-rendered HTML (askama templates on GOV.UK Frontend markup), working
//! without JavaScript.
//!
//! Guarantees:
//! - Sessions are server-side (see `confidant_core::account`); the cookie is HttpOnly, SameSite=Strict,
//!   path `/`, and `__Host-` prefixed and Secure whenever the site is served over HTTPS.
//! - Every form carries a CSRF token: the session's own once signed in, a double-submit cookie before.
//!   A post without the right token changes nothing and answers 403.
//! - A page that needs a signed-in member of staff sends anyone else to sign in, a half-signed-in one to
//!   their second factor, and a locked session to the unlock page; a record the actor may not see
//!   answers the same 404 as a missing one.
//! - No personal data in URLs: searches are posted, ids only in paths.

/// Gives a page struct with an `errors: Vec<(String, String)>` field an `err(id)` method for its
/// template: the message for one field, or "".
macro_rules! form_errors {
    ($($page:ident),+) => {
        $(impl $page {
            pub fn err(&self, id: &str) -> String {
                crate::pages::error_for(&self.errors, id)
            }
        })+
    };
}

pub mod account;
pub mod admin;
pub mod consent;
pub mod contact;
pub mod disclosure;
pub mod document;
pub mod form;
pub mod paper;
pub mod people;
pub mod person;
pub mod privacy;
pub mod recipient;
pub mod record;
pub mod referral;
pub mod register;
pub mod review;
pub mod share;
pub mod sign_in;

use crate::routing::{Routes, get, post};
use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use confidant_core::access::Principal;
use confidant_core::account::{Session, SessionState};
use confidant_core::organisation::OrganisationError;
use confidant_core::person::{PersonError, Violations};
use confidant_core::store::{StaffRecord, Store, StoreError};
use confidant_core::{Clock, Role};

use crate::AppState;

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/", get(account::dashboard::<S, C>))
        .route("/admin/register", get(register::page::<S, C>))
        .route("/admin/register.csv", get(register::csv::<S, C>))
        .route("/privacy", get(privacy::index::<S, C>))
        .route("/privacy/{service}", get(privacy::show::<S, C>))
        .route(
            "/privacy/{service}/notice.md",
            get(privacy::markdown::<S, C>),
        )
        .route("/privacy/{service}/notice.pdf", get(privacy::pdf::<S, C>))
        .route(
            "/sign-in",
            get(sign_in::form::<S, C>).post(sign_in::submit::<S, C>),
        )
        .route(
            "/sign-in/enrol",
            get(sign_in::enrol_form::<S, C>).post(sign_in::enrol_submit::<S, C>),
        )
        .route(
            "/sign-in/two-factor",
            get(sign_in::second_form::<S, C>).post(sign_in::second_submit::<S, C>),
        )
        .route(
            "/lock",
            get(sign_in::lock_form::<S, C>).post(sign_in::lock_submit::<S, C>),
        )
        .route("/sign-out", post(sign_in::sign_out::<S, C>))
        .route(
            "/account/password",
            get(account::password_form::<S, C>).post(account::password_submit::<S, C>),
        )
        .route(
            "/account/tokens",
            get(account::tokens::<S, C>).post(account::token_create::<S, C>),
        )
        .route(
            "/account/tokens/{token_id}/revoke",
            post(account::token_revoke::<S, C>),
        )
        .route("/people", get(people::list::<S, C>))
        .route("/people/search", post(people::search::<S, C>))
        .route(
            "/people/new",
            get(person::new_form::<S, C>).post(person::create::<S, C>),
        )
        .route("/people/{person_id}", get(person::show::<S, C>))
        .route(
            "/people/{person_id}/edit/{group}",
            get(person::edit_form::<S, C>).post(person::edit_submit::<S, C>),
        )
        .route("/people/{person_id}/history", get(person::history::<S, C>))
        .route(
            "/people/{person_id}/contact",
            get(contact::show::<S, C>).post(contact::save::<S, C>),
        )
        .route(
            "/people/{person_id}/related/new",
            get(record::related_form::<S, C>).post(record::related_create::<S, C>),
        )
        .route(
            "/people/{person_id}/related/{related_id}/remove",
            get(record::related_remove_form::<S, C>).post(record::related_remove::<S, C>),
        )
        .route("/people/{person_id}/cases", post(record::case_open::<S, C>))
        .route(
            "/people/{person_id}/cases/{case_id}/close",
            get(record::case_close_form::<S, C>).post(record::case_close::<S, C>),
        )
        .route("/people/{person_id}/notes", get(record::notes::<S, C>))
        .route(
            "/people/{person_id}/notes/new",
            get(record::note_form::<S, C>).post(record::note_create::<S, C>),
        )
        .route("/people/{person_id}/plans", get(record::plans::<S, C>))
        .route(
            "/people/{person_id}/plans/new",
            get(record::plan_form::<S, C>).post(record::plan_create::<S, C>),
        )
        .route(
            "/people/{person_id}/plans/{plan_id}/goals/new",
            get(record::goal_form::<S, C>).post(record::goal_create::<S, C>),
        )
        .route(
            "/people/{person_id}/entries/{entry_id}/edit",
            get(record::entry_edit_form::<S, C>).post(record::entry_edit::<S, C>),
        )
        .route(
            "/people/{person_id}/entries/{entry_id}/status",
            post(record::entry_status::<S, C>),
        )
        .route(
            "/people/{person_id}/appointments",
            get(record::appointments::<S, C>),
        )
        .route(
            "/people/{person_id}/appointments/new",
            get(record::appointment_form::<S, C>).post(record::appointment_create::<S, C>),
        )
        .route("/people/{person_id}/paper", get(record::paper::<S, C>))
        .route(
            "/people/{person_id}/paper/new",
            get(record::paper_form::<S, C>).post(record::paper_create::<S, C>),
        )
        .route(
            "/people/{person_id}/documents/{document_id}",
            get(document::download::<S, C>),
        )
        .route("/referrals", get(referral::list::<S, C>))
        .route(
            "/referrals/new",
            get(referral::new_form::<S, C>).post(referral::create::<S, C>),
        )
        .route("/referrals/{referral_id}", get(referral::show::<S, C>))
        .route(
            "/referrals/{referral_id}/triage",
            post(referral::triage::<S, C>),
        )
        .route(
            "/referrals/{referral_id}/accept",
            post(referral::accept::<S, C>),
        )
        .route("/paper", get(paper::register::<S, C>))
        .route(
            "/people/{person_id}/break-glass",
            get(people::break_glass_form::<S, C>).post(people::break_glass_submit::<S, C>),
        )
        .route(
            "/admin/users",
            get(admin::list::<S, C>).post(admin::create::<S, C>),
        )
        .route("/admin/users/new", get(admin::new_form::<S, C>))
        .route("/admin/users/{staff_id}", get(admin::show::<S, C>))
        .route(
            "/admin/users/{staff_id}/{operation}",
            post(admin::operate::<S, C>),
        )
        .route("/break-glass/review", get(review::queue::<S, C>))
        .route(
            "/break-glass/review/{grant_id}",
            post(review::decide::<S, C>),
        )
        .merge(sharing_routes())
}

/// Consent, sharing, disclosures and the recipient register (F4).
fn sharing_routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    let p = "/people/{person_id}";
    Routes::new()
        .route(&format!("{p}/sharing"), get(consent::show::<S, C>))
        .route(
            &format!("{p}/sharing/consent"),
            post(consent::record::<S, C>),
        )
        .route(
            &format!("{p}/sharing/restrictions"),
            post(consent::restrict::<S, C>),
        )
        .route(
            &format!("{p}/sharing/restrictions/{{restriction_id}}/lift"),
            post(consent::lift::<S, C>),
        )
        .route(
            &format!("{p}/sharing/approvals/{{approval_id}}"),
            post(consent::decide::<S, C>),
        )
        .route(
            &format!("{p}/share"),
            get(share::form::<S, C>).post(share::submit::<S, C>),
        )
        .route(
            &format!("{p}/share/approval"),
            get(share::approval_form::<S, C>).post(share::approval_submit::<S, C>),
        )
        .route(
            &format!("{p}/disclosures/{{disclosure_id}}"),
            get(disclosure::show::<S, C>),
        )
        .route(
            &format!("{p}/disclosures/{{disclosure_id}}/package.json"),
            get(disclosure::package::<S, C>),
        )
        .route(
            &format!("{p}/disclosures/{{disclosure_id}}/end"),
            post(disclosure::end_referral::<S, C>),
        )
        .route("/admin/recipients", get(recipient::list::<S, C>))
        .route(
            "/admin/recipients/new",
            get(recipient::new_form::<S, C>).post(recipient::create::<S, C>),
        )
        .route(
            "/admin/recipients/{recipient_id}",
            get(recipient::show::<S, C>),
        )
        .route(
            "/admin/recipients/{recipient_id}/edit",
            get(recipient::edit_form::<S, C>).post(recipient::edit_submit::<S, C>),
        )
        .route(
            "/admin/recipients/{recipient_id}/workers",
            post(recipient::assign::<S, C>),
        )
        .route(
            "/admin/consent-purposes/new",
            get(recipient::purpose_form::<S, C>).post(recipient::purpose_create::<S, C>),
        )
        .route(
            "/admin/disclosures/review",
            get(recipient::review_queue::<S, C>),
        )
        .route(
            "/admin/disclosures/review/{disclosure_id}",
            post(recipient::review_decide::<S, C>),
        )
        .route(
            "/services/{service_id}/consent-form",
            get(recipient::consent_form::<S, C>),
        )
}

/// The largest body an upload page takes: a document at its limit, its form fields and the
/// multipart framing. Anything larger is refused with a 413 page before core sees it.
pub const UPLOAD_BODY_BYTES: usize = confidant_core::document::MAX_DOCUMENT_BYTES + 64 * 1024;

/// The pages that take a file upload. They take more than the application's small-body limit, so
/// they are merged outside it (see [`crate::router`]) with their own; their GET pages live here too,
/// because a path is routed in one place.
pub fn upload_routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route(
            "/people/{person_id}/documents",
            get(document::list::<S, C>)
                .post(document::upload::<S, C>)
                .body_limit(UPLOAD_BODY_BYTES),
        )
        .route(
            "/people/{person_id}/photo",
            get(document::photo::<S, C>)
                .post(document::photo_upload::<S, C>)
                .body_limit(UPLOAD_BODY_BYTES),
        )
}

/// The page furniture every template gets (the contract of `templates/layout.html`).
pub struct Chrome {
    pub signed_in: bool,
    pub csrf: String,
    pub org_name: String,
    pub user_handle: String,
    pub nav: Vec<(String, String, bool)>,
    /// A processor's worker, who reaches records only by a referral: a record's navigation offers
    /// only the parts a referral can send.
    pub referred_only: bool,
}

impl Chrome {
    /// For pages without a (full) session: no navigation.
    pub fn anonymous() -> Self {
        Self {
            signed_in: false,
            csrf: String::new(),
            org_name: String::new(),
            user_handle: String::new(),
            nav: Vec::new(),
            referred_only: false,
        }
    }
}

/// The role can work with records of its service day to day.
pub fn works_in_service(role: Role) -> bool {
    matches!(
        role,
        Role::Practitioner | Role::TeamManager | Role::ServiceManager
    )
}

pub fn oversees(role: Role) -> bool {
    matches!(role, Role::DataProtectionOfficer | Role::CaldicottGuardian)
}

pub fn can_break_glass(role: Role) -> bool {
    works_in_service(role) || oversees(role)
}

/// Sees the staff accounts page (administrators change them; the others read them).
pub fn administers(role: Role) -> bool {
    matches!(
        role,
        Role::Administrator | Role::ServiceManager | Role::TeamManager
    ) || oversees(role)
}

/// A signed-in, fully authenticated member of staff with an unlocked session.
pub struct Signed {
    pub session: Session,
    pub chrome_base: Chrome,
}

impl Signed {
    pub fn actor(&self) -> &Principal {
        &self.session.actor
    }

    pub fn staff(&self) -> &StaffRecord {
        &self.session.staff
    }

    pub fn csrf(&self) -> &str {
        &self.session.record.csrf_token
    }

    /// The chrome with `current` marked in the navigation.
    pub fn chrome(&self, current: &str) -> Chrome {
        Chrome {
            signed_in: true,
            csrf: self.chrome_base.csrf.clone(),
            org_name: self.chrome_base.org_name.clone(),
            user_handle: self.chrome_base.user_handle.clone(),
            nav: self
                .chrome_base
                .nav
                .iter()
                .map(|(href, label, _)| (href.clone(), label.clone(), href == current))
                .collect(),
            referred_only: self.chrome_base.referred_only,
        }
    }

    /// Refuses (403, audited by core) a non-record action the policy does not allow this member of
    /// staff: `what` says in plain words who may.
    pub async fn require<S: Store, C: Clock>(
        &self,
        state: &AppState<S, C>,
        action: confidant_core::Action,
        resource: confidant_core::Resource,
        what: &'static str,
    ) -> Result<(), PageError> {
        if state.confidant.may(self.actor(), action, resource).await? {
            Ok(())
        } else {
            Err(PageError::Forbidden(what))
        }
    }

    /// The actor's organisation as a policy resource.
    pub fn organisation(&self) -> confidant_core::Resource {
        confidant_core::Resource::Organisation {
            id: self.staff().organisation_id,
        }
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, given: &str) -> Result<(), PageError> {
        if constant_time_eq(given.as_bytes(), self.csrf().as_bytes()) {
            Ok(())
        } else {
            Err(PageError::Csrf)
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn nav_for(role: Role) -> Vec<(String, String, bool)> {
    let mut nav = vec![("/".to_owned(), "Dashboard".to_owned(), false)];
    if works_in_service(role) {
        nav.push(("/people".to_owned(), "People".to_owned(), false));
        nav.push(("/referrals".to_owned(), "Referrals".to_owned(), false));
        nav.push(("/paper".to_owned(), "Paper".to_owned(), false));
    }
    if administers(role) {
        nav.push(("/admin/users".to_owned(), "Staff".to_owned(), false));
    }
    if oversees(role) {
        nav.push((
            "/break-glass/review".to_owned(),
            "Break-glass review".to_owned(),
            false,
        ));
        nav.push((
            "/admin/recipients".to_owned(),
            "Recipients".to_owned(),
            false,
        ));
    }
    nav.push(("/account/tokens".to_owned(), "API tokens".to_owned(), false));
    nav
}

/// A cookie's value, if the request has it.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// Where a request stands: its session, if any (in whatever state).
pub struct MaybeSession(pub Option<Session>);

impl<S: Store, C: Clock> FromRequestParts<AppState<S, C>> for MaybeSession {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S, C>,
    ) -> Result<Self, PageError> {
        let Some(token) = cookie_value(&parts.headers, state.web.session_cookie()) else {
            return Ok(MaybeSession(None));
        };
        Ok(MaybeSession(state.confidant.session(&token).await?))
    }
}

impl<S: Store, C: Clock> FromRequestParts<AppState<S, C>> for Signed {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S, C>,
    ) -> Result<Self, PageError> {
        let MaybeSession(session) = MaybeSession::from_request_parts(parts, state).await?;
        let Some(session) = session else {
            return Err(PageError::Redirect("/sign-in"));
        };
        match session.state {
            SessionState::Active => {}
            SessionState::Locked => return Err(PageError::Redirect("/lock")),
            SessionState::AwaitingSecondFactor { enrolled: true } => {
                return Err(PageError::Redirect("/sign-in/two-factor"));
            }
            SessionState::AwaitingSecondFactor { enrolled: false } => {
                return Err(PageError::Redirect("/sign-in/enrol"));
            }
        }
        let org_name = state
            .confidant
            .organisations()
            .await
            .map_err(|e| PageError::Internal(e.to_string()))?
            .into_iter()
            .find(|o| o.id == session.staff.organisation_id)
            .map(|o| o.name)
            .unwrap_or_default();
        let chrome_base = Chrome {
            signed_in: true,
            csrf: session.record.csrf_token.clone(),
            org_name,
            user_handle: session.staff.handle.clone(),
            nav: nav_for(session.staff.role),
            referred_only: session.staff.role == confidant_core::Role::ProcessorStaff,
        };
        Ok(Signed {
            session,
            chrome_base,
        })
    }
}

/// Why a page could not be shown. Rendered as a page (never JSON), with the same care as the API:
/// a refused record is "Page not found".
#[derive(Debug)]
pub enum PageError {
    Redirect(&'static str),
    NotFound,
    /// A non-record action the role may not take.
    Forbidden(&'static str),
    Csrf,
    /// The record changed meanwhile, or the step was already taken (a case already closed, a
    /// referral already decided): 409, nothing changed.
    Conflict(&'static str),
    /// Input a page offers no form to correct (a button's value): 400 with each problem named.
    Invalid(Vec<(String, String)>),
    /// An upload larger than the page accepts: 413, nothing stored.
    TooLarge,
    Internal(String),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            // A step another caller took first (or a duplicate): 409, never a 500.
            StoreError::Conflict(what) => PageError::Conflict(what),
            StoreError::Backend(_) => PageError::Internal(e.to_string()),
        }
    }
}

impl From<PersonError> for PageError {
    fn from(e: PersonError) -> Self {
        match e {
            PersonError::NotFound => PageError::NotFound,
            PersonError::Conflict(what) => PageError::Conflict(what),
            PersonError::Invalid(v) => PageError::Invalid(field_errors(&v)),
            PersonError::Forbidden { message, .. } => PageError::Forbidden(message),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<OrganisationError> for PageError {
    fn from(e: OrganisationError) -> Self {
        match e {
            OrganisationError::NotFound => PageError::NotFound,
            OrganisationError::Conflict(what) => PageError::Conflict(what),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    heading: &'a str,
    body: &'a str,
    problems: Vec<String>,
    link: Option<(&'a str, &'a str)>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut problems = Vec::new();
        let (status, heading, body, link) = match self {
            PageError::Redirect(to) => return Redirect::to(to).into_response(),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the web address, check it is correct. If you followed a link to a person's record, it may not exist or it may not be in your scope.",
                Some(("/", "Go to your dashboard")),
            ),
            PageError::Forbidden(what) => (
                StatusCode::FORBIDDEN,
                "You cannot do this",
                what,
                Some(("/", "Go to your dashboard")),
            ),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was sent without its security token, or from another page. Nothing was changed. Go back, reload the page and try again.",
                Some(("/", "Go to your dashboard")),
            ),
            PageError::Conflict(what) => (
                StatusCode::CONFLICT,
                "This has already changed",
                what,
                Some(("/", "Go to your dashboard")),
            ),
            PageError::Invalid(errors) => {
                problems = errors.into_iter().map(|(_, m)| m).collect();
                (
                    StatusCode::BAD_REQUEST,
                    "There is a problem",
                    "Nothing was changed. Go back, correct this and try again.",
                    Some(("/", "Go to your dashboard")),
                )
            }
            PageError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The file is too large",
                "Nothing was stored. A document must be 10 MB or smaller, and a photo 2 MB or smaller. Go back and choose a smaller file.",
                None,
            ),
            PageError::Internal(detail) => {
                tracing::error!(error = %detail, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, there is a problem with the service",
                    "Try again later. If it keeps happening, tell your administrator the time it happened.",
                    None,
                )
            }
        };
        let page = ErrorPage {
            chrome: Chrome::anonymous(),
            heading,
            body,
            problems,
            link,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => status.into_response(),
        }
    }
}

/// Renders a template as a 200 page.
pub fn render(template: &impl Template) -> Result<Response, PageError> {
    Ok(Html(template.render()?).into_response())
}

/// Renders a template with a status (422 for a form with errors).
pub fn render_status(status: StatusCode, template: &impl Template) -> Result<Response, PageError> {
    Ok((status, Html(template.render()?)).into_response())
}

/// Field errors as (field id, message) pairs for the error summary.
pub fn field_errors(v: &Violations) -> Vec<(String, String)> {
    v.0.iter()
        .map(|v| (v.field.replace('_', "-"), sentence(v.field, &v.message)))
        .collect()
}

fn sentence(field: &str, message: &str) -> String {
    let label = field.replace('_', " ");
    let mut s = format!("{label} {message}");
    if let Some(first) = s.get(0..1) {
        s.replace_range(0..1, &first.to_uppercase());
    }
    s
}

/// The message for one field, or "".
pub fn error_for(errors: &[(String, String)], id: &str) -> String {
    errors
        .iter()
        .find(|(f, _)| f == id)
        .map(|(_, m)| m.clone())
        .unwrap_or_default()
}

/// `Set-Cookie` for the session.
pub fn session_cookie(state_secure: bool, name: &str, value: &str) -> HeaderValue {
    let mut c = cookie::Cookie::new(name.to_owned(), value.to_owned());
    c.set_http_only(true);
    c.set_same_site(cookie::SameSite::Strict);
    c.set_path("/");
    c.set_secure(state_secure);
    HeaderValue::from_str(&c.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// `Set-Cookie` that removes a cookie.
pub fn expired_cookie(state_secure: bool, name: &str) -> HeaderValue {
    let mut c = cookie::Cookie::new(name.to_owned(), "");
    c.set_http_only(true);
    c.set_same_site(cookie::SameSite::Strict);
    c.set_path("/");
    c.set_secure(state_secure);
    c.make_removal();
    HeaderValue::from_str(&c.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// A redirect that also sets cookies.
pub fn redirect_with(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = Redirect::to(to).into_response();
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

pub fn date_time(t: time::OffsetDateTime) -> String {
    let f =
        time::macros::format_description!("[day] [month repr:short] [year] [hour]:[minute] UTC");
    t.format(&f).unwrap_or_default()
}

pub fn date(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[day] [month repr:short] [year]");
    t.format(&f).unwrap_or_default()
}

/// The state, for handlers that only need it.
pub type St<S, C> = State<AppState<S, C>>;
