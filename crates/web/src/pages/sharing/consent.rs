//! A person's "Consent and sharing" page: each purpose of their service's consent form with the
//! current decision and a form to record a new one, the append-only history, restrictions and
//! objections (recorded and lifted by the Data Protection Officer), requests to send categories
//! beyond a recipient's set (decided by a second person), and the person's disclosure log.
//!
//! Guarantees:
//! - Everything is read through core with the person's permit: a record the actor may not see
//!   answers the same 404 as a missing one, and every read is audited there.
//! - Decisions are only ever added: the page offers no way to change or remove one.
//! - Invalid input shows the page again (400) with the GOV.UK error summary; nothing is recorded.

use std::collections::HashMap;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::person::PersonError;
use confidant_core::record::Need;
use confidant_core::sharing::{ConsentOverview, categories};
use confidant_core::store::{ApprovalState, ConsentState, RestrictionKind, ReviewState, Store};
use confidant_core::{Clock, Purpose, Role};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::pages::form::{FormData, labelled_errors};

use crate::http::extract::page::Path;
use crate::pages::record::person::{check, read_name, who};
use crate::pages::{Chrome, PageError, Signed, St, date, date_time, render, render_status};
use crate::pages::{TrainedForm, TrainedStaff};

/// A stored time (microseconds since the epoch, UTC).
pub fn at(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A data category by its label.
pub fn category_label(code: &str) -> String {
    categories()
        .into_iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_owned(), |(_, l)| l.to_owned())
}

pub fn category_labels(codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| category_label(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a review of an emergency disclosure stands, in words.
pub fn review_label(state: Option<ReviewState>) -> &'static str {
    match state {
        None => "",
        Some(ReviewState::Pending) => "Waiting for review",
        Some(ReviewState::SignedOff) => "Signed off",
        Some(ReviewState::Escalated) => "Escalated",
    }
}

/// May decide requests for approval (the policy decides again when they do).
pub fn approves(role: Role) -> bool {
    matches!(
        role,
        Role::DataProtectionOfficer | Role::CaldicottGuardian | Role::ServiceManager
    )
}

pub struct LineView {
    pub n: usize,
    pub purpose_id: String,
    pub label: String,
    pub recipient: String,
    pub explicit: bool,
    pub state: String,
    pub tag: &'static str,
    pub recorded: String,
    pub version: String,
    pub by: String,
    pub expires: String,
    /// What was posted for this line, when the page is shown again with errors.
    pub posted_state: String,
    pub day: String,
    pub month: String,
    pub year: String,
    pub state_error: String,
    pub expires_error: String,
}

pub struct RestrictionView {
    pub id: String,
    pub kind: &'static str,
    pub started: String,
    pub by: String,
    pub lifted: String,
}

pub struct ApprovalView {
    pub id: String,
    pub recipient: String,
    pub categories: String,
    pub justification: String,
    pub requested_by: String,
    pub requested: String,
    pub state: &'static str,
    pub pending: bool,
    pub decided_by: String,
}

pub struct DisclosureLine {
    pub id: String,
    pub shared: String,
    pub recipient: String,
    pub basis: &'static str,
    pub categories: String,
    pub emergency: bool,
    pub review: &'static str,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    section: &'static str,
    name: String,
    service_id: String,
    lines: Vec<LineView>,
    history: Vec<Vec<String>>,
    restrictions: Vec<RestrictionView>,
    free_kinds: Vec<(&'static str, &'static str)>,
    approvals: Vec<ApprovalView>,
    disclosures: Vec<DisclosureLine>,
    can_change: bool,
    can_restrict: bool,
    can_approve: bool,
    errors: Vec<(String, String)>,
}

/// The answers of one line's form, to show them again with its errors.
struct Posted<'a> {
    purpose_id: Uuid,
    form: &'a FormData,
}

