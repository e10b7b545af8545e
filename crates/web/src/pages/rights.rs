//! Rights requests on pages: logging one from a person's record (and seeing those logged about
//! them), the requests of the services the viewer sees them in, and one request with its clock and
//! the form that moves it on. Records are shown by id; who asked on the person's behalf is named
//! only to those who may read the record.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::person::PersonError;
use confidant_core::record::Need;
use confidant_core::rights::{RefusalGround, RequestInput, StepInput};
use confidant_core::store::{
    Authority, Channel, ExtensionReason, IdentityCheck, RequestState, RequestStep, RightKind,
    RightsRequestRecord, Store,
};
use confidant_core::uk_time::{day_text, iso_day};
use confidant_core::{Action, Clock, Labelled, Purpose, Resource};
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::page::Path;
use crate::http::routing::{Routes, get, post};
use crate::pages::form::{FormData, FormField, attach_errors, control_id, refill};
use crate::pages::record::person::{offers, who};
use crate::pages::sharing::consent::at as from_micros;
use crate::pages::{Chrome, PageError, Signed, St, TrainedForm, TrainedStaff, date_time, render};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route(
            "/people/{person_id}/rights",
            get(person_page::<S, C>).post(log::<S, C>),
        )
        .route("/rights", get(list_page::<S, C>))
        .route("/rights/{request_id}", get(request_page::<S, C>))
        .route("/rights/{request_id}/steps", post(step::<S, C>))
}

fn options<T: Labelled>() -> Vec<(String, String)> {
    T::ALL
        .iter()
        .map(|v| (v.code().to_owned(), v.label().to_owned()))
        .collect()
}

/// The form's choice of "the person themselves" for who asked.
const THEMSELVES: &str = "themselves";
/// The form's choice of "not confirmed yet" for how identity was confirmed.
const AWAITED: &str = "awaited";

/// A stored `YYYY-MM-DD` day as people read it, or "" for none.
fn day(text: Option<&str>) -> String {
    text.and_then(iso_day).map(day_text).unwrap_or_default()
}

/// One request in a list.
struct Line {
    href: String,
    person: String,
    kind: &'static str,
    received: String,
    state: &'static str,
    due: String,
    safety: bool,
}

fn line(r: &RightsRequestRecord, linked: bool) -> Line {
    Line {
        href: if linked {
            format!("/rights/{}", r.id)
        } else {
            String::new()
        },
        person: r.person_id.to_string(),
        kind: r.kind.label(),
        received: day(Some(&r.received_on)),
        state: r.state.label(),
        due: match r.state {
            RequestState::AwaitingIdentity => "When identity is confirmed".to_owned(),
            _ => day(r.due_on.as_deref()),
        },
        // Marked only for those who handle the request: the mark says someone is named as an
        // alleged perpetrator somewhere, which the record's other readers need not learn.
        safety: r.safety_review && linked,
    }
}

/// The form's errors in its own words, by control.
fn said(v: Vec<confidant_core::person::Violation>, detail_field: &str) -> Vec<(String, String)> {
    v.into_iter()
        .map(|e| {
            let field = if e.field == "detail" {
                detail_field.to_owned()
            } else {
                e.field.to_owned()
            };
            let message = match e.field {
                "kind" => "Choose what the request asks for".to_owned(),
                "channel" => "Choose how the request arrived".to_owned(),
                "step" if e.message.starts_with("is not") => "Choose what happened".to_owned(),
                "received_on" => format!("The day it was received {}", e.message),
                "on" => format!("The day {}", e.message),
                "representative_id" => format!("Who asked {}", e.message),
                "authority" => format!("The authority {}", e.message),
                "identity_check" => "Choose how identity was confirmed".to_owned(),
                "detail" => format!("Please {}", e.message),
                _ => e.message,
            };
            (control_id(&field), message)
        })
        .collect()
}

#[derive(Template)]
#[template(path = "rights_person.html")]
struct PersonPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    requests: Vec<Line>,
    fields: Vec<FormField>,
    errors: Vec<(String, String)>,
}

