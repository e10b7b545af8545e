//! The register of processing activities on the web (F5): the public privacy notices (no sign-in)
//! and the Article 30 record for the Data Protection Officer, refused to others.

use std::path::Path;
use std::sync::Arc;

use axum::http::{StatusCode, header};
use confidant_core::Role;
use confidant_core::register::Register;
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TestApp, both_backends, operator};

const EXAMPLE: &str = include_str!("../../../../config/examples/recovery.toml");

async fn get(
    web: &Web,
    path: &str,
    cookie: Option<&str>,
) -> anyhow::Result<(StatusCode, String, String)> {
    let answer = match cookie {
        Some(c) => web.browser(c.to_owned()).get(path).await?,
        None => web.get(path).await?,
    };
    Ok((
        answer.status,
        answer.header(header::CONTENT_TYPE).to_owned(),
        answer.text(),
    ))
}

both_backends!(
    notices_are_public_and_the_article30_record_is_the_dpos,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let register = Register::parse(Path::new("register.toml"), EXAMPLE)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        app.confidant
            .publish_notices(&operator(), &register)
            .await?;
        let (dpo, _) = app
            .add_staff(Role::DataProtectionOfficer, None, "reg.dpo", true)
            .await?;
        let (worker, _) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "reg.worker", true)
            .await?;
        let dpo_cookie = web::signed_in_cookie(&app.confidant, &dpo).await?;
        let worker_cookie = web::signed_in_cookie(&app.confidant, &worker).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(
            confidant.with_register(register.clone()),
        )));

        // The notices need no sign-in.
        let (status, _, body) = get(&web, "/privacy", None).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("href=\"/privacy/recovery\""), "{body}");
        let (status, _, body) = get(&web, "/privacy/recovery", None).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(&register.organisation.controller));
        assert!(body.contains("Version 1, published on"));
        assert!(!body.contains("This system holds personal data"));
        let (status, content_type, body) = get(&web, "/privacy/recovery/notice.md", None).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/markdown"));
        assert!(body.contains("## Your rights"));
        assert_eq!(
            get(&web, "/privacy/nowhere", None).await?.0,
            StatusCode::NOT_FOUND
        );

        // The Article 30 record: the DPO's, not a practitioner's, and not without signing in.
        let (status, _, body) = get(&web, "/admin/register", Some(&dpo_cookie)).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        for activity in &register.activities {
            assert!(
                body.contains(&format!(": {}</h2>", activity.id)),
                "{}",
                activity.id
            );
        }
        let (status, content_type, csv) =
            get(&web, "/admin/register.csv", Some(&dpo_cookie)).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/csv"));
        assert!(csv.starts_with("controller,"));
        assert_eq!(
            get(&web, "/admin/register", Some(&worker_cookie)).await?.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&web, "/admin/register.csv", Some(&worker_cookie))
                .await?
                .0,
            StatusCode::FORBIDDEN
        );
        let (status, _, _) = get(&web, "/admin/register", None).await?;
        assert!(status.is_redirection(), "{status}");
        Ok(())
    }
);

both_backends!(
    recipients_of_an_organisation_under_a_register_show_where_they_come_from_and_cannot_be_edited,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let register = Register::parse(Path::new("register.toml"), EXAMPLE)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let done = app
            .confidant
            .put_register_in_force(&operator(), &register)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let dpo = app
            .confidant
            .create_staff(
                &operator(),
                done.organisation_id,
                None,
                Role::DataProtectionOfficer,
                "lw.dpo",
            )
            .await?;
        confidant_testkit::train(&app.confidant, dpo.id).await?;
        let cookie = web::signed_in_cookie(&app.confidant, &dpo).await?;
        let token = confidant_testkit::token_for(
            &app.confidant,
            &dpo,
            confidant_core::store::TokenScope::ReadWrite,
        )
        .await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant.with_register(register))));

        let (status, _, body) = get(&web, "/admin/recipients", Some(&cookie)).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("id=\"from-the-register\""), "{body}");
        assert!(body.contains("In the register as"), "{body}");
        assert!(body.contains("ndtms"), "{body}");
        assert!(!body.contains("Add a recipient"), "{body}");
        assert!(
            !body.contains("/edit\""),
            "no recipient can be changed here: {body}"
        );

        // Through the API, a recipient the register lacks is refused, and each recipient says its
        // id in the register.
        let (status, answer) = web
            .call(
                &token,
                axum::http::Method::POST,
                "/recipients",
                Some(serde_json::json!({
                    "name": "Brightpath Marketing Ltd", "kind": "funder",
                    "categories": ["identity"], "bases": ["legitimate_interests"]
                })),
            )
            .await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["fields"][0]["field"], "register", "{answer}");
        let (status, list) = web
            .call(&token, axum::http::Method::GET, "/recipients", None)
            .await?;
        assert_eq!(status, StatusCode::OK);
        let ids: Vec<&str> = list
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["register_id"].as_str()).collect())
            .unwrap_or_default();
        assert!(ids.contains(&"ndtms") && ids.contains(&"beacon"), "{list}");
        assert!(!list.to_string().contains("Brightpath"));
        Ok(())
    }
);

both_backends!(
    the_accessibility_statement_is_public_and_names_the_organisations_contact,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let register = Register::parse(Path::new("register.toml"), EXAMPLE)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let bare = Web::new(crate::router(Arc::new(confidant)));
        let (status, _, body) = get(&bare, "/accessibility", None).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Accessibility statement"), "{body}");
        assert!(
            body.contains("tell the organisation that supports you"),
            "{body}"
        );
        let (_, _, privacy) = get(&bare, "/privacy", None).await?;
        assert!(
            privacy.contains("href=\"/accessibility\""),
            "the footer links it"
        );

        let app = TestApp::new(backend).await?;
        let TestApp { confidant, db, .. } = app;
        let _db2 = db;
        let web = Web::new(crate::router(Arc::new(
            confidant.with_register(register.clone()),
        )));
        let (status, _, body) = get(&web, "/accessibility", None).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(&register.organisation.email), "{body}");
        Ok(())
    }
);
