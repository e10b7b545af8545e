//! A person's contact preferences (per channel allowed or refused, no voicemail, a code word) and
//! their messages: queueing a templated email or text, and the delivery log. Safe contact details
//! and times, and communication needs, are the person's own fields (`/api/v1/people/{id}`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use confidant_core::Clock;
use confidant_core::contact::{ContactPreferences, PreferencesInput};
use confidant_core::message::{MessageStatus, NewMessage};
use confidant_core::store::Store;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::{invalid, rfc3339, rfc3339_opt};
use crate::http::bearer::{AccessPurpose, Authenticated, ChangeJson, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;
use crate::http::routing::{Routes, get};

/// A person's contact preferences now.
#[derive(Serialize, ToSchema)]
pub struct PreferencesResponse {
    /// The row these came from; `null` before anything is recorded.
    pub id: Option<Uuid>,
    /// Channel code (`letter`, `video`, `phone`, `home_visit`, `email`, `text`) → `allowed` or
    /// `refused`; a channel left out has not been asked about.
    pub channels: BTreeMap<&'static str, &'static str>,
    pub no_voicemail: bool,
    /// The code word callers must give, if one is set.
    pub code_word: Option<String>,
    /// When messages may reach them (UK time), if they said: `{"from": "10:00", "until": "12:00",
    /// "weekdays_only": true}`.
    pub message_window: Option<WindowResponse>,
    pub recorded_by: Option<String>,
    /// RFC 3339.
    pub recorded_at: Option<String>,
}

/// Hours of the day (UK time, `HH:MM`) when messages may reach a person.
#[derive(Serialize, ToSchema)]
pub struct WindowResponse {
    pub from: String,
    pub until: String,
    pub weekdays_only: bool,
}

impl From<ContactPreferences> for PreferencesResponse {
    fn from(p: ContactPreferences) -> Self {
        PreferencesResponse {
            id: p.id,
            channels: p
                .channels
                .iter()
                .map(|(c, choice)| (c.code(), choice.code()))
                .collect(),
            no_voicemail: p.no_voicemail,
            code_word: p.code_word,
            message_window: p.message_window.map(|w| {
                let hours = time::macros::format_description!("[hour]:[minute]");
                WindowResponse {
                    from: w.from.format(hours).unwrap_or_default(),
                    until: w.until.format(hours).unwrap_or_default(),
                    weekdays_only: w.weekdays_only,
                }
            }),
            recorded_by: p.recorded_by,
            recorded_at: rfc3339_opt(p.recorded_at),
        }
    }
}

/// A new set of contact preferences; it replaces the current one (which stays in the history).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesRequest {
    /// Channel code → `allowed` or `refused`.
    #[schema(example = json!({"phone": "refused", "text": "allowed"}))]
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
    #[serde(default)]
    pub no_voicemail: bool,
    /// At most 50 characters; absent or blank for none.
    pub code_word: Option<String>,
    /// Messages only from this UK time (`HH:MM`) until `message_until`; both absent: any time.
    #[schema(example = "10:00")]
    pub message_from: Option<String>,
    #[schema(example = "12:00")]
    pub message_until: Option<String>,
    /// … and only Monday to Friday.
    #[serde(default)]
    pub message_weekdays_only: bool,
}

/// A templated message to queue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageRequest {
    /// `email` or `text`.
    #[schema(example = "email")]
    pub channel: String,
    /// `appointment_reminder` or `please_get_in_touch`.
    #[schema(example = "appointment_reminder")]
    pub template: String,
    /// The appointment's time (RFC 3339), for a reminder.
    pub at: Option<String>,
}

/// One delivery attempt.
#[derive(Serialize, ToSchema)]
pub struct AttemptResponse {
    pub attempt: i64,
    /// RFC 3339.
    pub at: String,
    /// `sent`, `temporary_failure`, `permanent_failure`, `no_transport` or `erased`.
    pub outcome: &'static str,
    /// The SMTP server's reply code, if it gave one.
    pub reply_code: Option<i64>,
}

