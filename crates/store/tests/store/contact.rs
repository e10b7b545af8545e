//! Contact preferences and messages (F4 points 3 and 6), through the core services on SQLite and
//! PostgreSQL: refused channels refuse contacts and messages, the preference history, the template
//! checks, the outbox against a local SMTP sink (delivery, retries after 451, giving up), sealing of
//! addresses and bodies, and erasure.

use confidant_core::audit::verify_chain;
use confidant_core::contact::{Channel, Choice, PreferencesInput};
use confidant_core::field::{PersonField, RecordKind};
use confidant_core::message::{AttemptOutcome, MessageState, NewMessage, RetryPolicy};
use confidant_core::person::{PersonError, PersonInput};
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::store::{ContactType, NoteFlags};
use confidant_core::{Clock, Purpose};
use confidant_mail::{SmtpConfig, SmtpMailer};
use confidant_testkit::smtp::SmtpSink;
use confidant_testkit::{TestApp, both_backends};
use time::Duration;

const P: Purpose = Purpose::Support;
const FROM: &str = "Support <noreply@example.org>";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn person() -> PersonInput {
    PersonInput::new()
        .with(PersonField::GivenName, "Marigold")
        .with(PersonField::FamilyName, "Quartermaine")
        .with(PersonField::Email, "usual.inbox@example.net")
        .with(PersonField::SafeEmail, "safe.canary.inbox@example.net")
        .with(PersonField::Phone, "07700 900123")
}

fn preferences(choices: &[(&str, &str)], code_word: Option<&str>) -> PreferencesInput {
    PreferencesInput {
        channels: choices
            .iter()
            .map(|(c, v)| ((*c).to_owned(), (*v).to_owned()))
            .collect(),
        no_voicemail: true,
        code_word: code_word.map(str::to_owned),
        ..PreferencesInput::default()
    }
}

fn contact(kind: ContactType) -> NewEntry {
    NewEntry {
        kind: RecordKind::Note,
        case_id: None,
        parent_id: None,
        contact_type: Some(kind),
        occurs_at: None,
        status: None,
        due_at: None,
        flags: NoteFlags::default(),
        values: RecordInput::new().with("body", "Spoke about housing"),
    }
}

fn message(channel: &str, template: &str) -> NewMessage {
    NewMessage {
        channel: channel.to_owned(),
        template: template.to_owned(),
        at: Some(time::macros::datetime!(2026-11-24 14:30 UTC)),
    }
}

fn violation(e: &PersonError) -> Vec<(&'static str, String)> {
    match e {
        PersonError::Invalid(v) => v.0.iter().map(|v| (v.field, v.message.clone())).collect(),
        _ => Vec::new(),
    }
}

fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        backoff: Duration::seconds(10),
    }
}

async fn chain_is_intact(app: &TestApp) -> anyhow::Result<()> {
    let verified = verify_chain(app.confidant.store(), None).await?;
    anyhow::ensure!(verified.is_ok(), "chain broken: {verified:?}");
    Ok(())
}

