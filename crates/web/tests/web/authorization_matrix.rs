//! The authorization matrix: a route of every kind of access (pages and API) × every role × a record
//! in scope and one out of scope, generated, with each cell asserted against an expected table written out here independently of the
//! policies. Record routes answer the same 404 whether the record is missing or out of scope;
//! non-record actions a role may not take answer 403; allowed ones 2xx (or a redirect after a post).
//!
//! Runs the real router in-process on a real database (SQLite and PostgreSQL), with real sessions
//! (password + TOTP sign-in through core) and real API tokens.

use confidant_core::store::prelude::*;
use confidant_testkit::operator;
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use confidant_core::clock::FixedClock;
use confidant_core::document::Upload;
use confidant_core::field::RecordKind;
use confidant_core::record::{EntryChange, NewEntry, RecordInput};
use confidant_core::referral::NewReferral;
use confidant_core::sharing::{RecipientInput, ShareRequest};
use confidant_core::store::{ContactType, NoteFlags, ReferralSource, TokenScope};
use confidant_core::{Clock, Confidant, Purpose, Role};
use confidant_store::SqlStore;
use confidant_testkit::{
    Synthetic, TEST_PASSWORD, TestApp, TestBackend, each_backend, sign_in_with_csrf, token_for,
    train,
};
use tower::ServiceExt;
use uuid::Uuid;

/// The boundary of the multipart upload cells.
const BOUNDARY: &str = "matrix-cell-boundary";

/// Whether the record is one the role's scope reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    In,
    Out,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Expect {
    Allowed,
    NotFound,
    Forbidden,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Dashboard,
    PeopleList,
    PeopleSearch,
    PersonPage,
    BreakGlassForm,
    PasswordPage,
    TokensPage,
    AdminUsers,
    AdminNewUser,
    AdminUser,
    AdminEndSessions,
    Review,
    ApiMe,
    ApiPersonRead,
    ApiPersonUpdate,
    ApiPeopleList,
    ApiPeopleCreate,
    ApiLookup,
    ApiAccessHistory,
    ApiAssign,
    // The service-user record (F3): the parts of a record beyond a person's own fields, and
    // referrals into a service.
    NotesPage,
    NoteCreate,
    HistoryPage,
    DocumentDownload,
    DocumentUpload,
    ReferralsPage,
    ReferralPage,
    ApiEntries,
    ApiEntryCreate,
    ApiExport,
    ApiDocumentDownload,
    ApiDocumentUpload,
    ApiServiceConfiguration,
    ApiPaperRegister,
    ApiServiceReferrals,
    ApiReferralCreate,
    ApiReferralRead,
    ApiTriage,
    // Sharing (F4): a person's consents and disclosure log are read like the record; checking a
    // share is for those who may share it; the register is for all of the organisation's staff.
    ApiConsents,
    ApiDisclosures,
    ApiShareCheck,
    ApiRecipients,
}

const ROUTES: [Route; 42] = [
    Route::Dashboard,
    Route::PeopleList,
    Route::PeopleSearch,
    Route::PersonPage,
    Route::BreakGlassForm,
    Route::PasswordPage,
    Route::TokensPage,
    Route::AdminUsers,
    Route::AdminNewUser,
    Route::AdminUser,
    Route::AdminEndSessions,
    Route::Review,
    Route::ApiMe,
    Route::ApiPersonRead,
    Route::ApiPersonUpdate,
    Route::ApiPeopleList,
    Route::ApiPeopleCreate,
    Route::ApiLookup,
    Route::ApiAccessHistory,
    Route::ApiAssign,
    Route::NotesPage,
    Route::NoteCreate,
    Route::HistoryPage,
    Route::DocumentDownload,
    Route::DocumentUpload,
    Route::ReferralsPage,
    Route::ReferralPage,
    Route::ApiEntries,
    Route::ApiEntryCreate,
    Route::ApiExport,
    Route::ApiDocumentDownload,
    Route::ApiDocumentUpload,
    Route::ApiServiceConfiguration,
    Route::ApiPaperRegister,
    Route::ApiServiceReferrals,
    Route::ApiReferralCreate,
    Route::ApiReferralRead,
    Route::ApiTriage,
    Route::ApiConsents,
    Route::ApiDisclosures,
    Route::ApiShareCheck,
    Route::ApiRecipients,
];

fn in_service(role: Role) -> bool {
    matches!(
        role,
        Role::Practitioner | Role::TeamManager | Role::ServiceManager
    )
}

