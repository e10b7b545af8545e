//! The recipient register and what hangs off it: the list (with warnings on processors'
//! agreements), adding, changing and retiring a recipient, assigning a processor's worker, one
//! recipient's disclosure log, the services' consent purposes and their printable consent forms,
//! and the review of emergency disclosures.
//!
//! Guarantees:
//! - The register is configuration, not personal data: anyone in the organisation may read it;
//!   only the Data Protection Officer and the Caldicott Guardian change it (core's
//!   `recipient.manage`), see a recipient's disclosure log (`oversight.read`) and review
//!   emergency disclosures. Others are refused with 403 and a plain reason.
//! - The pages hold ids, codes and times only: no person's name or details.

use std::collections::HashMap;

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::person::PersonError;
use confidant_core::sharing::{RecipientInput, categories};
use confidant_core::store::{LawfulBasis, RecipientKind, RecipientRecord, Store};
use confidant_core::{Action, Clock, Role};
use uuid::Uuid;

use crate::http::extract::page::Path;
use crate::pages::PostForm;
use crate::pages::form::{
    FormData, FormField, FormPage, form_error, labelled_errors, posted_value,
};
use crate::pages::sharing::consent::{at, category_labels, review_label};
use crate::pages::{Chrome, PageError, Signed, St, date, date_time, render};

mod purpose;
pub use purpose::*;

mod review;
pub use review::*;

/// What the pages say of a recipient without a secure email address.
pub const NO_SECURE_EMAIL: &str = "None: packages are downloaded, not sent";

const MANAGERS_ONLY: &str =
    "Only the Data Protection Officer and the Caldicott Guardian keep the recipient register.";

async fn may_manage<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<bool, PageError> {
    Ok(state
        .confidant
        .may(
            signed.actor(),
            Action::RecipientManage,
            signed.organisation(),
        )
        .await?)
}

async fn require_manager<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<(), PageError> {
    signed
        .require(
            state,
            Action::RecipientManage,
            signed.organisation(),
            MANAGERS_ONLY,
        )
        .await
}

fn bases_label(bases: &[LawfulBasis]) -> String {
    bases
        .iter()
        .map(|b| b.label())
        .collect::<Vec<_>>()
        .join("; ")
}

fn dpa_dates(r: &RecipientRecord) -> String {
    match (r.dpa_starts_at_micros, r.dpa_ends_at_micros) {
        (Some(s), Some(e)) => format!("{} to {}", date(at(s)), date(at(e))),
        _ => String::new(),
    }
}

pub struct RecipientLine {
    pub id: String,
    /// Its id in the register of processing activities ("" when none).
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub outside_uk: bool,
    pub categories: String,
    pub bases: String,
    pub consent_required: bool,
    pub dpa: String,
    /// Where packages may be sent ("" when none: download only).
    pub secure_email: String,
    pub warning: String,
    pub retired: bool,
}

pub struct ServiceForm {
    pub id: String,
    pub name: String,
    /// (label, recipient, explicit, version)
    pub purposes: Vec<(String, String, bool, String)>,
}

#[derive(Template)]
#[template(path = "recipients.html")]
struct RecipientsPage {
    chrome: Chrome,
    recipients: Vec<RecipientLine>,
    services: Vec<ServiceForm>,
    can_manage: bool,
    /// The organisation's id in its register, when a register governs it ("" otherwise).
    register: String,
}

pub async fn list<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    let c = &state.confidant;
    let actor = signed.actor();
    let org = signed.staff().organisation_id;
    let register = c.recipients(actor, org).await?;
    let names: HashMap<Uuid, String> = register
        .iter()
        .map(|r| (r.record.id, r.record.name.clone()))
        .collect();
    let recipients = register
        .into_iter()
        .map(|v| RecipientLine {
            id: v.record.id.to_string(),
            code: v.record.code.clone().unwrap_or_default(),
            kind: v.record.kind.label(),
            outside_uk: v.record.outside_uk,
            categories: category_labels(&v.record.categories),
            bases: bases_label(&v.record.bases),
            consent_required: v.record.consent_required,
            dpa: dpa_dates(&v.record),
            secure_email: v.record.secure_email.clone().unwrap_or_default(),
            warning: v.warning.unwrap_or_default(),
            retired: v.record.retired_at_micros.is_some(),
            name: v.record.name,
        })
        .collect();
    let mut services = Vec::new();
    for s in c.services(actor, org).await? {
        let purposes = c
            .consent_form(actor, s.id)
            .await?
            .into_iter()
            .map(|p| {
                (
                    p.label,
                    p.recipient_ids
                        .iter()
                        .filter_map(|r| names.get(r).cloned())
                        .collect::<Vec<_>>()
                        .join(", "),
                    p.explicit,
                    p.form_version,
                )
            })
            .collect();
        services.push(ServiceForm {
            id: s.id.to_string(),
            name: s.name,
            purposes,
        });
    }
    render(&RecipientsPage {
        chrome: signed.chrome("/admin/recipients"),
        recipients,
        services,
        can_manage: may_manage(&state, &signed).await?,
        register: c
            .organisations()
            .await?
            .into_iter()
            .find(|o| o.id == org)
            .and_then(|o| o.code)
            .unwrap_or_default(),
    })
}

