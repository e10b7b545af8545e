//! Keeping and destroying on the web (issue 17): referrals not taken up on the Retention page and
//! through the API, listed for the Data Protection Officer once their period has ended, erased
//! from the page (with its CSRF token) or the API, refused when not due (409) and to a
//! practitioner (404), the list showing ids only; and destruction certificates handed out signed
//! with the installation's audit key.

use std::path::Path;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use confidant_core::record::RecordInput;
use confidant_core::referral::NewReferral;
use confidant_core::register::Register;
use confidant_core::store::{ReferralSource, TokenScope, TriageState};
use confidant_core::{Purpose, Role};
use confidant_crypto::audit_key::{AuditPublicKey, AuditSigningKey};
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TEST_REGISTER, TestApp, both_backends, token_for};
use serde_json::json;
use time::Duration;

const NOT_TAKEN_UP: &str = r#"
[[retention]]
id = "applications"
records = "An application you do not take up"
record_type = "referral"
trigger = "application_not_taken_up"
period = "30 days"
source = "retention_schedule"
destruction = "erased"
"#;

/// A self-referral to service A, its applicant named `family`.
async fn referral(app: &TestApp, family: &str) -> anyhow::Result<uuid::Uuid> {
    Ok(app
        .confidant
        .create_referral(
            &app.worker_a,
            Purpose::Support,
            app.service_a,
            &NewReferral {
                source: ReferralSource::SelfReferral,
                partner_person_id: None,
                values: RecordInput::new()
                    .with("given_name", "Zqapplicant")
                    .with("family_name", family),
            },
        )
        .await?
        .record
        .id)
}

both_backends!(
    a_referral_not_taken_up_is_erased_from_the_retention_page_and_the_api,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let register = Register::parse(
            Path::new("register.toml"),
            &format!("{TEST_REGISTER}\n{NOT_TAKEN_UP}"),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        app.db
            .raw_execute(&format!(
                "UPDATE service SET code = 'testkit' WHERE id = '{}'",
                app.service_a
            ))
            .await?;
        let c = &app.confidant;
        let mut ids = Vec::new();
        for family in ["Zqwebone", "Zqwebtwo"] {
            let id = referral(&app, family).await?;
            c.triage_referral(&app.worker_a, Purpose::Support, id, TriageState::NoResponse)
                .await?;
            ids.push(id);
        }
        // One still open: never due.
        let open = referral(&app, "Zqwebopen").await?;
        // Thirty days on (signed in afterwards: a session idles out).
        c.clock().advance(Duration::days(31));
        let (dpo, _) = app
            .add_staff(Role::DataProtectionOfficer, None, "ret.dpo", true)
            .await?;
        let (worker, _) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "ret.worker", true)
            .await?;
        let dpo_cookie = web::signed_in_cookie(c, &dpo).await?;
        let dpo_token = token_for(c, &dpo, TokenScope::ReadWrite).await?;
        let worker_token = token_for(c, &worker, TokenScope::ReadWrite).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant.with_register(register))));
        let browser = web.browser(dpo_cookie);

        // Both not taken up are listed, by id only; the open one is not, and is not erased.
        let page = browser.get("/admin/retention").await?;
        assert_eq!(page.status, StatusCode::OK);
        let page = page.text();
        for id in &ids {
            assert!(page.contains(&format!("Referral {id}")), "{page}");
        }
        assert!(!page.contains(&open.to_string()), "{page}");
        assert!(
            !page.contains("Zqweb") && !page.contains("Zqapplicant"),
            "{page}"
        );
        let listed = web
            .expect(
                &dpo_token,
                Method::GET,
                "/retention/referrals",
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
        assert_eq!(listed[0]["state"], "no_response");
        assert_eq!(listed[0]["rules"], json!(["applications"]));
        web.expect(
            &dpo_token,
            Method::POST,
            &format!("/retention/referrals/{open}/erasure"),
            Some(json!({})),
            StatusCode::CONFLICT,
        )
        .await?;
        let path = format!("/retention/referrals/{}/erasure", ids[0]);

        // A practitioner may not erase (404); the DPO erases one on the page...
        web.expect(
            &worker_token,
            Method::POST,
            &path,
            Some(json!({})),
            StatusCode::NOT_FOUND,
        )
        .await?;
        let done = browser
            .submit(
                "/admin/retention",
                &format!("/admin/retention/referrals/{}/erasure", ids[0]),
                &[],
            )
            .await?;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
        assert_eq!(done.location(), "/admin/retention#referrals");
        // ...and again is refused on the page, saying why (409).
        let again = browser
            .submit(
                "/admin/retention",
                &format!("/admin/retention/referrals/{}/erasure", ids[0]),
                &[],
            )
            .await?;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(
            again.text().contains("erased meanwhile"),
            "{}",
            again.text()
        );
        // ...and the other through the API.
        let erased = web
            .expect(
                &dpo_token,
                Method::POST,
                &format!("/retention/referrals/{}/erasure", ids[1]),
                Some(json!({})),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(erased["rules"], json!(["applications"]));
        let page = browser.get("/admin/retention").await?.text();
        assert!(page.contains("id=\"no-referrals\""), "{page}");
        Ok(())
    }
);

