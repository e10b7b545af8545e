//! The person's contact preferences page: how they may be contacted (each channel allowed, refused
//! or not asked), no voicemail, the code word, their safe contact details and communication needs
//! (their own fields, shown here, changed on the record's details page), and the messages sent to
//! them with the delivery log (never the text or the address).
//!
//! Guarantees: as the other record pages (a change is a POST with the session's CSRF token, through
//! one core call; invalid input answers 422 naming each field and changes nothing; a record the
//! actor may not see answers the same 404 as a missing one; paths hold ids only).

use std::collections::BTreeMap;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_core::contact::{Channel, ContactPreferences, PreferencesInput};
use confidant_core::field::PersonField;
use confidant_core::person::PersonError;
use confidant_core::record::Need;
use confidant_core::store::Store;
use confidant_core::{Clock, Purpose};
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::page::Path;
use crate::http::routing::{Routes, get};
use crate::pages::form::FormData;
use crate::pages::record::person::{full_name, offers, read, who};
use crate::pages::{Chrome, PageError, Signed, St, date, date_time, render, render_status};
use crate::pages::{TrainedForm, TrainedStaff};

/// The person's own fields shown here: safe contact details, safe times, communication needs.
const PERSON_FIELDS: [PersonField; 7] = [
    PersonField::SafePhone,
    PersonField::SafeEmail,
    PersonField::SafeAddress,
    PersonField::SafeTimes,
    PersonField::CommunicationNeeds,
    PersonField::Language,
    PersonField::Interpreter,
];

pub struct ChannelRow {
    pub code: &'static str,
    pub label: &'static str,
    /// `allowed`, `refused` or "" (not asked).
    pub choice: String,
}

pub struct MessageRow {
    pub queued: String,
    pub channel: &'static str,
    pub template: &'static str,
    pub state: &'static str,
    pub attempts: usize,
    pub last: String,
}

const HOURS: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[hour]:[minute]");

#[derive(Template)]
#[template(path = "contact.html")]
pub struct ContactPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    section: &'static str,
    name: String,
    can_change: bool,
    channels: Vec<ChannelRow>,
    no_voicemail: bool,
    code_word: String,
    message_from: String,
    message_until: String,
    message_weekdays_only: bool,
    recorded: String,
    details: Vec<(&'static str, String)>,
    messages: Vec<MessageRow>,
    errors: Vec<(String, String)>,
}
form_errors!(ContactPage);

async fn page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
) -> Result<ContactPage, PageError> {
    let person = read(state, signed, person_id, Need::Read).await?;
    let prefs: ContactPreferences = state
        .confidant
        .contact_preferences(signed.actor(), Purpose::Support, person_id)
        .await?;
    let messages = state
        .confidant
        .messages(signed.actor(), Purpose::Support, person_id)
        .await?;
    let handles = state.confidant.colleague_names(signed.actor()).await?;
    let recorded = match (&prefs.recorded_at, &prefs.recorded_by) {
        (Some(at), Some(by)) => format!("Last changed {} by {}", date_time(*at), who(&handles, by)),
        _ => String::new(),
    };
    Ok(ContactPage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        section: "contact",
        name: full_name(&person),
        can_change: offers(state, signed, person_id, Need::Decide).await?,
        channels: Channel::ALL
            .into_iter()
            .map(|c| ChannelRow {
                code: c.code(),
                label: c.label(),
                choice: prefs
                    .choice(c)
                    .map(|ch| ch.code().to_owned())
                    .unwrap_or_default(),
            })
            .collect(),
        no_voicemail: prefs.no_voicemail,
        code_word: prefs.code_word.clone().unwrap_or_default(),
        message_from: prefs
            .message_window
            .map(|w| w.from.format(HOURS).unwrap_or_default())
            .unwrap_or_default(),
        message_until: prefs
            .message_window
            .map(|w| w.until.format(HOURS).unwrap_or_default())
            .unwrap_or_default(),
        message_weekdays_only: prefs.message_window.is_some_and(|w| w.weekdays_only),
        recorded,
        details: PERSON_FIELDS
            .into_iter()
            .filter_map(|f| person.get(f).map(|v| (f.spec().label, v.to_owned())))
            .collect(),
        messages: messages
            .into_iter()
            .map(|m| MessageRow {
                queued: date(m.record.queued_at()),
                channel: m.record.channel.label(),
                template: m.record.template.label(),
                state: m.record.state.label(),
                attempts: m.attempts.len(),
                last: m
                    .attempts
                    .last()
                    .map(|a| date_time(a.at()))
                    .unwrap_or_default(),
            })
            .collect(),
        errors: Vec::new(),
    })
}

pub async fn show<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    render(&page(&state, &signed, person_id).await?)
}

pub async fn save<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let mut channels = BTreeMap::new();
    for c in Channel::ALL {
        let choice = form.get(c.code()).trim();
        if !choice.is_empty() {
            channels.insert(c.code().to_owned(), choice.to_owned());
        }
    }
    let input = PreferencesInput {
        channels,
        no_voicemail: form.ticked("no_voicemail"),
        code_word: Some(form.get("code_word").to_owned()),
        message_from: Some(form.get("message_from").to_owned()),
        message_until: Some(form.get("message_until").to_owned()),
        message_weekdays_only: form.ticked("message_weekdays_only"),
    };
    match state
        .confidant
        .set_contact_preferences(signed.actor(), Purpose::Support, person_id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/people/{person_id}/contact")).into_response()),
        Err(PersonError::Invalid(v)) => {
            let mut shown = page(&state, &signed, person_id).await?;
            shown.errors =
                v.0.iter()
                    .map(|e| (e.field.to_owned(), e.message.clone()))
                    .collect();
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &shown)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new().route(
        "/people/{person_id}/contact",
        get(show::<S, C>).post(save::<S, C>),
    )
}
