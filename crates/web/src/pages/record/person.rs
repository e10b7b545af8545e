//! A person's page: their details by field group (only the groups the service collects), photo,
//! related people, cases and the parts of their record; editing one field group; and the correction
//! history. Adding a person is `new_person.rs`.
//!
//! Guarantees:
//! - Labels come from the field catalogue, and a choice is shown by its label, never its code.
//! - Safe contact details are marked on the page as never shared or exported.
//! - A field group the service does not collect has no page (404), and its fields cannot be posted.
//! - After a change that altered something, the page says whom the correction must be told to
//!   (`recipients_to_tell`).

use std::collections::HashMap;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::field::{FieldGroup, FieldSpec, PersonField, RecordKind, ValueKind};
use confidant_core::person::{Person, PersonError, PersonHeading, PersonInput, RecordView};
use confidant_core::record::Need;
use confidant_core::sharing::ToTell;
use confidant_core::store::{EntryStatus, Relationship, Store};
use confidant_core::{Clock, Purpose};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::page::{Path, Query};
use crate::pages::form::FormData;
use crate::pages::form::{
    FormField, FormPage, catalogue_control, label_of, labelled_errors, posted_value, refill,
};
use crate::pages::{Chrome, PageError, Signed, St, date, date_time, render, render_status};
use crate::pages::{TrainedForm, TrainedStaff};

/// A value as shown: a choice by its label; anything else as stored.
pub fn shown(spec: &FieldSpec, value: &str) -> String {
    match spec.kind {
        ValueKind::Choice(options) => options
            .iter()
            .find(|(code, _)| *code == value)
            .map_or_else(|| value.to_owned(), |(_, label)| (*label).to_owned()),
        _ => value.to_owned(),
    }
}

/// The name of a person, as a heading.
pub fn full_name(person: &Person) -> String {
    format!(
        "{} {}",
        person.get(PersonField::GivenName).unwrap_or_default(),
        person.get(PersonField::FamilyName).unwrap_or_default()
    )
}

/// What a kind of record is called on the pages.
pub fn kind_label(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Person => "Person's details",
        RecordKind::Related => "Related person",
        RecordKind::Referral => "Referral",
        RecordKind::Note => "Case note",
        RecordKind::Plan => "Support plan",
        RecordKind::Goal => "Goal",
        RecordKind::Appointment => "Appointment",
        RecordKind::PaperNote => "Paper note",
        RecordKind::PaperFile => "Archived paper file",
        RecordKind::Document => "Document",
    }
}

/// Who did something, by their name (display name, else handle) when they are a colleague, else
/// as recorded.
pub fn who(handles: &HashMap<Uuid, String>, audit_id: &str) -> String {
    Uuid::parse_str(audit_id)
        .ok()
        .and_then(|id| handles.get(&id).cloned())
        .unwrap_or_else(|| audit_id.to_owned())
}

/// Whether a page of the record offers an action that needs `need`: decided by the policy for
/// this record, recorded nowhere (the action is checked and audited when it is taken).
pub async fn offers<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    need: Need,
) -> Result<bool, PageError> {
    Ok(state
        .confidant
        .may_need(signed.actor(), person_id, need)
        .await?)
}

/// A person's record, read for a page: refused and missing answer the same 404.
/// Checks that the actor may do what the page or form needs of the record, before anything of it
/// is read or parsed (a refusal is audited and answers 404).
pub async fn check<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    need: Need,
) -> Result<(), PageError> {
    Ok(state
        .confidant
        .check_need(signed.actor(), Purpose::Support, person_id, need)
        .await?)
}

/// What the page needs of the record is checked first, so a page the actor may not use reads
/// nothing (not even the name for its caption).
pub async fn read<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    need: Need,
) -> Result<Person, PageError> {
    check(state, signed, person_id, need).await?;
    Ok(state
        .confidant
        .read_person(signed.actor(), Purpose::Support, person_id)
        .await?)
}

/// Only the person's name, for a page's heading, after the same check as [`read`]: nothing else of
/// the record is opened.
pub async fn read_name<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    need: Need,
) -> Result<PersonHeading, PageError> {
    check(state, signed, person_id, need).await?;
    Ok(state
        .confidant
        .person_name(signed.actor(), Purpose::Support, person_id)
        .await?)
}

fn action_label(code: &str) -> &str {
    match code {
        "person.read" => "Viewed the record",
        "person.update" => "Changed the record",
        "person.create" => "Created the record",
        "person.assign" => "Changed the team or key worker",
        "person.break_glass" => "Broke the glass",
        "person.shred" => "Erased the record",
        "audit.read" => "Viewed who has seen the record",
        "break_glass.review" => "Reviewed a break-glass access",
        "access.grant" => "Granted access",
        "person.merge_in" => "Merged a duplicate record into this one",
        "person.merge_out" => "Merged this record into another",
        "person.merge_read" => "Read to merge records",
        other => other,
    }
}

