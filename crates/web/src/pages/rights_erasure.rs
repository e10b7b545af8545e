//! A request for erasure decided on its page (`/rights/{id}/erasure`): the grounds found, every
//! exemption weighed, and, for the Data Protection Officer who alone erases, what the record holds
//! that bears on it. Refused, the request shows its refusal; erased, the certificate is shown.

use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::person::{PersonError, Violations};
use confidant_core::rights::{
    ErasureDecision, ErasureExemption, ErasureGround, ErasureInput, ErasureOutcome, ErasurePreview,
    assess_erasure, outcome_of,
};
use confidant_core::store::Store;
use confidant_core::{Clock, Code, Labelled};
use uuid::Uuid;

use super::certificate;
use crate::AppState;
use crate::http::extract::page::Path;
use crate::http::routing::{Routes, get};
use crate::pages::form::{FormData, FormField, FormPage, form_error, labelled_errors};
use crate::pages::{PageError, Signed, St, TrainedForm, TrainedStaff, render};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new().route(
        "/rights/{request_id}/erasure",
        get(form_page::<S, C>).post(decide::<S, C>),
    )
}

/// The names of a group's boxes: `<group>_<code>`.
fn boxes<T: Labelled>(group: &str) -> Vec<(String, String, bool)> {
    T::ALL
        .iter()
        .map(|c| (format!("{group}_{}", c.code()), c.label().to_owned(), false))
        .collect()
}

/// The codes ticked in a group.
fn ticked<T: Code>(form: &FormData, group: &str) -> Vec<&'static str> {
    T::ALL
        .iter()
        .filter(|c| form.ticked(&format!("{group}_{}", c.code())))
        .map(|c| c.code())
        .collect()
}

fn facts_text(p: &ErasurePreview) -> String {
    if !p.may_erase {
        return "Only the Data Protection Officer erases a record. You may refuse the request: tick each exemption that applies, or leave the grounds unticked when none applies, and the request is recorded as refused, naming why. Tell the person, with the reasons, their right to complain to the ICO and to seek a remedy through the courts.".to_owned();
    }
    let told = if p.recipients.is_empty() {
        "The disclosure log shows no one received the person's data.".to_owned()
    } else {
        let names: Vec<&str> = p.recipients.iter().map(|r| r.name.as_str()).collect();
        format!(
            "The disclosure log shows {} received the person's data: {}. Erased, the certificate names them with the disclosures each received (the ids on the packages they hold), and a task asks you to tell them (Art. 19).",
            p.recipients.len(),
            names.join("; ")
        )
    };
    format!(
        "Tick the grounds found and every exemption that applies. Any exemption, or no ground, refuses the request, naming them; otherwise the record is destroyed as retention destroys it (its keys, every row, its search entries, on the erasure ledger so backups lose it too), with this request, and a certificate that names no one is what remains. Prepare the reply to the person first: their contact details go with the record. {told}"
    )
}

async fn preview<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    request_id: Uuid,
) -> Result<ErasurePreview, PageError> {
    Ok(state
        .confidant
        .erasure_preview(signed.actor(), signed.staff().organisation_id, request_id)
        .await?)
}

