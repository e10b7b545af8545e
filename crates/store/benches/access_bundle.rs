//! Compiling an access request's bundle for a person with 5,000 entries (issue 18's target: under
//! 2 s), on SQLite and PostgreSQL.
//!
//! Run: `cargo bench -p confidant-store --bench access_bundle`
//! (PostgreSQL must answer at `CONFIDANT_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; set `CONFIDANT_BENCH_BACKENDS=sqlite` to leave it
//! out.)
//!
//! Seeding. A fresh database per backend: one person with 5,000 synthetic case notes, two related
//! people (whose names every note is searched for), and an open access request about them.
//!
//! Measuring. `Confidant::compile_bundle` by the Data Protection Officer, `ROUNDS` times after one
//! warm-up (each compiles again, replacing the items): the permits, the audited reads of the whole
//! record (person, cases, related people, entries, documents, referrals, consents, disclosures,
//! messages), opening every value, flagging each item (the related people's names searched for in
//! each), and writing the bundle's 5,000-odd item rows with its audit event in one transaction. As a
//! reference, the same rounds time `Confidant::entries` (reading and opening the 5,000 notes alone).
//! The binary prints `BUNDLE` lines with count, mean, p50, p99 and max.
//!
//! Under `cargo test --benches` everything runs once, on 50 notes, as a smoke test.

use std::time::Instant;

use confidant_core::Purpose;
use confidant_core::record::RecordInput;
use confidant_core::rights::RequestInput;
use confidant_core::store::Relationship;
use confidant_testkit::bench::{self, LatencyLine};
use confidant_testkit::{Synthetic, TestApp, TestBackend};

const NOTES: usize = 5_000;
const ROUNDS: usize = 5;

/// How the compile's latencies are printed.
const BUNDLE: LatencyLine = LatencyLine {
    label: "BUNDLE",
    what: 44,
    count: 3,
    width: 9,
    decimals: 1,
};

async fn bench_backend(
    backend: TestBackend,
    notes: usize,
    rounds: usize,
) -> anyhow::Result<TestApp> {
    let app = TestApp::new(backend).await?;
    let c = &app.confidant;
    let mut synthetic = Synthetic::new(18);
    let person = c
        .create_person(
            &app.worker_a,
            Purpose::Support,
            app.service_a,
            &synthetic.person(),
        )
        .await?;
    for (given, relationship) in [
        ("Benchsister", Relationship::Family),
        ("Benchkin", Relationship::NextOfKin),
    ] {
        c.add_related(
            &app.worker_a,
            Purpose::Support,
            person.id,
            relationship,
            None,
            &RecordInput::new().with("given_name", given),
        )
        .await?;
    }
    for note in synthetic.notes(notes) {
        c.add_entry(&app.worker_a, Purpose::Support, person.id, &note)
            .await?;
    }
    let request = c
        .log_rights_request(
            &app.worker_a,
            person.id,
            RequestInput {
                kind: "access",
                channel: "email",
                received_on: "2026-11-20",
                representative_id: None,
                authority: None,
                identity_check: Some("known_to_staff"),
            },
        )
        .await?;
    // Warm-up, and what it found.
    let view = c
        .compile_bundle(&app.dpo, app.organisation, request.id)
        .await?;
    anyhow::ensure!(
        view.items.len() > notes,
        "{} items for {notes} notes",
        view.items.len()
    );
    println!(
        "BUNDLE {:<8} bundle: {} items, {} flagged",
        backend.name(),
        view.items.len(),
        view.items
            .iter()
            .filter(|i| !i.record.flags.is_empty())
            .count()
    );
    let (mut compiles, mut reads) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        c.compile_bundle(&app.dpo, app.organisation, request.id)
            .await?;
        compiles.push(t.elapsed());
        let t = Instant::now();
        c.entries(&app.worker_a, Purpose::Support, person.id, &[])
            .await?;
        reads.push(t.elapsed());
    }
    BUNDLE.print(backend, "compile the bundle (target < 2 s)", compiles);
    BUNDLE.print(backend, "reference: open the notes alone", reads);
    Ok(app)
}

fn main() -> anyhow::Result<()> {
    let (notes, rounds) = bench::pick((NOTES, ROUNDS), (50, 1));
    bench::on_each_backend(|backend| bench_backend(backend, notes, rounds))
}
