//! A person's own record through the API: creating, listing, looking up, reading and changing a
//! person, who looks after them, breaking the glass, and who has accessed the record.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use confidant_core::Clock;
use confidant_core::field::{IndexField, PersonField, ValueKind};
use confidant_core::person::{
    DuplicateCheck, Lookup, MAX_PAGE, Person, PersonInput, PersonSummary,
};
use confidant_core::store::Store;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::api::rfc3339;
use crate::http::bearer::{AccessPurpose, Authenticated, ChangeJson, Trained, TrainedJson};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::{Path, Query};

/// A person's details as sent by a client: an object of catalogue field codes (record `person` of
/// `GET /api/v1/catalogue`) and their values as strings. On create, `given_name` and `family_name` are
/// required; on update, absent fields are unchanged and `""` clears an optional field. A code the
/// catalogue does not have, or of a field group the service does not collect, is refused.
#[derive(Deserialize, Default)]
#[serde(transparent)]
pub struct PersonRequest(pub BTreeMap<String, String>);

impl From<PersonRequest> for PersonInput {
    fn from(r: PersonRequest) -> Self {
        let mut input = PersonInput::new();
        for (code, value) in r.0 {
            input.set_code(&code, value);
        }
        input
    }
}

impl utoipa::PartialSchema for PersonRequest {
    fn schema() -> RefOr<Schema> {
        let codes: Vec<_> = PersonField::ALL
            .iter()
            .filter(|f| f.spec().kind != ValueKind::Document)
            .map(|f| format!("`{}`", f.code()))
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(format!(
                "Catalogue field codes of a person and their values (see `GET /api/v1/catalogue`, \
                 record `person`, for each field's kind, choices and group). On create, `given_name` \
                 and `family_name` are required; on update, absent fields are unchanged and `\"\"` \
                 clears an optional field. Codes: {}. The photo is uploaded as a document.",
                codes.join(", ")
            )))
            .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
            .examples([serde_json::json!({
                "given_name": "Ada",
                "family_name": "Lovelace",
                "date_of_birth": "1980-02-29",
                "nhs_number": "943 476 5919",
                "ethnicity": "white"
            })])
            .into()
    }
}

impl ToSchema for PersonRequest {}

/// A person to add: their fields as in [`PersonRequest`], and `not_duplicate: true` once the caller
/// has seen the possible duplicates a first attempt named and says this is a different person.
#[derive(Deserialize, Default)]
pub struct NewPersonRequest {
    #[serde(default)]
    pub not_duplicate: bool,
    #[serde(flatten)]
    pub fields: PersonRequest,
}

impl utoipa::PartialSchema for NewPersonRequest {
    fn schema() -> RefOr<Schema> {
        let RefOr::T(Schema::Object(fields)) = PersonRequest::schema() else {
            return PersonRequest::schema();
        };
        let mut schema = ObjectBuilder::from(fields)
            .property(
                "not_duplicate",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .description(Some(
                        "`true` to add the person although someone within your scope has the same \
                         NHS number, National Insurance number, or family name and date of birth \
                         (the `409 possible_duplicates` answer names them). Default `false`.",
                    )),
            )
            .build();
        schema.description = Some(format!(
            "{} Without `\"not_duplicate\": true`, a person whom someone within your scope may \
             already be is refused with `409 possible_duplicates`, naming them.",
            schema.description.unwrap_or_default()
        ));
        schema.into()
    }
}

impl ToSchema for NewPersonRequest {}

/// A person's record: its ids and times, and every field that holds a value, by catalogue code.
#[derive(Serialize)]
pub struct PersonResponse {
    pub id: Uuid,
    pub service_id: Uuid,
    pub record_number: i64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(flatten)]
    pub fields: BTreeMap<&'static str, String>,
}

impl From<Person> for PersonResponse {
    fn from(p: Person) -> Self {
        PersonResponse {
            id: p.id,
            service_id: p.service_id,
            record_number: p.record_number,
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
            fields: PersonField::ALL
                .into_iter()
                .filter_map(|f| p.get(f).map(|v| (f.code(), v.to_owned())))
                .collect(),
        }
    }
}

impl utoipa::PartialSchema for PersonResponse {
    fn schema() -> RefOr<Schema> {
        let string = || ObjectBuilder::new().schema_type(Type::String);
        let uuid = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A person's record: `id`, `service_id`, `record_number` (short, per service, in order \
                 of creation), `created_at` and `updated_at` (RFC 3339), and \
                 beside them every field that holds a value, under its catalogue code (see \
                 `PersonRequest`). A field without a value is absent.",
            ))
            .property("id", uuid())
            .required("id")
            .property("service_id", uuid())
            .required("service_id")
            .property(
                "record_number",
                ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)),
            )
            .required("record_number")
            .property("created_at", string())
            .required("created_at")
            .property("updated_at", string())
            .required("updated_at")
            .additional_properties(Some(string()))
            .into()
    }
}

impl ToSchema for PersonResponse {}

/// One line of a list.
#[derive(Serialize, ToSchema)]
pub struct PersonListItem {
    pub id: Uuid,
    pub given_name: String,
    pub family_name: String,
}

impl From<PersonSummary> for PersonListItem {
    fn from(p: PersonSummary) -> Self {
        PersonListItem {
            id: p.id,
            given_name: p.given_name,
            family_name: p.family_name,
        }
    }
}

/// A page of people; pass `next_after` as `after` for the next page.
#[derive(Serialize, ToSchema)]
pub struct PersonPage {
    pub people: Vec<PersonListItem>,
    pub next_after: Option<Uuid>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Return people after this id.
    pub after: Option<Uuid>,
    /// At most this many (1–200, default 50).
    pub limit: Option<u32>,
}

