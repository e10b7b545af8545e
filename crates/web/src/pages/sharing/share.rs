//! The share's last post (the five steps are in [`super::steps`]) and the request for approval to
//! send categories beyond a recipient's set.
//!
//! Guarantees:
//! - The rules are core's ([`confidant_core::sharing`]): the pages only show them, each refusal by
//!   its true cause (`Refusal::explanation`), and never decide.
//! - A blocked share writes no disclosure; the last step is shown again (422) with the rules.
//!   Invalid input shows it again (400) with the GOV.UK error summary.
//! - The post re-checks everything: the check step decided nothing.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::person::{PersonError, Violations};
use confidant_core::record::Need;
use confidant_core::sharing::{ShareError, ShareRequest, categories};
use confidant_core::store::Store;
use confidant_core::{Clock, Purpose};
use uuid::Uuid;

use crate::pages::form::{FormData, FormField, FormPage, form_error, labelled_errors};

use super::steps;
use crate::http::extract::page::Path;
use crate::pages::record::person::read_name;
use crate::pages::{PageError, Signed, St, render, render_status};
use crate::pages::{TrainedForm, TrainedStaff};

/// A choice of a radio group or a checkbox.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub hint: String,
}

/// A `<select>` of codes, with "None" first.
pub struct Select {
    pub name: &'static str,
    pub id: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub options: Vec<(&'static str, &'static str)>,
}

pub struct GroupChoice {
    pub label: &'static str,
    pub safe: bool,
    /// (control id, code, label, marker); the first control of all has the id `fields`, where
    /// the error summary links.
    pub fields: Vec<(String, &'static str, &'static str, &'static str)>,
}

/// The share as posted: the carried codes and the reasons of the last step.
fn request_of(form: &FormData) -> ShareRequest {
    let optional = |name: &str| Some(form.get(name).trim().to_owned()).filter(|v| !v.is_empty());
    ShareRequest {
        reason: form.get("reason").to_owned(),
        court_order_ref: optional("court_order_ref"),
        person_told: form.get("person_told") == "yes",
        not_told_reason: optional("not_told_reason"),
        without_consent_reason: optional("without_consent_reason"),
        ground_reason: optional("ground_reason"),
        send: form.ticked("send"),
        ..steps::request_of(form)
    }
}

pub fn label_of(code: &str) -> Option<&'static str> {
    Some(match code {
        "recipient_id" => "Recipient",
        "fields" => "Data to share",
        "entries" => "Case notes",
        "basis" => "Lawful basis",
        "article9" => "Article 9 condition",
        "schedule1" => "Schedule 1 condition",
        "reason" => "Reason for sharing",
        "send" => "Sending by secure email",
        "court_order_ref" => "Court order reference",
        "person_told" => "Whether the person is told",
        "not_told_reason" => "Why the person is not told",
        "without_consent_reason" => "Reason for sharing without consent",
        "ground" => "Ground",
        "ground_reason" => "Why the ground applies",
        "approval_id" => "Approval",
        "consent_purpose_id" => "Consent purpose",
        "processor_staff_id" => "Processor's worker",
        "referral_days" => "Days the referral lasts",
        _ => return None,
    })
}

