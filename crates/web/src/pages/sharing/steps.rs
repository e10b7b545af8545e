//! Sharing as five short steps, each its own page and none needing JavaScript: (1) the recipient,
//! (2) the purpose and lawful basis, (3) what to send, (4) the check, (5) the confirmation, whose
//! form posts the share (see [`super::share::submit`]).
//!
//! Guarantees:
//! - Steps 1 to 4 are GET forms that carry only ids and codes between them ([`CARRIED`]): the
//!   recipient, basis, conditions, consent purpose, ground, approval, processor's worker and days,
//!   field codes and whether case notes go. Nothing a person typed and no value of the record is
//!   ever in an address: the reasons are asked for in the last step and posted with its CSRF token.
//! - Each step offers only what the step before allows: the bases the recipient may receive under,
//!   the consent purposes that name it, its approvals, and the data of the categories it may
//!   receive (or an approval widens), with what is never shared said.
//! - The check is core's dry run ([`confidant_core::Confidant::preview_share`]): it writes no
//!   disclosure, and names every refusal by its true cause, or shows exactly what would be sent.
//!   It decides nothing: the share in step 5 checks everything again.
//! - Every step first checks the actor may share from this record (404 otherwise), then, when
//!   what it needs from the step before is missing, goes back to the first step.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::field::{Classification, FieldGroup, PersonField, ValueKind};
use confidant_core::person::PersonError;
use confidant_core::record::Need;
use confidant_core::sharing::{
    CASE_NOTES, EntrySelection, RecipientView, Refusal, ShareRequest, categories,
};
use confidant_core::store::{
    Article9Condition, LawfulBasis, OverrideGround, RecipientKind, Schedule1Condition, Store,
};
use confidant_core::{Clock, Purpose};
use uuid::Uuid;

use crate::http::extract::page::{Path, Query};
use crate::pages::form::{FormData, labelled_errors};
use crate::pages::record::person::read_name;
use crate::pages::sharing::consent::category_labels;
use crate::pages::sharing::disclosure::{EntryView, package_view};
use crate::pages::sharing::share::{Choice, GroupChoice, Select, label_of};
use crate::pages::{Chrome, PageError, Signed, St, TrainedStaff, render, render_status};

/// The names a step may carry to the next in its address: ids and codes only.
pub const CARRIED: [&str; 11] = [
    "recipient_id",
    "basis",
    "article9",
    "schedule1",
    "consent_purpose_id",
    "ground",
    "approval_id",
    "processor_staff_id",
    "referral_days",
    "fields",
    "entries",
];

/// The steps' names, in order, for the step indicator.
pub const STEPS: [&str; 5] = [
    "Recipient",
    "Purpose and lawful basis",
    "What to send",
    "Check",
    "Confirm",
];

/// What every step page shows: the person, where it is in the steps, how to go back, and the
/// choices carried so far (as hidden inputs and as a summary with "Change" links).
pub struct StepChrome {
    pub id: String,
    pub name: String,
    /// 1 to 5.
    pub step: usize,
    pub back: String,
    pub carried: Vec<(String, String)>,
    /// (what, chosen, the step's address to change it).
    pub summary: Vec<(String, String, String)>,
    pub errors: Vec<(String, String)>,
}

impl StepChrome {
    pub fn step_name(&self) -> &'static str {
        STEPS.get(self.step - 1).copied().unwrap_or_default()
    }

    pub fn steps(&self) -> Vec<(usize, &'static str)> {
        STEPS.iter().enumerate().map(|(i, s)| (i + 1, *s)).collect()
    }

    pub fn err(&self, id: &str) -> String {
        crate::pages::error_for(&self.errors, id)
    }

    fn picked(&self, name: &str, value: &str) -> bool {
        self.carried.iter().any(|(n, v)| n == name && v == value)
    }

    fn v(&self, name: &str) -> &str {
        self.carried
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The carried choices but those a step asks again (its own controls).
    fn carried_but(&self, own: &[&str]) -> Vec<(String, String)> {
        self.carried
            .iter()
            .filter(|(n, _)| !own.contains(&n.as_str()))
            .cloned()
            .collect()
    }
}

