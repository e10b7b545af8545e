//! Consent purposes and the printable consent form of a service.

use super::*;
use crate::pages::PostForm;
use crate::pages::form::FormData;

pub(super) async fn purpose_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<FormPage, PageError> {
    let mut recipients: Vec<(String, String)> = state
        .confidant
        .recipients(signed.actor(), signed.staff().organisation_id)
        .await?
        .into_iter()
        .filter(|r| r.record.retired_at_micros.is_none())
        .map(|r| (r.record.id.to_string(), r.record.name))
        .collect();
    recipients.push((String::new(), "No particular recipient".to_owned()));
    let fields = vec![
        FormField::radios(
            "service_id",
            "Service",
            service_choices(state, signed).await?,
        ),
        FormField::input("code", "Code")
            .classes("govuk-input--width-20")
            .hint("Lower-case letters, digits and underscores, for example share_with_gp"),
        FormField::textarea("label", "What the person is asked")
            .hint("As printed on the consent form, for example: Share my information with my GP"),
        FormField::radios("recipient_id", "Recipient it lets data go to", recipients),
        FormField::checkboxes(
            "explicit",
            "Explicit consent",
            vec![(
                "explicit".to_owned(),
                "This is explicit consent (needed for special category data and transfers outside the UK)"
                    .to_owned(),
                false,
            )],
        ),
        FormField::input("form_version", "Form version")
            .classes("govuk-input--width-10")
            .hint("For example, 2026-1"),
    ];
    Ok(FormPage::new(
        signed.chrome("/admin/recipients"),
        signed.csrf(),
        "Add a consent purpose",
        "/admin/consent-purposes/new",
        fields,
        Vec::new(),
    )
    .back("/admin/recipients")
    .submit("Add the purpose"))
}

pub async fn purpose_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_manager(&state, &signed).await?;
    render(&purpose_page(&state, &signed).await?)
}

pub async fn purpose_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    PostForm(form): PostForm<FormData>,
) -> Result<Response, PageError> {
    require_manager(&state, &signed).await?;
    let page = purpose_page(&state, &signed).await?;
    let added = match Uuid::parse_str(form.get("service_id")) {
        Ok(service) => {
            state
                .confidant
                .add_consent_purpose(
                    signed.actor(),
                    service,
                    form.get("code"),
                    form.get("label"),
                    Uuid::parse_str(form.get("recipient_id")).ok(),
                    form.ticked("explicit"),
                    form.get("form_version"),
                )
                .await
        }
        Err(_) => Err(PersonError::Invalid(confidant_core::person::Violations(
            vec![confidant_core::person::Violation::new(
                "service_id",
                "Choose a service",
            )],
        ))),
    };
    let label = |code: &str| {
        Some(match code {
            "service_id" => "Service",
            "code" => "Code",
            "label" => "What the person is asked",
            "recipient_id" => "Recipient",
            "form_version" => "Form version",
            _ => return None,
        })
    };
    match added {
        Ok(_) => Ok(Redirect::to("/admin/recipients#consent-forms").into_response()),
        Err(PersonError::Invalid(v)) => Ok(form_error(page, &form, labelled_errors(&v, label))),
        Err(PersonError::NotFound) => Ok(form_error(
            page,
            &form,
            vec![("service-id".to_owned(), "Choose a service".to_owned())],
        )),
        Err(e) => Err(e.into()),
    }
}

// --- the printable consent form of a service ---

#[derive(Template)]
#[template(path = "consent_form.html")]
pub(super) struct ConsentFormPage {
    chrome: Chrome,
    service: String,
    purposes: Vec<(String, bool)>,
    versions: String,
}

pub async fn consent_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(service_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let c = &state.confidant;
    let purposes = c.consent_form(signed.actor(), service_id).await?;
    let service = c
        .services(signed.actor(), signed.staff().organisation_id)
        .await?
        .into_iter()
        .find(|s| s.id == service_id)
        .ok_or(PageError::NotFound)?;
    let mut versions: Vec<String> = purposes.iter().map(|p| p.form_version.clone()).collect();
    versions.sort();
    versions.dedup();
    render(&ConsentFormPage {
        chrome: signed.chrome(""),
        service: service.name,
        purposes: purposes
            .into_iter()
            .map(|p| (p.label, p.explicit))
            .collect(),
        versions: versions.join(", "),
    })
}
