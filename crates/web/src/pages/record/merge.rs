//! Merging a duplicate record into this one, in two steps: the duplicate's record number, then a
//! check showing both records side by side, what moves and what the survivor keeps, with how the
//! manager made sure they are one person; then the merge. The duplicate's id travels in the
//! confirming form's address (an id, nothing about the person). A merged record's own page says
//! where it went ([`merged_page`]).

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::field::PersonField;
use confidant_core::person::{MergePreview, Person, PersonError};
use confidant_core::record::Need;
use confidant_core::store::{MergeConfirmation, MergeCounts, MergeRecord, Store};
use confidant_core::{Clock, Purpose};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::page::{Path, Query};
use crate::pages::form::{FormData, FormField, FormPage, form_error};
use crate::pages::record::person::{read_name, shown, who};
use crate::pages::sharing::consent::at as from_micros;
use crate::pages::{Chrome, PageError, Signed, St, TrainedForm, TrainedStaff, date_time, render};

#[derive(Deserialize, Default)]
pub struct MergeQuery {
    #[serde(default)]
    with: Option<Uuid>,
}

/// What moves, as lines for people ("3 entries"), leaving out what is none.
pub fn moved_lines(counts: &MergeCounts) -> Vec<String> {
    let kinds: [(i64, &str, &str); 14] = [
        (counts.entries, "entry", "entries"),
        (counts.documents, "document", "documents"),
        (counts.cases, "case", "cases"),
        (counts.consents, "consent decision", "consent decisions"),
        (
            counts.restrictions,
            "restriction or objection",
            "restrictions and objections",
        ),
        (counts.disclosures, "disclosure", "disclosures"),
        (counts.approvals, "approval", "approvals"),
        (counts.related_people, "related person", "related people"),
        (counts.referrals, "referral", "referrals"),
        (
            counts.contact_preferences,
            "change of contact preferences",
            "changes of contact preferences",
        ),
        (counts.messages, "message", "messages"),
        (counts.grants, "access grant", "access grants"),
        (counts.tasks, "task", "tasks"),
        (counts.earlier_values, "earlier value", "earlier values"),
    ];
    kinds
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect()
}

async fn number_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
) -> Result<FormPage, PageError> {
    let person = read_name(state, signed, person_id, Need::Assign).await?;
    Ok(FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Merge a duplicate record into this one",
        format!("/people/{person_id}/merge"),
        vec![
            FormField::input("record_number", "Record number of the duplicate")
                .hint("Shown on their record. It must be another record of this service, one you may change.")
                .inputmode("numeric")
                .classes("govuk-input--width-10"),
        ],
        Vec::new(),
    )
    .caption(person.full())
    .back(format!("/people/{person_id}"))
    .intro(format!(
        "Use this when {} has been recorded twice. This record is kept; everything in the duplicate moves into it. You will see both records side by side before anything changes.",
        person.full()
    ))
    .submit("Continue"))
}

pub async fn merge_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&number_page(&state, &signed, person_id).await?)
}

#[derive(Template)]
#[template(path = "merge_check.html")]
struct CheckPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    with: String,
    name: String,
    kept_number: i64,
    merged_number: i64,
    /// (label, this record's value, the duplicate's value, what happens).
    rows: Vec<(&'static str, String, String, &'static str)>,
    moved: Vec<String>,
    both_open: bool,
    breaks_links: bool,
    photo_becomes_document: bool,
    /// The "same person" box, ticked when the page comes back with errors.
    ticked: bool,
    /// (code, label, checked).
    how: Vec<(&'static str, &'static str, bool)>,
    errors: Vec<(String, String)>,
}

form_errors!(CheckPage);

fn value_of(person: &Person, field: PersonField) -> String {
    person
        .get(field)
        .map_or_else(|| "Not recorded".to_owned(), |v| shown(&field.spec(), v))
}