/// Which identifier to look up, and its value. Sent in the body so it never appears in a URL.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// One of `nhs_number`, `ni_number`, `postcode`, `phone`, `email`.
    #[schema(example = "nhs_number")]
    pub field: String,
    #[schema(example = "9434765919")]
    pub value: String,
}

#[derive(Serialize, ToSchema)]
pub struct LookupResponse {
    pub person_ids: Vec<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/services/{service_id}/people", tag = "people",
    params(("service_id" = Uuid, Path), ("X-Confidant-Purpose" = Option<String>, Header, description = "support (default), administration or audit")),
    request_body = NewPersonRequest,
    responses((status = 201, body = PersonResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`possible_duplicates`: someone within your scope may already be this person (`matches`); nothing was created"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_person<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<NewPersonRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let check = DuplicateCheck::confirmed_if(body.not_duplicate);
    let person = state
        .confidant
        .create_person_with(&actor, purpose, service_id, &body.fields.into(), check)
        .await?;
    Ok((StatusCode::CREATED, Json(PersonResponse::from(person))))
}

#[utoipa::path(get, path = "/api/v1/services/{service_id}/people", tag = "people",
    params(("service_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = PersonPage), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_people<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    Query(page): Query<PageQuery>,
    Trained(actor): Trained,
) -> Result<Json<PersonPage>, ApiError> {
    let limit = page.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::Invalid(confidant_core::person::Violations(vec![
            confidant_core::person::Violation::new("limit", "must be between 1 and 200"),
        ])));
    }
    let people = state
        .confidant
        .list_people(&actor, purpose, service_id, page.after, limit)
        .await?;
    let next_after = (people.len() == limit as usize)
        .then(|| people.last().map(|p| p.id))
        .flatten();
    Ok(Json(PersonPage {
        people: people.into_iter().map(PersonListItem::from).collect(),
        next_after,
    }))
}

#[utoipa::path(post, path = "/api/v1/services/{service_id}/people/lookups", tag = "people",
    params(("service_id" = Uuid, Path)),
    request_body = LookupRequest,
    responses((status = 200, body = LookupResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn find_people<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    TrainedJson(actor, body): TrainedJson<LookupRequest>,
) -> Result<Json<LookupResponse>, ApiError> {
    let field = IndexField::from_code(&body.field)
        .filter(|f| *f != IndexField::BirthAndFamilyName)
        .ok_or_else(|| {
            ApiError::Invalid(confidant_core::person::Violations(vec![
                confidant_core::person::Violation::new(
                    "field",
                    "must be one of nhs_number, ni_number, postcode, phone, email",
                ),
            ]))
        })?;
    let lookup = Lookup {
        field,
        value: body.value,
    };
    let person_ids = state
        .confidant
        .find_people(&actor, purpose, service_id, &lookup)
        .await?;
    Ok(Json(LookupResponse { person_ids }))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}", tag = "people",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, body = PersonResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn read_person<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<PersonResponse>, ApiError> {
    let person = state
        .confidant
        .read_person(&actor, purpose, person_id)
        .await?;
    Ok(Json(person.into()))
}

#[utoipa::path(patch, path = "/api/v1/people/{person_id}", tag = "people",
    params(("person_id" = Uuid, Path)),
    request_body = PersonRequest,
    responses((status = 200, body = PersonResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn update_person<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<PersonRequest>,
) -> Result<Json<PersonResponse>, ApiError> {
    let person = state
        .confidant
        .update_person(&actor, purpose, person_id, &body.into())
        .await?;
    Ok(Json(person.into()))
}

/// Who looks after a person: their team and key worker (each optional; absent or null clears it).
/// Services that limit their staff to a team or a caseload use these.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    pub team_id: Option<Uuid>,
    pub key_worker_id: Option<Uuid>,
}

#[utoipa::path(put, path = "/api/v1/people/{person_id}/assignment", tag = "people",
    params(("person_id" = Uuid, Path)),
    request_body = AssignmentRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn assign_person<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<AssignmentRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .confidant
        .assign_person(&actor, purpose, person_id, body.team_id, body.key_worker_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Why the glass is broken.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    /// 10–1000 characters: the emergency or risk. Sealed with the person's key; reviewed by the
    /// Caldicott Guardian.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct BreakGlassResponse {
    pub grant_id: Uuid,
    pub person_id: Uuid,
    /// RFC 3339; reads of the record are allowed until then.
    pub expires_at: String,
}

/// One access to a record, from the audit log (ids and codes only).
#[derive(Serialize, ToSchema)]
pub struct AccessEvent {
    pub seq: i64,
    pub at: String,
    /// A staff id, `system` or `anonymous`.
    pub actor: String,
    pub action: String,
    pub purpose: String,
    pub outcome: String,
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/break-glass", tag = "people",
    params(("person_id" = Uuid, Path)),
    request_body = BreakGlassRequest,
    responses((status = 201, body = BreakGlassResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn break_glass<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<BreakGlassRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let grant = state
        .confidant
        .break_glass(&actor, person_id, &body.reason)
        .await?;
    let expires =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(grant.ends_at_micros) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Ok((
        StatusCode::CREATED,
        Json(BreakGlassResponse {
            grant_id: grant.id,
            person_id,
            expires_at: rfc3339(expires),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/access-history", tag = "people",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, body = [AccessEvent]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn access_history<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<AccessEvent>>, ApiError> {
    let events = state
        .confidant
        .access_history(&actor, purpose, person_id, 100)
        .await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| AccessEvent {
                seq: e.seq,
                at: rfc3339(e.at()),
                actor: e.actor,
                action: e.action,
                purpose: e.purpose,
                outcome: e.outcome,
            })
            .collect(),
    ))
}
