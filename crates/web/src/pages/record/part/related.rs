//! Related people on the pages: add, change, remove.

use super::*;
use crate::pages::form::FormData;
use crate::pages::{TrainedForm, TrainedStaff};

fn related_fields(children: bool) -> Vec<FormField> {
    let relationships = Relationship::ALL
        .iter()
        .filter(|r| children || **r != Relationship::Child)
        .map(|r| (r.code().to_owned(), r.label().to_owned()))
        .collect();
    let mut fields = vec![FormField::radios(
        "relationship",
        "How are they related to the person?",
        relationships,
    )];
    fields.extend(record_fields(RecordKind::Related).filter_map(|spec| {
        let field = catalogue_control(spec, "", spec.code == "given_name")?;
        Some(match spec.code {
            "family_name" | "phone" | "email" | "address" | "notes" => field.hint("Optional"),
            _ => field,
        })
    }));
    fields.push(
        FormField::input("linked_person_id", "Their own record in Confidant")
            .hint("Optional. If a service of this organisation supports them too, the id of their record.")
            .classes("govuk-input--width-30"),
    );
    fields
}

fn related_label(code: &str) -> Option<&'static str> {
    match code {
        "relationship" => Some("How they are related"),
        "linked_person_id" => Some("Their own record"),
        other => label_of(Some(RecordKind::Related), other),
    }
}

async fn related_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
) -> Result<FormPage, PageError> {
    let person = read_name(state, signed, person_id, Need::Change).await?;
    let children = state
        .confidant
        .service_config(person.service_id)
        .await?
        .field_groups
        .contains(FieldGroup::Children);
    Ok(FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Add a related person",
        format!("/people/{person_id}/related/new"),
        related_fields(children),
        Vec::new(),
    )
    .caption(person.full())
    .back(format!("/people/{person_id}#related"))
    .intro("Their details are kept with their own key, so they can be erased on their own.")
    .submit("Add the related person"))
}

/// The form changing a related person, filled in with what is recorded now.
async fn related_edit_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    related_id: Uuid,
) -> Result<FormPage, PageError> {
    let person = read_name(state, signed, person_id, Need::Change).await?;
    let related = state
        .confidant
        .related_people(signed.actor(), Purpose::Support, person_id)
        .await?
        .into_iter()
        .find(|r| r.id == related_id)
        .ok_or(PageError::NotFound)?;
    let children = state
        .confidant
        .service_config(person.service_id)
        .await?
        .field_groups
        .contains(FieldGroup::Children);
    let fields = related_fields(children)
        .into_iter()
        .filter(|f| f.name != "linked_person_id")
        .map(|f| {
            let value = match f.name.as_str() {
                "relationship" => related.relationship.code(),
                code => related.values.get(code).unwrap_or_default(),
            };
            f.value(value)
        })
        .collect();
    Ok(FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Change a related person",
        format!("/people/{person_id}/related/{related_id}/edit"),
        fields,
        Vec::new(),
    )
    .caption(person.full())
    .back(format!("/people/{person_id}#related-{related_id}"))
    .intro("What they replace is kept in the record's history, with their own key.")
    .submit("Save changes"))
}

pub async fn related_edit_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, related_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    render(&related_edit_page(&state, &signed, person_id, related_id).await?)
}

pub async fn related_edit<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, related_id)): Path<(Uuid, Uuid)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let page = related_edit_page(&state, &signed, person_id, related_id).await?;
    let Some(relationship) = Relationship::from_code(form.get("relationship")) else {
        let problems = Violations(vec![violation("relationship", "must be chosen")]);
        return Ok(form_error(
            page,
            &form,
            labelled_errors(&problems, related_label),
        ));
    };
    let codes: Vec<&str> = record_fields(RecordKind::Related).map(|f| f.code).collect();
    match state
        .confidant
        .update_related(
            signed.actor(),
            Purpose::Support,
            person_id,
            related_id,
            relationship,
            &record_input(&form, &codes),
        )
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/people/{person_id}#related-{related_id}"
        ))),
        Err(PersonError::Invalid(v)) => {
            Ok(form_error(page, &form, labelled_errors(&v, related_label)))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn related_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&related_page(&state, &signed, person_id).await?)
}

pub async fn related_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let page = related_page(&state, &signed, person_id).await?;
    let mut problems = Vec::new();
    let relationship = Relationship::from_code(form.get("relationship"));
    if relationship.is_none() {
        problems.push(violation("relationship", "must be chosen"));
    }
    let linked = match form.get("linked_person_id").trim() {
        "" => None,
        text => match Uuid::parse_str(text) {
            Ok(id) => Some(id),
            Err(_) => {
                problems.push(violation("linked_person_id", "must be the id of a record"));
                None
            }
        },
    };
    let Some(relationship) = relationship.filter(|_| problems.is_empty()) else {
        let errors = labelled_errors(&Violations(problems), related_label);
        return Ok(form_error(page, &form, errors));
    };
    let codes: Vec<&str> = record_fields(RecordKind::Related).map(|f| f.code).collect();
    match state
        .confidant
        .add_related(
            signed.actor(),
            Purpose::Support,
            person_id,
            relationship,
            linked,
            &record_input(&form, &codes),
        )
        .await
    {
        Ok(_) => Ok(see_other(&format!("/people/{person_id}#related"))),
        Err(PersonError::Invalid(v)) => {
            Ok(form_error(page, &form, labelled_errors(&v, related_label)))
        }
        Err(e) => Err(e.into()),
    }
}

async fn related_name<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    related_id: Uuid,
) -> Result<String, PageError> {
    let related = state
        .confidant
        .related_people(signed.actor(), Purpose::Support, person_id)
        .await?
        .into_iter()
        .find(|r| r.id == related_id)
        .ok_or(PageError::NotFound)?;
    Ok([
        related.values.get("given_name"),
        related.values.get("family_name"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" "))
}

pub async fn related_remove_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, related_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::Change).await?;
    let related = related_name(&state, &signed, person_id, related_id).await?;
    render(
        &FormPage::new(
            signed.chrome("/people"),
            signed.csrf(),
            format!("Remove {related} from this record?"),
            format!("/people/{person_id}/related/{related_id}/remove"),
            Vec::new(),
            Vec::new(),
        )
        .caption(name)
        .back(format!("/people/{person_id}#related"))
        .warning("Their details are erased for good: this cannot be undone.")
        .submit("Yes, remove them")
        .submit_classes("govuk-button--warning"),
    )
}

pub async fn related_remove<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, related_id)): Path<(Uuid, Uuid)>,
    TrainedForm(_): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    state
        .confidant
        .remove_related(signed.actor(), Purpose::Support, person_id, related_id)
        .await?;
    Ok(see_other(&format!("/people/{person_id}#related")))
}
