//! Opening a person's page under load: 50 concurrent clients over HTTP against the real router, on
//! SQLite and on PostgreSQL, with a bare `/healthz` request measured in the same run as the reference.
//!
//! Run: `cargo bench -p confidant-web --bench person_page`
//! (PostgreSQL must answer at `CONFIDANT_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; each run creates and drops a fresh database.)
//!
//! Per backend, a fresh `TestApp` gets a practitioner of service A and one person recorded by them
//! (so they are the person's key worker) with 200 case notes (`Confidant::add_entry`, kind Note, from
//! `Synthetic::notes`). The practitioner signs in fully (password, two-factor enrolment and code), and
//! the session token is sent as the `confidant-session` cookie, as a browser would. The router
//! (`confidant_web::router`, plain HTTP) is served on 127.0.0.1 by a 2-worker Tokio runtime (as
//! `confidant serve` runs on this 2-core machine); the clients run on a runtime of their own (one
//! thread), each with its own HTTP/1.1 keep-alive connection.
//!
//! Each route is timed twice: one client alone (how long the request itself takes), then 50
//! concurrent clients each issuing requests back to back for a fixed period, after a warm-up whose
//! requests are not counted. A latency is from sending the request to having read the whole body;
//! every answer must be 200. The routes: `/healthz` (the reference: one read of the audit head),
//! `/people/{id}` (the person page, whatever it renders), and `/people/{id}/notes` (the notes page)
//! if the router has it. The binary prints `LATENCY` lines with count, mean, p50, p99 and max, the
//! request rate, the CPU time the whole process (server and clients; not PostgreSQL's) used per
//! request, how many audit events one request writes (each is a write transaction: on SQLite it
//! holds the database's single write lock, on PostgreSQL the chain's head row, until it commits), and
//! how many of the 200 notes the page showed.
//!
//! Under `cargo test --benches` everything runs once, briefly, on a few notes, as a smoke test.

use confidant_core::store::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use confidant_core::clock::FixedClock;
use confidant_core::{Confidant, Purpose, Role};
use confidant_store::SqlStore;
use confidant_testkit::bench::{self, Latencies, ms};
use confidant_testkit::{Synthetic, TEST_PASSWORD, TestApp, TestBackend, sign_in_fully};
use confidant_web::WebConfig;
use tokio::runtime::Runtime;

/// Concurrent clients in the loaded case.
const CLIENTS: usize = 50;
/// Case notes on the person's record under `cargo bench`.
const NOTES: usize = 200;

/// How long and how much each part runs.
#[derive(Debug, Clone, Copy)]
struct Plan {
    notes: usize,
    clients: usize,
    warm_up: Duration,
    loaded_for: Duration,
    alone_for: Duration,
}

impl Plan {
    fn from_args() -> Self {
        Self {
            notes: bench::pick(NOTES, 5),
            clients: bench::pick(CLIENTS, 4),
            warm_up: bench::pick(Duration::from_secs(2), Duration::from_millis(100)),
            loaded_for: bench::pick(Duration::from_secs(10), Duration::from_millis(300)),
            alone_for: bench::pick(Duration::from_secs(3), Duration::from_millis(200)),
        }
    }
}

/// A served application, and what the clients need to reach the person.
struct Served {
    /// The application the router serves, to read the audit chain's head.
    confidant: Arc<Confidant<SqlStore, FixedClock>>,
    base: String,
    cookie: String,
    person_id: uuid::Uuid,
    /// The distinct note bodies written, to count how many notes a page shows.
    bodies: Vec<String>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Kept alive until the end: dropping it drops the database.
    db: confidant_testkit::TestDb,
}

