//! The idle lock without JavaScript, and error pages as people meet them (issue 16, part 9):
//! - every page of a signed-in session refreshes to the lock page at the session's idle limit
//!   (`<meta http-equiv="refresh">`), public pages never, and the accessibility statement says so;
//!   unlocking goes back to the page that was open, and only to a path of this site;
//! - the lock page a refresh opens does not count as activity, so a window left open does not keep
//!   its session from locking;
//! - an error page keeps a signed-in member of staff's navigation and always offers a way back;
//! - a malformed id in an address, an address that is no page and a method a path does not take
//!   get the error page or the API's JSON error body, never the framework's own text.
//!
//! Runs the real router in-process on a real database (SQLite and PostgreSQL).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use confidant_core::store::TokenScope;
use confidant_testkit::web::{Answer, Browser, TestSite, between};
use confidant_testkit::{TEST_PASSWORD, TestApp, TestBackend, both_backends};
use uuid::Uuid;

/// The main navigation of a signed-in page (see templates/layout.html).
const NAV: &str = "<nav aria-label=\"Main\"";

async fn site(backend: TestBackend) -> anyhow::Result<(TestSite, Uuid)> {
    let app = TestApp::new(backend).await?;
    let person = app.person_named("Lockable", "Record").await?;
    Ok((app.serve(crate::router), person))
}

/// The `content` of the page's refresh, if it has one.
fn refresh(answer: &Answer) -> Option<String> {
    let html = answer.text();
    html.contains("http-equiv=\"refresh\"")
        .then(|| between(&html, "<meta http-equiv=\"refresh\" content=\"", "\""))
}

fn idle_seconds(site: &TestSite) -> i64 {
    site.confidant.settings().session.idle.whole_seconds()
}

/// Lets the session's idle limit pass.
fn go_idle(site: &TestSite) {
    site.confidant
        .clock()
        .advance(site.confidant.settings().session.idle + time::Duration::seconds(1));
}

/// The error page as the router answers it: HTML, the framework's text nowhere.
fn assert_error_page(answer: &Answer, status: StatusCode, what: &str) {
    let html = answer.text();
    assert_eq!(answer.status, status, "{what}: {html}");
    assert!(
        answer.header(header::CONTENT_TYPE).starts_with("text/html"),
        "{what}: {}",
        answer.header(header::CONTENT_TYPE)
    );
    assert!(html.contains("id=\"way-back\""), "{what}: no way back");
    for framework in ["Invalid URL", "Failed to deserialize", "length limit"] {
        assert!(!html.contains(framework), "{what}: {html}");
    }
}

/// An error page of a signed-in member of staff: the navigation, the dashboard as the way back,
/// and the lock's refresh (to the lock page itself: an error is no page to come back to).
fn assert_signed_in_error_page(answer: &Answer, status: StatusCode, what: &str, idle: i64) {
    assert_error_page(answer, status, what);
    let html = answer.text();
    assert!(html.contains(NAV), "{what}: no navigation");
    assert!(
        html.contains("Signed in as <strong>worker.a</strong>"),
        "{what}"
    );
    assert!(
        html.contains(
            "<a class=\"govuk-link\" href=\"/\" id=\"way-back\">Go to your dashboard</a>"
        ),
        "{what}"
    );
    assert_eq!(refresh(answer), Some(format!("{idle};url=/lock")), "{what}");
}

/// An error page of nobody signed in: no navigation, signing in as the way back, no refresh.
fn assert_anonymous_error_page(answer: &Answer, status: StatusCode, what: &str) {
    assert_error_page(answer, status, what);
    let html = answer.text();
    assert!(!html.contains(NAV), "{what}: navigation without a session");
    assert!(html.contains("href=\"/sign-in\" id=\"way-back\""), "{what}");
    assert_eq!(refresh(answer), None, "{what}");
}

/// The API's JSON error body with this status and code.
fn assert_api_error(answer: &Answer, status: StatusCode, code: &str, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.text());
    assert!(
        answer
            .header(header::CONTENT_TYPE)
            .starts_with("application/json"),
        "{what}: {}",
        answer.header(header::CONTENT_TYPE)
    );
    assert_eq!(
        answer.json_or_null()["error"],
        code,
        "{what}: {}",
        answer.text()
    );
}

