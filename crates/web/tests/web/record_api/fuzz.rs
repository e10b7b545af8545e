//! Randomised requests to the JSON API (issue 12, the route-wide proof), through the real router on
//! both backends, as a signed-in practitioner: random JSON, valid bodies mutated key by key, bodies
//! that are not JSON, and mangled bearer tokens and headers, against a representative set of write
//! routes (people, related people, cases, entries, referrals, consent, restrictions, shares,
//! approvals, contact preferences and messages, break-the-glass) and the document upload.
//!
//! Every answer must be a 2xx, or a 4xx with the JSON error body (`error` and `message`) that never
//! repeats a value sent; never a 5xx, never a panic. Path ids are well-formed (a real record's or a
//! random UUID): malformed path segments are a separate finding (issue 12, item 7) and are checked
//! here only for "no 5xx, no panic".
//!
//! Bounded: a few dozen cases per test and backend, no regression files (a case a run finds is added
//! as a plain test).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

use super::*;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        // Each case is a request on a real database: shrinking is kept short.
        max_shrink_iters: 64,
        ..Config::default()
    }
}

/// The ids a request's path can hold.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The record made for the test.
    Real,
    /// A well-formed id of nothing.
    Random,
    /// Not an id at all.
    Malformed,
}

/// Records the routes act on, made once per test.
struct Fixture {
    service: String,
    person: String,
    case: String,
    entry: String,
    referral: String,
}

impl Fixture {
    async fn new(api: &Api) -> anyhow::Result<Self> {
        let person = api
            .person(json!({"given_name": "Fuzz", "family_name": "Subject", "phone": "07700900123"}))
            .await?;
        let case = api
            .expect(
                Method::POST,
                &format!("/people/{person}/cases"),
                json!({}),
                StatusCode::CREATED,
            )
            .await?;
        let entry = api
            .expect(
                Method::POST,
                &format!("/people/{person}/entries"),
                json!({"kind": "note", "contact_type": "phone", "fields": {"body": "Called."}}),
                StatusCode::CREATED,
            )
            .await?;
        let referral = api
            .expect(
                Method::POST,
                &format!("/services/{}/referrals", api.service_a),
                json!({"source": "self", "fields": {"given_name": "Ref", "family_name": "Erred"}}),
                StatusCode::CREATED,
            )
            .await?;
        Ok(Self {
            service: api.service_a.to_string(),
            person,
            case: id(&case)?,
            entry: id(&entry)?,
            referral: id(&referral)?,
        })
    }

    fn id(&self, real: &str, target: Target) -> String {
        match target {
            Target::Real => real.to_owned(),
            Target::Random => Uuid::new_v4().to_string(),
            Target::Malformed => "not-an-id%00".to_owned(),
        }
    }
}

