//! The record's JSON API, end to end: the catalogue and a service's configuration, a person with
//! special category fields and their correction history, related people, cases, entries with their
//! flags, documents checked by content, referrals through triage, the paper register and the export.
//!
//! Runs the real router in-process on a real database (SQLite and PostgreSQL), with real API tokens.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use confidant_core::store::TokenScope;
use confidant_testkit::web::{Answer, Web};
use confidant_testkit::{TestApp, TestBackend, TestDb, both_backends, race};
use serde_json::{Value, json};
use uuid::Uuid;

/// The router with a practitioner's token, and the ids a test needs.
struct Api {
    web: Web,
    /// A practitioner of service A (read and change).
    token: String,
    /// The same practitioner, read only.
    read_only: String,
    /// A practitioner of service B.
    other_service: String,
    service_a: Uuid,
    db: TestDb,
}

impl Api {
    async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        let app = TestApp::new(backend).await?;
        let read_write = app.token("worker.a", TokenScope::ReadWrite).await?;
        let read_only = app.token("worker.a", TokenScope::Read).await?;
        let other_service = app.token("worker.b", TokenScope::ReadWrite).await?;
        let site = app.serve(crate::router);
        Ok(Self {
            web: site.web,
            token: read_write,
            read_only,
            other_service,
            service_a: site.service_a,
            db: site.db,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Answer> {
        self.web.api(&self.token, method, path, body).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let answer = self.call(Method::GET, path, None).await?;
        anyhow::ensure!(
            answer.status == StatusCode::OK,
            "GET {path}: {} {}",
            answer.status,
            answer.text()
        );
        answer.json()
    }

    /// A call that must answer `expected`; gives back its JSON body.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Value,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        let answer = self.call(method.clone(), path, Some(body)).await?;
        anyhow::ensure!(
            answer.status == expected,
            "{method} {path}: expected {expected}, got {} {}",
            answer.status,
            answer.text()
        );
        answer.json_if_any()
    }

    /// Creates a person in service A with these fields; gives back their id.
    async fn person(&self, fields: Value) -> anyhow::Result<String> {
        let created = self
            .expect(
                Method::POST,
                &format!("/services/{}/people", self.service_a),
                fields,
                StatusCode::CREATED,
            )
            .await?;
        id(&created)
    }

    /// Uploads a document as a raw body.
    async fn upload(
        &self,
        person: &str,
        file_name: Option<&str>,
        content: Vec<u8>,
        declare_length: bool,
    ) -> anyhow::Result<Answer> {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/people/{person}/documents"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            // Claimed, and ignored: the type is judged by the content.
            .header(header::CONTENT_TYPE, "application/pdf");
        if let Some(name) = file_name {
            builder = builder
                .header("x-file-name", name)
                .header("x-description", "Letter%20from%20the%20GP");
        }
        if declare_length {
            builder = builder.header(header::CONTENT_LENGTH, content.len());
        }
        self.web.send(builder.body(Body::from(content))?).await
    }
}

fn id(v: &Value) -> anyhow::Result<String> {
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no id in {v}"))
}

fn list(v: &Value) -> anyhow::Result<&Vec<Value>> {
    v.as_array()
        .ok_or_else(|| anyhow::anyhow!("not a list: {v}"))
}

/// A small PDF: recognised by its signature.
fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
        .to_vec()
}