both_backends!(
    a_refused_channel_refuses_the_contact_and_the_reminder,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let p = c
            .create_person(&app.worker_a, P, app.service_a, &person())
            .await?;
        // Before anything is recorded nothing is refused.
        c.add_entry(&app.worker_a, P, p.id, &contact(ContactType::Phone))
            .await?;
        c.set_contact_preferences(
            &app.worker_a,
            P,
            p.id,
            &preferences(
                &[
                    ("phone", "refused"),
                    ("home_visit", "refused"),
                    ("email", "refused"),
                    ("text", "allowed"),
                    ("letter", "allowed"),
                ],
                None,
            ),
        )
        .await?;
        let before = c.entries(&app.worker_a, P, p.id, &[]).await?.len();
        for (kind, code) in [
            (ContactType::Phone, "phone"),
            (ContactType::Visit, "home_visit"),
            (ContactType::Email, "email"),
        ] {
            let e = c
                .add_entry(&app.worker_a, P, p.id, &contact(kind))
                .await
                .expect_err("refused channel");
            let v = violation(&e);
            assert_eq!(v.len(), 1, "{e:?}");
            assert_eq!(v[0].0, "contact_type");
            assert!(v[0].1.contains(code), "names the channel: {}", v[0].1);
        }
        // Allowed, not asked about, and no-channel contacts go through.
        for kind in [
            ContactType::Letter,
            ContactType::Text,
            ContactType::VideoCall,
            ContactType::Meeting,
            ContactType::Record,
        ] {
            c.add_entry(&app.worker_a, P, p.id, &contact(kind)).await?;
        }
        assert_eq!(
            c.entries(&app.worker_a, P, p.id, &[]).await?.len(),
            before + 5
        );
        // A reminder by email is refused, naming the channel; by text it is queued.
        let e = c
            .queue_message(
                &app.worker_a,
                P,
                p.id,
                &message("email", "appointment_reminder"),
            )
            .await
            .expect_err("email refused");
        assert_eq!(violation(&e)[0].0, "channel");
        assert!(violation(&e)[0].1.contains("email"));
        let queued = c
            .queue_message(
                &app.worker_a,
                P,
                p.id,
                &message("text", "appointment_reminder"),
            )
            .await?;
        assert_eq!(queued.record.state, MessageState::Queued);
        assert_eq!(c.messages(&app.worker_a, P, p.id).await?.len(), 1);
        // From another service, the person is not found, whatever the input.
        assert!(matches!(
            c.queue_message(&app.worker_b, P, p.id, &message("pigeon", "x"))
                .await,
            Err(PersonError::NotFound)
        ));
        chain_is_intact(&app).await
    }
);

both_backends!(
    preferences_keep_their_history_and_bad_input_writes_nothing,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let p = c
            .create_person(&app.worker_a, P, app.service_a, &person())
            .await?;
        let none = c.contact_preferences(&app.worker_a, P, p.id).await?;
        assert!(none.id.is_none() && none.channels.is_empty());
        c.set_contact_preferences(
            &app.worker_a,
            P,
            p.id,
            &preferences(&[("phone", "allowed")], Some("bluebell")),
        )
        .await?;
        c.set_contact_preferences(
            &app.worker_a,
            P,
            p.id,
            &preferences(&[("phone", "refused"), ("video", "allowed")], None),
        )
        .await?;
        let now = c.contact_preferences(&app.worker_a, P, p.id).await?;
        assert_eq!(now.choice(Channel::Phone), Some(Choice::Refused));
        assert_eq!(now.choice(Channel::Video), Some(Choice::Allowed));
        assert_eq!(now.choice(Channel::Letter), None);
        assert!(now.no_voicemail);
        assert_eq!(now.code_word, None);
        let history = c.contact_preference_history(&app.worker_a, P, p.id).await?;
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].code_word.as_deref(), Some("bluebell"));
        assert_eq!(history[1].choice(Channel::Phone), Some(Choice::Allowed));
        assert!(!format!("{:?}", history[1]).contains("bluebell"));
        // Bad input is refused by name and writes nothing.
        let e = c
            .set_contact_preferences(
                &app.worker_a,
                P,
                p.id,
                &preferences(&[("pigeon", "allowed"), ("text", "maybe")], None),
            )
            .await
            .expect_err("bad channel");
        assert!(violation(&e).iter().all(|(f, _)| *f == "channels"));
        assert_eq!(
            c.contact_preference_history(&app.worker_a, P, p.id)
                .await?
                .len(),
            2
        );
        // Another service's worker sees nothing and learns nothing from bad input.
        assert!(matches!(
            c.contact_preferences(&app.worker_b, P, p.id).await,
            Err(PersonError::NotFound)
        ));
        assert!(matches!(
            c.set_contact_preferences(
                &app.worker_b,
                P,
                p.id,
                &preferences(&[("pigeon", "x")], None)
            )
            .await,
            Err(PersonError::NotFound)
        ));
        chain_is_intact(&app).await
    }
);

