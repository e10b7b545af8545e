//! Moving a misfiled document to the right record, in two steps: the right person's record number,
//! then a check naming them ("This is the right record"), then the move (logged on both records).
//! The target's id travels in the confirming form's address (an id, nothing about the person).

use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::person::PersonError;
use confidant_core::record::Need;
use confidant_core::store::Store;
use confidant_core::{Clock, Purpose};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::page::{Path, Query};
use crate::pages::form::{FormData, FormField, FormPage, form_error};
use crate::pages::record::person::read_name;
use crate::pages::{PageError, Signed, St, TrainedForm, TrainedStaff, render};

#[derive(Deserialize, Default)]
pub struct MoveQuery {
    #[serde(default)]
    to: Option<Uuid>,
}

/// The document's name, if it is a document (not the photo) of the person the actor may change.
async fn document_name<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    document_id: Uuid,
) -> Result<String, PageError> {
    state
        .confidant
        .documents(signed.actor(), Purpose::Support, person_id)
        .await?
        .into_iter()
        .find(|d| d.id == document_id && !d.is_photo)
        .map(|d| {
            d.values
                .get("file_name")
                .map_or_else(|| d.download_name(), str::to_owned)
        })
        .ok_or(PageError::NotFound)
}

async fn number_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    document_id: Uuid,
) -> Result<FormPage, PageError> {
    let person = read_name(state, signed, person_id, Need::Change).await?;
    let name = document_name(state, signed, person_id, document_id).await?;
    Ok(FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Move a document to the right record",
        format!("/people/{person_id}/documents/{document_id}/move"),
        vec![
            FormField::input("record_number", "Record number of the right person")
                .hint("Shown on their record. They must be a person of this service whose record you may change.")
                .inputmode("numeric")
                .classes("govuk-input--width-10"),
        ],
        Vec::new(),
    )
    .caption(person.full())
    .back(format!("/people/{person_id}/documents"))
    .intro(format!("Moving \u{201c}{name}\u{201d}. You will be asked to check the person before it moves."))
    .submit("Continue"))
}

pub async fn move_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, document_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    render(&number_page(&state, &signed, person_id, document_id).await?)
}

pub async fn move_submit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, document_id)): Path<(Uuid, Uuid)>,
    Query(query): Query<MoveQuery>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let c = &state.confidant;
    let Some(to) = query.to else {
        // The first step: the record number, checked, then the person shown.
        let page = number_page(&state, &signed, person_id, document_id).await?;
        let Ok(number) = form.get("record_number").trim().parse::<i64>() else {
            let errors = vec![(
                "record_number".to_owned(),
                "Enter the record number, like 1042".to_owned(),
            )];
            return Ok(form_error(page, &form, errors));
        };
        let to = match c
            .move_target(signed.actor(), Purpose::Support, person_id, number)
            .await
        {
            Ok(to) => to,
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
        return render(&check_page(&state, &signed, person_id, document_id, to, number).await?);
    };
    if !form.ticked("checked") {
        let number = c
            .read_person(signed.actor(), Purpose::Support, to)
            .await?
            .record_number;
        let page = check_page(&state, &signed, person_id, document_id, to, number).await?;
        let errors = vec![(
            "checked".to_owned(),
            "Tick to say you checked this is the right person".to_owned(),
        )];
        return Ok(form_error(page, &form, errors));
    }
    match c
        .move_document(signed.actor(), Purpose::Support, person_id, document_id, to)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/people/{to}/documents")).into_response()),
        Err(PersonError::Invalid(v)) => Err(PageError::Invalid(
            v.0.into_iter()
                .map(|e| (e.field.to_owned(), e.message))
                .collect(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The second step: who it goes to, to be checked.
async fn check_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    document_id: Uuid,
    to: Uuid,
    number: i64,
) -> Result<FormPage, PageError> {
    let from = read_name(state, signed, person_id, Need::Change).await?;
    let target = read_name(state, signed, to, Need::Change).await?;
    let name = document_name(state, signed, person_id, document_id).await?;
    Ok(FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Check the right record",
        format!("/people/{person_id}/documents/{document_id}/move?to={to}"),
        vec![FormField::checkboxes(
            "checked",
            "Is this the right person?",
            vec![(
                "yes".to_owned(),
                format!("Yes: {} (record {number}) is the right person", target.full()),
                false,
            )],
        )],
        Vec::new(),
    )
    .caption(from.full())
    .back(format!("/people/{person_id}/documents/{document_id}/move"))
    .intro(format!(
        "\u{201c}{name}\u{201d} will move from {}\u{2019}s record to {}\u{2019}s (record {number}). It is sealed again with their key, and the move is logged on both records.",
        from.full(),
        target.full()
    ))
    .submit("Move the document"))
}
