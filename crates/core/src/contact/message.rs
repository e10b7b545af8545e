//! Messages to a person (R17): templated emails and texts, queued in an outbox and delivered by a
//! transport (SMTP in `confidant-store::mail`) with retries and a delivery log.
//!
//! Guarantees:
//! - Outgoing messages come only from templates, and a template is checked when it is made
//!   ([`Template::new`]) and again when it is rendered: no name placeholders (never a full name), no
//!   placeholder of a special-category or criminal-offence field, no urgent wording and nothing
//!   marked urgent; the rendered text must contain neither the person's given nor family name.
//! - A message through a channel the person refused is refused, naming the channel.
//! - The address and the body are sealed with the person's key (`record_field`, under the message's
//!   id), so erasing the person reaches the outbox too. The delivery log holds ids, attempt numbers,
//!   outcomes, SMTP reply codes and times, never an address or a body.
//! - Queueing and reading the log need `person.update` / `person.read` on the person and are
//!   audited; each delivery attempt is audited (`message.deliver`, actor `system`) in the same
//!   transaction as its log entry.
//! - Texts go only through a configured email-to-SMS gateway; without one they wait, marked "no
//!   text transport configured", and go once a transport can send them.

use std::fmt;
use std::future::Future;

use confidant_policy::Action;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::PersonAccess;
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::contact::sending::PackageSend;
pub use crate::contact::sending::{Attachment, JsonOnly, PackagePdf, QueuedMessage};
pub use crate::contact::template::{Template, TemplateCode};
use crate::contact::{Channel, SafeTimes};
use crate::field::PersonField;
use crate::kernel::codes::codes;
use crate::organisation::micros;
use crate::person::access_of;
use crate::person::{PersonError, Violation, Violations, from_micros};
use crate::record::{open_value, seal_values};
use crate::store::Store;
use crate::{Clock, Confidant};

const TO: &str = "to";
const BODY: &str = "body";

codes!(
    /// Where a message stands.
    MessageState {
        /// Waiting for its next attempt.
        Queued = "queued": "Queued",
        /// A text waiting because no text transport is configured.
        NoTransport = "no_transport": "Waiting: no text transport configured",
        Sent = "sent": "Sent",
        /// Given up: too many failures, a permanent refusal, or the person was erased.
        Failed = "failed": "Failed",
    }
);

codes!(
    /// How one delivery attempt ended.
    AttemptOutcome {
        Sent = "sent",
        /// The server asked to try later (4xx) or could not be reached.
        TemporaryFailure = "temporary_failure",
        /// The server refused the message (5xx).
        PermanentFailure = "permanent_failure",
        NoTransport = "no_transport",
        /// The person's key was destroyed: nothing left to send.
        Erased = "erased",
        /// Outside the times the person said messages may reach them: kept until the next one
        /// (not counted as an attempt).
        OutsideSafeTimes = "outside_safe_times",
        /// Its turn came too late (a reminder, at or after its appointment; a package after its
        /// days): given up, not sent.
        TooLate = "too_late",
        /// A package whose sending is no longer allowed when its turn came (the recipient retired,
        /// a processor's agreement not in force, the referral ended, or the recipient's secure
        /// address changed): given up, not sent.
        Withdrawn = "withdrawn",
        /// The person's record was restricted (Art. 18: only stored) before its turn came:
        /// given up, not sent.
        Restricted = "restricted",
    }
);

/// A message in the outbox as stored: ids, codes and times (address and body sealed under `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub id: Uuid,
    pub person_id: Uuid,
    pub channel: Channel,
    pub template: TemplateCode,
    pub key_version: i64,
    pub state: MessageState,
    pub attempts: i64,
    pub next_attempt_at_micros: Option<i64>,
    pub queued_by: String,
    pub queued_at_micros: i64,
    pub finished_at_micros: Option<i64>,
    /// When it stops making sense (a reminder: its appointment): its turn coming then or later,
    /// it is given up, never sent.
    pub expires_at_micros: Option<i64>,
    /// For a shared package sent to its recipient: the disclosure whose package it carries.
    pub disclosure_id: Option<Uuid>,
}

