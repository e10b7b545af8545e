//! Sharing through the JSON API, end to end on SQLite and PostgreSQL with real tokens: the register
//! kept by the Data Protection Officer, consent recorded and withdrawn, a share refused with its
//! rules (403 `sharing_refused`) and allowed with its package, the disclosure log, and bad input
//! refused with the field named and nothing written.

use axum::http::{Method, StatusCode};
use confidant_core::store::TokenScope;
use confidant_testkit::web::Web;
use confidant_testkit::{TestApp, TestBackend, TestDb, both_backends};
use serde_json::{Value, json};

struct Api {
    web: Web,
    worker: String,
    read_only: String,
    other_service: String,
    dpo: String,
    service_a: uuid::Uuid,
    _db: TestDb,
}

impl std::ops::Deref for Api {
    type Target = Web;

    fn deref(&self) -> &Web {
        &self.web
    }
}

impl Api {
    async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        let app = TestApp::new(backend).await?;
        let worker = app.token("worker.a", TokenScope::ReadWrite).await?;
        let read_only = app.token("worker.a", TokenScope::Read).await?;
        let other_service = app.token("worker.b", TokenScope::ReadWrite).await?;
        let dpo = app.token("dpo", TokenScope::ReadWrite).await?;
        let site = app.serve(crate::router);
        Ok(Self {
            web: site.web,
            worker,
            read_only,
            other_service,
            dpo,
            service_a: site.service_a,
            _db: site.db,
        })
    }
}

fn id(v: &Value) -> anyhow::Result<String> {
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no id in {v}"))
}