/// A write route: method, path (with `{s}`, `{p}`, `{c}`, `{e}`, `{r}` for the service, person,
/// case, entry and referral) and a valid body to mutate.
fn routes() -> Vec<(Method, &'static str, Value)> {
    vec![
        (
            Method::POST,
            "/services/{s}/people",
            json!({"given_name": "Ada", "family_name": "Byron", "date_of_birth": "1990-05-17", "postcode": "LS1 4AP"}),
        ),
        (
            Method::PATCH,
            "/people/{p}",
            json!({"phone": "07700900456", "religion": "none", "nhs_number": "9434765919"}),
        ),
        (
            Method::POST,
            "/services/{s}/people/lookups",
            json!({"field": "phone", "value": "07700900123"}),
        ),
        (
            Method::PUT,
            "/people/{p}/assignment",
            json!({"team_id": null, "key_worker_id": null}),
        ),
        (
            Method::POST,
            "/people/{p}/break-glass",
            json!({"reason": "Risk to life reported by the police tonight."}),
        ),
        (
            Method::POST,
            "/people/{p}/related",
            json!({"relationship": "next_of_kin", "fields": {"given_name": "Sam", "phone": "07700900456"}}),
        ),
        (Method::POST, "/people/{p}/cases", json!({})),
        (
            Method::POST,
            "/people/{p}/cases/{c}/close",
            json!({"reason": "completed"}),
        ),
        (
            Method::POST,
            "/people/{p}/entries",
            json!({"kind": "note", "contact_type": "visit", "occurs_at": "2026-11-21T15:30:00Z",
                   "flags": {"third_party": true}, "fields": {"body": "Visit.", "supplied_by": "A neighbour"}}),
        ),
        (
            Method::PATCH,
            "/people/{p}/entries/{e}",
            json!({"fields": {"body": "Called again."}}),
        ),
        (
            Method::POST,
            "/services/{s}/referrals",
            json!({"source": "professional", "fields": {"given_name": "Hal", "family_name": "Quinn", "date_of_birth": "1990-05-17"}}),
        ),
        (
            Method::POST,
            "/referrals/{r}/triage",
            json!({"state": "contact_attempted"}),
        ),
        (Method::POST, "/referrals/{r}/accept", json!({})),
        (
            Method::POST,
            "/people/{p}/consents",
            json!({"purpose_id": Uuid::nil(), "state": "granted", "expires_on": "2027-01-01"}),
        ),
        (
            Method::POST,
            "/people/{p}/restrictions",
            json!({"kind": "no_sharing"}),
        ),
        (
            Method::POST,
            "/people/{p}/shares/check",
            json!({"recipient_id": Uuid::nil(), "fields": ["given_name"], "lawful_basis": "consent",
                   "reason": "Referral on", "person_told": true}),
        ),
        (
            Method::POST,
            "/people/{p}/shares",
            json!({"recipient_id": Uuid::nil(), "fields": ["given_name"], "lawful_basis": "consent",
                   "reason": "Referral on", "person_told": true, "referral_days": 30}),
        ),
        (
            Method::POST,
            "/people/{p}/approvals",
            json!({"recipient_id": Uuid::nil(), "categories": ["identity"], "justification": "Needed."}),
        ),
        (
            Method::PUT,
            "/people/{p}/contact-preferences",
            json!({"channels": {"phone": "allowed", "letter": "refused"}, "no_voicemail": true, "code_word": "bluebell"}),
        ),
        (
            Method::POST,
            "/people/{p}/messages",
            json!({"channel": "text", "template": "please_get_in_touch"}),
        ),
    ]
}

/// A string: often random, sometimes one a parser will look at twice, sometimes a marker whose
/// appearance in a refusal would mean the refusal repeats what was sent.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "Zqmarker[0-9a-z]{6}",
        any::<String>(),
        "[0-9A-Za-z @+().:/'\\-_\u{0}\n\u{202E}\u{200B}é]{0,24}",
        Just("2026-11-22T10:00:00Z".to_owned()),
        Just("9999-12-31".to_owned()),
        Just("00000000-0000-0000-0000-000000000000".to_owned()),
        (0usize..70_000).prop_map(|n| "x".repeat(n)),
    ]
}

/// Any JSON value, a few levels deep, with keys the routes know as often as not.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A key: one a route reads, or any.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "given_name", "family_name", "phone", "fields", "kind", "relationship", "reason",
            "state", "source", "flags", "occurs_at", "due_at", "status", "plan_id", "case_id",
            "recipient_id", "lawful_basis", "person_told", "referral_days", "channels", "code_word",
            "channel", "template", "at", "field", "value", "purpose_id", "expires_on", "categories",
            "linked_person_id", "key_worker_id", "team_id", "entry_ids", "processor_staff_id",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{0,12}",
    ]
}

/// A value of each JSON type, to put where a value of that type was.
#[derive(Debug, Clone)]
struct Typed {
    text: String,
    flag: bool,
    number: i64,
    texts: Vec<String>,
    map: std::collections::BTreeMap<String, String>,
}

fn typed() -> impl Strategy<Value = Typed> {
    (
        text(),
        any::<bool>(),
        prop_oneof![any::<i64>(), -2i64..400],
        prop::collection::vec(text(), 0..4),
        prop::collection::btree_map(key(), text(), 0..4),
    )
        .prop_map(|(text, flag, number, texts, map)| Typed {
            text,
            flag,
            number,
            texts,
            map,
        })
}

impl Typed {
    /// A value of the same JSON type as `like` (a string where a string was...).
    fn like(&self, like: &Value) -> Value {
        match like {
            Value::Bool(_) => Value::Bool(self.flag),
            Value::Number(_) => Value::from(self.number),
            Value::Array(_) => json!(self.texts),
            Value::Object(_) => json!(self.map),
            Value::Null | Value::String(_) => Value::String(self.text.clone()),
        }
    }
}

