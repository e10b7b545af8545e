//! The edges of the HTTP surface, hardened (issue 12, findings 2, 5, 6 and 7), each through the real
//! router in-process on SQLite and PostgreSQL:
//! - break-the-glass and read-only tokens cannot export a record;
//! - a foreign id in a body answers alike whether it names a real record elsewhere or nothing;
//! - an administrator adding an account sees it created (with its one-time password where they may
//!   set one);
//! - the sign-in form's token is one the server issued; passwords built from the organisation's or a
//!   service's name are refused; path and query parse errors answer the JSON error body (API) or the
//!   error page (pages) without echoing what was sent; a client's `x-request-id` is kept only if it is
//!   a UUID; invisible names and control characters in file names are refused; images that do not
//!   decode, or decode too large, are refused.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use confidant_core::access::PersonAccess;
use confidant_core::access::Principal;
use confidant_core::store::TokenScope;
use confidant_core::store::prelude::*;
use confidant_core::{Purpose, Role};
use confidant_testkit::operator;
use confidant_testkit::web::{Answer, TestSite, between};
use confidant_testkit::{TEST_PASSWORD, TestApp, TestBackend, both_backends, sign_in_fully};
use serde_json::{Value, json};
use uuid::Uuid;

/// The application with its organisation (two services and their staff), driven in-process.
struct Site(TestSite);

impl std::ops::Deref for Site {
    type Target = TestSite;

    fn deref(&self) -> &TestSite {
        &self.0
    }
}

impl Site {
    async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        Ok(Self(TestApp::new(backend).await?.serve(crate::router)))
    }

    /// A person in a service, made by one of its practitioners.
    async fn person(&self, by: &Principal, service: Uuid) -> anyhow::Result<Uuid> {
        let mut input = confidant_core::person::PersonInput::new();
        input.set_code("given_name", "Marker".to_owned());
        input.set_code("family_name", "Person".to_owned());
        Ok(self
            .confidant
            .create_person(by, Purpose::Support, service, &input)
            .await?
            .id)
    }

    /// Uploads a document (or the photo) through the API, the name percent-encoded as sent.
    async fn upload(
        &self,
        token: &str,
        person: Uuid,
        file_name: &str,
        content: &[u8],
        photo: bool,
    ) -> anyhow::Result<Answer> {
        self.web
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri(format!("/api/v1/people/{person}/documents?photo={photo}"))
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header("x-file-name", file_name)
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .body(Body::from(content.to_vec()))?,
            )
            .await
    }

    /// How many documents (the photo included) a person has, as stored.
    async fn document_count(&self, person: Uuid) -> anyhow::Result<usize> {
        Ok(self
            .confidant
            .documents(&self.worker_a, Purpose::Support, person)
            .await?
            .len())
    }

    /// The number of events on the audit log.
    async fn audit_len(&self) -> anyhow::Result<i64> {
        Ok(self
            .confidant
            .store()
            .audit_head()
            .await?
            .map_or(0, |h| h.seq))
    }
}

// --- (6) adding an account through the page ---