both_backends!(
    messages_only_come_from_checked_templates,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let p = c
            .create_person(&app.worker_a, P, app.service_a, &person())
            .await?;
        for (m, field) in [
            (message("letter", "appointment_reminder"), "channel"),
            (message("email", "free_text"), "template"),
            (
                NewMessage {
                    at: None,
                    ..message("email", "appointment_reminder")
                },
                "at",
            ),
        ] {
            let e = c
                .queue_message(&app.worker_a, P, p.id, &m)
                .await
                .expect_err("refused");
            assert_eq!(violation(&e)[0].0, field);
        }
        // A person whose name would appear in the rendered text (here: named like the weekday of
        // the appointment) is refused at render, and nothing is queued.
        let monday = c
            .create_person(
                &app.worker_a,
                P,
                app.service_a,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Tuesday")
                    .with(PersonField::FamilyName, "Adams")
                    .with(PersonField::Email, "t.adams@example.net"),
            )
            .await?;
        let e = c
            .queue_message(
                &app.worker_a,
                P,
                monday.id,
                &message("email", "appointment_reminder"),
            )
            .await
            .expect_err("named");
        assert!(violation(&e)[0].1.contains("name"));
        assert!(c.messages(&app.worker_a, P, monday.id).await?.is_empty());
        // A person with no phone number cannot be texted.
        let e = c
            .queue_message(
                &app.worker_a,
                P,
                monday.id,
                &message("text", "please_get_in_touch"),
            )
            .await
            .expect_err("no phone");
        assert!(violation(&e)[0].1.contains("phone number"));
        chain_is_intact(&app).await
    }
);

both_backends!(
    the_outbox_delivers_to_the_safe_address_and_retries_after_451,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let sink = SmtpSink::failing_first(2).await?;
        let mailer = SmtpMailer::new(&SmtpConfig::loopback(sink.port, FROM))?;
        let p = c
            .create_person(&app.worker_a, P, app.service_a, &person())
            .await?;
        let queued = c
            .queue_message(
                &app.worker_a,
                P,
                p.id,
                &message("email", "appointment_reminder"),
            )
            .await?;
        // First run: 451, retry scheduled after the back-off; a run before then sends nothing.
        let report = c.deliver_messages(&mailer, fast_retries(5), 10).await?;
        assert_eq!(report.retrying, 1);
        let again = c.deliver_messages(&mailer, fast_retries(5), 10).await?;
        assert_eq!(again, Default::default());
        c.clock().advance(Duration::seconds(10));
        assert_eq!(
            c.deliver_messages(&mailer, fast_retries(5), 10)
                .await?
                .retrying,
            1
        );
        // The second back-off is twice the first.
        c.clock().advance(Duration::seconds(10));
        assert_eq!(
            c.deliver_messages(&mailer, fast_retries(5), 10).await?,
            Default::default()
        );
        c.clock().advance(Duration::seconds(10));
        assert_eq!(
            c.deliver_messages(&mailer, fast_retries(5), 10).await?.sent,
            1
        );
        assert_eq!(sink.refusals(), 2);
        let sent = sink.messages();
        assert_eq!(sent.len(), 1);
        // Safe address first; no name; the template's text with the appointment's time.
        assert_eq!(sent[0].to, ["safe.canary.inbox@example.net"]);
        // Undo quoted-printable soft line breaks before looking at the text.
        let text = sent[0].data.replace("=\r\n", "");
        assert!(text.contains("Tuesday 24 November 2026 at 14:30"), "{text}");
        assert!(!sent[0].data.contains("Marigold") && !sent[0].data.contains("Quartermaine"));
        // The delivery log: every attempt with its outcome, time and reply code.
        let log = c.messages(&app.worker_a, P, p.id).await?;
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].record.id, queued.record.id);
        assert_eq!(log[0].record.state, MessageState::Sent);
        let outcomes: Vec<_> = log[0]
            .attempts
            .iter()
            .map(|a| (a.attempt, a.outcome, a.reply_code))
            .collect();
        assert_eq!(
            outcomes,
            [
                (1, AttemptOutcome::TemporaryFailure, Some(451)),
                (2, AttemptOutcome::TemporaryFailure, Some(451)),
                (3, AttemptOutcome::Sent, None),
            ]
        );
        // Nothing more is due.
        c.clock().advance(Duration::hours(1));
        assert_eq!(
            c.deliver_messages(&mailer, fast_retries(5), 10).await?,
            Default::default()
        );
        assert_eq!(sink.messages().len(), 1);
        chain_is_intact(&app).await
    }
);

