//! A person's record: the list and search of people, a person's own fields and history, the parts
//! of the record beyond them (related people, cases, notes, plans, appointments, paper), documents
//! and the photo, the service's paper register, and breaking the glass and its review.

pub mod assignment;
pub mod caseload;
pub mod diary;
pub mod document;
pub mod document_move;
pub mod merge;
pub mod new_person;
pub mod paper;
pub mod part;
pub mod people;
pub mod person;
pub mod review;

use confidant_core::Clock;
use confidant_core::store::Store;

use crate::AppState;
use crate::http::routing::{Routes, get, post};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/people", get(caseload::list::<S, C>))
        .route("/caseloads", get(caseload::counts::<S, C>))
        .route("/diary", get(diary::diary::<S, C>))
        .route(
            "/people/{person_id}/appointments/{entry_id}/reminder",
            get(part::reminder_form::<S, C>).post(part::reminder_send::<S, C>),
        )
        .route("/people/search", post(people::search::<S, C>))
        .route(
            "/people/new",
            get(new_person::new_form::<S, C>).post(new_person::create::<S, C>),
        )
        .route("/people/{person_id}", get(person::show::<S, C>))
        .route(
            "/people/{person_id}/edit/{group}",
            get(person::edit_form::<S, C>).post(person::edit_submit::<S, C>),
        )
        .route("/people/{person_id}/history", get(person::history::<S, C>))
        .route(
            "/people/{person_id}/assignment",
            get(assignment::form::<S, C>).post(assignment::submit::<S, C>),
        )
        .route(
            "/people/{person_id}/related/new",
            get(part::related_form::<S, C>).post(part::related_create::<S, C>),
        )
        .route(
            "/people/{person_id}/related/{related_id}/edit",
            get(part::related_edit_form::<S, C>).post(part::related_edit::<S, C>),
        )
        .route(
            "/people/{person_id}/related/{related_id}/remove",
            get(part::related_remove_form::<S, C>).post(part::related_remove::<S, C>),
        )
        .route("/people/{person_id}/cases", post(part::case_open::<S, C>))
        .route(
            "/people/{person_id}/cases/{case_id}/reopen",
            get(part::case_reopen_form::<S, C>).post(part::case_reopen::<S, C>),
        )
        .route(
            "/people/{person_id}/cases/{case_id}/close",
            get(part::case_close_form::<S, C>).post(part::case_close::<S, C>),
        )
        .route("/people/{person_id}/notes", get(part::notes::<S, C>))
        .route(
            "/people/{person_id}/notes/new",
            get(part::add_form::<S, C, part::NoteForm>).post(part::note_create::<S, C>),
        )
        .route("/people/{person_id}/plans", get(part::plans::<S, C>))
        .route(
            "/people/{person_id}/plans/new",
            get(part::add_form::<S, C, part::PlanForm>).post(part::plan_create::<S, C>),
        )
        .route(
            "/people/{person_id}/plans/{plan_id}/goals/new",
            get(part::goal_form::<S, C>).post(part::goal_create::<S, C>),
        )
        .route(
            "/people/{person_id}/entries/{entry_id}/edit",
            get(part::entry_edit_form::<S, C>).post(part::entry_edit::<S, C>),
        )
        .route(
            "/people/{person_id}/entries/{entry_id}/status",
            post(part::entry_status::<S, C>),
        )
        .route(
            "/people/{person_id}/entries/{entry_id}/error",
            get(part::entry_error_form::<S, C>).post(part::entry_error::<S, C>),
        )
        .route(
            "/people/{person_id}/appointments",
            get(part::appointments::<S, C>),
        )
        .route(
            "/people/{person_id}/appointments/new",
            get(part::add_form::<S, C, part::AppointmentForm>)
                .post(part::appointment_create::<S, C>),
        )
        .route("/people/{person_id}/paper", get(part::paper::<S, C>))
        .route(
            "/people/{person_id}/entries/{entry_id}/destruction",
            get(part::paper_destruction_form::<S, C>).post(part::paper_destruction::<S, C>),
        )
        .route(
            "/people/{person_id}/paper/new",
            get(part::add_form::<S, C, part::PaperForm>).post(part::paper_create::<S, C>),
        )
        .route(
            "/people/{person_id}/merge",
            get(merge::merge_form::<S, C>).post(merge::merge_submit::<S, C>),
        )
        .route(
            "/people/{person_id}/documents/{document_id}/move",
            get(document_move::move_form::<S, C>).post(document_move::move_submit::<S, C>),
        )
        .route(
            "/people/{person_id}/documents/{document_id}",
            get(document::download::<S, C>),
        )
        .route("/paper", get(paper::register::<S, C>))
        .route(
            "/people/{person_id}/break-glass",
            get(people::break_glass_form::<S, C>).post(people::break_glass_submit::<S, C>),
        )
        .route("/break-glass/review", get(review::queue::<S, C>))
        .route(
            "/break-glass/review/{grant_id}",
            post(review::decide::<S, C>),
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
