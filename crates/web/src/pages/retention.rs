//! The retention review queue on pages: the records whose retention has ended (the Data
//! Protection Officer and the Caldicott Guardian), each with what destroying it would reach and
//! the reviewer's decision, and the Data Protection Officer's approval of others' destroy
//! decisions. Records are named by their ids only: the queue shows nothing of their content.

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::keeping::{Decision, WAITING_DAYS};
use confidant_core::person::PersonError;
use confidant_core::store::{RetentionState, Store};
use confidant_core::{Clock, Role};
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::page::Path;
use crate::http::routing::{Routes, get, post};
use crate::pages::form::{FormData, FormField, FormPage, form_error};
use crate::pages::record::person::who;
use crate::pages::sharing::consent::at as from_micros;
use crate::pages::{Chrome, PageError, Signed, St, TrainedForm, TrainedStaff, date_time, render};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/admin/retention", get(queue_page::<S, C>))
        .route("/admin/retention/approve", post(approve::<S, C>))
        .route(
            "/admin/retention/{review_id}",
            get(review_page::<S, C>).post(decide::<S, C>),
        )
        .route(
            "/admin/retention/referrals/{referral_id}/erasure",
            post(erase_referral::<S, C>),
        )
}

/// A referral not taken up whose period has ended (ids, codes and dates only).
struct ReferralLine {
    id: String,
    state: &'static str,
    rules: String,
    due_on: String,
}

/// One line of the queue.
struct Line {
    id: String,
    record: String,
    rules: String,
    due_on: String,
    state: &'static str,
    decided: String,
    reason: String,
    /// The viewer may approve it (the DPO, someone else's destroy decision).
    approvable: bool,
    /// When the sweep may destroy it, or why it was not.
    after: String,
}

#[derive(Template)]
#[template(path = "retention.html")]
struct QueuePage {
    chrome: Chrome,
    csrf: String,
    open: Vec<Line>,
    closed: Vec<Line>,
    any_approvable: bool,
    waiting_days: i64,
    referrals: Vec<ReferralLine>,
    error: String,
    /// Where the error summary's link goes: the approval button, or the referrals.
    error_at: &'static str,
}

async fn queue_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    error: String,
    error_at: &'static str,
) -> Result<QueuePage, PageError> {
    let c = &state.confidant;
    let actor = signed.actor();
    let reviews = c
        .retention_queue(actor, signed.staff().organisation_id)
        .await?;
    let referrals = c
        .referrals_due(actor, signed.staff().organisation_id)
        .await?
        .into_iter()
        .map(|r| ReferralLine {
            id: r.referral.id.to_string(),
            state: r.referral.state.label(),
            rules: r.due.rules.join(", "),
            due_on: r.due.on.to_string(),
        })
        .collect();
    let names = c.colleague_names(actor).await?;
    let me = actor.audit_id();
    let dpo = signed.staff().role == Role::DataProtectionOfficer;
    let (mut open, mut closed) = (Vec::new(), Vec::new());
    for r in reviews {
        let decided = match (&r.decided_by, r.decided_at_micros) {
            (Some(by), Some(at)) => {
                format!("{} by {}", date_time(from_micros(at)), who(&names, by))
            }
            _ => String::new(),
        };
        let after = match (r.state, r.destroy_after_micros, &r.outcome) {
            (RetentionState::Approved, Some(t), _) => format!(
                "Approved by {}; destroyed from {}",
                who(&names, r.approved_by.as_deref().unwrap_or_default()),
                date_time(from_micros(t))
            ),
            (RetentionState::Keep, _, _) => {
                format!("Kept until {}", r.keep_until.clone().unwrap_or_default())
            }
            (_, _, Some(outcome)) => outcome.clone(),
            _ => String::new(),
        };
        let line = Line {
            id: r.id.to_string(),
            record: r.person_id.to_string(),
            rules: r.rules.replace(',', ", "),
            due_on: r.due_on.clone(),
            state: r.state.label(),
            decided,
            reason: r.reason.clone().unwrap_or_default(),
            approvable: dpo
                && r.state == RetentionState::Destroy
                && r.decided_by.as_deref() != Some(me.as_str()),
            after,
        };
        if r.state.open() {
            open.push(line);
        } else {
            closed.push(line);
        }
    }
    Ok(QueuePage {
        chrome: signed.chrome("/admin/retention"),
        csrf: signed.csrf().to_owned(),
        any_approvable: open.iter().any(|l| l.approvable),
        open,
        closed,
        waiting_days: WAITING_DAYS,
        referrals,
        error,
        error_at,
    })
}

pub async fn queue_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
) -> Result<Response, PageError> {
    signed
        .require(
            &state,
            confidant_core::Action::OversightRead,
            signed.organisation(),
            "Only the Data Protection Officer and the Caldicott Guardian see the retention review queue.",
        )
        .await?;
    render(&queue_view(&state, &signed, String::new(), "approve").await?)
}