// --- adding and changing a recipient ---

fn recipient_fields(
    services: Vec<(String, String)>,
    r: Option<&RecipientRecord>,
    with_retire: bool,
) -> Vec<FormField> {
    let kinds = RecipientKind::ALL
        .iter()
        .filter(|k| **k != RecipientKind::DataSubject)
        .map(|k| (k.code().to_owned(), k.label().to_owned()))
        .collect();
    let has_cat = |c: &str| r.is_some_and(|r| r.categories.iter().any(|x| x == c));
    let has_basis = |b: LawfulBasis| r.is_some_and(|r| r.bases.contains(&b));
    let cats = categories()
        .into_iter()
        .map(|(code, label)| (format!("category_{code}"), label.to_owned(), has_cat(code)))
        .collect();
    let bases = LawfulBasis::ALL
        .iter()
        .filter(|b| **b != LawfulBasis::SubjectRequest)
        .map(|b| {
            (
                format!("basis_{}", b.code()),
                b.label().to_owned(),
                has_basis(*b),
            )
        })
        .collect();
    let mut partner = services;
    partner.push((String::new(), "Not a partner service".to_owned()));
    let iso = |m: Option<i64>| {
        m.map(|m| {
            let d = at(m).date();
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        })
        .unwrap_or_default()
    };
    let mut fields = vec![
        FormField::input("name", "Name").value(r.map(|r| r.name.as_str()).unwrap_or_default()),
        FormField::radios("kind", "Kind of recipient", kinds)
            .value(r.map(|r| r.kind.code()).unwrap_or_default()),
        FormField::checkboxes(
            "outside_uk",
            "Where it is",
            vec![(
                "outside_uk".to_owned(),
                "Outside the UK".to_owned(),
                r.is_some_and(|r| r.outside_uk),
            )],
        ),
        FormField::checkboxes("categories", "Data it may receive", cats),
        FormField::checkboxes("bases", "Lawful bases it may receive data under", bases),
        FormField::checkboxes(
            "consent_required",
            "Consent",
            vec![(
                "consent_required".to_owned(),
                "It needs the person's consent".to_owned(),
                r.is_some_and(|r| r.consent_required),
            )],
        ),
        FormField::radios(
            "partner_service_id",
            "For a partner service: which service",
            partner,
        )
        .value(
            &r.and_then(|r| r.partner_service_id)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
        FormField::date(
            "dpa_starts_on",
            "For a processor: when its data processing agreement starts",
            &iso(r.and_then(|r| r.dpa_starts_at_micros)),
        )
        .hint("For example, 1 4 2026"),
        FormField::date(
            "dpa_ends_on",
            "For a processor: when its data processing agreement ends",
            &iso(r.and_then(|r| r.dpa_ends_at_micros)),
        )
        .hint("You will be warned 60 days before it ends"),
        FormField::input("secure_email", "Secure email address (optional)")
            .value(r.and_then(|r| r.secure_email.as_deref()).unwrap_or_default())
            .input_type("email")
            .hint("The recipient's secure mailbox: a share can send its package there. Leave it empty to download packages only"),
    ];
    if with_retire {
        fields.push(FormField::checkboxes(
            "retire",
            "Retire",
            vec![(
                "retire".to_owned(),
                "Retire this recipient: nothing more can be shared with it".to_owned(),
                r.is_some_and(|r| r.retired_at_micros.is_some()),
            )],
        ));
    }
    fields
}

fn input_of(form: &FormData, fields: &[FormField]) -> RecipientInput {
    let date = |name: &str| {
        fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| posted_value(f, form))
            .filter(|v| !v.is_empty())
    };
    RecipientInput {
        name: form.get("name").to_owned(),
        kind: form.get("kind").to_owned(),
        outside_uk: form.ticked("outside_uk"),
        categories: categories()
            .into_iter()
            .filter(|(c, _)| form.ticked(&format!("category_{c}")))
            .map(|(c, _)| c.to_owned())
            .collect(),
        bases: LawfulBasis::ALL
            .iter()
            .filter(|b| form.ticked(&format!("basis_{}", b.code())))
            .map(|b| b.code().to_owned())
            .collect(),
        consent_required: form.ticked("consent_required"),
        partner_service_id: Uuid::parse_str(form.get("partner_service_id")).ok(),
        dpa_starts_on: date("dpa_starts_on"),
        dpa_ends_on: date("dpa_ends_on"),
        secure_email: Some(form.get("secure_email").trim().to_owned()).filter(|e| !e.is_empty()),
    }
}

