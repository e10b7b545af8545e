//! The register of processing activities on the web (F5): the public privacy notices (no sign-in)
//! and the Article 30 record for the Data Protection Officer, refused to others.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use confidant_core::Role;
use confidant_core::register::Register;
use confidant_testkit::{TEST_PASSWORD, TestApp, both_backends, sign_in_fully};
use tower::ServiceExt;

const EXAMPLE: &str = include_str!("../../../../config/examples/recovery.toml");

async fn get(
    app: &axum::Router,
    path: &str,
    cookie: Option<&str>,
) -> anyhow::Result<(StatusCode, String, String)> {
    let mut request = Request::builder().uri(path);
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    let response = app.clone().oneshot(request.body(Body::empty())?).await?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

both_backends!(
    notices_are_public_and_the_article30_record_is_the_dpos,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let register = Register::parse(Path::new("register.toml"), EXAMPLE)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        app.confidant.publish_notices(&register).await?;
        let (dpo, _) = app
            .add_staff(Role::DataProtectionOfficer, None, "reg.dpo", true)
            .await?;
        let (worker, _) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "reg.worker", true)
            .await?;
        let dpo_cookie = format!(
            "confidant-session={}",
            sign_in_fully(&app.confidant, &dpo, TEST_PASSWORD)
                .await?
                .token
        );
        let worker_cookie = format!(
            "confidant-session={}",
            sign_in_fully(&app.confidant, &worker, TEST_PASSWORD)
                .await?
                .token
        );
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let router = confidant_web::router(
            Arc::new(confidant.with_register(register.clone())),
            confidant_web::WebConfig::default(),
        );

        // The notices need no sign-in.
        let (status, _, body) = get(&router, "/privacy", None).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("href=\"/privacy/recovery\""), "{body}");
        let (status, _, body) = get(&router, "/privacy/recovery", None).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(&register.organisation.controller));
        assert!(body.contains("Version 1, published on"));
        assert!(!body.contains("This system holds personal data"));
        let (status, content_type, body) =
            get(&router, "/privacy/recovery/notice.md", None).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/markdown"));
        assert!(body.contains("## Your rights"));
        assert_eq!(
            get(&router, "/privacy/nowhere", None).await?.0,
            StatusCode::NOT_FOUND
        );

        // The Article 30 record: the DPO's, not a practitioner's, and not without signing in.
        let (status, _, body) = get(&router, "/admin/register", Some(&dpo_cookie)).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        for activity in &register.activities {
            assert!(
                body.contains(&format!(": {}</h2>", activity.id)),
                "{}",
                activity.id
            );
        }
        let (status, content_type, csv) =
            get(&router, "/admin/register.csv", Some(&dpo_cookie)).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/csv"));
        assert!(csv.starts_with("controller,"));
        assert_eq!(
            get(&router, "/admin/register", Some(&worker_cookie))
                .await?
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&router, "/admin/register.csv", Some(&worker_cookie))
                .await?
                .0,
            StatusCode::FORBIDDEN
        );
        let (status, _, _) = get(&router, "/admin/register", None).await?;
        assert!(status.is_redirection(), "{status}");
        Ok(())
    }
);
