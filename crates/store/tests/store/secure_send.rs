//! Sending a shared package by secure email (issue 16, part 8), on SQLite and PostgreSQL: a share
//! asked to send queues exactly one message in the disclosure's own transaction (a refused share,
//! or one whose message cannot be written, leaves neither), and the outbox delivers it to the
//! recipient's secure address with the package attached, outside the person's safe times too.

use confidant_core::field::{FieldGroups, PersonField};
use confidant_core::message::{MessageState, RetryPolicy};
use confidant_core::person::{PersonError, PersonInput};
use confidant_core::sharing::{RecipientInput, ShareError, ShareRequest};
use confidant_core::store::{ReferralPolicy, ServiceConfig};
use confidant_core::{Clock, Purpose};
use confidant_mail::{SmtpConfig, SmtpMailer};
use confidant_testkit::smtp::SmtpSink;
use confidant_testkit::{TestApp, TestBackend, both_backends, operator};
use sqlx::Row;
use uuid::Uuid;

const P: Purpose = Purpose::Support;
const SECURE: &str = "referrals@riverside.example.org";

struct World {
    app: TestApp,
    person: Uuid,
    /// A recipient with a secure address, and one without.
    secure: Uuid,
    plain: Uuid,
}

async fn world(backend: TestBackend) -> anyhow::Result<World> {
    let app = TestApp::new(backend).await?;
    app.confidant
        .configure_service(
            &operator(),
            &ServiceConfig {
                service_id: app.service_a,
                field_groups: FieldGroups::all(),
                referrals: ReferralPolicy::Anyone,
                partner_service_id: None,
            },
        )
        .await?;
    let person = app
        .confidant
        .create_person(
            &app.worker_a,
            P,
            app.service_a,
            &PersonInput::new()
                .with(PersonField::GivenName, "Nell")
                .with(PersonField::FamilyName, "Quillsend"),
        )
        .await?
        .id;
    let mut ids = Vec::new();
    for (name, email) in [
        ("Riverside Council", Some(SECURE)),
        ("Hillside Council", None),
    ] {
        let input = RecipientInput {
            name: name.to_owned(),
            kind: "statutory_body".to_owned(),
            categories: vec!["identity".to_owned()],
            bases: vec!["legal_obligation".to_owned()],
            secure_email: email.map(str::to_owned),
            ..RecipientInput::default()
        };
        ids.push(
            app.confidant
                .add_recipient(&app.dpo, app.organisation, &input)
                .await?
                .id,
        );
    }
    Ok(World {
        app,
        person,
        secure: ids[0],
        plain: ids[1],
    })
}

fn request(recipient_id: Uuid, basis: &str, send: bool) -> ShareRequest {
    ShareRequest {
        recipient_id,
        fields: vec![PersonField::GivenName.code().to_owned()],
        basis: basis.to_owned(),
        reason: "A statutory return the council asked for".to_owned(),
        person_told: true,
        send,
        ..ShareRequest::default()
    }
}

impl World {
    async fn count(&self, table: &str) -> anyhow::Result<i64> {
        let mut raw = self.app.db.raw().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table}"
        )))
        .fetch_one(&mut raw)
        .await?;
        Ok(row.try_get("n")?)
    }

    async fn counts(&self) -> anyhow::Result<(i64, i64)> {
        Ok((
            self.count("disclosure").await?,
            self.count("message").await?,
        ))
    }
}