fn recipient_label(code: &str) -> Option<&'static str> {
    Some(match code {
        "name" => "Name",
        "kind" => "Kind of recipient",
        "categories" => "Data it may receive",
        "bases" => "Lawful bases",
        "partner_service_id" => "Partner service",
        "dpa_starts_on" => "Start of the agreement",
        "dpa_ends_on" => "End of the agreement",
        "secure_email" => "Secure email address",
        _ => return None,
    })
}

async fn service_choices<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<Vec<(String, String)>, PageError> {
    Ok(state
        .confidant
        .services(signed.actor(), signed.staff().organisation_id)
        .await?
        .into_iter()
        .map(|s| (s.id.to_string(), s.name))
        .collect())
}

async fn new_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<FormPage, PageError> {
    let fields = recipient_fields(service_choices(state, signed).await?, None, false);
    Ok(FormPage::new(
        signed.chrome("/admin/recipients"),
        signed.csrf(),
        "Add a recipient",
        "/admin/recipients/new",
        fields,
        Vec::new(),
    )
    .back("/admin/recipients")
    .submit("Add the recipient"))
}

pub async fn new_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_manager(&state, &signed).await?;
    render(&new_page(&state, &signed).await?)
}

pub async fn create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    PostForm(form): PostForm<FormData>,
) -> Result<Response, PageError> {
    require_manager(&state, &signed).await?;
    let page = new_page(&state, &signed).await?;
    let input = input_of(&form, &page.fields);
    match state
        .confidant
        .add_recipient(signed.actor(), signed.staff().organisation_id, &input)
        .await
    {
        Ok(r) => Ok(Redirect::to(&format!("/admin/recipients/{}", r.id)).into_response()),
        Err(PersonError::Invalid(v)) => Ok(form_error(
            page,
            &form,
            labelled_errors(&v, recipient_label),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn edit_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    r: &RecipientRecord,
) -> Result<FormPage, PageError> {
    let fields = recipient_fields(service_choices(state, signed).await?, Some(r), true);
    Ok(FormPage::new(
        signed.chrome("/admin/recipients"),
        signed.csrf(),
        format!("Change {}", r.name),
        format!("/admin/recipients/{}/edit", r.id),
        fields,
        Vec::new(),
    )
    .back(format!("/admin/recipients/{}", r.id))
    .submit("Save changes"))
}

pub async fn edit_form<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(recipient_id): Path<Uuid>,
) -> Result<Response, PageError> {
    require_manager(&state, &signed).await?;
    let r = state
        .confidant
        .recipient(signed.actor(), recipient_id)
        .await?;
    render(&edit_page(&state, &signed, &r).await?)
}

pub async fn edit_submit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(recipient_id): Path<Uuid>,
    PostForm(form): PostForm<FormData>,
) -> Result<Response, PageError> {
    require_manager(&state, &signed).await?;
    let r = state
        .confidant
        .recipient(signed.actor(), recipient_id)
        .await?;
    let page = edit_page(&state, &signed, &r).await?;
    let input = input_of(&form, &page.fields);
    match state
        .confidant
        .update_recipient(signed.actor(), recipient_id, &input, form.ticked("retire"))
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/admin/recipients/{recipient_id}")).into_response()),
        Err(PersonError::Invalid(v)) => Ok(form_error(
            page,
            &form,
            labelled_errors(&v, recipient_label),
        )),
        Err(e) => Err(e.into()),
    }
}