/// Whether a carried value has the shape of what its name carries: an id, a number of days, or a
/// code. Anything else (typed text above all) is never carried into a step's address.
fn carried_shape(name: &str, value: &str) -> bool {
    match name {
        "recipient_id" | "consent_purpose_id" | "approval_id" | "processor_staff_id" => {
            Uuid::parse_str(value).is_ok()
        }
        "referral_days" => value.len() <= 4 && value.bytes().all(|b| b.is_ascii_digit()),
        _ => {
            value.len() <= 64
                && value
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        }
    }
}

/// The carried ids and codes of a query or form, in order, without empty values, values of the
/// wrong shape, or anything else.
pub fn carried(form: &FormData) -> Vec<(String, String)> {
    form.0
        .iter()
        .filter(|(n, v)| {
            CARRIED.contains(&n.as_str()) && !v.trim().is_empty() && carried_shape(n, v.trim())
        })
        .map(|(n, v)| (n.clone(), v.trim().to_owned()))
        .collect()
}

/// The address of a step with the carried choices.
fn step_href(person_id: Uuid, step: &str, carried: &[(String, String)]) -> String {
    let query = serde_urlencoded::to_string(carried).unwrap_or_default();
    if query.is_empty() {
        format!("/people/{person_id}/share{step}")
    } else {
        format!("/people/{person_id}/share{step}?{query}")
    }
}

const STEP_PATHS: [&str; 5] = ["", "/purpose", "/data", "/check", "/confirm"];

/// The share as carried (no reasons: they come with the last step's post).
pub fn request_of(form: &FormData) -> ShareRequest {
    let id = |name: &str| {
        Some(form.get(name).trim())
            .filter(|v| !v.is_empty())
            .map(|v| Uuid::parse_str(v).unwrap_or(Uuid::nil()))
    };
    let optional = |name: &str| Some(form.get(name).trim().to_owned()).filter(|v| !v.is_empty());
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
        article9: optional("article9"),
        schedule1: optional("schedule1"),
        ground: optional("ground"),
        approval_id: id("approval_id"),
        consent_purpose_id: id("consent_purpose_id"),
        processor_staff_id: id("processor_staff_id"),
        referral_days: optional("referral_days").map(|d| d.parse().unwrap_or(0)),
        ..ShareRequest::default()
    }
}

/// Plain words on each lawful basis, for step 2.
fn basis_hint(b: LawfulBasis) -> &'static str {
    match b {
        LawfulBasis::Consent => {
            "The person has agreed to this purpose on the service's consent form, and has not withdrawn it."
        }
        LawfulBasis::Contract => "Needed for a contract with the person.",
        LawfulBasis::LegalObligation => "The law requires the service to share it.",
        LawfulBasis::CourtOrder => {
            "A court has ordered it: you give the order's reference in the last step."
        }
        LawfulBasis::VitalInterests => {
            "An emergency: to protect someone's life. Shared with a reason, and reviewed afterwards by the Data Protection Officer or Caldicott Guardian."
        }
        LawfulBasis::PublicTask => "Part of a task in the public interest the service carries out.",
        LawfulBasis::LegitimateInterests => {
            "Needed for the service's legitimate interests, which the person's rights do not override."
        }
        LawfulBasis::SubjectRequest => "",
    }
}

