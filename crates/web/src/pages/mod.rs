//! The staff web pages: server-rendered HTML (askama templates on GOV.UK Frontend markup), working
//! without JavaScript.
//!
//! One folder per area, as in core (`staff`, `record`, `referral`, `sharing`, `contact`, `register`),
//! each with its router; [`routes`] merges them. The sessions, the checks about the caller and the
//! error page are the edge's ([`crate::http`]).
//!
//! Guarantees:
//! - Sessions are server-side (see `confidant_core::account`); the cookie is HttpOnly, SameSite=Strict,
//!   path `/`, and `__Host-` prefixed and Secure whenever the site is served over HTTPS.
//! - Every form carries a CSRF token: the session's own once signed in, a double-submit cookie before.
//!   A post without the right token changes nothing and answers 403 (a signed-in member of staff's
//!   forms are read through [`crate::http::guard::PostForm`] or `TrainedForm`, which check it).
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

pub mod certificate;
pub mod contact;
pub mod form;
pub mod keeping;
pub mod query_hold;
pub mod record;
pub mod referral;
pub mod register;
pub mod retention;
pub mod rights;
pub mod rights_bundle;
pub mod rights_erasure;
pub mod rights_letter;
pub mod sharing;
pub mod staff;
pub mod task;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use confidant_core::Clock;
use confidant_core::store::Store;
use confidant_core::uk_time;

pub use crate::http::error::{PageError, field_errors};
pub use crate::http::guard::{PostForm, TrainedForm, TrainedStaff};
pub use crate::http::session::{
    Chrome, Signed, administers, can_break_glass, oversees, works_in_service,
};

use crate::AppState;
use crate::http::routing::Routes;

/// Every page, by area.
pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .merge(staff::routes())
        .merge(record::routes())
        .merge(referral::routes())
        .merge(sharing::routes())
        .merge(contact::routes())
        .merge(register::routes())
        .merge(task::routes())
        .merge(keeping::routes())
        .merge(certificate::routes())
        .merge(retention::routes())
        .merge(query_hold::routes())
        .merge(rights::routes())
        .merge(rights_bundle::routes())
        .merge(rights_erasure::routes())
        .merge(rights_letter::routes())
}

/// The pages that take a file upload, with their own body limit (see [`record::upload_routes`]).
pub fn upload_routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    record::upload_routes()
}

/// Renders a template as a 200 page.
pub fn render(template: &impl Template) -> Result<Response, PageError> {
    Ok(Html(template.render()?).into_response())
}

/// Renders a template with a status (422 for a form with errors).
pub fn render_status(status: StatusCode, template: &impl Template) -> Result<Response, PageError> {
    Ok((status, Html(template.render()?)).into_response())
}

/// A moment as people read it: UK local time, with GMT or BST as in force then.
pub fn date_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[day] [month repr:short] [year] [hour]:[minute]");
    format!(
        "{} {}",
        uk_time::to_uk(t).format(&f).unwrap_or_default(),
        uk_time::zone_name(t)
    )
}

/// The UK date of a moment.
pub fn date(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[day] [month repr:short] [year]");
    uk_time::to_uk(t).format(&f).unwrap_or_default()
}

/// Today in the UK.
pub fn uk_today(now: time::OffsetDateTime) -> time::Date {
    uk_time::to_uk(now).date()
}

/// The state, for handlers that only need it.
pub type St<S, C> = State<AppState<S, C>>;

/// The message for one field, or "".
pub fn error_for(errors: &[(String, String)], id: &str) -> String {
    errors
        .iter()
        .find(|(f, _)| f == id)
        .map(|(_, m)| m.clone())
        .unwrap_or_default()
}