both_backends!(
    a_share_with_send_queues_one_message_in_its_own_transaction,
    |backend| async move {
        let w = world(backend).await?;
        let c = &w.app.confidant;
        // No secure address: refused on `send`, nothing written.
        let e = c
            .share(
                &w.app.worker_a,
                P,
                w.person,
                &request(w.plain, "legal_obligation", true),
            )
            .await
            .expect_err("no secure address");
        assert!(
            matches!(&e, ShareError::Person(PersonError::Invalid(v)) if v.0[0].field == "send"),
            "{e:?}"
        );
        // Refused by the rules (a basis the recipient may not receive under): nothing queued.
        let e = c
            .share(
                &w.app.worker_a,
                P,
                w.person,
                &request(w.secure, "public_task", true),
            )
            .await
            .expect_err("refused");
        assert!(matches!(e, ShareError::Blocked(_)), "{e:?}");
        assert_eq!(w.counts().await?, (0, 0));
        // Allowed: one disclosure, exactly one message naming it, sealed (no address in the clear).
        let package = c
            .share(
                &w.app.worker_a,
                P,
                w.person,
                &request(w.secure, "legal_obligation", true),
            )
            .await?;
        assert_eq!(w.counts().await?, (1, 1));
        let d = c
            .disclosure(&w.app.worker_a, P, w.person, package.disclosure_id)
            .await?;
        let sending = d.sending.expect("queued with the share");
        assert_eq!(sending.record.state, MessageState::Queued);
        assert_eq!(sending.record.disclosure_id, Some(package.disclosure_id));
        let mut raw = w.app.db.raw().await?;
        for row in sqlx::query("SELECT value FROM record_field WHERE record_id = $1")
            .bind(sending.record.id.to_string())
            .fetch_all(&mut raw)
            .await?
        {
            let value: Vec<u8> = row.try_get("value")?;
            assert!(!value.windows(SECURE.len()).any(|v| v == SECURE.as_bytes()));
        }
        // Without send: no message.
        c.share(
            &w.app.worker_a,
            P,
            w.person,
            &request(w.secure, "legal_obligation", false),
        )
        .await?;
        assert_eq!(w.counts().await?, (2, 1));
        // A message that cannot be written takes its disclosure with it.
        match backend {
            TestBackend::Sqlite => {
                w.app
                    .db
                    .raw_execute(
                        "CREATE TRIGGER no_message BEFORE INSERT ON message \
                         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
                    )
                    .await?;
            }
            TestBackend::Postgres => {
                w.app
                    .db
                    .raw_execute(
                        "CREATE FUNCTION no_message() RETURNS trigger LANGUAGE plpgsql AS \
                         $$ BEGIN RAISE EXCEPTION 'refused by the test'; END; $$",
                    )
                    .await?;
                w.app
                    .db
                    .raw_execute(
                        "CREATE TRIGGER no_message BEFORE INSERT ON message \
                         FOR EACH ROW EXECUTE FUNCTION no_message()",
                    )
                    .await?;
            }
        }
        assert!(
            c.share(
                &w.app.worker_a,
                P,
                w.person,
                &request(w.secure, "legal_obligation", true)
            )
            .await
            .is_err()
        );
        assert_eq!(
            w.counts().await?,
            (2, 1),
            "neither the share nor its message"
        );
        Ok(())
    }
);

/// The decoded attachments of a sunk email: (headers, body).
fn attachments(data: &str) -> Vec<(String, Vec<u8>)> {
    data.split("\r\n--")
        .filter(|part| part.contains("Content-Disposition: attachment"))
        .filter_map(|part| {
            let (headers, body) = part.split_once("\r\n\r\n")?;
            if headers.contains("Content-Transfer-Encoding: base64") {
                let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                Some((headers.to_owned(), base64(&body)))
            } else {
                Some((headers.to_owned(), body.as_bytes().to_vec()))
            }
        })
        .collect()
}

fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for b in text.bytes().take_while(|b| *b != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == b) else {
            break;
        };
        acc = (acc << 6) | u32::try_from(v).unwrap_or(0);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap_or(0));
        }
    }
    out
}

