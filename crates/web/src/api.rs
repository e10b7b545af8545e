//! The JSON API, version 1. Each handler reads its input, calls one core service and shapes the answer.
//!
//! The record's endpoints beyond a person's own fields are in the submodules: the field catalogue and
//! a service's configuration, related people, cases, entries, documents, referrals, and the record's
//! history, export and paper register.

mod case;
mod catalogue;
mod contact;
mod document;
mod entry;
mod record;
mod referral;
mod related;
mod sharing;

pub use document::MAX_UPLOAD_BODY_BYTES;

use std::collections::BTreeMap;

use crate::routing::{Routes, delete, get, patch, post, put};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use confidant_core::access::Principal;
use confidant_core::account::Refusal;
use confidant_core::field::{IndexField, PersonField, ValueKind};
use confidant_core::person::{Lookup, MAX_PAGE, Person, PersonInput, PersonSummary};
use confidant_core::person::{Violation, Violations};
use confidant_core::record::Values;
use confidant_core::store::{Store, TokenScope};
use confidant_core::{Actor, Clock, Purpose};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::api::{Path, Query};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/openapi.json", get(openapi))
        .route("/me", get(me))
        .route(
            "/organisations/{organisation_id}/services",
            get(list_services::<S, C>),
        )
        .route(
            "/services/{service_id}/people",
            post(create_person::<S, C>).get(list_people::<S, C>),
        )
        .route(
            "/services/{service_id}/people/lookups",
            post(find_people::<S, C>),
        )
        .route(
            "/people/{person_id}",
            get(read_person::<S, C>).patch(update_person::<S, C>),
        )
        .route("/people/{person_id}/assignment", put(assign_person::<S, C>))
        .route("/people/{person_id}/break-glass", post(break_glass::<S, C>))
        .route(
            "/people/{person_id}/access-history",
            get(access_history::<S, C>),
        )
        .route("/catalogue", get(catalogue::catalogue))
        .route(
            "/services/{service_id}/configuration",
            get(catalogue::configuration::<S, C>),
        )
        .route("/people/{person_id}/history", get(record::history::<S, C>))
        .route("/people/{person_id}/export", get(record::export::<S, C>))
        .route(
            "/services/{service_id}/paper",
            get(record::paper_register::<S, C>),
        )
        .route(
            "/people/{person_id}/related",
            get(related::list::<S, C>).post(related::add::<S, C>),
        )
        .route(
            "/people/{person_id}/related/{related_id}",
            delete(related::remove::<S, C>),
        )
        .route(
            "/people/{person_id}/cases",
            get(case::list::<S, C>).post(case::open::<S, C>),
        )
        .route(
            "/people/{person_id}/cases/{case_id}/close",
            post(case::close::<S, C>),
        )
        .route(
            "/people/{person_id}/entries",
            get(entry::list::<S, C>).post(entry::add::<S, C>),
        )
        .route(
            "/people/{person_id}/entries/{entry_id}",
            patch(entry::update::<S, C>),
        )
        .route("/people/{person_id}/documents", get(document::list::<S, C>))
        .route(
            "/people/{person_id}/documents/{document_id}",
            get(document::download::<S, C>),
        )
        .route(
            "/services/{service_id}/referrals",
            get(referral::list::<S, C>).post(referral::create::<S, C>),
        )
        .route("/referrals/{referral_id}", get(referral::read::<S, C>))
        .route(
            "/referrals/{referral_id}/triage",
            post(referral::triage::<S, C>),
        )
        .route(
            "/referrals/{referral_id}/accept",
            post(referral::accept::<S, C>),
        )
        .route("/sharing/categories", get(sharing::categories))
        .route(
            "/recipients",
            get(sharing::recipients::<S, C>).post(sharing::add_recipient::<S, C>),
        )
        .route(
            "/recipients/{recipient_id}",
            put(sharing::update_recipient::<S, C>),
        )
        .route(
            "/recipients/{recipient_id}/staff",
            post(sharing::assign_staff::<S, C>),
        )
        .route(
            "/recipients/{recipient_id}/disclosures",
            get(sharing::recipient_disclosures::<S, C>),
        )
        .route(
            "/services/{service_id}/consent-purposes",
            get(sharing::consent_purposes::<S, C>).post(sharing::add_consent_purpose::<S, C>),
        )
        .route(
            "/people/{person_id}/consents",
            get(sharing::consents::<S, C>).post(sharing::record_consent::<S, C>),
        )
        .route(
            "/people/{person_id}/restrictions",
            post(sharing::restrict::<S, C>),
        )
        .route(
            "/people/{person_id}/restrictions/{restriction_id}/lift",
            post(sharing::lift::<S, C>),
        )
        .route(
            "/people/{person_id}/shares/check",
            post(sharing::check::<S, C>),
        )
        .route("/people/{person_id}/shares", post(sharing::share::<S, C>))
        .route(
            "/people/{person_id}/disclosures",
            get(sharing::disclosures::<S, C>),
        )
        .route(
            "/people/{person_id}/disclosures/{disclosure_id}",
            get(sharing::disclosure::<S, C>),
        )
        .route(
            "/people/{person_id}/disclosures/{disclosure_id}/end",
            post(sharing::end_referral::<S, C>),
        )
        .route(
            "/people/{person_id}/approvals",
            get(sharing::approvals::<S, C>).post(sharing::request_approval::<S, C>),
        )
        .route(
            "/people/{person_id}/approvals/{approval_id}",
            post(sharing::decide::<S, C>),
        )
        .route("/disclosures/review", get(sharing::review_queue::<S, C>))
        .route(
            "/disclosures/{disclosure_id}/review",
            post(sharing::review::<S, C>),
        )
        .merge(contact_routes())
        .map(|r| r.fallback(|| async { ApiError::NotFound }))
}