/// How a valid body is changed.
#[derive(Debug, Clone)]
enum Change {
    /// Puts a value of the same type in place of one of the body's (the parsers behind the JSON
    /// layer see it).
    Retype(prop::sample::Index, Typed),
    Set(String, Value),
    Remove(prop::sample::Index),
    /// Replaces a value inside a nested object (`fields`, `flags`, `channels`).
    SetNested(prop::sample::Index, String, Value),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<prop::sample::Index>(), typed()).prop_map(|(i, t)| Change::Retype(i, t)),
        (any::<prop::sample::Index>(), typed()).prop_map(|(i, t)| Change::Retype(i, t)),
        (any::<prop::sample::Index>(), typed()).prop_map(|(i, t)| Change::Retype(i, t)),
        (key(), json_value()).prop_map(|(k, v)| Change::Set(k, v)),
        any::<prop::sample::Index>().prop_map(Change::Remove),
        (any::<prop::sample::Index>(), key(), json_value())
            .prop_map(|(i, k, v)| Change::SetNested(i, k, v)),
    ]
}

fn mutate(mut body: Value, changes: &[Change]) -> Value {
    for c in changes {
        let Some(object) = body.as_object_mut() else {
            return body;
        };
        match c {
            Change::Retype(i, typed) if !object.is_empty() => {
                let k = object.keys().nth(i.index(object.len())).cloned();
                if let Some(k) = k {
                    let value = typed.like(&object[&k]);
                    object.insert(k, value);
                }
            }
            Change::Retype(..) => {}
            Change::Set(k, v) => {
                object.insert(k.clone(), v.clone());
            }
            Change::Remove(i) if !object.is_empty() => {
                let k = object.keys().nth(i.index(object.len())).cloned();
                if let Some(k) = k {
                    object.remove(&k);
                }
            }
            Change::SetNested(i, k, v) => {
                let nested: Vec<String> = object
                    .iter()
                    .filter(|(_, v)| v.is_object())
                    .map(|(k, _)| k.clone())
                    .collect();
                if !nested.is_empty() {
                    let at = &nested[i.index(nested.len())];
                    if let Some(Value::Object(inner)) = object.get_mut(at) {
                        inner.insert(k.clone(), v.clone());
                    }
                }
            }
            Change::Remove(_) => {}
        }
    }
    body
}

/// What is sent as the body.
#[derive(Debug, Clone)]
enum Body {
    /// A route's valid body, changed.
    Mutated(Vec<Change>),
    /// Any JSON value.
    Json(Value),
    /// Bytes declared as JSON.
    Bytes(Vec<u8>),
    /// A valid body under another content type, or none.
    WrongType(Option<&'static str>),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => prop::collection::vec(change(), 0..4).prop_map(Body::Mutated),
        2 => json_value().prop_map(Body::Json),
        1 => prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            Just(b"{\"given_name\": \"Ada\"".to_vec()),
            Just(b"{\"a\":".repeat(200)),
        ]
        .prop_map(Body::Bytes),
        1 => prop::option::of(prop::sample::select(vec![
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
            "multipart/form-data; boundary=x",
        ]))
        .prop_map(Body::WrongType),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        8 => Just(Target::Real),
        2 => Just(Target::Random),
        1 => Just(Target::Malformed),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    route: prop::sample::Index,
    target: Target,
    body: Body,
    purpose: Option<String>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<prop::sample::Index>(),
        target(),
        body(),
        prop::option::weighted(
            0.2,
            prop_oneof![
                Just("audit".to_owned()),
                Just("administration".to_owned()),
                "[ -~]{0,12}"
            ],
        ),
    )
        .prop_map(|(route, target, body, purpose)| Case {
            route,
            target,
            body,
            purpose,
        })
}

/// The markers a request holds (see [`text`]): a refusal must not repeat them.
fn sent_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("Zqmarker") => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| sent_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| sent_strings(v, out)),
        _ => {}
    }
}

