//! The public privacy notices, generated from the register of processing activities: one page per
//! service (`/privacy/<service>`, no sign-in, readable on a phone) and the same notice as Markdown
//! (`/privacy/<service>/notice.md`). Without a register there are no notices, and the pages say so.

use askama::Template;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use confidant_core::Clock;
use confidant_core::notice::{Notice, notice};
use confidant_core::store::Store;

use super::{Chrome, PageError, St, render};

#[derive(Template)]
#[template(path = "privacy.html")]
struct NoticePage {
    chrome: Chrome,
    notice: Notice,
    /// "Version N, published on DATE", once published.
    version: Option<String>,
    /// What changed since the version before: (removed or added, line).
    changes: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "privacy_index.html")]
struct IndexPage {
    chrome: Chrome,
    controller: String,
    /// (id, name) of each service with a notice.
    services: Vec<(String, String)>,
}

pub async fn index<S: Store, C: Clock>(state: St<S, C>) -> Result<Response, PageError> {
    let (controller, services) = match state.confidant.register() {
        Some(r) => (
            r.organisation.controller.clone(),
            r.services
                .iter()
                .map(|s| (s.id.clone(), s.name.clone()))
                .collect(),
        ),
        None => (String::new(), Vec::new()),
    };
    render(&IndexPage {
        chrome: Chrome::anonymous(),
        controller,
        services,
    })
}

fn notice_of<S: Store, C: Clock>(state: &St<S, C>, service: &str) -> Option<Notice> {
    state
        .confidant
        .register()
        .and_then(|r| notice(r, service).ok())
}

pub async fn show<S: Store, C: Clock>(
    state: St<S, C>,
    Path(service): Path<String>,
) -> Result<Response, PageError> {
    let Some(notice) = notice_of(&state, &service) else {
        return Err(PageError::NotFound);
    };
    let (mut version, mut changes) = (None, Vec::new());
    if let Some(register) = state.confidant.register()
        && let Some(change) = state
            .confidant
            .notice_change(register, &service, false)
            .await?
    {
        version = Some(format!(
            "Version {}, published on {}.",
            change.version,
            super::date_time(
                time::OffsetDateTime::from_unix_timestamp_nanos(
                    i128::from(change.published_at_micros) * 1000
                )
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
            )
        ));
        changes = change
            .changes
            .into_iter()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(sign, line)| {
                let what = if sign == '-' { "Removed" } else { "Added" };
                (
                    what.to_owned(),
                    line.trim_start_matches(['#', '-', ' ']).to_owned(),
                )
            })
            .collect();
    }
    render(&NoticePage {
        chrome: Chrome::anonymous(),
        notice,
        version,
        changes,
    })
}

pub async fn markdown<S: Store, C: Clock>(
    state: St<S, C>,
    Path(service): Path<String>,
) -> Result<Response, PageError> {
    match notice_of(&state, &service) {
        Some(notice) => Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            notice.markdown(),
        )
            .into_response()),
        None => Err(PageError::NotFound),
    }
}