/// One line of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub message_id: Uuid,
    pub attempt: i64,
    pub at_micros: i64,
    pub outcome: AttemptOutcome,
    /// The SMTP reply code, when the server gave one.
    pub reply_code: Option<i64>,
}

/// A message as shown in the delivery log (no address, no body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageStatus {
    pub record: MessageRecord,
    pub attempts: Vec<AttemptRecord>,
}

/// A message to queue, as a form or the API gives it; checked after the permit.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewMessage {
    /// `email` or `text`.
    pub channel: String,
    /// A template code (`appointment_reminder`, `please_get_in_touch`).
    pub template: String,
    /// When the appointment is (an appointment reminder needs it).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
}

/// A message ready for the transport. Prints no address and no text.
pub struct Outgoing {
    pub message_id: Uuid,
    pub channel: Channel,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Files sent with it (a shared package: its JSON, and its PDF where one could be made).
    pub attachments: Vec<Attachment>,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("message_id", &self.message_id)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// Why a transport did not deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFailure {
    /// Try again later (an SMTP 4xx, or no connection).
    Temporary { reply_code: Option<u16> },
    /// The server refused it for good (an SMTP 5xx).
    Permanent { reply_code: Option<u16> },
    /// This transport cannot send on this channel (texts without a gateway).
    NoTransport,
}

/// The port a message leaves through.
pub trait MessageTransport: Send + Sync {
    /// Whether texts can be sent (an email-to-SMS gateway is configured).
    fn sends_texts(&self) -> bool;
    fn deliver(
        &self,
        message: &Outgoing,
    ) -> impl Future<Output = Result<(), DeliveryFailure>> + Send;
}