both_backends!(
    an_administrator_adding_an_account_sees_it_created,
    |backend| async move {
        let site = Site::new(backend).await?;
        let admin = site.browser("admin").await?;
        let service = site.service_a.to_string();
        for role in Role::ALL {
            let handle = format!("new.{}", role.code().replace('_', "-"));
            // Only practitioners and managers work in a service (the form refuses the rest one).
            let works_in = if confidant_core::setup::works_in_service(role) {
                service.as_str()
            } else {
                ""
            };
            let created = admin
                .submit(
                    "/admin/users/new",
                    "/admin/users",
                    &[
                        ("handle", handle.as_str()),
                        ("role", role.code()),
                        ("service", works_in),
                    ],
                )
                .await?;
            let html = created.text();
            assert_eq!(created.status, StatusCode::OK, "{role:?}: {html}");
            assert!(html.contains("Account added"), "{role:?}: {html}");
            let staff = site.staff(&handle).await?;
            assert_eq!(staff.role, role);
            let password = between(&html, "id=\"new-password\">", "</code>");
            if matches!(role, Role::Administrator | Role::Auditor) {
                assert!(password.len() >= 12, "{role:?}: no password in {html}");
                assert!(
                    site.confidant.sign_in(&handle, &password).await.is_ok(),
                    "{role:?}: the password shown does not sign in"
                );
            } else {
                // Separation of duties: an administrator never holds the password of an account
                // that sees records; the page says who sets it, and none is set.
                assert!(password.is_empty(), "{role:?}: {html}");
                assert!(html.contains("Data Protection Officer"), "{role:?}: {html}");
                let credential = site.confidant.store().credential(staff.id).await?;
                assert!(credential.and_then(|c| c.password_hash).is_none());
            }
        }
        // The Data Protection Officer then sets the practitioner's first password from its page.
        let dpo = site.browser("dpo").await?;
        let practitioner = site.staff("new.practitioner").await?;
        let page = format!("/admin/users/{}", practitioner.id);
        let set = dpo
            .submit(&page, &format!("{page}/reset-password"), &[])
            .await?;
        assert_eq!(set.status, StatusCode::OK, "{}", set.text());
        let password = between(&set.text(), "it is shown only now): ", "<");
        assert!(
            site.confidant
                .sign_in("new.practitioner", password.trim())
                .await
                .is_ok(),
            "the DPO's password does not sign in: {}",
            set.text()
        );
        Ok(())
    }
);

// --- (2) an export needs the service's own access and a token that may change ---

/// The events appended to the audit log after `seq`.
async fn events_after(
    site: &Site,
    seq: i64,
) -> anyhow::Result<Vec<confidant_core::audit::AuditEvent>> {
    Ok(site.confidant.store().audit_events(seq + 1, 1000).await?)
}

both_backends!(
    break_the_glass_and_read_only_tokens_cannot_export_a_record,
    |backend| async move {
        let site = Site::new(backend).await?;
        let person = site.person(&site.worker_a, site.service_a).await?;
        let store = site.confidant.store();
        // Another service's practitioner breaks the glass: they may read the record now.
        let other = site.token("worker.b", TokenScope::ReadWrite).await?;
        let broke = site
            .web
            .api(
                &other,
                Method::POST,
                &format!("/people/{person}/break-glass"),
                Some(json!({ "reason": "Found unconscious at the hostel, need the GP" })),
            )
            .await?;
        assert_eq!(broke.status, StatusCode::CREATED, "{}", broke.text());
        let read = site
            .web
            .api(&other, Method::GET, &format!("/people/{person}"), None)
            .await?;
        assert_eq!(read.status, StatusCode::OK);

        // ...but not export it: 403 with a stable code, no disclosure, one denied event.
        let head = site.audit_len().await?;
        let export = site
            .web
            .api(
                &other,
                Method::GET,
                &format!("/people/{person}/export"),
                None,
            )
            .await?;
        assert_eq!(export.status, StatusCode::FORBIDDEN, "{}", export.text());
        assert_eq!(export.json_or_null()["error"], "export_not_allowed");
        assert!(
            store
                .disclosures_of(&PersonAccess::for_tests(person))
                .await?
                .is_empty()
        );
        let events = events_after(&site, head).await?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].action, "person.export");
        assert_eq!(events[0].outcome, "denied");
        assert_eq!(events[0].purpose, "break_glass");

        // A read-only token of the person's own service cannot export either (an export writes
        // the disclosure log): 403, recorded, nothing logged as disclosed.
        let read_only = site.token("worker.a", TokenScope::Read).await?;
        let head = site.audit_len().await?;
        let export = site
            .web
            .api(
                &read_only,
                Method::GET,
                &format!("/people/{person}/export"),
                None,
            )
            .await?;
        assert_eq!(export.status, StatusCode::FORBIDDEN, "{}", export.text());
        assert_eq!(export.json_or_null()["error"], "read_only_token");
        assert!(
            store
                .disclosures_of(&PersonAccess::for_tests(person))
                .await?
                .is_empty()
        );
        let events = events_after(&site, head).await?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].action, "access.read_only_token");

        // The service's own practitioner with a token that may change exports, and it is logged.
        let own = site.token("worker.a", TokenScope::ReadWrite).await?;
        let export = site
            .web
            .api(&own, Method::GET, &format!("/people/{person}/export"), None)
            .await?;
        assert_eq!(export.status, StatusCode::OK, "{}", export.text());
        assert_eq!(
            store
                .disclosures_of(&PersonAccess::for_tests(person))
                .await?
                .len(),
            1
        );
        Ok(())
    }
);

