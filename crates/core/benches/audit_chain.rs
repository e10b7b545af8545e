//! The CPU part of `audit verify` against bare SHA-256 over the same bytes.
//!
//! Run: `cargo bench -p confidant-core --bench audit_chain`
//!
//! A chain of 100,000 realistic events is built in memory (UUID actors, subjects and resources,
//! action codes such as `person.read`, purposes, outcomes), each linked to the previous hash the way
//! the stores do it. Criterion then measures:
//! - `chain_verifier_check`: [`ChainVerifier::check`] over every event and `finish`, which is what
//!   `audit verify` does with each batch it reads (recompute the hash, compare it, check the link);
//! - `bare_sha256`: `Sha256::digest` over exactly [`AuditEvent::hashed_bytes`] of each event,
//!   precomputed, i.e. the same bytes without any of our work around them.
//!
//! After Criterion, the binary times both again with a plain loop (best of several interleaved
//! rounds) and prints `RATIO verify/sha256` as verify throughput divided by SHA-256 throughput
//! (target at least 0.5). Under `cargo test --benches` everything runs once on a short chain.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use confidant_core::audit::{AuditEvent, ChainVerifier, Checkpoint, GENESIS, RecordedHead};
use criterion::{Criterion, Throughput, criterion_group};
use sha2::{Digest, Sha256};

/// Length of the chain under `cargo bench`.
const EVENTS: usize = 100_000;
/// Length of the chain under `cargo test --benches`.
const SMOKE_EVENTS: usize = 1_000;
/// The target of the issue: verify throughput at least this fraction of bare SHA-256's.
const TARGET: f64 = 0.5;

/// A deterministic source of ids (SplitMix64), so every run hashes the same bytes.
struct Ids(u64);

impl Ids {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
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
}

/// The chain, and each event's hashed bytes (for the reference).
struct Chain {
    events: Vec<AuditEvent>,
    bytes: Vec<Vec<u8>>,
    total_bytes: u64,
}

impl Chain {
    fn build(n: usize) -> Self {
        let mut ids = Ids(0x00C0_FFEE);
        let staff: Vec<String> = (0..40).map(|_| ids.uuid()).collect();
        let people: Vec<String> = (0..2_000).map(|_| ids.uuid()).collect();
        let services: Vec<String> = (0..4).map(|_| ids.uuid()).collect();
        // 2026-11-22 10:00 UTC, in microseconds; events a few hundred milliseconds apart.
        let mut at_micros: i64 = 1_795_341_600_000_000;
        let mut prev_hash = GENESIS;
        let mut events = Vec::with_capacity(n);
        for i in 0..n {
            let r = ids.next_u64();
            let pick = |len: usize, salt: u64| (r.rotate_left(salt as u32) % len as u64) as usize;
            at_micros += 1_000 + (r % 500_000) as i64;
            let actor = staff[pick(staff.len(), 7)].clone();
            let person = people[pick(people.len(), 19)].clone();
            // A realistic mix: mostly reads of a person's record, some updates, lists of a
            // service's people, and a few refusals.
            let (action, resource_type, resource_id, subject_id, outcome) = match r % 100 {
                0..70 => (
                    "person.read",
                    "person",
                    Some(person.clone()),
                    Some(person),
                    "ok",
                ),
                70..85 => (
                    "person.update",
                    "person",
                    Some(person.clone()),
                    Some(person),
                    "ok",
                ),
                85..95 => (
                    "person.list",
                    "service",
                    Some(services[pick(services.len(), 31)].clone()),
                    None,
                    "ok",
                ),
                _ => (
                    "person.read",
                    "person",
                    Some(person.clone()),
                    Some(person),
                    "denied",
                ),
            };
            let mut event = AuditEvent {
                seq: i64::try_from(i + 1).expect("fits"),
                at_micros,
                actor,
                action: action.to_owned(),
                resource_type: resource_type.to_owned(),
                resource_id,
                subject_id,
                purpose: if r.is_multiple_of(50) {
                    "audit"
                } else {
                    "support"
                }
                .to_owned(),
                outcome: outcome.to_owned(),
                prev_hash,
                hash: [0; 32],
            };
            event.hash = event.computed_hash();
            prev_hash = event.hash;
            events.push(event);
        }
        let bytes: Vec<Vec<u8>> = events.iter().map(AuditEvent::hashed_bytes).collect();
        let total_bytes = bytes.iter().map(|b| b.len() as u64).sum();
        Self {
            events,
            bytes,
            total_bytes,
        }
    }

    /// What `audit verify` does with the events it reads.
    fn verify(&self) -> u64 {
        let mut verifier = ChainVerifier::from_genesis();
        for event in &self.events {
            verifier.check(event).expect("the chain is intact");
        }
        let head = self.events.last().map_or(RecordedHead::Empty, |e| {
            RecordedHead::At(Checkpoint {
                seq: e.seq,
                hash: e.hash,
            })
        });
        verifier.finish(head).expect("the chain is intact").checked
    }

    /// The physical reference: SHA-256 of the same bytes, nothing else.
    fn bare_sha256(&self) -> u8 {
        let mut acc = 0u8;
        for bytes in &self.bytes {
            acc ^= Sha256::digest(black_box(bytes))[0];
        }
        acc
    }
}

static CHAIN: OnceLock<Chain> = OnceLock::new();

fn chain() -> &'static Chain {
    CHAIN.get_or_init(|| Chain::build(if benchmarking() { EVENTS } else { SMOKE_EVENTS }))
}

fn audit_verify(c: &mut Criterion) {
    let chain = chain();
    let mut group = c.benchmark_group(format!("audit_verify_{}_events", chain.events.len()));
    group
        .throughput(Throughput::Bytes(chain.total_bytes))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("chain_verifier_check", |b| b.iter(|| chain.verify()));
    group.bench_function("bare_sha256", |b| b.iter(|| chain.bare_sha256()));
    group.finish();
}

criterion_group!(benches, audit_verify);

/// True under `cargo bench` (Criterion's own rule: `--bench` without `--test`, and not `--list`).
fn benchmarking() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list")
}

fn seconds<T>(f: impl FnOnce() -> T) -> f64 {
    let start = Instant::now();
    black_box(f());
    start.elapsed().as_secs_f64()
}

fn ratio(rounds: u32) {
    let chain = chain();
    let (mut verify, mut sha) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..rounds {
        verify = verify.min(seconds(|| chain.verify()));
        sha = sha.min(seconds(|| chain.bare_sha256()));
    }
    let n = chain.events.len() as f64;
    let mb = chain.total_bytes as f64 / 1e6;
    println!();
    println!(
        "== audit verify, CPU part: {} events, {:.1} MB hashed ({:.0} bytes/event), best of {rounds} ==",
        chain.events.len(),
        mb,
        chain.total_bytes as f64 / n
    );
    for (name, s) in [("verify", verify), ("bare_sha256", sha)] {
        println!(
            "{name:<12} {:>8.2} ms  {:>10.0} events/s  {:>7.1} MB/s",
            s * 1e3,
            n / s,
            mb / s
        );
    }
    let r = sha / verify;
    println!(
        "RATIO verify/sha256 = {r:.2}x (target >= {TARGET}x): {}",
        if r >= TARGET { "met" } else { "MISSED" }
    );
}

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    if benchmarking() {
        ratio(5);
    } else {
        ratio(1);
        println!("(smoke run: figures are not meaningful outside `cargo bench`)");
    }
}
