//! Looking a person up by NHS number through the blind index, among 1,000,000 people of one service:
//! `Confidant::find_people` on SQLite and PostgreSQL (target: p99 under 5 ms).
//!
//! Run: `cargo bench -p confidant-store --bench identifier_lookup`
//! (PostgreSQL must answer at `CONFIDANT_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; set `CONFIDANT_BENCH_BACKENDS=sqlite` to leave it
//! out. Each run creates and drops a fresh database.)
//!
//! Seeding. Creating a million people through core would take hours, so:
//! 1. 1,000 real people are created in service A through `Confidant::create_person`
//!    (`Synthetic::person`: every identity field, so every blind index, is filled), by a practitioner
//!    of the service, from 8 concurrent tasks.
//! 2. 999,000 filler people are bulk-inserted with raw SQL (testkit's `TestDb::raw()` connection,
//!    multi-row INSERTs, 50,000 people per transaction), in the same service: a `person` row (id a
//!    UUIDv7 as core makes them, service, key version 1, creation and update times) and a
//!    `blind_index` row (`field = 'nhs_number'`, digest 16 pseudo-random bytes, the first half of
//!    SHA-256 over a counter: as indistinguishable from real HMAC output as the index can tell).
//!    Fillers have no sealed fields, data keys or other indexes: a look-up by NHS number reads none of
//!    them. On PostgreSQL, `ANALYZE` then runs, as autovacuum would after such a load.
//!
//! Measuring. The practitioner looks up, one at a time, alternately a real person's NHS number (a
//! hit: the one person is found and named) and a valid NHS number nobody has (a miss), `LOOKUPS` of
//! each. A look-up is the whole use case: parsing and normalising the number, authorization, the
//! HMAC, the store's index query and its audit event (a write transaction), and for a hit the
//! person's placement read and authorized. As a reference, the bare index query (`SELECT person_id
//! FROM blind_index WHERE field = $1 AND digest = $2 AND service_id = $3`) is timed on a raw
//! connection for the same digests; and, interleaved with the look-ups, one audit event appended
//! alone (`Confidant::record_audit_checkpoint`: the audited write transaction every look-up makes,
//! with nothing else). The binary prints `LOOKUP` lines with count, mean, p50, p99 and max.
//!
//! Under `cargo test --benches` everything runs once, on 50 real and 2,000 filler people, as a smoke
//! test.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use confidant_core::Purpose;
use confidant_core::field::{IndexField, PersonField};
use confidant_core::person::{DuplicateCheck, Lookup};
use confidant_testkit::bench::{self, LatencyLine, ms};
use confidant_testkit::operator;
use confidant_testkit::{Synthetic, TestApp, TestBackend, test_time};
use sha2::{Digest, Sha256};
use sqlx::{Connection as _, Row as _};
use uuid::Uuid;

/// People in the service under `cargo bench`.
const PEOPLE: usize = 1_000_000;
/// Of them, created through core.
const REAL: usize = 1_000;
/// Concurrent tasks creating the real people.
const SEED_TASKS: usize = 8;
/// Hits and misses timed under `cargo bench` (each).
const LOOKUPS: usize = 2_000;
/// People per INSERT statement (5 parameters each for `person`, 4 for `blind_index`).
const INSERT_ROWS: usize = 1_000;
/// People per transaction.
const TX_PEOPLE: usize = 50_000;
/// The p99 target of the issue.
const TARGET: Duration = Duration::from_millis(5);

/// How many people, and how many look-ups.
#[derive(Debug, Clone, Copy)]
struct Plan {
    people: usize,
    real: usize,
    lookups: usize,
}

impl Plan {
    /// Under `cargo bench`.
    const MEASURED: Self = Self {
        people: PEOPLE,
        real: REAL,
        lookups: LOOKUPS,
    };
    /// Under `cargo test --benches`.
    const SMOKE: Self = Self {
        people: 2_050,
        real: 50,
        lookups: 20,
    };
}