// --- (5) a foreign id in a body is no existence oracle ---

both_backends!(
    a_linked_person_answers_alike_whether_it_exists_unless_the_caller_may_read_it,
    |backend| async move {
        let site = Site::new(backend).await?;
        let token = site.token("worker.a", TokenScope::ReadWrite).await?;
        let person = site.person(&site.worker_a, site.service_a).await?;
        let elsewhere = site.person(&site.worker_b, site.service_b).await?;
        let add = |linked: Uuid, relationship: &'static str| {
            let (site, token) = (&site, &token);
            async move {
                site.web
                    .api(
                        token,
                        Method::POST,
                        &format!("/people/{person}/related"),
                        Some(json!({
                            "relationship": relationship,
                            "linked_person_id": linked,
                            "fields": { "given_name": "Kin" },
                        })),
                    )
                    .await
            }
        };
        // A real record of another service and an id that names nothing: the same answer, and
        // neither shows the link.
        let real = add(elsewhere, "family").await?;
        let random = add(Uuid::new_v4(), "family").await?;
        assert_eq!(
            real.status,
            random.status,
            "{} / {}",
            real.text(),
            random.text()
        );
        assert_eq!(real.status, StatusCode::CREATED, "{}", real.text());
        let shape = |a: &Answer| {
            let mut v = a.json_or_null();
            v["id"] = Value::Null;
            v["created_at"] = Value::Null;
            v
        };
        assert_eq!(shape(&real), shape(&random));
        assert_eq!(real.json_or_null()["linked_person_id"], Value::Null);
        let listed = site
            .web
            .api(
                &token,
                Method::GET,
                &format!("/people/{person}/related"),
                None,
            )
            .await?
            .json_or_null();
        assert!(
            !listed.to_string().contains(&elsewhere.to_string()),
            "{listed}"
        );

        // A record the caller may read is linked and shown, and a wrong link is refused with why.
        let own = site.person(&site.worker_a, site.service_a).await?;
        let linked = add(own, "alleged_perpetrator").await?;
        assert_eq!(linked.status, StatusCode::CREATED, "{}", linked.text());
        assert_eq!(linked.json_or_null()["linked_person_id"], own.to_string());
        let refused = add(own, "next_of_kin").await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.json_or_null()["fields"][0]["field"],
            "linked_person_id"
        );
        let itself = add(person, "family").await?;
        assert_eq!(itself.status, StatusCode::UNPROCESSABLE_ENTITY);
        Ok(())
    }
);

// --- (7d) the request id ---

both_backends!(
    a_client_request_id_is_kept_only_if_it_is_a_uuid,
    |backend| async move {
        let site = Site::new(backend).await?;
        let call = |id: Option<&'static str>| {
            let site = &site;
            async move {
                let mut request = Request::builder().uri("/healthz");
                if let Some(id) = id {
                    request = request.header("x-request-id", id);
                }
                site.web.send(request.body(Body::empty())?).await
            }
        };
        let uuid = |a: &Answer| Uuid::try_parse(a.header("x-request-id")).ok();
        // None given: a new one.
        let fresh = call(None).await?;
        assert!(uuid(&fresh).is_some(), "{:?}", fresh.headers);
        // Anything else than a UUID is replaced, never echoed (the log's span reads the same
        // header).
        for bad in [
            "attacker-controlled",
            "name=Ada Lovelace",
            "' OR 1=1 --",
            "00000000-0000-0000-0000-00000000000g",
        ] {
            let answer = call(Some(bad)).await?;
            let id = answer.header("x-request-id");
            assert!(uuid(&answer).is_some(), "{bad:?} gave {id:?}");
            assert!(
                !id.contains(bad) && !bad.contains(id),
                "{bad:?} gave {id:?}"
            );
        }
        // A UUID is kept, in canonical form.
        let kept = call(Some("6F9619FF-8B86-D011-B42D-00CF4FC964FF")).await?;
        assert_eq!(
            kept.header("x-request-id"),
            "6f9619ff-8b86-d011-b42d-00cf4fc964ff"
        );
        Ok(())
    }
);

