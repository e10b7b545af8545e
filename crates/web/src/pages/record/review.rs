//! The Caldicott Guardian's (and DPO's) review of break-the-glass accesses: each is signed off or
//! escalated, with an optional note.

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::Clock;
use confidant_core::person::PersonError;
use confidant_core::store::{ReviewState, Store};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::page::Path;
use crate::pages::PostForm;
use crate::pages::{Chrome, PageError, Signed, St, date_time, render};

struct ReviewLine {
    id: String,
    who: String,
    person: String,
    reason: String,
    when: String,
    until: String,
    state: &'static str,
    pending: bool,
    note: String,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    chrome: Chrome,
    csrf: String,
    lines: Vec<ReviewLine>,
}

async fn require_reviewer<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<(), PageError> {
    signed
        .require(
            state,
            confidant_core::Action::BreakGlassReview,
            signed.organisation(),
            "Only the Caldicott Guardian and the Data Protection Officer review break-glass accesses.",
        )
        .await
}

pub async fn queue<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_reviewer(&state, &signed).await?;
    let actor = signed.actor();
    let grants = state
        .confidant
        .break_glass_queue(actor, signed.staff().organisation_id, false)
        .await?;
    let handles = state.confidant.colleague_names(actor).await?;
    let name = |id: &str| {
        Uuid::parse_str(id)
            .ok()
            .and_then(|u| handles.get(&u).cloned())
            .unwrap_or_else(|| id.to_owned())
    };
    let lines = grants
        .into_iter()
        .map(|g| {
            let state = match g.review_state {
                Some(ReviewState::SignedOff) => "Signed off",
                Some(ReviewState::Escalated) => "Escalated",
                _ => "Waiting for review",
            };
            ReviewLine {
                id: g.id.to_string(),
                who: name(&g.staff_id.to_string()),
                person: g.person_id.to_string(),
                reason: g
                    .reason
                    .unwrap_or_else(|| "(erased with the person's record)".to_owned()),
                when: date_time(g.starts_at),
                until: date_time(g.ends_at),
                state,
                pending: g.review_state == Some(ReviewState::Pending),
                note: match (g.reviewed_by, g.review_note) {
                    (Some(by), Some(note)) => format!("{} ({})", note, name(&by)),
                    (Some(by), None) => format!("by {}", name(&by)),
                    _ => String::new(),
                },
            }
        })
        .collect();
    render(&ReviewPage {
        chrome: signed.chrome("/break-glass/review"),
        csrf: signed.csrf().to_owned(),
        lines,
    })
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

pub async fn decide<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(grant_id): Path<Uuid>,
    PostForm(form): PostForm<DecisionForm>,
) -> Result<Response, PageError> {
    require_reviewer(&state, &signed).await?;
    let decision = match form.decision.as_str() {
        "signed_off" => ReviewState::SignedOff,
        "escalated" => ReviewState::Escalated,
        _ => {
            return Err(PageError::Invalid(vec![(
                "decision".to_owned(),
                "Choose to sign off or to escalate".to_owned(),
            )]));
        }
    };
    match state
        .confidant
        .review_break_glass(signed.actor(), grant_id, decision, &form.note)
        .await
    {
        Ok(()) => Ok(Redirect::to("/break-glass/review").into_response()),
        Err(PersonError::Invalid(_)) => Err(PageError::Invalid(vec![(
            "note".to_owned(),
            "The note must be at most 1000 characters, without control characters".to_owned(),
        )])),
        // Reviewed already (by a racing reviewer, say): 409, this decision was not recorded.
        Err(e) => Err(e.into()),
    }
}

crate::http::guard::posted!(DecisionForm);