/// Creates `real` people through core from `SEED_TASKS` tasks; gives back their NHS numbers.
async fn seed_real(app: &Arc<TestApp>, real: usize) -> anyhow::Result<Vec<String>> {
    let tasks: Vec<_> = (0..SEED_TASKS)
        .map(|t| {
            let app = Arc::clone(app);
            let n = real / SEED_TASKS + usize::from(t < real % SEED_TASKS);
            tokio::spawn(async move {
                let mut synthetic = Synthetic::new(0x1D_0000 + t as u64);
                let mut numbers = Vec::with_capacity(n);
                for _ in 0..n {
                    let person = synthetic.person();
                    // Synthetic people, not a front desk: no duplicate check (it would add a look-up
                    // and an audit event to each, and refuse the few who share a birthday).
                    app.confidant
                        .create_person_with(
                            &app.worker_a,
                            Purpose::Support,
                            app.service_a,
                            &person,
                            DuplicateCheck::Confirmed,
                        )
                        .await?;
                    numbers.push(
                        person
                            .get(PersonField::NhsNumber)
                            .context("a synthetic person has an NHS number")?
                            .to_owned(),
                    );
                }
                anyhow::Ok(numbers)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(real);
    for task in tasks {
        all.extend(task.await.context("a seeding task panicked")??);
    }
    Ok(all)
}

/// Valid NHS numbers that none of `taken` is.
fn absent_numbers(taken: &[String], n: usize) -> Vec<String> {
    let taken: HashSet<&str> = taken.iter().map(String::as_str).collect();
    let mut synthetic = Synthetic::new(0xAB5E_0000);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let person = synthetic.person();
        if let Some(number) = person.get(PersonField::NhsNumber)
            && !taken.contains(number)
            && !out.iter().any(|o: &String| o == number)
        {
            out.push(number.to_owned());
        }
    }
    out
}

/// 16 pseudo-random bytes for filler `i`.
fn filler_digest(i: u64) -> Vec<u8> {
    let digest = Sha256::new()
        .chain_update(b"confidant identifier_lookup filler")
        .chain_update(i.to_le_bytes())
        .finalize();
    digest[..16].to_vec()
}

/// Inserts `fillers` people with only an NHS number blind index into `service`, with raw SQL.
async fn insert_fillers(app: &TestApp, service: Uuid, fillers: usize) -> anyhow::Result<()> {
    let mut conn = app.db.raw().await?;
    let service = service.to_string();
    let at = test_time().unix_timestamp() * 1_000_000;
    let start = Instant::now();
    let mut done = 0usize;
    while done < fillers {
        let in_tx = (fillers - done).min(TX_PEOPLE);
        let mut tx = conn.begin().await?;
        let mut written = 0usize;
        while written < in_tx {
            let rows = (in_tx - written).min(INSERT_ROWS);
            let ids: Vec<String> = (0..rows).map(|_| Uuid::now_v7().to_string()).collect();
            let placeholders = |columns: usize| {
                (0..rows)
                    .map(|r| {
                        let p: Vec<String> = (1..=columns)
                            .map(|c| format!("${}", r * columns + c))
                            .collect();
                        format!("({})", p.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let sql = format!(
                "INSERT INTO person (id, service_id, key_version, created_at, updated_at) VALUES {}",
                placeholders(5)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                query = query.bind(id).bind(&service).bind(1i64).bind(at).bind(at);
            }
            query.execute(&mut *tx).await?;
            let sql = format!(
                "INSERT INTO blind_index (person_id, service_id, field, digest) VALUES {}",
                placeholders(4)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (k, id) in ids.iter().enumerate() {
                query = query
                    .bind(id)
                    .bind(&service)
                    .bind("nhs_number")
                    .bind(filler_digest((done + written + k) as u64));
            }
            query.execute(&mut *tx).await?;
            written += rows;
        }
        tx.commit().await?;
        done += in_tx;
        if done.is_multiple_of(200_000) {
            eprintln!(
                "  inserted {done} filler people in {:.0} s",
                start.elapsed().as_secs_f64()
            );
        }
    }
    if app.db.backend == TestBackend::Postgres {
        sqlx::query("ANALYZE person").execute(&mut conn).await?;
        sqlx::query("ANALYZE blind_index")
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

/// How the look-ups' latencies are printed (`report` gives back p99).
const LOOKUP: LatencyLine = LatencyLine {
    label: "LOOKUP",
    what: 34,
    count: 5,
    width: 7,
    decimals: 3,
};

async fn find(app: &TestApp, number: &str) -> anyhow::Result<(Duration, usize)> {
    let lookup = Lookup {
        field: IndexField::NhsNumber,
        value: number.to_owned(),
    };
    let start = Instant::now();
    let found = app
        .confidant
        .find_people(&app.worker_a, Purpose::Support, app.service_a, &lookup)
        .await?;
    Ok((start.elapsed(), found.len()))
}

/// Seeds and measures one backend; gives back the app, to be dropped outside the runtime.
async fn bench_backend(backend: TestBackend, plan: Plan) -> anyhow::Result<Arc<TestApp>> {
    let start = Instant::now();
    let app = Arc::new(
        TestApp::new(backend)
            .await
            .with_context(|| format!("a fresh {} database", backend.name()))?,
    );
    let real = seed_real(&app, plan.real).await?;
    let seeded_real = start.elapsed().as_secs_f64();
    insert_fillers(&app, app.service_a, plan.people - plan.real).await?;
    let seeded = start.elapsed().as_secs_f64();
    let absent = absent_numbers(&real, plan.lookups);
    println!();
    println!(
        "== NHS number look-up on {}: {} people in one service ({} through core in {seeded_real:.0} s, {} filler rows in {:.0} s); {} hits and {} misses, alternately, one at a time ==",
        backend.name(),
        plan.people,
        plan.real,
        plan.people - plan.real,
        seeded - seeded_real,
        plan.lookups,
        plan.lookups,
    );

    // Warm-up: a tenth of the look-ups of each kind, not counted.
    for i in 0..(plan.lookups / 10).max(1) {
        find(&app, &real[i % real.len()]).await?;
        find(&app, &absent[i]).await?;
    }
    let (mut hits, mut misses, mut appends) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..plan.lookups {
        // Real people in a scattered order.
        let number = &real[(i * 7919) % real.len()];
        let (took, found) = find(&app, number).await?;
        anyhow::ensure!(found == 1, "a real NHS number found {found} people");
        hits.push(took);
        let (took, found) = find(&app, &absent[i]).await?;
        anyhow::ensure!(found == 0, "an absent NHS number found {found} people");
        misses.push(took);
        // The second reference: one audit event appended alone, the write every look-up makes.
        let t = Instant::now();
        app.confidant
            .record_audit_checkpoint(&operator())
            .await?
            .context("the system may take a checkpoint")?;
        appends.push(t.elapsed());
    }

    // The reference: the bare index query on a raw connection, for the stored digests of real
    // people (read back from the index) and for filler digests absent from it.
    let mut conn = app.db.raw().await?;
    let digests: Vec<Vec<u8>> = sqlx::query(
        "SELECT b.digest FROM blind_index b JOIN data_key k ON k.owner_id = b.person_id \
         WHERE b.field = 'nhs_number' AND b.service_id = $1",
    )
    .bind(app.service_a.to_string())
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|r| r.try_get::<Vec<u8>, _>("digest"))
    .collect::<Result<_, _>>()?;
    anyhow::ensure!(
        !digests.is_empty(),
        "the real people have NHS number indexes"
    );
    let probe = |digest: Vec<u8>| {
        sqlx::query(
            "SELECT person_id FROM blind_index WHERE field = $1 AND digest = $2 AND service_id = $3",
        )
        .bind("nhs_number")
        .bind(digest)
        .bind(app.service_a.to_string())
    };
    let (mut bare_hits, mut bare_misses) = (Vec::new(), Vec::new());
    for i in 0..plan.lookups {
        let digest = digests[(i * 7919) % digests.len()].clone();
        let t = Instant::now();
        let rows = probe(digest).fetch_all(&mut conn).await?;
        bare_hits.push(t.elapsed());
        anyhow::ensure!(rows.len() == 1, "the bare query found {}", rows.len());
        let t = Instant::now();
        let rows = probe(filler_digest(u64::MAX - i as u64))
            .fetch_all(&mut conn)
            .await?;
        bare_misses.push(t.elapsed());
        anyhow::ensure!(rows.is_empty(), "the bare query found an absent digest");
    }
    conn.close().await?;

    let hit99 = LOOKUP.print(backend, "find_people, hit", hits);
    let miss99 = LOOKUP.print(backend, "find_people, miss", misses);
    LOOKUP.print(backend, "bare index query, hit", bare_hits);
    LOOKUP.print(backend, "bare index query, miss", bare_misses);
    LOOKUP.print(backend, "audit append alone (checkpoint)", appends);
    let worst = hit99.max(miss99);
    println!(
        "TARGET identifier look-up p99 on {} = {:.3} ms (target < {} ms): {}",
        backend.name(),
        ms(worst),
        TARGET.as_millis(),
        if worst < TARGET { "met" } else { "MISSED" }
    );
    app.confidant.store().close().await;
    Ok(app)
}

fn main() -> anyhow::Result<()> {
    let plan = bench::pick(Plan::MEASURED, Plan::SMOKE);
    bench::on_each_backend(|backend| bench_backend(backend, plan))
}