// --- (7c) path and query parse errors ---

both_backends!(
    path_and_query_errors_answer_the_error_body_and_echo_nothing,
    |backend| async move {
        let site = Site::new(backend).await?;
        let token = site.token("worker.a", TokenScope::ReadWrite).await?;
        let person = site.person(&site.worker_a, site.service_a).await?;
        let service = site.service_a;
        let marker = "Zqx-Ada-Lovelace-1815";
        // API: the JSON error body, 400 malformed, and nothing of what was sent.
        for path in [
            format!("/people/{marker}"),
            format!("/people/{marker}/export"),
            format!("/people/{person}/documents/{marker}"),
            format!("/people/{person}/entries?kind={marker}"),
            format!("/services/{service}/people?limit={marker}"),
            format!("/services/{service}/people?after={marker}"),
            format!("/services/{service}/people?{marker}=1"),
            format!("/services/{marker}/referrals?state=new"),
        ] {
            let answer = site.web.api(&token, Method::GET, &path, None).await?;
            let text = answer.text();
            // A value of the right type the endpoint refuses is 422 `invalid` (naming the field);
            // one that does not parse at all, 400 `malformed`.
            let expected = if path.contains("kind=") {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
            } else {
                (StatusCode::BAD_REQUEST, "malformed")
            };
            assert_eq!(answer.status, expected.0, "{path}: {text}");
            assert!(
                answer
                    .header("content-type")
                    .starts_with("application/json"),
                "{path}: {}",
                answer.header("content-type")
            );
            assert_eq!(answer.json_or_null()["error"], expected.1, "{path}: {text}");
            assert!(
                !text.contains("Zqx") && !text.contains("1815"),
                "{path}: {text}"
            );
        }
        // Pages: the error page (a malformed id is no page), nothing echoed.
        let worker = site.browser("worker.a").await?;
        for (path, status) in [
            (format!("/people/{marker}"), StatusCode::NOT_FOUND),
            (
                format!("/people/{person}/documents/{marker}"),
                StatusCode::NOT_FOUND,
            ),
            (
                format!("/people/{person}?changed={marker}&x={marker}"),
                StatusCode::OK,
            ),
            (format!("/people/{person}?after={marker}"), StatusCode::OK),
        ] {
            let answer = worker.get(&path).await?;
            let text = answer.text();
            if answer.status != StatusCode::OK {
                assert_eq!(answer.status, status, "{path}: {text}");
                assert!(
                    answer.header("content-type").starts_with("text/html"),
                    "{path}"
                );
            }
            assert!(
                !text.contains("Zqx") && !text.contains("1815"),
                "{path}: {text}"
            );
        }
        Ok(())
    }
);

// --- (7e) invisible names, control characters in file names; (7f) images that do not decode ---

/// A real 1 × 1 RGBA PNG.
const PNG: &[u8] = b"\x89PNG\x0d\x0a\x1a\x0a\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0dIDATx\xdac\x10P0\xf8\x0f\x00\x02\x04\x01`R\xe2\xa9a\x00\x00\x00\x00IEND\xaeB`\x82";

/// [`PNG`] with its header claiming `side` × `side` pixels (CRC made right): a small file that
/// would inflate to `4 × side²` bytes, a decompression bomb.
fn png_bomb(side: u32) -> Vec<u8> {
    let mut out = PNG.to_vec();
    out[16..20].copy_from_slice(&side.to_be_bytes());
    out[20..24].copy_from_slice(&side.to_be_bytes());
    let crc = crc32fast::hash(&out[12..29]);
    out[29..33].copy_from_slice(&crc.to_be_bytes());
    out
}

