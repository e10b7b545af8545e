//! The share wizard: a recipient from the register, the data (person fields by field group, and the
//! case notes), the lawful basis and conditions, the reasons; "Check" shows every rule the share
//! would break without sharing, "Share" shares. Also the request for approval to send categories
//! beyond a recipient's set.
//!
//! Guarantees:
//! - The rules are core's ([`confidant_core::sharing`]): the page only shows them, by
//!   `Rule::explanation`, and never decides.
//! - A blocked share writes no disclosure; the page is shown again (422) with the rules. Invalid
//!   input shows it again (400) with the GOV.UK error summary.
//! - Only the field groups the person's service collects are offered. Safe contact details are
//!   listed, marked, and refused by core if chosen.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::field::{Classification, PersonField, ValueKind};
use confidant_core::person::{PersonError, Violations};
use confidant_core::record::Need;
use confidant_core::sharing::{EntrySelection, ShareError, ShareRequest, categories};
use confidant_core::store::{
    ApprovalState, Article9Condition, LawfulBasis, OverrideGround, RecipientKind,
    Schedule1Condition, Store,
};
use confidant_core::{Clock, Purpose};
use uuid::Uuid;

use crate::pages::form::{FormData, FormField, FormPage, form_error, labelled_errors};
use crate::pages::sharing::consent::category_labels;

use crate::http::extract::page::Path;
use crate::pages::record::person::read_name;
use crate::pages::{Chrome, PageError, Signed, St, render, render_status};
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

#[derive(Template)]
#[template(path = "share.html")]
struct SharePage {
    chrome: Chrome,
    csrf: String,
    id: String,
    name: String,
    recipients: Vec<Choice>,
    groups: Vec<GroupChoice>,
    bases: Vec<(&'static str, &'static str)>,
    selects: Vec<Select>,
    approvals: Vec<Choice>,
    /// The lines of the person's service's consent form.
    purposes: Vec<Choice>,
    workers: Vec<Choice>,
    form: FormData,
    errors: Vec<(String, String)>,
    blocked: Vec<(&'static str, &'static str)>,
    checked_clear: bool,
}

form_errors!(SharePage);

impl SharePage {
    /// The posted value of a control, to show the form again.
    fn v(&self, name: &str) -> &str {
        self.form.get(name)
    }

    fn picked(&self, name: &str, value: &str) -> bool {
        self.form.0.iter().any(|(n, v)| n == name && v == value)
    }

    /// The id of the `index`th (from 1) control of a group: the first has the group's own id.
    fn item(&self, id: &str, index: &usize) -> String {
        if *index == 1 {
            id.to_owned()
        } else {
            format!("{id}-{index}")
        }
    }
}

async fn page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    form: FormData,
) -> Result<SharePage, PageError> {
    let person = read_name(state, signed, person_id, Need::Share).await?;
    let c = &state.confidant;
    let actor = signed.actor();
    let register = c
        .recipients(actor, signed.staff().organisation_id)
        .await?
        .into_iter()
        .filter(|r| r.record.retired_at_micros.is_none())
        .collect::<Vec<_>>();
    let mut recipients = Vec::new();
    let mut workers = Vec::new();
    for r in &register {
        let mut hint = vec![r.record.kind.label().to_owned()];
        if r.record.outside_uk {
            hint.push("outside the UK".to_owned());
        }
        if r.record.consent_required {
            hint.push("needs the person's consent".to_owned());
        }
        hint.push(format!(
            "may receive: {}",
            category_labels(&r.record.categories)
        ));
        if let Some(w) = &r.warning {
            hint.push(w.clone());
        }
        recipients.push(Choice {
            value: r.record.id.to_string(),
            label: r.record.name.clone(),
            hint: hint.join("; "),
        });
        if r.record.kind == RecipientKind::Processor {
            for s in c.processor_workers(actor, r.record.id).await? {
                workers.push(Choice {
                    value: s.id.to_string(),
                    label: format!("{} ({})", s.name_and_title(), r.record.name),
                    hint: String::new(),
                });
            }
        }
    }
    let purposes = c
        .consent_form(actor, person.service_id)
        .await?
        .into_iter()
        .map(|p| Choice {
            value: p.id.to_string(),
            label: p.label,
            hint: String::new(),
        })
        .collect();
    let config = c.service_config(person.service_id).await?;
    let mut first = true;
    let groups = config
        .field_groups
        .iter()
        .map(|g| GroupChoice {
            label: g.label(),
            safe: g == confidant_core::field::FieldGroup::SafeContact,
            fields: PersonField::of_group(g)
                .filter(|f| f.spec().kind != ValueKind::Document)
                .map(|f| {
                    let spec = f.spec();
                    let marker = if !spec.may_leave {
                        "never leaves the record"
                    } else {
                        match spec.classification {
                            Classification::SpecialCategory(_) => "special category",
                            Classification::CriminalOffence => "criminal offence data",
                            _ => "",
                        }
                    };
                    let id = if first {
                        "fields".to_owned()
                    } else {
                        format!("field-{}", spec.code.replace('_', "-"))
                    };
                    first = false;
                    (id, spec.code, spec.label, marker)
                })
                .collect::<Vec<_>>(),
        })
        .filter(|g| !g.fields.is_empty())
        .collect();
    let approvals = c
        .approvals(actor, Purpose::Support, person_id)
        .await?
        .into_iter()
        .filter(|(a, _)| a.state == ApprovalState::Approved && a.used_by.is_none())
        .map(|(a, _)| Choice {
            value: a.id.to_string(),
            label: format!(
                "{}: {}",
                register
                    .iter()
                    .find(|r| r.record.id == a.recipient_id)
                    .map(|r| r.record.name.clone())
                    .unwrap_or_default(),
                category_labels(&a.categories)
            ),
            hint: String::new(),
        })
        .collect();
    Ok(SharePage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        name: person.full(),
        recipients,
        groups,
        purposes,
        bases: LawfulBasis::ALL
            .iter()
            .filter(|b| **b != LawfulBasis::SubjectRequest)
            .map(|b| (b.code(), b.label()))
            .collect(),
        selects: vec![
            Select {
                name: "article9",
                id: "article9",
                label: "Article 9 condition",
                hint: "Needed for special category data, case notes among it.",
                options: Article9Condition::ALL
                    .iter()
                    .map(|a| (a.code(), a.label()))
                    .collect(),
            },
            Select {
                name: "schedule1",
                id: "schedule1",
                label: "Schedule 1 condition (DPA 2018)",
                hint: "Needed for criminal offence data, and for substantial public interest.",
                options: Schedule1Condition::ALL
                    .iter()
                    .map(|a| (a.code(), a.label()))
                    .collect(),
            },
            Select {
                name: "ground",
                id: "ground",
                label: "Ground for sharing despite a restriction or objection",
                hint: "Only when processing is restricted or an objection is upheld.",
                options: OverrideGround::ALL
                    .iter()
                    .map(|a| (a.code(), a.label()))
                    .collect(),
            },
        ],
        approvals,
        workers,
        form,
        errors: Vec::new(),
        blocked: Vec::new(),
        checked_clear: false,
    })
}