fn check_page(
    signed: &Signed,
    preview: &MergePreview,
    form: Option<&FormData>,
    errors: Vec<(String, String)>,
) -> CheckPage {
    let (kept, merged) = (&preview.surviving, &preview.merged);
    let shown_fields = [
        PersonField::GivenName,
        PersonField::FamilyName,
        PersonField::DateOfBirth,
        PersonField::NhsNumber,
        PersonField::NiNumber,
        PersonField::Postcode,
    ];
    let mut fields: Vec<PersonField> = shown_fields.to_vec();
    for f in preview.filled.iter().chain(&preview.differing) {
        if !fields.contains(f) {
            fields.push(*f);
        }
    }
    let rows = fields
        .into_iter()
        .filter(|f| kept.get(*f).is_some() || merged.get(*f).is_some())
        .map(|f| {
            let happens = if preview.filled.contains(&f) {
                "Taken from the duplicate"
            } else if preview.differing.contains(&f) {
                "This record's kept; the duplicate's goes to the history"
            } else if merged.get(f).is_none() {
                "Only on this record: kept"
            } else {
                "The same on both"
            };
            (
                f.spec().label,
                value_of(kept, f),
                value_of(merged, f),
                happens,
            )
        })
        .collect();
    let chosen = form.map(|f| f.get("how")).unwrap_or_default();
    CheckPage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: kept.id.to_string(),
        with: merged.id.to_string(),
        name: format!(
            "{} {}",
            kept.get(PersonField::GivenName).unwrap_or_default(),
            kept.get(PersonField::FamilyName).unwrap_or_default()
        )
        .trim()
        .to_owned(),
        kept_number: kept.record_number,
        merged_number: merged.record_number,
        rows,
        moved: moved_lines(&preview.moved),
        both_open: preview.both_open,
        breaks_links: preview.breaks_links,
        ticked: form.is_some_and(|f| f.ticked("checked")),
        photo_becomes_document: preview.photo_becomes_document,
        how: MergeConfirmation::ALL
            .iter()
            .map(|h| (h.code(), h.label(), h.code() == chosen))
            .collect(),
        errors,
    }
}

pub async fn merge_submit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    Query(query): Query<MergeQuery>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let c = &state.confidant;
    let actor = signed.actor();
    let Some(with) = query.with else {
        // The first step: the record number, checked, then both records shown.
        let page = number_page(&state, &signed, person_id).await?;
        let Ok(number) = form.get("record_number").trim().parse::<i64>() else {
            let errors = vec![(
                "record_number".to_owned(),
                "Enter the record number, like 1042".to_owned(),
            )];
            return Ok(form_error(page, &form, errors));
        };
        let with = match c
            .merge_target(actor, Purpose::Support, person_id, number)
            .await
        {
            Ok(with) => with,
            Err(PersonError::Invalid(v)) => {
                let errors =
                    v.0.into_iter()
                        .map(|e| {
                            (
                                "record_number".to_owned(),
                                format!("The record number {}", e.message),
                            )
                        })
                        .collect();
                return Ok(form_error(page, &form, errors));
            }
            Err(e) => return Err(e.into()),
        };
        let preview = c
            .merge_preview(actor, Purpose::Support, person_id, with)
            .await?;
        return render(&check_page(&signed, &preview, None, Vec::new()));
    };
    let how = MergeConfirmation::from_code(form.get("how"));
    if how.is_none() || !form.ticked("checked") {
        let preview = c
            .merge_preview(actor, Purpose::Support, person_id, with)
            .await?;
        let mut errors = Vec::new();
        if how.is_none() {
            errors.push((
                "how".to_owned(),
                "Say how you made sure they are the same person".to_owned(),
            ));
        }
        if !form.ticked("checked") {
            errors.push((
                "checked".to_owned(),
                "Tick to say you checked these records are the same person".to_owned(),
            ));
        }
        let page = check_page(&signed, &preview, Some(&form), errors);
        return crate::pages::render_status(axum::http::StatusCode::BAD_REQUEST, &page);
    }
    let how = how.unwrap_or(MergeConfirmation::WithPerson);
    match c
        .merge_people(actor, Purpose::Support, person_id, with, how)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/people/{person_id}/history")).into_response()),
        Err(PersonError::Invalid(v)) => Err(PageError::Invalid(
            v.0.into_iter()
                .map(|e| (e.field.to_owned(), e.message))
                .collect(),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "merged.html")]
struct MergedPage {
    chrome: Chrome,
    merged_number: i64,
    surviving_id: String,
    surviving_number: i64,
    when: String,
    by: String,
    how: &'static str,
    moved: Vec<String>,
}

/// The page of a record merged into another: where it went, when, by whom and how it was checked,
/// for those who may read the record it went into (anyone else: not found).
pub async fn merged_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    merged_id: Uuid,
) -> Result<Option<Response>, PageError> {
    let c = &state.confidant;
    let actor = signed.actor();
    let merge: MergeRecord = match c.merged_into(actor, Purpose::Support, merged_id).await {
        Ok(m) => m,
        Err(PersonError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let names = c.colleague_names(actor).await?;
    render(&MergedPage {
        chrome: signed.chrome("/people"),
        merged_number: merge.merged_number,
        surviving_id: merge.surviving_id.to_string(),
        surviving_number: merge.surviving_number,
        when: date_time(from_micros(merge.merged_at_micros)),
        by: who(&names, &merge.merged_by),
        how: merge.confirmed_how.label(),
        moved: moved_lines(&merge.moved),
    })
    .map(Some)
}