async fn page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    posted: Option<Posted<'_>>,
    errors: Vec<(String, String)>,
) -> Result<ConsentPage, PageError> {
    let person = read_name(state, signed, person_id, Need::Read).await?;
    let c = &state.confidant;
    let actor = signed.actor();
    let purpose = Purpose::Support;
    let ConsentOverview {
        lines,
        history,
        restrictions,
    } = c.consents(actor, purpose, person_id).await?;
    let handles = c.colleague_names(actor).await?;
    let recipients: HashMap<Uuid, String> = c
        .recipients(actor, signed.staff().organisation_id)
        .await?
        .into_iter()
        .map(|r| (r.record.id, r.record.name))
        .collect();
    let recipient_name = |id: Option<Uuid>| {
        id.and_then(|id| recipients.get(&id).cloned())
            .unwrap_or_default()
    };
    let labels: HashMap<Uuid, String> = lines
        .iter()
        .map(|l| (l.purpose.id, l.purpose.label.clone()))
        .collect();

    let mut views = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let (state_label, tag) = match (&line.current, line.live) {
            (None, _) => ("No decision recorded".to_owned(), "govuk-tag--grey"),
            (Some(_), true) => ("Granted".to_owned(), "govuk-tag--green"),
            (Some(c), false) if c.state == ConsentState::Granted => {
                ("Granted, expired".to_owned(), "govuk-tag--orange")
            }
            (Some(c), false) if c.state == ConsentState::Refused => {
                (c.state.label().to_owned(), "govuk-tag--red")
            }
            (Some(c), false) => (c.state.label().to_owned(), "govuk-tag--orange"),
        };
        let mine = posted.as_ref().filter(|p| p.purpose_id == line.purpose.id);
        let current = line.current.as_ref();
        views.push(LineView {
            n,
            purpose_id: line.purpose.id.to_string(),
            label: line.purpose.label.clone(),
            recipient: line
                .purpose
                .recipient_ids
                .iter()
                .map(|r| recipient_name(Some(*r)))
                .collect::<Vec<_>>()
                .join(", "),
            explicit: line.purpose.explicit,
            state: state_label,
            tag,
            recorded: current
                .map(|c| date(at(c.recorded_at_micros)))
                .unwrap_or_default(),
            version: current.map(|c| c.form_version.clone()).unwrap_or_default(),
            by: current
                .map(|c| who(&handles, &c.recorded_by))
                .unwrap_or_default(),
            expires: current
                .and_then(|c| c.expires_at_micros)
                .map(|e| date(at(e)))
                .unwrap_or_default(),
            posted_state: mine
                .map(|p| p.form.get("state").to_owned())
                .unwrap_or_default(),
            day: mine
                .map(|p| p.form.get("expires_on_day").to_owned())
                .unwrap_or_default(),
            month: mine
                .map(|p| p.form.get("expires_on_month").to_owned())
                .unwrap_or_default(),
            year: mine
                .map(|p| p.form.get("expires_on_year").to_owned())
                .unwrap_or_default(),
            state_error: if mine.is_some() {
                crate::pages::error_for(&errors, &format!("state-{n}"))
            } else {
                String::new()
            },
            expires_error: if mine.is_some() {
                crate::pages::error_for(&errors, &format!("expires-on-{n}"))
            } else {
                String::new()
            },
        });
    }

    let history_rows = history
        .iter()
        .rev()
        .map(|h| {
            vec![
                date_time(at(h.recorded_at_micros)),
                labels.get(&h.purpose_id).cloned().unwrap_or_default(),
                h.state.label().to_owned(),
                h.form_version.clone(),
                who(&handles, &h.recorded_by),
                h.expires_at_micros
                    .map(|e| date(at(e)))
                    .unwrap_or_else(|| "None".to_owned()),
            ]
        })
        .collect();

    let in_force: Vec<RestrictionKind> = restrictions
        .iter()
        .filter(|r| r.lifted_at_micros.is_none())
        .map(|r| r.kind)
        .collect();
    let free_kinds = RestrictionKind::ALL
        .iter()
        .filter(|k| !in_force.contains(k))
        .map(|k| (k.code(), k.label()))
        .collect();
    let restriction_views = restrictions
        .iter()
        .map(|r| RestrictionView {
            id: r.id.to_string(),
            kind: r.kind.label(),
            started: date_time(at(r.started_at_micros)),
            by: who(&handles, &r.recorded_by),
            lifted: match (r.lifted_at_micros, &r.lifted_by) {
                (Some(t), Some(b)) => format!("{} by {}", date_time(at(t)), who(&handles, b)),
                (Some(t), None) => date_time(at(t)),
                _ => String::new(),
            },
        })
        .collect();

    let approvals = c
        .approvals(actor, purpose, person_id)
        .await?
        .into_iter()
        .rev()
        .map(|(a, justification)| ApprovalView {
            id: a.id.to_string(),
            recipient: recipient_name(Some(a.recipient_id)),
            categories: category_labels(&a.categories),
            justification,
            requested_by: who(&handles, &a.requested_by),
            requested: date_time(at(a.requested_at_micros)),
            state: if a.used_by.is_some() {
                "Approved and used"
            } else {
                a.state.label()
            },
            pending: a.state == ApprovalState::Pending,
            decided_by: a
                .decided_by
                .as_deref()
                .map(|d| who(&handles, d))
                .unwrap_or_default(),
        })
        .collect();

    let disclosures = c
        .disclosures(actor, purpose, person_id)
        .await?
        .into_iter()
        .map(|d| DisclosureLine {
            id: d.record.id.to_string(),
            shared: date_time(at(d.record.shared_at_micros)),
            recipient: d.recipient_name,
            basis: d.record.basis.label(),
            categories: category_labels(&d.record.categories),
            emergency: d.record.emergency,
            review: review_label(d.record.review_state),
        })
        .collect();

    let role = signed.staff().role;
    Ok(ConsentPage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        section: "sharing",
        name: person.full(),
        service_id: person.service_id.to_string(),
        lines: views,
        history: history_rows,
        restrictions: restriction_views,
        free_kinds,
        approvals,
        disclosures,
        can_change: crate::pages::record::person::offers(state, signed, person_id, Need::Decide)
            .await?,
        can_restrict: role == Role::DataProtectionOfficer,
        can_approve: approves(role),
        errors,
    })
}