// --- one recipient: details, workers, disclosure log ---

#[derive(Template)]
#[template(path = "recipient.html")]
struct RecipientPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    name: String,
    rows: Vec<(&'static str, String)>,
    warning: String,
    processor: bool,
    workers: Vec<String>,
    assignable: Vec<(String, String)>,
    disclosures: Vec<Vec<String>>,
    can_manage: bool,
}

pub async fn show<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(recipient_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let c = &state.confidant;
    let actor = signed.actor();
    signed
        .require(
            &state,
            Action::OversightRead,
            signed.organisation(),
            "Only the Data Protection Officer and the Caldicott Guardian see what was disclosed to a recipient.",
        )
        .await?;
    let org = signed.staff().organisation_id;
    let view = c
        .recipients(actor, org)
        .await?
        .into_iter()
        .find(|v| v.record.id == recipient_id)
        .ok_or(PageError::NotFound)?;
    let r = &view.record;
    let handles = c.colleague_names(actor).await?;
    let mut rows = vec![
        ("Kind", r.kind.label().to_owned()),
        (
            "Outside the UK",
            if r.outside_uk { "Yes" } else { "No" }.to_owned(),
        ),
        ("Data it may receive", category_labels(&r.categories)),
        ("Lawful bases", bases_label(&r.bases)),
        (
            "Needs consent",
            if r.consent_required { "Yes" } else { "No" }.to_owned(),
        ),
    ];
    if r.kind == RecipientKind::Processor {
        rows.push(("Data processing agreement", dpa_dates(r)));
    }
    rows.push((
        "Secure email",
        r.secure_email
            .clone()
            .unwrap_or_else(|| NO_SECURE_EMAIL.to_owned()),
    ));
    if let Some(t) = r.retired_at_micros {
        rows.push(("Retired", date(at(t))));
    }
    let processor = r.kind == RecipientKind::Processor;
    let workers: Vec<_> = if processor {
        c.processor_workers(actor, recipient_id).await?
    } else {
        Vec::new()
    };
    let can_manage = may_manage(&state, &signed).await?;
    let assignable = if processor && can_manage {
        c.staff_of(actor, org)
            .await?
            .into_iter()
            .filter(|s| {
                s.role == Role::ProcessorStaff
                    && s.disabled_at_micros.is_none()
                    && !workers.iter().any(|w| w.id == s.id)
            })
            .map(|s| (s.id.to_string(), s.name_and_handle()))
            .collect()
    } else {
        Vec::new()
    };
    let disclosures = c
        .disclosures_to(actor, recipient_id)
        .await?
        .into_iter()
        .rev()
        .map(|d| {
            vec![
                date_time(at(d.shared_at_micros)),
                d.person_id.to_string(),
                d.basis.label().to_owned(),
                category_labels(&d.categories),
                who(&handles, &d.requested_by),
                if d.emergency {
                    format!("Emergency: {}", review_label(d.review_state))
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    render(&RecipientPage {
        chrome: signed.chrome("/admin/recipients"),
        csrf: signed.csrf().to_owned(),
        id: recipient_id.to_string(),
        name: r.name.clone(),
        rows,
        warning: view.warning.clone().unwrap_or_default(),
        processor,
        workers: workers.into_iter().map(|w| w.name_and_handle()).collect(),
        assignable,
        disclosures,
        can_manage,
    })
}

fn who(handles: &HashMap<Uuid, String>, id: &str) -> String {
    crate::pages::record::person::who(handles, id)
}

/// Assigns a processor's worker (`staff_id`) to the processor.
pub async fn assign<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(recipient_id): Path<Uuid>,
    PostForm(form): PostForm<FormData>,
) -> Result<Response, PageError> {
    let staff_id = Uuid::parse_str(form.get("staff_id")).map_err(|_| {
        PageError::Invalid(vec![(
            "staff-id".to_owned(),
            "Choose the processor's worker".to_owned(),
        )])
    })?;
    state
        .confidant
        .assign_processor_staff(signed.actor(), staff_id, recipient_id)
        .await?;
    Ok(Redirect::to(&format!("/admin/recipients/{recipient_id}")).into_response())
}