/// Contact preferences and messages (F4).
fn contact_routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route(
            "/people/{person_id}/contact-preferences",
            get(contact::preferences::<S, C>).put(contact::set_preferences::<S, C>),
        )
        .route(
            "/people/{person_id}/messages",
            get(contact::messages::<S, C>).post(contact::queue::<S, C>),
        )
}

/// The routes that take more than the application's small-body limit (a document upload), with
/// their own limit. Merged outside that limit (see [`crate::router`]); paths are the full ones.
pub fn upload_routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new().route(
        "/api/v1/people/{person_id}/documents",
        post(document::upload::<S, C>),
    )
}

/// The signed-in member of staff, from `Authorization: Bearer <token>`, and what the token may do.
/// Session cookies are not accepted here, so a page cannot be made to call the API on someone's
/// behalf.
pub struct Authenticated(pub Principal, pub TokenScope);

impl Authenticated {
    /// Refuses a change made with a read-only token (and records the refusal).
    async fn writable<S: Store, C: Clock>(&self, state: &AppState<S, C>) -> Result<(), ApiError> {
        match self.1 {
            TokenScope::ReadWrite => Ok(()),
            TokenScope::Read => {
                state
                    .confidant
                    .record_refusal(&self.0, Refusal::ReadOnlyToken)
                    .await?;
                Err(ApiError::Forbidden(
                    "read_only_token",
                    "this token may only read; issue a read-and-change token to make changes",
                ))
            }
        }
    }

    /// Personal data needs current training: say so plainly rather than answer "not found" (and
    /// record the refusal).
    async fn trained<S: Store, C: Clock>(&self, state: &AppState<S, C>) -> Result<(), ApiError> {
        match self.0.actor() {
            Actor::Staff(s) if !s.trained => {
                state
                    .confidant
                    .record_refusal(&self.0, Refusal::TrainingLapsed)
                    .await?;
                Err(ApiError::Forbidden(
                    "training_lapsed",
                    "your data protection training or policy acknowledgement is not current; ask your Data Protection Officer to record it",
                ))
            }
            _ => Ok(()),
        }
    }