pub async fn show<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&page(&state, &signed, person_id, None, Vec::new()).await?)
}

fn back_to(person_id: Uuid, anchor: &str) -> Response {
    Redirect::to(&format!("/people/{person_id}/sharing#{anchor}")).into_response()
}

/// Records one consent decision (`purpose_id`, `state`, an optional expiry date).
pub async fn record<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    check(&state, &signed, person_id, Need::Decide).await?;
    let purpose_id = Uuid::parse_str(form.get("purpose_id")).map_err(|_| {
        PageError::Invalid(vec![(
            "purpose-id".to_owned(),
            "Choose a purpose of the consent form".to_owned(),
        )])
    })?;
    let expires = form.date("expires_on");
    let decided = if form.get("state").is_empty() {
        Err(PersonError::Invalid(confidant_core::person::Violations(
            vec![confidant_core::person::Violation::new(
                "state",
                "Choose granted, refused or withdrawn",
            )],
        )))
    } else {
        state
            .confidant
            .record_consent(
                signed.actor(),
                Purpose::Support,
                person_id,
                purpose_id,
                form.get("state"),
                Some(expires.as_str()).filter(|e| !e.is_empty()),
            )
            .await
    };
    match decided {
        Ok(_) => Ok(back_to(person_id, "consents")),
        Err(PersonError::Invalid(v)) => {
            let shown = page(&state, &signed, person_id, None, Vec::new()).await?;
            let n = shown
                .lines
                .iter()
                .find(|l| l.purpose_id == purpose_id.to_string())
                .map(|l| l.n)
                .ok_or(PageError::NotFound)?;
            let errors = labelled_errors(&v, |code| match code {
                "state" => Some("Decision"),
                "expires_on" => Some("Expiry date"),
                _ => None,
            })
            .into_iter()
            .map(|(id, m)| (format!("{id}-{n}"), m))
            .collect();
            let posted = Posted {
                purpose_id,
                form: &form,
            };
            let again = page(&state, &signed, person_id, Some(posted), errors).await?;
            render_status(StatusCode::BAD_REQUEST, &again)
        }
        Err(e) => Err(e.into()),
    }
}

/// The Data Protection Officer records a restriction or an upheld objection (`kind`).
pub async fn restrict<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    state
        .confidant
        .restrict(
            signed.actor(),
            Purpose::Support,
            person_id,
            form.get("kind"),
        )
        .await?;
    Ok(back_to(person_id, "restrictions"))
}

pub async fn lift<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, restriction_id)): Path<(Uuid, Uuid)>,
    TrainedForm(_): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    state
        .confidant
        .lift_restriction(signed.actor(), Purpose::Support, person_id, restriction_id)
        .await?;
    Ok(back_to(person_id, "restrictions"))
}

/// A second person approves or refuses a request (`decision`: `approve` or `refuse`).
pub async fn decide<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, approval_id)): Path<(Uuid, Uuid)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let approve = match form.get("decision") {
        "approve" => true,
        "refuse" => false,
        _ => {
            return Err(PageError::Invalid(vec![(
                "decision".to_owned(),
                "Choose to approve or to refuse".to_owned(),
            )]));
        }
    };
    state
        .confidant
        .decide_approval(
            signed.actor(),
            Purpose::Support,
            person_id,
            approval_id,
            approve,
        )
        .await?;
    Ok(back_to(person_id, "approvals"))
}