both_backends!(
    invisible_names_and_control_characters_in_file_names_are_refused,
    |backend| async move {
        let site = Site::new(backend).await?;
        let token = site.token("worker.a", TokenScope::ReadWrite).await?;
        let service = site.service_a;
        let person = site.person(&site.worker_a, site.service_a).await?;
        let invisible = [
            "\u{200B}\u{200C}\u{200D}",
            "\u{2060}\u{FEFF}",
            "\u{00AD}",
            "\u{3164}",
            " \u{200B} ",
            "\u{0301}",
        ];
        for name in invisible {
            let refused = site
                .web
                .api(
                    &token,
                    Method::POST,
                    &format!("/services/{service}/people"),
                    Some(json!({ "given_name": name, "family_name": "Visible" })),
                )
                .await?;
            assert_eq!(
                refused.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{name:?}: {}",
                refused.text()
            );
            assert_eq!(refused.json_or_null()["fields"][0]["field"], "given_name");
            let refused = site
                .web
                .api(
                    &token,
                    Method::POST,
                    &format!("/people/{person}/related"),
                    Some(json!({ "relationship": "family", "fields": { "given_name": name } })),
                )
                .await?;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
            let refused = site
                .web
                .api(
                    &token,
                    Method::POST,
                    &format!("/services/{service}/referrals"),
                    Some(json!({
                        "source": "self",
                        "fields": { "given_name": "Visible", "family_name": name },
                    })),
                )
                .await?;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
            assert!(
                site.confidant
                    .create_service(&operator(), site.organisation, name)
                    .await
                    .is_err(),
                "a service named {name:?}"
            );
        }
        let related = site
            .web
            .api(
                &token,
                Method::GET,
                &format!("/people/{person}/related"),
                None,
            )
            .await?;
        assert_eq!(related.json_or_null(), json!([]));
        // Real names with joiners or accents are kept.
        let kept = site
            .web
            .api(
                &token,
                Method::POST,
                &format!("/services/{service}/people"),
                Some(json!({ "given_name": "Zoë", "family_name": "می\u{200C}خواهم" })),
            )
            .await?;
        assert_eq!(kept.status, StatusCode::CREATED, "{}", kept.text());

        // A file name with a line break or another control character is refused; nothing stored.
        for name in [
            "notes%0D%0AX-Injected: 1.txt",
            "notes%0A.txt",
            "bell%07.txt",
            "tab%09.txt",
        ] {
            let refused = site
                .upload(&token, person, name, b"Plain notes.\n", false)
                .await?;
            assert_eq!(
                refused.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{name}: {}",
                refused.text()
            );
            assert_eq!(
                refused.json_or_null()["fields"][0]["field"],
                "file_name",
                "{name}"
            );
        }
        assert_eq!(site.document_count(person).await?, 0);
        Ok(())
    }
);

both_backends!(
    images_that_do_not_decode_or_decode_too_large_are_refused,
    |backend| async move {
        let site = Site::new(backend).await?;
        let token = site.token("worker.a", TokenScope::ReadWrite).await?;
        let person = site.person(&site.worker_a, site.service_a).await?;
        let bomb = png_bomb(60_000);
        assert!(bomb.len() < 100, "a small file");
        for photo in [false, true] {
            for (what, content) in [
                ("truncated", &PNG[..PNG.len() / 2]),
                ("damaged", &PNG[..PNG.len() - 20]),
                ("a bomb", bomb.as_slice()),
            ] {
                let refused = site
                    .upload(&token, person, "image.png", content, photo)
                    .await?;
                assert_eq!(
                    refused.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{what} (photo {photo}): {}",
                    refused.text()
                );
                assert_eq!(
                    refused.json_or_null()["fields"][0]["field"],
                    "file",
                    "{what}"
                );
            }
        }
        assert_eq!(site.document_count(person).await?, 0);
        // A real image is stored, as a document and as the photo.
        for photo in [false, true] {
            let stored = site.upload(&token, person, "image.png", PNG, photo).await?;
            assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text());
        }
        assert_eq!(site.document_count(person).await?, 2);
        Ok(())
    }
);

// --- (7b) passwords built from the organisation's or a service's name ---