/// Checks one answer: never a 5xx; a 4xx with the JSON error body (when the path was well formed)
/// that repeats nothing sent.
fn check_answer(
    what: &str,
    answer: &Answer,
    well_formed_path: bool,
    sent: &[String],
) -> Result<(), TestCaseError> {
    prop_assert!(
        !answer.status.is_server_error(),
        "{what}: {} {}",
        answer.status,
        answer.text()
    );
    prop_assert!(
        answer.status.is_success() || answer.status.is_client_error(),
        "{what}: {}",
        answer.status
    );
    if answer.status.is_client_error() && well_formed_path {
        prop_assert!(
            answer
                .header(header::CONTENT_TYPE)
                .starts_with("application/json"),
            "{what}: {} answered {}: {}",
            answer.status,
            answer.header(header::CONTENT_TYPE),
            answer.text()
        );
        let body: Value = serde_json::from_slice(&answer.body)
            .map_err(|e| TestCaseError::fail(format!("{what}: not JSON: {e}")))?;
        prop_assert!(body["error"].is_string(), "{what}: {body}");
        prop_assert!(body["message"].is_string(), "{what}: {body}");
        let text = answer.text();
        for s in sent {
            prop_assert!(
                !text.contains(s.as_str()),
                "{what}: the refusal repeats a value sent"
            );
        }
    }
    Ok(())
}

/// Runs `cases` random cases of `strategy` through `test`, each on the current runtime.
fn run<T: std::fmt::Debug>(
    cases: u32,
    strategy: impl Strategy<Value = T>,
    test: impl Fn(T) -> Result<(), TestCaseError>,
) -> anyhow::Result<()> {
    tokio::task::block_in_place(|| {
        TestRunner::new(config(cases))
            .run(&strategy, test)
            .map_err(|e| anyhow::anyhow!("{e}"))
    })
}

both_backends!(
    random_and_mutated_json_bodies_get_a_2xx_or_a_clear_4xx,
    |backend| async move {
        let api = Api::new(backend).await?;
        let fixture = Fixture::new(&api).await?;
        let routes = routes();
        let runtime = tokio::runtime::Handle::current();
        run(64, case(), |case| {
            let (method, template, valid) = case.route.get(&routes).clone();
            let path = template
                .replace("{s}", &fixture.id(&fixture.service, case.target))
                .replace("{p}", &fixture.id(&fixture.person, case.target))
                .replace("{c}", &fixture.id(&fixture.case, case.target))
                .replace("{e}", &fixture.id(&fixture.entry, case.target))
                .replace("{r}", &fixture.id(&fixture.referral, case.target));
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(format!("/api/v1{path}"))
                .header(header::AUTHORIZATION, format!("Bearer {}", api.token));
            if let Some(p) = &case.purpose {
                builder = builder.header("x-confidant-purpose", p.as_str());
            }
            let mut sent = Vec::new();
            let request = match &case.body {
                Body::Mutated(changes) => {
                    let body = mutate(valid, changes);
                    sent_strings(&body, &mut sent);
                    builder
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(axum::body::Body::from(body.to_string()))
                }
                Body::Json(value) => {
                    sent_strings(value, &mut sent);
                    builder
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(axum::body::Body::from(value.to_string()))
                }
                Body::Bytes(bytes) => builder
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(axum::body::Body::from(bytes.clone())),
                Body::WrongType(content_type) => {
                    if let Some(t) = content_type {
                        builder = builder.header(header::CONTENT_TYPE, *t);
                    }
                    builder.body(axum::body::Body::from(valid.to_string()))
                }
            };
            let request = request.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let answer = runtime
                .block_on(api.web.send(request))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            check_answer(
                &format!("{method} {template}"),
                &answer,
                !matches!(case.target, Target::Malformed),
                &sent,
            )
        })
    }
);

/// An `Authorization` header as a client might send it, right or wrong.
fn authorization(valid: String) -> impl Strategy<Value = Option<Vec<u8>>> {
    let mangled = valid.clone();
    prop_oneof![
        Just(None),
        Just(Some(format!("Bearer {valid}").into_bytes())),
        Just(Some(format!("bearer {valid}").into_bytes())),
        Just(Some(format!("Bearer  {valid} ").into_bytes())),
        Just(Some(valid.clone().into_bytes())),
        Just(Some(format!("Basic {valid}").into_bytes())),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(move |(i, b)| {
            let mut token = mangled.clone().into_bytes();
            let at = i.index(token.len());
            token[at] = b;
            Some([b"Bearer ".as_slice(), &token].concat())
        }),
        "Bearer (cft|cfs)_[0-9a-f]{0,70}".prop_map(|s| Some(s.into_bytes())),
        prop::collection::vec(any::<u8>(), 0..80).prop_map(Some),
    ]
}