/// The last step's post: shares (`action=share`), or checks (`action=check`) and shows the last
/// step again with what the rules say. A refusal or an invalid form shows the last step again
/// (422 naming each rule by its true cause, 400 with the GOV.UK error summary); nothing is shared.
pub async fn submit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let request = request_of(&form);
    let sharing = form.get("action") == "share";
    let mut local = Vec::new();
    if !matches!(form.get("person_told"), "yes" | "no") {
        local.push((
            "person-told".to_owned(),
            "Say whether the person has been or will be told".to_owned(),
        ));
    }
    let actor = signed.actor();
    let c = &state.confidant;
    let Some(shown) = steps::confirm_page(&state, &signed, person_id, form).await? else {
        // Posted without a recipient of the register: core names it.
        return Err(PageError::Invalid(vec![(
            "recipient_id".to_owned(),
            "Choose a recipient from the register".to_owned(),
        )]));
    };
    let outcome = if sharing && local.is_empty() {
        match c.share(actor, Purpose::Support, person_id, &request).await {
            Ok(package) => {
                return Ok(Redirect::to(&format!(
                    "/people/{person_id}/disclosures/{}",
                    package.disclosure_id
                ))
                .into_response());
            }
            Err(ShareError::Blocked(b)) => Ok(b.0),
            Err(ShareError::Person(e)) => Err(e),
        }
    } else {
        c.check_share(actor, Purpose::Support, person_id, &request)
            .await
    };
    match outcome {
        Err(PersonError::Invalid(v)) => {
            local.extend(labelled_errors(&v, label_of));
            render_status(StatusCode::BAD_REQUEST, &shown.with_errors(local))
        }
        Err(e) => Err(e.into()),
        Ok(_) if !local.is_empty() => {
            render_status(StatusCode::BAD_REQUEST, &shown.with_errors(local))
        }
        Ok(refusals) => {
            let clear = refusals.is_empty();
            let page = shown.with_refusals(&refusals);
            if clear {
                render(&page)
            } else {
                render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
            }
        }
    }
}

// --- asking for approval to send more ---

async fn approval_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    errors: Vec<(String, String)>,
) -> Result<FormPage, PageError> {
    let person = read_name(state, signed, person_id, Need::Share).await?;
    let recipients = state
        .confidant
        .recipients(signed.actor(), signed.staff().organisation_id)
        .await?
        .into_iter()
        .filter(|r| r.record.retired_at_micros.is_none())
        .map(|r| (r.record.id.to_string(), r.record.name))
        .collect();
    let boxes = categories()
        .into_iter()
        .map(|(code, label)| (format!("category_{code}"), label.to_owned(), false))
        .collect();
    let fields = vec![
        FormField::radios("recipient_id", "Recipient", recipients),
        FormField::checkboxes("categories", "Data beyond what the recipient may receive", boxes)
            .hint("Choose only what the recipient's entry in the register does not already allow."),
        FormField::textarea("justification", "Justification")
            .hint("Why this recipient needs it. A second person (the Data Protection Officer, the Caldicott Guardian or the service manager) decides."),
    ];
    Ok(FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Ask for approval to send more",
        format!("/people/{person_id}/share/approval"),
        fields,
        errors,
    )
    .caption(person.full())
    .back(format!("/people/{person_id}/share"))
    .submit("Ask for approval"))
}

pub async fn approval_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&approval_page(&state, &signed, person_id, Vec::new()).await?)
}

pub async fn approval_submit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let wanted: Vec<String> = categories()
        .into_iter()
        .filter(|(code, _)| form.ticked(&format!("category_{code}")))
        .map(|(code, _)| code.to_owned())
        .collect();
    let recipient = Uuid::parse_str(form.get("recipient_id"));
    let asked = match recipient {
        Ok(r) => {
            state
                .confidant
                .request_approval(
                    signed.actor(),
                    Purpose::Support,
                    person_id,
                    r,
                    &wanted,
                    form.get("justification"),
                )
                .await
        }
        Err(_) => Err(PersonError::Invalid(Violations(vec![
            confidant_core::person::Violation::new("recipient_id", "Choose a recipient"),
        ]))),
    };
    match asked {
        Ok(_) => {
            Ok(Redirect::to(&format!("/people/{person_id}/sharing#approvals")).into_response())
        }
        Err(PersonError::Invalid(v)) => {
            let errors = labelled_errors(&v, |code| match code {
                "recipient_id" => Some("Recipient"),
                "categories" => Some("Data"),
                "justification" => Some("Justification"),
                _ => None,
            });
            let page = approval_page(&state, &signed, person_id, Vec::new()).await?;
            Ok(form_error(page, &form, errors))
        }
        Err(e) => Err(e.into()),
    }
}
