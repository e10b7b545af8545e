//! The retention sweep over 1,000,000 people of one service: `Confidant::sweep_retention` on SQLite
//! and PostgreSQL (target: under 60 s).
//!
//! Run: `cargo bench -p confidant-store --bench retention_sweep`
//! (PostgreSQL must answer at `CONFIDANT_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; set `CONFIDANT_BENCH_BACKENDS=sqlite` to leave it
//! out. Each run creates and drops a fresh database.)
//!
//! Seeding, with raw SQL (multi-row INSERTs, 50,000 people per transaction), in service A, which the
//! test register's case-record rule (7 years after the case closed) governs: every person has a
//! `person` row; one in two a case, of which one in five closed in 2010 (due: 10% of everyone),
//! the rest closed last month (not due) or still open. People have no sealed fields or keys: the
//! sweep reads none.
//!
//! Measuring: the first sweep (which puts the 100,000 due records on the review queue, 500 to a
//! transaction, each with its audit event), then a second (the daily steady state: nothing new).
//! As a reference in the same run, the bare scan of every person's id in order on a raw
//! connection; the ratio to it is printed.
//!
//! Under `cargo test --benches` it runs once on 2,000 people, as a smoke test.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use confidant_testkit::bench;
use confidant_testkit::{TestApp, TestBackend, operator, test_register, test_time};
use sqlx::Connection as _;
use uuid::Uuid;

/// People per INSERT statement.
const INSERT_ROWS: usize = 1_000;
/// People per transaction.
const TX_PEOPLE: usize = 50_000;
/// The target for a sweep over a million people.
const TARGET: Duration = Duration::from_secs(60);

/// Inserts `people` people into `service`: every second one with a case, every tenth closed long
/// ago. Gives back how many are due.
async fn seed(app: &TestApp, service: Uuid, people: usize) -> anyhow::Result<usize> {
    let mut conn = app.db.raw().await?;
    let service = service.to_string();
    let now = test_time().unix_timestamp() * 1_000_000;
    let long_ago = time::macros::datetime!(2010-03-01 12:00 UTC).unix_timestamp() * 1_000_000;
    let last_month = now - 30 * 24 * 3600 * 1_000_000;
    let start = Instant::now();
    let (mut done, mut due) = (0usize, 0usize);
    while done < people {
        let in_tx = (people - done).min(TX_PEOPLE);
        let mut tx = conn.begin().await?;
        let mut written = 0usize;
        while written < in_tx {
            let rows = (in_tx - written).min(INSERT_ROWS);
            let ids: Vec<String> = (0..rows).map(|_| Uuid::now_v7().to_string()).collect();
            let values = |n: usize, columns: usize| {
                (0..n)
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
                values(rows, 5)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                query = query.bind(id).bind(&service).bind(1i64).bind(now).bind(now);
            }
            query.execute(&mut *tx).await?;
            // Every second person has a case: one in five of those closed long ago (due), two
            // closed last month, two open.
            let cases: Vec<(&String, Option<i64>)> = ids
                .iter()
                .enumerate()
                .filter(|(k, _)| (done + written + k).is_multiple_of(2))
                .map(|(k, id)| {
                    let closed = match ((done + written + k) / 2) % 5 {
                        0 => Some(long_ago),
                        1 | 2 => Some(last_month),
                        _ => None,
                    };
                    (id, closed)
                })
                .collect();
            due += cases.iter().filter(|(_, c)| *c == Some(long_ago)).count();
            let sql = format!(
                "INSERT INTO case_episode (id, person_id, service_id, opened_at, opened_by, closed_at, closed_by, closure_reason) VALUES {}",
                values(cases.len(), 8)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, closed) in &cases {
                query = query
                    .bind(Uuid::now_v7().to_string())
                    .bind(*id)
                    .bind(&service)
                    .bind(long_ago - 1_000_000)
                    .bind("seed")
                    .bind(*closed)
                    .bind(closed.map(|_| "seed"))
                    .bind(closed.map(|_| "completed"));
            }
            query.execute(&mut *tx).await?;
            written += rows;
        }
        tx.commit().await?;
        done += in_tx;
        if done.is_multiple_of(200_000) {
            eprintln!(
                "  inserted {done} people in {:.0} s",
                start.elapsed().as_secs_f64()
            );
        }
    }
    if app.db.backend == TestBackend::Postgres {
        for table in ["person", "case_episode"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}")))
                .execute(&mut conn)
                .await?;
        }
    }
    conn.close().await?;
    Ok(due)
}

async fn bench_backend(backend: TestBackend, people: usize) -> anyhow::Result<TestApp> {
    let app = TestApp::new(backend)
        .await
        .with_context(|| format!("a fresh {} database", backend.name()))?
        .governed_by(test_register());
    app.db
        .raw_execute(&format!(
            "UPDATE service SET code = 'testkit' WHERE id = '{}'",
            app.service_a
        ))
        .await?;
    let start = Instant::now();
    let due = seed(&app, app.service_a, people).await?;
    println!();
    println!(
        "== retention sweep on {}: {people} people in one service, {due} due (seeded in {:.0} s) ==",
        backend.name(),
        start.elapsed().as_secs_f64()
    );
    bench::smoke_note();

    // The reference: every person's id, in order, on a raw connection.
    let mut conn = app.db.raw().await?;
    let t = Instant::now();
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM person ORDER BY id")
        .fetch_all(&mut conn)
        .await?;
    let scan = t.elapsed();
    anyhow::ensure!(ids.len() >= people);
    conn.close().await?;

    let t = Instant::now();
    let first = app
        .confidant
        .sweep_retention(&operator(), app.organisation)
        .await?;
    let first_took = t.elapsed();
    anyhow::ensure!(first.queued == due, "queued {} of {due}", first.queued);
    let t = Instant::now();
    let second = app
        .confidant
        .sweep_retention(&operator(), app.organisation)
        .await?;
    let second_took = t.elapsed();
    anyhow::ensure!(second.queued == 0);

    let ratio = |d: Duration| d.as_secs_f64() / scan.as_secs_f64().max(1e-9);
    println!(
        "SWEEP {:<10} bare id scan                 {:>9.3} s",
        backend.name(),
        scan.as_secs_f64()
    );
    for (what, took, considered) in [
        ("first sweep (queues the due)", first_took, first.considered),
        ("second sweep (nothing new)", second_took, second.considered),
    ] {
        println!(
            "SWEEP {:<10} {what:<28} {:>9.3} s  {considered:>8} looked at  {:>7.1}x the scan",
            backend.name(),
            took.as_secs_f64(),
            ratio(took)
        );
    }
    let worst = first_took.max(second_took);
    println!(
        "TARGET retention sweep over {people} people on {} = {:.1} s (target < {} s): {}",
        backend.name(),
        worst.as_secs_f64(),
        TARGET.as_secs(),
        if worst < TARGET { "met" } else { "MISSED" }
    );
    app.confidant.store().close().await;
    Ok(app)
}

fn main() -> anyhow::Result<()> {
    let people = bench::pick(1_000_000, 2_000);
    bench::on_each_backend(|backend| bench_backend(backend, people))
}