/// A message and its delivery log: never its address or text.
#[derive(Serialize, ToSchema)]
pub struct MessageResponse {
    pub id: Uuid,
    pub channel: &'static str,
    pub template: &'static str,
    /// `queued`, `no_transport` (a text waiting: no text transport configured), `sent` or `failed`.
    pub state: &'static str,
    pub state_label: &'static str,
    pub queued_by: String,
    /// RFC 3339.
    pub queued_at: String,
    pub finished_at: Option<String>,
    pub attempts: Vec<AttemptResponse>,
}

impl From<MessageStatus> for MessageResponse {
    fn from(m: MessageStatus) -> Self {
        let r = m.record;
        MessageResponse {
            id: r.id,
            channel: r.channel.code(),
            template: r.template.code(),
            state: r.state.code(),
            state_label: r.state.label(),
            queued_at: rfc3339(r.queued_at()),
            finished_at: rfc3339_opt(r.finished_at()),
            queued_by: r.queued_by,
            attempts: m
                .attempts
                .into_iter()
                .map(|a| AttemptResponse {
                    attempt: a.attempt,
                    at: rfc3339(a.at()),
                    outcome: a.outcome.code(),
                    reply_code: a.reply_code,
                })
                .collect(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/contact-preferences", tag = "records",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, body = PreferencesResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn preferences<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<PreferencesResponse>, ApiError> {
    let p = state
        .confidant
        .contact_preferences(&actor, purpose, person_id)
        .await?;
    Ok(Json(p.into()))
}

#[utoipa::path(put, path = "/api/v1/people/{person_id}/contact-preferences", tag = "records",
    params(("person_id" = Uuid, Path)),
    request_body = PreferencesRequest,
    responses((status = 200, body = PreferencesResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn set_preferences<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<PreferencesRequest>,
) -> Result<Json<PreferencesResponse>, ApiError> {
    let input = PreferencesInput {
        channels: body.channels,
        no_voicemail: body.no_voicemail,
        code_word: body.code_word,
        message_from: body.message_from,
        message_until: body.message_until,
        message_weekdays_only: body.message_weekdays_only,
    };
    let p = state
        .confidant
        .set_contact_preferences(&actor, purpose, person_id, &input)
        .await?;
    Ok(Json(p.into()))
}

#[utoipa::path(post, path = "/api/v1/people/{person_id}/messages", tag = "records",
    params(("person_id" = Uuid, Path)),
    request_body = MessageRequest,
    responses((status = 202, body = MessageResponse, description = "queued in the outbox"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn queue<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<MessageRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let at = body
        .at
        .as_deref()
        .map(|t| {
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_err(|_| invalid("at", "at must be an RFC 3339 time"))
        })
        .transpose()?;
    let new = NewMessage {
        channel: body.channel,
        template: body.template,
        at,
    };
    let m = state
        .confidant
        .queue_message(&actor, purpose, person_id, &new)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(MessageResponse::from(m))))
}

#[utoipa::path(get, path = "/api/v1/people/{person_id}/messages", tag = "records",
    params(("person_id" = Uuid, Path)),
    responses((status = 200, body = [MessageResponse]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn messages<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    AccessPurpose(purpose): AccessPurpose,
    Path(person_id): Path<Uuid>,
    Trained(actor): Trained,
) -> Result<Json<Vec<MessageResponse>>, ApiError> {
    let list = state.confidant.messages(&actor, purpose, person_id).await?;
    Ok(Json(list.into_iter().map(MessageResponse::from).collect()))
}

/// Contact preferences and messages (F4).
pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route(
            "/people/{person_id}/contact-preferences",
            get(preferences::<S, C>).put(set_preferences::<S, C>),
        )
        .route(
            "/people/{person_id}/messages",
            get(messages::<S, C>).post(queue::<S, C>),
        )
}