/// The rules, stated plainly. "In scope" means: for staff of a service, a person of their service
/// (services use the default whole-service scope here); for a trustee or a processor's worker, the
/// person of their granted matter or referral; for everyone else the record is simply one of the
/// organisation's. Out of scope: a person of the other service, with no grant.
fn expected(route: Route, role: Role, scope: Scope) -> Expect {
    use Expect::*;
    let reads_record = match role {
        r if in_service(r) => scope == Scope::In,
        Role::Trustee | Role::ProcessorStaff => scope == Scope::In,
        _ => false,
    };
    let changes_record = match role {
        r if in_service(r) => scope == Scope::In,
        Role::ProcessorStaff => scope == Scope::In,
        _ => false,
    };
    // A processor's worker sees only what their referral sent, a trustee only what their matter
    // opens (details and entries): never who has seen the record, nor anything else of it.
    let projected = matches!(role, Role::ProcessorStaff | Role::Trustee);
    let sees_history = (reads_record && !projected)
        || matches!(
            role,
            Role::Auditor | Role::DataProtectionOfficer | Role::CaldicottGuardian
        );
    // Staff accounts are seen by those who run the system, oversee it, or manage a service.
    let administers = matches!(
        role,
        Role::Administrator
            | Role::DataProtectionOfficer
            | Role::CaldicottGuardian
            | Role::ServiceManager
            | Role::TeamManager
    );
    let oversees = matches!(role, Role::DataProtectionOfficer | Role::CaldicottGuardian);
    let breaks_glass = in_service(role) || oversees;
    let pick = |ok: bool, otherwise: Expect| if ok { Allowed } else { otherwise };
    match route {
        Route::Dashboard | Route::PasswordPage | Route::TokensPage | Route::ApiMe => Allowed,
        // The people list is a page of the actor's own service (a processor's worker's lists the
        // people referred to them): not a record, so 403.
        Route::PeopleList => pick(in_service(role) || role == Role::ProcessorStaff, Forbidden),
        Route::PeopleSearch => pick(in_service(role), Forbidden),
        Route::PersonPage | Route::ApiPersonRead => pick(reads_record, NotFound),
        Route::ApiPersonUpdate => pick(changes_record, NotFound),
        Route::ApiAccessHistory => pick(sees_history, NotFound),
        // Who looks after a person is the service's managers' decision.
        Route::ApiAssign => pick(
            matches!(role, Role::TeamManager | Role::ServiceManager) && scope == Scope::In,
            NotFound,
        ),
        Route::BreakGlassForm => pick(breaks_glass, Forbidden),
        Route::AdminUsers | Route::AdminUser => pick(administers, Forbidden),
        Route::AdminNewUser => pick(role == Role::Administrator, Forbidden),
        // Taking access away (here: a practitioner's sessions) is for administrators and the DPO.
        Route::AdminEndSessions => pick(
            matches!(role, Role::Administrator | Role::DataProtectionOfficer),
            Forbidden,
        ),
        Route::Review => pick(oversees, Forbidden),
        // The API names the service in the path: another service answers 404 like a record.
        Route::ApiPeopleList | Route::ApiPeopleCreate | Route::ApiLookup => {
            pick(in_service(role) && scope == Scope::In, NotFound)
        }
        // Every part of a record (its notes, history, documents, export) is read like the record
        // itself, and changed (a note added, a document uploaded) like the record itself.
        Route::NotesPage | Route::ApiEntries => pick(reads_record, NotFound),
        // A processor's worker reads only the categories referred to their processor: never the
        // correction history, documents, an export or the sharing history.
        Route::HistoryPage | Route::DocumentDownload | Route::ApiDocumentDownload => {
            pick(reads_record && !projected, NotFound)
        }
        // An export is a disclosure, made only under the service's own access: never under a
        // processor's referral or a trustee's matter.
        Route::ApiExport => pick(reads_record && !projected, NotFound),
        // A processor's worker changes only what their referral sent; they add nothing to the
        // record.
        Route::NoteCreate
        | Route::DocumentUpload
        | Route::ApiEntryCreate
        | Route::ApiDocumentUpload => {
            pick(changes_record && role != Role::ProcessorStaff, NotFound)
        }
        // How a service has set up its record is for all of the organisation's staff, whichever
        // service it is.
        Route::ApiServiceConfiguration => Allowed,
        // The referrals page is of the actor's own service, like the people list: not a record.
        Route::ReferralsPage => pick(in_service(role), Forbidden),
        // A service's referrals and paper register are seen, and referrals received and triaged,
        // by those who work in that service only; another service's (or a referral of it) answers
        // 404.
        Route::ReferralPage
        | Route::ApiPaperRegister
        | Route::ApiServiceReferrals
        | Route::ApiReferralCreate
        | Route::ApiReferralRead
        | Route::ApiTriage => pick(in_service(role) && scope == Scope::In, NotFound),
        Route::ApiConsents => pick(reads_record && !projected, NotFound),
        Route::ApiDisclosures => pick(reads_record && !projected, NotFound),
        // Sharing on is never opened by a grant: a trustee or a processor's worker reads, never
        // shares.
        Route::ApiShareCheck => pick(in_service(role) && scope == Scope::In, NotFound),
        Route::ApiRecipients => Allowed,
    }
}