async fn person_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
) -> Result<PersonPage, PageError> {
    let c = &state.confidant;
    let actor = signed.actor();
    let requests = c.rights_requests_about(actor, person_id).await?;
    let org = signed.staff().organisation_id;
    let reads = |service_id| {
        c.allows(
            actor,
            Action::RightsRead,
            Resource::Service {
                id: service_id,
                organisation_id: org,
            },
        )
    };
    // Who may ask on the person's behalf: the record's related people, named only to those who
    // may read the record.
    let mut who_asked = vec![(THEMSELVES.to_owned(), "The person themselves".to_owned())];
    if offers(state, signed, person_id, Need::Read).await? {
        for r in c.related_people(actor, Purpose::Support, person_id).await? {
            let name = [r.values.get("given_name"), r.values.get("family_name")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            who_asked.push((
                r.id.to_string(),
                format!("{name} ({})", r.relationship.label()),
            ));
        }
    }
    let mut identity = options::<IdentityCheck>();
    identity.push((
        AWAITED.to_owned(),
        "Not confirmed yet: ask for proof of identity (the clock starts when it arrives)"
            .to_owned(),
    ));
    let today = crate::pages::uk_today(c.clock().now()).to_string();
    Ok(PersonPage {
        chrome: signed.chrome(""),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        requests: requests
            .iter()
            .map(|r| line(r, reads(r.service_id)))
            .collect(),
        fields: vec![
            FormField::radios("kind", "What the request asks for", options::<RightKind>())
                .hint("A request may be made in any words, to anyone, without naming the law."),
            FormField::radios("channel", "How it arrived", options::<Channel>()),
            FormField::date("received_on", "The day it was received", &today)
                .hint("Day one of the month the law allows, for example 3 9 2026."),
            FormField::radios("representative_id", "Who asked", who_asked).hint(
                "Someone asking on the person's behalf is one of the record's related people: add them first.",
            ),
            FormField::radios(
                "authority",
                "On what authority (when someone asks on the person's behalf)",
                options::<Authority>(),
            ),
            FormField::radios("identity_check", "How identity was confirmed", identity)
                .hint("Ask for proof only when identity is not already clear."),
        ],
        errors: Vec::new(),
    })
}

pub async fn person_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&person_view(&state, &signed, person_id).await?)
}