fn field_names(v: &Value) -> Vec<String> {
    v["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["field"].as_str().map(str::to_owned))
        .collect()
}

both_backends!(
    a_share_through_the_api_is_refused_with_its_rules_then_allowed_and_logged,
    |backend| async move {
        let api = Api::new(backend).await?;
        let (ok, created, not_found, unprocessable, forbidden) = (
            StatusCode::OK,
            StatusCode::CREATED,
            StatusCode::NOT_FOUND,
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::FORBIDDEN,
        );
        // The register: the DPO keeps it; a practitioner may read it, not change it.
        let gp_body = json!({
            "name": "Riverside Medical Practice", "kind": "health",
            "categories": ["identity", "health"], "bases": ["consent", "vital_interests"]
        });
        let gp = api
            .expect(
                &api.dpo,
                Method::POST,
                "/recipients",
                Some(gp_body.clone()),
                created,
            )
            .await?;
        let gp_id = id(&gp)?;
        api.expect(
            &api.worker,
            Method::POST,
            "/recipients",
            Some(json!({
                "name": "Another", "kind": "health", "bases": ["consent"]
            })),
            not_found,
        )
        .await?;
        let bad = api
            .expect(
                &api.dpo,
                Method::POST,
                "/recipients",
                Some(json!({
                    "name": "Odd", "kind": "astrologer", "bases": ["whim"]
                })),
                unprocessable,
            )
            .await?;
        assert_eq!(field_names(&bad), vec!["kind", "bases", "bases"]);
        let register = api
            .expect(&api.worker, Method::GET, "/recipients", None, ok)
            .await?;
        assert_eq!(register.as_array().map(Vec::len), Some(1));

        // The service's consent form, and a person.
        let purpose = api
            .expect(
                &api.dpo,
                Method::POST,
                &format!("/services/{}/consent-purposes", api.service_a),
                Some(json!({
                    "code": "gp", "label": "Sharing with your GP", "recipient_id": gp_id,
                    "form_version": "2026-1"
                })),
                created,
            )
            .await?;
        let person = api
            .expect(
                &api.worker,
                Method::POST,
                &format!("/services/{}/people", api.service_a),
                Some(json!({"given_name": "Ivy", "family_name": "Apishare"})),
                created,
            )
            .await?;
        let person_id = id(&person)?;
        let share = json!({
            "recipient_id": gp_id, "fields": ["given_name", "family_name"],
            "lawful_basis": "consent", "reason": "Registering with the practice",
            "person_told": true
        });
        let path = format!("/people/{person_id}/shares");

        // No consent: the check says why, the share is refused with the same rule.
        let check = api
            .expect(
                &api.worker,
                Method::POST,
                &format!("{path}/check"),
                Some(share.clone()),
                ok,
            )
            .await?;
        assert_eq!(check["allowed"], json!(false));
        assert_eq!(
            check["refused_by"][0]["rule"],
            json!("consent_not_recorded")
        );
        assert_eq!(check["refused_by"][0]["on"], json!(null));
        let refused = api
            .expect(
                &api.worker,
                Method::POST,
                &path,
                Some(share.clone()),
                forbidden,
            )
            .await?;
        assert_eq!(refused["error"], json!("sharing_refused"));
        assert_eq!(
            refused["refused_by"][0]["rule"],
            json!("consent_not_recorded")
        );

        // Consent granted: the share goes, and the log says exactly what went.
        let consents = format!("/people/{person_id}/consents");
        api.expect(
            &api.worker,
            Method::POST,
            &consents,
            Some(json!({
                "purpose_id": id(&purpose)?, "state": "granted"
            })),
            created,
        )
        .await?;
        let package = api
            .expect(
                &api.worker,
                Method::POST,
                &path,
                Some(share.clone()),
                created,
            )
            .await?;
        let disclosure_id = package["disclosure_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(package["package"]["fields"]["given_name"], json!("Ivy"));
        // Withdrawn: the refusal says so, and when (not "no consent").
        api.expect(
            &api.worker,
            Method::POST,
            &consents,
            Some(json!({
                "purpose_id": id(&purpose)?, "state": "withdrawn"
            })),
            created,
        )
        .await?;
        let withdrawn = api
            .expect(
                &api.worker,
                Method::POST,
                &path,
                Some(share.clone()),
                forbidden,
            )
            .await?;
        assert_eq!(
            withdrawn["refused_by"][0]["rule"],
            json!("consent_withdrawn")
        );
        assert!(withdrawn["refused_by"][0]["on"].is_string(), "{withdrawn}");
        assert!(
            withdrawn["refused_by"][0]["explanation"]
                .as_str()
                .is_some_and(|e| e.contains("Withdrawn on ")),
            "{withdrawn}"
        );
        let logged = api
            .expect(
                &api.worker,
                Method::GET,
                &format!("/people/{person_id}/disclosures/{disclosure_id}"),
                None,
                ok,
            )
            .await?;
        assert_eq!(logged["fields"], json!(["family_name", "given_name"]));
        assert_eq!(logged["package"], package["package"]);
        assert_eq!(
            logged["recipient_name"],
            json!("Riverside Medical Practice")
        );
        let per_recipient = api
            .expect(
                &api.dpo,
                Method::GET,
                &format!("/recipients/{gp_id}/disclosures"),
                None,
                ok,
            )
            .await?;
        assert_eq!(per_recipient[0]["id"], json!(disclosure_id));

        // Withdrawn: the very next share is refused; the history keeps both.
        api.expect(
            &api.worker,
            Method::POST,
            &consents,
            Some(json!({
                "purpose_id": id(&purpose)?, "state": "withdrawn"
            })),
            created,
        )
        .await?;
        api.expect(
            &api.worker,
            Method::POST,
            &path,
            Some(share.clone()),
            forbidden,
        )
        .await?;
        let overview = api
            .expect(&api.worker, Method::GET, &consents, None, ok)
            .await?;
        // Granted, withdrawn (above), withdrawn again.
        assert_eq!(overview["history"].as_array().map(Vec::len), Some(3));
        assert_eq!(overview["purposes"][0]["live"], json!(false));

        // Bad input: named, nothing written.
        let before = api
            .expect(
                &api.worker,
                Method::GET,
                &format!("/people/{person_id}/disclosures"),
                None,
                ok,
            )
            .await?;
        let mut malformed = share.clone();
        malformed["lawful_basis"] = json!("because");
        let e = api
            .expect(
                &api.worker,
                Method::POST,
                &path,
                Some(malformed),
                unprocessable,
            )
            .await?;
        assert_eq!(field_names(&e), vec!["basis"]);
        let mut court = share.clone();
        court["lawful_basis"] = json!("court_order");
        let e = api
            .expect(&api.worker, Method::POST, &path, Some(court), unprocessable)
            .await?;
        assert_eq!(field_names(&e), vec!["court_order_ref"]);
        let mut unknown = share.clone();
        unknown["recipient_id"] = json!(uuid::Uuid::now_v7());
        let e = api
            .expect(
                &api.worker,
                Method::POST,
                &path,
                Some(unknown),
                unprocessable,
            )
            .await?;
        assert_eq!(field_names(&e), vec!["recipient_id"]);
        let after = api
            .expect(
                &api.worker,
                Method::GET,
                &format!("/people/{person_id}/disclosures"),
                None,
                ok,
            )
            .await?;
        assert_eq!(before, after);

        // Out of scope: not found; a read-only token may not share.
        api.expect(
            &api.other_service,
            Method::POST,
            &path,
            Some(share.clone()),
            not_found,
        )
        .await?;
        let e = api
            .expect(&api.read_only, Method::POST, &path, Some(share), forbidden)
            .await?;
        assert_eq!(e["error"], json!("read_only_token"));

        // The API description lists the share.
        let doc = api
            .expect(&api.worker, Method::GET, "/openapi.json", None, ok)
            .await?;
        assert!(doc["paths"]["/api/v1/people/{person_id}/shares"]["post"].is_object());
        Ok(())
    }
);