pub async fn form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&page(&state, &signed, person_id, FormData::default()).await?)
}

fn optional(form: &FormData, name: &str) -> Option<String> {
    Some(form.get(name).trim().to_owned()).filter(|v| !v.is_empty())
}

/// The share as posted. A recipient or approval id that is not a UUID is left as the nil id, for
/// core to refuse by name.
fn request_of(form: &FormData) -> ShareRequest {
    let id = |name: &str| optional(form, name).map(|v| Uuid::parse_str(&v).unwrap_or(Uuid::nil()));
    ShareRequest {
        recipient_id: id("recipient_id").unwrap_or(Uuid::nil()),
        fields: form
            .0
            .iter()
            .filter(|(n, _)| n == "fields")
            .map(|(_, v)| v.clone())
            .collect(),
        entries: if form.ticked("entries") {
            EntrySelection::All
        } else {
            EntrySelection::None
        },
        basis: form.get("basis").to_owned(),
        article9: optional(form, "article9"),
        schedule1: optional(form, "schedule1"),
        reason: form.get("reason").to_owned(),
        court_order_ref: optional(form, "court_order_ref"),
        person_told: form.get("person_told") == "yes",
        not_told_reason: optional(form, "not_told_reason"),
        without_consent_reason: optional(form, "without_consent_reason"),
        ground: optional(form, "ground"),
        ground_reason: optional(form, "ground_reason"),
        approval_id: id("approval_id"),
        consent_purpose_id: id("consent_purpose_id"),
        processor_staff_id: id("processor_staff_id"),
        referral_days: optional(form, "referral_days").map(|d| d.parse().unwrap_or(0)),
    }
}

fn label_of(code: &str) -> Option<&'static str> {
    Some(match code {
        "recipient_id" => "Recipient",
        "fields" => "Data to share",
        "entries" => "Case notes",
        "basis" => "Lawful basis",
        "article9" => "Article 9 condition",
        "schedule1" => "Schedule 1 condition",
        "reason" => "Reason for sharing",
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

/// Checks or shares (`action`: `check` or `share`).
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
    let mut shown = page(&state, &signed, person_id, FormData::default()).await?;
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
    shown.form = form;
    match outcome {
        Err(PersonError::Invalid(v)) => {
            local.extend(labelled_errors(&v, label_of));
            shown.errors = local;
            render_status(StatusCode::BAD_REQUEST, &shown)
        }
        Err(e) => Err(e.into()),
        Ok(_) if !local.is_empty() => {
            shown.errors = local;
            render_status(StatusCode::BAD_REQUEST, &shown)
        }
        Ok(rules) => {
            shown.blocked = rules.iter().map(|r| (r.code(), r.explanation())).collect();
            shown.checked_clear = rules.is_empty();
            if rules.is_empty() {
                render(&shown)
            } else {
                render_status(StatusCode::UNPROCESSABLE_ENTITY, &shown)
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
