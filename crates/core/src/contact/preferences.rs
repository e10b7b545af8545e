//! Contact preferences (R16): per person and per channel (letter, video or messaging platform, phone,
//! home visit, email, text) allowed or refused, "no voicemail", and a code word. Safe contact
//! details and times, and communication needs, are the person's own fields (`safe_phone`,
//! `safe_email`, `safe_address`, `safe_times`, `communication_needs`, `language`, `interpreter`) and
//! are not repeated here.
//!
//! Guarantees:
//! - Preferences are never edited in place: each change is a new row, so the history keeps every
//!   earlier choice with who recorded it and when; the latest row is the one that holds.
//! - Channel choices are codes and flags only; the code word is sealed with the person's own key in
//!   `record_field` under the preferences row's id, so shredding the person makes it unreadable.
//! - Reads need `person.read` and changes `person.update` on the person, audited in the same
//!   transaction (`contact_preferences.read`, `contact_preferences.update`). Input is checked after
//!   the permit, so a refusal and a missing person answer the same, and bad input writes nothing.
//! - A contact recorded through a refused channel is refused, naming the channel
//!   (`Confidant::check_contact_channel`, called when an entry is added); so is a message
//!   ([`crate::message`]).

use std::collections::BTreeMap;
use std::fmt;

use confidant_policy::Action;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::PersonAccess;
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::kernel::codes::codes;
use crate::organisation::micros;
use crate::person::access_of;
use crate::person::{PersonError, Violation, Violations, from_micros};
use crate::record::{open_value, seal_values};
use crate::store::{ContactType, Store};
use crate::{Clock, Confidant};

use super::window::MessageWindow;

/// The field code the code word is sealed under.
const CODE_WORD: &str = "code_word";
/// The field code the hours messages may be sent in are sealed under (they tell when someone is
/// alone or safe).
const WINDOW: &str = "message_window";
const CODE_WORD_MAX: usize = 50;

codes!(
    /// A way of contacting a person.
    #[derive(PartialOrd, Ord)]
    Channel {
        Letter = "letter": "Letter",
        /// A video call or messaging platform.
        Video = "video": "Video call or messaging platform",
        Phone = "phone": "Phone",
        HomeVisit = "home_visit": "Home visit",
        Email = "email": "Email",
        Text = "text": "Text message",
    }
);

impl Channel {
    /// Lower-case words for messages ("contact by home visit").
    pub fn words(self) -> &'static str {
        match self {
            Channel::Letter => "letter",
            Channel::Video => "video call or messaging platform",
            Channel::Phone => "phone",
            Channel::HomeVisit => "home visit",
            Channel::Email => "email",
            Channel::Text => "text message",
        }
    }

    /// The channel a recorded contact went through; `None` for a meeting elsewhere or a note for
    /// the record, which reach the person through no channel they choose.
    pub fn of_contact(contact: ContactType) -> Option<Channel> {
        match contact {
            ContactType::Visit => Some(Channel::HomeVisit),
            ContactType::Phone => Some(Channel::Phone),
            ContactType::Text => Some(Channel::Text),
            ContactType::Email => Some(Channel::Email),
            ContactType::Letter => Some(Channel::Letter),
            ContactType::VideoCall => Some(Channel::Video),
            ContactType::Meeting | ContactType::Record => None,
        }
    }
}

codes!(
    /// What a person said about one channel.
    Choice {
        Allowed = "allowed",
        Refused = "refused",
    }
);

/// One row of a person's contact preferences as stored: codes and flags only (the code word is
/// sealed in `record_field` under `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPreferenceRecord {
    pub id: Uuid,
    pub person_id: Uuid,
    pub allowed: Vec<Channel>,
    pub refused: Vec<Channel>,
    pub no_voicemail: bool,
    pub has_code_word: bool,
    pub key_version: i64,
    pub recorded_by: String,
    pub recorded_at_micros: i64,
}

/// A person's contact preferences, opened. The code word prints as `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactPreferences {
    /// The row these came from (`None`: nothing has been recorded yet).
    pub id: Option<Uuid>,
    pub channels: BTreeMap<Channel, Choice>,
    pub no_voicemail: bool,
    pub code_word: Option<String>,
    /// When messages may reach them (`None`: any time).
    pub message_window: Option<MessageWindow>,
    pub recorded_by: Option<String>,
    pub recorded_at: Option<OffsetDateTime>,
}

