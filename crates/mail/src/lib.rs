//! The outbox's transport: SMTP through lettre (async, rustls, pooled) to the configured server.
//! Emails go to the person's address; texts go through an email-to-SMS gateway when one is
//! configured (`<digits>@<gateway domain>`), and otherwise are reported as having no transport, so
//! the outbox keeps them waiting and says so.
//!
//! Guarantees:
//! - Plain (unencrypted) SMTP is accepted only to a loopback server (a local relay, or a test
//!   sink); anything else needs TLS or STARTTLS, checked when the configuration is read.
//! - Nothing here logs an address or a body: failures are logged with the message id and the SMTP
//!   reply code only.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use confidant_core::contact::Channel;
use confidant_core::message::{DeliveryFailure, MessageTransport, Outgoing};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment as MailAttachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain SMTP: only to a loopback server.
    None,
    /// STARTTLS on the submission port (587).
    #[default]
    Starttls,
    /// TLS from the start (465).
    Tls,
}

/// The SMTP server the outbox sends through. The password prints as `[redacted]`.
#[derive(Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// The sender address (`Support service <noreply@example.org>`). Keep it neutral: it is what the
    /// person's phone or inbox shows.
    pub from: String,
    #[serde(default)]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    /// Never read from or written to the TOML file: it comes from `CONFIDANT_SMTP_PASSWORD` or the
    /// file named by `password_file`.
    #[serde(skip)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    /// The domain of an email-to-SMS gateway; texts are not sent without one.
    #[serde(default)]
    pub sms_gateway: Option<String>,
    /// Attempts before a message is given up (default 5).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The wait after the first failure, doubled after each further one (default 60 s).
    #[serde(default = "default_backoff")]
    pub backoff_seconds: u32,
    /// How often the background sender looks for due messages (default 30 s).
    #[serde(default = "default_poll")]
    pub poll_seconds: u32,
}

fn default_port() -> u16 {
    587
}
fn default_max_attempts() -> u32 {
    5
}
fn default_backoff() -> u32 {
    60
}
fn default_poll() -> u32 {
    30
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("sms_gateway", &self.sms_gateway)
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// A plain-SMTP configuration for a server on loopback (tests, a local relay).
    pub fn loopback(port: u16, from: &str) -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port,
            from: from.to_owned(),
            security: SmtpSecurity::None,
            username: None,
            password: None,
            password_file: None,
            sms_gateway: None,
            max_attempts: default_max_attempts(),
            backoff_seconds: default_backoff(),
            poll_seconds: default_poll(),
        }
    }

    /// The checks that need no connection: a usable sender address, plain SMTP only to loopback,
    /// user name and password together.
    pub fn check(&self) -> Result<(), MailConfigError> {
        self.from
            .parse::<Mailbox>()
            .map_err(|_| MailConfigError::From)?;
        if self.security == SmtpSecurity::None && !is_loopback(&self.host) {
            return Err(MailConfigError::PlainNotLoopback);
        }
        if self.username.is_some() != (self.password.is_some() || self.password_file.is_some()) {
            return Err(MailConfigError::Credentials);
        }
        Ok(())
    }

    pub fn retry_policy(&self) -> confidant_core::message::RetryPolicy {
        confidant_core::message::RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            backoff: time::Duration::seconds(i64::from(self.backoff_seconds)),
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("smtp.from is not an email address")]
    From,
    #[error("smtp.security = \"none\" is allowed only for a loopback host")]
    PlainNotLoopback,
    #[error("smtp.username and smtp.password go together")]
    Credentials,
    #[error("smtp.host cannot be used for TLS: {0}")]
    Tls(String),
}