/// Unlocks on the lock page `lock` (as opened), with its form's `return`, if any; the answer.
async fn unlock(browser: &Browser, lock: &str, password: &str) -> anyhow::Result<Answer> {
    let page = browser.get(lock).await?;
    assert_eq!(page.status, StatusCode::OK, "{lock}: {}", page.text());
    let html = page.text();
    let back = between(&html, "name=\"return\" value=\"", "\"");
    let csrf = page.csrf();
    let mut form = vec![("csrf", csrf.as_str()), ("password", password)];
    if html.contains("name=\"return\"") {
        form.push(("return", back.as_str()));
    }
    browser.post_form("/lock", &form).await
}

both_backends!(
    a_signed_in_page_opens_the_lock_page_at_the_idle_limit_and_a_public_page_never_does,
    |backend| async move {
        let (site, person) = site(backend).await?;
        let idle = idle_seconds(&site);
        assert_eq!(idle, 15 * 60, "the default idle limit");
        let worker = site.browser("worker.a").await?;

        // Each signed-in page, after the idle limit, opens the lock page that comes back to it.
        let record = format!("/people/{person}");
        for (path, content) in [
            ("/".to_owned(), format!("{idle};url=/lock")),
            (
                "/people".to_owned(),
                format!("{idle};url=/lock?return=/people"),
            ),
            (record.clone(), format!("{idle};url=/lock?return={record}")),
            (
                format!("{record}/notes"),
                format!("{idle};url=/lock?return={record}/notes"),
            ),
            (
                "/account/tokens".to_owned(),
                format!("{idle};url=/lock?return=/account/tokens"),
            ),
        ] {
            let page = worker.get(&path).await?;
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text());
            assert_eq!(refresh(&page), Some(content), "{path}");
        }
        // A query string is not carried: it may hold what was typed.
        let page = worker.get(&format!("{record}?changed=identity")).await?;
        assert_eq!(
            refresh(&page),
            Some(format!("{idle};url=/lock?return={record}"))
        );
        // A page given in answer to a form (its errors) comes back to the dashboard: a form's
        // address need not be a page.
        let answered = worker
            .submit("/people/new", "/people/new", &[("given_name", "")])
            .await?;
        assert_eq!(answered.status, StatusCode::BAD_REQUEST);
        assert!(answered.text().contains("govuk-error-summary"));
        assert_eq!(refresh(&answered), Some(format!("{idle};url=/lock")));

        // Public pages, the sign-in steps and the lock page itself: never, signed in or not.
        for path in ["/sign-in", "/privacy", "/accessibility"] {
            let page = site.web.get(path).await?;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            assert_eq!(refresh(&page), None, "{path}");
            let page = worker.get(path).await?;
            if page.status == StatusCode::OK {
                assert_eq!(refresh(&page), None, "{path}, signed in");
            }
        }
        // The accessibility statement says what the lock does, with this installation's limit,
        // and no longer that it needs JavaScript.
        let statement = site.web.get("/accessibility").await?.text();
        assert!(
            statement.contains("a page left open for 15 minutes without activity is replaced"),
            "{statement}"
        );
        assert!(statement.contains("2.2.1 (timing adjustable)"));
        assert!(!statement.contains("relies on JavaScript"));

        go_idle(&site);
        let lock = worker.get(&record).await?;
        assert_eq!(lock.location(), format!("/lock?return={record}"));
        let page = worker.get(&lock.location()).await?;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("Your session is locked"));
        assert_eq!(refresh(&page), None, "the lock page");
        Ok(())
    }
);