both_backends!(
    the_outbox_gives_up_after_the_last_attempt,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let sink = SmtpSink::failing_first(100).await?;
        let mailer = SmtpMailer::new(&SmtpConfig::loopback(sink.port, FROM))?;
        let p = c
            .create_person(&app.worker_a, P, app.service_a, &person())
            .await?;
        c.queue_message(
            &app.worker_a,
            P,
            p.id,
            &message("email", "please_get_in_touch"),
        )
        .await?;
        let mut failed = 0;
        for _ in 0..5 {
            failed += c
                .deliver_messages(&mailer, fast_retries(3), 10)
                .await?
                .failed;
            c.clock().advance(Duration::minutes(5));
        }
        assert_eq!(failed, 1);
        assert_eq!(sink.refusals(), 3);
        let log = c.messages(&app.worker_a, P, p.id).await?;
        assert_eq!(log[0].record.state, MessageState::Failed);
        assert_eq!(log[0].attempts.len(), 3);
        assert!(log[0].record.finished_at_micros.is_some());
        chain_is_intact(&app).await
    }
);

both_backends!(
    texts_wait_honestly_without_a_text_transport,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let sink = SmtpSink::start().await?;
        let p = c
            .create_person(&app.worker_a, P, app.service_a, &person())
            .await?;
        c.queue_message(
            &app.worker_a,
            P,
            p.id,
            &message("text", "please_get_in_touch"),
        )
        .await?;
        let plain = SmtpMailer::new(&SmtpConfig::loopback(sink.port, FROM))?;
        let report = c.deliver_messages(&plain, fast_retries(3), 10).await?;
        assert_eq!(report.waiting_for_transport, 1);
        // Not picked up again while there is still no transport.
        c.clock().advance(Duration::hours(1));
        assert_eq!(
            c.deliver_messages(&plain, fast_retries(3), 10).await?,
            Default::default()
        );
        let log = c.messages(&app.worker_a, P, p.id).await?;
        assert_eq!(log[0].record.state, MessageState::NoTransport);
        assert_eq!(
            log[0].record.state.label(),
            "Waiting: no text transport configured"
        );
        // With a gateway configured, it goes to <digits>@gateway.
        let mut config = SmtpConfig::loopback(sink.port, FROM);
        config.sms_gateway = Some("sms.example.net".into());
        let gateway = SmtpMailer::new(&config)?;
        assert_eq!(
            c.deliver_messages(&gateway, fast_retries(3), 10)
                .await?
                .sent,
            1
        );
        assert_eq!(sink.messages()[0].to, ["07700900123@sms.example.net"]);
        let log = c.messages(&app.worker_a, P, p.id).await?;
        let outcomes: Vec<_> = log[0].attempts.iter().map(|a| a.outcome).collect();
        assert_eq!(
            outcomes,
            [AttemptOutcome::NoTransport, AttemptOutcome::Sent]
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    addresses_bodies_and_code_words_are_sealed_and_erasure_reaches_them,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let sink = SmtpSink::start().await?;
        let mailer = SmtpMailer::new(&SmtpConfig::loopback(sink.port, FROM))?;
        let p = c
            .create_person(&app.worker_a, P, app.service_a, &person())
            .await?;
        c.set_contact_preferences(
            &app.worker_a,
            P,
            p.id,
            &preferences(&[], Some("canarycodeword")),
        )
        .await?;
        c.queue_message(
            &app.worker_a,
            P,
            p.id,
            &message("email", "please_get_in_touch"),
        )
        .await?;
        // One message waits in the outbox when the person is erased.
        c.queue_message(
            &app.worker_a,
            P,
            p.id,
            &message("email", "appointment_reminder"),
        )
        .await?;
        app.confidant.store().checkpoint_wal().await?;
        let raw = app.db.raw_bytes()?;
        for canary in [
            "safe.canary.inbox",
            "canarycodeword",
            "Please get in touch with us",
            "reminder of your appointment",
        ] {
            assert!(!contains(&raw, canary.as_bytes()), "{canary} in the clear");
        }
        let done = c
            .destroy_person(
                &app.dpo,
                Purpose::Administration,
                p.id,
                "dpo_decision",
                "Destroyed for this test",
            )
            .await?;
        let messages = done.certificate.items.iter().find(|i| i.kind == "messages");
        assert_eq!(messages.map(|i| i.count), Some(2));
        // The waiting messages went with the record: none is tried, nothing is sent.
        let report = c.deliver_messages(&mailer, fast_retries(3), 10).await?;
        assert_eq!((report.sent, report.failed), (0, 0));
        assert!(sink.messages().is_empty());
        assert!(
            c.contact_preference_history(&app.worker_a, P, p.id)
                .await
                .is_err()
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    safe_times_hold_a_message_until_they_open_and_a_reminder_they_would_miss_is_refused,
    |backend| async move {
        use time::macros::datetime;
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let sink = SmtpSink::start().await?;
        let mailer = SmtpMailer::new(&SmtpConfig::loopback(sink.port, FROM))?;
        let p = c
            .create_person(&app.worker_a, P, app.service_a, &person())
            .await?;
        // Noon to one, Monday to Friday; the clock is Sunday 22 November 2026, 10:00 GMT.
        let mut prefs = preferences(&[("email", "allowed")], None);
        prefs.message_from = Some("12:00".into());
        prefs.message_until = Some("13:00".into());
        prefs.message_weekdays_only = true;
        c.set_contact_preferences(&app.worker_a, P, p.id, &prefs)
            .await?;
        let window = c
            .contact_preferences(&app.worker_a, P, p.id)
            .await?
            .message_window
            .map(|w| w.code());
        assert_eq!(window.as_deref(), Some("12:00-13:00;weekdays"));
        // A window that ends before it starts is refused by name, changing nothing.
        let mut bad = prefs.clone();
        bad.message_until = Some("11:00".into());
        let refused = c
            .set_contact_preferences(&app.worker_a, P, p.id, &bad)
            .await
            .expect_err("an end before the start");
        assert_eq!(violation(&refused)[0].0, "message_until");

        // A reminder for Monday 11:00 could only go at Monday noon: refused, naming the time.
        let early = NewMessage {
            at: Some(datetime!(2026-11-23 11:00 UTC)),
            ..message("email", "appointment_reminder")
        };
        let missed = c
            .queue_message(&app.worker_a, P, p.id, &early)
            .await
            .expect_err("too late for the safe times");
        assert_eq!(violation(&missed)[0].0, "at");
        assert!(c.messages(&app.worker_a, P, p.id).await?.is_empty());

        // Tuesday's reminder waits for Monday noon.
        c.queue_message(
            &app.worker_a,
            P,
            p.id,
            &message("email", "appointment_reminder"),
        )
        .await?;
        assert_eq!(
            c.deliver_messages(&mailer, fast_retries(3), 10).await?,
            Default::default()
        );
        // The sender was down through Monday's window: at 13:30 it keeps it for Tuesday, sends
        // nothing and counts no attempt.
        c.clock()
            .advance(datetime!(2026-11-23 13:30 UTC) - c.clock().now());
        let report = c.deliver_messages(&mailer, fast_retries(3), 10).await?;
        assert_eq!(report.waiting_for_safe_times, 1);
        assert_eq!(report.sent, 0);
        assert!(sink.messages().is_empty());
        c.clock()
            .advance(datetime!(2026-11-24 11:59 UTC) - c.clock().now());
        assert_eq!(
            c.deliver_messages(&mailer, fast_retries(3), 10).await?,
            Default::default()
        );
        // Meanwhile they changed their safe times to 14:00 to 15:00: the message keeps to the
        // new ones, not those it was queued under.
        prefs.message_from = Some("14:00".into());
        prefs.message_until = Some("15:00".into());
        c.set_contact_preferences(&app.worker_a, P, p.id, &prefs)
            .await?;
        c.clock().advance(Duration::minutes(1));
        let report = c.deliver_messages(&mailer, fast_retries(3), 10).await?;
        assert_eq!((report.sent, report.waiting_for_safe_times), (0, 1));
        c.clock()
            .advance(datetime!(2026-11-24 14:00 UTC) - c.clock().now());
        assert_eq!(
            c.deliver_messages(&mailer, fast_retries(3), 10).await?.sent,
            1
        );
        assert_eq!(sink.messages().len(), 1);
        let log = c.messages(&app.worker_a, P, p.id).await?;
        let outcomes: Vec<_> = log[0].attempts.iter().map(|a| a.outcome).collect();
        assert_eq!(
            outcomes,
            [
                AttemptOutcome::OutsideSafeTimes,
                AttemptOutcome::OutsideSafeTimes,
                AttemptOutcome::Sent
            ]
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_reminder_whose_turn_comes_after_its_appointment_is_given_up_not_sent,
    |backend| async move {
        use time::macros::datetime;
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let sink = SmtpSink::start().await?;
        let mailer = SmtpMailer::new(&SmtpConfig::loopback(sink.port, FROM))?;
        let p = c
            .create_person(&app.worker_a, P, app.service_a, &person())
            .await?;
        // For Tuesday 24 November at 14:30; the sender is down until 14:30 that day.
        c.queue_message(
            &app.worker_a,
            P,
            p.id,
            &message("email", "appointment_reminder"),
        )
        .await?;
        c.clock()
            .advance(datetime!(2026-11-24 14:30 UTC) - c.clock().now());
        let report = c.deliver_messages(&mailer, fast_retries(3), 10).await?;
        assert_eq!((report.sent, report.failed), (0, 1));
        assert!(sink.messages().is_empty());
        let log = c.messages(&app.worker_a, P, p.id).await?;
        assert_eq!(log[0].record.state, MessageState::Failed);
        let outcomes: Vec<_> = log[0].attempts.iter().map(|a| a.outcome).collect();
        assert_eq!(outcomes, [AttemptOutcome::TooLate]);
        // A message that is not a reminder has no such end: "please get in touch" still goes.
        c.queue_message(
            &app.worker_a,
            P,
            p.id,
            &NewMessage {
                at: None,
                ..message("email", "please_get_in_touch")
            },
        )
        .await?;
        assert_eq!(
            c.deliver_messages(&mailer, fast_retries(3), 10).await?.sent,
            1
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_message_whose_person_is_restricted_before_its_turn_is_given_up_not_sent,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let sink = SmtpSink::start().await?;
        let mailer = SmtpMailer::new(&SmtpConfig::loopback(sink.port, FROM))?;
        let p = c
            .create_person(&app.worker_a, P, app.service_a, &person())
            .await?;
        c.queue_message(
            &app.worker_a,
            P,
            p.id,
            &NewMessage {
                at: None,
                ..message("email", "please_get_in_touch")
            },
        )
        .await?;
        // Restricted (Art. 18) before the sender's turn: only stored, so not sent.
        let restriction = c.restrict(&app.dpo, P, p.id, "restriction").await?;
        let report = c.deliver_messages(&mailer, fast_retries(3), 10).await?;
        assert_eq!((report.sent, report.failed), (0, 1));
        assert!(sink.messages().is_empty());
        let log = c.messages(&app.worker_a, P, p.id).await?;
        assert_eq!(log[0].record.state, MessageState::Failed);
        let outcomes: Vec<_> = log[0].attempts.iter().map(|a| a.outcome).collect();
        assert_eq!(outcomes, [AttemptOutcome::Restricted]);
        // Lifted, a new message goes.
        c.lift_restriction(&app.dpo, P, p.id, restriction.id)
            .await?;
        c.queue_message(
            &app.worker_a,
            P,
            p.id,
            &NewMessage {
                at: None,
                ..message("email", "please_get_in_touch")
            },
        )
        .await?;
        assert_eq!(
            c.deliver_messages(&mailer, fast_retries(3), 10).await?.sent,
            1
        );
        chain_is_intact(&app).await
    }
);
