//! The authorization matrix: every route × every role × a record in scope and one out of scope,
//! generated, with each cell asserted against an expected table written out here independently of the
//! policies. Record routes answer the same 404 whether the record is missing or out of scope;
//! non-record actions a role may not take answer 403; allowed ones 2xx (or a redirect after a post).
//!
//! Runs the real router in-process on a real database (SQLite and PostgreSQL), with real sessions
//! (password + TOTP sign-in through core) and real API tokens.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use confidant_core::clock::FixedClock;
use confidant_core::store::{StaffRecord, Store, TokenScope};
use confidant_core::{Actor, Clock, Confidant, Grant, Purpose, Role};
use confidant_crypto::totp::{TotpSecret, code_at};
use confidant_store::SqlStore;
use confidant_testkit::{Synthetic, TestApp, TestBackend, train};
use tower::ServiceExt;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple tuesday";

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
}

const ROUTES: [Route; 20] = [
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
    let sees_history = reads_record
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
        // The people list is a page of the actor's own service: not a record, so 403.
        Route::PeopleList | Route::PeopleSearch => pick(in_service(role), Forbidden),
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
    /// An account for the administrative cells to act on (not one of the members, whose sessions
    /// the matrix needs).
    target: Uuid,
    /// Kept alive for the database's lifetime.
    _db: confidant_testkit::TestDb,
}

async fn sign_in_fully(
    confidant: &Confidant<SqlStore, FixedClock>,
    staff: &StaffRecord,
) -> anyhow::Result<(String, String)> {
    confidant
        .set_password(&Actor::System, staff.id, PASSWORD, &[])
        .await?;
    let signed = confidant.sign_in(&staff.handle, PASSWORD).await?;
    let half = confidant
        .session(signed.token.expose())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no session after the password"))?;
    let enrolment = confidant.two_factor_enrolment(&half, "Confidant").await?;
    let secret = TotpSecret::from_base32(enrolment.manual_key.expose())?;
    let now = u64::try_from(confidant.clock().now().unix_timestamp())?;
    let (token, _codes) = confidant
        .confirm_two_factor(&half, &code_at(&secret, now))
        .await?;
    let full = confidant
        .session(token.expose())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no session after the second factor"))?;
    Ok((token.expose().to_owned(), full.record.csrf_token))
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
    let mut synthetic = Synthetic::new(7);
    let person_a = confidant
        .create_person(&worker_a, Purpose::Support, service_a, &synthetic.person())
        .await?
        .id;
    let person_b = confidant
        .create_person(&worker_b, Purpose::Support, service_b, &synthetic.person())
        .await?
        .id;
    let mut members = Vec::new();
    for role in Role::ALL {
        let service = in_service(role).then_some(service_a);
        let handle = format!("matrix.{}", role.code().replace('_', "-"));
        let staff = confidant
            .create_staff(&Actor::System, organisation, service, role, &handle)
            .await?;
        train(&confidant, staff.id).await?;
        let grant = match role {
            Role::Trustee => Some(Grant::TrusteeMatter),
            Role::ProcessorStaff => Some(Grant::ProcessorReferral),
            _ => None,
        };
        if let Some(kind) = grant {
            confidant
                .grant_access(&dpo, kind, staff.id, person_a, "matrix test matter", 30)
                .await?;
        }
        let (cookie, csrf) = sign_in_fully(&confidant, &staff).await?;
        let token = confidant
            .issue_token(
                &Actor::System,
                &staff,
                time::Duration::days(1),
                TokenScope::ReadWrite,
            )
            .await?;
        members.push(Member {
            role,
            id: staff.id,
            cookie,
            csrf,
            token: token.expose().to_owned(),
        });
    }
    let target = confidant
        .create_staff(
            &Actor::System,
            organisation,
            Some(service_a),
            Role::Practitioner,
            "matrix.target",
        )
        .await?
        .id;
    let confidant = Arc::new(confidant);
    let app = confidant_web::router(confidant.clone(), confidant_web::WebConfig::default());
    Ok(World {
        app,
        confidant,
        members,
        service_a,
        service_b,
        person_a,
        person_b,
        target,
        _db: db,
    })
}

impl World {
    /// The request for one cell. A person-based route uses the in- or out-of-scope person; a
    /// service-based API route uses the member's service (A) or the other one (B).
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
    if status.is_redirection() && (location.starts_with("/sign-in") || location == "/lock") {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_role_and_scope_answers_as_the_table_says_on_sqlite() -> anyhow::Result<()> {
    matrix(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_role_and_scope_answers_as_the_table_says_on_postgres() -> anyhow::Result<()> {
    matrix(TestBackend::Postgres).await
}

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
                "csrf={}&person_id={}&reason={reason}&days=7",
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
            &Actor::System,
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
    let token = |staff: StaffRecord, scope: TokenScope| {
        let confidant = &app.confidant;
        async move {
            anyhow::Ok(
                confidant
                    .issue_token(&Actor::System, &staff, time::Duration::days(1), scope)
                    .await?
                    .expose()
                    .to_owned(),
            )
        }
    };
    let lapsed = token(untrained, TokenScope::ReadWrite).await?;
    let read_only = token(worker, TokenScope::Read).await?;
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