both_backends!(
    passwords_built_from_the_organisations_or_a_services_name_are_refused,
    |backend| async move {
        let site = Site::new(backend).await?;
        let staff = site.staff("worker.a").await?;
        // The organisation is "Northgate Recovery Trust", its services "Recovery Service" and
        // "Employment Support"; the handle "worker.a".
        for password in [
            "NorthgateEmploymentSupport",
            "Employment-Support-Northgate",
            "northgate recovery trust 1",
            "RecoveryServiceNorthgate!",
        ] {
            // Strong enough without knowing the names...
            assert_eq!(
                confidant_crypto::password::check_new(password, &[]),
                Ok(()),
                "{password} is weak even without context: pick another example"
            );
            // ...but refused for a member of staff of that organisation, by whoever sets it.
            let set = site
                .confidant
                .set_password(&operator(), staff.id, password, &[])
                .await;
            assert!(
                matches!(
                    set,
                    Err(confidant_core::organisation::OrganisationError::Invalid(_))
                ),
                "{password} accepted by set_password"
            );
        }
        // Changing one's own password: the same words are refused through the page.
        let worker = site.browser("worker.a").await?;
        let changed = worker
            .submit(
                "/account/password",
                "/account/password",
                &[
                    ("current_password", TEST_PASSWORD),
                    ("new_password", "Employment-Support-Northgate"),
                ],
            )
            .await?;
        assert_eq!(
            changed.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            changed.text()
        );
        assert!(
            site.confidant
                .sign_in("worker.a", TEST_PASSWORD)
                .await
                .is_ok()
        );
        Ok(())
    }
);

// --- (7a) the sign-in form's token is one the server issued ---

/// Posts the sign-in form with this cookie and field.
async fn sign_in_with(
    site: &Site,
    cookie: &str,
    field: &str,
    password: &str,
) -> anyhow::Result<Answer> {
    site.web
        .browser(format!("confidant-csrf={cookie}"))
        .post_form(
            "/sign-in",
            &[
                ("csrf", field),
                ("handle", "worker.a"),
                ("password", password),
            ],
        )
        .await
}

both_backends!(
    the_sign_in_form_accepts_only_a_token_the_server_issued,
    |backend| async move {
        let site = Site::new(backend).await?;
        let staff = site.staff("worker.a").await?;
        site.confidant
            .set_password(&operator(), staff.id, TEST_PASSWORD, &[])
            .await?;
        // An attacker-chosen matching pair (the old format, and the new one's shape) is refused
        // before the password is looked at.
        for made_up in [
            "a".repeat(64),
            format!("99999999999.{}.{}", "b".repeat(32), "c".repeat(64)),
        ] {
            let head = site.audit_len().await?;
            let refused = sign_in_with(&site, &made_up, &made_up, TEST_PASSWORD).await?;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
            assert_eq!(
                site.audit_len().await?,
                head,
                "a refused form reached the sign-in"
            );
        }
        // The form's own token: set as the cookie and in the field.
        let form = site.web.get("/sign-in").await?;
        let token = form.csrf();
        let set_cookie = form.header("set-cookie");
        assert!(
            set_cookie.starts_with(&format!("confidant-csrf={token};")),
            "{set_cookie}"
        );
        // A token of another installation (another key) is refused, however well formed.
        let other = Site::new(backend).await?;
        let foreign = other.web.get("/sign-in").await?.csrf();
        let refused = sign_in_with(&site, &foreign, &foreign, TEST_PASSWORD).await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        // A cookie and field that disagree are refused.
        let refused = sign_in_with(&site, &token, &foreign, TEST_PASSWORD).await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        // The server's token signs in.
        let signed = sign_in_with(&site, &token, &token, TEST_PASSWORD).await?;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text());
        // Shown again while it has time left, the form keeps the browser's token.
        let again = site
            .web
            .browser(format!("confidant-csrf={token}"))
            .get("/sign-in")
            .await?;
        assert_eq!(again.csrf(), token);
        assert!(again.header("set-cookie").is_empty());
        // Two hours later it has expired.
        site.confidant.clock().advance(time::Duration::hours(2));
        let expired = sign_in_with(&site, &token, &token, TEST_PASSWORD).await?;
        assert_eq!(expired.status, StatusCode::FORBIDDEN);
        Ok(())
    }
);

/// Posts a form without a CSRF token, then with another session's: the two statuses.
async fn forged(
    site: &Site,
    other_csrf: &str,
    path: &str,
    cookie: &str,
    field: (&str, &str),
) -> anyhow::Result<Vec<StatusCode>> {
    let mut answers = Vec::new();
    for csrf in [None, Some(other_csrf)] {
        let mut pairs = vec![field];
        if let Some(c) = csrf {
            pairs.push(("csrf", c));
        }
        let browser = site.web.browser(cookie.to_owned());
        answers.push(browser.post_form(path, &pairs).await?.status);
    }
    Ok(answers)
}