both_backends!(
    a_person_is_recorded_with_special_category_fields_and_a_correction_keeps_the_old_value,
    |backend| async move {
        let api = Api::new(backend).await?;
        let person = api
            .person(json!({
                "given_name": "Ada",
                "family_name": "Lovelace",
                "postcode": "LS1 4AP",
                "ethnicity": "white",
                "religion": "none",
                "sexual_orientation": "bisexual",
                "mental_health": "Anxiety; sees her GP monthly.",
                "convictions": "None known",
                "safe_phone": "07700900999",
            }))
            .await?;
        let read = api.get(&format!("/people/{person}")).await?;
        assert_eq!(read["given_name"], "Ada");
        assert_eq!(read["ethnicity"], "white");
        assert_eq!(read["sexual_orientation"], "bisexual");
        assert_eq!(read["mental_health"], "Anxiety; sees her GP monthly.");
        assert_eq!(read["safe_phone"], "07700900999");
        assert!(
            read.get("nhs_number").is_none(),
            "absent fields are left out"
        );

        let changed = api
            .expect(
                Method::PATCH,
                &format!("/people/{person}"),
                json!({"postcode": "ls2 7ew", "religion": ""}),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(changed["postcode"], "LS2 7EW");
        assert!(changed.get("religion").is_none(), "\"\" clears a field");
        let history = api.get(&format!("/people/{person}/history")).await?;
        let postcode = list(&history)?
            .iter()
            .find(|c| c["field"] == "postcode")
            .ok_or_else(|| anyhow::anyhow!("no postcode correction in {history}"))?;
        assert_eq!(postcode["old_value"], "LS1 4AP");
        assert_eq!(postcode["record_id"], person.as_str());
        assert!(
            list(&history)?
                .iter()
                .any(|c| c["field"] == "religion" && c["old_value"] == "none")
        );

        // Refusals name the field, never the value.
        let refused = api
            .expect(
                Method::PATCH,
                &format!("/people/{person}"),
                json!({"ethnicity": "Zqxcanarygroup", "favourite_colour": "blue"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        let fields: Vec<_> = list(&refused["fields"])?
            .iter()
            .filter_map(|f| f["field"].as_str())
            .collect();
        assert!(fields.contains(&"ethnicity") && fields.contains(&"fields"));
        assert!(!refused.to_string().contains("Zqxcanarygroup"));
        assert!(!refused.to_string().contains("favourite_colour"));
        Ok(())
    }
);

both_backends!(
    the_catalogue_and_a_services_configuration_describe_the_record,
    |backend| async move {
        let api = Api::new(backend).await?;
        let catalogue = api.get("/catalogue").await?;
        let field = |record: &str, code: &str| {
            list(&catalogue)
                .ok()
                .and_then(|l| {
                    l.iter()
                        .find(|f| f["record"] == record && f["code"] == code)
                        .cloned()
                })
                .unwrap_or(Value::Null)
        };
        let ethnicity = field("person", "ethnicity");
        assert_eq!(ethnicity["classification"], "special_category");
        assert_eq!(ethnicity["article9_category"], "racial_or_ethnic_origin");
        assert_eq!(ethnicity["group"], "diversity");
        assert_eq!(ethnicity["kind"], "choice");
        assert!(
            list(&ethnicity["choices"])?
                .iter()
                .any(|c| c["code"] == "white")
        );
        let safe_phone = field("person", "safe_phone");
        assert_eq!(safe_phone["may_leave"], false);
        assert_eq!(safe_phone["blind_index"], false);
        assert_eq!(field("person", "nhs_number")["blind_index"], true);
        assert_eq!(
            field("person", "convictions")["classification"],
            "criminal_offence"
        );
        assert_eq!(
            field("related", "given_name")["classification"],
            "third_party"
        );
        assert_eq!(field("note", "body")["max_length"], 20_000);
        assert_eq!(field("referral", "reason")["record_type"], "referral");

        let config = api
            .get(&format!("/services/{}/configuration", api.service_a))
            .await?;
        assert_eq!(config["referral_policy"]["code"], "anyone");
        assert!(
            list(&config["field_groups"])?
                .iter()
                .all(|g| g["collected"] == true),
            "an unconfigured service collects every group"
        );
        assert!(
            list(&config["referral_sources"])?
                .iter()
                .any(|s| s["code"] == "self")
        );

        // The OpenAPI document lists the endpoints and describes a person as a map of codes.
        let openapi = api.get("/openapi.json").await?;
        for path in [
            "/api/v1/catalogue",
            "/api/v1/services/{service_id}/configuration",
            "/api/v1/people/{person_id}/history",
            "/api/v1/people/{person_id}/export",
            "/api/v1/people/{person_id}/related/{related_id}",
            "/api/v1/people/{person_id}/cases/{case_id}/close",
            "/api/v1/people/{person_id}/entries/{entry_id}",
            "/api/v1/people/{person_id}/documents",
            "/api/v1/people/{person_id}/documents/{document_id}",
            "/api/v1/services/{service_id}/referrals",
            "/api/v1/referrals/{referral_id}/accept",
            "/api/v1/services/{service_id}/paper",
        ] {
            assert!(
                openapi["paths"].get(path).is_some(),
                "{path} not documented"
            );
        }
        let person = &openapi["components"]["schemas"]["PersonRequest"];
        assert_eq!(person["additionalProperties"]["type"], "string");
        assert!(
            person["description"]
                .as_str()
                .is_some_and(|d| d.contains("`mental_health`"))
        );
        Ok(())
    }
);

both_backends!(
    related_people_are_added_listed_and_removed,
    |backend| async move {
        let api = Api::new(backend).await?;
        let person = api
            .person(json!({"given_name": "Bea", "family_name": "Hale"}))
            .await?;
        let path = format!("/people/{person}/related");
        let added = api
            .expect(
                Method::POST,
                &path,
                json!({"relationship": "next_of_kin", "fields": {"given_name": "Sam", "phone": "07700900456"}}),
                StatusCode::CREATED,
            )
            .await?;
        assert_eq!(added["relationship"], "next_of_kin");
        assert_eq!(added["fields"]["given_name"], "Sam");
        api.expect(
            Method::POST,
            &path,
            json!({"relationship": "neighbour", "fields": {"given_name": "Lee"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        api.expect(
            Method::POST,
            &path,
            json!({"relationship": "family", "fields": {"family_name": "Hale"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        let related = api.get(&path).await?;
        assert_eq!(list(&related)?.len(), 1);
        assert_eq!(related[0]["fields"]["phone"], "07700900456");

        let one = format!("{path}/{}", id(&added)?);
        let removed = api.call(Method::DELETE, &one, None).await?;
        assert_eq!(removed.status, StatusCode::NO_CONTENT);
        assert!(list(&api.get(&path).await?)?.is_empty());
        assert_eq!(
            api.call(Method::DELETE, &one, None).await?.status,
            StatusCode::NOT_FOUND
        );
        Ok(())
    }
);

both_backends!(
    a_case_opens_once_and_closes_with_a_reason,
    |backend| async move {
        let api = Api::new(backend).await?;
        let person = api
            .person(json!({"given_name": "Cal", "family_name": "Ng"}))
            .await?;
        let cases = format!("/people/{person}/cases");
        let case = api
            .expect(Method::POST, &cases, json!({}), StatusCode::CREATED)
            .await?;
        assert_eq!(case["closed_at"], Value::Null);
        let conflict = api
            .expect(Method::POST, &cases, json!({}), StatusCode::CONFLICT)
            .await?;
        assert_eq!(conflict["error"], "conflict");

        let close = format!("{cases}/{}/close", id(&case)?);
        api.expect(
            Method::POST,
            &close,
            json!({"reason": "bored"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        let closed = api
            .expect(
                Method::POST,
                &close,
                json!({"reason": "completed"}),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(closed["closure_reason"], "completed");
        assert!(
            closed["closed_at"]
                .as_str()
                .is_some_and(|t| t.starts_with("2026-"))
        );
        api.expect(
            Method::POST,
            &close,
            json!({"reason": "completed"}),
            StatusCode::CONFLICT,
        )
        .await?;
        // Once closed, a new case may open.
        api.expect(Method::POST, &cases, json!({}), StatusCode::CREATED)
            .await?;
        let listed = api.get(&cases).await?;
        assert_eq!(list(&listed)?.len(), 2);
        assert!(
            list(&listed)?
                .iter()
                .any(|c| c["closure_reason"] == "completed")
        );
        Ok(())
    }
);

both_backends!(
    entries_keep_their_flags_their_history_and_their_paper,
    |backend| async move {
        let api = Api::new(backend).await?;
        let person = api
            .person(json!({"given_name": "Dee", "family_name": "Oak"}))
            .await?;
        let entries = format!("/people/{person}/entries");
        let note = api
            .expect(
                Method::POST,
                &entries,
                json!({
                    "kind": "note",
                    "contact_type": "phone",
                    "occurs_at": "2026-11-21T15:30:00Z",
                    "flags": {"third_party": true, "serious_harm": true},
                    "fields": {"body": "Her sister called about the tenancy.", "supplied_by": "Her sister"},
                }),
                StatusCode::CREATED,
            )
            .await?;
        assert_eq!(note["flags"]["third_party"], true);
        assert_eq!(note["flags"]["serious_harm"], true);
        assert_eq!(note["flags"]["identifies_complainant"], false);
        assert_eq!(note["occurs_at"], "2026-11-21T15:30:00Z");
        // A third party's note must say who supplied it.
        let refused = api
            .expect(
                Method::POST,
                &entries,
                json!({"kind": "note", "contact_type": "visit", "flags": {"third_party": true}, "fields": {"body": "x"}}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        assert_eq!(refused["fields"][0]["field"], "supplied_by");
        api.expect(
            Method::POST,
            &entries,
            json!({"kind": "note", "contact_type": "visit", "occurs_at": "yesterday", "fields": {"body": "x"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;

        let plan = api
            .expect(
                Method::POST,
                &entries,
                json!({"kind": "plan", "fields": {"title": "Settle the tenancy"}}),
                StatusCode::CREATED,
            )
            .await?;
        assert_eq!(plan["status"], "active");
        let goal = api
            .expect(
                Method::POST,
                &entries,
                json!({"kind": "goal", "plan_id": id(&plan)?, "fields": {"title": "Rent paid on time"}}),
                StatusCode::CREATED,
            )
            .await?;
        assert_eq!(goal["plan_id"], id(&plan)?.as_str());
        let paper_note = api
            .expect(
                Method::POST,
                &entries,
                json!({"kind": "paper_note", "fields": {"description": "Handwritten visit notes"}}),
                StatusCode::CREATED,
            )
            .await?;

        let notes = api.get(&format!("{entries}?kind=note")).await?;
        assert_eq!(list(&notes)?.len(), 1);
        assert_eq!(notes[0]["flags"]["serious_harm"], true);
        assert_eq!(notes[0]["fields"]["supplied_by"], "Her sister");
        assert_eq!(list(&api.get(&entries).await?)?.len(), 4);
        assert_eq!(
            api.call(Method::GET, &format!("{entries}?kind=letter"), None)
                .await?
                .status,
            StatusCode::UNPROCESSABLE_ENTITY
        );

        // Correcting a note says why: without a reason it is refused by name.
        let refused = api
            .expect(
                Method::PATCH,
                &format!("{entries}/{}", id(&note)?),
                json!({"fields": {"body": "Her sister called about the tenancy and the rent."}}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        assert_eq!(refused["fields"][0]["field"], "reason");
        let changed = api
            .expect(
                Method::PATCH,
                &format!("{entries}/{}", id(&note)?),
                json!({"fields": {"body": "Her sister called about the tenancy and the rent."}, "reason": "incomplete"}),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(
            changed["fields"]["body"],
            "Her sister called about the tenancy and the rent."
        );
        let goal_done = api
            .expect(
                Method::PATCH,
                &format!("{entries}/{}", id(&goal)?),
                json!({"status": "achieved"}),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(goal_done["status"], "achieved");
        let history = api.get(&format!("/people/{person}/history")).await?;
        assert!(list(&history)?.iter().any(|c| c["field"] == "body"
            && c["old_value"] == "Her sister called about the tenancy."
            && c["record_id"] == id(&note).unwrap_or_default().as_str()));

        let paper = api
            .get(&format!("/services/{}/paper", api.service_a))
            .await?;
        assert!(
            list(&paper)?
                .iter()
                .any(|p| p["person_id"] == person.as_str()
                    && p["kind"] == "paper_note"
                    && p["status"] == "awaiting_transcription")
        );
        assert!(!paper.to_string().contains("Handwritten"));
        // Paper is recorded destroyed with who destroyed it and their reference, each checked,
        // once; it then leaves the paper register.
        let destruction = format!("{entries}/{}/destruction", id(&paper_note)?);
        let refused = api
            .expect(
                Method::POST,
                &destruction,
                json!({"destroyed_by": "Shred Co", "destroyed_on": "2999-01-01"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        let fields: Vec<&str> = list(&refused["fields"])?
            .iter()
            .filter_map(|f| f["field"].as_str())
            .collect();
        assert_eq!(fields, ["reference", "destroyed_on"]);
        let body = json!({"destroyed_by": "Shred Co", "reference": "Shred log 7", "destroyed_on": "2020-01-01"});
        // Not before the note is typed into the record.
        let early = api
            .call(Method::POST, &destruction, Some(body.clone()))
            .await?;
        assert_eq!(early.status, StatusCode::CONFLICT);
        api.expect(
            Method::PATCH,
            &format!("{entries}/{}", id(&paper_note)?),
            json!({"status": "transcribed"}),
            StatusCode::OK,
        )
        .await?;
        let done = api
            .call(Method::POST, &destruction, Some(body.clone()))
            .await?;
        assert_eq!(done.status, StatusCode::NO_CONTENT);
        let again = api.call(Method::POST, &destruction, Some(body)).await?;
        assert_eq!(again.status, StatusCode::CONFLICT);
        let paper = api
            .get(&format!("/services/{}/paper", api.service_a))
            .await?;
        assert!(
            list(&paper)?
                .iter()
                .all(|p| p["person_id"] != person.as_str())
        );

        // Reads need a reachable record; changes need a read-write token.
        let elsewhere = api
            .web
            .api(&api.other_service, Method::GET, &entries, None)
            .await?;
        assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
        let read_only = api
            .web
            .api(
                &api.read_only,
                Method::POST,
                &entries,
                Some(json!({"kind": "plan", "fields": {"title": "x"}})),
            )
            .await?;
        assert_eq!(read_only.status, StatusCode::FORBIDDEN);
        assert_eq!(read_only.json()?["error"], "read_only_token");
        Ok(())
    }
);

both_backends!(
    documents_are_judged_by_content_and_served_as_sandboxed_attachments,
    |backend| async move {
        let api = Api::new(backend).await?;
        let person = api
            .person(json!({"given_name": "Eve", "family_name": "Moss"}))
            .await?;
        let documents = format!("/people/{person}/documents");
        let uploaded = api
            .upload(
                &person,
                Some("GP%20letter%20%E2%80%93%20Eve.pdf"),
                pdf(),
                true,
            )
            .await?;
        assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text());
        let uploaded = uploaded.json()?;
        assert_eq!(uploaded["media_type"], "application/pdf");
        assert_eq!(uploaded["file_name"], "GP letter \u{2013} Eve.pdf");
        assert_eq!(uploaded["description"], "Letter from the GP");
        let listed = api.get(&documents).await?;
        assert_eq!(list(&listed)?.len(), 1);
        assert_eq!(listed[0]["size_bytes"], pdf().len());

        let doc_id = id(&uploaded)?;
        let download = api
            .call(Method::GET, &format!("{documents}/{doc_id}"), None)
            .await?;
        assert_eq!(download.status, StatusCode::OK);
        assert_eq!(download.body, pdf());
        assert_eq!(download.header(header::CONTENT_TYPE), "application/pdf");
        assert_eq!(
            download.header(header::CONTENT_DISPOSITION),
            format!("attachment; filename=\"document-{doc_id}.pdf\"")
        );
        assert_eq!(download.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert!(
            download
                .header(header::CONTENT_SECURITY_POLICY)
                .contains("sandbox")
        );
        assert_eq!(download.header(header::CACHE_CONTROL), "no-store");
        assert!(!download.header(header::CONTENT_DISPOSITION).contains("GP"));

        // Refusals store nothing.
        let other = api
            .person(json!({"given_name": "Fay", "family_name": "Reed"}))
            .await?;
        let other_documents = format!("/people/{other}/documents");
        let mut executable = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
        executable.extend_from_slice(&[0u8; 256]);
        let refused = api
            .upload(&other, Some("report.pdf"), executable, true)
            .await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.json()?["fields"][0]["field"], "file");
        let unnamed = api.upload(&other, None, pdf(), true).await?;
        assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
        let misnamed = api.upload(&other, Some("letter.png"), pdf(), true).await?;
        assert_eq!(misnamed.status, StatusCode::UNPROCESSABLE_ENTITY);

        let mut huge = pdf();
        huge.resize(confidant_web::api::MAX_UPLOAD_BODY_BYTES + 1, b' ');
        for declared in [true, false] {
            let too_large = api
                .upload(&other, Some("huge.pdf"), huge.clone(), declared)
                .await?;
            assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
            assert_eq!(too_large.json()?["error"], "too_large");
        }
        // Over the document limit but under the body limit: refused by the document rules.
        let mut over = pdf();
        over.resize(confidant_core::document::MAX_DOCUMENT_BYTES + 1, b' ');
        let refused = api.upload(&other, Some("big.pdf"), over, true).await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(list(&api.get(&other_documents).await?)?.is_empty());

        // Someone else's document is not there to them.
        let elsewhere = api
            .web
            .api(
                &api.other_service,
                Method::GET,
                &format!("{documents}/{doc_id}"),
                None,
            )
            .await?;
        assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
        // And a document is not reachable through another person's record.
        let wrong_person = api
            .call(Method::GET, &format!("{other_documents}/{doc_id}"), None)
            .await?;
        assert_eq!(wrong_person.status, StatusCode::NOT_FOUND);
        Ok(())
    }
);

both_backends!(
    a_declined_referral_keeps_its_steps_and_loses_its_details_and_an_accepted_one_becomes_a_person,
    |backend| async move {
        let api = Api::new(backend).await?;
        let referrals = format!("/services/{}/referrals", api.service_a);
        let received = api
            .expect(
                Method::POST,
                &referrals,
                json!({"source": "self", "fields": {
                    "given_name": "Gil", "family_name": "Penn", "phone": "07700900777",
                    "reason": "Needs help with benefits"}}),
                StatusCode::CREATED,
            )
            .await?;
        assert_eq!(received["state"], "received");
        assert_eq!(received["fields"]["phone"], "07700900777");
        let referral = format!("/referrals/{}", id(&received)?);
        let contacted = api
            .expect(
                Method::POST,
                &format!("{referral}/triage"),
                json!({"state": "contact_attempted"}),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(contacted["state"], "contact_attempted");
        let declined = api
            .expect(
                Method::POST,
                &format!("{referral}/triage"),
                json!({"state": "declined"}),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(declined["state"], "declined");
        let read = api.get(&referral).await?;
        assert_eq!(read["state"], "declined");
        assert_eq!(read["fields"], json!({}));
        assert!(!read.to_string().contains("07700900777"));
        let steps: Vec<_> = list(&read["steps"])?
            .iter()
            .filter_map(|s| s["state"].as_str())
            .collect();
        assert_eq!(steps, ["received", "contact_attempted", "declined"]);
        api.expect(
            Method::POST,
            &format!("{referral}/accept"),
            json!({}),
            StatusCode::CONFLICT,
        )
        .await?;
        api.expect(
            Method::POST,
            &format!("{referral}/triage"),
            json!({"state": "accepted"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;

        let second = api
            .expect(
                Method::POST,
                &referrals,
                json!({"source": "professional", "fields": {
                    "given_name": "Hal", "family_name": "Quinn", "date_of_birth": "1990-05-17",
                    "referrer_name": "Dr Rowe"}}),
                StatusCode::CREATED,
            )
            .await?;
        let accepted = api
            .expect(
                Method::POST,
                &format!("/referrals/{}/accept", id(&second)?),
                json!({}),
                StatusCode::CREATED,
            )
            .await?;
        let person = accepted["person_id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no person_id in {accepted}"))?;
        assert_eq!(accepted["case"]["closed_at"], Value::Null);
        let read = api.get(&format!("/people/{person}")).await?;
        assert_eq!(read["given_name"], "Hal");
        assert_eq!(read["date_of_birth"], "1990-05-17");
        let cases = api.get(&format!("/people/{person}/cases")).await?;
        assert_eq!(cases[0]["id"], accepted["case"]["id"]);

        let lines = api.get(&referrals).await?;
        assert_eq!(list(&lines)?.len(), 2);
        assert!(
            list(&lines)?
                .iter()
                .any(|l| l["state"] == "accepted" && l["person_id"] == person)
        );
        assert!(list(&api.get(&format!("{referrals}?open=true")).await?)?.is_empty());
        api.expect(
            Method::POST,
            &referrals,
            json!({"source": "carrier_pigeon", "fields": {"given_name": "I", "family_name": "J"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        Ok(())
    }
);

both_backends!(
    an_export_holds_what_may_leave_and_never_safe_contact_details,
    |backend| async move {
        let api = Api::new(backend).await?;
        let person = api
            .person(json!({
                "given_name": "Iris",
                "family_name": "Vale",
                "phone": "07700900123",
                "safe_phone": "07700900999",
                "safe_times": "Weekday mornings",
                "gender": "woman",
            }))
            .await?;
        api.expect(
            Method::POST,
            &format!("/people/{person}/entries"),
            json!({"kind": "note", "contact_type": "visit", "fields": {"body": "Home visit."}}),
            StatusCode::CREATED,
        )
        .await?;
        api.expect(
            Method::POST,
            &format!("/people/{person}/related"),
            json!({"relationship": "advocate", "fields": {"given_name": "Jo"}}),
            StatusCode::CREATED,
        )
        .await?;
        api.expect(
            Method::POST,
            &format!("/people/{person}/cases"),
            json!({}),
            StatusCode::CREATED,
        )
        .await?;
        let uploaded = api.upload(&person, Some("plan.pdf"), pdf(), true).await?;
        assert_eq!(uploaded.status, StatusCode::CREATED);

        let export = api.get(&format!("/people/{person}/export")).await?;
        assert_eq!(export["person_id"], person.as_str());
        assert_eq!(export["fields"]["phone"], "07700900123");
        assert_eq!(export["fields"]["gender"], "woman");
        assert!(export["fields"].get("safe_phone").is_none());
        assert!(export["fields"].get("safe_times").is_none());
        let text = export.to_string();
        assert!(!text.contains("07700900999") && !text.contains("Weekday mornings"));
        assert_eq!(list(&export["entries"])?.len(), 1);
        assert_eq!(list(&export["related"])?.len(), 1);
        assert_eq!(list(&export["cases"])?.len(), 1);
        assert_eq!(export["documents"][0]["file_name"], "plan.pdf");
        assert!(export["documents"][0].get("content").is_none());
        Ok(())
    }
);

both_backends!(
    ten_concurrent_accepts_of_a_referral_answer_201_once_and_409_to_the_rest,
    |backend| async move {
        let api = Arc::new(Api::new(backend).await?);
        let received = api
            .expect(
                Method::POST,
                &format!("/services/{}/referrals", api.service_a),
                json!({"source": "self", "fields": {"given_name": "Ivy", "family_name": "Raceway"}}),
                StatusCode::CREATED,
            )
            .await?;
        let accept = format!("/referrals/{}/accept", id(&received)?);
        let tables = &["person", "case_episode", "data_key", "triage_event"];
        let before = api.db.row_counts(tables).await?;
        let answers = race(10, |_| {
            let api = Arc::clone(&api);
            let accept = accept.clone();
            async move { api.call(Method::POST, &accept, Some(json!({}))).await }
        })
        .await?;
        let mut created = 0;
        for answer in answers {
            let answer = answer?;
            match answer.status {
                StatusCode::CREATED => created += 1,
                StatusCode::CONFLICT => assert_eq!(answer.json()?["error"], "conflict"),
                other => anyhow::bail!("an accept answered {other}: {}", answer.text()),
            }
        }
        assert_eq!(created, 1);
        let after = api.db.row_counts(tables).await?;
        for table in tables {
            assert_eq!(after[table] - before[table], 1, "{table}");
        }
        Ok(())
    }
);

#[path = "record_api/fuzz.rs"]
mod fuzz;