both_backends!(
    a_destruction_certificate_is_handed_out_signed_with_the_audit_key,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let person = app.person_named("Zqsigned", "Person").await?;
        // Destroyed by a process without the key: never signed afterwards.
        let earlier = app.person_named("Zqunsigned", "Person").await?;
        let unsigned = app
            .confidant
            .destroy_person(
                &app.dpo,
                confidant_core::Purpose::Administration,
                earlier,
                "dpo_decision",
                "Duplicate record made in error",
            )
            .await?
            .record
            .id;
        let (dpo, _) = app
            .add_staff(Role::DataProtectionOfficer, None, "cert.dpo", true)
            .await?;
        let token = token_for(&app.confidant, &dpo, TokenScope::ReadWrite).await?;
        let key = AuditSigningKey::generate();
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(
            confidant.with_signing_key(key.clone()),
        )));

        let done = web
            .expect(
                &token,
                Method::POST,
                &format!("/people/{person}/destruction"),
                Some(json!({"basis": "dpo_decision", "reason": "Duplicate record made in error"})),
                StatusCode::CREATED,
            )
            .await?;
        let id = done["id"].as_str().unwrap_or_default().to_owned();
        let fetched = web
            .expect(
                &token,
                Method::GET,
                &format!("/destruction-certificates/{id}"),
                None,
                StatusCode::OK,
            )
            .await?;
        for answer in [&done, &fetched] {
            let body = answer["body"].as_str().unwrap_or_default();
            let public =
                AuditPublicKey::from_hex(answer["public_key"].as_str().unwrap_or_default())?;
            assert_eq!(public, key.public_key());
            let mut signature = [0u8; 64];
            hex::decode_to_slice(
                answer["signature"].as_str().unwrap_or_default(),
                &mut signature,
            )?;
            public.verify(body.as_bytes(), &signature)?;
            // Another body does not verify under it.
            assert!(public.verify(b"{}", &signature).is_err());
        }
        let before = web
            .expect(
                &token,
                Method::GET,
                &format!("/destruction-certificates/{unsigned}"),
                None,
                StatusCode::OK,
            )
            .await?;
        assert!(before["signature"].is_null(), "{before}");
        assert!(before["public_key"].is_null(), "{before}");
        Ok(())
    }
);

