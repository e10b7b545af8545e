//! The pages' side of the edge: who is signed in, the page furniture that follows from it, and the
//! session cookies.
//!
//! Guarantees:
//! - Sessions are server-side (see `confidant_core::account`); the cookie is HttpOnly, SameSite=Strict,
//!   path `/`, and `__Host-` prefixed and Secure whenever the site is served over HTTPS.
//! - A page that takes [`Signed`] sends anyone else to sign in, a half-signed-in one to their second
//!   factor, and a locked session to the unlock page (which comes back to the page asked for).
//! - Every page of a signed-in session carries a `<meta http-equiv="refresh">` that opens the lock
//!   page when the session's idle limit is up ([`Chrome::lock_refresh`]), so an unattended screen
//!   stops showing a record without any JavaScript; unlocking comes back to that page.
//! - [`Signed`] leaves the session's CSRF token and actor on the request, so that the posted-form
//!   extractors of [`super::guard`] check a form against this session without reading it again.

use axum::extract::{FromRequestParts, MatchedPath, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::account::{Session, SessionState};
use confidant_core::store::{StaffRecord, Store};
use confidant_core::{Clock, Role, access::Principal};

use super::error::PageError;
use super::guard::SignedIn;
use super::return_path::ReturnPath;
use crate::AppState;

/// The page furniture every template gets (the contract of `templates/layout.html`).
pub struct Chrome {
    pub signed_in: bool,
    pub csrf: String,
    pub org_name: String,
    pub user_name: String,
    pub nav: Vec<(String, String, bool)>,
    /// A processor's worker, who reaches records only by a referral: a record's navigation offers
    /// only the parts a referral can send.
    pub referred_only: bool,
    /// The `content` of the page's `<meta http-equiv="refresh">`: after the session's idle limit
    /// the browser opens the lock page, which hides this one without JavaScript. Set on every page
    /// of a signed-in session, and on no other.
    pub lock_refresh: Option<String>,
}

impl Chrome {
    /// For pages without a (full) session: no navigation.
    pub fn anonymous() -> Self {
        Self {
            signed_in: false,
            csrf: String::new(),
            org_name: String::new(),
            user_name: String::new(),
            nav: Vec::new(),
            referred_only: false,
            lock_refresh: None,
        }
    }

    /// For a page of an active session: its navigation, and the lock page after `idle`, which
    /// comes back to `here` once unlocked.
    pub fn signed_in(session: &Session, idle: time::Duration, here: Option<&ReturnPath>) -> Self {
        // Whole seconds, rounded up and at least one: a refresh of 0 would reload at once, for ever.
        let seconds = ((idle.whole_milliseconds() + 999) / 1000).max(1);
        Self {
            signed_in: true,
            csrf: session.record.csrf_token.clone(),
            org_name: session.organisation_name.clone(),
            user_name: session.staff.name().to_owned(),
            nav: nav_for(session.staff.role),
            referred_only: session.staff.role == Role::ProcessorStaff,
            lock_refresh: Some(format!("{seconds};url={}", ReturnPath::lock_href(here))),
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
            user_name: self.chrome_base.user_name.clone(),
            nav: self
                .chrome_base
                .nav
                .iter()
                .map(|(href, label, _)| (href.clone(), label.clone(), href == current))
                .collect(),
            referred_only: self.chrome_base.referred_only,
            lock_refresh: self.chrome_base.lock_refresh.clone(),
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

    /// What the form extractors check a posted form against.
    pub(crate) fn signed_in(&self) -> SignedIn {
        SignedIn {
            csrf: self.csrf().to_owned(),
            actor: self.actor().clone(),
        }
    }

    /// Refuses a form whose CSRF token is not this session's. Forms are checked by
    /// [`super::guard::PostForm`] and `TrainedForm`; this is for a multipart upload, whose token
    /// is one of its parts.
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
    let mut nav = vec![
        ("/".to_owned(), "Dashboard".to_owned(), false),
        ("/tasks".to_owned(), "Tasks".to_owned(), false),
    ];
    if oversees(role) || role == Role::ServiceManager {
        nav.push(("/rights".to_owned(), "Rights requests".to_owned(), false));
    }
    if works_in_service(role) {
        nav.push(("/people".to_owned(), "People".to_owned(), false));
        nav.push(("/diary".to_owned(), "Diary".to_owned(), false));
        nav.push(("/referrals".to_owned(), "Referrals".to_owned(), false));
        nav.push(("/paper".to_owned(), "Paper".to_owned(), false));
    }
    if role == Role::ProcessorStaff {
        nav.push(("/people".to_owned(), "People".to_owned(), false));
    }
    if administers(role) {
        nav.push(("/admin/users".to_owned(), "Staff".to_owned(), false));
    }
    if role == Role::Administrator {
        nav.push(("/admin/services".to_owned(), "Services".to_owned(), false));
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
        nav.push(("/admin/retention".to_owned(), "Retention".to_owned(), false));
        nav.push((
            "/admin/destruction-certificates".to_owned(),
            "Destruction".to_owned(),
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
        let here = page_here(parts);
        match session.state {
            SessionState::Active => {}
            SessionState::Locked => return Err(PageError::Locked(here)),
            SessionState::AwaitingSecondFactor { enrolled: true } => {
                return Err(PageError::Redirect("/sign-in/two-factor"));
            }
            SessionState::AwaitingSecondFactor { enrolled: false } => {
                return Err(PageError::Redirect("/sign-in/enrol"));
            }
        }
        let idle = state.confidant.settings().session.idle;
        let chrome_base = Chrome::signed_in(&session, idle, here.as_ref());
        let signed = Signed {
            session,
            chrome_base,
        };
        parts.extensions.insert(signed.signed_in());
        Ok(signed)
    }
}

/// The page a request opens, to come back to after unlocking: a GET of a route this site serves,
/// its path only (a query may carry what was typed). A form's answer has none: its address may
/// take no GET.
fn page_here(parts: &Parts) -> Option<ReturnPath> {
    if parts.method != Method::GET || parts.extensions.get::<MatchedPath>().is_none() {
        return None;
    }
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.path(), |u| u.0.path());
    ReturnPath::parse(path)
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