both_backends!(
    unlocking_goes_back_to_the_page_that_was_open_and_never_off_the_site,
    |backend| async move {
        let (site, person) = site(backend).await?;
        let worker = site.browser("worker.a").await?;
        let record = format!("/people/{person}/notes");
        assert_eq!(worker.get(&record).await?.status, StatusCode::OK);

        // The page's refresh opens the lock page; a wrong password keeps the way back.
        go_idle(&site);
        let lock = format!("/lock?return={record}");
        let wrong = unlock(&worker, &lock, "not the password at all").await?;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            wrong
                .text()
                .contains(&format!("name=\"return\" value=\"{record}\"")),
            "{}",
            wrong.text()
        );
        let unlocked = unlock(&worker, &lock, TEST_PASSWORD).await?;
        assert_eq!(unlocked.location(), record);
        assert_eq!(worker.get(&record).await?.status, StatusCode::OK);

        // A return path that is not one of this site's pages is ignored: the dashboard instead,
        // and the lock page does not repeat it.
        for hostile in [
            "//evil.example",
            "https://evil",
            "/\\evil",
            "/%5Cevil",
            "/people/Ada%20Lovelace",
        ] {
            go_idle(&site);
            let lock = format!("/lock?return={hostile}");
            let page = worker.get(&lock).await?;
            assert_eq!(page.status, StatusCode::OK, "{hostile}");
            assert!(!page.text().contains("name=\"return\""), "{hostile}");
            assert!(!page.text().contains("evil"), "{hostile}");
            let unlocked = unlock(&worker, &lock, TEST_PASSWORD).await?;
            assert_eq!(unlocked.location(), "/", "{hostile}");
        }
        // Nor when it is posted straight to the form.
        for hostile in ["//evil.example", "https://evil", "/\\evil"] {
            go_idle(&site);
            let page = worker.get("/lock").await?;
            let csrf = page.csrf();
            let unlocked = worker
                .post_form(
                    "/lock",
                    &[
                        ("csrf", csrf.as_str()),
                        ("password", TEST_PASSWORD),
                        ("return", hostile),
                    ],
                )
                .await?;
            assert_eq!(unlocked.location(), "/", "{hostile}");
        }
        // A locked session asking for a page is sent to the lock page that comes back to it.
        go_idle(&site);
        let asked = worker.get(&format!("/people/{person}")).await?;
        assert_eq!(asked.location(), format!("/lock?return=/people/{person}"));
        Ok(())
    }
);

both_backends!(
    the_lock_page_opened_by_a_refresh_is_not_activity_and_hides_a_page_of_a_session_still_open,
    |backend| async move {
        let (site, person) = site(backend).await?;
        let worker = site.browser("worker.a").await?;
        let record = format!("/people/{person}");
        assert_eq!(worker.get(&record).await?.status, StatusCode::OK);
        let idle = site.confidant.settings().session.idle;

        // Another window was used two minutes later; this one's refresh fires at its limit. The
        // session is still open: the page stays hidden, with a link back and no password asked.
        site.confidant.clock().advance(time::Duration::minutes(2));
        assert_eq!(worker.get("/people").await?.status, StatusCode::OK);
        site.confidant
            .clock()
            .advance(idle - time::Duration::minutes(2) + time::Duration::seconds(1));
        let hidden = worker.get(&format!("/lock?return={record}")).await?;
        assert_eq!(hidden.status, StatusCode::OK);
        let html = hidden.text();
        assert!(html.contains("This page was hidden"), "{html}");
        assert!(!html.contains("name=\"password\""), "{html}");
        assert!(
            !html.contains("Lockable"),
            "the record's text is not on the lock page"
        );
        assert!(
            html.contains(&format!("href=\"{record}\" id=\"way-back\"")),
            "{html}"
        );

        // That look was no activity: the session locks at the limit after the other window's
        // request, not after the refresh.
        site.confidant.clock().advance(time::Duration::minutes(2));
        let asked = worker.get(&record).await?;
        assert_eq!(asked.location(), format!("/lock?return={record}"));
        Ok(())
    }
);

both_backends!(
    a_malformed_id_gets_the_error_page_with_navigation_or_the_apis_json_error,
    |backend| async move {
        let (site, person) = site(backend).await?;
        let idle = idle_seconds(&site);
        let worker = site.browser("worker.a").await?;
        let token = site.token("worker.a", TokenScope::ReadWrite).await?;
        // Pages: "Page not found" (404: an address with no such id is no page), with the
        // navigation, whether the id is malformed or names nothing.
        for path in [
            "/people/not-a-uuid".to_owned(),
            "/people/xyz/notes".to_owned(),
            format!("/people/{person}/documents/xyz"),
            format!("/people/{person}/cases/%ZZ/close"),
            "/referrals/12345".to_owned(),
            "/admin/users/not-a-uuid".to_owned(),
        ] {
            let answer = if path.ends_with("/close") {
                worker.submit("/", &path, &[]).await?
            } else {
                worker.get(&path).await?
            };
            assert_signed_in_error_page(&answer, StatusCode::NOT_FOUND, &path, idle);
            assert!(answer.text().contains("Page not found"), "{path}");
        }
        // A well-formed id that names no record in scope: the record's own "Page not found",
        // with the navigation and a way back to the people list.
        let nobody = format!("/people/{}", Uuid::now_v7());
        let answer = worker.get(&nobody).await?;
        assert_error_page(&answer, StatusCode::NOT_FOUND, &nobody);
        assert!(answer.text().contains(NAV));
        assert!(answer.text().contains("href=\"/people\" id=\"way-back\""));
        // The API: 400 `malformed` for an id that does not parse, 404 for one that names nothing.
        for path in [
            "/people/xyz",
            "/people/not-a-uuid/notes",
            "/people/xyz/entries",
            "/referrals/12345",
        ] {
            let answer = site.web.api(&token, Method::GET, path, None).await?;
            if answer.status == StatusCode::NOT_FOUND {
                assert_api_error(&answer, StatusCode::NOT_FOUND, "not_found", path);
            } else {
                assert_api_error(&answer, StatusCode::BAD_REQUEST, "malformed", path);
            }
            assert!(!answer.text().contains("xyz") && !answer.text().contains("12345"));
        }
        let answer = site
            .web
            .api(&token, Method::GET, "/people/xyz", None)
            .await?;
        assert_api_error(&answer, StatusCode::BAD_REQUEST, "malformed", "/people/xyz");
        Ok(())
    }
);