both_backends!(
    a_hold_on_a_query_is_placed_and_released_on_its_page_and_through_the_api,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let _covered = app.person_named("Zqcovered", "Person").await?;
        let (dpo, _) = app
            .add_staff(Role::DataProtectionOfficer, None, "qh.dpo", true)
            .await?;
        let (guardian, _) = app
            .add_staff(Role::CaldicottGuardian, None, "qh.guardian", true)
            .await?;
        let (worker, _) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "qh.worker", true)
            .await?;
        let c = &app.confidant;
        let dpo_browser = web::signed_in_cookie(c, &dpo).await?;
        let worker_cookie = web::signed_in_cookie(c, &worker).await?;
        let guardian_token = token_for(c, &guardian, TokenScope::ReadWrite).await?;
        let worker_token = token_for(c, &worker, TokenScope::ReadWrite).await?;
        let service_a = app.service_a.to_string();
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant)));
        let dpo_browser = web.browser(dpo_browser);

        // Not for a practitioner.
        let refused = web.browser(worker_cookie).get("/admin/holds/new").await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        web.expect(
            &worker_token,
            Method::GET,
            "/holds/queries",
            None,
            StatusCode::NOT_FOUND,
        )
        .await?;

        // The form names each problem and places nothing.
        let bad = dpo_browser
            .submit(
                "/admin/holds/new",
                "/admin/holds",
                &[
                    ("service_id", service_a.as_str()),
                    ("from_on_day", "30"),
                    ("from_on_month", "11"),
                    ("from_on_year", "2026"),
                    ("to_on_day", "1"),
                    ("to_on_month", "11"),
                    ("to_on_year", "2026"),
                    ("reason", ""),
                ],
            )
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let text = bad.text();
        for message in [
            "Choose why the records must be kept",
            "The reason is required",
            "The last day is before the first day",
        ] {
            assert!(text.contains(message), "{message}: {text}");
        }
        let page = dpo_browser.get("/admin/holds").await?.text();
        assert!(page.contains("id=\"no-holds\""), "{page}");

        // Placed on the page over the day the record was made: it covers it.
        let placed = dpo_browser
            .submit(
                "/admin/holds/new",
                "/admin/holds",
                &[
                    ("kind", "inquiry"),
                    ("service_id", service_a.as_str()),
                    ("from_on_day", "22"),
                    ("from_on_month", "11"),
                    ("from_on_year", "2026"),
                    ("to_on_day", "22"),
                    ("to_on_month", "11"),
                    ("to_on_year", "2026"),
                    ("reason", "Public inquiry into November's work"),
                ],
            )
            .await?;
        assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.text());
        let page = dpo_browser.get("/admin/holds").await?.text();
        assert!(page.contains("2026-11-22 to 2026-11-22"), "{page}");
        assert!(!page.contains("Zqcovered"), "{page}");
        // The Caldicott Guardian places one through the API, and sees both with what they cover.
        web.expect(
            &guardian_token,
            Method::POST,
            "/holds/queries",
            Some(json!({"kind": "litigation", "service_id": service_a, "from_on": "2026-01-01", "to_on": "2026-01-31", "reason": "A claim about January"})),
            StatusCode::CREATED,
        )
        .await?;
        let listed = web
            .expect(
                &guardian_token,
                Method::GET,
                "/holds/queries",
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(listed[0]["kind"], "litigation");
        assert_eq!(listed[0]["covers"], 0);
        assert_eq!(listed[1]["covers"], 1, "{listed}");
        let inquiry = listed[1]["id"].as_str().unwrap_or_default().to_owned();
        // The guardian may not release it; the DPO must give a reason.
        web.expect(
            &guardian_token,
            Method::POST,
            &format!("/holds/queries/{inquiry}/release"),
            Some(json!({"reason": "Inquiry over"})),
            StatusCode::NOT_FOUND,
        )
        .await?;
        let no_reason = dpo_browser
            .submit(
                "/admin/holds",
                &format!("/admin/holds/{inquiry}/release"),
                &[("reason", "")],
            )
            .await?;
        assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
        assert!(
            no_reason
                .text()
                .contains("The reason for releasing it is required"),
            "{}",
            no_reason.text()
        );
        let released = dpo_browser
            .submit(
                "/admin/holds",
                &format!("/admin/holds/{inquiry}/release"),
                &[("reason", "The inquiry has reported")],
            )
            .await?;
        assert_eq!(released.status, StatusCode::SEE_OTHER);
        let page = dpo_browser.get("/admin/holds").await?.text();
        assert!(page.contains("The inquiry has reported"), "{page}");
        Ok(())
    }
);
