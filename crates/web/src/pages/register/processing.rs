//! The register of processing activities as the Article 30 record, readable (for the Data
//! Protection Officer and the Caldicott Guardian, to show the regulator), and as CSV.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use confidant_core::notice::{ARTICLE30_COLUMNS, article30_csv, article30_rows};
use confidant_core::store::Store;
use confidant_core::{Action, Clock};

use crate::pages::{Chrome, PageError, Signed, St, render};

#[derive(Template)]
#[template(path = "article30.html")]
struct Article30Page {
    chrome: Chrome,
    /// (heading, rows of (label, value)) per activity and service.
    activities: Vec<(String, Vec<(&'static str, String)>)>,
    has_register: bool,
}

/// The register is the DPO's and the Caldicott Guardian's: asked of the policy, and a refusal
/// recorded.
async fn require_oversight<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<(), PageError> {
    signed
        .require(
            state,
            Action::OversightRead,
            signed.organisation(),
            "The register of processing is kept by the Data Protection Officer and the Caldicott Guardian.",
        )
        .await
}

pub async fn page<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_oversight(&state, &signed).await?;
    let register = state.confidant.register();
    let activities = register
        .map(|r| {
            article30_rows(r)
                .into_iter()
                .map(|row| {
                    // Service and activity head the section; the rest are its rows.
                    let heading = format!("{}: {}", row[3], row[4]);
                    let rows = ARTICLE30_COLUMNS
                        .iter()
                        .zip(row)
                        .skip(5)
                        .filter(|(_, v)| !v.is_empty())
                        .map(|((_, label), v)| (*label, v))
                        .collect();
                    (heading, rows)
                })
                .collect()
        })
        .unwrap_or_default();
    render(&Article30Page {
        chrome: signed.chrome("/admin/register"),
        activities,
        has_register: register.is_some(),
    })
}

pub async fn csv<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_oversight(&state, &signed).await?;
    let Some(register) = state.confidant.register() else {
        return Err(PageError::NotFound);
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"article30-record.csv\"",
            ),
        ],
        article30_csv(register),
    )
        .into_response())
}