    /// A change needs current training, then a token that may change (each refusal recorded).
    async fn may_change<S: Store, C: Clock>(&self, state: &AppState<S, C>) -> Result<(), ApiError> {
        self.trained(state).await?;
        self.writable(state).await
    }
}

impl<S: Store, C: Clock> FromRequestParts<AppState<S, C>> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S, C>,
    ) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        match state.confidant.authenticate_token(token.trim()).await? {
            Some((actor, scope)) => Ok(Authenticated(actor, scope)),
            None => Err(ApiError::Unauthenticated),
        }
    }
}

/// Why the caller is accessing data, from the `X-Confidant-Purpose` header (default `support`).
pub struct AccessPurpose(pub Purpose);

impl<S: Send + Sync> FromRequestParts<S> for AccessPurpose {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match parts.headers.get("x-confidant-purpose") {
            None => Ok(AccessPurpose(Purpose::Support)),
            Some(v) => v
                .to_str()
                .ok()
                .and_then(Purpose::from_code)
                .map(AccessPurpose)
                .ok_or_else(|| {
                    ApiError::Malformed(
                        "X-Confidant-Purpose must be one of: support, administration, audit"
                            .to_owned(),
                    )
                }),
        }
    }
}

/// A JSON body whose errors say where the problem is but never repeat what was sent (serde's own
/// messages quote the offending value, which may be personal data).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::Malformed(
                "the body must be application/json".to_owned(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            ApiError::Malformed("the body could not be read (is it over 64 KiB?)".to_owned())
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            use serde_json::error::Category;
            let what = match e.classify() {
                Category::Data => {
                    "has a field of the wrong type, or a field this endpoint does not accept"
                }
                Category::Syntax | Category::Eof | Category::Io => "is not valid JSON",
            };
            ApiError::Malformed(format!(
                "the body {what} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn rfc3339_opt(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(rfc3339)
}

/// A refusal of one field of the request, by name.
fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::Invalid(Violations(vec![Violation::new(field, message)]))
}

/// A time sent by a client: RFC 3339 (`2026-11-22T10:00:00Z`).
fn parse_time(field: &'static str, raw: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339).map_err(
        |_| {
            invalid(
                field,
                "must be a time in RFC 3339 form, e.g. 2026-11-22T10:00:00Z",
            )
        },
    )
}

fn parse_time_opt(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<OffsetDateTime>, ApiError> {
    raw.map(|r| parse_time(field, r)).transpose()
}

/// A record's opened values, by catalogue code.
fn fields_of(values: &Values) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(code, value)| (code.to_owned(), value.to_owned()))
        .collect()
}

/// A code list of core (`Relationship`, `TriageState`…): its codes and how to find one.
trait Code: Copy + 'static {
    fn all() -> &'static [Self];
    fn code(self) -> &'static str;
}

macro_rules! codes {
    ($($t:ty),+) => {
        $(impl Code for $t {
            fn all() -> &'static [Self] {
                <$t>::ALL
            }
            fn code(self) -> &'static str {
                <$t>::code(self)
            }
        })+
    };
}

codes!(
    confidant_core::store::Relationship,
    confidant_core::store::ReferralSource,
    confidant_core::store::TriageState,
    confidant_core::store::ClosureReason,
    confidant_core::store::ContactType,
    confidant_core::store::EntryStatus
);

/// Parses a code sent by a client; a refusal lists the codes allowed (never the value sent).
fn parse_code<T: Code>(field: &'static str, raw: &str) -> Result<T, ApiError> {
    T::all()
        .iter()
        .copied()
        .find(|v| v.code() == raw)
        .ok_or_else(|| {
            let codes: Vec<_> = T::all().iter().map(|v| v.code()).collect();
            invalid(field, format!("must be one of: {}", codes.join(", ")))
        })
}