/// Seeds a fresh database and serves the router on it (on the server runtime).
async fn serve(backend: TestBackend, plan: Plan) -> anyhow::Result<Served> {
    let app = TestApp::new(backend)
        .await
        .with_context(|| format!("a fresh {} database", backend.name()))?;
    let (staff, worker) = app
        .add_staff(
            Role::Practitioner,
            Some(app.service_a),
            "bench.worker",
            true,
        )
        .await?;
    let mut synthetic = Synthetic::new(0xF3);
    let person = app
        .confidant
        .create_person(
            &worker,
            Purpose::Support,
            app.service_a,
            &synthetic.person(),
        )
        .await?;
    let mut bodies = Vec::new();
    for note in synthetic.notes(plan.notes) {
        if let Some(body) = note.values.0.get("body")
            && !bodies.contains(body)
        {
            bodies.push(body.clone());
        }
        app.confidant
            .add_entry(&worker, Purpose::Support, person.id, &note)
            .await?;
    }
    let signed = sign_in_fully(&app.confidant, &staff, TEST_PASSWORD).await?;
    let TestApp { db, confidant, .. } = app;
    let web = WebConfig::default();
    let confidant = Arc::new(confidant);
    let router = confidant_web::router(Arc::clone(&confidant), web);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Served {
        confidant,
        base,
        cookie: format!("{}={}", web.session_cookie(), signed.token),
        person_id: person.id,
        bodies,
        stop,
        server,
        db,
    })
}

/// CPU time this process has used so far (user and system, all threads), from `/proc/self/stat`
/// (in Linux's fixed `USER_HZ` of 100 ticks a second); zero where that cannot be read.
fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // The fields after the command name (which is in parentheses and may hold spaces).
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields of the line; `rest` starts at the 3rd.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Latencies of one timed run.
struct Run {
    latencies: Vec<Duration>,
    /// Every request made, warm-up included, and the process's CPU time over the whole run.
    requests: usize,
    cpu: Duration,
    period: Duration,
    /// The size of the last body read.
    body_bytes: usize,
    /// The last body read.
    body: String,
}

/// `clients` concurrent clients, each on its own connection, request `url` back to back: first for
/// `warm_up` (not counted), then for `period`. Every answer must be 200.
async fn load(
    url: &str,
    cookie: &str,
    clients: usize,
    warm_up: Duration,
    period: Duration,
) -> anyhow::Result<Run> {
    let cpu_before = process_cpu();
    let start = Instant::now();
    let counted_from = start + warm_up;
    let until = counted_from + period;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let url = url.to_owned();
            let cookie = cookie.to_owned();
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .timeout(Duration::from_secs(60))
                    .build()?;
                let mut latencies = Vec::new();
                let mut requests = 0usize;
                let mut last = String::new();
                loop {
                    let sent = Instant::now();
                    if sent >= until {
                        break;
                    }
                    let response = client
                        .get(&url)
                        .header(reqwest::header::COOKIE, &cookie)
                        .send()
                        .await?;
                    let status = response.status();
                    let body = response.text().await?;
                    let took = sent.elapsed();
                    anyhow::ensure!(status == reqwest::StatusCode::OK, "{url} answered {status}");
                    if sent >= counted_from {
                        latencies.push(took);
                    }
                    requests += 1;
                    last = body;
                }
                anyhow::Ok((latencies, requests, last))
            })
        })
        .collect();
    let mut run = Run {
        latencies: Vec::new(),
        requests: 0,
        cpu: Duration::ZERO,
        period,
        body_bytes: 0,
        body: String::new(),
    };
    for task in tasks {
        let (latencies, requests, last) = task.await.context("a client task panicked")??;
        run.latencies.extend(latencies);
        run.requests += requests;
        run.body_bytes = last.len();
        run.body = last;
    }
    run.cpu = process_cpu().saturating_sub(cpu_before);
    Ok(run)
}

/// Prints one `LATENCY` line; gives back (p50, p99).
fn report(backend: TestBackend, what: &str, clients: usize, mut run: Run) -> (Duration, Duration) {
    let Latencies {
        count: n,
        mean,
        p50,
        p99,
        max,
    } = Latencies::of(std::mem::take(&mut run.latencies));
    println!(
        "LATENCY {:<8} {what:<14} {clients:>2} client(s): count {n:>6}  mean {:>8.2} ms  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  ({:>7.1} req/s, {} bytes/answer, {:.2} ms of this process's CPU per request)",
        backend.name(),
        ms(mean),
        ms(p50),
        ms(p99),
        ms(max),
        n as f64 / run.period.as_secs_f64(),
        run.body_bytes,
        ms(run.cpu) / run.requests.max(1) as f64,
    );
    (p50, p99)
}