/// One field group as shown.
pub struct GroupView {
    pub code: &'static str,
    pub label: &'static str,
    pub safe: bool,
    pub rows: Vec<(&'static str, String)>,
}

pub struct RelatedView {
    pub id: String,
    pub name: String,
    pub relationship: &'static str,
    pub perpetrator: bool,
    pub rows: Vec<(&'static str, String)>,
    pub linked: String,
}

pub struct CaseView {
    pub id: String,
    pub opened: String,
    pub key_worker: String,
    pub open: bool,
    pub closed: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    section: &'static str,
    name: String,
    banner: Option<(String, String)>,
    /// Offers changes to the record (photo, related people, cases).
    can_change: bool,
    /// Offers changes to the person's own fields (a processor's worker: those referred).
    can_change_fields: bool,
    /// Offers putting the person in a team and giving them a key worker (the service's managers).
    can_assign: bool,
    /// Offers the record's legal holds (the Data Protection Officer and the Caldicott Guardian).
    can_hold: bool,
    photo_enabled: bool,
    has_photo: bool,
    groups: Vec<GroupView>,
    related: Vec<RelatedView>,
    cases: Vec<CaseView>,
    counts: Vec<(&'static str, &'static str, usize)>,
    record_number: i64,
    created: String,
    updated: String,
    history: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "person_not_found.html")]
struct PersonNotFoundPage {
    chrome: Chrome,
    id: String,
    can_break_glass: bool,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    /// The field group just changed (a code, never a value).
    changed: Option<String>,
}

/// The sentence that says whom a correction must be told to.
pub fn recipients_sentence(recipients: &[confidant_core::store::RecipientRecord]) -> String {
    if recipients.is_empty() {
        "The disclosure log shows these details were not shared with any recipient, so no one needs to be told."
            .to_owned()
    } else {
        let names: Vec<&str> = recipients.iter().map(|r| r.name.as_str()).collect();
        format!(
            "These details were shared with {}: tell each of them about the correction (Article 19).",
            names.join(", ")
        )
    }
}

/// How many of the latest accesses the overview lists.
const HISTORY_SHOWN: u32 = 20;

pub async fn show<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let actor = signed.actor();
    let overview = match state
        .confidant
        .person_overview(actor, Purpose::Support, person_id, HISTORY_SHOWN)
        .await
    {
        Ok(o) => o,
        Err(PersonError::NotFound) => {
            // A record merged into another says where it went (to those who may read that one).
            if let Some(page) =
                crate::pages::record::merge::merged_page(&state, &signed, person_id).await?
            {
                return Ok(page);
            }
            return render_status(
                StatusCode::NOT_FOUND,
                &PersonNotFoundPage {
                    chrome: signed.chrome("/people"),
                    id: person_id.to_string(),
                    can_break_glass: crate::pages::can_break_glass(signed.staff().role),
                },
            );
        }
        Err(e) => return Err(e.into()),
    };
    let person = &overview.person;
    let c = &state.confidant;
    let purpose = Purpose::Support;
    let config = c.service_config(person.service_id).await?;
    let handles = c.colleague_names(actor).await?;

