//! Staff: signing in and out, the lock, the dashboard, one's own password and API tokens, the
//! staff accounts pages, and the services and teams pages.

pub mod account;
pub mod admin;
pub mod services;
pub mod sign_in;

use confidant_core::Clock;
use confidant_core::store::Store;

use crate::AppState;
use crate::http::routing::{Routes, get, post};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/", get(account::dashboard::<S, C>))
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
        .route(
            "/admin/services",
            get(services::list::<S, C>).post(services::create::<S, C>),
        )
        .route("/admin/services/{service_id}", get(services::show::<S, C>))
        .route(
            "/admin/services/{service_id}/teams",
            post(services::add_team::<S, C>),
        )
        .route(
            "/admin/services/{service_id}/scope",
            get(services::scope_form::<S, C>).post(services::scope_submit::<S, C>),
        )
}