struct Member {
    role: Role,
    id: Uuid,
    cookie: String,
    csrf: String,
    token: String,
}

struct World {
    app: axum::Router,
    confidant: Arc<Confidant<SqlStore, FixedClock>>,
    members: Vec<Member>,
    service_a: Uuid,
    service_b: Uuid,
    person_a: Uuid,
    person_b: Uuid,
    /// A document of each person (A's, B's).
    document_a: Uuid,
    document_b: Uuid,
    /// An open referral into each service (A's, B's).
    referral_a: Uuid,
    referral_b: Uuid,
    /// An account for the administrative cells to act on (not one of the members, whose sessions
    /// the matrix needs).
    target: Uuid,
    /// A recipient of the register (for share checks).
    recipient: Uuid,
    /// Kept alive for the database's lifetime.
    _db: confidant_testkit::TestDb,
}

async fn world(backend: TestBackend) -> anyhow::Result<World> {
    let TestApp {
        db,
        confidant,
        organisation,
        service_a,
        service_b,
        worker_a,
        worker_b,
        dpo,
        ..
    } = TestApp::new(backend).await?;
    // A register names the trustees' matters a trustee can be granted.
    let confidant = confidant.with_register(confidant_testkit::test_register());
    let mut synthetic = Synthetic::new(7);
    let person_a = confidant
        .create_person(&worker_a, Purpose::Support, service_a, &synthetic.person())
        .await?
        .id;
    let person_b = confidant
        .create_person(&worker_b, Purpose::Support, service_b, &synthetic.person())
        .await?
        .id;
    // Each person's record gets a case note (corrected once, so it has a history) and a document;
    // each service an open referral. All through core, as their own service's practitioner.
    let mut documents = Vec::new();
    for (worker, person) in [(&worker_a, person_a), (&worker_b, person_b)] {
        let note = confidant
            .add_entry(
                worker,
                Purpose::Support,
                person,
                &NewEntry {
                    kind: RecordKind::Note,
                    case_id: None,
                    parent_id: None,
                    contact_type: Some(ContactType::Phone),
                    occurs_at: None,
                    status: None,
                    due_at: None,
                    flags: NoteFlags::default(),
                    values: RecordInput::new().with("body", "Phoned about the appointment"),
                },
            )
            .await?;
        confidant
            .update_entry(
                worker,
                Purpose::Support,
                person,
                note.id,
                &EntryChange {
                    reason: Some(confidant_core::store::CorrectionReason::WrongDetail),
                    values: RecordInput::new().with("body", "Phoned about Tuesday's appointment"),
                    ..EntryChange::default()
                },
            )
            .await?;
        let document = confidant
            .upload_document(
                worker,
                Purpose::Support,
                person,
                &Upload {
                    file_name: "letter.txt",
                    content: b"A letter about the appointment.\n",
                    description: None,
                    is_photo: false,
                },
            )
            .await?;
        documents.push(document.id);
    }
    let mut referrals = Vec::new();
    for (worker, service) in [(&worker_a, service_a), (&worker_b, service_b)] {
        let referral = confidant
            .create_referral(
                worker,
                Purpose::Support,
                service,
                &NewReferral {
                    source: ReferralSource::SelfReferral,
                    partner_person_id: None,
                    values: RecordInput::new()
                        .with("given_name", "Referred")
                        .with("family_name", "Person")
                        .with("reason", "Wants help with housing"),
                },
            )
            .await?;
        referrals.push(referral.record.id);
    }
    let mut members = Vec::new();
    for role in Role::ALL {
        let service = in_service(role).then_some(service_a);
        let handle = format!("matrix.{}", role.code().replace('_', "-"));
        let staff = confidant
            .create_staff(&operator(), organisation, service, role, &handle)
            .await?;
        train(&confidant, staff.id).await?;
        match role {
            Role::Trustee => {
                confidant
                    .grant_trustee_matter(
                        &dpo,
                        staff.id,
                        person_a,
                        &confidant_testkit::complaint_matter(30),
                    )
                    .await?;
            }
            // A processor's worker is referred the person through a disclosure to the processor.
            Role::ProcessorStaff => {
                let today = confidant.clock().now().date();
                let processor = confidant
                    .add_recipient(
                        &dpo,
                        organisation,
                        &RecipientInput {
                            name: "Matrix Processor Ltd".to_owned(),
                            kind: "processor".to_owned(),
                            categories: vec!["identity".to_owned()],
                            bases: vec!["contract".to_owned()],
                            dpa_starts_on: Some((today - time::Duration::days(1)).to_string()),
                            dpa_ends_on: Some((today + time::Duration::days(365)).to_string()),
                            ..RecipientInput::default()
                        },
                    )
                    .await?;
                confidant
                    .assign_processor_staff(&dpo, staff.id, processor.id)
                    .await?;
                confidant
                    .share(
                        &worker_a,
                        Purpose::Support,
                        person_a,
                        &ShareRequest {
                            recipient_id: processor.id,
                            // What the worker's cells read and change.
                            fields: vec!["given_name".to_owned(), "postcode".to_owned()],
                            basis: "contract".to_owned(),
                            reason: "Referred for the matrix test".to_owned(),
                            person_told: true,
                            processor_staff_id: Some(staff.id),
                            referral_days: Some(30),
                            ..ShareRequest::default()
                        },
                    )
                    .await?;
            }
            _ => {}
        }
        let (cookie, csrf) = sign_in_with_csrf(&confidant, &staff, TEST_PASSWORD).await?;
        let token = token_for(&confidant, &staff, TokenScope::ReadWrite).await?;
        members.push(Member {
            role,
            id: staff.id,
            cookie,
            csrf,
            token,
        });
    }
    let target = confidant
        .create_staff(
            &operator(),
            organisation,
            Some(service_a),
            Role::Practitioner,
            "matrix.target",
        )
        .await?
        .id;
    let recipient = confidant
        .add_recipient(
            &dpo,
            organisation,
            &RecipientInput {
                name: "Matrix GP".to_owned(),
                kind: "health".to_owned(),
                categories: vec!["identity".to_owned()],
                bases: vec!["consent".to_owned()],
                ..RecipientInput::default()
            },
        )
        .await?
        .id;
    let confidant = Arc::new(confidant);
    let app = confidant_web::router(confidant.clone(), confidant_web::WebConfig::default());
    Ok(World {
        recipient,
        app,
        confidant,
        members,
        service_a,
        service_b,
        person_a,
        person_b,
        document_a: documents[0],
        document_b: documents[1],
        referral_a: referrals[0],
        referral_b: referrals[1],
        target,
        _db: db,
    })
}