    let mut groups = Vec::new();
    for group in config.field_groups.iter() {
        // The photo has its own section; children are recorded as related people.
        if matches!(group, FieldGroup::Photo | FieldGroup::Children) {
            continue;
        }
        let rows: Vec<_> = PersonField::of_group(group)
            .filter(|f| f.spec().kind != ValueKind::Document && person.shows(*f))
            .map(|f| {
                let spec = f.spec();
                (
                    spec.label,
                    person
                        .get(f)
                        .map_or_else(|| "Not recorded".to_owned(), |v| shown(&spec, v)),
                )
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        groups.push(GroupView {
            code: group.code(),
            label: group.label(),
            safe: group == FieldGroup::SafeContact,
            rows,
        });
    }

    // A processor's worker sees only what their referrals sent: the fields above and the entries
    // sent. The rest of the record is not theirs to see, not even its counts.
    let whole = person.view == RecordView::Whole;
    let banner = match query.changed.as_deref().and_then(FieldGroup::from_code) {
        // The disclosure log is not a processor's to see: the service that referred the record
        // tells its recipients.
        Some(group) if !whole => Some((
            format!("{} saved", group.label()),
            "The service that referred this record keeps its disclosure log and tells anyone it was shared with.".to_owned(),
        )),
        Some(group) => {
            let codes: Vec<&str> = PersonField::of_group(group).map(|f| f.code()).collect();
            let recipients = c
                .recipients_to_tell(actor, purpose, person_id, ToTell::Correction(&codes))
                .await?;
            Some((
                format!("{} saved", group.label()),
                recipients_sentence(&recipients),
            ))
        }
        None => None,
    };
    let related = overview
        .related
        .into_iter()
        .map(|r| {
            let name = [r.values.get("given_name"), r.values.get("family_name")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let rows = confidant_core::field::record_fields(RecordKind::Related)
                .filter(|f| !matches!(f.code, "given_name" | "family_name"))
                .filter_map(|f| r.values.get(f.code).map(|v| (f.label, v.to_owned())))
                .collect();
            RelatedView {
                id: r.id.to_string(),
                name,
                relationship: r.relationship.label(),
                perpetrator: r.relationship == Relationship::AllegedPerpetrator,
                rows,
                // No way into an alleged perpetrator's own record from the victim's: even a
                // refused attempt would show in their record's access history.
                linked: r
                    .linked_person_id
                    .filter(|_| r.relationship != Relationship::AllegedPerpetrator)
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
            }
        })
        .collect();

    let cases = overview
        .cases
        .into_iter()
        .map(|case| CaseView {
            id: case.id.to_string(),
            opened: date(case.opened_at),
            key_worker: case
                .key_worker_id
                .map(|k| who(&handles, &k.to_string()))
                .unwrap_or_else(|| "None".to_owned()),
            open: case.closed_at.is_none(),
            closed: case.closed_at.map(date).unwrap_or_default(),
            reason: case
                .closure_reason
                .map(|r| r.label().to_owned())
                .unwrap_or_default(),
        })
        .collect();

    let held = &overview.entry_counts;
    let count = |kinds: &[RecordKind]| -> usize {
        kinds
            .iter()
            .map(|k| held.get(k).copied().unwrap_or(0))
            .sum()
    };
    let documents = &overview.documents;
    let has_photo = documents.iter().any(|d| d.is_photo);
    let counts = vec![
        ("notes", "Case notes", count(&[RecordKind::Note])),
        ("plans", "Support plans", count(&[RecordKind::Plan])),
        (
            "appointments",
            "Appointments",
            count(&[RecordKind::Appointment]),
        ),
        (
            "paper",
            "Paper records",
            count(&[RecordKind::PaperNote, RecordKind::PaperFile]),
        ),
        (
            "documents",
            "Documents",
            documents.iter().filter(|d| !d.is_photo).count(),
        ),
    ];

    let history = overview
        .history
        .iter()
        .map(|e| {
            let mut what = action_label(&e.action).to_owned();
            if e.purpose == Purpose::BreakGlass.code() {
                what.push_str(" (break the glass)");
            }
            if e.outcome != "ok" {
                what.push_str(" (refused)");
            }
            vec![date_time(e.at()), who(&handles, &e.actor), what]
        })
        .collect();

    let can_assign = offers(&state, &signed, person_id, Need::Assign).await?;
    let can_hold = matches!(
        signed.staff().role,
        confidant_core::Role::DataProtectionOfficer | confidant_core::Role::CaldicottGuardian
    );
    render(&PersonPage {
        can_assign,
        can_hold,
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        section: "overview",
        name: full_name(person),
        banner,
        can_change: overview.may_change,
        can_change_fields: overview.may_change_referred,
        photo_enabled: config.field_groups.contains(FieldGroup::Photo),
        has_photo,
        groups,
        related,
        cases,
        counts,
        record_number: person.record_number,
        created: date_time(person.created_at),
        updated: date_time(person.updated_at),
        history,
    })
}

/// The controls of a field group, with the stored values (of an existing record, only the fields
/// its reader sees).
pub(super) fn group_fields(group: FieldGroup, person: Option<&Person>) -> Vec<FormField> {
    PersonField::of_group(group)
        .filter(|f| person.is_none_or(|p| p.shows(*f)))
        .filter_map(|f| {
            let required = matches!(f, PersonField::GivenName | PersonField::FamilyName);
            let value = person.and_then(|p| p.get(f)).unwrap_or_default();
            catalogue_control(&f.spec(), value, required)
        })
        .collect()
}

const SAFE_CONTACT_WARNING: &str = "Safe contact details are never shared or exported. Use them only to contact the person safely.";

fn edit_page(
    signed: &Signed,
    person_id: Uuid,
    name: &str,
    group: FieldGroup,
    fields: Vec<FormField>,
    errors: Vec<(String, String)>,
) -> FormPage {
    let page = FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        group.label(),
        format!("/people/{person_id}/edit/{}", group.code()),
        fields,
        errors,
    )
    .caption(name)
    .back(format!("/people/{person_id}"))
    .intro("Leave a field empty to remove what is recorded.")
    .submit("Save changes");
    if group == FieldGroup::SafeContact {
        page.warning(SAFE_CONTACT_WARNING)
    } else {
        page
    }
}

/// The field group of an edit page, if the person's service collects it and it has fields to edit.
async fn editable_group<S: Store, C: Clock>(
    state: &St<S, C>,
    person: &Person,
    code: &str,
) -> Result<FieldGroup, PageError> {
    let group = FieldGroup::from_code(code).ok_or(PageError::NotFound)?;
    let groups = state
        .confidant
        .service_config(person.service_id)
        .await?
        .field_groups;
    if !groups.contains(group) || matches!(group, FieldGroup::Photo | FieldGroup::Children) {
        return Err(PageError::NotFound);
    }
    Ok(group)
}

pub async fn edit_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, group)): Path<(Uuid, String)>,
) -> Result<Response, PageError> {
    let person = read(&state, &signed, person_id, Need::ChangeReferred).await?;
    let group = editable_group(&state, &person, &group).await?;
    let fields = group_fields(group, Some(&person));
    if fields.is_empty() {
        return Err(PageError::NotFound);
    }
    render(&edit_page(
        &signed,
        person_id,
        &full_name(&person),
        group,
        fields,
        Vec::new(),
    ))
}

