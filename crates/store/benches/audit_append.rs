//! The audit chain on a real database: append rate on SQLite and PostgreSQL, and end-to-end
//! `audit verify` throughput against bare SHA-256 over the same bytes read back.
//!
//! Run: `cargo bench -p confidant-store --bench audit_append`
//! (PostgreSQL must answer at `CONFIDANT_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; each run creates and drops a fresh database.)
//!
//! 1. Append rate. Each append is `Confidant::record_audit_checkpoint(&operator())`: a standalone
//!    event through the store's group-commit writer, answered once the batch holding it has
//!    committed (on SQLite with `synchronous = FULL`, so every commit reaches the disk). Criterion
//!    measures it per backend, one task at a time and with 50 concurrent tasks (one Criterion
//!    iteration = one event, so the throughput it prints is events per second); then a plain timed
//!    run of a few seconds per case prints `RATE` lines, and `RATIO append` the rate with 50 writers
//!    against one writer measured in the same run, with the target of 20,000 events/s; and, as the
//!    reference for one writer, bare commits of the one-row head update on a raw connection (the
//!    disk's commit rate, nothing of Confidant's around it) and the path one append took before
//!    issue 14 (its own transaction, no writer task), replayed on a raw connection.
//! 2. Verify. The chain left by step 1 is topped up to 100,000 events with a bulk insert of realistic
//!    events (`person.read` and the like, linked and hashed exactly as the store does), then
//!    `verify_chain(store, None)` walks it from the genesis: reads in batches, recomputes every hash,
//!    checks every link and the recorded head. The reference is bare SHA-256 over each event's
//!    `hashed_bytes()`, computed from the same events read back with `audit_events(1, n)`. The time
//!    to read the events alone (same batches, no hashing) is printed too, three ways (through
//!    `SqlStore`, through `sqlx::Any` by column position, through the backend's own sqlx driver), to
//!    show where the time goes.
//!    `RATIO verify_e2e/sha256` is verify throughput divided by SHA-256 throughput: the figure that
//!    includes the database reads (the CPU-only figure is in `confidant-core`'s `audit_chain` bench).
//!
//! Under `cargo test --benches` everything runs once, briefly, as a smoke test.

use confidant_core::store::prelude::*;
use confidant_testkit::operator;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use confidant_core::audit::{AuditEvent, verify_chain};
use confidant_testkit::bench;
use confidant_testkit::{TestApp, TestBackend};
use criterion::{Criterion, Throughput};
use sha2::{Digest, Sha256};
use sqlx::Connection as _;
use tokio::runtime::Runtime;

/// Concurrent appending tasks in the concurrent case.
const TASKS: u64 = 50;
/// Issue 14's target for the append rate with `TASKS` concurrent writers.
const TARGET_RATE: f64 = 20_000.0;
/// Chain length for the verify measurement under `cargo bench`.
const VERIFY_EVENTS: i64 = 100_000;
/// Rows per INSERT when topping up the chain (11 parameters each, within both backends' limits).
const INSERT_ROWS: usize = 500;
/// How many events `verify_chain` reads per round trip (its `VERIFY_BATCH`).
const READ_BATCH: u32 = 2000;

/// How long and how often each part runs.
#[derive(Debug, Clone, Copy)]
struct Plan {
    rate_for: Duration,
    verify_events: i64,
    rounds: u32,
}

impl Plan {
    fn from_args() -> Self {
        Self {
            rate_for: bench::pick(Duration::from_secs(3), Duration::from_millis(200)),
            verify_events: bench::pick(VERIFY_EVENTS, 3_000),
            rounds: bench::pick(5, 1),
        }
    }
}

async fn append_one(app: &TestApp) {
    let checkpoint = app
        .confidant
        .record_audit_checkpoint(&operator())
        .await
        .expect("the audit event is appended");
    black_box(checkpoint.expect("the system may take a checkpoint"));
}

