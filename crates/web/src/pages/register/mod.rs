//! The organisation's registers for the public and its overseers: the privacy notices of its
//! services, the accessibility statement, and the register of processing activities.

pub mod accessibility;
pub mod privacy;
pub mod processing;

use confidant_core::Clock;
use confidant_core::store::Store;

use crate::AppState;
use crate::http::routing::{Routes, get};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/admin/register", get(processing::page::<S, C>))
        .route("/admin/register.csv", get(processing::csv::<S, C>))
        .route("/accessibility", get(accessibility::page::<S, C>))
        .route("/privacy", get(privacy::index::<S, C>))
        .route("/privacy/{service}", get(privacy::show::<S, C>))
        .route(
            "/privacy/{service}/notice.md",
            get(privacy::markdown::<S, C>),
        )
        .route("/privacy/{service}/notice.pdf", get(privacy::pdf::<S, C>))
}
