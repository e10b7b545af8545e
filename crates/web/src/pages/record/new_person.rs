//! Adding a person: the identity fields of the actor's own service, and a warning when someone
//! already recorded may be them.
//!
//! Guarantees:
//! - Invalid input shows the form again (400) with what was typed and each problem named.
//! - Someone within the actor's scope with the same NHS number, National Insurance number, or
//!   family name and date of birth stops the form (409, nothing created): it is shown again with
//!   what was typed and a banner (`role="alert"`) linking to each of them by name, each name read
//!   as the record's heading is (an audited `person.read`). Ticking "This is a different person"
//!   lets the next submit through. Nobody out of the actor's scope is named, or counted.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::field::{FieldGroup, IndexField, PersonField};
use confidant_core::person::{DuplicateCheck, DuplicateMatch, PersonError, PersonInput};
use confidant_core::store::Store;
use confidant_core::{Clock, Purpose};

use super::people::own_service;
use super::person::group_fields;
use crate::pages::form::{
    FormData, FormField, FormPage, Notice, label_of, labelled_errors, posted_value, refill,
};
use crate::pages::{PageError, Signed, St, render, render_status};
use crate::pages::{TrainedForm, TrainedStaff};

/// The checkbox that says the person is none of those the warning named.
const NOT_DUPLICATE: &str = "not_duplicate";

fn new_person_page(
    signed: &Signed,
    fields: Vec<FormField>,
    errors: Vec<(String, String)>,
) -> FormPage {
    FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Add a person",
        "/people/new",
        fields,
        errors,
    )
    .back("/people")
    .intro("Given and family names are needed; add what else you know now, or later.")
    .submit("Add the person")
}

/// The "this is a different person" checkbox, ticked or not.
fn not_duplicate_box(ticked: bool) -> FormField {
    FormField::checkboxes(
        NOT_DUPLICATE,
        "Is this a different person?",
        vec![(
            NOT_DUPLICATE.to_owned(),
            "This is a different person — add them anyway".to_owned(),
            ticked,
        )],
    )
    .hint("Tick this only if they are none of the people named above.")
}

/// What matched, in words: "NHS number", "National Insurance number", "family name and date of
/// birth" (the index holds the family name only, not the given name).
fn matched_label(field: IndexField) -> &'static str {
    match field {
        IndexField::NhsNumber => "NHS number",
        IndexField::NiNumber => "National Insurance number",
        IndexField::BirthAndFamilyName => "family name and date of birth",
        IndexField::Postcode => "postcode",
        IndexField::Phone => "phone number",
        IndexField::Email => "email address",
    }
}

/// The warning: each match by name (read as a record's heading, audited), linked to their record,
/// with what matched. A match that can no longer be read (erased meanwhile) is left out.
async fn duplicates_notice<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    matches: &[DuplicateMatch],
) -> Result<Notice, PageError> {
    let mut links = Vec::with_capacity(matches.len());
    for m in matches {
        let heading = match state
            .confidant
            .person_name(signed.actor(), Purpose::Support, m.person_id)
            .await
        {
            Ok(heading) => heading,
            Err(PersonError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        let matched: Vec<&str> = m.matched_on.iter().map(|f| matched_label(*f)).collect();
        links.push((
            format!("/people/{}", m.person_id),
            heading.full(),
            format!("same {}", matched.join(", ")),
        ));
    }
    Ok(Notice {
        title: "Possible duplicate".to_owned(),
        heading: "This person may already be recorded. Nothing has been added yet.".to_owned(),
        links,
        body: "Open their record if it is them. If this is a different person, tick the box \
               below the form's fields and add them again."
            .to_owned(),
    })
}

pub async fn new_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
) -> Result<Response, PageError> {
    own_service(&state, &signed).await?;
    render(&new_person_page(
        &signed,
        group_fields(FieldGroup::Identity, None),
        Vec::new(),
    ))
}

pub async fn create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let service = own_service(&state, &signed).await?;
    let mut fields = group_fields(FieldGroup::Identity, None);
    let mut input = PersonInput::new();
    for field in &fields {
        let value = posted_value(field, &form);
        if !value.trim().is_empty() {
            input.set_code(&field.name, value);
        }
    }
    // Names are required: an empty one is given, so that it is named in the errors.
    for name in [PersonField::GivenName, PersonField::FamilyName] {
        if form.get(name.code()).trim().is_empty() {
            input.set(name, "");
        }
    }
    let confirmed = form.ticked(NOT_DUPLICATE);
    match state
        .confidant
        .create_person_with(
            signed.actor(),
            Purpose::Support,
            service,
            &input,
            DuplicateCheck::confirmed_if(confirmed),
        )
        .await
    {
        Ok(person) => Ok(Redirect::to(&format!("/people/{}", person.id)).into_response()),
        Err(PersonError::Invalid(v)) => {
            // A box already ticked stays, so that correcting a field does not warn again.
            if confirmed {
                fields.push(not_duplicate_box(true));
            }
            refill(&mut fields, &form);
            render_status(
                StatusCode::BAD_REQUEST,
                &new_person_page(&signed, fields, labelled_errors(&v, |c| label_of(None, c))),
            )
        }
        Err(PersonError::PossibleDuplicates(matches)) => {
            refill(&mut fields, &form);
            fields.push(not_duplicate_box(false));
            let notice = duplicates_notice(&state, &signed, &matches).await?;
            render_status(
                StatusCode::CONFLICT,
                &new_person_page(&signed, fields, Vec::new()).notice(notice),
            )
        }
        Err(e) => Err(e.into()),
    }
}