both_backends!(
    error_pages_keep_the_navigation_and_offer_a_way_back,
    |backend| async move {
        let (site, _) = site(backend).await?;
        let idle = idle_seconds(&site);
        let worker = site.browser("worker.a").await?;
        let token = site.token("worker.a", TokenScope::ReadWrite).await?;

        // No such page, a page the role may not open, a form's address opened as a page.
        let answer = worker.get("/no/such/page").await?;
        assert_signed_in_error_page(&answer, StatusCode::NOT_FOUND, "no page", idle);
        let answer = worker.get("/admin/register").await?;
        assert_signed_in_error_page(&answer, StatusCode::FORBIDDEN, "forbidden", idle);
        let answer = worker.get("/people/search").await?;
        assert_signed_in_error_page(&answer, StatusCode::METHOD_NOT_ALLOWED, "405", idle);
        assert_eq!(answer.header(header::ALLOW), "POST");
        assert!(answer.text().contains("This page cannot be opened"));
        // A form without its token: 403, with the navigation.
        let answer = worker.post_form("/people/search", &[("q", "x")]).await?;
        assert_signed_in_error_page(&answer, StatusCode::FORBIDDEN, "csrf", idle);
        // A form over the body limit: 413, the page, not the body limit's text.
        let big = "x".repeat(confidant_web::MAX_BODY_BYTES + 1);
        let answer = site
            .web
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri("/people/search")
                    .header(header::COOKIE, worker.cookie())
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::CONTENT_LENGTH, big.len() + 2)
                    .body(Body::from(format!("q={big}")))?,
            )
            .await?;
        assert_signed_in_error_page(&answer, StatusCode::PAYLOAD_TOO_LARGE, "413", idle);

        // Nobody signed in, or a locked session: the same pages without navigation.
        let answer = site.web.get("/no/such/page").await?;
        assert_anonymous_error_page(&answer, StatusCode::NOT_FOUND, "no page, signed out");
        let answer = site.web.get("/privacy/nowhere").await?;
        assert_anonymous_error_page(&answer, StatusCode::NOT_FOUND, "no notice, signed out");
        go_idle(&site);
        let answer = worker.get("/no/such/page").await?;
        assert_anonymous_error_page(&answer, StatusCode::NOT_FOUND, "no page, locked");

        // The API: its JSON error body for an address that is no endpoint, a method an endpoint
        // does not take, and a body over the limit.
        for path in ["/api/v1/nowhere", "/api/nowhere", "/api/v2/people"] {
            let answer = site.web.get(path).await?;
            assert_api_error(&answer, StatusCode::NOT_FOUND, "not_found", path);
        }
        let answer = site.web.api(&token, Method::DELETE, "/me", None).await?;
        assert_api_error(
            &answer,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "DELETE /me",
        );
        assert_eq!(answer.header(header::ALLOW), "GET,HEAD");
        let service = site.service_a;
        let answer = site
            .web
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri(format!("/api/v1/services/{service}/people"))
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::CONTENT_LENGTH, big.len() + 8)
                    .body(Body::from(format!("{{\"a\":\"{big}\"}}")))?,
            )
            .await?;
        assert_api_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, "too_large", "413");
        Ok(())
    }
);