impl fmt::Debug for ContactPreferences {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactPreferences")
            .field("id", &self.id)
            .field("channels", &self.channels)
            .field("no_voicemail", &self.no_voicemail)
            .field("code_word", &self.code_word.as_ref().map(|_| "[redacted]"))
            .field(
                "message_window",
                &self.message_window.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl ContactPreferences {
    /// What holds before anything is recorded: no channel asked about, so none refused.
    pub fn none() -> Self {
        Self {
            id: None,
            channels: BTreeMap::new(),
            no_voicemail: false,
            code_word: None,
            message_window: None,
            recorded_by: None,
            recorded_at: None,
        }
    }

    pub fn choice(&self, channel: Channel) -> Option<Choice> {
        self.channels.get(&channel).copied()
    }

    pub fn refuses(&self, channel: Channel) -> bool {
        self.choice(channel) == Some(Choice::Refused)
    }
}

/// A new set of contact preferences as a form or the API gives it: channel code → `allowed` or
/// `refused` (a channel left out has not been asked about), "no voicemail", and the code word
/// (blank or absent: none). Checked only after the permit.
#[derive(Clone, Default, serde::Deserialize)]
pub struct PreferencesInput {
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
    #[serde(default)]
    pub no_voicemail: bool,
    #[serde(default)]
    pub code_word: Option<String>,
    /// Messages only from this UK time (`HH:MM`) …
    #[serde(default)]
    pub message_from: Option<String>,
    /// … until this one (both blank or absent: any time).
    #[serde(default)]
    pub message_until: Option<String>,
    /// … and only Monday to Friday.
    #[serde(default)]
    pub message_weekdays_only: bool,
}

impl fmt::Debug for PreferencesInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreferencesInput")
            .field("channels", &self.channels)
            .field("no_voicemail", &self.no_voicemail)
            .finish_non_exhaustive()
    }
}

/// Checks preference input: every channel code known, every choice `allowed` or `refused`, a code
/// word of at most 50 characters on one line.
pub(crate) fn parse_preferences(input: &PreferencesInput) -> Result<ParsedPreferences, Violations> {
    let mut violations = Vec::new();
    let mut channels = BTreeMap::new();
    for (code, choice) in &input.channels {
        match (Channel::from_code(code), Choice::from_code(choice.trim())) {
            (Some(channel), Some(choice)) => {
                channels.insert(channel, choice);
            }
            (None, _) => violations.push(Violation::new(
                "channels",
                "holds a channel code that is not letter, video, phone, home_visit, email or text",
            )),
            (Some(_), None) => violations.push(Violation::new(
                "channels",
                "each channel is either allowed or refused",
            )),
        }
    }
    let code_word = input
        .code_word
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty());
    if let Some(word) = code_word
        && (word.chars().count() > CODE_WORD_MAX || word.chars().any(char::is_control))
    {
        violations.push(Violation::new(
            "code_word",
            format!("code_word must be one line of at most {CODE_WORD_MAX} characters"),
        ));
    }
    let window = MessageWindow::parse(
        input.message_from.as_deref().unwrap_or_default(),
        input.message_until.as_deref().unwrap_or_default(),
        input.message_weekdays_only,
    )
    .unwrap_or_else(|v| {
        violations.extend(v.0);
        None
    });
    if violations.is_empty() {
        Ok(ParsedPreferences {
            channels,
            code_word: code_word.map(str::to_owned),
            window,
        })
    } else {
        Err(Violations(violations))
    }
}

/// Preference input, checked.
pub(crate) struct ParsedPreferences {
    pub channels: BTreeMap<Channel, Choice>,
    pub code_word: Option<String>,
    pub window: Option<MessageWindow>,
}