/// Appends `events` events from `tasks` concurrent tasks (spawned on the runtime) and returns the
/// time it took.
async fn append_concurrently(app: &Arc<TestApp>, tasks: u64, events: u64) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let app = Arc::clone(app);
            // Task t appends its share; the first `events % tasks` tasks take one more.
            let share = events / tasks + u64::from(t < events % tasks);
            tokio::spawn(async move {
                for _ in 0..share {
                    append_one(&app).await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("an appending task panicked");
    }
    start.elapsed()
}

/// A raw connection with the store's durability settings, and how a writing transaction begins on
/// it.
async fn raw_writer(
    app: &TestApp,
    backend: TestBackend,
) -> anyhow::Result<(sqlx::AnyConnection, &'static str)> {
    use sqlx::Executor as _;
    let mut conn = app.db.raw().await?;
    let begin = match backend {
        TestBackend::Sqlite => {
            conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
                .await?;
            "BEGIN IMMEDIATE"
        }
        TestBackend::Postgres => "BEGIN",
    };
    Ok((conn, begin))
}

/// The reference for one writer: bare commits of a one-row write to the chain's head (the write
/// every append makes, with nothing else: no event, no writer task), on a raw connection with the
/// store's durability settings, for `period`; returns commits per second.
async fn bare_commit_rate(
    app: &TestApp,
    backend: TestBackend,
    period: Duration,
) -> anyhow::Result<f64> {
    use sqlx::Executor as _;
    let (mut conn, begin) = raw_writer(app, backend).await?;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < period {
        conn.execute(begin).await?;
        conn.execute("UPDATE audit_head SET seq = seq WHERE id = 1")
            .await?;
        conn.execute("COMMIT").await?;
        n += 1;
    }
    conn.close().await?;
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// The path one append took before issue 14, replayed on a raw connection as the reference for one
/// writer: its own write transaction that locks the head, inserts the sealed event, moves the head
/// and commits, with no writer task between; for `period`; returns events per second.
async fn direct_append_rate(
    app: &TestApp,
    backend: TestBackend,
    period: Duration,
) -> anyhow::Result<f64> {
    use confidant_core::audit::{AuditDraft, seal_event};
    use sqlx::{Executor as _, Row as _};
    let (mut conn, begin) = raw_writer(app, backend).await?;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < period {
        conn.execute(begin).await?;
        let row =
            sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut conn)
                .await?;
        let prev: Vec<u8> = row.try_get(1)?;
        let prev = <[u8; 32]>::try_from(prev.as_slice())?;
        let draft = AuditDraft::for_tests("bench.direct", None, confidant_testkit::test_time());
        let e = seal_event(prev, row.try_get(0)?, &draft);
        sqlx::query(
            "INSERT INTO audit_event (seq, at, actor, action, resource_type, resource_id, subject_id, purpose, outcome, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(e.seq)
        .bind(e.at_micros)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.resource_type)
        .bind(&e.resource_id)
        .bind(&e.subject_id)
        .bind(&e.purpose)
        .bind(&e.outcome)
        .bind(e.prev_hash.to_vec())
        .bind(e.hash.to_vec())
        .execute(&mut conn)
        .await?;
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(e.hash.to_vec())
            .execute(&mut conn)
            .await?;
        conn.execute("COMMIT").await?;
        n += 1;
    }
    conn.close().await?;
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Appends from `tasks` concurrent tasks for `period`; returns events per second.
async fn rate(app: &Arc<TestApp>, tasks: u64, period: Duration) -> f64 {
    let start = Instant::now();
    let deadline = start + period;
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let app = Arc::clone(app);
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    append_one(&app).await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0u64;
    for handle in handles {
        total += handle.await.expect("an appending task panicked");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

fn criterion_appends(c: &mut Criterion, rt: &Runtime, apps: &[(TestBackend, Arc<TestApp>)]) {
    let mut group = c.benchmark_group("audit_append");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (backend, app) in apps {
        for tasks in [1, TASKS] {
            let id = match tasks {
                1 => format!("{}/sequential", backend.name()),
                n => format!("{}/concurrent_{n}", backend.name()),
            };
            // Appends run in spawned tasks, on the runtime's workers, as the server's handlers do.
            group.bench_function(id, |b| {
                b.iter_custom(|iters| rt.block_on(append_concurrently(app, tasks, iters)));
            });
        }
    }
    group.finish();
}

/// Realistic events (as `audit verify` meets them in a real installation), from a deterministic seed.
struct EventMaker {
    state: u64,
    staff: Vec<String>,
    people: Vec<String>,
}

impl EventMaker {
    fn new() -> Self {
        let mut maker = Self {
            state: 0x5EED,
            staff: Vec::new(),
            people: Vec::new(),
        };
        maker.staff = (0..40).map(|_| maker.uuid()).collect();
        maker.people = (0..2_000).map(|_| maker.uuid()).collect();
        maker
    }

    /// SplitMix64.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uuid(&mut self) -> String {
        let bytes = (u128::from(self.next_u64()) << 64 | u128::from(self.next_u64())).to_be_bytes();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    fn event(&mut self, seq: i64, at_micros: i64, prev_hash: [u8; 32]) -> AuditEvent {
        let r = self.next_u64();
        let actor = self.staff[(r % 40) as usize].clone();
        let person = self.people[((r >> 8) % 2_000) as usize].clone();
        let (action, outcome) = match r % 100 {
            0..75 => ("person.read", "ok"),
            75..95 => ("person.update", "ok"),
            _ => ("person.read", "denied"),
        };
        let mut event = AuditEvent {
            seq,
            at_micros,
            actor,
            action: action.to_owned(),
            resource_type: "person".to_owned(),
            resource_id: Some(person.clone()),
            subject_id: Some(person),
            purpose: "support".to_owned(),
            outcome: outcome.to_owned(),
            prev_hash,
            hash: [0; 32],
        };
        event.hash = event.computed_hash();
        event
    }
}

/// Extends the stored chain to `target` events with realistic events, linked from the current head,
/// in one transaction of multi-row INSERTs, and moves the recorded head along.
async fn top_up(app: &TestApp, target: i64) -> anyhow::Result<()> {
    let store = app.confidant.store();
    let head = store.audit_head().await?.context("the chain has events")?;
    let mut prev = head.hash;
    let mut at = store
        .audit_events(head.seq, 1)
        .await?
        .first()
        .map(|e| e.at_micros)
        .context("the head event is stored")?;
    let mut maker = EventMaker::new();
    let mut conn = app.db.raw().await?;
    let mut tx = conn.begin().await?;
    let mut seq = head.seq + 1;
    while seq <= target {
        let rows = usize::try_from((target - seq + 1).min(INSERT_ROWS as i64)).context("rows")?;
        let mut events = Vec::with_capacity(rows);
        for _ in 0..rows {
            at += 250_000;
            let event = maker.event(seq, at, prev);
            prev = event.hash;
            seq += 1;
            events.push(event);
        }
        let values: Vec<String> = (0..rows)
            .map(|i| {
                let p: Vec<String> = (1..=11).map(|k| format!("${}", i * 11 + k)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_event (seq, at, actor, action, resource_type, resource_id, subject_id, purpose, outcome, prev_hash, hash) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in &events {
            query = query
                .bind(e.seq)
                .bind(e.at_micros)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.resource_type)
                .bind(&e.resource_id)
                .bind(&e.subject_id)
                .bind(&e.purpose)
                .bind(&e.outcome)
                .bind(e.prev_hash.to_vec())
                .bind(e.hash.to_vec());
        }
        query.execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq - 1)
        .bind(prev.to_vec())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}

/// Reads the whole chain in `verify_chain`'s batches, without checking anything.
async fn read_all(app: &TestApp) -> anyhow::Result<Vec<AuditEvent>> {
    let store = app.confidant.store();
    let mut all = Vec::new();
    let mut next = 1;
    loop {
        let batch = store.audit_events(next, READ_BATCH).await?;
        let full = batch.len() == READ_BATCH as usize;
        if let Some(last) = batch.last() {
            next = last.seq + 1;
        }
        all.extend(batch);
        if !full {
            return Ok(all);
        }
    }
}

/// The query `SqlStore::audit_events` runs.
const EVENTS_SQL: &str = "SELECT seq, at, actor, action, resource_type, resource_id, subject_id, purpose, outcome, prev_hash, hash \
     FROM audit_event WHERE seq >= $1 ORDER BY seq LIMIT $2";

/// An event's columns, in `EVENTS_SQL`'s order.
type EventColumns = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Vec<u8>,
    Vec<u8>,
);

fn event_from_columns(c: EventColumns) -> anyhow::Result<AuditEvent> {
    let hash = |v: Vec<u8>| <[u8; 32]>::try_from(v).map_err(|_| anyhow::anyhow!("not 32 bytes"));
    Ok(AuditEvent {
        seq: c.0,
        at_micros: c.1,
        actor: c.2,
        action: c.3,
        resource_type: c.4,
        resource_id: c.5,
        subject_id: c.6,
        purpose: c.7,
        outcome: c.8,
        prev_hash: hash(c.9)?,
        hash: hash(c.10)?,
    })
}

/// Reads the whole chain in the same batches through `connection`, decoding the columns by position
/// (`$conn` is a `&mut` connection of any sqlx driver); evaluates to the number of events read.
macro_rules! read_by_position {
    ($conn:expr) => {{
        let mut read = 0usize;
        let mut next = 1i64;
        loop {
            let batch: Vec<EventColumns> = sqlx::query_as(EVENTS_SQL)
                .bind(next)
                .bind(i64::from(READ_BATCH))
                .fetch_all(&mut *$conn)
                .await?;
            let full = batch.len() == READ_BATCH as usize;
            for columns in batch {
                let event = event_from_columns(columns)?;
                next = event.seq + 1;
                read += 1;
                black_box(event);
            }
            if !full {
                break;
            }
        }
        anyhow::Ok(read)
    }};
}

/// Where the read time goes: the same reads through `sqlx::Any` with columns by position, and
/// through the backend's own sqlx driver. Returns seconds for each (best of `rounds`).
async fn read_paths(app: &TestApp, backend: TestBackend, rounds: u32) -> anyhow::Result<[f64; 2]> {
    let mut any = app.db.raw().await?;
    let mut best = [f64::INFINITY; 2];
    for _ in 0..rounds {
        let start = Instant::now();
        black_box(read_by_position!(&mut any)?);
        best[0] = best[0].min(start.elapsed().as_secs_f64());

        let start = Instant::now();
        match backend {
            TestBackend::Sqlite => {
                let mut native = sqlx::SqliteConnection::connect(&app.db.url).await?;
                black_box(read_by_position!(&mut native)?);
                native.close().await?;
            }
            TestBackend::Postgres => {
                let mut native = sqlx::PgConnection::connect(&app.db.url).await?;
                black_box(read_by_position!(&mut native)?);
                native.close().await?;
            }
        }
        best[1] = best[1].min(start.elapsed().as_secs_f64());
    }
    any.close().await?;
    Ok(best)
}

async fn verify_vs_sha256(app: &TestApp, backend: TestBackend, plan: Plan) -> anyhow::Result<()> {
    let store = app.confidant.store();
    let appended = store.audit_head().await?.map_or(0, |h| h.seq);
    if appended < plan.verify_events {
        top_up(app, plan.verify_events).await?;
    }
    let n = store
        .audit_head()
        .await?
        .context("the chain has events")?
        .seq;

    // The reference bytes: every event read back in one call, as the issue states.
    let events = store
        .audit_events(1, u32::try_from(n).context("chain length")?)
        .await?;
    anyhow::ensure!(
        events.len() == usize::try_from(n)?,
        "read back {} of {n} events",
        events.len()
    );
    let bytes: Vec<Vec<u8>> = events.iter().map(AuditEvent::hashed_bytes).collect();
    drop(events);
    let total: usize = bytes.iter().map(Vec::len).sum();

    let (mut verify, mut read, mut sha) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    for _ in 0..plan.rounds {
        let start = Instant::now();
        let verified = verify_chain(store, None)
            .await?
            .map_err(|broken| anyhow::anyhow!("the chain is broken: {broken}"))?;
        verify = verify.min(start.elapsed().as_secs_f64());
        anyhow::ensure!(
            i64::try_from(verified.checked)? == n,
            "verified {} of {n}",
            verified.checked
        );

        let start = Instant::now();
        black_box(read_all(app).await?);
        read = read.min(start.elapsed().as_secs_f64());

        sha = sha.min(sha256_reference(&bytes));
    }

    let [any_by_position, native] = read_paths(app, backend, plan.rounds).await?;

    let nf = n as f64;
    let mb = total as f64 / 1e6;
    let backend = backend.name();
    println!();
    println!(
        "== audit verify end to end on {backend}: {n} events ({appended} appended by this run, the rest bulk-inserted), {mb:.1} MB hashed ({:.0} bytes/event), best of {} ==",
        total as f64 / nf,
        plan.rounds
    );
    for (what, s) in [
        ("verify_chain", verify),
        ("read only", read),
        ("bare_sha256", sha),
    ] {
        println!(
            "{what:<13} {:>9.1} ms  {:>10.0} events/s  {:>7.1} MB/s",
            s * 1e3,
            nf / s,
            mb / s
        );
    }
    println!("-- where the read time goes (the whole chain in batches of {READ_BATCH}) --");
    for (what, s) in [
        ("SqlStore::audit_events: sqlx Any, columns by name", read),
        ("sqlx Any, columns by position", any_by_position),
        ("backend's own sqlx driver, columns by position", native),
    ] {
        println!(
            "  {what:<50} {:>7.1} ms  {:>5.2} us/event",
            s * 1e3,
            s * 1e6 / nf
        );
    }
    println!(
        "RATIO verify_e2e/sha256 on {backend} = {:.3}x (target >= 0.25x for `audit verify`): {}",
        sha / verify,
        if sha / verify >= 0.25 {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}

/// Seconds to compute bare SHA-256 over every element of `bytes` once, and nothing else.
fn sha256_reference(bytes: &[Vec<u8>]) -> f64 {
    let start = Instant::now();
    let mut acc = 0u8;
    for b in bytes {
        acc ^= Sha256::digest(black_box(b))[0];
    }
    black_box(acc);
    start.elapsed().as_secs_f64()
}

fn main() -> anyhow::Result<()> {
    let plan = Plan::from_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let apps: Vec<(TestBackend, Arc<TestApp>)> = rt.block_on(async {
        let mut apps = Vec::new();
        for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
            let app = TestApp::new(backend)
                .await
                .with_context(|| format!("a fresh {} database", backend.name()))?;
            apps.push((backend, Arc::new(app)));
        }
        anyhow::Ok(apps)
    })?;

    let mut criterion = Criterion::default().configure_from_args();
    criterion_appends(&mut criterion, &rt, &apps);
    criterion.final_summary();

    println!();
    println!(
        "== audit append rate (plain timed runs of {:.1} s each; events batched by the group-commit writer) ==",
        plan.rate_for.as_secs_f64()
    );
    for (backend, app) in &apps {
        let bare = rt.block_on(bare_commit_rate(app, *backend, plan.rate_for))?;
        let direct = rt.block_on(direct_append_rate(app, *backend, plan.rate_for))?;
        let one = rt.block_on(rate(app, 1, plan.rate_for));
        let many = rt.block_on(rate(app, TASKS, plan.rate_for));
        for (tasks, r) in [(1, one), (TASKS, many)] {
            println!(
                "RATE append {:<8} {:>2} task(s) = {r:>7.0} events/s",
                backend.name(),
                tasks
            );
        }
        println!(
            "RATE bare commit {:<8} 1 task = {bare:>7.0} commits/s (reference: the disk commit alone)",
            backend.name()
        );
        println!(
            "RATE direct append {:<8} 1 task = {direct:>7.0} events/s (reference: the path before issue 14, one transaction per event, no writer task)",
            backend.name()
        );
        println!(
            "RATIO append {} 1 task/bare commit = {:.2}x (what one writer keeps of the disk's commit rate)",
            backend.name(),
            one / bare
        );
        println!(
            "RATIO append {} 1 task/direct append = {:.2}x (target: no worse than before, >= 1.0x within noise)",
            backend.name(),
            one / direct
        );
        println!(
            "RATIO append {} {TASKS} tasks/1 task = {:.1}x ({many:.0} events/s; target >= {TARGET_RATE:.0} events/s with {TASKS} writers: {})",
            backend.name(),
            many / one,
            if many >= TARGET_RATE { "met" } else { "MISSED" }
        );
    }

    for (backend, app) in &apps {
        rt.block_on(verify_vs_sha256(app, *backend, plan))?;
    }
    bench::smoke_note();

    // Close the pools on the runtime, then drop the databases.
    rt.block_on(async {
        for (_, app) in &apps {
            app.confidant.store().close().await;
        }
    });
    drop(apps);
    Ok(())
}