/// How often and how far apart delivery is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// The wait after the first failure; each further failure doubles it (at most a day).
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff: Duration::minutes(1),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`th failure (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2_i32.saturating_pow(attempt.saturating_sub(1).min(20));
        (self.backoff * factor).min(Duration::days(1))
    }
}

/// What one run of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    pub waiting_for_transport: usize,
    /// Kept for the person's safe times.
    pub waiting_for_safe_times: usize,
}

/// How long a claimed message is kept from other senders while this one tries it.
const LEASE: Duration = Duration::minutes(5);

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Queues a templated email or text to the person. Refused (naming the field) when the channel
    /// is not email or text, the person refused it, the template is unknown or needs a time not
    /// given, the person has no address for it, or the rendered text fails the checks.
    pub async fn queue_message(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        new: &NewMessage,
    ) -> Result<MessageStatus, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let mut violations = Vec::new();
        let channel = Channel::from_code(new.channel.trim());
        if !matches!(channel, Some(Channel::Email | Channel::Text)) {
            violations.push(Violation::new("channel", "channel must be email or text"));
        }
        let template = TemplateCode::from_code(new.template.trim());
        if template.is_none() {
            violations.push(Violation::new(
                "template",
                "template must be appointment_reminder or please_get_in_touch",
            ));
        }
        if template == Some(TemplateCode::SharedPackage) {
            violations.push(Violation::new(
                "template",
                "a shared package is sent by the share itself",
            ));
        }
        if template == Some(TemplateCode::AppointmentReminder) && new.at.is_none() {
            violations.push(Violation::new(
                "at",
                "an appointment reminder needs the appointment's time",
            ));
        }
        let (Some(channel), Some(template), true) = (channel, template, violations.is_empty())
        else {
            return Err(PersonError::Invalid(Violations(violations)));
        };
        self.check_channel(person_id, channel, "channel").await?;
        let person = self.read_person(actor, purpose, person_id).await?;
        let (safe, usual, what) = match channel {
            Channel::Email => (PersonField::SafeEmail, PersonField::Email, "email address"),
            _ => (PersonField::SafePhone, PersonField::Phone, "phone number"),
        };
        let Some(to) = person.get(safe).or_else(|| person.get(usual)) else {
            return Err(PersonError::Invalid(Violations(vec![Violation::new(
                "channel",
                format!("the person has no {what} on record"),
            )])));
        };
        let mut values = Vec::new();
        if let Some(at) = new.at {
            // The person reads the day and the time in UK time.
            let at = crate::uk_time::to_uk(at);
            let date = at
                .format(time::macros::format_description!(
                    "[weekday] [day padding:none] [month repr:long] [year]"
                ))
                .unwrap_or_default();
            let clock = at
                .format(time::macros::format_description!("[hour]:[minute]"))
                .unwrap_or_default();
            values.push(("date", date));
            values.push(("time", clock));
        }
        let names: Vec<&str> = [PersonField::GivenName, PersonField::FamilyName]
            .into_iter()
            .filter_map(|f| person.get(f))
            .collect();
        let (subject, body) = template
            .template()
            .render(&values, &names)
            .map_err(PersonError::Invalid)?;
        let now = self.clock.now();
        // The first attempt waits for the person's safe times; a reminder they would only get
        // after the appointment is refused.
        let window = self
            .contact_preferences(actor, purpose, person_id)
            .await?
            .message_window;
        let first_attempt = window.map_or(now, |w| w.next_open(now));
        if let (Some(w), Some(at)) = (window, new.at)
            && template == TemplateCode::AppointmentReminder
            && first_attempt >= at
        {
            return Err(PersonError::Invalid(Violations(vec![Violation::new(
                "at",
                format!(
                    "the person's safe times for messages ({}) leave no time to send the reminder before the appointment",
                    w.describe()
                ),
            )])));
        }
        let (key, wrapped) = self.person_key(&permit).await?;
        let id = Uuid::now_v7();
        let full = format!("{subject}\n{body}");
        let sealed = seal_values(&key, id, wrapped.version, [(TO, to), (BODY, full.as_str())]);
        let record = MessageRecord {
            id,
            person_id,
            channel,
            template,
            key_version: wrapped.version,
            state: MessageState::Queued,
            attempts: 0,
            next_attempt_at_micros: Some(micros(first_attempt)),
            queued_by: actor.audit_id(),
            queued_at_micros: micros(now),
            finished_at_micros: None,
            expires_at_micros: match template {
                TemplateCode::AppointmentReminder => new.at.map(micros),
                _ => None,
            },
            disclosure_id: None,
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("message.queue");
        self.store.queue_message(&record, &sealed, audit).await?;
        Ok(MessageStatus {
            record,
            attempts: Vec::new(),
        })
    }

    /// The person's messages with their delivery log, newest first.
    pub async fn messages(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<MessageStatus>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("message.read");
        Ok(self
            .store
            .messages_of(&access_of(&permit)?, audit)
            .await?
            .into_iter()
            .map(|(record, attempts)| MessageStatus { record, attempts })
            .collect())
    }

    /// One run of the outbox's sender: tries every message that is due (at most `limit`), records
    /// each attempt, and schedules retries with back-off until `policy.max_attempts`. Several
    /// senders may run at once: each message is claimed before it is tried.
    pub async fn deliver_messages<T: MessageTransport>(
        &self,
        transport: &T,
        policy: RetryPolicy,
        limit: u32,
    ) -> Result<DeliveryReport, PersonError> {
        self.deliver_messages_with(transport, &JsonOnly, policy, limit)
            .await
    }

    /// [`Confidant::deliver_messages`], with a shared package's PDF made by `pdf` (the binary's
    /// typst renderer; without one a package goes as JSON alone).
    pub async fn deliver_messages_with<T: MessageTransport, R: PackagePdf>(
        &self,
        transport: &T,
        pdf: &R,
        policy: RetryPolicy,
        limit: u32,
    ) -> Result<DeliveryReport, PersonError> {
        let mut report = DeliveryReport::default();
        let now = self.clock.now();
        let due = self
            .store
            .due_messages(micros(now), transport.sends_texts(), limit)
            .await?;
        for message in due {
            let Some(sealed) = self
                .store
                .claim_message(
                    message.id,
                    message.attempts,
                    micros(now),
                    micros(now + LEASE),
                )
                .await?
            else {
                continue;
            };
            let attempt = message.attempts + 1;
            let mut delivery_recorded = false;
            let mut safe = SafeTimes::Any;
            let too_late = message.expires_at_micros.is_some_and(|e| micros(now) >= e);
            let restricted = self.processing_restricted(message.person_id).await?;
            let outcome = match self
                .store
                .person_key(&PersonAccess::named_by_permitted_record(message.person_id))
                .await?
            {
                // Nothing opened: a reminder of an appointment already begun is given up.
                _ if too_late => Err((AttemptOutcome::TooLate, None)),
                _ if restricted => Err((AttemptOutcome::Restricted, None)),
                None => Err((AttemptOutcome::Erased, None)),
                Some(wrapped) => {
                    let key = self.keys.data_key(&wrapped)?;
                    let open = |code: &str| -> Result<String, PersonError> {
                        let bytes = sealed
                            .iter()
                            .find(|(c, _)| c == code)
                            .map(|(_, b)| b)
                            .ok_or(PersonError::Crypto(
                                confidant_crypto::CryptoError::Malformed,
                            ))?;
                        Ok(open_value(
                            &key,
                            message.id,
                            message.key_version,
                            code,
                            bytes,
                        )?)
                    };
                    // The person's safe times as they are now (they may have changed since the
                    // message was queued), before anything of the message is opened. A package
                    // goes to a recipient organisation, not to the person: their times do not
                    // apply.
                    if message.disclosure_id.is_none() {
                        safe = self
                            .safe_times_now(message.person_id, &key, message.id)
                            .await?;
                    }
                    let package = match message.disclosure_id {
                        None => PackageSend::Send {
                            attachments: Vec::new(),
                            address: None,
                        },
                        // A package that cannot be read fails its own message, never the batch
                        // (a database that is unavailable stops the batch, to be tried again).
                        Some(d) => match self.package_attachments(d, pdf).await {
                            Ok(p) => p,
                            Err(PersonError::Store(
                                e @ crate::store::StoreError::Unavailable(_),
                            )) => {
                                return Err(PersonError::Store(e));
                            }
                            Err(_) => PackageSend::Unreadable,
                        },
                    };
                    // The recipient's secure address changed since the package was queued.
                    let address_changed = match &package {
                        PackageSend::Send {
                            address: Some(a), ..
                        } => open(TO).map_or(true, |to| &to != a),
                        _ => false,
                    };
                    if !safe.allows(self.clock.now()) {
                        // Its turn came outside them (the sender was down, a retry, or they
                        // changed): it waits, and nothing is opened or leaves.
                        Err((AttemptOutcome::OutsideSafeTimes, None))
                    } else if matches!(package, PackageSend::Withdrawn) || address_changed {
                        Err((AttemptOutcome::Withdrawn, None))
                    } else if let PackageSend::Send { attachments, .. } = package {
                        let to = open(TO)?;
                        let full = open(BODY)?;
                        let (subject, body) = full.split_once('\n').unwrap_or(("", full.as_str()));
                        let outgoing = Outgoing {
                            message_id: message.id,
                            channel: message.channel,
                            to,
                            subject: subject.to_owned(),
                            body: body.to_owned(),
                            attachments,
                        };
                        // On the chain before the message can leave: a crash after sending cannot
                        // leave a delivery nobody recorded.
                        self.store
                            .append_audit(AuditDraft::delivery(
                                message.id,
                                message.person_id,
                                self.clock.now(),
                            ))
                            .await?;
                        delivery_recorded = true;
                        match transport.deliver(&outgoing).await {
                            Ok(()) => Ok(()),
                            Err(DeliveryFailure::Temporary { reply_code }) => {
                                Err((AttemptOutcome::TemporaryFailure, reply_code))
                            }
                            Err(DeliveryFailure::Permanent { reply_code }) => {
                                Err((AttemptOutcome::PermanentFailure, reply_code))
                            }
                            Err(DeliveryFailure::NoTransport) => {
                                Err((AttemptOutcome::NoTransport, None))
                            }
                        }
                    } else {
                        // The package can no longer be read: nothing to send, and trying again
                        // will not help.
                        Err((AttemptOutcome::PermanentFailure, None))
                    }
                }
            };
            // A later attempt waits for the person's safe times too.
            let when_safe = |t: OffsetDateTime| safe.next_open(t);
            let at = self.clock.now();
            let (outcome, reply_code, state, next) = match outcome {
                Ok(()) => (AttemptOutcome::Sent, None, MessageState::Sent, None),
                Err((AttemptOutcome::TemporaryFailure, code))
                    if attempt < i64::from(policy.max_attempts) =>
                {
                    let delay = policy.delay(u32::try_from(attempt).unwrap_or(u32::MAX));
                    (
                        AttemptOutcome::TemporaryFailure,
                        code,
                        MessageState::Queued,
                        Some(micros(when_safe(at + delay))),
                    )
                }
                Err((AttemptOutcome::OutsideSafeTimes, _)) => (
                    AttemptOutcome::OutsideSafeTimes,
                    None,
                    MessageState::Queued,
                    Some(micros(when_safe(at))),
                ),
                Err((AttemptOutcome::NoTransport, _)) => (
                    AttemptOutcome::NoTransport,
                    None,
                    MessageState::NoTransport,
                    Some(micros(at)),
                ),
                Err((outcome, code)) => (outcome, code, MessageState::Failed, None),
            };
            let deferred = outcome == AttemptOutcome::OutsideSafeTimes;
            match state {
                MessageState::Sent => report.sent += 1,
                MessageState::Queued if deferred => report.waiting_for_safe_times += 1,
                MessageState::Queued => report.retrying += 1,
                MessageState::Failed => report.failed += 1,
                MessageState::NoTransport => report.waiting_for_transport += 1,
            }
            // Waiting for a text transport, or for safe times, is not a failed attempt: it does
            // not count.
            let counted = if state == MessageState::NoTransport || deferred {
                message.attempts
            } else {
                attempt
            };
            let log = AttemptRecord {
                message_id: message.id,
                attempt,
                at_micros: micros(at),
                outcome,
                reply_code: reply_code.map(i64::from),
            };
            let finished =
                matches!(state, MessageState::Sent | MessageState::Failed).then_some(micros(at));
            // An attempt that sent nothing (the person was erased) is recorded with the attempt;
            // one kept for safe times read nothing out and sent nothing.
            let audit = (!delivery_recorded && !deferred)
                .then(|| AuditDraft::delivery(message.id, message.person_id, at));
            self.store
                .record_attempt(&log, state, counted, next, finished, audit)
                .await?;
        }
        Ok(report)
    }
}

impl MessageRecord {
    pub fn queued_at(&self) -> OffsetDateTime {
        from_micros(self.queued_at_micros)
    }
    pub fn finished_at(&self) -> Option<OffsetDateTime> {
        self.finished_at_micros.map(from_micros)
    }
}

impl AttemptRecord {
    pub fn at(&self) -> OffsetDateTime {
        from_micros(self.at_micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            backoff: Duration::seconds(10),
        };
        assert_eq!(p.delay(1), Duration::seconds(10));
        assert_eq!(p.delay(3), Duration::seconds(40));
        assert_eq!(p.delay(40), Duration::days(1));
    }
}
