//! A shared package sent by secure email to its recipient (issue 16, part 8): an ordinary outbox
//! message, queued by the share itself.
//!
//! Guarantees:
//! - The message is written in the disclosure's own transaction ([`QueuedMessage`], passed to
//!   `record_disclosure`): a share asked to send never exists without its queued message, nor the
//!   reverse, and a refused share queues nothing.
//! - Its address (the recipient's secure address from the register, as it was at the share) and
//!   its text are sealed with the person's key under the message's id, as every outbox message's
//!   are. The text names the disclosure's id only. The package itself is not copied: it is read
//!   from the disclosure, sealed there, when the message is delivered, so erasing the person stops
//!   the sending too (no key: the attempt ends as `erased`).
//! - At delivery the package is attached as JSON (the bytes the disclosure's hash covers), and as
//!   a PDF to read when the sender is given a renderer ([`PackagePdf`]: the binary's typst one). The
//!   person's safe times do not apply: the message goes to an organisation, not to the person.
//! - At delivery the sending is checked again ([`PackageSend`]): nothing goes if the recipient was
//!   retired, a processor's agreement is no longer in force, the referral was ended, or the
//!   recipient's secure address is no longer the one the message was queued for (`withdrawn`); a
//!   package not delivered within [`PACKAGE_SEND_DAYS`] days is given up (`too_late`). A package
//!   that can no longer be read fails that message alone, never the rest of the outbox.
//! - "Secure" is the recipient's mailbox (NHSmail, a council's secure domain …) as the register
//!   names it; Confidant sends over the operator's relay with TLS as configured, and adds no
//!   encryption of its own to the message.

use std::fmt;

use uuid::Uuid;

use crate::audit::AuditDraft;
use crate::contact::Channel;
use crate::message::{MessageRecord, MessageState, TemplateCode};
use crate::organisation::micros;
use crate::person::PersonError;
use crate::record::seal_values;
use crate::sharing::Disclosure;
use crate::store::{SealedFields, Store};
use crate::{Clock, Confidant};

/// A file sent with a message. Prints its name only.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Made by Confidant from ids (`disclosure-<id>.json`), never from what the file holds.
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .finish_non_exhaustive()
    }
}

/// Makes a shared package's PDF at delivery. `sender` is the sending organisation's name.
pub trait PackagePdf: Send + Sync {
    /// The PDF, or `None` when it cannot be made (the package then goes as JSON alone).
    fn package_pdf(&self, disclosure: &Disclosure, sender: &str) -> Option<Vec<u8>>;
}

/// No PDF renderer (builds without typst, and the tests): packages go as JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonOnly;

impl PackagePdf for JsonOnly {
    fn package_pdf(&self, _: &Disclosure, _: &str) -> Option<Vec<u8>> {
        None
    }
}

/// A message written in another record's transaction (a share's): the row, its sealed address
/// and text, and its `message.queue` event.
pub struct QueuedMessage {
    pub record: MessageRecord,
    pub sealed: SealedFields,
    pub audit: AuditDraft,
}

impl fmt::Debug for QueuedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuedMessage")
            .field("id", &self.record.id)
            .finish_non_exhaustive()
    }
}

/// The message carrying disclosure `disclosure_id`'s package to `to`, sealed with the person's
/// key, due at once.
pub(crate) fn package_message(
    (key, key_version): (&confidant_crypto::DataKey, i64),
    person_id: Uuid,
    disclosure_id: Uuid,
    to: &str,
    queued_by: String,
    now: time::OffsetDateTime,
    audit: AuditDraft,
) -> Result<QueuedMessage, PersonError> {
    let reference = disclosure_id.to_string();
    let (subject, body) = TemplateCode::SharedPackage
        .template()
        .render(&[("reference", reference)], &[])
        .map_err(PersonError::Invalid)?;
    let id = Uuid::now_v7();
    let full = format!("{subject}\n{body}");
    let sealed = seal_values(key, id, key_version, [("to", to), ("body", full.as_str())]);
    Ok(QueuedMessage {
        record: MessageRecord {
            id,
            person_id,
            channel: Channel::Email,
            template: TemplateCode::SharedPackage,
            key_version,
            state: MessageState::Queued,
            attempts: 0,
            next_attempt_at_micros: Some(micros(now)),
            queued_by,
            queued_at_micros: micros(now),
            finished_at_micros: None,
            expires_at_micros: Some(micros(now + time::Duration::days(PACKAGE_SEND_DAYS))),
            disclosure_id: Some(disclosure_id),
        },
        sealed,
        audit: audit.named("message.queue"),
    })
}

/// How long a queued package may wait for delivery before it is given up.
pub const PACKAGE_SEND_DAYS: i64 = 7;

/// What delivering a package finds.
pub(crate) enum PackageSend {
    /// Send it, with these attachments, if the message's address is still the recipient's.
    Send {
        attachments: Vec<crate::message::Attachment>,
        address: Option<String>,
    },
    /// The package can no longer be read (the person was erased meanwhile, or damage).
    Unreadable,
    /// Sending it is no longer allowed: the recipient retired, a processor's agreement not in
    /// force, or the referral ended.
    Withdrawn,
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// A disclosure's package as attachments, checked again at delivery: the JSON always, the PDF
    /// when `pdf` makes one.
    pub(crate) async fn package_attachments<R: PackagePdf>(
        &self,
        disclosure_id: Uuid,
        pdf: &R,
    ) -> Result<PackageSend, PersonError> {
        let d = self.open_disclosure(disclosure_id, true).await?;
        let Some(package) = &d.package else {
            return Ok(PackageSend::Unreadable);
        };
        let now = micros(self.clock.now());
        let Some(recipient) = self.store.recipient(d.record.recipient_id).await? else {
            return Ok(PackageSend::Withdrawn);
        };
        let agreement_in_force =
            match (recipient.dpa_starts_at_micros, recipient.dpa_ends_at_micros) {
                (Some(s), Some(e)) => s <= now && now < e,
                _ => false,
            };
        let withdrawn = recipient.retired_at_micros.is_some_and(|t| t <= now)
            || d.record.ended_at_micros.is_some()
            || (recipient.kind == crate::store::RecipientKind::Processor && !agreement_in_force);
        if withdrawn {
            return Ok(PackageSend::Withdrawn);
        }
        // Compact, as the disclosure's hash was taken of it.
        let json = serde_json::to_vec(package).map_err(|_| {
            PersonError::Store(crate::store::StoreError::Backend(
                "the package could not be written".to_owned(),
            ))
        })?;
        let mut files = vec![Attachment {
            filename: format!("disclosure-{disclosure_id}.json"),
            content_type: "application/json",
            bytes: json,
        }];
        let sender = match self.store.service(d.record.service_id).await? {
            Some(s) => match self.store.organisation(s.organisation_id).await? {
                Some(o) => o.name,
                None => s.name,
            },
            None => String::new(),
        };
        if let Some(bytes) = pdf.package_pdf(&d, &sender) {
            files.push(Attachment {
                filename: format!("disclosure-{disclosure_id}.pdf"),
                content_type: "application/pdf",
                bytes,
            });
        }
        Ok(PackageSend::Send {
            attachments: files,
            address: recipient.secure_email,
        })
    }
}