impl fmt::Debug for ParsedPreferences {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedPreferences")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

/// The channels given this choice.
fn with_choice(channels: &BTreeMap<Channel, Choice>, wanted: Choice) -> Vec<Channel> {
    channels
        .iter()
        .filter(|(_, c)| **c == wanted)
        .map(|(ch, _)| *ch)
        .collect()
}

fn channels_of(record: &ContactPreferenceRecord) -> BTreeMap<Channel, Choice> {
    let mut channels = BTreeMap::new();
    for c in &record.allowed {
        channels.insert(*c, Choice::Allowed);
    }
    for c in &record.refused {
        channels.insert(*c, Choice::Refused);
    }
    channels
}

/// The violation a refused channel answers with, naming it.
pub(crate) fn refused_channel(field: &'static str, channel: Channel) -> PersonError {
    PersonError::Invalid(Violations(vec![Violation::new(
        field,
        format!(
            "the person has refused contact by {} ({})",
            channel.words(),
            channel.code()
        ),
    )]))
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The person's contact preferences now (nothing recorded: [`ContactPreferences::none`]).
    pub async fn contact_preferences(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<ContactPreferences, PersonError> {
        Ok(self
            .contact_preference_history(actor, purpose, person_id)
            .await?
            .into_iter()
            .next()
            .unwrap_or_else(ContactPreferences::none))
    }

    /// Every recorded set of the person's contact preferences, newest first.
    pub async fn contact_preference_history(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<ContactPreferences>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now())
            .named("contact_preferences.read");
        let rows = self
            .store
            .contact_preference_history(&access_of(&permit)?, audit)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let (key, _) = self.person_key(&permit).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (record, sealed) in rows {
            let open = |code: &str| -> Result<Option<String>, PersonError> {
                match sealed.iter().find(|(c, _)| c == code) {
                    Some((_, bytes)) => Ok(Some(open_value(
                        &key,
                        record.id,
                        record.key_version,
                        code,
                        bytes,
                    )?)),
                    None => Ok(None),
                }
            };
            let code_word = open(CODE_WORD)?;
            let message_window = open(WINDOW)?.as_deref().and_then(MessageWindow::from_code);
            out.push(ContactPreferences {
                id: Some(record.id),
                channels: channels_of(&record),
                no_voicemail: record.no_voicemail,
                code_word,
                message_window,
                recorded_by: Some(record.recorded_by),
                recorded_at: Some(from_micros(record.recorded_at_micros)),
            });
        }
        Ok(out)
    }

    /// Records a new set of contact preferences (the earlier ones stay in the history).
    pub async fn set_contact_preferences(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        input: &PreferencesInput,
    ) -> Result<ContactPreferences, PersonError> {
        let (permit, _) = self
            .permit_on_person_storing(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let ParsedPreferences {
            channels,
            code_word,
            window,
        } = parse_preferences(input).map_err(PersonError::Invalid)?;
        let (key, wrapped) = self.person_key(&permit).await?;
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let record = ContactPreferenceRecord {
            id,
            person_id,
            allowed: with_choice(&channels, Choice::Allowed),
            refused: with_choice(&channels, Choice::Refused),
            no_voicemail: input.no_voicemail,
            has_code_word: code_word.is_some(),
            key_version: wrapped.version,
            recorded_by: actor.audit_id(),
            recorded_at_micros: micros(now),
        };
        let window_code = window.map(|w| w.code());
        let sealed = seal_values(
            &key,
            id,
            wrapped.version,
            code_word
                .as_deref()
                .map(|w| (CODE_WORD, w))
                .into_iter()
                .chain(window_code.as_deref().map(|w| (WINDOW, w))),
        );
        let audit =
            AuditDraft::permitted(&permit, purpose, now).named("contact_preferences.update");
        self.store
            .set_contact_preferences(&record, &sealed, audit)
            .await?;
        Ok(ContactPreferences {
            id: Some(id),
            channels,
            no_voicemail: input.no_voicemail,
            code_word,
            message_window: window,
            recorded_by: Some(record.recorded_by),
            recorded_at: Some(now),
        })
    }

    /// The person's safe times for messages as they stand now, for the outbox delivering
    /// `message_id`: a read of their current preferences by the system, audited as part of that
    /// delivery. Safe times that cannot be read hold the message (they fail closed).
    pub(crate) async fn safe_times_now(
        &self,
        person_id: Uuid,
        key: &confidant_crypto::DataKey,
        message_id: Uuid,
    ) -> Result<SafeTimes, PersonError> {
        let audit = AuditDraft::delivery(message_id, person_id, self.clock.now())
            .named("contact_preferences.read");
        let rows = self
            .store
            .contact_preference_history(&PersonAccess::named_by_permitted_record(person_id), audit)
            .await?;
        let Some((record, sealed)) = rows.into_iter().next() else {
            return Ok(SafeTimes::Any);
        };
        let Some((_, bytes)) = sealed.iter().find(|(c, _)| c == WINDOW) else {
            return Ok(SafeTimes::Any);
        };
        Ok(
            match open_value(key, record.id, record.key_version, WINDOW, bytes)
                .ok()
                .as_deref()
                .and_then(MessageWindow::from_code)
            {
                Some(w) => SafeTimes::Within(w),
                None => SafeTimes::Unreadable,
            },
        )
    }

    /// Refuses a contact through a channel the person refused, naming the channel under `field`.
    /// Reads codes only (no sealed value), as part of an action already permitted and audited.
    pub(crate) async fn check_channel(
        &self,
        person_id: Uuid,
        channel: Channel,
        field: &'static str,
    ) -> Result<(), PersonError> {
        let refused = self
            .store
            .contact_preferences(&PersonAccess::deciding(person_id))
            .await?
            .is_some_and(|p| p.refused.contains(&channel));
        if refused {
            Err(refused_channel(field, channel))
        } else {
            Ok(())
        }
    }

    /// The check an entry makes before it is written: a contact through a channel the person refused
    /// is refused (`contact_type`, naming the channel). Call only after the permit.
    pub(crate) async fn check_contact_channel(
        &self,
        person_id: Uuid,
        contact_type: Option<ContactType>,
    ) -> Result<(), PersonError> {
        match contact_type.and_then(Channel::of_contact) {
            Some(channel) => self.check_channel(person_id, channel, "contact_type").await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contact_type_that_reaches_the_person_has_its_channel() {
        for t in ContactType::ALL {
            let channel = Channel::of_contact(t);
            assert_eq!(
                channel.is_none(),
                matches!(t, ContactType::Meeting | ContactType::Record)
            );
        }
        assert_eq!(
            Channel::of_contact(ContactType::Visit),
            Some(Channel::HomeVisit)
        );
        assert_eq!(
            Channel::of_contact(ContactType::VideoCall),
            Some(Channel::Video)
        );
    }

    #[test]
    fn channel_codes_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::from_code(c.code()), Some(c));
        }
        assert_eq!(Channel::from_code("pigeon"), None);
    }

    #[test]
    fn preference_input_is_checked() {
        let mut input = PreferencesInput::default();
        input.channels.insert("phone".into(), "refused".into());
        input.code_word = Some("  bluebell ".into());
        input.message_from = Some("10:00".into());
        input.message_until = Some("12:00".into());
        let parsed = parse_preferences(&input).expect("valid");
        assert_eq!(parsed.channels.get(&Channel::Phone), Some(&Choice::Refused));
        assert_eq!(parsed.code_word.as_deref(), Some("bluebell"));
        assert_eq!(
            parsed.window.map(|w| w.code()).as_deref(),
            Some("10:00-12:00")
        );
        input.message_until = Some("09:00".into());

        input.channels.insert("pigeon".into(), "allowed".into());
        input.channels.insert("text".into(), "maybe".into());
        input.code_word = Some("x".repeat(51));
        let fields: Vec<_> = parse_preferences(&input)
            .expect_err("invalid")
            .0
            .iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            ["channels", "channels", "code_word", "message_until"]
        );
    }
}

/// When a message may reach a person, as the outbox finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SafeTimes {
    /// No safe times set: any time.
    Any,
    Within(MessageWindow),
    /// Set, but not readable: held, tried again a day later (never sent on a guess).
    Unreadable,
}

impl SafeTimes {
    pub(crate) fn allows(self, t: OffsetDateTime) -> bool {
        match self {
            SafeTimes::Any => true,
            SafeTimes::Within(w) => w.contains(t),
            SafeTimes::Unreadable => false,
        }
    }

    /// The first moment at or after `t` a message may go.
    pub(crate) fn next_open(self, t: OffsetDateTime) -> OffsetDateTime {
        match self {
            SafeTimes::Any => t,
            SafeTimes::Within(w) => w.next_open(t),
            SafeTimes::Unreadable => t + time::Duration::days(1),
        }
    }
}