fn parse_code_opt<T: Code>(field: &'static str, raw: Option<&str>) -> Result<Option<T>, ApiError> {
    raw.map(|r| parse_code(field, r)).transpose()
}

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

/// A person's record: its ids and times, and every field that holds a value, by catalogue code.
#[derive(Serialize)]
pub struct PersonResponse {
    pub id: Uuid,
    pub service_id: Uuid,
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
                "A person's record: `id`, `service_id`, `created_at` and `updated_at` (RFC 3339), and \
                 beside them every field that holds a value, under its catalogue code (see \
                 `PersonRequest`). A field without a value is absent.",
            ))
            .property("id", uuid())
            .required("id")
            .property("service_id", uuid())
            .required("service_id")
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

#[derive(Serialize, ToSchema)]
pub struct ServiceResponse {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
}

/// Who the token belongs to.
#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub user_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub role: String,
    /// Training and policy acknowledgements are current (personal data is reachable).
    pub trained: bool,
    /// `read` or `read_write`.
    pub token_scope: String,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "staff",
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn me(Authenticated(actor, scope): Authenticated) -> Json<MeResponse> {
    let scope = scope.code().to_owned();
    Json(match actor.actor() {
        Actor::Staff(s) => MeResponse {
            user_id: Some(s.user_id),
            organisation_id: Some(s.organisation_id),
            service_id: s.service_id,
            role: s.role.code().to_owned(),
            trained: s.trained,
            token_scope: scope,
        },
        Actor::System => MeResponse {
            user_id: None,
            organisation_id: None,
            service_id: None,
            role: "system".to_owned(),
            trained: false,
            token_scope: scope,
        },
    })
}