/// What step 1 needs first: the person's name after the share permission, and the register.
async fn start<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    step: usize,
    carried: Vec<(String, String)>,
) -> Result<(StepChrome, Vec<RecipientView>, Uuid), PageError> {
    let person = read_name(state, signed, person_id, Need::Share).await?;
    let register = state
        .confidant
        .recipients(signed.actor(), signed.staff().organisation_id)
        .await?
        .into_iter()
        .filter(|r| r.record.retired_at_micros.is_none())
        .collect::<Vec<_>>();
    let back = if step == 1 {
        format!("/people/{person_id}/sharing")
    } else {
        step_href(person_id, STEP_PATHS[step - 2], &carried)
    };
    let mut chrome = StepChrome {
        id: person_id.to_string(),
        name: person.full(),
        step,
        back,
        carried,
        summary: Vec::new(),
        errors: Vec::new(),
    };
    chrome.summary = summary(&chrome, &register, person_id, step);
    Ok((chrome, register, person.service_id))
}

/// What was chosen in the steps before `step`, each with the step that changes it.
fn summary(
    c: &StepChrome,
    register: &[RecipientView],
    person_id: Uuid,
    step: usize,
) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    let href = |i: usize| step_href(person_id, STEP_PATHS[i], &c.carried);
    if step > 1 {
        let name = register
            .iter()
            .find(|r| r.record.id.to_string() == c.v("recipient_id"))
            .map_or_else(|| "Not chosen".to_owned(), |r| r.record.name.clone());
        rows.push(("Recipient".to_owned(), name, href(0)));
    }
    if step > 2 {
        let basis = LawfulBasis::from_code(c.v("basis"))
            .map_or_else(|| "Not chosen".to_owned(), |b| b.label().to_owned());
        rows.push(("Lawful basis".to_owned(), basis, href(1)));
        if let Some(a) = Article9Condition::from_code(c.v("article9")) {
            rows.push((
                "Article 9 condition".to_owned(),
                a.label().to_owned(),
                href(1),
            ));
        }
        if let Some(s) = Schedule1Condition::from_code(c.v("schedule1")) {
            rows.push((
                "Schedule 1 condition".to_owned(),
                s.label().to_owned(),
                href(1),
            ));
        }
        if let Some(g) = OverrideGround::from_code(c.v("ground")) {
            rows.push(("Ground".to_owned(), g.label().to_owned(), href(1)));
        }
        if !c.v("consent_purpose_id").is_empty() {
            rows.push((
                "Consent relied on".to_owned(),
                "The person's consent to the purpose chosen".to_owned(),
                href(1),
            ));
        }
        if !c.v("approval_id").is_empty() {
            rows.push((
                "Approval used".to_owned(),
                "A second person's approval of more categories".to_owned(),
                href(1),
            ));
        }
        if !c.v("processor_staff_id").is_empty() {
            let days = match c.v("referral_days") {
                "" => "for the default time".to_owned(),
                d => format!("for {d} days"),
            };
            rows.push((
                "Referred to the processor".to_owned(),
                format!("Their worker chosen in step 2 opens what is sent, {days}"),
                href(1),
            ));
        }
    }
    if step > 3 {
        let mut data: Vec<String> = c
            .carried
            .iter()
            .filter(|(n, _)| n == "fields")
            .filter_map(|(_, v)| PersonField::from_code(v))
            .map(|f| f.spec().label.to_owned())
            .collect();
        if c.picked("entries", "all") {
            data.push("Case notes, plans, goals and appointments".to_owned());
        }
        let data = if data.is_empty() {
            "Nothing chosen".to_owned()
        } else {
            data.join(", ")
        };
        rows.push(("What to send".to_owned(), data, href(2)));
    }
    rows
}

fn recipient_of<'a>(register: &'a [RecipientView], c: &StepChrome) -> Option<&'a RecipientView> {
    register
        .iter()
        .find(|r| r.record.id.to_string() == c.v("recipient_id"))
}

/// Back to the first step, which then says a recipient must be chosen (a later step reached
/// without one, by an old link or by continuing without choosing).
fn first_step(person_id: Uuid) -> Response {
    Redirect::to(&format!("/people/{person_id}/share?missing=recipient")).into_response()
}

// --- step 1: the recipient ---