pub async fn log<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let received_on = form.date("received_on");
    let representative_id = match form.get("representative_id").trim() {
        "" | THEMSELVES => None,
        id => Some(Uuid::parse_str(id).unwrap_or_default()),
    };
    let identity_check = match form.get("identity_check").trim() {
        AWAITED => "",
        check => check,
    };
    let input = RequestInput {
        kind: form.get("kind"),
        channel: form.get("channel"),
        received_on: &received_on,
        representative_id,
        authority: Some(form.get("authority")),
        identity_check: Some(identity_check),
    };
    let c = &state.confidant;
    match c.log_rights_request(signed.actor(), person_id, input).await {
        Ok(request) => {
            let readable = c.allows(
                signed.actor(),
                Action::RightsRead,
                Resource::Service {
                    id: request.service_id,
                    organisation_id: request.organisation_id,
                },
            );
            let to = if readable {
                format!("/rights/{}", request.id)
            } else {
                format!("/people/{person_id}/rights")
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(PersonError::Invalid(v)) => {
            let mut page = person_view(&state, &signed, person_id).await?;
            let errors = said(v.0, "detail");
            refill(&mut page.fields, &form);
            attach_errors(&mut page.fields, &errors);
            page.errors = errors;
            crate::pages::render_status(StatusCode::BAD_REQUEST, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "rights.html")]
struct ListPage {
    chrome: Chrome,
    open: Vec<Line>,
    closed: Vec<Line>,
}

impl ListPage {
    /// The two tables: (caption, id, what is said when empty, lines).
    fn tables(&self) -> [(&'static str, &'static str, &'static str, &[Line]); 2] {
        [
            (
                "Open, soonest due first",
                "open",
                "No request is open.",
                &self.open,
            ),
            (
                "Closed lately",
                "closed",
                "No request has been closed yet.",
                &self.closed,
            ),
        ]
    }
}

pub async fn list_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
) -> Result<Response, PageError> {
    let list = match state
        .confidant
        .rights_requests(signed.actor(), signed.staff().organisation_id)
        .await
    {
        Err(PersonError::NotFound) => {
            return Err(PageError::Forbidden(
                "Only the Data Protection Officer, the Caldicott Guardian and a service's manager see rights requests.",
            ));
        }
        other => other?,
    };
    let (open, closed): (Vec<_>, Vec<_>) = list.iter().partition(|r| r.state.is_open());
    render(&ListPage {
        chrome: signed.chrome("/rights"),
        open: open.into_iter().map(|r| line(r, true)).collect(),
        closed: closed.into_iter().map(|r| line(r, true)).collect(),
    })
}

#[derive(Template)]
#[template(path = "rights_request.html")]
struct RequestPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    person: String,
    facts: Vec<(&'static str, String)>,
    safety: bool,
    due: String,
    due_explained: String,
    /// (on, what, detail, recorded, the letter's path when the step sends one)
    steps: Vec<(String, &'static str, String, String, String)>,
    fields: Vec<FormField>,
    errors: Vec<(String, String)>,
    /// An access request: its copy and the review of it has a page.
    bundle: bool,
    /// An open request for erasure, for those who answer it: it is decided on a page.
    erasure: bool,
    /// Some step has a letter to show.
    letters: bool,
}

async fn request_view<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    request_id: Uuid,
) -> Result<RequestPage, PageError> {
    let c = &state.confidant;
    let actor = signed.actor();
    let view = c
        .rights_request(actor, signed.staff().organisation_id, request_id)
        .await?;
    let names = c.colleague_names(actor).await?;
    let r = &view.request;
    let manages = c.allows(
        actor,
        Action::RightsManage,
        Resource::Service {
            id: r.service_id,
            organisation_id: r.organisation_id,
        },
    );
    let mut facts = vec![
        ("Reference", confidant_core::rights::reference(r.id)),
        ("Asks for", r.kind.label().to_owned()),
        ("Where it stands", r.state.label().to_owned()),
        ("Received", day(Some(&r.received_on))),
        ("How it arrived", r.channel.label().to_owned()),
        (
            "Who asked",
            match (r.representative_id, r.authority) {
                (None, _) => "The person themselves".to_owned(),
                (Some(_), Some(a)) => format!("Someone on their behalf: {}", a.label()),
                (Some(_), None) => "Someone on their behalf".to_owned(),
            },
        ),
        (
            "Identity",
            match (r.identity_check, r.kind) {
                (Some(check), _) => check.label(),
                (None, RightKind::Complaint) => "Not needed to acknowledge a complaint",
                (None, _) => "Not confirmed yet",
            }
            .to_owned(),
        ),
        ("Day one", day(r.start_on.as_deref())),
    ];
    if r.stopped_days > 0 || r.stopped_on.is_some() {
        let mut text = format!("{} days", r.stopped_days);
        if let Some(since) = &r.stopped_on {
            text.push_str(&format!(
                ", and stopped since {}: the due date moves on by each day until the clarification arrives",
                day(Some(since))
            ));
        }
        facts.push(("Clock stopped", text));
    }
    if let (Some(on), Some(reason)) = (&r.extended_on, r.extension_reason) {
        facts.push((
            "Extended",
            format!("On {}: {}", day(Some(on)), reason.label()),
        ));
    }
    if let Some(on) = &r.acknowledged_on {
        facts.push(("Acknowledged", day(Some(on))));
    }
    if let Some(closed) = &r.closed_on {
        facts.push(("Closed", day(Some(closed))));
    }
    let steps: Vec<(String, &str, String, String, String)> = view
        .steps
        .iter()
        .map(|s| {
            let detail = s
                .detail
                .as_deref()
                .map(|d| detail_label(s.step, d))
                .unwrap_or_default();
            // The letters, for those who answer the request, where PDFs are built in.
            let today = crate::pages::uk_today(c.clock().now());
            let sends = confidant_core::rights::letter(r, s, "", (today, None, false)).is_some();
            let letter = if manages && cfg!(feature = "pdf") && sends {
                format!("/rights/{}/steps/{}/letter.pdf", r.id, s.id)
            } else {
                String::new()
            };
            (
                day(Some(&s.on_day)),
                s.step.label(),
                detail,
                format!(
                    "{} by {}",
                    date_time(from_micros(s.at_micros)),
                    who(&names, &s.by)
                ),
                letter,
            )
        })
        .collect();
    let letters = steps.iter().any(|(_, _, _, _, letter)| !letter.is_empty());
    let fields = match (manages && r.state.is_open(), r.kind) {
        (false, _) => Vec::new(),
        (true, RightKind::Complaint) => {
            complaint_fields(r.acknowledged_on.is_none(), c.clock().now())
        }
        (true, kind) => step_fields(kind, r.state, view.extend_until, c.clock().now()),
    };
    Ok(RequestPage {
        chrome: signed.chrome("/rights"),
        csrf: signed.csrf().to_owned(),
        id: r.id.to_string(),
        person: r.person_id.to_string(),
        facts,
        safety: r.safety_review,
        due: match (r.state, view.due) {
            (RequestState::AwaitingIdentity, _) => {
                "Not yet: the clock starts when identity is confirmed".to_owned()
            }
            (_, Some(d)) => day_text(d.date),
            (_, None) if view.calendar_gap.is_some() => "Not known".to_owned(),
            (RequestState::Open, None) if r.kind == RightKind::Complaint => {
                "Without undue delay: tell the outcome, with the right to complain to the ICO"
                    .to_owned()
            }
            (_, None) => String::new(),
        },
        due_explained: view
            .due
            .map(|d| d.explained())
            .or(view.calendar_gap)
            .unwrap_or_default(),
        steps,
        fields,
        errors: Vec::new(),
        bundle: r.kind == RightKind::Access,
        erasure: manages && r.kind == RightKind::Erasure && r.state == RequestState::Open,
        letters,
    })
}

/// A step's detail code as people read it.
fn detail_label(step: RequestStep, code: &str) -> String {
    let label = match step {
        RequestStep::IdentityConfirmed => IdentityCheck::from_code(code).map(|c| c.label()),
        RequestStep::Extended => ExtensionReason::from_code(code).map(|c| c.label()),
        RequestStep::Refused => match RefusalGround::from_code(code) {
            Some(g) => Some(g.label()),
            None => return confidant_core::rights::refusal_text(code).unwrap_or(code.to_owned()),
        },
        RequestStep::Logged => RightKind::from_code(code).map(|c| c.label()),
        _ => None,
    };
    label.unwrap_or(code).to_owned()
}

/// The form's controls for the steps of a complaint: acknowledged (within 30 days), then its
/// outcome told, or withdrawn.
fn complaint_fields(unacknowledged: bool, now: time::OffsetDateTime) -> Vec<FormField> {
    let mut next = Vec::new();
    if unacknowledged {
        next.push((
            RequestStep::Acknowledged.code().to_owned(),
            RequestStep::Acknowledged.label().to_owned(),
        ));
    }
    next.push((
        RequestStep::Answered.code().to_owned(),
        "Outcome told, with the right to complain to the Information Commissioner".to_owned(),
    ));
    next.push((
        RequestStep::Withdrawn.code().to_owned(),
        RequestStep::Withdrawn.label().to_owned(),
    ));
    let today = crate::pages::uk_today(now).to_string();
    vec![
        FormField::radios("step", "What happened", next),
        FormField::date("on", "On", &today),
    ]
}

/// The form's controls for the steps a request may take where it stands.
fn step_fields(
    kind: RightKind,
    state: RequestState,
    extend_until: Option<time::Date>,
    now: time::OffsetDateTime,
) -> Vec<FormField> {
    let mut next = Vec::new();
    match state {
        RequestState::AwaitingIdentity => next.push(RequestStep::IdentityConfirmed),
        RequestState::Open => next.push(RequestStep::ClockStopped),
        RequestState::Stopped => next.push(RequestStep::ClockResumed),
        _ => {}
    }
    if extend_until.is_some() && state != RequestState::AwaitingIdentity {
        next.push(RequestStep::Extended);
    }
    // An erasure is answered by erasing, on its own page.
    if kind != RightKind::Erasure {
        next.push(RequestStep::Answered);
    }
    next.extend([RequestStep::Refused, RequestStep::Withdrawn]);
    let today = crate::pages::uk_today(now).to_string();
    let mut fields = vec![
        FormField::radios(
            "step",
            "What happened",
            next.iter()
                .map(|s| (s.code().to_owned(), s.label().to_owned()))
                .collect(),
        ),
        FormField::date("on", "On", &today),
    ];
    if state == RequestState::AwaitingIdentity {
        fields.push(
            FormField::radios(
                "identity_check",
                "How identity was confirmed",
                options::<IdentityCheck>(),
            )
            .hint("When identity is confirmed."),
        );
    }
    if let Some(until) = extend_until.filter(|_| state != RequestState::AwaitingIdentity) {
        fields.push(
            FormField::radios(
                "extension_reason",
                "Why it takes longer",
                options::<ExtensionReason>(),
            )
            .hint(&format!(
                "For an extension, possible until {}: tell the person, with this reason, within the first month.",
                day_text(until)
            )),
        );
    }
    fields.push(
        FormField::radios(
            "refusal_ground",
            "Why it is refused",
            options::<RefusalGround>(),
        )
        .hint("For a refusal: the person is told the reasons in full and of their right to complain to the ICO."),
    );
    fields
}

pub async fn request_page<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(request_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&request_view(&state, &signed, request_id).await?)
}

pub async fn step<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(request_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let on = form.date("on");
    let detail_field = match RequestStep::from_code(form.get("step").trim()) {
        Some(RequestStep::IdentityConfirmed) => "identity_check",
        Some(RequestStep::Extended) => "extension_reason",
        Some(RequestStep::Refused) => "refusal_ground",
        _ => "step",
    };
    let input = StepInput {
        step: form.get("step"),
        on: &on,
        detail: Some(form.get(detail_field)).filter(|_| detail_field != "step"),
    };
    match state
        .confidant
        .step_rights_request(
            signed.actor(),
            signed.staff().organisation_id,
            request_id,
            input,
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/rights/{request_id}")).into_response()),
        Err(PersonError::Invalid(v)) => {
            let mut page = request_view(&state, &signed, request_id).await?;
            let errors = said(v.0, detail_field);
            refill(&mut page.fields, &form);
            attach_errors(&mut page.fields, &errors);
            page.errors = errors;
            crate::pages::render_status(StatusCode::BAD_REQUEST, &page)
        }
        Err(e) => Err(e.into()),
    }
}