/// How many of the notes written a page shows (occurrences of their bodies).
fn notes_shown(body: &str, bodies: &[String]) -> usize {
    bodies
        .iter()
        .map(|b| body.matches(b.as_str()).count())
        .sum()
}

/// Whether the router answers `url` with 200 (a route not there answers 404).
async fn answers(url: &str, cookie: &str) -> anyhow::Result<bool> {
    let response = reqwest::Client::new()
        .get(url)
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await?;
    Ok(response.status() == reqwest::StatusCode::OK)
}

fn bench_backend(
    server_rt: &Runtime,
    client_rt: &Runtime,
    backend: TestBackend,
    plan: Plan,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let served = server_rt.block_on(serve(backend, plan))?;
    println!();
    println!(
        "== {}: one person with {} notes seeded in {:.1} s; {} concurrent clients for {:.0} s each after {:.0} s of warm-up; one client alone for {:.0} s ==",
        backend.name(),
        plan.notes,
        started.elapsed().as_secs_f64(),
        plan.clients,
        plan.loaded_for.as_secs_f64(),
        plan.warm_up.as_secs_f64(),
        plan.alone_for.as_secs_f64(),
    );
    let person = format!("{}/people/{}", served.base, served.person_id);
    let notes = format!("{person}/notes");
    let mut routes = vec![
        ("healthz", format!("{}/healthz", served.base)),
        ("person_page", person.clone()),
    ];
    if client_rt.block_on(answers(&notes, &served.cookie))? {
        routes.push(("notes_page", notes));
    } else {
        println!("(no 200 from /people/{{id}}/notes: the notes page is not measured)");
    }
    anyhow::ensure!(
        client_rt.block_on(answers(&person, &served.cookie))?,
        "the person page does not answer 200"
    );
    let mut reference = None;
    let head = || {
        server_rt.block_on(async {
            anyhow::Ok(
                served
                    .confidant
                    .store()
                    .audit_head()
                    .await?
                    .map_or(0, |h| h.seq),
            )
        })
    };
    for (what, url) in &routes {
        let before = head()?;
        let alone = client_rt.block_on(load(
            url,
            &served.cookie,
            1,
            plan.warm_up / 4,
            plan.alone_for,
        ))?;
        let written = head()? - before;
        let requests = alone.requests;
        report(backend, what, 1, alone);
        println!(
            "  {what} writes {:.1} audit events per request",
            written as f64 / requests.max(1) as f64
        );
        let loaded = client_rt.block_on(load(
            url,
            &served.cookie,
            plan.clients,
            plan.warm_up,
            plan.loaded_for,
        ))?;
        let shown = notes_shown(&loaded.body, &served.bodies);
        let (p50, p99) = report(backend, what, plan.clients, loaded);
        if *what != "healthz" {
            println!("  {what} shows {shown} of the {} notes", plan.notes);
        }
        match reference {
            None => reference = Some((p50, p99)),
            Some((r50, r99)) => println!(
                "RATIO {} {what}/healthz at {} clients: p50 {:.1}x, p99 {:.1}x",
                backend.name(),
                plan.clients,
                p50.as_secs_f64() / r50.as_secs_f64().max(1e-9),
                p99.as_secs_f64() / r99.as_secs_f64().max(1e-9),
            ),
        }
    }
    let _ = served.stop.send(());
    drop(served.confidant);
    server_rt
        .block_on(served.server)
        .context("the server task panicked")??;
    // The server task has ended and dropped the app with its pool; now drop the database.
    drop(served.db);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let plan = Plan::from_args();
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
        bench_backend(&server_rt, &client_rt, backend, plan)?;
    }
    bench::smoke_note();
    Ok(())
}