#[derive(Template)]
#[template(path = "share_recipient.html")]
struct RecipientStep {
    chrome: Chrome,
    s: StepChrome,
    recipients: Vec<Choice>,
}

pub async fn recipient<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
    Query(query): Query<FormData>,
) -> Result<Response, PageError> {
    let (mut s, register, _) = start(&state, &signed, person_id, 1, carried(&query)).await?;
    if query.get("missing") == "recipient" {
        s.errors = vec![(
            "recipient-id".to_owned(),
            "Choose who receives it".to_owned(),
        )];
    }
    let recipients = register
        .iter()
        .map(|r| {
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
            Choice {
                value: r.record.id.to_string(),
                label: r.record.name.clone(),
                hint: hint.join("; "),
            }
        })
        .collect();
    render(&RecipientStep {
        chrome: signed.chrome("/people"),
        s,
        recipients,
    })
}

// --- step 2: purpose and lawful basis ---

#[derive(Template)]
#[template(path = "share_purpose.html")]
struct PurposeStep {
    chrome: Chrome,
    s: StepChrome,
    recipient: String,
    bases: Vec<Choice>,
    selects: Vec<Select>,
    purposes: Vec<Choice>,
    approvals: Vec<Choice>,
    workers: Vec<Choice>,
    processor: bool,
    hidden: Vec<(String, String)>,
}

impl PurposeStep {
    fn v(&self, name: &str) -> &str {
        self.s.v(name)
    }
}

pub async fn purpose<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
    Query(query): Query<FormData>,
) -> Result<Response, PageError> {
    let (s, register, service_id) = start(&state, &signed, person_id, 2, carried(&query)).await?;
    let Some(r) = recipient_of(&register, &s).map(|r| r.record.clone()) else {
        return Ok(first_step(person_id));
    };
    let c = &state.confidant;
    let actor = signed.actor();
    let bases = r
        .bases
        .iter()
        .filter(|b| **b != LawfulBasis::SubjectRequest)
        .map(|b| Choice {
            value: b.code().to_owned(),
            label: b.label().to_owned(),
            hint: basis_hint(*b).to_owned(),
        })
        .collect();
    let purposes = c
        .consent_form(actor, service_id)
        .await?
        .into_iter()
        .filter(|p| p.recipient_ids.contains(&r.id))
        .map(|p| Choice {
            value: p.id.to_string(),
            label: p.label,
            hint: if p.explicit {
                "Explicit consent (Art. 9(2)(a)).".to_owned()
            } else {
                String::new()
            },
        })
        .collect();
    // Only approvals a share could use now (approved, unused, not expired).
    let now = confidant_core::organisation::micros(c.clock().now());
    let approvals = c
        .approvals(actor, Purpose::Support, person_id)
        .await?
        .into_iter()
        .filter(|(a, _)| a.usable(r.id, person_id, now))
        .map(|(a, _)| Choice {
            value: a.id.to_string(),
            label: format!("Approved: {}", category_labels(&a.categories)),
            hint: String::new(),
        })
        .collect();
    let processor = r.kind == RecipientKind::Processor;
    let mut workers = Vec::new();
    if processor {
        for w in c.processor_workers(actor, r.id).await? {
            workers.push(Choice {
                value: w.id.to_string(),
                label: w.name_and_title(),
                hint: String::new(),
            });
        }
    }
    let own = [
        "basis",
        "article9",
        "schedule1",
        "consent_purpose_id",
        "ground",
        "approval_id",
        "processor_staff_id",
        "referral_days",
    ];
    let hidden = s.carried_but(&own);
    render(&PurposeStep {
        chrome: signed.chrome("/people"),
        s,
        recipient: r.name,
        bases,
        selects: selects(),
        purposes,
        approvals,
        workers,
        processor,
        hidden,
    })
}