fn view(signed: &Signed, request_id: Uuid, p: &ErasurePreview) -> FormPage {
    let mut fields = vec![
        FormField::checkboxes(
            "grounds",
            "The grounds for erasure found (UK GDPR Art. 17(1))",
            boxes::<ErasureGround>("grounds"),
        )
        .hint("None ticked: the request is refused, no ground applying."),
        FormField::checkboxes(
            "exemptions",
            "The exemptions that apply (Art. 17(3))",
            boxes::<ErasureExemption>("exemptions"),
        )
        .hint("Weigh each. Any ticked: the request is refused under it, and the person is told why, with their right to complain to the ICO."),
    ];
    if p.may_erase {
        if p.facts.open_cases > 0 {
            fields.push(FormField::checkboxes(
                "case_told",
                "The person's open case",
                vec![(
                    "case_told".to_owned(),
                    "The person was told their support cannot continue without their record"
                        .to_owned(),
                    false,
                )],
            ));
        }
        fields.extend([
            FormField::textarea("reason", "Why it is erased")
                .hint("To erase: without naming anyone, as it is kept on the certificate after the record is gone. A reason holding the person's name, date of birth, identifiers or contact details is refused."),
            FormField::input("password", "Your password")
                .input_type("password")
                .hint("Asked again before a record is erased, unless you signed in or gave it in the last few minutes."),
            FormField::checkboxes(
                "confirm",
                "Erasing cannot be undone",
                vec![(
                    "confirm".to_owned(),
                    "I understand that, unless an exemption is ticked or no ground is, the record, its keys and everything in it will be destroyed".to_owned(),
                    false,
                )],
            ),
        ]);
    }
    let mut page = FormPage::new(
        signed.chrome("/rights"),
        signed.csrf(),
        "Decide the request for erasure",
        format!("/rights/{request_id}/erasure"),
        fields,
        Vec::new(),
    )
    .caption(format!("Record {}", p.request.person_id))
    .back(format!("/rights/{request_id}"))
    .intro(facts_text(p))
    .submit("Decide")
    .submit_classes("govuk-button--warning");
    let mut warnings = Vec::new();
    if p.facts.restricted {
        warnings.push("Processing of this record is restricted: it cannot be erased until the restriction is lifted, with its reason.".to_owned());
    }
    if p.facts.kept > 0 {
        warnings.push(format!(
            "{} legal hold(s), or open request(s) that need the data, keep this record: it cannot be erased while they do.",
            p.facts.kept
        ));
    }
    if p.facts.open_cases > 0 {
        warnings.push(format!(
            "The person has {} open case(s): they end with the record.",
            p.facts.open_cases
        ));
    }
    if !warnings.is_empty() {
        page = page.warning(warnings.join(" "));
    }
    page
}

pub async fn form_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(request_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let p = preview(&state, &signed, request_id).await?;
    render(&view(&signed, request_id, &p))
}

fn label(field: &str) -> Option<&'static str> {
    match field {
        "grounds" => Some("Grounds"),
        "exemptions" => Some("Exemptions"),
        "case_told" => Some("Telling the person their case ends"),
        "reason" => Some("Why it is erased"),
        _ => None,
    }
}

pub async fn decide<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(request_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let p = preview(&state, &signed, request_id).await?;
    let page = view(&signed, request_id, &p);
    let grounds = ticked::<ErasureGround>(&form, "grounds");
    let exemptions = ticked::<ErasureExemption>(&form, "exemptions");
    let input = ErasureInput {
        grounds: &grounds,
        exemptions: &exemptions,
        case_told: form.ticked("case_told"),
        reason: form.get("reason"),
    };
    // Erasing (a ground, no exemption) destroys the record: only the Data Protection Officer,
    // with everything else in order first, confirmed, and the password again unless it was given
    // a moment ago (asked last, so a half-filled form never counts as a failed attempt).
    if matches!(outcome_of(&input), Ok(ErasureOutcome::Erase(_))) {
        if !p.may_erase {
            let errors = vec![(
                "exemptions".to_owned(),
                "Only the Data Protection Officer can erase a record: to refuse the request, tick the exemption that applies, or leave the grounds unticked".to_owned(),
            )];
            return Ok(form_error(page, &form, errors));
        }
        let errors = match assess_erasure(&input, p.facts) {
            Err(v) => labelled_errors(&Violations(v), label),
            Ok(_) => Vec::new(),
        };
        let to = "erase the record";
        if let Some(errors) = super::keeping::confirmed(&state, &signed, &form, errors, to).await? {
            return Ok(form_error(page, &form, errors));
        }
    }
    match state
        .confidant
        .decide_erasure(
            signed.actor(),
            signed.staff().organisation_id,
            request_id,
            input,
        )
        .await
    {
        Ok(ErasureDecision::Refused(_)) => {
            Ok(Redirect::to(&format!("/rights/{request_id}")).into_response())
        }
        Ok(ErasureDecision::Erased(done)) => {
            certificate::certificate_view(&state, &signed, &done.record, &done.certificate, true)
                .await
        }
        Err(PersonError::Invalid(v)) => {
            let errors = labelled_errors(&v, label);
            Ok(form_error(page, &form, errors))
        }
        Err(e) => Err(e.into()),
    }
}