both_backends!(
    the_outbox_sends_the_package_to_the_secure_address_with_it_attached,
    |backend| async move {
        let w = world(backend).await?;
        let c = &w.app.confidant;
        let sink = SmtpSink::start().await?;
        let mailer = SmtpMailer::new(&SmtpConfig::loopback(sink.port, "noreply@example.org"))?;
        let package = c
            .share(
                &w.app.worker_a,
                P,
                w.person,
                &request(w.secure, "legal_obligation", true),
            )
            .await?;
        let policy = RetryPolicy::default();
        assert_eq!(c.deliver_messages(&mailer, policy, 10).await?.sent, 1);
        let sent = sink.messages();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to, [SECURE]);
        let text = sent[0].data.replace("=\r\n", "");
        let id = package.disclosure_id.to_string();
        assert!(text.contains(&id), "the text names the disclosure");
        assert!(
            !text.contains("Quillsend"),
            "the text does not name the person"
        );
        let files = attachments(&sent[0].data);
        assert_eq!(files.len(), 1, "the JSON alone without a PDF renderer");
        assert!(files[0].0.contains(&format!("disclosure-{id}.json")));
        let json: serde_json::Value = serde_json::from_slice(&files[0].1)?;
        assert_eq!(
            json, package.json,
            "exactly the package the disclosure holds"
        );
        assert_eq!(
            files[0].1,
            serde_json::to_vec(&package.json)?,
            "the bytes its hash was taken of"
        );
        // The disclosure shows it sent, with its attempt; nothing more goes.
        let d = c
            .disclosure(&w.app.worker_a, P, w.person, package.disclosure_id)
            .await?;
        let sending = d.sending.expect("sent");
        assert_eq!(sending.record.state, MessageState::Sent);
        assert_eq!(sending.record.finished_at(), Some(c.clock().now()));
        assert_eq!(sending.attempts.len(), 1);
        assert_eq!(c.deliver_messages(&mailer, policy, 10).await?.sent, 0);
        Ok(())
    }
);

both_backends!(
    a_package_whose_sending_is_no_longer_allowed_is_given_up_at_delivery,
    |backend| async move {
        use confidant_core::message::AttemptOutcome;
        let w = world(backend).await?;
        let c = &w.app.confidant;
        let sink = SmtpSink::start().await?;
        let mailer = SmtpMailer::new(&SmtpConfig::loopback(sink.port, "noreply@example.org"))?;
        let policy = RetryPolicy::default();
        let input = |email: &str| RecipientInput {
            name: "Riverside Council".to_owned(),
            kind: "statutory_body".to_owned(),
            categories: vec!["identity".to_owned()],
            bases: vec!["legal_obligation".to_owned()],
            secure_email: Some(email.to_owned()),
            ..RecipientInput::default()
        };
        // The recipient's secure address changes after the package was queued: nothing goes.
        let first = c
            .share(
                &w.app.worker_a,
                P,
                w.person,
                &request(w.secure, "legal_obligation", true),
            )
            .await?;
        c.update_recipient(
            &w.app.dpo,
            w.secure,
            &input("records@riverside.example.net"),
            false,
        )
        .await?;
        assert_eq!(c.deliver_messages(&mailer, policy, 10).await?.sent, 0);
        // The recipient is retired after the next was queued: nothing goes either.
        let second = c
            .share(
                &w.app.worker_a,
                P,
                w.person,
                &request(w.secure, "legal_obligation", true),
            )
            .await?;
        c.update_recipient(
            &w.app.dpo,
            w.secure,
            &input("records@riverside.example.net"),
            true,
        )
        .await?;
        assert_eq!(c.deliver_messages(&mailer, policy, 10).await?.sent, 0);
        assert!(sink.messages().is_empty());
        for shared in [first, second] {
            let d = c
                .disclosure(&w.app.worker_a, P, w.person, shared.disclosure_id)
                .await?;
            let sending = d.sending.expect("queued once");
            assert_eq!(sending.record.state, MessageState::Failed);
            assert_eq!(
                sending.attempts.last().map(|a| a.outcome),
                Some(AttemptOutcome::Withdrawn)
            );
        }
        Ok(())
    }
);
