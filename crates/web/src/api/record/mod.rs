//! A person's record through the API: the person, the field catalogue and a service's
//! configuration, related people, cases, entries, documents, and the record's history, export and
//! paper register.

pub(crate) mod case;
pub(crate) mod caseload;
pub(crate) mod catalogue;
pub(crate) mod document;
pub(crate) mod entry;
pub(crate) mod history;
pub(crate) mod merge;
pub(crate) mod person;
pub(crate) mod related;

pub use document::MAX_UPLOAD_BODY_BYTES;

use confidant_core::Clock;
use confidant_core::store::Store;

use crate::AppState;
use crate::http::routing::{Routes, delete, get, patch, post, put};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route(
            "/services/{service_id}/people",
            post(person::create_person::<S, C>).get(person::list_people::<S, C>),
        )
        .route(
            "/services/{service_id}/caseload",
            get(caseload::caseload::<S, C>),
        )
        .route(
            "/services/{service_id}/caseloads",
            get(caseload::caseload_counts::<S, C>),
        )
        .route(
            "/services/{service_id}/people/lookups",
            post(person::find_people::<S, C>),
        )
        .route(
            "/people/{person_id}",
            get(person::read_person::<S, C>).patch(person::update_person::<S, C>),
        )
        .route(
            "/people/{person_id}/assignment",
            put(person::assign_person::<S, C>),
        )
        .route(
            "/people/{person_id}/break-glass",
            post(person::break_glass::<S, C>),
        )
        .route(
            "/people/{person_id}/merge",
            get(merge::preview::<S, C>).post(merge::merge::<S, C>),
        )
        .route("/people/{person_id}/merges", get(merge::merges::<S, C>))
        .route(
            "/people/{person_id}/access-history",
            get(person::access_history::<S, C>),
        )
        .route("/catalogue", get(catalogue::catalogue))
        .route(
            "/services/{service_id}/configuration",
            get(catalogue::configuration::<S, C>),
        )
        .route("/people/{person_id}/history", get(history::history::<S, C>))
        .route("/people/{person_id}/export", get(history::export::<S, C>))
        .route(
            "/services/{service_id}/paper",
            get(history::paper_register::<S, C>),
        )
        .route(
            "/people/{person_id}/related",
            get(related::list::<S, C>).post(related::add::<S, C>),
        )
        .route(
            "/people/{person_id}/related/{related_id}",
            delete(related::remove::<S, C>).put(related::change::<S, C>),
        )
        .route(
            "/people/{person_id}/cases",
            get(case::list::<S, C>).post(case::open::<S, C>),
        )
        .route(
            "/people/{person_id}/cases/{case_id}/close",
            post(case::close::<S, C>),
        )
        .route(
            "/people/{person_id}/cases/{case_id}/reopen",
            post(case::reopen::<S, C>),
        )
        .route(
            "/people/{person_id}/entries",
            get(entry::list::<S, C>).post(entry::add::<S, C>),
        )
        .route(
            "/people/{person_id}/entries/{entry_id}",
            patch(entry::update::<S, C>),
        )
        .route(
            "/people/{person_id}/entries/{entry_id}/error",
            post(entry::mark_in_error::<S, C>),
        )
        .route(
            "/people/{person_id}/entries/{entry_id}/destruction",
            post(entry::paper_destroyed::<S, C>),
        )
        .route("/people/{person_id}/documents", get(document::list::<S, C>))
        .route(
            "/people/{person_id}/documents/{document_id}/move",
            post(document::move_to::<S, C>),
        )
        .route(
            "/people/{person_id}/documents/{document_id}",
            get(document::download::<S, C>),
        )
}

/// The routes that take more than the application's small-body limit (a document upload), with
/// their own limit. Merged outside that limit (see [`crate::router`]); paths are the full ones.
pub fn upload_routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new().route(
        "/api/v1/people/{person_id}/documents",
        post(document::upload::<S, C>),
    )
}
