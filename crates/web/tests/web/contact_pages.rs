//! The contact preferences page, driven like a browser (session cookie, CSRF token from the form):
//! reached from the record, saved, shown again, bad input refused by name, another service's
//! person not found.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use confidant_core::field::PersonField;
use confidant_core::person::PersonInput;
use confidant_core::{Purpose, Role};
use confidant_testkit::{TEST_PASSWORD, TestApp, both_backends, sign_in_fully};
use tower::ServiceExt;

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn send(
    app: &axum::Router,
    cookie: &str,
    method: Method,
    path: &str,
    form: Option<String>,
) -> anyhow::Result<(StatusCode, String)> {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, cookie);
    let request = match form {
        Some(f) => builder
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(f))?,
        None => builder.body(Body::empty())?,
    };
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn csrf(page: &str) -> String {
    page.split_once("name=\"csrf\" value=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(t, _)| t.to_owned())
        .unwrap_or_default()
}

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
        let signed = sign_in_fully(&app.confidant, &staff, TEST_PASSWORD).await?;
        let cookie = format!("confidant-session={}", signed.token);
        let TestApp {
            confidant, db: _db, ..
        } = app;
        let router =
            confidant_web::router(Arc::new(confidant), confidant_web::WebConfig::default());
        let path = format!("/people/{}/contact", person.id);

        let (status, record) = send(
            &router,
            &cookie,
            Method::GET,
            &format!("/people/{}", person.id),
            None,
        )
        .await?;
        assert_eq!(status, StatusCode::OK);
        assert!(
            record.contains(&format!("href=\"{path}\"")),
            "linked from the record"
        );

        let (status, page) = send(&router, &cookie, Method::GET, &path, None).await?;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Weekday mornings"), "safe times shown");
        let token = csrf(&page);
        let form = form_encode(&[
            ("csrf", &token),
            ("phone", "refused"),
            ("text", "allowed"),
            ("no_voicemail", "yes"),
            ("code_word", "kingfisher"),
        ]);
        let (status, _) = send(&router, &cookie, Method::POST, &path, Some(form)).await?;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, page) = send(&router, &cookie, Method::GET, &path, None).await?;
        assert!(page.contains(
            "id=\"phone-refused\" name=\"phone\" type=\"radio\" value=\"refused\" checked"
        ));
        assert!(page.contains(
            "id=\"text-allowed\" name=\"text\" type=\"radio\" value=\"allowed\" checked"
        ));
        assert!(page.contains("value=\"kingfisher\""));

        // A bad choice is refused by name and changes nothing.
        let form = form_encode(&[("csrf", &token), ("phone", "maybe")]);
        let (status, page) = send(&router, &cookie, Method::POST, &path, Some(form)).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains("either allowed or refused"));
        assert!(page.contains("value=\"kingfisher\""));
        // Without the CSRF token nothing changes.
        let (status, _) = send(
            &router,
            &cookie,
            Method::POST,
            &path,
            Some(form_encode(&[("phone", "allowed")])),
        )
        .await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Another service's person answers 404.
        let (status, _) = send(
            &router,
            &cookie,
            Method::GET,
            &format!("/people/{}/contact", other.id),
            None,
        )
        .await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        Ok(())
    }
);