pub async fn approve<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let ids: Vec<Uuid> = form
        .0
        .iter()
        .filter(|(n, _)| n == "review")
        .filter_map(|(_, v)| Uuid::parse_str(v).ok())
        .collect();
    let refused = |message: String| async {
        let page = queue_view(&state, &signed, message, "approve").await?;
        crate::pages::render_status(axum::http::StatusCode::BAD_REQUEST, &page)
    };
    match state
        .confidant
        .approve_retention(signed.actor(), signed.staff().organisation_id, &ids)
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/retention").into_response()),
        Err(PersonError::Invalid(_)) => {
            refused("Choose at least one decision to approve".to_owned()).await
        }
        Err(PersonError::Conflict(why)) => refused(capitalised(why)).await,
        Err(e) => Err(e.into()),
    }
}

/// Erases a referral not taken up whose period has ended (the Data Protection Officer and the
/// Caldicott Guardian), back to the queue; one not due is refused on the queue's page (409).
pub async fn erase_referral<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(referral_id): Path<Uuid>,
    TrainedForm(_form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    match state
        .confidant
        .erase_referral_not_taken_up(signed.actor(), signed.staff().organisation_id, referral_id)
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/retention#referrals").into_response()),
        Err(PersonError::Conflict(why)) => {
            let page = queue_view(&state, &signed, capitalised(why), "referrals").await?;
            crate::pages::render_status(axum::http::StatusCode::CONFLICT, &page)
        }
        Err(e) => Err(e.into()),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|f| f.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

async fn review_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    review_id: Uuid,
) -> Result<FormPage, PageError> {
    let view = state
        .confidant
        .retention_review(signed.actor(), signed.staff().organisation_id, review_id)
        .await?;
    let reach = crate::pages::keeping::reach(&view.scope);
    let r = &view.review;
    let mut page = FormPage::new(
        signed.chrome("/admin/retention"),
        signed.csrf(),
        "Review a record whose retention has ended",
        format!("/admin/retention/{review_id}"),
        vec![
            FormField::radios(
                "decision",
                "What becomes of it",
                vec![
                    ("destroy".to_owned(), "Destroy it (the Data Protection Officer approves, then it waits before it is destroyed)".to_owned()),
                    ("keep".to_owned(), "Keep it until a date".to_owned()),
                    ("transfer".to_owned(), "Transfer it for permanent keeping elsewhere".to_owned()),
                ],
            ),
            FormField::date("keep_until", "Keep until", "")
                .hint("Only when keeping it. For example, 31 3 2030."),
            FormField::textarea("reason", "Why")
                .hint("Without naming anyone: it is kept on the certificate after the record is gone."),
        ],
        Vec::new(),
    )
    .caption(format!("Record {}", r.person_id))
    .back("/admin/retention")
    .intro(format!(
        "The retention period under {} ended on {}. Destroying it reaches: the person's details and key, {reach}, their search entries, and the keys of their related people and referrals. Kept: {} audit event(s) about the record (ids, actions and times only) and a certificate that names no one.{}",
        r.rules.replace(',', ", "),
        r.due_on,
        view.scope.audit_events,
        if view.scope.paper > 0 {
            format!(" {} paper note(s) or archived file(s): their entries go, and the paper must be collected and destroyed.", view.scope.paper)
        } else {
            String::new()
        }
    ))
    .submit("Record the decision");
    if view.live_holds > 0 {
        page = page.warning(format!(
            "{} legal hold(s) in force: the record will not be destroyed while one is.",
            view.live_holds
        ));
    }
    if r.state.open() && r.state != RetentionState::ToReview {
        page = page.warning(format!(
            "Decided: {}. A new decision replaces it, and any approval of it.",
            r.state.label()
        ));
    } else if !r.state.open() {
        page = page.warning(format!("Closed: {}.", r.state.label()));
    }
    Ok(page)
}

pub async fn review_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(review_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&review_view(&state, &signed, review_id).await?)
}

pub async fn decide<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(review_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let page = review_view(&state, &signed, review_id).await?;
    let keep_until = form.date("keep_until");
    let decision = match Decision::parse(form.get("decision"), Some(&keep_until)) {
        Ok(d) => d,
        Err(PersonError::Invalid(v)) => {
            let errors =
                v.0.into_iter()
                    .map(|e| match e.field {
                        "decision" => (
                            "decision".to_owned(),
                            "Choose what becomes of the record".to_owned(),
                        ),
                        field => (field.to_owned(), format!("Keep until {}", e.message)),
                    })
                    .collect();
            return Ok(form_error(page, &form, errors));
        }
        Err(e) => return Err(e.into()),
    };
    match state
        .confidant
        .decide_retention(
            signed.actor(),
            signed.staff().organisation_id,
            review_id,
            decision,
            form.get("reason"),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/retention").into_response()),
        Err(PersonError::Invalid(v)) => {
            let errors =
                v.0.into_iter()
                    .map(|e| match e.field {
                        "reason" => ("reason".to_owned(), format!("The reason {}", e.message)),
                        field => (field.to_owned(), format!("Keep until {}", e.message)),
                    })
                    .collect();
            Ok(form_error(page, &form, errors))
        }
        Err(e) => Err(e.into()),
    }
}