pub async fn edit_submit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, group)): Path<(Uuid, String)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let before = read(&state, &signed, person_id, Need::ChangeReferred).await?;
    let group = editable_group(&state, &before, &group).await?;
    let mut fields = group_fields(group, Some(&before));
    if fields.is_empty() {
        return Err(PageError::NotFound);
    }
    let mut input = PersonInput::new();
    for field in &fields {
        input.set_code(&field.name, posted_value(field, &form));
    }
    match state
        .confidant
        .update_person(signed.actor(), Purpose::Support, person_id, &input)
        .await
    {
        Ok(after) => {
            let changed = PersonField::of_group(group).any(|f| before.get(f) != after.get(f));
            let to = if changed {
                format!("/people/{person_id}?changed={}", group.code())
            } else {
                format!("/people/{person_id}")
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(PersonError::Invalid(v)) => {
            refill(&mut fields, &form);
            let errors = labelled_errors(&v, |c| label_of(None, c));
            render_status(
                StatusCode::BAD_REQUEST,
                &edit_page(
                    &signed,
                    person_id,
                    &full_name(&before),
                    group,
                    fields,
                    errors,
                ),
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    chrome: Chrome,
    id: String,
    section: &'static str,
    name: String,
    rows: Vec<Vec<String>>,
    /// Records merged into this one: (when, record number, by whom, how checked, what moved).
    merges: Vec<Vec<String>>,
}

/// The correction history: every earlier value of the person's fields and entries, newest first.
pub async fn history<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let person = read_name(&state, &signed, person_id, Need::Read).await?;
    let c = &state.confidant;
    let actor = signed.actor();
    let corrections = c.corrections(actor, Purpose::Support, person_id).await?;
    let kinds: HashMap<Uuid, RecordKind> = c
        .entries(actor, Purpose::Support, person_id, &[])
        .await?
        .into_iter()
        .map(|e| (e.id, e.kind))
        .collect();
    let handles = c.colleague_names(actor).await?;
    let rows = corrections
        .iter()
        .rev()
        .map(|k| {
            let place = if k.record_id == person_id {
                kind_label(RecordKind::Person)
            } else {
                kinds
                    .get(&k.record_id)
                    .map_or("Record entry", |kind| kind_label(*kind))
            };
            let old_value = match PersonField::from_code(&k.field) {
                Some(f) if k.record_id == person_id => shown(&f.spec(), &k.old_value),
                _ => k.old_value.clone(),
            };
            vec![
                date_time(k.changed_at),
                place.to_owned(),
                k.label.to_owned(),
                old_value,
                who(&handles, &k.changed_by),
            ]
        })
        .collect();
    let merges = c
        .merges_into(actor, Purpose::Support, person_id)
        .await?
        .into_iter()
        .map(|m| {
            let moved = crate::pages::record::merge::moved_lines(&m.moved);
            vec![
                date_time(crate::pages::sharing::consent::at(m.merged_at_micros)),
                format!("Record {}", m.merged_number),
                who(&handles, &m.merged_by),
                m.confirmed_how.label().to_owned(),
                if moved.is_empty() {
                    "Only the person's details".to_owned()
                } else {
                    moved.join(", ")
                },
            ]
        })
        .collect();
    render(&HistoryPage {
        chrome: signed.chrome("/people"),
        id: person_id.to_string(),
        section: "history",
        name: person.full(),
        rows,
        merges,
    })
}

/// Entry statuses offered as buttons: every status of the kind but the current one.
pub fn other_statuses(kind: RecordKind, current: Option<EntryStatus>) -> Vec<(String, String)> {
    EntryStatus::of_kind(kind)
        .iter()
        .filter(|s| Some(**s) != current)
        .map(|s| (s.code().to_owned(), s.label().to_owned()))
        .collect()
}