impl World {
    /// The request for one cell. A person-based route uses the in- or out-of-scope person (and
    /// that person's document); a service-based API route uses the member's service (A) or the
    /// other one (B); a referral route a referral into service A or into B.
    fn request(
        &self,
        route: Route,
        member: &Member,
        scope: Scope,
    ) -> anyhow::Result<Request<Body>> {
        let person = match scope {
            Scope::In => self.person_a,
            Scope::Out => self.person_b,
        };
        let service = match scope {
            Scope::In => self.service_a,
            Scope::Out => self.service_b,
        };
        let (document, referral) = match scope {
            Scope::In => (self.document_a, self.referral_a),
            Scope::Out => (self.document_b, self.referral_b),
        };
        let target = self.target;
        let page = |method: Method, uri: String, form: Option<String>| {
            let builder = Request::builder().method(method).uri(uri).header(
                header::COOKIE,
                format!("confidant-session={}", member.cookie),
            );
            match form {
                Some(body) => builder
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body)),
                None => builder.body(Body::empty()),
            }
        };
        let api = |method: Method, uri: String, json: Option<&str>| {
            let builder = Request::builder()
                .method(method)
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {}", member.token));
            match json {
                Some(body) => builder
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_owned())),
                None => builder.body(Body::empty()),
            }
        };
        let csrf = &member.csrf;
        Ok(match route {
            Route::Dashboard => page(Method::GET, "/".into(), None),
            Route::PeopleList => page(Method::GET, "/people".into(), None),
            Route::PeopleSearch => page(
                Method::POST,
                "/people/search".into(),
                Some(format!("csrf={csrf}&name=a")),
            ),
            Route::PersonPage => page(Method::GET, format!("/people/{person}"), None),
            Route::BreakGlassForm => {
                page(Method::GET, format!("/people/{person}/break-glass"), None)
            }
            Route::PasswordPage => page(Method::GET, "/account/password".into(), None),
            Route::TokensPage => page(Method::GET, "/account/tokens".into(), None),
            Route::AdminUsers => page(Method::GET, "/admin/users".into(), None),
            Route::AdminNewUser => page(Method::GET, "/admin/users/new".into(), None),
            Route::AdminUser => page(Method::GET, format!("/admin/users/{target}"), None),
            Route::AdminEndSessions => page(
                Method::POST,
                format!("/admin/users/{target}/end-sessions"),
                Some(format!("csrf={csrf}")),
            ),
            Route::Review => page(Method::GET, "/break-glass/review".into(), None),
            Route::ApiMe => api(Method::GET, "/api/v1/me".into(), None),
            Route::ApiPersonRead => api(Method::GET, format!("/api/v1/people/{person}"), None),
            Route::ApiPersonUpdate => api(
                Method::PATCH,
                format!("/api/v1/people/{person}"),
                Some(r#"{"postcode":"LS1 4AP"}"#),
            ),
            Route::ApiPeopleList => api(
                Method::GET,
                format!("/api/v1/services/{service}/people"),
                None,
            ),
            Route::ApiPeopleCreate => api(
                Method::POST,
                format!("/api/v1/services/{service}/people"),
                Some(r#"{"given_name":"Matrix","family_name":"Cell"}"#),
            ),
            Route::ApiLookup => api(
                Method::POST,
                format!("/api/v1/services/{service}/people/lookups"),
                Some(r#"{"field":"postcode","value":"LS1 4AP"}"#),
            ),
            Route::ApiAccessHistory => api(
                Method::GET,
                format!("/api/v1/people/{person}/access-history"),
                None,
            ),
            Route::ApiAssign => api(
                Method::PUT,
                format!("/api/v1/people/{person}/assignment"),
                Some("{}"),
            ),
            Route::NotesPage => page(Method::GET, format!("/people/{person}/notes"), None),
            Route::NoteCreate => page(
                Method::POST,
                format!("/people/{person}/notes/new"),
                Some(format!("csrf={csrf}&contact_type=phone&body=Matrix+cell")),
            ),
            Route::HistoryPage => page(Method::GET, format!("/people/{person}/history"), None),
            Route::DocumentDownload => page(
                Method::GET,
                format!("/people/{person}/documents/{document}"),
                None,
            ),
            // A multipart upload, its CSRF token a part of the form; routed apart from the rest.
            Route::DocumentUpload => {
                let body = format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
                     --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"matrix.txt\"\r\n\
                     Content-Type: text/plain\r\n\r\nA matrix cell's upload.\n\r\n--{BOUNDARY}--\r\n"
                );
                Request::builder()
                    .method(Method::POST)
                    .uri(format!("/people/{person}/documents"))
                    .header(
                        header::COOKIE,
                        format!("confidant-session={}", member.cookie),
                    )
                    .header(
                        header::CONTENT_TYPE,
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    )
                    .body(Body::from(body))
            }
            Route::ReferralsPage => page(Method::GET, "/referrals".into(), None),
            Route::ReferralPage => page(Method::GET, format!("/referrals/{referral}"), None),
            Route::ApiEntries => api(
                Method::GET,
                format!("/api/v1/people/{person}/entries"),
                None,
            ),
            Route::ApiEntryCreate => api(
                Method::POST,
                format!("/api/v1/people/{person}/entries"),
                Some(r#"{"kind":"note","contact_type":"phone","fields":{"body":"Matrix cell"}}"#),
            ),
            Route::ApiExport => api(Method::GET, format!("/api/v1/people/{person}/export"), None),
            Route::ApiDocumentDownload => api(
                Method::GET,
                format!("/api/v1/people/{person}/documents/{document}"),
                None,
            ),
            // A raw-body upload: routed apart from the rest, outside the small-body limit.
            Route::ApiDocumentUpload => Request::builder()
                .method(Method::POST)
                .uri(format!("/api/v1/people/{person}/documents"))
                .header(header::AUTHORIZATION, format!("Bearer {}", member.token))
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header("x-file-name", "matrix.txt")
                .body(Body::from("A matrix cell's upload.\n")),
            Route::ApiServiceConfiguration => api(
                Method::GET,
                format!("/api/v1/services/{service}/configuration"),
                None,
            ),
            Route::ApiPaperRegister => api(
                Method::GET,
                format!("/api/v1/services/{service}/paper"),
                None,
            ),
            Route::ApiServiceReferrals => api(
                Method::GET,
                format!("/api/v1/services/{service}/referrals"),
                None,
            ),
            Route::ApiReferralCreate => api(
                Method::POST,
                format!("/api/v1/services/{service}/referrals"),
                Some(r#"{"source":"self","fields":{"given_name":"Matrix","family_name":"Cell"}}"#),
            ),
            Route::ApiReferralRead => {
                api(Method::GET, format!("/api/v1/referrals/{referral}"), None)
            }
            // Contact attempted may be recorded again and again, so every allowed cell can take it.
            Route::ApiTriage => api(
                Method::POST,
                format!("/api/v1/referrals/{referral}/triage"),
                Some(r#"{"state":"contact_attempted"}"#),
            ),
            Route::ApiConsents => api(
                Method::GET,
                format!("/api/v1/people/{person}/consents"),
                None,
            ),
            Route::ApiDisclosures => api(
                Method::GET,
                format!("/api/v1/people/{person}/disclosures"),
                None,
            ),
            Route::ApiShareCheck => {
                let body = format!(
                    r#"{{"recipient_id":"{}","fields":["given_name"],"lawful_basis":"consent","reason":"Matrix cell share check","person_told":true}}"#,
                    self.recipient
                );
                Request::builder()
                    .method(Method::POST)
                    .uri(format!("/api/v1/people/{person}/shares/check"))
                    .header(header::AUTHORIZATION, format!("Bearer {}", member.token))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body))
            }
            Route::ApiRecipients => api(Method::GET, "/api/v1/recipients".into(), None),
        }?)
    }
}

/// What a response means. A redirect counts as allowed only after a post, and never one back to
/// signing in (that would be a session problem, not an answer).
fn outcome(response: &axum::response::Response) -> Option<Expect> {
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if status.is_redirection()
        && (location.starts_with("/sign-in") || location.split('?').next() == Some("/lock"))
    {
        None
    } else if status.is_success() || status.is_redirection() {
        Some(Expect::Allowed)
    } else if status == StatusCode::NOT_FOUND {
        Some(Expect::NotFound)
    } else if status == StatusCode::FORBIDDEN {
        Some(Expect::Forbidden)
    } else {
        None
    }
}

async fn matrix(backend: TestBackend) -> anyhow::Result<()> {
    let world = world(backend).await?;
    let mut failures = Vec::new();
    let mut cells = 0;
    let mut seen: HashMap<Expect, usize> = HashMap::new();
    for route in ROUTES {
        for member in &world.members {
            for scope in [Scope::In, Scope::Out] {
                let want = expected(route, member.role, scope);
                let response = world
                    .app
                    .clone()
                    .oneshot(world.request(route, member, scope)?)
                    .await?;
                let status = response.status();
                let got = outcome(&response);
                cells += 1;
                *seen.entry(want).or_default() += 1;
                if got != Some(want) {
                    failures.push(format!(
                        "{route:?} as {} ({scope:?}): expected {want:?}, got {status}",
                        member.role.code()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every kind of answer occurs, so the table cannot be trivially "all allowed".
    for kind in [Expect::Allowed, Expect::NotFound, Expect::Forbidden] {
        assert!(
            seen.get(&kind).copied().unwrap_or(0) > 10,
            "{kind:?} too rare"
        );
    }
    assert_eq!(cells, ROUTES.len() * Role::ALL.len() * 2);
    drop(world.confidant);
    Ok(())
}

each_backend!(matrix => every_route_role_and_scope_answers_as_the_table_says_on_sqlite, every_route_role_and_scope_answers_as_the_table_says_on_postgres);

async fn the_dpo_grants_a_trustee_one_record(backend: TestBackend) -> anyhow::Result<()> {
    let world = world(backend).await?;
    let member = |role: Role| {
        world
            .members
            .iter()
            .find(|m| m.role == role)
            .ok_or_else(|| anyhow::anyhow!("no {role:?}"))
    };
    let (dpo, trustee) = (member(Role::DataProtectionOfficer)?, member(Role::Trustee)?);
    let get = |who: &Member, uri: String| {
        Request::builder()
            .uri(uri)
            .header(header::COOKIE, format!("confidant-session={}", who.cookie))
            .body(Body::empty())
    };
    let out_of_scope = format!("/people/{}", world.person_b);
    let res = world
        .app
        .clone()
        .oneshot(get(trustee, out_of_scope.clone())?)
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let grant = |reason: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/admin/users/{}/grant", trustee.id))
            .header(header::COOKIE, format!("confidant-session={}", dpo.cookie))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={}&person_id={}&reason={reason}&days=7&matter=complaint&part_identity=yes&part_note=yes",
                dpo.csrf, world.person_b
            )))
    };
    // Too short a reason: refused, and nothing granted.
    let res = world.app.clone().oneshot(grant("why")?).await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = world
        .app
        .clone()
        .oneshot(get(trustee, out_of_scope.clone())?)
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = world
        .app
        .clone()
        .oneshot(grant("board+review+of+a+complaint")?)
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let res = world
        .app
        .clone()
        .oneshot(get(trustee, out_of_scope)?)
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    // The administrator may not grant record access.
    let admin = member(Role::Administrator)?;
    let res = world
        .app
        .clone()
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri(format!("/admin/users/{}/grant", trustee.id))
                .header(
                    header::COOKIE,
                    format!("confidant-session={}", admin.cookie),
                )
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "csrf={}&person_id={}&reason=board+review+again&days=7",
                    admin.csrf, world.person_a
                )))?,
        )
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_grants_a_trustee_one_record_on_sqlite() -> anyhow::Result<()> {
    the_dpo_grants_a_trustee_one_record(TestBackend::Sqlite).await
}