#[utoipa::path(get, path = "/api/v1/organisations/{organisation_id}/services", tag = "services",
    params(("organisation_id" = Uuid, Path)),
    responses((status = 200, body = [ServiceResponse]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_services<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    Path(organisation_id): Path<Uuid>,
) -> Result<Json<Vec<ServiceResponse>>, ApiError> {
    let actor = auth.0;
    let services = state.confidant.services(&actor, organisation_id).await?;
    Ok(Json(
        services
            .into_iter()
            .map(|s| ServiceResponse {
                id: s.id,
                organisation_id: s.organisation_id,
                name: s.name,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/services/{service_id}/people", tag = "people",
    params(("service_id" = Uuid, Path), ("X-Confidant-Purpose" = Option<String>, Header, description = "support (default), administration or audit")),
    request_body = PersonRequest,
    responses((status = 201, body = PersonResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_person<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    JsonBody(body): JsonBody<PersonRequest>,
) -> Result<impl IntoResponse, ApiError> {
    auth.may_change(&state).await?;
    let actor = auth.0;
    let person = state
        .confidant
        .create_person(&actor, purpose, service_id, &body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(PersonResponse::from(person))))
}

#[utoipa::path(get, path = "/api/v1/services/{service_id}/people", tag = "people",
    params(("service_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = PersonPage), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_people<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    Query(page): Query<PageQuery>,
) -> Result<Json<PersonPage>, ApiError> {
    auth.trained(&state).await?;
    let actor = auth.0;
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
async fn find_people<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(service_id): Path<Uuid>,
    JsonBody(body): JsonBody<LookupRequest>,
) -> Result<Json<LookupResponse>, ApiError> {
    auth.trained(&state).await?;
    let actor = auth.0;
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
async fn read_person<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
) -> Result<Json<PersonResponse>, ApiError> {
    auth.trained(&state).await?;
    let actor = auth.0;
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
async fn update_person<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    JsonBody(body): JsonBody<PersonRequest>,
) -> Result<Json<PersonResponse>, ApiError> {
    auth.may_change(&state).await?;
    let actor = auth.0;
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
async fn assign_person<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    JsonBody(body): JsonBody<AssignmentRequest>,
) -> Result<StatusCode, ApiError> {
    auth.may_change(&state).await?;
    state
        .confidant
        .assign_person(
            &auth.0,
            purpose,
            person_id,
            body.team_id,
            body.key_worker_id,
        )
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
async fn break_glass<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    Path(person_id): Path<Uuid>,
    JsonBody(body): JsonBody<BreakGlassRequest>,
) -> Result<impl IntoResponse, ApiError> {
    auth.may_change(&state).await?;
    let grant = state
        .confidant
        .break_glass(&auth.0, person_id, &body.reason)
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
async fn access_history<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
) -> Result<Json<Vec<AccessEvent>>, ApiError> {
    auth.trained(&state).await?;
    let events = state
        .confidant
        .access_history(&auth.0, purpose, person_id, 100)
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

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API's description, generated from the handlers above.
#[derive(OpenApi)]
#[openapi(
    info(title = "Confidant API", version = "1", description = "Case records for care and support services. Every call is authorized and recorded on a tamper-evident audit log."),
    paths(me, list_services, create_person, list_people, find_people, read_person, update_person, assign_person, break_glass, access_history,
        catalogue::catalogue, catalogue::configuration,
        record::history, record::export, record::paper_register,
        related::list, related::add, related::remove,
        case::list, case::open, case::close,
        entry::list, entry::add, entry::update,
        document::upload, document::list, document::download,
        referral::list, referral::create, referral::read, referral::triage, referral::accept,
        sharing::categories, sharing::recipients, sharing::add_recipient, sharing::update_recipient, sharing::assign_staff, sharing::recipient_disclosures,
        sharing::consent_purposes, sharing::add_consent_purpose, sharing::consents, sharing::record_consent, sharing::restrict, sharing::lift,
        sharing::check, sharing::share, sharing::disclosures, sharing::disclosure, sharing::end_referral,
        sharing::request_approval, sharing::approvals, sharing::decide, sharing::review_queue, sharing::review,
        contact::preferences, contact::set_preferences, contact::queue, contact::messages),
    components(schemas(ErrorBody, crate::error::FieldError, PersonRequest, PersonResponse, PersonPage, PersonListItem, LookupRequest, LookupResponse, ServiceResponse, MeResponse, AssignmentRequest, BreakGlassRequest, BreakGlassResponse, AccessEvent,
        catalogue::FieldResponse, catalogue::ChoiceResponse, catalogue::ConfigurationResponse, catalogue::FieldGroupResponse, catalogue::CodeResponse,
        record::CorrectionResponse, record::ExportResponse, record::PaperResponse,
        related::RelatedResponse, related::RelatedRequest,
        case::CaseResponse, case::OpenCaseRequest, case::CloseCaseRequest,
        entry::EntryResponse, entry::NewEntryRequest, entry::EntryChangeRequest, entry::NoteFlagsBody,
        document::DocumentResponse,
        referral::ReferralSummary, referral::ReferralLineResponse, referral::ReferralResponse, referral::TriageStep, referral::ReferralRequest, referral::TriageRequest, referral::AcceptRequest, referral::AcceptResponse,
        sharing::RecipientResponse, sharing::RecipientRequest, sharing::AssignStaffRequest, sharing::DisclosureSummary, sharing::DisclosureResponse,
        sharing::ConsentPurposeResponse, sharing::ConsentPurposeRequest, sharing::ConsentResponse, sharing::ConsentLineResponse, sharing::RestrictionResponse,
        sharing::ConsentsResponse, sharing::ConsentRequest, sharing::RestrictionRequest, sharing::ShareBody, sharing::RuleResponse, sharing::CheckResponse,
        sharing::RefusedBody, sharing::PackageResponse, sharing::ApprovalResponse, sharing::ApprovalRequest, sharing::DecisionRequest, sharing::ReviewRequest,
        sharing::CategoryResponse,
        contact::PreferencesResponse, contact::PreferencesRequest, contact::MessageRequest, contact::MessageResponse, contact::AttemptResponse)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