both_backends!(
    mangled_bearer_tokens_get_a_401_or_the_answer_of_the_token,
    |backend| async move {
        let api = Api::new(backend).await?;
        let fixture = Fixture::new(&api).await?;
        let runtime = tokio::runtime::Handle::current();
        let path = format!("/api/v1/people/{}", fixture.person);
        run(32, authorization(api.token.clone()), |auth| {
            let mut builder = Request::builder().method(Method::GET).uri(&path);
            let mut exact = false;
            if let Some(value) = &auth {
                // A header value the HTTP library refuses to build is never sent by any client.
                let Ok(value) = header::HeaderValue::from_bytes(value) else {
                    return Ok(());
                };
                exact = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .is_some_and(|t| t.trim() == api.token);
                builder = builder.header(header::AUTHORIZATION, value);
            }
            let request = builder
                .body(axum::body::Body::empty())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let answer = runtime
                .block_on(api.web.send(request))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            check_answer("GET /people/{p}", &answer, true, &[])?;
            let expected = if exact {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            };
            prop_assert_eq!(answer.status, expected);
            Ok(())
        })
    }
);

/// A file name as a client might send it in `X-File-Name` (percent-encoded), or none.
fn file_name() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(
        0.9,
        prop_oneof![
            3 => "[a-zA-Z0-9._\\-]{1,12}\\.(pdf|png|jpg|docx|txt)",
            1 => "[a-zA-Z0-9 ._\\-]{0,20}\\.(pdf|png|jpg|jpeg|docx|txt|exe|PDF|)",
            1 => any::<String>(),
            1 => Just("..%2F..%2Fetc%2Fpasswd.txt".to_owned()),
            1 => Just("%ZZ.pdf".to_owned()),
            1 => Just("a%0D%0Ab.txt".to_owned()),
        ],
    )
}

/// Content: random bytes, or the start of an allowed type with random bytes after it.
fn content() -> impl Strategy<Value = Vec<u8>> {
    let starts: Vec<&'static [u8]> = vec![
        b"%PDF-1.7\n",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        b"\xff\xd8\xff\xe0\0\x10JFIF\0",
        b"PK\x03\x04\x14\0\x06\0",
        b"Plain notes.\n",
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        (
            prop::sample::select(starts),
            prop::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(start, tail)| [start, tail.as_slice()].concat()),
    ]
}

both_backends!(
    random_uploads_are_stored_or_refused_with_a_clear_4xx,
    |backend| async move {
        let api = Api::new(backend).await?;
        let fixture = Fixture::new(&api).await?;
        let runtime = tokio::runtime::Handle::current();
        let strategy = (file_name(), content(), any::<bool>(), any::<bool>());
        run(32, strategy, |(name, bytes, declare_length, photo)| {
            let mut builder = Request::builder()
                .method(Method::POST)
                .uri(format!(
                    "/api/v1/people/{}/documents{}",
                    fixture.person,
                    if photo { "?photo=true" } else { "" }
                ))
                .header(header::AUTHORIZATION, format!("Bearer {}", api.token))
                .header(header::CONTENT_TYPE, "application/octet-stream");
            if let Some(n) = &name {
                let Ok(value) = header::HeaderValue::from_str(n) else {
                    return Ok(());
                };
                builder = builder.header("x-file-name", value);
            }
            if declare_length {
                builder = builder.header(header::CONTENT_LENGTH, bytes.len());
            }
            let request = builder
                .body(axum::body::Body::from(bytes.clone()))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let answer = runtime
                .block_on(api.web.send(request))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            check_answer("POST /people/{p}/documents", &answer, true, &[])?;
            if answer.status.is_success() {
                // Stored only what the content shows to be an allowed type.
                let found = confidant_core::document::detect_type(&bytes);
                prop_assert!(found.is_some());
                let stored: Value = serde_json::from_slice(&answer.body)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(stored["media_type"].as_str(), found.map(|t| t.media_type));
            }
            Ok(())
        })
    }
);
