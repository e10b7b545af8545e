//! A request's letters as PDFs (`/rights/{id}/steps/{step}/letter.pdf`): each step the person must
//! be told of, for those who answer the request. Only where typst is built in (the binary).

use confidant_core::Clock;
use confidant_core::store::Store;

use crate::AppState;
use crate::http::routing::Routes;

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    let routes = Routes::new();
    #[cfg(feature = "pdf")]
    let routes = routes.route(
        "/rights/{request_id}/steps/{step_id}/letter.pdf",
        crate::http::routing::get(pdf::letter_pdf::<S, C>),
    );
    routes
}

#[cfg(feature = "pdf")]
mod pdf {
    use axum::response::Response;
    use confidant_core::Clock;
    use confidant_core::store::Store;
    use uuid::Uuid;

    use crate::http::extract::page::Path;
    use crate::pages::{PageError, St, TrainedStaff};

    /// The letter of one step, as a PDF to send through the person's safe contact details; a
    /// step that sends none is not found.
    pub async fn letter_pdf<S: Store, C: Clock>(
        state: St<S, C>,
        TrainedStaff(signed): TrainedStaff,
        Path((request_id, step_id)): Path<(Uuid, Uuid)>,
    ) -> Result<Response, PageError> {
        let letter = state
            .confidant
            .rights_letter(
                signed.actor(),
                signed.staff().organisation_id,
                request_id,
                step_id,
            )
            .await?
            .ok_or(PageError::NotFound)?;
        let filename = format!("letter-{}-{step_id}.pdf", letter.reference);
        let make = move || confidant_pdf::letter_pdf(&letter);
        crate::pages::sharing::disclosure::pdf_download(make, &filename).await
    }
}