fn selects() -> Vec<Select> {
    vec![
        Select {
            name: "article9",
            id: "article9",
            label: "Article 9 condition",
            hint: "Needed for special category data (health, for example), case notes among it. Explicit consent needs the person's explicit consent to this purpose.",
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
            hint: "Only when processing is restricted or an objection is upheld; it needs an approval by the Data Protection Officer or Caldicott Guardian, and you say why in the last step.",
            options: OverrideGround::ALL
                .iter()
                .map(|a| (a.code(), a.label()))
                .collect(),
        },
    ]
}

// --- step 3: what to send ---

#[derive(Template)]
#[template(path = "share_data.html")]
struct DataStep {
    chrome: Chrome,
    s: StepChrome,
    recipient: String,
    groups: Vec<GroupChoice>,
    /// The categories the recipient may not be sent (without an approval), by label.
    not_offered: String,
    notes: bool,
    hidden: Vec<(String, String)>,
}

impl DataStep {
    fn picked(&self, name: &str, value: &str) -> bool {
        self.s.picked(name, value)
    }
}

pub async fn data<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
    Query(query): Query<FormData>,
) -> Result<Response, PageError> {
    let (s, register, service_id) = start(&state, &signed, person_id, 3, carried(&query)).await?;
    let Some(r) = recipient_of(&register, &s).map(|r| r.record.clone()) else {
        return Ok(first_step(person_id));
    };
    let c = &state.confidant;
    // What the recipient may receive, widened by the approval carried (core checks it again).
    let mut allowed = r.categories.clone();
    if let Ok(approval) = Uuid::parse_str(s.v("approval_id")) {
        let now = confidant_core::organisation::micros(c.clock().now());
        for (a, _) in c
            .approvals(signed.actor(), Purpose::Support, person_id)
            .await?
        {
            if a.id == approval && a.usable(r.id, person_id, now) {
                allowed.extend(a.categories.iter().cloned());
            }
        }
    }
    let config = c.service_config(service_id).await?;
    let mut first = true;
    let groups: Vec<GroupChoice> = config
        .field_groups
        .iter()
        .filter(|g| allowed.iter().any(|a| a == g.code()) && *g != FieldGroup::SafeContact)
        .map(|g| GroupChoice {
            label: g.label(),
            safe: false,
            fields: PersonField::of_group(g)
                .filter(|f| f.spec().kind != ValueKind::Document && f.spec().may_leave)
                .map(|f| {
                    let spec = f.spec();
                    let marker = match spec.classification {
                        Classification::SpecialCategory(_) => "special category",
                        Classification::CriminalOffence => "criminal offence data",
                        _ => "",
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
    let not_offered: Vec<&str> = categories()
        .into_iter()
        .filter(|(code, _)| !allowed.iter().any(|a| a == code))
        .map(|(_, label)| label)
        .collect();
    let hidden = s.carried_but(&["fields", "entries"]);
    render(&DataStep {
        chrome: signed.chrome("/people"),
        s,
        recipient: r.name,
        groups,
        not_offered: not_offered.join(", "),
        notes: allowed.iter().any(|a| a == CASE_NOTES),
        hidden,
    })
}

// --- step 4: the check ---

#[derive(Template)]
#[template(path = "share_check.html")]
struct CheckStep {
    chrome: Chrome,
    s: StepChrome,
    refusals: Vec<(&'static str, String, bool)>,
    /// Checked: nothing (but perhaps a reason asked for in the last step) stands in the way.
    clear: bool,
    fields: Vec<(String, String)>,
    entries: Vec<EntryView>,
    confirm: String,
}

pub async fn check<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
    Query(query): Query<FormData>,
) -> Result<Response, PageError> {
    let (mut s, register, _) = start(&state, &signed, person_id, 4, carried(&query)).await?;
    if recipient_of(&register, &s).is_none() {
        return Ok(first_step(person_id));
    }
    let request = request_of(&FormData(s.carried.clone()));
    let preview = state
        .confidant
        .preview_share(signed.actor(), Purpose::Support, person_id, &request)
        .await;
    let confirm = step_href(person_id, "/confirm", &s.carried);
    match preview {
        Err(PersonError::Invalid(v)) => {
            s.errors = labelled_errors(&v, label_of);
            render_status(
                StatusCode::BAD_REQUEST,
                &CheckStep {
                    chrome: signed.chrome("/people"),
                    s,
                    refusals: Vec::new(),
                    clear: false,
                    fields: Vec::new(),
                    entries: Vec::new(),
                    confirm,
                },
            )
        }
        Err(e) => Err(e.into()),
        Ok(p) => {
            let (fields, entries) = p.package.as_ref().map(package_view).unwrap_or_default();
            render(&CheckStep {
                chrome: signed.chrome("/people"),
                s,
                clear: p.package.is_some(),
                refusals: shown(&p.refusals),
                fields,
                entries,
                confirm,
            })
        }
    }
}

/// Refusals as shown: (code, explanation with its day, whether a reason in the last step puts it
/// right).
pub fn shown(refusals: &[Refusal]) -> Vec<(&'static str, String, bool)> {
    refusals
        .iter()
        .map(|r| (r.rule.code(), r.explanation(), r.rule.fixed_by_a_reason()))
        .collect()
}

// --- step 5: confirm ---

#[derive(Template)]
#[template(path = "share_confirm.html")]
pub struct ConfirmStep {
    chrome: Chrome,
    s: StepChrome,
    csrf: String,
    court_order: bool,
    without_consent: bool,
    ground: bool,
    /// The texts posted, to show the form again.
    form: FormData,
    refusals: Vec<(&'static str, String, bool)>,
    checked_clear: bool,
    /// The recipient's secure email address ("" when none: the package is downloaded only).
    secure_email: String,
}

impl ConfirmStep {
    fn v(&self, name: &str) -> &str {
        self.form.get(name)
    }

    fn err(&self, id: &str) -> String {
        self.s.err(id)
    }
}

/// The confirmation step for the carried choices, with `form`'s texts shown again.
pub async fn confirm_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    form: FormData,
) -> Result<Option<ConfirmStep>, PageError> {
    let (s, register, _) = start(state, signed, person_id, 5, carried(&form)).await?;
    let Some(r) = recipient_of(&register, &s).map(|r| r.record.clone()) else {
        return Ok(None);
    };
    Ok(Some(ConfirmStep {
        chrome: signed.chrome("/people"),
        court_order: s.v("basis") == LawfulBasis::CourtOrder.code(),
        without_consent: r.consent_required,
        ground: !s.v("ground").is_empty(),
        csrf: signed.csrf().to_owned(),
        s,
        form,
        refusals: Vec::new(),
        checked_clear: false,
        secure_email: r.secure_email.unwrap_or_default(),
    }))
}

impl ConfirmStep {
    pub fn with_errors(mut self, errors: Vec<(String, String)>) -> Self {
        self.s.errors = errors;
        self
    }

    pub fn with_refusals(mut self, refusals: &[Refusal]) -> Self {
        self.checked_clear = refusals.is_empty();
        self.refusals = shown(refusals);
        self
    }
}

pub async fn confirm<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
    Query(query): Query<FormData>,
) -> Result<Response, PageError> {
    match confirm_page(&state, &signed, person_id, FormData(carried(&query))).await? {
        Some(page) => render(&page),
        None => Ok(first_step(person_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::carried_shape;

    #[test]
    fn only_ids_numbers_and_codes_are_carried_into_an_address() {
        assert!(carried_shape(
            "recipient_id",
            "0195f0a2-0000-7000-8000-000000000001"
        ));
        assert!(!carried_shape("recipient_id", "Ada Lovelace"));
        assert!(carried_shape("referral_days", "30"));
        assert!(!carried_shape("referral_days", "thirty days"));
        assert!(carried_shape("basis", "vital_interests"));
        assert!(!carried_shape("basis", "Ada's GP, 07700 900999"));
        assert!(!carried_shape("fields", &"a".repeat(65)));
    }
}