/// Where a session stands, by its token.
async fn state_of(site: &Site, token: &str) -> anyhow::Result<String> {
    Ok(site
        .confidant
        .session(token)
        .await?
        .map(|s| format!("{:?}", s.state))
        .unwrap_or_else(|| "none".to_owned()))
}

both_backends!(
    the_sign_in_steps_the_lock_screen_and_token_revoking_refuse_a_post_without_its_token,
    |backend| async move {
        // The route-wide matrix sends every page's form forged as a fully signed-in caller; these
        // are the forms that belong to a session part-way through signing in, a locked one, and
        // the caller's own token.
        let site = Site::new(backend).await?;
        let other = site.browser("dpo").await?;
        let other_csrf = other.get("/account/tokens").await?.csrf();
        assert!(!other_csrf.is_empty());
        let staff = site.staff("worker.a").await?;

        // Awaiting enrolment: a forged code post is refused and the session stays where it was.
        site.confidant
            .set_password(&operator(), staff.id, TEST_PASSWORD, &[])
            .await?;
        let half = site.confidant.sign_in("worker.a", TEST_PASSWORD).await?;
        let half = half.token.expose().to_owned();
        let before = state_of(&site, &half).await?;
        assert!(before.contains("AwaitingSecondFactor"), "{before}");
        let cookie = format!("confidant-session={half}");
        let answers = forged(
            &site,
            &other_csrf,
            "/sign-in/enrol",
            &cookie,
            ("code", "000000"),
        )
        .await?;
        assert_eq!(answers, [StatusCode::FORBIDDEN; 2]);
        assert_eq!(state_of(&site, &half).await?, before);

        // Awaiting the second factor of an enrolled account: the right code, forged, is refused.
        let full = sign_in_fully(&site.confidant, &staff, TEST_PASSWORD).await?;
        site.confidant.clock().advance(time::Duration::seconds(30));
        let half = site.confidant.sign_in("worker.a", TEST_PASSWORD).await?;
        let half = half.token.expose().to_owned();
        let before = state_of(&site, &half).await?;
        assert!(before.contains("enrolled: true"), "{before}");
        let code = confidant_testkit::current_code(&site.confidant, &full.secret);
        let cookie = format!("confidant-session={half}");
        let answers = forged(
            &site,
            &other_csrf,
            "/sign-in/two-factor",
            &cookie,
            ("code", &code),
        )
        .await?;
        assert_eq!(answers, [StatusCode::FORBIDDEN; 2]);
        assert_eq!(state_of(&site, &half).await?, before);

        // A locked session: the right password, forged, does not unlock it.
        let settings = site.confidant.settings().session.idle;
        site.confidant
            .clock()
            .advance(settings + time::Duration::minutes(1));
        let before = state_of(&site, &full.token).await?;
        assert_eq!(before, "Locked");
        let cookie = format!("confidant-session={}", full.token);
        let answers = forged(
            &site,
            &other_csrf,
            "/lock",
            &cookie,
            ("password", TEST_PASSWORD),
        )
        .await?;
        assert_eq!(answers, [StatusCode::FORBIDDEN; 2]);
        assert_eq!(state_of(&site, &full.token).await?, "Locked");

        // One's own token: a forged revoke leaves it live.
        let mine = site.cookie("worker.b").await?;
        site.token("worker.b", TokenScope::Read).await?;
        let owner = site.staff("worker.b").await?;
        let token = site
            .confidant
            .tokens_of(owner.id)
            .await?
            .into_iter()
            .find(|t| t.revoked_at_micros.is_none())
            .ok_or_else(|| anyhow::anyhow!("no live token"))?;
        let path = format!("/account/tokens/{}/revoke", token.id);
        let answers = forged(&site, &other_csrf, &path, &mine, ("confirm", "yes")).await?;
        assert_eq!(answers, [StatusCode::FORBIDDEN; 2]);
        let after = site.confidant.tokens_of(owner.id).await?;
        assert!(
            after
                .iter()
                .any(|t| t.id == token.id && t.revoked_at_micros.is_none())
        );
        Ok(())
    }
);
