//! The public privacy notices, generated from the register of processing activities: one page per
//! service (`/privacy/<service>`, no sign-in, readable on a phone) and the same notice as Markdown
//! (`/privacy/<service>/notice.md`) and, in builds with the `pdf` feature, as an accessible PDF
//! (`/privacy/<service>/notice.pdf`). Without a register there are no notices, and the pages say so.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use confidant_core::Clock;
use confidant_core::notice::{Notice, notice};
use confidant_core::store::Store;

use crate::http::extract::page::Path;
use crate::pages::{Chrome, PageError, St, render};

#[derive(Template)]
#[template(path = "privacy.html")]
struct NoticePage {
    chrome: Chrome,
    notice: Notice,
    /// "Version N, published on DATE", once published.
    version: Option<String>,
    /// What changed since the version before: (removed or added, line).
    changes: Vec<(String, String)>,
    /// Whether this build serves the notice as PDF.
    pdf: bool,
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
    if state.confidant.register().is_some()
        && let Some(change) = state.confidant.notice_change(&service).await?
    {
        version = Some(format!(
            "Version {}, published on {}.",
            change.version,
            crate::pages::date_time(
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
        pdf: cfg!(feature = "pdf"),
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

/// The notice as a tagged PDF. Typesetting takes a noticeable fraction of a second of CPU and the
/// route is public, so each service's PDF is made once per notice version (its digest) and kept.
#[cfg(feature = "pdf")]
pub async fn pdf<S: Store, C: Clock>(
    state: St<S, C>,
    Path(service): Path<String>,
) -> Result<Response, PageError> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    use axum::body::Bytes;

    type Cache = Mutex<HashMap<String, (String, Bytes)>>;
    static MADE: LazyLock<Cache> = LazyLock::new(|| Mutex::new(HashMap::new()));

    let Some(notice) = notice_of(&state, &service) else {
        return Err(PageError::NotFound);
    };
    let digest = notice.digest();
    let kept = MADE.lock().ok().and_then(|m| {
        m.get(&service)
            .filter(|(d, _)| *d == digest)
            .map(|(_, b)| b.clone())
    });
    let bytes = match kept {
        Some(bytes) => bytes,
        None => {
            let made = tokio::task::spawn_blocking(move || confidant_pdf::notice_pdf(&notice))
                .await
                .map_err(|e| PageError::Internal(e.to_string()))?
                .map_err(|e| PageError::Internal(e.to_string()))?;
            let made = Bytes::from(made);
            if let Ok(mut m) = MADE.lock() {
                m.insert(service, (digest, made.clone()));
            }
            made
        }
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CONTENT_DISPOSITION, "inline; filename=notice.pdf"),
        ],
        bytes,
    )
        .into_response())
}

/// Without the `pdf` feature there is no PDF: the page does not link one.
#[cfg(not(feature = "pdf"))]
pub async fn pdf<S: Store, C: Clock>(
    _state: St<S, C>,
    Path(_service): Path<String>,
) -> Result<Response, PageError> {
    Err(PageError::NotFound)
}