/// The SMTP transport of the outbox.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    sms_gateway: Option<String>,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("sms_gateway", &self.sms_gateway.is_some())
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl SmtpMailer {
    /// The transport for `config`. Call it inside a Tokio runtime: the connection pool runs there.
    pub fn new(config: &SmtpConfig) -> Result<Self, MailConfigError> {
        config.check()?;
        let from: Mailbox = config.from.parse().map_err(|_| MailConfigError::From)?;
        let builder = match config.security {
            SmtpSecurity::None => {
                if !is_loopback(&config.host) {
                    return Err(MailConfigError::PlainNotLoopback);
                }
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            }
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|e| MailConfigError::Tls(e.to_string()))?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| MailConfigError::Tls(e.to_string()))?,
        };
        let builder = builder
            .port(config.port)
            .timeout(Some(Duration::from_secs(30)));
        let builder = match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                builder.credentials(Credentials::new(user.clone(), password.clone()))
            }
            (None, None) => builder,
            _ => return Err(MailConfigError::Credentials),
        };
        Ok(Self {
            transport: builder.build(),
            from,
            sms_gateway: config
                .sms_gateway
                .as_deref()
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned),
        })
    }

    /// The address a message goes to, or `None` when this channel has no transport here.
    fn recipient(&self, message: &Outgoing) -> Option<String> {
        match message.channel {
            Channel::Email => Some(message.to.clone()),
            Channel::Text => {
                let gateway = self.sms_gateway.as_ref()?;
                let digits: String = message.to.chars().filter(char::is_ascii_digit).collect();
                Some(format!("{digits}@{gateway}"))
            }
            _ => None,
        }
    }
}

fn reply_code(e: &lettre::transport::smtp::Error) -> Option<u16> {
    e.status().and_then(|c| c.to_string().parse().ok())
}

impl MessageTransport for SmtpMailer {
    fn sends_texts(&self) -> bool {
        self.sms_gateway.is_some()
    }

    async fn deliver(&self, message: &Outgoing) -> Result<(), DeliveryFailure> {
        let Some(to) = self.recipient(message) else {
            return Err(DeliveryFailure::NoTransport);
        };
        let Ok(to) = to.parse::<Mailbox>() else {
            // The stored address cannot be used: trying again will not help.
            tracing::warn!(message.id = %message.message_id, "message address is not usable");
            return Err(DeliveryFailure::Permanent { reply_code: None });
        };
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone());
        let email = if message.attachments.is_empty() {
            builder
                .header(ContentType::TEXT_PLAIN)
                .body(message.body.clone())
        } else {
            // The text, then each file (a shared package's JSON and PDF) as an attachment.
            let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(message.body.clone()));
            for file in &message.attachments {
                let kind = ContentType::parse(file.content_type)
                    .map_err(|_| DeliveryFailure::Permanent { reply_code: None })?;
                // Base64 whatever the content: the file arrives byte for byte (its hash holds).
                let body =
                    Body::new_with_encoding(file.bytes.clone(), ContentTransferEncoding::Base64)
                        .map_err(|_| DeliveryFailure::Permanent { reply_code: None })?;
                parts =
                    parts.singlepart(MailAttachment::new(file.filename.clone()).body(body, kind));
            }
            builder.multipart(parts)
        }
        .map_err(|_| DeliveryFailure::Permanent { reply_code: None })?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let code = reply_code(&e);
                tracing::warn!(
                    message.id = %message.message_id,
                    smtp.code = code,
                    permanent = e.is_permanent(),
                    "message delivery failed"
                );
                if e.is_permanent() {
                    Err(DeliveryFailure::Permanent { reply_code: code })
                } else {
                    Err(DeliveryFailure::Temporary { reply_code: code })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_smtp_is_only_for_loopback() {
        let mut c = SmtpConfig::loopback(2525, "Support <noreply@example.org>");
        assert!(SmtpMailer::new(&c).is_ok());
        c.host = "mail.example.org".into();
        assert!(matches!(
            SmtpMailer::new(&c),
            Err(MailConfigError::PlainNotLoopback)
        ));
        c.security = SmtpSecurity::Starttls;
        assert!(SmtpMailer::new(&c).is_ok());
    }

    #[test]
    fn the_password_is_not_printed() {
        let mut c = SmtpConfig::loopback(2525, "noreply@example.org");
        c.password = Some("hunter2-secret".into());
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
