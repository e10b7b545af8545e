//! Appointments.

use confidant_core::message::{NewMessage, TemplateCode};

use super::*;
use crate::pages::form::FormData;
use crate::pages::{TrainedForm, TrainedStaff};

pub(super) struct AppointmentView {
    id: String,
    when: String,
    title: String,
    place: String,
    status: String,
    next: Vec<(String, String)>,
    /// Booked and still to come: a reminder may be sent.
    remind: bool,
}

#[derive(Template)]
#[template(path = "appointments.html")]
pub(super) struct AppointmentsPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    section: &'static str,
    name: String,
    can_change: bool,
    appointments: Vec<AppointmentView>,
}

pub async fn appointments<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path(person_id): Path<Uuid>,
) -> Result<Response, PageError> {
    let name = person_name(&state, &signed, person_id, Need::ReadReferred).await?;
    let mut entries = entries_of(&state, &signed, person_id, &[RecordKind::Appointment]).await?;
    entries.sort_by_key(|e| std::cmp::Reverse(e.occurs_at));
    let now = state.confidant.clock().now();
    let appointments = entries
        .into_iter()
        .map(|e| AppointmentView {
            id: e.id.to_string(),
            when: date_time(e.occurs_at),
            title: e.values.get("title").unwrap_or_default().to_owned(),
            place: e.values.get("place").unwrap_or_default().to_owned(),
            status: status_label(e.status),
            next: other_statuses(e.kind, e.status),
            remind: e.status == Some(EntryStatus::Booked) && e.occurs_at > now,
        })
        .collect();
    render(&AppointmentsPage {
        chrome: signed.chrome("/people"),
        csrf: signed.csrf().to_owned(),
        id: person_id.to_string(),
        section: "appointments",
        name,
        can_change: offers(&state, &signed, person_id, Need::Change).await?,
        appointments,
    })
}

/// An appointment, for [`add_form`].
pub struct AppointmentForm;

impl AddPart for AppointmentForm {
    fn page(signed: &Signed, person_id: Uuid, name: String, _today: Date) -> FormPage {
        add_page(
            signed,
            person_id,
            name,
            "appointments",
            "Add an appointment",
            vec![
                FormField::input("title", "What"),
                FormField::input("place", "Where").hint("Optional"),
                FormField::date("occurs_on", "Date", "").hint("For example, 27 3 2026"),
                FormField::input("occurs_time", "Time")
                    .hint("In 24-hour time, for example 14:30")
                    .classes("govuk-input--width-5"),
            ],
            "Add the appointment",
        )
    }
}

pub async fn appointment_create<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(person_id): Path<Uuid>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let page = add_form_again::<S, C, AppointmentForm>(&state, &signed, person_id).await?;
    let mut problems = Vec::new();
    let day = match parse_day(&form.date("occurs_on")) {
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            problems.push(violation("occurs_on", "must be given"));
            None
        }
        Err(()) => {
            problems.push(violation("occurs_on", "must be a real date"));
            None
        }
    };
    let time = parse_time(form.get("occurs_time"));
    if time.is_none() {
        problems.push(violation("occurs_time", "must be a time such as 14:30"));
    }
    // Typed in UK time: the hour the clocks skip in spring does not exist.
    let when = match (day, time) {
        (Some(day), Some(time)) => match confidant_core::uk_time::from_uk(day, time) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(violation("occurs_time", &e.to_string()));
                None
            }
        },
        _ => None,
    };
    let Some(when) = when else {
        let errors = labelled_errors(&Violations(problems), entry_label(RecordKind::Appointment));
        return Ok(form_error(page, &form, errors));
    };
    let new = NewEntry {
        occurs_at: Some(when),
        ..new_entry(
            RecordKind::Appointment,
            record_input(&form, &["title", "place"]),
        )
    };
    add_simple(&state, &signed, person_id, new, page, &form).await
}

// --- a reminder of an appointment, sent through the outbox ---

/// The reminder form, for a booked appointment still to come.
async fn reminder_page<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
    person_id: Uuid,
    entry_id: Uuid,
) -> Result<(FormPage, Entry), PageError> {
    let name = person_name(state, signed, person_id, Need::Change).await?;
    let entry = entry_of(state, signed, person_id, entry_id).await?;
    let now = state.confidant.clock().now();
    if entry.kind != RecordKind::Appointment
        || entry.status != Some(EntryStatus::Booked)
        || entry.occurs_at <= now
    {
        return Err(PageError::Conflict(
            "a reminder is sent only for a booked appointment still to come",
        ));
    }
    let window = state
        .confidant
        .contact_preferences(signed.actor(), Purpose::Support, person_id)
        .await?
        .message_window;
    let what = entry.values.get("title").unwrap_or("The appointment");
    let mut intro = format!(
        "{what}, {}. The reminder gives only the day and the time: never what it is about, \
         where, or the person's name. It goes to their safe address or number if they have one.",
        date_time(entry.occurs_at)
    );
    if let Some(w) = window {
        intro.push_str(&format!(
            " They said messages may reach them {}: it waits until then.",
            w.describe()
        ));
    }
    let page = FormPage::new(
        signed.chrome("/people"),
        signed.csrf(),
        "Send a reminder",
        format!("/people/{person_id}/appointments/{entry_id}/reminder"),
        vec![FormField::radios(
            "channel",
            "How should it reach them?",
            vec![
                ("email".to_owned(), "Email".to_owned()),
                ("text".to_owned(), "Text message".to_owned()),
            ],
        )],
        Vec::new(),
    )
    .caption(name)
    .back(format!("/people/{person_id}/appointments"))
    .intro(intro)
    .submit("Send the reminder");
    Ok((page, entry))
}

pub async fn reminder_form<S: Store, C: Clock>(
    state: St<S, C>,
    TrainedStaff(signed): TrainedStaff,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    render(&reminder_page(&state, &signed, person_id, entry_id).await?.0)
}

pub async fn reminder_send<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path((person_id, entry_id)): Path<(Uuid, Uuid)>,
    TrainedForm(form): TrainedForm<FormData>,
) -> Result<Response, PageError> {
    let (page, entry) = reminder_page(&state, &signed, person_id, entry_id).await?;
    let channel = form.get("channel");
    if channel.is_empty() {
        let errors = vec![(
            "channel".to_owned(),
            "Choose email or a text message".to_owned(),
        )];
        return Ok(form_error(page, &form, errors));
    }
    let new = NewMessage {
        channel: channel.to_owned(),
        template: TemplateCode::AppointmentReminder.code().to_owned(),
        at: Some(entry.occurs_at),
    };
    match state
        .confidant
        .queue_message(signed.actor(), Purpose::Support, person_id, &new)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/people/{person_id}/contact"))),
        // A refused channel, no address, or safe times that leave no time: shown on the choice.
        Err(PersonError::Invalid(v)) => {
            let errors =
                v.0.into_iter()
                    .map(|e| ("channel".to_owned(), e.message))
                    .collect();
            Ok(form_error(page, &form, errors))
        }
        Err(e) => Err(e.into()),
    }
}

/// The statuses after the current one (an appointment's, or paper's, which only moves on:
/// transcribed, then destroyed).
pub(super) fn later_statuses(
    kind: RecordKind,
    current: Option<EntryStatus>,
) -> Vec<(String, String)> {
    let all = EntryStatus::of_kind(kind);
    let next = current
        .and_then(|c| all.iter().position(|s| *s == c))
        .map_or(0, |p| p + 1);
    all.iter()
        .skip(next)
        .map(|s| (s.code().to_owned(), s.label().to_owned()))
        .collect()
}
