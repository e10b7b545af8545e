//! The task inbox on the web (issue 16): the dashboard counts what waits, the inbox links each task
//! to where it is done, a task ticked off by hand is closed on its page (refused with a clear
//! error for a date in the future), and the API answers the caller's own tasks.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use confidant_core::field::{FieldGroups, PersonField};
use confidant_core::person::PersonInput;
use confidant_core::record::RecordInput;
use confidant_core::referral::NewReferral;
use confidant_core::sharing::{RecipientInput, ShareRequest};
use confidant_core::store::{ReferralPolicy, ReferralSource, ServiceConfig, TokenScope};
use confidant_core::{Clock, Purpose};
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TestApp, both_backends, issue_token, operator};
use serde_json::json;

both_backends!(
    the_inbox_shows_what_waits_and_closes_a_told_recipient_on_its_page,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        c.configure_service(
            &operator(),
            &ServiceConfig {
                service_id: app.service_a,
                field_groups: FieldGroups::all(),
                referrals: ReferralPolicy::Anyone,
                partner_service_id: None,
            },
        )
        .await?;
        let referral = c
            .create_referral(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &NewReferral {
                    source: ReferralSource::Professional,
                    partner_person_id: None,
                    values: RecordInput::new()
                        .with("given_name", "Inbox")
                        .with("family_name", "Referral"),
                },
            )
            .await?
            .record
            .id;
        let person = c
            .create_person(
                &app.worker_a,
                Purpose::Support,
                app.service_a,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Nell")
                    .with(PersonField::FamilyName, "Webtask")
                    .with(PersonField::MentalHealth, "Low mood"),
            )
            .await?
            .id;
        let gp = c
            .add_recipient(
                &app.dpo,
                app.organisation,
                &RecipientInput {
                    name: "Millbrook Surgery".to_owned(),
                    kind: "health".to_owned(),
                    categories: vec!["identity".to_owned(), "health".to_owned()],
                    bases: vec!["public_task".to_owned()],
                    ..RecipientInput::default()
                },
            )
            .await?
            .id;
        c.share(
            &app.worker_a,
            Purpose::Support,
            person,
            &ShareRequest {
                recipient_id: gp,
                fields: vec!["mental_health".to_owned()],
                basis: "public_task".to_owned(),
                article9: Some("health_social_care".to_owned()),
                reason: "Continuity of care".to_owned(),
                person_told: true,
                ..ShareRequest::default()
            },
        )
        .await?;
        c.update_person(
            &app.worker_a,
            Purpose::Support,
            person,
            &PersonInput::new().with(PersonField::MentalHealth, "Settled"),
        )
        .await?;
        let worker = app.staff_record(app.worker_a.audit_id().parse()?).await?;
        let cookie = web::signed_in_cookie(c, &worker).await?;
        let token = issue_token(c, "worker.a", TokenScope::ReadWrite).await?;
        let today = c.clock().now().date();
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant)));
        let browser = web.browser(cookie);

        // The dashboard counts; the navigation and the inbox link each task to its page.
        let dashboard = browser.get("/").await?;
        assert_eq!(dashboard.status, StatusCode::OK);
        let text = dashboard.text();
        assert!(text.contains("2 waiting for you"), "{text}");
        assert!(text.contains("href=\"/tasks\""));
        let inbox = browser.get("/tasks").await?.text();
        assert!(
            inbox.contains(&format!("href=\"/referrals/{referral}\"")),
            "{inbox}"
        );
        assert!(inbox.contains("Triage a referral"));
        assert!(inbox.contains("Millbrook Surgery"));
        // No name in the inbox: ids only, the record holds the rest.
        assert!(!inbox.contains("Webtask") && !inbox.contains("Inbox Referral"));

        // The API answers the same open tasks.
        let tasks = web
            .expect(&token, Method::GET, "/tasks", None, StatusCode::OK)
            .await?;
        let tasks = tasks.as_array().cloned().unwrap_or_default();
        assert_eq!(tasks.len(), 2);
        let tell = tasks
            .iter()
            .find(|t| t["kind"] == "tell_recipient")
            .ok_or_else(|| anyhow::anyhow!("no tell_recipient task: {tasks:?}"))?;
        let id = tell["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(tell["page"], format!("/tasks/{id}"));
        assert_eq!(tell["closed_by_hand"], true);
        let bad = web
            .expect(
                &token,
                Method::GET,
                "/tasks?state=sideways",
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        assert_eq!(bad["fields"][0]["field"], "state");

        // Closing on its page: a future date is refused by name and changes nothing.
        let page = format!("/tasks/{id}");
        let action = format!("{page}/close");
        let tomorrow = today.next_day().unwrap_or(today);
        let refused = browser
            .submit(
                &page,
                &action,
                &[
                    ("how", "letter"),
                    ("told_on_day", &tomorrow.day().to_string()),
                    ("told_on_month", &u8::from(tomorrow.month()).to_string()),
                    ("told_on_year", &tomorrow.year().to_string()),
                ],
            )
            .await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.text().contains("must not be in the future"),
            "{}",
            refused.text()
        );
        let missing = browser.submit(&page, &action, &[("how", "")]).await?;
        assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(missing.text().contains("Choose how they were told"));
        let done = browser
            .submit(
                &page,
                &action,
                &[
                    ("how", "secure_email"),
                    ("told_on_day", &today.day().to_string()),
                    ("told_on_month", &u8::from(today.month()).to_string()),
                    ("told_on_year", &today.year().to_string()),
                ],
            )
            .await?;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
        let inbox = browser.get("/tasks").await?.text();
        assert!(inbox.contains("Recently closed"), "{inbox}");
        assert!(inbox.contains("Secure email on"));
        // Closed by whom, by name (this account has none, so by its handle).
        assert!(inbox.contains(" by worker.a)"), "{inbox}");
        // Through the API, it is closed already.
        web.expect(
            &token,
            Method::POST,
            &format!("/tasks/{id}/close"),
            Some(json!({"how": "letter", "told_on": today.to_string()})),
            StatusCode::CONFLICT,
        )
        .await?;
        let done = web
            .expect(
                &token,
                Method::GET,
                "/tasks?state=done",
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(done[0]["outcome"], "secure_email");
        assert_eq!(done[0]["done_on"], today.to_string());
        Ok(())
    }
);
