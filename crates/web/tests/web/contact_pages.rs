//! The contact preferences page, driven like a browser (session cookie, CSRF token from the form):
//! reached from the record, saved, shown again, bad input refused by name, another service's
//! person not found.

use axum::http::StatusCode;
use confidant_core::field::PersonField;
use confidant_core::person::PersonInput;
use confidant_core::{Purpose, Role};
use confidant_testkit::web;
use confidant_testkit::{TestApp, both_backends};

both_backends!(
    contact_preferences_are_saved_through_the_page,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let (staff, actor) = app
            .add_staff(
                Role::Practitioner,
                Some(app.service_a),
                "pages.worker",
                true,
            )
            .await?;
        let person = app
            .confidant
            .create_person(
                &actor,
                Purpose::Support,
                app.service_a,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Ivy")
                    .with(PersonField::FamilyName, "Marsh")
                    .with(PersonField::SafeTimes, "Weekday mornings"),
            )
            .await?;
        let other = app
            .confidant
            .create_person(
                &app.worker_b,
                Purpose::Support,
                app.service_b,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Other")
                    .with(PersonField::FamilyName, "Person"),
            )
            .await?;
        let cookie = web::signed_in_cookie(&app.confidant, &staff).await?;
        let site = app.serve(crate::router);
        let browser = site.web.browser(cookie);
        let path = format!("/people/{}/contact", person.id);

        let answer = browser.get(&format!("/people/{}", person.id)).await?;
        let (status, record) = (answer.status, answer.text());
        assert_eq!(status, StatusCode::OK);
        assert!(
            record.contains(&format!("href=\"{path}\"")),
            "linked from the record"
        );

        let answer = browser.get(&path).await?;
        let (status, page) = (answer.status, answer.text());
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Weekday mornings"), "safe times shown");
        let token = answer.csrf();
        let form = [
            ("csrf", token.as_str()),
            ("phone", "refused"),
            ("text", "allowed"),
            ("no_voicemail", "yes"),
            ("code_word", "kingfisher"),
        ];
        let status = browser.post_form(&path, &form).await?.status;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let page = browser.get(&path).await?.text();
        assert!(page.contains(
            "id=\"phone-refused\" name=\"phone\" type=\"radio\" value=\"refused\" checked"
        ));
        assert!(page.contains(
            "id=\"text-allowed\" name=\"text\" type=\"radio\" value=\"allowed\" checked"
        ));
        assert!(page.contains("value=\"kingfisher\""));

        // A bad choice is refused by name and changes nothing.
        let answer = browser
            .post_form(&path, &[("csrf", token.as_str()), ("phone", "maybe")])
            .await?;
        let (status, page) = (answer.status, answer.text());
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains("either allowed or refused"));
        assert!(page.contains("value=\"kingfisher\""));
        // Without the CSRF token nothing changes.
        let status = browser
            .post_form(&path, &[("phone", "allowed")])
            .await?
            .status;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Another service's person answers 404.
        let status = browser
            .get(&format!("/people/{}/contact", other.id))
            .await?
            .status;
        assert_eq!(status, StatusCode::NOT_FOUND);
        Ok(())
    }
);
