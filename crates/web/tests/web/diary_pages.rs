//! The diary and reminders on the pages (issue 16): this week's appointments with today's first,
//! next week's, a reminder sent through the outbox from an appointment, refused by name when the
//! person has no address for it or their safe times leave no time; safe times set on the contact
//! page.

use std::sync::Arc;

use axum::http::StatusCode;
use confidant_core::field::{PersonField, RecordKind};
use confidant_core::person::PersonInput;
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::store::NoteFlags;
use confidant_core::{Clock, Purpose};
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TestApp, both_backends};
use time::macros::datetime;

fn appointment(title: &str, at: time::OffsetDateTime) -> NewEntry {
    NewEntry {
        kind: RecordKind::Appointment,
        case_id: None,
        parent_id: None,
        contact_type: None,
        occurs_at: Some(at),
        status: None,
        due_at: None,
        flags: NoteFlags::default(),
        values: RecordInput::new()
            .with("title", title)
            .with("place", "The hub"),
    }
}

both_backends!(
    the_diary_shows_the_week_and_a_reminder_is_sent_within_safe_times,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let w = &app.worker_a;
        // Sunday 22 November 2026, 10:00 GMT.
        assert_eq!(c.clock().now(), datetime!(2026-11-22 10:00 UTC));
        let input = PersonInput::new()
            .with(PersonField::GivenName, "Ada")
            .with(PersonField::FamilyName, "Diary")
            .with(PersonField::Email, "ada.diary@example.org");
        let person = c
            .create_person(w, Purpose::Support, app.service_a, &input)
            .await?
            .id;
        let today = c
            .add_entry(
                w,
                Purpose::Support,
                person,
                &appointment("Housing review", datetime!(2026-11-22 14:00 UTC)),
            )
            .await?
            .id;
        let tuesday = c
            .add_entry(
                w,
                Purpose::Support,
                person,
                &appointment("Benefits check", datetime!(2026-11-24 15:00 UTC)),
            )
            .await?
            .id;
        let worker = app.staff_record(w.audit_id().parse()?).await?;
        let cookie = web::signed_in_cookie(c, &worker).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let confidant = Arc::new(confidant);
        let web = Web::new(crate::router(confidant.clone()));
        let browser = web.browser(cookie);

        // This week (Monday 16 to Sunday 22): today first, with its time in UK time.
        let page = browser.get("/diary").await?;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(html.contains("My diary this week"));
        assert!(html.contains("Today, Sunday 22 November"), "{html}");
        assert!(html.contains("14:00 GMT") && html.contains("Housing review"));
        assert!(html.find("Today, Sunday 22 November") < html.find("Monday 16 November"));
        assert!(!html.contains("Benefits check"));
        let next = browser.get("/diary?week=next").await?.text();
        assert!(next.contains("Tuesday 24 November") && next.contains("Benefits check"));
        let reminder = format!("/people/{person}/appointments/{tuesday}/reminder");
        assert!(next.contains(&format!("href=\"{reminder}\"")), "{next}");
        assert_eq!(
            browser.get("/diary?week=last").await?.status,
            StatusCode::BAD_REQUEST
        );

        // Safe times on the contact page: weekdays, 10:00 to 12:00; an end before the start is
        // refused by name.
        let contact = format!("/people/{person}/contact");
        let refused = browser
            .submit(
                &contact,
                &contact,
                &[
                    ("email", "allowed"),
                    ("message_from", "12:00"),
                    ("message_until", "09:00"),
                ],
            )
            .await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused
                .text()
                .contains("must be after the time they may be sent from")
        );
        let saved = browser
            .submit(
                &contact,
                &contact,
                &[
                    ("email", "allowed"),
                    ("message_from", "10:00"),
                    ("message_until", "12:00"),
                    ("message_weekdays_only", "yes"),
                ],
            )
            .await?;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);

        // The reminder form says what goes and when it may reach them.
        let form = browser.get(&reminder).await?;
        assert_eq!(form.status, StatusCode::OK);
        assert!(
            form.text()
                .contains("between 10:00 and 12:00 (UK time), Monday to Friday"),
            "{}",
            form.text()
        );
        // No phone number: a text is refused by name, nothing queued.
        let no_phone = browser
            .submit(&reminder, &reminder, &[("channel", "text")])
            .await?;
        assert_eq!(no_phone.status, StatusCode::BAD_REQUEST);
        assert!(no_phone.text().contains("no phone number"));
        // Today's appointment is on a Sunday afternoon: the next safe time is Monday.
        let today_reminder = format!("/people/{person}/appointments/{today}/reminder");
        let too_late = browser
            .submit(&today_reminder, &today_reminder, &[("channel", "email")])
            .await?;
        assert_eq!(too_late.status, StatusCode::BAD_REQUEST);
        assert!(
            too_late
                .text()
                .contains("leave no time to send the reminder")
        );
        // By email: queued, waiting for Monday 10:00, and listed on the contact page.
        let sent = browser
            .submit(&reminder, &reminder, &[("channel", "email")])
            .await?;
        assert_eq!(sent.status, StatusCode::SEE_OTHER);
        assert_eq!(sent.location(), contact);
        let listed = browser.get(&contact).await?.text();
        assert!(
            listed.contains("Appointment reminder") && listed.contains("Queued"),
            "{listed}"
        );
        Ok(())
    }
);