/// Refusals about the caller (lapsed training, a read-only token) answer 403 with a plain code, and
/// are on the audit log like every other refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lapsed_training_and_read_only_tokens_are_refused_and_recorded() -> anyhow::Result<()> {
    let app = TestApp::new(TestBackend::Sqlite).await?;
    let person = app
        .confidant
        .create_person(
            &app.worker_a,
            Purpose::Support,
            app.service_a,
            &Synthetic::new(3).person(),
        )
        .await?
        .id;
    let untrained = app
        .confidant
        .create_staff(
            &operator(),
            app.organisation,
            Some(app.service_a),
            Role::Practitioner,
            "untrained",
        )
        .await?;
    let worker = app
        .confidant
        .staff_by_handle("worker.a")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no worker"))?;
    let lapsed = token_for(&app.confidant, &untrained, TokenScope::ReadWrite).await?;
    let read_only = token_for(&app.confidant, &worker, TokenScope::Read).await?;
    let TestApp { confidant, db, .. } = app;
    let confidant = Arc::new(confidant);
    let router = confidant_web::router(confidant.clone(), confidant_web::WebConfig::default());
    let call = |method: Method, token: &str, body: Option<&str>| {
        let builder = Request::builder()
            .method(method)
            .uri(format!("/api/v1/people/{person}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        builder.body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
    };
    let body = |res: axum::response::Response| async move {
        let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024).await?;
        anyhow::Ok(String::from_utf8(bytes.to_vec())?)
    };
    let res = router
        .clone()
        .oneshot(call(Method::GET, &lapsed, None)?)
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(body(res).await?.contains("training_lapsed"));
    let res = router
        .clone()
        .oneshot(call(
            Method::PATCH,
            &read_only,
            Some(r#"{"postcode":"LS1 4AP"}"#),
        )?)
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(body(res).await?.contains("read_only_token"));
    let res = router
        .clone()
        .oneshot(call(Method::GET, &read_only, None)?)
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let events = confidant.store().audit_events(1, 10_000).await?;
    for code in ["access.training_lapsed", "access.read_only_token"] {
        assert!(
            events
                .iter()
                .any(|e| e.action == code && e.outcome == "denied"),
            "no {code} event"
        );
    }
    drop(db);
    Ok(())
}

/// The paper register is a list of the service, like its people: a practitioner of a service kept
/// to caseloads sees the paper of the people they are key worker for, and nobody else's (not even
/// which people have paper held); the service manager sees all of it.
async fn the_paper_register_keeps_to_the_actors_scope(backend: TestBackend) -> anyhow::Result<()> {
    let app = TestApp::new(backend).await?;
    let c = &app.confidant;
    let (_, other_actor) = app
        .add_staff(Role::Practitioner, Some(app.service_a), "worker.c", true)
        .await?;
    let (manager, _) = app
        .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
        .await?;
    let mut synthetic = Synthetic::new(11);
    // Each practitioner adds a person (becoming their key worker) and a paper note to their record.
    let mut people = Vec::new();
    for worker in [&app.worker_a, &other_actor] {
        let person = c
            .create_person(worker, Purpose::Support, app.service_a, &synthetic.person())
            .await?
            .id;
        c.add_entry(
            worker,
            Purpose::Support,
            person,
            &NewEntry {
                kind: RecordKind::PaperNote,
                case_id: None,
                parent_id: None,
                contact_type: None,
                occurs_at: None,
                status: None,
                due_at: None,
                flags: NoteFlags::default(),
                values: RecordInput::new().with("description", "Notes from a home visit"),
            },
        )
        .await?;
        people.push(person);
    }
    c.set_service_scope(
        &app.admin,
        app.service_a,
        confidant_core::AccessScope::Caseload,
    )
    .await?;
    let worker = c
        .staff_by_handle("worker.a")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no worker"))?;
    let worker_token = token_for(c, &worker, TokenScope::Read).await?;
    let manager_token = token_for(c, &manager, TokenScope::Read).await?;
    let TestApp {
        confidant,
        db,
        service_a,
        ..
    } = app;
    let confidant = Arc::new(confidant);
    let router = confidant_web::router(confidant.clone(), confidant_web::WebConfig::default());
    let people_in_register = |token: String| {
        let router = router.clone();
        async move {
            let res = router
                .oneshot(
                    Request::builder()
                        .uri(format!("/api/v1/services/{service_a}/paper"))
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .body(Body::empty())?,
                )
                .await?;
            anyhow::ensure!(res.status() == StatusCode::OK, "got {}", res.status());
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await?;
            let lines: Vec<serde_json::Value> = serde_json::from_slice(&bytes)?;
            let mut ids: Vec<String> = lines
                .iter()
                .filter_map(|l| l["person_id"].as_str().map(str::to_owned))
                .collect();
            ids.sort();
            anyhow::Ok(ids)
        }
    };
    let mut everyone: Vec<String> = people.iter().map(Uuid::to_string).collect();
    everyone.sort();
    assert_eq!(
        people_in_register(worker_token).await?,
        [people[0].to_string()],
        "a practitioner sees only their caseload's paper"
    );
    assert_eq!(people_in_register(manager_token).await?, everyone);
    drop(db);
    Ok(())
}

each_backend!(the_paper_register_keeps_to_the_actors_scope => the_paper_register_keeps_to_the_actors_scope_on_sqlite, the_paper_register_keeps_to_the_actors_scope_on_postgres);

/// A processor's worker referred two of a person's fields sees exactly those, in the answers to
/// reads and writes alike, and reaches nothing else of the record: not its other fields through the
/// answer to an empty change, not its entries, contact preferences and code word, consents, related
/// people or documents (issue 12, finding 1).
async fn a_processors_worker_sees_and_changes_only_what_was_referred(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let world = world(backend).await?;
    let worker = world
        .members
        .iter()
        .find(|m| m.role == Role::ProcessorStaff)
        .ok_or_else(|| anyhow::anyhow!("no processor's worker"))?;
    let person = world.person_a;
    let call = |method: Method, uri: String, body: Option<&'static str>| {
        let builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", worker.token))
            .header(header::CONTENT_TYPE, "application/json");
        builder.body(body.map_or_else(Body::empty, Body::from))
    };
    let send = |request: Request<Body>| {
        let app = world.app.clone();
        async move {
            let res = app.oneshot(request).await?;
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await?;
            anyhow::Ok((status, String::from_utf8(bytes.to_vec())?))
        }
    };
    // What the worker may see, and the rest of the record, as its own service reads it.
    let own_service = world
        .confidant
        .acting_as(
            &operator(),
            &world
                .confidant
                .staff_by_handle("worker.a")
                .await?
                .ok_or_else(|| anyhow::anyhow!("no worker"))?,
        )
        .await?;
    let whole = world
        .confidant
        .read_person(&own_service, Purpose::Support, person)
        .await?;
    let hidden: Vec<String> = confidant_core::field::PersonField::ALL
        .into_iter()
        .filter(|f| {
            !matches!(
                f,
                confidant_core::field::PersonField::GivenName
                    | confidant_core::field::PersonField::Postcode
            )
        })
        .filter_map(|f| whole.get(f).map(str::to_owned))
        .filter(|v| v.len() >= 6)
        .collect();
    assert!(
        !hidden.is_empty(),
        "the record has fields beyond what was referred"
    );
    for (method, body) in [(Method::GET, None), (Method::PATCH, Some("{}"))] {
        let (status, text) = send(call(
            method.clone(),
            format!("/api/v1/people/{person}"),
            body,
        )?)
        .await?;
        assert_eq!(status, StatusCode::OK, "{method} {text}");
        assert!(
            text.contains(
                whole
                    .get(confidant_core::field::PersonField::GivenName)
                    .unwrap_or("?")
            ),
            "{method}: the referred name is there"
        );
        for value in &hidden {
            assert!(
                !text.contains(value.as_str()),
                "{method}: an unreferred field leaked"
            );
        }
    }
    // Changing a field that was not referred is refused, and changes nothing.
    let (status, _) = send(call(
        Method::PATCH,
        format!("/api/v1/people/{person}"),
        Some(r#"{"family_name":"Overwritten"}"#),
    )?)
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Entries that were not referred do not exist for them; nor does the rest of the record.
    let (status, text) = send(call(
        Method::GET,
        format!("/api/v1/people/{person}/entries"),
        None,
    )?)
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !text.contains("appointment"),
        "an unreferred note is listed: {text}"
    );
    // Nor may they change an entry that was not referred (the person's note).
    let notes = world
        .confidant
        .entries(&own_service, Purpose::Support, person, &[])
        .await?;
    let note = notes.first().ok_or_else(|| anyhow::anyhow!("no note"))?.id;
    let (status, text) = send(call(
        Method::PATCH,
        format!("/api/v1/people/{person}/entries/{note}"),
        Some(r#"{"fields":{}}"#),
    )?)
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    assert!(!text.contains("appointment"));
    for path in [
        "contact-preferences",
        "consents",
        "related",
        "documents",
        "cases",
        "access-history",
        "messages",
    ] {
        let (status, _) = send(call(
            Method::GET,
            format!("/api/v1/people/{person}/{path}"),
            None,
        )?)
        .await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = send(call(
        Method::PUT,
        format!("/api/v1/people/{person}/contact-preferences"),
        Some(r#"{"channels":{"phone":"refused"}}"#),
    )?)
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

each_backend!(a_processors_worker_sees_and_changes_only_what_was_referred => a_processors_worker_sees_and_changes_only_what_was_referred_on_sqlite, a_processors_worker_sees_and_changes_only_what_was_referred_on_postgres);
